//! The one error type of this crate.

use std::path::PathBuf;
use thiserror::Error;

/// Why a log operation could not be done.
///
/// A proof or signature that fails to verify is an `Err` here too (the check
/// could not confirm anything); callers that must tell "invalid" from "could
/// not check" ask [`Error::is_verification_failure`]. Messages are short,
/// lower-case and never contain key material.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum Error {
    /// Bytes that should hold a structure (note, checkpoint, tile, entry, proof) do not.
    #[error("malformed {what}: {reason}")]
    Malformed {
        /// What was being read.
        what: &'static str,
        /// Why it was rejected.
        reason: String,
    },
    /// An input is larger than the limit for its kind.
    #[error("{what} is {len} bytes, more than the {max} allowed")]
    TooLarge {
        /// What was too large.
        what: &'static str,
        /// Its length.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// A Merkle proof does not verify (RFC 9162 §2.1.3.2 / §2.1.4.2).
    #[error("invalid proof: {0}")]
    InvalidProof(&'static str),
    /// An index or tree size outside the tree.
    #[error("out of range: {0}")]
    OutOfRange(String),
    /// A signature from a known key does not verify: the whole note is rejected.
    #[error("signature by {name} does not verify")]
    BadSignature {
        /// The key name on the signature line.
        name: String,
    },
    /// No signature on the note is from a key the verifier knows.
    #[error("no signature from a known key")]
    NoKnownSignature,
    /// A checkpoint's origin is not the one expected.
    #[error("checkpoint origin {found:?} is not the expected {expected:?}")]
    WrongOrigin {
        /// The origin wanted.
        expected: String,
        /// The origin found.
        found: String,
    },
    /// A recomputed value differs from the stored or claimed one.
    #[error("mismatch: {0}")]
    Mismatch(String),
    /// A file or directory could not be read or written.
    #[error("i/o error on {}: {cause}", path.display())]
    Io {
        /// The path involved.
        path: PathBuf,
        /// The underlying error.
        cause: std::io::Error,
    },
    /// Signing or key handling failed in the crypto layer.
    #[error(transparent)]
    Crypto(#[from] yinzheng_crypto::Error),
}

#[allow(dead_code)] // helpers used as the crate grows
impl Error {
    /// True when the error means "this proof, signature or log content is not
    /// valid" rather than "the check could not be run".
    pub fn is_verification_failure(&self) -> bool {
        matches!(
            self,
            Error::InvalidProof(_)
                | Error::BadSignature { .. }
                | Error::NoKnownSignature
                | Error::WrongOrigin { .. }
                | Error::Mismatch(_)
                | Error::Malformed { .. }
        )
    }

    /// A [`Error::Malformed`] about `what`.
    pub fn malformed(what: &'static str, reason: impl Into<String>) -> Self {
        Error::Malformed {
            what,
            reason: reason.into(),
        }
    }

    /// An [`Error::Io`] on `path`.
    pub fn io(path: impl Into<PathBuf>, cause: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            cause,
        }
    }
}

/// `Result` with this crate's [`Error`](enum@Error).
pub type Result<T> = std::result::Result<T, Error>;
