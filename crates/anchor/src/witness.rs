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
        // The cosigned message does not name the witness: the same public
        // key under two names would let one cosignature count twice.
        for (i, a) in keys.iter().enumerate() {
            if let Some(b) = keys[i + 1..]
                .iter()
                .find(|b| b.key_bytes() == a.key_bytes() && b.name() != a.name())
            {
                return Err(Error::malformed(
                    "witness keys",
                    format!(
                        "{} and {} are one key under two names: one witness would count twice",
                        a.name(),
                        b.name()
                    ),
                ));
            }
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

    /// Refuse a witness key that is one of `log_keys` (the same public key,
    /// whatever its type or name): the log operator alone would meet the
    /// quorum.
    pub fn check_independent_of(&self, log_keys: &[VerifierKey]) -> Result<()> {
        match self
            .keys
            .iter()
            .find(|w| log_keys.iter().any(|l| l.key_bytes() == w.key_bytes()))
        {
            Some(w) => Err(Error::malformed(
                "witness key",
                format!(
                    "{} is the log's own key: a witness must be independent of it",
                    w.name()
                ),
            )),
            None => Ok(()),
        }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::note::{Cosigner, NoteSigner};
    use crate::{Checkpoint, SignedCheckpoint};
    use std::sync::Arc;
    use yinzheng_crypto::{KeyAlgorithm, PrivateKey};

    fn key(alg: KeyAlgorithm) -> Arc<PrivateKey> {
        Arc::new(PrivateKey::generate(alg).unwrap_or_else(|e| panic!("{e}")))
    }

    /// One key under two names would count twice; a log key is no witness;
    /// a plain note key is no cosignature key; a witness key is no log key.
    #[test]
    fn a_policy_counts_independent_witnesses_only() -> Result<()> {
        let k = key(KeyAlgorithm::Ed25519);
        let a = Cosigner::new("a.example/w", k.clone())?;
        let b = Cosigner::new("b.example/w", k.clone())?;
        let twice = WitnessPolicy::new(vec![a.verifier().clone(), b.verifier().clone()], 2);
        assert!(twice.is_err(), "{twice:?}");
        let log = NoteSigner::from_signer("log.example/log", k)?;
        let policy = WitnessPolicy::new(vec![a.verifier().clone()], 1)?;
        assert!(
            policy
                .check_independent_of(std::slice::from_ref(log.verifier()))
                .is_err()
        );
        assert!(WitnessPolicy::new(vec![log.verifier().clone()], 1).is_err());
        // A cosignature key given as the log's key: refused when opening.
        let cp = Checkpoint::new("log.example/log", 1, [0u8; 32])?.sign(&[&log])?;
        assert!(SignedCheckpoint::open(cp.as_bytes(), &[a.verifier().clone()], None).is_err());
        // The quorum counts names: one witness's two keys are one.
        let sm2 = Cosigner::new("a.example/w", key(KeyAlgorithm::Sm2))?;
        let one = WitnessPolicy::new(vec![a.verifier().clone(), sm2.verifier().clone()], 1)?;
        assert!(WitnessPolicy::new(vec![a.verifier().clone(), sm2.verifier().clone()], 2).is_err());
        let text = Checkpoint::new("log.example/log", 1, [0u8; 32])?.to_text();
        let both = format!(
            "{cp}{}{}",
            a.cosign(&text, 1_790_000_000)?,
            sm2.cosign(&text, 1_790_000_000)?
        );
        let q = one.check(&Note::parse(both.as_bytes())?)?;
        assert_eq!((q.cosigned.len(), q.met()), (1, true));
        Ok(())
    }
}
