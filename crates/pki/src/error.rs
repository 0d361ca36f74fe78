//! The one error type of yinzheng-pki.

use thiserror::Error;

/// Everything that can stop a PKI operation. A finished validation never
/// returns this: it returns a [`crate::VerificationReport`], even when failed.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum Error {
    /// A crypto-layer error (keys, signatures, algorithms).
    #[error(transparent)]
    Crypto(#[from] yinzheng_crypto::Error),
    /// Bytes that should hold a certificate, CRL, CSR or OCSP message do not.
    #[error("malformed {what}: {reason}")]
    Malformed {
        /// What was being read.
        what: &'static str,
        /// Why it was rejected.
        reason: String,
    },
    /// A request the CA refuses (unknown profile, missing subject field, bad CSR…).
    #[error("{0}")]
    Refused(String),
    /// The trust domain on disk is missing or inconsistent.
    #[error("trust domain: {0}")]
    Domain(String),
    /// A revocation response that is valid but about another certificate.
    #[error("{0}")]
    NotAbout(String),
    /// The profile file is not valid TOML for our schema.
    #[error("profiles file: {0}")]
    Profiles(String),
}

impl Error {
    pub(crate) fn malformed(what: &'static str, reason: impl ToString) -> Self {
        Error::Malformed {
            what,
            reason: reason.to_string(),
        }
    }
}

impl From<der::Error> for Error {
    fn from(e: der::Error) -> Self {
        Error::malformed("DER", e)
    }
}

/// Result alias of this crate.
pub type Result<T, E = Error> = core::result::Result<T, E>;
