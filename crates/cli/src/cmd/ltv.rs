//! `yinzheng ltv …`: PAdES long-term validation for sealed PDFs, ours or
//! others'. `add` makes a file B-LT (the certificates and CRLs that
//! validate every signature go into its DSS, checked to be enough on their
//! own) and B-LTA (a document time stamp by a trust domain's TSA over it);
//! `renew` adds a new document time stamp, with the validation data of the
//! last one, before that one's TSA certificate expires.

use super::Home;
use super::evidence_record::{TsaArgs, tsa};
use crate::io;
use crate::output::Output;
use anyhow::{Context, Result, bail};
use clap::{Args, Subcommand};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::SystemTime;
use yinzheng_cms::{SignedData, TimeStampAuthority, oid};
use yinzheng_document::{DssMaterial, Format, MAX_PDF_LEN, TrustContext, VerifyRequest};
use yinzheng_pki::{Crl, ParsedCert, Validator, VerificationReport, rfc3339};

/// `ltv` subcommands.
#[derive(Subcommand, Debug)]
pub enum LtvCommand {
    /// Make a sealed PDF B-LT and B-LTA: the validation data of every
    /// signature into its DSS — refused unless each signature then validates
    /// from the file and the anchors alone — then a document time stamp.
    /// Exit 0 written, 1 the file does not validate (nothing written), 2 usage
    /// or input error.
    Add(AddArgs),
    /// Renew a B-LTA PDF before its last document time stamp's TSA
    /// certificate expires: that time stamp's validation data into the DSS,
    /// then a new document time stamp.
    Renew(RenewArgs),
}

/// Where validation data and trust come from.
#[derive(Args, Debug)]
pub struct SourcesArgs {
    /// Trust anchors (PEM) besides the roots of this home's trust domains
    /// (for files sealed under other PKIs).
    #[arg(long)]
    trust: Vec<PathBuf>,
    /// Intermediate CA certificates (PEM) to complete chains (repeatable).
    #[arg(long)]
    untrusted: Vec<PathBuf>,
    /// CRLs (PEM or DER) besides those this home's CAs published (repeatable).
    #[arg(long)]
    crl: Vec<PathBuf>,
    /// OCSP responses (DER) to embed (repeatable).
    #[arg(long)]
    ocsp: Vec<PathBuf>,
}

/// Arguments of `ltv add`.
#[derive(Args, Debug)]
pub struct AddArgs {
    /// The sealed PDF.
    file: PathBuf,
    /// Where to write the result.
    #[arg(long)]
    out: PathBuf,
    /// Stop at B-LT: no document time stamp.
    #[arg(long)]
    no_time_stamp: bool,
    #[command(flatten)]
    sources: SourcesArgs,
    #[command(flatten)]
    tsa: TsaArgs,
}

/// Arguments of `ltv renew`.
#[derive(Args, Debug)]
pub struct RenewArgs {
    /// The B-LTA PDF.
    file: PathBuf,
    /// Where to write the result.
    #[arg(long)]
    out: PathBuf,
    #[command(flatten)]
    sources: SourcesArgs,
    #[command(flatten)]
    tsa: TsaArgs,
}

/// Run an `ltv` subcommand.
pub fn run(cmd: &LtvCommand, home: &Home, out: &Output) -> Result<ExitCode> {
    match cmd {
        LtvCommand::Add(a) => add(a, home, out),
        LtvCommand::Renew(a) => renew(a, home, out),
    }
}

/// Anchors, known CA certificates, CRLs and OCSP responses: the home's
/// trust domains and what the command line adds.
pub(crate) struct Sources {
    anchors: Vec<ParsedCert>,
    pool: Vec<ParsedCert>,
    crls: Vec<Crl>,
    ocsps: Vec<Vec<u8>>,
}

impl Sources {
    /// What `a` names, with the home's trust domains and published CRLs.
    pub(crate) fn load(a: &SourcesArgs, home: &Home) -> Result<Self> {
        let mut anchors = Vec::new();
        let mut pool = Vec::new();
        for (_, d) in super::trust::domains(home)? {
            anchors.push(d.root().clone());
            pool.extend(d.issuers().into_iter().map(|(_, c)| c.clone()));
        }
        let certs = |p: &PathBuf, what: &str| -> Result<Vec<ParsedCert>> {
            ParsedCert::load_all(&io::read_limited(p, 4 << 20, what)?)
                .with_context(|| format!("cannot read {what} {}", p.display()))
        };
        for p in &a.trust {
            anchors.extend(certs(p, "trust anchors")?);
        }
        for p in &a.untrusted {
            pool.extend(certs(p, "intermediate certificates")?);
        }
        if anchors.is_empty() {
            bail!(
                "no trust anchors: this home has no trust domain (yinzheng ca init) and no --trust was given"
            );
        }
        pool.extend(anchors.iter().cloned());
        // The files given and every CRL this home's CAs published.
        let mut crls = Vec::new();
        for with_crls in [false, true] {
            crls.extend(super::trust::collect_crls(
                &super::trust::CrlArgs {
                    with_crls,
                    crl: if with_crls { Vec::new() } else { a.crl.clone() },
                },
                home,
            )?);
        }
        let mut ocsps = Vec::new();
        for p in &a.ocsp {
            ocsps.push(io::read_limited(p, 1 << 20, "OCSP response")?);
        }
        Ok(Sources {
            anchors,
            pool,
            crls,
            ocsps,
        })
    }

    /// The certificates `leaves` chain through (theirs, the pool's, the
    /// anchors') and the CRLs of every issuer on the way, with the OCSP
    /// responses given.
    pub(crate) fn material_for(&self, leaves: &[ParsedCert]) -> DssMaterial {
        let mut chain: Vec<ParsedCert> = leaves.to_vec();
        let mut i = 0;
        while i < chain.len() && chain.len() < 64 {
            let issuer = chain[i].cert().tbs_certificate().issuer().clone();
            let self_issued = chain[i].cert().tbs_certificate().subject() == &issuer;
            if !self_issued {
                for c in &self.pool {
                    if c.cert().tbs_certificate().subject() == &issuer
                        && !chain.iter().any(|k| k.der() == c.der())
                    {
                        chain.push(c.clone());
                    }
                }
            }
            i += 1;
        }
        let mut m = DssMaterial::default();
        for c in &chain {
            if !m.certs.iter().any(|k| k.as_slice() == c.der()) {
                m.certs.push(c.der().to_vec());
            }
        }
        for crl in &self.crls {
            let by_chain_ca = chain
                .iter()
                .any(|c| c.cert().tbs_certificate().subject() == crl.issuer_name());
            if by_chain_ca && !m.crls.iter().any(|k| k.as_slice() == crl.der()) {
                m.crls.push(crl.der().to_vec());
            }
        }
        m.ocsps = self.ocsps.clone();
        m
    }

    /// The CRLs gathered.
    pub(crate) fn crls(&self) -> &[Crl] {
        &self.crls
    }

    /// Every CA certificate known (the domains', `--untrusted`, the
    /// anchors), PEM: evidence for path building.
    pub(crate) fn certificates_pem(&self) -> String {
        self.pool.iter().map(|c| c.to_pem()).collect()
    }

    /// Verify `pdf` now against the anchors alone: no CRL but those it carries.
    pub(crate) fn verify_alone(&self, pdf: &[u8]) -> Result<VerificationReport> {
        let ctx = TrustContext::new(Validator::new(self.anchors.clone()));
        ctx.verify_as(Format::Pdf, pdf, &VerifyRequest::default())
            .context("cannot verify the PDF")
    }
}

/// The signer certificates of a CMS or time-stamp token and those it
/// carries, and those of every signature time stamp in it.
fn certificates_in(cms: &[u8]) -> Vec<ParsedCert> {
    let Ok(sd) = SignedData::parse(cms) else {
        return Vec::new();
    };
    let mut out: Vec<ParsedCert> = sd
        .certificates()
        .iter()
        .filter_map(|c| ParsedCert::from_der(c).ok())
        .collect();
    for si in sd.signers() {
        for token in si.unsigned_values(oid::ATTR_TIME_STAMP_TOKEN) {
            out.extend(certificates_in(token));
        }
    }
    out
}

fn read_pdf(path: &Path) -> Result<Vec<u8>> {
    let pdf = io::read_limited(path, MAX_PDF_LEN as u64, "PDF")?;
    if Format::sniff(&pdf) != Some(Format::Pdf) {
        bail!("{} is not a PDF", path.display());
    }
    Ok(pdf)
}

/// Validation data for the time stamps `tsa` will make (its chain and
/// CRLs), so that the new document time stamp can be validated from the
/// file too.
fn tsa_material(sources: &Sources, tsa: &TimeStampAuthority) -> Result<DssMaterial> {
    let cert = ParsedCert::from_der(tsa.certificate()).context("the TSA certificate")?;
    let mut leaves = vec![cert];
    leaves.extend(
        tsa.chain()
            .iter()
            .filter_map(|c| ParsedCert::from_der(c).ok()),
    );
    Ok(sources.material_for(&leaves))
}

/// Refuse (exit 1, the report shown) when `report` did not pass.
fn refuse(report: &VerificationReport, why: &str, out: &Output) -> ExitCode {
    out.result(report, || {
        format!("{why}; nothing written\n{}", report.to_string().trim_end())
    });
    ExitCode::from(1)
}

/// A PDF made long-term, or why not.
pub(crate) enum Made {
    /// The result, the validation data its signatures needed, and the time
    /// of its document time stamp.
    Done {
        pdf: Vec<u8>,
        material: DssMaterial,
        stamped: Option<time::OffsetDateTime>,
    },
    /// A verification that did not pass, and what it was for.
    Refused(VerificationReport, &'static str),
}

/// Make `pdf` B-LT (and B-LTA with `tsa`): its signatures' validation data
/// into the DSS, refused unless they then validate from the file and the
/// anchors alone; the TSA's data and a document time stamp; the result
/// checked again.
pub(crate) fn make_lta(
    pdf: &[u8],
    sources: &Sources,
    tsa: Option<&TimeStampAuthority>,
) -> Result<Made> {
    let sigs =
        yinzheng_document::pdf_signatures(pdf).context("cannot read the PDF's signatures")?;
    if sigs.is_empty() {
        bail!("the PDF holds no signature");
    }
    let mut material = DssMaterial::default();
    for s in &sigs {
        material.merge(&sources.material_for(&certificates_in(&s.contents)));
    }
    let lt = yinzheng_document::add_dss(pdf, &material, &sigs.iter().collect::<Vec<_>>())?;
    let report = sources.verify_alone(&lt)?;
    if !report.passed() {
        return Ok(Made::Refused(
            report,
            "the signatures do not validate from the file's validation data and the anchors \
             alone (publish fresh CRLs: yinzheng ca crl; or give --crl/--ocsp/--untrusted)",
        ));
    }
    let (result, stamped) = match tsa {
        None => (lt, None),
        Some(tsa) => {
            let lt = yinzheng_document::add_dss(&lt, &tsa_material(sources, tsa)?, &[])?;
            let at = time::OffsetDateTime::now_utc();
            (yinzheng_document::time_stamp_pdf(&lt, tsa, at)?, Some(at))
        }
    };
    let report = sources.verify_alone(&result)?;
    if !report.passed() {
        return Ok(Made::Refused(
            report,
            "the result does not validate from itself and the anchors",
        ));
    }
    Ok(Made::Done {
        pdf: result,
        material,
        stamped,
    })
}

fn add(a: &AddArgs, home: &Home, out: &Output) -> Result<ExitCode> {
    let pdf = read_pdf(&a.file)?;
    let sources = Sources::load(&a.sources, home)?;
    let tsa = if a.no_time_stamp {
        None
    } else {
        Some(tsa(&a.tsa, home)?)
    };
    match make_lta(&pdf, &sources, tsa.as_ref())
        .with_context(|| format!("cannot make {} long-term", a.file.display()))?
    {
        Made::Refused(report, why) => Ok(refuse(&report, why, out)),
        Made::Done {
            pdf,
            material,
            stamped,
        } => write_and_say(
            &pdf,
            &a.out,
            &material,
            stamped.zip(tsa.as_ref()),
            out,
            if stamped.is_some() { "B-LTA" } else { "B-LT" },
        ),
    }
}

fn renew(a: &RenewArgs, home: &Home, out: &Output) -> Result<ExitCode> {
    let pdf = read_pdf(&a.file)?;
    let sigs = yinzheng_document::pdf_signatures(&pdf)
        .with_context(|| format!("cannot read the signatures of {}", a.file.display()))?;
    let Some(last) = sigs
        .iter()
        .filter(|s| s.is_document_time_stamp())
        .max_by_key(|s| s.revision)
    else {
        bail!(
            "{} has no document time stamp: make it B-LTA first (yinzheng ltv add)",
            a.file.display()
        );
    };
    let sources = Sources::load(&a.sources, home)?;
    // Renew only a file that holds now: a new time stamp over a broken or
    // lapsed proof would only seem to extend it.
    let report = sources.verify_alone(&pdf)?;
    if !report.passed() {
        return Ok(refuse(
            &report,
            "the file does not validate now (a lapsed last time stamp cannot be renewed)",
            out,
        ));
    }
    let material = sources.material_for(&certificates_in(&last.contents));
    let tsa = tsa(&a.tsa, home)?;
    let mut all = material.clone();
    all.merge(&tsa_material(&sources, &tsa)?);
    let lt = yinzheng_document::add_dss(&pdf, &all, &[last])?;
    let at = time::OffsetDateTime::now_utc();
    let result = yinzheng_document::time_stamp_pdf(&lt, &tsa, at)?;
    let report = sources.verify_alone(&result)?;
    if !report.passed() {
        return Ok(refuse(
            &report,
            "the result does not validate from itself and the anchors",
            out,
        ));
    }
    write_and_say(&result, &a.out, &material, Some((at, &tsa)), out, "renewed")
}

/// Write the result, say what was done.
fn write_and_say(
    result: &[u8],
    path: &Path,
    material: &DssMaterial,
    stamped: Option<(time::OffsetDateTime, &TimeStampAuthority)>,
    out: &Output,
    level: &str,
) -> Result<ExitCode> {
    io::write_atomic(path, result, false)?;
    let tsa_subject = stamped
        .and_then(|(_, t)| ParsedCert::from_der(t.certificate()).ok())
        .map(|c| c.subject());
    let time = stamped.map(|(t, _)| rfc3339(SystemTime::from(t)));
    let v = serde_json::json!({
        "out": path, "level": level,
        "certificates": material.certs.len(), "crls": material.crls.len(),
        "ocspResponses": material.ocsps.len(),
        "documentTimeStamp": time, "tsa": tsa_subject,
    });
    out.result(&v, || {
        let mut s = format!(
            "{}: {level}: {} certificate(s), {} CRL(s), {} OCSP response(s) in the DSS",
            path.display(),
            material.certs.len(),
            material.crls.len(),
            material.ocsps.len()
        );
        if let (Some(t), Some(by)) = (&time, &tsa_subject) {
            s.push_str(&format!("; document time stamp at {t} by {by}"));
        }
        s
    });
    Ok(ExitCode::SUCCESS)
}
