//! The one error type of yinzheng-seal-registry.

use thiserror::Error;

/// What can stop a registry operation.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum Error {
    /// A change the registry refuses (a seal registered twice, a transition
    /// out of revoked, an unknown seal).
    #[error("{0}")]
    Refused(String),
    /// The registry's database failed (SQLite or PostgreSQL; see
    /// [`yinzheng_store::Error::is_unavailable`] for "try again later").
    #[error("seal registry: {0}")]
    Store(Box<yinzheng_store::Error>),
}

impl From<yinzheng_store::Error> for Error {
    fn from(e: yinzheng_store::Error) -> Self {
        Error::Store(Box::new(e))
    }
}

/// Result alias of this crate.
pub type Result<T, E = Error> = core::result::Result<T, E>;
