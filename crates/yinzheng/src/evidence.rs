//! Offline evidence from the anchoring log (锚定日志).

use crate::error::{Error, Result};
use yinzheng_anchor::{Entry, Evidence, HashAlg, VerifierKey, WitnessPolicy, profile_from_origin};

/// What a verified evidence file proves: that `entry` is leaf `index` of the
/// log named `origin`, in a tree of `tree_size` entries whose checkpoint the
/// log's key signed.
#[derive(Clone, Debug)]
pub struct VerifiedEvidence {
    origin: String,
    index: u64,
    tree_size: u64,
    entry: Vec<u8>,
    decoded: Option<Entry>,
}

impl VerifiedEvidence {
    /// The log's origin line (its name), e.g. `yinzheng.local/log/sm3`.
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// The entry's index in the log.
    pub fn index(&self) -> u64 {
        self.index
    }

    /// Size of the tree of the signed checkpoint that includes the entry.
    pub fn tree_size(&self) -> u64 {
        self.tree_size
    }

    /// The logged entry, as bytes (the leaf input).
    pub fn entry(&self) -> &[u8] {
        &self.entry
    }

    /// The entry's kind (`license.issued`, `seal.made`, …) when it is one of
    /// Yinzheng's canonical entries.
    pub fn entry_kind(&self) -> Option<&str> {
        self.decoded.as_ref().map(Entry::kind)
    }

    /// The entry's subjects (license identifiers, seal IDs…) when it is one
    /// of Yinzheng's canonical entries.
    pub fn entry_subjects(&self) -> &[String] {
        self.decoded.as_ref().map(Entry::subjects).unwrap_or(&[])
    }

    /// The entry's time (Unix milliseconds) when it is one of Yinzheng's
    /// canonical entries.
    pub fn entry_time_ms(&self) -> Option<u64> {
        self.decoded.as_ref().map(Entry::time_ms)
    }
}

/// Verify a log evidence file (`c2sp.org/tlog-proof@v1`, as `yinzheng log
/// prove` and license issuance write) offline, with the log's verifier key
/// text (`log.vkey`: one key per line, e.g. the SM2 key and an optional
/// Ed25519 co-signer).
///
/// Checks that the checkpoint is signed by one of the keys (and no signature
/// by a known key fails) and that the entry is in its tree (RFC 9162
/// §2.1.3.2), with the hash profile named by the log's origin (SM3 unless the
/// origin ends in `/sha256`).
///
/// `Err(Error::Evidence)` when the file is malformed or does not verify:
/// evidence is all or nothing.
pub fn verify_evidence(evidence: &[u8], vkey: &str) -> Result<VerifiedEvidence> {
    verify_evidence_witnessed(evidence, vkey, &WitnessPolicy::none())
}

/// [`verify_evidence`], and the checkpoint must be cosigned by the quorum of
/// `witnesses` (trusted witness cosignature keys, e.g. from the trust
/// anchors' `[witnesses]`): too few is [`Error::NotWitnessed`], naming who
/// cosigned and who did not; a forged cosignature is [`Error::Evidence`].
pub fn verify_evidence_witnessed(
    evidence: &[u8],
    vkey: &str,
    witnesses: &WitnessPolicy,
) -> Result<VerifiedEvidence> {
    let keys = vkey
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(VerifierKey::parse)
        .collect::<Result<Vec<_>, _>>()
        .map_err(Error::Evidence)?;
    if keys.is_empty() {
        return Err(Error::Options("no verifier key in the vkey text".into()));
    }
    let ev = Evidence::parse(evidence).map_err(Error::Evidence)?;
    // The origin is only trusted once the signature checks; it picks the
    // hash profile, and a wrong pick fails the inclusion proof.
    let hash = yinzheng_anchor::Note::parse(ev.checkpoint_note().as_bytes())
        .ok()
        .and_then(|n| yinzheng_anchor::Checkpoint::parse(n.text()).ok())
        .and_then(|c| profile_from_origin(c.origin()))
        .unwrap_or(HashAlg::Sm3);
    witnesses
        .check_independent_of(&keys)
        .map_err(|e| Error::Options(e.to_string()))?;
    let v = ev.verify(&keys, hash, None).map_err(Error::Evidence)?;
    if witnesses.quorum() > 0 {
        let note = yinzheng_anchor::Note::parse(ev.checkpoint_note().as_bytes())
            .map_err(Error::Evidence)?;
        let quorum = witnesses.check(&note).map_err(Error::Evidence)?;
        if !quorum.met() {
            return Err(Error::NotWitnessed(quorum));
        }
    }
    Ok(VerifiedEvidence {
        origin: v.checkpoint.checkpoint().origin().to_string(),
        index: v.index,
        tree_size: v.checkpoint.checkpoint().size(),
        decoded: Entry::decode(&v.entry).ok(),
        entry: v.entry,
    })
}
