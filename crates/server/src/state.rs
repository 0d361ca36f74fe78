//! Everything a request handler needs, loaded once at start: callers, trust
//! material (anchors, intermediates, fresh CRLs), OCSP responders, read
//! connections to the registries, the anchoring log and the usage writer.

use crate::auth::Callers;
use crate::config::{CallersFile, ServerConfig};
use crate::error::{Error, Result};
use crate::metrics::Metrics;
use crate::usage::UsageWriter;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};
use yinzheng_anchor::{Log, LogOptions, NoteSigner, VerifierKey};
use yinzheng_crypto::PrivateKey;
use yinzheng_pki::ocsp::OcspResponder;
use yinzheng_pki::{ParsedCert, TrustDomain, Validator};
use yinzheng_store::Backend;
use zeroize::Zeroizing;

/// CRLs are signed this many hours ahead; the server re-signs them every
/// [`CRL_REFRESH`] so a revocation reaches verification within minutes.
pub const CRL_HOURS: u32 = 24;
/// How often CRLs (and the validator built on them) are refreshed.
pub const CRL_REFRESH: Duration = Duration::from_secs(300);

/// Anchors, intermediates and CRLs for verifying files; replaced as a whole
/// when CRLs are refreshed.
pub struct TrustMaterial {
    /// Roots of every local trust domain, with their fresh CRLs.
    pub validator: Validator,
    /// Issuing CAs of every local trust domain (path building only).
    pub intermediates: Vec<ParsedCert>,
    /// CRLs by published name (`<domain>`, `<domain>-<issuer>`, `<domain>-root`).
    pub crls: Vec<(String, Vec<u8>)>,
}

/// One local trust domain.
pub struct Domain {
    /// Directory name under `HOME/pki`.
    pub name: String,
    /// The domain (its `ca.db` is read for certificate status).
    pub domain: Mutex<TrustDomain>,
    /// Its delegated OCSP responder (pre-signed responses).
    pub ocsp: OcspResponder,
}

/// Read handles on the registries, one per concurrent request.
pub struct Reader {
    /// The license registry.
    pub licenses: yinzheng_license::Registry,
    /// The seal registry (absent when the data directory has none).
    pub seals: Option<yinzheng_seal::Registry>,
}

/// A small pool of [`Reader`]s. On SQLite a request that finds none idle
/// opens another (a file open); on PostgreSQL it waits for one (each reader is
/// a database session: the pool is the connection pool, `readers` sessions
/// per server), and answers 503 after [`READER_WAIT`].
pub struct ReaderPool {
    home: PathBuf,
    idle: Mutex<Vec<Reader>>,
    returned: std::sync::Condvar,
    keep: usize,
    bounded: bool,
}

/// How long a request waits for a PostgreSQL session before a 503.
pub const READER_WAIT: Duration = Duration::from_secs(5);

/// A reader checked out of the pool; returns on drop.
pub struct PooledReader<'a> {
    pool: &'a ReaderPool,
    reader: Option<Reader>,
}

impl std::ops::Deref for PooledReader<'_> {
    type Target = Reader;
    fn deref(&self) -> &Reader {
        self.reader.as_ref().expect("present until drop")
    }
}

impl Drop for PooledReader<'_> {
    fn drop(&mut self) {
        if let (Some(r), Ok(mut idle)) = (self.reader.take(), self.pool.idle.lock())
            && idle.len() < self.pool.keep
        {
            idle.push(r);
            self.pool.returned.notify_one();
        }
    }
}

impl ReaderPool {
    fn open_reader(home: &Path) -> Result<Reader> {
        let seals_db = home.join("seals").join("seals.db");
        Ok(Reader {
            licenses: yinzheng_license::Registry::open(&home.join("licenses"))?,
            seals: if seals_db.exists() || Backend::for_path(&seals_db)?.is_postgres() {
                Some(yinzheng_seal::Registry::open(&seals_db)?)
            } else {
                None
            },
        })
    }

    /// A pool over `home`, opening `keep` readers now.
    pub fn new(home: &Path, keep: usize) -> Result<Self> {
        let keep = keep.max(1);
        let mut idle = Vec::with_capacity(keep);
        for _ in 0..keep {
            idle.push(Self::open_reader(home)?);
        }
        Ok(ReaderPool {
            home: home.to_path_buf(),
            idle: Mutex::new(idle),
            returned: std::sync::Condvar::new(),
            keep,
            bounded: Backend::for_path(&home.join("licenses").join("licenses.db"))?.is_postgres(),
        })
    }

    /// Check out a reader (SQLite: opens another one when all are busy;
    /// PostgreSQL: waits up to [`READER_WAIT`] for one).
    pub fn get(&self) -> Result<PooledReader<'_>> {
        let mut idle = self
            .idle
            .lock()
            .map_err(|_| Error::Config("the reader pool is poisoned".into()))?;
        let started = Instant::now();
        let r = loop {
            if let Some(r) = idle.pop() {
                break Some(r);
            }
            if !self.bounded {
                break None;
            }
            let left = READER_WAIT.saturating_sub(started.elapsed());
            if left.is_zero() {
                return Err(Error::Busy(
                    "every database session of this server is busy".into(),
                ));
            }
            idle = self
                .returned
                .wait_timeout(idle, left)
                .map_err(|_| Error::Config("the reader pool is poisoned".into()))?
                .0;
        };
        drop(idle);
        let reader = match r {
            Some(r) => r,
            None => Self::open_reader(&self.home)?,
        };
        Ok(PooledReader {
            pool: self,
            reader: Some(reader),
        })
    }
}

/// The shared state of a running server.
pub struct AppState {
    /// The data directory.
    pub home: PathBuf,
    /// `server.toml`.
    pub config: ServerConfig,
    /// Who may call.
    pub callers: Callers,
    /// Verification trust (swapped on CRL refresh).
    pub trust: RwLock<Arc<TrustMaterial>>,
    /// Local trust domains.
    pub domains: Vec<Domain>,
    /// Registry readers.
    pub readers: ReaderPool,
    /// The anchoring log (sequencer or follower), when the data directory has one.
    pub log: Arc<LogSlot>,
    /// Where the registries live (embedded SQLite or PostgreSQL).
    pub backend: Backend,
    /// Usage records, token redemptions, anchoring and receipts.
    pub usage: UsageWriter,
    /// Counters.
    pub metrics: Arc<Metrics>,
    /// When the server started.
    pub started: Instant,
}

fn read_dir_sorted(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|d| d.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    v.sort();
    v
}

fn load_key(path: &Path, pass: &[u8]) -> Result<PrivateKey> {
    let bytes = Zeroizing::new(std::fs::read(path).map_err(|e| Error::io(path, e))?);
    Ok(PrivateKey::from_bytes(&bytes, Some(pass))?)
}

/// Open every trust domain under `HOME/pki` (each needs the passphrase to
/// sign CRLs and OCSP responses).
fn open_domains(home: &Path, pass: &[u8]) -> Result<Vec<Domain>> {
    let mut out = Vec::new();
    for dir in read_dir_sorted(&home.join("pki")) {
        if !dir.join("root.pem").exists() {
            continue;
        }
        let name = dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let domain = TrustDomain::open(&dir, Some(pass))?;
        let ocsp = domain.ocsp_responder_service(CRL_HOURS)?;
        out.push(Domain {
            name,
            domain: Mutex::new(domain),
            ocsp,
        });
    }
    Ok(out)
}

/// Sign fresh CRLs for every domain and build the validator on them.
pub fn build_trust(domains: &[Domain]) -> Result<TrustMaterial> {
    let mut anchors = Vec::new();
    let mut intermediates = Vec::new();
    let mut crls = Vec::new();
    let mut published = Vec::new();
    for d in domains {
        let mut dom = d
            .domain
            .lock()
            .map_err(|_| Error::Config(format!("trust domain {} is poisoned", d.name)))?;
        anchors.push(dom.root().clone());
        let names: Vec<String> = dom.issuers().iter().map(|(n, _)| n.to_string()).collect();
        for (_, c) in dom.issuers() {
            intermediates.push(c.clone());
        }
        let list = dom.crl(CRL_HOURS)?;
        for (i, crl) in list.iter().enumerate() {
            let name = match names.get(i).map(String::as_str) {
                Some("main") => d.name.clone(),
                Some(n) => format!("{}-{n}", d.name),
                None => format!("{}-root", d.name),
            };
            published.push((name, crl.der().to_vec()));
        }
        crls.extend(list);
    }
    Ok(TrustMaterial {
        validator: Validator::new(anchors).with_crls(crls),
        intermediates,
        crls: published,
    })
}

/// The log's keys, kept (zeroized on drop) so that a server that follows the
/// log can become its sequencer later without the passphrase.
struct LogKeys {
    origin: String,
    pkcs8: Vec<Zeroizing<Vec<u8>>>,
}

impl LogKeys {
    fn signers(&self) -> Result<Vec<NoteSigner>> {
        self.pkcs8
            .iter()
            .map(|der| {
                Ok(NoteSigner::new(
                    &self.origin,
                    PrivateKey::from_bytes(der, None)?,
                )?)
            })
            .collect()
    }
}

/// The anchoring log as this server has it: the sequencer (embedded store:
/// always; PostgreSQL: while this server holds the lease) or a follower of
/// the published tiles. [`LogSlot::tick`] (every second, on its own thread)
/// refreshes a follower, takes the lease when it is free, and falls back to
/// following when the sequencer stopped (lease lost).
pub struct LogSlot {
    dir: PathBuf,
    backend: Backend,
    keys: Option<LogKeys>,
    verifiers: Vec<VerifierKey>,
    current: RwLock<Option<Arc<Log>>>,
}

impl LogSlot {
    fn none(dir: &Path, backend: &Backend) -> LogSlot {
        LogSlot {
            dir: dir.to_path_buf(),
            backend: backend.clone(),
            keys: None,
            verifiers: Vec::new(),
            current: RwLock::new(None),
        }
    }

    /// The log (sequencer or follower), if there is one.
    pub fn current(&self) -> Option<Arc<Log>> {
        self.current.read().ok().and_then(|c| c.clone())
    }

    /// The log, if this server is its running sequencer.
    pub fn sequencer(&self) -> Option<Arc<Log>> {
        self.current().filter(|l| l.is_sequencer())
    }

    fn open_sequencer(&self) -> yinzheng_anchor::Result<Option<Log>> {
        let Some(keys) = &self.keys else {
            return Ok(None);
        };
        let signers = keys
            .signers()
            .map_err(|e| yinzheng_anchor::Error::Stopped(e.to_string()))?;
        match Log::open_in(
            &self.dir,
            &self.backend,
            signers,
            LogOptions::default().with_period(Duration::from_millis(20)),
        ) {
            Ok(l) => Ok(Some(l)),
            Err(yinzheng_anchor::Error::NotSequencer(_)) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Refresh a follower; become the sequencer when the lease is free;
    /// follow again when the sequencer stopped. Errors are logged, never fatal.
    pub fn tick(&self) {
        let Some(log) = self.current() else { return };
        if log.is_sequencer() {
            return;
        }
        if let Some(why) = log.stopped() {
            tracing::warn!(reason = %why, "the log sequencer stopped; following the log");
        } else if let Err(e) = log.refresh() {
            tracing::warn!(error = %e, "cannot refresh the followed log");
        }
        match self.open_sequencer() {
            Ok(Some(seq)) => {
                tracing::info!(
                    size = seq.checkpoint().size(),
                    "took the sequencer lease: this server now sequences the log"
                );
                self.replace(Arc::new(seq));
            }
            Ok(None) => {
                if log.stopped().is_some() {
                    match Log::follow_in(&self.dir, &self.backend, self.verifiers.clone()) {
                        Ok(f) => self.replace(Arc::new(f)),
                        Err(e) => tracing::warn!(error = %e, "cannot follow the log"),
                    }
                }
            }
            Err(e) => tracing::warn!(error = %e, "cannot open the log as its sequencer"),
        }
    }

    fn replace(&self, log: Arc<Log>) {
        if let Ok(mut c) = self.current.write() {
            *c = Some(log);
        }
    }

    /// Sequence what is pooled and stop (at shutdown).
    pub fn close(&self) {
        if let Some(l) = self.sequencer()
            && let Err(e) = l.close()
        {
            tracing::warn!(error = %e, "closing the log");
        }
    }
}

/// The log's note signers (SM2 key; Ed25519 when present) and a second
/// signer on the SM2 key for receipt batches. Each key file is decrypted
/// once (PBKDF2 is deliberately slow); the copy comes from its PKCS#8 bytes.
/// The keys are kept (zeroized on drop) to open the sequencer again later.
fn log_keys(dir: &Path, pass: &[u8]) -> Result<(Vec<NoteSigner>, NoteSigner, LogKeys)> {
    let (origin, _) = Log::config(dir)?;
    let mut keys = vec![load_key(&dir.join("log-signer.key.pem"), pass)?];
    let ed = dir.join("log-signer-ed25519.key.pem");
    if ed.exists() {
        keys.push(load_key(&ed, pass)?);
    }
    let kept = LogKeys {
        origin: origin.clone(),
        pkcs8: keys.iter().map(|k| k.to_pkcs8_der()).collect(),
    };
    let receipts = NoteSigner::new(&origin, PrivateKey::from_bytes(&kept.pkcs8[0], None)?)?;
    let signers = keys
        .into_iter()
        .map(|k| Ok(NoteSigner::new(&origin, k)?))
        .collect::<Result<Vec<_>>>()?;
    Ok((signers, receipts, kept))
}

/// The server's background threads that follow the shared store: the log
/// slot's tick (every second) and, on PostgreSQL, the change listener that
/// rebuilds the validator (fresh CRLs) the moment another server or the CLI
/// revokes a certificate. Stopped and joined on drop.
pub struct Watchers {
    stop: Arc<std::sync::atomic::AtomicBool>,
    threads: Vec<std::thread::JoinHandle<()>>,
}

impl Drop for Watchers {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

/// The channel every store change is announced on (`Db::notify`).
pub const CHANGES_CHANNEL: &str = "yinzheng_changes";

impl AppState {
    /// Start the [`Watchers`].
    pub fn watch(self: &Arc<Self>) -> Result<Watchers> {
        use std::sync::atomic::Ordering;
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let mut threads = Vec::new();
        let (st, halt) = (self.clone(), stop.clone());
        threads.push(
            std::thread::Builder::new()
                .name("log-slot".into())
                .spawn(move || {
                    let mut last = Instant::now();
                    while !halt.load(Ordering::Relaxed) {
                        std::thread::sleep(Duration::from_millis(100));
                        if last.elapsed() >= Duration::from_secs(1) {
                            last = Instant::now();
                            st.log.tick();
                        }
                    }
                })
                .map_err(|e| Error::Config(format!("cannot start the log thread: {e}")))?,
        );
        if let Backend::Postgres(config) = &self.backend {
            let mut listener = yinzheng_store::Listener::new(config, CHANGES_CHANNEL)
                .map_err(|e| Error::Config(e.to_string()))?;
            let (st, halt) = (self.clone(), stop.clone());
            threads.push(
                std::thread::Builder::new()
                    .name("store-changes".into())
                    .spawn(move || {
                        while !halt.load(Ordering::Relaxed) {
                            let refresh = match listener.wait(Duration::from_millis(500)) {
                                Ok(yinzheng_store::Heard::Reconnected) => true,
                                Ok(yinzheng_store::Heard::Changed(schemas)) => {
                                    schemas.iter().any(|s| s.contains("_pki_"))
                                }
                                Err(e) => {
                                    tracing::warn!(error = %e, "store change listener");
                                    false
                                }
                            };
                            if refresh {
                                match st.refresh_trust() {
                                    Ok(()) => tracing::info!(
                                        "certificate status changed: CRLs re-signed, validator refreshed"
                                    ),
                                    Err(e) => tracing::error!(error = %e, "trust refresh failed"),
                                }
                            }
                        }
                    })
                    .map_err(|e| Error::Config(format!("cannot start the listener: {e}")))?,
            );
        }
        Ok(Watchers { stop, threads })
    }

    /// Load the state of `home` (the data directory), unlocking keys with
    /// `pass`.
    pub fn open(home: &Path, config: ServerConfig, pass: &[u8]) -> Result<Arc<AppState>> {
        let callers = Callers::new(CallersFile::load(home)?);
        if callers.is_empty() {
            tracing::warn!(
                "no callers configured in {}: every API call will be refused",
                CallersFile::path(home).display()
            );
        }
        let domains = open_domains(home, pass)?;
        let trust = build_trust(&domains)?;
        let readers = ReaderPool::new(home, config.readers)?;
        let log_dir = home.join("log");
        let metrics = Arc::new(Metrics::default());
        let log_backend = Backend::for_path(&log_dir.join("state.sqlite"))?;
        let (log, receipt_signer) = if Log::exists_in(&log_dir, &log_backend)? {
            let (signers, receipt_signer, keys) = log_keys(&log_dir, pass)?;
            let verifiers: Vec<VerifierKey> =
                signers.iter().map(|s| s.verifier().clone()).collect();
            let slot = LogSlot {
                keys: Some(keys),
                verifiers: verifiers.clone(),
                ..LogSlot::none(&log_dir, &log_backend)
            };
            let log = match slot.open_sequencer()? {
                Some(seq) => seq,
                None => {
                    tracing::info!("another server sequences the log: following it");
                    Log::follow_in(&log_dir, &log_backend, verifiers)?
                }
            };
            slot.replace(Arc::new(log));
            (Arc::new(slot), Some(receipt_signer))
        } else {
            tracing::warn!(
                "no anchoring log in {}: usage records stay unanchored",
                log_dir.display()
            );
            (Arc::new(LogSlot::none(&log_dir, &log_backend)), None)
        };
        let writer = yinzheng_license::Registry::open(&home.join("licenses"))?;
        if !config.usage_fsync {
            writer.set_synchronous(yinzheng_store::Synchronous::Normal)?;
        }
        // WAL checkpoints (and their fsyncs) run on a thread of their own,
        // not inside a commit that requests are waiting for.
        writer.disable_auto_checkpoint()?;
        let checkpointer = yinzheng_license::Registry::open(&home.join("licenses"))?;
        let usage = UsageWriter::start(
            writer,
            checkpointer,
            log.clone(),
            receipt_signer,
            Duration::from_millis(config.receipt_window_ms),
            Duration::from_millis(config.anchor_interval_ms),
            metrics.clone(),
        )?;
        Ok(Arc::new(AppState {
            home: home.to_path_buf(),
            config,
            callers,
            trust: RwLock::new(Arc::new(trust)),
            backend: Backend::for_path(&home.join("licenses").join("licenses.db"))?,
            domains,
            readers,
            log,
            usage,
            metrics,
            started: Instant::now(),
        }))
    }

    /// The trust material in force.
    pub fn trust(&self) -> Arc<TrustMaterial> {
        self.trust
            .read()
            .map(|t| t.clone())
            .unwrap_or_else(|p| p.into_inner().clone())
    }

    /// Re-sign CRLs and swap in a validator built on them.
    pub fn refresh_trust(&self) -> Result<()> {
        let t = build_trust(&self.domains)?;
        if let Ok(mut w) = self.trust.write() {
            *w = Arc::new(t);
        }
        Ok(())
    }
}
