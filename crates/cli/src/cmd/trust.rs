//! `yinzheng trust export`: the trust-anchors file an auditor's
//! `yinzheng-audit` needs and nothing else (roots of every trust domain, their
//! issuing CAs marked untrusted, the SM2 user ID policy, the log's verifier
//! keys and origin, optional witnesses and CRLs). Format: `docs/FORMATS.md`.

use super::Home;
use crate::io;
use crate::output::Output;
use anyhow::{Context, Result, bail};
use clap::{Args, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;
use yinzheng_audit::{DomainAnchors, LogAnchors, TrustAnchors};
use yinzheng_ca::TrustDomain;
use yinzheng_pki::Crl;
use yinzheng_store::DataDir;

/// `trust` subcommands.
#[derive(Subcommand, Debug)]
pub enum TrustCommand {
    /// Write the trust-anchors file (TOML with embedded PEM) for `yinzheng-audit`.
    Export(ExportArgs),
}

/// Where revocation data comes from (shared with `license evidence`).
#[derive(Args, Debug, Default)]
pub struct CrlArgs {
    /// Include the CRLs every trust domain's CA published (`yinzheng ca crl`,
    /// `ca revoke`): what the verify servers trust; nothing is signed.
    #[arg(long)]
    pub with_crls: bool,
    /// CRL files (PEM or DER) to include instead (repeatable).
    #[arg(long, conflicts_with = "with_crls")]
    pub crl: Vec<PathBuf>,
}

/// Arguments of `trust export`.
#[derive(Args, Debug)]
pub struct ExportArgs {
    /// The file to write.
    #[arg(long)]
    out: PathBuf,
    #[command(flatten)]
    crls: CrlArgs,
    /// A witness verifier key file (vkey text) (repeatable).
    #[arg(long)]
    witness: Vec<PathBuf>,
    /// How many witnesses must cosign each checkpoint.
    #[arg(long, default_value_t = 0)]
    quorum: usize,
    /// SM2 user ID the PKIs sign with (default 1234567812345678; '' for OpenSSL's empty ID).
    #[arg(long)]
    sm2_id: Option<String>,
}

/// Run a `trust` subcommand.
pub fn run(cmd: &TrustCommand, home: &Home, out: &Output) -> Result<ExitCode> {
    match cmd {
        TrustCommand::Export(a) => export(a, home, out),
    }
}

/// Every trust domain under HOME/pki, by name.
pub fn domains(home: &Home) -> Result<Vec<(String, TrustDomain)>> {
    let pki = DataDir::new(home).pki();
    let mut v = Vec::new();
    let Ok(rd) = std::fs::read_dir(&pki) else {
        return Ok(v);
    };
    let mut names: Vec<String> = rd
        .flatten()
        .filter(|e| e.path().join("root.pem").exists())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    for n in names {
        let d = TrustDomain::open_in(&pki.join(&n), home.store(), None)
            .with_context(|| format!("cannot open trust domain {n}"))?;
        v.push((n, d));
    }
    Ok(v)
}

/// The CRLs `a` asks for: those every domain's CA published, or read from files.
pub fn collect_crls(a: &CrlArgs, home: &Home) -> Result<Vec<Crl>> {
    let mut crls = Vec::new();
    for p in &a.crl {
        crls.extend(
            Crl::parse_all(&io::read_limited(p, 64 << 20, "CRL")?)
                .with_context(|| format!("cannot read CRL {}", p.display()))?,
        );
    }
    if a.with_crls {
        for (n, d) in domains(home)? {
            crls.extend(
                d.published_crls()
                    .with_context(|| format!("the published CRLs of domain {n}"))?
                    .into_iter()
                    .map(|(_, c)| c),
            );
        }
    }
    Ok(crls)
}

/// The trust-anchors file of `home`: every domain's root (its issuing CAs
/// as untrusted intermediates, the CRLs of `crls` each issued), the log's
/// keys and origin, the witness keys in `witness_files` with `quorum`.
pub fn anchors_of(
    home: &Home,
    crls: &[Crl],
    witness_files: &[PathBuf],
    quorum: usize,
    sm2_id: Option<&str>,
) -> Result<TrustAnchors> {
    let mut t = TrustAnchors::new();
    t.exported_at = Some(yinzheng_pki::rfc3339(std::time::SystemTime::now()));
    if let Some(id) = sm2_id {
        t.sm2_id = id.to_string();
    }
    for (name, d) in domains(home)? {
        let root_name = d.root().cert().tbs_certificate().subject().clone();
        t.domains.push(DomainAnchors {
            name,
            root: d.root().to_pem(),
            untrusted_intermediates: d.issuers().iter().map(|(_, c)| c.to_pem()).collect(),
            crls: crls
                .iter()
                .filter(|c| {
                    *c.issuer_name() == root_name
                        || d.issuers()
                            .iter()
                            .any(|(_, i)| c.issuer_name() == i.cert().tbs_certificate().subject())
                })
                .map(Crl::to_pem)
                .collect(),
        });
    }
    let log_dir = DataDir::new(home).log();
    if crate::cmd::log::log_exists(&log_dir, home.store())? {
        let (origin, hash) = yinzheng_log::Log::config_in(&log_dir, home.store())
            .context("cannot read the log state")?;
        let mut keys = Vec::new();
        for f in ["log.vkey", "log-ed25519.vkey"] {
            if log_dir.join(f).exists() {
                let text = io::read_limited(&log_dir.join(f), 4096, "verifier key")?;
                keys.push(
                    String::from_utf8(text)
                        .context("vkey is not UTF-8")?
                        .trim()
                        .to_string(),
                );
            }
        }
        t.log = Some(LogAnchors {
            origin,
            hash: hash.name().to_string(),
            verifier_keys: keys,
        });
    }
    for p in witness_files {
        let text = io::read_limited(p, 4096, "witness key")?;
        t.witnesses.keys.push(
            String::from_utf8(text)
                .context("witness key is not UTF-8")?
                .trim()
                .to_string(),
        );
    }
    t.witnesses.quorum = quorum;
    if t.domains.is_empty() && t.log.is_none() {
        bail!(
            "nothing to export: no trust domain under {} and no log",
            DataDir::new(home).pki().display()
        );
    }
    Ok(t)
}

fn export(a: &ExportArgs, home: &Home, out: &Output) -> Result<ExitCode> {
    let crls = collect_crls(&a.crls, home)?;
    let t = anchors_of(home, &crls, &a.witness, a.quorum, a.sm2_id.as_deref())?;
    let text = t.to_toml()?;
    // Parse back what we wrote: an auditor must be able to read it.
    TrustAnchors::from_toml(&text).context("the exported file does not read back")?;
    io::write_atomic(&a.out, text.as_bytes(), false)?;
    let v = serde_json::json!({
        "file": a.out, "domains": t.domains.iter().map(|d| &d.name).collect::<Vec<_>>(),
        "log": t.log.as_ref().map(|l| &l.origin), "crls": crls.len(),
        "witnesses": t.witnesses.keys.len(), "quorum": t.witnesses.quorum,
    });
    out.result(&v, || {
        format!(
            "wrote {}: {} trust domain(s), log {}, {} CRL(s), {} witness key(s)",
            a.out.display(),
            t.domains.len(),
            t.log
                .as_ref()
                .map(|l| l.origin.as_str())
                .unwrap_or("(none)"),
            crls.len(),
            t.witnesses.keys.len()
        )
    });
    Ok(ExitCode::SUCCESS)
}
