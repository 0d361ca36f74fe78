//! The one error type of yinzheng-cms.

use thiserror::Error;
use yinzheng_crypto::asn1::Asn1Error;

/// What can go wrong building, reading or verifying CMS.
///
/// Verification failures ([`Error::DigestMismatch`], [`Error::BadSignature`],
/// [`Error::AttributeMismatch`]) are distinct from input that could not be used
/// ([`Error::Malformed`], [`Error::Unsupported`]); see [`Error::is_verification_failure`].
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum Error {
    /// The bytes are not the expected structure (what, where, why).
    #[error(transparent)]
    Malformed(#[from] Asn1Error),
    /// An algorithm or structure this crate does not implement.
    #[error("unsupported {what}: {detail}")]
    Unsupported {
        /// The kind of thing.
        what: &'static str,
        /// Which one (usually an OID).
        detail: String,
    },
    /// No certificate in the SignedData (or given by the caller) matches the signer identifier.
    #[error("the signer's certificate is not in the SignedData ({0})")]
    SignerCertificateMissing(String),
    /// The digest of the content differs from the signed messageDigest attribute (or TSTInfo imprint).
    #[error("{0}: the content's digest differs from the signed digest")]
    DigestMismatch(&'static str),
    /// A signed attribute contradicts what it should say (content type, signing certificate).
    #[error("signed attribute {0}")]
    AttributeMismatch(String),
    /// The signature does not verify with the signer's public key.
    #[error("the CMS signature does not verify with the signer's key")]
    BadSignature,
    /// A crypto-layer error other than a bad signature.
    #[error(transparent)]
    Crypto(#[from] yinzheng_crypto::Error),
    /// A request that cannot be honoured (too large, empty, …).
    #[error("{0}")]
    Refused(String),
    /// An evidence record (RFC 4998) whose link `stamp` of chain `chain`
    /// does not hold (both counted from 0).
    #[error("evidence record, archive time stamp {stamp} of chain {chain}: {why}")]
    EvidenceRecord {
        /// The chain (hash-tree renewals).
        chain: usize,
        /// The archive time stamp in it (time-stamp renewals).
        stamp: usize,
        /// What is wrong.
        why: String,
    },
}

impl Error {
    /// True when the input was usable and the signature (or a digest) is wrong.
    pub fn is_verification_failure(&self) -> bool {
        matches!(
            self,
            Error::DigestMismatch(_)
                | Error::AttributeMismatch(_)
                | Error::BadSignature
                | Error::EvidenceRecord { .. }
        )
    }

    pub(crate) fn malformed(what: &str, offset: usize, reason: impl ToString) -> Self {
        Error::Malformed(Asn1Error {
            what: what.to_string(),
            offset,
            reason: reason.to_string(),
        })
    }
}

/// Result alias of this crate.
pub type Result<T, E = Error> = core::result::Result<T, E>;
