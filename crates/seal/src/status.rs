//! What a seal registry says about a seal, as seal verification asks it: the
//! [`SealStatusSource`] trait. The store-backed registry that answers it is
//! `yinzheng-seal-registry`; verification needs only this trait.

/// Lifecycle state of a registered seal.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum SealStatus {
    /// Usable.
    Active,
    /// Temporarily unusable; can be resumed.
    Suspended,
    /// Permanently unusable.
    Revoked,
}

impl SealStatus {
    /// Lower-case name.
    pub fn name(self) -> &'static str {
        match self {
            SealStatus::Active => "active",
            SealStatus::Suspended => "suspended",
            SealStatus::Revoked => "revoked",
        }
    }

    /// The status named `s` ([`Self::name`]'s inverse).
    pub fn from_name(s: &str) -> Option<Self> {
        match s {
            "active" => Some(SealStatus::Active),
            "suspended" => Some(SealStatus::Suspended),
            "revoked" => Some(SealStatus::Revoked),
            _ => None,
        }
    }
}

/// One registered seal.
#[derive(Clone, Debug)]
pub struct RegisteredSeal {
    /// esID.
    pub id: String,
    /// Seal name.
    pub name: String,
    /// Holder identifier (USCC or citizen ID), as given when made.
    pub holder: String,
    /// Current status.
    pub status: SealStatus,
    /// When the status last changed (unix seconds).
    pub status_at: i64,
    /// The seal file (DER).
    pub der: Vec<u8>,
}

/// Where verification learns the issuing registry's view of a seal (see
/// [`crate::VerifyOptions::registry`]).
pub trait SealStatusSource {
    /// The registry's record of the seal with esID `id`, or None when the seal
    /// is not one of this registry's. An error means the registry could not be
    /// asked (verification warns and goes on).
    fn seal_status(
        &self,
        id: &str,
    ) -> Result<Option<RegisteredSeal>, Box<dyn std::error::Error + Send + Sync>>;
}
