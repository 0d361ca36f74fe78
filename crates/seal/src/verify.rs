//! Verifying seals and seal signatures: the eight steps of formats-eseal.md,
//! each recorded in the shared [`VerificationReport`].

use crate::model::{CertList, Seal, SealSignature};
use std::time::SystemTime;
use yinzheng_crypto::{SignatureAlgorithm, Sm2Signature, sm3};
use yinzheng_pki::{Indication, ParsedCert, SubIndication, Validator, VerificationReport, rfc3339};

/// Who may make seals (制章). Without this check any certificate holder under
/// the anchors could make a seal in another organisation's name and stamp with it.
#[derive(Clone, Copy)]
#[non_exhaustive]
pub enum MakerTrust<'a> {
    /// The maker certificate must carry Yinzheng's seal-maker policy
    /// ([`yinzheng_pki::SEAL_MAKER_POLICY_DER`]) and chain to the validator's anchors.
    Policy,
    /// The maker certificate must chain to these anchors (a CA that certifies seal makers only).
    Anchors(&'a Validator),
    /// Any certificate under the validator's anchors may make seals: only for PKIs
    /// that do not mark makers (e.g. ofdrw's test PKI). Reported as a warning.
    DangerAny,
}

/// What a seal-signature verification needs besides the signature.
pub struct VerifyOptions<'a> {
    /// Trust anchors, CRLs/OCSP and policy for the maker's and signer's certificates.
    pub validator: &'a Validator,
    /// Intermediate CA certificates (seal files carry only the end-entity certificates).
    pub intermediates: &'a [ParsedCert],
    /// Our seal registry, to report the status of seals made here.
    pub registry: Option<&'a dyn crate::SealStatusSource>,
    /// Who may make seals.
    pub makers: MakerTrust<'a>,
    /// The protected data (step 7). Without it the signature is bound to
    /// nothing: INDETERMINATE / SIGNED_DATA_NOT_FOUND.
    pub data: Option<ProtectedData<'a>>,
}

/// The data a seal signature protects (its `dataHash` is SM3 of it), in the
/// form the caller holds it. The bytes are hashed as received; none is copied.
#[derive(Clone, Copy, Debug)]
pub enum ProtectedData<'a> {
    /// The bytes, whole.
    Bytes(&'a [u8]),
    /// The bytes in parts, in order (a PDF's `/ByteRange`): hashed as one.
    Parts(&'a [&'a [u8]]),
    /// The SM3 digest of the bytes, computed by the caller over exactly the
    /// bytes received — for a caller that has just hashed them for another
    /// check (a CMS `messageDigest` over the same `/ByteRange`), so the file
    /// is hashed once. `len` is their length, for the report.
    Sm3 {
        /// SM3 of the protected bytes.
        digest: [u8; 32],
        /// How many bytes were hashed.
        len: usize,
    },
}

impl ProtectedData<'_> {
    /// SM3 of the data and its length.
    fn sm3_and_len(&self) -> ([u8; 32], usize) {
        match *self {
            ProtectedData::Bytes(b) => (sm3(b), b.len()),
            ProtectedData::Parts(parts) => {
                let mut h = yinzheng_crypto::Sm3Hasher::new();
                for p in parts {
                    h.update(p);
                }
                (h.finalize(), parts.iter().map(|p| p.len()).sum())
            }
            ProtectedData::Sm3 { digest, len } => (digest, len),
        }
    }
}

impl<'a> From<&'a [u8]> for ProtectedData<'a> {
    fn from(b: &'a [u8]) -> Self {
        ProtectedData::Bytes(b)
    }
}

impl<'a, const N: usize> From<&'a [u8; N]> for ProtectedData<'a> {
    fn from(b: &'a [u8; N]) -> Self {
        ProtectedData::Bytes(b)
    }
}

impl<'a> From<&'a Vec<u8>> for ProtectedData<'a> {
    fn from(b: &'a Vec<u8>) -> Self {
        ProtectedData::Bytes(b)
    }
}

/// Validate `cert` at `at`: a proven time, or the current time standing in
/// for a signing time nothing proves ([`Validator::validate_unproven`]).
fn validate_at(
    v: &Validator,
    cert: &ParsedCert,
    intermediates: &[ParsedCert],
    at: SystemTime,
    proven: bool,
) -> VerificationReport {
    if proven {
        v.validate(cert, intermediates, at)
    } else {
        v.validate_unproven(cert, intermediates, at)
    }
}

fn to_system(t: time::OffsetDateTime) -> SystemTime {
    SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(t.unix_timestamp().max(0) as u64)
}

/// Decode a signature value as found in seal files: DER (leniently), raw r‖s, or
/// DER whose trailing zero bytes were stripped by the producer.
fn decode_signature(bytes: &[u8], warnings: &mut Vec<String>) -> Option<Sm2Signature> {
    if let Ok(s) = Sm2Signature::parse(bytes) {
        warnings.extend(s.deviations().iter().map(|d| d.to_string()));
        if s.encoding() == yinzheng_crypto::Sm2SignatureEncoding::Raw {
            warnings.push("signature is raw r‖s, not DER".into());
        }
        return Some(s);
    }
    if bytes.len() >= 2
        && bytes[0] == 0x30
        && (bytes[1] as usize) + 2 > bytes.len()
        && bytes[1] < 0x80
    {
        let mut padded = bytes.to_vec();
        padded.resize(bytes[1] as usize + 2, 0);
        if let Ok(s) = Sm2Signature::parse(&padded) {
            warnings.push("signature BIT STRING had its trailing zero bytes stripped".into());
            return Some(s);
        }
    }
    None
}

/// Check `signature` over `message` with the key of `cert`; records one check.
/// A signature to check: its algorithm (dotted OID), the bytes it signs and its value.
struct Signed<'a> {
    alg_oid: &'a str,
    message: &'a [u8],
    signature: &'a [u8],
}

fn check_sig(
    report: &mut VerificationReport,
    id: &str,
    subject: &str,
    cert: &ParsedCert,
    signed: Signed<'_>,
    memoize: bool,
) {
    let Signed {
        alg_oid,
        message,
        signature,
    } = signed;
    let alg = match alg_oid
        .parse::<der::asn1::ObjectIdentifier>()
        .ok()
        .and_then(|oid| SignatureAlgorithm::from_oid(&oid))
    {
        Some(a) => a,
        None => {
            report.fail(
                id,
                subject,
                Indication::TotalFailed,
                SubIndication::CryptoConstraintsFailure,
                format!("signature algorithm {alg_oid} is not supported"),
            );
            return;
        }
    };
    let passed = |report: &mut VerificationReport| {
        report.pass(
            id,
            subject,
            format!(
                "{alg} signature by {} verifies over the {} bytes as received",
                cert.subject(),
                message.len()
            ),
        )
    };
    if memoize && crate::memo::verified_before(cert.der(), alg_oid, signature, message) {
        passed(report);
        return;
    }
    let Some(key) = cert.public_key() else {
        report.fail(
            id,
            subject,
            Indication::TotalFailed,
            SubIndication::CryptoConstraintsFailure,
            "certificate key algorithm not supported",
        );
        return;
    };
    let mut warnings = Vec::new();
    let result = if alg == SignatureAlgorithm::Sm2Sm3 {
        match (key.as_sm2(), decode_signature(signature, &mut warnings)) {
            (Some(k), Some(sig)) => k.verify_signature(message, &sig),
            (None, _) => Err(yinzheng_crypto::Error::AlgorithmMismatch {
                key: key.algorithm().name(),
                algorithm: "sm2-sm3",
            }),
            (_, None) => Err(yinzheng_crypto::Error::MalformedSignature(
                "not DER SEQUENCE{r, s} nor raw r‖s".into(),
            )),
        }
    } else {
        key.verify(alg, message, signature)
    };
    if memoize && result.is_ok() && warnings.is_empty() {
        crate::memo::remember(cert.der(), alg_oid, signature, message);
    }
    for w in warnings {
        report.warn(id, subject, w);
    }
    match result {
        Ok(()) => passed(report),
        Err(e) if e.is_verification_failure() => report.fail(
            id,
            subject,
            Indication::TotalFailed,
            SubIndication::SigCryptoFailure,
            format!("signature by {} does not verify: {e}", cert.subject()),
        ),
        Err(e) => report.fail(
            id,
            subject,
            Indication::TotalFailed,
            SubIndication::CryptoConstraintsFailure,
            e.to_string(),
        ),
    }
}

/// Verify a seal on its own (steps 4 for the seal): maker signature over the
/// received eSealInfo bytes, maker certificate chain at `at`, validity window.
pub fn verify_seal(
    seal: &Seal,
    validator: &Validator,
    makers: MakerTrust<'_>,
    intermediates: &[ParsedCert],
    at: SystemTime,
) -> VerificationReport {
    let mut report = VerificationReport::new(
        format!("seal {:?} ({})", seal.name(), seal.id()),
        rfc3339(at),
    );
    add_seal_checks(
        &mut report,
        seal,
        validator,
        makers,
        intermediates,
        at,
        true,
    );
    report
}

/// `proven`: `at` is a proven time (or the time asked about) rather than the
/// current time standing in for a signing time nothing proves.
fn add_seal_checks(
    report: &mut VerificationReport,
    seal: &Seal,
    validator: &Validator,
    makers: MakerTrust<'_>,
    intermediates: &[ParsedCert],
    at: SystemTime,
    proven: bool,
) {
    let label = format!("seal {}", seal.id());
    for w in seal.warnings() {
        report.warn("seal-format", &label, w.clone());
    }
    let maker = match ParsedCert::from_der(seal.maker_cert()) {
        Ok(c) => c,
        Err(e) => {
            report.fail(
                "maker-signature",
                &label,
                Indication::TotalFailed,
                SubIndication::FormatFailure,
                format!("maker certificate: {e}"),
            );
            return;
        }
    };
    check_sig(
        report,
        "maker-signature",
        &label,
        &maker,
        Signed {
            alg_oid: seal.maker_algorithm(),
            message: seal.maker_signed_bytes(),
            signature: seal.maker_signature(),
        },
        // The same seal comes with every stamp: see crate::memo.
        true,
    );
    // The maker must be someone allowed to make seals.
    let chain = match makers {
        MakerTrust::Policy => {
            if yinzheng_pki::is_seal_maker(maker.cert()) {
                report.pass(
                    "maker-authority",
                    &label,
                    "the maker certificate carries the seal-maker policy",
                );
            } else {
                report.fail(
                    "maker-authority",
                    &label,
                    Indication::TotalFailed,
                    SubIndication::SigConstraintsFailure,
                    format!(
                        "{} is not a seal maker's certificate (no seal-maker policy)",
                        maker.subject()
                    ),
                );
            }
            validate_at(validator, &maker, intermediates, at, proven)
        }
        MakerTrust::Anchors(makers) => {
            report.pass(
                "maker-authority",
                &label,
                "the maker certificate is checked against the seal-maker anchors",
            );
            validate_at(makers, &maker, intermediates, at, proven)
        }
        MakerTrust::DangerAny => {
            report.warn(
                "maker-authority",
                &label,
                "not checked: any certificate under the trust anchors is accepted as a seal maker",
            );
            validate_at(validator, &maker, intermediates, at, proven)
        }
    };
    report.absorb("maker-certificate", &chain);
    let (start, end) = (to_system(seal.valid_start()), to_system(seal.valid_end()));
    if !proven {
        // Judged at the current time: the verdict changes when the seal ends.
        report.limit_until(end);
    }
    if at < start {
        report.fail(
            "seal-validity",
            &label,
            Indication::TotalFailed,
            SubIndication::SigConstraintsFailure,
            format!("the seal is valid only from {}", rfc3339(start)),
        );
    } else if at > end && proven {
        report.fail(
            "seal-validity",
            &label,
            Indication::TotalFailed,
            SubIndication::SigConstraintsFailure,
            format!("the seal expired at {}", rfc3339(end)),
        );
    } else if at > end {
        report.fail(
            "seal-validity",
            &label,
            Indication::Indeterminate,
            SubIndication::OutOfBoundsNoPoe,
            format!(
                "the seal expired at {}; nothing proves the signature was made before \
                 (no time stamp, no log entry)",
                rfc3339(end)
            ),
        );
    } else {
        report.pass(
            "seal-validity",
            &label,
            format!("seal valid {} .. {}", rfc3339(start), rfc3339(end)),
        );
    }
}

/// Verify a seal signature (电子签章): the eight steps, at the current time.
///
/// The signer's claimed signing time (`timeInfo`) is reported, never used:
/// anyone holding the key can write any time there. Without a proof of when
/// the signature existed, a certificate or seal that has expired or was
/// revoked by now gives INDETERMINATE (OUT_OF_BOUNDS_NO_POE, REVOKED_NO_POE);
/// with one, use [`verify_signature_at`].
pub fn verify_signature(sig: &SealSignature, opts: &VerifyOptions<'_>) -> VerificationReport {
    verify_signature_inner(sig, opts, None)
}

/// Verify a seal signature as of `proven`, a time by which the signature is
/// proven to have existed (a verified log entry's time, a verified time
/// stamp), instead of the signer's own claimed signing time.
///
/// A claimed time can be back-dated by whoever holds the key after it was
/// revoked; a proven time cannot. The certificates are validated at `proven`
/// (revocation data issued later is good evidence about it), and a claimed
/// time more than ten minutes after `proven` is a warning (the signer's clock
/// ran ahead, or the proof is for another signature).
pub fn verify_signature_at(
    sig: &SealSignature,
    opts: &VerifyOptions<'_>,
    proven: SystemTime,
) -> VerificationReport {
    verify_signature_inner(sig, opts, Some(proven))
}

fn verify_signature_inner(
    sig: &SealSignature,
    opts: &VerifyOptions<'_>,
    proven: Option<SystemTime>,
) -> VerificationReport {
    let claimed = to_system(sig.signing_time());
    let now = opts.validator.now();
    let at = proven.unwrap_or(now);
    let is_proven = proven.is_some();
    let label = format!("seal signature by {}", sig.seal().name());
    let mut report = VerificationReport::new(label.clone(), rfc3339(at));
    if proven.is_none() {
        if claimed > now + std::time::Duration::from_secs(600) {
            // The warning goes once the claimed time is no longer ahead.
            report.limit_until(claimed - std::time::Duration::from_secs(600));
            report.warn(
                "signing-time",
                &label,
                format!(
                    "the claimed signing time {} is in the future",
                    rfc3339(claimed)
                ),
            );
        } else {
            report.pass(
                "signing-time",
                &label,
                format!(
                    "claimed signing time {} (the signer's statement, not used: validated \
                     at the current time, since nothing proves when it was made)",
                    rfc3339(claimed)
                ),
            );
        }
    }
    if let Some(p) = proven {
        if claimed > p + std::time::Duration::from_secs(600) {
            report.warn(
                "signing-time",
                &label,
                format!(
                    "the claimed signing time {} is after the proven time {}",
                    rfc3339(claimed),
                    rfc3339(p)
                ),
            );
        } else {
            report.pass(
                "signing-time",
                &label,
                format!(
                    "validated at the proven time {} (claimed signing time {})",
                    rfc3339(p),
                    rfc3339(claimed)
                ),
            );
        }
    }
    // 1. Parsed (we got here); report tolerated deviations.
    for w in sig.warnings() {
        report.warn("format", &label, w.clone());
    }
    // 2. Signer's signature over toSign.
    let signer = match ParsedCert::from_der(sig.signer_cert()) {
        Ok(c) => c,
        Err(e) => {
            report.fail(
                "signature",
                &label,
                Indication::TotalFailed,
                SubIndication::FormatFailure,
                format!("signer certificate: {e}"),
            );
            return report;
        }
    };
    check_sig(
        &mut report,
        "signature",
        &label,
        &signer,
        Signed {
            alg_oid: sig.algorithm(),
            message: sig.to_sign_bytes(),
            signature: sig.signature(),
        },
        false,
    );
    // The signer's key must be one for signing documents (not a TLS, OCSP,
    // TSA, log, CA or seal-maker key).
    match yinzheng_pki::check_signer_purpose(signer.cert()) {
        Ok(()) => report.pass(
            "signer-purpose",
            &label,
            "the signer certificate is for signing documents",
        ),
        Err(why) => report.fail(
            "signer-purpose",
            &label,
            Indication::TotalFailed,
            SubIndication::ChainConstraintsFailure,
            format!("{}: {why}", signer.subject()),
        ),
    }
    // 3. The signer is authorised by the seal.
    match sig.seal().cert_list() {
        CertList::Certificates(certs) => {
            if certs.iter().any(|c| c.as_slice() == sig.signer_cert()) {
                report.pass(
                    "signer-in-seal",
                    &label,
                    "the signer certificate is in the seal's certificate list",
                );
            } else {
                report.fail(
                    "signer-in-seal",
                    &label,
                    Indication::TotalFailed,
                    SubIndication::SigConstraintsFailure,
                    "the signer certificate is not in the seal's certificate list",
                );
            }
        }
        CertList::Digests(digests) => {
            let ok = digests.iter().any(|(kind, d)| {
                let k = kind.to_ascii_lowercase();
                let ours = if k.contains("sha256") || k.contains("sha-256") {
                    yinzheng_crypto::sha256(sig.signer_cert()).to_vec()
                } else {
                    sm3(sig.signer_cert()).to_vec()
                };
                ours == *d
            });
            if ok {
                report.pass(
                    "signer-in-seal",
                    &label,
                    "the signer certificate's digest is in the seal's list",
                );
            } else {
                report.fail(
                    "signer-in-seal",
                    &label,
                    Indication::TotalFailed,
                    SubIndication::SigConstraintsFailure,
                    "no digest in the seal's list matches the signer certificate",
                );
            }
        }
    }
    // 4. The seal: maker signature, maker chain, validity window — at the signing time.
    add_seal_checks(
        &mut report,
        sig.seal(),
        opts.validator,
        opts.makers,
        opts.intermediates,
        at,
        is_proven,
    );
    // Our registry's view of the seal, when it is one of ours.
    if let Some(reg) = opts.registry {
        match reg.seal_status(sig.seal().id()) {
            Ok(Some(r)) if r.der == sig.seal().raw() => {
                let when = SystemTime::UNIX_EPOCH
                    + std::time::Duration::from_secs(r.status_at.max(0) as u64);
                match r.status {
                    crate::SealStatus::Active => {
                        report.pass("seal-status", &label, "registered here and active")
                    }
                    s if when > at && is_proven => report.warn(
                        "seal-status",
                        &label,
                        format!(
                            "the seal was {} later, at {} (after this signature)",
                            s.name(),
                            rfc3339(when)
                        ),
                    ),
                    s if !is_proven && s != crate::SealStatus::Suspended => report.fail(
                        "seal-status",
                        &label,
                        Indication::Indeterminate,
                        SubIndication::RevokedNoPoe,
                        format!(
                            "the seal was {} at {}; nothing proves this signature was made \
                             before (no time stamp, no log entry)",
                            s.name(),
                            rfc3339(when)
                        ),
                    ),
                    crate::SealStatus::Suspended => report.fail(
                        "seal-status",
                        &label,
                        Indication::Indeterminate,
                        SubIndication::RevokedOnHold,
                        if is_proven {
                            format!(
                                "the seal was suspended at {}, before this signature",
                                rfc3339(when)
                            )
                        } else {
                            format!(
                                "the seal was suspended at {}; nothing proves this signature \
                                 was made before (no time stamp, no log entry)",
                                rfc3339(when)
                            )
                        },
                    ),
                    _ => report.fail(
                        "seal-status",
                        &label,
                        Indication::TotalFailed,
                        SubIndication::Revoked,
                        format!(
                            "the seal was revoked at {}, before this signature",
                            rfc3339(when)
                        ),
                    ),
                }
            }
            Ok(Some(_)) => report.fail(
                "seal-status",
                &label,
                Indication::TotalFailed,
                SubIndication::SigConstraintsFailure,
                "a different seal is registered here under this id",
            ),
            Ok(None) => report.skip("seal-status", &label, "not a seal of this registry"),
            Err(e) => report.warn("seal-status", &label, format!("registry unavailable: {e}")),
        }
    }
    // 5. The signer's chain at the signing time.
    let chain = validate_at(opts.validator, &signer, opts.intermediates, at, is_proven);
    report.absorb("signer-certificate", &chain);
    // 6. Time stamp.
    let used = if is_proven {
        "the proven time was used"
    } else {
        "validated at the current time"
    };
    match sig.timestamp() {
        Some(_) => report.warn(
            "timestamp",
            &label,
            format!("a time stamp is present but not verified yet; {used}"),
        ),
        None => report.skip("timestamp", &label, format!("no time stamp: {used}")),
    }
    // 7. The data.
    match opts.data.map(|d| d.sm3_and_len()) {
        Some((h, len)) => {
            if h.as_slice() == sig.data_hash() {
                report.pass(
                    "data-hash",
                    &label,
                    format!("SM3 of the {len} data bytes matches dataHash"),
                );
            } else {
                report.fail(
                    "data-hash",
                    &label,
                    Indication::TotalFailed,
                    SubIndication::HashFailure,
                    format!(
                        "SM3 of the data is {}, dataHash is {}",
                        hex::encode(h),
                        hex::encode(sig.data_hash())
                    ),
                );
            }
        }
        None => report.fail(
            "data-hash",
            &label,
            Indication::Indeterminate,
            SubIndication::SignedDataNotFound,
            "no data given: the signature is bound to nothing until its dataHash is compared \
             with the signed data (give the data, e.g. `--data FILE`)",
        ),
    }
    report
}
