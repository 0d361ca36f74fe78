//! The one error type of yinzheng-ca.

use thiserror::Error;

/// Everything that can stop a CA operation.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum Error {
    /// A certificate, CRL, CSR or OCSP message could not be read or built.
    #[error(transparent)]
    Pki(#[from] yinzheng_pki::Error),
    /// A crypto-layer error (keys, signatures, algorithms).
    #[error(transparent)]
    Crypto(#[from] yinzheng_crypto::Error),

    /// A CA key on a PKCS#11 token could not be found, made or used.
    #[error(transparent)]
    Pkcs11(#[from] yinzheng_pkcs11::Error),
    /// A CA key in a GM/T 0018 device could not be opened or used.
    #[error(transparent)]
    Sdf(#[from] yinzheng_sdf::Error),
    /// The demo's seal could not be drawn or signed.
    #[error(transparent)]
    Seal(#[from] yinzheng_seal::Error),
    /// A request the CA refuses (unknown profile, missing subject field, bad CSR…).
    #[error("{0}")]
    Refused(String),
    /// The trust domain on disk is missing or inconsistent.
    #[error("trust domain: {0}")]
    Domain(String),
    /// The certificate store failed (SQLite or PostgreSQL; see
    /// [`yinzheng_store::Error::is_unavailable`] for "try again later").
    #[error("certificate store: {0}")]
    Store(Box<yinzheng_store::Error>),
    /// A file could not be read or written.
    #[error("{path}: {cause}")]
    Io {
        /// The file.
        path: String,
        /// The cause.
        cause: std::io::Error,
    },
}

impl From<yinzheng_store::Error> for Error {
    fn from(e: yinzheng_store::Error) -> Self {
        Error::Store(Box::new(e))
    }
}

impl From<der::Error> for Error {
    fn from(e: der::Error) -> Self {
        Error::Pki(yinzheng_pki::Error::from(e))
    }
}

#[cfg(test)]
impl From<rusqlite::Error> for Error {
    fn from(e: rusqlite::Error) -> Self {
        Error::from(yinzheng_store::Error::from(e))
    }
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
