//! Stamping a PDF: an incremental update that adds a signature field merged
//! with its widget (and its appearance), lists it in the page's `/Annots` and
//! the catalogue's `/AcroForm`, and fills `/Contents` with the CMS a callback
//! returns for the two signed byte ranges. Earlier bytes are never rewritten.

use super::appearance;
use super::geometry::PageGeometry;
use super::{MAX_CONTENTS_LEN, MAX_PDF_LEN, PT_PER_MM, find, load, text};
use crate::error::{Error, Result};
use lopdf::{Dictionary, IncrementalDocument, Object, ObjectId, StringFormat, dictionary};

/// Which `/SubFilter` the signature dictionary declares.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum PdfSubFilter {
    /// `ETSI.CAdES.detached` (PAdES), the default.
    #[default]
    CadesDetached,
    /// `adbe.pkcs7.detached`.
    Pkcs7Detached,
    /// `ETSI.RFC3161`: a document time stamp (`/Type /DocTimeStamp`, PAdES
    /// B-LTA); `/Contents` is an RFC 3161 token over the byte ranges, and the
    /// field is invisible whatever the options say.
    DocTimeStamp,
}

impl PdfSubFilter {
    /// The PDF name, without the slash.
    pub fn name(self) -> &'static str {
        match self {
            PdfSubFilter::CadesDetached => "ETSI.CAdES.detached",
            PdfSubFilter::Pkcs7Detached => "adbe.pkcs7.detached",
            PdfSubFilter::DocTimeStamp => super::DOC_TIME_STAMP_SUB_FILTER,
        }
    }
}

/// Where the seal goes on the page.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum PdfPosition {
    /// The seal's top-left corner, measured from the top-left corner of the
    /// page as displayed (its CropBox, after `/Rotate`), in mm; the same
    /// convention as [`crate::Placement`].
    At {
        /// Distance from the left edge, mm.
        x_mm: f64,
        /// Distance from the top edge, mm.
        y_mm: f64,
    },
    /// The seal centred just below the first occurrence of this text on the
    /// page (whitespace ignored when matching).
    Near {
        /// The phrase to look for.
        text: String,
    },
}

/// What a visible seal looks like.
#[derive(Clone, Debug)]
pub struct PdfSealAppearance {
    /// PNG of the seal picture (RGBA, e.g. `yinzheng_seal::draw_round`'s output).
    pub png: Vec<u8>,
    /// Printed width of the picture, mm.
    pub width_mm: f64,
    /// Printed height of the picture, mm.
    pub height_mm: f64,
    /// A line of text drawn under the seal, e.g. "签章人 … 2026-11-23 10:00".
    pub text_line: Option<String>,
}

/// How to stamp a PDF. [`PdfStampOptions::new`] gives the defaults.
#[derive(Clone, Debug)]
pub struct PdfStampOptions {
    /// Page number, from 1.
    pub page: usize,
    /// Where the seal goes (ignored for an invisible signature).
    pub position: PdfPosition,
    /// The seal's appearance; `None` makes an invisible signature.
    pub appearance: Option<PdfSealAppearance>,
    /// Field name; by default the first free of `Seal1`, `Seal2`…
    pub field_name: Option<String>,
    /// The `/SubFilter` to declare.
    pub sub_filter: PdfSubFilter,
    /// Written as `/M (D:YYYYMMDDHHmmSS+08'00')` in the time's own offset.
    pub signing_time: time::OffsetDateTime,
    /// `/Name`: the signer's name.
    pub name: Option<String>,
    /// `/Reason`.
    pub reason: Option<String>,
    /// `/Location`.
    pub location: Option<String>,
    /// Bytes reserved for the DER CMS (16384 by default; at most [`MAX_CONTENTS_LEN`]).
    pub contents_capacity: usize,
}

impl PdfStampOptions {
    /// Options for an invisible signature on page 1 at `signing_time`: PAdES
    /// sub-filter, default field name, 16 KiB reserved for the CMS.
    pub fn new(signing_time: time::OffsetDateTime) -> Self {
        Self {
            page: 1,
            position: PdfPosition::At {
                x_mm: 0.0,
                y_mm: 0.0,
            },
            appearance: None,
            field_name: None,
            sub_filter: PdfSubFilter::CadesDetached,
            signing_time,
            name: None,
            reason: None,
            location: None,
            contents_capacity: 16384,
        }
    }
}

/// The signing callback: gets the two signed byte ranges, returns the DER CMS.
pub type SignCallback<'a> = dyn FnMut([&[u8]; 2]) -> Result<Vec<u8>> + 'a;

/// `D:YYYYMMDDHHmmSS+HH'mm'`.
fn pdf_date(t: time::OffsetDateTime) -> String {
    let off = t.offset();
    let (h, m, _) = off.as_hms();
    let sign = if off.is_negative() { '-' } else { '+' };
    format!(
        "D:{:04}{:02}{:02}{:02}{:02}{:02}{sign}{:02}'{:02}'",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
        h.unsigned_abs(),
        m.unsigned_abs()
    )
}

const BYTE_RANGE_PLACEHOLDER: &[u8] = b"[0 9999999999 9999999999 9999999999]";

/// Stamp `pdf`: append an incremental update with a signature field (and its
/// appearance unless invisible), then call `sign` with the two byte ranges the
/// signature covers and write the DER CMS it returns into `/Contents`.
///
/// The CMS must fit in `opts.contents_capacity` bytes
/// ([`Error::ContentsTooSmall`] otherwise). Earlier revisions are kept byte for
/// byte, so earlier signatures stay valid; the new cross-reference section is
/// of the same kind (table or stream) as the previous one.
pub fn stamp_pdf(
    pdf: &[u8],
    opts: &PdfStampOptions,
    sign: &mut SignCallback<'_>,
) -> Result<Vec<u8>> {
    if opts.contents_capacity == 0 || opts.contents_capacity > MAX_CONTENTS_LEN {
        return Err(Error::Options(format!(
            "contents_capacity {} is not within 1..={MAX_CONTENTS_LEN}",
            opts.contents_capacity
        )));
    }
    if pdf
        .len()
        .saturating_add(opts.contents_capacity * 2 + 1024 * 1024)
        > MAX_PDF_LEN
    {
        return Err(Error::Pdf(format!(
            "the PDF has {} bytes; stamped it would exceed {MAX_PDF_LEN}",
            pdf.len()
        )));
    }
    let doc = load_for_update(pdf)?;
    let pages = doc.get_pages();
    let page_id = u32::try_from(opts.page)
        .ok()
        .and_then(|n| pages.get(&n).copied())
        .ok_or_else(|| {
            Error::Options(format!(
                "page {} does not exist (the document has {})",
                opts.page,
                pages.len()
            ))
        })?;
    let root_id = doc
        .trailer
        .get(b"Root")
        .and_then(Object::as_reference)
        .map_err(|_| Error::Pdf("the trailer has no /Root".into()))?;
    let names = super::extract::field_names(&doc);
    let field_name = match &opts.field_name {
        Some(n) if n.is_empty() || n.contains('.') => {
            return Err(Error::Options(format!(
                "field name {n:?} must be non-empty and without '.'"
            )));
        }
        Some(n) if names.contains(n) => {
            return Err(Error::Options(format!(
                "a field named {n:?} already exists"
            )));
        }
        Some(n) => n.clone(),
        None => (1..)
            .map(|i| format!("Seal{i}"))
            .find(|n| !names.contains(n))
            .unwrap_or_else(|| "Seal".into()),
    };
    let time_stamp = opts.sub_filter == PdfSubFilter::DocTimeStamp;
    let field_name = match (&opts.field_name, time_stamp) {
        (None, true) => (1..)
            .map(|i| format!("DocTimeStamp{i}"))
            .find(|n| !names.contains(n))
            .unwrap_or_else(|| "DocTimeStamp".into()),
        _ => field_name,
    };
    let appearance = if time_stamp {
        None
    } else {
        opts.appearance.as_ref()
    };
    let geom = PageGeometry::of(&doc, page_id)?;
    let near = match (appearance, &opts.position) {
        (Some(_), PdfPosition::Near { text: phrase }) => Some(
            text::find_text(&doc, page_id, phrase)?.ok_or_else(|| Error::TextNotFound {
                text: phrase.clone(),
                page: opts.page,
            })?,
        ),
        _ => None,
    };

    let prev_len = pdf.len();
    let mut inc = IncrementalDocument::create_from(pdf.to_vec(), doc);

    // Appearance and widget rectangle.
    let (rect, ap) = match appearance {
        None => ([0.0; 4], None),
        Some(app) => {
            let built = appearance::build(&mut inc.new_document, app, geom.appearance_matrix())?;
            let (u, v) = match (&opts.position, near) {
                (_, Some(hit)) => {
                    let (a, b) = geom.to_display(hit.bbox[0], hit.bbox[1]);
                    let (c, d) = geom.to_display(hit.bbox[2], hit.bbox[3]);
                    let centre = (a + c) / 2.0;
                    let bottom = b.max(d);
                    (centre - built.width / 2.0, bottom + 2.0)
                }
                (PdfPosition::At { x_mm, y_mm }, None) => {
                    if !(x_mm.is_finite() && y_mm.is_finite()) {
                        return Err(Error::Options("the seal position is not a number".into()));
                    }
                    (x_mm * PT_PER_MM, y_mm * PT_PER_MM)
                }
                (PdfPosition::Near { .. }, None) => (0.0, 0.0),
            };
            let rect = geom.user_rect(u, v, built.width, built.height);
            (rect, Some(built.form))
        }
    };

    // Signature dictionary with placeholders. A document time stamp's time
    // is its token's: it has no /M, /Name, /Reason or /Location.
    let mut sig = dictionary! {
        "Type" => if time_stamp { "DocTimeStamp" } else { "Sig" },
        "Filter" => "Adobe.PPKLite",
        "SubFilter" => opts.sub_filter.name(),
        "ByteRange" => vec![Object::Integer(0), Object::Integer(9_999_999_999), Object::Integer(9_999_999_999), Object::Integer(9_999_999_999)],
        "Contents" => Object::String(vec![0; opts.contents_capacity], StringFormat::Hexadecimal),
    };
    if !time_stamp {
        sig.set("M", Object::string_literal(pdf_date(opts.signing_time)));
    }
    for (key, value) in [
        ("Name", &opts.name),
        ("Reason", &opts.reason),
        ("Location", &opts.location),
    ] {
        if let Some(v) = value.as_ref().filter(|_| !time_stamp) {
            sig.set(key, lopdf::text_string(v));
        }
    }
    let sig_id = inc.new_document.add_object(sig);

    let mut widget = dictionary! {
        "Type" => "Annot",
        "Subtype" => "Widget",
        "FT" => "Sig",
        "T" => lopdf::text_string(&field_name),
        "V" => sig_id,
        "Rect" => rect.iter().map(|v| Object::Real(*v as f32)).collect::<Vec<_>>(),
        "F" => 132,
        "P" => page_id,
    };
    if let Some(form) = ap {
        widget.set("AP", dictionary! { "N" => form });
    }
    let widget_id = inc.new_document.add_object(widget);
    add_annot(&mut inc, page_id, widget_id)?;
    add_field(&mut inc, root_id, widget_id)?;

    let mut out = Vec::with_capacity(prev_len + opts.contents_capacity * 2 + 64 * 1024);
    inc.save_to(&mut out)
        .map_err(|e| Error::Pdf(format!("cannot write the update: {e}")))?;
    let (br_start, br_end) = locate_byte_range(&out, prev_len)?;
    let (c_start, c_end) = locate_contents(&out, prev_len, opts.contents_capacity)?;

    let a = c_start;
    let b = c_end;
    let c = out.len() - b;
    let patched = format!("[0 {a} {b} {c}]");
    let slot = &mut out[br_start..br_end];
    if patched.len() > slot.len() {
        return Err(Error::Pdf(
            "the byte range does not fit its placeholder".into(),
        ));
    }
    slot.fill(b' ');
    slot[..patched.len() - 1].copy_from_slice(&patched.as_bytes()[..patched.len() - 1]);
    if let Some(last) = slot.last_mut() {
        *last = b']';
    }

    let cms = sign([&out[..a], &out[b..]])?;
    if cms.len() > opts.contents_capacity {
        return Err(Error::ContentsTooSmall {
            needed: cms.len(),
            capacity: opts.contents_capacity,
        });
    }
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    for (i, byte) in cms.iter().enumerate() {
        out[a + 1 + 2 * i] = HEX[usize::from(byte >> 4)];
        out[a + 2 + 2 * i] = HEX[usize::from(byte & 15)];
    }
    Ok(out)
}

/// `pdf` parsed for an incremental update: not encrypted, and with sound
/// cross-reference data (an update over rebuilt tables would be read
/// differently by other readers).
pub(super) fn load_for_update(pdf: &[u8]) -> Result<lopdf::Document> {
    let doc = load(pdf)?;
    if doc.is_encrypted() || doc.trailer.has(b"Encrypt") {
        return Err(Error::Pdf("encrypted PDFs cannot be updated".into()));
    }
    if doc.xref_recovery.is_some() || doc.xref_start == 0 {
        return Err(Error::Pdf(
            "the PDF's cross-reference data is damaged; rewrite it (e.g. qpdf in.pdf out.pdf) \
             before adding to it"
                .into(),
        ));
    }
    Ok(doc)
}

/// The `[…]` of the `/ByteRange` placeholder after `from`.
fn locate_byte_range(out: &[u8], from: usize) -> Result<(usize, usize)> {
    let tail = &out[from..];
    let mut found = None;
    let mut i = 0;
    while let Some(p) = find(&tail[i..], BYTE_RANGE_PLACEHOLDER) {
        if found.is_some() {
            return Err(Error::Pdf(
                "the byte range placeholder is not unique".into(),
            ));
        }
        found = Some(from + i + p);
        i += p + 1;
    }
    let start =
        found.ok_or_else(|| Error::Pdf("the byte range placeholder was not written".into()))?;
    Ok((start, start + BYTE_RANGE_PLACEHOLDER.len()))
}

/// The `<…>` of the zero-filled `/Contents` placeholder after `from`.
fn locate_contents(out: &[u8], from: usize, capacity: usize) -> Result<(usize, usize)> {
    let mut found = None;
    let mut i = from;
    while let Some(p) = find(&out[i..], b"/Contents") {
        let key_end = i + p + b"/Contents".len();
        let mut j = key_end;
        while out.get(j).is_some_and(|b| b.is_ascii_whitespace()) {
            j += 1;
        }
        if out.get(j) == Some(&b'<') {
            let end = j + 1 + 2 * capacity;
            if out.get(end) == Some(&b'>') && out[j + 1..end].iter().all(|b| *b == b'0') {
                if found.is_some() {
                    return Err(Error::Pdf("the /Contents placeholder is not unique".into()));
                }
                found = Some((j, end + 1));
            }
        }
        i = key_end;
    }
    found.ok_or_else(|| Error::Pdf("the /Contents placeholder was not written".into()))
}

/// Follow a reference to the object it names in the previous revisions.
pub(super) fn prev_obj(inc: &IncrementalDocument, id: ObjectId) -> Result<&Object> {
    inc.get_prev_documents()
        .get_object(id)
        .map_err(|_| Error::Pdf(format!("object {} {} is missing", id.0, id.1)))
}

/// Copy object `id` into the update (if not there yet) and return it for editing.
pub(super) fn edit(inc: &mut IncrementalDocument, id: ObjectId) -> Result<&mut Object> {
    inc.opt_clone_object_to_new_document(id)
        .map_err(|_| Error::Pdf(format!("object {} {} is missing", id.0, id.1)))?;
    inc.new_document
        .get_object_mut(id)
        .map_err(|_| Error::Pdf(format!("object {} {} is missing", id.0, id.1)))
}

fn push_ref(arr: &mut Object, id: ObjectId, what: &str) -> Result<()> {
    arr.as_array_mut()
        .map_err(|_| Error::Pdf(format!("{what} is not an array")))?
        .push(Object::Reference(id));
    Ok(())
}

/// Add the widget to the page's `/Annots` (the page, or its indirect array, goes in the update).
fn add_annot(inc: &mut IncrementalDocument, page: ObjectId, widget: ObjectId) -> Result<()> {
    let annots = prev_obj(inc, page)?
        .as_dict()
        .map_err(|_| Error::Pdf("the page is not a dictionary".into()))?
        .get(b"Annots")
        .ok()
        .cloned();
    match annots {
        Some(Object::Reference(id)) => push_ref(edit(inc, id)?, widget, "the page's /Annots"),
        Some(Object::Array(_)) | None => {
            let dict = edit(inc, page)?
                .as_dict_mut()
                .map_err(|_| Error::Pdf("the page is not a dictionary".into()))?;
            if !dict.has(b"Annots") {
                dict.set("Annots", Vec::<Object>::new());
            }
            let arr = dict
                .get_mut(b"Annots")
                .map_err(|_| Error::Pdf("the page's /Annots is missing".into()))?;
            push_ref(arr, widget, "the page's /Annots")
        }
        Some(_) => Err(Error::Pdf("the page's /Annots is not an array".into())),
    }
}

/// Add the field to `/AcroForm /Fields` and set `/SigFlags 3`.
fn add_field(inc: &mut IncrementalDocument, root: ObjectId, field: ObjectId) -> Result<()> {
    let acroform = prev_obj(inc, root)?
        .as_dict()
        .map_err(|_| Error::Pdf("the catalogue is not a dictionary".into()))?
        .get(b"AcroForm")
        .ok()
        .cloned();
    let form_id = match acroform {
        Some(Object::Reference(id)) => Some(id),
        Some(Object::Dictionary(_)) => None,
        None => {
            let id = inc
                .new_document
                .add_object(dictionary! { "Fields" => Vec::<Object>::new() });
            edit(inc, root)?
                .as_dict_mut()
                .map_err(|_| Error::Pdf("the catalogue is not a dictionary".into()))?
                .set("AcroForm", id);
            Some(id)
        }
        Some(_) => return Err(Error::Pdf("/AcroForm is not a dictionary".into())),
    };
    let fields = {
        let dict: &Dictionary = match form_id {
            Some(id) => inc
                .new_document
                .get_object(id)
                .or_else(|_| inc.get_prev_documents().get_object(id))
                .and_then(Object::as_dict),
            None => inc
                .get_prev_documents()
                .get_object(root)
                .and_then(Object::as_dict)
                .and_then(|c| c.get(b"AcroForm"))
                .and_then(Object::as_dict),
        }
        .map_err(|_| Error::Pdf("/AcroForm is not a dictionary".into()))?;
        dict.get(b"Fields").ok().cloned()
    };
    if let Some(Object::Reference(id)) = fields {
        push_ref(edit(inc, id)?, field, "/AcroForm /Fields")?;
    }
    let form: &mut Dictionary = match form_id {
        Some(id) => edit(inc, id)?,
        None => edit(inc, root)?
            .as_dict_mut()
            .map_err(|_| Error::Pdf("the catalogue is not a dictionary".into()))?
            .get_mut(b"AcroForm")
            .map_err(|_| Error::Pdf("/AcroForm is missing".into()))?,
    }
    .as_dict_mut()
    .map_err(|_| Error::Pdf("/AcroForm is not a dictionary".into()))?;
    match fields {
        Some(Object::Reference(_)) => {}
        Some(Object::Array(_)) => push_ref(
            form.get_mut(b"Fields")
                .map_err(|_| Error::Pdf("/AcroForm /Fields is missing".into()))?,
            field,
            "/AcroForm /Fields",
        )?,
        None => form.set("Fields", vec![Object::Reference(field)]),
        Some(_) => return Err(Error::Pdf("/AcroForm /Fields is not an array".into())),
    }
    form.set("SigFlags", 3);
    Ok(())
}
