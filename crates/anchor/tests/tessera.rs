//! The Tessera 15-entry tiled test log (transparency-dev/tessera testdata/log),
//! read with our code: every Ed25519 checkpoint opens with the published vkey,
//! the level-0 tile leaf hashes are reproduced from the entry bundles, and each
//! checkpoint's root is recomputed from the tiles.

#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use yinzheng_anchor::{
    HashAlg, HashSource, MemoryTree, Note, SignedCheckpoint, TileKind, TileReader, VerifierKey,
    root,
};

const VKEY: &str = "example.com/log/testdata+33d7b496+AeHTu4Q3hEIMHNqc6fASMsq3rKNx280NI+oO5xCFkkSx";
const ORIGIN: &str = "example.com/log/testdata";

fn log_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../testdata/interop/tlog/tessera-testlog/testdata/log")
}

#[test]
fn every_checkpoint_opens_and_matches_the_tiles() {
    let vk = VerifierKey::parse(VKEY).unwrap();
    assert_eq!(vk.to_string(), VKEY);
    let dir = log_dir();
    let mut checked = 0;
    for size in 0..=15u64 {
        let bytes = std::fs::read(dir.join(format!("checkpoint.{size}"))).unwrap();
        let cp = SignedCheckpoint::open(&bytes, std::slice::from_ref(&vk), Some(ORIGIN)).unwrap();
        assert_eq!(cp.checkpoint().size(), size);
        let reader = TileReader::new(&dir, HashAlg::Sha256, size);
        // The tiles at this size give the checkpoint's root.
        assert_eq!(
            &root(&reader, size).unwrap(),
            cp.checkpoint().root(),
            "size {size}"
        );
        if size > 0 {
            // Leaf hashes in the level-0 tile equal H(0x00 ‖ entry) of the bundle.
            let entries = reader.bundle(0).unwrap();
            let tile = reader.hash_tile(0, 0).unwrap();
            assert_eq!(entries.len() as u64, size);
            let mut mem = MemoryTree::new(HashAlg::Sha256);
            for (i, e) in entries.iter().enumerate() {
                assert_eq!(HashAlg::Sha256.leaf_hash(e), tile[i], "leaf {i}");
                assert_eq!(reader.node(0, i as u64).unwrap(), tile[i]);
                mem.push_entry(e);
            }
            assert_eq!(&mem.root(), cp.checkpoint().root());
            assert_eq!(reader.tile_width(TileKind::Entries, 0), size as u16);
        }
        checked += 1;
    }
    assert_eq!(checked, 16);
    // The latest checkpoint file is the size-15 one.
    let (r, cp) = TileReader::open_checkpoint(
        &dir,
        HashAlg::Sha256,
        std::slice::from_ref(&vk),
        Some(ORIGIN),
    )
    .unwrap();
    assert_eq!((r.size(), cp.checkpoint().size()), (15, 15));
    assert_eq!(r.entry(2).unwrap(), b"three");
}

#[test]
fn a_tampered_checkpoint_is_rejected_and_an_unknown_key_is_not_enough() {
    let vk = VerifierKey::parse(VKEY).unwrap();
    let bytes = std::fs::read_to_string(log_dir().join("checkpoint.15")).unwrap();
    let tampered = bytes.replacen("\n15\n", "\n16\n", 1);
    assert!(matches!(
        SignedCheckpoint::open(tampered.as_bytes(), std::slice::from_ref(&vk), None),
        Err(yinzheng_anchor::Error::BadSignature { .. })
    ));
    // A verifier that knows another key only: nothing verifies.
    let other = VerifierKey::parse(
        "example.com/log/testdata+00000000+AeHTu4Q3hEIMHNqc6fASMsq3rKNx280NI+oO5xCFkkSx",
    );
    assert!(
        other.is_err(),
        "a vkey whose ID does not match its key is refused"
    );
    let n = Note::parse(bytes.as_bytes()).unwrap();
    assert_eq!(n.signatures().len(), 1);
    assert_eq!(n.signatures()[0].key_id, 0x33d7b496);
}
