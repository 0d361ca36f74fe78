//! Seals on PDF: the CMS that goes into `/Contents` (national SM2/SM3 mode with
//! the seal signature carried, or international ECDSA P-256 mode), an optional
//! RFC 3161 signature time stamp (PAdES B-T), and verification of every
//! signature of a PDF with its coverage and later changes.

use crate::error::{Error, Result};
use crate::pdf::{
    MAX_CONTENTS_LEN, PdfChangePolicy, PdfChanges, PdfStampOptions, signed_ranges, stamp_pdf,
};
use crate::signed_data::{CmsVerifyContext, check_cms};
use yinzheng_cms::{SignOptions, TimeStampAuthority, oid, sign_detached};
use yinzheng_crypto::{SignatureAlgorithm, Signer, Sm2Id, asn1::tlv};
use yinzheng_pki::{Indication, SubIndication, VerificationReport};
use yinzheng_seal::Seal;

/// How a PDF is sealed; the signing key decides ([`PdfSealMode::for_key`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum PdfSealMode {
    /// SM2/SM3; the seal signature (picture and maker signature) travels in
    /// the CMS.
    National,
    /// ECDSA P-256 (PAdES), readable by every PDF validator.
    International,
}

impl PdfSealMode {
    /// SM2 keys seal in national mode, ECDSA P-256 keys in international
    /// mode; other keys are refused.
    pub fn for_key(alg: yinzheng_crypto::KeyAlgorithm) -> Result<Self> {
        match alg {
            yinzheng_crypto::KeyAlgorithm::Sm2 => Ok(PdfSealMode::National),
            yinzheng_crypto::KeyAlgorithm::EcdsaP256 => Ok(PdfSealMode::International),
            other => Err(Error::Options(format!(
                "PDF seals are SM2 or ECDSA P-256; the key is {other}"
            ))),
        }
    }

    /// "national (SM2/SM3)" or "international (ECDSA P-256)".
    pub fn describe(self) -> &'static str {
        match self {
            PdfSealMode::National => "national (SM2/SM3)",
            PdfSealMode::International => "international (ECDSA P-256)",
        }
    }

    /// The seal to carry in the CMS: `seal` in national mode, none otherwise.
    pub fn carried(self, seal: &Seal) -> Option<&Seal> {
        (self == PdfSealMode::National).then_some(seal)
    }
}

impl crate::pdf::PdfSealAppearance {
    /// The seal's own picture at its real size, with an optional line of text
    /// under it; a visible PDF seal needs a PNG picture.
    pub fn of_seal(seal: &Seal, text_line: Option<String>) -> Result<Self> {
        let picture = seal.picture();
        if !picture.kind.eq_ignore_ascii_case("png") {
            return Err(Error::Options(format!(
                "seal {} has a {} picture; a visible PDF seal needs PNG",
                seal.id(),
                picture.kind
            )));
        }
        Ok(crate::pdf::PdfSealAppearance {
            png: picture.data.clone(),
            width_mm: picture.width_mm as f64,
            height_mm: picture.height_mm as f64,
            text_line,
        })
    }
}

/// Who seals a PDF and with what.
pub struct PdfSealer<'a> {
    /// The signing key (SM2: national mode; ECDSA P-256: international mode).
    pub signer: &'a dyn Signer,
    /// The signer's certificate (DER).
    pub certificate: &'a [u8],
    /// Intermediate CA certificates to carry in the CMS.
    pub chain: Vec<Vec<u8>>,
    /// The seal: in national mode its seal signature (picture and maker
    /// signature) travels in the CMS as an unsigned attribute.
    pub seal: Option<&'a Seal>,
    /// A time-stamping authority for a signature time stamp (B-T).
    pub tsa: Option<&'a TimeStampAuthority>,
}

/// Seal `pdf` as a new revision: signature field, visible stamp per `opts`,
/// CMS per `sealer`. Earlier bytes are kept unchanged.
pub fn seal_pdf(pdf: &[u8], opts: &PdfStampOptions, sealer: &PdfSealer<'_>) -> Result<Vec<u8>> {
    let national = sealer.signer.algorithm() == SignatureAlgorithm::Sm2Sm3;
    let time = opts.signing_time;
    let mut opts = opts.clone();
    if national
        && sealer.seal.is_some()
        && sealer
            .signer
            .public_key()
            .as_sm2()
            .is_some_and(|k| *k.id() != Sm2Id::default())
    {
        // GB/T 38540 seal signatures are verified with the GM/T default SM2
        // ID; one made with another ID (the OpenSSL-compatible empty one)
        // would be carried but never verify.
        return Err(Error::Options(
            "a seal signature needs the signer's SM2 ID to be the GM/T default \
             1234567812345678; sign with the empty ID only without a seal"
                .into(),
        ));
    }
    // Room for the CMS: certificates, a carried seal signature (the whole seal,
    // picture included, and the signer certificate again) and a time-stamp
    // token with its certificates. Never less than the caller asked for.
    let seal_room = match (national, sealer.seal) {
        (true, Some(seal)) => seal.raw().len() + sealer.certificate.len() + 1024,
        _ => 0,
    };
    let needed = 8192
        + 2 * sealer.certificate.len()
        + sealer.chain.iter().map(Vec::len).sum::<usize>()
        + seal_room
        + sealer.tsa.map_or(0, |t| {
            4096 + 2 * t.certificate().len() + sealer.chain.iter().map(Vec::len).sum::<usize>()
        });
    opts.contents_capacity = opts.contents_capacity.max(needed).min(MAX_CONTENTS_LEN);
    let mut sign = |parts: [&[u8]; 2]| -> Result<Vec<u8>> {
        let mut cms_opts = SignOptions {
            chain: sealer.chain.clone(),
            // PAdES (ETSI EN 319 142-1) forbids signing-time: the time is /M.
            // adbe.pkcs7.detached readers expect it.
            signing_time: (opts.sub_filter == crate::pdf::PdfSubFilter::Pkcs7Detached)
                .then_some(time),
            ..SignOptions::default()
        };
        if national && let Some(seal) = sealer.seal {
            let ses = yinzheng_seal::stamp(
                seal,
                sealer.signer,
                sealer.certificate,
                &parts.concat(),
                "PDF ByteRange",
                time,
            )?;
            cms_opts
                .unsigned_attributes
                .push((oid::ATTR_SES_SIGNATURE.to_string(), tlv(0x04, ses.raw())));
        }
        let stamper = sealer.tsa.map(|tsa| {
            move |sig: &[u8]| -> yinzheng_cms::Result<Vec<u8>> {
                tsa.stamp_data(sig, time::OffsetDateTime::now_utc())
            }
        });
        Ok(sign_detached(
            sealer.signer,
            sealer.certificate,
            &parts,
            &cms_opts,
            stamper
                .as_ref()
                .map(|f| f as &dyn Fn(&[u8]) -> yinzheng_cms::Result<Vec<u8>>),
        )?)
    };
    stamp_pdf(pdf, &opts, &mut sign)
}

/// Verify every signature of a PDF into one report: byte range, digest, CMS
/// signature, signer chain (and TSA, seal) per [`CmsVerifyContext`], whether the
/// signature covers the whole document, and whether later revisions changed
/// anything beyond what may follow a signature (see
/// [`crate::modifications_after`]), with the default [`PdfChangePolicy`].
pub fn verify_pdf(pdf: &[u8], ctx: &CmsVerifyContext<'_>) -> Result<VerificationReport> {
    verify_pdf_inner(pdf, ctx, &PdfChangePolicy::default(), None, None)
}

/// [`verify_pdf`] under `policy` for later changes, as of `proven` when
/// given (see [`verify_pdf_at`]).
pub fn verify_pdf_with(
    pdf: &[u8],
    ctx: &CmsVerifyContext<'_>,
    policy: &PdfChangePolicy,
    proven: Option<std::time::SystemTime>,
) -> Result<VerificationReport> {
    verify_pdf_inner(pdf, ctx, policy, proven, None)
}

/// [`verify_pdf`] as of `proven`, a time by which the file is proven to have
/// existed (e.g. the verified log entry that recorded its SM3): a signature
/// without a time stamp is judged at `proven` instead of now, and a carried
/// seal signature at the same time instead of its signer's claimed time.
pub fn verify_pdf_at(
    pdf: &[u8],
    ctx: &CmsVerifyContext<'_>,
    proven: std::time::SystemTime,
) -> Result<VerificationReport> {
    verify_pdf_inner(pdf, ctx, &PdfChangePolicy::default(), Some(proven), None)
}

/// [`verify_pdf_with`], and for a file already hashed whole with saved states
/// (`prefixes`, used only when they are of exactly `pdf`) each `/ByteRange`
/// digest resumes from them.
pub(crate) fn verify_pdf_inner(
    pdf: &[u8],
    ctx: &CmsVerifyContext<'_>,
    policy: &PdfChangePolicy,
    proven: Option<std::time::SystemTime>,
    prefixes: Option<&yinzheng_crypto::Sm3Prefixes<'_>>,
) -> Result<VerificationReport> {
    // Saved states are used only when they are of these very bytes.
    let prefixes = prefixes.filter(|p| std::ptr::eq(p.bytes(), pdf));
    let mut changes = PdfChanges::new(pdf)?;
    let sigs = changes.signatures().to_vec();
    let mut report = VerificationReport::new(
        "PDF document",
        yinzheng_pki::rfc3339(proven.unwrap_or_else(|| ctx.validator.now())),
    );
    if sigs.is_empty() {
        report.fail(
            "signatures",
            "PDF document",
            Indication::TotalFailed,
            SubIndication::FormatFailure,
            "the PDF holds no signed signature field",
        );
        return Ok(report);
    }
    let total = sigs.len();
    let label_of = |i: usize| format!("signature {} of {total} ({})", i + 1, sigs[i].field_name);
    // B-LT: the validation data the file carries; B-LTA: its document time
    // stamps, each a proof that what it covers existed at its time.
    if sigs.iter().all(crate::PdfSignature::is_document_time_stamp) {
        report.fail(
            "signatures",
            "PDF document",
            Indication::TotalFailed,
            SubIndication::FormatFailure,
            "the PDF holds document time stamps only, no signature: it proves when the file \
             existed, not who sealed it",
        );
        return Ok(report);
    }
    let (material, skipped) = changes.dss().unwrap_or_else(|e| {
        report.warn(
            "dss",
            "PDF document",
            format!("the document security store is not used: {e}"),
        );
        Default::default()
    });
    let ltv = crate::pdf_ltv::LtvTrust::new(ctx, &material, &skipped, &mut report);
    let ltv_ctx = ltv.context(ctx);
    let ctx = &ltv_ctx;
    let stamps =
        crate::pdf_ltv::verify_doc_time_stamps(&mut report, pdf, &sigs, ctx, proven, &label_of)?;
    for (i, sig) in sigs.iter().enumerate() {
        let label = label_of(i);
        crate::signed_data::check_deadline(ctx.deadline, &label)?;
        if !sig.byte_range_ok {
            report.fail(
                "byte range",
                &label,
                Indication::TotalFailed,
                SubIndication::FormatFailure,
                format!(
                    "/ByteRange {:?} does not cover the file around exactly its /Contents",
                    sig.byte_range
                ),
            );
            continue;
        }
        let ranges = match signed_ranges(pdf, sig) {
            Ok(r) => r,
            Err(e) => {
                report.fail(
                    "byte range",
                    &label,
                    Indication::TotalFailed,
                    SubIndication::FormatFailure,
                    e.to_string(),
                );
                continue;
            }
        };
        // The earliest document time stamp covering this signature proves
        // it existed then: it is judged no later (with the caller's proof).
        let covering = crate::pdf_ltv::proof_for(&stamps, sig.revision);
        let proven = match (covering, proven) {
            (Some(p), Some(t)) => Some(p.time.min(t)),
            (Some(p), None) => Some(p.time),
            (None, t) => t,
        };
        if sig.is_document_time_stamp() {
            // Verified above, latest first.
        } else if yinzheng_cms::SignedData::parse(&sig.contents).is_err()
            && let Ok(ses) = yinzheng_seal::SealSignature::parse(&sig.contents)
        {
            let opts = yinzheng_seal::VerifyOptions {
                validator: ctx.validator,
                intermediates: ctx.intermediates,
                registry: ctx.registry,
                makers: ctx.makers,
                data: Some(yinzheng_seal::ProtectedData::Parts(&ranges)),
            };
            let inner = match proven {
                Some(p) => yinzheng_seal::verify_signature_at(&ses, &opts, p),
                None => yinzheng_seal::verify_signature(&ses, &opts),
            };
            report.absorb(&label, &inner);
        } else {
            // The first range starts the file (a checked ByteRange begins at
            // 0): its digest resumes from the whole file's saved states.
            let ranges_sm3 = prefixes
                .filter(|_| ranges[0].as_ptr() == pdf.as_ptr())
                .and_then(|p| p.digest_of_prefix_and(ranges[0].len(), &[ranges[1]]));
            let summary = check_cms(
                &mut report,
                &label,
                &sig.contents,
                &ranges,
                ranges_sm3,
                ctx,
                proven,
            );
            if let Some(s) = summary.signer {
                report.pass("signer", &label, format!("signed by {s}"));
            }
            if let (Some(t), Some(p)) = (&summary.time_stamp, covering)
                && t.as_str()
                    > yinzheng_pki::rfc3339(p.time + std::time::Duration::from_secs(600)).as_str()
            {
                report.fail(
                    "proof of existence",
                    &label,
                    Indication::Indeterminate,
                    SubIndication::SigConstraintsFailure,
                    format!(
                        "its signature time stamp ({t}) is later than document time stamp {} \
                         ({}) that covers it",
                        p.field,
                        yinzheng_pki::rfc3339(p.time)
                    ),
                );
            }
            let poe = match (&summary.time_stamp, covering) {
                (Some(t), Some(p)) => Some(format!(
                    "its signature time stamp at {t}; that time stamp's TSA was judged at {}, \
                     proven by document time stamp {} (by {})",
                    yinzheng_pki::rfc3339(p.time),
                    p.field,
                    p.tsa
                )),
                (Some(t), None) => Some(format!("its signature time stamp at {t}")),
                (None, Some(p)) => Some(format!(
                    "document time stamp {} at {} (by {}): the signature existed then and \
                     was judged at that time",
                    p.field,
                    yinzheng_pki::rfc3339(p.time),
                    p.tsa
                )),
                (None, None) => None,
            };
            if let Some(poe) = poe {
                report.pass("proof of existence", &label, poe);
            }
        }
        if let Some(level) = changes.certification_level(&sig.field_name) {
            report.pass(
                "certification",
                &label,
                format!(
                    "a certification signature (DocMDP P={level}): later revisions may make {}",
                    crate::pdf::Certification {
                        field_name: sig.field_name.clone(),
                        level
                    }
                    .permits()
                ),
            );
        }
        if sig.covers_whole_document {
            report.pass(
                "coverage",
                &label,
                format!("covers the whole document (revision {})", sig.revision),
            );
            continue;
        }
        match changes.check(sig, policy) {
            Ok(m) if m.allowed => {
                let certified = m
                    .certification
                    .as_ref()
                    .map(|c| {
                        format!(
                            " (certified by {} with DocMDP P={}: {})",
                            c.field_name,
                            c.level,
                            c.permits()
                        )
                    })
                    .unwrap_or_default();
                let listed = if m.signing_changes.is_empty() {
                    String::new()
                } else {
                    format!(": {}", m.signing_changes.join("; "))
                };
                report.pass(
                    "coverage",
                    &label,
                    format!(
                        "signs revision {}; the {} later revision(s) make only changes allowed after signing{certified}{listed}",
                        sig.revision, m.later_revisions
                    ),
                );
                for w in &m.warnings {
                    report.warn("coverage", &label, w.clone());
                }
            }
            Ok(m) => report.fail(
                "coverage",
                &label,
                Indication::TotalFailed,
                SubIndication::SigConstraintsFailure,
                format!(
                    "signs revision {}, but the document was changed afterwards: {}",
                    sig.revision,
                    m.changes.join("; ")
                ),
            ),
            Err(e) => report.fail(
                "coverage",
                &label,
                Indication::Indeterminate,
                SubIndication::FormatFailure,
                format!("later revisions cannot be compared: {e}"),
            ),
        }
    }
    Ok(report)
}
