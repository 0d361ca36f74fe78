//! RFC 6962 proof vectors: every transparency-dev/merkle inclusion and
//! consistency vector (SHA-256) gives the expected pass/fail, and the SM3
//! reference tree (sm3-rfc6962-vectors.json) reproduces leaf hashes, roots and
//! proofs exactly, both when generated and when verified.

#![allow(clippy::unwrap_used)]

use serde_json::Value;
use std::path::{Path, PathBuf};
use yinzheng_anchor::{
    Hash, HashAlg, MemoryTree, base64, consistency_proof, inclusion_proof, verify_consistency,
    verify_inclusion,
};

fn interop() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/interop/tlog")
}

fn json_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let p = e.unwrap().path();
        if p.is_dir() {
            json_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "json") {
            out.push(p);
        }
    }
}

/// Hash from base64; `None` when the vector holds something that is not 32 bytes
/// (such vectors must fail).
fn b64h(v: &Value) -> Option<Hash> {
    let s = v.as_str()?;
    base64::decode(s)?.try_into().ok()
}

/// A root from base64. Some vectors use placeholder roots that are not 32 bytes
/// ("don't care 1"); they are mapped injectively (in practice) to 32 bytes so
/// that equal placeholders stay equal and different ones stay different.
fn b64root(v: &Value) -> Option<Hash> {
    let raw = base64::decode(v.as_str()?)?;
    match <Hash>::try_from(raw.as_slice()) {
        Ok(h) => Some(h),
        Err(_) => {
            let mut tagged = b"placeholder root:".to_vec();
            tagged.extend_from_slice(&raw);
            Some(HashAlg::Sha256.digest(&tagged))
        }
    }
}

fn hexh(v: &Value) -> Hash {
    hex::decode(v.as_str().unwrap())
        .unwrap()
        .try_into()
        .unwrap()
}

fn b64_list(v: &Value) -> Option<Vec<Hash>> {
    match v {
        Value::Null => Some(vec![]),
        Value::Array(a) => a.iter().map(b64h).collect(),
        _ => None,
    }
}

#[test]
fn transparency_dev_inclusion_vectors() {
    let mut files = Vec::new();
    json_files(
        &interop().join("transparency-dev-merkle/testdata/inclusion"),
        &mut files,
    );
    assert!(files.len() >= 90, "found only {} vectors", files.len());
    let (mut pass, mut fail) = (0, 0);
    for f in &files {
        let v: Value = serde_json::from_str(&std::fs::read_to_string(f).unwrap()).unwrap();
        let want_err = v["wantErr"].as_bool().unwrap();
        let got = (|| {
            let leaf = b64h(&v["leafHash"])?;
            let root = b64root(&v["root"])?;
            let proof = b64_list(&v["proof"])?;
            let idx = v["leafIdx"].as_i64()?;
            let size = v["treeSize"].as_i64()?;
            if idx < 0 || size < 0 {
                return Some(false);
            }
            Some(
                verify_inclusion(
                    HashAlg::Sha256,
                    &leaf,
                    idx as u64,
                    size as u64,
                    &proof,
                    &root,
                )
                .is_ok(),
            )
        })()
        .unwrap_or(false);
        assert_eq!(got, !want_err, "{}: {}", f.display(), v["desc"]);
        if got { pass += 1 } else { fail += 1 }
    }
    assert!(pass > 0 && fail > 0);
}

#[test]
fn transparency_dev_consistency_vectors() {
    let mut files = Vec::new();
    json_files(
        &interop().join("transparency-dev-merkle/testdata/consistency"),
        &mut files,
    );
    assert!(files.len() >= 90, "found only {} vectors", files.len());
    for f in &files {
        let v: Value = serde_json::from_str(&std::fs::read_to_string(f).unwrap()).unwrap();
        let want_err = v["wantErr"].as_bool().unwrap();
        let got = (|| {
            let r1 = b64root(&v["root1"])?;
            let r2 = b64root(&v["root2"])?;
            let proof = b64_list(&v["proof"])?;
            let s1 = v["size1"].as_i64()?;
            let s2 = v["size2"].as_i64()?;
            if s1 < 0 || s2 < 0 {
                return Some(false);
            }
            Some(
                verify_consistency(HashAlg::Sha256, s1 as u64, s2 as u64, &r1, &r2, &proof).is_ok(),
            )
        })()
        .unwrap_or(false);
        assert_eq!(got, !want_err, "{}: {}", f.display(), v["desc"]);
    }
}

#[test]
fn sm3_reference_tree_reproduces_exactly() {
    let v: Value = serde_json::from_str(
        &std::fs::read_to_string(interop().join("sm3-rfc6962-vectors.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(v["hash"], "SM3");
    let inputs: Vec<Vec<u8>> = v["leaf_inputs_hex"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| hex::decode(x.as_str().unwrap()).unwrap())
        .collect();
    let roots: Vec<Hash> = v["roots_hex"]
        .as_array()
        .unwrap()
        .iter()
        .map(hexh)
        .collect();
    let leaves: Vec<Hash> = v["leaf_hashes_hex"]
        .as_array()
        .unwrap()
        .iter()
        .map(hexh)
        .collect();
    assert_eq!(roots.len(), inputs.len() + 1);

    let mut trees = vec![MemoryTree::new(HashAlg::Sm3)];
    for (i, input) in inputs.iter().enumerate() {
        assert_eq!(HashAlg::Sm3.leaf_hash(input), leaves[i], "leaf {i}");
        let mut t = trees[i].clone();
        t.push_entry(input);
        trees.push(t);
    }
    for (n, t) in trees.iter().enumerate() {
        assert_eq!(t.root(), roots[n], "root of size {n}");
    }
    let full = &trees[inputs.len()];

    let inc = v["inclusion"].as_array().unwrap();
    assert_eq!(inc.len(), 36);
    for c in inc {
        let idx = c["leafIdx"].as_u64().unwrap();
        let size = c["treeSize"].as_u64().unwrap();
        let want: Vec<Hash> = c["proof"].as_array().unwrap().iter().map(hexh).collect();
        assert_eq!(
            inclusion_proof(full, idx, size).unwrap(),
            want,
            "inclusion {idx}/{size}"
        );
        verify_inclusion(
            HashAlg::Sm3,
            &hexh(&c["leafHash"]),
            idx,
            size,
            &want,
            &hexh(&c["root"]),
        )
        .unwrap();
        // The same proof under SHA-256 must not verify.
        assert!(
            verify_inclusion(
                HashAlg::Sha256,
                &hexh(&c["leafHash"]),
                idx,
                size,
                &want,
                &hexh(&c["root"])
            )
            .is_err()
                || want.is_empty()
        );
    }
    let cons = v["consistency"].as_array().unwrap();
    assert_eq!(cons.len(), 36);
    for c in cons {
        let s1 = c["size1"].as_u64().unwrap();
        let s2 = c["size2"].as_u64().unwrap();
        let want: Vec<Hash> = c["proof"].as_array().unwrap().iter().map(hexh).collect();
        assert_eq!(
            consistency_proof(full, s1, s2).unwrap(),
            want,
            "consistency {s1}->{s2}"
        );
        verify_consistency(
            HashAlg::Sm3,
            s1,
            s2,
            &hexh(&c["root1"]),
            &hexh(&c["root2"]),
            &want,
        )
        .unwrap();
    }
}
