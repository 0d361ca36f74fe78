//! `yinzheng archive export`: an archive package (`yinzheng-archive/1`,
//! docs/FORMATS.md) for a license or for files — the records, one RFC 4998
//! evidence record each under one archive time stamp, sealed PDFs made
//! B-LTA first, the certificates and CRLs of their validation, a license's
//! evidence bundle, the trust anchors used, a manifest with SM3 digests and
//! the four-property check (DA/T 70) as a human-readable summary. The
//! package is checked with `yinzheng-audit`'s own verifier before it is
//! written; `yinzheng-audit archive PACKAGE --trust anchors.toml [--at T]`
//! checks it again, offline, years later.

use super::Home;
use super::evidence_record::{TsaArgs, tsa};
use super::ltv::{Made, Sources, SourcesArgs, make_lta};
use crate::io;
use crate::output::Output;
use anyhow::{Context, Result, bail};
use clap::{Args, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;
use yinzheng_audit::{ArchiveLicense, ArchiveManifest, ArchiveRecord, ArchiveWriter, Auditor};
use yinzheng_cms::{Digest, EvidenceRecord};
use yinzheng_document::Format;

/// The role of the record that is a license bundle's log checkpoint.
const LOG_CHECKPOINT: &str = yinzheng_audit::LOG_CHECKPOINT_ROLE;

/// Largest record read: the most a package member may hold.
const MAX_RECORD: u64 = yinzheng_audit::MAX_MEMBER_LEN;

/// `archive` subcommands.
#[derive(Subcommand, Debug)]
pub enum ArchiveCommand {
    /// Write an archive package for a license (--license) and/or files.
    /// Exit 0 written, 1 the package would not pass its own check (nothing
    /// written; the report says why), 2 usage or input error.
    Export(ExportArgs),
}

/// Arguments of `archive export`.
#[derive(Args, Debug)]
pub struct ExportArgs {
    /// Files to archive: sealed PDFs or OFDs, or any data (its existence is
    /// proven, its content not judged).
    files: Vec<PathBuf>,
    /// A license of this home's registry: its sealed OFD master and PDF
    /// copy become records, its evidence bundle (log proofs) travels along.
    #[arg(long)]
    license: Option<String>,
    /// Where to write the package.
    #[arg(long)]
    out: PathBuf,
    /// Replace the package if it exists.
    #[arg(long)]
    force: bool,
    /// A title (default: the license identifier or the first file's name).
    #[arg(long)]
    title: Option<String>,
    /// Keep sealed PDFs as they are (by default one without a document time
    /// stamp is made B-LTA first, as `yinzheng ltv add` does).
    #[arg(long)]
    no_ltv: bool,
    /// Leave the license's usage records (callers, operations) out of its
    /// evidence bundle.
    #[arg(long)]
    no_usage: bool,
    #[command(flatten)]
    sources: SourcesArgs,
    #[command(flatten)]
    tsa: TsaArgs,
}

/// Run an `archive` subcommand.
pub fn run(cmd: &ArchiveCommand, home: &Home, out: &Output) -> Result<ExitCode> {
    match cmd {
        ArchiveCommand::Export(a) => export(a, home, out),
    }
}

/// One record on its way into the package.
struct Record {
    name: String,
    format: &'static str,
    role: &'static str,
    bytes: Vec<u8>,
}

fn export(a: &ExportArgs, home: &Home, out: &Output) -> Result<ExitCode> {
    if a.files.is_empty() && a.license.is_none() {
        bail!("nothing to archive: give files, --license ID, or both");
    }
    if a.out.exists() && !a.force {
        bail!("{} exists (--force replaces it)", a.out.display());
    }
    let sources = Sources::load(&a.sources, home)?;
    let tsa = tsa(&a.tsa, home)?;
    let mut records: Vec<Record> = Vec::new();
    let mut license = None;
    let mut made_lta = Vec::new();
    if let Some(id) = &a.license {
        let bundle = super::license::evidence_bundle_of(home, id, sources.crls(), !a.no_usage)?;
        let (_, docs) = yinzheng_audit::bundle_documents(&bundle.zip)
            .map_err(anyhow::Error::msg)
            .context("the license's evidence bundle")?;
        for (path, bytes) in docs {
            let (format, role) = match Format::sniff(&bytes) {
                Some(Format::Ofd) => ("ofd", "license master"),
                Some(Format::Pdf) => ("pdf", "license copy"),
                _ => ("data", "license document"),
            };
            let name = path.rsplit('/').next().unwrap_or(&path).to_string();
            records.push(Record {
                name,
                format,
                role,
                bytes,
            });
        }
        // The checkpoint the bundle's proofs go to, as a record: the one
        // archive time stamp then proves every entry it holds existed.
        let checkpoint = yinzheng_audit::bundle_checkpoint(&bundle.zip)
            .map_err(anyhow::Error::msg)
            .context("the license's evidence bundle")?;
        records.push(Record {
            name: "log-checkpoint".into(),
            format: "data",
            role: LOG_CHECKPOINT,
            bytes: checkpoint,
        });
        license = Some((bundle.license.clone(), bundle.zip));
    }
    for f in &a.files {
        let mut bytes = io::read_limited(f, MAX_RECORD, "file")?;
        let name = f
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .with_context(|| format!("{} has no file name", f.display()))?;
        let format = match Format::sniff(&bytes) {
            Some(Format::Pdf) => "pdf",
            Some(Format::Ofd) => "ofd",
            _ => "data",
        };
        if format == "pdf" && !a.no_ltv {
            let has_doc_ts = yinzheng_document::pdf_signatures(&bytes)
                .with_context(|| format!("cannot read the signatures of {}", f.display()))?
                .iter()
                .any(yinzheng_document::PdfSignature::is_document_time_stamp);
            if !has_doc_ts {
                match make_lta(&bytes, &sources, Some(&tsa))
                    .with_context(|| format!("cannot make {} long-term", f.display()))?
                {
                    Made::Done { pdf, .. } => {
                        bytes = pdf;
                        made_lta.push(name.clone());
                    }
                    Made::Refused(report, why) => {
                        out.result(&report, || {
                            format!(
                                "{}: {why}; nothing written\n{}",
                                f.display(),
                                report.to_string().trim_end()
                            )
                        });
                        return Ok(ExitCode::from(1));
                    }
                }
            }
        }
        records.push(Record {
            name,
            format,
            role: "file",
            bytes,
        });
    }
    for (i, r) in records.iter().enumerate() {
        if records[..i].iter().any(|o| o.name == r.name) {
            bail!(
                "two records are named {}: archive them in two packages",
                r.name
            );
        }
    }

    // One archive time stamp over the hash tree of every record.
    let hashes: Vec<Vec<u8>> = records
        .iter()
        .map(|r| Digest::Sm3.digest(&r.bytes))
        .collect();
    let at = time::OffsetDateTime::now_utc();
    let ers = EvidenceRecord::archive(Digest::Sm3, &hashes, &mut |d, imprint| {
        tsa.stamp(d, imprint, at)
    })?;

    let mut w = ArchiveWriter::new();
    let mut manifest = ArchiveManifest {
        title: a
            .title
            .clone()
            .or_else(|| license.as_ref().map(|(id, _)| format!("license {id}")))
            .unwrap_or_else(|| records[0].name.clone()),
        exported_at: yinzheng_pki::rfc3339(std::time::SystemTime::now()),
        trust: "trust/anchors.toml".into(),
        certificates: "validation/certificates.pem".into(),
        crls: "validation/crls.pem".into(),
        ..Default::default()
    };
    for (r, e) in records.iter().zip(&ers) {
        let path = format!("records/{}", r.name);
        let proof = format!("proofs/{}.ers", r.name);
        w.add(&path, r.bytes.clone());
        w.add(&proof, e.to_der());
        manifest.records.push(ArchiveRecord {
            path,
            format: r.format.into(),
            role: r.role.into(),
            evidence_record: proof,
        });
    }
    if let Some((id, zip)) = &license {
        let path = format!("license/{id}.evidence");
        w.add(&path, zip.clone());
        manifest.license = Some(ArchiveLicense {
            id: id.clone(),
            bundle: path,
        });
    }
    let mut pem = sources.certificates_pem();
    if let Ok(c) = yinzheng_pki::ParsedCert::from_der(tsa.certificate()) {
        pem.push_str(&c.to_pem());
    }
    w.add(&manifest.certificates, pem.into_bytes());
    let crls_pem: String = sources.crls().iter().map(|c| c.to_pem()).collect();
    w.add(&manifest.crls, crls_pem.into_bytes());
    let mut anchors = super::trust::anchors_of(home, sources.crls(), &[], 0, None)?;
    // The log's witness quorum binds the package as it binds an auditor.
    if let Some(w) = yinzheng_witness::WitnessesConfig::load(&home.data_dir().log())
        .context("the log's witnesses.toml")?
        .filter(|w| w.quorum > 0)
    {
        anchors.witnesses.keys = w.witnesses.iter().flat_map(|e| e.vkeys.clone()).collect();
        anchors.witnesses.quorum = w.quorum;
    }
    w.add(&manifest.trust, anchors.to_toml()?.into_bytes());

    // The package's own check, by the auditor's verifier, before it is
    // written; its report becomes the summary.
    let auditor = Auditor::new(&anchors).context("the exported trust anchors")?;
    // The draft carries placeholders for the summary, so that the summary
    // does not report its own absence.
    manifest.summary = vec!["summary/report.txt".into(), "summary/report.html".into()];
    let mut draft = w.clone();
    for s in &manifest.summary {
        draft.add(s, Vec::new());
    }
    let draft = draft.finish(manifest.clone())?;
    let outcome = auditor.verify_archive(&draft, &[], std::time::SystemTime::now());
    if !outcome.passed() {
        out.result(&outcome, || {
            format!(
                "the package would not pass its own check; nothing written\n{}",
                outcome.to_string().trim_end()
            )
        });
        return Ok(ExitCode::from(1));
    }
    w.add("summary/report.txt", outcome.to_string().into_bytes());
    w.add(
        "summary/report.html",
        yinzheng_audit::render_html(&outcome).into_bytes(),
    );
    let package = w.finish(manifest)?;
    if package.len() > yinzheng_audit::MAX_BUNDLE_LEN {
        bail!(
            "the package would hold {} bytes, more than the {} an auditor reads: archive fewer files per package",
            package.len(),
            yinzheng_audit::MAX_BUNDLE_LEN
        );
    }
    io::write_atomic(&a.out, &package, false)?;
    let v = serde_json::json!({
        "out": a.out, "bytes": package.len(),
        "records": records.iter().map(|r| serde_json::json!({
            "name": r.name, "format": r.format, "role": r.role,
            "sm3": yinzheng_crypto::sm3_hex(&r.bytes),
        })).collect::<Vec<_>>(),
        "madeLongTerm": made_lta,
        "archiveTimeStamp": yinzheng_pki::rfc3339(at.into()),
        "license": license.as_ref().map(|(id, _)| id),
        "properties": outcome.properties,
    });
    out.result(&v, || {
        let mut s = format!(
            "wrote {} ({} bytes): {} record(s) under one archive time stamp at {}",
            a.out.display(),
            package.len(),
            records.len(),
            yinzheng_pki::rfc3339(at.into())
        );
        for n in &made_lta {
            s.push_str(&format!("\n  {n}: made B-LTA"));
        }
        for p in &outcome.properties {
            s.push_str(&format!("\n  {} {}: {}", p.name, p.key, p.result));
        }
        s
    });
    Ok(ExitCode::SUCCESS)
}
