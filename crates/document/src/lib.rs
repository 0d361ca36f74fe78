//! Seals on documents (Yinzheng 印证): OFD packages (GB/T 33190) carrying
//! GB/T 38540 seal signatures, and PDF signatures with a visible seal (the PDF
//! mechanics: incremental update, signature field and appearance, byte ranges,
//! revisions; the CMS comes from a callback).
//!
//! Invariants: every digest is over the raw bytes of the package part as
//! stored (never a re-serialised XML); packages are read within size limits
//! (zip bombs); a document that could be read always gets a report.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod error;
mod ofd;
mod ofd_stamp;
mod pdf;
mod xml;

pub use error::{Error, Result};
pub use ofd::{
    MAX_PACKAGE_ENTRIES, MAX_PACKAGE_LEN, MAX_PART_LEN, OfdPackage, OfdSignature, verify_ofd,
};
pub use ofd_stamp::{Placement, stamp_ofd};
pub use pdf::{
    MAX_CONTENTS_LEN, MAX_PDF_LEN, ModificationCheck, PdfPosition, PdfSealAppearance, PdfSignature,
    PdfStampOptions, PdfSubFilter, SignCallback, modifications_after, pdf_signatures,
    signed_ranges, stamp_pdf,
};
