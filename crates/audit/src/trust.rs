//! The trust-anchors file: one TOML document with embedded PEM, written by
//! `yinzheng trust export` and the only thing `yinzheng-audit` trusts.
//!
//! ```toml
//! format = "yinzheng-trust/1"
//! exported_at = "2026-11-30T08:00:00Z"
//! sm2_id = "1234567812345678"          # SM2 user ID policy of the PKIs ("" = OpenSSL's empty ID)
//!
//! [[domain]]
//! name = "main"
//! root = "-----BEGIN CERTIFICATE-----\n…"             # trusted
//! untrusted_intermediates = ["-----BEGIN CERTIFICATE-----\n…"]   # NOT anchors: path building only
//! crls = ["-----BEGIN X509 CRL-----\n…"]               # optional, as of the export
//!
//! [log]
//! origin = "yinzheng.local/log/sm3"
//! hash = "sm3"
//! verifier_keys = ["yinzheng.local/log/sm3+1a2b3c4d+/w…"]
//!
//! [witnesses]                          # optional cosigners of checkpoints
//! keys = []
//! quorum = 0
//! ```

use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};
use yinzheng_anchor::{HashAlg, VerifierKey};
use yinzheng_crypto::Sm2Id;
use yinzheng_pki::{Crl, ParsedCert};

/// The `format` value of version 1 of the trust-anchors file.
pub const TRUST_FORMAT: &str = "yinzheng-trust/1";
/// Largest trust-anchors file read.
pub const MAX_TRUST_LEN: usize = 16 << 20;

/// Everything an auditor trusts, as written in the TOML file.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct TrustAnchors {
    /// Always [`TRUST_FORMAT`].
    pub format: String,
    /// When it was exported (RFC 3339), informational.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exported_at: Option<String>,
    /// The SM2 user ID the PKIs sign certificates and CRLs with; `""` is the
    /// empty ID OpenSSL uses when none is given.
    #[serde(default = "default_sm2_id")]
    pub sm2_id: String,
    /// One entry per trust domain (`[[domain]]`).
    #[serde(default, rename = "domain")]
    pub domains: Vec<DomainAnchors>,
    /// The anchoring log.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log: Option<LogAnchors>,
    /// Witnesses that cosign checkpoints.
    #[serde(default)]
    pub witnesses: Witnesses,
}

/// One trust domain: its root (trusted) and issuing CAs (not trusted).
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct DomainAnchors {
    /// Domain name (`main`, `intl`, …), informational.
    pub name: String,
    /// The root certificate (PEM): a trust anchor.
    pub root: String,
    /// Issuing CA certificates (PEM). Not trust anchors: they only help build
    /// paths and must themselves chain to a root.
    #[serde(default)]
    pub untrusted_intermediates: Vec<String>,
    /// CRLs (PEM) as of the export, optional.
    #[serde(default)]
    pub crls: Vec<String>,
}

/// The anchoring log's identity and keys.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct LogAnchors {
    /// The checkpoint origin every checkpoint must carry.
    pub origin: String,
    /// Hash profile (`sm3` or `sha256`).
    pub hash: String,
    /// Verifier keys (C2SP note vkey text); a checkpoint needs a valid
    /// signature from one and no failing one.
    pub verifier_keys: Vec<String>,
}

/// Witness cosigners (C2SP tlog-witness); empty and 0 when none.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Witnesses {
    /// Witness verifier keys (vkey text).
    #[serde(default)]
    pub keys: Vec<String>,
    /// How many distinct witnesses must cosign a checkpoint.
    #[serde(default)]
    pub quorum: usize,
}

fn default_sm2_id() -> String {
    String::from_utf8_lossy(Sm2Id::default().as_bytes()).into_owned()
}

impl TrustAnchors {
    /// An empty file of the current format.
    pub fn new() -> Self {
        TrustAnchors {
            format: TRUST_FORMAT.into(),
            sm2_id: default_sm2_id(),
            ..Default::default()
        }
    }

    /// Parse the TOML text and check every PEM block and key in it.
    pub fn from_toml(text: &str) -> Result<Self> {
        if text.len() > MAX_TRUST_LEN {
            return Err(Error::Trust(format!(
                "{} bytes, more than {MAX_TRUST_LEN}",
                text.len()
            )));
        }
        let t: TrustAnchors = toml::from_str(text).map_err(|e| Error::Trust(e.to_string()))?;
        if t.format != TRUST_FORMAT {
            return Err(Error::Trust(format!(
                "format {:?} is not {TRUST_FORMAT:?}",
                t.format
            )));
        }
        t.load()?;
        Ok(t)
    }

    /// The TOML text, with a header saying what is trusted and what is not.
    pub fn to_toml(&self) -> Result<String> {
        let body = toml::to_string(self).map_err(|e| Error::Trust(e.to_string()))?;
        Ok(format!(
            "# Trust anchors for yinzheng-audit ({TRUST_FORMAT}).\n\
             # Trusted: each [[domain]]'s root, the [log] verifier keys and origin, the\n\
             # [witnesses] keys. untrusted_intermediates are NOT anchors: they only help\n\
             # build certificate paths and must chain to a root. CRLs are revocation data\n\
             # as of the export, judged like any other.\n\n{body}"
        ))
    }

    /// Parse every certificate, CRL and key.
    pub(crate) fn load(&self) -> Result<LoadedTrust> {
        let bad = |what: &str, e: &dyn std::fmt::Display| Error::Trust(format!("{what}: {e}"));
        let mut anchors = Vec::new();
        let mut intermediates = Vec::new();
        let mut crls = Vec::new();
        for d in &self.domains {
            let roots = ParsedCert::load_all(d.root.as_bytes())
                .map_err(|e| bad(&format!("root of domain {}", d.name), &e))?;
            if roots.is_empty() {
                return Err(Error::Trust(format!("domain {} has no root", d.name)));
            }
            anchors.extend(roots);
            for p in &d.untrusted_intermediates {
                intermediates.extend(
                    ParsedCert::load_all(p.as_bytes())
                        .map_err(|e| bad(&format!("intermediate of domain {}", d.name), &e))?,
                );
            }
            for p in &d.crls {
                crls.extend(
                    Crl::parse_all(p.as_bytes())
                        .map_err(|e| bad(&format!("CRL of domain {}", d.name), &e))?,
                );
            }
        }
        let sm2_id = if self.sm2_id.is_empty() {
            Sm2Id::danger_empty()
        } else {
            Sm2Id::new(self.sm2_id.as_bytes().to_vec()).map_err(|e| bad("sm2_id", &e))?
        };
        let keys = |v: &[String], what: &str| -> Result<Vec<VerifierKey>> {
            v.iter()
                .map(|k| VerifierKey::parse(k.trim()).map_err(|e| bad(what, &e)))
                .collect()
        };
        let log = match &self.log {
            Some(l) => {
                let hash = HashAlg::from_name(&l.hash)
                    .ok_or_else(|| Error::Trust(format!("log hash {:?} is unknown", l.hash)))?;
                let k = keys(&l.verifier_keys, "log verifier key")?;
                if k.is_empty() {
                    return Err(Error::Trust("[log] has no verifier key".into()));
                }
                Some((l.origin.clone(), hash, k))
            }
            None => None,
        };
        let witnesses = yinzheng_anchor::WitnessPolicy::new(
            keys(&self.witnesses.keys, "witness key")?,
            self.witnesses.quorum,
        )
        .map_err(|e| Error::Trust(e.to_string()))?;
        if let Some((_, _, log_keys)) = &log {
            witnesses
                .check_independent_of(log_keys)
                .map_err(|e| Error::Trust(e.to_string()))?;
        }
        Ok(LoadedTrust {
            anchors,
            intermediates,
            crls,
            sm2_id,
            log,
            witnesses,
        })
    }
}

/// The parsed form of [`TrustAnchors`].
pub(crate) struct LoadedTrust {
    pub(crate) anchors: Vec<ParsedCert>,
    pub(crate) intermediates: Vec<ParsedCert>,
    pub(crate) crls: Vec<Crl>,
    pub(crate) sm2_id: Sm2Id,
    /// (origin, hash profile, verifier keys).
    pub(crate) log: Option<(String, HashAlg, Vec<VerifierKey>)>,
    pub(crate) witnesses: yinzheng_anchor::WitnessPolicy,
}
