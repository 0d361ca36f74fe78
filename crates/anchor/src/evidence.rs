//! Offline evidence files in the shape of c2sp.org/tlog-proof@v1.
//!
//! ```text
//! c2sp.org/tlog-proof@v1
//! extra <base64 of the logged entry>
//! index <decimal leaf index>
//! <base64 hash>            one line per inclusion proof hash
//!
//! <signed checkpoint note>
//! ```
//!
//! The `extra` line carries the entry itself (its canonical bytes, the leaf
//! input), so one file is the whole evidence: entry, index, inclusion proof and
//! signed checkpoint. A verifier needs only the log's verifier key.

use crate::checkpoint::SignedCheckpoint;
use crate::error::{Error, Result};
use crate::hash::{Hash, HashAlg};
use crate::merkle::{MAX_PROOF_HASHES, verify_inclusion};
use crate::note::{MAX_NOTE_LEN, VerifierKey};
use crate::tiles::MAX_ENTRY_LEN;
use yinzheng_crypto::base64 as b64;

const HEADER: &str = "c2sp.org/tlog-proof@v1";
/// Largest evidence file accepted.
pub const MAX_EVIDENCE_LEN: usize = MAX_NOTE_LEN + 4 * MAX_ENTRY_LEN / 3 + 8 * 1024;

/// An inclusion proof of one entry to one signed checkpoint, not yet verified.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Evidence {
    entry: Option<Vec<u8>>,
    index: u64,
    proof: Vec<Hash>,
    checkpoint: String,
}

/// What a verified evidence file proves.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifiedEvidence {
    /// The logged entry (leaf input).
    pub entry: Vec<u8>,
    /// Its index in the log.
    pub index: u64,
    /// The checkpoint it is included in, with who signed it.
    pub checkpoint: SignedCheckpoint,
}

impl Evidence {
    /// Evidence for `entry` at `index` with `proof` to the signed `checkpoint` note.
    pub fn new(entry: &[u8], index: u64, proof: Vec<Hash>, checkpoint: &str) -> Self {
        Evidence {
            entry: Some(entry.to_vec()),
            index,
            proof,
            checkpoint: checkpoint.to_string(),
        }
    }

    /// The text form.
    pub fn to_text(&self) -> String {
        let mut s = String::from(HEADER);
        s.push('\n');
        if let Some(e) = &self.entry {
            s.push_str("extra ");
            s.push_str(&b64::encode(e));
            s.push('\n');
        }
        s.push_str(&format!("index {}\n", self.index));
        for h in &self.proof {
            s.push_str(&b64::encode(h));
            s.push('\n');
        }
        s.push('\n');
        s.push_str(&self.checkpoint);
        s
    }

    /// Parse the text form (shape only; see [`Evidence::verify`]).
    pub fn parse(bytes: &[u8]) -> Result<Self> {
        if bytes.len() > MAX_EVIDENCE_LEN {
            return Err(Error::TooLarge {
                what: "evidence file",
                len: bytes.len(),
                max: MAX_EVIDENCE_LEN,
            });
        }
        let bad = |r: &str| Error::malformed("evidence", r.to_string());
        let s = std::str::from_utf8(bytes).map_err(|_| bad("not UTF-8"))?;
        let (head, checkpoint) = s
            .split_once("\n\n")
            .ok_or_else(|| bad("no blank line before the checkpoint"))?;
        let mut lines = head.split('\n');
        if lines.next() != Some(HEADER) {
            return Err(bad("first line is not c2sp.org/tlog-proof@v1"));
        }
        let mut line = lines.next().ok_or_else(|| bad("no index line"))?;
        let mut entry = None;
        if let Some(x) = line.strip_prefix("extra ") {
            entry = Some(b64::decode(x).ok_or_else(|| bad("extra is not base64"))?);
            line = lines.next().ok_or_else(|| bad("no index line"))?;
        }
        let idx = line
            .strip_prefix("index ")
            .ok_or_else(|| bad("no index line"))?;
        if idx.is_empty()
            || idx.len() > 20
            || (idx.len() > 1 && idx.starts_with('0'))
            || !idx.bytes().all(|b| b.is_ascii_digit())
        {
            return Err(bad("index is not a canonical decimal"));
        }
        let index = idx.parse().map_err(|_| bad("index out of range"))?;
        let mut proof = Vec::new();
        for l in lines {
            if proof.len() == MAX_PROOF_HASHES {
                return Err(bad("too many proof hashes"));
            }
            let h: Hash = b64::decode(l)
                .and_then(|h| h.try_into().ok())
                .ok_or_else(|| bad("proof line is not base64 of 32 bytes"))?;
            proof.push(h);
        }
        Ok(Evidence {
            entry,
            index,
            proof,
            checkpoint: checkpoint.to_string(),
        })
    }

    /// The entry carried in the `extra` line, if any.
    pub fn entry(&self) -> Option<&[u8]> {
        self.entry.as_deref()
    }

    /// The leaf index.
    pub fn index(&self) -> u64 {
        self.index
    }

    /// The inclusion proof.
    pub fn proof(&self) -> &[Hash] {
        &self.proof
    }

    /// The signed checkpoint note.
    pub fn checkpoint_note(&self) -> &str {
        &self.checkpoint
    }

    /// Verify offline: the checkpoint is signed by a key in `known` (and none
    /// of theirs fails), and the entry is leaf `index` of its tree under the
    /// `hash` profile (RFC 9162 §2.1.3.2). `entry` overrides the one carried
    /// in the file (for callers that hold the entry themselves).
    pub fn verify(
        &self,
        known: &[VerifierKey],
        hash: HashAlg,
        entry: Option<&[u8]>,
    ) -> Result<VerifiedEvidence> {
        let entry = entry
            .or(self.entry.as_deref())
            .ok_or_else(|| Error::malformed("evidence", "no entry to check"))?;
        let cp = SignedCheckpoint::open(self.checkpoint.as_bytes(), known, None)?;
        verify_inclusion(
            hash,
            &hash.leaf_hash(entry),
            self.index,
            cp.checkpoint().size(),
            &self.proof,
            cp.checkpoint().root(),
        )?;
        Ok(VerifiedEvidence {
            entry: entry.to_vec(),
            index: self.index,
            checkpoint: cp,
        })
    }
}

/// The hash profile named by the last path segment of an origin
/// (`…/sm3`, `…/sha256`), the convention of this crate's logs.
pub fn profile_from_origin(origin: &str) -> Option<HashAlg> {
    HashAlg::from_name(origin.rsplit('/').next()?)
}
