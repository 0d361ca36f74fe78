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
use yinzheng_anchor::{Log, LogOptions, NoteSigner};
use yinzheng_crypto::PrivateKey;
use yinzheng_pki::ocsp::OcspResponder;
use yinzheng_pki::{ParsedCert, TrustDomain, Validator};
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

/// A small pool of [`Reader`]s.
pub struct ReaderPool {
    home: PathBuf,
    idle: Mutex<Vec<Reader>>,
    keep: usize,
}

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
        }
    }
}

impl ReaderPool {
    fn open_reader(home: &Path) -> Result<Reader> {
        let seals_db = home.join("seals").join("seals.db");
        Ok(Reader {
            licenses: yinzheng_license::Registry::open(&home.join("licenses"))?,
            seals: if seals_db.exists() {
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
            keep,
        })
    }

    /// Check out a reader (opens another one when all are busy).
    pub fn get(&self) -> Result<PooledReader<'_>> {
        let r = self.idle.lock().ok().and_then(|mut i| i.pop());
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
    /// The anchoring log, when the data directory has one.
    pub log: Option<Arc<Log>>,
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

/// The log's note signers (SM2 key; Ed25519 when present) and a second
/// signer on the SM2 key for receipt batches. Each key file is decrypted
/// once (PBKDF2 is deliberately slow); the copy comes from its PKCS#8 bytes.
pub fn log_signers(dir: &Path, pass: &[u8]) -> Result<(Vec<NoteSigner>, NoteSigner)> {
    let (origin, _) = Log::config(dir)?;
    let key = load_key(&dir.join("log-signer.key.pem"), pass)?;
    let receipts = NoteSigner::new(&origin, PrivateKey::from_bytes(&key.to_pkcs8_der(), None)?)?;
    let mut v = vec![NoteSigner::new(&origin, key)?];
    let ed = dir.join("log-signer-ed25519.key.pem");
    if ed.exists() {
        v.push(NoteSigner::new(&origin, load_key(&ed, pass)?)?);
    }
    Ok((v, receipts))
}

impl AppState {
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
        let (log, receipt_signer) = if log_dir.join("state.sqlite").exists() {
            let (signers, receipt_signer) = log_signers(&log_dir, pass)?;
            let log = Log::open(
                &log_dir,
                signers,
                LogOptions::default().with_period(Duration::from_millis(20)),
            )?;
            (Some(Arc::new(log)), Some(receipt_signer))
        } else {
            tracing::warn!(
                "no anchoring log in {}: usage records stay unanchored",
                log_dir.display()
            );
            (None, None)
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
