//! `soak`: license lookups at a fixed rate plus a verification mix for a
//! long time, sampling the server every second — its RSS, the SQLite WAL,
//! the anchoring backlog and its age, the time to anchor — and reporting
//! each interval (a minute in the long form). Everything must stay flat: the
//! run fails (exit 1) when the backlog's age, the WAL or the RSS growth pass
//! their bounds, or a request is not answered 200.

use crate::Target;
use anyhow::{Context, Result};
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// What `soak` is asked.
#[derive(clap::Args, Debug)]
pub struct SoakArgs {
    /// Base URL, e.g. https://127.0.0.1:8443
    #[arg(long)]
    pub url: String,
    /// PEM file of the server's TLS root.
    #[arg(long)]
    pub cacert: PathBuf,
    /// The caller's API key.
    #[arg(long)]
    pub api_key: String,
    /// The license looked up.
    #[arg(long)]
    pub license: String,
    /// Query string of every request (the usage-record context).
    #[arg(long)]
    pub query: String,
    /// A sealed PDF verified in the mix (`POST /v1/verify`).
    #[arg(long)]
    pub pdf: Option<PathBuf>,
    /// Lookups per second.
    #[arg(long, default_value_t = 1000.0)]
    pub rate: f64,
    /// Verifications per second.
    #[arg(long, default_value_t = 10.0)]
    pub verify_rate: f64,
    /// Seconds in all.
    #[arg(long, default_value_t = 600)]
    pub seconds: u64,
    /// Seconds per reported interval.
    #[arg(long, default_value_t = 60)]
    pub interval: u64,
    /// Keep-alive connections for the lookups.
    #[arg(long, default_value_t = 16)]
    pub connections: usize,
    /// The server's process id (its RSS is sampled).
    #[arg(long)]
    pub pid: u32,
    /// Fail when the oldest unanchored usage record was ever older than this.
    #[arg(long, default_value_t = 1.0)]
    pub max_backlog_age_s: f64,
    /// Fail when the SQLite WAL was ever larger than this many MiB.
    #[arg(long, default_value_t = 256)]
    pub max_wal_mib: u64,
    /// Fail when the RSS of the last interval exceeds the first's by more.
    #[arg(long, default_value_t = 64)]
    pub max_rss_growth_mib: u64,
    /// Write the JSON summary here.
    #[arg(long)]
    pub out: Option<PathBuf>,
}

/// One interval's figures.
#[derive(Default, Clone)]
struct Interval {
    lookups: Vec<Duration>,
    verifies: Vec<Duration>,
    failures: usize,
    rss_max: u64,
    wal_max: i64,
    backlog_max: i64,
    backlog_age_max: f64,
    /// Cumulative anchor-delay histogram (bucket bound, count) at the end.
    anchor_hist: Vec<(f64, u64)>,
}

fn p99(v: &mut [Duration]) -> f64 {
    if v.is_empty() {
        return 0.0;
    }
    v.sort_unstable();
    let i = ((0.99 * v.len() as f64).ceil() as usize).clamp(1, v.len()) - 1;
    v[i].as_secs_f64()
}

/// The RSS of `pid` in bytes.
pub fn rss(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|k| k.parse::<u64>().ok())
        })
        .unwrap_or(0)
        * 1024
}

/// A gauge's value in a Prometheus text page.
fn gauge(text: &str, name: &str) -> Option<f64> {
    text.lines()
        .find(|l| l.starts_with(name) && l[name.len()..].starts_with(' '))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
}

/// The anchor-delay histogram's cumulative buckets.
fn anchor_hist(text: &str) -> Vec<(f64, u64)> {
    let prefix = "yinzheng_usage_anchor_delay_seconds_bucket{le=\"";
    text.lines()
        .filter_map(|l| l.strip_prefix(prefix))
        .filter_map(|l| {
            let (le, rest) = l.split_once("\"}")?;
            let le = if le == "+Inf" {
                f64::INFINITY
            } else {
                le.parse().ok()?
            };
            Some((le, rest.trim().parse().ok()?))
        })
        .collect()
}

/// The 99th percentile (a bucket bound) of the observations between two
/// cumulative histograms.
fn hist_p99(before: &[(f64, u64)], after: &[(f64, u64)]) -> Option<f64> {
    let delta: Vec<(f64, u64)> = after
        .iter()
        .map(|(le, n)| {
            let b = before
                .iter()
                .find(|(l, _)| l == le)
                .map(|x| x.1)
                .unwrap_or(0);
            (*le, n.saturating_sub(b))
        })
        .collect();
    let total = delta.last()?.1;
    if total == 0 {
        return None;
    }
    let want = (total as f64 * 0.99).ceil() as u64;
    delta.iter().find(|(_, n)| *n >= want).map(|x| x.0)
}

pub async fn soak(a: SoakArgs) -> Result<()> {
    anyhow::ensure!(
        a.rate > 0.0 && a.verify_rate >= 0.0 && a.seconds > 0 && a.interval > 0,
        "--rate, --seconds and --interval must be positive"
    );
    let target = Target::new(&a.url, &a.cacert)?;
    let pdf = match &a.pdf {
        Some(p) => Some(Bytes::from(
            std::fs::read(p).with_context(|| format!("cannot read {}", p.display()))?,
        )),
        None => None,
    };
    let n_intervals = a.seconds.div_ceil(a.interval.max(1)) as usize;
    let intervals = Arc::new(Mutex::new(vec![Interval::default(); n_intervals]));
    let start = Instant::now() + Duration::from_millis(50);
    let end = start + Duration::from_secs(a.seconds);
    let interval = Duration::from_secs(a.interval.max(1));
    let slot = move |at: Instant| -> usize {
        ((at.saturating_duration_since(start)).as_secs_f64() / interval.as_secs_f64()) as usize
    };
    let auth = format!("Bearer {}", a.api_key);
    let lookup_path = format!("/v1/licenses/{}?{}", a.license, a.query);
    let verify_path = format!("/v1/verify?{}", a.query);

    // Open loop: request i of a stream is due at start + i / rate.
    let mut tasks = Vec::new();
    let streams: Vec<(f64, usize, bool)> = {
        let mut v = vec![(a.rate, a.connections.max(1), false)];
        if pdf.is_some() && a.verify_rate > 0.0 {
            v.push((a.verify_rate, 2, true));
        }
        v
    };
    for (rate, conns, verify) in streams {
        let every = Duration::from_secs_f64(conns as f64 / rate);
        for k in 0..conns {
            let target = target.clone();
            let intervals = intervals.clone();
            let auth = auth.clone();
            let path = if verify {
                verify_path.clone()
            } else {
                lookup_path.clone()
            };
            let body = if verify { pdf.clone() } else { None };
            let first = start + Duration::from_secs_f64(k as f64 / rate);
            tasks.push(tokio::spawn(async move {
                let mut sender = target.connect_full().await.ok();
                let mut due = first;
                while due < end {
                    tokio::time::sleep_until(due.into()).await;
                    let req = hyper::Request::builder()
                        .method(if body.is_some() { "POST" } else { "GET" })
                        .uri(&path)
                        .header(hyper::header::HOST, &target.authority)
                        .header(hyper::header::AUTHORIZATION, &auth);
                    let req = match &body {
                        Some(b) => req
                            .header(hyper::header::CONTENT_TYPE, "application/pdf")
                            .body(Full::new(b.clone())),
                        None => req.body(Full::new(Bytes::new())),
                    };
                    let ok = match (req, sender.as_mut()) {
                        (Ok(req), Some(s)) => async {
                            s.ready().await?;
                            let r = s.send_request(req).await?;
                            let status = r.status();
                            r.into_body().collect().await?;
                            anyhow::Ok(status == 200)
                        }
                        .await
                        .unwrap_or(false),
                        _ => false,
                    };
                    let took = due.elapsed();
                    if let Ok(mut iv) = intervals.lock()
                        && let Some(row) = iv.get_mut(slot(due))
                    {
                        if !ok {
                            row.failures += 1;
                        } else if body.is_some() {
                            row.verifies.push(took);
                        } else {
                            row.lookups.push(took);
                        }
                    }
                    if !ok {
                        sender = target.connect_full().await.ok();
                    }
                    due += every;
                }
            }));
        }
    }

    // The sampler: once a second.
    let sampler = {
        let target = target.clone();
        let intervals = intervals.clone();
        let auth = auth.clone();
        let pid = a.pid;
        tokio::spawn(async move {
            let mut sender = target.connect_full().await.ok();
            let mut tick = tokio::time::interval(Duration::from_secs(1));
            while Instant::now() < end + Duration::from_secs(1) {
                tick.tick().await;
                let now = Instant::now();
                let text = match sender.as_mut() {
                    Some(s) => async {
                        s.ready().await?;
                        let req = hyper::Request::get("/metrics")
                            .header(hyper::header::HOST, &target.authority)
                            .header(hyper::header::AUTHORIZATION, &auth)
                            .body(Full::new(Bytes::new()))?;
                        let r = s.send_request(req).await?;
                        let b = r.into_body().collect().await?.to_bytes();
                        anyhow::Ok(String::from_utf8_lossy(&b).into_owned())
                    }
                    .await
                    .ok(),
                    None => None,
                };
                if text.is_none() {
                    sender = target.connect_full().await.ok();
                }
                let text = text.unwrap_or_default();
                let i = slot(now.min(end - Duration::from_millis(1)));
                if let Ok(mut iv) = intervals.lock()
                    && let Some(row) = iv.get_mut(i)
                {
                    row.rss_max = row.rss_max.max(rss(pid));
                    if let Some(w) = gauge(&text, "yinzheng_store_wal_bytes") {
                        row.wal_max = row.wal_max.max(w as i64);
                    }
                    if let Some(b) = gauge(&text, "yinzheng_log_sequencing_lag_records") {
                        row.backlog_max = row.backlog_max.max(b as i64);
                    }
                    if let Some(g) = gauge(&text, "yinzheng_usage_backlog_age_seconds") {
                        row.backlog_age_max = row.backlog_age_max.max(g);
                    }
                    let h = anchor_hist(&text);
                    if !h.is_empty() {
                        row.anchor_hist = h;
                    }
                }
            }
        })
    };
    for t in tasks {
        let _ = t.await;
    }
    let _ = sampler.await;

    let mut rows = std::mem::take(&mut *intervals.lock().unwrap_or_else(|e| e.into_inner()));
    let mut json_rows = Vec::new();
    println!(
        "| interval | lookups/s | p99 lookup (ms) | verifies/s | p99 verify (ms) | failed | RSS max (MiB) | WAL max (MiB) | backlog max (records) | backlog age max (s) | p99 time to anchor (s, bucket) |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|");
    let mut before: Vec<(f64, u64)> = Vec::new();
    let mut violations = Vec::new();
    for (i, r) in rows.iter_mut().enumerate() {
        let secs = a.interval as f64;
        let anchor_p99 = hist_p99(&before, &r.anchor_hist);
        if !r.anchor_hist.is_empty() {
            before = r.anchor_hist.clone();
        }
        let (pl, pv) = (p99(&mut r.lookups), p99(&mut r.verifies));
        println!(
            "| {} | {:.0} | {:.1} | {:.1} | {:.1} | {} | {:.0} | {:.1} | {} | {:.2} | {} |",
            i + 1,
            r.lookups.len() as f64 / secs,
            pl * 1e3,
            r.verifies.len() as f64 / secs,
            pv * 1e3,
            r.failures,
            r.rss_max as f64 / 1048576.0,
            r.wal_max.max(0) as f64 / 1048576.0,
            r.backlog_max,
            r.backlog_age_max,
            anchor_p99.map_or("-".into(), |p| format!("≤ {p}")),
        );
        json_rows.push(serde_json::json!({
            "interval": i + 1,
            "lookupsPerSec": r.lookups.len() as f64 / secs,
            "lookupP99": pl,
            "verifiesPerSec": r.verifies.len() as f64 / secs,
            "verifyP99": pv,
            "failed": r.failures,
            "rssMaxBytes": r.rss_max,
            "walMaxBytes": r.wal_max,
            "backlogMaxRecords": r.backlog_max,
            "backlogAgeMaxSeconds": r.backlog_age_max,
            "anchorDelayP99BucketSeconds": anchor_p99,
        }));
        if r.failures > 0 {
            violations.push(format!(
                "interval {}: {} requests failed",
                i + 1,
                r.failures
            ));
        }
        if r.backlog_age_max > a.max_backlog_age_s {
            violations.push(format!(
                "interval {}: the anchoring backlog was {:.2} s old (bound {} s)",
                i + 1,
                r.backlog_age_max,
                a.max_backlog_age_s
            ));
        }
        if r.wal_max > (a.max_wal_mib << 20) as i64 {
            violations.push(format!(
                "interval {}: the WAL reached {} bytes (bound {} MiB)",
                i + 1,
                r.wal_max,
                a.max_wal_mib
            ));
        }
    }
    if let (Some(first), Some(last)) = (rows.first(), rows.last())
        && last.rss_max > first.rss_max + (a.max_rss_growth_mib << 20)
    {
        violations.push(format!(
            "RSS grew from {} to {} MiB (bound +{} MiB)",
            first.rss_max >> 20,
            last.rss_max >> 20,
            a.max_rss_growth_mib
        ));
    }
    let v = serde_json::json!({
        "rate": a.rate,
        "verifyRate": a.verify_rate,
        "seconds": a.seconds,
        "intervals": json_rows,
        "violations": violations,
    });
    if let Some(p) = &a.out {
        std::fs::write(p, serde_json::to_string_pretty(&v)? + "\n")?;
    }
    if !violations.is_empty() {
        for v in &violations {
            eprintln!("soak: {v}");
        }
        std::process::exit(1);
    }
    Ok(())
}
