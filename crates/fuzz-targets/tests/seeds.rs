//! The fuzz targets' seed corpora, run as ordinary tests: every seed in
//! `fuzz/seeds/<target>/`, each of its truncations (up to 512 of them, evenly
//! spread) and a byte flip every few bytes, must go through its target without a
//! panic. A target without seeds, or a seed directory without a target, fails.

use std::path::{Path, PathBuf};
use yinzheng_fuzz_targets::TARGETS;

fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz")
}

fn seeds(target: &str) -> Vec<(PathBuf, Vec<u8>)> {
    let dir = fuzz_dir().join("seeds").join(target);
    let mut out: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e} (every fuzz target has seeds)", dir.display()))
        .map(|e| e.expect("directory entry").path())
        .filter(|p| p.is_file())
        .map(|p| {
            let bytes = std::fs::read(&p).expect("seed reads");
            (p, bytes)
        })
        .collect();
    out.sort();
    assert!(!out.is_empty(), "{}: no seeds", dir.display());
    out
}

/// At most `n` evenly spread values in `0..len`.
fn spread(len: usize, n: usize) -> impl Iterator<Item = usize> {
    let step = len.div_ceil(n).max(1);
    (0..len).step_by(step)
}

#[test]
fn every_seed_and_its_truncations_and_flips_pass_through_their_target() {
    for (name, run) in TARGETS {
        for (path, seed) in seeds(name) {
            let at = |what: &str| format!("{name}: {} ({what})", path.display());
            std::panic::catch_unwind(|| run(&seed))
                .unwrap_or_else(|_| panic!("{} panicked", at("the seed")));
            for len in spread(seed.len(), 512) {
                std::panic::catch_unwind(|| run(&seed[..len]))
                    .unwrap_or_else(|_| panic!("{} panicked", at(&format!("cut to {len} bytes"))));
            }
            for i in spread(seed.len(), 256) {
                let mut m = seed.clone();
                m[i] ^= 0x5a;
                std::panic::catch_unwind(|| run(&m))
                    .unwrap_or_else(|_| panic!("{} panicked", at(&format!("byte {i} flipped"))));
            }
        }
    }
}

#[test]
fn every_fuzz_target_is_a_one_line_call_of_its_body_here() {
    let cargo = std::fs::read_to_string(fuzz_dir().join("Cargo.toml")).expect("fuzz/Cargo.toml");
    let bins = cargo.matches("[[bin]]").count();
    assert_eq!(
        bins,
        TARGETS.len(),
        "fuzz/Cargo.toml's [[bin]]s and TARGETS differ"
    );
    for (name, _) in TARGETS {
        assert!(
            cargo.contains(&format!(
                "name = \"{name}\"\npath = \"fuzz_targets/{name}.rs\""
            )),
            "fuzz/Cargo.toml has no [[bin]] {name}"
        );
        let file = fuzz_dir().join(format!("fuzz_targets/{name}.rs"));
        let src = std::fs::read_to_string(&file).expect("fuzz target reads");
        assert!(
            src.contains(&format!(
                "fuzz_target!(|data: &[u8]| yinzheng_fuzz_targets::{name}::run(data));"
            )),
            "{} does not call yinzheng_fuzz_targets::{name}::run",
            file.display()
        );
    }
    let corpus = std::fs::read_dir(fuzz_dir().join("seeds")).expect("fuzz/seeds");
    for dir in corpus {
        let dir = dir.expect("entry");
        if !dir.path().is_dir() {
            continue; // README.md
        }
        let name = dir.file_name();
        let name = name.to_string_lossy();
        assert!(
            TARGETS.iter().any(|(t, _)| *t == name),
            "fuzz/seeds/{name} has no target"
        );
    }
}
