//! The load driver refuses a run it cannot do before it sends anything.
//!
//! Besides checking that, this test makes `cargo test --workspace` build the
//! `yinzheng-load` binary with the workspace's unified features, so that
//! scripts/test.sh runs the hostile-load form on the binaries the tests built
//! instead of rebuilding half the workspace with other features (about 2 min).

use std::process::Command;

fn redeem(tokens: &std::path::Path) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_yinzheng-load"))
        .args([
            "redeem",
            "--url",
            "https://127.0.0.1:9",
            "--query",
            "purpose=test",
        ])
        .args([
            "--cacert",
            "/nonexistent/root.pem",
            "--api-key",
            "k",
            "--tokens",
        ])
        .arg(tokens)
        .output()
        .expect("run yinzheng-load")
}

#[test]
fn redeem_without_tokens_is_refused_and_names_the_file() {
    let dir = tempfile::tempdir().expect("temp dir");
    let missing = dir.path().join("missing.txt");
    let out = redeem(&missing);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("cannot read") && err.contains("missing.txt"),
        "{err}"
    );

    let empty = dir.path().join("empty.txt");
    std::fs::write(&empty, "\n  \n").expect("write");
    let out = redeem(&empty);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("no tokens in") && err.contains("empty.txt"),
        "{err}"
    );
}
