//! `yinzheng verify` on seal signatures and seals (ofdrw's GB/T 38540 files).

#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::Output;
use yinzheng_tests::{run_cli, tempdir};

fn ofdrw(name: &str) -> PathBuf {
    Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/interop/ofdrw"
    ))
    .join(name)
}

fn yz(dir: &Path, args: &[&str]) -> Output {
    run_cli(env!("CARGO_BIN_EXE_yinzheng"), dir, args, &[])
}

#[test]
fn seal_signature_verifies_and_wrong_data_fails_with_hash_failure() {
    let dir = tempdir();
    let d = dir.path();
    let root = ofdrw("ROOT.pem");
    let sig = ofdrw("SignedValueV4.dat");
    let (root, sig) = (root.to_str().unwrap(), sig.to_str().unwrap());
    let ok = yz(
        d,
        &["verify", "--trust", root, "--no-revocation-required", sig],
    );
    assert_eq!(
        ok.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&ok.stdout)
    );
    assert!(String::from_utf8_lossy(&ok.stdout).starts_with("TOTAL_PASSED"));
    std::fs::write(d.join("data.bin"), b"not the protected bytes").unwrap();
    let bad = yz(
        d,
        &[
            "verify",
            "--json",
            "--trust",
            root,
            "--no-revocation-required",
            "--data",
            "data.bin",
            sig,
        ],
    );
    assert_eq!(bad.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&bad.stdout).unwrap();
    assert_eq!(v["subIndication"], "HASH_FAILURE");
    // Without revocation data the default is INDETERMINATE, never a silent pass.
    let strict = yz(d, &["verify", "--json", "--trust", root, sig]);
    let v: serde_json::Value = serde_json::from_slice(&strict.stdout).unwrap();
    assert_eq!(v["indication"], "INDETERMINATE");
    assert_eq!(strict.status.code(), Some(1));
}

#[test]
fn seals_and_junk() {
    let dir = tempdir();
    let d = dir.path();
    let root = ofdrw("ROOT.pem");
    let root = root.to_str().unwrap();
    // A seal verified today: the ofdrw seal expired in 2022.
    let seal = ofdrw("UserV1.esl");
    let out = yz(
        d,
        &[
            "verify",
            "--json",
            "--trust",
            root,
            "--no-revocation-required",
            seal.to_str().unwrap(),
        ],
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["indication"], "TOTAL_FAILED");
    std::fs::write(d.join("junk.bin"), [0x30, 0x03, 0x02, 0x01, 0x00]).unwrap();
    let junk = yz(d, &["verify", "--trust", root, "junk.bin"]);
    assert_eq!(junk.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&junk.stderr).contains("neither"));
}
