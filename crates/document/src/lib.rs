//! Seals on documents (Yinzheng 印证): OFD packages (GB/T 33190) carrying
//! GB/T 38540 seal signatures, and PDF signatures with a visible seal (the PDF
//! mechanics: incremental update, signature field and appearance, byte ranges,
//! revisions; the CMS comes from a callback).
//!
//! - Generate: [`write_ofd`] sets an [`OfdDocumentSpec`] (titled pages of
//!   paragraphs and key/value lines, e.g. a license face, and [`OfdImage`]s
//!   such as a QR code) in an [`OfdFont`] and returns the package bytes,
//!   embedding only the glyphs used; [`write_pdf`] makes the PDF copy of the
//!   same spec, from the same layout pass (same positions, same font subset,
//!   text extractable through a ToUnicode map).
//! - QR codes: [`qr_png`] (to place on a page) and [`qr_terminal`] (to show
//!   in a terminal), error correction level M with a 4-module quiet zone.
//! - Seal: [`stamp_ofd`] adds a seal signature to any OFD package;
//!   [`sign_ofd`] adds a GB/T 35275 `Type="Sign"` signature.
//! - Verify: [`TrustContext::verify`] is the one entry point every front end
//!   uses: it recognises the input ([`Format::sniff`]: PDF, OFD, detached CMS,
//!   seal signature, seal) and runs the matching verifier — [`verify_pdf`],
//!   [`verify_ofd`], [`verify_detached_cms`] — into one report.
//!   [`verify_ofd`] checks every signature and that what a reader displays for
//!   the document OFD.xml names ([`DisplayedParts`]: pages, templates,
//!   resources, fonts, images, annotations, visible attachments) is signed and
//!   unchanged; unprotected metadata (OFD.xml) and stray copies are warnings,
//!   a seal copy holding another seal fails. [`OfdPackage`] reads a package
//!   within size limits and refuses ZIP files that readers could read
//!   differently ([`ZipError`]).
//! - Preview: [`render_ofd_page_png`] draws a page's text, PNG images and seal stamps.
//!
//! Invariants: every digest is over the raw bytes of the package part as
//! stored (never a re-serialised XML); packages are read within size limits
//! (zip bombs) and only when their local headers and central directory agree;
//! a document that could be read always gets a report.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod error;
mod evidence_record;
mod ofd;
mod ofd_render;
mod ofd_stamp;
mod ofd_write;
mod pdf;
mod pdf_ltv;
mod pdf_seal;
mod pdf_write;
mod qr;
mod signed_data;
mod verdict_cache;
mod verifier;
mod xml;

pub use error::{Error, Result, ZipError, ZipFault};
pub use evidence_record::{EvidenceLink, verify_evidence_record};
pub use ofd::{
    DisplayedParts, MAX_OFD_SIGNATURES, MAX_PACKAGE_ENTRIES, MAX_PACKAGE_LEN, MAX_PART_LEN,
    OfdPackage, OfdSignature, verify_ofd, verify_ofd_at,
};
pub use ofd_render::{MAX_RENDER_PIXELS, render_ofd_page_png};
pub use ofd_stamp::{Placement, sign_ofd, stamp_ofd};
pub use ofd_write::{
    A4_MM, MAX_GENERATED_PAGES, OfdDocumentSpec, OfdFont, OfdImage, OfdLine, OfdPage, write_ofd,
};
#[doc(hidden)]
pub use pdf::reading as pdf_reading;
pub use pdf::{
    Certification, DssMaterial, MAX_CONTENTS_LEN, MAX_DSS_ITEM_LEN, MAX_DSS_ITEMS, MAX_PDF_LEN,
    MAX_PDF_REVISIONS, MAX_PDF_SIGNATURES, ModificationCheck, PdfChangePolicy, PdfPosition,
    PdfSealAppearance, PdfSignature, PdfStampOptions, PdfSubFilter, SignCallback, add_dss,
    modifications_after, modifications_after_with, pdf_dss, pdf_signatures, signed_ranges,
    stamp_pdf,
};
pub use pdf_ltv::time_stamp_pdf;
pub use pdf_seal::{PdfSealMode, PdfSealer, seal_pdf, verify_pdf, verify_pdf_at, verify_pdf_with};
pub use pdf_write::write_pdf;
pub use qr::{MAX_QR_MODULE_PX, qr_png, qr_terminal};
pub use signed_data::{CmsSummary, CmsVerifyContext, verify_detached_cms, verify_detached_cms_at};
pub use verdict_cache::{VerdictCache, VerdictCacheLimits};
pub use verifier::{Format, MakerPolicy, TrustContext, ValidationTime, Verified, VerifyRequest};
