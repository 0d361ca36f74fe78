//! SM2 signing keys in a GM/T 0018 SDF cipher device (密码机), behind
//! [`yinzheng_crypto::Signer`].
//!
//! A vendor's SDF library is loaded at run time ([`SdfKey::open`]: its path,
//! the key index, the key's access password). The device signs a digest:
//! `Z_A` and `e = SM3(Z_A ‖ M)` are computed here with the key's exported
//! public key and distinguishing ID, as GM/T 0003 and GM/T 0018 §6.4 expect,
//! and the device's `ECCSignature` (r and s right-aligned in 64-byte fields)
//! becomes the DER X.509 and CMS use. Every return code but `SDR_OK` is an
//! [`Error::Device`] that names the function and the code (`SDR_PARDENY`, …).
//!
//! This is the one crate of the workspace that calls C: the FFI is in
//! `src/ffi.rs`, each `unsafe` block allowed where it is, with the reason it
//! is sound above it. Tested against SoftSDF (the software SDF device on GmSSL,
//! `scripts/sm2-peers.sh softsdf`).

mod ffi;

use ffi::{EccPublicKey, EccSignature, Library, Session};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use yinzheng_crypto::{KeyAlgorithm, PublicKey, SignatureAlgorithm, Signer, Sm2Id};
use zeroize::Zeroizing;

/// The environment variable read for a key's access password when no file
/// names it.
pub const PASSWORD_ENV: &str = "YINZHENG_SDF_PASSWORD";

/// The longest password file read.
const MAX_PASSWORD_FILE: u64 = 4096;

/// Everything that can go wrong with a device key.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The SDF library could not be loaded, or lacks a function.
    #[error("SDF library {path}: {reason}")]
    Library {
        /// Its path.
        path: PathBuf,
        /// What failed.
        reason: String,
    },
    /// A device function returned an error code.
    #[error("SDF {function} returned {code:#010x} ({meaning})")]
    Device {
        /// The function called (`SDF_InternalSign_ECC`, …).
        function: &'static str,
        /// Its return code.
        code: u32,
        /// The code's name in GM/T 0018 (`SDR_PARDENY`, …).
        meaning: &'static str,
    },
    /// An `sdf:` key reference that cannot be used.
    #[error("SDF key reference {text:?}: {reason}")]
    Reference {
        /// The reference as given (not shown when it holds a password).
        text: String,
        /// Why it is refused.
        reason: String,
    },
    /// The key's access password could not be read.
    #[error("SDF key password: {0}")]
    Password(String),
    /// What the device gave back does not decode (a public key off the curve,
    /// a signature component wider than 256 bits).
    #[error("SDF key {index}: {reason}")]
    Key {
        /// The key index.
        index: u32,
        /// What is wrong.
        reason: String,
    },
    /// A key from the device did not decode.
    #[error(transparent)]
    Crypto(#[from] yinzheng_crypto::Error),
}

/// Result alias of this crate.
pub type Result<T, E = Error> = core::result::Result<T, E>;

/// Where a key's access password comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PasswordSource {
    /// A file holding it (one trailing newline dropped).
    File(PathBuf),
    /// An environment variable ([`PASSWORD_ENV`] by default).
    Env(String),
}

impl PasswordSource {
    /// Read the password.
    pub fn read(&self) -> Result<Zeroizing<String>> {
        let text = match self {
            PasswordSource::Env(name) => Zeroizing::new(std::env::var(name).map_err(|_| {
                Error::Password(format!("the environment variable {name} is not set"))
            })?),
            PasswordSource::File(path) => {
                let meta = std::fs::metadata(path)
                    .map_err(|e| Error::Password(format!("{}: {e}", path.display())))?;
                if !meta.is_file() || meta.len() > MAX_PASSWORD_FILE {
                    return Err(Error::Password(format!(
                        "{}: not a regular file of at most {MAX_PASSWORD_FILE} bytes: no \
                         password file",
                        path.display()
                    )));
                }
                let text = Zeroizing::new(
                    std::fs::read_to_string(path)
                        .map_err(|e| Error::Password(format!("{}: {e}", path.display())))?,
                );
                let line = text
                    .strip_suffix("\r\n")
                    .or_else(|| text.strip_suffix('\n'))
                    .unwrap_or(&text);
                Zeroizing::new(line.to_string())
            }
        };
        if text.is_empty() {
            return Err(Error::Password("the password is empty".into()));
        }
        Ok(text)
    }
}

/// The environment variable naming the SDF library when a key reference has
/// no `module-path`.
pub const MODULE_ENV: &str = "YINZHENG_SDF_MODULE";

/// A reference to an SDF key, written like a PKCS#11 URI:
/// `sdf:index=N?module-path=/path/libsdf.so&password-source=file:/path` —
/// `password-source` also `env:NAME`; without it, [`PASSWORD_ENV`]; without
/// `module-path`, [`MODULE_ENV`]. A password written into it is refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SdfKeyRef {
    /// The key index in the device.
    pub index: u32,
    /// The vendor's SDF library.
    pub module_path: Option<PathBuf>,
    /// Where the access password is read.
    pub password_source: Option<String>,
}

impl SdfKeyRef {
    /// Parse `sdf:index=N[?module-path=…][&password-source=…]`.
    pub fn parse(text: &str) -> Result<Self> {
        // Only the key's index is ever shown: the query, where a password
        // would be, and any other attribute's value (a password put in the
        // path by mistake) are not.
        let shown = {
            let (path, query) = text.split_once('?').unwrap_or((text, ""));
            let named: Vec<String> = path
                .strip_prefix("sdf:")
                .unwrap_or("")
                .split(';')
                .filter(|p| !p.is_empty())
                .map(|p| match p.split_once('=') {
                    Some(("index", v)) if v.parse::<u32>().is_ok() => format!("index={v}"),
                    Some((name, _)) => format!("{name}=…"),
                    None => "…".to_string(),
                })
                .collect();
            let head = if text.starts_with("sdf:") {
                format!("sdf:{}", named.join(";"))
            } else {
                "(not an sdf: reference)".to_string()
            };
            if query.is_empty() {
                head
            } else {
                format!("{head}?…")
            }
        };
        let bad = |reason: &str| Error::Reference {
            text: shown.clone(),
            reason: reason.to_string(),
        };
        let rest = text
            .strip_prefix("sdf:")
            .ok_or_else(|| bad("does not start with sdf:"))?;
        let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
        let mut index = None;
        for part in path.split(';').filter(|p| !p.is_empty()) {
            match part.split_once('=') {
                Some(("index", v)) if index.is_none() => {
                    index = Some(v.parse::<u32>().map_err(|_| bad("index is not a number"))?)
                }
                Some(("index", _)) => return Err(bad("index appears twice")),
                Some((name, _)) if name.starts_with("password") || name.starts_with("pin") => {
                    return Err(bad(
                        "carries the password: put it in a file (password-source=file:/path) \
                         or the environment (YINZHENG_SDF_PASSWORD)",
                    ));
                }
                Some((name, _)) => {
                    return Err(bad(&format!("unknown path attribute {name:?}")));
                }
                None => return Err(bad("a path attribute without a value")),
            }
        }
        let mut out = SdfKeyRef {
            index: index.ok_or_else(|| bad("names no key: give index=N"))?,
            module_path: None,
            password_source: None,
        };
        for part in query.split('&').filter(|p| !p.is_empty()) {
            match part.split_once('=') {
                Some(("module-path", v)) if out.module_path.is_none() => {
                    out.module_path = Some(PathBuf::from(v))
                }
                Some(("password-source", v)) if out.password_source.is_none() => {
                    out.password_source = Some(v.to_string())
                }
                Some((name, _))
                    if (name.starts_with("password") && name != "password-source")
                        || name.starts_with("pin") =>
                {
                    return Err(bad(
                        "carries the password: put it in a file (password-source=file:/path) \
                         or the environment (YINZHENG_SDF_PASSWORD)",
                    ));
                }
                _ => return Err(bad("unknown or repeated query attribute")),
            }
        }
        Ok(out)
    }

    /// Where the password comes from.
    pub fn password(&self) -> PasswordSource {
        match self.password_source.as_deref() {
            Some(s) => match s.strip_prefix("env:") {
                Some(name) => PasswordSource::Env(name.to_string()),
                None => PasswordSource::File(PathBuf::from(s.strip_prefix("file:").unwrap_or(s))),
            },
            None => PasswordSource::Env(PASSWORD_ENV.to_string()),
        }
    }
}

impl std::fmt::Display for SdfKeyRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "sdf:index={}", self.index)?;
        let mut query = Vec::new();
        if let Some(m) = &self.module_path {
            query.push(format!("module-path={}", m.display()));
        }
        if let Some(p) = &self.password_source {
            query.push(format!("password-source={p}"));
        }
        if !query.is_empty() {
            write!(f, "?{}", query.join("&"))?;
        }
        Ok(())
    }
}

/// An SM2 signing key in an SDF device: a session holding the key's access
/// right, for the life of this value.
pub struct SdfKey {
    session: Mutex<Session>,
    index: u32,
    public: PublicKey,
    library: PathBuf,
}

impl std::fmt::Debug for SdfKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SdfKey")
            .field("library", &self.library)
            .field("index", &self.index)
            .finish()
    }
}

impl SdfKey {
    /// Open the device behind `library`, a session on it, and the access right
    /// to signing key `index` with the password from `password`; read the
    /// key's public key (`SDF_ExportSignPublicKey_ECC`). Its SM2 ID is `id`
    /// (the GM/T default `1234567812345678` when `None`).
    pub fn open(
        library: &Path,
        index: u32,
        password: &PasswordSource,
        id: Option<Sm2Id>,
    ) -> Result<Self> {
        let lib = Library::load(library)?;
        let mut session = Session::open(lib)?;
        let password = password.read()?;
        session.get_private_key_access_right(index, password.as_bytes())?;
        let exported = session.export_sign_public_key(index)?;
        let public = public_key(index, &exported)?;
        let public = match id {
            Some(id) => public.with_sm2_id(id),
            None => public,
        };
        let key = SdfKey {
            session: Mutex::new(session),
            index,
            public,
            library: library.to_path_buf(),
        };
        // The exported public key must verify what the device signs with
        // this index.
        let challenge = b"yinzheng: does this public key belong to this private key?";
        let sig = key.sign(challenge)?;
        if key
            .public
            .verify(SignatureAlgorithm::Sm2Sm3, challenge, &sig)
            .is_err()
        {
            return Err(Error::Key {
                index,
                reason: "the exported public key does not verify the device's signatures".into(),
            });
        }
        Ok(key)
    }

    /// The key a reference names (its library from the reference or
    /// [`MODULE_ENV`]), with the GM/T default SM2 ID.
    pub fn open_ref(key: &SdfKeyRef) -> Result<Self> {
        let library = match &key.module_path {
            Some(p) => p.clone(),
            None => std::env::var_os(MODULE_ENV)
                .map(PathBuf::from)
                .ok_or_else(|| Error::Reference {
                    text: key.to_string(),
                    reason: format!(
                        "names no library: add ?module-path=/path/libsdf.so or set {MODULE_ENV}"
                    ),
                })?,
        };
        Self::open(&library, key.index, &key.password(), None)
    }

    /// The key index in the device.
    pub fn index(&self) -> u32 {
        self.index
    }
}

/// The 256-bit value right-aligned in a 64-byte `ECCref` field, or `None`
/// when the bytes before it are not zero.
fn right_aligned(field: &[u8; 64]) -> Option<[u8; 32]> {
    let (high, low) = field.split_at(32);
    if high.iter().any(|&b| b != 0) {
        return None;
    }
    low.try_into().ok()
}

/// `ECCrefPublicKey` → our SM2 public key (checked on the curve).
fn public_key(index: u32, k: &EccPublicKey) -> Result<PublicKey> {
    let bad = |reason: String| Error::Key { index, reason };
    if k.bits != 256 {
        return Err(bad(format!(
            "the device exports a {}-bit key (SM2 keys are 256 bits)",
            k.bits
        )));
    }
    let (Some(x), Some(y)) = (right_aligned(&k.x), right_aligned(&k.y)) else {
        return Err(bad("a public key coordinate is wider than 256 bits".into()));
    };
    let mut point = Vec::with_capacity(65);
    point.push(0x04);
    point.extend_from_slice(&x);
    point.extend_from_slice(&y);
    Ok(PublicKey::from_raw(KeyAlgorithm::Sm2, &point)?)
}

impl Signer for SdfKey {
    fn algorithm(&self) -> SignatureAlgorithm {
        SignatureAlgorithm::Sm2Sm3
    }

    fn public_key(&self) -> &PublicKey {
        &self.public
    }

    fn sign(&self, message: &[u8]) -> yinzheng_crypto::Result<Vec<u8>> {
        let sm2 = self
            .public
            .as_sm2()
            .ok_or(yinzheng_crypto::Error::Signing("not an SM2 key"))?;
        // e = SM3(Z_A ‖ M): the device signs the digest (GM/T 0018 §6.4).
        let e = sm2.message_digest(message);
        let session = self
            .session
            .lock()
            .map_err(|_| yinzheng_crypto::Error::Device("the SDF session is poisoned".into()))?;
        let sig: EccSignature = session
            .internal_sign(self.index, &e)
            .map_err(|err| yinzheng_crypto::Error::Device(err.to_string()))?;
        let (Some(r), Some(s)) = (right_aligned(&sig.r), right_aligned(&sig.s)) else {
            return Err(yinzheng_crypto::Error::Device(
                "the device returned a signature component wider than 256 bits".into(),
            ));
        };
        Ok(yinzheng_crypto::asn1::ec_signature_der(&r, &s))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_references_read_and_write_back_and_refuse_a_password() {
        let r = SdfKeyRef::parse(
            "sdf:index=3?module-path=/opt/vendor/libsdf.so&password-source=file:/etc/yz/pw",
        )
        .expect("parses");
        assert_eq!(r.index, 3);
        assert_eq!(r.password(), PasswordSource::File("/etc/yz/pw".into()));
        assert_eq!(SdfKeyRef::parse(&r.to_string()).expect("again"), r);
        for (text, says) in [
            ("sdf:index=1?password=secret", "carries the password"),
            ("sdf:index=1?pin-value=secret", "carries the password"),
            ("sdf:index=1?password-value=secret", "carries the password"),
            (
                "sdf:index=1?module-path=/x&frob=secret",
                "unknown or repeated",
            ),
            ("sdf:?module-path=/x", "names no key"),
            ("sdf:index=x", "not a number"),
            ("sdf:slot=1", "unknown path attribute"),
            ("sdf:index=1;password=secret", "carries the password"),
            ("sdf:index=1;pin=secret", "carries the password"),
            (
                "sdf:index=1;label=secret",
                "unknown path attribute \"label\"",
            ),
            ("sdf:index=1;secret", "without a value"),
            ("sdf:index=secret", "not a number"),
            ("pkcs11:object=secret", "sdf:"),
        ] {
            let e = SdfKeyRef::parse(text).expect_err(text).to_string();
            assert!(e.contains(says), "{text}: {e}");
            assert!(!e.contains("secret"), "{e}");
        }
    }
}
