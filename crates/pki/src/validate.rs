//! Certification path building and validation (RFC 5280 §6, the parts that
//! matter for e-seals), producing a [`VerificationReport`].
//!
//! Checked, leaf to anchor: each link's signature over the TBS bytes as received
//! (SM2 with the anchor's configured ID; ECDSA/RSA/Ed25519 via ring), validity at
//! the validation time, basicConstraints cA and pathLenConstraint, keyUsage
//! keyCertSign on CAs, unknown critical extensions, the leaf's validity inside
//! its issuer's, and revocation of every non-anchor certificate from a CRL whose
//! signature verifies and which is fresh at the validation time, or from an OCSP
//! response signed by the issuer or its authorised responder (RFC 6960 §4.2.2.2).

use crate::crl::{Crl, CrlEntry, reason_name};
use crate::report::{
    ChainElement, Indication, RevocationSource, SubIndication, VerificationReport,
};
use crate::x509::{ParsedCert, rfc3339};
use der::Decode;
use der::oid::AssociatedOid;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::SystemTime;
use x509_cert::ext::pkix::{BasicConstraints, KeyUsage, KeyUsages};
use yinzheng_crypto::{SignatureAlgorithm, Sm2Id};

/// Longest path accepted (leaf + intermediates + anchor).
const MAX_PATH: usize = 8;

/// Extensions this validator understands (a critical one not listed fails).
const KNOWN_EXTENSIONS: &[&str] = &[
    "2.5.29.14",            // subjectKeyIdentifier
    "2.5.29.35",            // authorityKeyIdentifier
    "2.5.29.19",            // basicConstraints
    "2.5.29.15",            // keyUsage
    "2.5.29.37",            // extKeyUsage
    "2.5.29.17",            // subjectAltName
    "2.5.29.31",            // cRLDistributionPoints
    "2.5.29.32",            // certificatePolicies
    "1.3.6.1.5.5.7.1.1",    // authorityInfoAccess
    "1.3.6.1.5.5.7.48.1.5", // ocsp-nocheck
    "1.2.156.10260.4.4",    // USCC
    "1.2.156.10260.4.1.1",  // ID number
];

/// How revocation is checked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum RevocationPolicy {
    /// Every non-anchor certificate needs fresh revocation information (default).
    Require,
    /// Use what is given; missing information is a warning, not INDETERMINATE.
    DangerBestEffort,
}

/// Trust anchors, revocation data and policy: everything validation needs
/// besides the certificate and the time. Caches passing chain results.
pub struct Validator {
    anchors: Vec<ParsedCert>,
    crls: Vec<Crl>,
    ocsp: Vec<Vec<u8>>,
    leaf_key_usage: Vec<KeyUsages>,
    leaf_eku: Vec<der::asn1::ObjectIdentifier>,
    sm2_id: Sm2Id,
    revocation: RevocationPolicy,
    cache: Mutex<HashMap<String, CachedChain>>,
    cache_hits: std::sync::atomic::AtomicU64,
    cache_misses: std::sync::atomic::AtomicU64,
    clock: std::sync::Arc<dyn crate::Clock>,
}

#[derive(Clone)]
struct CachedChain {
    report: VerificationReport,
    valid_from: SystemTime,
    valid_until: SystemTime,
}

impl Validator {
    /// How many passing chains are cached (a server's metrics).
    pub fn cached_chains(&self) -> usize {
        self.cache.lock().map(|c| c.len()).unwrap_or(0)
    }

    /// Validations answered from the chain cache, and those that were not.
    pub fn cache_stats(&self) -> (u64, u64) {
        use std::sync::atomic::Ordering::Relaxed;
        (
            self.cache_hits.load(Relaxed),
            self.cache_misses.load(Relaxed),
        )
    }

    /// A validator trusting `anchors` (typically self-signed roots).
    pub fn new(anchors: Vec<ParsedCert>) -> Self {
        Validator {
            anchors,
            crls: Vec::new(),
            ocsp: Vec::new(),
            leaf_key_usage: Vec::new(),
            leaf_eku: Vec::new(),
            sm2_id: Sm2Id::default(),
            revocation: RevocationPolicy::Require,
            cache: Mutex::new(HashMap::new()),
            cache_hits: Default::default(),
            cache_misses: Default::default(),
            clock: crate::system_clock(),
        }
    }

    /// Take "now" from `clock` (the time a signature nothing proves is
    /// validated at, and the time of reports); the system clock by default.
    pub fn with_clock(mut self, clock: std::sync::Arc<dyn crate::Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// The current time by this validator's clock.
    pub fn now(&self) -> SystemTime {
        self.clock.now()
    }

    /// Add CRLs as revocation sources.
    pub fn with_crls(mut self, crls: Vec<Crl>) -> Self {
        self.crls = crls;
        self.cache = Mutex::new(HashMap::new());
        self
    }

    /// Add OCSP responses (DER `OCSPResponse`) as revocation sources; they are
    /// preferred over CRLs when they answer for a certificate and are fresh.
    pub fn with_ocsp_responses(mut self, responses: Vec<Vec<u8>>) -> Self {
        self.ocsp = responses;
        self.cache = Mutex::new(HashMap::new());
        self
    }

    /// The SM2 ID the PKI signs with (default 1234567812345678; empty for an OpenSSL-default PKI).
    pub fn with_sm2_id(mut self, id: Sm2Id) -> Self {
        self.sm2_id = id;
        self.cache = Mutex::new(HashMap::new());
        self
    }

    /// Require keyUsage bits on the leaf (RFC 5280 names: digitalSignature,
    /// nonRepudiation, …). A leaf without the extension passes (RFC 5280 §4.2.1.3).
    pub fn with_leaf_key_usage(mut self, names: &[&str]) -> crate::Result<Self> {
        for n in names {
            self.leaf_key_usage
                .push(crate::profile::key_usage_bit(n).map_err(crate::Error::Refused)?);
        }
        Ok(self)
    }

    /// Require an extendedKeyUsage purpose on the leaf (when the leaf has the
    /// extension; anyExtendedKeyUsage satisfies any purpose).
    pub fn with_leaf_eku(mut self, oid: der::asn1::ObjectIdentifier) -> Self {
        self.leaf_eku.push(oid);
        self
    }

    /// Choose the revocation policy.
    pub fn with_revocation(mut self, policy: RevocationPolicy) -> Self {
        self.revocation = policy;
        self.cache = Mutex::new(HashMap::new());
        self
    }

    /// Validate `leaf` at `at`, building the path through `intermediates`.
    ///
    /// Passing results are cached by the leaf's SM3 until min(CRL nextUpdate, notAfter
    /// of every chain certificate), so a hot path pays only for a hash lookup.
    ///
    /// `at` is a time the caller can prove (a verified time stamp, a verified
    /// log entry) or the time whose status is asked: a certificate expired or
    /// revoked at `at` is TOTAL_FAILED. Without such proof, use
    /// [`validate_unproven`](Self::validate_unproven).
    pub fn validate(
        &self,
        leaf: &ParsedCert,
        intermediates: &[ParsedCert],
        at: SystemTime,
    ) -> VerificationReport {
        self.validate_with(leaf, intermediates, at, true, false)
    }

    /// Validate `leaf` for a signature that nothing proves the time of, at
    /// `now` (the current time): a certificate that has expired, or was
    /// revoked, by `now` is INDETERMINATE / OUT_OF_BOUNDS_NO_POE or
    /// REVOKED_NO_POE (the signature may be older, or back-dated), never a
    /// pass and never a proof of forgery. ETSI EN 319 102-1, 5.2.6/5.6.2.
    pub fn validate_unproven(
        &self,
        leaf: &ParsedCert,
        intermediates: &[ParsedCert],
        now: SystemTime,
    ) -> VerificationReport {
        self.validate_with(leaf, intermediates, now, false, false)
    }

    /// Validate the certificate of the *latest* proof of existence a file
    /// carries (the last document or archive time stamp) at `now`, offline:
    /// as [`validate_unproven`](Self::validate_unproven), except that when no
    /// revocation information is fresh at `now` the newest authentic one
    /// held (an embedded CRL or OCSP response, however old) decides — a
    /// revocation any source lists is final (INDETERMINATE /
    /// REVOKED_NO_POE), a "good" is a pass with a warning that later
    /// revocations cannot be seen — and with none at all it is
    /// INDETERMINATE. Years on no revocation source of the last time stamp's
    /// TSA answers; renewing the proof (a new time stamp while the
    /// certificate is valid) is what keeps it strong. ETSI EN 319 102-1
    /// leaves the freshness of revocation data to the validation policy;
    /// this is ours, and the report says so.
    pub fn validate_latest_proof(
        &self,
        leaf: &ParsedCert,
        intermediates: &[ParsedCert],
        now: SystemTime,
    ) -> VerificationReport {
        self.validate_with(leaf, intermediates, now, false, true)
    }

    /// A validator like this one (anchors, policy, SM2 ID, clock) that also
    /// holds `crls` and `ocsp` responses — the revocation data a document
    /// carries (a PDF's DSS) — with a cache of its own.
    pub fn with_more_revocation_data(&self, crls: Vec<Crl>, ocsp: Vec<Vec<u8>>) -> Validator {
        let mut seen: std::collections::HashSet<[u8; 32]> = self
            .crls
            .iter()
            .map(|c| yinzheng_crypto::sm3(c.der()))
            .chain(self.ocsp.iter().map(|o| yinzheng_crypto::sm3(o)))
            .collect();
        let mut all_crls = self.crls.clone();
        all_crls.extend(
            crls.into_iter()
                .filter(|c| seen.insert(yinzheng_crypto::sm3(c.der()))),
        );
        let mut all_ocsp = self.ocsp.clone();
        all_ocsp.extend(
            ocsp.into_iter()
                .filter(|o| seen.insert(yinzheng_crypto::sm3(o))),
        );
        Validator {
            anchors: self.anchors.clone(),
            crls: all_crls,
            ocsp: all_ocsp,
            leaf_key_usage: self.leaf_key_usage.clone(),
            leaf_eku: self.leaf_eku.clone(),
            sm2_id: self.sm2_id.clone(),
            revocation: self.revocation,
            cache: Mutex::new(HashMap::new()),
            cache_hits: Default::default(),
            cache_misses: Default::default(),
            clock: self.clock.clone(),
        }
    }

    fn validate_with(
        &self,
        leaf: &ParsedCert,
        intermediates: &[ParsedCert],
        at: SystemTime,
        proven: bool,
        last_known: bool,
    ) -> VerificationReport {
        // The answer depends on the intermediates offered too, not only on the leaf.
        let mut key = leaf.sm3_hex();
        if !proven {
            key.push_str("/unproven");
        }
        if last_known {
            key.push_str("/last-known");
        }
        let mut others: Vec<String> = intermediates.iter().map(|c| c.sm3_hex()).collect();
        others.sort();
        for o in others {
            key.push('+');
            key.push_str(&o);
        }
        if let Ok(cache) = self.cache.lock()
            && let Some(c) = cache.get(&key)
            && at >= c.valid_from
            && at < c.valid_until
        {
            self.cache_hits
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            return c.report.clone();
        }
        self.cache_misses
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let (mut report, valid_until) =
            self.validate_uncached(leaf, intermediates, at, proven, last_known);
        report.limit_until(valid_until);
        if report.passed()
            && let Ok(mut cache) = self.cache.lock()
        {
            if cache.len() > 100_000 {
                cache.clear();
            }
            cache.insert(
                key,
                CachedChain {
                    report: report.clone(),
                    valid_from: at,
                    valid_until,
                },
            );
        }
        report
    }

    fn validate_uncached(
        &self,
        leaf: &ParsedCert,
        intermediates: &[ParsedCert],
        at: SystemTime,
        proven: bool,
        last_known: bool,
    ) -> (VerificationReport, SystemTime) {
        let mut report =
            VerificationReport::new(format!("certificate {}", leaf.subject()), rfc3339(at));
        let mut valid_until = leaf.not_after();

        // 1. Build the path: leaf → … → anchor, matching issuer to subject names.
        let mut path: Vec<&ParsedCert> = vec![leaf];
        let mut anchored = self.anchors.iter().any(|a| a.der() == leaf.der());
        while !anchored && path.len() < MAX_PATH {
            let cur = *path.last().unwrap_or(&leaf);
            let issuer_name = cur.cert().tbs_certificate().issuer();
            // Candidates with the issuer's name: anchors first. Among several (a key
            // rollover, two CAs with one name) take the one whose key verifies this
            // certificate's signature, so a valid chain is not missed.
            let named = |c: &&ParsedCert| c.cert().tbs_certificate().subject() == issuer_name;
            let anchors: Vec<&ParsedCert> = self.anchors.iter().filter(named).collect();
            let inters: Vec<&ParsedCert> = intermediates
                .iter()
                .filter(named)
                .filter(|c| !path.iter().any(|p| p.der() == c.der()))
                .collect();
            // Only when there is a choice is a signature checked here (it is checked again below).
            let several = anchors.len() + inters.len() > 1;
            let verifies =
                |c: &&&ParsedCert| !several || check_signature(cur, c, &self.sm2_id).is_ok();
            // Among intermediates with the same name and key (a renewed CA
            // certificate, one a document carries), prefer one valid at `at`.
            let valid_at = |c: &&&ParsedCert| c.not_before() <= at && at <= c.not_after();
            let pick = anchors
                .iter()
                .find(verifies)
                .map(|a| (*a, true))
                .or_else(|| {
                    inters
                        .iter()
                        .find(|c| verifies(c) && valid_at(c))
                        .map(|c| (*c, false))
                })
                .or_else(|| inters.iter().find(verifies).map(|c| (*c, false)))
                .or_else(|| anchors.first().map(|a| (*a, true)))
                .or_else(|| inters.first().map(|c| (*c, false)));
            match pick {
                Some((c, is_anchor)) => {
                    path.push(c);
                    if is_anchor {
                        anchored = true;
                    }
                }
                None => break,
            }
        }
        report.set_chain(
            path.iter()
                .enumerate()
                .map(|(i, c)| ChainElement {
                    subject: c.subject(),
                    issuer: c.issuer(),
                    serial: c.serial_hex(),
                    not_before: rfc3339(c.not_before()),
                    not_after: rfc3339(c.not_after()),
                    sm3: c.sm3_hex(),
                    trust_anchor: anchored && i == path.len() - 1,
                })
                .collect(),
        );
        if !anchored {
            report.fail(
                "path",
                &leaf.subject(),
                Indication::Indeterminate,
                SubIndication::NoCertificateChainFound,
                format!(
                    "no path from {} to a trust anchor (last issuer looked for: {})",
                    leaf.subject(),
                    path.last().map(|c| c.issuer()).unwrap_or_default()
                ),
            );
            return (report, valid_until);
        }
        report.pass(
            "path",
            &leaf.subject(),
            format!("path of {} certificates to a trust anchor", path.len()),
        );

        // 2. Per-link checks, from the anchor down.
        let n = path.len();
        for i in (0..n).rev() {
            let cert = path[i];
            let subj = cert.subject();
            let is_anchor = i == n - 1;
            let is_leaf = i == 0;
            valid_until = valid_until.min(cert.not_after());

            // Signature by the issuer (the anchor is trusted as configured, not by its self-signature).
            if !is_anchor {
                let issuer = path[i + 1];
                match check_signature(cert, issuer, &self.sm2_id) {
                    Ok(alg) => report.pass(
                        "signature",
                        &subj,
                        format!(
                            "{alg} signature by {} verifies over the TBS bytes",
                            issuer.subject()
                        ),
                    ),
                    Err((sub, msg)) => {
                        report.fail("signature", &subj, Indication::TotalFailed, sub, msg)
                    }
                }
            }

            // Validity at the validation time.
            if at < cert.not_before() {
                report.fail(
                    "validity",
                    &subj,
                    Indication::TotalFailed,
                    SubIndication::NotYetValid,
                    format!(
                        "not valid before {} (validation time {})",
                        rfc3339(cert.not_before()),
                        rfc3339(at)
                    ),
                );
            } else if at > cert.not_after() && proven {
                report.fail(
                    "validity",
                    &subj,
                    Indication::TotalFailed,
                    SubIndication::Expired,
                    format!(
                        "expired at {} (validation time {})",
                        rfc3339(cert.not_after()),
                        rfc3339(at)
                    ),
                );
            } else if at > cert.not_after() {
                report.fail(
                    "validity",
                    &subj,
                    Indication::Indeterminate,
                    SubIndication::OutOfBoundsNoPoe,
                    format!(
                        "expired at {} (validation time {}); nothing proves the signature \
                         was made before (no time stamp, no log entry)",
                        rfc3339(cert.not_after()),
                        rfc3339(at)
                    ),
                );
            } else {
                report.pass(
                    "validity",
                    &subj,
                    format!(
                        "valid {} .. {}",
                        rfc3339(cert.not_before()),
                        rfc3339(cert.not_after())
                    ),
                );
            }

            // The leaf's key usage and purpose, when the caller asked for them.
            if is_leaf {
                if let Some(ku) = extension::<KeyUsage>(cert) {
                    for want in &self.leaf_key_usage {
                        if !ku.0.contains(*want) {
                            report.fail(
                                "key-usage",
                                &subj,
                                Indication::TotalFailed,
                                SubIndication::ChainConstraintsFailure,
                                format!("keyUsage lacks {want:?}, which this use requires"),
                            );
                        }
                    }
                }
                if let Some(eku) = extension::<x509_cert::ext::pkix::ExtendedKeyUsage>(cert) {
                    let any = der::asn1::ObjectIdentifier::new_unwrap("2.5.29.37.0");
                    for want in &self.leaf_eku {
                        if !eku.0.iter().any(|o| o == want || *o == any) {
                            report.fail(
                                "extended-key-usage",
                                &subj,
                                Indication::TotalFailed,
                                SubIndication::ChainConstraintsFailure,
                                format!("extendedKeyUsage lacks {want}"),
                            );
                        }
                    }
                }
            }

            // Known extensions must decode, and appear once (RFC 5280 §4.2).
            let mut seen = std::collections::BTreeSet::new();
            for e in cert
                .cert()
                .tbs_certificate()
                .extensions()
                .into_iter()
                .flatten()
            {
                if !seen.insert(e.extn_id) {
                    report.fail(
                        "extensions",
                        &subj,
                        Indication::TotalFailed,
                        SubIndication::FormatFailure,
                        format!("extension {} appears twice", e.extn_id),
                    );
                }
                let bad = (e.extn_id == BasicConstraints::OID
                    && BasicConstraints::from_der(e.extn_value.as_bytes()).is_err())
                    || (e.extn_id == KeyUsage::OID
                        && KeyUsage::from_der(e.extn_value.as_bytes()).is_err())
                    || (e.extn_id == x509_cert::ext::pkix::ExtendedKeyUsage::OID
                        && x509_cert::ext::pkix::ExtendedKeyUsage::from_der(
                            e.extn_value.as_bytes(),
                        )
                        .is_err());
                if bad {
                    report.fail(
                        "extensions",
                        &subj,
                        Indication::TotalFailed,
                        SubIndication::FormatFailure,
                        format!("extension {} does not decode", e.extn_id),
                    );
                }
            }

            // Unknown critical extensions.
            for e in cert
                .cert()
                .tbs_certificate()
                .extensions()
                .into_iter()
                .flatten()
            {
                if e.critical && !KNOWN_EXTENSIONS.contains(&e.extn_id.to_string().as_str()) {
                    report.fail(
                        "critical-extensions",
                        &subj,
                        Indication::TotalFailed,
                        SubIndication::ChainConstraintsFailure,
                        format!("unknown critical extension {}", e.extn_id),
                    );
                }
            }

            // CA constraints for every certificate that issued another.
            if !is_leaf {
                let bc = extension::<BasicConstraints>(cert);
                let below = i - 1; // number of non-self-issued intermediates below this CA (excluding the leaf)
                match bc {
                    Some(bc) if bc.ca => {
                        if let Some(max) = bc.path_len_constraint
                            && below > max as usize
                        {
                            report.fail(
                                "path-length",
                                &subj,
                                Indication::TotalFailed,
                                SubIndication::ChainConstraintsFailure,
                                format!("pathLenConstraint {max} exceeded: {below} intermediate CA(s) below"),
                            );
                        } else {
                            report.pass("basic-constraints", &subj, "cA=TRUE");
                        }
                    }
                    _ => report.fail(
                        "basic-constraints",
                        &subj,
                        Indication::TotalFailed,
                        SubIndication::ChainConstraintsFailure,
                        "issues certificates but is not a CA (basicConstraints cA is not TRUE)",
                    ),
                }
                if let Some(ku) = extension::<KeyUsage>(cert)
                    && !ku.0.contains(KeyUsages::KeyCertSign)
                    && is_anchor
                {
                    // RFC 5280 §6.1 does not process the trust anchor as a certificate;
                    // real anchors (e.g. ofdrw's root) lack keyCertSign. Tell, don't fail.
                    report.warn(
                        "key-usage",
                        &subj,
                        "the trust anchor's keyUsage lacks keyCertSign (tolerated for an anchor)",
                    );
                } else if let Some(ku) = extension::<KeyUsage>(cert)
                    && !ku.0.contains(KeyUsages::KeyCertSign)
                {
                    report.fail(
                        "key-usage",
                        &subj,
                        Indication::TotalFailed,
                        SubIndication::ChainConstraintsFailure,
                        "keyUsage lacks keyCertSign",
                    );
                }
            }

            // A certificate must not outlive its issuer (GM/T 0015; we clamp when issuing).
            if !is_anchor && cert.not_after() > path[i + 1].not_after() {
                report.warn(
                    "validity-nesting",
                    &subj,
                    format!(
                        "notAfter {} is after its issuer's {}",
                        rfc3339(cert.not_after()),
                        rfc3339(path[i + 1].not_after())
                    ),
                );
            }

            // Revocation.
            if !is_anchor {
                valid_until = valid_until.min(self.check_revocation(
                    &mut report,
                    cert,
                    path[i + 1],
                    at,
                    proven,
                    last_known,
                ));
            }
        }
        (report, valid_until)
    }

    /// Revocation from OCSP responses: Some(fresh-until) when one answered.
    fn check_ocsp(
        &self,
        report: &mut VerificationReport,
        cert: &ParsedCert,
        issuer: &ParsedCert,
        at: SystemTime,
        proven: bool,
    ) -> Option<SystemTime> {
        use crate::ocsp::OcspCertStatus;
        let subj = cert.subject();
        // Gather every fresh, authentic answer: a revocation effective at `at`
        // wins, then a hold, then the newest "good".
        let mut answers = Vec::new();
        for der in &self.ocsp {
            let answer = match crate::ocsp::check_response(der, cert, issuer, &self.sm2_id, at) {
                Ok(a) => a,
                Err(crate::Error::NotAbout(_)) => continue,
                Err(e) => {
                    report.warn("revocation", &subj, format!("OCSP response ignored: {e}"));
                    continue;
                }
            };
            // An answer about a certificate that had already expired says
            // nothing reliable (responders may stop tracking expired ones).
            if answer.this_update > cert.not_after() {
                report.warn(
                    "revocation",
                    &subj,
                    format!(
                        "OCSP response of {} was made after the certificate expired; ignored",
                        rfc3339(answer.this_update)
                    ),
                );
                continue;
            }
            // A response produced after `at` is good evidence about `at` (a past signing time).
            let fresh = answer.next_update.is_some_and(|n| at <= n);
            if !fresh {
                report.warn(
                    "revocation",
                    &subj,
                    format!(
                        "OCSP response of {} is not fresh at the validation time; ignored",
                        rfc3339(answer.this_update)
                    ),
                );
                continue;
            }
            answers.push(answer);
        }
        let rank = |a: &crate::ocsp::OcspAnswer| match a.status {
            OcspCertStatus::Revoked {
                reason: Some(6), ..
            } => 1,
            OcspCertStatus::Revoked { at: when, .. } if when <= at => 0,
            _ => 2,
        };
        answers.sort_by(|a, b| {
            rank(a)
                .cmp(&rank(b))
                .then(b.this_update.cmp(&a.this_update))
        });
        if let Some(answer) = answers.into_iter().next() {
            let status = match answer.status {
                OcspCertStatus::Good => record_status(
                    report,
                    &subj,
                    "OCSP",
                    None,
                    at,
                    proven,
                    format!("OCSP: good (produced {})", rfc3339(answer.produced_at)),
                ),
                OcspCertStatus::Revoked { reason, at: when } => record_status(
                    report,
                    &subj,
                    "OCSP",
                    Some((reason, when)),
                    at,
                    proven,
                    String::new(),
                ),
                _ => {
                    report.fail(
                        "revocation",
                        &subj,
                        Indication::Indeterminate,
                        SubIndication::TryLater,
                        "OCSP: the responder does not know this certificate",
                    );
                    "unknown"
                }
            };
            report.add_revocation(RevocationSource {
                subject: subj,
                kind: "ocsp".into(),
                issued_at: rfc3339(answer.produced_at),
                next_update: answer.next_update.map(rfc3339),
                status: status.into(),
            });
            return Some(answer.next_update.unwrap_or(at));
        }
        None
    }

    /// Returns until when the revocation answer stays fresh.
    /// Revocation of `cert`; returns until when this answer may be reused (cached).
    ///
    /// The answer is reused only while nothing could change it: not past the
    /// nextUpdate of the sources used, not past a revocation date that lies after
    /// `at` ("revoked only later"), and not past the thisUpdate of any newer CRL
    /// or OCSP response this validator holds for the issuer.
    fn check_revocation(
        &self,
        report: &mut VerificationReport,
        cert: &ParsedCert,
        issuer: &ParsedCert,
        at: SystemTime,
        proven: bool,
        last_known: bool,
    ) -> SystemTime {
        let mut until = self.check_revocation_inner(report, cert, issuer, at, proven, last_known);
        let issuer_name = issuer.cert().tbs_certificate().subject();
        let serial = hex::decode(cert.serial_hex()).unwrap_or_default();
        for crl in self.crls.iter().filter(|c| c.issuer_name() == issuer_name) {
            if crl.this_update() > at {
                until = until.min(crl.this_update());
            }
            if let CrlEntry::Listed { at: when, .. } = crl.entry(&serial)
                && when > at
            {
                until = until.min(when);
            }
        }
        for der in &self.ocsp {
            match crate::ocsp::check_response(der, cert, issuer, &self.sm2_id, at) {
                Ok(a) => {
                    if a.this_update > at {
                        until = until.min(a.this_update);
                    }
                    if let crate::ocsp::OcspCertStatus::Revoked { at: when, .. } = a.status
                        && when > at
                    {
                        until = until.min(when);
                    }
                    // Any answer fresh now stops being fresh (and its
                    // warning appears) at its next update; a delegated
                    // responder's answer is refused after its certificate ends.
                    if let Some(n) = a.next_update
                        && n >= at
                    {
                        until = until.min(n);
                    }
                    if let Some(end) = a.responder_not_after {
                        until = until.min(end);
                    }
                }
                Err(crate::Error::NotAbout(_)) => {}
                // Refused now (a responder not valid yet, say): it may be
                // accepted later, so this result holds for no longer than now.
                Err(_) => until = until.min(at),
            }
        }
        until
    }

    fn check_revocation_inner(
        &self,
        report: &mut VerificationReport,
        cert: &ParsedCert,
        issuer: &ParsedCert,
        at: SystemTime,
        proven: bool,
        last_known: bool,
    ) -> SystemTime {
        let subj = cert.subject();
        // A revocation held anywhere — even in a stale CRL or OCSP answer —
        // is final.
        if let Some((reason, when, source)) = self.final_revocation(cert, issuer, at) {
            let status = record_status(
                report,
                &subj,
                source,
                Some((reason, when)),
                at,
                proven,
                String::new(),
            );
            report.add_revocation(RevocationSource {
                subject: subj,
                kind: source.to_ascii_lowercase(),
                issued_at: rfc3339(when),
                next_update: None,
                status: status.into(),
            });
            return at;
        }
        let (best, problems) = self.best_crl(cert, issuer, at);
        let ocsp_until = self.check_ocsp(report, cert, issuer, at, proven);
        if let Some(until) = ocsp_until
            && best.is_none()
        {
            return until;
        }
        // With both sources, the CRL is consulted too: revocation is final, so a
        // fresh, authentic "revoked" from either source wins over a "good".
        let Some(crl) = best else {
            if let Some(until) = ocsp_until {
                return until;
            }
            let msg = if problems.is_empty() {
                format!("no CRL from {} was supplied", issuer.subject())
            } else {
                problems.join("; ")
            };
            if last_known {
                return self.last_known_status(report, cert, issuer, at, &msg);
            }
            match self.revocation {
                RevocationPolicy::Require => report.fail(
                    "revocation",
                    &subj,
                    Indication::Indeterminate,
                    SubIndication::TryLater,
                    format!("no fresh revocation information: {msg}"),
                ),
                RevocationPolicy::DangerBestEffort => {
                    report.warn("revocation", &subj, format!("not checked: {msg}"));
                    // Without revocation data the answer only depends on validity:
                    // it may be cached as long as the certificate is valid.
                    return cert.not_after();
                }
            }
            return at;
        };
        let serial = hex::decode(cert.serial_hex()).unwrap_or_default();
        let entry = crl.entry(&serial);
        let next = crl.next_update();
        let listing = match entry {
            CrlEntry::NotListed => None,
            CrlEntry::Listed { reason, at: when } => Some((reason, when)),
        };
        let status = record_status(
            report,
            &subj,
            "CRL",
            listing,
            at,
            proven,
            format!(
                "not listed in the CRL of {} issued {}",
                crl.issuer(),
                rfc3339(crl.this_update())
            ),
        );
        report.add_revocation(RevocationSource {
            subject: subj,
            kind: "crl".into(),
            issued_at: rfc3339(crl.this_update()),
            next_update: next.map(rfc3339),
            status: status.into(),
        });
        let until = next.unwrap_or(at);
        ocsp_until.map_or(until, |o| until.min(o))
    }

    /// For the latest proof of existence, when nothing fresh answers: the
    /// newest authentic CRL or OCSP answer however old (a "good" holds as of
    /// its issue, with a warning; revocations were taken as final before),
    /// else INDETERMINATE (TRY_LATER) — no revocation data at all is not
    /// evidence of anything.
    fn last_known_status(
        &self,
        report: &mut VerificationReport,
        cert: &ParsedCert,
        issuer: &ParsedCert,
        at: SystemTime,
        why_not_fresh: &str,
    ) -> SystemTime {
        let subj = cert.subject();
        let known_as_of = |report: &mut VerificationReport, subj: &str, t: SystemTime| {
            report.warn(
                "revocation",
                subj,
                format!(
                    "the latest proof's certificate: revocation known only as of {} \
                     (nothing fresher is held: {why_not_fresh})",
                    rfc3339(t)
                ),
            )
        };
        let issuer_name = issuer.cert().tbs_certificate().subject();
        let newest = self
            .crls
            .iter()
            .filter(|c| c.issuer_name() == issuer_name && c.this_update() <= at)
            .filter(|c| self.crl_refusal(c, cert, issuer).is_none())
            .max_by_key(|c| c.this_update());
        let newest_ocsp = self
            .ocsp
            .iter()
            .filter_map(|d| {
                crate::ocsp::check_response_as_produced(d, cert, issuer, &self.sm2_id).ok()
            })
            .filter(|a| a.this_update <= at && a.this_update <= cert.not_after())
            .max_by_key(|a| a.this_update);
        if let Some(a) = newest_ocsp
            && newest.is_none_or(|c| a.this_update > c.this_update())
        {
            use crate::ocsp::OcspCertStatus;
            let status = match a.status {
                OcspCertStatus::Good => {
                    report.pass(
                        "revocation",
                        &subj,
                        format!(
                            "OCSP: good (produced {}, the newest held)",
                            rfc3339(a.produced_at)
                        ),
                    );
                    known_as_of(report, &subj, a.this_update);
                    "good"
                }
                OcspCertStatus::Revoked { reason, at: when } => record_status(
                    report,
                    &subj,
                    "OCSP",
                    Some((reason, when)),
                    at,
                    false,
                    String::new(),
                ),
                _ => {
                    report.fail(
                        "revocation",
                        &subj,
                        Indication::Indeterminate,
                        SubIndication::TryLater,
                        "the latest proof's certificate: the newest OCSP answer held says unknown",
                    );
                    "unknown"
                }
            };
            report.add_revocation(RevocationSource {
                subject: subj,
                kind: "ocsp".into(),
                issued_at: rfc3339(a.produced_at),
                next_update: a.next_update.map(rfc3339),
                status: status.into(),
            });
            return at;
        }
        let Some(crl) = newest else {
            let msg = format!(
                "the latest proof's certificate: no revocation information at all \
                 ({why_not_fresh}); its status cannot be known"
            );
            match self.revocation {
                RevocationPolicy::Require => report.fail(
                    "revocation",
                    &subj,
                    Indication::Indeterminate,
                    SubIndication::TryLater,
                    msg,
                ),
                RevocationPolicy::DangerBestEffort => report.warn("revocation", &subj, msg),
            }
            return at;
        };
        let serial = hex::decode(cert.serial_hex()).unwrap_or_default();
        let listing = match crl.entry(&serial) {
            CrlEntry::NotListed => None,
            CrlEntry::Listed { reason, at: when } => Some((reason, when)),
        };
        let status = record_status(
            report,
            &subj,
            "CRL",
            listing,
            at,
            false,
            format!(
                "not listed in the CRL of {} issued {} (the newest held)",
                crl.issuer(),
                rfc3339(crl.this_update())
            ),
        );
        if status == "good" {
            known_as_of(report, &subj, crl.this_update());
        }
        report.add_revocation(RevocationSource {
            subject: subj,
            kind: "crl".into(),
            issued_at: rfc3339(crl.this_update()),
            next_update: crl.next_update().map(rfc3339),
            status: status.into(),
        });
        at
    }

    /// Why `crl` is not authentic revocation data of `issuer`, if it is not:
    /// its signature, its scope, the issuer's cRLSign.
    fn crl_inauthentic(&self, crl: &Crl, issuer: &ParsedCert) -> Option<String> {
        if let Err(e) = crl.verify_signature(issuer, &self.sm2_id) {
            return Some(format!("CRL signature does not verify: {e}"));
        }
        if let Err(why) = crl.complete_scope() {
            return Some(format!("CRL not usable as a complete CRL: {why}"));
        }
        if let Some(ku) = extension::<KeyUsage>(issuer)
            && !ku.0.contains(KeyUsages::CRLSign)
        {
            return Some(format!(
                "{} may not sign CRLs (keyUsage lacks cRLSign)",
                issuer.subject()
            ));
        }
        None
    }

    /// Why `crl` cannot vouch that `cert` was *not* revoked, if it cannot:
    /// not authentic ([`crl_inauthentic`](Self::crl_inauthentic)), or issued
    /// after the certificate expired — expired certificates drop off CRLs
    /// (RFC 5280 §3.3), so its silence proves nothing unless its
    /// expiredCertsOnCRL says it kept them. (A revocation it lists still
    /// counts: [`final_revocation`](Self::final_revocation).)
    fn crl_refusal(&self, crl: &Crl, cert: &ParsedCert, issuer: &ParsedCert) -> Option<String> {
        if let Some(why) = self.crl_inauthentic(crl, issuer) {
            return Some(why);
        }
        if crl.this_update() > cert.not_after()
            && crl
                .expired_certs_on_crl()
                .is_none_or(|kept| kept > cert.not_after())
        {
            return Some(format!(
                "CRL issued {} after the certificate expired ({}): expired certificates drop \
                 off CRLs, so it says nothing about this one",
                rfc3339(crl.this_update()),
                rfc3339(cert.not_after())
            ));
        }
        None
    }

    /// The newest CRL of `issuer` that can speak for `cert`
    /// ([`crl_refusal`](Self::crl_refusal)) and is not stale at `at` (a CRL
    /// issued after `at` is good evidence about `at`: validating a past
    /// signing time uses later CRLs), with the reasons others were rejected.
    fn best_crl(
        &self,
        cert: &ParsedCert,
        issuer: &ParsedCert,
        at: SystemTime,
    ) -> (Option<&Crl>, Vec<String>) {
        let issuer_name = issuer.cert().tbs_certificate().subject();
        let mut best: Option<&Crl> = None;
        let mut problems = Vec::new();
        for crl in self.crls.iter().filter(|c| c.issuer_name() == issuer_name) {
            if let Some(why) = self.crl_refusal(crl, cert, issuer) {
                problems.push(why);
                continue;
            }
            if crl.next_update().is_some_and(|n| n < at) {
                problems.push(format!(
                    "CRL is stale: nextUpdate {}",
                    crl.next_update().map(rfc3339).unwrap_or_default()
                ));
                continue;
            }
            if best.is_none_or(|b| crl.this_update() > b.this_update()) {
                best = Some(crl);
            }
        }
        (best, problems)
    }

    /// A revocation of `cert` that any authentic source holds — fresh or
    /// not: revocation is final — effective at or before `at`, or for a key
    /// compromise at any time: (reason, when, source). Holds are not final
    /// and are left to the fresh sources.
    fn final_revocation(
        &self,
        cert: &ParsedCert,
        issuer: &ParsedCert,
        at: SystemTime,
    ) -> Option<(Option<u8>, SystemTime, &'static str)> {
        let counts = |reason: Option<u8>, when: SystemTime| {
            reason != Some(6) && (when <= at || matches!(reason, Some(1 | 2 | 10)))
        };
        let issuer_name = issuer.cert().tbs_certificate().subject();
        let serial = hex::decode(cert.serial_hex()).unwrap_or_default();
        let mut found: Vec<(Option<u8>, SystemTime, &'static str)> = Vec::new();
        for crl in self.crls.iter().filter(|c| c.issuer_name() == issuer_name) {
            if let CrlEntry::Listed { reason, at: when } = crl.entry(&serial)
                && counts(reason, when)
                && self.crl_inauthentic(crl, issuer).is_none()
            {
                found.push((reason, when, "CRL"));
            }
        }
        for der in &self.ocsp {
            if let Ok(a) = crate::ocsp::check_response_as_produced(der, cert, issuer, &self.sm2_id)
                && let crate::ocsp::OcspCertStatus::Revoked { reason, at: when } = a.status
                && counts(reason, when)
            {
                found.push((reason, when, "OCSP"));
            }
        }
        // A revocation effective by `at` (TOTAL_FAILED when proven) before a
        // compromise dated later (INDETERMINATE).
        found.sort_by_key(|(_, when, _)| (*when > at, *when));
        found.into_iter().next()
    }
}

/// Record what a revocation source says about one certificate: `listing` is
/// `None` for "good", else (reason, revocation time). certificateHold (6) is
/// INDETERMINATE/REVOKED_ON_HOLD; a revocation at or before the validation time
/// is TOTAL_FAILED/REVOKED; a later one does not affect this validation.
fn record_status(
    report: &mut VerificationReport,
    subj: &str,
    source: &str,
    listing: Option<(Option<u8>, SystemTime)>,
    at: SystemTime,
    proven: bool,
    good_message: String,
) -> &'static str {
    match listing {
        None => {
            report.pass("revocation", subj, good_message);
            "good"
        }
        Some((Some(6), when)) => {
            report.fail(
                "revocation",
                subj,
                Indication::Indeterminate,
                SubIndication::RevokedOnHold,
                format!(
                    "{source}: on hold (certificateHold) since {}",
                    rfc3339(when)
                ),
            );
            "hold"
        }
        // keyCompromise, cACompromise and aACompromise after the proven time:
        // the key may have been in other hands before the revocation was
        // dated, so even a proven earlier signature cannot be decided.
        Some((reason @ Some(1 | 2 | 10), when)) if proven && when > at => {
            report.fail(
                "revocation",
                subj,
                Indication::Indeterminate,
                SubIndication::RevokedNoPoe,
                format!(
                    "{source}: revoked at {} for {} — after the proven time, but a \
                     compromised key may have signed before its revocation was dated",
                    rfc3339(when),
                    reason.map(reason_name).unwrap_or("compromise")
                ),
            );
            "revoked"
        }
        Some((reason, when)) if when <= at || matches!(reason, Some(1 | 2 | 10)) => {
            let reason = reason.map(reason_name).unwrap_or("no reason given");
            if proven {
                report.fail(
                    "revocation",
                    subj,
                    Indication::TotalFailed,
                    SubIndication::Revoked,
                    format!("{source}: revoked at {} ({reason})", rfc3339(when)),
                );
            } else {
                report.fail(
                    "revocation",
                    subj,
                    Indication::Indeterminate,
                    SubIndication::RevokedNoPoe,
                    format!(
                        "{source}: revoked at {} ({reason}); nothing proves the signature \
                         was made before (no time stamp, no log entry)",
                        rfc3339(when)
                    ),
                );
            }
            "revoked"
        }
        Some((_, when)) => {
            report.pass(
                "revocation",
                subj,
                format!("{source}: revoked only later, at {}", rfc3339(when)),
            );
            "good"
        }
    }
}

fn extension<T: AssociatedOid + for<'a> Decode<'a>>(cert: &ParsedCert) -> Option<T> {
    let exts = cert.cert().tbs_certificate().extensions()?;
    let e = exts.iter().find(|e| e.extn_id == T::OID)?;
    T::from_der(e.extn_value.as_bytes()).ok()
}

fn check_signature(
    cert: &ParsedCert,
    issuer: &ParsedCert,
    id: &Sm2Id,
) -> Result<SignatureAlgorithm, (SubIndication, String)> {
    let (alg, sig) = cert.signature().map_err(|e| {
        (
            SubIndication::CryptoConstraintsFailure,
            format!("signature algorithm: {e}"),
        )
    })?;
    let key = issuer.public_key().ok_or((
        SubIndication::CryptoConstraintsFailure,
        format!(
            "the key of {} uses an unsupported algorithm",
            issuer.subject()
        ),
    ))?;
    key.with_sm2_id(id.clone())
        .verify(alg, cert.tbs_bytes(), sig)
        .map(|()| alg)
        .map_err(|e| {
            let sub = if e.is_verification_failure() {
                SubIndication::SigCryptoFailure
            } else {
                SubIndication::CryptoConstraintsFailure
            };
            (
                sub,
                format!("signature by {} does not verify: {e}", issuer.subject()),
            )
        })
}
