//! Signed verification receipts (`yinzheng-receipt/1`), signed in batches.
//!
//! A verify server answers license checks; each answer can carry a receipt
//! the caller stores and an auditor checks offline years later with the log's
//! verifier key alone. One signature covers a whole batch (a short window of
//! answers): the receipts' bodies are the leaves of an RFC 6962 Merkle tree,
//! the tree's root is signed in a C2SP note, and each receipt carries that
//! note and its own inclusion path.
//!
//! Leaf input (the bytes hashed as `H(0x00 ‖ input)`):
//!
//! ```text
//! "yinzheng-receipt/1\n" ‖ canonical JSON of the body
//! ```
//!
//! The canonical JSON is compact (no whitespace), has exactly the ten fields
//! in this order, absent optional values written as `null`:
//! `requestSm3, operation, subject, caller, resultCode, result, timeMs,
//! usageSeq, usageSm3, logIndex`. Numbers are plain decimal integers; strings
//! hold no control characters (refused when signing and verifying), so the
//! only escapes are `\"` and `\\`, and every other character is written as
//! itself in UTF-8. This is exactly what `serde_json::to_vec` writes for
//! [`ReceiptBody`].
//!
//! Batch note text (signed as a C2SP note by the log key):
//!
//! ```text
//! <origin>/receipts          the log's origin, then "/receipts"
//! yinzheng-receipt-batch/1
//! <hash profile>             sm3 | sha256
//! <batch size>               decimal, no leading zeros, ≥ 1
//! <base64 root>              32 bytes
//! <batch time>               milliseconds since the Unix epoch, decimal
//! ```
//!
//! A checkpoint (`origin\nsize\nroot\n`) can never be read as a batch note
//! (its second line is a number, not the format line), and a batch note can
//! never be read as a checkpoint (its second line is not a tree size): the
//! same key can sign both without one being passed off as the other.

use crate::error::{Error, Result};
use crate::hash::{Hash, HashAlg};
use crate::merkle::{MAX_PROOF_HASHES, MemoryTree, inclusion_proof, verify_inclusion};
use crate::note::{Note, NoteSigner, VerifierKey, sign_note};
use serde::{Deserialize, Serialize};
use yinzheng_crypto::base64 as b64;

/// The `format` of a receipt, and the domain prefix line of its leaf input.
pub const RECEIPT_FORMAT: &str = "yinzheng-receipt/1";
/// The second line of a batch note.
pub const RECEIPT_BATCH_FORMAT: &str = "yinzheng-receipt-batch/1";
/// What the first line of a batch note appends to the log's origin.
pub const RECEIPT_ORIGIN_SUFFIX: &str = "/receipts";
/// Longest string field of a receipt body, in bytes.
pub const MAX_RECEIPT_FIELD_LEN: usize = 1024;
/// Most receipts signed in one batch.
pub const MAX_RECEIPT_BATCH: usize = 1 << 20;
/// Largest receipt JSON document parsed (the note is usually a few hundred bytes).
pub const MAX_RECEIPT_LEN: usize = 64 * 1024;

/// What one receipt attests: one answer of the verify server.
///
/// Serialized as camelCase JSON; the field order is part of the leaf
/// encoding (see the module documentation), so do not reorder fields.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ReceiptBody {
    /// SM3 (64 lower-case hex digits) of the request as received.
    pub request_sm3: String,
    /// What was asked: `query`, `verify-file`, `verify-fields`, `qr-redeem`,
    /// `verify` (lower-case letters, digits and `-`, at most 32).
    pub operation: String,
    /// The license identifier, or `file sm3:<hex>` for a file check.
    pub subject: String,
    /// Who asked (the authenticated caller).
    pub caller: String,
    /// The sharing-service result code (0–7), when the operation has one.
    pub result_code: Option<u8>,
    /// Short verdict text, e.g. `TOTAL_PASSED` or `0 valid`.
    pub result: String,
    /// When the answer was given, milliseconds since the Unix epoch.
    pub time_ms: u64,
    /// The usage record's sequence number, when one was written.
    pub usage_seq: Option<i64>,
    /// SM3 (64 lower-case hex digits) of the usage record, when one was written.
    pub usage_sm3: Option<String>,
    /// The usage record's log index, once anchored.
    pub log_index: Option<u64>,
}

/// Where a receipt sits in its batch, and the batch's signed note.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ReceiptBatch {
    /// The signed batch note (C2SP signed-note text).
    pub note: String,
    /// The receipt's leaf index in the batch tree.
    pub index: u64,
    /// The number of receipts in the batch (equals the size in the note).
    pub size: u64,
    /// The inclusion path (RFC 9162 §2.1.3), standard base64 of each hash.
    pub path: Vec<String>,
}

/// A signed verification receipt (JSON, camelCase).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Receipt {
    /// Always [`RECEIPT_FORMAT`].
    pub format: String,
    /// What is attested.
    pub body: ReceiptBody,
    /// The batch signature and this receipt's inclusion path.
    pub batch: ReceiptBatch,
}

/// The signed text of a batch note (see the module documentation).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReceiptBatchNote {
    /// The log's origin (without the `/receipts` suffix).
    pub origin: String,
    /// The hash profile of the batch tree.
    pub hash: HashAlg,
    /// The number of receipts in the batch (at least 1).
    pub size: u64,
    /// The root of the batch tree.
    pub root: Hash,
    /// When the batch was signed, milliseconds since the Unix epoch.
    pub time_ms: u64,
}

/// What a verified receipt proves.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifiedReceipt {
    /// The attested answer.
    pub body: ReceiptBody,
    /// The batch note it is included in.
    pub batch: ReceiptBatchNote,
    /// The receipt's index in the batch.
    pub index: u64,
    /// Names of the known keys whose signatures on the batch note verified.
    pub signed_by: Vec<String>,
}

fn bad(reason: impl Into<String>) -> Error {
    Error::malformed("receipt", reason)
}

fn is_sm3_hex(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

fn check_origin(origin: &str) -> Result<()> {
    if origin.is_empty()
        || origin.len() > MAX_RECEIPT_FIELD_LEN
        || origin.chars().any(|c| c.is_control() || c.is_whitespace())
    {
        return Err(Error::malformed(
            "receipt batch note",
            "origin must be non-empty, without spaces or control characters",
        ));
    }
    Ok(())
}

fn parse_decimal(s: &str, what: &str) -> Result<u64> {
    if s.is_empty()
        || s.len() > 20
        || !s.bytes().all(|b| b.is_ascii_digit())
        || (s.len() > 1 && s.starts_with('0'))
    {
        return Err(Error::malformed(
            "receipt batch note",
            format!("{what} is not a canonical decimal"),
        ));
    }
    s.parse()
        .map_err(|_| Error::malformed("receipt batch note", format!("{what} out of range")))
}

impl ReceiptBody {
    /// Check the field rules: SM3 fields are 64 lower-case hex digits, the
    /// operation is a short lower-case token, strings are at most
    /// [`MAX_RECEIPT_FIELD_LEN`] bytes and hold no control characters.
    pub fn validate(&self) -> Result<()> {
        if !is_sm3_hex(&self.request_sm3) {
            return Err(bad("requestSm3 is not 64 lower-case hex digits"));
        }
        if let Some(u) = &self.usage_sm3
            && !is_sm3_hex(u)
        {
            return Err(bad("usageSm3 is not 64 lower-case hex digits"));
        }
        if self.operation.is_empty()
            || self.operation.len() > 32
            || !self
                .operation
                .bytes()
                .all(|b| matches!(b, b'a'..=b'z' | b'0'..=b'9' | b'-'))
        {
            return Err(bad(
                "operation is not 1-32 lower-case letters, digits or '-'",
            ));
        }
        for (name, v) in [
            ("subject", &self.subject),
            ("caller", &self.caller),
            ("result", &self.result),
        ] {
            if v.len() > MAX_RECEIPT_FIELD_LEN {
                return Err(bad(format!(
                    "{name} is {} bytes, more than {MAX_RECEIPT_FIELD_LEN}",
                    v.len()
                )));
            }
            if v.chars().any(char::is_control) {
                return Err(bad(format!("{name} holds a control character")));
            }
        }
        Ok(())
    }

    /// The leaf input: `"yinzheng-receipt/1\n"` followed by the canonical
    /// JSON of the body (see the module documentation).
    pub fn leaf_input(&self) -> Result<Vec<u8>> {
        let mut v = Vec::with_capacity(RECEIPT_FORMAT.len() + 1 + 320);
        v.extend_from_slice(RECEIPT_FORMAT.as_bytes());
        v.push(b'\n');
        serde_json::to_writer(&mut v, self)
            .map_err(|e| bad(format!("body cannot be encoded: {e}")))?;
        Ok(v)
    }
}

impl ReceiptBatchNote {
    /// The note text, final newline included.
    pub fn to_text(&self) -> String {
        format!(
            "{}{RECEIPT_ORIGIN_SUFFIX}\n{RECEIPT_BATCH_FORMAT}\n{}\n{}\n{}\n{}\n",
            self.origin,
            self.hash.name(),
            self.size,
            b64::encode(&self.root),
            self.time_ms
        )
    }

    /// Parse the text of a batch note (exactly six lines, nothing after).
    pub fn parse(text: &str) -> Result<Self> {
        let m = |r: &str| Error::malformed("receipt batch note", r.to_string());
        let body = text
            .strip_suffix('\n')
            .ok_or_else(|| m("does not end in a newline"))?;
        let lines: Vec<&str> = body.splitn(7, '\n').collect();
        let [first, format, hash, size, root, time] = lines[..] else {
            return Err(m("is not six lines"));
        };
        let origin = first
            .strip_suffix(RECEIPT_ORIGIN_SUFFIX)
            .ok_or_else(|| m("first line does not end in /receipts"))?;
        check_origin(origin)?;
        if format != RECEIPT_BATCH_FORMAT {
            return Err(m("second line is not yinzheng-receipt-batch/1"));
        }
        let hash = HashAlg::from_name(hash).ok_or_else(|| m("unknown hash profile"))?;
        let size = parse_decimal(size, "batch size")?;
        if size == 0 {
            return Err(m("batch size is 0"));
        }
        let root: Hash = b64::decode(root)
            .and_then(|r| r.try_into().ok())
            .ok_or_else(|| m("root is not base64 of 32 bytes"))?;
        let time_ms = parse_decimal(time, "batch time")?;
        Ok(ReceiptBatchNote {
            origin: origin.to_string(),
            hash,
            size,
            root,
            time_ms,
        })
    }
}

impl Receipt {
    /// Parse receipt JSON (at most [`MAX_RECEIPT_LEN`] bytes; unknown fields
    /// are refused). Checks the shape only; see [`verify_receipt`].
    pub fn from_json(bytes: &[u8]) -> Result<Self> {
        if bytes.len() > MAX_RECEIPT_LEN {
            return Err(Error::TooLarge {
                what: "receipt",
                len: bytes.len(),
                max: MAX_RECEIPT_LEN,
            });
        }
        serde_json::from_slice(bytes).map_err(|e| bad(e.to_string()))
    }

    /// The JSON text (pretty-printed).
    pub fn to_json(&self) -> Result<String> {
        serde_json::to_string_pretty(self).map_err(|e| bad(e.to_string()))
    }
}

/// Sign a batch of receipt bodies with one signature: build the Merkle tree
/// of their leaves (`hash` profile), sign the batch note for `origin` (the
/// log's origin; the note says `<origin>/receipts`) at `time_ms`, and return
/// one receipt per body, in order, each with its inclusion path.
///
/// Fails on an empty batch, more than [`MAX_RECEIPT_BATCH`] bodies, a body
/// that breaks the field rules ([`ReceiptBody::validate`]) or a bad origin.
pub fn sign_receipts(
    bodies: Vec<ReceiptBody>,
    origin: &str,
    hash: HashAlg,
    signer: &NoteSigner,
    time_ms: u64,
) -> Result<Vec<Receipt>> {
    if bodies.is_empty() {
        return Err(bad("no receipts to sign"));
    }
    if bodies.len() > MAX_RECEIPT_BATCH {
        return Err(Error::OutOfRange(format!(
            "{} receipts in one batch, more than {MAX_RECEIPT_BATCH}",
            bodies.len()
        )));
    }
    check_origin(origin)?;
    let mut tree = MemoryTree::new(hash);
    for b in &bodies {
        b.validate()?;
        tree.push_entry(&b.leaf_input()?);
    }
    let size = tree.size();
    let note_body = ReceiptBatchNote {
        origin: origin.to_string(),
        hash,
        size,
        root: tree.root(),
        time_ms,
    };
    let note = sign_note(&note_body.to_text(), &[signer])?;
    bodies
        .into_iter()
        .zip(0u64..)
        .map(|(body, index)| {
            let path = inclusion_proof(&tree, index, size)?
                .iter()
                .map(|h| b64::encode(h))
                .collect();
            Ok(Receipt {
                format: RECEIPT_FORMAT.to_string(),
                body,
                batch: ReceiptBatch {
                    note: note.clone(),
                    index,
                    size,
                    path,
                },
            })
        })
        .collect()
}

/// Verify a receipt offline with the log's verifier keys.
///
/// Steps: the format is [`RECEIPT_FORMAT`]; the body keeps the field rules;
/// the path has at most 64 hashes, each base64 of 32 bytes; the note parses
/// (at most [`MAX_NOTE_LEN`](crate::MAX_NOTE_LEN) bytes) and opens with
/// `keys` (at least one known signature verifies, none fails); its text is a
/// batch note ([`ReceiptBatchNote::parse`]); the receipt's size equals the
/// note's and its index is below it; the leaf hash of the body's leaf input
/// is included at that index under the note's root (RFC 9162 §2.1.3.2).
///
/// The caller still compares [`ReceiptBatchNote::origin`] with the origin it
/// trusts (keys are often named after it, but need not be).
pub fn verify_receipt(receipt: &Receipt, keys: &[VerifierKey]) -> Result<VerifiedReceipt> {
    if receipt.format != RECEIPT_FORMAT {
        return Err(bad(format!(
            "format {:?} is not {RECEIPT_FORMAT:?}",
            receipt.format
        )));
    }
    receipt.body.validate()?;
    let b = &receipt.batch;
    if b.path.len() > MAX_PROOF_HASHES {
        return Err(bad(format!(
            "path has {} hashes, more than {MAX_PROOF_HASHES}",
            b.path.len()
        )));
    }
    let path = b
        .path
        .iter()
        .map(|h| {
            b64::decode(h)
                .and_then(|h| <Hash>::try_from(h).ok())
                .ok_or_else(|| bad("path element is not base64 of 32 bytes"))
        })
        .collect::<Result<Vec<Hash>>>()?;
    let note = Note::parse(b.note.as_bytes())?;
    let signed_by = note.open(keys)?;
    let batch = ReceiptBatchNote::parse(note.text())?;
    if b.size != batch.size {
        return Err(Error::Mismatch(format!(
            "receipt says batch size {}, the signed note {}",
            b.size, batch.size
        )));
    }
    if b.index >= batch.size {
        return Err(Error::OutOfRange(format!(
            "receipt index {} is not below the batch size {}",
            b.index, batch.size
        )));
    }
    let leaf = batch.hash.leaf_hash(&receipt.body.leaf_input()?);
    verify_inclusion(batch.hash, &leaf, b.index, batch.size, &path, &batch.root)?;
    Ok(VerifiedReceipt {
        body: receipt.body.clone(),
        batch,
        index: b.index,
        signed_by,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checkpoint::{Checkpoint, SignedCheckpoint};
    use yinzheng_crypto::{KeyAlgorithm, PrivateKey};

    const ORIGIN: &str = "yinzheng.test/log/sm3";
    const T: u64 = 1_767_000_000_000;

    fn signer(name: &str, alg: KeyAlgorithm) -> NoteSigner {
        let key = PrivateKey::generate(alg).unwrap_or_else(|e| panic!("{e}"));
        NoteSigner::new(name, key).unwrap_or_else(|e| panic!("{e}"))
    }

    fn body(i: u64) -> ReceiptBody {
        ReceiptBody {
            request_sm3: yinzheng_crypto::sm3_hex(&i.to_be_bytes()),
            operation: if i.is_multiple_of(2) {
                "query"
            } else {
                "verify-file"
            }
            .into(),
            subject: format!("11100000000000000X-2026-{i:06}"),
            caller: "窗口 \"3\" \\ caller".into(),
            result_code: (!i.is_multiple_of(3)).then_some((i % 8) as u8),
            result: "TOTAL_PASSED".into(),
            time_ms: T + i,
            usage_seq: Some(i as i64),
            usage_sm3: i.is_multiple_of(2).then(|| hex::encode([i as u8; 32])),
            log_index: i.is_multiple_of(4).then_some(i * 10),
        }
    }

    fn batch(n: u64, s: &NoteSigner) -> Vec<Receipt> {
        sign_receipts((0..n).map(body).collect(), ORIGIN, HashAlg::Sm3, s, T + n)
            .unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn batches_of_every_shape_round_trip_through_json() -> Result<()> {
        let s = signer(ORIGIN, KeyAlgorithm::Sm2);
        let keys = [s.verifier().clone()];
        for n in [1u64, 2, 3, 7, 1000] {
            let rs = batch(n, &s);
            assert_eq!(rs.len() as u64, n);
            for (i, r) in rs.iter().enumerate() {
                let back = Receipt::from_json(r.to_json()?.as_bytes())?;
                assert_eq!(&back, r);
                let v = verify_receipt(&back, &keys)?;
                assert_eq!(v.body, body(i as u64));
                assert_eq!((v.index, v.batch.size), (i as u64, n));
                assert_eq!((v.batch.origin.as_str(), v.batch.time_ms), (ORIGIN, T + n));
                assert_eq!(v.signed_by, vec![ORIGIN.to_string()]);
            }
            // One signature per batch: every receipt carries the same note.
            assert!(rs.iter().all(|r| r.batch.note == rs[0].batch.note));
        }
        // A single receipt: size 1, empty path, the root is the leaf hash.
        let r = &batch(1, &s)[0];
        assert!(r.batch.path.is_empty());
        let n = ReceiptBatchNote::parse(Note::parse(r.batch.note.as_bytes())?.text())?;
        assert_eq!(n.root, HashAlg::Sm3.leaf_hash(&r.body.leaf_input()?));
        Ok(())
    }

    #[test]
    fn ed25519_and_sha256_batches_verify_too() -> Result<()> {
        let s = signer("witness.example", KeyAlgorithm::Ed25519);
        let rs = sign_receipts(
            (0..5).map(body).collect(),
            "yinzheng.test/log/sha256",
            HashAlg::Sha256,
            &s,
            T,
        )?;
        let v = verify_receipt(&rs[4], &[s.verifier().clone()])?;
        assert_eq!(v.batch.hash, HashAlg::Sha256);
        Ok(())
    }

    #[test]
    fn the_leaf_encoding_is_the_documented_canonical_json() -> Result<()> {
        let b = ReceiptBody {
            request_sm3: "ab".repeat(32),
            operation: "verify".into(),
            subject: "LIC-1".into(),
            caller: "a\"b\\c/证".into(),
            result_code: None,
            result: "0 valid".into(),
            time_ms: 5,
            usage_seq: Some(-1),
            usage_sm3: None,
            log_index: Some(0),
        };
        let want = format!(
            "yinzheng-receipt/1\n{{\"requestSm3\":\"{}\",\"operation\":\"verify\",\
             \"subject\":\"LIC-1\",\"caller\":\"a\\\"b\\\\c/证\",\"resultCode\":null,\
             \"result\":\"0 valid\",\"timeMs\":5,\"usageSeq\":-1,\"usageSm3\":null,\
             \"logIndex\":0}}",
            "ab".repeat(32)
        );
        assert_eq!(String::from_utf8_lossy(&b.leaf_input()?), want);
        // Field order and whitespace in the received JSON do not matter: the
        // verifier re-encodes the parsed body (serde_json's Value sorts keys).
        let s = signer(ORIGIN, KeyAlgorithm::Sm2);
        let r = &batch(3, &s)[1];
        let v: serde_json::Value =
            serde_json::from_str(&r.to_json()?).map_err(|e| bad(e.to_string()))?;
        let sorted = serde_json::to_string(&v).map_err(|e| bad(e.to_string()))?;
        assert!(sorted.contains("{\"caller\":"), "{sorted}");
        let back = Receipt::from_json(sorted.as_bytes())?;
        verify_receipt(&back, &[s.verifier().clone()])?;
        Ok(())
    }

    /// Every tampering of a valid receipt, each with the error it must give.
    #[test]
    fn every_tampering_is_rejected_with_a_clear_error() -> Result<()> {
        let s = signer(ORIGIN, KeyAlgorithm::Sm2);
        let keys = [s.verifier().clone()];
        let rs = batch(7, &s);
        let good = rs[5].clone();
        verify_receipt(&good, &keys)?;
        let check =
            |r: &Receipt, want: &dyn Fn(&Error) -> bool, what: &str| match verify_receipt(r, &keys)
            {
                Ok(_) => panic!("{what}: accepted"),
                Err(e) => {
                    assert!(want(&e), "{what}: wrong error {e:?}");
                    assert!(!e.to_string().is_empty());
                }
            };
        let proof = |e: &Error| matches!(e, Error::InvalidProof(_));

        // Body fields.
        type Edit = fn(&mut ReceiptBody);
        let edits: Vec<(&str, Edit)> = vec![
            ("subject", |b| b.subject.push('X')),
            ("caller", |b| b.caller = "someone else".into()),
            ("result", |b| b.result = "TOTAL_FAILED".into()),
            ("resultCode", |b| b.result_code = Some(3)),
            ("timeMs", |b| b.time_ms += 1),
            ("operation", |b| b.operation = "verify".into()),
            ("requestSm3", |b| b.request_sm3 = "00".repeat(32)),
            ("usageSeq", |b| b.usage_seq = None),
            ("usageSm3", |b| b.usage_sm3 = Some("11".repeat(32))),
            ("logIndex", |b| b.log_index = Some(1)),
        ];
        for (what, edit) in edits {
            let mut r = good.clone();
            edit(&mut r.body);
            check(&r, &proof, what);
        }
        // Index: another leaf's position, and one past the batch.
        let mut r = good.clone();
        r.batch.index = 4;
        check(&r, &proof, "index");
        r.batch.index = 7;
        check(&r, &|e| matches!(e, Error::OutOfRange(_)), "index = size");
        // Size that disagrees with the note.
        let mut r = good.clone();
        r.batch.size = 8;
        check(&r, &|e| matches!(e, Error::Mismatch(_)), "size");
        // Path: one element changed, one dropped, one added, one not a hash.
        for i in 0..good.batch.path.len() {
            let mut r = good.clone();
            let mut h = b64::decode(&r.batch.path[i]).unwrap_or_default();
            h[0] ^= 1;
            r.batch.path[i] = b64::encode(&h);
            check(&r, &proof, "path element");
        }
        let mut r = good.clone();
        r.batch.path.pop();
        check(&r, &proof, "path too short");
        let mut r = good.clone();
        r.batch.path.push(good.batch.path[0].clone());
        check(&r, &proof, "path too long");
        let mut r = good.clone();
        r.batch.path[0] = "AAAA".into();
        check(&r, &|e| matches!(e, Error::Malformed { .. }), "path base64");
        let mut r = good.clone();
        r.batch.path = vec![good.batch.path[0].clone(); 65];
        check(&r, &|e| matches!(e, Error::Malformed { .. }), "path > 64");
        // One byte of the note's signature.
        let mut r = good.clone();
        let (text, sig) = r.batch.note.rsplit_once(' ').ok_or_else(|| bad("note"))?;
        let mut raw = b64::decode(sig.trim_end()).unwrap_or_default();
        raw[10] ^= 1;
        r.batch.note = format!("{text} {}\n", b64::encode(&raw));
        check(
            &r,
            &|e| matches!(e, Error::BadSignature { .. }),
            "signature",
        );
        // Each line of the note text changed (the signature no longer verifies).
        let lines: Vec<&str> = good.batch.note.split('\n').take(6).collect();
        for (i, l) in lines.iter().enumerate() {
            let mut r = good.clone();
            let changed = if i == 3 {
                "8".to_string()
            } else {
                format!("{l}x")
            };
            let mut ls = lines.clone();
            ls[i] = &changed;
            r.batch.note = good
                .batch
                .note
                .replacen(&lines.join("\n"), &ls.join("\n"), 1);
            check(
                &r,
                &|e| matches!(e, Error::BadSignature { .. }),
                &format!("note line {i}"),
            );
        }
        // Known keys that did not sign: nothing verified.
        let other = signer(ORIGIN, KeyAlgorithm::Sm2);
        match verify_receipt(&good, &[other.verifier().clone()]) {
            Err(Error::NoKnownSignature) => {}
            x => panic!("unknown key only: {x:?}"),
        }
        // Format and body rules.
        let mut r = good.clone();
        r.format = "yinzheng-receipt/2".into();
        check(&r, &|e| matches!(e, Error::Malformed { .. }), "format");
        let mut r = good.clone();
        r.body.subject = "a\nb".into();
        check(&r, &|e| matches!(e, Error::Malformed { .. }), "control");
        Ok(())
    }

    #[test]
    fn a_note_signed_over_other_text_is_not_a_receipt_note() -> Result<()> {
        let s = signer(ORIGIN, KeyAlgorithm::Sm2);
        let keys = [s.verifier().clone()];
        let good = batch(2, &s)[0].clone();
        let n = ReceiptBatchNote::parse(Note::parse(good.batch.note.as_bytes())?.text())?;
        // Validly signed notes whose text is not a batch note are refused.
        let root = b64::encode(&n.root);
        for text in [
            format!("{ORIGIN}/receipts\nyinzheng-receipt-batch/2\nsm3\n2\n{root}\n{T}\n"),
            format!("{ORIGIN}\nyinzheng-receipt-batch/1\nsm3\n2\n{root}\n{T}\n"),
            format!("{ORIGIN}/receipts\nyinzheng-receipt-batch/1\nmd5\n2\n{root}\n{T}\n"),
            format!("{ORIGIN}/receipts\nyinzheng-receipt-batch/1\nsm3\n02\n{root}\n{T}\n"),
            format!("{ORIGIN}/receipts\nyinzheng-receipt-batch/1\nsm3\n2\n{root}\n{T}\nextra\n"),
            format!("{ORIGIN}/receipts\nyinzheng-receipt-batch/1\nsm3\n2\n{root}\n"),
            format!("/receipts\nyinzheng-receipt-batch/1\nsm3\n2\n{root}\n{T}\n"),
        ] {
            let mut r = good.clone();
            r.batch.note = sign_note(&text, &[&s])?;
            match verify_receipt(&r, &keys) {
                Err(Error::Malformed { what, .. }) => assert_eq!(what, "receipt batch note"),
                x => panic!("{text:?}: {x:?}"),
            }
        }
        Ok(())
    }

    #[test]
    fn checkpoints_and_batch_notes_cannot_stand_in_for_each_other() -> Result<()> {
        let s = signer(ORIGIN, KeyAlgorithm::Sm2);
        let keys = [s.verifier().clone()];
        let good = batch(3, &s)[2].clone();
        let n = ReceiptBatchNote::parse(Note::parse(good.batch.note.as_bytes())?.text())?;
        // A checkpoint with the batch's root and size, signed by the same key,
        // under either origin, is not a receipt note.
        for origin in [ORIGIN.to_string(), format!("{ORIGIN}/receipts")] {
            let cp = Checkpoint::new(&origin, n.size, n.root)?.sign(&[&s])?;
            let mut r = good.clone();
            r.batch.note = cp;
            match verify_receipt(&r, &keys) {
                Err(Error::Malformed { what, .. }) => assert_eq!(what, "receipt batch note"),
                x => panic!("checkpoint accepted as a receipt note: {x:?}"),
            }
        }
        // A receipt note is not a checkpoint.
        assert!(matches!(
            Checkpoint::parse(Note::parse(good.batch.note.as_bytes())?.text()),
            Err(Error::Malformed { .. })
        ));
        assert!(matches!(
            SignedCheckpoint::open(good.batch.note.as_bytes(), &keys, None),
            Err(Error::Malformed { .. })
        ));
        Ok(())
    }

    #[test]
    fn bad_inputs_are_typed_errors() {
        let s = signer(ORIGIN, KeyAlgorithm::Sm2);
        assert!(sign_receipts(Vec::new(), ORIGIN, HashAlg::Sm3, &s, T).is_err());
        assert!(sign_receipts(vec![body(1)], "has space", HashAlg::Sm3, &s, T).is_err());
        let mut b = body(1);
        b.request_sm3 = "AB".repeat(32);
        assert!(sign_receipts(vec![b], ORIGIN, HashAlg::Sm3, &s, T).is_err());
        let mut b = body(1);
        b.operation = "Query".into();
        assert!(sign_receipts(vec![b], ORIGIN, HashAlg::Sm3, &s, T).is_err());
        let mut b = body(1);
        b.caller = "x".repeat(MAX_RECEIPT_FIELD_LEN + 1);
        assert!(sign_receipts(vec![b], ORIGIN, HashAlg::Sm3, &s, T).is_err());
        for bad in [
            &b""[..],
            b"{}",
            b"[]",
            b"\xff",
            b"{\"format\":\"yinzheng-receipt/1\"}",
        ] {
            assert!(matches!(
                Receipt::from_json(bad),
                Err(Error::Malformed { .. })
            ));
        }
        // Unknown and duplicated fields are refused.
        let r = &batch(1, &s)[0];
        let j = r.to_json().unwrap_or_default();
        let extra = j.replacen("\"subject\"", "\"extra\": 1, \"subject\"", 1);
        assert!(Receipt::from_json(extra.as_bytes()).is_err());
        let dup = j.replacen("\"subject\"", "\"subject\": \"other\", \"subject\"", 1);
        assert!(Receipt::from_json(dup.as_bytes()).is_err());
        assert!(matches!(
            Receipt::from_json(&vec![b' '; MAX_RECEIPT_LEN + 1]),
            Err(Error::TooLarge { .. })
        ));
    }
}
