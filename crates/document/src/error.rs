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
    /// A seal-layer error.
    #[error(transparent)]
    Seal(#[from] yinzheng_seal::Error),
}

/// Result alias of this crate.
pub type Result<T, E = Error> = core::result::Result<T, E>;
