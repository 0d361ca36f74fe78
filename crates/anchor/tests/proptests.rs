//! Property tests: for random tree sizes every generated inclusion and
//! consistency proof verifies, and every mutation of it (a flipped bit, a hash
//! added, dropped or swapped, a wrong index or size) fails.

#![allow(clippy::unwrap_used)]

use proptest::prelude::*;
use yinzheng_anchor::{
    HashAlg, MemoryTree, consistency_proof, inclusion_proof, verify_consistency, verify_inclusion,
};

fn tree(h: HashAlg, n: u64) -> MemoryTree {
    let mut t = MemoryTree::new(h);
    for i in 0..n {
        t.push_entry(format!("entry {i}").as_bytes());
    }
    t
}

fn alg(sm3: bool) -> HashAlg {
    if sm3 { HashAlg::Sm3 } else { HashAlg::Sha256 }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    #[test]
    fn inclusion_proofs_verify_and_mutations_fail(
        sm3 in any::<bool>(), size in 1u64..300, idx_seed in any::<u64>(), size_seed in any::<u64>(),
        bit in 0usize..256, pick in any::<usize>(),
    ) {
        let h = alg(sm3);
        let full = tree(h, size);
        let sub = 1 + size_seed % size;          // any tree size up to the full one
        let idx = idx_seed % sub;
        let root = yinzheng_anchor::root(&full, sub).unwrap();
        let leaf = h.leaf_hash(format!("entry {idx}").as_bytes());
        let proof = inclusion_proof(&full, idx, sub).unwrap();
        prop_assert!(verify_inclusion(h, &leaf, idx, sub, &proof, &root).is_ok());

        // Wrong index, wrong leaf, wrong root.
        // (A different tree size with the same proof can verify when the path
        // shape coincides; the transparency-dev vectors pin those cases.)
        prop_assert!(verify_inclusion(h, &leaf, idx ^ 1, sub, &proof, &root).is_err());
        prop_assert!(verify_inclusion(h, &leaf, idx, sub, &proof, &leaf).is_err() || sub == 1);
        let mut bad_leaf = leaf; bad_leaf[bit / 8] ^= 1 << (bit % 8);
        prop_assert!(verify_inclusion(h, &bad_leaf, idx, sub, &proof, &root).is_err());
        // Appended and prepended hashes.
        let mut longer = proof.clone(); longer.push(root);
        prop_assert!(verify_inclusion(h, &leaf, idx, sub, &longer, &root).is_err());
        let mut pre = vec![leaf]; pre.extend_from_slice(&proof);
        prop_assert!(verify_inclusion(h, &leaf, idx, sub, &pre, &root).is_err());
        if !proof.is_empty() {
            let i = pick % proof.len();
            let mut flipped = proof.clone(); flipped[i][bit / 8] ^= 1 << (bit % 8);
            prop_assert!(verify_inclusion(h, &leaf, idx, sub, &flipped, &root).is_err());
            let mut shorter = proof.clone(); shorter.remove(i);
            prop_assert!(verify_inclusion(h, &leaf, idx, sub, &shorter, &root).is_err());
            if proof.len() > 1 {
                let mut swapped = proof.clone(); swapped.swap(i, (i + 1) % proof.len());
                if swapped != proof {
                    prop_assert!(verify_inclusion(h, &leaf, idx, sub, &swapped, &root).is_err());
                }
            }
        }
    }

    #[test]
    fn consistency_proofs_verify_and_mutations_fail(
        sm3 in any::<bool>(), size in 1u64..300, a in any::<u64>(), b in any::<u64>(),
        bit in 0usize..256, pick in any::<usize>(),
    ) {
        let h = alg(sm3);
        let full = tree(h, size);
        let new = 1 + a % size;
        let old = 1 + b % new;
        let r_old = yinzheng_anchor::root(&full, old).unwrap();
        let r_new = yinzheng_anchor::root(&full, new).unwrap();
        let proof = consistency_proof(&full, old, new).unwrap();
        prop_assert!(verify_consistency(h, old, new, &r_old, &r_new, &proof).is_ok());

        let mut bad = r_old; bad[bit / 8] ^= 1 << (bit % 8);
        prop_assert!(verify_consistency(h, old, new, &bad, &r_new, &proof).is_err());
        let mut bad = r_new; bad[bit / 8] ^= 1 << (bit % 8);
        prop_assert!(verify_consistency(h, old, new, &r_old, &bad, &proof).is_err());
        let mut longer = proof.clone(); longer.push(r_new);
        prop_assert!(verify_consistency(h, old, new, &r_old, &r_new, &longer).is_err());
        if !proof.is_empty() {
            let i = pick % proof.len();
            let mut flipped = proof.clone(); flipped[i][bit / 8] ^= 1 << (bit % 8);
            prop_assert!(verify_consistency(h, old, new, &r_old, &r_new, &flipped).is_err());
            let mut shorter = proof.clone(); shorter.remove(i);
            prop_assert!(verify_consistency(h, old, new, &r_old, &r_new, &shorter).is_err());
        }
    }
}

// Parsers of untrusted input never panic, and what they accept re-encodes to
// the same bytes (the fuzz targets do the same under libFuzzer).
proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn parsers_never_panic_and_round_trip(data in proptest::collection::vec(any::<u8>(), 0..400), text in "[a-z0-9/.x+=\u{2014} \n-]{0,200}") {
        use yinzheng_anchor::{Checkpoint, Entry, Evidence, Note, TilePath, VerifierKey, decode_bundle};
        for bytes in [data.as_slice(), text.as_bytes()] {
            if let Ok(n) = Note::parse(bytes)
                && let Ok(c) = Checkpoint::parse(n.text())
            {
                prop_assert_eq!(c.to_text(), n.text());
            }
            if let Ok(ev) = Evidence::parse(bytes) {
                prop_assert_eq!(Evidence::parse(ev.to_text().as_bytes()).unwrap(), ev);
            }
            if let Ok(e) = Entry::decode(bytes) {
                prop_assert_eq!(e.encode(), bytes);
            }
            if let Some((&w, rest)) = bytes.split_first() {
                let _ = decode_bundle(rest, usize::from(w) + 1);
            }
        }
        if let Ok(p) = TilePath::parse(&text) {
            prop_assert_eq!(p.to_path_string(), text.clone());
        }
        let _ = VerifierKey::parse(&text);
    }

    #[test]
    fn tile_paths_round_trip(level in 0u8..=63, index in any::<u64>(), width in 1u16..=256, entries in any::<bool>()) {
        use yinzheng_anchor::{TileKind, TilePath};
        let p = TilePath { kind: if entries { TileKind::Entries } else { TileKind::Hash(level) }, index, width };
        prop_assert_eq!(TilePath::parse(&p.to_path_string()).unwrap(), p);
    }
}
