//! Sealing an OFD package (GB/T 38540 in GB/T 33190): add
//! `Doc_0/Signs/Sign_N/{Seal.esl, Signature.xml, SignedValue.dat}` and list the
//! signature in `Signatures.xml`.
//!
//! The new Signature.xml references every part except itself, its
//! SignedValue.dat and Signatures.xml (which must stay open for later seals), so
//! earlier seals stay valid: their parts are not touched. OFD.xml is edited only
//! when the package has no Signatures list yet, i.e. before any signature.
//!
//! That is more than vendors protect (they leave out OFD.xml) and more than
//! [`crate::verify_ofd`] requires (what is displayed): protecting OFD.xml too
//! is harmless and lets a reader trust its DocID, and the seal copy
//! `Seal.esl` is byte-identical to the seal in the signed value and protected.

use crate::error::{Error, Result};
use crate::ofd::OfdPackage;
use crate::xml;
use std::io::Write;
use yinzheng_crypto::{Signer, sm3};
use yinzheng_seal::Seal;

/// Where the seal goes: 1-based page number and the top-left corner in mm.
#[derive(Clone, Copy, Debug)]
pub struct Placement {
    /// Page number, from 1.
    pub page: usize,
    /// Distance from the page's left edge, mm.
    pub x_mm: f64,
    /// Distance from the page's top edge, mm.
    pub y_mm: f64,
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// Seal `ofd` with `seal`, signed by `signer` (certificate `signer_cert`, which
/// the seal must list) at `time`, with the stamp placed per `placement`.
pub fn stamp_ofd(
    ofd: &[u8],
    seal: &Seal,
    signer: &dyn Signer,
    signer_cert: &[u8],
    placement: Placement,
    time: time::OffsetDateTime,
) -> Result<Vec<u8>> {
    add_signature(
        ofd,
        Kind::Seal { seal, placement },
        signer,
        signer_cert,
        time,
    )
}

/// Sign `ofd` without a seal: an OFD `Type="Sign"` signature whose
/// SignedValue.dat is a GB/T 35275 SignedData (SM3 messageDigest over the
/// Signature.xml bytes, SM2 over the DER SET OF signed attributes), carrying
/// `signer_cert` and `chain`.
pub fn sign_ofd(
    ofd: &[u8],
    signer: &dyn Signer,
    signer_cert: &[u8],
    chain: &[Vec<u8>],
    time: time::OffsetDateTime,
) -> Result<Vec<u8>> {
    add_signature(ofd, Kind::Sign { chain }, signer, signer_cert, time)
}

enum Kind<'a> {
    Seal {
        seal: &'a Seal,
        placement: Placement,
    },
    Sign {
        chain: &'a [Vec<u8>],
    },
}

fn add_signature(
    ofd: &[u8],
    kind: Kind<'_>,
    signer: &dyn Signer,
    signer_cert: &[u8],
    time: time::OffsetDateTime,
) -> Result<Vec<u8>> {
    let pkg = OfdPackage::read(ofd)?;
    let mut parts: Vec<(String, Vec<u8>)> = pkg
        .part_names()
        .map(|n| (n.to_string(), pkg.part(n).unwrap_or_default().to_vec()))
        .collect();

    // The one document OFD.xml names (a package naming several is refused:
    // which one would be signed is unclear), and its pages.
    let body = pkg.doc_body()?;
    let doc_root = body.document.clone();
    let doc_dir = doc_root
        .rsplit_once('/')
        .map(|(d, _)| d.to_string())
        .unwrap_or_default();
    let document = xml::parse(
        pkg.part(&doc_root)
            .ok_or_else(|| Error::Format(format!("{doc_root} is missing")))?,
        &doc_root,
    )?;
    let mut pages = Vec::new();
    document.descendants("Page", &mut pages);
    let page_id = match &kind {
        Kind::Seal { placement, .. } => {
            let page = pages.get(placement.page.wrapping_sub(1)).ok_or_else(|| {
                Error::Format(format!(
                    "page {} does not exist (the document has {})",
                    placement.page,
                    pages.len()
                ))
            })?;
            page.attr("ID").unwrap_or("1").to_string()
        }
        Kind::Sign { .. } => String::new(),
    };

    // Existing signatures list, or a new one (only possible before any signature).
    let signs_dir = format!(
        "{}{}Signs",
        doc_dir,
        if doc_dir.is_empty() { "" } else { "/" }
    );
    let (list_path, existing): (String, Option<xml::Element>) = match &body.signatures {
        Some(l) => {
            let p = pkg
                .resolve("", l)
                .ok_or_else(|| Error::Format(format!("{} is missing", l.trim())))?;
            let el = xml::parse(pkg.part(&p).unwrap_or_default(), &p)?;
            (p, Some(el))
        }
        None => (format!("{signs_dir}/Signatures.xml"), None),
    };
    let mut n = 0usize;
    while parts
        .iter()
        .any(|(name, _)| name.starts_with(&format!("{signs_dir}/Sign_{n}/")))
    {
        n += 1;
    }
    let existing_sigs: Vec<xml::Element> = existing
        .as_ref()
        .map(|e| {
            e.children
                .iter()
                .filter(|c| c.name == "Signature")
                .cloned()
                .collect()
        })
        .unwrap_or_default();
    let max_id = existing
        .as_ref()
        .and_then(|e| e.child("MaxSignId"))
        .and_then(|m| m.text.trim().parse::<u64>().ok())
        .unwrap_or(0)
        .max(
            existing_sigs
                .iter()
                .filter_map(|s| s.attr("ID").and_then(|i| i.parse::<u64>().ok()))
                .max()
                .unwrap_or(0),
        );
    let id = max_id + 1;
    let sign_dir = format!("{signs_dir}/Sign_{n}");
    let seal_path = format!("{sign_dir}/Seal.esl");
    let sig_path = format!("{sign_dir}/Signature.xml");
    let value_path = format!("{sign_dir}/SignedValue.dat");

    // OFD.xml gains a Signatures entry only when there was none.
    if existing.is_none() {
        let text = String::from_utf8(pkg.part("OFD.xml").unwrap_or_default().to_vec())
            .map_err(|_| Error::Format("OFD.xml is not UTF-8".into()))?;
        let prefix = text
            .find(":DocRoot>")
            .and_then(|i| text[..i].rfind('<'))
            .map(|s| &text[s + 1..text.find(":DocRoot>").unwrap_or(s)])
            .unwrap_or("ofd");
        let close = format!("</{prefix}:DocRoot>");
        let at = text
            .find(&close)
            .ok_or_else(|| Error::Format("OFD.xml: cannot find the end of DocRoot".into()))?
            + close.len();
        let patched = format!(
            "{}<{prefix}:Signatures>/{list_path}</{prefix}:Signatures>{}",
            &text[..at],
            &text[at..]
        );
        set(&mut parts, "OFD.xml", patched.into_bytes());
    }

    if let Kind::Seal { seal, .. } = &kind {
        set(&mut parts, &seal_path, seal.raw().to_vec());
    }
    // References: every part but this signature's own files and the Signatures list.
    let mut refs = String::new();
    for (name, bytes) in &parts {
        if *name == sig_path || *name == value_path || *name == list_path {
            continue;
        }
        let digest = yinzheng_crypto::base64::encode(&sm3(bytes));
        refs.push_str(&format!("<ofd:Reference FileRef=\"/{}\"><ofd:CheckValue>{digest}</ofd:CheckValue></ofd:Reference>", esc(name)));
    }
    let stamp_xml = match &kind {
        Kind::Seal { seal, placement } => format!(
            "<ofd:StampAnnot ID=\"{id}\" PageRef=\"{page_id}\" Boundary=\"{} {} {} {}\"/>\
             <ofd:Seal><ofd:BaseLoc>/{seal_path}</ofd:BaseLoc></ofd:Seal>",
            placement.x_mm,
            placement.y_mm,
            seal.picture().width_mm,
            seal.picture().height_mm
        ),
        Kind::Sign { .. } => String::new(),
    };
    let when = format!(
        "{:04}-{:02}-{:02} {:02}:{:02}:{:02}",
        time.year(),
        time.month() as u8,
        time.day(),
        time.hour(),
        time.minute(),
        time.second()
    );
    let signature_xml = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<ofd:Signature xmlns:ofd=\"http://www.ofdspec.org/2016\"><ofd:SignedInfo>\
         <ofd:Provider ProviderName=\"Yinzheng\" Company=\"Yinzheng\" Version=\"{}\"/>\
         <ofd:SignatureMethod>1.2.156.10197.1.501</ofd:SignatureMethod><ofd:SignatureDateTime>{when}</ofd:SignatureDateTime>\
         <ofd:References CheckMethod=\"1.2.156.10197.1.401\">{refs}</ofd:References>{stamp_xml}</ofd:SignedInfo>\
         <ofd:SignedValue>/{value_path}</ofd:SignedValue></ofd:Signature>",
        env!("CARGO_PKG_VERSION"),
    );
    let (value, type_name) = match &kind {
        Kind::Seal { seal, .. } => (
            yinzheng_seal::stamp(
                seal,
                signer,
                signer_cert,
                signature_xml.as_bytes(),
                &format!("/{sig_path}"),
                time,
            )?
            .raw()
            .to_vec(),
            "Seal",
        ),
        Kind::Sign { chain } => {
            let opts = yinzheng_cms::SignOptions {
                flavour: yinzheng_cms::Flavour::GmT0010,
                signing_time: Some(time),
                chain: chain.to_vec(),
                ..Default::default()
            };
            let cms = yinzheng_cms::sign_detached(
                signer,
                signer_cert,
                &[signature_xml.as_bytes()],
                &opts,
                None,
            )?;
            (cms, "Sign")
        }
    };
    set(&mut parts, &sig_path, signature_xml.into_bytes());
    set(&mut parts, &value_path, value);

    // The signatures list.
    let mut entries = String::new();
    for s in &existing_sigs {
        entries.push_str(&format!(
            "<ofd:Signature ID=\"{}\" Type=\"{}\" BaseLoc=\"{}\"/>",
            esc(s.attr("ID").unwrap_or_default()),
            esc(s.attr("Type").unwrap_or("Seal")),
            esc(s.attr("BaseLoc").unwrap_or_default())
        ));
    }
    entries.push_str(&format!(
        "<ofd:Signature ID=\"{id}\" Type=\"{type_name}\" BaseLoc=\"/{sig_path}\"/>"
    ));
    let list = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<ofd:Signatures xmlns:ofd=\"http://www.ofdspec.org/2016\">{entries}<ofd:MaxSignId>{id}</ofd:MaxSignId></ofd:Signatures>"
    );
    set(&mut parts, &list_path, list.into_bytes());

    // Write the package: stored parts keep their bytes exactly.
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let opts = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    for (name, bytes) in &parts {
        zip.start_file(name.as_str(), opts)
            .map_err(|e| Error::Format(format!("writing {name}: {e}")))?;
        zip.write_all(bytes)
            .map_err(|e| Error::Format(format!("writing {name}: {e}")))?;
    }
    let out = zip
        .finish()
        .map_err(|e| Error::Format(format!("writing the package: {e}")))?;
    Ok(out.into_inner())
}

fn set(parts: &mut Vec<(String, Vec<u8>)>, name: &str, bytes: Vec<u8>) {
    match parts.iter_mut().find(|(n, _)| n == name) {
        Some(p) => p.1 = bytes,
        None => parts.push((name.to_string(), bytes)),
    }
}
