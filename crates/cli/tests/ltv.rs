//! `yinzheng ltv add/renew` (PAdES B-LT/B-LTA, issue 23) with the peers:
//! pyHanko validates our B-LTA files AdES-style (`sign adesverify`, its LTA
//! validation: the DSS alone, no fetching), pdfsig stays happy, and we
//! validate pyHanko's B-LTA (made as its `ltvfix` and `timestamp` commands
//! make it) from the file and the root alone — then renew it, and pyHanko
//! validates the renewal.

#![allow(clippy::unwrap_used)]

mod pdf_world;

use pdf_world::{crls, ok, sample_pdf, setup, yz};
use std::path::Path;
use yinzheng_tests::{pdfsig, peer_python, pyhanko, qpdf, run_ok, tempdir};

/// `yinzheng verify --json --trust roots.pem FILE`: no CRL but what the file carries.
fn verify_alone(d: &Path, file: &str) -> (i32, serde_json::Value) {
    let out = yz(d, &["verify", "--json", "--trust", "roots.pem", file]);
    let v = serde_json::from_slice(&out.stdout).unwrap_or_else(|_| {
        panic!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (out.status.code().unwrap_or(-1), v)
}

fn passed_messages(v: &serde_json::Value, id: &str) -> Vec<String> {
    v["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["id"].as_str().unwrap().ends_with(id) && c["status"] == "passed")
        .map(|c| c["message"].as_str().unwrap().to_string())
        .collect()
}

/// pyHanko's AdES validation with its LTA logic (REQUIRE_REVINFO: every
/// certificate's revocation from what the file carries).
fn pyhanko_ades_ok(d: &Path, file: &str) {
    let out = std::process::Command::new(pyhanko())
        .args([
            "sign",
            "adesverify",
            "--pretty-print",
            "--trust",
            "intl-root.pem",
            "--trust-replace",
            file,
        ])
        .current_dir(d)
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "pyHanko adesverify {file}: {said}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(said.contains("judged VALID"), "{said}");
}

/// pdfsig (poppler 22.12) on a B-LTA file: every signature valid and
/// trusted; it does not check document time stamps (their SubFilter is
/// "unknown" to it and they stay "not yet verified"), which pyHanko does.
fn pdfsig_all_valid(d: &Path, file: &str) -> String {
    let out = std::process::Command::new(pdfsig())
        .args(["-nssdir", "sql:nss", file])
        .current_dir(d)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let blocks: Vec<&str> = text.split("Signature #").skip(1).collect();
    assert!(blocks.len() >= 2, "{text}");
    let mut signatures = 0;
    for b in &blocks {
        if b.contains("Field Name: DocTimeStamp") {
            assert!(b.contains("Signature Type: unknown"), "{text}");
            continue;
        }
        signatures += 1;
        assert!(
            b.contains("Signature Validation: Signature is Valid."),
            "{text}"
        );
        assert!(b.contains("Certificate is Trusted."), "{text}");
    }
    assert!(signatures >= 1, "{text}");
    text
}

fn nss(d: &Path) {
    std::fs::create_dir(d.join("nss")).unwrap();
    run_ok("certutil", d, &["-N", "-d", "sql:nss", "--empty-password"]);
    run_ok(
        "certutil",
        d,
        &[
            "-A",
            "-d",
            "sql:nss",
            "-n",
            "root",
            "-t",
            "CT,C,C",
            "-i",
            "intl-root.pem",
        ],
    );
}

#[yinzheng_tests::peer_test(pdfsig, pyhanko, qpdf)]
fn our_b_lta_validates_in_pyhanko_and_pdfsig_and_renews() {
    let dir = tempdir();
    let d = dir.path();
    setup(d);
    std::fs::copy(sample_pdf(), d.join("notice.pdf")).unwrap();
    ok(
        d,
        &[
            "stamp",
            "--seal",
            "s2",
            "--key",
            "org-p256.key",
            "--passphrase-file",
            "kpw",
            "--in",
            "notice.pdf",
            "--out",
            "one.pdf",
            "--at",
            "120,90",
            "--tsa",
        ],
    );
    crls(d);
    // B-T alone does not validate without the CRLs; B-LTA does, from itself.
    let (code, _) = verify_alone(d, "one.pdf");
    assert_eq!(code, 1);
    let said = ok(
        d,
        &[
            "--json", "ltv", "add", "one.pdf", "--out", "lta.pdf", "--domain", "intl",
        ],
    );
    let v: serde_json::Value = serde_json::from_slice(&said.stdout).unwrap();
    assert_eq!(v["level"], "B-LTA", "{v:#}");
    assert!(v["crls"].as_u64().unwrap() >= 2, "{v:#}");
    run_ok(&qpdf(), d, &["--check", "lta.pdf"]);
    let (code, v) = verify_alone(d, "lta.pdf");
    assert_eq!(code, 0, "{v:#}");
    let poe = passed_messages(&v, "proof of existence");
    assert!(
        poe.iter().any(|m| m.contains("DocTimeStamp1")),
        "{poe:?}\n{v:#}"
    );
    assert_eq!(passed_messages(&v, "document time stamp").len(), 1, "{v:#}");
    pyhanko_ades_ok(d, "lta.pdf");
    nss(d);
    pdfsig_all_valid(d, "lta.pdf");

    // Renewed: a second document time stamp over the first and its data.
    ok(
        d,
        &[
            "ltv",
            "renew",
            "lta.pdf",
            "--out",
            "renewed.pdf",
            "--domain",
            "intl",
        ],
    );
    let (code, v) = verify_alone(d, "renewed.pdf");
    assert_eq!(code, 0, "{v:#}");
    let stamps = passed_messages(&v, "document time stamp");
    assert_eq!(stamps.len(), 2, "{stamps:?}");
    assert!(
        stamps
            .iter()
            .any(|m| m.contains("proven by document time stamp DocTimeStamp2")),
        "{stamps:?}"
    );
    pyhanko_ades_ok(d, "renewed.pdf");
    pdfsig_all_valid(d, "renewed.pdf");

    // A file without a document time stamp cannot be renewed (exit 2);
    // one altered cannot either (exit 1, nothing written).
    let out = yz(d, &["ltv", "renew", "one.pdf", "--out", "x.pdf"]);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    let mut bytes = std::fs::read(d.join("renewed.pdf")).unwrap();
    let at = bytes
        .windows(7)
        .position(|w| w == b"/Author" || w == b"/Produc")
        .unwrap_or(100);
    bytes[at + 1] ^= 0x20;
    std::fs::write(d.join("altered.pdf"), &bytes).unwrap();
    let (code, _) = verify_alone(d, "altered.pdf");
    assert_eq!(code, 1);
    let out = yz(
        d,
        &[
            "ltv",
            "renew",
            "altered.pdf",
            "--out",
            "x.pdf",
            "--domain",
            "intl",
        ],
    );
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert!(!d.join("x.pdf").exists());
}

#[yinzheng_tests::peer_test(openssl, pyhanko)]
fn pyhankos_b_lta_validates_in_ours_and_we_renew_it() {
    let dir = tempdir();
    let d = dir.path();
    setup(d);
    std::fs::copy(sample_pdf(), d.join("notice.pdf")).unwrap();
    let o = |args: &[&str]| run_ok("openssl", d, args);
    // pyHanko's signer and TSA keys, certified by our international CA.
    for (name, profile, uscc) in [
        ("ph", "seal-signer", Some("91350100M000100Y43")),
        ("phtsa", "tsa", None),
    ] {
        o(&[
            "genpkey",
            "-algorithm",
            "EC",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-out",
            &format!("{name}.key"),
        ]);
        o(&[
            "req",
            "-new",
            "-key",
            &format!("{name}.key"),
            "-subj",
            &format!("/CN=pyHanko {name}/O=Example Org/C=CN"),
            "-out",
            &format!("{name}.csr"),
        ]);
        let csr = format!("{name}.csr");
        let pem = format!("{name}.pem");
        let mut args = vec![
            "ca",
            "issue",
            "--domain",
            "intl",
            "--profile",
            profile,
            "--csr",
            &csr,
            "--out",
            &pem,
        ];
        if let Some(u) = uscc {
            args.extend(["--uscc", u]);
        }
        ok(d, &args);
        let text = std::fs::read_to_string(d.join(&pem)).unwrap();
        let (leaf, chain) = text.split_at(text[1..].find("-----BEGIN").unwrap() + 1);
        std::fs::write(d.join(format!("{name}-leaf.pem")), leaf).unwrap();
        std::fs::write(d.join(format!("{name}-chain.pem")), chain).unwrap();
    }
    crls(d);
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../tests/peers/pyhanko/lta.py"
    );
    run_ok(
        &peer_python(),
        d,
        &[
            script,
            "notice.pdf",
            "theirs.pdf",
            "ph.key",
            "ph-leaf.pem",
            "ph-chain.pem",
            "phtsa.key",
            "phtsa-leaf.pem",
            "intl-root.pem",
            "intl.crl",
        ],
    );
    // pyHanko's own verdict on its file, then ours from the file and the root alone.
    pyhanko_ades_ok(d, "theirs.pdf");
    let (code, v) = verify_alone(d, "theirs.pdf");
    assert_eq!(code, 0, "{v:#}");
    assert_eq!(passed_messages(&v, "document time stamp").len(), 1, "{v:#}");
    assert!(
        passed_messages(&v, "dss")
            .iter()
            .any(|m| m.contains("document security store")),
        "{v:#}"
    );
    // We renew pyHanko's file; pyHanko validates the renewal.
    ok(
        d,
        &[
            "ltv",
            "renew",
            "theirs.pdf",
            "--out",
            "theirs2.pdf",
            "--domain",
            "intl",
        ],
    );
    let (code, v) = verify_alone(d, "theirs2.pdf");
    assert_eq!(code, 0, "{v:#}");
    assert_eq!(passed_messages(&v, "document time stamp").len(), 2, "{v:#}");
    pyhanko_ades_ok(d, "theirs2.pdf");
    // pyHanko's file with a byte of the signed revision changed: refused.
    let mut bytes = std::fs::read(d.join("theirs.pdf")).unwrap();
    let at = bytes.windows(4).position(|w| w == b"/Typ").unwrap();
    bytes[at + 2] = b'X';
    std::fs::write(d.join("theirs-altered.pdf"), &bytes).unwrap();
    let (code, v) = verify_alone(d, "theirs-altered.pdf");
    assert_ne!(code, 0, "{v:#}");
}
