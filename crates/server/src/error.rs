//! The error type of yinzheng-server (starting, configuring, making the demo).

use thiserror::Error;

/// What can stop the server from starting or a setup step from finishing.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum Error {
    /// The store (database connection, migrations, `--store`).
    #[error(transparent)]
    Store(#[from] yinzheng_store::Error),
    /// Every database session is busy (the answer is 503, retry).
    #[error("busy: {0}")]
    Busy(String),
    /// A configuration file is unreadable or inconsistent (which file, why).
    #[error("configuration: {0}")]
    Config(String),
    /// A file could not be read or written.
    #[error("{path}: {cause}")]
    Io {
        /// The file.
        path: String,
        /// Why.
        cause: std::io::Error,
    },
    /// TLS setup (certificate, key, client CAs).
    #[error("TLS: {0}")]
    Tls(String),
    /// The license registry.
    #[error(transparent)]
    License(#[from] yinzheng_license::Error),
    /// A certificate, CRL or OCSP message.
    #[error(transparent)]
    Pki(#[from] yinzheng_pki::Error),
    /// A trust domain (its CA and certificate store).
    #[error(transparent)]
    Ca(#[from] yinzheng_ca::Error),
    /// The anchoring log's structures (notes, entries, evidence).
    #[error(transparent)]
    Anchor(#[from] yinzheng_anchor::Error),
    /// The anchoring log's sequencer.
    #[error(transparent)]
    Log(#[from] yinzheng_log::Error),
    /// A seal.
    #[error(transparent)]
    Seal(#[from] yinzheng_seal::Error),
    /// The seal registry.
    #[error(transparent)]
    SealRegistry(#[from] yinzheng_seal_registry::Error),
    /// Keys.
    #[error(transparent)]
    Crypto(#[from] yinzheng_crypto::Error),
    /// Rendering documents (demo licenses).
    #[error(transparent)]
    Document(#[from] yinzheng_document::Error),
}

impl Error {
    pub(crate) fn io(path: &std::path::Path, cause: std::io::Error) -> Self {
        Error::Io {
            path: path.display().to_string(),
            cause,
        }
    }
}

/// Result alias of this crate.
pub type Result<T, E = Error> = core::result::Result<T, E>;
