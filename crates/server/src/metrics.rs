//! Prometheus text exposition (`GET /metrics`): requests by route and status,
//! latency histograms, cache and store counters, usage-record and log lag.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::time::Duration;

const BUCKETS: &[f64] = &[
    0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

#[derive(Default)]
struct RouteStats {
    statuses: BTreeMap<u16, u64>,
    counts: [u64; 14],
    count: u64,
    sum: f64,
}

/// The server's counters.
pub struct Metrics {
    routes: Mutex<BTreeMap<String, RouteStats>>,
    /// License lookups answered from the registry.
    pub license_lookups: AtomicU64,
    /// Files verified.
    pub files_verified: AtomicU64,
    /// File verifications refused because every slot was busy.
    pub verify_busy: AtomicU64,
    /// Connections closed on arrival (every slot, or the address's share, taken).
    pub connections_refused: AtomicU64,
    /// Usage records written.
    pub usage_written: AtomicU64,
    /// Group commits (batches) of usage records.
    pub usage_batches: AtomicU64,
    /// Usage records anchored in the log.
    pub usage_anchored: AtomicU64,
    /// Usage records written but not yet in the log.
    pub usage_unanchored: AtomicI64,
    /// Receipts signed.
    pub receipts_signed: AtomicU64,
    /// Receipt batches (one signature each).
    pub receipt_batches: AtomicU64,
    /// OCSP answers served from the pre-signed cache or signed on a miss.
    pub ocsp_responses: AtomicU64,
    /// Store errors (answered 503).
    pub store_errors: AtomicU64,
    /// Bytes of WAL the read replica has not replayed yet (-1: no replica).
    pub replica_lag_bytes: AtomicI64,
    /// When (Unix milliseconds) the oldest usage record this server wrote
    /// and has not yet anchored was committed (0: none waiting); its age is
    /// worked out when the metrics are read, so a stalled writer shows.
    pub usage_backlog_oldest_ms: AtomicU64,
    /// Time from a usage record's commit to its log index being recorded.
    pub anchor_delay: Histogram,
    /// SQLite: the WAL file's size (-1: PostgreSQL).
    pub wal_bytes: AtomicI64,
    /// SQLite: WAL checkpoints that truncated the file.
    pub wal_truncations: AtomicU64,
}

/// A latency histogram with the buckets of the request histograms.
#[derive(Default)]
pub struct Histogram {
    counts: [AtomicU64; 14],
    count: AtomicU64,
    sum_us: AtomicU64,
}

impl Histogram {
    /// Count `n` observations of `took`.
    pub fn observe_n(&self, took: Duration, n: u64) {
        let s = took.as_secs_f64();
        for (i, b) in BUCKETS.iter().enumerate() {
            if s <= *b {
                self.counts[i].fetch_add(n, Ordering::Relaxed);
            }
        }
        self.count.fetch_add(n, Ordering::Relaxed);
        self.sum_us
            .fetch_add(took.as_micros() as u64 * n, Ordering::Relaxed);
    }

    /// Observations so far.
    pub fn count(&self) -> u64 {
        self.count.load(Ordering::Relaxed)
    }

    fn render(&self, o: &mut String, name: &str, help: &str) {
        let _ = writeln!(
            o,
            "# HELP yinzheng_{name} {help}\n# TYPE yinzheng_{name} histogram"
        );
        for (i, b) in BUCKETS.iter().enumerate() {
            let _ = writeln!(
                o,
                "yinzheng_{name}_bucket{{le=\"{b}\"}} {}",
                self.counts[i].load(Ordering::Relaxed)
            );
        }
        let count = self.count.load(Ordering::Relaxed);
        let _ = writeln!(
            o,
            "yinzheng_{name}_bucket{{le=\"+Inf\"}} {count}\nyinzheng_{name}_sum {}\nyinzheng_{name}_count {count}",
            self.sum_us.load(Ordering::Relaxed) as f64 / 1e6
        );
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics {
            routes: Mutex::default(),
            license_lookups: AtomicU64::default(),
            files_verified: AtomicU64::default(),
            verify_busy: AtomicU64::default(),
            connections_refused: AtomicU64::default(),
            usage_written: AtomicU64::default(),
            usage_batches: AtomicU64::default(),
            usage_anchored: AtomicU64::default(),
            usage_unanchored: AtomicI64::default(),
            receipts_signed: AtomicU64::default(),
            receipt_batches: AtomicU64::default(),
            ocsp_responses: AtomicU64::default(),
            store_errors: AtomicU64::default(),
            replica_lag_bytes: AtomicI64::new(-1),
            usage_backlog_oldest_ms: AtomicU64::default(),
            anchor_delay: Histogram::default(),
            wal_bytes: AtomicI64::new(-1),
            wal_truncations: AtomicU64::default(),
        }
    }
}

impl Metrics {
    /// Count `n` usage records as anchored (no longer waiting for the log).
    pub fn usage_records_anchored(&self, n: usize) {
        self.usage_anchored.fetch_add(n as u64, Ordering::Relaxed);
        self.usage_unanchored.fetch_sub(n as i64, Ordering::Relaxed);
    }

    /// Count one answered request (one lock; no allocation once the route is known).
    pub fn observe(&self, route: &str, status: u16, took: Duration) {
        let s = took.as_secs_f64();
        if let Ok(mut m) = self.routes.lock() {
            if !m.contains_key(route) {
                m.insert(route.to_string(), RouteStats::default());
            }
            if let Some(h) = m.get_mut(route) {
                *h.statuses.entry(status).or_default() += 1;
                for (i, b) in BUCKETS.iter().enumerate() {
                    if s <= *b {
                        h.counts[i] += 1;
                    }
                }
                h.count += 1;
                h.sum += s;
            }
        }
    }

    /// The text exposition format.
    /// `sequencer`: whether this server sequences the anchoring log (on
    /// PostgreSQL exactly one server does); `crl_expiry`: seconds until each
    /// published CRL's nextUpdate; `verdicts`: the verdict cache's entries,
    /// hits and misses (`None`: off); `replica_in_use`: whether reads go to the
    /// read replica now (`None`: none configured).
    pub fn render(
        &self,
        validator_cache: usize,
        (hits, misses): (u64, u64),
        verdicts: Option<(usize, u64, u64)>,
        sequencer: bool,
        crl_expiry: &[(String, i64)],
        replica_in_use: Option<bool>,
    ) -> String {
        let mut o = String::new();
        o.push_str("# HELP yinzheng_http_requests_total Requests answered, by route and status.\n# TYPE yinzheng_http_requests_total counter\n");
        let routes = self.routes.lock().unwrap_or_else(|p| p.into_inner());
        for (route, h) in routes.iter() {
            for (status, n) in &h.statuses {
                let _ = writeln!(
                    o,
                    "yinzheng_http_requests_total{{route=\"{}\",status=\"{status}\"}} {n}",
                    esc(route)
                );
            }
        }
        o.push_str("# HELP yinzheng_http_request_duration_seconds Time to answer, by route.\n# TYPE yinzheng_http_request_duration_seconds histogram\n");
        {
            for (route, h) in routes.iter() {
                let r = esc(route);
                for (i, b) in BUCKETS.iter().enumerate() {
                    let _ = writeln!(
                        o,
                        "yinzheng_http_request_duration_seconds_bucket{{route=\"{r}\",le=\"{b}\"}} {}",
                        h.counts[i]
                    );
                }
                let _ = writeln!(
                    o,
                    "yinzheng_http_request_duration_seconds_bucket{{route=\"{r}\",le=\"+Inf\"}} {}\nyinzheng_http_request_duration_seconds_sum{{route=\"{r}\"}} {}\nyinzheng_http_request_duration_seconds_count{{route=\"{r}\"}} {}",
                    h.count, h.sum, h.count
                );
            }
        }
        drop(routes);
        let counters: [(&str, &str, u64); 11] = [
            (
                "license_lookups_total",
                "License lookups in the registry.",
                self.license_lookups.load(Ordering::Relaxed),
            ),
            (
                "files_verified_total",
                "Files verified (PDF, OFD, detached).",
                self.files_verified.load(Ordering::Relaxed),
            ),
            (
                "connections_refused_total",
                "Connections closed on arrival: every connection slot, or the peer address's share, was taken.",
                self.connections_refused.load(Ordering::Relaxed),
            ),
            (
                "verify_busy_total",
                "File verifications refused (503) because every verification slot was busy.",
                self.verify_busy.load(Ordering::Relaxed),
            ),
            (
                "usage_records_total",
                "Usage records written.",
                self.usage_written.load(Ordering::Relaxed),
            ),
            (
                "usage_batches_total",
                "Group commits of usage records.",
                self.usage_batches.load(Ordering::Relaxed),
            ),
            (
                "usage_anchored_total",
                "Usage records anchored in the log.",
                self.usage_anchored.load(Ordering::Relaxed),
            ),
            (
                "receipts_total",
                "Receipts signed.",
                self.receipts_signed.load(Ordering::Relaxed),
            ),
            (
                "receipt_batches_total",
                "Receipt batches (one signature each).",
                self.receipt_batches.load(Ordering::Relaxed),
            ),
            (
                "ocsp_responses_total",
                "OCSP responses served.",
                self.ocsp_responses.load(Ordering::Relaxed),
            ),
            (
                "store_errors_total",
                "Store errors answered 503.",
                self.store_errors.load(Ordering::Relaxed),
            ),
        ];
        for (name, help, v) in counters {
            let _ = writeln!(
                o,
                "# HELP yinzheng_{name} {help}\n# TYPE yinzheng_{name} counter\nyinzheng_{name} {v}"
            );
        }
        let _ = writeln!(
            o,
            "# HELP yinzheng_log_sequencing_lag_records Usage records written but not yet anchored in the log.\n# TYPE yinzheng_log_sequencing_lag_records gauge\nyinzheng_log_sequencing_lag_records {}",
            self.usage_unanchored.load(Ordering::Relaxed).max(0)
        );
        let _ = writeln!(
            o,
            "# HELP yinzheng_usage_backlog_age_seconds Age of the oldest usage record this server wrote and has not anchored yet.\n# TYPE yinzheng_usage_backlog_age_seconds gauge\nyinzheng_usage_backlog_age_seconds {}",
            match self.usage_backlog_oldest_ms.load(Ordering::Relaxed) {
                0 => 0.0,
                oldest =>
                    std::time::SystemTime::now()
                        .duration_since(std::time::UNIX_EPOCH)
                        .map_or(0, |d| d.as_millis() as u64)
                        .saturating_sub(oldest) as f64
                        / 1e3,
            }
        );
        self.anchor_delay.render(
            &mut o,
            "usage_anchor_delay_seconds",
            "Time from a usage record's commit until its log index is recorded.",
        );
        let wal = self.wal_bytes.load(Ordering::Relaxed);
        if wal >= 0 {
            let _ = writeln!(
                o,
                "# HELP yinzheng_store_wal_bytes Size of the SQLite WAL file.\n# TYPE yinzheng_store_wal_bytes gauge\nyinzheng_store_wal_bytes {wal}\n# HELP yinzheng_store_wal_truncations_total WAL checkpoints that truncated the file.\n# TYPE yinzheng_store_wal_truncations_total counter\nyinzheng_store_wal_truncations_total {}",
                self.wal_truncations.load(Ordering::Relaxed)
            );
        }
        let _ = writeln!(
            o,
            "# HELP yinzheng_log_sequencer 1 while this server sequences the anchoring log (one server does; the others follow it).\n# TYPE yinzheng_log_sequencer gauge\nyinzheng_log_sequencer {}",
            u8::from(sequencer)
        );
        o.push_str("# HELP yinzheng_crl_expiry_seconds Seconds until the published CRL's nextUpdate (an offline root's ARL: until the next ceremony).\n# TYPE yinzheng_crl_expiry_seconds gauge\n");
        for (name, secs) in crl_expiry {
            let _ = writeln!(
                o,
                "yinzheng_crl_expiry_seconds{{crl=\"{}\"}} {secs}",
                esc(name)
            );
        }
        let lag = self.replica_lag_bytes.load(Ordering::Relaxed);
        if let Some(in_use) = replica_in_use.map(u8::from) {
            let _ = writeln!(
                o,
                "# HELP yinzheng_store_replica_in_use 1 while license and seal reads go to the read replica (it is current), 0 while they go to the primary.\n# TYPE yinzheng_store_replica_in_use gauge\nyinzheng_store_replica_in_use {in_use}\n# HELP yinzheng_store_replica_lag_bytes WAL the read replica has not replayed yet.\n# TYPE yinzheng_store_replica_lag_bytes gauge\nyinzheng_store_replica_lag_bytes {}",
                lag.max(0)
            );
        }
        let _ = writeln!(
            o,
            "# HELP yinzheng_chain_cache_entries Certificate chains cached by the validator.\n# TYPE yinzheng_chain_cache_entries gauge\nyinzheng_chain_cache_entries {validator_cache}"
        );
        let _ = writeln!(
            o,
            "# HELP yinzheng_chain_cache_hits_total Chain validations answered from the cache (since the last CRL refresh).\n# TYPE yinzheng_chain_cache_hits_total counter\nyinzheng_chain_cache_hits_total {hits}\n# HELP yinzheng_chain_cache_misses_total Chain validations computed (since the last CRL refresh).\n# TYPE yinzheng_chain_cache_misses_total counter\nyinzheng_chain_cache_misses_total {misses}"
        );
        if let Some((kept, hits, misses)) = verdicts {
            let _ = writeln!(
                o,
                "# HELP yinzheng_verdict_cache_entries Passing file verdicts kept (since the last CRL refresh).\n# TYPE yinzheng_verdict_cache_entries gauge\nyinzheng_verdict_cache_entries {kept}\n# HELP yinzheng_verdict_cache_hits_total File verifications answered from a kept verdict (since the last CRL refresh).\n# TYPE yinzheng_verdict_cache_hits_total counter\nyinzheng_verdict_cache_hits_total {hits}\n# HELP yinzheng_verdict_cache_misses_total File verifications that found no verdict still holding (since the last CRL refresh).\n# TYPE yinzheng_verdict_cache_misses_total counter\nyinzheng_verdict_cache_misses_total {misses}"
            );
        }
        o
    }
}

/// One witness metric: name, type, help, value.
type WitnessSeries = (
    &'static str,
    &'static str,
    &'static str,
    fn(&yinzheng_witness::WitnessReport) -> u64,
);

/// The witnesses' gauges and counters (nothing without witnesses):
/// whether each cosigned when last asked, the size it last cosigned, its
/// cosignatures, refusals and failures, and the witnessed checkpoint's size.
pub fn render_witnesses(
    w: Option<&yinzheng_witness::Witnessing>,
    witnessed: Option<&str>,
) -> String {
    let Some(w) = w else {
        return String::new();
    };
    let mut o = String::new();
    let reports = w.collector().reports();
    let series: [WitnessSeries; 5] = [
        (
            "witness_up",
            "gauge",
            "1 when the witness cosigned when last asked.",
            |r| u64::from(r.up()),
        ),
        (
            "witness_size",
            "gauge",
            "The tree size the witness last cosigned.",
            |r| r.size.unwrap_or(0),
        ),
        (
            "witness_cosignatures_total",
            "counter",
            "Cosignatures the witness gave.",
            |r| r.cosigned_total,
        ),
        (
            "witness_refusals_total",
            "counter",
            "Checkpoints the witness refused (a fork, a bad proof, a log it does not know).",
            |r| r.refused_total,
        ),
        (
            "witness_failures_total",
            "counter",
            "Requests to the witness that failed (down, timed out, 5xx).",
            |r| r.down_total,
        ),
    ];
    for (name, kind, help, value) in series {
        let _ = writeln!(
            o,
            "# HELP yinzheng_{name} {help}\n# TYPE yinzheng_{name} {kind}"
        );
        for r in &reports {
            let _ = writeln!(
                o,
                "yinzheng_{name}{{witness=\"{}\"}} {}",
                esc(&r.name),
                value(r)
            );
        }
    }
    let size = witnessed
        .and_then(|n| yinzheng_anchor::Note::parse(n.as_bytes()).ok())
        .and_then(|n| yinzheng_anchor::Checkpoint::parse(n.text()).ok())
        .map_or(0, |c| c.size());
    let _ = writeln!(
        o,
        "# HELP yinzheng_log_witnessed_size Tree size of the latest checkpoint a quorum of witnesses cosigned.\n# TYPE yinzheng_log_witnessed_size gauge\nyinzheng_log_witnessed_size {size}"
    );
    o
}

fn esc(s: &str) -> String {
    s.replace('\\', "\\\\").replace('"', "\\\"")
}
