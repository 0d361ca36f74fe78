//! `yinzheng witness …`: a witness of other departments' anchoring logs
//! (c2sp.org/tlog-witness), in `--home`/witness.
//!
//! Files: `witness.toml` (its name and the logs it witnesses),
//! `witness-ed25519.key.pem` (the cosignature/v1 key, encrypted) or its
//! `.key.uri` device reference, with `--sm2` also `witness-sm2.key.*` (the
//! SM2 cosignature key), `witness*.vkey` (the verifier keys to hand to the
//! log's relying parties) and `witness.db` (the latest checkpoint cosigned per
//! log: its only state).

use super::Home;
use crate::io;
use crate::output::Output;
use anyhow::{Context, Result, bail};
use clap::{Args, Subcommand};
use serde::Serialize;
use std::io::Write;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use yinzheng_crypto::{KeyAlgorithm, KeyEncryption, PrivateKey, Signer};
use yinzheng_witness::{Witness, WitnessConfig};

const ED_STEM: &str = "witness-ed25519";
const SM2_STEM: &str = "witness-sm2";

/// `witness` subcommands.
#[derive(Subcommand, Debug)]
pub enum WitnessCommand {
    /// Make a witness: its name and an Ed25519 cosigning key (with --sm2 an
    /// SM2 one too); prints the verifier keys relying parties configure.
    Init(InitArgs),
    /// Witness a log: its origin, verifier key(s) and tree hash (witness.toml).
    AddLog(AddLogArgs),
    /// Serve add-checkpoint over HTTP until Ctrl-C or SIGTERM.
    Serve(ServeArgs),
    /// The latest checkpoint cosigned for each log.
    Status,
}

/// Arguments of `witness init`.
#[derive(Args, Debug)]
pub struct InitArgs {
    /// The witness's name, e.g. "witness.example.gov.cn/w1" (no spaces or '+').
    #[arg(long)]
    name: String,
    /// Also cosign with an SM2 key (SM2-SM3-cosignature/v1, for national deployments).
    #[arg(long)]
    sm2: bool,
    /// Use this Ed25519 key in a device (a pkcs11: URI) instead of a key file.
    #[arg(long, value_name = "KEY_URI")]
    key: Option<String>,
    /// Use this SM2 key in a device (an sdf: reference) instead of a key file
    /// (implies --sm2).
    #[arg(long, value_name = "KEY_REF")]
    sm2_key: Option<String>,
    /// Passphrase file for the key files (else env YINZHENG_PASSPHRASE).
    #[arg(long)]
    passphrase_file: Option<PathBuf>,
}

/// Arguments of `witness add-log`.
#[derive(Args, Debug)]
pub struct AddLogArgs {
    /// The log's origin line.
    #[arg(long)]
    origin: String,
    /// A verifier key of the log (its log.vkey text, or a file holding it); repeatable.
    #[arg(long, required = true)]
    vkey: Vec<String>,
    /// The log's tree hash.
    #[arg(long, default_value = "sm3", value_parser = ["sm3", "sha256"])]
    hash: String,
}

/// Arguments of `witness serve`.
#[derive(Args, Debug)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:7380")]
    listen: SocketAddr,
    /// Passphrase file of the key files (else env YINZHENG_PASSPHRASE).
    #[arg(long)]
    passphrase_file: Option<PathBuf>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct InitReport {
    name: String,
    directory: PathBuf,
    vkeys: Vec<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct LogStatus {
    origin: String,
    size: Option<u64>,
    root: Option<String>,
    /// Log-signed checkpoints refused as not extending the latest (newest first).
    conflicts: Vec<ConflictStatus>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ConflictStatus {
    size: u64,
    root: String,
    reason: String,
    kind: String,
    at: u64,
    note: String,
}

/// A key `witness init` made or took: (file stem, signer, the bytes to
/// write, file extension `pem` or `uri`).
type NewWitnessKey = (&'static str, Arc<dyn Signer>, Vec<u8>, &'static str);

/// Run a `witness` subcommand.
pub fn run(c: &WitnessCommand, home: &Home, out: &Output) -> Result<ExitCode> {
    let dir = home.path().join("witness");
    match c {
        WitnessCommand::Init(a) => init(a, &dir, out),
        WitnessCommand::AddLog(a) => add_log(a, &dir, out),
        WitnessCommand::Serve(a) => serve(a, &dir, out),
        WitnessCommand::Status => status(&dir, out),
    }
}

fn init(a: &InitArgs, dir: &Path, out: &Output) -> Result<ExitCode> {
    if WitnessConfig::path(dir).exists() {
        bail!("{} already holds a witness", dir.display());
    }
    let with_sm2 = a.sm2 || a.sm2_key.is_some();
    let needs_pass = a.key.is_none() || (with_sm2 && a.sm2_key.is_none());
    let pass = if needs_pass {
        Some(io::passphrase(a.passphrase_file.as_deref())?.context(
            "the witness key is written encrypted: give --passphrase-file F or set YINZHENG_PASSPHRASE",
        )?)
    } else {
        None
    };
    // Each key: made in memory and written encrypted, or a device's.
    let mut made: Vec<NewWitnessKey> = Vec::new();
    let mut want = vec![(ED_STEM, KeyAlgorithm::Ed25519, a.key.as_deref())];
    if with_sm2 {
        want.push((SM2_STEM, KeyAlgorithm::Sm2, a.sm2_key.as_deref()));
    }
    for (stem, alg, device) in want {
        let (signer, bytes, ext): (Arc<dyn Signer>, Vec<u8>, &str) = match device {
            Some(text) => {
                let (key, canonical) =
                    yinzheng_ca::open_device_key(text).context("cannot open the witness key")?;
                if key.public_key().algorithm() != alg {
                    bail!("{stem}: the device key is not {alg}");
                }
                (Arc::from(key), format!("{canonical}\n").into_bytes(), "uri")
            }
            None => {
                let key = PrivateKey::generate(alg).context("key generation failed")?;
                let pass = pass
                    .as_ref()
                    .context("a passphrase is needed for a key file")?;
                let pem = key.to_encrypted_pkcs8_pem(pass, &KeyEncryption::default())?;
                (Arc::new(key), pem.as_bytes().to_vec(), "pem")
            }
        };
        made.push((stem, signer, bytes, ext));
    }
    let mut vkeys = Vec::new();
    for (stem, signer, _, _) in &made {
        let c = yinzheng_anchor::Cosigner::new(&a.name, signer.clone())
            .with_context(|| format!("{stem}: bad witness name or key"))?;
        vkeys.push((stem.to_string(), c.verifier().to_string()));
    }
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    for (stem, _, bytes, ext) in &made {
        io::write_atomic(&dir.join(format!("{stem}.key.{ext}")), bytes, true)?;
    }
    for (stem, v) in &vkeys {
        io::write_atomic(
            &dir.join(format!("{stem}.vkey")),
            format!("{v}\n").as_bytes(),
            false,
        )?;
    }
    // Its state, empty; `serve` never makes one (a lost state is retired).
    Witness::create_state(dir)?;
    // The configuration last: its presence marks a complete witness.
    WitnessConfig {
        name: a.name.clone(),
        logs: vec![],
    }
    .save(dir)?;
    let r = InitReport {
        name: a.name.clone(),
        directory: dir.to_path_buf(),
        vkeys: vkeys.into_iter().map(|(_, v)| v).collect(),
    };
    out.result(&r, || {
        let mut s = format!("witness {} made in {}\n  verifier keys (give them to the log's relying parties):", r.name, r.directory.display());
        for v in &r.vkeys {
            s.push_str(&format!("\n    {v}"));
        }
        s.push_str("\n  next: `yinzheng witness add-log --origin … --vkey …`, then `yinzheng witness serve`");
        s
    });
    Ok(ExitCode::SUCCESS)
}

fn add_log(a: &AddLogArgs, dir: &Path, out: &Output) -> Result<ExitCode> {
    let mut config = WitnessConfig::load(dir).context("run `yinzheng witness init` first")?;
    let mut vkeys = Vec::new();
    for v in &a.vkey {
        // The vkey text, or a file that holds it.
        let text = if Path::new(v).is_file() {
            String::from_utf8(io::read_limited(Path::new(v), 8192, "vkey file")?)
                .with_context(|| format!("{v} is not UTF-8"))?
                .trim()
                .to_string()
        } else {
            v.trim().to_string()
        };
        let key = yinzheng_anchor::VerifierKey::parse(&text)
            .with_context(|| format!("not a verifier key: {text:?}"))?;
        if key.key_type().is_cosignature() {
            bail!("{text:?} is a witness's cosignature key, not a log's");
        }
        vkeys.push(text);
    }
    // The witness's own keys are never the log's (it would cosign itself).
    for stem in [ED_STEM, SM2_STEM] {
        let path = dir.join(format!("{stem}.vkey"));
        if let Ok(text) = std::fs::read_to_string(&path) {
            let own = yinzheng_anchor::VerifierKey::parse(text.trim())
                .with_context(|| format!("cannot read {}", path.display()))?;
            for v in &vkeys {
                let log_key = yinzheng_anchor::VerifierKey::parse(v)?;
                if log_key.key_bytes() == own.key_bytes() {
                    bail!("{v:?} is this witness's own key, not the log's");
                }
            }
        }
    }
    if config.logs.iter().any(|l| l.origin == a.origin) {
        bail!("the witness already witnesses {:?}", a.origin);
    }
    config.logs.push(yinzheng_witness::LogConfig {
        origin: a.origin.clone(),
        vkeys,
        hash: Some(a.hash.clone()),
    });
    // Every log parses before the file is written.
    config.witnessed_logs()?;
    config.save(dir)?;
    let v = serde_json::json!({"origin": a.origin, "hash": a.hash, "logs": config.logs.len()});
    out.result(&v, || {
        format!(
            "witnessing {} ({}); restart `witness serve` to take it up",
            a.origin, a.hash
        )
    });
    Ok(ExitCode::SUCCESS)
}

/// The witness in `dir`, its keys opened (files with the passphrase).
fn open_witness(dir: &Path, passphrase_file: Option<&Path>) -> Result<Witness> {
    let config = WitnessConfig::load(dir).context("run `yinzheng witness init` first")?;
    let needs_pass = [ED_STEM, SM2_STEM]
        .iter()
        .any(|s| dir.join(format!("{s}.key.pem")).exists());
    let pass = if needs_pass {
        Some(io::passphrase(passphrase_file)?.context(
            "the witness key is encrypted: give --passphrase-file F or set YINZHENG_PASSPHRASE",
        )?)
    } else {
        None
    };
    let mut cosigners = Vec::new();
    for stem in [ED_STEM, SM2_STEM] {
        if let Some(key) = yinzheng_ca::open_key_in(dir, stem, pass.as_ref().map(|p| p.as_slice()))
            .with_context(|| format!("cannot open the witness key {stem}"))?
        {
            cosigners.push(yinzheng_anchor::Cosigner::new(
                &config.name,
                Arc::from(key),
            )?);
        }
    }
    Ok(Witness::open(dir, cosigners, config.witnessed_logs()?)?)
}

fn serve(a: &ServeArgs, dir: &Path, out: &Output) -> Result<ExitCode> {
    let witness = Arc::new(open_witness(dir, a.passphrase_file.as_deref())?);
    // (open refuses a missing state: a witness restored without it, or whose
    // volume was lost, would cosign a rollback.)
    if witness.origins().is_empty() {
        tracing::warn!("the witness witnesses no log yet: every request is answered 404");
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the runtime")?;
    rt.block_on(async move {
        let listener = tokio::net::TcpListener::bind(a.listen)
            .await
            .with_context(|| format!("cannot listen on {}", a.listen))?;
        let addr = listener.local_addr()?;
        let v = serde_json::json!({
            "url": format!("http://{addr}"),
            "vkeys": witness.verifiers().iter().map(|v| v.to_string()).collect::<Vec<_>>(),
            "logs": witness.origins(),
        });
        out.result(&v, || {
            format!(
                "witness listening on http://{addr} (POST /add-checkpoint)\n  logs: {}\nCtrl-C stops.",
                witness.origins().join(", ")
            )
        });
        let _ = std::io::stdout().flush();
        let shutdown = io::shutdown_signal();
        yinzheng_witness::serve(witness, listener, shutdown)
            .await
            .context("the witness server failed")
    })?;
    Ok(ExitCode::SUCCESS)
}

fn status(dir: &Path, out: &Output) -> Result<ExitCode> {
    let config = WitnessConfig::load(dir).context("run `yinzheng witness init` first")?;
    let mut logs = Vec::new();
    for l in &config.logs {
        let latest = yinzheng_witness::read_latest(dir, &l.origin)?;
        let conflicts = yinzheng_witness::read_conflicts(dir, &l.origin)?
            .into_iter()
            .map(|c| ConflictStatus {
                size: c.size,
                root: yinzheng_anchor::base64::encode(&c.root),
                reason: c.reason,
                kind: c.kind,
                at: c.at_s,
                note: c.note,
            })
            .collect();
        logs.push(LogStatus {
            origin: l.origin.clone(),
            size: latest.as_ref().map(|l| l.size),
            root: latest
                .as_ref()
                .map(|l| yinzheng_anchor::base64::encode(&l.root)),
            conflicts,
        });
    }
    out.result(&logs, || {
        let mut s = format!("witness {}", config.name);
        for l in &logs {
            s.push_str(&format!(
                "\n  {}: {}",
                l.origin,
                match (&l.size, &l.root) {
                    (Some(n), Some(r)) => format!("size {n}, root {r}"),
                    _ => "nothing cosigned yet".to_string(),
                }
            ));
            if let Some(c) = l.conflicts.first() {
                s.push_str(&format!(
                    "\n    {} log-signed checkpoint(s) refused and kept (newest: size {}, {}); \
                     --json has their notes for yinzheng-audit consistency",
                    l.conflicts.len(),
                    c.size,
                    c.reason
                ));
            }
        }
        s
    });
    Ok(ExitCode::SUCCESS)
}
