//! The one error type of yinzheng-document.

use thiserror::Error;

/// What stops reading a document. A document that was read gets a report, even when it fails.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum Error {
    /// The file is not a well-formed OFD package (what and why).
    #[error("malformed document: {0}")]
    Format(String),
    /// A CMS-layer error (signing).
    #[error(transparent)]
    Cms(#[from] yinzheng_cms::Error),
    /// A document to generate was refused (no pages, too many pages, a page size
    /// that cannot hold text): what and why.
    #[error("cannot generate the document: {0}")]
    Spec(String),
    /// The font has no glyph for a character of the document.
    #[error("the font {font} has no glyph for {ch:?} (U+{:04X})", u32::from(*ch))]
    MissingGlyph {
        /// The character.
        ch: char,
        /// The font's family name.
        font: String,
    },
    /// A QR code could not be made (the text is too long for one).
    #[error("QR code: {0}")]
    Qr(String),
    /// A font could not be read or subset.
    #[error("font: {0}")]
    Font(String),
    /// The file is not a PDF this crate can read or stamp (what and why).
    #[error("PDF: {0}")]
    Pdf(String),
    /// The options given to a stamping function are not usable (what and why).
    /// Untrusted document input never causes it.
    #[error("invalid options: {0}")]
    Options(String),
    /// The phrase a seal was to be placed near is not on the page.
    #[error("text {text:?} not found on page {page}")]
    TextNotFound {
        /// The phrase looked for.
        text: String,
        /// The page searched, from 1.
        page: usize,
    },
    /// The signing callback returned a CMS larger than the space reserved for it.
    #[error(
        "the signature needs {needed} bytes but only {capacity} were reserved (raise contents_capacity)"
    )]
    ContentsTooSmall {
        /// Size of the CMS returned.
        needed: usize,
        /// Bytes reserved (`contents_capacity`).
        capacity: usize,
    },
    /// A seal-layer error.
    #[error(transparent)]
    Seal(#[from] yinzheng_seal::Error),
}

/// Result alias of this crate.
pub type Result<T, E = Error> = core::result::Result<T, E>;
