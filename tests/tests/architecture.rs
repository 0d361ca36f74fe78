//! The crate map's forbidden edges (docs/ARCHITECTURE.md, "Who may depend on
//! whom"): verification never links storage, libraries never link a front
//! end, the offline auditor never links a network or database client. Each
//! crate is resolved on its own (`cargo tree -e normal -p CRATE`), as a
//! downstream user building only that crate would get it.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

/// Crates that read and verify: no state, no database.
const VERIFICATION: &[&str] = &[
    "yinzheng-crypto",
    "yinzheng-pki",
    "yinzheng-cms",
    "yinzheng-seal",
    "yinzheng-document",
    "yinzheng-anchor",
    "yinzheng-fonts",
    "yinzheng-audit",
];

/// Crates that keep state (and what links a database).
const STORAGE: &[&str] = &[
    "yinzheng-store",
    "yinzheng-ca",
    "yinzheng-seal-registry",
    "yinzheng-log",
    "yinzheng-license",
    "rusqlite",
    "libsqlite3-sys",
    "postgres",
    "tokio-postgres",
];

/// Every library crate of the workspace.
const LIBRARIES: &[&str] = &[
    "yinzheng-crypto",
    "yinzheng-pkcs11",
    "yinzheng-sdf",
    "yinzheng-pki",
    "yinzheng-cms",
    "yinzheng-seal",
    "yinzheng-document",
    "yinzheng-anchor",
    "yinzheng-fonts",
    "yinzheng-store",
    "yinzheng-ca",
    "yinzheng-seal-registry",
    "yinzheng-log",
    "yinzheng-license",
    "yinzheng",
];

/// The front ends.
const FRONT_ENDS: &[&str] = &["yinzheng-server", "yinzheng-cli"];

/// What would let the offline auditor reach a network.
const NETWORK: &[&str] = &[
    "tokio", "mio", "socket2", "hyper", "h2", "axum", "rustls", "ureq", "reqwest", "postgres",
];

/// The crates (names only) `krate` links in normal builds.
fn normal_dependencies(krate: &str) -> BTreeSet<String> {
    let names = dependencies(krate, &[]);
    assert!(
        !names.is_empty() || krate == "yinzheng-fonts",
        "{krate} links nothing?"
    );
    names
}

/// The crates (names only) `krate` names itself, in normal builds.
fn direct_dependencies(krate: &str) -> BTreeSet<String> {
    dependencies(krate, &["--depth", "1"])
}

/// `cargo tree -e normal -p krate` (with `extra` arguments), names only.
fn dependencies(krate: &str, extra: &[&str]) -> BTreeSet<String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = Command::new(cargo)
        .args([
            "tree",
            "--offline",
            "--locked",
            "-e",
            "normal",
            "--prefix",
            "none",
            "-p",
            krate,
        ])
        .args(extra)
        .current_dir(&root)
        .output()
        .expect("cargo tree runs");
    assert!(
        out.status.success(),
        "cargo tree -p {krate}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .filter(|n| *n != krate)
        .map(str::to_string)
        .collect()
}

fn forbidden(krate: &str, deps: &BTreeSet<String>, banned: &[&str]) -> Vec<String> {
    banned
        .iter()
        .filter(|b| **b != krate && deps.contains(**b))
        .map(|b| b.to_string())
        .collect()
}

/// One of each: DER lengths are decoded in one place,
/// `yinzheng_crypto::asn1::header` (what `Reader::tlv_at` and every other
/// reader call). A library that masks a long-form length byte (`& 0x7f`)
/// itself has grown a second decoder.
#[test]
fn der_lengths_are_decoded_in_one_place() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../crates");
    let mut wrong = Vec::new();
    let mut stack = vec![root.clone()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir)
            .expect("crates/ is readable")
            .flatten()
        {
            let path = entry.path();
            if path.is_dir() {
                // Library and binary sources only: tests build odd encodings on purpose.
                if path
                    .file_name()
                    .is_some_and(|n| n != "tests" && n != "target")
                {
                    stack.push(path);
                }
                continue;
            }
            if path.extension().is_none_or(|e| e != "rs")
                || path.ends_with("crypto/src/asn1.rs")
                || path.file_name().is_some_and(|n| n == "tests.rs")
            {
                continue;
            }
            let text = std::fs::read_to_string(&path).expect("source is UTF-8");
            for (i, line) in text.lines().enumerate() {
                let l = line.to_ascii_lowercase();
                if l.contains("& 0x7f)") || l.contains("& 0x7f;") {
                    wrong.push(format!("{}:{}: {}", path.display(), i + 1, line.trim()));
                }
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "DER lengths decoded outside yinzheng_crypto::asn1::header:\n{}",
        wrong.join("\n")
    );
}

/// Verification never reads the machine's clock: "now" is the validator's
/// `Clock` (yinzheng_pki::Clock). The verification crates' sources may read
/// the system clock only where this list says why.
#[test]
fn verification_takes_now_from_a_clock() {
    const ALLOWED: &[(&str, &str)] = &[
        ("pki/src/clock.rs", "SystemClock itself"),
        (
            "seal/src/make.rs",
            "a new seal's default validity start (SealBuilder::validity sets it)",
        ),
        (
            "document/src/pdf_seal.rs",
            "the time a sealer asks its own TSA to stamp",
        ),
        (
            "audit/src/main.rs",
            "the binary: a front end chooses the time it passes down",
        ),
    ];
    let crates = Path::new(env!("CARGO_MANIFEST_DIR")).join("../crates");
    let mut wrong = Vec::new();
    for krate in [
        "crypto", "pki", "cms", "seal", "document", "anchor", "audit",
    ] {
        let mut stack = vec![crates.join(krate).join("src")];
        while let Some(dir) = stack.pop() {
            for entry in std::fs::read_dir(&dir).expect("src is readable").flatten() {
                let path = entry.path();
                if path.is_dir() {
                    stack.push(path);
                    continue;
                }
                if path.extension().is_none_or(|e| e != "rs")
                    || path.file_name().is_some_and(|n| n == "tests.rs")
                {
                    continue;
                }
                let rel = path
                    .strip_prefix(&crates)
                    .map(|p| p.to_string_lossy().replace('\\', "/"))
                    .unwrap_or_default();
                if ALLOWED.iter().any(|(f, _)| rel == *f) {
                    continue;
                }
                let text = std::fs::read_to_string(&path).expect("source is UTF-8");
                for (i, line) in text.lines().enumerate() {
                    if line.contains("SystemTime::now") || line.contains("now_utc()") {
                        wrong.push(format!("{rel}:{}: {}", i + 1, line.trim()));
                    }
                }
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "the system clock read in verification code (take it from the validator's Clock):\n{}",
        wrong.join("\n")
    );
}

/// One of each: hashing, base64 and PEM go through yinzheng-crypto; no other
/// crate of ours reaches for ring, sha2 or a base64 crate itself.
#[test]
fn hashing_base64_and_pem_go_through_the_crypto_crate() {
    let mut wrong = Vec::new();
    for krate in LIBRARIES
        .iter()
        .chain(FRONT_ENDS)
        .filter(|k| **k != "yinzheng-crypto")
    {
        let deps = direct_dependencies(krate);
        let bad = forbidden(
            krate,
            &deps,
            &["ring", "sha2", "base64", "pem-rfc7468", "rustls-pemfile"],
        );
        if !bad.is_empty() {
            wrong.push(format!("{krate} depends on {bad:?} itself"));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn verification_links_no_storage_and_libraries_no_front_end() {
    let mut wrong = Vec::new();
    for krate in LIBRARIES {
        let deps = normal_dependencies(krate);
        let bad = forbidden(krate, &deps, FRONT_ENDS);
        if !bad.is_empty() {
            wrong.push(format!("library {krate} links front ends {bad:?}"));
        }
        if VERIFICATION.contains(krate) {
            let bad = forbidden(krate, &deps, STORAGE);
            if !bad.is_empty() {
                wrong.push(format!("verification crate {krate} links storage {bad:?}"));
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn the_offline_auditor_links_no_network_and_no_database() {
    let deps = normal_dependencies("yinzheng-audit");
    let bad = forbidden("yinzheng-audit", &deps, NETWORK);
    assert!(bad.is_empty(), "yinzheng-audit links {bad:?}");
    let bad = forbidden("yinzheng-audit", &deps, STORAGE);
    assert!(bad.is_empty(), "yinzheng-audit links {bad:?}");
    // The check sees real edges: the server does link all of them.
    let server = normal_dependencies("yinzheng-server");
    for must in [
        "yinzheng-store",
        "rusqlite",
        "tokio",
        "hyper",
        "yinzheng-log",
    ] {
        assert!(server.contains(must), "the server links {must}: {server:?}");
    }
}
