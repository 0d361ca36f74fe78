//! `yinzheng stamp` and `yinzheng verify` on PDFs, end to end: national mode
//! (SM2/SM3 CMS carrying the seal signature, with a time stamp) verified by us,
//! international mode (ECDSA P-256) verified by us, pdfsig and pyHanko, and
//! tampering detected by all three.

#![allow(clippy::unwrap_used)]

mod pdf_world;

use pdf_world::{crls, ok, sample_pdf, setup, yz};
use std::path::Path;
use yinzheng_tests::{pdfsig, pyhanko, qpdf, run_ok, tempdir};

fn verify(d: &Path, file: &str) -> (i32, serde_json::Value) {
    let out = yz(
        d,
        &[
            "verify",
            "--json",
            "--trust",
            "roots.pem",
            "--crl",
            "main.crl",
            "--crl",
            "intl.crl",
            file,
        ],
    );
    let v = serde_json::from_slice(&out.stdout).unwrap_or_else(|_| {
        panic!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (out.status.code().unwrap(), v)
}

/// A copy of `file` with one byte of the first revision's page content changed.
fn tamper(d: &Path, file: &str, out: &str) {
    let mut b = std::fs::read(d.join(file)).unwrap();
    let at = b.windows(8).position(|w| w == b"approved").unwrap();
    b[at] = b'A';
    std::fs::write(d.join(out), b).unwrap();
}

fn failed_ids(v: &serde_json::Value) -> Vec<String> {
    v["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["status"] == "failed")
        .map(|c| format!("{}: {}", c["id"], c["message"]))
        .collect()
}

#[yinzheng_tests::peer_test(qpdf)]
fn national_mode_pdf_with_time_stamp_verifies_and_tampering_is_located() {
    let dir = tempdir();
    let d = dir.path();
    setup(d);
    std::fs::copy(sample_pdf(), d.join("notice.pdf")).unwrap();
    ok(
        d,
        &[
            "stamp",
            "--seal",
            "s1",
            "--key",
            "org.key",
            "--passphrase-file",
            "kpw",
            "--in",
            "notice.pdf",
            "--out",
            "sealed.pdf",
            "--near",
            "Seal here:",
            "--tsa",
            "--caption",
            "Example Org",
            "--alg",
            "sm2",
        ],
    );
    // a second seal on the same document, a new revision
    ok(
        d,
        &[
            "stamp",
            "--seal",
            "s1",
            "--key",
            "org.key",
            "--passphrase-file",
            "kpw",
            "--in",
            "sealed.pdf",
            "--out",
            "twice.pdf",
            "--at",
            "30,200",
        ],
    );
    run_ok(&qpdf(), d, &["--check", "twice.pdf"]);
    crls(d);
    let (code, v) = verify(d, "twice.pdf");
    assert_eq!(code, 0, "{v:#}");
    assert_eq!(v["indication"], "TOTAL_PASSED");
    let checks = v["checks"].as_array().unwrap();
    let has = |id: &str, needle: &str| {
        checks.iter().any(|c| {
            c["id"] == id
                && c["message"].as_str().unwrap().contains(needle)
                && c["status"] == "passed"
        })
    };
    assert!(
        has("coverage", "only changes allowed after signing")
            && has("coverage", "added signature field"),
        "{v:#}"
    );
    assert!(has("coverage", "covers the whole document"), "{v:#}");
    assert!(has("time stamp", "RFC 3161"), "{v:#}");
    assert!(
        checks
            .iter()
            .any(|c| c["id"].as_str().unwrap().ends_with("seal/seal-status")
                && c["status"] == "passed"),
        "the carried seal signature is checked: {v:#}"
    );
    // --alg guards against the wrong key
    let out = yz(
        d,
        &[
            "stamp",
            "--seal",
            "s1",
            "--key",
            "org.key",
            "--passphrase-file",
            "kpw",
            "--in",
            "notice.pdf",
            "--out",
            "x.pdf",
            "--alg",
            "p256",
        ],
    );
    assert_eq!(out.status.code(), Some(2));
    // one byte of page content changed: both signatures fail, with HASH_FAILURE
    tamper(d, "twice.pdf", "tampered.pdf");
    let (code, v) = verify(d, "tampered.pdf");
    assert_eq!(code, 1, "{v:#}");
    assert_eq!(v["subIndication"], "HASH_FAILURE", "{v:#}");
    let failed = failed_ids(&v);
    assert_eq!(
        failed.len(),
        2,
        "the CMS digest of both signatures: {failed:#?}"
    );
    assert!(
        failed.iter().all(|f| f.contains("messageDigest")),
        "{failed:#?}"
    );
}

#[yinzheng_tests::peer_test(pdfsig, pyhanko, qpdf)]
fn international_mode_pdf_validates_in_pdfsig_pyhanko_and_ours() {
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
            "one.pdf",
            "--out",
            "two.pdf",
            "--at",
            "30,90",
            "--pkcs7",
        ],
    );
    run_ok(&qpdf(), d, &["--check", "two.pdf"]);
    crls(d);
    let (code, v) = verify(d, "two.pdf");
    assert_eq!(code, 0, "{v:#}");

    // pdfsig with an NSS database trusting the international root. Poppler
    // 22.12 ignores CERT_PKIXVerifyCert's result and reads PORT_GetError()
    // instead, so a stale NSS error from an earlier signature makes it report
    // "Unknown issue with Certificate" for a later one. pyHanko's own PAdES
    // output shows the same (the control below), so: every signature must be
    // "Signature is Valid.", the first must be "Certificate is Trusted.", and
    // trust of every signature is checked by pyHanko.
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
    let pdfsig_says = |file: &str| {
        let out = std::process::Command::new(pdfsig())
            .args(["-nssdir", "sql:nss", file])
            .current_dir(d)
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let text = pdfsig_says("two.pdf");
    assert_eq!(text.matches("Signature is Valid.").count(), 2, "{text}");
    let first = text.split("Signature #2").next().unwrap();
    assert!(first.contains("Certificate is Trusted."), "{text}");
    // the control: pyHanko signs the same document twice (PAdES) with a key of
    // the same CA; pdfsig misjudges its second signature in the same way
    let o = |args: &[&str]| run_ok("openssl", d, args);
    o(&[
        "genpkey",
        "-algorithm",
        "EC",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-out",
        "ph.key",
    ]);
    o(&[
        "req",
        "-new",
        "-key",
        "ph.key",
        "-subj",
        "/CN=pyHanko control/O=Example Org/C=CN",
        "-out",
        "ph.csr",
    ]);
    ok(
        d,
        &[
            "ca",
            "issue",
            "--domain",
            "intl",
            "--profile",
            "seal-signer",
            "--uscc",
            "91350100M000100Y43",
            "--csr",
            "ph.csr",
            "--out",
            "ph.pem",
        ],
    );
    let pem = std::fs::read_to_string(d.join("ph.pem")).unwrap();
    let (leaf, chain) = pem.split_at(pem[1..].find("-----BEGIN").unwrap() + 1);
    std::fs::write(d.join("ph-leaf.pem"), leaf).unwrap();
    std::fs::write(d.join("ph-chain.pem"), chain).unwrap();
    for (input, field, output) in [
        ("notice.pdf", "1/60,500,180,620/SigA", "ctrl1.pdf"),
        ("ctrl1.pdf", "1/260,500,380,620/SigB", "ctrl2.pdf"),
    ] {
        run_ok(
            &pyhanko(),
            d,
            &[
                "sign",
                "addsig",
                "--use-pades",
                "--field",
                field,
                "pemder",
                "--key",
                "ph.key",
                "--cert",
                "ph-leaf.pem",
                "--chain",
                "ph-chain.pem",
                "--no-pass",
                input,
                output,
            ],
        );
    }
    let control = pdfsig_says("ctrl2.pdf");
    assert_eq!(
        control.matches("Signature is Valid.").count(),
        2,
        "{control}"
    );
    let trusted = |t: &str| t.matches("Certificate is Trusted.").count();
    assert_eq!(
        trusted(&text),
        trusted(&control),
        "ours:\n{text}\ncontrol:\n{control}"
    );
    // pyHanko validates every signature (it checks each field and exits 1 on any invalid one)
    let out = std::process::Command::new(pyhanko())
        .args([
            "sign",
            "validate",
            "--executive-summary",
            "--no-revocation-check",
            "--trust",
            "intl-root.pem",
            "--trust-replace",
            "two.pdf",
        ])
        .current_dir(d)
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{said}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(said.matches(":VALID").count(), 2, "{said}");

    // a PAdES (CAdES, B-T) signature alone: valid and trusted in pdfsig
    let text = pdfsig_says("one.pdf");
    assert!(
        text.contains("Signature is Valid.") && text.contains("Certificate is Trusted."),
        "{text}"
    );
    assert!(text.contains("ETSI.CAdES.detached"), "{text}");

    // tampered: all three say no
    tamper(d, "two.pdf", "bad.pdf");
    let (code, v) = verify(d, "bad.pdf");
    assert_eq!(code, 1, "{v:#}");
    assert_eq!(v["subIndication"], "HASH_FAILURE");
    let text = pdfsig_says("bad.pdf");
    assert_eq!(text.matches("Signature is Valid.").count(), 0, "{text}");
    let out = std::process::Command::new(pyhanko())
        .args([
            "sign",
            "validate",
            "--executive-summary",
            "--no-revocation-check",
            "--trust",
            "intl-root.pem",
            "--trust-replace",
            "bad.pdf",
        ])
        .current_dir(d)
        .output()
        .unwrap();
    assert!(!out.status.success(), "pyHanko accepted a tampered PDF");
}

#[test]
fn garbage_pdfs_are_input_errors() {
    let dir = tempdir();
    let d = dir.path();
    setup(d);
    std::fs::write(d.join("junk.pdf"), b"%PDF-1.7\nnot really").unwrap();
    let out = yz(d, &["verify", "--trust", "roots.pem", "junk.pdf"]);
    assert_eq!(
        out.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = yz(
        d,
        &[
            "stamp",
            "--seal",
            "s1",
            "--key",
            "org.key",
            "--passphrase-file",
            "kpw",
            "--in",
            "junk.pdf",
            "--out",
            "x.pdf",
        ],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(!d.join("x.pdf").exists());
}
