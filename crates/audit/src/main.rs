//! `yinzheng-audit`: the auditor's offline verifier. Everything is checked
//! against the trust-anchors file (`yinzheng trust export`) alone; nothing is
//! fetched. Exit codes: 0 verified, 1 verification failed, 2 usage or input
//! error.

use anyhow::{Context, Result};
use clap::{Args, Parser, Subcommand};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::SystemTime;
use yinzheng_audit::{Auditor, Outcome, TrustAnchors, parse_consistency_proof, render_html};

/// The auditor's offline verifier of Yinzheng (印证).
#[derive(Parser, Debug)]
#[command(name = "yinzheng-audit", version, about)]
struct Cli {
    #[command(subcommand)]
    cmd: Command,
}

/// How to print the outcome.
#[derive(Args, Debug)]
struct Common {
    /// The trust-anchors file (TOML, from `yinzheng trust export`).
    #[arg(long)]
    trust: PathBuf,
    /// Print one JSON document instead of text.
    #[arg(long, global = true)]
    json: bool,
    /// Also write a self-contained HTML report (verdict at the top) to this file.
    #[arg(long)]
    html: Option<PathBuf>,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Verify a sealed PDF or OFD, a detached CMS (with --data) or an evidence bundle.
    Verify {
        #[command(flatten)]
        common: Common,
        /// The signed data of a detached CMS or seal signature.
        #[arg(long)]
        data: Option<PathBuf>,
        /// More CRLs (PEM or DER), besides those in the trust file and the bundle (repeatable).
        #[arg(long)]
        crl: Vec<PathBuf>,
        /// For a bundle: the newest signed checkpoint you hold; the bundle's
        /// checkpoint must be a prefix of it (needs --consistency-proof).
        #[arg(long, requires = "consistency_proof")]
        newest_checkpoint: Option<PathBuf>,
        /// The consistency proof from the bundle's checkpoint to --newest-checkpoint
        /// (`yinzheng log consistency`).
        #[arg(long, requires = "newest_checkpoint")]
        consistency_proof: Option<PathBuf>,
        /// The file.
        file: PathBuf,
    },
    /// Re-derive every tile and the root of a log from its entries; check the checkpoint; count entries by type.
    Log {
        #[command(flatten)]
        common: Common,
        /// The tiles directory (holding `checkpoint` and `tile/`).
        #[arg(long)]
        tiles: PathBuf,
    },
    /// Check that NEW extends OLD (both signed checkpoints) with a consistency
    /// proof (--proof OLD NEW); or, without --proof, look for a split view
    /// among checkpoints gathered from several witnesses (each witness's
    /// `GET /latest?origin=…`): the same size with two roots, or (with
    /// --tiles) one that is not in the log's published tree.
    Consistency {
        #[command(flatten)]
        common: Common,
        /// The consistency proof (output of `yinzheng log consistency`, text or --json).
        #[arg(long, conflicts_with = "tiles")]
        proof: Option<PathBuf>,
        /// The log's tiles directory (holding `checkpoint` and `tile/`): every
        /// checkpoint must be in that tree.
        #[arg(long)]
        tiles: Option<PathBuf>,
        /// With --proof: the older then the newer signed checkpoint; else
        /// any number of checkpoints to compare.
        #[arg(required = true)]
        checkpoints: Vec<PathBuf>,
    },
    /// Every log entry of one license, in order, each proven.
    History {
        #[command(flatten)]
        common: Common,
        /// The tiles directory.
        #[arg(long)]
        tiles: PathBuf,
        /// The license identifier.
        #[arg(long)]
        license: String,
    },
    /// Verify a receipt of the verify server (JSON, yinzheng-receipt/1) against the log keys.
    /// An RFC 4998 evidence record for its file (`yinzheng evidence-record`):
    /// proof that FILE existed, judged at --at (default now; years later,
    /// with every certificate long expired, the renewals must carry it).
    EvidenceRecord {
        #[command(flatten)]
        common: Common,
        /// The validation time (RFC 3339, e.g. 2036-01-01T00:00:00Z).
        #[arg(long)]
        at: Option<String>,
        /// More CRLs (PEM or DER), besides those in the trust file (repeatable).
        #[arg(long)]
        crl: Vec<PathBuf>,
        /// The record.
        record: PathBuf,
        /// The file it is for.
        file: PathBuf,
    },
    /// An archive package (`yinzheng archive export`), offline, at --at
    /// (default now; decades later): the four-property check of DA/T 70 —
    /// authenticity, integrity, usability, security — each with what was
    /// checked and the result (text, --json, --html).
    Archive {
        #[command(flatten)]
        common: Common,
        /// The validation time (RFC 3339, e.g. 2036-01-01T00:00:00Z).
        #[arg(long)]
        at: Option<String>,
        /// More CRLs (PEM or DER), besides those in the trust file and the package (repeatable).
        #[arg(long)]
        crl: Vec<PathBuf>,
        /// The package.
        package: PathBuf,
    },
    Receipt {
        #[command(flatten)]
        common: Common,
        /// The tlog-proof evidence of the receipt's usage record (`yinzheng
        /// license usage --evidence SEQ`): needed when the trust file
        /// requires witnesses.
        #[arg(long)]
        evidence: Option<PathBuf>,
        /// The receipt file.
        file: PathBuf,
    },
}

fn read(path: &Path, max: u64, what: &str) -> Result<Vec<u8>> {
    use std::io::Read;
    let f = std::fs::File::open(path)
        .with_context(|| format!("cannot open {what} {}", path.display()))?;
    let mut v = Vec::new();
    f.take(max + 1)
        .read_to_end(&mut v)
        .with_context(|| format!("cannot read {what} {}", path.display()))?;
    if v.len() as u64 > max {
        anyhow::bail!("{what} {} is larger than {max} bytes", path.display());
    }
    Ok(v)
}

/// `--at` as a time, or `now`.
fn validation_time(at: Option<&str>, now: SystemTime) -> Result<SystemTime> {
    match at {
        Some(t) => {
            let t = time::OffsetDateTime::parse(t, &time::format_description::well_known::Rfc3339)
                .with_context(|| format!("--at {t:?} is not an RFC 3339 time"))?;
            Ok(SystemTime::from(t))
        }
        None => Ok(now),
    }
}

/// Every CRL of the `--crl` files.
fn read_crls(paths: &[PathBuf]) -> Result<Vec<yinzheng_pki::Crl>> {
    let mut crls = Vec::new();
    for p in paths {
        crls.extend(
            yinzheng_pki::Crl::parse_all(&read(p, 64 << 20, "CRL")?)
                .with_context(|| format!("cannot read CRL {}", p.display()))?,
        );
    }
    Ok(crls)
}

fn auditor(c: &Common) -> Result<Auditor> {
    let text = String::from_utf8(read(&c.trust, 16 << 20, "trust anchors")?)
        .context("the trust-anchors file is not UTF-8")?;
    let t = TrustAnchors::from_toml(&text)
        .with_context(|| format!("cannot use {}", c.trust.display()))?;
    Ok(Auditor::new(&t)?)
}

fn run(cli: Cli) -> Result<(Outcome, bool, Option<PathBuf>)> {
    let now = SystemTime::now();
    let (o, c) = match &cli.cmd {
        Command::Verify {
            common,
            data,
            crl,
            newest_checkpoint,
            consistency_proof,
            file,
        } => {
            let a = auditor(common)?;
            let bytes = read(file, yinzheng_audit::MAX_BUNDLE_LEN as u64, "file")?;
            let data = data
                .as_ref()
                .map(|p| read(p, 1 << 30, "data"))
                .transpose()?;
            let crls = read_crls(crl)?;
            let newest = match (newest_checkpoint, consistency_proof) {
                (Some(c), Some(p)) => {
                    let proof = parse_consistency_proof(&read(p, 1 << 20, "proof")?)
                        .map_err(anyhow::Error::msg)
                        .with_context(|| format!("cannot read the proof {}", p.display()))?;
                    Some((read(c, 1 << 20, "checkpoint")?, proof))
                }
                _ => None,
            };
            let is_bundle = yinzheng_document::Format::sniff(&bytes)
                == Some(yinzheng_document::Format::EvidenceBundle);
            match &newest {
                Some((note, proof)) if is_bundle => {
                    let n = yinzheng_audit::NewestCheckpoint { note, proof };
                    (a.verify_bundle_against(&bytes, &crls, Some(n), now), common)
                }
                Some(_) => anyhow::bail!(
                    "--newest-checkpoint applies to evidence bundles; {} is not one",
                    file.display()
                ),
                None => (a.verify_file(&bytes, data.as_deref(), &crls, now), common),
            }
        }
        Command::Log { common, tiles } => (auditor(common)?.audit_log(tiles, now), common),
        Command::Consistency {
            common,
            proof,
            tiles,
            checkpoints,
        } => {
            let a = auditor(common)?;
            match proof {
                Some(proof) => {
                    let [old, new] = checkpoints.as_slice() else {
                        anyhow::bail!(
                            "with --proof give two checkpoints, the older then the newer ({} given)",
                            checkpoints.len()
                        );
                    };
                    let proof = parse_consistency_proof(&read(proof, 1 << 20, "proof")?)
                        .map_err(anyhow::Error::msg)
                        .with_context(|| format!("cannot read the proof {}", proof.display()))?;
                    let old = read(old, 1 << 20, "checkpoint")?;
                    let new = read(new, 1 << 20, "checkpoint")?;
                    (a.consistency(&old, &new, &proof, now), common)
                }
                None => {
                    if checkpoints.len() < 2 && tiles.is_none() {
                        anyhow::bail!(
                            "give two or more checkpoints to compare, or --tiles with the log's tree"
                        );
                    }
                    let notes = checkpoints
                        .iter()
                        .map(|p| Ok((p.display().to_string(), read(p, 1 << 20, "checkpoint")?)))
                        .collect::<anyhow::Result<Vec<_>>>()?;
                    (a.split_view(&notes, tiles.as_deref(), now), common)
                }
            }
        }
        Command::History {
            common,
            tiles,
            license,
        } => (auditor(common)?.history(tiles, license, now), common),
        Command::EvidenceRecord {
            common,
            at,
            crl,
            record,
            file,
        } => {
            let a = auditor(common)?;
            let when = validation_time(at.as_deref(), now)?;
            let crls = read_crls(crl)?;
            let record = read(record, yinzheng_cms::MAX_ERS_LEN as u64, "evidence record")?;
            let data = read(file, 4 << 30, "file")?;
            (
                a.verify_evidence_record(&record, &data, &crls, when),
                common,
            )
        }
        Command::Archive {
            common,
            at,
            crl,
            package,
        } => {
            let a = auditor(common)?;
            let when = validation_time(at.as_deref(), now)?;
            let crls = read_crls(crl)?;
            let bytes = read(package, yinzheng_audit::MAX_BUNDLE_LEN as u64, "package")?;
            if !yinzheng_audit::is_archive(&bytes) {
                anyhow::bail!(
                    "{} is not an archive package ({})",
                    package.display(),
                    yinzheng_audit::ARCHIVE_FORMAT
                );
            }
            (a.verify_archive(&bytes, &crls, when), common)
        }
        Command::Receipt {
            common,
            evidence,
            file,
        } => {
            let a = auditor(common)?;
            let bytes = read(file, yinzheng_anchor::MAX_RECEIPT_LEN as u64, "receipt")?;
            let evidence = evidence
                .as_ref()
                .map(|p| read(p, yinzheng_anchor::MAX_EVIDENCE_LEN as u64, "evidence"))
                .transpose()?;
            (
                a.verify_receipt_anchored(&bytes, evidence.as_deref(), now),
                common,
            )
        }
    };
    Ok((o, c.json, c.html.clone()))
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let json = match &cli.cmd {
        Command::Verify { common, .. }
        | Command::Log { common, .. }
        | Command::Consistency { common, .. }
        | Command::History { common, .. }
        | Command::EvidenceRecord { common, .. }
        | Command::Archive { common, .. }
        | Command::Receipt { common, .. } => common.json,
    };
    match run(cli) {
        Ok((o, json, html)) => {
            let text = if json {
                serde_json::to_string_pretty(&o)
                    .unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"))
            } else {
                o.to_string().trim_end().to_string()
            };
            // A closed pipe (`| head`) is not worth reporting.
            let _ = writeln!(std::io::stdout().lock(), "{text}");
            if let Some(p) = html
                && let Err(e) = std::fs::write(&p, render_html(&o))
            {
                eprintln!("error: cannot write {}: {e}", p.display());
                return ExitCode::from(2);
            }
            if o.passed() {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            }
        }
        Err(e) => {
            let chain = yinzheng_crypto::error_chain(e.as_ref());
            if json {
                let v = serde_json::json!({ "error": chain });
                let _ = writeln!(std::io::stdout().lock(), "{v}");
            }
            eprintln!("error: {chain}");
            ExitCode::from(2)
        }
    }
}
