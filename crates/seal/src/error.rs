//! The one error type of yinzheng-seal.

use thiserror::Error;

/// What can stop seal parsing or making. Verification of a parsed object
/// returns a report instead.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum Error {
    /// The bytes are not a seal or seal signature (what, byte offset, why).
    #[error("malformed {what} at byte {offset}: {reason}")]
    Format {
        /// What was being read.
        what: String,
        /// Byte offset of the element that failed.
        offset: usize,
        /// Why.
        reason: String,
    },
    /// The bytes are a GB/T 35275 SignedData (OFD Type="Sign"), not a seal signature.
    #[error("this is a GB/T 35275 SignedData (a plain SM2 signature), not a seal signature")]
    SignedData,
    /// A request that cannot be honoured (no signer certificate, unauthorised signer, …).
    #[error("{0}")]
    Refused(String),
    /// A crypto-layer error.
    #[error(transparent)]
    Crypto(#[from] yinzheng_crypto::Error),
    /// A PKI-layer error.
    #[error(transparent)]
    Pki(#[from] yinzheng_pki::Error),
}

impl From<yinzheng_crypto::asn1::Asn1Error> for Error {
    fn from(e: yinzheng_crypto::asn1::Asn1Error) -> Self {
        Error::Format {
            what: e.what,
            offset: e.offset,
            reason: e.reason,
        }
    }
}

impl Error {
    pub(crate) fn format(what: &str, offset: usize, reason: impl ToString) -> Self {
        Error::Format {
            what: what.to_string(),
            offset,
            reason: reason.to_string(),
        }
    }
}

/// Result alias of this crate.
pub type Result<T, E = Error> = core::result::Result<T, E>;
