//! Where a token's user PIN comes from: a file or the environment.

use crate::error::{Error, Result};
use std::path::PathBuf;
use zeroize::Zeroizing;

/// The environment variable read for the PIN when the URI names no
/// `pin-source`.
pub const PIN_ENV: &str = "YINZHENG_PKCS11_PIN";

/// The longest PIN file read (a PIN is a few dozen bytes; this bounds a
/// mistaken path).
const MAX_PIN_FILE: u64 = 4096;

/// Where the user PIN is read from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PinSource {
    /// A file holding the PIN (one trailing newline is dropped).
    File(PathBuf),
    /// An environment variable.
    Env(String),
}

impl PinSource {
    /// The source a URI names (`pin-source=file:/path` or a plain path, as RFC
    /// 7512 §2.3 allows; `env:NAME` for an environment variable), else
    /// [`PIN_ENV`].
    pub fn of(pin_source: Option<&str>) -> Self {
        match pin_source {
            Some(s) => match s.strip_prefix("env:") {
                Some(name) => PinSource::Env(name.to_string()),
                None => PinSource::File(PathBuf::from(s.strip_prefix("file:").unwrap_or(s))),
            },
            None => PinSource::Env(PIN_ENV.to_string()),
        }
    }

    /// Read the PIN.
    pub fn read(&self) -> Result<Zeroizing<String>> {
        let pin = match self {
            PinSource::Env(name) => Zeroizing::new(std::env::var(name).map_err(|_| {
                Error::Pin(format!(
                    "the environment variable {name} is not set (or not UTF-8): set it, or name a \
                     PIN file with pin-source=file:/path in the URI"
                ))
            })?),
            PinSource::File(path) => {
                let meta = std::fs::metadata(path)
                    .map_err(|e| Error::Pin(format!("{}: {e}", path.display())))?;
                let len = meta.len();
                if !meta.is_file() || len > MAX_PIN_FILE {
                    return Err(Error::Pin(format!(
                        "{}: not a regular file of at most {MAX_PIN_FILE} bytes: no PIN file",
                        path.display()
                    )));
                }
                let text = Zeroizing::new(
                    std::fs::read_to_string(path)
                        .map_err(|e| Error::Pin(format!("{}: {e}", path.display())))?,
                );
                let trimmed = text
                    .strip_suffix("\r\n")
                    .or_else(|| text.strip_suffix('\n'))
                    .unwrap_or(&text);
                Zeroizing::new(trimmed.to_string())
            }
        };
        if pin.is_empty() {
            return Err(Error::Pin(format!("{self} holds an empty PIN")));
        }
        Ok(pin)
    }
}

impl std::fmt::Display for PinSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PinSource::File(p) => write!(f, "the PIN file {}", p.display()),
            PinSource::Env(n) => write!(f, "the environment variable {n}"),
        }
    }
}
