//! `yinzheng license`: the e-license registry (电子证照) — catalogue, issue,
//! import, lifecycle, presentation tokens, checks and usage records.

use super::Home;
use crate::cmd::verify::{Trust, TrustArgs};
use crate::io;
use crate::output::Output;
use anyhow::{Context, Result, bail};
use clap::{Args, Subcommand};
use serde::Serialize;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use yinzheng_license::{
    Action, FaceSealer, IssueRequest, License, Registry, ResultCode, UsageContext,
};

/// `license` subcommands.
#[derive(Subcommand, Debug)]
pub enum LicenseCommand {
    /// The license type catalogue (`HOME/licenses/catalogue.toml`).
    Types,
    /// Issue a license: render its face (OFD + PDF with QR), seal both, anchor, store.
    Issue(Box<IssueArgs>),
    /// Issue licenses from a CSV file (one per row, all-or-nothing per row).
    Import(Box<ImportArgs>),
    /// Show one license (metadata, status, events, files).
    Show(ShowArgs),
    /// List licenses, newest first.
    List(ListArgs),
    /// Suspend a valid license (暂扣).
    Suspend(TransitionArgs),
    /// Resume a suspended license.
    Resume(TransitionArgs),
    /// Revoke a license (撤销/吊销); final.
    Revoke(TransitionArgs),
    /// Cancel a license (注销); final.
    Cancel(TransitionArgs),
    /// Change or renew a license: a new version supersedes it.
    Change(Box<ChangeArgs>),
    /// Create a holder's presentation token (亮证) and show it as a QR code.
    Token(TokenArgs),
    /// Check a license by identifier, file, claimed face data or token; writes a usage record.
    Check(Box<CheckArgs>),
    /// Usage records (用证记录) of a license or holder; --evidence proves one offline.
    Usage(UsageArgs),
    /// Write the evidence bundle of a license for offline audit (`yinzheng-audit verify`).
    Evidence(EvidenceArgs),
}

/// Arguments of `license evidence`.
#[derive(Args, Debug)]
pub struct EvidenceArgs {
    /// License identifier.
    id: String,
    /// The bundle to write (a zip, conventionally `ID.evidence`).
    #[arg(long)]
    out: PathBuf,
    /// Revocation data to include.
    #[command(flatten)]
    crls: crate::cmd::trust::CrlArgs,
    /// Leave the usage records out.
    #[arg(long)]
    no_usage: bool,
}

/// The issuing authority's seal and keys.
#[derive(Args, Debug)]
pub struct SealingArgs {
    /// Registered seal that issues (its signer's key is --key).
    #[arg(long)]
    seal: String,
    /// The seal signer's private key.
    #[arg(long)]
    key: PathBuf,
    /// Passphrase file of --key and of the log key (else env YINZHENG_PASSPHRASE).
    #[arg(long)]
    passphrase_file: Option<PathBuf>,
    /// Passphrase file of the log key when it has its own (default: --passphrase-file).
    #[arg(long)]
    log_passphrase_file: Option<PathBuf>,
    /// Add an RFC 3161 time stamp to the PDF seal from the signer's trust domain.
    #[arg(long)]
    tsa: bool,
    /// Who issues (recorded in the events and the log).
    #[arg(long, default_value = "registrar")]
    actor: String,
    /// CJK font of the license face (default: an installed WenQuanYi/Noto CJK
    /// font, else the embedded WenQuanYi Micro Hei subset, GB 2312 only).
    #[arg(long, env = "YINZHENG_OFD_FONT")]
    font: Option<PathBuf>,
}

/// Arguments of `license issue`.
#[derive(Args, Debug)]
pub struct IssueArgs {
    /// License type (key or code in the catalogue).
    #[arg(long = "type")]
    type_key: String,
    /// Holder name.
    #[arg(long)]
    holder_name: String,
    /// Holder USCC or citizen ID number.
    #[arg(long)]
    holder_code: String,
    /// Face field KEY=VALUE (repeatable; keys from `license types`).
    #[arg(long = "field", value_parser = key_value)]
    fields: Vec<(String, String)>,
    /// License number printed on the face (default: the serial).
    #[arg(long)]
    number: Option<String>,
    /// First day of validity, YYYY-MM-DD (default: today).
    #[arg(long)]
    valid_from: Option<String>,
    /// Last day of validity, YYYY-MM-DD (default: per type; none = 长期).
    #[arg(long)]
    valid_to: Option<String>,
    /// Copy the sealed OFD, PDF and evidence here.
    #[arg(long)]
    out: Option<PathBuf>,
    #[command(flatten)]
    sealing: SealingArgs,
}

/// Arguments of `license import`.
#[derive(Args, Debug)]
pub struct ImportArgs {
    /// CSV with a header row: holder_name, holder_code, [number, valid_from, valid_to,] then field keys.
    csv: PathBuf,
    /// License type of every row.
    #[arg(long = "type")]
    type_key: String,
    /// Write the rejected rows (line, reason) as CSV here.
    #[arg(long)]
    rejects: Option<PathBuf>,
    #[command(flatten)]
    sealing: SealingArgs,
}

/// A license identifier.
#[derive(Args, Debug)]
pub struct ShowArgs {
    /// License identifier.
    id: String,
}

/// Arguments of `license list`.
#[derive(Args, Debug)]
pub struct ListArgs {
    /// Only this holder's licenses.
    #[arg(long)]
    holder: Option<String>,
    /// At most this many.
    #[arg(long, default_value_t = 100)]
    limit: usize,
}

/// Arguments of lifecycle commands.
#[derive(Args, Debug)]
pub struct TransitionArgs {
    /// License identifier.
    id: String,
    /// Why (required for suspend, revoke, cancel).
    #[arg(long, default_value = "")]
    reason: String,
    /// Who (recorded in the events and the log).
    #[arg(long, default_value = "registrar")]
    actor: String,
    /// Passphrase file of the log key (else env YINZHENG_PASSPHRASE).
    #[arg(long)]
    passphrase_file: Option<PathBuf>,
}

/// Arguments of `license change`.
#[derive(Args, Debug)]
pub struct ChangeArgs {
    /// License identifier.
    id: String,
    /// Changed face field KEY=VALUE (repeatable); others are kept.
    #[arg(long = "field", value_parser = key_value)]
    fields: Vec<(String, String)>,
    /// New holder name (the holder code never changes).
    #[arg(long)]
    holder_name: Option<String>,
    /// New last day of validity (renewal), YYYY-MM-DD.
    #[arg(long)]
    valid_to: Option<String>,
    #[command(flatten)]
    sealing: SealingArgs,
}

/// Arguments of `license token`.
#[derive(Args, Debug)]
pub struct TokenArgs {
    /// License identifier.
    id: String,
    /// Lifetime in seconds (60–300).
    #[arg(long, default_value_t = 120)]
    ttl: u32,
    /// Bind the token to this matter code.
    #[arg(long)]
    matter: Option<String>,
    /// Also write the QR code as a PNG here.
    #[arg(long)]
    png: Option<PathBuf>,
    /// Who asks for it (the holder or an operator for them).
    #[arg(long, default_value = "holder")]
    actor: String,
}

/// Arguments of `license check`.
#[derive(Args, Debug)]
pub struct CheckArgs {
    /// License identifier or a sealed license file (OFD/PDF).
    target: Option<String>,
    /// Redeem a holder's presentation token instead.
    #[arg(long, conflicts_with = "target")]
    token: Option<String>,
    /// Claimed face data KEY=VALUE to compare with the registry (repeatable).
    #[arg(long = "claim", value_parser = key_value)]
    claims: Vec<(String, String)>,
    /// Purpose of use (用证事由), required, at most 200 characters.
    #[arg(long)]
    purpose: String,
    /// Calling system.
    #[arg(long, default_value = "yinzheng-cli")]
    caller: String,
    /// Operator (name, ID or role).
    #[arg(long, default_value = "")]
    operator: String,
    /// Matter code (事项编码).
    #[arg(long, default_value = "")]
    matter: String,
    /// Business serial number (业务流水号).
    #[arg(long, default_value = "")]
    serial: String,
    /// Passphrase file of the log key, to anchor the usage record (else env YINZHENG_PASSPHRASE).
    #[arg(long)]
    passphrase_file: Option<PathBuf>,
    /// Judge the status on this day (YYYY-MM-DD) instead of today.
    #[arg(long)]
    at: Option<String>,
    /// For files: trust anchors etc.
    #[command(flatten)]
    trust: TrustArgs,
}

/// Arguments of `license usage`.
#[derive(Args, Debug)]
pub struct UsageArgs {
    /// License identifier.
    id: Option<String>,
    /// Records of this holder.
    #[arg(long)]
    holder: Option<String>,
    /// Write the offline evidence (tlog-proof) of record SEQ to --out.
    #[arg(long, requires = "out")]
    evidence: Option<i64>,
    /// Where to write the evidence.
    #[arg(long)]
    out: Option<PathBuf>,
    /// Passphrase file of the log key (for --evidence; else env YINZHENG_PASSPHRASE).
    #[arg(long)]
    passphrase_file: Option<PathBuf>,
}

fn key_value(s: &str) -> std::result::Result<(String, String), String> {
    s.split_once('=')
        .map(|(k, v)| (k.trim().to_string(), v.to_string()))
        .filter(|(k, _)| !k.is_empty())
        .ok_or_else(|| format!("{s:?}: expected KEY=VALUE"))
}

fn registry(home: &Home) -> Result<Registry> {
    Ok(Registry::open_in(
        &home.data_dir().licenses(),
        home.store(),
    )?)
}

fn now() -> Result<time::OffsetDateTime> {
    Ok(time::OffsetDateTime::now_utc()
        .to_offset(yinzheng_license::LICENSE_TIME_OFFSET)
        .replace_nanosecond(0)?)
}

fn date(s: &Option<String>) -> Result<Option<time::Date>> {
    Ok(s.as_deref().map(yinzheng_license::parse_date).transpose()?)
}

/// Everything sealing needs, loaded once.
struct Sealing {
    seal: yinzheng_seal::Seal,
    key: Box<dyn yinzheng_crypto::Signer>,
    cert: Vec<u8>,
    chain: Vec<Vec<u8>>,
    tsa: Option<yinzheng_cms::TimeStampAuthority>,
    font: yinzheng_document::OfdFont,
    actor: String,
}

impl SealingArgs {
    /// The log key's passphrase file: its own, else the signer key's.
    fn log_passphrase(&self) -> Option<&Path> {
        self.log_passphrase_file
            .as_deref()
            .or(self.passphrase_file.as_deref())
    }
}

impl Sealing {
    fn load(home: &Home, a: &SealingArgs) -> Result<Self> {
        let (_, seal, key, cert) = crate::cmd::seal::stamping_identity(
            home,
            &a.seal,
            &a.key,
            a.passphrase_file.as_deref(),
        )?;
        let parsed = yinzheng_pki::ParsedCert::from_der(&cert)?;
        let issuer = crate::cmd::seal::local_issuer(home, &parsed);
        let tsa = if a.tsa {
            let (dir, _) = issuer
                .as_ref()
                .context("--tsa: the signer's CA is not a trust domain here")?;
            let pass = io::passphrase(a.passphrase_file.as_deref())?;
            Some(crate::cmd::seal::domain_tsa(
                home,
                dir,
                pass.as_deref().map(|p| &p[..]),
                "--passphrase-file F",
            )?)
        } else {
            None
        };
        Ok(Sealing {
            seal,
            key,
            cert,
            chain: issuer.map(|(_, c)| c.der().to_vec()).into_iter().collect(),
            tsa,
            font: match &a.font {
                Some(p) => yinzheng_document::OfdFont::load(p)?,
                None => yinzheng_document::OfdFont::find()?,
            },
            actor: a.actor.clone(),
        })
    }

    fn sealer(&self) -> FaceSealer<'_> {
        FaceSealer {
            seal: &self.seal,
            signer: &self.key,
            certificate: &self.cert,
            chain: self.chain.clone(),
            tsa: self.tsa.as_ref(),
            font: &self.font,
            actor: self.actor.clone(),
        }
    }
}

fn describe(l: &License, reg: &Registry, at: time::Date) -> String {
    let mut s = format!(
        "{}  {}  {}\n  holder:   {} ({})\n  number:   {}\n  status:   {}\n  valid:    {} .. {}\n  issuer:   {} ({})",
        l.id,
        l.name,
        l.type_key,
        l.holder.name,
        l.holder.code,
        l.number,
        l.status_at(at),
        yinzheng_license::format_date(l.valid_from),
        l.valid_to
            .map(yinzheng_license::format_date)
            .unwrap_or_else(|| "长期".into()),
        l.issuer_name,
        l.id.issuer_code(),
    );
    for (k, v) in &l.face {
        s.push_str(&format!("\n  {k}: {v}"));
    }
    if let Some(o) = &l.supersedes {
        s.push_str(&format!("\n  supersedes:    {o}"));
    }
    if let Some(n) = &l.superseded_by {
        s.push_str(&format!("\n  superseded by: {n}"));
    }
    s.push_str(&format!("\n  files:    {}", reg.files_dir(&l.id).display()));
    s
}

/// Run a `license` subcommand.
pub fn run(cmd: &LicenseCommand, home: &Home, out: &Output) -> Result<ExitCode> {
    match cmd {
        LicenseCommand::Types => {
            let reg = registry(home)?;
            let c = reg.catalogue();
            out.result(c, || {
                let mut s = format!(
                    "issuing authority: {} ({}), area {}\nverify URL: {}<identifier>\n",
                    c.service.issuer_name,
                    c.service.issuer_code,
                    c.service.area_code,
                    c.service.verify_url
                );
                for t in &c.types {
                    s.push_str(&format!(
                        "\n{}  {}  {}  holder {}  validity {}\n",
                        t.key,
                        t.code,
                        t.name,
                        if t.holder_type == "111" {
                            "citizen ID"
                        } else {
                            "USCC"
                        },
                        if t.validity_days == 0 {
                            "长期".to_string()
                        } else {
                            format!("{} days", t.validity_days)
                        }
                    ));
                    for f in &t.fields {
                        s.push_str(&format!(
                            "    --field {}=…   {}{}\n",
                            f.key,
                            f.label,
                            if f.required { " (required)" } else { "" }
                        ));
                    }
                }
                s.trim_end().to_string()
            });
            Ok(ExitCode::SUCCESS)
        }
        LicenseCommand::Issue(a) => issue(a, home, out),
        LicenseCommand::Import(a) => import(a, home, out),
        LicenseCommand::Show(a) => {
            let reg = registry(home)?;
            let l = reg
                .get(&a.id)?
                .with_context(|| format!("no license {}", a.id))?;
            let events = reg.events(&l.id)?;
            let today = yinzheng_license::license_day(now()?);
            let v = serde_json::json!({"license": l, "statusNow": l.status_at(today), "events": events, "files": reg.files_dir(&l.id)});
            out.result(&v, || {
                let mut s = describe(&l, &reg, today);
                s.push_str("\n  events:");
                for e in &events {
                    s.push_str(&format!(
                        "\n    {} {} by {}{}{}",
                        e.time_ms,
                        e.kind,
                        e.actor,
                        if e.reason.is_empty() {
                            String::new()
                        } else {
                            format!(": {}", e.reason)
                        },
                        e.log_index
                            .map(|i| format!(" (log #{i})"))
                            .unwrap_or_default()
                    ));
                }
                s
            });
            Ok(ExitCode::SUCCESS)
        }
        LicenseCommand::List(a) => {
            let reg = registry(home)?;
            let list = reg.list(a.holder.as_deref(), a.limit)?;
            let today = yinzheng_license::license_day(now()?);
            out.result(&list, || {
                if list.is_empty() {
                    return "no licenses".into();
                }
                list.iter()
                    .map(|l| {
                        format!(
                            "{}  {:<10} {}  {}",
                            l.id,
                            l.status_at(today).name(),
                            l.name,
                            l.holder.name
                        )
                    })
                    .collect::<Vec<_>>()
                    .join("\n")
            });
            Ok(ExitCode::SUCCESS)
        }
        LicenseCommand::Suspend(a) => transition(a, Action::Suspend, home, out),
        LicenseCommand::Resume(a) => transition(a, Action::Resume, home, out),
        LicenseCommand::Revoke(a) => transition(a, Action::Revoke, home, out),
        LicenseCommand::Cancel(a) => transition(a, Action::Cancel, home, out),
        LicenseCommand::Change(a) => {
            let mut reg = registry(home)?;
            let sealing = Sealing::load(home, &a.sealing)?;
            let log = crate::cmd::log::open_for_writing(home, a.sealing.log_passphrase())?;
            let req = IssueRequest {
                holder_name: a.holder_name.clone().unwrap_or_default(),
                fields: a.fields.clone(),
                valid_to: date(&a.valid_to)?,
                ..Default::default()
            };
            let l = reg.change(&a.id, &req, &sealing.sealer(), &log, now()?)?;
            log.close()?;
            let today = yinzheng_license::license_day(now()?);
            out.result(&l, || {
                format!("changed: new version\n{}", describe(&l, &reg, today))
            });
            Ok(ExitCode::SUCCESS)
        }
        LicenseCommand::Token(a) => {
            let mut reg = registry(home)?;
            let (token, expires) =
                reg.create_token(&a.id, a.ttl, a.matter.as_deref(), &a.actor, now()?)?;
            if let Some(p) = &a.png {
                io::write_atomic(p, &yinzheng_document::qr_png(&token, 8)?, false)?;
            }
            let v = serde_json::json!({"token": token, "license": a.id, "expires": expires.to_string(), "matter": a.matter, "png": a.png});
            out.result(&v, || {
                format!(
                    "{}\ntoken: {token}\nvalid until {expires} (single use{})",
                    yinzheng_document::qr_terminal(&token).unwrap_or_default(),
                    a.matter
                        .as_ref()
                        .map(|m| format!(", matter {m}"))
                        .unwrap_or_default()
                )
            });
            Ok(ExitCode::SUCCESS)
        }
        LicenseCommand::Check(a) => check(a, home, out),
        LicenseCommand::Evidence(a) => evidence(a, home, out),
        LicenseCommand::Usage(a) => {
            let reg = registry(home)?;
            if let (Some(seq), Some(path)) = (a.evidence, &a.out) {
                let log = crate::cmd::log::open_for_writing(home, a.passphrase_file.as_deref())?;
                let text = reg.usage_evidence(seq, &log)?;
                log.close()?;
                io::write_atomic(path, text.as_bytes(), false)?;
                let v = serde_json::json!({"record": seq, "evidence": path});
                out.result(&v, || {
                    format!("wrote evidence of usage record {seq} to {}", path.display())
                });
                return Ok(ExitCode::SUCCESS);
            }
            if a.id.is_none() && a.holder.is_none() {
                bail!("give a license identifier or --holder CODE");
            }
            let records = reg.usage(a.id.as_deref(), a.holder.as_deref())?;
            out.result(&records, || {
                if records.is_empty() {
                    return "no usage records".into();
                }
                records
                    .iter()
                    .map(|r| {
                        format!(
                            "#{} {} {} by {} ({}) for {:?} → {}{}",
                            r.seq,
                            r.time_ms,
                            r.operation,
                            r.caller,
                            r.operator,
                            r.purpose,
                            r.result,
                            r.log_index
                                .map(|i| format!("  log #{i}"))
                                .unwrap_or_else(|| "  (not anchored yet)".into())
                        )
                    })
                    .collect::<Vec<_>>()
                    .join("\n")
            });
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn issue(a: &IssueArgs, home: &Home, out: &Output) -> Result<ExitCode> {
    let mut reg = registry(home)?;
    let sealing = Sealing::load(home, &a.sealing)?;
    let log = crate::cmd::log::open_for_writing(home, a.sealing.log_passphrase())?;
    let req = IssueRequest {
        type_key: a.type_key.clone(),
        holder_name: a.holder_name.clone(),
        holder_code: a.holder_code.clone(),
        fields: a.fields.clone(),
        number: a.number.clone(),
        valid_from: date(&a.valid_from)?,
        valid_to: date(&a.valid_to)?,
        serial: None,
    };
    let l = reg.issue(&req, &sealing.sealer(), &log, now()?)?;
    log.close()?;
    if let Some(dir) = &a.out {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
        for f in ["license.ofd", "license.pdf", "issued.tlog-proof"] {
            let src = reg.files_dir(&l.id).join(f);
            if src.exists() {
                io::write_atomic(&dir.join(f), &std::fs::read(&src)?, false)?;
            }
        }
    }
    let today = yinzheng_license::license_day(now()?);
    out.result(&l, || format!("issued\n{}", describe(&l, &reg, today)));
    Ok(ExitCode::SUCCESS)
}

fn transition(a: &TransitionArgs, action: Action, home: &Home, out: &Output) -> Result<ExitCode> {
    let mut reg = registry(home)?;
    let log = crate::cmd::log::open_for_writing(home, a.passphrase_file.as_deref())?;
    let l = reg.transition(&a.id, action, &a.actor, &a.reason, &log, now()?)?;
    log.close()?;
    let today = yinzheng_license::license_day(now()?);
    out.result(&l, || format!("{}: {}", l.id, l.status_at(today)));
    Ok(ExitCode::SUCCESS)
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ImportReport {
    rows: usize,
    issued: usize,
    rejected: Vec<Rejected>,
    seconds: f64,
}

#[derive(Serialize)]
struct Rejected {
    line: usize,
    reason: String,
}

fn import(a: &ImportArgs, home: &Home, out: &Output) -> Result<ExitCode> {
    let text = String::from_utf8(io::read_limited(&a.csv, 256 << 20, "CSV file")?)
        .context("the CSV file is not UTF-8")?;
    let records = yinzheng_license::parse_csv(&text)
        .with_context(|| format!("cannot read {}", a.csv.display()))?;
    let Some((header, body)) = records.split_first() else {
        bail!("{} is empty", a.csv.display());
    };
    let mut reg = registry(home)?;
    let columns =
        yinzheng_license::CsvImport::new(reg.catalogue().get(&a.type_key)?, &header.fields)?;
    let sealing = Sealing::load(home, &a.sealing)?;
    let log = crate::cmd::log::open_for_writing(home, a.sealing.log_passphrase())?;
    let sealer = sealing.sealer();
    let bar = (!out.is_json()).then(|| {
        let b = indicatif::ProgressBar::new(body.len() as u64);
        b.set_style(
            indicatif::ProgressStyle::with_template(
                "{bar:40} {pos}/{len} licenses  {per_sec}  eta {eta}",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        b
    });
    let start = std::time::Instant::now();
    let mut issued = 0;
    let mut rejected = Vec::new();
    // Rows go in chunks: rendered and sealed in parallel, anchored as one
    // log batch, stored in one transaction; each row is all-or-nothing.
    const CHUNK: usize = 256;
    for chunk in body.chunks(CHUNK) {
        let mut reqs = Vec::new();
        let mut lines = Vec::new();
        for record in chunk {
            let (line, row) = (record.line, &record.fields);
            let req = columns.request(row);
            match req {
                Ok(r) => {
                    reqs.push(r);
                    lines.push(line);
                }
                Err(e) => rejected.push(Rejected {
                    line,
                    reason: yinzheng_crypto::error_chain(&e),
                }),
            }
        }
        for (line, result) in lines
            .iter()
            .zip(reg.issue_batch(&reqs, &sealer, &log, now()?))
        {
            match result {
                Ok(_) => issued += 1,
                Err(e) => rejected.push(Rejected {
                    line: *line,
                    reason: e.to_string(),
                }),
            }
        }
        if let Some(b) = &bar {
            b.inc(chunk.len() as u64);
        }
    }
    rejected.sort_by_key(|r| r.line);
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    log.close()?;
    if let Some(p) = &a.rejects {
        let mut csv = String::from("line,reason\n");
        for r in &rejected {
            csv.push_str(&format!(
                "{},\"{}\"\n",
                r.line,
                r.reason.replace('"', "\"\"")
            ));
        }
        io::write_atomic(p, csv.as_bytes(), false)?;
    }
    let report = ImportReport {
        rows: body.len(),
        issued,
        rejected,
        seconds: start.elapsed().as_secs_f64(),
    };
    out.result(&report, || {
        let mut s = format!(
            "{} rows: {} issued, {} rejected in {:.1} s ({:.0} licenses/minute)",
            report.rows,
            report.issued,
            report.rejected.len(),
            report.seconds,
            report.issued as f64 / report.seconds.max(1e-9) * 60.0
        );
        for r in report.rejected.iter().take(20) {
            s.push_str(&format!("\n  line {}: {}", r.line, r.reason));
        }
        if report.rejected.len() > 20 {
            s.push_str(&format!(
                "\n  … {} more (see --rejects)",
                report.rejected.len() - 20
            ));
        }
        s
    });
    Ok(if report.rejected.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

fn check(a: &CheckArgs, home: &Home, out: &Output) -> Result<ExitCode> {
    let mut reg = registry(home)?;
    let ctx = UsageContext {
        caller: a.caller.clone(),
        operator: a.operator.clone(),
        purpose: a.purpose.clone(),
        matter: a.matter.clone(),
        business_serial: a.serial.clone(),
    };
    let at = match date(&a.at)? {
        Some(d) => d
            .with_time(time::Time::MIDNIGHT)
            .assume_offset(yinzheng_license::LICENSE_TIME_OFFSET),
        None => now()?,
    };
    let outcome = match (&a.token, &a.target) {
        (Some(t), _) => reg.redeem_token(t, &ctx, at),
        (None, Some(target)) if Path::new(target).is_file() => {
            let bytes = io::read_limited(
                Path::new(target),
                yinzheng_document::MAX_PDF_LEN as u64,
                "license file",
            )?;
            // OFD seal signatures carry no intermediates: add this data
            // directory's issuing CAs for path building (they trust nothing).
            let trust = Trust::load(
                &a.trust,
                "a license file",
                crate::cmd::seal::local_issuing_cas(home),
            )?;
            let seals = crate::cmd::seal::existing_registry(home);
            reg.check_file(
                &bytes,
                &yinzheng_license::DocumentTrust {
                    context: &trust,
                    seals: seals
                        .as_ref()
                        .map(|s| s as &dyn yinzheng_seal::SealStatusSource),
                    deadline: None,
                    max_inflated: None,
                },
                &ctx,
                at,
            )
        }
        (None, Some(id)) if !a.claims.is_empty() => reg.check_face(id, &a.claims, &ctx, at),
        (None, Some(id)) => reg.check_id(id, &ctx, at),
        (None, None) => bail!("give a license identifier, a license file or --token"),
    };
    // Anchor the usage record(s) now: one batch, one checkpoint signature.
    let anchored = match crate::cmd::log::open_for_writing(home, a.passphrase_file.as_deref()) {
        Ok(log) => {
            let n = reg.anchor_usage(&log);
            log.close()?;
            Some(n?)
        }
        Err(e) => {
            eprintln!(
                "warning: usage record kept but not anchored yet: {}",
                yinzheng_crypto::error_chain(e.as_ref())
            );
            None
        }
    };
    let o = outcome?;
    let v = serde_json::json!({"result": o, "usageAnchored": anchored});
    out.result(&v, || {
        let mut s = format!("{} {}: {}", o.code_number, o.code.describe(), o.message);
        if let Some(r) = &o.report
            && !r.passed()
        {
            s.push('\n');
            s.push_str(r.to_string().trim_end());
        }
        s.push_str(&format!("\nusage record #{}", o.usage_record));
        s
    });
    Ok(if o.code == ResultCode::Valid {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// The end-entity certificates of a sealed OFD: each seal signature's signer
/// and its seal's maker.
/// The evidence bundle of license `id`: proofs to the latest checkpoint,
/// the domains' issuing CAs and roots, `crls`.
pub(crate) fn evidence_bundle_of(
    home: &Home,
    id: &str,
    crls: &[yinzheng_pki::Crl],
    include_usage: bool,
) -> Result<yinzheng_license::EvidenceBundle> {
    let reg = registry(home)?;
    let (_, _, _, reader, cp) = crate::cmd::log::open_reader(&home.data_dir().log(), home.store())?;
    let mut issuers = Vec::new();
    for (_, d) in crate::cmd::trust::domains(home)? {
        for (_, i) in d.issuers() {
            issuers.push((i.clone(), d.root().clone()));
        }
    }
    Ok(reg.evidence_bundle(
        id,
        &yinzheng_license::EvidenceSources {
            reader: &reader,
            checkpoint: &cp,
            issuers: &issuers,
            crls,
            include_usage,
            exported_at: std::time::SystemTime::now(),
        },
    )?)
}

fn evidence(a: &EvidenceArgs, home: &Home, out: &Output) -> Result<ExitCode> {
    let crls = crate::cmd::trust::collect_crls(&a.crls, home)?;
    let bundle = evidence_bundle_of(home, &a.id, &crls, !a.no_usage)?;
    let (zip, events, usage, size, skipped) = (
        bundle.zip,
        bundle.events,
        bundle.usage,
        bundle.tree_size,
        bundle.skipped,
    );
    let id = bundle.license;
    io::write_atomic(&a.out, &zip, false)?;
    let v = serde_json::json!({
        "license": id, "file": a.out, "bytes": zip.len(), "events": events, "usage": usage,
        "crls": crls.len(), "treeSize": size, "skipped": skipped,
    });
    out.result(&v, || {
        let mut s = format!(
            "wrote {} ({} bytes): {events} event(s), {usage} usage record(s), {} CRL(s), proofs to tree size {size}",
            a.out.display(),
            zip.len(),
            crls.len()
        );
        for k in &skipped {
            s.push_str(&format!("\n  skipped: {k}"));
        }
        s
    });
    Ok(ExitCode::SUCCESS)
}
