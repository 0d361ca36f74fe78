//! The witnesses a relying party trusts, and how many of them must cosign a
//! checkpoint before it counts (c2sp.org/tlog-witness, issue 24).

use crate::error::{Error, Result};
use crate::note::{Note, VerifierKey, cosigned_by};

/// Trusted witness keys and the quorum: how many distinct witnesses (by name:
/// a witness's Ed25519 and SM2 keys are one witness) must cosign.
#[derive(Clone, Debug, Default)]
pub struct WitnessPolicy {
    keys: Vec<VerifierKey>,
    names: Vec<String>,
    quorum: usize,
}

/// Who cosigned a checkpoint, against a [`WitnessPolicy`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Quorum {
    /// The trusted witnesses whose cosignatures verified.
    pub cosigned: Vec<String>,
    /// The trusted witnesses that did not cosign.
    pub missing: Vec<String>,
    /// How many must.
    pub required: usize,
}

impl Quorum {
    /// Whether enough trusted witnesses cosigned.
    pub fn met(&self) -> bool {
        self.cosigned.len() >= self.required
    }

    /// One line for a report: how many cosigned of how many required, and who.
    pub fn describe(&self) -> String {
        let names = |v: &[String]| {
            if v.is_empty() {
                "none".to_string()
            } else {
                v.join(", ")
            }
        };
        format!(
            "{} witness cosignature(s), the quorum is {}: cosigned by {}; not by {}",
            self.cosigned.len(),
            self.required,
            names(&self.cosigned),
            names(&self.missing)
        )
    }
}

impl WitnessPolicy {
    /// No witness required (the default).
    pub fn none() -> Self {
        WitnessPolicy::default()
    }

    /// `quorum` of the witnesses `keys` name must cosign. Every key must be a
    /// cosignature key (a plain note key signs no timestamp and is no
    /// witness), and the quorum at most the number of witnesses.
    pub fn new(keys: Vec<VerifierKey>, quorum: usize) -> Result<Self> {
        if let Some(k) = keys.iter().find(|k| !k.key_type().is_cosignature()) {
            return Err(Error::malformed(
                "witness key",
                format!("{k} is not a cosignature key (cosignature/v1 or SM2-SM3-cosignature/v1)"),
            ));
        }
        let mut names: Vec<String> = keys.iter().map(|k| k.name().to_string()).collect();
        names.sort_unstable();
        names.dedup();
        if quorum > names.len() {
            return Err(Error::malformed(
                "witness quorum",
                format!(
                    "{quorum} is more than the {} witnesses named by the keys",
                    names.len()
                ),
            ));
        }
        Ok(WitnessPolicy {
            keys,
            names,
            quorum,
        })
    }

    /// [`Self::new`] from vkey text, one key per line (blank lines and `#`
    /// comments skipped): the witnesses' `witness-*.vkey` files, concatenated.
    pub fn parse(vkeys: &str, quorum: usize) -> Result<Self> {
        let keys = vkeys
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .map(VerifierKey::parse)
            .collect::<Result<Vec<_>>>()?;
        Self::new(keys, quorum)
    }

    /// How many witnesses must cosign (0: none).
    pub fn quorum(&self) -> usize {
        self.quorum
    }

    /// The trusted witness keys.
    pub fn keys(&self) -> &[VerifierKey] {
        &self.keys
    }

    /// Who of the trusted witnesses cosigned `note`. A cosignature naming a
    /// trusted witness key that does not verify is an error (a forgery,
    /// [`Error::BadSignature`]); too few is a [`Quorum`] that is not
    /// [`met`](Quorum::met).
    pub fn check(&self, note: &Note) -> Result<Quorum> {
        let cosigned = if self.keys.is_empty() {
            Vec::new()
        } else {
            cosigned_by(note, &self.keys)?
        };
        let missing = self
            .names
            .iter()
            .filter(|n| !cosigned.contains(n))
            .cloned()
            .collect();
        Ok(Quorum {
            cosigned,
            missing,
            required: self.quorum,
        })
    }
}
