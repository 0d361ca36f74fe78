//! `yinzheng log …` end to end: init, append, checkpoint, prove, consistency,
//! offline verify and audit, with `--json`, exit codes (0 ok, 1 invalid, 2
//! usage or input error) and tampered files.

#![allow(clippy::unwrap_used)]

use serde_json::Value;
use std::fs;
use std::path::Path;
use std::process::{Command, Output};
use yinzheng_tests::tempdir;

fn yz(dir: &Path, args: &[&str]) -> Output {
    let out = Command::new(env!("CARGO_BIN_EXE_yinzheng"))
        .args(args)
        .current_dir(dir)
        .env_remove("YINZHENG_PASSPHRASE")
        .env("YINZHENG_HOME", dir.join("home"))
        .output()
        .expect("yinzheng runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !stderr.contains("panicked"),
        "yinzheng {args:?} panicked: {stderr}"
    );
    out
}

fn code(out: &Output) -> i32 {
    out.status.code().expect("exit code")
}

fn ok(dir: &Path, args: &[&str]) -> String {
    let out = yz(dir, args);
    assert_eq!(
        code(&out),
        0,
        "{args:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn json(dir: &Path, args: &[&str]) -> Value {
    let mut a = vec!["--json"];
    a.extend_from_slice(args);
    serde_json::from_str(&ok(dir, &a)).unwrap()
}

#[test]
fn log_flow_sm3_verify_offline_and_audit() {
    let dir = tempdir();
    let d = dir.path();
    fs::write(d.join("pw"), "log passphrase\n").unwrap();
    fs::write(
        d.join("note1"),
        "license 11100000000000000X-2026-000001 issued",
    )
    .unwrap();
    fs::write(d.join("doc.pdf"), "%PDF-1.7 not really").unwrap();

    let init = json(
        d,
        &[
            "log",
            "init",
            "--origin",
            "yinzheng.test/log/sm3",
            "--passphrase-file",
            "pw",
        ],
    );
    assert_eq!(init["hash"], "sm3");
    let vkey = init["vkey"].as_str().unwrap().to_string();
    assert!(vkey.starts_with("yinzheng.test/log/sm3+"));
    // The key is encrypted on disk.
    let key = fs::read_to_string(d.join("home/log/log-signer.key.pem")).unwrap();
    assert!(key.contains("ENCRYPTED PRIVATE KEY"));

    // Appends print the index once sequenced.
    assert_eq!(
        ok(
            d,
            &[
                "log",
                "append",
                "--type",
                "note",
                "--data",
                "note1",
                "--passphrase-file",
                "pw"
            ]
        )
        .trim(),
        "0"
    );
    for i in 1..5 {
        let r = json(
            d,
            &[
                "log",
                "append",
                "--type",
                "license.issued",
                "--subject",
                "L-1",
                "--digest-of",
                "doc.pdf",
                "--passphrase-file",
                "pw",
            ],
        );
        assert_eq!(r["index"], i);
        assert_eq!(r["treeSize"], i + 1);
    }
    let cp = json(d, &["log", "checkpoint"]);
    assert_eq!(cp["treeSize"], 5);
    assert!(
        cp["note"]
            .as_str()
            .unwrap()
            .starts_with("yinzheng.test/log/sm3\n5\n")
    );
    let text = ok(d, &["log", "checkpoint"]);
    assert!(text.contains("\u{2014} yinzheng.test/log/sm3 "));

    // Evidence for entry 0, verified with the vkey file alone, from another directory.
    ok(
        d,
        &["log", "prove", "--index", "0", "--out", "e.tlog-proof"],
    );
    let other = tempdir();
    fs::copy(d.join("e.tlog-proof"), other.path().join("e.tlog-proof")).unwrap();
    fs::write(other.path().join("log.vkey"), format!("{vkey}\n")).unwrap();
    let o = other.path();
    let v = json(o, &["log", "verify", "--vkey", "log.vkey", "e.tlog-proof"]);
    assert_eq!(
        (
            v["valid"].as_bool(),
            v["index"].as_u64(),
            v["entryKind"].as_str()
        ),
        (Some(true), Some(0), Some("note"))
    );
    let v = json(
        d,
        &[
            "log",
            "verify",
            "--vkey",
            "home/log/log.vkey",
            "e.tlog-proof",
        ],
    );
    assert_eq!(v["treeSize"], 5);

    // Tampered evidence: exit 1; missing file or bad vkey: exit 2.
    let e = fs::read_to_string(o.join("e.tlog-proof")).unwrap();
    fs::write(o.join("bad-index"), e.replacen("index 0", "index 1", 1)).unwrap();
    fs::write(o.join("bad-cp"), e.replacen("\n5\n", "\n6\n", 1)).unwrap();
    fs::write(o.join("garbage"), "not evidence").unwrap();
    for f in ["bad-index", "bad-cp", "garbage"] {
        let out = yz(o, &["--json", "log", "verify", "--vkey", "log.vkey", f]);
        assert_eq!(
            code(&out),
            1,
            "{f}: {}",
            String::from_utf8_lossy(&out.stdout)
        );
        let v: Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(v["indication"], "TOTAL_FAILED");
    }
    assert_eq!(
        code(&yz(o, &["log", "verify", "--vkey", "log.vkey", "missing"])),
        2
    );
    fs::write(o.join("bad.vkey"), "not a vkey").unwrap();
    assert_eq!(
        code(&yz(
            o,
            &["log", "verify", "--vkey", "bad.vkey", "e.tlog-proof"]
        )),
        2
    );
    // Another log's key: the signature is not from a known key → invalid.
    fs::write(o.join("pw"), "x\n").unwrap();
    let other_init = json(o, &["log", "init", "--passphrase-file", "pw"]);
    fs::write(o.join("other.vkey"), other_init["vkey"].as_str().unwrap()).unwrap();
    assert_eq!(
        code(&yz(
            o,
            &["log", "verify", "--vkey", "other.vkey", "e.tlog-proof"]
        )),
        1
    );

    // Consistency from every older size verifies with the library.
    let c = json(d, &["log", "consistency", "--old-size", "3"]);
    assert_eq!(
        (c["oldSize"].as_u64(), c["newSize"].as_u64()),
        (Some(3), Some(5))
    );
    let h = |s: &Value| -> [u8; 32] {
        yinzheng_anchor::base64::decode(s.as_str().unwrap())
            .unwrap()
            .try_into()
            .unwrap()
    };
    let proof: Vec<[u8; 32]> = c["proof"].as_array().unwrap().iter().map(h).collect();
    yinzheng_anchor::verify_consistency(
        yinzheng_anchor::HashAlg::Sm3,
        3,
        5,
        &h(&c["oldRoot"]),
        &h(&c["newRoot"]),
        &proof,
    )
    .unwrap();
    assert_eq!(code(&yz(d, &["log", "consistency", "--old-size", "0"])), 2);
    assert_eq!(code(&yz(d, &["log", "consistency", "--old-size", "6"])), 2);
    assert_eq!(code(&yz(d, &["log", "prove", "--index", "5"])), 2);

    // Audit from the tiles alone; a changed entry bundle fails with exit 1.
    let a = json(
        d,
        &[
            "log",
            "audit",
            "--vkey",
            "home/log/log.vkey",
            "--tiles",
            "home/log/tiles",
        ],
    );
    assert_eq!(
        (a["valid"].as_bool(), a["entries"].as_u64()),
        (Some(true), Some(5))
    );
    let bundle = d.join("home/log/tiles/tile/entries/000.p/5");
    let mut b = fs::read(&bundle).unwrap();
    let n = b.len();
    b[n - 1] ^= 1;
    fs::write(&bundle, b).unwrap();
    let out = yz(
        d,
        &[
            "log",
            "audit",
            "--vkey",
            "home/log/log.vkey",
            "--tiles",
            "home/log/tiles",
        ],
    );
    assert_eq!(code(&out), 1, "{}", String::from_utf8_lossy(&out.stdout));
}

#[test]
fn sha256_profile_and_usage_errors() {
    let dir = tempdir();
    let d = dir.path();
    fs::write(d.join("pw"), "pw\n").unwrap();
    fs::write(d.join("n"), "x").unwrap();
    // No passphrase: the key would be unencrypted, refused.
    assert_eq!(code(&yz(d, &["log", "init"])), 2);
    // No log yet.
    assert_eq!(
        code(&yz(
            d,
            &["log", "append", "--data", "n", "--passphrase-file", "pw"]
        )),
        2
    );
    assert_eq!(code(&yz(d, &["log", "checkpoint"])), 2);
    let init = json(
        d,
        &["log", "init", "--hash", "sha256", "--passphrase-file", "pw"],
    );
    assert_eq!(init["origin"], "yinzheng.local/log/sha256");
    assert_eq!(
        code(&yz(d, &["log", "init", "--passphrase-file", "pw"])),
        2,
        "init twice"
    );
    // Wrong passphrase: input error, nothing appended.
    fs::write(d.join("wrong"), "nope\n").unwrap();
    assert_eq!(
        code(&yz(
            d,
            &["log", "append", "--data", "n", "--passphrase-file", "wrong"]
        )),
        2
    );
    // Data over the limit and a bad type.
    fs::write(d.join("big"), vec![b'a'; 70_000]).unwrap();
    assert_eq!(
        code(&yz(
            d,
            &["log", "append", "--data", "big", "--passphrase-file", "pw"]
        )),
        2
    );
    assert_eq!(
        code(&yz(
            d,
            &[
                "log",
                "append",
                "--type",
                "Bad Type",
                "--data",
                "n",
                "--passphrase-file",
                "pw"
            ]
        )),
        2
    );
    assert_eq!(
        ok(
            d,
            &["log", "append", "--data", "n", "--passphrase-file", "pw"]
        )
        .trim(),
        "0"
    );
    ok(d, &["log", "prove", "--index", "0", "--out", "e"]);
    // The profile is taken from the origin; forcing SM3 makes it invalid.
    assert_eq!(
        json(d, &["log", "verify", "--vkey", "home/log/log.vkey", "e"])["hash"],
        "sha256"
    );
    assert_eq!(
        code(&yz(
            d,
            &[
                "log",
                "verify",
                "--hash",
                "sm3",
                "--vkey",
                "home/log/log.vkey",
                "e"
            ]
        )),
        1
    );
}

#[test]
fn ed25519_cosignature_verifies_alone() {
    let dir = tempdir();
    let d = dir.path();
    fs::write(d.join("pw"), "pw\n").unwrap();
    fs::write(d.join("n"), "x").unwrap();
    let init = json(
        d,
        &["log", "init", "--with-ed25519", "--passphrase-file", "pw"],
    );
    let ed = init["ed25519Vkey"].as_str().unwrap();
    let sm2 = init["vkey"].as_str().unwrap();
    // Same key name, different signature types and key IDs.
    assert_eq!(ed.split('+').next(), sm2.split('+').next());
    assert_ne!(ed, sm2);
    assert_eq!(
        ok(
            d,
            &["log", "append", "--data", "n", "--passphrase-file", "pw"]
        )
        .trim(),
        "0"
    );
    let note = json(d, &["log", "checkpoint"])["note"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(
        note.matches('\u{2014}').count(),
        2,
        "two signature lines: {note}"
    );
    ok(d, &["log", "prove", "--index", "0", "--out", "e"]);
    fs::write(d.join("ed.vkey"), ed).unwrap();
    // Each key alone verifies the evidence offline.
    assert_eq!(
        json(d, &["log", "verify", "--vkey", "ed.vkey", "e"])["valid"],
        true
    );
    assert_eq!(
        json(d, &["log", "verify", "--vkey", "home/log/log.vkey", "e"])["valid"],
        true
    );
}

#[test]
fn concurrent_appends_from_separate_processes_all_land() {
    // Each `log append` runs its own sequencer; the losers of the
    // compare-and-swap reopen and retry, so every process gets an index and
    // the indexes are distinct.
    let dir = tempdir();
    let d = dir.path();
    fs::write(d.join("pw"), "pw\n").unwrap();
    fs::write(d.join("n"), "x").unwrap();
    ok(d, &["log", "init", "--passphrase-file", "pw"]);
    let children: Vec<_> = (0..8)
        .map(|i| {
            Command::new(env!("CARGO_BIN_EXE_yinzheng"))
                .args([
                    "log",
                    "append",
                    "--data",
                    "n",
                    "--passphrase-file",
                    "pw",
                    "--subject",
                ])
                .arg(format!("p{i}"))
                .current_dir(d)
                .env("YINZHENG_HOME", d.join("home"))
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let mut idx: Vec<u64> = children
        .into_iter()
        .map(|c| {
            let o = c.wait_with_output().unwrap();
            assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
            String::from_utf8(o.stdout).unwrap().trim().parse().unwrap()
        })
        .collect();
    idx.sort_unstable();
    assert_eq!(idx, (0..8).collect::<Vec<_>>());
    let a = json(
        d,
        &[
            "log",
            "audit",
            "--vkey",
            "home/log/log.vkey",
            "--tiles",
            "home/log/tiles",
        ],
    );
    assert_eq!(a["entries"], 8);
}
