//! Whole-log audits, consistency and histories with `yinzheng-audit`: a log
//! of 10,000 entries is recomputed from its tiles; rewritten tiles and a
//! rewritten history are detected by `log` and `consistency`. The 100,000-entry
//! timing is an ignored test (`cargo test --release -p yinzheng-audit --test log
//! -- --ignored`), recorded in docs/PERFORMANCE.md.

#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, Instant, SystemTime};
use yinzheng_anchor::{Entry, HashAlg, NoteSigner, TileReader, base64, consistency_proof};
use yinzheng_audit::{Auditor, LogAnchors, TrustAnchors};
use yinzheng_crypto::{KeyAlgorithm, PrivateKey};
use yinzheng_log::{Log, LogOptions};
use yinzheng_tests::tempdir;

const ORIGIN: &str = "yinzheng.test/log/sm3";
const AUDIT: &str = env!("CARGO_BIN_EXE_yinzheng-audit");

fn signer(der: &[u8]) -> NoteSigner {
    NoteSigner::new(ORIGIN, PrivateKey::from_bytes(der, None).unwrap()).unwrap()
}

/// A log in `dir` signed by `key_der` holding `n` entries (`tag` makes them differ).
fn build(dir: &Path, key_der: &[u8], n: u64, tag: &str) -> Log {
    Log::create_in(
        dir,
        &yinzheng_tests::store_backend(dir),
        ORIGIN,
        HashAlg::Sm3,
        &[&signer(key_der)],
    )
    .unwrap();
    let log = Log::open_in(
        dir,
        &yinzheng_tests::store_backend(dir),
        vec![signer(key_der)],
        LogOptions::default()
            .with_period(Duration::from_millis(5))
            .with_max_pool(1_000_000),
    )
    .unwrap();
    append(&log, 0, n, tag);
    log
}

fn append(log: &Log, from: u64, to: u64, tag: &str) {
    let kinds = [
        "license.issued",
        "license.use",
        "seal.made",
        "license.revoked",
    ];
    let pending: Vec<_> = (from..to)
        .map(|i| {
            let e = Entry::new(kinds[(i % 4) as usize], 1_763_900_000_000 + i, tag)
                .unwrap()
                .with_subject(&format!("LIC-{i:06}"))
                .unwrap()
                .with_digest([(i % 251) as u8; 32])
                .unwrap();
            log.submit(&e.encode()).unwrap()
        })
        .collect();
    for p in pending {
        p.wait().unwrap();
    }
}

fn trust(log: &Log, dir: &Path) -> TrustAnchors {
    let mut t = TrustAnchors::new();
    t.log = Some(LogAnchors {
        origin: ORIGIN.into(),
        hash: "sm3".into(),
        verifier_keys: log.verifiers().iter().map(|v| v.to_string()).collect(),
    });
    std::fs::write(dir.join("anchors.toml"), t.to_toml().unwrap()).unwrap();
    t
}

fn run(dir: &Path, args: &[&str]) -> (i32, String) {
    let o: Output = Command::new(AUDIT)
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap();
    let t = format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(!t.contains("panicked"), "{t}");
    (o.status.code().unwrap(), t)
}

#[test]
fn whole_log_audit_consistency_and_rewritten_history() {
    let work = tempdir();
    let w = work.path();
    let key = PrivateKey::generate(KeyAlgorithm::Sm2)
        .unwrap()
        .to_pkcs8_der();
    let (a_dir, b_dir) = (w.join("a"), w.join("b"));
    std::fs::create_dir_all(&a_dir).unwrap();
    std::fs::create_dir_all(&b_dir).unwrap();
    let log = build(&a_dir, &key, 10_000, "honest");
    let t = trust(&log, w);
    let tiles = Log::tiles_dir(&a_dir);
    let tiles_s = tiles.to_str().unwrap();

    // The whole log, recomputed: counts by type.
    let t0 = Instant::now();
    let (code, out) = run(w, &["log", "--trust", "anchors.toml", "--tiles", tiles_s]);
    assert_eq!(code, 0, "{out}");
    eprintln!("audit of 10,000 entries: {:?}", t0.elapsed());
    assert!(out.contains("tree size: 10000"), "{out}");
    assert!(out.contains("entries license.use: 2500"), "{out}");

    // History of one license, proven.
    let (code, out) = run(
        w,
        &[
            "history",
            "--trust",
            "anchors.toml",
            "--tiles",
            tiles_s,
            "--license",
            "LIC-004242",
        ],
    );
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("#4242") && out.contains("[proven]"), "{out}");

    // Consistency between an old and the new checkpoint.
    let old_note = log.checkpoint_note();
    std::fs::write(w.join("old.checkpoint"), &old_note).unwrap();
    append(&log, 10_000, 10_300, "honest");
    let reader = TileReader::new(&tiles, HashAlg::Sm3, log.checkpoint().size());
    let proof = consistency_proof(&reader, 10_000, log.checkpoint().size()).unwrap();
    let text: String = proof.iter().map(|h| base64::encode(h) + "\n").collect();
    std::fs::write(w.join("proof"), text).unwrap();
    std::fs::write(w.join("new.checkpoint"), log.checkpoint_note()).unwrap();
    let args = [
        "consistency",
        "--trust",
        "anchors.toml",
        "old.checkpoint",
        "new.checkpoint",
        "--proof",
        "proof",
    ];
    let (code, out) = run(w, &args);
    assert_eq!(code, 0, "{out}");

    // A rewritten history: the same key signs a log whose first 10,000
    // entries differ. Its checkpoint verifies, but not as an extension of
    // the old one.
    let forged = build(&b_dir, &key, 10_300, "forged");
    let btiles = Log::tiles_dir(&b_dir);
    let reader = TileReader::new(&btiles, HashAlg::Sm3, 10_300);
    let proof = consistency_proof(&reader, 10_000, 10_300).unwrap();
    let text: String = proof.iter().map(|h| base64::encode(h) + "\n").collect();
    std::fs::write(w.join("proof"), text).unwrap();
    std::fs::write(w.join("new.checkpoint"), forged.checkpoint_note()).unwrap();
    let (code, out) = run(w, &args);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("history rewritten"), "{out}");

    // Rewritten tiles: one entry changed in a bundle is found by `log`, and
    // `history` no longer proves it.
    forged.close().unwrap();
    let bundle = btiles.join("tile/entries/000");
    let mut b = std::fs::read(&bundle).unwrap();
    let i = b.windows(10).position(|w| w == b"LIC-000042").unwrap();
    b[i + 9] = b'3';
    std::fs::write(&bundle, b).unwrap();
    let bt = btiles.to_str().unwrap();
    let (code, out) = run(w, &["log", "--trust", "anchors.toml", "--tiles", bt]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("[FAIL]") && out.contains("tile/"), "{out}");
    let (code, out) = run(
        w,
        &[
            "history",
            "--trust",
            "anchors.toml",
            "--tiles",
            bt,
            "--license",
            "LIC-000043",
        ],
    );
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("NOT PROVEN"), "{out}");

    // The library gives the same answers.
    let a = Auditor::new(&t).unwrap();
    assert!(a.audit_log(&tiles, SystemTime::now()).passed());
    assert!(!a.audit_log(&btiles, SystemTime::now()).passed());
    log.close().unwrap();
}

/// Issue 24: with `[witnesses] quorum = 2` a checkpoint counts only when two
/// of the three witnesses — real ones, fed the log's checkpoints as
/// c2sp.org/tlog-witness says — cosigned it. One is INDETERMINATE and names
/// who cosigned and who did not; a forged cosignature fails; a witness key
/// that is not a cosignature key is refused in the trust file.
#[test]
fn consistency_needs_the_witness_quorum() {
    use std::sync::Arc;
    use yinzheng_anchor::{Cosigner, VerifierKey};
    use yinzheng_witness::{AddCheckpoint, Witness, WitnessedLog};
    let work = tempdir();
    let w = work.path();
    let key = PrivateKey::generate(KeyAlgorithm::Sm2)
        .unwrap()
        .to_pkcs8_der();
    let dir = w.join("log");
    std::fs::create_dir_all(&dir).unwrap();
    let log = build(&dir, &key, 100, "witnessed");
    let tiles = Log::tiles_dir(&dir);
    let witnesses: Vec<Witness> = [
        ("witness.a/w1", KeyAlgorithm::Ed25519),
        ("witness.b/w2", KeyAlgorithm::Sm2),
        ("witness.c/w3", KeyAlgorithm::Ed25519),
    ]
    .into_iter()
    .map(|(name, alg)| {
        let cosigner = Cosigner::new(name, Arc::new(PrivateKey::generate(alg).unwrap())).unwrap();
        let state = w.join(name.replace('/', "-"));
        Witness::create_state(&state).unwrap();
        Witness::open(
            &state,
            vec![cosigner],
            vec![WitnessedLog {
                origin: ORIGIN.into(),
                keys: log.verifiers().to_vec(),
                hash: HashAlg::Sm3,
            }],
        )
        .unwrap()
    })
    .collect();
    // Ask witnesses `which` to cosign the log's current checkpoint, each
    // from the size it holds: the note with their cosignatures.
    let cosign = |which: &[usize]| -> String {
        let note = log.checkpoint_note();
        let size = log.checkpoint().size();
        let mut lines = String::new();
        for &i in which {
            let old = witnesses[i].latest(ORIGIN).unwrap().map_or(0, |l| l.size);
            let proof = if old == 0 || old == size {
                vec![]
            } else {
                let reader = TileReader::new(&tiles, HashAlg::Sm3, size);
                consistency_proof(&reader, old, size).unwrap()
            };
            let body = AddCheckpoint {
                old,
                proof,
                checkpoint: note.clone(),
            }
            .to_body();
            lines.push_str(&witnesses[i].add_checkpoint(body.as_bytes()).unwrap());
        }
        format!("{note}{lines}")
    };
    let mut t = trust(&log, w);
    t.witnesses.keys = witnesses
        .iter()
        .flat_map(|x| x.verifiers())
        .map(|v| v.to_string())
        .collect();
    t.witnesses.quorum = 2;
    std::fs::write(w.join("anchors.toml"), t.to_toml().unwrap()).unwrap();

    std::fs::write(w.join("old.checkpoint"), cosign(&[0, 1])).unwrap();
    let old_size = log.checkpoint().size();
    append(&log, 100, 150, "witnessed");
    let size = log.checkpoint().size();
    let reader = TileReader::new(&tiles, HashAlg::Sm3, size);
    let proof = consistency_proof(&reader, old_size, size).unwrap();
    let text: String = proof.iter().map(|h| base64::encode(h) + "\n").collect();
    std::fs::write(w.join("proof"), text).unwrap();
    let args = [
        "consistency",
        "--trust",
        "anchors.toml",
        "old.checkpoint",
        "new.checkpoint",
        "--proof",
        "proof",
    ];
    // One witness: short of the quorum, named.
    std::fs::write(w.join("new.checkpoint"), cosign(&[0])).unwrap();
    let (code, out) = run(w, &args);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("INDETERMINATE")
            && out.contains("1 witness cosignature(s), the quorum is 2")
            && out.contains("cosigned by witness.a/w1; not by witness.b/w2, witness.c/w3"),
        "{out}"
    );
    // Two (the third catches up from the size it holds): passed.
    let two = cosign(&[2]);
    let new_note = format!(
        "{}{}",
        two,
        std::fs::read_to_string(w.join("new.checkpoint"))
            .unwrap()
            .lines()
            .filter(|l| l.starts_with("\u{2014} witness.a/w1"))
            .map(|l| format!("{l}\n"))
            .collect::<String>()
    );
    std::fs::write(w.join("new.checkpoint"), &new_note).unwrap();
    let (code, out) = run(w, &args);
    assert_eq!(code, 0, "{out}");
    // A forged cosignature from a trusted witness: the checkpoint fails.
    let forged: String = new_note
        .lines()
        .map(|l| {
            if l.starts_with("\u{2014} witness.c/w3 ") {
                let mut raw = base64::decode(l.rsplit(' ').next().unwrap()).unwrap();
                raw[20] ^= 1;
                format!("\u{2014} witness.c/w3 {}\n", base64::encode(&raw))
            } else {
                format!("{l}\n")
            }
        })
        .collect();
    std::fs::write(w.join("new.checkpoint"), forged).unwrap();
    let (code, out) = run(w, &args);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("TOTAL_FAILED") && out.contains("witness.c/w3"),
        "{out}"
    );
    // A plain note key as a witness key: the trust file is refused.
    let plain = NoteSigner::new(
        "witness.d/w4",
        PrivateKey::generate(KeyAlgorithm::Ed25519).unwrap(),
    )
    .unwrap();
    assert!(
        !VerifierKey::parse(&plain.verifier().to_string())
            .unwrap()
            .key_type()
            .is_cosignature()
    );
    t.witnesses.keys.push(plain.verifier().to_string());
    assert!(Auditor::new(&t).is_err());
    log.close().unwrap();
}

/// The target: a log of 100,000 entries audited in under a minute.
#[test]
#[ignore = "timing: run with --release -- --ignored"]
fn audit_of_100k_entries_is_under_a_minute() {
    let work = tempdir();
    let w = work.path();
    let key = PrivateKey::generate(KeyAlgorithm::Sm2)
        .unwrap()
        .to_pkcs8_der();
    let t0 = Instant::now();
    let log = build(w, &key, 100_000, "bench");
    eprintln!("built 100,000 entries in {:?}", t0.elapsed());
    let a = Auditor::new(&trust(&log, w)).unwrap();
    let t0 = Instant::now();
    let o = a.audit_log(&Log::tiles_dir(w), SystemTime::now());
    let took = t0.elapsed();
    eprintln!("audited 100,000 entries in {took:?}");
    assert!(o.passed(), "{o}");
    assert!(took < Duration::from_secs(60), "{took:?}");
    log.close().unwrap();
}

/// `yinzheng-audit consistency` without a proof: checkpoints gathered from
/// several witnesses compared. The same key signing two trees of one size is
/// a split view (exit 1, both named); with the log's tiles, a checkpoint not
/// in its tree is named; a larger one without tiles cannot be placed
/// (INDETERMINATE); the log's own checkpoints pass.
#[test]
fn consistency_shows_a_split_view_among_gathered_checkpoints() {
    let work = tempdir();
    let w = work.path();
    let key = PrivateKey::generate(KeyAlgorithm::Sm2)
        .unwrap()
        .to_pkcs8_der();
    let (real_dir, fork_dir) = (w.join("real"), w.join("fork"));
    std::fs::create_dir_all(&real_dir).unwrap();
    std::fs::create_dir_all(&fork_dir).unwrap();
    let real = build(&real_dir, &key, 40, "real");
    std::fs::write(w.join("real-40"), real.checkpoint_note()).unwrap();
    let fork = build(&fork_dir, &key, 40, "forged");
    std::fs::write(w.join("fork-40"), fork.checkpoint_note()).unwrap();
    append(&real, 40, 60, "real");
    std::fs::write(w.join("real-60"), real.checkpoint_note()).unwrap();
    trust(&real, w);
    let tiles = Log::tiles_dir(&real_dir);
    let tiles = tiles.to_str().unwrap();

    let (code, out) = run(
        w,
        &[
            "consistency",
            "--trust",
            "anchors.toml",
            "real-40",
            "fork-40",
        ],
    );
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("TOTAL_FAILED")
            && out.contains("split view")
            && out.contains("real-40 / fork-40"),
        "{out}"
    );
    let args = ["consistency", "--trust", "anchors.toml", "--tiles", tiles];
    let (code, out) = run(w, &[&args[..], &["real-40", "real-60", "fork-40"]].concat());
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("fork-40") && out.contains("not a prefix of its published tree"),
        "{out}"
    );
    let (code, out) = run(w, &[&args[..], &["real-40", "real-60"]].concat());
    assert_eq!(code, 0, "{out}");
    // Tiles of one history under the other's signed checkpoint: the tiles
    // are refused, never taken as the log's view.
    let mixed = w.join("mixed");
    yinzheng_tests::copy_dir(&Log::tiles_dir(&fork_dir), &mixed);
    std::fs::write(
        mixed.join("checkpoint"),
        std::fs::read(w.join("real-40")).unwrap(),
    )
    .unwrap();
    let (code, out) = run(
        w,
        &[
            "consistency",
            "--trust",
            "anchors.toml",
            "--tiles",
            mixed.to_str().unwrap(),
            "fork-40",
        ],
    );
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("another root at size 40 than their signed checkpoint"),
        "{out}"
    );
    // Different sizes, no tiles, no proof: cannot be compared.
    let (code, out) = run(
        w,
        &[
            "consistency",
            "--trust",
            "anchors.toml",
            "real-40",
            "real-60",
        ],
    );
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("INDETERMINATE"), "{out}");
    // A checkpoint the log did not sign: named.
    let other = PrivateKey::generate(KeyAlgorithm::Sm2)
        .unwrap()
        .to_pkcs8_der();
    let stranger_dir = w.join("stranger");
    std::fs::create_dir_all(&stranger_dir).unwrap();
    let stranger = build(&stranger_dir, &other, 40, "real");
    std::fs::write(w.join("stranger-40"), stranger.checkpoint_note()).unwrap();
    let (code, out) = run(w, &[&args[..], &["real-40", "stranger-40"]].concat());
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("stranger-40"), "{out}");
    // --proof still takes exactly two.
    std::fs::write(w.join("proof"), "").unwrap();
    let (code, out) = run(
        w,
        &[
            &args[..3],
            &["--proof", "proof", "real-40", "real-60", "fork-40"],
        ]
        .concat(),
    );
    assert_eq!(code, 2, "{out}");
    assert!(out.contains("give two checkpoints"), "{out}");
}
