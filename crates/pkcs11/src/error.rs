//! The one error type of this crate.

/// Everything that can go wrong with a token key.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A `pkcs11:` URI that cannot be used (syntax, unknown or repeated
    /// attribute, a PIN written into it).
    #[error("PKCS#11 URI {uri:?}: {reason}")]
    Uri {
        /// The URI as given.
        uri: String,
        /// Why it is refused.
        reason: String,
    },

    /// The PIN could not be read from where it was to come from.
    #[error("PKCS#11 PIN: {0}")]
    Pin(String),

    /// The module (shared library) could not be loaded or initialised.
    #[error("PKCS#11 module {module}: {reason}")]
    Module {
        /// The module's path.
        module: String,
        /// What failed.
        reason: String,
    },

    /// No token, or more than one, matches the URI.
    #[error("PKCS#11 token: {0}")]
    Token(String),

    /// No key, or more than one, matches the URI; or the key found cannot
    /// be used (its type, curve, or it could leave the token).
    #[error("PKCS#11 key {uri}: {reason}")]
    Key {
        /// The URI of the key.
        uri: String,
        /// What is wrong.
        reason: String,
    },

    /// A call into the token failed.
    #[error("PKCS#11 {operation}: {source}")]
    Call {
        /// What was asked ("login", "sign", "generate a key pair", …).
        operation: &'static str,
        /// What the token answered.
        #[source]
        source: cryptoki::error::Error,
    },

    /// A key or signature from the token did not decode.
    #[error(transparent)]
    Crypto(#[from] yinzheng_crypto::Error),
}

/// Result alias of this crate.
pub type Result<T, E = Error> = core::result::Result<T, E>;

/// `map_err` for token calls: names the operation.
pub(crate) fn call(operation: &'static str) -> impl FnOnce(cryptoki::error::Error) -> Error {
    move |source| Error::Call { operation, source }
}
