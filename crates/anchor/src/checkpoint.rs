//! Checkpoints (c2sp.org/tlog-checkpoint): the signed note body that commits
//! a log to one tree.
//!
//! ```text
//! <origin>\n        the log's identity, e.g. yinzheng.example/log/sm3
//! <tree size>\n     decimal, no leading zeros
//! <base64 root>\n   32 bytes
//! [extension lines]
//! ```

use crate::error::{Error, Result};
use crate::hash::Hash;
use crate::note::{Note, NoteSigner, VerifierKey, sign_note};
use yinzheng_crypto::base64 as b64;

/// A checkpoint body: origin, tree size, root hash and extension lines.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Checkpoint {
    origin: String,
    size: u64,
    root: Hash,
    extensions: Vec<String>,
}

impl Checkpoint {
    /// A checkpoint without extension lines.
    pub fn new(origin: &str, size: u64, root: Hash) -> Result<Self> {
        if origin.is_empty() || origin.contains('\n') || origin.chars().any(char::is_control) {
            return Err(Error::malformed(
                "checkpoint",
                "origin must be one non-empty line",
            ));
        }
        Ok(Checkpoint {
            origin: origin.to_string(),
            size,
            root,
            extensions: Vec::new(),
        })
    }

    /// Parse the note text of a checkpoint.
    pub fn parse(text: &str) -> Result<Self> {
        let body = text
            .strip_suffix('\n')
            .ok_or_else(|| Error::malformed("checkpoint", "does not end in a newline"))?;
        let mut lines = body.split('\n');
        let origin = lines.next().unwrap_or_default();
        let size_s = lines
            .next()
            .ok_or_else(|| Error::malformed("checkpoint", "no tree size line"))?;
        let root_s = lines
            .next()
            .ok_or_else(|| Error::malformed("checkpoint", "no root hash line"))?;
        if size_s.is_empty()
            || size_s.len() > 20
            || !size_s.bytes().all(|b| b.is_ascii_digit())
            || (size_s.len() > 1 && size_s.starts_with('0'))
        {
            return Err(Error::malformed(
                "checkpoint",
                "tree size is not a canonical decimal",
            ));
        }
        let size = size_s
            .parse::<u64>()
            .map_err(|_| Error::malformed("checkpoint", "tree size out of range"))?;
        let root: Hash = b64::decode(root_s)
            .and_then(|r| r.try_into().ok())
            .ok_or_else(|| Error::malformed("checkpoint", "root is not base64 of 32 bytes"))?;
        let extensions: Vec<String> = lines.map(str::to_string).collect();
        if extensions.iter().any(String::is_empty) {
            return Err(Error::malformed("checkpoint", "empty extension line"));
        }
        let mut c = Checkpoint::new(origin, size, root)?;
        c.extensions = extensions;
        Ok(c)
    }

    /// The note text (final newline included).
    pub fn to_text(&self) -> String {
        let mut s = format!(
            "{}\n{}\n{}\n",
            self.origin,
            self.size,
            b64::encode(&self.root)
        );
        for e in &self.extensions {
            s.push_str(e);
            s.push('\n');
        }
        s
    }

    /// The origin line.
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// The tree size.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// The root hash.
    pub fn root(&self) -> &Hash {
        &self.root
    }

    /// Extension lines after the root.
    pub fn extensions(&self) -> &[String] {
        &self.extensions
    }

    /// Sign this checkpoint with every signer: the signed note text.
    pub fn sign(&self, signers: &[&NoteSigner]) -> Result<String> {
        sign_note(&self.to_text(), signers)
    }
}

/// A checkpoint read from a signed note whose signature was verified.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignedCheckpoint {
    checkpoint: Checkpoint,
    note: String,
    verified_by: Vec<String>,
}

impl SignedCheckpoint {
    /// Open a signed checkpoint: the note must carry a valid signature from
    /// one of `known`, no known key may have a failing signature, and the
    /// origin must equal `origin` when one is given (by default the name of the
    /// first known key is *not* assumed to be the origin).
    pub fn open(note: &[u8], known: &[VerifierKey], origin: Option<&str>) -> Result<Self> {
        // A witness's cosignature is not the log's signature.
        if let Some(k) = known.iter().find(|k| k.key_type().is_cosignature()) {
            return Err(Error::malformed(
                "log key",
                format!("{k} is a witness's cosignature key, not a log's"),
            ));
        }
        let n = Note::parse(note)?;
        let verified_by = n.open(known)?;
        let checkpoint = Checkpoint::parse(n.text())?;
        if let Some(o) = origin
            && checkpoint.origin != o
        {
            return Err(Error::WrongOrigin {
                expected: o.to_string(),
                found: checkpoint.origin,
            });
        }
        let note = String::from_utf8_lossy(note).into_owned();
        Ok(SignedCheckpoint {
            checkpoint,
            note,
            verified_by,
        })
    }

    /// The checkpoint body.
    pub fn checkpoint(&self) -> &Checkpoint {
        &self.checkpoint
    }

    /// The whole signed note, as received.
    pub fn note(&self) -> &str {
        &self.note
    }

    /// Names of the keys whose signatures verified.
    pub fn verified_by(&self) -> &[String] {
        &self.verified_by
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_round_trips_and_rejects_non_canonical_sizes() -> Result<()> {
        let t = "example.com/log\n15\nrKbDipCvhuX1GZ7g5BBe8sA6BbJ7ja/1nk427v383cs=\n";
        let c = Checkpoint::parse(t)?;
        assert_eq!((c.origin(), c.size()), ("example.com/log", 15));
        assert_eq!(c.to_text(), t);
        for bad in [
            "o\n015\nrKbDipCvhuX1GZ7g5BBe8sA6BbJ7ja/1nk427v383cs=\n",
            "o\n-1\nrKbDipCvhuX1GZ7g5BBe8sA6BbJ7ja/1nk427v383cs=\n",
            "o\n1\nrKbDipCvhuX1GZ7g5BBe8sA6BbJ7ja/1nk427v383c=\n",
            "o\n1\nrKbDipCvhuX1GZ7g5BBe8sA6BbJ7ja/1nk427v383cs=",
            "\n1\nrKbDipCvhuX1GZ7g5BBe8sA6BbJ7ja/1nk427v383cs=\n",
            "o\n99999999999999999999\nrKbDipCvhuX1GZ7g5BBe8sA6BbJ7ja/1nk427v383cs=\n",
        ] {
            assert!(Checkpoint::parse(bad).is_err(), "{bad:?}");
        }
        Ok(())
    }
}
