//! `witness.toml`: the witness's name and the logs it witnesses.
//!
//! ```toml
//! name = "witness.example.gov.cn/w1"
//!
//! [[log]]
//! origin = "verify.example.gov.cn/log"
//! vkeys = ["verify.example.gov.cn/log+1a2b3c4d+/1NNMi1TTTM..."]
//! hash = "sm3"          # the log's tree hash: sm3 (default) or sha256
//! ```

use crate::WitnessedLog;
use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use yinzheng_anchor::{HashAlg, VerifierKey};

/// The configuration file of a witness in its directory.
pub const CONFIG_FILE: &str = "witness.toml";

/// `witness.toml`.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WitnessConfig {
    /// The witness's name: its cosignatures' key name (e.g. a host and path).
    pub name: String,
    /// The logs it witnesses.
    #[serde(default, rename = "log")]
    pub logs: Vec<LogConfig>,
}

/// One `[[log]]` of `witness.toml`.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogConfig {
    /// The log's origin line.
    pub origin: String,
    /// The log's verifier keys (note vkeys): one must sign each checkpoint.
    pub vkeys: Vec<String>,
    /// The log's tree hash (`sm3`, the default, or `sha256`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hash: Option<String>,
}

impl WitnessConfig {
    /// The path of the configuration in `dir`.
    pub fn path(dir: &Path) -> PathBuf {
        dir.join(CONFIG_FILE)
    }

    /// Read `dir/witness.toml`.
    pub fn load(dir: &Path) -> Result<Self> {
        let path = Self::path(dir);
        let text = std::fs::read_to_string(&path)
            .map_err(|e| Error::Config(format!("{}: {e}", path.display())))?;
        toml::from_str(&text).map_err(|e| Error::Config(format!("{}: {e}", path.display())))
    }

    /// Write `dir/witness.toml` (atomically).
    pub fn save(&self, dir: &Path) -> Result<()> {
        let text = toml::to_string(self).map_err(|e| Error::Config(e.to_string()))?;
        yinzheng_store::write_atomic(&Self::path(dir), text.as_bytes())
            .map_err(|e| Error::Config(e.to_string()))
    }

    /// The logs, their keys parsed and hash profiles resolved.
    pub fn witnessed_logs(&self) -> Result<Vec<WitnessedLog>> {
        self.logs
            .iter()
            .map(|l| {
                let keys = l
                    .vkeys
                    .iter()
                    .map(|v| {
                        VerifierKey::parse(v).map_err(|e| {
                            Error::Config(format!("log {:?}: vkey {v:?}: {e}", l.origin))
                        })
                    })
                    .collect::<Result<Vec<_>>>()?;
                let hash = match l.hash.as_deref() {
                    None => HashAlg::Sm3,
                    Some(h) => HashAlg::from_name(h).ok_or_else(|| {
                        Error::Config(format!("log {:?}: hash {h:?} (sm3 or sha256)", l.origin))
                    })?,
                };
                Ok(WitnessedLog {
                    origin: l.origin.clone(),
                    keys,
                    hash,
                })
            })
            .collect()
    }
}
