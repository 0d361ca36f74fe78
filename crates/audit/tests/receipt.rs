//! Receipts of the verify server checked with `yinzheng-audit receipt`: a
//! receipt signed by a log key the trust file lists passes (exit 0) in text,
//! JSON and HTML; tampered receipts, receipts of another log and receipts
//! signed by an unknown key fail (exit 1); unusable input is exit 2.

#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::process::Command;
use std::time::SystemTime;
use yinzheng_anchor::{HashAlg, NoteSigner, Receipt, ReceiptBody, sign_receipts};
use yinzheng_audit::{Auditor, LogAnchors, TrustAnchors};
use yinzheng_crypto::{KeyAlgorithm, PrivateKey};
use yinzheng_tests::tempdir;

const ORIGIN: &str = "yinzheng.test/log/sm3";
const AUDIT: &str = env!("CARGO_BIN_EXE_yinzheng-audit");
const T: u64 = 1_767_225_600_000; // 2026-01-01T00:00:00Z

fn signer(name: &str) -> NoteSigner {
    NoteSigner::new(name, PrivateKey::generate(KeyAlgorithm::Sm2).unwrap()).unwrap()
}

fn body(i: u64) -> ReceiptBody {
    ReceiptBody {
        request_sm3: hex::encode([i as u8; 32]),
        operation: "query".into(),
        subject: format!("11100000000000000X-2026-{i:06}"),
        caller: "window-3".into(),
        result_code: Some(0),
        result: "TOTAL_PASSED".into(),
        time_ms: T + i,
        usage_seq: Some(100 + i as i64),
        usage_sm3: Some(hex::encode([0x5a; 32])),
        log_index: None,
    }
}

fn run(dir: &Path, args: &[&str]) -> (i32, String) {
    let o = Command::new(AUDIT)
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

fn write(dir: &Path, name: &str, r: &Receipt) {
    std::fs::write(dir.join(name), r.to_json().unwrap()).unwrap();
}

#[test]
fn receipts_verify_offline_and_tampering_is_exit_1() {
    let work = tempdir();
    let w = work.path();
    let log_key = signer(ORIGIN);
    let mut t = TrustAnchors::new();
    t.log = Some(LogAnchors {
        origin: ORIGIN.into(),
        hash: "sm3".into(),
        verifier_keys: vec![log_key.verifier().to_string()],
    });
    std::fs::write(w.join("anchors.toml"), t.to_toml().unwrap()).unwrap();

    let rs = sign_receipts(
        (0..5).map(body).collect(),
        ORIGIN,
        HashAlg::Sm3,
        &log_key,
        T + 900,
    )
    .unwrap();
    write(w, "good.json", &rs[3]);

    // Valid: text, the body fields, the batch time and the signer.
    let (code, out) = run(w, &["receipt", "good.json", "--trust", "anchors.toml"]);
    assert_eq!(code, 0, "{out}");
    for want in [
        "TOTAL_PASSED",
        "subject: 11100000000000000X-2026-000003",
        "caller: window-3",
        "usage seq: 103",
        "batch time: 2026-01-01T00:00:00Z (1767225600900 ms)",
        &format!("signed by: {ORIGIN}"),
        "leaf 3 of 5",
    ] {
        assert!(out.contains(want), "{want:?} in {out}");
    }
    // JSON and HTML.
    let (code, out) = run(
        w,
        &[
            "receipt",
            "good.json",
            "--trust",
            "anchors.toml",
            "--json",
            "--html",
            "report.html",
        ],
    );
    assert_eq!(code, 0, "{out}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["indication"], "TOTAL_PASSED", "{out}");
    let html = std::fs::read_to_string(w.join("report.html")).unwrap();
    assert!(
        html.contains("VALID") && html.contains("window-3"),
        "{html}"
    );

    // Tampered body: invalid, exit 1, the claim shown as a claim.
    let mut bad = rs[3].clone();
    bad.body.result = "TOTAL_FAILED".into();
    write(w, "tampered.json", &bad);
    let (code, out) = run(w, &["receipt", "tampered.json", "--trust", "anchors.toml"]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("[FAIL]") && out.contains("invalid proof"),
        "{out}"
    );
    assert!(out.contains("claimed result: TOTAL_FAILED"), "{out}");

    // Another receipt's path, a size that disagrees with the note, a receipt
    // that is not JSON: all invalid.
    let mut bad = rs[3].clone();
    bad.batch.path = rs[2].batch.path.clone();
    write(w, "path.json", &bad);
    let (code, out) = run(w, &["receipt", "path.json", "--trust", "anchors.toml"]);
    assert_eq!(code, 1, "{out}");
    std::fs::write(w.join("junk.json"), b"{\"format\": 1}").unwrap();
    let (code, out) = run(w, &["receipt", "junk.json", "--trust", "anchors.toml"]);
    assert_eq!(code, 1, "{out}");

    // Signed by a key the trust file does not list.
    let stranger = signer(ORIGIN);
    let other = sign_receipts(vec![body(1)], ORIGIN, HashAlg::Sm3, &stranger, T).unwrap();
    write(w, "stranger.json", &other[0]);
    let (code, out) = run(w, &["receipt", "stranger.json", "--trust", "anchors.toml"]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("no signature from a known key"), "{out}");

    // Signed by the log key, but for another log's origin.
    let elsewhere = sign_receipts(
        vec![body(1)],
        "other.test/log/sm3",
        HashAlg::Sm3,
        &log_key,
        T,
    )
    .unwrap();
    write(w, "elsewhere.json", &elsewhere[0]);
    let (code, out) = run(w, &["receipt", "elsewhere.json", "--trust", "anchors.toml"]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("the trusted log is"), "{out}");

    // Usage errors: a missing file, a missing trust file.
    let (code, _) = run(w, &["receipt", "missing.json", "--trust", "anchors.toml"]);
    assert_eq!(code, 2);
    let (code, _) = run(w, &["receipt", "good.json", "--trust", "missing.toml"]);
    assert_eq!(code, 2);
    let (code, _) = run(w, &["receipt", "good.json"]);
    assert_eq!(code, 2);

    // The library gives the same answers.
    let a = Auditor::new(&t).unwrap();
    let good = std::fs::read(w.join("good.json")).unwrap();
    assert!(a.verify_receipt(&good, SystemTime::now()).passed());
    let bad = std::fs::read(w.join("tampered.json")).unwrap();
    assert!(!a.verify_receipt(&bad, SystemTime::now()).passed());
}

/// With a witness quorum in the trust file a receipt (signed by the log key
/// alone) needs its usage record shown in a witnessed checkpoint: alone it
/// is INDETERMINATE; with the record's evidence it passes; evidence of
/// another entry, of another index than the receipt's, or to a checkpoint
/// short of the quorum does not.
#[test]
fn a_witness_quorum_needs_the_receipts_usage_record_in_a_witnessed_checkpoint() {
    use std::sync::Arc;
    use yinzheng_anchor::{Cosigner, Entry, Evidence};
    let work = tempdir();
    let w = work.path();
    let der = PrivateKey::generate(KeyAlgorithm::Sm2)
        .unwrap()
        .to_pkcs8_der();
    let key = || NoteSigner::new(ORIGIN, PrivateKey::from_bytes(&der, None).unwrap()).unwrap();
    let dir = w.join("log");
    std::fs::create_dir_all(&dir).unwrap();
    let backend = yinzheng_tests::store_backend(&dir);
    yinzheng_log::Log::create_in(&dir, &backend, ORIGIN, HashAlg::Sm3, &[&key()]).unwrap();
    let log = yinzheng_log::Log::open_in(&dir, &backend, vec![key()], Default::default()).unwrap();
    let used = Entry::new("license.use", T, "window-3")
        .unwrap()
        .with_digest([0x5a; 32])
        .unwrap();
    let other = Entry::new("license.use", T, "window-3")
        .unwrap()
        .with_digest([0x77; 32])
        .unwrap();
    log.append_entry(&used).unwrap();
    log.append_entry(&other).unwrap();
    let witness = Cosigner::new(
        "witness.a.example/w",
        Arc::new(PrivateKey::generate(KeyAlgorithm::Ed25519).unwrap()),
    )
    .unwrap();
    let note = log.checkpoint_note();
    let text = yinzheng_anchor::Note::parse(note.as_bytes())
        .unwrap()
        .text()
        .to_string();
    let cosigned = format!("{note}{}", witness.cosign(&text, 1_790_000_000).unwrap());
    let evidence = |index: u64, checkpoint: &str| {
        Evidence::new(
            &log.entry(index).unwrap(),
            index,
            log.prove_inclusion(index, 2).unwrap(),
            checkpoint,
        )
        .to_text()
    };
    std::fs::write(w.join("ev0.txt"), evidence(0, &cosigned)).unwrap();
    std::fs::write(w.join("ev1.txt"), evidence(1, &cosigned)).unwrap();
    std::fs::write(w.join("ev0-bare.txt"), evidence(0, &note)).unwrap();

    let mut t = TrustAnchors::new();
    t.log = Some(LogAnchors {
        origin: ORIGIN.into(),
        hash: "sm3".into(),
        verifier_keys: vec![key().verifier().to_string()],
    });
    t.witnesses.keys = vec![witness.verifier().to_string()];
    t.witnesses.quorum = 1;
    std::fs::write(w.join("anchors.toml"), t.to_toml().unwrap()).unwrap();
    let rs = sign_receipts(vec![body(0)], ORIGIN, HashAlg::Sm3, &key(), T + 900).unwrap();
    write(w, "r.json", &rs[0]);
    let mut claimed = body(0);
    claimed.log_index = Some(1);
    let rs = sign_receipts(vec![claimed], ORIGIN, HashAlg::Sm3, &key(), T + 900).unwrap();
    write(w, "r-index1.json", &rs[0]);

    let receipt = |file: &str, ev: Option<&str>| {
        let mut args = vec!["receipt", file, "--trust", "anchors.toml"];
        if let Some(ev) = ev {
            args.extend(["--evidence", ev]);
        }
        run(w, &args)
    };
    let (code, out) = receipt("r.json", None);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("INDETERMINATE") && out.contains("--evidence 100"),
        "{out}"
    );
    let (code, out) = receipt("r.json", Some("ev0.txt"));
    assert_eq!(code, 0, "{out}");
    let (code, out) = receipt("r.json", Some("ev1.txt"));
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("TOTAL_FAILED") && out.contains("not the receipt's usage record"),
        "{out}"
    );
    let (code, out) = receipt("r.json", Some("ev0-bare.txt"));
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("INDETERMINATE") && out.contains("not by witness.a.example/w"),
        "{out}"
    );
    // A genuine usage record attached to a receipt for another caller.
    let mut other_caller = body(0);
    other_caller.caller = "window-9".into();
    let rs = sign_receipts(vec![other_caller], ORIGIN, HashAlg::Sm3, &key(), T + 900).unwrap();
    write(w, "r-caller.json", &rs[0]);
    let (code, out) = receipt("r-caller.json", Some("ev0.txt"));
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("was made for caller \"window-3\""), "{out}");
    // A receipt naming no usage record cannot be anchored: INDETERMINATE,
    // with or without evidence.
    let mut unrecorded = body(0);
    unrecorded.usage_sm3 = None;
    let rs = sign_receipts(vec![unrecorded], ORIGIN, HashAlg::Sm3, &key(), T + 900).unwrap();
    write(w, "r-none.json", &rs[0]);
    for ev in [None, Some("ev0.txt")] {
        let (code, out) = receipt("r-none.json", ev);
        assert_eq!(code, 1, "{out}");
        assert!(
            out.contains("INDETERMINATE") && out.contains("names no usage record"),
            "{out}"
        );
    }
    let (code, out) = receipt("r-index1.json", Some("ev0.txt"));
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("the receipt says its usage record is entry 1"),
        "{out}"
    );
    log.close().unwrap();
}
