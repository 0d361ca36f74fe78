//! PDF signatures with a visible seal (ISO 32000-1 §12.7–12.8, PAdES): the
//! mechanics only. Stamping writes an incremental update with a signature
//! field, its widget and appearance, and asks a callback for the CMS over the
//! two signed byte ranges; reading lists the signatures, their byte ranges and
//! revisions, and what later revisions changed. No cryptography happens here.
//!
//! Limitations: encrypted PDFs and PDFs whose cross-reference data is damaged
//! (lopdf would have to rebuild it) are refused for stamping; a linearized
//! file's first-page cross-reference section counts as a revision of its own.

pub(crate) mod appearance;
mod dss;
mod extract;
mod geometry;
mod modify;
mod stamp;
mod text;

pub(crate) use dss::read_dss;
pub use dss::{DssMaterial, MAX_DSS_ITEM_LEN, MAX_DSS_ITEMS, add_dss, pdf_dss};
pub(crate) use extract::DOC_TIME_STAMP_SUB_FILTER;
pub use extract::{PdfSignature, pdf_signatures, signed_ranges};
pub(crate) use modify::PdfChanges;
pub use modify::{
    Certification, MAX_PDF_REVISIONS, ModificationCheck, PdfChangePolicy, modifications_after,
    modifications_after_with,
};
pub use stamp::{
    PdfPosition, PdfSealAppearance, PdfStampOptions, PdfSubFilter, SignCallback, stamp_pdf,
};

use crate::error::{Error, Result};
use lopdf::Document;

/// The largest PDF read or stamped (512 MiB).
pub const MAX_PDF_LEN: usize = 512 * 1024 * 1024;

/// The largest `/Contents` of a signature: 1 MiB of hex, 512 KiB of CMS.
pub const MAX_CONTENTS_LEN: usize = 512 * 1024;
/// Most signatures verified in one PDF (each costs a CMS check and a chain
/// validation; real documents carry a handful).
pub const MAX_PDF_SIGNATURES: usize = 64;

/// Most objects [`load_for_signatures`] reads before it falls back to a full
/// parse (a license has a few dozen; a long document's page tree, thousands).
const MAX_REACHABLE_OBJECTS: usize = 20_000;

/// Refuse a file over the size limit or without a `%PDF-` header in its first KiB.
fn check_size_and_header(pdf: &[u8]) -> Result<()> {
    if pdf.len() > MAX_PDF_LEN {
        return Err(Error::Pdf(format!(
            "the PDF has {} bytes, more than the {MAX_PDF_LEN} accepted",
            pdf.len()
        )));
    }
    if !pdf.starts_with(b"%PDF-") && find(pdf.get(..1024).unwrap_or(pdf), b"%PDF-").is_none() {
        return Err(Error::Pdf("no %PDF- header".into()));
    }
    Ok(())
}

/// Parse a PDF within the size limit. A panic in the parser on hostile input
/// becomes an error rather than taking the caller down.
pub(crate) fn load(pdf: &[u8]) -> Result<Document> {
    check_size_and_header(pdf)?;
    let parsed = std::panic::catch_unwind(|| Document::load_mem(pdf));
    match parsed {
        Ok(Ok(doc)) => Ok(doc),
        Ok(Err(e)) => Err(Error::Pdf(format!("cannot parse the PDF: {e}"))),
        Err(_) => Err(Error::Pdf("cannot parse the PDF (parser failure)".into())),
    }
}

/// A PDF read for listing its signatures: in part (see [`load_for_signatures`])
/// or whole.
pub(crate) struct SignatureView {
    pub doc: Document,
    /// Only the objects [`extract::read_for_signatures`] leads to were read.
    pub in_part: bool,
}

/// What listing the signatures of `pdf` needs. The file is read from its
/// trailer and cross-reference data, object by object, only along the entries
/// that lead to the signature fields, their values, the page tree and
/// `/Perms` ([`extract::read_for_signatures`]): content streams, fonts,
/// images and appearances are never parsed. A file whose objects or
/// cross-reference data are not exactly as a full parse would read them (see
/// lopdf's `Reader::read_reachable`: encrypted, damaged or rebuilt tables,
/// objects that are not where their entries say) is parsed whole as [`load`]
/// does. Both give the same signatures, fields and page numbers
/// (`tests/pdf_reachable.rs` and the `pdf_signatures` fuzz target compare them).
/// A signature that does not cover the whole file needs the change analysis,
/// which reads every object: [`modify::PdfChanges`] then parses the file whole.
pub(crate) fn load_for_signatures(pdf: &[u8]) -> Result<SignatureView> {
    check_size_and_header(pdf)?;
    let reachable = std::panic::catch_unwind(|| {
        Document::load_mem_reachable(pdf, &extract::read_for_signatures, MAX_REACHABLE_OBJECTS)
    });
    if let Ok(Ok(Some(doc))) = reachable {
        return Ok(SignatureView { doc, in_part: true });
    }
    Ok(SignatureView {
        doc: load(pdf)?,
        in_part: false,
    })
}

/// The signature listing of a PDF read in part against the same listing of
/// the file parsed whole, for `tests/pdf_reachable.rs` and the
/// `pdf_signatures` fuzz target. Not an API.
#[doc(hidden)]
pub mod reading {
    use super::extract::{PdfSignature, signature_fields, signatures_in};
    use crate::error::Result;
    use lopdf::{Document, ObjectId};

    /// Everything the verifier reads from the structure of a signed PDF.
    #[derive(Debug, PartialEq)]
    pub struct Listing {
        /// As [`crate::pdf_signatures`] lists them.
        pub signatures: Vec<PdfSignature>,
        /// Each signature field as the change analysis sees it (name, value,
        /// widgets, DocMDP), in its debug form.
        pub fields: Vec<String>,
        /// The signature `/Perms /DocMDP` names.
        pub perms_docmdp: Option<ObjectId>,
        /// Page numbers, by page object.
        pub pages: Vec<(ObjectId, usize)>,
    }

    fn listing(pdf: &[u8], doc: &Document) -> Result<Listing> {
        let mut pages: Vec<_> = super::geometry::page_numbers(doc).into_iter().collect();
        pages.sort_unstable();
        Ok(Listing {
            signatures: signatures_in(pdf, doc)?,
            fields: signature_fields(doc)
                .iter()
                .map(|f| format!("{f:?}"))
                .collect(),
            perms_docmdp: super::modify::perms_docmdp(doc),
            pages,
        })
    }

    /// The listing from the file read in part, or `None` when the verifier
    /// would parse it whole.
    pub fn in_part(pdf: &[u8]) -> Option<Result<Listing>> {
        match super::load_for_signatures(pdf) {
            Ok(view) if view.in_part => Some(listing(pdf, &view.doc)),
            Ok(_) => None,
            Err(e) => Some(Err(e)),
        }
    }

    /// The listing from the file parsed whole.
    pub fn whole(pdf: &[u8]) -> Result<Listing> {
        listing(pdf, &super::load(pdf)?)
    }
}

/// One revision of a file: the original and each incremental update, ending
/// at a `%%EOF` marker that follows a `startxref`.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Revision {
    /// Offset just after `%%EOF`.
    pub eof: usize,
    /// Offset after `%%EOF` and its end-of-line marker, if any.
    pub end: usize,
}

/// The revisions of `pdf`, in file order.
pub(crate) fn revisions(pdf: &[u8]) -> Vec<Revision> {
    let mut out = Vec::new();
    let mut i = 0;
    while let Some(p) = find(&pdf[i..], b"%%EOF") {
        let at = i + p;
        let eof = at + 5;
        let before = &pdf[at.saturating_sub(48)..at];
        if find(before, b"startxref").is_some() {
            let end = match pdf.get(eof..eof + 2) {
                Some(b"\r\n") => eof + 2,
                _ => match pdf.get(eof) {
                    Some(b'\n') | Some(b'\r') => eof + 1,
                    _ => eof,
                },
            };
            out.push(Revision { eof, end });
        }
        i = eof;
    }
    out
}

/// First occurrence of `needle` in `hay` (none for an empty needle). SIMD
/// substring search: the revision scan runs over the whole file on every
/// verification.
pub(crate) fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() {
        return None;
    }
    memchr::memmem::find(hay, needle)
}

/// A PDF text string (`/T`, `/Name`…) as Rust text.
pub(crate) fn text_of(obj: &lopdf::Object) -> Option<String> {
    lopdf::decode_text_string(obj).ok()
}

/// Millimetres to PDF points.
pub(crate) const PT_PER_MM: f64 = 72.0 / 25.4;
