//! The one error type of yinzheng-license.

use thiserror::Error;

/// What can stop a license operation. Checks of a license that could be read
/// return a result code and a report instead.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum Error {
    /// A license identifier that does not parse or check (which segment, why).
    #[error("license identifier: {0}")]
    Identifier(String),
    /// Metadata that does not fit its license type (which field, why).
    #[error("license data: {0}")]
    Invalid(String),
    /// The license type catalogue is unreadable or inconsistent.
    #[error("license catalogue: {0}")]
    Catalogue(String),
    /// No license with this identifier.
    #[error("no license {0}")]
    NotFound(String),
    /// A lifecycle transition that is not allowed (from, to, why).
    #[error("cannot {action} license {id}: it is {status}")]
    Transition {
        /// What was asked.
        action: String,
        /// Which license.
        id: String,
        /// Its current status.
        status: String,
    },
    /// A presentation token that is unknown, expired, used or for another purpose.
    #[error("token refused: {0}")]
    Token(String),
    /// A required input is missing (purpose of use, caller…).
    #[error("{0}")]
    Refused(String),
    /// The registry database holds something it should not (an unreadable
    /// face, an unknown status…).
    #[error("license store: {0}")]
    Store(String),
    /// The registry database failed (SQLite or PostgreSQL; see
    /// [`Error::is_unavailable`]).
    #[error("license store: {0}")]
    Database(Box<yinzheng_store::Error>),
    /// Reading or writing a file of the registry.
    #[error("{path}: {cause}")]
    Io {
        /// The file.
        path: String,
        /// Why.
        cause: std::io::Error,
    },
    /// Rendering or sealing a license file.
    #[error(transparent)]
    Document(#[from] yinzheng_document::Error),
    /// The anchoring log's structures (entries, evidence).
    #[error(transparent)]
    Anchor(#[from] yinzheng_anchor::Error),
    /// The anchoring log's sequencer.
    #[error(transparent)]
    Log(#[from] yinzheng_log::Error),
    /// A seal-layer error.
    #[error(transparent)]
    Seal(#[from] yinzheng_seal::Error),
}

impl From<yinzheng_store::Error> for Error {
    fn from(e: yinzheng_store::Error) -> Self {
        Error::Database(Box::new(e))
    }
}

#[cfg(test)]
impl From<rusqlite::Error> for Error {
    fn from(e: rusqlite::Error) -> Self {
        Error::from(yinzheng_store::Error::from(e))
    }
}

impl Error {
    /// The database cannot be reached or is overloaded now: the same request
    /// may succeed later (a server answers 503 with Retry-After).
    pub fn is_unavailable(&self) -> bool {
        matches!(self, Error::Database(e) if e.is_unavailable())
    }

    pub(crate) fn io(path: &std::path::Path, cause: std::io::Error) -> Self {
        Error::Io {
            path: path.display().to_string(),
            cause,
        }
    }
}

/// Result alias of this crate.
pub type Result<T, E = Error> = core::result::Result<T, E>;
