//! The facade's one error type.

/// Why a facade call could not do its work.
///
/// A document, seal or signature that reads but fails a check is **not** an
/// `Error`: that outcome is a [`VerificationReport`](crate::VerificationReport)
/// whose indication says so. `Error` means the work could not be done: a file
/// could not be read, the input is not a format Yinzheng knows, an option does
/// not fit the key, or an inner layer refused.
///
/// New variants may be added in minor releases; match with a `_` arm.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A file could not be read.
    #[error("cannot read {path}")]
    Io {
        /// The file.
        path: std::path::PathBuf,
        /// Why.
        cause: std::io::Error,
    },
    /// The bytes are not a format this call accepts (which one was expected).
    #[error("unrecognised input: {0}")]
    Format(String),
    /// A USCC or citizen identity number that does not check (which
    /// character, why). License identifiers report through
    /// [`Error::License`].
    #[error("invalid identifier: {0}")]
    Identifier(String),
    /// Options that do not fit together or do not fit the key.
    #[error("invalid options: {0}")]
    Options(String),
    /// A log evidence file that does not verify against the given key, or
    /// cannot be read.
    #[error("evidence: {0}")]
    Evidence(yinzheng_anchor::Error),
    /// The evidence verifies, but too few of the trusted witnesses cosigned
    /// its checkpoint: not proven that auditors all see this history
    /// (INDETERMINATE; the quorum says who cosigned and who did not).
    #[error("evidence not witnessed: {}", .0.describe())]
    NotWitnessed(yinzheng_anchor::Quorum),
    /// Keys, signatures, digests.
    #[error(transparent)]
    Crypto(#[from] yinzheng_crypto::Error),
    /// Certificates, CRLs, OCSP messages.
    #[error(transparent)]
    Pki(#[from] yinzheng_pki::Error),
    /// A trust domain (the demo's CA).
    #[error(transparent)]
    Ca(#[from] yinzheng_ca::Error),
    /// CMS SignedData and time stamps.
    #[error(transparent)]
    Cms(#[from] yinzheng_cms::Error),
    /// Seals and seal signatures.
    #[error(transparent)]
    Seal(#[from] yinzheng_seal::Error),
    /// PDF and OFD documents.
    #[error(transparent)]
    Document(#[from] yinzheng_document::Error),
    /// License identifiers and license files.
    #[error(transparent)]
    License(#[from] yinzheng_license::Error),
}

/// `Result` with the facade's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Read `path`, refusing files larger than `max` bytes (untrusted input has
/// size limits everywhere in Yinzheng).
pub(crate) fn read_file(path: &std::path::Path, max: usize) -> Result<Vec<u8>> {
    use std::io::Read;
    let io = |cause| Error::Io {
        path: path.to_path_buf(),
        cause,
    };
    let mut bytes = Vec::new();
    std::fs::File::open(path)
        .map_err(io)?
        .take(max as u64 + 1)
        .read_to_end(&mut bytes)
        .map_err(io)?;
    if bytes.len() > max {
        return Err(Error::Format(format!(
            "{} is larger than {max} bytes",
            path.display()
        )));
    }
    Ok(bytes)
}
