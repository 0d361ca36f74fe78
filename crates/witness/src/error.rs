//! What a witness refuses, and why, with the HTTP status c2sp.org/tlog-witness
//! gives each refusal.

/// A refused `add-checkpoint`, or a witness that cannot work.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The request body is not an add-checkpoint request (400).
    #[error("bad request: {0}")]
    BadRequest(String),
    /// The checkpoint's origin is not a log this witness witnesses (404).
    #[error("unknown log origin {0:?}")]
    UnknownOrigin(String),
    /// No trusted log key signed the checkpoint, or a signature naming a
    /// trusted key does not verify (403).
    #[error("the checkpoint is not signed by the log: {0}")]
    Forbidden(String),
    /// The old size is not the size of the latest checkpoint this witness
    /// cosigned for the log (409, `text/x.tlog.size` with that size).
    #[error("old size {old} is not the size this witness last cosigned, {latest}")]
    StaleOldSize {
        /// The size the client sent.
        old: u64,
        /// The size of the latest checkpoint cosigned.
        latest: u64,
    },
    /// Same size as the latest cosigned checkpoint, another root: a fork (409).
    #[error(
        "a different root hash for size {size}, which this witness already cosigned: the log forked"
    )]
    RootMismatch {
        /// The tree size.
        size: u64,
    },
    /// The consistency proof does not prove the checkpoint extends the
    /// latest cosigned one (422).
    #[error("the consistency proof from size {old} to {new} does not verify: {why}")]
    BadProof {
        /// The latest cosigned size.
        old: u64,
        /// The submitted size.
        new: u64,
        /// What failed.
        why: String,
    },
    /// The witness's own state or key failed (500).
    #[error("witness state: {0}")]
    State(String),
    /// The witness's configuration is wrong (at start).
    #[error("witness configuration: {0}")]
    Config(String),
}

impl Error {
    /// The HTTP status c2sp.org/tlog-witness gives this refusal.
    pub fn status(&self) -> u16 {
        match self {
            Error::BadRequest(_) => 400,
            Error::UnknownOrigin(_) => 404,
            Error::Forbidden(_) => 403,
            Error::StaleOldSize { .. } | Error::RootMismatch { .. } => 409,
            Error::BadProof { .. } => 422,
            Error::State(_) | Error::Config(_) => 500,
        }
    }
}

impl From<rusqlite::Error> for Error {
    fn from(e: rusqlite::Error) -> Self {
        Error::State(e.to_string())
    }
}

impl From<yinzheng_store::Error> for Error {
    fn from(e: yinzheng_store::Error) -> Self {
        Error::State(e.to_string())
    }
}

/// Result with this crate's [`Error`].
pub type Result<T> = std::result::Result<T, Error>;
