//! Reading the signatures of a PDF: fields, byte ranges, revisions.

use super::geometry::page_numbers;
use super::{MAX_CONTENTS_LEN, Revision, load_for_signatures, revisions, text_of};
use crate::error::{Error, Result};
use lopdf::{Dictionary, Document, Object, ObjectId};
use std::collections::HashSet;

/// The `/SubFilter` of a document time stamp (ISO 32000-2 §12.8.5).
pub(crate) const DOC_TIME_STAMP_SUB_FILTER: &str = "ETSI.RFC3161";

/// One signature field with a value (`/FT /Sig` with `/V`), as stored.
#[derive(Clone, Debug, PartialEq)]
pub struct PdfSignature {
    /// Fully qualified field name (`/T` of the field and its parents, joined by `.`).
    pub field_name: String,
    /// `/SubFilter`, e.g. `ETSI.CAdES.detached`.
    pub sub_filter: String,
    /// `/Filter`, e.g. `Adobe.PPKLite`.
    pub filter: String,
    /// `/ByteRange` (zeros when missing or malformed; then `byte_range_ok` is false).
    pub byte_range: [usize; 4],
    /// The CMS DER: `/Contents` without its zero padding, cut at the DER outer
    /// length (the whole string when that length cannot be read).
    pub contents: Vec<u8>,
    /// `/M` as written (`D:…`).
    pub signing_time: Option<String>,
    /// `/Name`.
    pub name: Option<String>,
    /// `/Reason`.
    pub reason: Option<String>,
    /// `/Location`.
    pub location: Option<String>,
    /// Page (from 1) of the signature's widget, when it has one.
    pub page: Option<usize>,
    /// The widget's `/Rect` in user space.
    pub rect: Option<[f64; 4]>,
    /// Revision (from 1) whose end the byte range reaches (the first one past
    /// it when it reaches none).
    pub revision: usize,
    /// The byte range is sound and reaches the end of the file.
    pub covers_whole_document: bool,
    /// The byte range starts at 0, its gap is exactly the `<…>` of this
    /// `/Contents`, it ends at the end of a revision, and it stays in the file.
    pub byte_range_ok: bool,
}

/// A field with its inherited values while walking the field tree.
struct Field<'a> {
    dict: &'a Dictionary,
    id: Option<ObjectId>,
    name: String,
    ft: Option<Vec<u8>>,
}

/// Every terminal field of the AcroForm, in `/Fields` order.
fn fields(doc: &Document) -> Vec<Field<'_>> {
    let mut out = Vec::new();
    let Some(form) = doc
        .catalog()
        .ok()
        .and_then(|c| c.get(b"AcroForm").ok())
        .and_then(|o| deref(doc, o))
        .and_then(|o| o.as_dict().ok())
    else {
        return out;
    };
    let Some(list) = form
        .get(b"Fields")
        .ok()
        .and_then(|o| deref(doc, o))
        .and_then(|o| o.as_array().ok())
    else {
        return out;
    };
    let mut seen = HashSet::new();
    for f in list {
        walk(doc, f, "", None, 0, &mut seen, &mut out);
    }
    out
}

pub(crate) fn deref<'a>(doc: &'a Document, o: &'a Object) -> Option<&'a Object> {
    match o {
        Object::Reference(id) => doc.get_object(*id).ok(),
        o => Some(o),
    }
}

fn walk<'a>(
    doc: &'a Document,
    node: &'a Object,
    parent: &str,
    parent_ft: Option<&[u8]>,
    depth: usize,
    seen: &mut HashSet<ObjectId>,
    out: &mut Vec<Field<'a>>,
) {
    if depth > 32 || out.len() > 10_000 {
        return;
    }
    let id = node.as_reference().ok();
    if let Some(id) = id
        && !seen.insert(id)
    {
        return;
    }
    let Some(dict) = deref(doc, node).and_then(|o| o.as_dict().ok()) else {
        return;
    };
    let partial = dict.get(b"T").ok().and_then(text_of);
    let name = match (&partial, parent.is_empty()) {
        (Some(p), true) => p.clone(),
        (Some(p), false) => format!("{parent}.{p}"),
        (None, _) => parent.to_string(),
    };
    let ft = dict
        .get(b"FT")
        .and_then(Object::as_name)
        .ok()
        .or(parent_ft)
        .map(<[u8]>::to_vec);
    let kids: Vec<&Object> = dict
        .get(b"Kids")
        .ok()
        .and_then(|o| deref(doc, o))
        .and_then(|o| o.as_array().ok())
        .map(|a| a.iter().collect())
        .unwrap_or_default();
    // Kids that carry a /T are fields; kids without are widgets of this field.
    let field_kids: Vec<&Object> = kids
        .iter()
        .copied()
        .filter(|k| {
            deref(doc, k)
                .and_then(|o| o.as_dict().ok())
                .is_some_and(|d| d.has(b"T"))
        })
        .collect();
    if field_kids.is_empty() {
        out.push(Field { dict, id, name, ft });
    } else {
        for k in field_kids {
            walk(doc, k, &name, ft.as_deref(), depth + 1, seen, out);
        }
    }
}

/// Fully qualified names of every field (to pick a free one).
pub(crate) fn field_names(doc: &Document) -> HashSet<String> {
    fields(doc).into_iter().map(|f| f.name).collect()
}

/// A terminal signature field (`/FT /Sig`, maybe inherited) as the change
/// analysis needs it.
#[derive(Debug)]
pub(crate) struct SigFieldInfo {
    /// The field object (None for a direct field dictionary).
    pub id: Option<ObjectId>,
    /// Fully qualified name.
    pub name: String,
    /// `/V` is present (and not null).
    pub has_value: bool,
    /// `/V` as a reference, when it is one.
    pub value_id: Option<ObjectId>,
    /// `/V` resolves to a dictionary: [`pdf_signatures`] lists the field.
    pub listed: bool,
    /// `/V` is a document time stamp: `/Type /DocTimeStamp` and `/SubFilter
    /// /ETSI.RFC3161` both (the verifier checks the latter's token; a
    /// DocTimeStamp type over a CMS signature is a signature).
    pub doc_time_stamp: bool,
    /// Widget kids (kids without `/T`), by reference.
    pub widgets: Vec<ObjectId>,
    /// The DocMDP level (`/P`, 1–3; invalid values read as 1) when `/V` is a
    /// certification signature (`/Reference` with `/TransformMethod /DocMDP`).
    pub docmdp: Option<u8>,
    /// The field or its signature declares a FieldMDP lock (`/Lock`, or a
    /// `/Reference` with `/TransformMethod /FieldMDP`).
    pub field_mdp: bool,
}

/// The `/TransformMethod`s of a signature dictionary's `/Reference`s, with
/// the DocMDP `/P` when there is one.
pub(crate) fn transforms(doc: &Document, sig: &Dictionary) -> (Option<u8>, bool) {
    let mut docmdp = None;
    let mut field_mdp = false;
    let refs = sig
        .get(b"Reference")
        .ok()
        .and_then(|o| deref(doc, o))
        .and_then(|o| o.as_array().ok());
    for r in refs.into_iter().flatten() {
        let Some(d) = deref(doc, r).and_then(|o| o.as_dict().ok()) else {
            continue;
        };
        match d.get(b"TransformMethod").and_then(Object::as_name) {
            Ok(b"DocMDP") => {
                let p = d
                    .get(b"TransformParams")
                    .ok()
                    .and_then(|o| deref(doc, o))
                    .and_then(|o| o.as_dict().ok())
                    .and_then(|t| t.get(b"P").ok())
                    .map_or(Some(2), |p| p.as_i64().ok());
                // ISO 32000-1 Table 254: 1, 2 or 3 (default 2); anything else is read strictly.
                let level = match p {
                    Some(n @ 1..=3) => n as u8,
                    _ => 1,
                };
                docmdp = Some(docmdp.map_or(level, |l: u8| l.min(level)));
            }
            Ok(b"FieldMDP") => field_mdp = true,
            _ => {}
        }
    }
    (docmdp, field_mdp)
}

/// Every terminal signature field of `doc`'s AcroForm.
pub(crate) fn signature_fields(doc: &Document) -> Vec<SigFieldInfo> {
    let mut out = Vec::new();
    for f in fields(doc) {
        if f.ft.as_deref() != Some(b"Sig") {
            continue;
        }
        let v = f.dict.get(b"V").ok().filter(|o| !matches!(o, Object::Null));
        let value_dict = v.and_then(|o| deref(doc, o)).and_then(|o| o.as_dict().ok());
        let widgets = f
            .dict
            .get(b"Kids")
            .ok()
            .and_then(|o| deref(doc, o))
            .and_then(|o| o.as_array().ok())
            .map(|a| a.iter().filter_map(|k| k.as_reference().ok()).collect())
            .unwrap_or_default();
        let (docmdp, sig_field_mdp) = value_dict.map_or((None, false), |d| transforms(doc, d));
        out.push(SigFieldInfo {
            id: f.id,
            name: f.name,
            has_value: v.is_some(),
            value_id: v.and_then(|o| o.as_reference().ok()),
            listed: value_dict.is_some(),
            doc_time_stamp: value_dict.is_some_and(|d| {
                d.get(b"Type").and_then(Object::as_name).ok() == Some(b"DocTimeStamp")
                    && d.get(b"SubFilter").and_then(Object::as_name).ok()
                        == Some(DOC_TIME_STAMP_SUB_FILTER.as_bytes())
            }),
            widgets,
            docmdp,
            field_mdp: sig_field_mdp || f.dict.has(b"Lock"),
        });
    }
    out
}

/// The DER length of a `SEQUENCE` at the start of `b` (header + content), if readable.
fn der_len(b: &[u8]) -> Option<usize> {
    if b.first()? != &0x30 {
        return None;
    }
    let h = yinzheng_crypto::asn1::header(b, 0, b.len()).ok()?;
    h.header_len.checked_add(h.content_len)
}

/// `/Contents` without its padding: cut at the DER length when everything after is zero.
fn strip_padding(raw: &[u8]) -> Vec<u8> {
    match der_len(raw) {
        Some(n) if n <= raw.len() && raw[n..].iter().all(|b| *b == 0) => raw[..n].to_vec(),
        _ => raw.to_vec(),
    }
}

fn rect(o: &Object) -> Option<[f64; 4]> {
    let a = o.as_array().ok()?;
    if a.len() != 4 {
        return None;
    }
    let mut r = [0.0; 4];
    for (slot, v) in r.iter_mut().zip(a) {
        *slot = f64::from(v.as_float().ok()?);
    }
    Some(r)
}

/// The value of each hexadecimal digit, 0xFF for every other byte.
const HEX_VALUE: [u8; 256] = {
    let mut t = [0xFFu8; 256];
    let mut i = 0;
    while i < 10 {
        t[b'0' as usize + i] = i as u8;
        i += 1;
    }
    let mut i = 0;
    while i < 6 {
        t[b'a' as usize + i] = 10 + i as u8;
        t[b'A' as usize + i] = 10 + i as u8;
        i += 1;
    }
    t
};

/// Whether `hex` (an even number of hexadecimal digits, either case) spells
/// exactly `bytes`. A table lookup per digit and no early branch per pair: the
/// gap of a sealed license is over 100,000 digits.
fn hex_spells(hex: &[u8], bytes: &[u8]) -> bool {
    hex.len() == 2 * bytes.len()
        && hex.chunks_exact(2).zip(bytes).fold(0u16, |bad, (h, b)| {
            let (x, y) = (
                u16::from(HEX_VALUE[usize::from(h[0])]),
                u16::from(HEX_VALUE[usize::from(h[1])]),
            );
            // A non-digit (0xFF) sets bits above 0xFF; a wrong byte sets low bits.
            bad | ((x | y) & 0xF0) << 4 | ((x << 4 | y) ^ u16::from(*b)) & 0xFF
        }) == 0
}

/// Check the byte range against the file: returns (ok, revision, covers_whole_document).
fn check_byte_range(
    pdf: &[u8],
    br: [usize; 4],
    raw: &[u8],
    revs: &[Revision],
) -> (bool, usize, bool) {
    let end = br[2].checked_add(br[3]);
    let revision = match end {
        Some(e) => revs
            .iter()
            .position(|r| r.eof == e || r.end == e)
            .or_else(|| revs.iter().position(|r| r.end >= e))
            .map_or(revs.len().max(1), |i| i + 1),
        None => revs.len().max(1),
    };
    let Some(end) = end else {
        return (false, revision, false);
    };
    let at_rev_end = revs.iter().any(|r| r.eof == end || r.end == end);
    let gap_ok = br[0] == 0
        && br[1] >= 1
        && br[2] > br[1] + 1
        && end <= pdf.len()
        && pdf[br[1]] == b'<'
        && pdf[br[2] - 1] == b'>'
        && hex_spells(&pdf[br[1] + 1..br[2] - 1], raw)
        && pdf[..br[1]].trim_ascii_end().ends_with(b"/Contents");
    let ok = gap_ok && at_rev_end;
    let whole = ok && pdf[end..].iter().all(|b| matches!(b, b'\r' | b'\n'));
    (ok, revision, whole)
}

impl PdfSignature {
    /// Whether this is a document time stamp (`/SubFilter /ETSI.RFC3161`,
    /// PAdES B-LTA): its `/Contents` is an RFC 3161 token, not a CMS
    /// signature.
    pub fn is_document_time_stamp(&self) -> bool {
        self.sub_filter == DOC_TIME_STAMP_SUB_FILTER
    }
}

/// Every signature field with a value, in file order (by where its `/Contents` is).
pub fn pdf_signatures(pdf: &[u8]) -> Result<Vec<PdfSignature>> {
    signatures_in(pdf, &load_for_signatures(pdf)?.doc)
}

/// The dictionary entries whose references [`signatures_in`],
/// [`signature_fields`], the page numbers and the `/Perms` lookup follow: the
/// catalog's form, page tree and permissions; the field tree; signature values
/// with their entries (`/Contents` everywhere but on a page, where it is the
/// content stream); the document security store's certificates, CRLs and
/// OCSP responses (validation material); DocMDP references (`/Perms /DocMDP` is compared by number
/// only). What a document loaded along these alone lacks is never read when
/// listing signatures: `tests/pdf_reachable.rs` fails without any one of them.
pub(crate) fn read_for_signatures(dict: &Dictionary, key: &[u8]) -> bool {
    match key {
        b"Root" | b"AcroForm" | b"Fields" | b"Kids" | b"V" | b"Pages" | b"Perms" | b"Reference"
        | b"TransformParams" | b"Annots" | b"M" | b"Name" | b"Reason" | b"Location"
        | b"ByteRange" | b"DSS" | b"Certs" | b"CRLs" | b"OCSPs" => true,
        // A page's /Contents is its content stream, never read here (a
        // dictionary with a /ByteRange is a signature whatever its /Type).
        b"Contents" => !dict.has_type(b"Page") || dict.has(b"ByteRange"),
        _ => false,
    }
}

/// [`pdf_signatures`] of `pdf` already parsed as `doc`.
pub(crate) fn signatures_in(pdf: &[u8], doc: &Document) -> Result<Vec<PdfSignature>> {
    let revs = revisions(pdf);
    let page_of = page_numbers(doc);
    let mut out = Vec::new();
    for f in fields(doc) {
        if f.ft.as_deref() != Some(b"Sig") {
            continue;
        }
        let Some(v) = f
            .dict
            .get(b"V")
            .ok()
            .and_then(|o| deref(doc, o))
            .and_then(|o| o.as_dict().ok())
        else {
            continue;
        };
        if out.len() == super::MAX_PDF_SIGNATURES {
            return Err(Error::Pdf(format!(
                "more than {} signed signature fields: not verified (a bound on the work \
                 one document may ask for)",
                super::MAX_PDF_SIGNATURES
            )));
        }
        let name = |k: &[u8]| {
            v.get(k)
                .and_then(Object::as_name)
                .map(|n| String::from_utf8_lossy(n).into_owned())
                .unwrap_or_default()
        };
        let text = |k: &[u8]| v.get(k).ok().and_then(|o| deref(doc, o)).and_then(text_of);
        let raw: &[u8] = v
            .get(b"Contents")
            .ok()
            .and_then(|o| deref(doc, o))
            .and_then(|o| o.as_str().ok())
            .unwrap_or(&[]);
        if raw.len() > MAX_CONTENTS_LEN {
            return Err(Error::Pdf(format!(
                "signature {:?}: /Contents has {} bytes, more than {MAX_CONTENTS_LEN}",
                f.name,
                raw.len()
            )));
        }
        let br: Option<[usize; 4]> = v
            .get(b"ByteRange")
            .ok()
            .and_then(|o| deref(doc, o))
            .and_then(|o| o.as_array().ok())
            .filter(|a| a.len() == 4)
            .and_then(|a| {
                let mut r = [0usize; 4];
                for (slot, x) in r.iter_mut().zip(a) {
                    *slot = usize::try_from(x.as_i64().ok()?).ok()?;
                }
                Some(r)
            });
        let (byte_range_ok, revision, covers) = match br {
            Some(br) => check_byte_range(pdf, br, raw, &revs),
            None => (false, revs.len().max(1), false),
        };
        // The widget: the field itself, or its first kid.
        let widget = if f.dict.has(b"Rect") {
            Some((f.dict, f.id))
        } else {
            f.dict
                .get(b"Kids")
                .ok()
                .and_then(|o| deref(doc, o))
                .and_then(|o| o.as_array().ok())
                .and_then(|a| a.first())
                .and_then(|k| {
                    let d = deref(doc, k)?.as_dict().ok()?;
                    Some((d, k.as_reference().ok()))
                })
        };
        let page = widget.and_then(|(d, id)| {
            d.get(b"P")
                .and_then(Object::as_reference)
                .ok()
                .and_then(|p| page_of.get(&p).copied())
                .or_else(|| {
                    let id = id?;
                    page_of.iter().find_map(|(p, n)| {
                        let annots = doc.get_dictionary(*p).ok()?.get(b"Annots").ok()?;
                        let annots = deref(doc, annots)?.as_array().ok()?;
                        annots
                            .iter()
                            .any(|a| a.as_reference().ok() == Some(id))
                            .then_some(*n)
                    })
                })
        });
        out.push(PdfSignature {
            field_name: f.name.clone(),
            sub_filter: name(b"SubFilter"),
            filter: name(b"Filter"),
            byte_range: br.unwrap_or([0; 4]),
            contents: strip_padding(raw),
            signing_time: text(b"M"),
            name: text(b"Name"),
            reason: text(b"Reason"),
            location: text(b"Location"),
            page,
            rect: widget.and_then(|(d, _)| d.get(b"Rect").ok().and_then(rect)),
            revision,
            covers_whole_document: covers,
            byte_range_ok,
        });
    }
    out.sort_by_key(|s| (s.byte_range[1], s.revision));
    Ok(out)
}

/// The two byte ranges `sig` signs, as slices of `pdf`.
pub fn signed_ranges<'a>(pdf: &'a [u8], sig: &PdfSignature) -> Result<[&'a [u8]; 2]> {
    let [a, b, c, d] = sig.byte_range;
    let bad = || {
        Error::Pdf(format!(
            "signature {:?}: the byte range is outside the file",
            sig.field_name
        ))
    };
    let first_end = a.checked_add(b).ok_or_else(bad)?;
    let second_end = c.checked_add(d).ok_or_else(bad)?;
    if first_end > c || second_end > pdf.len() {
        return Err(bad());
    }
    Ok([&pdf[a..first_end], &pdf[c..second_end]])
}

#[cfg(test)]
mod tests {
    use super::hex_spells;

    #[test]
    fn hex_spells_exactly_the_bytes_and_nothing_else() {
        let all: Vec<u8> = (0..=255).collect();
        let lower: String = all.iter().map(|b| format!("{b:02x}")).collect();
        assert!(hex_spells(lower.as_bytes(), &all));
        assert!(hex_spells(lower.to_uppercase().as_bytes(), &all));
        assert!(hex_spells(b"", b""));
        for (hex, bytes) in [
            (&b"0g"[..], &[0x00][..]),
            (b"g0", &[0x00]),
            (b" 0", &[0x00]),
            (b"0 ", &[0x00]),
            (b"00", &[0x01]),
            (b"10", &[0x00]),
            (b"f0", &[0x0f]),
            (b"000", &[0x00]),
            (b"0000", &[0x00]),
            (b"00", &[0x00, 0x00]),
            (b"\xff\xff", &[0xff]),
            (b"\x0f\x0f", &[0xff]),
        ] {
            assert!(!hex_spells(hex, bytes), "{hex:?} {bytes:?}");
        }
        // Every single-digit change of a long spelling is seen.
        let mut h = lower.into_bytes();
        for i in 0..h.len() {
            let was = h[i];
            for c in [b'0', b'9', b'a', b'F', b'x', b'\0', 0xb0] {
                if c.to_ascii_lowercase() == was {
                    continue;
                }
                h[i] = c;
                assert!(!hex_spells(&h, &all), "digit {i} as {c:#x}");
            }
            h[i] = was;
        }
    }
}
