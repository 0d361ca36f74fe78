//! The document security store (ISO 32000-2 §12.8.4.3, ETSI EN 319 142-1
//! PAdES B-LT): the certificates, CRLs and OCSP responses a validation used,
//! kept in the file so that it can be validated again when the CAs, their
//! CRLs and responders are gone. Reading takes every entry of the final
//! revision's `/DSS`; writing appends an incremental update that keeps what
//! the store held, adds what is new (each item once) and a `/VRI` entry per
//! signature it was gathered for.

use super::extract::deref as deref_doc;
use super::stamp::{edit, load_for_update, prev_obj};
use super::{MAX_PDF_LEN, PdfSignature};
use crate::error::{Error, Result};
use lopdf::{Dictionary, Document, IncrementalDocument, Object, ObjectId, Stream, dictionary};

/// Most items (certificates, CRLs, OCSP responses together) read from a DSS:
/// real files carry tens; each is work for every certificate checked.
pub const MAX_DSS_ITEMS: usize = 512;
/// The largest single DSS item, decoded (a CRL of a large CA: 16 MiB).
pub const MAX_DSS_ITEM_LEN: usize = 16 * 1024 * 1024;
/// The most DSS data read in all, decoded.
const MAX_DSS_TOTAL: usize = 64 * 1024 * 1024;

/// Validation material: DER certificates, CRLs and OCSP responses
/// (`OCSPResponse`), as a PDF's DSS holds them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DssMaterial {
    /// DER X.509 certificates.
    pub certs: Vec<Vec<u8>>,
    /// DER CRLs.
    pub crls: Vec<Vec<u8>>,
    /// DER `OCSPResponse`s.
    pub ocsps: Vec<Vec<u8>>,
}

impl DssMaterial {
    /// Nothing held.
    pub fn is_empty(&self) -> bool {
        self.certs.is_empty() && self.crls.is_empty() && self.ocsps.is_empty()
    }

    /// Add what `other` holds that this does not.
    pub fn merge(&mut self, other: &DssMaterial) {
        for (mine, theirs) in [
            (&mut self.certs, &other.certs),
            (&mut self.crls, &other.crls),
            (&mut self.ocsps, &other.ocsps),
        ] {
            for item in theirs {
                if !mine.contains(item) {
                    mine.push(item.clone());
                }
            }
        }
    }

    /// Whether every item of `other` is held here.
    pub fn contains_all(&self, other: &DssMaterial) -> bool {
        other.certs.iter().all(|c| self.certs.contains(c))
            && other.crls.iter().all(|c| self.crls.contains(c))
            && other.ocsps.iter().all(|c| self.ocsps.contains(c))
    }
}

/// The DSS of a PDF (empty when it has none). A malformed or oversized DSS
/// is an error: the material it should hold cannot be trusted to be there.
pub fn pdf_dss(pdf: &[u8]) -> Result<DssMaterial> {
    Ok(read_dss(&super::load_for_signatures(pdf)?.doc)?.0)
}

/// The DSS of a parsed PDF (empty when it has none), each item once, and
/// why items were skipped (not a stream, undecodable). Too many items or
/// bytes in all is an error.
pub(crate) fn read_dss(doc: &Document) -> Result<(DssMaterial, Vec<String>)> {
    let mut out = DssMaterial::default();
    let mut skipped = Vec::new();
    let mut seen = std::collections::HashSet::new();
    let Some(dss) = doc
        .catalog()
        .ok()
        .and_then(|c| c.get(b"DSS").ok())
        .and_then(|o| deref_doc(doc, o))
    else {
        return Ok((out, skipped));
    };
    let dss = dss
        .as_dict()
        .map_err(|_| Error::Pdf("/DSS is not a dictionary".into()))?;
    let mut count = 0usize;
    let mut total = 0usize;
    for (key, list) in [
        (&b"Certs"[..], &mut out.certs),
        (b"CRLs", &mut out.crls),
        (b"OCSPs", &mut out.ocsps),
    ] {
        let name = String::from_utf8_lossy(key).into_owned();
        let Some(arr) = dss.get(key).ok().and_then(|o| deref_doc(doc, o)) else {
            continue;
        };
        let arr = arr
            .as_array()
            .map_err(|_| Error::Pdf(format!("/DSS /{name} is not an array")))?;
        for item in arr {
            count += 1;
            if count > MAX_DSS_ITEMS {
                return Err(Error::Pdf(format!(
                    "the DSS holds more than {MAX_DSS_ITEMS} items"
                )));
            }
            let Some(stream) = deref_doc(doc, item).and_then(|o| o.as_stream().ok()) else {
                skipped.push(format!("/DSS /{name}: an item is not a stream"));
                continue;
            };
            let bytes = match stream.decompressed_content_with_limit(MAX_DSS_ITEM_LEN) {
                Ok(b) => b,
                Err(e) => {
                    skipped.push(format!("/DSS /{name}: an item cannot be read: {e}"));
                    continue;
                }
            };
            total += bytes.len();
            if total > MAX_DSS_TOTAL {
                return Err(Error::Pdf(format!(
                    "the DSS holds more than {MAX_DSS_TOTAL} bytes"
                )));
            }
            if seen.insert(yinzheng_crypto::sm3(&bytes)) {
                list.push(bytes);
            }
        }
    }
    Ok((out, skipped))
}

/// The `/VRI` key of `sig` in `pdf`: upper-case hex SHA-1 of its
/// `/Contents` string as stored, padding included (ETSI EN 319 142-1
/// §5.4.2.2; pyHanko reads it so). `None` when its byte range does not
/// frame a hex string.
fn vri_key(pdf: &[u8], sig: &PdfSignature) -> Option<String> {
    let [_, gap_start, gap_end, _] = sig.byte_range;
    let hex = pdf.get(gap_start.checked_add(1)?..gap_end.checked_sub(1)?)?;
    let nibble = |c: u8| (c as char).to_digit(16).map(|d| d as u8);
    // A PDF hex string may hold white space between its digits.
    let digits: Vec<u8> = hex
        .iter()
        .copied()
        .filter(|c| !c.is_ascii_whitespace())
        .collect();
    let stored = digits
        .chunks(2)
        .map(|p| match p {
            [a, b] => Some(nibble(*a)? << 4 | nibble(*b)?),
            _ => None,
        })
        .collect::<Option<Vec<u8>>>()?;
    Some(hex_upper(&yinzheng_crypto::sha1_identifier(&stored)))
}

fn hex_upper(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02X}")).collect()
}

/// Append an incremental update to `pdf` whose DSS holds what it held plus
/// `material` (each item once), with a `/VRI` entry for each of
/// `signatures` (of this `pdf`) naming the items of `material`. Earlier bytes are kept, so every signature stays intact; the
/// change analysis allows exactly such an update after signing.
pub fn add_dss(
    pdf: &[u8],
    material: &DssMaterial,
    signatures: &[&PdfSignature],
) -> Result<Vec<u8>> {
    let extra: usize = material
        .certs
        .iter()
        .chain(&material.crls)
        .chain(&material.ocsps)
        .map(Vec::len)
        .sum();
    if pdf.len().saturating_add(extra).saturating_add(1 << 20) > MAX_PDF_LEN {
        return Err(Error::Pdf(format!(
            "the PDF has {} bytes; with {extra} bytes of validation data it would exceed {MAX_PDF_LEN}",
            pdf.len()
        )));
    }
    let doc = load_for_update(pdf)?;
    let held = read_dss(&doc)?.0;
    let root_id = doc
        .trailer
        .get(b"Root")
        .and_then(Object::as_reference)
        .map_err(|_| Error::Pdf("the trailer has no /Root".into()))?;
    let existing = doc.catalog().ok().and_then(|c| c.get(b"DSS").ok()).cloned();
    let prev_len = pdf.len();
    let mut inc = IncrementalDocument::create_from(pdf.to_vec(), doc);

    // The store as it stands: a referenced dictionary is updated in place; a
    // direct one (or none) becomes a new object the catalogue points at.
    let (dss_id, mut dss) = match existing {
        Some(Object::Reference(id)) => {
            let d = prev_obj(&inc, id)?
                .as_dict()
                .map_err(|_| Error::Pdf("/DSS is not a dictionary".into()))?
                .clone();
            (Some(id), d)
        }
        Some(Object::Dictionary(d)) => (None, d),
        Some(_) => return Err(Error::Pdf("/DSS is not a dictionary".into())),
        None => (None, dictionary! { "Type" => "DSS" }),
    };
    // Arrays held by reference are read, and written back direct.
    let list_of = |inc: &IncrementalDocument, key: &[u8]| -> Result<Vec<Object>> {
        match dss.get(key).ok().cloned() {
            None => Ok(Vec::new()),
            Some(Object::Array(a)) => Ok(a),
            Some(Object::Reference(id)) => Ok(prev_obj(inc, id)?
                .as_array()
                .map_err(|_| Error::Pdf("a /DSS entry is not an array".into()))?
                .clone()),
            Some(_) => Err(Error::Pdf("a /DSS entry is not an array".into())),
        }
    };
    let mut certs = list_of(&inc, b"Certs")?;
    let mut crls = list_of(&inc, b"CRLs")?;
    let mut ocsps = list_of(&inc, b"OCSPs")?;
    let mut vri_items: (Vec<Object>, Vec<Object>, Vec<Object>) = Default::default();
    for (items, have, list, vri) in [
        (&material.certs, &held.certs, &mut certs, &mut vri_items.0),
        (&material.crls, &held.crls, &mut crls, &mut vri_items.1),
        (&material.ocsps, &held.ocsps, &mut ocsps, &mut vri_items.2),
    ] {
        let mut added: Vec<&Vec<u8>> = Vec::new();
        for item in items {
            if have.contains(item) || added.contains(&item) {
                // Already stored: the VRI names the stored stream.
                if let Some(id) = stored_stream(&inc, list, item) {
                    vri.push(Object::Reference(id));
                }
                continue;
            }
            added.push(item);
            let id = inc
                .new_document
                .add_object(Stream::new(Dictionary::new(), item.clone()));
            list.push(Object::Reference(id));
            vri.push(Object::Reference(id));
        }
    }
    dss.set("Type", "DSS");
    dss.set("Certs", certs);
    dss.set("CRLs", crls);
    dss.set("OCSPs", ocsps);

    if !signatures.is_empty() {
        let mut vri = match dss.get(b"VRI").ok().cloned() {
            None => Dictionary::new(),
            Some(Object::Dictionary(d)) => d,
            Some(Object::Reference(id)) => prev_obj(&inc, id)?
                .as_dict()
                .map_err(|_| Error::Pdf("/DSS /VRI is not a dictionary".into()))?
                .clone(),
            Some(_) => return Err(Error::Pdf("/DSS /VRI is not a dictionary".into())),
        };
        for sig in signatures {
            let key = vri_key(pdf, sig).ok_or_else(|| {
                Error::Pdf(format!(
                    "signature {:?}: its /ByteRange does not frame a hex /Contents",
                    sig.field_name
                ))
            })?;
            let mut entry = Dictionary::new();
            for (key, list) in [
                ("Cert", &vri_items.0),
                ("CRL", &vri_items.1),
                ("OCSP", &vri_items.2),
            ] {
                if !list.is_empty() {
                    entry.set(key, list.clone());
                }
            }
            vri.set(key, entry);
        }
        dss.set("VRI", vri);
    }

    match dss_id {
        Some(id) => {
            *edit(&mut inc, id)? = Object::Dictionary(dss);
        }
        None => {
            let id = inc.new_document.add_object(dss);
            edit(&mut inc, root_id)?
                .as_dict_mut()
                .map_err(|_| Error::Pdf("the catalogue is not a dictionary".into()))?
                .set("DSS", id);
        }
    }
    let mut out = Vec::with_capacity(prev_len + extra + 64 * 1024);
    inc.save_to(&mut out)
        .map_err(|e| Error::Pdf(format!("cannot write the update: {e}")))?;
    Ok(out)
}

/// The stream among `list`'s references whose decoded content is `item`.
fn stored_stream(inc: &IncrementalDocument, list: &[Object], item: &[u8]) -> Option<ObjectId> {
    list.iter().find_map(|o| {
        let id = o.as_reference().ok()?;
        let stream = inc
            .new_document
            .get_object(id)
            .or_else(|_| inc.get_prev_documents().get_object(id))
            .ok()?
            .as_stream()
            .ok()?;
        let bytes = stream
            .decompressed_content_with_limit(MAX_DSS_ITEM_LEN)
            .ok()?;
        (bytes == item).then_some(id)
    })
}
