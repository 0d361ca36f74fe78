//! `yinzheng log …`: the anchoring log (锚定日志) from the command line.
//!
//! Files under `--home`/log: `log-signer.key.pem` (the SM2 checkpoint key,
//! encrypted) or `log-signer.key.uri` (its `sdf:`/`pkcs11:` reference when it
//! lives in a device), `log.vkey` (its verifier key text, to hand to
//! auditors), with `--with-ed25519` also `log-signer-ed25519.key.pem` (or
//! `.key.uri`) and `log-ed25519.vkey` (or, made on a PKCS#11 token with
//! `--pkcs11-alg p256`, `log-signer-p256.key.uri` and `log-p256.vkey`),
//! `state.sqlite` (sequencer state) and `tiles/` (the static C2SP tiles).
//! `append` runs one sequencer for the duration of the command; the library
//! is what a long-running server embeds.

use super::Home;
use crate::io;
use crate::output::Output;
use anyhow::{Context, Result, bail};
use clap::{Args, Subcommand, ValueEnum};
use serde::Serialize;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use yinzheng_anchor::{
    Checkpoint, Entry, Evidence, HashAlg, Note, NoteSigner, SignedCheckpoint, TileReader,
    VerifierKey, audit, base64, consistency_proof, profile_from_origin, root,
};
use yinzheng_crypto::{KeyAlgorithm, KeyEncryption, PrivateKey, Signer};
use yinzheng_log::{Log, LogOptions};
use yinzheng_store::Backend;

const KEY_FILE: &str = "log-signer.key.pem";
const KEY_STEM: &str = "log-signer";
const ED_KEY_STEM: &str = "log-signer-ed25519";
/// The label of the `alg` key (ed25519, p256) of the log `origin` made on a
/// PKCS#11 token: `yinzheng-log-ORIGIN-ALG` (characters other than letters,
/// digits, '.' and '-' as '-'), so two logs can share a token.
fn token_label(origin: &str, alg: &str) -> String {
    let origin: String = origin
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' || c == '-' {
                c
            } else {
                '-'
            }
        })
        .collect();
    format!("yinzheng-log-{origin}-{alg}")
}
const VKEY_FILE: &str = "log.vkey";
const ED_KEY_FILE: &str = "log-signer-ed25519.key.pem";
const P256_KEY_STEM: &str = "log-signer-p256";
const P256_KEY_FILE: &str = "log-signer-p256.key.pem";
const P256_VKEY_FILE: &str = "log-p256.vkey";
const ED_VKEY_FILE: &str = "log-ed25519.vkey";
/// Largest note data accepted by `log append` (an entry is at most 64 KiB).
const MAX_DATA: u64 = 60 * 1024;

/// Anchoring log commands.
#[derive(Subcommand, Debug)]
pub enum LogCommand {
    /// Create the log: its SM2 checkpoint key (log-signer, encrypted) and the tiles directory.
    Init(InitArgs),
    /// Append an entry and print its index once it is sequenced.
    Append(AppendArgs),
    /// Print the latest signed checkpoint (--witnessed: the latest one a quorum of witnesses cosigned).
    Checkpoint(CheckpointArgs),
    /// Write the inclusion proof of an entry (an evidence file): to the
    /// witnessed checkpoint when that covers the entry, else to the latest.
    Prove(ProveArgs),
    /// Print the consistency proof from an older tree size to the latest one.
    Consistency(ConsistencyArgs),
    /// Verify an evidence file offline with the log's verifier key. Exit 0 valid, 1 invalid, 2 usage or input error.
    Verify(VerifyArgs),
    /// Recompute every tile and the root of a tiles directory from its entries. Exit 0 ok, 1 mismatch, 2 input error.
    Audit(AuditArgs),
    /// Add a witness the log asks to cosign its checkpoints (witnesses.toml), and set the quorum.
    AddWitness(super::log_witness::AddWitnessArgs),
    /// Ask the witnesses to cosign the latest checkpoint and publish it as
    /// the witnessed checkpoint once a quorum did (--watch: keep going).
    /// Exit 0 witnessed, 1 quorum not met, 2 usage or input error.
    Witness(super::log_witness::WitnessArgs),
    /// Time-stamp the latest signed checkpoint: an RFC 4998 evidence record
    /// (log/stamps/SIZE.checkpoint.ers beside a copy of the note;
    /// SIZE.witnessed.ers with --witnessed) whose one
    /// archive time stamp proves that every entry the checkpoint holds
    /// existed then — by a trust domain's TSA, independently of the log's
    /// key. Run it daily; renew with `yinzheng evidence-record renew`.
    Stamp(StampArgs),
}

/// Arguments of `log stamp`.
#[derive(Args, Debug)]
pub struct StampArgs {
    /// Stamp the witnessed checkpoint (with the witnesses' cosignatures).
    #[arg(long)]
    witnessed: bool,
    #[command(flatten)]
    tsa: super::evidence_record::TsaArgs,
}

/// Arguments of `log checkpoint`.
#[derive(Args, Debug)]
pub struct CheckpointArgs {
    /// The witnessed checkpoint (with the witnesses' cosignatures) instead of the log's own.
    #[arg(long)]
    witnessed: bool,
}

/// Hash profiles.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum HashArg {
    /// SM3 (default, national profile).
    Sm3,
    /// SHA-256 (RFC 6962 original).
    Sha256,
}

impl From<HashArg> for HashAlg {
    fn from(h: HashArg) -> Self {
        match h {
            HashArg::Sm3 => HashAlg::Sm3,
            HashArg::Sha256 => HashAlg::Sha256,
        }
    }
}

/// Arguments of `log init`.
#[derive(Args, Debug)]
pub struct InitArgs {
    /// Hash profile of the tree.
    #[arg(long, value_enum, default_value = "sm3")]
    hash: HashArg,
    /// Origin (log identity and key name); default `yinzheng.local/log/<hash>`.
    #[arg(long)]
    origin: Option<String>,
    /// File whose first line is the passphrase for the log key (else env YINZHENG_PASSPHRASE).
    #[arg(long)]
    passphrase_file: Option<PathBuf>,
    /// Also sign every checkpoint with an Ed25519 key (type 0x01), readable by the
    /// public witness ecosystem; its verifier key goes to log-ed25519.vkey.
    #[arg(long)]
    with_ed25519: bool,
    /// Use this SM2 key in a GM/T 0018 cipher machine for the checkpoints
    /// instead of making a key file: an `sdf:` reference, e.g.
    /// 'sdf:index=5?module-path=/opt/vendor/libsdf.so&password-source=file:/etc/yinzheng/sdf-5'.
    /// Written to log-signer.key.uri.
    #[arg(long, value_name = "KEY_REF")]
    key: Option<String>,
    /// Use this Ed25519 key in a device (a `pkcs11:` URI) as the Ed25519 key
    /// (implies --with-ed25519); written to log-signer-ed25519.key.uri.
    #[arg(long, value_name = "KEY_REF", conflicts_with = "pkcs11")]
    ed25519_key: Option<String>,
    /// Make the log's second key on this PKCS#11 token (a token URI with
    /// module-path and pin-source), labelled yinzheng-log-ORIGIN-ALG
    /// (implies --with-ed25519, or a P-256 key with --pkcs11-alg p256).
    #[arg(long, value_name = "TOKEN_URI")]
    pkcs11: Option<String>,
    /// The algorithm of the key made with --pkcs11: ed25519 (C2SP's note
    /// signatures), or p256 (Rekor's ECDSA note signatures, for HSMs that
    /// hold no Ed25519).
    #[arg(long, value_enum, default_value = "ed25519", requires = "pkcs11")]
    pkcs11_alg: TokenKeyAlg,
}

/// Algorithms of a log key made on a PKCS#11 token.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum TokenKeyAlg {
    /// Ed25519 (note signature type 0x01).
    Ed25519,
    /// ECDSA P-256 with SHA-256 (note signature type 0x02).
    P256,
}

/// Arguments of `log append`.
#[derive(Args, Debug)]
pub struct AppendArgs {
    /// Entry type (license.issued, seal.revoked, stamp, license.use, note, …).
    #[arg(long = "type", default_value = "note")]
    kind: String,
    /// Payload file (at most 60 KiB: log digests and identifiers, not documents).
    #[arg(long)]
    data: Option<PathBuf>,
    /// Subject identifier (license number, seal code, …); repeatable.
    #[arg(long)]
    subject: Vec<String>,
    /// A file whose SM3 digest goes into the entry; repeatable.
    #[arg(long)]
    digest_of: Vec<PathBuf>,
    /// Who caused the event.
    #[arg(long, default_value = "cli")]
    actor: String,
    /// File whose first line is the passphrase of the log key (else env YINZHENG_PASSPHRASE).
    #[arg(long)]
    passphrase_file: Option<PathBuf>,
}

/// Arguments of `log prove`.
#[derive(Args, Debug)]
pub struct ProveArgs {
    /// Index of the entry.
    #[arg(long)]
    index: u64,
    /// Where to write the evidence file; stdout when absent.
    #[arg(long)]
    out: Option<PathBuf>,
}

/// Arguments of `log consistency`.
#[derive(Args, Debug)]
pub struct ConsistencyArgs {
    /// The older tree size (≥ 1).
    #[arg(long)]
    old_size: u64,
}

/// Arguments of `log verify`.
#[derive(Args, Debug)]
pub struct VerifyArgs {
    /// The log's verifier key (file holding the vkey text).
    #[arg(long)]
    vkey: PathBuf,
    /// Hash profile; default from the origin's last segment (…/sm3, …/sha256), else sm3.
    #[arg(long, value_enum)]
    hash: Option<HashArg>,
    /// The evidence file (c2sp.org/tlog-proof@v1).
    evidence: PathBuf,
    /// A trusted witness's verifier key file (`witness-*.vkey`); repeatable.
    #[arg(long)]
    witness_vkey: Vec<PathBuf>,
    /// How many distinct trusted witnesses must have cosigned the checkpoint
    /// (too few: INDETERMINATE, exit 1).
    #[arg(long, default_value_t = 0, requires = "witness_vkey")]
    quorum: usize,
}

/// Arguments of `log audit`.
#[derive(Args, Debug)]
pub struct AuditArgs {
    /// The log's verifier key (file holding the vkey text).
    #[arg(long)]
    vkey: PathBuf,
    /// The tiles directory (holding `checkpoint` and `tile/`).
    #[arg(long)]
    tiles: PathBuf,
    /// Hash profile; default from the origin's last segment (…/sm3, …/sha256), else sm3.
    #[arg(long, value_enum)]
    hash: Option<HashArg>,
}

/// Run a `log` subcommand with the data directory `home`.
pub fn run(cmd: &LogCommand, home: &Home, out: &Output) -> Result<ExitCode> {
    let dir = home.data_dir().log();
    let store = home.store();
    match cmd {
        LogCommand::Init(a) => init(a, &dir, store, out),
        LogCommand::Append(a) => append(a, home, out),
        LogCommand::Checkpoint(a) => checkpoint(a, &dir, store, out),
        LogCommand::Prove(a) => prove(a, &dir, store, out),
        LogCommand::Consistency(a) => consistency(a, &dir, store, out),
        LogCommand::Verify(a) => verify(a, out),
        LogCommand::Audit(a) => audit_cmd(a, out),
        LogCommand::AddWitness(a) => super::log_witness::add_witness(a, home, out),
        LogCommand::Witness(a) => super::log_witness::witness(a, home, out),
        LogCommand::Stamp(a) => stamp(a, home, &dir, store, out),
    }
}

/// Where `log stamp` keeps its evidence records.
pub const STAMPS_DIR: &str = "stamps";

fn stamp(
    a: &StampArgs,
    home: &Home,
    dir: &Path,
    store: &Backend,
    out: &Output,
) -> Result<ExitCode> {
    let (_, _, vk, _, cp) = open_reader(dir, store)?;
    let note = if a.witnessed {
        let log = Log::follow_in(dir, store, vec![vk]).context("cannot read the log")?;
        let Some(note) = log.witnessed_note()? else {
            bail!("no witnessed checkpoint yet (see `yinzheng log witness`)");
        };
        SignedCheckpoint::open(note.as_bytes(), log.verifiers(), Some(log.origin()))?
    } else {
        cp
    };
    let size = note.checkpoint().size();
    let stamps = dir.join(STAMPS_DIR);
    let kind = if a.witnessed {
        "witnessed"
    } else {
        "checkpoint"
    };
    let note_path = stamps.join(format!("{size}.{kind}"));
    let ers_path = stamps.join(format!("{size}.{kind}.ers"));
    let text = note.note().to_string();
    // The checkpoint body (origin, size, root) before the signature lines: a
    // witnessed note gains cosignatures over the same body.
    let body = |t: &[u8]| -> Vec<u8> {
        let end = t.windows(2).position(|w| w == b"\n\n").unwrap_or(t.len());
        t[..end].to_vec()
    };
    if note_path.exists() {
        let held = io::read_limited(&note_path, 1 << 20, "stamped checkpoint")?;
        if body(&held) != body(text.as_bytes()) {
            bail!(
                "{} holds another checkpoint of size {size} than the log's: a fork? (kept; nothing stamped)",
                note_path.display()
            );
        }
    }
    if ers_path.exists() {
        let v = serde_json::json!({ "treeSize": size, "record": ers_path, "new": false });
        out.result(&v, || {
            format!(
                "checkpoint {size} is already stamped: {}",
                ers_path.display()
            )
        });
        return Ok(ExitCode::SUCCESS);
    }
    let tsa = super::evidence_record::tsa(&a.tsa, home)?;
    let at = time::OffsetDateTime::now_utc();
    let digest = yinzheng_cms::Digest::Sm3;
    let record = yinzheng_cms::EvidenceRecord::archive(
        digest,
        &[digest.digest(text.as_bytes())],
        &mut |d, imprint| tsa.stamp(d, imprint, at),
    )?
    .into_iter()
    .next()
    .context("no evidence record was made")?;
    std::fs::create_dir_all(&stamps)
        .with_context(|| format!("cannot create {}", stamps.display()))?;
    io::write_atomic(&note_path, text.as_bytes(), false)?;
    io::write_atomic(&ers_path, &record.to_der(), false)?;
    let v = serde_json::json!({
        "treeSize": size, "checkpoint": note_path, "record": ers_path, "new": true,
        "time": yinzheng_pki::rfc3339(at.into()),
    });
    out.result(&v, || {
        format!(
            "checkpoint {size} time-stamped at {}: {} (the note: {})",
            yinzheng_pki::rfc3339(at.into()),
            ers_path.display(),
            note_path.display()
        )
    });
    Ok(ExitCode::SUCCESS)
}

/// The verifier keys of the log in `dir`: log.vkey (SM2) and, when the log
/// has them, its Ed25519 and P-256 keys'.
pub(crate) fn log_verifier_keys(dir: &Path) -> Result<Vec<VerifierKey>> {
    let mut keys = vec![read_vkey(&dir.join(VKEY_FILE))?];
    for f in [ED_VKEY_FILE, P256_VKEY_FILE] {
        let p = dir.join(f);
        if p.exists() {
            keys.push(read_vkey(&p)?);
        }
    }
    Ok(keys)
}

fn read_vkey(path: &Path) -> Result<VerifierKey> {
    let text = io::read_limited(path, 4096, "verifier key")?;
    let text = String::from_utf8(text).context("verifier key is not UTF-8")?;
    VerifierKey::parse(text.trim())
        .with_context(|| format!("cannot read verifier key {}", path.display()))
}

/// The log in `dir` (its state in `store`): its config, verifier key and a
/// reader at the latest checkpoint.
pub(crate) fn open_reader(
    dir: &Path,
    store: &Backend,
) -> Result<(String, HashAlg, VerifierKey, TileReader, SignedCheckpoint)> {
    if !log_exists(dir, store)? {
        bail!("no log in {} (run `yinzheng log init`)", dir.display());
    }
    let (origin, hash) = Log::config_in(dir, store).context("cannot read the log state")?;
    let vk = read_vkey(&dir.join(VKEY_FILE))?;
    let (reader, cp) = TileReader::open_checkpoint(
        Log::tiles_dir(dir),
        hash,
        std::slice::from_ref(&vk),
        Some(&origin),
    )
    .context("cannot open the latest checkpoint")?;
    Ok((origin, hash, vk, reader, cp))
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct InitReport {
    origin: String,
    hash: &'static str,
    vkey: String,
    key_file: PathBuf,
    vkey_file: PathBuf,
    ed25519_vkey: Option<String>,
    p256_vkey: Option<String>,
    tiles: PathBuf,
}

/// A log key just made or taken: written encrypted, or recorded by its
/// device reference.
enum NewLogKey {
    File(zeroize::Zeroizing<String>),
    Device(String),
}

impl NewLogKey {
    /// Write it as `stem.key.pem` or `stem.key.uri` in `dir` (mode 0600).
    fn write(&self, dir: &Path, stem: &str) -> Result<PathBuf> {
        let (path, bytes) = match self {
            NewLogKey::File(pem) => (dir.join(format!("{stem}.key.pem")), pem.as_bytes()),
            NewLogKey::Device(uri) => (dir.join(format!("{stem}.key.uri")), uri.as_bytes()),
        };
        io::write_atomic(&path, bytes, true)?;
        Ok(path)
    }
}

fn init(a: &InitArgs, dir: &Path, store: &Backend, out: &Output) -> Result<ExitCode> {
    let hash: HashAlg = a.hash.into();
    let origin = a
        .origin
        .clone()
        .unwrap_or_else(|| format!("yinzheng.local/log/{}", hash.name()));
    if log_exists(dir, store)? {
        bail!("{} already holds a log", dir.display());
    }
    let with_ed25519 = a.with_ed25519 || a.ed25519_key.is_some() || a.pkcs11.is_some();
    // A passphrase only when a key is written to a file.
    let needs_pass =
        a.key.is_none() || (with_ed25519 && a.ed25519_key.is_none() && a.pkcs11.is_none());
    let pass = if needs_pass {
        Some(io::passphrase(a.passphrase_file.as_deref())?.context(
            "the log key is written encrypted: give --passphrase-file F or set YINZHENG_PASSPHRASE",
        )?)
    } else {
        None
    };
    let file_key = |alg: KeyAlgorithm| -> Result<(std::sync::Arc<dyn Signer>, NewLogKey)> {
        let key = PrivateKey::generate(alg).context("key generation failed")?;
        let pass = pass
            .as_ref()
            .context("a passphrase is needed for a key file")?;
        let pem =
            zeroize::Zeroizing::new(key.to_encrypted_pkcs8_pem(pass, &KeyEncryption::default())?);
        Ok((std::sync::Arc::new(key), NewLogKey::File(pem)))
    };
    let device_key = |text: &str| -> Result<(std::sync::Arc<dyn Signer>, NewLogKey)> {
        // The reference is not echoed: a mistyped one may hold a PIN; the
        // device crates' errors show it redacted.
        let (key, canonical) =
            yinzheng_ca::open_device_key(text).context("cannot open the log key")?;
        Ok((std::sync::Arc::from(key), NewLogKey::Device(canonical)))
    };
    let (sm2, sm2_new) = match &a.key {
        Some(r) => device_key(r)?,
        None => file_key(KeyAlgorithm::Sm2)?,
    };
    if sm2.algorithm() != yinzheng_crypto::SignatureAlgorithm::Sm2Sm3 {
        bail!(
            "the log's checkpoint key must be SM2 (--key names a {:?} key)",
            sm2.algorithm()
        );
    }
    let signer = NoteSigner::from_signer(&origin, sm2)
        .context("bad origin (it is also the key name), or the key is not a note key")?;
    let vkey = signer.verifier().to_string();
    let mut signers = vec![signer];
    let mut ed_new = None;
    // The second key is P-256 only when made on a token with --pkcs11-alg p256.
    let second_p256 = a.pkcs11.is_some() && a.pkcs11_alg == TokenKeyAlg::P256;
    if second_p256 && a.with_ed25519 {
        bail!("--with-ed25519 and --pkcs11-alg p256 ask for two second keys: choose one");
    }
    // A key made on a token here, destroyed again if the log is not made.
    let mut generated: Option<yinzheng_pkcs11::Pkcs11Uri> = None;
    if with_ed25519 {
        let (ed, new) = match (&a.ed25519_key, &a.pkcs11) {
            (Some(r), _) => device_key(r)?,
            (None, Some(token)) => {
                let token = yinzheng_pkcs11::Pkcs11Uri::parse_token(token)?;
                let (alg, name) = match a.pkcs11_alg {
                    TokenKeyAlg::Ed25519 => (KeyAlgorithm::Ed25519, "ed25519"),
                    TokenKeyAlg::P256 => (KeyAlgorithm::EcdsaP256, "p256"),
                };
                let uri = yinzheng_pkcs11::Pkcs11Uri {
                    object: Some(token_label(&origin, name)),
                    id: None,
                    ..token
                };
                let key = yinzheng_pkcs11::Pkcs11Key::generate(&uri, alg)
                    .with_context(|| format!("cannot make the {alg} log key on the token"))?;
                generated = Some(key.uri().clone());
                (
                    std::sync::Arc::new(key) as std::sync::Arc<dyn Signer>,
                    NewLogKey::Device(uri.to_string()),
                )
            }
            (None, None) => file_key(KeyAlgorithm::Ed25519)?,
        };
        let want = if second_p256 {
            yinzheng_crypto::SignatureAlgorithm::EcdsaP256Sha256
        } else {
            yinzheng_crypto::SignatureAlgorithm::Ed25519
        };
        if ed.algorithm() != want {
            bail!(
                "the log's second key must be {want:?} (it is {:?})",
                ed.algorithm()
            );
        }
        signers.push(NoteSigner::from_signer(&origin, ed)?);
        ed_new = Some(new);
    }
    let second_vkey = signers.get(1).map(|s| s.verifier().to_string());
    let written = (|| -> Result<PathBuf> {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
        let key_file = sm2_new.write(dir, KEY_STEM)?;
        io::write_atomic(&dir.join(VKEY_FILE), format!("{vkey}\n").as_bytes(), false)?;
        if let (Some(k), Some(v)) = (&ed_new, &second_vkey) {
            let (stem, vkey_file) = if second_p256 {
                (P256_KEY_STEM, P256_VKEY_FILE)
            } else {
                (ED_KEY_STEM, ED_VKEY_FILE)
            };
            k.write(dir, stem)?;
            io::write_atomic(&dir.join(vkey_file), format!("{v}\n").as_bytes(), false)?;
        }
        let refs: Vec<&NoteSigner> = signers.iter().collect();
        Log::create_in(dir, store, &origin, hash, &refs).context("cannot create the log")?;
        Ok(key_file)
    })();
    let key_file = match written {
        Ok(f) => f,
        Err(e) => {
            // The log was not made: the key made on the token for it goes.
            if let Some(uri) = &generated {
                let _ = yinzheng_pkcs11::Pkcs11Key::destroy(uri);
            }
            return Err(e);
        }
    };
    let (ed25519_vkey, p256_vkey) = if second_p256 {
        (None, second_vkey)
    } else {
        (second_vkey, None)
    };
    let r = InitReport {
        origin,
        hash: hash.name(),
        vkey,
        key_file,
        vkey_file: dir.join(VKEY_FILE),
        ed25519_vkey,
        p256_vkey,
        tiles: Log::tiles_dir(dir),
    };
    out.result(&r, || {
        let mut s = format!(
            "created log {} ({})\n  verifier key: {}\n  key:   {}\n  tiles: {}",
            r.origin,
            r.hash,
            r.vkey,
            r.key_file.display(),
            r.tiles.display()
        );
        if let Some(v) = &r.ed25519_vkey {
            s.push_str(&format!("\n  Ed25519 verifier key: {v}"));
        }
        if let Some(v) = &r.p256_vkey {
            s.push_str(&format!("\n  P-256 verifier key: {v}"));
        }
        s
    });
    Ok(ExitCode::SUCCESS)
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct AppendReport {
    index: u64,
    tree_size: u64,
    leaf_hash: String,
}

/// The log's signers (keys opened once: files decrypted, device keys'
/// sessions; each call makes fresh signer handles on them).
fn log_signers(
    dir: &Path,
    store: &Backend,
    passphrase_file: Option<&Path>,
) -> Result<impl Fn() -> Result<Vec<NoteSigner>>> {
    let (origin, _) = Log::config_in(dir, store).context("cannot read the log state")?;
    let pass = if [KEY_FILE, ED_KEY_FILE, P256_KEY_FILE]
        .iter()
        .any(|f| dir.join(f).exists())
    {
        Some(io::passphrase(passphrase_file)?.context(
            "the log key is encrypted: give --passphrase-file F or set YINZHENG_PASSPHRASE",
        )?)
    } else {
        None
    };
    let open = |stem: &str| {
        yinzheng_ca::open_key_in(dir, stem, pass.as_ref().map(|p| p.as_slice()))
            .with_context(|| format!("cannot open the log key {stem} in {}", dir.display()))
    };
    let key: std::sync::Arc<dyn Signer> =
        std::sync::Arc::from(open(KEY_STEM)?.with_context(|| {
            format!(
                "the log in {} has no key ({KEY_STEM}.key.pem or .key.uri)",
                dir.display()
            )
        })?);
    if key.algorithm() != yinzheng_crypto::SignatureAlgorithm::Sm2Sm3 {
        bail!(
            "the log key {KEY_STEM} in {} is {:?}, not SM2",
            dir.display(),
            key.algorithm()
        );
    }
    let others: Vec<std::sync::Arc<dyn Signer>> = [ED_KEY_STEM, P256_KEY_STEM]
        .into_iter()
        .map(open)
        .collect::<Result<Vec<_>>>()?
        .into_iter()
        .flatten()
        .map(std::sync::Arc::from)
        .collect();
    Ok(move || -> Result<Vec<NoteSigner>> {
        let mut v = vec![NoteSigner::from_signer(&origin, key.clone())?];
        for k in &others {
            v.push(NoteSigner::from_signer(&origin, k.clone())?);
        }
        Ok(v)
    })
}

/// Whether `dir` holds a log (its state in `store`).
pub(crate) fn log_exists(dir: &Path, store: &Backend) -> Result<bool> {
    Log::exists_in(dir, store).context("cannot read the log state")
}

/// How long a queued entry may wait for the sequencer.
const QUEUE_WAIT: Duration = Duration::from_secs(30);

/// The log as the CLI writes to it: as its sequencer (embedded store, or no
/// server holds the PostgreSQL lease), or through the database queue that the
/// sequencing server drains (a server runs on the same PostgreSQL database).
pub enum LogWriter {
    /// This process sequences.
    Sequencer(Log),
    /// A server sequences; entries go through the queue, evidence is read
    /// from the published tiles.
    Queued {
        /// The queue table.
        queue: Box<yinzheng_log::LogQueue>,
        /// A follower of the published log.
        view: Log,
    },
}

impl LogWriter {
    /// Sequence what is pooled and stop (the sequencer); nothing to do when queued.
    pub fn close(&self) -> Result<()> {
        if let LogWriter::Sequencer(l) = self {
            l.close()?;
        }
        Ok(())
    }

    /// Append one encoded entry; its index and the tree size that includes it.
    fn append(&self, entry: &[u8]) -> Result<(u64, u64)> {
        match self {
            LogWriter::Sequencer(l) => {
                let i = l.append(entry)?;
                Ok((i, l.checkpoint().size()))
            }
            LogWriter::Queued { queue, view } => {
                let i = queue.append(&[entry.to_vec()], QUEUE_WAIT)?[0];
                let size = loop {
                    let size = view.refresh()?;
                    if size > i {
                        break size;
                    }
                    std::thread::sleep(Duration::from_millis(20));
                };
                Ok((i, size))
            }
        }
    }
}

impl yinzheng_license::Anchor for LogWriter {
    fn append_batch(
        &self,
        entries: &[yinzheng_anchor::Entry],
    ) -> yinzheng_license::Result<Vec<u64>> {
        match self {
            LogWriter::Sequencer(l) => l.append_batch(entries),
            LogWriter::Queued { queue, view } => {
                let encoded: Vec<Vec<u8>> = entries.iter().map(|e| e.encode()).collect();
                let idx = queue.append(&encoded, QUEUE_WAIT)?;
                // Published once the checkpoint file covers them.
                if let Some(max) = idx.iter().max() {
                    let started = std::time::Instant::now();
                    while view.refresh()? <= *max && started.elapsed() < QUEUE_WAIT {
                        std::thread::sleep(Duration::from_millis(20));
                    }
                }
                Ok(idx)
            }
        }
    }

    fn evidence(&self, index: u64) -> yinzheng_license::Result<String> {
        match self {
            LogWriter::Sequencer(l) => l.evidence(index),
            LogWriter::Queued { view, .. } => {
                view.refresh()?;
                view.evidence(index)
            }
        }
    }

    fn size(&self) -> u64 {
        match self {
            LogWriter::Sequencer(l) => yinzheng_license::Anchor::size(l),
            LogWriter::Queued { view, .. } => {
                // The published size; a failed refresh keeps the last one.
                let _ = view.refresh();
                yinzheng_license::Anchor::size(view)
            }
        }
    }

    fn entry(&self, index: u64) -> yinzheng_license::Result<Vec<u8>> {
        match self {
            LogWriter::Sequencer(l) => yinzheng_license::Anchor::entry(l, index),
            LogWriter::Queued { view, .. } => yinzheng_license::Anchor::entry(view, index),
        }
    }
}

/// Open the log of `home` for writing (its key needs the passphrase), with a
/// short batching period so a batch of submissions shares one checkpoint. On
/// PostgreSQL, when a server holds the sequencer's lease, entries go through
/// its queue instead.
pub fn open_for_writing(home: &Home, passphrase_file: Option<&Path>) -> Result<LogWriter> {
    let dir = home.data_dir().log();
    let store = home.store();
    if !log_exists(&dir, store)? {
        bail!(
            "no anchoring log in {} (run `yinzheng log init` first)",
            dir.display()
        );
    }
    let signers = log_signers(&dir, store, passphrase_file)?;
    let signers = signers()?;
    let verifiers: Vec<VerifierKey> = signers.iter().map(|s| s.verifier().clone()).collect();
    match Log::open_in(
        &dir,
        store,
        signers,
        LogOptions::default().with_period(Duration::from_millis(2)),
    ) {
        Ok(l) => Ok(LogWriter::Sequencer(l)),
        Err(yinzheng_log::Error::NotSequencer(_)) => Ok(LogWriter::Queued {
            queue: Box::new(yinzheng_log::LogQueue::open_in(&dir, store)?),
            view: Log::follow_in(&dir, store, verifiers)?,
        }),
        Err(e) => Err(anyhow::Error::new(e).context("cannot open the log")),
    }
}

fn append(a: &AppendArgs, home: &Home, out: &Output) -> Result<ExitCode> {
    let dir = &home.data_dir().log();
    let store = home.store();
    if !log_exists(dir, store)? {
        bail!("no log in {} (run `yinzheng log init`)", dir.display());
    }
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0);
    let mut entry = Entry::new(&a.kind, now, &a.actor)?;
    for s in &a.subject {
        entry = entry.with_subject(s)?;
    }
    for f in &a.digest_of {
        let mut h = yinzheng_crypto::Sm3Hasher::new();
        io::stream_file(f, false, |c| h.update(c))?;
        entry = entry.with_digest(h.finalize())?;
    }
    if let Some(f) = &a.data {
        entry = entry.with_data(&io::read_limited(f, MAX_DATA, "data file")?)?;
    }
    let bytes = entry.encode();
    let (_, hash) = Log::config_in(dir, store).context("cannot read the log state")?;
    let signers = log_signers(dir, store, a.passphrase_file.as_deref())?;
    // Another `log append` (or a server) may commit between our open and our
    // batch: we then lose the compare-and-swap, our entry is not in the log,
    // and we reopen at the new size and try again.
    let mut attempt = 0;
    let (index, size) = loop {
        attempt += 1;
        let log = match Log::open_in(
            dir,
            store,
            signers()?,
            LogOptions::default().with_period(Duration::ZERO),
        ) {
            Ok(l) => l,
            Err(yinzheng_log::Error::NotSequencer(_)) => {
                // A server sequences: go through its queue.
                let w = open_for_writing(home, a.passphrase_file.as_deref())?;
                break w.append(&bytes)?;
            }
            // Another process published while this one recovered its staged
            // tiles: the same lost race as below, so the same retry.
            Err(yinzheng_log::Error::LostCas) if attempt < 20 => {
                std::thread::sleep(Duration::from_millis(5 * attempt));
                continue;
            }
            Err(e) => return Err(anyhow::Error::new(e).context("cannot open the log")),
        };
        match log.append(&bytes) {
            Ok(i) => {
                let size = log.checkpoint().size();
                log.close()?;
                break (i, size);
            }
            Err(yinzheng_log::Error::LostCas) if attempt < 20 => {
                drop(log);
                std::thread::sleep(Duration::from_millis(5 * attempt));
            }
            Err(e) => return Err(anyhow::Error::new(e).context("append failed")),
        }
    };
    let r = AppendReport {
        index,
        tree_size: size,
        leaf_hash: hex::encode(hash.leaf_hash(&bytes)),
    };
    out.result(&r, || format!("{index}"));
    Ok(ExitCode::SUCCESS)
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct CheckpointReport {
    origin: String,
    tree_size: u64,
    root: String,
    note: String,
}

fn checkpoint(a: &CheckpointArgs, dir: &Path, store: &Backend, out: &Output) -> Result<ExitCode> {
    let (_, _, vk, _, cp) = open_reader(dir, store)?;
    let cp = if a.witnessed {
        let log = Log::follow_in(dir, store, vec![vk]).context("cannot read the log")?;
        let Some(note) = log.witnessed_note()? else {
            bail!("no witnessed checkpoint yet (see `yinzheng log witness`)");
        };
        SignedCheckpoint::open(note.as_bytes(), log.verifiers(), Some(log.origin()))?
    } else {
        cp
    };
    let c = cp.checkpoint();
    let r = CheckpointReport {
        origin: c.origin().to_string(),
        tree_size: c.size(),
        root: base64::encode(c.root()),
        note: cp.note().to_string(),
    };
    out.result(&r, || r.note.trim_end().to_string());
    Ok(ExitCode::SUCCESS)
}

fn prove(a: &ProveArgs, dir: &Path, store: &Backend, out: &Output) -> Result<ExitCode> {
    let (_, _, vk, _, _) = open_reader(dir, store)?;
    let log = Log::follow_in(dir, store, vec![vk]).context("cannot read the log")?;
    let latest = log.checkpoint().size();
    if a.index >= latest {
        bail!("index {} is not in the log (tree size {latest})", a.index);
    }
    let text = yinzheng_license::Anchor::evidence(&log, a.index)?;
    // The size of the checkpoint the evidence carries (the witnessed one
    // when it covers the entry).
    let size = Evidence::parse(text.as_bytes())
        .ok()
        .and_then(|ev| Note::parse(ev.checkpoint_note().as_bytes()).ok())
        .and_then(|n| Checkpoint::parse(n.text()).ok())
        .map_or(latest, |c| c.size());
    match &a.out {
        Some(p) => {
            io::write_atomic(p, text.as_bytes(), false)?;
            let v = serde_json::json!({ "index": a.index, "treeSize": size, "evidence": p });
            out.result(&v, || {
                format!(
                    "wrote evidence for entry {} (tree size {size}) to {}",
                    a.index,
                    p.display()
                )
            });
        }
        None => {
            let v = serde_json::json!({ "index": a.index, "treeSize": size, "evidence": text });
            out.result(&v, || text.trim_end().to_string());
        }
    }
    Ok(ExitCode::SUCCESS)
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ConsistencyReport {
    old_size: u64,
    new_size: u64,
    old_root: String,
    new_root: String,
    proof: Vec<String>,
    checkpoint: String,
}

fn consistency(a: &ConsistencyArgs, dir: &Path, store: &Backend, out: &Output) -> Result<ExitCode> {
    let (_, _, _, reader, cp) = open_reader(dir, store)?;
    let size = cp.checkpoint().size();
    if a.old_size == 0 || a.old_size > size {
        bail!("--old-size must be between 1 and the tree size {size}");
    }
    let proof = consistency_proof(&reader, a.old_size, size)?;
    let r = ConsistencyReport {
        old_size: a.old_size,
        new_size: size,
        old_root: base64::encode(&root(&reader, a.old_size)?),
        new_root: base64::encode(cp.checkpoint().root()),
        proof: proof.iter().map(|h| base64::encode(h)).collect(),
        checkpoint: cp.note().to_string(),
    };
    out.result(&r, || {
        let mut s = format!(
            "consistency {} -> {}\nold root {}\nnew root {}",
            r.old_size, r.new_size, r.old_root, r.new_root
        );
        for h in &r.proof {
            s.push('\n');
            s.push_str(h);
        }
        s
    });
    Ok(ExitCode::SUCCESS)
}

/// The hash profile: `--hash`, else the origin's last segment, else SM3.
fn profile(arg: Option<HashArg>, note: &[u8]) -> HashAlg {
    if let Some(h) = arg {
        return h.into();
    }
    Note::parse(note)
        .ok()
        .and_then(|n| Checkpoint::parse(n.text()).ok())
        .and_then(|c| profile_from_origin(c.origin()))
        .unwrap_or(HashAlg::Sm3)
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct VerifyReport {
    indication: &'static str,
    valid: bool,
    index: Option<u64>,
    tree_size: Option<u64>,
    origin: Option<String>,
    hash: &'static str,
    entry_kind: Option<String>,
    entry_subjects: Vec<String>,
    message: String,
}

fn verify(a: &VerifyArgs, out: &Output) -> Result<ExitCode> {
    let vk = read_vkey(&a.vkey)?;
    let bytes = io::read_limited(
        &a.evidence,
        yinzheng_anchor::MAX_EVIDENCE_LEN as u64,
        "evidence file",
    )?;
    let mut vkeys = String::new();
    for f in &a.witness_vkey {
        let text = io::read_limited(f, 64 * 1024, "witness verifier key")?;
        vkeys.push_str(&String::from_utf8(text).context("witness verifier key is not UTF-8")?);
        vkeys.push('\n');
    }
    let witnesses = yinzheng_anchor::WitnessPolicy::parse(&vkeys, a.quorum)
        .context("the witness keys or the quorum")?;
    witnesses.check_independent_of(std::slice::from_ref(&vk))?;
    let result = Evidence::parse(&bytes).and_then(|ev| {
        let h = profile(a.hash, ev.checkpoint_note().as_bytes());
        let v = ev.verify(std::slice::from_ref(&vk), h, None)?;
        let quorum = witnesses.check(&yinzheng_anchor::Note::parse(
            ev.checkpoint_note().as_bytes(),
        )?)?;
        Ok((v, h, quorum))
    });
    let r = match result {
        Ok((v, h, quorum)) if !quorum.met() => VerifyReport {
            indication: "INDETERMINATE",
            valid: false,
            index: Some(v.index),
            tree_size: Some(v.checkpoint.checkpoint().size()),
            origin: Some(v.checkpoint.checkpoint().origin().to_string()),
            hash: h.name(),
            entry_kind: None,
            entry_subjects: vec![],
            message: format!(
                "entry {} is in the log's tree of size {}, but the checkpoint is not witnessed: {}",
                v.index,
                v.checkpoint.checkpoint().size(),
                quorum.describe()
            ),
        },
        Ok((v, h, quorum)) => {
            let decoded = Entry::decode(&v.entry).ok();
            VerifyReport {
                indication: "TOTAL_PASSED",
                valid: true,
                index: Some(v.index),
                tree_size: Some(v.checkpoint.checkpoint().size()),
                origin: Some(v.checkpoint.checkpoint().origin().to_string()),
                hash: h.name(),
                entry_kind: decoded.as_ref().map(|e| e.kind().to_string()),
                entry_subjects: decoded.map(|e| e.subjects().to_vec()).unwrap_or_default(),
                message: format!(
                    "entry {} is in the log {} at tree size {} (signed by {}{})",
                    v.index,
                    v.checkpoint.checkpoint().origin(),
                    v.checkpoint.checkpoint().size(),
                    v.checkpoint.verified_by().join(", "),
                    if quorum.required > 0 {
                        format!("; cosigned by {}", quorum.cosigned.join(", "))
                    } else {
                        String::new()
                    }
                ),
            }
        }
        Err(e) if e.is_verification_failure() => VerifyReport {
            indication: "TOTAL_FAILED",
            valid: false,
            index: None,
            tree_size: None,
            origin: None,
            hash: Evidence::parse(&bytes)
                .map(|ev| profile(a.hash, ev.checkpoint_note().as_bytes()))
                .unwrap_or_else(|_| profile(a.hash, b""))
                .name(),
            entry_kind: None,
            entry_subjects: vec![],
            message: e.to_string(),
        },
        Err(e) => return Err(anyhow::Error::new(e).context("cannot verify the evidence")),
    };
    out.result(&r, || format!("{}: {}", r.indication, r.message));
    Ok(if r.valid {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

fn audit_cmd(a: &AuditArgs, out: &Output) -> Result<ExitCode> {
    let vk = read_vkey(&a.vkey)?;
    let cp_bytes = io::read_limited(&a.tiles.join("checkpoint"), 64 * 1024, "checkpoint")?;
    let h = profile(a.hash, &cp_bytes);
    match audit(&a.tiles, h, std::slice::from_ref(&vk), None) {
        Ok(rep) => {
            let c = rep.checkpoint.checkpoint();
            let v = serde_json::json!({
                "indication": "TOTAL_PASSED", "valid": true, "origin": c.origin(),
                "treeSize": c.size(), "root": base64::encode(c.root()), "hash": h.name(),
                "entries": rep.entries, "tilesCompared": rep.tiles,
                "checkpointSm3": yinzheng_crypto::sm3_hex(rep.checkpoint.note().as_bytes()),
            });
            out.result(&v, || {
                format!(
                    "TOTAL_PASSED: {} entries, {} tiles recomputed, root matches the checkpoint of {} at size {}",
                    rep.entries,
                    rep.tiles,
                    c.origin(),
                    c.size()
                )
            });
            Ok(ExitCode::SUCCESS)
        }
        Err(e) if e.is_verification_failure() => {
            let v = serde_json::json!({ "indication": "TOTAL_FAILED", "valid": false, "message": e.to_string() });
            out.result(&v, || format!("TOTAL_FAILED: {e}"));
            Ok(ExitCode::from(1))
        }
        Err(e) => Err(anyhow::Error::new(e).context("audit could not run")),
    }
}
