//! Every private key a data directory uses, where it lives and what it is for
//! (issue 22, "key inventory"): what auditors ask first. Nothing here reads a
//! secret: encrypted key files stay closed (their algorithm comes from the
//! certificate beside them), a key on a token is named by its URI.

use crate::error::{Error, Result};
use std::path::{Path, PathBuf};
use std::time::SystemTime;
use yinzheng_crypto::{KeyAlgorithm, PrivateKey};
use yinzheng_pki::ParsedCert;

/// Directories of a data directory that hold no keys and may hold very many
/// files (log tiles, license files, evidence): not walked.
const SKIPPED: &[&str] = &["tiles", "licenses", "evidence", "files", "usage"];
/// How deep below the data directory keys are looked for.
const MAX_DEPTH: usize = 4;
/// Most directory entries looked at (a bound on a mistaken `--home /`).
const MAX_ENTRIES: usize = 20_000;
/// The longest key or certificate file read.
const MAX_FILE: u64 = 1 << 20;

/// Where a key lives.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum KeyLocation {
    /// A PKCS#8 PEM file.
    File {
        /// Its path.
        path: PathBuf,
        /// Encrypted (PBES2) or in the clear.
        encrypted: bool,
    },
    /// A key in a PKCS#11 token, named by `NAME.key.uri`.
    Pkcs11 {
        /// The key's `pkcs11:` URI (never a PIN).
        uri: String,
        /// The file that holds the URI.
        path: PathBuf,
    },
    /// A key in a GM/T 0018 cipher machine, named by `NAME.key.uri`.
    Sdf {
        /// The key's `sdf:` reference: library, key index (never a password).
        reference: String,
        /// The file that holds it.
        path: PathBuf,
    },
}

/// The certificate of a key, when it has one beside it.
#[derive(Clone, Debug)]
pub struct KeyCertificate {
    /// The certificate file.
    pub path: PathBuf,
    /// Subject DN.
    pub subject: String,
    /// Serial number, hex.
    pub serial: String,
    /// End of validity.
    pub not_after: SystemTime,
}

/// One key of the data directory.
#[derive(Clone, Debug)]
pub struct KeyEntry {
    /// What the key signs, from where it sits ("issuing CA (main) of trust
    /// domain gov", …), or "not a key yinzheng knows by name".
    pub purpose: String,
    /// Where it lives.
    pub location: KeyLocation,
    /// Its algorithm, when known without opening it (from its certificate,
    /// its name, or a key file in the clear).
    pub algorithm: Option<KeyAlgorithm>,
    /// Its certificate, when one is beside it (`NAME.pem` for `NAME.key.pem`).
    pub certificate: Option<KeyCertificate>,
}

/// Every key in the data directory `home`: `*.key.pem` and `*.key.uri` files
/// up to four levels down (log tiles, license files and evidence are not
/// walked), in path order. Keys kept outside the data directory (given by path
/// to each command) are not seen.
pub fn key_inventory(home: &Path) -> Result<Vec<KeyEntry>> {
    if !home.is_dir() {
        return Err(Error::Domain(format!(
            "{} is not a data directory",
            home.display()
        )));
    }
    let mut files = Vec::new();
    let mut seen = 0usize;
    walk(home, 0, &mut seen, &mut files)?;
    files.sort();
    files.into_iter().map(|path| entry(home, &path)).collect()
}

fn walk(dir: &Path, depth: usize, seen: &mut usize, out: &mut Vec<PathBuf>) -> Result<()> {
    let read = std::fs::read_dir(dir).map_err(|e| Error::io(dir, e))?;
    for e in read.flatten() {
        *seen += 1;
        if *seen > MAX_ENTRIES {
            return Err(Error::Domain(format!(
                "more than {MAX_ENTRIES} entries under the data directory: is it the right one?"
            )));
        }
        let name = e.file_name().to_string_lossy().into_owned();
        let Ok(kind) = e.file_type() else { continue };
        if kind.is_dir() {
            if depth < MAX_DEPTH && !SKIPPED.contains(&name.as_str()) && !name.starts_with('.') {
                walk(&e.path(), depth + 1, seen, out)?;
            }
        } else if kind.is_file() && (name.ends_with(".key.pem") || name.ends_with(".key.uri")) {
            out.push(e.path());
        }
    }
    Ok(())
}

fn read_small(path: &Path) -> Result<Vec<u8>> {
    let meta = std::fs::metadata(path).map_err(|e| Error::io(path, e))?;
    let len = meta.len();
    if !meta.is_file() || len > MAX_FILE {
        return Err(Error::Domain(format!(
            "{}: {len} bytes is no key or certificate file",
            path.display()
        )));
    }
    std::fs::read(path).map_err(|e| Error::io(path, e))
}

fn entry(home: &Path, path: &Path) -> Result<KeyEntry> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let stem = name
        .strip_suffix(".key.pem")
        .or_else(|| name.strip_suffix(".key.uri"))
        .unwrap_or(&name)
        .to_string();
    let relative = path.strip_prefix(home).unwrap_or(path);
    let parts: Vec<String> = relative
        .iter()
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    let (purpose, named_algorithm) = purpose(&parts, &stem);
    let (location, clear_algorithm) = if name.ends_with(".key.uri") {
        let text = String::from_utf8_lossy(&read_small(path)?)
            .trim()
            .to_string();
        // Shown in canonical form: a reference that does not parse (it may
        // hold a PIN or password) is not shown at all.
        let location = if text.starts_with("sdf:") {
            KeyLocation::Sdf {
                reference: yinzheng_sdf::SdfKeyRef::parse(&text)
                    .map(|r| r.to_string())
                    .unwrap_or_else(|e| format!("(unreadable: {e})")),
                path: path.to_path_buf(),
            }
        } else {
            KeyLocation::Pkcs11 {
                uri: yinzheng_pkcs11::Pkcs11Uri::parse(&text)
                    .map(|u| u.to_string())
                    .unwrap_or_else(|e| format!("(unreadable: {e})")),
                path: path.to_path_buf(),
            }
        };
        (location, None)
    } else {
        let bytes = zeroize::Zeroizing::new(read_small(path)?);
        let encrypted = bytes
            .windows(b"ENCRYPTED PRIVATE KEY".len())
            .any(|w| w == b"ENCRYPTED PRIVATE KEY");
        // A key in the clear is opened only to learn its algorithm.
        let algorithm = (!encrypted)
            .then(|| PrivateKey::from_bytes(&bytes, None).ok())
            .flatten()
            .map(|k| k.algorithm());
        (
            KeyLocation::File {
                path: path.to_path_buf(),
                encrypted,
            },
            algorithm,
        )
    };
    let cert_path = path.with_file_name(format!("{stem}.pem"));
    let certificate = cert_path
        .is_file()
        .then(|| read_small(&cert_path).ok())
        .flatten()
        .and_then(|b| ParsedCert::load_all(&b).ok())
        .and_then(|certs| certs.into_iter().next())
        .map(|c| (c.public_key().map(|k| k.algorithm()), c));
    let algorithm = certificate
        .as_ref()
        .and_then(|(a, _)| *a)
        .or(clear_algorithm)
        .or(named_algorithm);
    Ok(KeyEntry {
        purpose,
        location,
        algorithm,
        certificate: certificate.map(|(_, c)| KeyCertificate {
            path: cert_path,
            subject: c.subject(),
            serial: c.serial_hex(),
            not_after: c.not_after(),
        }),
    })
}

/// What a key is for, from where it sits; and its algorithm when its name says.
fn purpose(parts: &[String], stem: &str) -> (String, Option<KeyAlgorithm>) {
    let dir: Vec<&str> = parts[..parts.len().saturating_sub(1)]
        .iter()
        .map(String::as_str)
        .collect();
    match (dir.as_slice(), stem) {
        (["pki", domain], "root") => (format!("root CA of trust domain {domain}"), None),
        (["pki", domain], "issuing") => {
            (format!("issuing CA (main) of trust domain {domain}"), None)
        }
        (["pki", domain], "ocsp") => (
            format!("delegated OCSP responder of trust domain {domain}"),
            None,
        ),
        (["pki", domain], "tsa") => (
            format!("time-stamping authority of trust domain {domain}"),
            None,
        ),
        (["pki", domain], s) if s.starts_with("issuing-") => (
            format!(
                "issuing CA {} of trust domain {domain}",
                &s["issuing-".len()..]
            ),
            None,
        ),
        (["log"], "log-signer") => (
            "anchoring log checkpoints".to_string(),
            Some(KeyAlgorithm::Sm2),
        ),
        (["log"], "log-signer-ed25519") => (
            "anchoring log checkpoints (Ed25519 cosigning)".to_string(),
            Some(KeyAlgorithm::Ed25519),
        ),
        (["log"], "log-signer-p256") => (
            "anchoring log checkpoints (P-256 cosigning)".to_string(),
            Some(KeyAlgorithm::EcdsaP256),
        ),
        (["server"], "tls") => ("verify server TLS".to_string(), None),
        (["witness"], "witness-ed25519") => (
            "witness cosignatures (cosignature/v1)".to_string(),
            Some(KeyAlgorithm::Ed25519),
        ),
        (["witness"], "witness-sm2") => (
            "witness cosignatures (SM2)".to_string(),
            Some(KeyAlgorithm::Sm2),
        ),
        (["demo"], "authority") => (
            "demo: the issuing authority's seal signer".to_string(),
            None,
        ),
        (["demo"], "client") => (
            "demo: the mTLS client of the curl examples".to_string(),
            None,
        ),
        _ => ("not a key yinzheng knows by name".to_string(), None),
    }
}
