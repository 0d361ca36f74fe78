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
mod extract;
mod geometry;
mod modify;
mod stamp;
mod text;

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

/// Parse a PDF within the size limit. A panic in the parser on hostile input
/// becomes an error rather than taking the caller down.
pub(crate) fn load(pdf: &[u8]) -> Result<Document> {
    if pdf.len() > MAX_PDF_LEN {
        return Err(Error::Pdf(format!(
            "the PDF has {} bytes, more than the {MAX_PDF_LEN} accepted",
            pdf.len()
        )));
    }
    if !pdf.starts_with(b"%PDF-")
        && !pdf
            .get(..1024)
            .unwrap_or(pdf)
            .windows(5)
            .any(|w| w == b"%PDF-")
    {
        return Err(Error::Pdf("no %PDF- header".into()));
    }
    let parsed = std::panic::catch_unwind(|| Document::load_mem(pdf));
    match parsed {
        Ok(Ok(doc)) => Ok(doc),
        Ok(Err(e)) => Err(Error::Pdf(format!("cannot parse the PDF: {e}"))),
        Err(_) => Err(Error::Pdf("cannot parse the PDF (parser failure)".into())),
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
