//! PAdES B-LT and B-LTA (ETSI EN 319 142-1): long-term validation of PDF
//! signatures from what the file carries.
//!
//! - B-LT: the document security store (DSS) holds the certificates, CRLs
//!   and OCSP responses that validated each signature; verification uses
//!   them besides the caller's trust, so a signature still validates when
//!   the CA's CRLs and responders are gone.
//! - B-LTA: a document time stamp (`/SubFilter /ETSI.RFC3161`) over the file
//!   with its DSS proves that everything before it existed at its time. Each
//!   signature (and each earlier time stamp) is then judged at the earliest
//!   valid document time stamp that covers it — its certificates need only
//!   have held, and not have been revoked, then; the latest document time
//!   stamp's TSA certificate is judged at the validation time and must still
//!   hold (renew before it lapses: a new time stamp over the file with the
//!   revocation data of the last one).

use crate::error::Result;
use crate::pdf::{
    DssMaterial, MAX_CONTENTS_LEN, PdfSignature, PdfStampOptions, PdfSubFilter, signed_ranges,
    stamp_pdf,
};
use crate::signed_data::{CmsVerifyContext, has_time_stamping_eku, to_system};
use std::time::SystemTime;
use yinzheng_cms::{TimeStampAuthority, VerifyOptions};
use yinzheng_pki::{
    Crl, Indication, ParsedCert, SubIndication, Validator, VerificationReport, rfc3339,
};

/// Append a document time stamp (PAdES B-LTA) by `tsa` at `at` to `pdf`: an
/// invisible signature field whose `/Contents` is an RFC 3161 token over the
/// file's two byte ranges, in a new revision. Earlier bytes are kept.
pub fn time_stamp_pdf(
    pdf: &[u8],
    tsa: &TimeStampAuthority,
    at: time::OffsetDateTime,
) -> Result<Vec<u8>> {
    let mut opts = PdfStampOptions::new(at);
    opts.sub_filter = PdfSubFilter::DocTimeStamp;
    opts.contents_capacity =
        (8192 + 2 * tsa.certificate().len() + tsa.chain().iter().map(Vec::len).sum::<usize>())
            .min(MAX_CONTENTS_LEN);
    let digest = tsa.natural_digest();
    stamp_pdf(pdf, &opts, &mut |parts| {
        Ok(tsa.stamp(digest, &digest.digest_parts(&parts), at)?)
    })
}

/// A verified document time stamp: proof that the file up to its revision
/// existed at `time`.
#[derive(Clone, Debug)]
pub(crate) struct ProvenTime {
    /// Its field name.
    pub field: String,
    /// The revision it signs (from 1).
    pub revision: usize,
    /// Its token's time.
    pub time: SystemTime,
    /// Its TSA.
    pub tsa: String,
}

/// The caller's trust plus a PDF's DSS: its CRLs and OCSP responses as
/// revocation sources, its certificates for path building.
pub(crate) struct LtvTrust {
    validator: Option<Validator>,
    intermediates: Vec<ParsedCert>,
}

impl LtvTrust {
    /// `ctx` extended with `material`; unreadable items are named in
    /// `report` as warnings and left out (they can only make less valid).
    pub(crate) fn new(
        ctx: &CmsVerifyContext<'_>,
        material: &DssMaterial,
        skipped: &[String],
        report: &mut VerificationReport,
    ) -> Self {
        for why in skipped {
            report.warn("dss", "PDF document", format!("skipped: {why}"));
        }
        if material.is_empty() {
            return LtvTrust {
                validator: None,
                intermediates: Vec::new(),
            };
        }
        let mut intermediates = ctx.intermediates.to_vec();
        for (i, der) in material.certs.iter().enumerate() {
            match ParsedCert::from_der(der) {
                Ok(c) => intermediates.push(c),
                Err(e) => report.warn("dss", "PDF document", format!("DSS certificate {i}: {e}")),
            }
        }
        let mut crls = Vec::new();
        for (i, der) in material.crls.iter().enumerate() {
            match Crl::parse(der) {
                Ok(c) => crls.push(c),
                Err(e) => report.warn("dss", "PDF document", format!("DSS CRL {i}: {e}")),
            }
        }
        // Junk OCSP items are dropped once here, not at every certificate.
        let mut ocsps = Vec::new();
        for (i, der) in material.ocsps.iter().enumerate() {
            match yinzheng_pki::ocsp::readable_response(der) {
                Ok(()) => ocsps.push(der.clone()),
                Err(e) => report.warn("dss", "PDF document", format!("DSS OCSP response {i}: {e}")),
            }
        }
        report.pass(
            "dss",
            "PDF document",
            format!(
                "the document security store holds {} certificates, {} CRLs and {} OCSP \
                 responses, used as validation data",
                material.certs.len(),
                material.crls.len(),
                material.ocsps.len()
            ),
        );
        LtvTrust {
            validator: Some(ctx.validator.with_more_revocation_data(crls, ocsps)),
            intermediates,
        }
    }

    /// The context to verify with: `ctx` itself when the file has no DSS.
    pub(crate) fn context<'a>(&'a self, ctx: &CmsVerifyContext<'a>) -> CmsVerifyContext<'a> {
        CmsVerifyContext {
            validator: self.validator.as_ref().unwrap_or(ctx.validator),
            intermediates: if self.validator.is_some() {
                &self.intermediates
            } else {
                ctx.intermediates
            },
            makers: ctx.makers,
            registry: ctx.registry,
            sm2_id: ctx.sm2_id.clone(),
            deadline: ctx.deadline,
        }
    }
}

/// How far ahead of the validation time a token's time may be (clocks drift).
const CLOCK_SKEW: std::time::Duration = std::time::Duration::from_secs(600);

/// Verify every document time stamp of `pdf` into `report` (under the
/// labels `label_of` gives), latest first: the token over its byte ranges
/// (a broken one is TOTAL_FAILED: the file was altered), its TSA
/// (timeStamping purpose, the token within the certificate's validity, not
/// after the validation time nor after a later document time stamp that
/// covers it), and the TSA certificate judged at the earliest valid later
/// document time stamp, or — the latest — at `proven` when the caller has
/// it, else at the validation time as the latest proof. A time stamp whose
/// TSA does not hold is no proof of existence — a warning, not a verdict on
/// the signatures. Returns the valid ones.
pub(crate) fn verify_doc_time_stamps(
    report: &mut VerificationReport,
    pdf: &[u8],
    sigs: &[PdfSignature],
    ctx: &CmsVerifyContext<'_>,
    proven: Option<SystemTime>,
    label_of: &dyn Fn(usize) -> String,
) -> crate::Result<Vec<ProvenTime>> {
    let now = ctx.validator.now();
    let mut stamps: Vec<(usize, &PdfSignature)> = sigs
        .iter()
        .enumerate()
        .filter(|(_, s)| s.is_document_time_stamp() && s.byte_range_ok)
        .collect();
    stamps.sort_by_key(|(_, s)| std::cmp::Reverse(s.revision));
    let opts = VerifyOptions {
        sm2_id: ctx.sm2_id.clone(),
        extra_certificates: ctx.intermediates.iter().map(|c| c.der().to_vec()).collect(),
    };
    let mut valid: Vec<ProvenTime> = Vec::new();
    for (i, sig) in stamps {
        let label = label_of(i);
        crate::signed_data::check_deadline(ctx.deadline, &label)?;
        let no_proof = |report: &mut VerificationReport, msg: String| {
            report.warn(
                "document time stamp",
                &label,
                format!("not a proof of existence: {msg}"),
            )
        };
        let fail = |report: &mut VerificationReport, sub, msg: String| {
            report.fail(
                "document time stamp",
                &label,
                Indication::TotalFailed,
                sub,
                msg,
            )
        };
        let Ok(ranges) = signed_ranges(pdf, sig) else {
            continue; // the byte-range check names it
        };
        let ts = match yinzheng_cms::verify_time_stamp_parts(&sig.contents, &ranges, &opts) {
            Ok(ts) => ts,
            Err(e) => {
                let sub = match &e {
                    yinzheng_cms::Error::DigestMismatch(_) => SubIndication::HashFailure,
                    e if e.is_verification_failure() => SubIndication::SigCryptoFailure,
                    _ => SubIndication::FormatFailure,
                };
                fail(
                    report,
                    sub,
                    format!("not a valid RFC 3161 token over the file: {e}"),
                );
                continue;
            }
        };
        let when = to_system(ts.info.gen_time);
        let tsa = match ParsedCert::from_der(&ts.signer.certificate) {
            Ok(c) => c,
            Err(e) => {
                fail(
                    report,
                    SubIndication::FormatFailure,
                    format!("the TSA certificate: {e}"),
                );
                continue;
            }
        };
        if !has_time_stamping_eku(&tsa) {
            no_proof(
                report,
                format!(
                    "{} lacks the timeStamping extended key usage",
                    tsa.subject()
                ),
            );
            continue;
        }
        if when < tsa.not_before() || when > tsa.not_after() {
            no_proof(
                report,
                format!(
                    "made at {} outside its TSA certificate's validity ({} .. {})",
                    rfc3339(when),
                    rfc3339(tsa.not_before()),
                    rfc3339(tsa.not_after())
                ),
            );
            continue;
        }
        let validation_time = proven.unwrap_or(now);
        if when > validation_time + CLOCK_SKEW {
            report.fail(
                "document time stamp",
                &label,
                Indication::Indeterminate,
                SubIndication::SigConstraintsFailure,
                format!(
                    "made at {}, after the validation time {}",
                    rfc3339(when),
                    rfc3339(validation_time)
                ),
            );
            continue;
        }
        // A later time stamp covers this one: it cannot be older.
        if let Some(p) = valid.iter().find(|p| p.time + CLOCK_SKEW < when) {
            report.fail(
                "document time stamp",
                &label,
                Indication::Indeterminate,
                SubIndication::SigConstraintsFailure,
                format!(
                    "made at {}, after document time stamp {} ({}) that covers it",
                    rfc3339(when),
                    p.field,
                    rfc3339(p.time)
                ),
            );
            continue;
        }
        let mut chain = ctx.intermediates.to_vec();
        chain.extend(
            ts.certificates
                .iter()
                .filter_map(|c| ParsedCert::from_der(c).ok()),
        );
        // The earliest valid later document time stamp proves this one.
        let later = valid.iter().min_by_key(|p| p.time);
        let judged_at = match (later, proven) {
            (Some(p), Some(t)) => p.time.min(t),
            (Some(p), None) => p.time,
            (None, Some(t)) => t,
            (None, None) => now,
        };
        let v = if later.is_some() || proven.is_some() {
            ctx.validator.validate(&tsa, &chain, judged_at)
        } else {
            ctx.validator.validate_latest_proof(&tsa, &chain, judged_at)
        };
        if !v.passed() {
            // Not a forgery (the token verified): this time stamp just proves
            // nothing; the signatures it covers are judged without it.
            let why = v
                .checks()
                .iter()
                .find(|c| c.status == yinzheng_pki::CheckStatus::Failed)
                .map(|c| format!("{}: {}", c.subject, c.message))
                .unwrap_or_default();
            no_proof(
                report,
                format!(
                    "its TSA {} does not hold at {} ({} / {}): {why}",
                    tsa.subject(),
                    rfc3339(judged_at),
                    v.indication(),
                    v.sub_indication()
                        .map(|s| s.to_string())
                        .unwrap_or_default()
                ),
            );
            continue;
        }
        report.absorb(&format!("{label} TSA"), &v);
        let basis = match later {
            Some(p) => format!(
                "its TSA certificate judged at {}, proven by document time stamp {}",
                rfc3339(judged_at),
                p.field
            ),
            None if proven.is_some() => format!(
                "its TSA certificate judged at {}, the proven time",
                rfc3339(judged_at)
            ),
            None => format!(
                "the latest proof: its TSA certificate judged at the validation time {}",
                rfc3339(judged_at)
            ),
        };
        report.pass(
            "document time stamp",
            &label,
            format!(
                "RFC 3161 document time stamp by {} at {} over revisions 1..={}; {basis}",
                tsa.subject(),
                rfc3339(when),
                sig.revision
            ),
        );
        valid.push(ProvenTime {
            field: sig.field_name.clone(),
            revision: sig.revision,
            time: when,
            tsa: tsa.subject(),
        });
    }
    Ok(valid)
}

/// The earliest valid document time stamp covering revision `revision`.
pub(crate) fn proof_for(stamps: &[ProvenTime], revision: usize) -> Option<&ProvenTime> {
    stamps
        .iter()
        .filter(|p| p.revision > revision)
        .min_by_key(|p| p.time)
}
