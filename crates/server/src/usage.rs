//! The one writer: usage records (用证记录) and token redemptions are group
//! committed — every job that arrives while a transaction is open joins the
//! next one — then anchored in the log in batches, and receipts asked for are
//! signed in batches (one signature over a Merkle root per window).
//!
//! A request waits for its commit (its usage record is written before it is
//! answered); one that asked for a receipt waits, in addition, for its record
//! to be anchored (one log batch, tens of milliseconds) or at most one receipt
//! window, then for the batch signature. Anchoring never blocks commits: the
//! entries are submitted to the log's sequencer and the writer goes on,
//! recording the indexes when the log's batch is published.

use crate::metrics::Metrics;
use std::sync::atomic::Ordering;
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender, TryRecvError, sync_channel};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::oneshot;
use yinzheng_anchor::NoteSigner;
use yinzheng_anchor::{Receipt, ReceiptBody, sign_receipts};
use yinzheng_license::{CheckOutcome, PendingUsage, Registry, UsageContext};
use yinzheng_log::LogSlot;
use yinzheng_log::Pending;

/// Jobs waiting for the writer at most (beyond: 503, back-pressure).
pub const QUEUE: usize = 65_536;
/// Jobs per transaction at most.
pub const MAX_BATCH: usize = 4_096;

/// What the writer answers.
#[derive(Debug)]
pub struct Written {
    /// The usage record's sequence number (0 for a refused redemption).
    pub seq: i64,
    /// A redemption's outcome (`Err`: the token was refused, with why).
    pub redeemed: Option<Result<CheckOutcome, String>>,
    /// The signed receipt, when asked for.
    pub receipt: Option<Receipt>,
}

enum Work {
    Record(PendingUsage),
    Redeem {
        token: String,
        ctx: UsageContext,
        at: time::OffsetDateTime,
    },
}

struct Job {
    work: Work,
    receipt: Option<ReceiptBody>,
    reply: oneshot::Sender<Result<Written, String>>,
}

/// Handle on the writer thread.
pub struct UsageWriter {
    tx: Mutex<Option<SyncSender<Job>>>,
    thread: Mutex<Option<std::thread::JoinHandle<()>>>,
    stop_checkpoints: Arc<std::sync::atomic::AtomicBool>,
    checkpoints: Mutex<Option<std::thread::JoinHandle<()>>>,
}

/// How the writer batches receipts and anchoring, and bounds the WAL.
#[derive(Clone, Copy, Debug)]
pub struct UsageOptions {
    /// How long a receipt waits at most for its batch to be signed.
    pub receipt_window: Duration,
    /// Records are submitted to the log at least this often.
    pub anchor_every: Duration,
    /// This many records waiting are submitted at once, without waiting.
    pub anchor_batch: usize,
    /// SQLite: a WAL file larger than this is checkpointed and truncated.
    pub wal_limit_bytes: u64,
}

impl UsageWriter {
    /// Start the writer on its own registry connection (`checkpointer`: a
    /// second SQLite connection for WAL checkpoints; `None` on PostgreSQL).
    pub fn start(
        registry: Registry,
        checkpointer: Option<Registry>,
        log: Arc<LogSlot>,
        receipt_signer: Option<NoteSigner>,
        options: UsageOptions,
        metrics: Arc<Metrics>,
    ) -> crate::Result<Self> {
        let (tx, rx) = sync_channel(QUEUE);
        metrics
            .usage_unanchored
            .store(registry.pending_usage_count()?, Ordering::Relaxed);
        let w = Writer {
            reg: registry,
            log,
            signer: receipt_signer,
            window: options.receipt_window.max(Duration::from_millis(1)),
            anchor_every: options.anchor_every.max(Duration::from_millis(10)),
            anchor_batch: options.anchor_batch.clamp(1, SUBMIT_SLICE) as i64,
            metrics: metrics.clone(),
            held: Vec::new(),
            held_since: None,
            last_anchor: Instant::now(),
            anchored: 0,
            submitted: 0,
            in_flight: Vec::new(),
            sequencing: false,
            written: 0,
            backlog: false,
            commits: std::collections::VecDeque::new(),
        };
        let thread = std::thread::Builder::new()
            .name("usage-writer".into())
            .spawn(move || w.run(rx))
            .map_err(|e| crate::Error::Config(format!("cannot start the usage writer: {e}")))?;
        // SQLite: the writer's connection does not checkpoint the WAL; this
        // thread does (PASSIVE every half second, the size looked at every
        // 100 ms), so no commit waits for that fsync.
        // (PostgreSQL checkpoints on its own: no thread.)
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let checkpoints = match checkpointer {
            Some(checkpointer) => {
                let stop2 = stop.clone();
                let limit = options.wal_limit_bytes.max(1 << 20);
                Some(
                    std::thread::Builder::new()
                        .name("wal-checkpoint".into())
                        .spawn(move || {
                            let mut state = Checkpoints::default();
                            let mut round = 0u32;
                            while !stop2.load(Ordering::Relaxed) {
                                std::thread::park_timeout(Duration::from_millis(100));
                                round = round.wrapping_add(1);
                                checkpoint_round(
                                    &checkpointer,
                                    limit,
                                    round.is_multiple_of(5),
                                    &metrics,
                                    &mut state,
                                );
                            }
                        })
                        .map_err(|e| {
                            crate::Error::Config(format!("cannot start the checkpointer: {e}"))
                        })?,
                )
            }
            None => None,
        };
        Ok(UsageWriter {
            tx: Mutex::new(Some(tx)),
            thread: Mutex::new(Some(thread)),
            stop_checkpoints: stop,
            checkpoints: Mutex::new(checkpoints),
        })
    }

    async fn submit(&self, work: Work, receipt: Option<ReceiptBody>) -> Result<Written, String> {
        let (reply, rx) = oneshot::channel();
        let tx = self
            .tx
            .lock()
            .ok()
            .and_then(|t| t.clone())
            .ok_or_else(|| "the server is shutting down".to_string())?;
        tx.try_send(Job {
            work,
            receipt,
            reply,
        })
        .map_err(|e| match e {
            std::sync::mpsc::TrySendError::Full(_) => "the usage-record queue is full".to_string(),
            std::sync::mpsc::TrySendError::Disconnected(_) => {
                "the usage writer stopped".to_string()
            }
        })?;
        rx.await
            .map_err(|_| "the usage writer stopped".to_string())?
    }

    /// Write a usage record (and sign a receipt for it when `receipt` is given).
    pub async fn record(
        &self,
        usage: PendingUsage,
        receipt: Option<ReceiptBody>,
    ) -> Result<Written, String> {
        self.submit(Work::Record(usage), receipt).await
    }

    /// Redeem a holder's token (single use: the update and its usage record
    /// commit together).
    pub async fn redeem(
        &self,
        token: String,
        ctx: UsageContext,
        at: time::OffsetDateTime,
        receipt: Option<ReceiptBody>,
    ) -> Result<Written, String> {
        self.submit(Work::Redeem { token, ctx, at }, receipt).await
    }

    /// True while the writer runs.
    pub fn is_running(&self) -> bool {
        self.thread
            .lock()
            .ok()
            .and_then(|t| t.as_ref().map(|h| !h.is_finished()))
            .unwrap_or(false)
    }

    /// Stop accepting jobs, finish the queued ones, anchor what is pending,
    /// sign the held receipts, and wait for the thread.
    pub fn close(&self) {
        if let Ok(mut t) = self.tx.lock() {
            t.take();
        }
        if let Some(h) = self.thread.lock().ok().and_then(|mut t| t.take()) {
            let _ = h.join();
        }
        self.stop_checkpoints.store(true, Ordering::Relaxed);
        if let Some(h) = self.checkpoints.lock().ok().and_then(|mut t| t.take()) {
            h.thread().unpark();
            let _ = h.join();
        }
    }
}

/// The checkpointer's memory between rounds.
#[derive(Default)]
struct Checkpoints {
    last_alarm: Option<Instant>,
    /// No TRUNCATE before this (backing off while readers hold old snapshots).
    next_truncate: Option<Instant>,
    backoff: Duration,
}

/// How long a TRUNCATE checkpoint may hold the write lock waiting for
/// readers (the usage writer's commits wait that long at most).
const TRUNCATE_WAIT: Duration = Duration::from_millis(100);

/// One round of the checkpointer: a PASSIVE checkpoint when `passive` (never
/// blocks the writer); when the WAL file is past `limit`, a PASSIVE
/// checkpoint (the copying, without the lock) then a TRUNCATE checkpoint,
/// which waits at most [`TRUNCATE_WAIT`] for the writer and readers and
/// gives the space back — PASSIVE alone never shrinks the file under
/// constant writes. A truncation kept from finishing by a reader backs off
/// (100 ms doubling to 5 s). Past four times the limit, an alarm at most
/// once a minute.
fn checkpoint_round(
    reg: &Registry,
    limit: u64,
    passive: bool,
    metrics: &Metrics,
    state: &mut Checkpoints,
) {
    let Some(mut size) = reg.wal_bytes() else {
        return;
    };
    let truncate = size > limit && state.next_truncate.is_none_or(|t| Instant::now() >= t);
    if (passive || truncate)
        && let Err(e) = reg.checkpoint()
    {
        tracing::warn!(error = %e, "WAL checkpoint failed (retried)");
    }
    if truncate {
        let done = reg.truncate_wal(TRUNCATE_WAIT);
        if let Ok(true) = done {
            metrics.wal_truncations.fetch_add(1, Ordering::Relaxed);
            size = reg.wal_bytes().unwrap_or(size);
            state.backoff = Duration::ZERO;
            state.next_truncate = None;
        } else {
            match done {
                Err(e) => {
                    tracing::warn!(error = %e, bytes = size, "WAL truncation failed (retried)")
                }
                _ => tracing::debug!(bytes = size, "WAL truncation waits for a reader"),
            }
            state.backoff =
                (state.backoff * 2).clamp(Duration::from_millis(100), Duration::from_secs(5));
            state.next_truncate = Some(Instant::now() + state.backoff);
        }
    }
    let last_alarm = &mut state.last_alarm;
    metrics.wal_bytes.store(size as i64, Ordering::Relaxed);
    if size > limit.saturating_mul(4)
        && last_alarm.is_none_or(|t| t.elapsed() >= Duration::from_secs(60))
    {
        *last_alarm = Some(Instant::now());
        tracing::error!(
            bytes = size,
            limit,
            "the SQLite WAL is over four times its limit: a reader holds an old snapshot, or the disk cannot keep up"
        );
    }
}

/// The most records submitted to the log in one slice (the writer answers
/// commits between slices).
const SUBMIT_SLICE: usize = 512;

struct Held {
    seq: i64,
    body: ReceiptBody,
    written: Written,
    reply: oneshot::Sender<Result<Written, String>>,
}

struct Writer {
    reg: Registry,
    /// The log: records are anchored only while this server sequences it
    /// (on PostgreSQL the sequencer's writer anchors every server's records).
    log: Arc<LogSlot>,
    signer: Option<NoteSigner>,
    window: Duration,
    anchor_every: Duration,
    metrics: Arc<Metrics>,
    held: Vec<Held>,
    held_since: Option<Instant>,
    last_anchor: Instant,
    /// Highest usage seq whose log index this writer recorded (receipts
    /// wait for it).
    anchored: i64,
    /// Highest usage seq this writer submitted to the log.
    submitted: i64,
    /// Submitted, not yet recorded: (seq, pending index, its answer once read).
    in_flight: Vec<(i64, Pending, Option<yinzheng_log::Result<u64>>)>,
    /// Whether this server sequenced the log at the last round: when it
    /// starts to (at start, or taking over from another server), the log's
    /// tail is reconciled with the records still pending first.
    sequencing: bool,
    /// Submit without waiting once this many records are waiting.
    anchor_batch: i64,
    /// Highest usage seq this writer committed.
    written: i64,
    /// The last submission was a full slice: more records wait.
    backlog: bool,
    /// This writer's committed batches not yet anchored: (highest seq,
    /// records, commit time, the same in Unix milliseconds) — for the
    /// backlog's age and the time to anchor.
    commits: std::collections::VecDeque<(i64, u64, Instant, u64)>,
}

impl Writer {
    fn run(mut self, rx: Receiver<Job>) {
        let mut closing = false;
        while !closing {
            let mut wait = match self.held_since {
                Some(t) => self.window.saturating_sub(t.elapsed()),
                None => self.anchor_every.saturating_sub(self.last_anchor.elapsed()),
            };
            if !self.in_flight.is_empty() {
                wait = wait.min(Duration::from_millis(2));
            }
            let mut batch = Vec::new();
            match rx.recv_timeout(wait) {
                Ok(j) => batch.push(j),
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => closing = true,
            }
            while !closing && batch.len() < MAX_BATCH {
                match rx.try_recv() {
                    Ok(j) => batch.push(j),
                    Err(TryRecvError::Empty) => break,
                    Err(TryRecvError::Disconnected) => closing = true,
                }
            }
            if !batch.is_empty() {
                self.commit(batch);
            }
            self.poll_anchored(false);
            let held_max = self.held.iter().map(|h| h.seq).max().unwrap_or(0);
            // Submit on time, for a receipt that waits, when a batch's worth
            // waits, or back to back while a backlog remains.
            if self.in_flight.is_empty()
                && (self.last_anchor.elapsed() >= self.anchor_every
                    || held_max > self.submitted
                    || self.backlog
                    || self.written - self.submitted >= self.anchor_batch)
            {
                self.submit_pending();
            }
            self.metrics.usage_backlog_oldest_ms.store(
                self.commits.front().map(|c| c.3).unwrap_or(0),
                Ordering::Relaxed,
            );
            let receipts_due = !self.held.is_empty()
                && (held_max <= self.anchored
                    || self.held_since.is_some_and(|t| t.elapsed() >= self.window));
            if receipts_due {
                self.sign_held();
            }
        }
        // Closing: everything written is anchored and every receipt signed.
        loop {
            self.poll_anchored(true);
            if !self.submit_pending() {
                break;
            }
        }
        self.sign_held();
    }

    /// Submit the usage records not yet in the log to its sequencer (no
    /// waiting) — only while this server sequences the log: on PostgreSQL the
    /// sequencing server's writer anchors every server's records, which wait
    /// in the registry's `usage_pending` table. Returns whether anything was
    /// submitted.
    fn submit_pending(&mut self) -> bool {
        self.last_anchor = Instant::now();
        self.backlog = false;
        let Some(log) = self.log.sequencer() else {
            // Another server anchors these records: their age is not known here.
            self.sequencing = false;
            self.commits.clear();
            return false;
        };
        if !self.sequencing {
            self.reconcile(&log);
            self.sequencing = true;
        }
        // Small slices: the writer answers commits between them; while a
        // slice comes back full the next is submitted as soon as this one is
        // published (a log batch every few milliseconds: tens of thousands
        // of records a second). Nothing is in flight here, so every pending
        // record is submitted once.
        let entries = match self.reg.pending_usage_entries(SUBMIT_SLICE) {
            Ok(e) => e,
            Err(e) => {
                tracing::error!(error = %e, "cannot read usage records to anchor");
                return false;
            }
        };
        self.backlog = entries.len() >= SUBMIT_SLICE;
        let mut any = false;
        for (seq, entry) in entries {
            match log.submit(&entry.encode()) {
                Ok(p) => {
                    self.in_flight.push((seq, p, None));
                    self.submitted = self.submitted.max(seq);
                    any = true;
                }
                Err(e) => {
                    tracing::warn!(error = %e, "log submission refused (retried next round)");
                    // Not a backlog to chase: wait for the next round.
                    self.backlog = false;
                    self.submitted = self.submitted.max(self.written);
                    break;
                }
            }
        }
        any
    }

    /// Usage records already in the log's tail are recorded, not anchored
    /// again (`Registry::reconcile_usage_with`).
    fn reconcile(&mut self, log: &yinzheng_log::Log) {
        match self.reg.reconcile_usage_with(log) {
            Ok(0) => {}
            Ok(n) => {
                tracing::info!(
                    records = n,
                    "usage records already in the log were recorded, not anchored again"
                );
                self.metrics.usage_records_anchored(n);
            }
            Err(e) => tracing::warn!(error = %e, "reconciling usage records with the log"),
        }
    }

    /// Record the indexes of a published batch (`block`: wait for it).
    fn poll_anchored(&mut self, block: bool) {
        if self.in_flight.is_empty() {
            return;
        }
        // A Pending answers once: keep each answer as it arrives.
        for (_, p, r) in self.in_flight.iter_mut() {
            if r.is_none() {
                *r = p.try_wait();
            }
        }
        if !block && self.in_flight.iter().any(|(_, _, r)| r.is_none()) {
            return;
        }
        let in_flight = std::mem::take(&mut self.in_flight);
        let mut pairs = Vec::with_capacity(in_flight.len());
        let mut failed = None;
        let mut lowest_failed = i64::MAX;
        for (seq, p, r) in in_flight {
            match r.unwrap_or_else(|| p.wait()) {
                Ok(i) => pairs.push((seq, i)),
                Err(e) => {
                    failed = Some(e);
                    lowest_failed = lowest_failed.min(seq);
                }
            }
        }
        if let Some(e) = failed {
            // The ones that got an index are recorded; the others stay
            // pending and are submitted again next round.
            tracing::error!(error = %e, "usage records not anchored (resubmitted next round)");
        }
        if pairs.is_empty() {
            return;
        }
        let n = pairs.len();
        let last = pairs.iter().map(|p| p.0).max().unwrap_or(self.anchored);
        match self.reg.mark_usage_anchored(&pairs) {
            Ok(()) => {
                self.anchored = self.anchored.max(last);
                self.metrics.usage_records_anchored(n);
                // A batch is done when every record up to its highest is
                // anchored (none below it failed).
                let complete = self.anchored.min(lowest_failed.saturating_sub(1));
                while let Some(&(seq, records, at, _)) = self.commits.front() {
                    if seq > complete {
                        break;
                    }
                    self.metrics.anchor_delay.observe_n(at.elapsed(), records);
                    self.commits.pop_front();
                }
            }
            Err(e) => {
                // They stay pending; the next round reconciles the log's
                // tail first, so they are recorded, not anchored twice.
                tracing::error!(error = %e, "anchored usage records not recorded (resubmitted)");
                self.sequencing = false;
            }
        }
    }

    fn commit(&mut self, batch: Vec<Job>) {
        let n = batch.len();
        let results = self.reg.write_batch(|reg| {
            batch
                .iter()
                .map(|j| match &j.work {
                    Work::Record(u) => reg.record_usage(u).map(|seq| Written {
                        seq,
                        redeemed: None,
                        receipt: None,
                    }),
                    Work::Redeem { token, ctx, at } => match reg.redeem_token(token, ctx, *at) {
                        Ok(o) => Ok(Written {
                            seq: o.usage_record,
                            redeemed: Some(Ok(o)),
                            receipt: None,
                        }),
                        Err(yinzheng_license::Error::Token(why)) => Ok(Written {
                            seq: 0,
                            redeemed: Some(Err(why)),
                            receipt: None,
                        }),
                        Err(e) => Err(e),
                    },
                })
                .collect::<Vec<_>>()
        });
        match results {
            Err(e) => {
                tracing::error!(error = %e, jobs = n, "usage batch not committed");
                self.metrics.store_errors.fetch_add(1, Ordering::Relaxed);
                for j in batch {
                    let _ = j
                        .reply
                        .send(Err(format!("the usage record was not written: {e}")));
                }
            }
            Ok(results) => {
                let top = results
                    .iter()
                    .filter_map(|r| r.as_ref().ok().map(|w| w.seq))
                    .max()
                    .unwrap_or(0);
                if top > 0 {
                    let records = results
                        .iter()
                        .filter(|r| r.as_ref().is_ok_and(|w| w.seq > 0))
                        .count() as u64;
                    self.written = self.written.max(top);
                    let unix_ms = std::time::SystemTime::now()
                        .duration_since(std::time::UNIX_EPOCH)
                        .map_or(0, |d| d.as_millis() as u64);
                    self.commits
                        .push_back((top, records, Instant::now(), unix_ms));
                }
                self.metrics.usage_batches.fetch_add(1, Ordering::Relaxed);
                self.metrics
                    .usage_written
                    .fetch_add(n as u64, Ordering::Relaxed);
                self.metrics
                    .usage_unanchored
                    .fetch_add(n as i64, Ordering::Relaxed);
                for (j, r) in batch.into_iter().zip(results) {
                    // A redemption's receipt states what the redemption found.
                    let receipt = match (j.receipt, &r) {
                        (
                            Some(mut b),
                            Ok(Written {
                                redeemed: Some(Ok(o)),
                                ..
                            }),
                        ) => {
                            b.result_code = Some(o.code_number);
                            b.result = format!("{} {}", o.code_number, o.code.describe());
                            if let Some(l) = &o.license {
                                b.subject = l.id.to_string();
                            }
                            Some(b)
                        }
                        (b, _) => b,
                    };
                    match (r, receipt) {
                        (Err(e), _) => {
                            let _ = j
                                .reply
                                .send(Err(format!("the usage record was not written: {e}")));
                        }
                        (Ok(w), Some(body)) if w.seq > 0 && self.signer.is_some() => {
                            self.held_since.get_or_insert_with(Instant::now);
                            self.held.push(Held {
                                seq: w.seq,
                                body,
                                written: w,
                                reply: j.reply,
                            });
                        }
                        (Ok(w), _) => {
                            let _ = j.reply.send(Ok(w));
                        }
                    }
                }
            }
        }
    }

    fn sign_held(&mut self) {
        if self.held.is_empty() {
            return;
        }
        self.held_since = None;
        let held = std::mem::take(&mut self.held);
        let (Some(signer), Some(log)) = (&self.signer, self.log.current()) else {
            for h in held {
                let _ = h.reply.send(Ok(h.written));
            }
            return;
        };
        let mut bodies = Vec::with_capacity(held.len());
        for h in &held {
            let mut b = h.body.clone();
            b.usage_seq = Some(h.seq);
            if let Ok(Some(r)) = self.reg.usage_record(h.seq) {
                b.usage_sm3 = Some(r.record_sm3);
                b.log_index = r.log_index;
            }
            bodies.push(b);
        }
        let now_ms = time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000;
        match sign_receipts(bodies, log.origin(), log.hash_alg(), signer, now_ms as u64) {
            Ok(receipts) => {
                self.metrics.receipt_batches.fetch_add(1, Ordering::Relaxed);
                self.metrics
                    .receipts_signed
                    .fetch_add(receipts.len() as u64, Ordering::Relaxed);
                for (mut h, r) in held.into_iter().zip(receipts) {
                    h.written.receipt = Some(r);
                    let _ = h.reply.send(Ok(h.written));
                }
            }
            Err(e) => {
                tracing::error!(error = %e, "receipt batch not signed");
                for h in held {
                    let _ = h.reply.send(Ok(h.written));
                }
            }
        }
    }
}
