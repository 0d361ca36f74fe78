//! Anchoring log (锚定日志) of Yinzheng: an append-only Merkle transparency log
//! in which every license issued, changed or revoked, every seal made,
//! suspended or revoked, every stamping and every license use becomes one
//! small entry, so anyone holding the log's verifier key can check offline
//! that an event was recorded and that history was never rewritten.
//!
//! Standards: RFC 6962 §2.1 hashing and RFC 9162 §2.1.3–2.1.4 proofs, over SM3
//! (default profile) or SHA-256.
//!
//! Invariants:
//! - One log has one hash profile; the profile is part of its origin.
//! - Proof verification follows RFC 9162 step by step, including the checks
//!   that reject trailing hashes and wrong sizes.
//! - Bad input gives a typed [`Error`], never a panic; everything parsed has a
//!   size limit.
//!
//! Start with [`HashAlg`], [`inclusion_proof`] / [`verify_inclusion`] and
//! [`MemoryTree`].
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod b64;
mod checkpoint;
mod error;
mod hash;
mod merkle;
mod note;
mod tiles;

pub use checkpoint::{Checkpoint, SignedCheckpoint};
pub use error::{Error, Result};
pub use hash::{Hash, HashAlg};
pub use merkle::{
    HashSource, MAX_PROOF_HASHES, MemoryTree, consistency_proof, inclusion_proof, root,
    subtree_hash, verify_consistency, verify_inclusion,
};
pub use note::{
    MAX_NOTE_LEN, MAX_SIGNATURES, Note, NoteKeyType, NoteSignature, NoteSigner, SM2_NOTE_ID,
    SM2_TYPE_ID, VerifierKey, key_id, sign_note,
};
pub use tiles::{
    MAX_ENTRY_LEN, MAX_TILE_LEVEL, TILE_WIDTH, TileKind, TilePath, TileReader, decode_bundle,
    decode_hash_tile, encode_bundle,
};

/// Standard base64 (RFC 4648 §4), strict: the text form of hashes and signatures.
pub mod base64 {
    pub use crate::b64::{decode, encode};
}
