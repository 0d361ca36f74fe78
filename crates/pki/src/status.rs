//! What a CA knows about a certificate it issued: its revocation state. The
//! CA's store (`yinzheng-ca`) keeps these rows; CRLs and OCSP responses are
//! made from them here, without any storage.

/// Revocation state of an issued certificate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum CertStatus {
    /// Not revoked.
    Valid,
    /// Revoked for good, with an RFC 5280 reason code, at a time (unix seconds).
    Revoked {
        /// CRLReason code (never 6).
        reason: u8,
        /// Revocation time, unix seconds.
        at: i64,
    },
    /// Suspended (certificateHold) since a time (unix seconds); can be released.
    OnHold {
        /// Hold time, unix seconds.
        at: i64,
    },
}

/// One row of the store.
#[derive(Clone, Debug)]
pub struct StoredCert {
    /// Serial, lower-case hex.
    pub serial: String,
    /// Subject DN.
    pub subject: String,
    /// Profile used (or `root`, `issuing-ca`).
    pub profile: String,
    /// notAfter, unix seconds.
    pub not_after: i64,
    /// The certificate DER.
    pub der: Vec<u8>,
    /// Revocation state.
    pub status: CertStatus,
    /// The CA that signed it: `root`, `main` or an added issuing CA's name.
    pub issuer: String,
}
