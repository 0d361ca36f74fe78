//! OFD (GB/T 33190) packages sealed per GB/T 38540: read the package, find every
//! signature through OFD.xml → Signatures.xml → Signature.xml, and verify each
//! Reference over the raw bytes of the file it names, then the seal signature
//! (whose dataHash covers the raw Signature.xml bytes).
//!
//! The package must be one ZIP every reader reads alike (local headers agree
//! with the central directory, no bytes outside entries, no duplicate names),
//! or it is refused with [`crate::ZipError`] (`zip_check`).

mod zip_check;

use crate::error::{Error, Result, ZipError, ZipFault};
use crate::xml::{self, Element};
use base64::Engine;
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
}

impl OfdPackage {
    /// Read a package (a zip file) from bytes, within the limits above. The ZIP
    /// structure is checked first (see the module doc): a package two readers
    /// could read differently is refused with [`Error::Zip`].
    pub fn read(bytes: &[u8]) -> Result<Self> {
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
        if declared > MAX_PACKAGE_LEN {
            return Err(zip_err("package", 0, ZipFault::TooLarge(MAX_PACKAGE_LEN)).into());
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
            // Declared sizes are not trusted for allocation beyond 1 MiB.
            let mut data = Vec::with_capacity(entry.size.min(1 << 20) as usize);
            (&mut f)
                .take(MAX_PART_LEN + 1)
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
            return self.parts.contains_key(abs).then(|| abs.to_string());
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

    /// Every signature listed by the package.
    pub fn signatures(&self) -> Result<Vec<OfdSignature>> {
        let ofd = self.xml("OFD.xml")?;
        let mut bodies = Vec::new();
        ofd.descendants("Signatures", &mut bodies);
        let mut out = Vec::new();
        for s in bodies {
            let list_path = self.resolve("", &s.text).ok_or_else(|| {
                Error::Format(format!(
                    "Signatures part {:?} named in OFD.xml is missing",
                    s.text.trim()
                ))
            })?;
            let list_dir = dir_of(&list_path);
            let list = self.xml(&list_path)?;
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
                    let digest = base64::engine::general_purpose::STANDARD
                        .decode(value.as_bytes())
                        .map_err(|e| {
                            Error::Format(format!("{sig_path}: CheckValue of {file}: {e}"))
                        })?;
                    let resolved = self
                        .resolve("", &file)
                        .or_else(|| self.resolve(&sig_dir, &file))
                        .unwrap_or(file);
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
                out.push(OfdSignature {
                    list: list_path.clone(),
                    id: sig.attr("ID").unwrap_or_default().to_string(),
                    kind: sig.attr("Type").unwrap_or("Seal").to_string(),
                    signature_xml: sig_path,
                    signed_value,
                    references,
                    check_method,
                });
            }
        }
        Ok(out)
    }
}

impl OfdPackage {
    /// The parts a reader displays: OFD.xml, each DocRoot document and its pages' content.
    pub fn core_parts(&self) -> Result<Vec<String>> {
        let ofd = self.xml("OFD.xml")?;
        let mut out = vec!["OFD.xml".to_string()];
        let mut roots = Vec::new();
        ofd.descendants("DocRoot", &mut roots);
        if roots.is_empty() {
            return Err(Error::Format("OFD.xml has no DocRoot".into()));
        }
        for r in roots {
            let doc = self
                .resolve("", &r.text)
                .ok_or_else(|| Error::Format(format!("DocRoot {:?} is missing", r.text.trim())))?;
            let doc_dir = dir_of(&doc);
            let document = self.xml(&doc)?;
            out.push(doc);
            let mut pages = Vec::new();
            document.descendants("Page", &mut pages);
            for p in pages {
                let loc = p.attr("BaseLoc").unwrap_or_default();
                let page = self
                    .resolve(&doc_dir, loc)
                    .ok_or_else(|| Error::Format(format!("page {loc:?} is missing")))?;
                out.push(page);
            }
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
/// For each signature: every Reference's digest over the raw bytes of its part
/// (a changed page fails with HASH_FAILURE naming the part); parts added later
/// and covered by no signature are warned about; then the seal signature, with
/// dataHash over the raw Signature.xml bytes (GB/T 38540 in OFD).
pub fn verify_ofd(
    bytes: &[u8],
    validator: &Validator,
    makers: yinzheng_seal::MakerTrust<'_>,
    intermediates: &[ParsedCert],
    registry: Option<&yinzheng_seal::Registry>,
) -> Result<VerificationReport> {
    verify_ofd_inner(bytes, validator, makers, intermediates, registry, None)
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
    registry: Option<&yinzheng_seal::Registry>,
    proven: std::time::SystemTime,
) -> Result<VerificationReport> {
    verify_ofd_inner(
        bytes,
        validator,
        makers,
        intermediates,
        registry,
        Some(proven),
    )
}

fn verify_ofd_inner(
    bytes: &[u8],
    validator: &Validator,
    makers: yinzheng_seal::MakerTrust<'_>,
    intermediates: &[ParsedCert],
    registry: Option<&yinzheng_seal::Registry>,
    proven: Option<std::time::SystemTime>,
) -> Result<VerificationReport> {
    let pkg = OfdPackage::read(bytes)?;
    let sigs = pkg.signatures()?;
    let mut report = VerificationReport::new(
        "OFD document",
        yinzheng_pki::rfc3339(proven.unwrap_or_else(std::time::SystemTime::now)),
    );
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
    let core = pkg.core_parts()?;
    let lists: std::collections::BTreeSet<String> = sigs.iter().map(|s| s.list.clone()).collect();
    let mut covered: std::collections::BTreeSet<String> = std::collections::BTreeSet::new();
    for s in &sigs {
        let label = format!("signature {} ({})", s.id, s.signature_xml);
        // What the reader shows must be what this signature signed.
        for part in &core {
            if !s.references.iter().any(|(p, _)| p == part) {
                report.fail(
                    "coverage",
                    part,
                    Indication::TotalFailed,
                    SubIndication::SigConstraintsFailure,
                    format!("{label} does not cover {part}, which the reader displays"),
                );
            }
        }
        covered.insert(s.signature_xml.clone());
        covered.insert(s.signed_value.clone());
        for (part, digest) in &s.references {
            covered.insert(part.clone());
            match pkg.part(part) {
                Some(b) => {
                    if s.check_method.digest(b).as_slice() == digest.as_slice() {
                        report.pass(
                            "reference",
                            part,
                            format!("{} of {part} matches ({label})", s.check_method),
                        );
                    } else {
                        report.fail(
                            "reference",
                            part,
                            Indication::TotalFailed,
                            SubIndication::HashFailure,
                            format!(
                                "{part} was changed after {label}: its {} does not match",
                                s.check_method
                            ),
                        );
                    }
                }
                None => report.fail(
                    "reference",
                    part,
                    Indication::TotalFailed,
                    SubIndication::HashFailure,
                    format!("{part}, protected by {label}, is missing"),
                ),
            }
        }
        if s.kind == "Sign" {
            let sv = pkg.part(&s.signed_value).unwrap_or_default();
            let data = pkg.part(&s.signature_xml).unwrap_or_default();
            let ctx = crate::signed_data::CmsVerifyContext {
                validator,
                intermediates,
                makers,
                registry,
                sm2_id: None,
            };
            verify_signed_data(&mut report, &label, sv, data, &ctx, proven);
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
                    data: Some(data),
                };
                let inner = match proven {
                    Some(p) => yinzheng_seal::verify_signature_at(&sig, &opts, p),
                    None => yinzheng_seal::verify_signature(&sig, &opts),
                };
                report.absorb(&format!("signature {}", s.id), &inner);
            }
            Err(e) => report.fail(
                "signature",
                &label,
                Indication::TotalFailed,
                SubIndication::FormatFailure,
                format!("{}: {e}", s.signed_value),
            ),
        }
    }
    for name in pkg.part_names() {
        if !covered.contains(name) && !lists.contains(name) {
            report.fail(
                "coverage",
                name,
                Indication::TotalFailed,
                SubIndication::SigConstraintsFailure,
                format!("{name} is not protected by any signature (added after signing?)"),
            );
        }
    }
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
        .and_then(|sd| sd.content)
        .is_some_and(|c| c == digest);
    let content: &[u8] = if over_digest { &digest } else { signature_xml };
    let summary =
        crate::signed_data::check_cms(report, label, signed_value, &[content], ctx, proven);
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
