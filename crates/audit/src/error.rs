//! Why an audit could not run at all. A file that was read and found wrong is
//! not an `Error`: that is a failed check in the [`crate::Outcome`].

/// Why an audit could not be performed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The trust-anchors file is not usable (syntax, bad PEM, bad key).
    #[error("trust anchors: {0}")]
    Trust(String),
    /// An input is not of a kind this verifier reads.
    #[error("{0}")]
    Input(String),
    /// Writing a bundle failed.
    #[error("bundle: {0}")]
    Bundle(String),
}

/// Result with this crate's [`Error`].
pub type Result<T> = std::result::Result<T, Error>;
