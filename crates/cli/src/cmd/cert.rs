//! `yinzheng cert verify`: validate a certificate against trust anchors and CRLs.

use crate::io;
use crate::output::Output;
use anyhow::{Context, Result, bail};
use clap::{Args, Subcommand};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::SystemTime;
use yinzheng_pki::{Crl, ParsedCert, RevocationPolicy, Validator};

/// Certificate commands.
#[derive(Subcommand, Debug)]
pub enum CertCommand {
    /// Validate a certificate: exit 0 TOTAL_PASSED, 1 TOTAL_FAILED or INDETERMINATE, 2 usage/input error.
    Verify(VerifyArgs),
}

/// Arguments of `cert verify`.
#[derive(Args, Debug)]
pub struct VerifyArgs {
    /// The certificate; further certificates in the file are used as intermediates.
    cert: PathBuf,
    /// Trust anchors (PEM, one or more root certificates).
    #[arg(long)]
    trust: PathBuf,
    /// Extra intermediate certificates (PEM).
    #[arg(long)]
    untrusted: Vec<PathBuf>,
    /// CRLs to check revocation with (repeatable).
    #[arg(long)]
    crl: Vec<PathBuf>,
    /// OCSP responses (DER) to check revocation with (repeatable; preferred over CRLs).
    #[arg(long)]
    ocsp: Vec<PathBuf>,
    /// Validation time (RFC 3339), default now; use the signing time for documents.
    #[arg(long)]
    at: Option<String>,
    /// SM2 ID of the PKI's signatures (default 1234567812345678; '' for an OpenSSL-default PKI).
    #[arg(long)]
    sm2_id: Option<String>,
    /// keyUsage bits the leaf must have (repeatable: digitalSignature, nonRepudiation, …).
    #[arg(long)]
    require_key_usage: Vec<String>,
    /// extendedKeyUsage purpose the leaf must have (serverAuth, clientAuth, OCSPSigning, timeStamping, or an OID).
    #[arg(long)]
    require_eku: Vec<String>,
    /// Do not require revocation information (missing CRLs become warnings).
    #[arg(long)]
    no_revocation_required: bool,
}

fn load_certs(path: &Path, what: &str) -> Result<Vec<ParsedCert>> {
    let bytes = io::read_limited(path, 4 << 20, what)?;
    ParsedCert::load_all(&bytes).with_context(|| format!("cannot read {what} {}", path.display()))
}

/// Run a `cert` subcommand.
pub fn run(cmd: &CertCommand, out: &Output) -> Result<ExitCode> {
    let CertCommand::Verify(a) = cmd;
    let mut certs = load_certs(&a.cert, "certificate")?;
    if certs.is_empty() {
        bail!("{} holds no certificate", a.cert.display());
    }
    let leaf = certs.remove(0);
    for p in &a.untrusted {
        certs.extend(load_certs(p, "intermediate certificates")?);
    }
    let anchors = load_certs(&a.trust, "trust anchors")?;
    let mut crls = Vec::new();
    for p in &a.crl {
        let bytes = io::read_limited(p, 64 << 20, "CRL")?;
        crls.extend(
            Crl::parse_all(&bytes).with_context(|| format!("cannot read CRL {}", p.display()))?,
        );
    }
    let at = match &a.at {
        Some(s) => {
            let t = time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339)
                .with_context(|| {
                    format!("--at {s:?} is not an RFC 3339 time (e.g. 2026-11-23T10:00:00Z)")
                })?;
            SystemTime::UNIX_EPOCH
                + std::time::Duration::from_secs(t.unix_timestamp().max(0) as u64)
        }
        None => SystemTime::now(),
    };
    let mut responses = Vec::new();
    for p in &a.ocsp {
        responses.push(io::read_limited(p, 1 << 20, "OCSP response")?);
    }
    let mut v = Validator::new(anchors)
        .with_crls(crls)
        .with_ocsp_responses(responses)
        .with_sm2_id(crate::cmd::sign::sm2_id(a.sm2_id.as_deref())?);
    let ku: Vec<&str> = a.require_key_usage.iter().map(String::as_str).collect();
    v = v.with_leaf_key_usage(&ku)?;
    for e in &a.require_eku {
        v = v.with_leaf_eku(yinzheng_pki::eku_oid(e).map_err(anyhow::Error::msg)?);
    }
    if a.no_revocation_required {
        v = v.with_revocation(RevocationPolicy::DangerBestEffort);
    }
    let report = v.validate(&leaf, &certs, at);
    out.result(&report, || report.to_string().trim_end().to_string());
    Ok(if report.passed() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
