//! The sequencer and its storage, in the Sunlight pattern.
//!
//! Data directory:
//! - `state.sqlite` (or, with `--store postgres://…`, the `<namespace>_log`
//!   schema): the log's configuration, the one "latest checkpoint" row, the
//!   staged bundle of the latest batch and the queue of entries submitted
//!   through the database ([`LogQueue`]);
//! - `tiles/`: the published C2SP tlog-tiles tree (static files; shared by
//!   every server when several run on one PostgreSQL database).
//!
//! On PostgreSQL one server at a time is the sequencer: [`Log::open_in`]
//! takes a [`Lease`] (a session advisory lock) and the others open
//! [`Log::follow_in`], a read-only view of the published tiles. When the
//! holder dies its session ends, the lease is free, and the next
//! `open_in` recovers from the committed checkpoint row, exactly as after a
//! crash. Entries reach the sequencer through its pool (in-process) or the
//! `queue` table (from any process), which it drains into the same batches
//! and marks with their indexes in the batch's own transaction.
//!
//! Write path, once per period (default 250 ms), for the whole pool:
//! 1. assign indexes, compute the new tiles and the new root in memory;
//! 2. sign the checkpoint once (one signature per batch, not per entry);
//! 3. in one SQLite transaction, compare-and-swap the latest checkpoint row
//!    (`UPDATE … WHERE body = old`) and store the batch's tiles as the staged
//!    bundle. **This commit is the point of no return**: before it a crash
//!    loses only unacknowledged submissions; after it the batch is in the log;
//! 4. publish the tiles (temp file, fsync, rename), the checkpoint file last;
//! 5. release the waiting submitters with their indexes.
//!
//! On start the staged bundle of the committed checkpoint is published again
//! (idempotent), the tree edge is rebuilt from the tiles and its root checked
//! against the committed checkpoint. Two sequencers on one directory: the one
//! that commits second fails its compare-and-swap and stops, so the log never
//! signs two inconsistent checkpoints.

use crate::error::{Error, Result};
use std::path::{Path, PathBuf};
use std::sync::mpsc::{Receiver, SyncSender, TryRecvError, sync_channel};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError, RwLock};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};
use yinzheng_anchor::{
    Checkpoint, Entry, Hash, HashAlg, MAX_ENTRY_LEN, Note, NoteSigner, SignedCheckpoint,
    TileBuilder, TileFile, TileReader, VerifierKey, consistency_proof, inclusion_proof,
};
use yinzheng_store::{Backend, Db, Lease, Location, Migration, Migrations, params};

/// Default batching period.
pub const DEFAULT_PERIOD: Duration = Duration::from_millis(250);
/// Default pool size (the rate limit: submissions beyond it are refused).
pub const DEFAULT_MAX_POOL: usize = 100_000;
const STATE_DB: &str = "state.sqlite";
/// The schema of the state database. Step 1 is the schema `Log::create_in` made
/// before yinzheng-store, with `IF NOT EXISTS` added so that on those
/// databases it is a no-op and they carry on from version 1 (SQLite keeps the
/// table definitions as they were). Add steps; never edit a shipped one.
const MIGRATIONS: Migrations = Migrations::new(&[
    Migration {
        name: "log state",
        sql: "CREATE TABLE IF NOT EXISTS config(key TEXT PRIMARY KEY, value TEXT NOT NULL);
             CREATE TABLE IF NOT EXISTS checkpoint(id INTEGER PRIMARY KEY CHECK (id = 1), body TEXT NOT NULL);
             CREATE TABLE IF NOT EXISTS staged(id INTEGER PRIMARY KEY CHECK (id = 1), size INTEGER NOT NULL, bundle BLOB NOT NULL);",
    },
    Migration {
        name: "submission queue",
        sql: "CREATE TABLE queue(id INTEGER PRIMARY KEY AUTOINCREMENT, entry BLOB NOT NULL, submitted_ms INTEGER NOT NULL, log_index INTEGER);
              CREATE INDEX queue_waiting ON queue(id) WHERE log_index IS NULL;",
    },
])
.with_postgres(&[
    "CREATE TABLE config(key TEXT PRIMARY KEY, value TEXT NOT NULL);
     CREATE TABLE checkpoint(id BIGINT PRIMARY KEY CHECK (id = 1), body TEXT NOT NULL);
     CREATE TABLE staged(id BIGINT PRIMARY KEY CHECK (id = 1), size BIGINT NOT NULL, bundle BYTEA NOT NULL);",
    "CREATE TABLE queue(id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY, entry BYTEA NOT NULL, submitted_ms BIGINT NOT NULL, log_index BIGINT);
     CREATE INDEX queue_waiting ON queue(id) WHERE log_index IS NULL;",
]);
/// The schema part of the log's state on PostgreSQL.
const PART: &str = "log";
/// Queued entries taken into one batch at most.
const QUEUE_BATCH: i64 = 4096;
/// How often the sequencer looks at the queue and checks its lease.
const QUEUE_POLL: Duration = Duration::from_millis(200);
const TILES_DIR: &str = "tiles";
/// The witnessed checkpoint, beside `checkpoint` in the tiles directory.
pub const WITNESSED_FILE: &str = "checkpoint.witnessed";
/// The lock publishers of the witnessed checkpoint hold.
const WITNESSED_LOCK: &str = "checkpoint.witnessed.lock";
const MAX_STAGED_FILES: u32 = 1 << 20;

/// Sequencer settings.
#[derive(Clone, Debug)]
pub struct LogOptions {
    period: Duration,
    max_pool: usize,
}

impl Default for LogOptions {
    fn default() -> Self {
        LogOptions {
            period: DEFAULT_PERIOD,
            max_pool: DEFAULT_MAX_POOL,
        }
    }
}

impl LogOptions {
    /// Batching period (Sunlight uses 100–1000 ms; 0 sequences as fast as it can).
    pub fn with_period(mut self, period: Duration) -> Self {
        self.period = period;
        self
    }

    /// Most submissions waiting at once.
    pub fn with_max_pool(mut self, max_pool: usize) -> Self {
        self.max_pool = max_pool.max(1);
        self
    }
}

/// A running log: producers submit entries, readers get proofs and entries.
pub struct Log {
    inner: Arc<Inner>,
    thread: Mutex<Option<JoinHandle<()>>>,
    /// A read-only view ([`Log::follow_in`]).
    follower: bool,
}

struct Inner {
    tiles: PathBuf,
    hash: HashAlg,
    origin: String,
    verifiers: Vec<VerifierKey>,
    options: LogOptions,
    /// Pending submissions; owned by this mutex, drained by the sequencer thread.
    pool: Mutex<Pool>,
    wake: Condvar,
    /// The latest published checkpoint and a reader at its size; replaced by
    /// the sequencer thread after each publish.
    published: RwLock<Arc<Published>>,
}

impl Inner {
    fn new(
        tiles: PathBuf,
        hash: HashAlg,
        origin: String,
        verifiers: Vec<VerifierKey>,
        options: LogOptions,
        published: Published,
    ) -> Inner {
        Inner {
            tiles,
            hash,
            origin,
            verifiers,
            options,
            pool: Mutex::new(Pool {
                items: Vec::new(),
                closing: false,
                stopped: None,
            }),
            wake: Condvar::new(),
            published: RwLock::new(Arc::new(published)),
        }
    }
}

struct Pool {
    items: Vec<(Vec<u8>, SyncSender<Result<u64>>)>,
    closing: bool,
    stopped: Option<String>,
}

struct Published {
    note: String,
    checkpoint: Checkpoint,
    reader: TileReader,
}

/// A submission waiting for its batch.
#[derive(Debug)]
pub struct Pending {
    rx: Receiver<Result<u64>>,
}

impl Pending {
    /// Block until the batch is committed and published; the entry's index.
    pub fn wait(self) -> Result<u64> {
        self.rx
            .recv()
            .unwrap_or_else(|_| Err(Error::Stopped("sequencer went away".into())))
    }

    /// The index if the batch is done, `None` while it is still pending.
    pub fn try_wait(&self) -> Option<Result<u64>> {
        match self.rx.try_recv() {
            Ok(r) => Some(r),
            Err(TryRecvError::Empty) => None,
            Err(TryRecvError::Disconnected) => {
                Some(Err(Error::Stopped("sequencer went away".into())))
            }
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Log {
    /// Create a new, empty log in `dir` (which must not hold one), its state
    /// in `backend` (the tiles stay in `dir`): writes the state database and
    /// the signed checkpoint of size 0.
    pub fn create_in(
        dir: &Path,
        backend: &Backend,
        origin: &str,
        hash: HashAlg,
        signers: &[&NoteSigner],
    ) -> Result<()> {
        std::fs::create_dir_all(dir.join(TILES_DIR)).map_err(|e| Error::io(dir, e))?;
        let location = backend.location(&dir.join(STATE_DB), PART);
        if let Location::Sqlite(db) = &location
            && db.exists()
        {
            return Err(Error::malformed("log directory", "already holds a log"));
        }
        let cp = Checkpoint::new(origin, 0, hash.empty_root())?;
        let note = cp.sign(signers)?;
        let db = open_db(&location, true)?;
        db.transaction(|tx| {
            if tx
                .query_opt("SELECT value FROM config WHERE key = 'origin'", params![])?
                .is_some()
            {
                return Err(Error::malformed(
                    "log state",
                    format!("{location} already holds a log"),
                ));
            }
            tx.execute("INSERT INTO config VALUES ('origin', ?1)", params![origin])?;
            tx.execute(
                "INSERT INTO config VALUES ('hash', ?1)",
                params![hash.name()],
            )?;
            tx.execute("INSERT INTO checkpoint VALUES (1, ?1)", params![note])?;
            Ok(())
        })?;
        write_durable(&dir.join(TILES_DIR).join("checkpoint"), note.as_bytes())
    }

    /// The origin and hash profile of the log in `dir` (its state in
    /// `backend`), without opening it for writing.
    pub fn config_in(dir: &Path, backend: &Backend) -> Result<(String, HashAlg)> {
        let db = open_db(&backend.location(&dir.join(STATE_DB), PART), false)?;
        read_config(&db)
    }

    /// Whether `backend` holds a log for `dir` (the state database exists and is configured).
    pub fn exists_in(dir: &Path, backend: &Backend) -> Result<bool> {
        match backend.location(&dir.join(STATE_DB), PART) {
            Location::Sqlite(p) if !p.exists() => Ok(false),
            location => {
                let db = open_db(&location, false)?;
                Ok(db
                    .query_opt("SELECT value FROM config WHERE key = 'origin'", params![])?
                    .is_some())
            }
        }
    }

    /// The tiles directory of the log in `dir`.
    pub fn tiles_dir(dir: &Path) -> PathBuf {
        dir.join(TILES_DIR)
    }

    /// Open the log in `dir` for writing, its state in `backend`: recover,
    /// then start the sequencer. `signers[0]` must be the key that signed the
    /// committed checkpoint. On PostgreSQL this takes
    /// the sequencer's lease first: [`Error::NotSequencer`] when another
    /// server holds it (open a [`Log::follow_in`] view instead and try again later).
    pub fn open_in(
        dir: &Path,
        backend: &Backend,
        signers: Vec<NoteSigner>,
        options: LogOptions,
    ) -> Result<Log> {
        if signers.is_empty() {
            return Err(Error::malformed("log", "no checkpoint signer"));
        }
        let location = backend.location(&dir.join(STATE_DB), PART);
        let lease = match &location {
            Location::Postgres { config, schema } => {
                let name = format!("yinzheng-log-sequencer:{schema}");
                Some(Lease::try_acquire(config, &name)?.ok_or_else(|| {
                    Error::NotSequencer(format!(
                        "another server holds the sequencer lease of {location}"
                    ))
                })?)
            }
            Location::Sqlite(_) => None,
            // A backend this sequencer does not know how to lease on.
            other => {
                return Err(Error::NotSequencer(format!(
                    "no sequencer lease on {other}"
                )));
            }
        };
        let conn = open_db(&location, false)?;
        let (origin, hash) = read_config(&conn)?;
        let tiles = dir.join(TILES_DIR);
        let verifiers: Vec<VerifierKey> = signers.iter().map(|s| s.verifier().clone()).collect();
        let (committed, builder) = recover(&conn, &tiles, hash, &origin, &verifiers)?;
        let cp = SignedCheckpoint::open(committed.as_bytes(), &verifiers, Some(&origin))?;
        let published = Published {
            note: committed.clone(),
            checkpoint: cp.checkpoint().clone(),
            reader: TileReader::new(&tiles, hash, cp.checkpoint().size()),
        };
        let inner = Arc::new(Inner::new(
            tiles, hash, origin, verifiers, options, published,
        ));
        let seq = Sequencer {
            inner: inner.clone(),
            conn,
            lease,
            signers,
            committed,
            builder,
        };
        let thread = std::thread::Builder::new()
            .name("anchor-sequencer".into())
            .spawn(move || seq.run())
            .map_err(|e| Error::io("sequencer thread", e))?;
        Ok(Log {
            inner,
            thread: Mutex::new(Some(thread)),
            follower: false,
        })
    }

    /// A read-only view of the log in `dir` for a server that is not the
    /// sequencer: checkpoints, tiles, proofs and entries come from the
    /// published tiles directory (shared with the sequencer), refreshed by
    /// [`Log::refresh`]; [`Log::submit`] is refused with [`Error::NotSequencer`].
    pub fn follow_in(dir: &Path, backend: &Backend, verifiers: Vec<VerifierKey>) -> Result<Log> {
        let (origin, hash) = Log::config_in(dir, backend)?;
        let tiles = dir.join(TILES_DIR);
        let published = read_published(&tiles, hash, &origin, &verifiers)?;
        let inner = Arc::new(Inner::new(
            tiles,
            hash,
            origin,
            verifiers,
            LogOptions::default(),
            published,
        ));
        Ok(Log {
            inner,
            thread: Mutex::new(None),
            follower: true,
        })
    }

    /// Whether this handle sequences (and is still running) rather than follows.
    pub fn is_sequencer(&self) -> bool {
        !self.follower && lock(&self.inner.pool).stopped.is_none()
    }

    /// Why the sequencer stopped, if it did.
    pub fn stopped(&self) -> Option<String> {
        lock(&self.inner.pool).stopped.clone()
    }

    /// A follower: read the published checkpoint again (only ever moving
    /// forward). Returns the published size. The sequencer: the size.
    pub fn refresh(&self) -> Result<u64> {
        let current = self.published();
        if !self.follower {
            return Ok(current.checkpoint.size());
        }
        // Unchanged (the common case when polled): no signature to check.
        let path = self.inner.tiles.join("checkpoint");
        if std::fs::read(&path).is_ok_and(|b| b == current.note.as_bytes()) {
            return Ok(current.checkpoint.size());
        }
        let newer = read_published(
            &self.inner.tiles,
            self.inner.hash,
            &self.inner.origin,
            &self.inner.verifiers,
        )?;
        let size = newer.checkpoint.size();
        if size > current.checkpoint.size() {
            *self
                .inner
                .published
                .write()
                .unwrap_or_else(PoisonError::into_inner) = Arc::new(newer);
            return Ok(size);
        }
        Ok(current.checkpoint.size())
    }

    /// Submit an entry without waiting; the [`Pending`] yields its index.
    pub fn submit(&self, entry: &[u8]) -> Result<Pending> {
        if entry.len() > MAX_ENTRY_LEN {
            return Err(Error::Anchor(yinzheng_anchor::Error::TooLarge {
                what: "entry",
                len: entry.len(),
                max: MAX_ENTRY_LEN,
            }));
        }
        if self.follower {
            return Err(Error::NotSequencer(
                "this server follows the log; the sequencer runs elsewhere".into(),
            ));
        }
        let (tx, rx) = sync_channel(1);
        let mut p = lock(&self.inner.pool);
        if let Some(why) = &p.stopped {
            return Err(Error::Stopped(why.clone()));
        }
        if p.closing {
            return Err(Error::Stopped("the log is closing".into()));
        }
        if p.items.len() >= self.inner.options.max_pool {
            return Err(Error::PoolFull(p.items.len()));
        }
        p.items.push((entry.to_vec(), tx));
        if self.inner.options.period.is_zero() {
            self.inner.wake.notify_one();
        }
        Ok(Pending { rx })
    }

    /// Append an entry and wait until its batch is committed and published.
    pub fn append(&self, entry: &[u8]) -> Result<u64> {
        self.submit(entry)?.wait()
    }

    /// Append a canonical [`Entry`].
    pub fn append_entry(&self, entry: &Entry) -> Result<u64> {
        self.append(&entry.encode())
    }

    /// The origin line.
    pub fn origin(&self) -> &str {
        &self.inner.origin
    }

    /// The hash profile.
    pub fn hash_alg(&self) -> HashAlg {
        self.inner.hash
    }

    /// The verifier keys of the checkpoint signers.
    pub fn verifiers(&self) -> &[VerifierKey] {
        &self.inner.verifiers
    }

    fn published(&self) -> Arc<Published> {
        self.inner
            .published
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// The latest published signed checkpoint (note text).
    pub fn checkpoint_note(&self) -> String {
        self.published().note.clone()
    }

    /// The latest published checkpoint.
    pub fn checkpoint(&self) -> Checkpoint {
        self.published().checkpoint.clone()
    }

    /// Inclusion proof of entry `index` in the tree of `size` (≤ the published size).
    pub fn prove_inclusion(&self, index: u64, size: u64) -> Result<Vec<Hash>> {
        let p = self.published();
        check_size(size, p.checkpoint.size())?;
        Ok(inclusion_proof(&p.reader, index, size)?)
    }

    /// Consistency proof from `old` to `new` (≤ the published size).
    pub fn prove_consistency(&self, old: u64, new: u64) -> Result<Vec<Hash>> {
        let p = self.published();
        check_size(new, p.checkpoint.size())?;
        Ok(consistency_proof(&p.reader, old, new)?)
    }

    /// The latest witnessed checkpoint: a checkpoint of this log with the
    /// witnesses' cosignatures that met their quorum (published by
    /// [`Log::publish_witnessed`]); `None` before the first. Read from the
    /// tiles directory, so every server of the log sees it. Its size may lag
    /// the log's: entries after it are not witnessed yet. A follower that
    /// has not yet seen the checkpoint it is of gets `None` too.
    pub fn witnessed_note(&self) -> Result<Option<String>> {
        let Some((note, size)) = self.read_witnessed()? else {
            return Ok(None);
        };
        Ok((size <= self.checkpoint().size()).then_some(note))
    }

    /// The witnessed checkpoint file, checked (log keys, origin), and its size.
    fn read_witnessed(&self) -> Result<Option<(String, u64)>> {
        let path = self.inner.tiles.join(WITNESSED_FILE);
        let bytes = match std::fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(Error::io(&path, e)),
        };
        // What is served was checked before it was written; check again
        // what is read (a file is not a proof).
        let cp = SignedCheckpoint::open(&bytes, &self.inner.verifiers, Some(&self.inner.origin))?;
        let size = cp.checkpoint().size();
        let note = String::from_utf8(bytes)
            .map_err(|_| Error::malformed("witnessed checkpoint", "not UTF-8"))?;
        Ok(Some((note, size)))
    }

    /// The latest witnessed checkpoint and its size, when it covers entry
    /// `index` (evidence for that entry can carry it).
    pub fn witnessed_covering(&self, index: u64) -> Result<Option<(String, u64)>> {
        Ok(self
            .read_witnessed()?
            .filter(|(_, size)| index < *size && *size <= self.checkpoint().size()))
    }

    /// Publish `note` as the witnessed checkpoint: a checkpoint the log's
    /// keys signed, of this log's origin, whose root is this log's tree at
    /// its size, carrying the witnesses' cosignatures (the caller checked the
    /// quorum). Never steps back: a note smaller than the one published, or
    /// of the same size with no more signatures, is ignored (`Ok(false)`).
    /// Publishers (a server's thread, `yinzheng log witness`, two servers
    /// during a lease handover) take an exclusive lock on
    /// `checkpoint.witnessed.lock` around the compare and the rename.
    pub fn publish_witnessed(&self, note: &str) -> Result<bool> {
        let cp = SignedCheckpoint::open(
            note.as_bytes(),
            &self.inner.verifiers,
            Some(&self.inner.origin),
        )?;
        let size = cp.checkpoint().size();
        let p = self.published();
        check_size(size, p.checkpoint.size())?;
        let ours = if size == p.checkpoint.size() {
            *p.checkpoint.root()
        } else {
            yinzheng_anchor::root(&p.reader, size)?
        };
        if ours != *cp.checkpoint().root() {
            return Err(Error::mismatch(format!(
                "the witnessed checkpoint's root at size {size} is not this log's"
            )));
        }
        let _lock = self.lock_witnessed()?;
        let signatures = |n: &str| Note::parse(n.as_bytes()).map(|n| n.signatures().len());
        // The file as it is, whatever this view's size (a follower's may
        // lag). One that cannot be read (damaged, or of keys this log no
        // longer has) is replaced: it proves nothing.
        if let Ok(Some((existing, old))) = self.read_witnessed()
            && (old > size || (old == size && signatures(&existing)? >= signatures(note)?))
        {
            return Ok(false);
        }
        write_durable(&self.inner.tiles.join(WITNESSED_FILE), note.as_bytes())?;
        Ok(true)
    }

    /// The exclusive lock publishers of the witnessed checkpoint hold (an
    /// advisory lock: local file systems and NFS; not every network share
    /// honours it). Released when the returned file is dropped. The lock
    /// file is opened read-only when it exists (whoever made it).
    fn lock_witnessed(&self) -> Result<std::fs::File> {
        let path = self.inner.tiles.join(WITNESSED_LOCK);
        let file = match std::fs::File::open(&path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => std::fs::OpenOptions::new()
                .create(true)
                .truncate(false)
                .write(true)
                .open(&path)
                .map_err(|e| Error::io(&path, e))?,
            Err(e) => return Err(Error::io(&path, e)),
        };
        file.lock().map_err(|e| Error::io(&path, e))?;
        Ok(file)
    }

    /// Withdraw the witnessed checkpoint when it is still `judged` — the
    /// file's bytes as the caller read and judged them (its cosignatures no
    /// longer meet the witness policy: a witness removed, the quorum raised;
    /// or it could not be read). One published since is left alone. Proofs
    /// go to the log's own checkpoint until the witnesses cosign again.
    /// Returns whether it was withdrawn.
    pub fn retract_witnessed(&self, judged: &[u8]) -> Result<bool> {
        let _lock = self.lock_witnessed()?;
        let path = self.inner.tiles.join(WITNESSED_FILE);
        match std::fs::read(&path) {
            Ok(now) if now == judged => {}
            Ok(_) => return Ok(false),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(false),
            Err(e) => return Err(Error::io(&path, e)),
        }
        std::fs::remove_file(&path).map_err(|e| Error::io(&path, e))?;
        Ok(true)
    }

    /// The witnessed checkpoint file's bytes, unchecked (for
    /// [`Log::retract_witnessed`]); `None` when there is none.
    pub fn witnessed_file(&self) -> Result<Option<Vec<u8>>> {
        let path = self.inner.tiles.join(WITNESSED_FILE);
        match std::fs::read(&path) {
            Ok(b) => Ok(Some(b)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(Error::io(&path, e)),
        }
    }

    /// Entry `index` of the published tree.
    pub fn entry(&self, index: u64) -> Result<Vec<u8>> {
        Ok(self.published().reader.entry(index)?)
    }

    /// Stop accepting entries, sequence what is pooled, and stop the sequencer.
    pub fn close(&self) -> Result<()> {
        {
            let mut p = lock(&self.inner.pool);
            p.closing = true;
        }
        self.inner.wake.notify_all();
        if let Some(t) = lock(&self.thread).take() {
            let _ = t.join();
        }
        match &lock(&self.inner.pool).stopped {
            Some(why) if why != "closed" => Err(Error::Stopped(why.clone())),
            _ => Ok(()),
        }
    }
}

impl Drop for Log {
    fn drop(&mut self) {
        let _ = self.close();
    }
}

impl std::fmt::Debug for Log {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Log")
            .field("origin", &self.inner.origin)
            .field("hash", &self.inner.hash)
            .finish_non_exhaustive()
    }
}

fn check_size(size: u64, published: u64) -> Result<()> {
    if size > published {
        return Err(Error::Anchor(yinzheng_anchor::Error::OutOfRange(format!(
            "tree size {size} is beyond the published size {published}"
        ))));
    }
    Ok(())
}

/// The sequencer thread's state; nothing else touches it.
struct Sequencer {
    inner: Arc<Inner>,
    conn: Db,
    /// The sequencer's lease (PostgreSQL); checked every [`QUEUE_POLL`].
    lease: Option<Lease>,
    signers: Vec<NoteSigner>,
    /// The checkpoint row as committed (the CAS expects exactly this).
    committed: String,
    builder: TileBuilder,
}

impl Sequencer {
    fn run(mut self) {
        let period = self.inner.options.period;
        let mut next = Instant::now() + period;
        let mut last_poll = Instant::now();
        loop {
            let (batch, closing) = {
                let mut p = lock(&self.inner.pool);
                while !p.closing && Instant::now() < next {
                    let wait = next.saturating_duration_since(Instant::now());
                    p = self
                        .inner
                        .wake
                        .wait_timeout(p, wait)
                        .unwrap_or_else(PoisonError::into_inner)
                        .0;
                    if period.is_zero() && !p.items.is_empty() {
                        break;
                    }
                }
                (std::mem::take(&mut p.items), p.closing)
            };
            next = Instant::now() + period;
            let poll = last_poll.elapsed() >= QUEUE_POLL || closing;
            if poll {
                last_poll = Instant::now();
                if let Some(lease) = &mut self.lease
                    && !lease.check()
                {
                    let why = "the sequencer lease was lost (database session ended)".to_string();
                    for (_, w) in batch {
                        let _ = w.send(Err(Error::Stopped(why.clone())));
                    }
                    self.stop(why);
                    return;
                }
            }
            if !batch.is_empty() || poll {
                let (entries, waiters): (Vec<Vec<u8>>, Vec<SyncSender<Result<u64>>>) =
                    batch.into_iter().unzip();
                match self.sequence(&entries, poll) {
                    Ok(first) => {
                        for (i, w) in waiters.into_iter().enumerate() {
                            let _ = w.send(Ok(first + i as u64));
                        }
                    }
                    Err(e) => {
                        let fatal = matches!(e, Error::LostCas | Error::Stopped(_))
                            || matches!(&e, Error::Store(s) if !s.is_unavailable());
                        let msg = e.to_string();
                        // The batch was not committed. Losing the CAS is
                        // reported as such, so a producer knows its entry is
                        // not in the log and may resubmit through the winner.
                        let lost = matches!(e, Error::LostCas);
                        for w in waiters {
                            let _ = w.send(Err(if lost {
                                Error::LostCas
                            } else {
                                Error::Stopped(msg.clone())
                            }));
                        }
                        if fatal {
                            self.stop(msg);
                            return;
                        }
                    }
                }
            }
            if period.is_zero() && !closing {
                // Nothing pooled: sleep until a submission wakes us.
                let p = lock(&self.inner.pool);
                if p.items.is_empty() && !p.closing {
                    let _ = self
                        .inner
                        .wake
                        .wait_timeout(p, Duration::from_millis(50))
                        .unwrap_or_else(PoisonError::into_inner);
                }
            }
            if closing && lock(&self.inner.pool).items.is_empty() {
                self.stop("closed".into());
                return;
            }
        }
    }

    fn stop(&self, why: String) {
        let mut p = lock(&self.inner.pool);
        for (_, w) in p.items.drain(..) {
            let _ = w.send(Err(Error::Stopped(why.clone())));
        }
        if p.stopped.is_none() {
            p.stopped = Some(why);
        }
    }

    /// Sequence one batch — the pooled `entries`, then (when `drain`) the
    /// entries waiting in the queue table; returns the index of its first entry.
    /// With nothing to sequence nothing is signed or written.
    fn sequence(&mut self, entries: &[Vec<u8>], drain: bool) -> Result<u64> {
        let queued: Vec<(i64, Vec<u8>)> = if drain {
            self.conn.query_map(
                "SELECT id, entry FROM queue WHERE log_index IS NULL AND length(entry) <= ?2
                 ORDER BY id LIMIT ?1",
                params![QUEUE_BATCH, MAX_ENTRY_LEN as i64],
                |r| Ok::<_, Error>((r.get(0)?, r.get(1)?)),
            )?
        } else {
            Vec::new()
        };
        let mut b = self.builder.clone();
        let first = b.size();
        if entries.is_empty() && queued.is_empty() {
            return Ok(first);
        }
        let mut files: Vec<TileFile> = Vec::new();
        for e in entries.iter().chain(queued.iter().map(|(_, e)| e)) {
            b.push(e, &mut files)?;
        }
        b.partial_files(&mut files)?;
        let cp = Checkpoint::new(&self.inner.origin, b.size(), b.root())?;
        let signers: Vec<&NoteSigner> = self.signers.iter().collect();
        let note = cp.sign(&signers)?;
        let staged = encode_staged(&files, &note);

        let queued_first = first + entries.len() as u64;
        let committed = self.committed.clone();
        self.conn.transaction(|tx| {
            let n = tx.execute(
                "UPDATE checkpoint SET body = ?1 WHERE id = 1 AND body = ?2",
                params![note, committed],
            )?;
            if n != 1 {
                // Another sequencer committed since we loaded: stop, never publish.
                return Err(Error::LostCas);
            }
            tx.execute(
                "INSERT INTO staged(id, size, bundle) VALUES (1, ?1, ?2)
                 ON CONFLICT (id) DO UPDATE SET size = excluded.size, bundle = excluded.bundle",
                params![b.size() as i64, staged],
            )?;
            for (k, (id, _)) in queued.iter().enumerate() {
                let n = tx.execute(
                    "UPDATE queue SET log_index = ?1 WHERE id = ?2 AND log_index IS NULL",
                    params![(queued_first + k as u64) as i64, id],
                )?;
                if n != 1 {
                    return Err(Error::LostCas);
                }
            }
            Ok(())
        })?;
        // Committed: the batch is in the log. A crash from here on is
        // recovered by publishing the staged bundle again.
        self.committed = note.clone();
        self.builder = b;
        publish(&self.inner.tiles, &files, &note).map_err(|e| Error::Stopped(e.to_string()))?;
        let reader = {
            let old = self
                .inner
                .published
                .read()
                .unwrap_or_else(PoisonError::into_inner);
            old.reader.at_size(cp.size())
        };
        *self
            .inner
            .published
            .write()
            .unwrap_or_else(PoisonError::into_inner) = Arc::new(Published {
            note,
            checkpoint: cp,
            reader,
        });
        Ok(first)
    }
}

/// Submissions through the database, for a process that is not the
/// sequencer (the CLI while servers run, on PostgreSQL): entries go into the
/// `queue` table, the sequencer takes them into its next batch and writes
/// their indexes in that batch's transaction — each queued entry is in the
/// log exactly once.
pub struct LogQueue {
    db: Mutex<Db>,
}

impl std::fmt::Debug for LogQueue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LogQueue").finish_non_exhaustive()
    }
}

impl LogQueue {
    /// The queue of the log in `dir` (state in `backend`).
    pub fn open_in(dir: &Path, backend: &Backend) -> Result<LogQueue> {
        let db = open_db(&backend.location(&dir.join(STATE_DB), PART), false)?;
        read_config(&db)?;
        Ok(LogQueue { db: Mutex::new(db) })
    }

    /// Queue `entries` in one transaction; their queue ids.
    pub fn enqueue(&self, entries: &[Vec<u8>]) -> Result<Vec<i64>> {
        for e in entries {
            if e.len() > MAX_ENTRY_LEN {
                return Err(Error::Anchor(yinzheng_anchor::Error::TooLarge {
                    what: "entry",
                    len: e.len(),
                    max: MAX_ENTRY_LEN,
                }));
            }
        }
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() as i64)
            .unwrap_or(0);
        let db = lock(&self.db);
        db.transaction(|tx| {
            entries
                .iter()
                .map(|e| {
                    tx.query_row(
                        "INSERT INTO queue (entry, submitted_ms) VALUES (?1, ?2) RETURNING id",
                        params![e, now],
                    )?
                    .get(0)
                    .map_err(Error::from)
                })
                .collect()
        })
    }

    /// Wait until every queued id has its log index (polling), at most `timeout`.
    pub fn wait(&self, ids: &[i64], timeout: Duration) -> Result<Vec<u64>> {
        let start = Instant::now();
        let db = lock(&self.db);
        let mut out = vec![None; ids.len()];
        loop {
            for (slot, id) in out.iter_mut().zip(ids) {
                if slot.is_none() {
                    let index: Option<i64> = db
                        .query_row("SELECT log_index FROM queue WHERE id = ?1", params![id])?
                        .get(0)?;
                    *slot = index.map(|i| i as u64);
                }
            }
            if out.iter().all(Option::is_some) {
                return Ok(out.into_iter().flatten().collect());
            }
            if start.elapsed() >= timeout {
                return Err(Error::QueueTimeout(timeout));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// [`enqueue`](Self::enqueue) then [`wait`](Self::wait).
    pub fn append(&self, entries: &[Vec<u8>], timeout: Duration) -> Result<Vec<u64>> {
        let ids = self.enqueue(entries)?;
        self.wait(&ids, timeout)
    }
}

/// Open the state database (WAL, `synchronous=FULL`: a checkpoint once
/// committed is published, and must not be forgotten by a power cut). Only
/// `Log::create_in` may create it; opening a directory without a log leaves
/// nothing behind.
fn open_db(location: &Location, create: bool) -> Result<Db> {
    Ok(Db::open(
        location,
        &MIGRATIONS,
        yinzheng_store::Options::default()
            .busy_timeout(Duration::from_secs(10))
            .create(create),
    )?)
}

fn read_config(conn: &Db) -> Result<(String, HashAlg)> {
    let get = |k: &str| -> Result<String> {
        conn.query_opt("SELECT value FROM config WHERE key = ?1", params![k])?
            .map(|r| r.get(0))
            .transpose()?
            .ok_or_else(|| Error::malformed("log state", format!("no {k} in config")))
    };
    let origin = get("origin")?;
    let hash = HashAlg::from_name(&get("hash")?)
        .ok_or_else(|| Error::malformed("log state", "unknown hash profile"))?;
    Ok((origin, hash))
}

/// Publish the staged bundle of the committed checkpoint again, rebuild the
/// tree edge from the tiles and check it against the committed root.
fn recover(
    conn: &Db,
    tiles: &Path,
    hash: HashAlg,
    origin: &str,
    verifiers: &[VerifierKey],
) -> Result<(String, TileBuilder)> {
    // One statement, one snapshot: another sequencer may commit between two
    // separate reads, and the staged bundle must belong to this checkpoint.
    let row = conn.query_row(
        "SELECT c.body, s.bundle FROM checkpoint c LEFT JOIN staged s ON s.id = 1 WHERE c.id = 1",
        params![],
    )?;
    let (committed, staged): (String, Option<Vec<u8>>) = (row.get(0)?, row.get(1)?);
    let cp = SignedCheckpoint::open(committed.as_bytes(), verifiers, Some(origin))?;
    if let Some(adopted) = adopt_published(conn, tiles, hash, origin, verifiers, &committed, &cp)? {
        return Ok(adopted);
    }
    match staged {
        Some(bundle) => {
            let (files, note) = decode_staged(&bundle)?;
            if note != committed {
                return Err(Error::mismatch(
                    "staged bundle does not belong to the committed checkpoint".into(),
                ));
            }
            publish(tiles, &files, &note)?;
        }
        None => write_durable(&tiles.join("checkpoint"), committed.as_bytes())?,
    }
    let size = cp.checkpoint().size();
    let reader = TileReader::new(tiles, hash, size);
    let builder = TileBuilder::resume(&reader, size)?;
    if &builder.root() != cp.checkpoint().root() {
        return Err(Error::mismatch(
            "tiles on disk do not give the committed checkpoint's root".into(),
        ));
    }
    Ok((committed, builder))
}

/// A published checkpoint larger than the committed one means the database is
/// older than the tiles: it was restored from a backup taken before the last
/// batches (docs/DEPLOYMENT.md dumps the database first, then the tiles). The
/// log must not go back — republishing the staged batch and carrying on from
/// the committed size would fork it for everyone who saw the later
/// checkpoint — so the published one is adopted: its signature is checked,
/// the tiles must give its root, and the committed checkpoint must be a prefix
/// of it (a consistency proof from the tiles). Then the row moves forward (a
/// compare-and-swap) and the stale staged batch is dropped. Any other
/// disagreement is refused: [`Error::Mismatch`].
fn adopt_published(
    conn: &Db,
    tiles: &Path,
    hash: HashAlg,
    origin: &str,
    verifiers: &[VerifierKey],
    committed: &str,
    cp: &SignedCheckpoint,
) -> Result<Option<(String, TileBuilder)>> {
    let path = tiles.join("checkpoint");
    if !path.exists() {
        return Ok(None);
    }
    let published = read_published(tiles, hash, origin, verifiers)?;
    let (old, new) = (cp.checkpoint(), &published.checkpoint);
    if new.size() <= old.size() {
        if new.size() == old.size() && new.root() != old.root() {
            return Err(Error::mismatch(format!(
                "the published checkpoint and the database's disagree at size {}: a forked log",
                new.size()
            )));
        }
        return Ok(None);
    }
    let builder = TileBuilder::resume(&published.reader, new.size())?;
    if &builder.root() != new.root() {
        return Err(Error::mismatch(
            "the tiles do not give the published checkpoint's root".into(),
        ));
    }
    let proof = consistency_proof(&published.reader, old.size(), new.size())?;
    yinzheng_anchor::verify_consistency(hash, old.size(), new.size(), old.root(), new.root(), &proof)
        .map_err(|_| {
            Error::mismatch(format!(
                "the database's checkpoint (size {}) is not a prefix of the published one (size {}): refusing to fork the log",
                old.size(),
                new.size()
            ))
        })?;
    conn.transaction(|tx| {
        let n = tx.execute(
            "UPDATE checkpoint SET body = ?1 WHERE id = 1 AND body = ?2",
            params![published.note, committed],
        )?;
        if n != 1 {
            return Err(Error::LostCas);
        }
        tx.execute("DELETE FROM staged WHERE id = 1", params![])?;
        Ok(())
    })?;
    Ok(Some((published.note, builder)))
}

/// The checkpoint published in `tiles` (the file the sequencer writes last,
/// after the tiles it covers), verified, with a reader at its size.
fn read_published(
    tiles: &Path,
    hash: HashAlg,
    origin: &str,
    verifiers: &[VerifierKey],
) -> Result<Published> {
    let path = tiles.join("checkpoint");
    let note = std::fs::read(&path).map_err(|e| Error::io(&path, e))?;
    let cp = SignedCheckpoint::open(&note, verifiers, Some(origin))?;
    let note = String::from_utf8(note).map_err(|_| Error::malformed("checkpoint", "not UTF-8"))?;
    Ok(Published {
        note,
        checkpoint: cp.checkpoint().clone(),
        reader: TileReader::new(tiles, hash, cp.checkpoint().size()),
    })
}

/// Staged bundle: u32 file count, then per file u16 path length ‖ path ‖ u32
/// data length ‖ data; the checkpoint note is the last file, path `checkpoint`.
fn encode_staged(files: &[TileFile], note: &str) -> Vec<u8> {
    let mut out = Vec::new();
    out.extend_from_slice(&(files.len() as u32 + 1).to_be_bytes());
    let mut put = |path: &str, data: &[u8]| {
        out.extend_from_slice(&(path.len() as u16).to_be_bytes());
        out.extend_from_slice(path.as_bytes());
        out.extend_from_slice(&(data.len() as u32).to_be_bytes());
        out.extend_from_slice(data);
    };
    for (p, d) in files {
        put(&p.to_path_string(), d);
    }
    put("checkpoint", note.as_bytes());
    out
}

fn decode_staged(b: &[u8]) -> Result<(Vec<TileFile>, String)> {
    let bad = || Error::malformed("staged bundle", "truncated");
    let mut pos = 0usize;
    let mut take = |n: usize| -> Result<&[u8]> {
        let s = b.get(pos..pos + n).ok_or_else(bad)?;
        pos += n;
        Ok(s)
    };
    let count = u32::from_be_bytes(take(4)?.try_into().map_err(|_| bad())?);
    if count == 0 || count > MAX_STAGED_FILES {
        return Err(Error::malformed("staged bundle", "bad file count"));
    }
    let mut files = Vec::new();
    let mut note = None;
    for i in 0..count {
        let pl = usize::from(u16::from_be_bytes(take(2)?.try_into().map_err(|_| bad())?));
        let path = std::str::from_utf8(take(pl)?)
            .map_err(|_| Error::malformed("staged bundle", "path not UTF-8"))?
            .to_string();
        let dl = u32::from_be_bytes(take(4)?.try_into().map_err(|_| bad())?) as usize;
        let data = take(dl)?.to_vec();
        if i + 1 == count {
            if path != "checkpoint" {
                return Err(Error::malformed(
                    "staged bundle",
                    "last file is not the checkpoint",
                ));
            }
            note = Some(
                String::from_utf8(data)
                    .map_err(|_| Error::malformed("staged bundle", "checkpoint not UTF-8"))?,
            );
        } else {
            files.push((yinzheng_anchor::TilePath::parse(&path)?, data));
        }
    }
    let note = note.ok_or_else(bad)?;
    Ok((files, note))
}

/// Write tiles, then the checkpoint: a reader never sees a checkpoint whose
/// tiles are missing.
///
/// A sequencer that is recovering may publish an older staged batch while
/// another one has already published a newer checkpoint; the checkpoint file
/// is therefore not replaced by a smaller tree.
// BUG(anchor): the read-compare-rename is not atomic, so in that race the file
// can still step back to an older (consistent, signed) checkpoint until the
// next batch is published. Proofs and tiles are unaffected.
fn publish(tiles: &Path, files: &[TileFile], note: &str) -> Result<()> {
    for (p, data) in files {
        write_durable(&tiles.join(p.to_path_string()), data)?;
    }
    let path = tiles.join("checkpoint");
    let size_of = |text: &[u8]| {
        yinzheng_anchor::Note::parse(text)
            .ok()
            .and_then(|n| Checkpoint::parse(n.text()).ok())
            .map(|c| c.size())
    };
    if let (Ok(existing), Some(new)) = (std::fs::read(&path), size_of(note.as_bytes()))
        && size_of(&existing).is_some_and(|old| old > new)
    {
        return Ok(());
    }
    write_durable(&path, note.as_bytes())
}

/// Temp file in the same directory, fsync, rename over the target, creating
/// the directory first. No directory fsync (`write_atomic_no_dir_sync`):
/// recovery publishes the committed checkpoint's tiles again from the state
/// database, and a sync per tile file more than doubled the sequencer tests' time.
fn write_durable(path: &Path, data: &[u8]) -> Result<()> {
    let dir = path.parent().unwrap_or_else(|| Path::new("."));
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    yinzheng_store::write_atomic_no_dir_sync(path, data).map_err(|e| Error::io(path, e))
}
