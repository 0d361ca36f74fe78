//! Anchoring log (锚定日志) of Yinzheng: an append-only Merkle transparency log
//! in which every license issued, changed or revoked, every seal made,
//! suspended or revoked, every stamping and every license use becomes one
//! small entry, so anyone holding the log's verifier key can check offline
//! that an event was recorded and that history was never rewritten.
//!
//! Standards: RFC 6962 §2.1 hashing and RFC 9162 §2.1.3–2.1.4 proofs, over SM3
//! (default profile) or SHA-256; C2SP signed-note, tlog-checkpoint, tlog-tiles
//! and tlog-proof. Design notes: `shared/design/anchor-log.md`.
//!
//! ```text
//!  producers ── submit/append ──▶ pool ──▶ sequencer (every period)
//!                                           │ new tiles + root, sign once
//!                                           │ SQLite CAS on latest checkpoint + staged tiles
//!                                           ▼
//!                    tiles/ (checkpoint, tile/L/N[.p/W], tile/entries/N[.p/W])
//!                                           │
//!  readers, auditors ◀── TileReader: proofs, entries ◀──┘   Evidence: offline check with a vkey
//! ```
//!
//! Invariants:
//! - One log has one hash profile; the profile is part of its origin.
//! - Proof verification follows RFC 9162 step by step, including the checks
//!   that reject trailing hashes and wrong sizes.
//! - The log never signs two inconsistent checkpoints: each batch is committed
//!   by a compare-and-swap on the one stored latest checkpoint; a sequencer
//!   that loses it stops. Tiles are published only after the commit, and the
//!   staged batch is published again on start, so a crash at any point loses
//!   no acknowledged entry.
//! - An index is handed to a producer only after its batch is committed and
//!   published.
//! - Bad input gives a typed [`Error`], never a panic; everything parsed has a
//!   size limit. The library never reads the clock (entry times are inputs).
//!
//! Receipts: a verify server signs its answers in batches, one note signature
//! per window over the Merkle root of the answers' [`ReceiptBody`]s; each
//! [`Receipt`] carries its inclusion path ([`sign_receipts`],
//! [`verify_receipt`]).
//!
//! Left to others: HTTP serving (the tiles directory is static files),
//! witnessing, key storage (signers are handed in as [`NoteSigner`]s).
//!
//! Start with [`TileBuilder`] (tiles from entries; the write side with its
//! store is the `yinzheng-log` crate), [`TileReader`] (read side), [`Evidence`]
//! (offline proofs) and [`VerifierKey`].
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod audit;
mod builder;
mod checkpoint;
mod entry;
mod error;
mod evidence;
mod hash;
mod merkle;
mod note;
mod receipt;
mod tiles;
mod witness;

pub use audit::{AuditReport, audit, audit_entries};
pub use builder::{TileBuilder, TileFile};
pub use checkpoint::{Checkpoint, SignedCheckpoint};
pub use entry::{Entry, MAX_DIGESTS, MAX_FIELD_LEN, MAX_SUBJECTS};
pub use error::{Error, Result};
pub use evidence::{Evidence, MAX_EVIDENCE_LEN, VerifiedEvidence, profile_from_origin};
pub use hash::{Hash, HashAlg};
pub use merkle::{
    HashSource, MAX_PROOF_HASHES, MemoryTree, consistency_proof, inclusion_proof, root,
    subtree_hash, verify_consistency, verify_inclusion,
};
pub use note::{
    Cosigner, MAX_NOTE_LEN, MAX_SIGNATURES, Note, NoteKeyType, NoteSignature, NoteSigner,
    SM2_COSIGNATURE_TYPE_ID, SM2_NOTE_ID, SM2_TYPE_ID, VerifierKey, cosigned_by, cosigned_message,
    key_id, sign_note,
};
pub use receipt::{
    MAX_RECEIPT_BATCH, MAX_RECEIPT_FIELD_LEN, MAX_RECEIPT_LEN, RECEIPT_BATCH_FORMAT,
    RECEIPT_FORMAT, RECEIPT_ORIGIN_SUFFIX, Receipt, ReceiptBatch, ReceiptBatchNote, ReceiptBody,
    VerifiedReceipt, sign_receipts, verify_receipt,
};
pub use tiles::{
    MAX_ENTRY_LEN, MAX_TILE_LEVEL, TILE_WIDTH, TileKind, TilePath, TileReader, decode_bundle,
    decode_hash_tile, encode_bundle,
};

/// Standard base64 (RFC 4648 §4), strict: the text form of hashes and
/// signatures (the workspace's one base64, from yinzheng-crypto).
pub use witness::{Quorum, WitnessPolicy};
pub use yinzheng_crypto::base64;
