//! The one error type of yinzheng-log.

use std::path::PathBuf;
use thiserror::Error;
use yinzheng_anchor::Error as AnchorError;

/// Why a sequencer operation could not be done.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum Error {
    /// Reading, checking or building the log's structures (notes,
    /// checkpoints, tiles, proofs) failed, or a file could not be written.
    #[error(transparent)]
    Anchor(#[from] AnchorError),
    /// The compare-and-swap on the latest checkpoint failed: another sequencer
    /// committed first. This sequencer stopped; the log did not fork. The
    /// entries of the failed batch are not in the log: reopening and
    /// submitting again is safe.
    #[error("checkpoint compare-and-swap failed: another sequencer owns this log; stopped")]
    LostCas,
    /// The sequencer stopped after a fatal error; carries the first one.
    #[error("the sequencer has stopped: {0}")]
    Stopped(String),
    /// The submission pool is full (the pool size is the rate limit); retry later.
    #[error("the submission pool is full ({0} entries); retry later")]
    PoolFull(usize),
    /// This process is not the log's sequencer (another server holds the
    /// lease, or this handle only follows the published log).
    #[error("not the sequencer: {0}")]
    NotSequencer(String),
    /// A queued submission was not sequenced in time.
    #[error(
        "no log index after {0:?}: is a sequencer (a `yinzheng serve` on this database) running?"
    )]
    QueueTimeout(std::time::Duration),
    /// The state database could not be opened or migrated (missing, or made
    /// by a newer program); the message names the file.
    #[error(transparent)]
    Store(#[from] yinzheng_store::Error),
    /// Signing or key handling failed in the crypto layer.
    #[error(transparent)]
    Crypto(#[from] yinzheng_crypto::Error),
}

impl Error {
    pub(crate) fn malformed(what: &'static str, reason: impl Into<String>) -> Self {
        Error::Anchor(AnchorError::malformed(what, reason))
    }

    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Anchor(AnchorError::io(path, source))
    }

    pub(crate) fn mismatch(what: String) -> Self {
        Error::Anchor(AnchorError::Mismatch(what))
    }
}

/// Result alias of this crate.
pub type Result<T, E = Error> = core::result::Result<T, E>;
