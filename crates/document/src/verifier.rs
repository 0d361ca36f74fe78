//! One road to a verdict. Every front end (the verify API, `yinzheng verify`,
//! `yinzheng license check`, the offline auditor, the facade crate) builds a
//! [`TrustContext`] once and hands it bytes; the format is recognised here,
//! once ([`Format::sniff`]), and the matching verifier fills one
//! [`VerificationReport`]. The same input and the same trust give the same
//! report, whoever asks.

use crate::error::{Error, Result};
use crate::signed_data::CmsVerifyContext;
use crate::verdict_cache::{Recorder, VerdictCache, VerdictCacheLimits, VerdictKey};
use std::time::SystemTime;
use yinzheng_crypto::Sm2Id;
use yinzheng_pki::{ParsedCert, Validator, VerificationReport};
use yinzheng_seal::MakerTrust;
use yinzheng_seal::SealStatusSource;

/// Who may make seals (制章者), owned by a [`TrustContext`].
#[derive(Default)]
#[non_exhaustive]
pub enum MakerPolicy {
    /// The maker certificate carries Yinzheng's seal-maker policy and chains
    /// to the context's anchors (the default).
    #[default]
    Policy,
    /// The maker certificate chains to these anchors (a CA for seal makers only).
    Anchors(Box<Validator>),
    /// Any certificate under the anchors may make seals (PKIs that do not mark
    /// makers); every report carries a warning.
    DangerAny,
}

impl std::fmt::Debug for MakerPolicy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            MakerPolicy::Policy => "Policy",
            MakerPolicy::Anchors(_) => "Anchors",
            MakerPolicy::DangerAny => "DangerAny",
        })
    }
}

/// At what time signatures are judged.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum ValidationTime {
    /// Nothing proves when the input existed: a CMS signature without a
    /// verified time stamp is judged now, a seal signature as its format
    /// verifier judges it without proof.
    #[default]
    Unproven,
    /// The input is proven to have existed at this time (a verified log
    /// inclusion, an evidence bundle's checkpoint): signatures without a time
    /// stamp are judged at it.
    ProvenAt(SystemTime),
}

impl ValidationTime {
    fn proven(self) -> Option<SystemTime> {
        match self {
            ValidationTime::Unproven => None,
            ValidationTime::ProvenAt(t) => Some(t),
        }
    }
}

/// The kinds of input the pipeline recognises.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Format {
    /// A PDF with signatures (PAdES / CMS, or a bare seal signature in `/Contents`).
    Pdf,
    /// An OFD package (GB/T 33190) with seal or GB/T 35275 signatures.
    Ofd,
    /// A CMS SignedData (`.p7s`, GB/T 35275) over detached data.
    DetachedCms,
    /// A GB/T 38540 / GM/T 0031 seal signature (`SES_Signature`).
    SealSignature,
    /// A seal (`SES_Seal`): the maker's signature over the seal.
    Seal,
    /// A Yinzheng evidence bundle (a zip with `manifest.json`): only the
    /// offline auditor (`yinzheng-audit verify`) holds the log keys it needs.
    EvidenceBundle,
}

impl Format {
    /// Recognise `bytes` by content, never by file name. `None`: none of these.
    pub fn sniff(bytes: &[u8]) -> Option<Format> {
        if bytes.starts_with(b"PK\x03\x04") {
            let zip = zip::ZipArchive::new(std::io::Cursor::new(bytes)).ok();
            let has = |name: &str| {
                zip.as_ref()
                    .is_some_and(|z| z.index_for_name(name).is_some())
            };
            // A package without OFD.xml is still read as OFD, so the report
            // says what is missing.
            return Some(if !has("OFD.xml") && has("manifest.json") {
                Format::EvidenceBundle
            } else {
                Format::Ofd
            });
        }
        // Viewers accept a PDF header anywhere in the first KiB.
        if bytes
            .get(..1024)
            .unwrap_or(bytes)
            .windows(5)
            .any(|w| w == b"%PDF-")
        {
            return Some(Format::Pdf);
        }
        if yinzheng_cms::SignedData::parse(bytes).is_ok() {
            return Some(Format::DetachedCms);
        }
        if yinzheng_seal::SealSignature::parse(bytes).is_ok() {
            return Some(Format::SealSignature);
        }
        if yinzheng_seal::Seal::parse(bytes).is_ok() {
            return Some(Format::Seal);
        }
        None
    }

    /// A short name for reports and answers (`pdf`, `ofd`, `detached-cms`, …).
    pub fn name(self) -> &'static str {
        match self {
            Format::Pdf => "pdf",
            Format::Ofd => "ofd",
            Format::DetachedCms => "detached-cms",
            Format::SealSignature => "seal-signature",
            Format::Seal => "seal",
            Format::EvidenceBundle => "evidence-bundle",
        }
    }
}

impl std::fmt::Display for Format {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// What a verification is asked besides the bytes.
#[derive(Clone, Copy, Default)]
pub struct VerifyRequest<'a> {
    /// The data a detached signature (CMS or seal signature) protects.
    pub detached: Option<&'a [u8]>,
    /// Our seal registry, to report the status of seals made here.
    pub seals: Option<&'a dyn SealStatusSource>,
    /// At what time signatures are judged.
    pub time: ValidationTime,
    /// Stop between signatures once this instant has passed
    /// ([`Error::DeadlinePassed`]): a server whose request timed out does
    /// not go on verifying for nobody.
    pub deadline: Option<std::time::Instant>,
    /// An OFD package may inflate to at most this many bytes in all
    /// (`None`: [`crate::MAX_PACKAGE_LEN`]); a server sets it so memory stays
    /// within concurrent verifications × (upload + this).
    pub max_inflated: Option<u64>,
    /// The file already hashed whole with saved states (of exactly the bytes
    /// verified; ignored otherwise): a PDF's `/ByteRange` digest resumes from
    /// it instead of hashing the signed bytes again.
    pub file_sm3: Option<&'a yinzheng_crypto::Sm3Prefixes<'a>>,
}

/// A verdict and what it was about.
#[derive(Clone, Debug)]
pub struct Verified {
    /// The format recognised.
    pub format: Format,
    /// Every check, with the indication.
    pub report: VerificationReport,
}

/// What a verifier trusts, built once and shared by every verification:
/// anchors with their revocation data and policy, intermediates (path
/// building only), who may make seals, the signers' SM2 ID.
pub struct TrustContext {
    validator: Validator,
    intermediates: Vec<ParsedCert>,
    makers: MakerPolicy,
    sm2_id: Option<Sm2Id>,
    pdf_changes: crate::PdfChangePolicy,
    verdicts: Option<VerdictCache>,
}

impl std::fmt::Debug for TrustContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TrustContext")
            .field("intermediates", &self.intermediates.len())
            .field("makers", &self.makers)
            .field("pdf_changes", &self.pdf_changes)
            .field("verdicts", &self.verdicts)
            .finish_non_exhaustive()
    }
}

impl TrustContext {
    /// Trust `validator`'s anchors (with its CRLs, OCSP and revocation
    /// policy); seal makers by the seal-maker policy; the default SM2 ID.
    pub fn new(validator: Validator) -> Self {
        TrustContext {
            validator,
            intermediates: Vec::new(),
            makers: MakerPolicy::Policy,
            sm2_id: None,
            pdf_changes: crate::PdfChangePolicy::default(),
            verdicts: None,
        }
    }

    /// Remember passing verdicts of whole PDFs and OFD packages judged now,
    /// by the file's SM3 ([`VerifyRequest::file_sm3`]), within `limits`:
    /// the same file checked again, while nothing its verdict rests on has
    /// changed, is answered without verifying it again ([`VerdictCache`]
    /// says what is checked on every hit). Off by default. Set it last: a
    /// change of anchors, CRLs or policy through a `with_` method starts an
    /// empty cache.
    #[must_use]
    pub fn with_verdict_cache(mut self, limits: VerdictCacheLimits) -> Self {
        self.verdicts = Some(VerdictCache::new(limits));
        self
    }

    /// The verdict cache, when on.
    pub fn verdict_cache(&self) -> Option<&VerdictCache> {
        self.verdicts.as_ref()
    }

    /// A new, empty verdict cache with the same limits (trust changed).
    fn forget_verdicts(&mut self) {
        if let Some(c) = &self.verdicts {
            self.verdicts = Some(VerdictCache::new(c.limits()));
        }
    }

    /// Intermediate CA certificates that help build paths (never trusted on their own).
    #[must_use]
    pub fn with_intermediates(mut self, intermediates: Vec<ParsedCert>) -> Self {
        self.intermediates = intermediates;
        self.forget_verdicts();
        self
    }

    /// Who may make seals.
    #[must_use]
    pub fn with_makers(mut self, makers: MakerPolicy) -> Self {
        self.makers = makers;
        self.forget_verdicts();
        self
    }

    /// The signers' SM2 distinguishing ID (default `1234567812345678`).
    #[must_use]
    pub fn with_sm2_id(mut self, id: Option<Sm2Id>) -> Self {
        self.sm2_id = id;
        self.forget_verdicts();
        self
    }

    /// Which changes a PDF may carry after a signature (default: only what
    /// keeps the signed page content as it was signed: DSS, later signatures
    /// and their fields; no new annotations).
    #[must_use]
    pub fn with_pdf_changes(mut self, policy: crate::PdfChangePolicy) -> Self {
        self.pdf_changes = policy;
        self.forget_verdicts();
        self
    }

    /// The PDF change policy in force.
    pub fn pdf_changes(&self) -> &crate::PdfChangePolicy {
        &self.pdf_changes
    }

    /// The anchors, revocation data and policy.
    pub fn validator(&self) -> &Validator {
        &self.validator
    }

    /// The intermediates.
    pub fn intermediates(&self) -> &[ParsedCert] {
        &self.intermediates
    }

    /// Who may make seals, as the seal verifier takes it.
    pub fn makers(&self) -> MakerTrust<'_> {
        match &self.makers {
            MakerPolicy::Policy => MakerTrust::Policy,
            MakerPolicy::Anchors(v) => MakerTrust::Anchors(v),
            MakerPolicy::DangerAny => MakerTrust::DangerAny,
        }
    }

    /// The context for a CMS signature check.
    pub fn cms_context<'a>(
        &'a self,
        seals: Option<&'a dyn SealStatusSource>,
    ) -> CmsVerifyContext<'a> {
        CmsVerifyContext {
            validator: &self.validator,
            intermediates: &self.intermediates,
            makers: self.makers(),
            registry: seals,
            sm2_id: self.sm2_id.clone(),
            deadline: None,
        }
    }

    /// Recognise `bytes` and verify them. A document that was read always
    /// gets `Ok` with a report (TOTAL_FAILED and INDETERMINATE included);
    /// `Err` means the input is none of the formats, cannot be read at all,
    /// or the request does not fit it (detached data for a PDF, none for a
    /// detached CMS, an evidence bundle).
    pub fn verify(&self, bytes: &[u8], req: &VerifyRequest<'_>) -> Result<Verified> {
        let format = Format::sniff(bytes).ok_or_else(|| {
            Error::Format(
                "neither a PDF, an OFD package, a CMS signature, a seal signature nor a seal"
                    .into(),
            )
        })?;
        let report = self.verify_as(format, bytes, req)?;
        Ok(Verified { format, report })
    }

    /// [`verify`](Self::verify) for a format already recognised.
    pub fn verify_as(
        &self,
        format: Format,
        bytes: &[u8],
        req: &VerifyRequest<'_>,
    ) -> Result<VerificationReport> {
        // Every field named: one added later must be thought about here.
        let VerifyRequest {
            detached,
            seals,
            time,
            deadline: _,
            max_inflated,
            file_sm3,
        } = *req;
        let (Some(cache), Format::Pdf | Format::Ofd, ValidationTime::Unproven, None, Some(file)) =
            (&self.verdicts, format, time, detached, file_sm3)
        else {
            return self.verify_afresh(format, bytes, req);
        };
        if !std::ptr::eq(file.bytes(), bytes) {
            return self.verify_afresh(format, bytes, req);
        }
        let key = VerdictKey::new(
            format,
            file.digest(),
            bytes.len(),
            seals.is_some(),
            max_inflated,
        );
        let before = self.validator.now();
        if let Some(report) = cache.get(&key, before, seals) {
            return Ok(report);
        }
        let recorder = seals.map(Recorder::new);
        let recorded = VerifyRequest {
            seals: recorder.as_ref().map(|r| r as &dyn SealStatusSource),
            ..*req
        };
        let report = self.verify_afresh(format, bytes, &recorded)?;
        // The window starts when the last check ran: after them all (the
        // later of the two readings, should the clock step back meanwhile).
        let made = self.validator.now().max(before);
        let answers = recorder.map(Recorder::into_answers).unwrap_or_default();
        cache.put(key, &report, made, answers);
        Ok(report)
    }

    /// [`verify_as`](Self::verify_as) without the verdict cache.
    fn verify_afresh(
        &self,
        format: Format,
        bytes: &[u8],
        req: &VerifyRequest<'_>,
    ) -> Result<VerificationReport> {
        let proven = req.time.proven();
        let no_detached = |what: &str| -> Result<()> {
            match req.detached {
                Some(_) => Err(Error::Format(format!(
                    "{what} carries what it protects: no separate data is taken"
                ))),
                None => Ok(()),
            }
        };
        match format {
            Format::Pdf => {
                no_detached("a PDF")?;
                let ctx = CmsVerifyContext {
                    deadline: req.deadline,
                    ..self.cms_context(req.seals)
                };
                crate::pdf_seal::verify_pdf_inner(
                    bytes,
                    &ctx,
                    &self.pdf_changes,
                    proven,
                    req.file_sm3,
                )
            }
            Format::Ofd => {
                no_detached("an OFD package")?;
                let (v, m, i, s) = (
                    &self.validator,
                    self.makers(),
                    &self.intermediates,
                    req.seals,
                );
                let bounds = crate::ofd::ReadBounds {
                    deadline: req.deadline,
                    max_inflated: req.max_inflated.unwrap_or(crate::MAX_PACKAGE_LEN),
                };
                crate::ofd::verify_ofd_inner(bytes, v, m, i, s, proven, bounds)
            }
            Format::DetachedCms => {
                let data = req.detached.ok_or_else(|| {
                    Error::Format(
                        "a detached CMS signature needs the signed data (the file it signs)".into(),
                    )
                })?;
                let ctx = self.cms_context(req.seals);
                Ok(match proven {
                    Some(p) => crate::verify_detached_cms_at(bytes, &[data], &ctx, p),
                    None => crate::verify_detached_cms(bytes, &[data], &ctx),
                })
            }
            Format::SealSignature => {
                let sig = yinzheng_seal::SealSignature::parse(bytes)?;
                let opts = yinzheng_seal::VerifyOptions {
                    validator: &self.validator,
                    intermediates: &self.intermediates,
                    registry: req.seals,
                    makers: self.makers(),
                    data: req.detached.map(Into::into),
                };
                Ok(match proven {
                    Some(p) => yinzheng_seal::verify_signature_at(&sig, &opts, p),
                    None => yinzheng_seal::verify_signature(&sig, &opts),
                })
            }
            Format::Seal => {
                no_detached("a seal")?;
                let seal = yinzheng_seal::Seal::parse(bytes)?;
                Ok(yinzheng_seal::verify_seal(
                    &seal,
                    &self.validator,
                    self.makers(),
                    &self.intermediates,
                    proven.unwrap_or_else(|| self.validator.now()),
                ))
            }
            Format::EvidenceBundle => Err(Error::Format(
                "this is an evidence bundle: verify it offline with `yinzheng-audit verify`, \
                 which holds the log keys it needs"
                    .into(),
            )),
        }
    }
}
