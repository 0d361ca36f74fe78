//! Everything a request handler needs, loaded once at start: callers, trust
//! material (anchors, intermediates, the CRLs the CA published), OCSP
//! responders (delegated keys only), read
//! connections to the registries, the anchoring log and the usage writer.

use crate::auth::Callers;
use crate::config::{CallersFile, KeyPassphrases, ServerConfig};
use crate::error::{Error, Result};
use crate::metrics::Metrics;
use crate::usage::UsageWriter;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};
use yinzheng_anchor::{NoteSigner, VerifierKey};
use yinzheng_ca::TrustDomain;
use yinzheng_log::{Log, LogOptions, LogSlot, SequencerKeys, SlotEvent};
use yinzheng_pki::Validator;
use yinzheng_pki::ocsp::OcspResponder;
use yinzheng_store::Backend;
use yinzheng_store::DataDir;

/// Hours an OCSP response signed by the delegated responder is valid.
pub const OCSP_HOURS: u32 = 24;
/// How often the CRLs the CA published are read again (and the validator
/// rebuilt on them); on PostgreSQL a revocation is heard at once.
pub const CRL_REFRESH: Duration = Duration::from_secs(300);
/// A published CRL this close to its nextUpdate is warned about at every
/// refresh: the CA host's `yinzheng ca crl` has stopped running.
pub const CRL_WARN_BEFORE: Duration = Duration::from_secs(24 * 3600);
/// A delegated OCSP responder certificate this close to its notAfter is
/// warned about at every refresh (it is short-lived and re-issued often).
pub const RESPONDER_WARN_BEFORE: Duration = Duration::from_secs(14 * 24 * 3600);

/// Anchors, intermediates and CRLs for verifying files; replaced as a whole
/// when CRLs are refreshed.
pub struct TrustMaterial {
    /// The verification pipeline's trust: roots of every local trust domain
    /// with their fresh CRLs, their issuing CAs (path building only), seal
    /// makers by the seal-maker policy.
    pub context: yinzheng_document::TrustContext,
    /// CRLs by published name (`<domain>`, `<domain>-<issuer>`, `<domain>-root`).
    pub crls: Vec<(String, Vec<u8>)>,
    /// The names of those past their nextUpdate.
    pub expired: Vec<String>,
    /// The CAs whose published CRL is not trusted (and why): none of their
    /// certificates validates until it is fixed.
    pub refused: Vec<String>,
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
    pub seals: Option<yinzheng_seal_registry::Registry>,
}

/// Registry readers: a small pool of [`Reader`]s on the primary store and,
/// when a read replica is configured, another on the replica. Requests read
/// from the replica only while it is current ([`ReaderPool::replica_fresh`],
/// kept by the freshness watcher of [`AppState::watch`]).
pub struct ReaderPool {
    primary: Readers,
    replica: Option<Readers>,
    fresh: std::sync::atomic::AtomicBool,
}

/// One pool of readers on one store. On SQLite a request that finds none
/// idle opens another (a file open); on PostgreSQL it waits for one (each
/// reader is a database session: the pool is the connection pool, `readers`
/// sessions per server), and answers 503 after [`READER_WAIT`].
struct Readers {
    home: PathBuf,
    /// The store read from.
    backend: Backend,
    /// Whether `backend` is a read replica.
    replica: bool,
    idle: Mutex<Vec<Reader>>,
    returned: std::sync::Condvar,
    keep: usize,
    bounded: bool,
}

/// How long a request waits for a PostgreSQL session before a 503.
pub const READER_WAIT: Duration = Duration::from_secs(5);

/// A reader checked out of the pool; returns on drop.
pub struct PooledReader<'a> {
    pool: &'a Readers,
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

impl Readers {
    fn new(home: &Path, keep: usize, backend: Backend, replica: bool) -> Result<Self> {
        let keep = keep.max(1);
        let bounded = replica || backend.is_postgres();
        let pool = Readers {
            home: home.to_path_buf(),
            backend,
            replica,
            idle: Mutex::new(Vec::with_capacity(keep)),
            returned: std::sync::Condvar::new(),
            keep,
            bounded,
        };
        let mut first = Vec::with_capacity(keep);
        for _ in 0..keep {
            first.push(pool.open_reader()?);
        }
        if let Ok(mut idle) = pool.idle.lock() {
            *idle = first;
        }
        Ok(pool)
    }

    fn open_reader(&self) -> Result<Reader> {
        let seals_db = DataDir::new(&self.home).seal_registry();
        let licenses = DataDir::new(&self.home).licenses();
        let b = &self.backend;
        Ok(if self.replica {
            Reader {
                licenses: yinzheng_license::Registry::open_replica(&licenses, b)?,
                seals: Some(yinzheng_seal_registry::Registry::open_replica(
                    &seals_db, b,
                )?),
            }
        } else {
            Reader {
                licenses: yinzheng_license::Registry::open_in(&licenses, b)?,
                seals: if seals_db.exists() || b.is_postgres() {
                    Some(yinzheng_seal_registry::Registry::open_in(&seals_db, b)?)
                } else {
                    None
                },
            }
        })
    }

    fn get(&self) -> Result<PooledReader<'_>> {
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
            None => self.open_reader()?,
        };
        Ok(PooledReader {
            pool: self,
            reader: Some(reader),
        })
    }
}

impl ReaderPool {
    /// A pool over `home`'s registries in `store`, opening `keep` readers now.
    pub fn new(home: &Path, store: &Backend, keep: usize) -> Result<Self> {
        Self::with_replica(home, store, keep, None)
    }

    /// [`ReaderPool::new`], plus `keep` readers on a read replica (not used
    /// until the freshness watcher finds it current).
    pub fn with_replica(
        home: &Path,
        store: &Backend,
        keep: usize,
        replica: Option<Backend>,
    ) -> Result<Self> {
        Ok(ReaderPool {
            primary: Readers::new(home, keep, store.clone(), false)?,
            replica: replica
                .map(|b| Readers::new(home, keep, b, true))
                .transpose()?,
            fresh: std::sync::atomic::AtomicBool::new(false),
        })
    }

    /// Check out a reader: on the replica while it is current, else on the
    /// primary (SQLite: opens another one when all are busy; PostgreSQL:
    /// waits up to [`READER_WAIT`] for one).
    pub fn get(&self) -> Result<PooledReader<'_>> {
        if let Some(replica) = &self.replica
            && self.replica_fresh()
            && let Ok(r) = replica.get()
        {
            return Ok(r);
        }
        self.primary.get()
    }

    /// A reader on the primary, whatever the replica's state (reads that
    /// must see the latest commit: a token made a moment ago).
    pub fn primary(&self) -> Result<PooledReader<'_>> {
        self.primary.get()
    }

    /// Whether a read replica is configured.
    pub fn has_replica(&self) -> bool {
        self.replica.is_some()
    }

    /// Whether requests read from the replica now.
    pub fn replica_fresh(&self) -> bool {
        self.fresh.load(std::sync::atomic::Ordering::Acquire)
    }

    fn set_replica_fresh(&self, fresh: bool) {
        self.fresh.store(
            fresh && self.replica.is_some(),
            std::sync::atomic::Ordering::Release,
        );
    }
}

/// How often the freshness watcher compares the replica with the primary.
pub const REPLICA_CHECK: Duration = Duration::from_millis(100);

/// What the listener tells the freshness watcher: every change announced
/// bumps the generation and stops replica reads at once; the watcher turns
/// them on again only by a verdict taken after the latest generation.
#[derive(Default)]
pub struct ReplicaGate {
    generation: Mutex<u64>,
    /// The change listener is connected: a change cannot go unheard. The
    /// replica is never used while it is not.
    listening: std::sync::atomic::AtomicBool,
}

impl ReplicaGate {
    /// A change was announced (or notifications may have been missed):
    /// requests read from the primary from now on, until the watcher has
    /// seen the replica pass it.
    pub fn changed(&self, readers: &ReaderPool) {
        if let Ok(mut g) = self.generation.lock() {
            *g += 1;
            readers.set_replica_fresh(false);
        }
    }

    /// The listener connected (`true`) or lost its session (`false`).
    pub fn set_listening(&self, on: bool) {
        self.listening
            .store(on, std::sync::atomic::Ordering::Release);
    }

    fn listening(&self) -> bool {
        self.listening.load(std::sync::atomic::Ordering::Acquire)
    }

    fn generation(&self) -> u64 {
        self.generation.lock().map(|g| *g).unwrap_or(u64::MAX)
    }

    /// Record the watcher's verdict, unless a change arrived since it began.
    fn set(&self, since: u64, fresh: bool, readers: &ReaderPool) {
        if let Ok(g) = self.generation.lock() {
            readers.set_replica_fresh(fresh && *g == since);
        }
    }
}

/// The shared state of a running server.
pub struct AppState {
    /// The data directory.
    pub home: PathBuf,
    /// `server.toml`.
    pub config: ServerConfig,
    /// Who may call: `callers.toml`, read again within a second of a change
    /// ([`AppState::callers`]).
    callers: RwLock<Arc<Callers>>,
    /// The callers file's (modified time, length) when last read.
    callers_stamp: std::sync::Mutex<Option<(std::time::SystemTime, u64)>>,
    /// Permits for file verifications running at once
    /// (`max_concurrent_verifications`).
    pub verify_slots: Arc<tokio::sync::Semaphore>,
    /// Upload buffer for file verifications, in KiB: an upload reserves its
    /// declared length before its body is read.
    pub upload_kib: Arc<tokio::sync::Semaphore>,
    /// The threads file verifications run on (lower priority).
    pub verify_pool: crate::verify_pool::VerifyPool,
    /// Verification trust (swapped on CRL refresh).
    pub trust: RwLock<Arc<TrustMaterial>>,
    /// Local trust domains.
    pub domains: Vec<Domain>,
    /// Registry readers.
    pub readers: ReaderPool,
    /// Changes announced to the read replica's freshness watcher.
    pub replica: ReplicaGate,
    /// The anchoring log (sequencer or follower), when the data directory has one.
    pub log: Arc<LogSlot>,
    /// The log's witnesses (`log/witnesses.toml`): while this server
    /// sequences the log it asks them to cosign each new checkpoint.
    pub witnessing: Option<Arc<yinzheng_witness::Witnessing>>,
    /// Where the registries live (embedded SQLite or PostgreSQL).
    pub backend: Backend,
    /// Usage records, token redemptions, anchoring and receipts.
    pub usage: UsageWriter,
    /// Counters.
    pub metrics: Arc<Metrics>,
    /// When the server started.
    pub started: Instant,
    /// Held while the trust material is rebuilt.
    refreshing: Mutex<()>,
}

fn read_dir_sorted(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|d| d.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    v.sort();
    v
}

/// Open every trust domain under `HOME/pki` without the CA's passphrase:
/// the server signs no CRL and no certificate. `pass` unlocks only each
/// domain's delegated OCSP responder key (a file; one in a device needs
/// none). A responder whose certificate has expired is refused: its answers
/// would be rejected by every client.
fn open_domains(
    home: &Path,
    store: &Backend,
    clock: &Arc<dyn yinzheng_pki::Clock>,
    pass: Option<&[u8]>,
) -> Result<Vec<Domain>> {
    let mut out = Vec::new();
    for dir in read_dir_sorted(&DataDir::new(home).pki()) {
        if !dir.join("root.pem").exists() {
            continue;
        }
        let name = dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let domain = TrustDomain::open_in(&dir, store, None)?.with_clock(clock.clone());
        let key_file = dir.join("ocsp.key.pem");
        if pass.is_none() && key_file.exists() {
            return Err(Error::Config(format!(
                "the delegated OCSP responder key of trust domain {name} is a file ({}): give \
                 its passphrase (`serve --ocsp-passphrase-file F`, else --passphrase-file or \
                 YINZHENG_PASSPHRASE)",
                key_file.display()
            )));
        }
        let ocsp = domain
            .ocsp_responder_service(OCSP_HOURS, pass)
            .map_err(|e| {
                Error::Config(format!(
                    "cannot open the delegated OCSP responder key of trust domain {name}: {e}"
                ))
            })?;
        let responder = domain.ocsp_responder();
        let until = responder.not_after();
        if until <= clock.now() {
            return Err(Error::Config(format!(
                "the delegated OCSP responder certificate of trust domain {name} ({}) expired \
                 at {}: issue a new one where the CA keys are (`yinzheng ca ocsp-responder`) \
                 and copy ocsp.pem and its key here",
                responder.subject(),
                yinzheng_pki::rfc3339(until)
            )));
        }
        out.push(Domain {
            name,
            domain: Mutex::new(domain),
            ocsp,
        });
    }
    Ok(out)
}

/// The callers file's (modified time, length), `None` when it is absent.
fn callers_stamp(home: &Path) -> Option<(std::time::SystemTime, u64)> {
    let m = std::fs::metadata(CallersFile::path(home)).ok()?;
    Some((m.modified().ok()?, m.len()))
}

/// The CA keys a verify server must not find in its data directory: in
/// each domain directory, every key file or device reference (a name with
/// `.key.` in it, so backups and temporary copies too) but the delegated OCSP
/// responder's — the root's, the issuing CAs', the TSA's. The server signs
/// with none of them; a copy beside it turns a server compromise into a PKI
/// compromise.
pub fn ca_keys_in(home: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    for dir in read_dir_sorted(&DataDir::new(home).pki()) {
        for f in read_dir_sorted(&dir) {
            let name = f
                .file_name()
                .map(|n| n.to_string_lossy().to_ascii_lowercase())
                .unwrap_or_default();
            if name.contains(".key.") && name != "ocsp.key.pem" && name != "ocsp.key.uri" {
                found.push(f);
            }
        }
    }
    found
}

/// Read the CRLs each domain's CA published and build the validator on
/// them, its "now" from `config.clock`, with the verdict cache `config`
/// asks for. Nothing is signed here.
pub fn build_trust(domains: &[Domain], config: &ServerConfig) -> Result<TrustMaterial> {
    let clock = &config.clock;
    let mut anchors = Vec::new();
    let mut intermediates = Vec::new();
    let mut crls = Vec::new();
    let mut published = Vec::new();
    let mut expired = Vec::new();
    let mut refused = Vec::new();
    let now = clock.now();
    for d in domains {
        let dom = d
            .domain
            .lock()
            .map_err(|_| Error::Config(format!("trust domain {} is poisoned", d.name)))?;
        anchors.push(dom.root().clone());
        let responder = dom.ocsp_responder().not_after();
        if responder <= now {
            tracing::error!(domain = %d.name, "the delegated OCSP responder certificate has expired: clients reject its answers; issue a new one at the CA (`yinzheng ca ocsp-responder`), copy it here and restart");
        } else if responder <= now + RESPONDER_WARN_BEFORE {
            tracing::warn!(domain = %d.name, until = %yinzheng_pki::rfc3339(responder), "the delegated OCSP responder certificate expires soon: renew it at the CA (`yinzheng ca ocsp-responder`), copy it here and restart");
        }
        for (_, c) in dom.issuers() {
            intermediates.push(c.clone());
        }
        for (ca, crl) in dom.published_crls_each()? {
            let name = match ca.as_str() {
                "main" => d.name.clone(),
                n => format!("{}-{n}", d.name),
            };
            // A CA whose CRL cannot be trusted gets none: the validator then
            // judges its certificates indeterminate (revocation is required),
            // while every other CA's fresh CRL still applies.
            let crl = match crl {
                Ok(c) => c,
                Err(e) => {
                    tracing::error!(crl = %name, error = %e, "the published CRL is not trusted: certificates of this CA are indeterminate until it is fixed");
                    refused.push(format!("{name}: {e}"));
                    continue;
                }
            };
            let next = crl.next_update();
            if next.is_none_or(|t| t <= now) {
                tracing::error!(crl = %name, "the published CRL has expired: verdicts on its certificates are indeterminate until the CA host signs fresh ones (`yinzheng ca crl`)");
                expired.push(name.clone());
            } else if next.is_some_and(|t| t <= now + CRL_WARN_BEFORE) {
                tracing::warn!(crl = %name, "the published CRL expires within a day: is `yinzheng ca crl` still running on the CA host?");
            }
            published.push((name, crl.der().to_vec()));
            crls.push(crl);
        }
    }
    let context = yinzheng_document::TrustContext::new(
        Validator::new(anchors)
            .with_crls(crls)
            .with_clock(clock.clone()),
    )
    .with_intermediates(intermediates);
    let context = match config.verdict_cache_entries {
        0 => context,
        entries => context.with_verdict_cache(yinzheng_document::VerdictCacheLimits {
            entries,
            bytes: config.verdict_cache_bytes,
        }),
    };
    Ok(TrustMaterial {
        context,
        crls: published,
        expired,
        refused,
    })
}

/// The log's note signers (SM2 key; Ed25519 when present) and a second
/// signer on the SM2 key for receipt batches. Each key is opened once: a
/// `log-signer*.key.pem` decrypted with `pass` (PBKDF2 is deliberately
/// slow), a `log-signer*.key.uri` opened on its token or cipher machine;
/// the signers share it. The keys are kept to open the sequencer again later.
fn log_keys(
    dir: &Path,
    store: &Backend,
    pass: Option<&[u8]>,
) -> Result<(Vec<VerifierKey>, NoteSigner, SequencerKeys)> {
    let (origin, _) = Log::config_in(dir, store)?;
    let open = |stem: &str| {
        if pass.is_none() && dir.join(format!("{stem}.key.pem")).exists() {
            return Err(Error::Config(format!(
                "the anchoring log's key {} is a file: give its passphrase \
                 (`serve --log-passphrase-file F`, else --passphrase-file or YINZHENG_PASSPHRASE)",
                dir.join(format!("{stem}.key.pem")).display()
            )));
        }
        yinzheng_ca::open_key_in(dir, stem, pass)
            .map_err(|e| Error::Config(format!("cannot open the anchoring log's key {stem}: {e}")))
    };
    let sm2 = open("log-signer")?.ok_or_else(|| {
        Error::Config(format!(
            "the log in {} has no key (log-signer.key.pem or log-signer.key.uri)",
            dir.display()
        ))
    })?;
    // The checkpoint and receipt key is SM2 (the national profile); the
    // others are the international second keys.
    if sm2.algorithm() != yinzheng_crypto::SignatureAlgorithm::Sm2Sm3 {
        return Err(Error::Config(format!(
            "the anchoring log's key log-signer in {} is {:?}, not SM2",
            dir.display(),
            sm2.algorithm()
        )));
    }
    let mut keys: Vec<Arc<dyn yinzheng_crypto::Signer>> = vec![Arc::from(sm2)];
    for stem in ["log-signer-ed25519", "log-signer-p256"] {
        if let Some(k) = open(stem)? {
            keys.push(Arc::from(k));
        }
    }
    let receipts = NoteSigner::from_signer(&origin, keys[0].clone())?;
    let kept = SequencerKeys::new(&origin, keys);
    let verifiers = kept
        .signers()?
        .iter()
        .map(|s| s.verifier().clone())
        .collect();
    Ok((verifiers, receipts, kept))
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

/// While this server sequences the log: ask its witnesses to cosign each
/// new checkpoint (every 250 ms at most; a witness that fails is backed off
/// by the collector), publish the witnessed checkpoint, and log each
/// witness's change of state (up, down, refusing) once, not every round.
fn witness_loop(
    st: &AppState,
    w: &yinzheng_witness::Witnessing,
    halt: &std::sync::atomic::AtomicBool,
) {
    use yinzheng_witness::Outcome;
    let mut last: std::collections::HashMap<String, &'static str> = Default::default();
    while !halt.load(std::sync::atomic::Ordering::Relaxed) {
        std::thread::sleep(Duration::from_millis(250));
        let Some(log) = st.log.sequencer() else {
            continue;
        };
        let round = match w.step(&log) {
            Ok(Some(r)) => r,
            Ok(None) => continue,
            Err(e) => {
                tracing::error!(error = %e, "witnessing the log's checkpoint failed");
                continue;
            }
        };
        for r in &round.witnesses {
            let kind = match &r.outcome {
                Outcome::Cosigned { .. } => "up",
                Outcome::Down(_) => "down",
                Outcome::Refused { .. } => "refusing",
                Outcome::Waiting { .. } => continue,
            };
            if last.insert(r.name.clone(), kind) == Some(kind) {
                continue;
            }
            match &r.outcome {
                Outcome::Cosigned { size } => {
                    tracing::info!(witness = %r.name, size, "witness cosigns")
                }
                Outcome::Down(why) => {
                    tracing::warn!(witness = %r.name, url = %r.url, reason = %why, "witness down")
                }
                Outcome::Refused { status, why } => tracing::error!(
                    witness = %r.name, url = %r.url, status, reason = %why,
                    "witness refuses the log's checkpoint"
                ),
                Outcome::Waiting { .. } => {}
            }
        }
        if round.witnessed.is_none() {
            tracing::warn!(size = round.size, quorum = %round.quorum.describe(), "checkpoint not witnessed yet");
        }
    }
}

/// The channel every store change is announced on (`Db::notify`).
pub use yinzheng_store::CHANGES_CHANNEL;

/// What the log slot reports, in the server's log.
fn log_slot_event(e: SlotEvent) {
    match e {
        SlotEvent::TookLease { size } => tracing::info!(
            size,
            "took the sequencer lease: this server now sequences the log"
        ),
        SlotEvent::SequencerStopped(why) => {
            tracing::warn!(reason = %why, "the log sequencer stopped; following the log")
        }
        SlotEvent::RefreshFailed(e) => {
            tracing::warn!(error = %e, "cannot refresh the followed log")
        }
        SlotEvent::OpenFailed(e) => {
            tracing::warn!(error = %e, "cannot open the log as its sequencer")
        }
        SlotEvent::FollowFailed(e) => tracing::warn!(error = %e, "cannot follow the log"),
        other => tracing::warn!(event = ?other, "log slot"),
    }
}

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
                        // A follower serves checkpoints at most 100 ms old;
                        // the lease is tried for once a second.
                        if let Some(e) = st.log.follow() {
                            log_slot_event(e);
                        }
                        // A caller added or removed is in force within 100 ms.
                        st.reload_callers_if_changed();
                        if last.elapsed() >= Duration::from_secs(1) {
                            last = Instant::now();
                            st.log.tick().into_iter().for_each(log_slot_event);
                        }
                    }
                })
                .map_err(|e| Error::Config(format!("cannot start the log thread: {e}")))?,
        );
        if let Some(w) = self.witnessing.clone() {
            let (st, halt) = (self.clone(), stop.clone());
            threads.push(
                std::thread::Builder::new()
                    .name("witnesses".into())
                    .spawn(move || witness_loop(&st, &w, &halt))
                    .map_err(|e| Error::Config(format!("cannot start the witness thread: {e}")))?,
            );
        }
        if let Backend::Postgres(config) = &self.backend {
            let mut listener = yinzheng_store::Listener::new(config, CHANGES_CHANNEL)
                .map_err(|e| Error::Config(e.to_string()))?;
            // Rebuilding the validator takes a while: a thread of its own, so
            // the listener never stops listening (a change heard while it
            // rebuilt would wait). Requests coalesce: one pending refresh is enough.
            let (refresh_tx, refresh_rx) = std::sync::mpsc::sync_channel::<()>(1);
            let st = self.clone();
            threads.push(
                std::thread::Builder::new()
                    .name("trust-refresh".into())
                    .spawn(move || {
                        for () in refresh_rx {
                            match st.refresh_trust() {
                                Ok(()) => tracing::info!(
                                    "certificate status changed: published CRLs read again, validator refreshed"
                                ),
                                Err(e) => tracing::error!(error = %e, "trust refresh failed"),
                            }
                        }
                    })
                    .map_err(|e| Error::Config(format!("cannot start the trust refresher: {e}")))?,
            );
            let (st, halt) = (self.clone(), stop.clone());
            threads.push(
                std::thread::Builder::new()
                    .name("store-changes".into())
                    .spawn(move || {
                        while !halt.load(Ordering::Relaxed) {
                            let refresh = match listener.wait(Duration::from_millis(500)) {
                                Ok(yinzheng_store::Heard::Changed(schemas)) => {
                                    if !schemas.is_empty() {
                                        // A license, seal or certificate
                                        // changed: read from the primary until
                                        // the replica has replayed it.
                                        st.replica.changed(&st.readers);
                                        tracing::debug!(?schemas, "store change heard");
                                    }
                                    schemas.iter().any(|s| s.contains("_pki_"))
                                }
                                Ok(_) => {
                                    // Reconnected (or news this server does not
                                    // know): changes made while nobody listened
                                    // are unknown, so treat everything as changed.
                                    st.replica.changed(&st.readers);
                                    st.replica.set_listening(true);
                                    true
                                }
                                Err(e) => {
                                    st.replica.set_listening(false);
                                    st.replica.changed(&st.readers);
                                    tracing::warn!(error = %e, "store change listener");
                                    false
                                }
                            };
                            if refresh {
                                let _ = refresh_tx.try_send(());
                            }
                        }
                    })
                    .map_err(|e| Error::Config(format!("cannot start the listener: {e}")))?,
            );
        }
        if let Some(replica) = self.config.read_replica.clone() {
            let (st, halt) = (self.clone(), stop.clone());
            threads.push(
                std::thread::Builder::new()
                    .name("replica-freshness".into())
                    .spawn(move || st.watch_replica(&replica, &halt))
                    .map_err(|e| Error::Config(format!("cannot start the replica watcher: {e}")))?,
            );
        }
        Ok(Watchers { stop, threads })
    }

    /// Every [`REPLICA_CHECK`]: is the replica current enough to read from?
    /// It is when it has replayed everything the primary had written
    /// `replica_max_lag_ms` ago, and past every change announced since (a
    /// notification makes the next check sample the primary's position and
    /// wait for the replica to pass it). Unreachable: not used.
    fn watch_replica(&self, replica: &Backend, halt: &std::sync::atomic::AtomicBool) {
        use std::sync::atomic::Ordering;
        let licenses = DataDir::new(&self.home).licenses();
        let max_lag = Duration::from_millis(self.config.replica_max_lag_ms);
        let mut primary: Option<yinzheng_license::Registry> = None;
        let mut standby: Option<yinzheng_license::Registry> = None;
        let mut history: std::collections::VecDeque<(Instant, i64)> = Default::default();
        let mut barrier = 0i64;
        let mut seen = 0u64;
        while !halt.load(Ordering::Relaxed) {
            std::thread::sleep(REPLICA_CHECK);
            let generation = self.replica.generation();
            let positions = (|| -> Result<(i64, i64)> {
                if primary.is_none() {
                    primary = Some(yinzheng_license::Registry::open_in(
                        &licenses,
                        &self.config.store,
                    )?);
                }
                if standby.is_none() {
                    standby = Some(yinzheng_license::Registry::open_replica(
                        &licenses, replica,
                    )?);
                }
                let p = primary.as_ref().map(|r| r.wal_position()).transpose()?;
                let r = standby.as_ref().map(|r| r.wal_position()).transpose()?;
                Ok((p.unwrap_or(0), r.unwrap_or(0)))
            })();
            let (p, r) = match positions {
                Ok(v) => v,
                Err(e) => {
                    if self.readers.replica_fresh() {
                        tracing::warn!(error = %e, "the read replica is not used");
                    }
                    (primary, standby) = (None, None);
                    self.replica.set(generation, false, &self.readers);
                    continue;
                }
            };
            if generation != seen {
                // Sampled after the notification arrived: at least the
                // position of the change it announced.
                barrier = barrier.max(p);
                seen = generation;
            }
            let now = Instant::now();
            history.push_back((now, p));
            while history.len() > 2
                && history
                    .get(1)
                    .is_some_and(|(t, _)| now.duration_since(*t) >= max_lag)
            {
                history.pop_front();
            }
            // The primary's position max_lag ago (or the oldest known, until
            // the watcher has run that long).
            let old_enough = history
                .iter()
                .rev()
                .find(|(t, _)| now.duration_since(*t) >= max_lag)
                .or(history.front())
                .map_or(p, |(_, p)| *p);
            let fresh = self.replica.listening() && r >= barrier && r >= old_enough;
            self.replica.set(generation, fresh, &self.readers);
            self.metrics
                .replica_lag_bytes
                .store((p - r).max(0), Ordering::Relaxed);
        }
    }

    /// Load the state of `home` (the data directory), unlocking with `pass`
    /// the server's own key files (one passphrase for all; see
    /// [`Self::open_with_keys`] for one each).
    pub fn open(home: &Path, config: ServerConfig, pass: &[u8]) -> Result<Arc<AppState>> {
        Self::open_with_keys(home, config, &KeyPassphrases::same(pass))
    }

    /// Load the state of `home` (the data directory), unlocking the server's
    /// own keys only, each with its own passphrase (or in its device): each
    /// domain's delegated OCSP responder and the log's. Refused when CA keys
    /// are in `home` (unless [`ServerConfig::allow_ca_keys_in_data_dir`]), a
    /// published CRL or an OCSP responder certificate has expired.
    pub fn open_with_keys(
        home: &Path,
        config: ServerConfig,
        keys: &KeyPassphrases,
    ) -> Result<Arc<AppState>> {
        if !config.allow_ca_keys_in_data_dir {
            let found = ca_keys_in(home);
            if !found.is_empty() {
                return Err(Error::Config(format!(
                    "CA keys are in the verify server's data directory: {}. The server signs \
                     with none of them (CRLs are signed ahead by the CA); keep them where the CA \
                     runs (another data directory or host, or a token) and leave here only the \
                     certificates, ca.db and the OCSP responder's key. A single-host setup that \
                     accepts the risk sets allow_ca_keys_in_data_dir = true in server.toml",
                    found
                        .iter()
                        .map(|p| p.display().to_string())
                        .collect::<Vec<_>>()
                        .join(", ")
                )));
            }
        }
        let callers_stamp = callers_stamp(home);
        let verify_slots = config.max_concurrent_verifications.max(1);
        let verify_pool = crate::verify_pool::VerifyPool::start(verify_slots, config.verify_nice)?;
        // At least one largest upload fits.
        let upload_kib = (config.max_upload_buffer_bytes / 1024)
            .max(config.max_upload_bytes as u64 / 1024 + 64)
            .min(u32::MAX as u64) as usize;
        let callers = Callers::new(CallersFile::load(home)?);
        if callers.is_empty() {
            tracing::warn!(
                "no callers configured in {}: every API call will be refused",
                CallersFile::path(home).display()
            );
        }
        let store = config.store.clone();
        let domains = open_domains(
            home,
            &store,
            &config.clock,
            keys.ocsp.as_ref().map(yinzheng_ca::Passphrase::expose),
        )?;
        let trust = build_trust(&domains, &config)?;
        if !trust.refused.is_empty() || !trust.expired.is_empty() {
            let mut why = trust.refused.clone();
            if !trust.expired.is_empty() {
                why.push(format!("expired: {}", trust.expired.join(", ")));
            }
            return Err(Error::Config(format!(
                "the published CRLs cannot be used ({}): sign fresh ones where the CA keys are, \
                 with `yinzheng ca crl` (`yinzheng ca arl` at the ceremony host for an offline \
                 root)",
                why.join("; ")
            )));
        }
        let readers =
            ReaderPool::with_replica(home, &store, config.readers, config.read_replica.clone())?;
        let log_dir = DataDir::new(home).log();
        let metrics = Arc::new(Metrics::default());
        let mut witnessing = None;
        let (log, receipt_signer) = if Log::exists_in(&log_dir, &store)? {
            let (verifiers, receipt_signer, keys) = log_keys(
                &log_dir,
                &store,
                keys.log.as_ref().map(yinzheng_ca::Passphrase::expose),
            )?;
            if let Some(w) = yinzheng_witness::WitnessesConfig::load(&log_dir)
                .map_err(|e| Error::Config(e.to_string()))?
            {
                let collector = yinzheng_witness::Collector::new(&w, verifiers.clone())
                    .map_err(|e| Error::Config(e.to_string()))?;
                tracing::info!(
                    witnesses = w.witnesses.len(),
                    quorum = w.quorum,
                    "the log's checkpoints are sent to its witnesses"
                );
                witnessing = Some(Arc::new(yinzheng_witness::Witnessing::new(collector)));
            }
            let (slot, sequencing) = LogSlot::open(
                &log_dir,
                &store,
                keys,
                verifiers,
                LogOptions::default().with_period(Duration::from_millis(20)),
            )?;
            if !sequencing {
                tracing::info!("another server sequences the log: following it");
            }
            (Arc::new(slot), Some(receipt_signer))
        } else {
            tracing::warn!(
                "no anchoring log in {}: usage records stay unanchored",
                log_dir.display()
            );
            (Arc::new(LogSlot::empty(&log_dir, &store)), None)
        };
        let writer = yinzheng_license::Registry::open_in(&DataDir::new(home).licenses(), &store)?;
        if !config.usage_fsync {
            writer.set_synchronous(yinzheng_store::Synchronous::Normal)?;
        }
        // WAL checkpoints (and their fsyncs) run on a thread of their own,
        // not inside a commit that requests are waiting for.
        writer.disable_auto_checkpoint()?;
        let checkpointer = if writer.is_postgres() {
            None
        } else {
            Some(yinzheng_license::Registry::open_in(
                &DataDir::new(home).licenses(),
                &store,
            )?)
        };
        let usage = UsageWriter::start(
            writer,
            checkpointer,
            log.clone(),
            receipt_signer,
            crate::usage::UsageOptions {
                receipt_window: Duration::from_millis(config.receipt_window_ms),
                anchor_every: Duration::from_millis(config.anchor_interval_ms),
                anchor_batch: config.anchor_batch,
                wal_limit_bytes: config.wal_limit_bytes,
            },
            metrics.clone(),
        )?;
        Ok(Arc::new(AppState {
            home: home.to_path_buf(),
            config,
            verify_slots: Arc::new(tokio::sync::Semaphore::new(verify_slots)),
            upload_kib: Arc::new(tokio::sync::Semaphore::new(upload_kib)),
            verify_pool,
            callers: RwLock::new(Arc::new(callers)),
            callers_stamp: std::sync::Mutex::new(callers_stamp),
            trust: RwLock::new(Arc::new(trust)),
            backend: store,
            domains,
            readers,
            replica: ReplicaGate::default(),
            log,
            witnessing,
            usage,
            metrics,
            started: Instant::now(),
            refreshing: Mutex::new(()),
        }))
    }

    /// Who may call now.
    pub fn callers(&self) -> Arc<Callers> {
        self.callers
            .read()
            .map(|c| c.clone())
            .unwrap_or_else(|p| p.into_inner().clone())
    }

    /// Read `callers.toml` again when it changed since last read (a caller
    /// added or removed with `yinzheng caller`); returns true when it did.
    /// A file that no longer parses keeps the callers in force and is logged.
    pub fn reload_callers_if_changed(&self) -> bool {
        let now = callers_stamp(&self.home);
        let mut last = self.callers_stamp.lock().unwrap_or_else(|p| p.into_inner());
        if *last == now {
            return false;
        }
        match CallersFile::load(&self.home) {
            Ok(file) => {
                let next = Arc::new(Callers::reloaded(file, &self.callers()));
                tracing::info!(
                    callers = next.len(),
                    "callers.toml changed: callers reloaded"
                );
                match self.callers.write() {
                    Ok(mut c) => *c = next,
                    Err(p) => *p.into_inner() = next,
                }
                *last = now;
                true
            }
            Err(e) => {
                tracing::error!(error = %e, "callers.toml changed but cannot be read: the callers in force stay");
                *last = now;
                false
            }
        }
    }

    /// The trust material in force.
    pub fn trust(&self) -> Arc<TrustMaterial> {
        self.trust
            .read()
            .map(|t| t.clone())
            .unwrap_or_else(|p| p.into_inner().clone())
    }

    /// Read the published CRLs again and swap in a validator built on them.
    /// One refresh at a time (the timer and the change listener both call
    /// it): an older read never replaces a newer one.
    pub fn refresh_trust(&self) -> Result<()> {
        let _one = self.refreshing.lock().unwrap_or_else(|p| p.into_inner());
        let t = build_trust(&self.domains, &self.config)?;
        if let Ok(mut w) = self.trust.write() {
            *w = Arc::new(t);
        }
        Ok(())
    }
}
