//! Verifying a CMS signature over document bytes (PDF ByteRange parts, a
//! detached `.p7s`): the CMS signature and digest, the signer's certificate
//! path, an RFC 3161 signature time stamp, and the GB/T 38540 seal signature
//! carried as an unsigned attribute in national (SM2) mode.

use std::time::{Duration, SystemTime};
use yinzheng_cms::{SignedData, VerifyOptions, oid};
use yinzheng_crypto::Sm2Id;
use yinzheng_pki::{Indication, ParsedCert, SubIndication, Validator, VerificationReport};
use yinzheng_seal::SealStatusSource;
use yinzheng_seal::{MakerTrust, SealSignature};

/// What CMS signatures are checked against.
pub struct CmsVerifyContext<'a> {
    /// Trust anchors, CRLs/OCSP and policy for signer and TSA certificates.
    pub validator: &'a Validator,
    /// Intermediate CA certificates besides those the CMS carries.
    pub intermediates: &'a [ParsedCert],
    /// Who may make seals (for a carried seal signature).
    pub makers: MakerTrust<'a>,
    /// Our seal registry, to report the status of seals made here.
    pub registry: Option<&'a dyn SealStatusSource>,
    /// SM2 distinguishing ID of the signers (default `1234567812345678`;
    /// [`Sm2Id::danger_empty`] for OpenSSL-made CMS).
    pub sm2_id: Option<Sm2Id>,
    /// Stop (with [`crate::Error::DeadlinePassed`]) between signatures once
    /// this instant has passed; `None`: no deadline.
    pub deadline: Option<std::time::Instant>,
}

/// `Err` once `deadline` has passed; `at` says where the work stopped.
pub(crate) fn check_deadline(deadline: Option<std::time::Instant>, at: &str) -> crate::Result<()> {
    match deadline {
        Some(d) if std::time::Instant::now() >= d => {
            Err(crate::Error::DeadlinePassed(format!("stopped before {at}")))
        }
        _ => Ok(()),
    }
}

/// What a verified CMS signature says, for per-signature summaries.
#[derive(Clone, Debug, Default)]
pub struct CmsSummary {
    /// Subject of the signer's certificate.
    pub signer: Option<String>,
    /// Signature algorithm name.
    pub algorithm: Option<String>,
    /// Time from a verified RFC 3161 token (RFC 3339).
    pub time_stamp: Option<String>,
    /// Name of the seal whose seal signature the CMS carries.
    pub seal: Option<String>,
}

pub(crate) fn to_system(t: time::OffsetDateTime) -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(t.unix_timestamp().max(0) as u64)
}

fn sub_for(e: &yinzheng_cms::Error) -> SubIndication {
    match e {
        yinzheng_cms::Error::DigestMismatch(_) => SubIndication::HashFailure,
        yinzheng_cms::Error::SignerCertificateMissing(_) => SubIndication::NoCertificateChainFound,
        yinzheng_cms::Error::Unsupported { .. } => SubIndication::CryptoConstraintsFailure,
        e if e.is_verification_failure() => SubIndication::SigCryptoFailure,
        _ => SubIndication::FormatFailure,
    }
}

/// Verify a detached CMS signature (e.g. a `.p7s` file) over `content`.
pub fn verify_detached_cms(
    cms: &[u8],
    content: &[&[u8]],
    ctx: &CmsVerifyContext<'_>,
) -> VerificationReport {
    let mut report = VerificationReport::new(
        "detached CMS signature",
        yinzheng_pki::rfc3339(ctx.validator.now()),
    );
    check_cms(&mut report, "CMS signature", cms, content, None, ctx, None);
    report
}

/// [`verify_detached_cms`] as of `proven`, a time by which the signature is
/// proven to have existed (a verified log entry's time): without a signature
/// time stamp the signer is validated at `proven` instead of now, and the
/// time stamp's own certificate is validated at `proven` too.
pub fn verify_detached_cms_at(
    cms: &[u8],
    content: &[&[u8]],
    ctx: &CmsVerifyContext<'_>,
    proven: SystemTime,
) -> VerificationReport {
    let mut report =
        VerificationReport::new("detached CMS signature", yinzheng_pki::rfc3339(proven));
    check_cms(
        &mut report,
        "CMS signature",
        cms,
        content,
        None,
        ctx,
        Some(proven),
    );
    report
}

/// Check one CMS signature into `report` under `label`.
///
/// `content_sm3`: SM3 of `content`, when the caller already has it over exactly
/// those bytes (a PDF's `/ByteRange` resumed from the whole file's hash); the
/// CMS check uses it when the signer's digest is SM3, so the bytes are hashed once.
pub(crate) fn check_cms(
    report: &mut VerificationReport,
    label: &str,
    cms: &[u8],
    content: &[&[u8]],
    content_sm3: Option<[u8; 32]>,
    ctx: &CmsVerifyContext<'_>,
    proven: Option<SystemTime>,
) -> CmsSummary {
    let mut summary = CmsSummary::default();
    let sd = match SignedData::parse(cms) {
        Ok(sd) => sd,
        Err(e) => {
            report.fail(
                "cms",
                label,
                Indication::TotalFailed,
                SubIndication::FormatFailure,
                format!("not a readable CMS SignedData: {e}"),
            );
            return summary;
        }
    };
    for w in sd.warnings() {
        report.warn("cms", label, format!("tolerated: {w}"));
    }
    if sd.signers().len() != 1 {
        report.fail(
            "cms",
            label,
            Indication::TotalFailed,
            SubIndication::FormatFailure,
            format!(
                "{} SignerInfos; a document signature has exactly one",
                sd.signers().len()
            ),
        );
        return summary;
    }
    let opts = VerifyOptions {
        sm2_id: ctx.sm2_id.clone(),
        extra_certificates: ctx.intermediates.iter().map(|c| c.der().to_vec()).collect(),
    };
    // The signature must be over the document bytes: an encapsulated content
    // is accepted only when it *is* those bytes; otherwise a CMS over any
    // other content would "verify" while the document goes unchecked.
    if let Some(inner) = &sd.content() {
        let same = inner.len() == content.iter().map(|p| p.len()).sum::<usize>() && {
            let mut rest: &[u8] = inner;
            content.iter().all(|p| {
                let (head, tail) = rest.split_at(p.len());
                rest = tail;
                head == *p
            })
        };
        if !same {
            report.fail(
                "cms",
                label,
                Indication::TotalFailed,
                SubIndication::HashFailure,
                "the CMS encapsulates other content than the signed document bytes",
            );
            return summary;
        }
    }
    let signer = match sd.verify_signer_with_sm3(0, Some(content), content_sm3.as_ref(), &opts) {
        Ok(v) => v,
        Err(e) => {
            report.fail(
                "cms",
                label,
                Indication::TotalFailed,
                sub_for(&e),
                e.to_string(),
            );
            return summary;
        }
    };
    summary.algorithm = Some(signer.signature_algorithm.name().to_string());
    report.pass(
        "cms",
        label,
        format!(
            "{} digest of the signed bytes matches and the {} signature verifies",
            signer.digest,
            signer.signature_algorithm.name()
        ),
    );
    if signer.signing_certificate == yinzheng_cms::SigningCertificateCheck::Absent {
        report.warn(
            "cms",
            label,
            "no signingCertificateV2 attribute (PAdES/CAdES baseline wants one)",
        );
    }
    let cert = match ParsedCert::from_der(&signer.certificate) {
        Ok(c) => c,
        Err(e) => {
            report.fail(
                "signer certificate",
                label,
                Indication::TotalFailed,
                SubIndication::FormatFailure,
                e.to_string(),
            );
            return summary;
        }
    };
    summary.signer = Some(cert.subject());
    let mut chain: Vec<ParsedCert> = ctx.intermediates.to_vec();
    chain.extend(
        sd.certificates()
            .iter()
            .filter(|c| c.as_slice() != signer.certificate.as_slice())
            .filter_map(|c| ParsedCert::from_der(c).ok()),
    );

    // A signature time stamp gives a trusted time; otherwise validation is at
    // the proven time when the caller has one, else at now (the validator's clock).
    let si = &sd.signers()[0];
    let reference = proven.unwrap_or_else(|| ctx.validator.now());
    let mut at = reference;
    // Whether `at` is proven (a verified time stamp or the caller's proof)
    // rather than the current time standing in for an unknown signing time.
    let mut at_proven = proven.is_some();
    let validate = |cert: &ParsedCert, chain: &[ParsedCert], at: SystemTime, proven: bool| {
        if proven {
            ctx.validator.validate(cert, chain, at)
        } else {
            ctx.validator.validate_unproven(cert, chain, at)
        }
    };
    for token in si.unsigned_values(oid::ATTR_TIME_STAMP_TOKEN) {
        match yinzheng_cms::verify_time_stamp(token, si.signature(), &opts) {
            Ok(ts) => {
                let when = yinzheng_pki::rfc3339(to_system(ts.info.gen_time));
                let tsa_cert = ParsedCert::from_der(&ts.signer.certificate);
                let mut tsa_chain = chain.clone();
                tsa_chain.extend(
                    ts.certificates
                        .iter()
                        .filter_map(|c| ParsedCert::from_der(c).ok()),
                );
                match tsa_cert {
                    Ok(tsa) if has_time_stamping_eku(&tsa) => {
                        let v = validate(&tsa, &tsa_chain, reference, proven.is_some());
                        report.absorb(&format!("{label} time stamp"), &v);
                        if v.passed() {
                            report.pass(
                                "time stamp",
                                label,
                                format!("RFC 3161 time stamp by {} at {when}", tsa.subject()),
                            );
                            // Several tokens: the earliest proven time counts.
                            let t = to_system(ts.info.gen_time);
                            at = if at_proven { at.min(t) } else { t };
                            at_proven = true;
                            summary.time_stamp = Some(when);
                        }
                    }
                    Ok(tsa) => report.fail(
                        "time stamp",
                        label,
                        Indication::TotalFailed,
                        SubIndication::ChainConstraintsFailure,
                        format!(
                            "{} lacks the timeStamping extended key usage",
                            tsa.subject()
                        ),
                    ),
                    Err(e) => report.fail(
                        "time stamp",
                        label,
                        Indication::TotalFailed,
                        SubIndication::FormatFailure,
                        e.to_string(),
                    ),
                }
            }
            Err(e) => report.fail(
                "time stamp",
                label,
                Indication::TotalFailed,
                sub_for(&e),
                format!("signature time stamp: {e}"),
            ),
        }
    }
    match yinzheng_pki::check_signer_purpose(cert.cert()) {
        Ok(()) => report.pass(
            "signer purpose",
            label,
            "the signer certificate is for signing documents",
        ),
        Err(why) => report.fail(
            "signer purpose",
            label,
            Indication::TotalFailed,
            SubIndication::ChainConstraintsFailure,
            format!("{}: {why}", cert.subject()),
        ),
    }
    let v = validate(&cert, &chain, at, at_proven);
    report.absorb(&format!("{label} signer"), &v);

    // National mode: the seal signature travels with the CMS.
    for ses in si.unsigned_values(oid::ATTR_SES_SIGNATURE) {
        let bytes = unwrap_octet_string(ses);
        match SealSignature::parse(bytes) {
            Ok(seal_sig) => {
                summary.seal = Some(seal_sig.seal().name().to_string());
                if seal_sig.signer_cert() != signer.certificate.as_slice() {
                    report.fail(
                        "seal",
                        label,
                        Indication::TotalFailed,
                        SubIndication::SigConstraintsFailure,
                        "the carried seal signature was made by another certificate than the CMS signer",
                    );
                }
                // The CMS check above hashed these very bytes: with SM3 that
                // digest is the one the seal's dataHash must equal, so the
                // signed bytes are hashed once for both.
                let data = match <[u8; 32]>::try_from(signer.message_digest.as_slice()) {
                    Ok(digest) if signer.digest == yinzheng_cms::Digest::Sm3 => {
                        yinzheng_seal::ProtectedData::Sm3 {
                            digest,
                            len: content.iter().map(|p| p.len()).sum(),
                        }
                    }
                    _ => yinzheng_seal::ProtectedData::Parts(content),
                };
                let opts = yinzheng_seal::VerifyOptions {
                    validator: ctx.validator,
                    intermediates: &chain,
                    registry: ctx.registry,
                    makers: ctx.makers,
                    data: Some(data),
                };
                // The carried seal is judged at the same time as the CMS
                // signer: the time stamp's or the proven one, else now.
                let inner = if at_proven {
                    yinzheng_seal::verify_signature_at(&seal_sig, &opts, at)
                } else {
                    yinzheng_seal::verify_signature(&seal_sig, &opts)
                };
                report.absorb(&format!("{label} seal"), &inner);
            }
            Err(e) => report.fail(
                "seal",
                label,
                Indication::TotalFailed,
                SubIndication::FormatFailure,
                format!("carried seal signature: {e}"),
            ),
        }
    }
    summary
}

/// The attribute value is an OCTET STRING wrapping the SES_Signature; accept
/// the bare SES_Signature too.
fn unwrap_octet_string(v: &[u8]) -> &[u8] {
    let mut r = yinzheng_crypto::asn1::Reader::new(v);
    match r.tlv_at(0, v.len(), "seal signature attribute") {
        Ok(t) if t.tag == 0x04 => &v[t.value],
        _ => v,
    }
}

pub(crate) fn has_time_stamping_eku(cert: &ParsedCert) -> bool {
    yinzheng_pki::eku_oid("timeStamping")
        .is_ok_and(|eku| yinzheng_pki::has_extended_key_usage(cert.cert(), &eku))
}
