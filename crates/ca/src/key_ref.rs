//! Keys named by reference: a `NAME.key.uri` file holding a `pkcs11:` URI
//! (a PKCS#11 token) or an `sdf:` reference (a GM/T 0018 cipher machine),
//! instead of an encrypted `NAME.key.pem`. One reader and one opener for
//! every place that signs with such a key: trust domains, the anchoring log
//! (server and CLI), the CLI's `--key`.

use crate::error::{Error, Result};
use std::path::Path;
use yinzheng_crypto::{PrivateKey, Signer};
use yinzheng_pkcs11::{Pkcs11Key, Pkcs11Uri};

/// The longest `NAME.key.uri` file read.
const MAX_KEY_URI_FILE: u64 = 4096;

/// Whether `text` names a key in a device (`pkcs11:` or `sdf:`, any case).
pub fn is_device_key(text: &str) -> bool {
    let t = text.trim_start().as_bytes();
    t.get(..7)
        .is_some_and(|p| p.eq_ignore_ascii_case(b"pkcs11:"))
        || t.get(..4).is_some_and(|p| p.eq_ignore_ascii_case(b"sdf:"))
}

/// Open the key a device reference names: a `pkcs11:` URI or an `sdf:`
/// reference. Returns it with the reference in canonical form.
pub fn open_device_key(text: &str) -> Result<(Box<dyn Signer>, String)> {
    let text = text.trim();
    if !is_device_key(text) {
        return Err(Error::Refused(
            "a key reference is a pkcs11: URI or an sdf: reference".into(),
        ));
    }
    if text.as_bytes()[..4].eq_ignore_ascii_case(b"sdf:") {
        let r = yinzheng_sdf::SdfKeyRef::parse(text)?;
        Ok((Box::new(yinzheng_sdf::SdfKey::open_ref(&r)?), r.to_string()))
    } else {
        let uri = Pkcs11Uri::parse(text)?;
        Ok((Box::new(Pkcs11Key::open(&uri)?), uri.to_string()))
    }
}

/// The reference in the `NAME.key.uri` file `path`; `None` when there is no
/// such file. Refused when others may write it (it names the library loaded
/// into this process to sign) or when it is too long to be a reference.
pub fn read_key_uri_file(path: &Path) -> Result<Option<String>> {
    let meta = match std::fs::metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(Error::io(path, e)),
    };
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        if meta.permissions().mode() & 0o022 != 0 || !meta.is_file() {
            return Err(Error::Domain(format!(
                "{} is writable by others (or not a file): it names the library loaded to \
                 sign; chmod 600 it",
                path.display()
            )));
        }
    }
    let len = meta.len();
    if len > MAX_KEY_URI_FILE {
        return Err(Error::Domain(format!(
            "{}: {len} bytes is no key URI",
            path.display()
        )));
    }
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    Ok(Some(text.trim().to_string()))
}

/// The key `stem` in `dir`: `stem.key.uri` (opened in its device) or
/// `stem.key.pem` (decrypted with `passphrase`); `None` when neither is
/// there, an error when both are.
pub fn open_key_in(
    dir: &Path,
    stem: &str,
    passphrase: Option<&[u8]>,
) -> Result<Option<Box<dyn Signer>>> {
    let pem = dir.join(format!("{stem}.key.pem"));
    let uri = dir.join(format!("{stem}.key.uri"));
    match read_key_uri_file(&uri)? {
        Some(_) if pem.exists() => Err(Error::Domain(format!(
            "both {} and {} exist: keep the one the key lives in",
            pem.display(),
            uri.display()
        ))),
        Some(text) => Ok(Some(open_device_key(&text)?.0)),
        None if !pem.exists() => Ok(None),
        None => {
            let pass = passphrase.ok_or_else(|| {
                Error::Domain(format!(
                    "{} is encrypted: its passphrase is needed",
                    pem.display()
                ))
            })?;
            let bytes =
                zeroize::Zeroizing::new(std::fs::read(&pem).map_err(|e| Error::io(&pem, e))?);
            let key = PrivateKey::from_bytes(&bytes, Some(pass)).map_err(|e| match e {
                yinzheng_crypto::Error::Decryption => Error::Domain(format!(
                    "cannot decrypt {}: wrong passphrase",
                    pem.display()
                )),
                e => e.into(),
            })?;
            Ok(Some(Box::new(key)))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn device_references_are_told_from_paths() {
        assert!(is_device_key("pkcs11:token=a"));
        assert!(is_device_key(" PKCS11:token=a"));
        assert!(is_device_key("sdf:index=1"));
        assert!(is_device_key("SDF:index=1"));
        assert!(!is_device_key("keys/sdf:x.pem"));
        assert!(!is_device_key("sdf"));
        assert!(!is_device_key(""));
        assert!(open_device_key("/etc/key.pem").is_err());
    }
}
