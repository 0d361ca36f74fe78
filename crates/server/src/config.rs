//! The server's configuration (`HOME/server/server.toml`) and its callers
//! (`HOME/server/callers.toml`): who may call, with which credentials, for
//! which license types and operations, at what rate. Deny by default.

use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use yinzheng_store::DataDir;

/// Every operation a caller can be allowed.
pub const OPERATIONS: &[&str] = &[
    "license.read",
    "license.list",
    "license.verify-fields",
    "token.redeem",
    "verify",
    "seal.read",
    "cert.status",
    "metrics",
];

/// `server.toml`: where and how to serve. Paths are relative to the data directory.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServerConfig {
    /// Listening address.
    pub listen: SocketAddr,
    /// Server certificate chain (PEM, leaf first), ECDSA P-256 from our CA.
    pub tls_cert: PathBuf,
    /// Its private key (encrypted PKCS#8 PEM; its own passphrase, see
    /// [`KeyPassphrases::tls`]).
    pub tls_key: PathBuf,
    /// CA certificates (PEM) whose client certificates may authenticate (mTLS);
    /// empty: no client certificates are asked for.
    pub client_ca: Vec<PathBuf>,
    /// Largest upload (`POST /v1/verify`), bytes.
    pub max_upload_bytes: usize,
    /// Largest JSON request body, bytes.
    pub max_json_bytes: usize,
    /// A request taking longer is answered 503.
    pub request_timeout_ms: u64,
    /// A connection that moves no byte for this long is closed (an idle
    /// keep-alive or HTTP/2 connection, a client that stopped sending).
    pub idle_timeout_ms: u64,
    /// The TLS handshake must be over this long after the connection was
    /// accepted (a client that never sends a byte is dropped then).
    pub handshake_timeout_ms: u64,
    /// Open connections in all; more are closed as they arrive.
    pub max_connections: usize,
    /// Open connections from one peer address; more are closed as they
    /// arrive, so one address cannot take every slot.
    pub max_connections_per_address: usize,
    /// File verifications (`POST /v1/verify`) running at once; more are
    /// answered 503 with Retry-After before their body is read, so memory
    /// and CPU stay bounded under load. Default: the number of CPUs (≥ 2).
    pub max_concurrent_verifications: usize,
    /// An uploaded OFD package may inflate to at most this many bytes in all
    /// (declared sizes are checked before anything is inflated). Memory for
    /// file verification stays within `max_concurrent_verifications` ×
    /// (`max_upload_bytes` + this).
    pub max_inflated_bytes: u64,
    /// Uploads to `/v1/verify` being received at once may hold this many
    /// bytes in all (each reserves its declared length, or
    /// `max_upload_bytes` without one); beyond it 503 + Retry-After. Uploads
    /// are received before a verification slot is taken, so a client that
    /// sends its body slowly holds buffer, never a slot. Default: 2 ×
    /// `max_concurrent_verifications` × `max_upload_bytes`.
    pub max_upload_buffer_bytes: u64,
    /// Nice value of the threads that verify files (Linux; 0: as the
    /// server). Above 0, a flood of uploads cannot starve the answers that
    /// cost microseconds: the request threads get the CPU first.
    pub verify_nice: i32,
    /// How long a receipt request waits at most for its batch to be signed.
    pub receipt_window_ms: u64,
    /// Usage records are submitted to the log at least this often; sooner
    /// when `anchor_batch` records are waiting, and back to back while a
    /// backlog remains, so anchoring keeps up with the rate records arrive.
    pub anchor_interval_ms: u64,
    /// Usage records waiting that make the writer submit them to the log
    /// without waiting for `anchor_interval_ms`.
    pub anchor_batch: usize,
    /// SQLite: when the WAL file grows past this many bytes it is
    /// checkpointed and truncated (waiting briefly for readers); above four
    /// times this an alarm is logged. The WAL stays near this size under
    /// any sustained write rate.
    pub wal_limit_bytes: u64,
    /// Read connections to the license registry.
    pub readers: usize,
    /// Personal ID numbers of holders are masked unless a caller is allowed
    /// `personal_data`.
    pub mask_personal_ids: bool,
    /// `true`: every group commit of usage records is synced to disk before
    /// the answers go out (survives a power cut; costs one fsync per batch,
    /// milliseconds on most disks). `false` (default): synced at WAL
    /// checkpoints — records survive a process crash and are anchored in the
    /// log, which syncs, within `anchor_interval_ms`.
    pub usage_fsync: bool,
    /// A read replica is used only while it has replayed everything the
    /// primary wrote this long ago (and every change announced since).
    pub replica_max_lag_ms: u64,
    /// Passing verdicts of files kept, so that the same file checked again
    /// is answered without verifying it again while nothing its verdict rests
    /// on has changed (validity windows, CRLs, seal statuses, which are read
    /// again on every hit); `0` turns it off. Emptied whenever the trust
    /// material is rebuilt (every CRL refresh).
    pub verdict_cache_entries: usize,
    /// The most memory kept verdicts may take, roughly.
    pub verdict_cache_bytes: usize,
    /// Start even though CA keys (root, issuing CA, TSA: files or device
    /// references) are in the data directory. The server never uses them;
    /// off by default, it refuses to start beside them. Only a single-host
    /// setup that accepts the risk (the demo) turns it on.
    pub allow_ca_keys_in_data_dir: bool,
    /// Where "now" comes from (license validity, unproven signatures, OCSP
    /// and CRL times; not in `server.toml`): the system clock by default.
    #[serde(skip, default = "yinzheng_pki::system_clock")]
    pub clock: std::sync::Arc<dyn yinzheng_pki::Clock>,
    /// Where the databases live (`--store`; not in `server.toml`): embedded
    /// SQLite in the data directory by default.
    #[serde(skip)]
    pub store: yinzheng_store::Backend,
    /// The read replica (`--store-read`; not in `server.toml`).
    #[serde(skip)]
    pub read_replica: Option<yinzheng_store::Backend>,
}

impl Default for ServerConfig {
    fn default() -> Self {
        let cpus = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(2)
            .max(2);
        ServerConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 8443)),
            tls_cert: PathBuf::from("server/tls.pem"),
            tls_key: PathBuf::from("server/tls.key.pem"),
            client_ca: Vec::new(),
            max_upload_bytes: 16 << 20,
            max_json_bytes: 64 << 10,
            request_timeout_ms: 10_000,
            idle_timeout_ms: 30_000,
            handshake_timeout_ms: 5_000,
            max_connections: 10_000,
            max_connections_per_address: 256,
            max_concurrent_verifications: cpus,
            max_inflated_bytes: 64 << 20,
            max_upload_buffer_bytes: 2 * cpus as u64 * (16 << 20),
            verify_nice: 19,
            receipt_window_ms: 100,
            anchor_interval_ms: 200,
            anchor_batch: 256,
            wal_limit_bytes: 64 << 20,
            readers: 8,
            mask_personal_ids: true,
            usage_fsync: false,
            replica_max_lag_ms: 500,
            verdict_cache_entries: 4096,
            verdict_cache_bytes: 32 << 20,
            allow_ca_keys_in_data_dir: false,
            clock: yinzheng_pki::system_clock(),
            store: yinzheng_store::Backend::Embedded,
            read_replica: None,
        }
    }
}

impl ServerConfig {
    /// `HOME/server/server.toml`, or the defaults when it does not exist.
    pub fn load(home: &Path) -> Result<Self> {
        let p = DataDir::new(home).server_config();
        match std::fs::read_to_string(&p) {
            Ok(t) => toml::from_str(&t).map_err(|e| Error::Config(format!("{}: {e}", p.display()))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(ServerConfig::default()),
            Err(e) => Err(Error::io(&p, e)),
        }
    }
}

/// One calling system.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CallerConfig {
    /// Name (recorded as the caller of every usage record).
    pub name: String,
    /// SM3 (hex) of the API key; the key itself is shown once, when made.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_key_sm3: Option<String>,
    /// SHA-256 (hex) of the client certificate (DER) for mTLS.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_cert_sha256: Option<String>,
    /// License type keys this caller may see (`*`: all).
    #[serde(default)]
    pub license_types: Vec<String>,
    /// Operations allowed (see [`OPERATIONS`]; `*`: all).
    #[serde(default)]
    pub operations: Vec<String>,
    /// Sustained requests per second.
    #[serde(default = "default_rate")]
    pub rate_per_s: f64,
    /// Burst size.
    #[serde(default = "default_burst")]
    pub burst: f64,
    /// May see unmasked personal ID numbers of holders.
    #[serde(default)]
    pub personal_data: bool,
}

fn default_rate() -> f64 {
    100.0
}
fn default_burst() -> f64 {
    200.0
}

/// `callers.toml`.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CallersFile {
    /// The callers.
    #[serde(default, rename = "caller")]
    pub callers: Vec<CallerConfig>,
}

impl CallersFile {
    /// The callers file of `home`.
    pub fn path(home: &Path) -> PathBuf {
        DataDir::new(home).callers()
    }

    /// Read `HOME/server/callers.toml` (none: no callers, everything denied).
    pub fn load(home: &Path) -> Result<Self> {
        let p = Self::path(home);
        let f: CallersFile = match std::fs::read_to_string(&p) {
            Ok(t) => {
                toml::from_str(&t).map_err(|e| Error::Config(format!("{}: {e}", p.display())))?
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => CallersFile::default(),
            Err(e) => return Err(Error::io(&p, e)),
        };
        f.check()?;
        Ok(f)
    }

    fn check(&self) -> Result<()> {
        let mut names = std::collections::HashSet::new();
        for c in &self.callers {
            if c.name.trim().is_empty() || c.name.len() > 100 {
                return Err(Error::Config(
                    "a caller needs a name of 1–100 characters".into(),
                ));
            }
            if !names.insert(&c.name) {
                return Err(Error::Config(format!("caller {:?} appears twice", c.name)));
            }
            for op in &c.operations {
                if op != "*" && !OPERATIONS.contains(&op.as_str()) {
                    return Err(Error::Config(format!(
                        "caller {}: unknown operation {op:?} (known: {})",
                        c.name,
                        OPERATIONS.join(", ")
                    )));
                }
            }
            if !(c.rate_per_s > 0.0 && c.burst >= 1.0) {
                return Err(Error::Config(format!(
                    "caller {}: rate_per_s must be > 0 and burst >= 1",
                    c.name
                )));
            }
        }
        Ok(())
    }

    /// Write the file atomically (temp name + rename, mode 0600).
    pub fn save(&self, home: &Path) -> Result<()> {
        self.check()?;
        let text = toml::to_string_pretty(self).map_err(|e| Error::Config(e.to_string()))?;
        crate::write_atomic(&Self::path(home), text.as_bytes())
    }

    /// Add a caller with a fresh API key; returns the key (shown once).
    pub fn add_with_key(&mut self, mut caller: CallerConfig) -> Result<String> {
        if self.callers.iter().any(|c| c.name == caller.name) {
            return Err(Error::Config(format!(
                "caller {:?} exists already",
                caller.name
            )));
        }
        let key = new_api_key()?;
        caller.api_key_sm3 = Some(api_key_hash(&key));
        self.callers.push(caller);
        self.check()?;
        Ok(key)
    }
}

/// A fresh API key: `yzk_` and 32 base32 characters (160 random bits).
pub fn new_api_key() -> Result<String> {
    let mut raw = [0u8; 20];
    getrandom::fill(&mut raw).map_err(|e| Error::Config(format!("no randomness: {e}")))?;
    Ok(format!(
        "yzk_{}",
        yinzheng_license::base32(&raw).to_ascii_lowercase()
    ))
}

/// How API keys are stored: SM3, hex.
pub fn api_key_hash(key: &str) -> String {
    yinzheng_crypto::sm3_hex(key.trim().as_bytes())
}

/// The passphrases of the verify server's own key files, each its own: the
/// delegated OCSP responders' (`pki/*/ocsp.key.pem`), the anchoring log's
/// (`log/log-signer*.key.pem`) and the TLS key (`server.toml`'s `tls_key`).
/// A key in a device needs none (its PIN or password comes from the source
/// its reference names); a key file whose passphrase is absent is refused
/// with the key named. The server holds no CA key, so no CA passphrase.
#[derive(Clone, Debug, Default)]
pub struct KeyPassphrases {
    /// Unlocks each trust domain's delegated OCSP responder key file.
    pub ocsp: Option<yinzheng_ca::Passphrase>,
    /// Unlocks the anchoring log's key files.
    pub log: Option<yinzheng_ca::Passphrase>,
    /// Unlocks the TLS server key file.
    pub tls: Option<yinzheng_ca::Passphrase>,
}

impl KeyPassphrases {
    /// One passphrase for every key file (a single-host or demo setup).
    pub fn same(pass: &[u8]) -> Self {
        let p = || Some(yinzheng_ca::Passphrase::new(pass));
        KeyPassphrases {
            ocsp: p(),
            log: p(),
            tls: p(),
        }
    }
}
