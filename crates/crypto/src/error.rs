//! The one error type of this crate.

use thiserror::Error;

/// Everything that can go wrong in `yinzheng-crypto`.
///
/// Messages are short, lower-case and never contain key material. Callers that
/// must tell "the signature is wrong" from "the input could not be used" ask
/// [`Error::is_verification_failure`].
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum Error {
    /// Bytes that should hold a structure (PEM, DER, key, parameters) do not.
    #[error("malformed {what}: {reason}")]
    Malformed {
        /// What was being read ("PKCS#8 private key", "PEM", …).
        what: &'static str,
        /// Why it was rejected.
        reason: String,
    },

    /// An algorithm (OID, curve, cipher, PRF) this crate does not implement.
    #[error("unsupported {what}: {detail}")]
    Unsupported {
        /// The kind of thing ("signature algorithm", "curve", …).
        what: &'static str,
        /// Which one, usually an OID or name.
        detail: String,
    },

    /// A key that parsed but cannot be used (point not on the curve, scalar out of range, …).
    #[error("invalid key: {0}")]
    InvalidKey(String),

    /// An encrypted key needs a passphrase and none was given.
    #[error("the private key is encrypted: a passphrase is needed")]
    PassphraseRequired,

    /// Decryption of an encrypted key failed: wrong passphrase or corrupted file.
    #[error("cannot decrypt the private key: wrong passphrase or corrupted key file")]
    Decryption,

    /// The signature bytes cannot be decoded (bad DER, wrong length, r or s out of range).
    #[error("malformed signature: {0}")]
    MalformedSignature(String),

    /// The signature is well-formed but does not verify with this key and message.
    #[error("signature does not verify")]
    BadSignature,

    /// The key cannot be used with the requested algorithm.
    #[error("key/algorithm mismatch: a {key} key cannot be used for {algorithm}")]
    AlgorithmMismatch {
        /// The key's algorithm.
        key: &'static str,
        /// The requested signature algorithm.
        algorithm: &'static str,
    },

    /// The operating system's random number generator failed.
    #[error("the system random number generator failed")]
    Rng,

    /// Signing failed inside the backend (should not happen with a valid key).
    #[error("signing failed: {0}")]
    Signing(&'static str),

    /// A signing device (PKCS#11 token, GM/T 0018 cipher machine) refused or
    /// failed the operation: what it said, and what was asked.
    #[error("signing device: {0}")]
    Device(String),
}

impl Error {
    /// True when the error means "this signature is not valid" (a verification result)
    /// rather than "the inputs could not be used" (a usage or input error).
    pub fn is_verification_failure(&self) -> bool {
        matches!(self, Error::BadSignature | Error::MalformedSignature(_))
    }

    pub(crate) fn malformed(what: &'static str, reason: impl ToString) -> Self {
        Error::Malformed {
            what,
            reason: reason.to_string(),
        }
    }

    pub(crate) fn unsupported(what: &'static str, detail: impl ToString) -> Self {
        Error::Unsupported {
            what,
            detail: detail.to_string(),
        }
    }
}

/// Result alias of this crate.
pub type Result<T, E = Error> = core::result::Result<T, E>;

/// An error and its causes as one line, `outer: cause: root`, each message
/// once: a cause whose text an outer message already holds (an error type
/// that prints its source and also returns it, as several libraries do) is
/// not repeated. What the binaries print.
pub fn error_chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut out = String::new();
    let mut next: Option<&(dyn std::error::Error + 'static)> = Some(err);
    while let Some(e) = next {
        let text = e.to_string();
        if !text.is_empty() && !out.contains(&text) {
            if !out.is_empty() {
                out.push_str(": ");
            }
            out.push_str(&text);
        }
        next = e.source();
    }
    out
}

#[cfg(test)]
mod chain_tests {
    use super::error_chain;

    #[derive(Debug)]
    struct Outer(std::io::Error, bool);
    impl std::fmt::Display for Outer {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            if self.1 {
                write!(f, "/x/licenses: {}", self.0)
            } else {
                write!(f, "/x/licenses")
            }
        }
    }
    impl std::error::Error for Outer {
        fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
            Some(&self.0)
        }
    }

    #[test]
    fn each_message_once() {
        let io = || std::io::Error::new(std::io::ErrorKind::NotFound, "no such file");
        assert_eq!(error_chain(&Outer(io(), true)), "/x/licenses: no such file");
        assert_eq!(
            error_chain(&Outer(io(), false)),
            "/x/licenses: no such file"
        );
    }
}
