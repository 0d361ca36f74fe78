//! OFD (GB/T 33190) packages sealed per GB/T 38540 (`Type="Seal"`) or signed
//! per GB/T 35275 (`Type="Sign"`): read the package, find the one document and
//! its signatures through OFD.xml → DocBody → Signatures.xml → Signature.xml,
//! verify each Reference over the raw bytes of the file it names, then the
//! signature (a seal signature's dataHash covers the raw Signature.xml bytes).
//!
//! **What must be signed: what is displayed.** Real signers (tax e-invoices,
//! bank receipts, rail tickets, ofdrw) protect the document's files and not
//! the package's bookkeeping, so the rule is that the reader's view of the
//! document OFD.xml names is covered and unchanged:
//!
//! - The package is one ZIP every reader reads alike (local headers agree with
//!   the central directory, no bytes outside entries, no duplicate names), or
//!   it is refused with [`crate::ZipError`] (`zip_check`).
//! - OFD.xml has exactly one `DocBody` with one `DocRoot`; the `Signatures`
//!   list used is that DocBody's. Else FORMAT_FAILURE.
//! - Every part displayed for that document ([`DisplayedParts`]: Document.xml,
//!   resources and their fonts and images, templates, pages, annotations,
//!   visible attachments) exists (else FORMAT_FAILURE naming it) and is
//!   referenced by at least one signature (else SIG_CONSTRAINTS_FAILURE naming
//!   it); each signature must reference that Document.xml, or it does not sign
//!   this document (SIG_CONSTRAINTS_FAILURE: e.g. DocRoot re-pointed to a copy).
//! - Every Reference matches the raw bytes of its part, displayed or not
//!   (HASH_FAILURE naming the part; a referenced part that is gone too).
//! - A seal file beside a signature (`<Seal><BaseLoc>`, or an `.esl` in the
//!   signature's own folder) must hold the seal inside the signed value (same
//!   esID, picture and maker signature), since readers draw the stamp from it;
//!   a different seal fails (SIG_CONSTRAINTS_FAILURE naming the file), a
//!   byte-identical unprotected copy is a warning.
//! - Unprotected but not displayed: OFD.xml (its DocInfo is metadata), hidden
//!   attachments, custom tags, extensions, stray files: warnings. The
//!   signatures' own Signature.xml and SignedValue.dat and the Signatures list
//!   (which must stay open for later signatures) are the signatures: no finding.
//!
//! The report's sub-indication is the gravest finding (see
//! [`yinzheng_pki::SubIndication::rank`]): a changed page is HASH_FAILURE even
//! when a coverage rule failed as well.

mod coverage;
mod displayed;
mod zip_check;

pub use displayed::DisplayedParts;

use crate::error::{Error, Result, ZipError, ZipFault};
use crate::xml::{self, Element};
use std::collections::BTreeMap;
use std::io::Read;
use yinzheng_crypto::DigestAlgorithm;
use yinzheng_pki::{Indication, ParsedCert, SubIndication, Validator, VerificationReport};
use yinzheng_seal::{SealSignature, VerifyOptions};

/// Limits for reading a package (zip bombs, huge files).
pub const MAX_PACKAGE_ENTRIES: usize = 10_000;
/// Largest single part, uncompressed.
pub const MAX_PART_LEN: u64 = 64 << 20;
/// Largest package, uncompressed in total.
pub const MAX_PACKAGE_LEN: u64 = 512 << 20;
/// Most signatures verified in one OFD package.
pub const MAX_OFD_SIGNATURES: usize = 64;

/// An OFD package read into memory: part name (no leading `/`) → bytes.
pub struct OfdPackage {
    parts: BTreeMap<String, Vec<u8>>,
}

/// One signature of a package.
#[derive(Clone, Debug)]
pub struct OfdSignature {
    /// `ID` in Signatures.xml.
    pub id: String,
    /// `Type`: `Seal` (GB/T 38540) or `Sign` (GB/T 35275).
    pub kind: String,
    /// The Signatures.xml part that lists this signature.
    pub list: String,
    /// The Signature.xml part.
    pub signature_xml: String,
    /// The signed-value part.
    pub signed_value: String,
    /// (part, digest) for every Reference, with the CheckMethod.
    pub references: Vec<(String, Vec<u8>)>,
    /// The digest algorithm of the References.
    pub check_method: DigestAlgorithm,
    /// The seal file `<Seal><BaseLoc>` names, resolved (as written, without a
    /// leading `/`, when it names no part); `None` without one.
    pub seal_file: Option<String>,
}

/// OFD.xml's one `DocBody`: the document and its signature list.
pub(crate) struct DocBody {
    /// The Document.xml part `DocRoot` names.
    pub(crate) document: String,
    /// The `Signatures` location as written, if any.
    pub(crate) signatures: Option<String>,
    /// The `Versions/Version@BaseLoc` locations.
    pub(crate) versions: Vec<String>,
}

impl OfdPackage {
    /// Read a package (a zip file) from bytes, within the limits above. The ZIP
    /// structure is checked first (see the module doc): a package two readers
    /// could read differently is refused with [`Error::Zip`].
    pub fn read(bytes: &[u8]) -> Result<Self> {
        Self::read_within(bytes, MAX_PACKAGE_LEN, None)
    }

    /// [`read`](Self::read) with a budget: the parts inflate to at most
    /// `max_inflated` bytes in all (a package declaring more is refused
    /// before anything is inflated, and no part inflates past its declared
    /// size), and reading stops between parts once `deadline` has passed
    /// ([`Error::DeadlinePassed`]). A server bounds its memory with this:
    /// concurrent verifications × (upload + budget).
    pub fn read_within(
        bytes: &[u8],
        max_inflated: u64,
        deadline: Option<std::time::Instant>,
    ) -> Result<Self> {
        let budget = max_inflated.min(MAX_PACKAGE_LEN);
        let dir = zip_check::check(bytes, MAX_PACKAGE_ENTRIES)?;
        let zip_err = |entry: &str, offset: u64, fault: ZipFault| ZipError {
            entry: entry.to_string(),
            offset,
            fault,
        };
        let declared = dir
            .entries
            .iter()
            .fold(0u64, |sum, e| sum.saturating_add(e.size));
        if declared > budget {
            return Err(zip_err("package", 0, ZipFault::TooLarge(budget)).into());
        }
        let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes))
            .map_err(|e| zip_err("central directory", 0, ZipFault::Data(e.to_string())))?;
        // The zip crate must see the directory just checked (it keeps only the
        // last of two equal names; there are none now).
        if zip.len() != dir.entries.len() {
            return Err(zip_err(
                "central directory",
                0,
                ZipFault::Unsupported(format!(
                    "the ZIP reader sees {} entries, the directory holds {}",
                    zip.len(),
                    dir.entries.len()
                )),
            )
            .into());
        }
        let mut parts = BTreeMap::new();
        for (i, entry) in dir.entries.iter().enumerate() {
            if deadline.is_some_and(|d| std::time::Instant::now() >= d) {
                return Err(Error::DeadlinePassed(format!(
                    "reading the package, before part {i}"
                )));
            }
            let shown = entry.display_name();
            let at = entry.local_offset;
            let mut f = zip
                .by_index(i)
                .map_err(|e| zip_err(&shown, at, ZipFault::Data(e.to_string())))?;
            if f.name_raw() != entry.name_raw.as_slice()
                || f.header_start() != entry.local_offset
                || f.central_header_start() != entry.central_offset
            {
                return Err(zip_err(
                    &shown,
                    at,
                    ZipFault::Unsupported("the ZIP reader disagrees with the directory".into()),
                )
                .into());
            }
            if f.is_dir() {
                continue;
            }
            let raw_name = f.name().to_string();
            let name = raw_name.trim_start_matches('/').to_string();
            // Names a viewer could resolve differently from us are refused.
            if name.is_empty()
                || name.contains('\\')
                || name
                    .split('/')
                    .any(|seg| seg.is_empty() || seg == ".." || seg == ".")
            {
                return Err(zip_err(&raw_name, at, ZipFault::AmbiguousName).into());
            }
            if entry.size > MAX_PART_LEN {
                return Err(zip_err(&name, at, ZipFault::TooLarge(MAX_PART_LEN)).into());
            }
            // The declared total is within the budget (checked above), so the
            // declared size is reserved exactly (plus the byte that shows a
            // lie): a growing Vec would double past it. No part inflates
            // past its declared size, so the declared total bounds the work
            // and the memory.
            let mut data = Vec::new();
            data.try_reserve_exact(entry.size as usize + 1)
                .map_err(|e| zip_err(&name, at, ZipFault::Data(e.to_string())))?;
            (&mut f)
                .take(entry.size + 1)
                .read_to_end(&mut data)
                .map_err(|e| zip_err(&name, at, ZipFault::Data(e.to_string())))?;
            if data.len() as u64 != entry.size {
                return Err(zip_err(
                    &name,
                    at,
                    ZipFault::SizeMismatch {
                        declared: entry.size,
                        actual: data.len() as u64,
                    },
                )
                .into());
            }
            if parts.insert(name.clone(), data).is_some() {
                return Err(zip_err(&name, at, ZipFault::DuplicateName(raw_name)).into());
            }
        }
        Ok(OfdPackage { parts })
    }

    /// The part names.
    pub fn part_names(&self) -> impl Iterator<Item = &str> {
        self.parts.keys().map(String::as_str)
    }

    /// The bytes of part `name` (leading `/` ignored).
    pub fn part(&self, name: &str) -> Option<&[u8]> {
        self.parts
            .get(name.trim_start_matches('/'))
            .map(Vec::as_slice)
    }

    /// Resolve `loc` as producers write it: absolute from the package root, or
    /// relative to `base_dir`, or relative to the root.
    pub(crate) fn resolve(&self, base_dir: &str, loc: &str) -> Option<String> {
        let loc = loc.trim();
        if let Some(abs) = loc.strip_prefix('/') {
            let abs = normalise(abs);
            return self.parts.contains_key(&abs).then_some(abs);
        }
        let joined = if base_dir.is_empty() {
            loc.to_string()
        } else {
            format!("{base_dir}/{loc}")
        };
        let joined = normalise(&joined);
        if self.parts.contains_key(&joined) {
            return Some(joined);
        }
        let rooted = normalise(loc);
        self.parts.contains_key(&rooted).then_some(rooted)
    }

    pub(crate) fn xml(&self, name: &str) -> Result<Element> {
        let b = self
            .part(name)
            .ok_or_else(|| Error::Format(format!("part {name} is missing")))?;
        xml::parse(b, name)
    }

    /// OFD.xml's one DocBody. Several DocBody entries, a DocBody without
    /// exactly one DocRoot or with several Signatures lists, or a DocRoot that
    /// names no part are [`Error::Format`]: which document is meant is unclear.
    pub(crate) fn doc_body(&self) -> Result<DocBody> {
        let ofd = self.xml("OFD.xml")?;
        let bodies: Vec<&Element> = ofd
            .children
            .iter()
            .filter(|c| c.name == "DocBody")
            .collect();
        let [body] = bodies.as_slice() else {
            return Err(Error::Format(format!(
                "OFD.xml has {} DocBody entries: exactly one document is verified",
                bodies.len()
            )));
        };
        let named =
            |n: &str| -> Vec<&Element> { body.children.iter().filter(|c| c.name == n).collect() };
        let roots = named("DocRoot");
        let [root] = roots.as_slice() else {
            return Err(Error::Format(format!(
                "the DocBody in OFD.xml has {} DocRoot entries (one expected)",
                roots.len()
            )));
        };
        let lists = named("Signatures");
        if lists.len() > 1 {
            return Err(Error::Format(format!(
                "the DocBody in OFD.xml has {} Signatures lists (at most one expected)",
                lists.len()
            )));
        }
        let document = self.resolve("", &root.text).ok_or_else(|| {
            Error::Format(format!(
                "the document {:?} that DocRoot names is missing",
                root.text.trim()
            ))
        })?;
        let mut versions = Vec::new();
        for v in named("Versions") {
            versions.extend(
                v.children
                    .iter()
                    .filter_map(|c| c.attr("BaseLoc").map(str::to_string)),
            );
        }
        Ok(DocBody {
            document,
            signatures: lists.first().map(|l| l.text.clone()),
            versions,
        })
    }

    /// What a reader displays for the document OFD.xml names (see
    /// [`DisplayedParts`]). [`Error::Format`] when OFD.xml does not name one
    /// document (several DocBody entries, no DocRoot, a missing Document.xml).
    pub fn displayed(&self) -> Result<DisplayedParts> {
        let body = self.doc_body()?;
        Ok(displayed::walk(self, &body.document, &body.versions))
    }

    /// Every signature in the Signatures list of OFD.xml's DocBody.
    pub fn signatures(&self) -> Result<Vec<OfdSignature>> {
        let body = self.doc_body()?;
        let mut out = Vec::new();
        let Some(list_loc) = body.signatures else {
            return Ok(out);
        };
        let list_path = self.resolve("", &list_loc).ok_or_else(|| {
            Error::Format(format!(
                "Signatures part {:?} named in OFD.xml is missing",
                list_loc.trim()
            ))
        })?;
        let list_dir = dir_of(&list_path);
        let list = self.xml(&list_path)?;
        let listed = list
            .children
            .iter()
            .filter(|c| c.name == "Signature")
            .count();
        if listed > MAX_OFD_SIGNATURES {
            return Err(Error::Format(format!(
                "{list_path} lists {listed} signatures, more than {MAX_OFD_SIGNATURES}: not \
                 verified (a bound on the work one document may ask for)"
            )));
        }
        for sig in list.children.iter().filter(|c| c.name == "Signature") {
            let base = sig.attr("BaseLoc").unwrap_or_default();
            let sig_path = self
                .resolve(&list_dir, base)
                .ok_or_else(|| Error::Format(format!("Signature part {base:?} is missing")))?;
            let sig_dir = dir_of(&sig_path);
            let sx = self.xml(&sig_path)?;
            let info = sx
                .child("SignedInfo")
                .ok_or_else(|| Error::Format(format!("{sig_path}: no SignedInfo")))?;
            let refs = info
                .child("References")
                .ok_or_else(|| Error::Format(format!("{sig_path}: no References")))?;
            let check_method = match refs.attr("CheckMethod").unwrap_or("SM3").trim() {
                "1.2.156.10197.1.401" | "SM3" | "sm3" => DigestAlgorithm::Sm3,
                "2.16.840.1.101.3.4.2.1" | "SHA256" | "sha256" | "SHA-256" => {
                    DigestAlgorithm::Sha256
                }
                other => {
                    return Err(Error::Format(format!(
                        "{sig_path}: unsupported CheckMethod {other:?}"
                    )));
                }
            };
            let mut references = Vec::new();
            for r in refs.children.iter().filter(|c| c.name == "Reference") {
                let file = r.attr("FileRef").unwrap_or_default().to_string();
                let value = r
                    .child("CheckValue")
                    .map(|c| c.text.trim().to_string())
                    .unwrap_or_default();
                let digest = yinzheng_crypto::base64::decode(&value).ok_or_else(|| {
                    Error::Format(format!(
                        "{sig_path}: CheckValue of {file} is not canonical base64"
                    ))
                })?;
                let resolved = self
                    .resolve("", &file)
                    .or_else(|| self.resolve(&sig_dir, &file))
                    .unwrap_or_else(|| normalise(&file));
                references.push((resolved, digest));
            }
            let sv = sx
                .child("SignedValue")
                .map(|c| c.text.clone())
                .ok_or_else(|| Error::Format(format!("{sig_path}: no SignedValue")))?;
            let signed_value = self.resolve(&sig_dir, &sv).ok_or_else(|| {
                Error::Format(format!(
                    "{sig_path}: SignedValue {:?} is missing",
                    sv.trim()
                ))
            })?;
            let seal_file = info
                .child("Seal")
                .and_then(|e| e.child("BaseLoc"))
                .map(|l| {
                    self.resolve(&sig_dir, &l.text)
                        .unwrap_or_else(|| normalise(&l.text))
                });
            out.push(OfdSignature {
                list: list_path.clone(),
                id: sig.attr("ID").unwrap_or_default().to_string(),
                kind: sig.attr("Type").unwrap_or("Seal").to_string(),
                signature_xml: sig_path,
                signed_value,
                references,
                check_method,
                seal_file,
            });
        }
        Ok(out)
    }
}

pub(crate) fn dir_of(path: &str) -> String {
    path.rsplit_once('/')
        .map(|(d, _)| d.to_string())
        .unwrap_or_default()
}

fn normalise(p: &str) -> String {
    let mut out: Vec<&str> = Vec::new();
    for seg in p.split('/') {
        match seg {
            "" | "." => {}
            ".." => {
                out.pop();
            }
            s => out.push(s),
        }
    }
    out.join("/")
}

/// Verify every signature of an OFD package into one report.
///
/// The rule is "what is displayed is signed and unchanged" (see the module
/// doc): ZIP structure (else `Err`), one DocBody and DocRoot (FORMAT_FAILURE),
/// every Reference over the raw bytes of its part (HASH_FAILURE naming it),
/// each signature covering the Document.xml that DocRoot names and every
/// displayed part covered by some signature (SIG_CONSTRAINTS_FAILURE naming
/// it), seal files beside signatures holding the signed seal, then each
/// signature itself: a seal signature with dataHash over the raw
/// Signature.xml bytes (GB/T 38540 in OFD), or a GB/T 35275 SignedData.
/// Unprotected parts that nothing displayed refers to are warnings.
pub fn verify_ofd(
    bytes: &[u8],
    validator: &Validator,
    makers: yinzheng_seal::MakerTrust<'_>,
    intermediates: &[ParsedCert],
    registry: Option<&dyn yinzheng_seal::SealStatusSource>,
) -> Result<VerificationReport> {
    verify_ofd_inner(
        bytes,
        validator,
        makers,
        intermediates,
        registry,
        None,
        ReadBounds::default(),
    )
}

/// [`verify_ofd`] as of `proven`, a time by which the package is proven to
/// have existed (e.g. the verified log entry that recorded its SM3): every
/// signature's certificates are validated at that time rather than at the
/// signer's claimed time (see [`yinzheng_seal::verify_signature_at`]).
pub fn verify_ofd_at(
    bytes: &[u8],
    validator: &Validator,
    makers: yinzheng_seal::MakerTrust<'_>,
    intermediates: &[ParsedCert],
    registry: Option<&dyn yinzheng_seal::SealStatusSource>,
    proven: std::time::SystemTime,
) -> Result<VerificationReport> {
    verify_ofd_inner(
        bytes,
        validator,
        makers,
        intermediates,
        registry,
        Some(proven),
        ReadBounds::default(),
    )
}

/// How much work reading a package may take.
#[derive(Clone, Copy, Debug)]
pub(crate) struct ReadBounds {
    /// Stop between parts and between signatures once this has passed.
    pub(crate) deadline: Option<std::time::Instant>,
    /// The parts inflate to at most this many bytes in all.
    pub(crate) max_inflated: u64,
}

impl Default for ReadBounds {
    fn default() -> Self {
        ReadBounds {
            deadline: None,
            max_inflated: MAX_PACKAGE_LEN,
        }
    }
}

/// [`verify_ofd`] / [`verify_ofd_at`] within `bounds`: the package inflates
/// to at most its budget, and work stops between parts and signatures once
/// the deadline has passed ([`Error::DeadlinePassed`]).
pub(crate) fn verify_ofd_inner(
    bytes: &[u8],
    validator: &Validator,
    makers: yinzheng_seal::MakerTrust<'_>,
    intermediates: &[ParsedCert],
    registry: Option<&dyn yinzheng_seal::SealStatusSource>,
    proven: Option<std::time::SystemTime>,
    bounds: ReadBounds,
) -> Result<VerificationReport> {
    let deadline = bounds.deadline;
    let pkg = OfdPackage::read_within(bytes, bounds.max_inflated, deadline)?;
    // An OFD.xml that is not XML is not an OFD document: `Err`, as before.
    pkg.xml("OFD.xml")?;
    let mut report = VerificationReport::new(
        "OFD document",
        yinzheng_pki::rfc3339(proven.unwrap_or_else(|| validator.now())),
    );
    let shown = match pkg.displayed() {
        Ok(shown) => shown,
        Err(Error::Format(why)) => {
            report.fail(
                "document",
                "OFD.xml",
                Indication::TotalFailed,
                SubIndication::FormatFailure,
                why,
            );
            return Ok(report);
        }
        Err(e) => return Err(e),
    };
    let sigs = pkg.signatures()?;
    if sigs.is_empty() {
        report.fail(
            "signatures",
            "OFD document",
            Indication::TotalFailed,
            SubIndication::FormatFailure,
            "the package holds no signature",
        );
        return Ok(report);
    }
    let cover = coverage::Coverage::new(&pkg, &sigs);
    cover.structure(&mut report, &shown);
    let mut seal_files = std::collections::BTreeSet::new();
    for (i, s) in sigs.iter().enumerate() {
        let label = format!("signature {} ({})", s.id, s.signature_xml);
        crate::signed_data::check_deadline(deadline, &label)?;
        cover.references(&mut report, i, &label);
        cover.signs_document(&mut report, i, &label, &shown);
        if s.kind == "Sign" {
            let sv = pkg.part(&s.signed_value).unwrap_or_default();
            let data = pkg.part(&s.signature_xml).unwrap_or_default();
            let ctx = crate::signed_data::CmsVerifyContext {
                validator,
                intermediates,
                makers,
                registry,
                sm2_id: None,
                deadline,
            };
            verify_signed_data(&mut report, &label, sv, data, &ctx, proven);
            seal_files.extend(cover.seal_files(&mut report, i, &label, None));
            continue;
        }
        if s.kind != "Seal" {
            report.fail(
                "signature",
                &label,
                Indication::Indeterminate,
                SubIndication::FormatFailure,
                format!(
                    "unknown signature type {:?} (Seal or Sign expected)",
                    s.kind
                ),
            );
            seal_files.extend(cover.seal_files(&mut report, i, &label, None));
            continue;
        }
        let sv = pkg.part(&s.signed_value).unwrap_or_default();
        match SealSignature::parse(sv) {
            Ok(sig) => {
                let data = pkg.part(&s.signature_xml).unwrap_or_default();
                let opts = VerifyOptions {
                    makers,
                    validator,
                    intermediates,
                    registry,
                    data: Some(data.into()),
                };
                let inner = match proven {
                    Some(p) => yinzheng_seal::verify_signature_at(&sig, &opts, p),
                    None => yinzheng_seal::verify_signature(&sig, &opts),
                };
                report.absorb(&format!("signature {}", s.id), &inner);
                seal_files.extend(cover.seal_files(&mut report, i, &label, Some(sig.seal())));
            }
            Err(e) => {
                report.fail(
                    "signature",
                    &label,
                    Indication::TotalFailed,
                    SubIndication::FormatFailure,
                    format!("{}: {e}", s.signed_value),
                );
                seal_files.extend(cover.seal_files(&mut report, i, &label, None));
            }
        }
    }
    cover.displayed(&mut report, &shown);
    cover.unprotected(&mut report, &shown, &seal_files);
    Ok(report)
}

/// An OFD `Type="Sign"` signature: a GB/T 35275 SignedData over the
/// Signature.xml bytes (detached, encapsulated, or — as some vendors do — over
/// their SM3 digest), checked like every CMS: signature, signer chain at the
/// time stamp's or proven time (else now: a claimed time is not trusted).
fn verify_signed_data(
    report: &mut VerificationReport,
    label: &str,
    signed_value: &[u8],
    signature_xml: &[u8],
    ctx: &crate::signed_data::CmsVerifyContext<'_>,
    proven: Option<std::time::SystemTime>,
) {
    let digest = yinzheng_crypto::sm3(signature_xml);
    let over_digest = yinzheng_cms::SignedData::parse(signed_value)
        .ok()
        .is_some_and(|sd| sd.content() == Some(&digest[..]));
    let content: &[u8] = if over_digest { &digest } else { signature_xml };
    // Signature.xml is hashed once: its SM3 above serves the CMS check too.
    let content_sm3 = (!over_digest).then_some(digest);
    let summary = crate::signed_data::check_cms(
        report,
        label,
        signed_value,
        &[content],
        content_sm3,
        ctx,
        proven,
    );
    if summary.signer.is_some() {
        report.pass(
            "signature",
            label,
            format!(
                "GB/T 35275 SignedData over {} verifies",
                if over_digest {
                    "the SM3 of Signature.xml"
                } else {
                    "Signature.xml"
                }
            ),
        );
    }
}
