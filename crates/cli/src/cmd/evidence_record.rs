//! `yinzheng evidence-record …`: RFC 4998 evidence records — proof that a
//! file (an OFD, a detached signature, a seal, an export) existed, kept
//! valid for decades: one archive time stamp by a trust domain's TSA over
//! the hash tree of many files, renewed by a new time stamp before the last
//! TSA certificate expires, or by a new hash tree before the hash weakens.

use super::Home;
use super::log::HashArg;
use super::verify::{Trust, TrustArgs};
use crate::io;
use crate::output::Output;
use anyhow::{Context, Result, bail};
use clap::{Args, Subcommand};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use yinzheng_cms::{Digest, EvidenceRecord, MAX_ERS_LEN};
use yinzheng_store::DataDir;

/// Largest file an evidence record is made or checked for here.
const MAX_DATA: u64 = 4 << 30;

/// `evidence-record` subcommands.
#[derive(Subcommand, Debug)]
pub enum EvidenceRecordCommand {
    /// Make an evidence record for each FILE (FILE.ers), all under one
    /// archive time stamp by a trust domain's TSA.
    Make(MakeArgs),
    /// Renew a record: a new archive time stamp over the last one (before
    /// its TSA certificate expires), or with --hash a new hash tree (before
    /// the hash weakens; needs --data).
    Renew(RenewArgs),
    /// Verify a record for its file against trust anchors: every link, each
    /// TSA certificate valid when the next link was made, the last now.
    /// Exit 0 valid, 1 invalid, 2 usage or input error.
    Verify(VerifyArgs),
}

impl From<HashArg> for Digest {
    fn from(h: HashArg) -> Self {
        match h {
            HashArg::Sm3 => Digest::Sm3,
            HashArg::Sha256 => Digest::Sha256,
        }
    }
}

/// The trust domain whose TSA stamps.
#[derive(Args, Debug)]
pub struct TsaArgs {
    /// The trust domain (under HOME/pki) whose TSA stamps; default: the only one.
    #[arg(long)]
    domain: Option<String>,
    /// File whose first line is the CA passphrase (for a TSA key in a file; else env YINZHENG_PASSPHRASE).
    #[arg(long)]
    ca_passphrase_file: Option<PathBuf>,
}

/// Arguments of `evidence-record make`.
#[derive(Args, Debug)]
pub struct MakeArgs {
    /// The files.
    #[arg(required = true)]
    files: Vec<PathBuf>,
    /// Replace records that exist.
    #[arg(long)]
    force: bool,
    /// The hash algorithm.
    #[arg(long, value_enum, default_value = "sm3")]
    hash: HashArg,
    /// Where to write the records (default: beside each file).
    #[arg(long)]
    out_dir: Option<PathBuf>,
    #[command(flatten)]
    tsa: TsaArgs,
}

/// Arguments of `evidence-record renew`.
#[derive(Args, Debug)]
pub struct RenewArgs {
    /// The record (rewritten in place, atomically).
    record: PathBuf,
    /// Renew the hash tree with this algorithm instead of the time stamp.
    #[arg(long, value_enum)]
    hash: Option<HashArg>,
    /// The file the record is for: the record must hold for it (every link
    /// and token) before it is renewed.
    #[arg(long)]
    data: PathBuf,
    #[command(flatten)]
    tsa: TsaArgs,
}

/// Arguments of `evidence-record verify`.
#[derive(Args, Debug)]
pub struct VerifyArgs {
    /// The record.
    record: PathBuf,
    /// The file it is for.
    file: PathBuf,
    /// Trust anchors (the TSAs' roots), intermediates, CRLs.
    #[command(flatten)]
    trust: TrustArgs,
}

/// Run an `evidence-record` subcommand.
pub fn run(cmd: &EvidenceRecordCommand, home: &Home, out: &Output) -> Result<ExitCode> {
    match cmd {
        EvidenceRecordCommand::Make(a) => make(a, home, out),
        EvidenceRecordCommand::Renew(a) => renew(a, home, out),
        EvidenceRecordCommand::Verify(a) => verify(a, out),
    }
}

/// The chosen trust domain's TSA.
pub(crate) fn tsa(a: &TsaArgs, home: &Home) -> Result<yinzheng_cms::TimeStampAuthority> {
    let names: Vec<String> = super::trust::domains(home)?
        .into_iter()
        .map(|(n, _)| n)
        .collect();
    let name = match (&a.domain, names.as_slice()) {
        (Some(n), _) => n.clone(),
        (None, [only]) => only.clone(),
        (None, []) => bail!(
            "no trust domain under {} (run `yinzheng ca init`)",
            home.display()
        ),
        (None, _) => bail!(
            "several trust domains ({}): choose one with --domain",
            names.join(", ")
        ),
    };
    let dir = DataDir::new(home).pki().join(&name);
    if !dir.join("root.pem").exists() {
        bail!("no trust domain {name} under {}", home.display());
    }
    let pass = io::passphrase(a.ca_passphrase_file.as_deref())?;
    super::seal::domain_tsa(
        home,
        &dir,
        pass.as_deref().map(|p| &p[..]),
        "--ca-passphrase-file F",
    )
}

fn now() -> time::OffsetDateTime {
    time::OffsetDateTime::now_utc()
}

fn read_record(path: &Path) -> Result<EvidenceRecord> {
    let bytes = io::read_limited(path, MAX_ERS_LEN as u64, "evidence record")?;
    EvidenceRecord::parse(&bytes)
        .with_context(|| format!("{} is not an evidence record", path.display()))
}

fn hash_file(path: &Path, digest: Digest) -> Result<Vec<u8>> {
    let data = io::read_limited(path, MAX_DATA, "file")?;
    Ok(digest.digest(&data))
}

fn make(a: &MakeArgs, home: &Home, out: &Output) -> Result<ExitCode> {
    let digest = Digest::from(a.hash);
    // Where each record goes: checked before anything is stamped.
    let mut paths: Vec<PathBuf> = Vec::new();
    for file in &a.files {
        let name = format!(
            "{}.ers",
            file.file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_else(|| "record".into())
        );
        let path = match &a.out_dir {
            Some(d) => d.join(name),
            None => file.with_file_name(name),
        };
        if paths.contains(&path) {
            bail!("two files would get the same record {}", path.display());
        }
        if path.exists() && !a.force {
            bail!("{} exists (--force replaces it)", path.display());
        }
        paths.push(path);
    }
    let hashes = a
        .files
        .iter()
        .map(|f| hash_file(f, digest))
        .collect::<Result<Vec<_>>>()?;
    let tsa = tsa(&a.tsa, home)?;
    let at = now();
    let records =
        EvidenceRecord::archive(digest, &hashes, &mut |d, imprint| tsa.stamp(d, imprint, at))?;
    let mut written = Vec::new();
    for ((file, record), path) in a.files.iter().zip(&records).zip(&paths) {
        io::write_atomic(path, &record.to_der(), false)?;
        written.push(serde_json::json!({ "file": file, "record": path }));
    }
    let v = serde_json::json!({
        "records": written, "hash": digest.name(), "time": yinzheng_pki::rfc3339(at.into()),
    });
    out.result(&v, || {
        format!(
            "{} evidence record(s), one {} archive time stamp at {}: {}",
            records.len(),
            digest.name(),
            yinzheng_pki::rfc3339(at.into()),
            written
                .iter()
                .filter_map(|w| w["record"].as_str().map(str::to_string))
                .collect::<Vec<_>>()
                .join(", ")
        )
    });
    Ok(ExitCode::SUCCESS)
}

fn renew(a: &RenewArgs, home: &Home, out: &Output) -> Result<ExitCode> {
    let mut record = read_record(&a.record)?;
    let tsa = tsa(&a.tsa, home)?;
    let at = now();
    let mut stamp = |d: Digest, imprint: &[u8]| tsa.stamp(d, imprint, at);
    // Renew only a record that holds for its file: a new link on a broken
    // or foreign record would only seem to extend it.
    let bytes = io::read_limited(&a.data, MAX_DATA, "file")?;
    record
        .verify(&bytes, &yinzheng_cms::VerifyOptions::default())
        .with_context(|| format!("the record does not hold for {}", a.data.display()))?;
    let what = match a.hash {
        Some(h) => {
            record.renew_hash_tree(&bytes, Digest::from(h), &mut stamp)?;
            format!("hash tree renewed with {}", Digest::from(h).name())
        }
        None => {
            record.renew_time_stamp(&mut stamp)?;
            "time stamp renewed".to_string()
        }
    };
    io::write_atomic(&a.record, &record.to_der(), false)?;
    let links: usize = record.chains.iter().map(Vec::len).sum();
    let v = serde_json::json!({
        "record": a.record, "renewal": what, "chains": record.chains.len(), "links": links,
        "time": yinzheng_pki::rfc3339(at.into()),
    });
    out.result(&v, || {
        format!(
            "{}: {what} at {} ({} chain(s), {links} link(s))",
            a.record.display(),
            yinzheng_pki::rfc3339(at.into()),
            record.chains.len()
        )
    });
    Ok(ExitCode::SUCCESS)
}

fn verify(a: &VerifyArgs, out: &Output) -> Result<ExitCode> {
    let record = io::read_limited(&a.record, MAX_ERS_LEN as u64, "evidence record")?;
    // Not a record at all: an input error (exit 2), not a verdict.
    EvidenceRecord::parse(&record)
        .with_context(|| format!("{} is not an evidence record", a.record.display()))?;
    let data = io::read_limited(&a.file, MAX_DATA, "file")?;
    let ctx = Trust::load(&a.trust, "an evidence record", Vec::new())?;
    let (report, links) = yinzheng_document::verify_evidence_record(
        &ctx,
        &record,
        &data,
        std::time::SystemTime::now(),
    );
    let mut v = serde_json::to_value(&report)?;
    if let Some(o) = v.as_object_mut() {
        o.insert(
            "links".into(),
            serde_json::json!(links.iter().map(|l| serde_json::json!({
                "chain": l.chain, "index": l.index, "hash": l.digest, "time": l.time, "tsa": l.tsa,
            })).collect::<Vec<_>>()),
        );
    }
    out.result(&v, || {
        let mut s = report.to_string().trim_end().to_string();
        if let Some(first) = links.first().filter(|_| report.passed()) {
            s.push_str(&format!(
                "\n{} existed at {} (proof of existence: {} link(s), the last at {})",
                a.file.display(),
                first.time,
                links.len(),
                links.last().map_or("-", |l| l.time.as_str())
            ));
        }
        s
    });
    Ok(if report.passed() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
