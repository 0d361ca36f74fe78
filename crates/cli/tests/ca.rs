//! The certificate authority end to end through the `yinzheng` CLI, checked by
//! OpenSSL 3 both ways: OpenSSL accepts what we issue (certificates, CRLs, OCSP
//! responses) and we accept what OpenSSL issues. Negative cases each give the
//! right indication.

#![allow(clippy::unwrap_used)]

use serde_json::Value;
use std::fs;
use std::path::Path;
use std::process::Output;
use yinzheng_tests::{openssl_ok, openssl_run, run_cli, tempdir};

const ID: &str = "1234567812345678";

fn yz(dir: &Path, args: &[&str]) -> Output {
    run_cli(
        env!("CARGO_BIN_EXE_yinzheng"),
        dir,
        args,
        &[("YINZHENG_PASSPHRASE", "ca passphrase")],
    )
}

fn ok(dir: &Path, args: &[&str]) -> Output {
    yinzheng_tests::assert_success(yz(dir, args), &args)
}

/// `cert verify --json`: (exit code, indication, sub-indication).
fn verify(dir: &Path, args: &[&str]) -> (i32, String, String) {
    let mut a = vec!["cert", "verify", "--json"];
    a.extend_from_slice(args);
    let out = yz(dir, &a);
    let v: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{e}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (
        out.status.code().unwrap(),
        v["indication"].as_str().unwrap_or_default().to_string(),
        v["subIndication"].as_str().unwrap_or_default().to_string(),
    )
}

/// Extract TBS and signature of a signed DER object with asn1parse, then verify by hand
/// (OpenSSL 3.0 cannot verify SM2 CRLs or self-signatures with a non-empty ID directly).
fn openssl_verify_signed_by_hand(d: &Path, file: &str, pubkey: &str, inform: &str) {
    let dump =
        String::from_utf8(openssl_ok(d, &["asn1parse", "-inform", inform, "-in", file]).stdout)
            .unwrap();
    let off = |pred: &dyn Fn(&str) -> bool| -> String {
        dump.lines()
            .find(|l| pred(l))
            .unwrap()
            .split(':')
            .next()
            .unwrap()
            .trim()
            .to_string()
    };
    let tbs = off(&|l: &str| l.contains("d=1"));
    let sig = off(&|l: &str| l.contains("d=1") && l.contains("BIT STRING"));
    openssl_ok(
        d,
        &[
            "asn1parse",
            "-inform",
            inform,
            "-in",
            file,
            "-strparse",
            &tbs,
            "-noout",
            "-out",
            "tbs.bin",
        ],
    );
    openssl_ok(
        d,
        &[
            "asn1parse",
            "-inform",
            inform,
            "-in",
            file,
            "-strparse",
            &sig,
            "-noout",
            "-out",
            "sig.bin",
        ],
    );
    openssl_ok(
        d,
        &[
            "pkeyutl",
            "-verify",
            "-pubin",
            "-inkey",
            pubkey,
            "-rawin",
            "-digest",
            "sm3",
            "-pkeyopt",
            &format!("distid:{ID}"),
            "-in",
            "tbs.bin",
            "-sigfile",
            "sig.bin",
        ],
    );
}

fn first_pem_block(path: &Path, out: &Path) {
    let text = fs::read_to_string(path).unwrap();
    let end = text.find("-----END CERTIFICATE-----").unwrap() + "-----END CERTIFICATE-----\n".len();
    fs::write(out, &text[..end]).unwrap();
}

fn init_sm2(d: &Path) {
    ok(
        d,
        &[
            "ca",
            "init",
            "--subject",
            "CN=Yinzheng Demo Root CA,O=Yinzheng,C=CN",
        ],
    );
    fs::write(d.join("kpw"), "subscriber key passphrase\n").unwrap();
    ok(d, &["ca", "export-roots", "--out", "roots.pem"]);
}

#[yinzheng_tests::peer_test(openssl)]
fn sm2_domain_cli_flow_and_openssl_accepts_it() {
    let dir = tempdir();
    let d = dir.path();
    init_sm2(d);
    let out = ok(
        d,
        &[
            "ca",
            "issue",
            "--profile",
            "seal-signer",
            "--subject",
            "CN=Example Org,O=Example Org,C=CN",
            "--uscc",
            "91350100M000100Y43",
            "--out",
            "org.pem",
            "--key-out",
            "org.key",
            "--key-passphrase-file",
            "kpw",
            "--json",
        ],
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(
        v["subject"]
            .as_str()
            .unwrap()
            .contains("91350100M000100Y43")
    );
    assert!(
        fs::read_to_string(d.join("org.key"))
            .unwrap()
            .starts_with("-----BEGIN ENCRYPTED PRIVATE KEY-----")
    );
    first_pem_block(&d.join("org.pem"), &d.join("leaf.pem"));
    let issuing = d.join("home/pki/main/issuing.pem");
    fs::copy(&issuing, d.join("issuing.pem")).unwrap();

    // OpenSSL parses everything and sees SM2-with-SM3 and the USCC extension.
    let text =
        String::from_utf8(openssl_ok(d, &["x509", "-in", "leaf.pem", "-noout", "-text"]).stdout)
            .unwrap();
    assert!(text.contains("SM2-with-SM3"), "{text}");
    assert!(text.contains("1.2.156.10260.4.4"), "{text}");
    assert!(
        text.contains("CA:FALSE") && text.contains("Digital Signature, Non Repudiation"),
        "{text}"
    );
    // The leaf's algorithm identifier is exactly the GM/T 0015 bytes (parameters absent).
    let der = openssl_ok(d, &["x509", "-in", "leaf.pem", "-outform", "DER"]).stdout;
    let alg = [
        0x30, 0x0a, 0x06, 0x08, 0x2a, 0x81, 0x1c, 0xcf, 0x55, 0x01, 0x83, 0x75,
    ];
    assert!(der.windows(alg.len()).any(|w| w == alg));

    // Link by link (OpenSSL 3.0 cannot do 3-level SM2 chains with an ID in one call).
    openssl_ok(
        d,
        &[
            "verify",
            "-CAfile",
            "roots.pem",
            "-vfyopt",
            &format!("distid:{ID}"),
            "issuing.pem",
        ],
    );
    openssl_ok(
        d,
        &[
            "verify",
            "-partial_chain",
            "-CAfile",
            "issuing.pem",
            "-vfyopt",
            &format!("distid:{ID}"),
            "leaf.pem",
        ],
    );
    // The root's self-signature and the CRL's signature by hand.
    openssl_ok(
        d,
        &[
            "x509",
            "-in",
            "roots.pem",
            "-pubkey",
            "-noout",
            "-out",
            "root.pub",
        ],
    );
    openssl_verify_signed_by_hand(d, "roots.pem", "root.pub", "PEM");

    // Revoke, publish, and both we and OpenSSL see it.
    assert_eq!(
        verify(d, &["--trust", "roots.pem", "org.pem"]).2,
        "TRY_LATER",
        "no CRL: indeterminate"
    );
    ok(d, &["ca", "crl", "--out", "ca.crl"]);
    assert_eq!(
        verify(d, &["--trust", "roots.pem", "--crl", "ca.crl", "org.pem"]),
        (0, "TOTAL_PASSED".into(), String::new())
    );
    ok(d, &["ca", "revoke", "--reason", "keyCompromise", "org.pem"]);
    ok(d, &["ca", "crl", "--out", "ca.crl"]);
    let (code, ind, sub) = verify(d, &["--trust", "roots.pem", "--crl", "ca.crl", "org.pem"]);
    assert_eq!(
        (code, ind.as_str(), sub.as_str()),
        (1, "TOTAL_FAILED", "REVOKED")
    );
    let human = String::from_utf8(
        yz(
            d,
            &[
                "cert",
                "verify",
                "--trust",
                "roots.pem",
                "--crl",
                "ca.crl",
                "org.pem",
            ],
        )
        .stdout,
    )
    .unwrap();
    assert!(human.starts_with("TOTAL_FAILED / REVOKED"), "{human}");
    // The first CRL block is the issuing CA's: OpenSSL parses it and its signature verifies.
    let crl_text = fs::read_to_string(d.join("ca.crl")).unwrap();
    let first = &crl_text[..crl_text.find("-----END X509 CRL-----").unwrap() + 23];
    fs::write(d.join("issuing.crl"), first).unwrap();
    let t =
        String::from_utf8(openssl_ok(d, &["crl", "-in", "issuing.crl", "-noout", "-text"]).stdout)
            .unwrap();
    assert!(
        t.contains("Key Compromise") && t.contains("X509v3 CRL Number"),
        "{t}"
    );
    openssl_ok(
        d,
        &[
            "x509",
            "-in",
            "issuing.pem",
            "-pubkey",
            "-noout",
            "-out",
            "issuing.pub",
        ],
    );
    openssl_verify_signed_by_hand(d, "issuing.crl", "issuing.pub", "PEM");

    // Revocation is final; a second revoke is refused with exit 2.
    let again = yz(d, &["ca", "revoke", "org.pem"]);
    assert_eq!(again.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&again.stderr).contains("already revoked"));

    // An OCSP response OpenSSL can parse, saying revoked.
    ok(d, &["ca", "ocsp", "--cert", "org.pem", "--out", "org.ocsp"]);
    assert_eq!(
        verify(
            d,
            &[
                "--trust",
                "roots.pem",
                "--ocsp",
                "org.ocsp",
                "--no-revocation-required",
                "org.pem"
            ]
        )
        .2,
        "REVOKED"
    );
    let o = String::from_utf8(
        openssl_ok(
            d,
            &["ocsp", "-respin", "org.ocsp", "-resp_text", "-noverify"],
        )
        .stdout,
    )
    .unwrap();
    assert!(
        o.contains("Cert Status: revoked") && o.contains("keyCompromise"),
        "{o}"
    );
}

#[test]
fn hold_and_release() {
    let dir = tempdir();
    let d = dir.path();
    init_sm2(d);
    ok(
        d,
        &[
            "ca",
            "issue",
            "--profile",
            "seal-maker",
            "--subject",
            "CN=Maker,O=Yinzheng,C=CN",
            "--out",
            "m.pem",
            "--key-out",
            "m.key",
            "--key-passphrase-file",
            "kpw",
        ],
    );
    ok(d, &["ca", "revoke", "--reason", "certificateHold", "m.pem"]);
    ok(d, &["ca", "crl", "--out", "c1.crl"]);
    assert_eq!(
        verify(d, &["--trust", "roots.pem", "--crl", "c1.crl", "m.pem"]),
        (1, "INDETERMINATE".into(), "REVOKED_ON_HOLD".into())
    );
    ok(d, &["ca", "release", "m.pem"]);
    ok(d, &["ca", "crl", "--out", "c2.crl"]);
    assert_eq!(
        verify(d, &["--trust", "roots.pem", "--crl", "c2.crl", "m.pem"]).1,
        "TOTAL_PASSED"
    );
}

#[yinzheng_tests::peer_test(openssl)]
fn csr_intake_checks_proof_of_possession_with_the_sm2_id() {
    let dir = tempdir();
    let d = dir.path();
    init_sm2(d);
    openssl_ok(
        d,
        &[
            "genpkey",
            "-algorithm",
            "EC",
            "-pkeyopt",
            "ec_paramgen_curve:SM2",
            "-out",
            "r.key",
        ],
    );
    openssl_ok(
        d,
        &[
            "req",
            "-new",
            "-key",
            "r.key",
            "-sm3",
            "-sigopt",
            &format!("distid:{ID}"),
            "-subj",
            "/C=CN/O=Req Org/CN=Requester",
            "-out",
            "r.csr",
        ],
    );
    ok(
        d,
        &[
            "ca",
            "issue",
            "--profile",
            "log-signer",
            "--csr",
            "r.csr",
            "--out",
            "r.pem",
        ],
    );
    // The certificate certifies the CSR's key.
    let a = openssl_ok(d, &["x509", "-in", "r.pem", "-pubkey", "-noout"]).stdout;
    let b = openssl_ok(d, &["pkey", "-in", "r.key", "-pubout"]).stdout;
    assert_eq!(a, b);
    // A CSR signed with OpenSSL's default empty ID fails PoP with the default ID, passes with ''.
    openssl_ok(
        d,
        &[
            "req",
            "-new",
            "-key",
            "r.key",
            "-sm3",
            "-subj",
            "/CN=Empty ID",
            "-out",
            "e.csr",
        ],
    );
    let refused = yz(
        d,
        &[
            "ca",
            "issue",
            "--profile",
            "log-signer",
            "--csr",
            "e.csr",
            "--out",
            "e.pem",
        ],
    );
    assert_eq!(refused.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("proof of possession"));
    ok(
        d,
        &[
            "ca",
            "issue",
            "--profile",
            "log-signer",
            "--csr",
            "e.csr",
            "--csr-sm2-id",
            "",
            "--out",
            "e.pem",
        ],
    );
    // Missing profile data and bad identifiers are refused.
    let r = yz(
        d,
        &[
            "ca",
            "issue",
            "--profile",
            "seal-signer",
            "--csr",
            "r.csr",
            "--out",
            "x.pem",
        ],
    );
    assert!(String::from_utf8_lossy(&r.stderr).contains("--uscc"));
    let r = yz(
        d,
        &[
            "ca",
            "issue",
            "--profile",
            "seal-signer",
            "--csr",
            "r.csr",
            "--uscc",
            "91350100M000100Y44",
            "--out",
            "x.pem",
        ],
    );
    assert!(String::from_utf8_lossy(&r.stderr).contains("check character"));
}

#[yinzheng_tests::peer_test(openssl)]
fn we_accept_an_openssl_sm2_pki_and_its_crl() {
    let dir = tempdir();
    let d = dir.path();
    let cnf = "[ req ]\ndistinguished_name = dn\nprompt = no\n[ dn ]\nCN = OpenSSL SM2 Root\n\
               [ v3_ca ]\nbasicConstraints = critical,CA:TRUE\nkeyUsage = critical,keyCertSign,cRLSign\nsubjectKeyIdentifier = hash\n\
               [ v3_leaf ]\nbasicConstraints = critical,CA:FALSE\nkeyUsage = critical,digitalSignature,nonRepudiation\n\
               [ v3_crit ]\nbasicConstraints = critical,CA:FALSE\n1.2.3.4.5 = critical,ASN1:NULL\n\
               [ ca ]\ndefault_ca = myca\n[ myca ]\ndatabase = index.txt\ncrlnumber = crlnumber\ndefault_md = sm3\ndefault_crl_hours = 24\n";
    fs::write(d.join("ca.cnf"), cnf).unwrap();
    fs::write(d.join("index.txt"), "").unwrap();
    fs::write(d.join("crlnumber"), "01\n").unwrap();
    let idopt = format!("distid:{ID}");
    openssl_ok(
        d,
        &[
            "genpkey",
            "-algorithm",
            "EC",
            "-pkeyopt",
            "ec_paramgen_curve:SM2",
            "-out",
            "ca.key",
        ],
    );
    openssl_ok(
        d,
        &[
            "req",
            "-new",
            "-x509",
            "-config",
            "ca.cnf",
            "-extensions",
            "v3_ca",
            "-key",
            "ca.key",
            "-sm3",
            "-sigopt",
            &idopt,
            "-days",
            "3650",
            "-out",
            "ca.crt",
        ],
    );
    openssl_ok(
        d,
        &[
            "genpkey",
            "-algorithm",
            "EC",
            "-pkeyopt",
            "ec_paramgen_curve:SM2",
            "-out",
            "leaf.key",
        ],
    );
    openssl_ok(
        d,
        &[
            "req",
            "-new",
            "-key",
            "leaf.key",
            "-sm3",
            "-sigopt",
            &idopt,
            "-subj",
            "/C=CN/O=Test Org/CN=Zhang San",
            "-out",
            "leaf.csr",
        ],
    );
    let sign = |ext: &str, out: &str, id: Option<&str>| {
        let mut a = vec![
            "x509",
            "-req",
            "-in",
            "leaf.csr",
            "-CA",
            "ca.crt",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-sm3",
            "-days",
            "365",
            "-extfile",
            "ca.cnf",
            "-extensions",
            ext,
            "-out",
            out,
            "-vfyopt",
            &idopt,
        ];
        if let Some(id) = id {
            a.extend(["-sigopt", id]);
        }
        openssl_ok(d, &a);
    };
    sign("v3_leaf", "leaf.crt", Some(&idopt));
    sign("v3_crit", "crit.crt", Some(&idopt));
    openssl_ok(
        d,
        &[
            "ca", "-gencrl", "-config", "ca.cnf", "-keyfile", "ca.key", "-cert", "ca.crt",
            "-sigopt", &idopt, "-out", "root.crl",
        ],
    );
    assert_eq!(
        verify(d, &["--trust", "ca.crt", "--crl", "root.crl", "leaf.crt"]),
        (0, "TOTAL_PASSED".into(), String::new())
    );
    // An unknown critical extension fails the chain constraints.
    assert_eq!(
        verify(d, &["--trust", "ca.crt", "--crl", "root.crl", "crit.crt"]).2,
        "CHAIN_CONSTRAINTS_FAILURE"
    );
    // OpenSSL revokes; we see it.
    openssl_ok(
        d,
        &[
            "ca",
            "-config",
            "ca.cnf",
            "-keyfile",
            "ca.key",
            "-cert",
            "ca.crt",
            "-revoke",
            "leaf.crt",
            "-crl_reason",
            "keyCompromise",
        ],
    );
    openssl_ok(
        d,
        &[
            "ca",
            "-gencrl",
            "-config",
            "ca.cnf",
            "-keyfile",
            "ca.key",
            "-cert",
            "ca.crt",
            "-sigopt",
            &idopt,
            "-out",
            "root2.crl",
        ],
    );
    assert_eq!(
        verify(d, &["--trust", "ca.crt", "--crl", "root2.crl", "leaf.crt"]).2,
        "REVOKED"
    );
    // Time travel: before notBefore and after notAfter.
    assert_eq!(
        verify(
            d,
            &[
                "--trust",
                "ca.crt",
                "--no-revocation-required",
                "--at",
                "2001-01-01T00:00:00Z",
                "leaf.crt"
            ]
        )
        .2,
        "NOT_YET_VALID"
    );
    assert_eq!(
        verify(
            d,
            &[
                "--trust",
                "ca.crt",
                "--no-revocation-required",
                "--at",
                "2090-01-01T00:00:00Z",
                "leaf.crt"
            ]
        )
        .2,
        "EXPIRED"
    );
    // A certificate signed with the empty ID: fails with the default ID, passes in an all-empty-ID PKI setting.
    sign("v3_leaf", "empty.crt", None);
    assert_eq!(
        verify(
            d,
            &["--trust", "ca.crt", "--no-revocation-required", "empty.crt"]
        )
        .2,
        "SIG_CRYPTO_FAILURE"
    );
    // (the root itself is ID-signed; we trust anchors as configured, so only the link matters)
    assert_eq!(
        verify(
            d,
            &[
                "--trust",
                "ca.crt",
                "--no-revocation-required",
                "--sm2-id",
                "",
                "empty.crt"
            ]
        )
        .1,
        "TOTAL_PASSED"
    );
    // A leaf used as a CA (CA:FALSE) to sign another certificate.
    openssl_ok(
        d,
        &[
            "req",
            "-new",
            "-key",
            "leaf.key",
            "-sm3",
            "-sigopt",
            &idopt,
            "-subj",
            "/CN=Under a leaf",
            "-out",
            "sub.csr",
        ],
    );
    openssl_ok(
        d,
        &[
            "x509",
            "-req",
            "-in",
            "sub.csr",
            "-CA",
            "leaf.crt",
            "-CAkey",
            "leaf.key",
            "-CAcreateserial",
            "-sm3",
            "-sigopt",
            &idopt,
            "-vfyopt",
            &idopt,
            "-days",
            "30",
            "-out",
            "sub.crt",
        ],
    );
    assert_eq!(
        verify(
            d,
            &[
                "--trust",
                "ca.crt",
                "--untrusted",
                "leaf.crt",
                "--no-revocation-required",
                "sub.crt"
            ]
        )
        .2,
        "CHAIN_CONSTRAINTS_FAILURE"
    );
    // A tampered signature.
    let mut der = openssl_ok(d, &["x509", "-in", "leaf.crt", "-outform", "DER"]).stdout;
    let n = der.len();
    der[n - 3] ^= 0x01;
    fs::write(d.join("tampered.der"), &der).unwrap();
    assert_eq!(
        verify(
            d,
            &[
                "--trust",
                "ca.crt",
                "--no-revocation-required",
                "tampered.der"
            ]
        )
        .2,
        "SIG_CRYPTO_FAILURE"
    );
    // Not issued under this anchor.
    assert_eq!(
        verify(
            d,
            &["--trust", "leaf.crt", "--no-revocation-required", "ca.crt"]
        )
        .2,
        "NO_CERTIFICATE_CHAIN_FOUND"
    );
    // Garbage is an input error, not a panic.
    fs::write(d.join("garbage.der"), [0x30, 0x82, 0x05, 0x00, 0x01, 0x02]).unwrap();
    assert_eq!(
        yz(d, &["cert", "verify", "--trust", "ca.crt", "garbage.der"])
            .status
            .code(),
        Some(2)
    );
}

#[yinzheng_tests::peer_test(openssl)]
fn path_length_constraint_is_enforced() {
    // root (pathlen:0) → intermediate CA → leaf: one CA too many.
    let dir = tempdir();
    let d = dir.path();
    let cnf = "[ req ]\ndistinguished_name = dn\nprompt = no\n[ dn ]\nCN = Root\n\
               [ v3_root ]\nbasicConstraints = critical,CA:TRUE,pathlen:0\nkeyUsage = critical,keyCertSign,cRLSign\n\
               [ v3_sub ]\nbasicConstraints = critical,CA:TRUE\nkeyUsage = critical,keyCertSign,cRLSign\n";
    fs::write(d.join("c.cnf"), cnf).unwrap();
    let idopt = format!("distid:{ID}");
    for k in ["root", "sub", "leaf"] {
        openssl_ok(
            d,
            &[
                "genpkey",
                "-algorithm",
                "EC",
                "-pkeyopt",
                "ec_paramgen_curve:SM2",
                "-out",
                &format!("{k}.key"),
            ],
        );
    }
    openssl_ok(
        d,
        &[
            "req",
            "-new",
            "-x509",
            "-config",
            "c.cnf",
            "-extensions",
            "v3_root",
            "-key",
            "root.key",
            "-sm3",
            "-sigopt",
            &idopt,
            "-days",
            "100",
            "-out",
            "root.crt",
        ],
    );
    openssl_ok(
        d,
        &[
            "req", "-new", "-key", "sub.key", "-sm3", "-sigopt", &idopt, "-subj", "/CN=Sub",
            "-out", "sub.csr",
        ],
    );
    openssl_ok(
        d,
        &[
            "x509",
            "-req",
            "-in",
            "sub.csr",
            "-CA",
            "root.crt",
            "-CAkey",
            "root.key",
            "-CAcreateserial",
            "-sm3",
            "-sigopt",
            &idopt,
            "-vfyopt",
            &idopt,
            "-days",
            "50",
            "-extfile",
            "c.cnf",
            "-extensions",
            "v3_sub",
            "-out",
            "sub.crt",
        ],
    );
    openssl_ok(
        d,
        &[
            "req", "-new", "-key", "leaf.key", "-sm3", "-sigopt", &idopt, "-subj", "/CN=Leaf",
            "-out", "leaf.csr",
        ],
    );
    openssl_ok(
        d,
        &[
            "x509",
            "-req",
            "-in",
            "leaf.csr",
            "-CA",
            "sub.crt",
            "-CAkey",
            "sub.key",
            "-CAcreateserial",
            "-sm3",
            "-sigopt",
            &idopt,
            "-vfyopt",
            &idopt,
            "-days",
            "20",
            "-out",
            "leaf.crt",
        ],
    );
    assert_eq!(
        verify(
            d,
            &[
                "--trust",
                "root.crt",
                "--untrusted",
                "sub.crt",
                "--no-revocation-required",
                "leaf.crt"
            ]
        )
        .2,
        "CHAIN_CONSTRAINTS_FAILURE"
    );
}

#[yinzheng_tests::peer_test(openssl)]
fn ecdsa_domain_end_to_end_with_openssl_crl_check_and_ocsp() {
    let dir = tempdir();
    let d = dir.path();
    ok(
        d,
        &[
            "ca",
            "init",
            "--key-alg",
            "p256",
            "--subject",
            "CN=Yinzheng ECDSA Root CA,O=Yinzheng,C=CN",
        ],
    );
    fs::write(d.join("kpw"), "k\n").unwrap();
    ok(d, &["ca", "export-roots", "--out", "root.pem"]);
    ok(
        d,
        &[
            "ca",
            "issue",
            "--profile",
            "tls-server",
            "--subject",
            "CN=verify.example.gov.cn",
            "--san",
            "verify.example.gov.cn",
            "--san",
            "127.0.0.1",
            "--out",
            "tls.pem",
            "--key-out",
            "tls.key",
            "--key-passphrase-file",
            "kpw",
        ],
    );
    first_pem_block(&d.join("tls.pem"), &d.join("leaf.pem"));
    fs::copy(d.join("home/pki/main/issuing.pem"), d.join("issuing.pem")).unwrap();
    ok(d, &["ca", "crl", "--out", "crls.pem"]);
    // OpenSSL verifies the whole chain with CRL checks at every level.
    let args = [
        "verify",
        "-crl_check_all",
        "-CAfile",
        "root.pem",
        "-untrusted",
        "issuing.pem",
        "-CRLfile",
        "crls.pem",
        "-purpose",
        "sslserver",
        "leaf.pem",
    ];
    openssl_ok(d, &args);
    assert_eq!(
        verify(d, &["--trust", "root.pem", "--crl", "crls.pem", "tls.pem"]).1,
        "TOTAL_PASSED"
    );
    // OCSP good, verified by OpenSSL against the responder chain.
    ok(
        d,
        &["ca", "ocsp", "--cert", "leaf.pem", "--out", "good.ocsp"],
    );
    let ocsp = |resp: &str| {
        openssl_run(
            d,
            &[
                "ocsp",
                "-respin",
                resp,
                "-issuer",
                "issuing.pem",
                "-cert",
                "leaf.pem",
                "-CAfile",
                "root.pem",
                "-verify_other",
                "issuing.pem",
            ],
        )
    };
    let o = ocsp("good.ocsp");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(
        o.status.success()
            && text.contains("Response verify OK")
            && text.contains("leaf.pem: good"),
        "{text}"
    );
    // Revoke: OpenSSL's CRL check and OCSP both say revoked.
    ok(
        d,
        &["ca", "revoke", "--reason", "keyCompromise", "leaf.pem"],
    );
    ok(d, &["ca", "crl", "--out", "crls.pem"]);
    let r = openssl_run(d, &args);
    assert!(
        !r.status.success() && String::from_utf8_lossy(&r.stdout).contains("revoked")
            || String::from_utf8_lossy(&r.stderr).contains("revoked")
    );
    ok(
        d,
        &["ca", "ocsp", "--cert", "leaf.pem", "--out", "bad.ocsp"],
    );
    let o = ocsp("bad.ocsp");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(
        text.contains("Response verify OK") && text.contains("leaf.pem: revoked"),
        "{text}"
    );
    assert_eq!(
        verify(d, &["--trust", "root.pem", "--crl", "crls.pem", "tls.pem"]).2,
        "REVOKED"
    );
}

#[yinzheng_tests::peer_test(openssl)]
fn all_empty_id_openssl_pki_passes_openssl_and_us_with_the_empty_id() {
    // OpenSSL's stock behaviour (no distid anywhere): its own verify -crl_check
    // works, and we accept it once the anchor is configured for the empty ID.
    let dir = tempdir();
    let d = dir.path();
    let cnf = "[ req ]\ndistinguished_name = dn\nprompt = no\n[ dn ]\nCN = Empty ID Root\n\
               [ v3_ca ]\nbasicConstraints = critical,CA:TRUE\nkeyUsage = critical,keyCertSign,cRLSign\n\
               [ ca ]\ndefault_ca = myca\n[ myca ]\ndatabase = index.txt\ncrlnumber = crlnumber\ndefault_md = sm3\ndefault_crl_hours = 24\n";
    fs::write(d.join("ca.cnf"), cnf).unwrap();
    fs::write(d.join("index.txt"), "").unwrap();
    fs::write(d.join("crlnumber"), "01\n").unwrap();
    openssl_ok(
        d,
        &[
            "genpkey",
            "-algorithm",
            "EC",
            "-pkeyopt",
            "ec_paramgen_curve:SM2",
            "-out",
            "ca.key",
        ],
    );
    openssl_ok(
        d,
        &[
            "req",
            "-new",
            "-x509",
            "-config",
            "ca.cnf",
            "-extensions",
            "v3_ca",
            "-key",
            "ca.key",
            "-sm3",
            "-days",
            "30",
            "-out",
            "ca.crt",
        ],
    );
    openssl_ok(
        d,
        &[
            "genpkey",
            "-algorithm",
            "EC",
            "-pkeyopt",
            "ec_paramgen_curve:SM2",
            "-out",
            "leaf.key",
        ],
    );
    openssl_ok(
        d,
        &[
            "req", "-new", "-key", "leaf.key", "-sm3", "-subj", "/CN=Leaf", "-out", "leaf.csr",
        ],
    );
    openssl_ok(
        d,
        &[
            "x509",
            "-req",
            "-in",
            "leaf.csr",
            "-CA",
            "ca.crt",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-sm3",
            "-days",
            "10",
            "-out",
            "leaf.crt",
        ],
    );
    openssl_ok(
        d,
        &[
            "ca", "-gencrl", "-config", "ca.cnf", "-keyfile", "ca.key", "-cert", "ca.crt", "-out",
            "ca.crl",
        ],
    );
    openssl_ok(
        d,
        &[
            "verify",
            "-crl_check",
            "-CAfile",
            "ca.crt",
            "-CRLfile",
            "ca.crl",
            "leaf.crt",
        ],
    );
    assert_eq!(
        verify(
            d,
            &[
                "--trust", "ca.crt", "--crl", "ca.crl", "--sm2-id", "", "leaf.crt"
            ]
        ),
        (0, "TOTAL_PASSED".into(), String::new())
    );
    // With the default GM/T ID the same chain does not verify.
    assert_eq!(
        verify(d, &["--trust", "ca.crt", "--crl", "ca.crl", "leaf.crt"]).2,
        "SIG_CRYPTO_FAILURE"
    );
}

#[yinzheng_tests::peer_test(openssl)]
fn a_second_issuing_ca_issues_revokes_and_answers_ocsp_for_its_own_certificates() {
    let dir = tempdir();
    let d = dir.path();
    init_sm2(d);
    ok(
        d,
        &[
            "ca",
            "add-issuing",
            "--name",
            "contracts",
            "--subject",
            "CN=Contracts Issuing CA,O=Yinzheng,C=CN",
        ],
    );
    ok(
        d,
        &[
            "ca",
            "issue",
            "--issuer",
            "contracts",
            "--profile",
            "seal-maker",
            "--subject",
            "CN=Contract Seal Maker,O=Yinzheng,C=CN",
            "--out",
            "m.pem",
            "--key-out",
            "m.key",
            "--key-passphrase-file",
            "kpw",
        ],
    );
    ok(
        d,
        &[
            "ca",
            "issue",
            "--profile",
            "seal-maker",
            "--subject",
            "CN=Main Seal Maker,O=Yinzheng,C=CN",
            "--out",
            "main.pem",
            "--key-out",
            "main.key",
            "--key-passphrase-file",
            "kpw",
        ],
    );
    let text =
        String::from_utf8(openssl_ok(d, &["x509", "-in", "m.pem", "-noout", "-issuer"]).stdout)
            .unwrap();
    assert!(text.contains("Contracts Issuing CA"), "{text}");
    // OpenSSL: root → contracts CA → leaf, link by link.
    fs::copy(
        d.join("home/pki/main/issuing-contracts.pem"),
        d.join("contracts.pem"),
    )
    .unwrap();
    first_pem_block(&d.join("m.pem"), &d.join("leaf.pem"));
    openssl_ok(
        d,
        &[
            "verify",
            "-CAfile",
            "roots.pem",
            "-vfyopt",
            &format!("distid:{ID}"),
            "contracts.pem",
        ],
    );
    openssl_ok(
        d,
        &[
            "verify",
            "-partial_chain",
            "-CAfile",
            "contracts.pem",
            "-vfyopt",
            &format!("distid:{ID}"),
            "leaf.pem",
        ],
    );
    ok(d, &["ca", "crl", "--out", "crls.pem"]);
    assert_eq!(
        fs::read_to_string(d.join("crls.pem"))
            .unwrap()
            .matches("BEGIN X509 CRL")
            .count(),
        3,
        "main, contracts, root ARL"
    );
    assert_eq!(
        verify(d, &["--trust", "roots.pem", "--crl", "crls.pem", "m.pem"]).1,
        "TOTAL_PASSED"
    );
    ok(d, &["ca", "revoke", "--reason", "keyCompromise", "m.pem"]);
    ok(d, &["ca", "crl", "--out", "crls.pem"]);
    assert_eq!(
        verify(d, &["--trust", "roots.pem", "--crl", "crls.pem", "m.pem"]).2,
        "REVOKED"
    );
    assert_eq!(
        verify(
            d,
            &["--trust", "roots.pem", "--crl", "crls.pem", "main.pem"]
        )
        .1,
        "TOTAL_PASSED",
        "the main CA's certificates are unaffected"
    );
    // OCSP for the added CA's certificate is signed by that CA and our validator accepts it.
    ok(d, &["ca", "ocsp", "--cert", "m.pem", "--out", "m.ocsp"]);
    assert_eq!(
        verify(
            d,
            &[
                "--trust",
                "roots.pem",
                "--ocsp",
                "m.ocsp",
                "--no-revocation-required",
                "m.pem"
            ]
        )
        .2,
        "REVOKED"
    );
    let o = String::from_utf8(
        openssl_ok(d, &["ocsp", "-respin", "m.ocsp", "-resp_text", "-noverify"]).stdout,
    )
    .unwrap();
    assert!(o.contains("Cert Status: revoked"), "{o}");
    // Names are checked.
    let bad = yz(
        d,
        &[
            "ca",
            "add-issuing",
            "--name",
            "Main CA",
            "--subject",
            "CN=x",
        ],
    );
    assert_eq!(bad.status.code(), Some(2));
    let dup = yz(
        d,
        &[
            "ca",
            "add-issuing",
            "--name",
            "contracts",
            "--subject",
            "CN=x",
        ],
    );
    assert!(String::from_utf8_lossy(&dup.stderr).contains("already exists"));
    let unknown = yz(
        d,
        &[
            "ca",
            "issue",
            "--issuer",
            "nope",
            "--profile",
            "log-signer",
            "--subject",
            "CN=x",
            "--out",
            "x.pem",
            "--key-out",
            "x.key",
            "--key-passphrase-file",
            "kpw",
        ],
    );
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("no issuing CA"));
}

/// `yinzheng` without the CA passphrase in its environment.
fn yz_no_pass(dir: &Path, args: &[&str]) -> Output {
    let out = run_cli(env!("CARGO_BIN_EXE_yinzheng"), dir, args, &[]);
    yinzheng_tests::assert_success(out, &args)
}

#[yinzheng_tests::peer_test(softhsm2, openssl, pdfsig)]
fn a_domain_with_its_keys_on_a_pkcs11_token_runs_without_the_ca_passphrase() {
    yinzheng_tests::softhsm2_token(
        "a_domain_with_its_keys_on_a_pkcs11_token_runs_without_the_ca_passphrase",
        |token| {
            let dir = tempdir();
            let d = dir.path();
            // A token URI with a PIN in it is refused before anything is made.
            let refused = run_cli(
                env!("CARGO_BIN_EXE_yinzheng"),
                d,
                &[
                    "ca",
                    "init",
                    "--key-alg",
                    "p256",
                    "--subject",
                    "CN=HSM Root CA,O=Yinzheng,C=CN",
                    "--pkcs11",
                    &format!("{}&pin-value=4711", token.uri("")),
                ],
                &[],
            );
            assert_eq!(refused.status.code(), Some(2), "a usage error");
            let text = String::from_utf8_lossy(&refused.stderr);
            assert!(
                text.contains("pin-value") && !text.contains("4711"),
                "{text}"
            );
            assert!(!d.join("home/pki/main/root.pem").exists());

            yz_no_pass(
                d,
                &[
                    "ca",
                    "init",
                    "--key-alg",
                    "p256",
                    "--subject",
                    "CN=HSM Root CA,O=Yinzheng,C=CN",
                    "--pkcs11",
                    &token.uri(""),
                ],
            );
            for key in ["root", "issuing", "ocsp"] {
                assert!(!d.join(format!("home/pki/main/{key}.key.pem")).exists());
                assert!(d.join(format!("home/pki/main/{key}.key.uri")).exists());
            }
            // The inventory names each key by its token URI, never a PIN.
            let listed = yz_no_pass(d, &["keys", "--json"]);
            let keys: Value = serde_json::from_slice(&listed.stdout).unwrap();
            let keys = keys.as_array().unwrap();
            assert_eq!(keys.len(), 3, "{keys:?}");
            for k in keys {
                assert_eq!(k["location"]["kind"], "pkcs11", "{k}");
                assert_eq!(k["algorithm"], "p256", "{k}");
                let uri = k["location"]["uri"].as_str().unwrap();
                assert!(uri.contains("object=yinzheng-main-"), "{uri}");
                assert!(!uri.contains(yinzheng_tests::SoftHsm2Token::PIN), "{uri}");
                assert!(k["certificate"]["notAfter"].is_string(), "{k}");
            }
            fs::write(d.join("kpw"), "k\n").unwrap();
            yz_no_pass(d, &["ca", "export-roots", "--out", "root.pem"]);
            yz_no_pass(
                d,
                &[
                    "ca",
                    "issue",
                    "--profile",
                    "tls-server",
                    "--subject",
                    "CN=verify.example.gov.cn",
                    "--san",
                    "verify.example.gov.cn",
                    "--out",
                    "tls.pem",
                    "--key-out",
                    "tls.key",
                    "--key-passphrase-file",
                    "kpw",
                ],
            );
            first_pem_block(&d.join("tls.pem"), &d.join("leaf.pem"));
            fs::copy(d.join("home/pki/main/issuing.pem"), d.join("issuing.pem")).unwrap();
            yz_no_pass(d, &["ca", "crl", "--out", "crls.pem"]);
            openssl_ok(
                d,
                &[
                    "verify",
                    "-crl_check_all",
                    "-CAfile",
                    "root.pem",
                    "-untrusted",
                    "issuing.pem",
                    "-CRLfile",
                    "crls.pem",
                    "leaf.pem",
                ],
            );
            assert_openssl_accepts_our_ocsp(d, "good.ocsp");

            // The delegated responder re-issued: a new key on the token, a
            // certificate of the profile's 90 days; OpenSSL accepts what the
            // new key answers, and the old key is no longer the responder's.
            let before = fs::read(d.join("home/pki/main/ocsp.pem")).unwrap();
            let renewed = yz_no_pass(d, &["ca", "ocsp-responder", "--json"]);
            let renewed: Value = serde_json::from_slice(&renewed.stdout).unwrap();
            assert_ne!(fs::read(d.join("home/pki/main/ocsp.pem")).unwrap(), before);
            let uri = fs::read_to_string(d.join("home/pki/main/ocsp.key.uri")).unwrap();
            assert!(uri.contains("object=yinzheng-main-ocsp-"), "{uri}");
            let not_after = time::OffsetDateTime::parse(
                renewed["notAfter"].as_str().unwrap(),
                &time::format_description::well_known::Rfc3339,
            )
            .unwrap();
            let days = (not_after - time::OffsetDateTime::now_utc()).whole_days();
            assert!((89..=90).contains(&days), "{renewed}");
            assert_openssl_accepts_our_ocsp(d, "renewed.ocsp");

            // A seal signer whose key the CA makes on the token (`--key-out
            // pkcs11:`, never extractable), a seal for it, and a PDF the token
            // seals with a time stamp from the TSA, made on first use on the
            // same token: no CA passphrase anywhere. pdfsig checks what the
            // token signed; our verifier the chain, the CRLs and the time stamp.
            let signer_uri = token.uri("object=org-signer");
            let issued = yz_no_pass(
                d,
                &[
                    "ca",
                    "issue",
                    "--json",
                    "--profile",
                    "seal-signer",
                    "--key-alg",
                    "p256",
                    "--subject",
                    "CN=Example Org,O=Example Org,C=CN",
                    "--uscc",
                    "91350100M000100Y43",
                    "--out",
                    "org.pem",
                    "--key-out",
                    &signer_uri,
                ],
            );
            let issued: Value = serde_json::from_slice(&issued.stdout).unwrap();
            let key_uri = issued["privateKey"].as_str().unwrap().to_string();
            assert!(
                key_uri.contains("object=org-signer") && key_uri.contains(";id="),
                "{issued}"
            );
            assert!(!key_uri.contains(yinzheng_tests::SoftHsm2Token::PIN));
            yz_no_pass(
                d,
                &[
                    "ca",
                    "issue",
                    "--profile",
                    "seal-maker",
                    "--subject",
                    "CN=Seal Maker,O=Yinzheng,C=CN",
                    "--out",
                    "maker.pem",
                    "--key-out",
                    "maker.key",
                    "--key-passphrase-file",
                    "kpw",
                ],
            );
            yz_no_pass(
                d,
                &[
                    "seal",
                    "make",
                    "--type",
                    "official",
                    "--name",
                    "示例科技有限公司",
                    "--holder-uscc",
                    "91350100M000100Y43",
                    "--signer-cert",
                    "org.pem",
                    "--maker-cert",
                    "maker.pem",
                    "--maker-key",
                    "maker.key",
                    "--passphrase-file",
                    "kpw",
                    "--draw",
                    "--id",
                    "hsm-seal",
                    "--out",
                    "hsm-seal.esl",
                ],
            );
            fs::copy(
                concat!(
                    env!("CARGO_MANIFEST_DIR"),
                    "/../../scripts/samples/notice.pdf"
                ),
                d.join("notice.pdf"),
            )
            .unwrap();
            yz_no_pass(
                d,
                &[
                    "stamp",
                    "--seal",
                    "hsm-seal",
                    "--key",
                    &key_uri,
                    "--in",
                    "notice.pdf",
                    "--out",
                    "sealed.pdf",
                    "--alg",
                    "p256",
                    "--tsa",
                ],
            );
            assert!(d.join("home/pki/main/tsa.key.uri").exists());
            assert!(!d.join("home/pki/main/tsa.key.pem").exists());
            yz_no_pass(d, &["ca", "crl", "--out", "crls.pem"]);
            let out = run_cli(
                env!("CARGO_BIN_EXE_yinzheng"),
                d,
                &[
                    "verify",
                    "--json",
                    "--trust",
                    "root.pem",
                    "--crl",
                    "crls.pem",
                    "sealed.pdf",
                ],
                &[],
            );
            let v: Value = serde_json::from_slice(&out.stdout).unwrap();
            assert_eq!(v["indication"], "TOTAL_PASSED", "{v:#}");
            let checks = v["checks"].as_array().unwrap();
            assert!(
                checks.iter().any(|c| c["id"] == "time stamp"
                    && c["status"] == "passed"
                    && c["message"].as_str().unwrap().contains("RFC 3161")),
                "{v:#}"
            );
            let pdfsig = std::process::Command::new(yinzheng_tests::pdfsig())
                .args(["-nocert", "sealed.pdf"])
                .current_dir(d)
                .output()
                .unwrap();
            let said = String::from_utf8_lossy(&pdfsig.stdout);
            assert!(said.contains("Signature is Valid."), "{said}");

            // The log's second key made on the token (the SM2 one, which
            // SoftHSM2 cannot hold, in a file): P-256 here (Rekor's ECDSA note
            // signatures), Ed25519 for a log in another data directory.
            yz_no_pass(
                d,
                &[
                    "--home",
                    "home2",
                    "log",
                    "init",
                    "--pkcs11",
                    &token.uri(""),
                    "--passphrase-file",
                    "kpw",
                ],
            );
            let uri = fs::read_to_string(d.join("home2/log/log-signer-ed25519.key.uri")).unwrap();
            assert!(
                uri.contains("object=yinzheng-log-yinzheng.local-log-sm3-ed25519"),
                "{uri}"
            );
            yz_no_pass(
                d,
                &[
                    "log",
                    "init",
                    "--origin",
                    "verify.example.gov.cn/log",
                    "--pkcs11",
                    &token.uri(""),
                    "--pkcs11-alg",
                    "p256",
                    "--passphrase-file",
                    "kpw",
                ],
            );
            let uri = fs::read_to_string(d.join("home/log/log-signer-p256.key.uri")).unwrap();
            assert!(
                uri.contains("object=yinzheng-log-verify.example.gov.cn-log-p256"),
                "{uri}"
            );
            assert!(!uri.contains(yinzheng_tests::SoftHsm2Token::PIN), "{uri}");
            let vkey = fs::read_to_string(d.join("home/log/log-p256.vkey")).unwrap();
            assert!(vkey.starts_with("verify.example.gov.cn/log+"), "{vkey}");
            assert_log_proves(d, "log-p256.vkey", &["--passphrase-file", "kpw"]);
            let listed = yz_no_pass(d, &["keys", "--json"]);
            let keys: Value = serde_json::from_slice(&listed.stdout).unwrap();
            assert!(
                keys.as_array().unwrap().iter().any(|k| k["purpose"]
                    .as_str()
                    .unwrap()
                    .contains("P-256 cosigning")
                    && k["location"]["kind"] == "pkcs11"
                    && k["algorithm"] == "p256"),
                "{keys}"
            );

            // OpenSSL: the TSA's certificate, which the token's issuing CA
            // signed for the token's TSA key, is a time-stamping certificate.
            first_pem_block(&d.join("home/pki/main/tsa.pem"), &d.join("tsa-leaf.pem"));
            openssl_ok(
                d,
                &[
                    "verify",
                    "-purpose",
                    "timestampsign",
                    "-CAfile",
                    "root.pem",
                    "-untrusted",
                    "issuing.pem",
                    "tsa-leaf.pem",
                ],
            );

            // The verify server, the CA's key references kept at the CA: its
            // OCSP responder on the token (no passphrase), the log's SM2 key a
            // file with a passphrase of its own, given alone.
            let ca_side = d.join("ca-side");
            fs::create_dir(&ca_side).unwrap();
            for f in ["root", "issuing", "tsa"] {
                let name = format!("{f}.key.uri");
                fs::rename(d.join("home/pki/main").join(&name), ca_side.join(&name)).unwrap();
            }
            let serve = |extra: &[&str]| {
                let mut args = vec![
                    "--home".to_string(),
                    d.join("home").display().to_string(),
                    "serve".into(),
                    "--plain-http".into(),
                    "--listen".into(),
                    "127.0.0.1:0".into(),
                ];
                args.extend(extra.iter().map(|s| s.to_string()));
                std::process::Command::new(env!("CARGO_BIN_EXE_yinzheng"))
                    .args(&args)
                    .current_dir(d)
                    .env_remove("YINZHENG_PASSPHRASE")
                    .env("YINZHENG_LOG", "warn")
                    .stdout(std::process::Stdio::piped())
                    .stderr(std::process::Stdio::piped())
                    .spawn()
                    .unwrap()
            };
            // Without it: refused, the key and the flag named.
            let refused = serve(&[]).wait_with_output().unwrap();
            assert_eq!(refused.status.code(), Some(2));
            let text = String::from_utf8_lossy(&refused.stderr);
            assert!(
                text.contains("log-signer.key.pem") && text.contains("--log-passphrase-file"),
                "{text}"
            );
            let mut child = serve(&["--log-passphrase-file", "kpw"]);
            let printed = yinzheng_tests::serve_banner(child.stdout.take().unwrap());
            let _ = child.kill();
            let out = child.wait_with_output().unwrap();
            let text = printed.join("\n");
            assert!(
                text.contains("listening on http://127.0.0.1:"),
                "{text}{}",
                String::from_utf8_lossy(&out.stderr)
            );
        },
    );
}

#[test]
fn the_key_inventory_lists_every_key_and_flags_one_in_the_clear() {
    let dir = tempdir();
    let d = dir.path();
    ok(
        d,
        &[
            "ca",
            "init",
            "--subject",
            "CN=Inventory Root CA,O=Yinzheng,C=CN",
        ],
    );
    // A key written unencrypted where the server's TLS key goes.
    let clear =
        yinzheng_crypto::PrivateKey::generate(yinzheng_crypto::KeyAlgorithm::EcdsaP256).unwrap();
    fs::create_dir_all(d.join("home/server")).unwrap();
    fs::write(
        d.join("home/server/tls.key.pem"),
        clear.to_pkcs8_pem().as_bytes(),
    )
    .unwrap();
    let out = ok(d, &["keys", "--json"]);
    let keys: Value = serde_json::from_slice(&out.stdout).unwrap();
    let by_purpose = |p: &str| {
        keys.as_array()
            .unwrap()
            .iter()
            .find(|k| k["purpose"].as_str().is_some_and(|s| s.starts_with(p)))
            .unwrap_or_else(|| panic!("{p} missing from {keys}"))
            .clone()
    };
    for p in ["root CA", "issuing CA (main)", "delegated OCSP responder"] {
        let k = by_purpose(p);
        assert_eq!(k["location"]["kind"], "file", "{k}");
        assert_eq!(k["location"]["encrypted"], true, "{k}");
        assert_eq!(k["algorithm"], "sm2", "{k}");
        assert!(k["certificate"]["subject"].is_string(), "{k}");
    }
    let tls = by_purpose("verify server TLS");
    assert_eq!(tls["location"]["encrypted"], false, "{tls}");
    assert_eq!(tls["algorithm"], "p256", "{tls}");
    let text = String::from_utf8(ok(d, &["keys"]).stdout).unwrap();
    assert!(
        text.contains("IN THE CLEAR") && text.contains("root CA of trust domain main"),
        "{text}"
    );
}

#[yinzheng_tests::peer_test(softsdf, openssl)]
fn an_sm2_domain_with_its_keys_in_a_gmt0018_device_signs_what_openssl_verifies() {
    let dir = tempdir();
    let d = dir.path();
    let sdf = yinzheng_tests::softsdf();
    // A device with four signing keys, made by its own tool; SoftSDF keeps
    // them in its working directory, which is where the CLI runs.
    let uris: Vec<String> = (1..=7)
        .map(|n| {
            let password = yinzheng_tests::softsdf_key(d, n, &format!("pw-{n}-secret"));
            format!(
                "sdf:index={n}?module-path={}&password-source=file:{}",
                sdf.join("libsoftsdf.so").display(),
                password.display()
            )
        })
        .collect();
    yz_no_pass(
        d,
        &[
            "ca",
            "init",
            "--subject",
            "CN=SDF Root CA,O=Yinzheng,C=CN",
            "--root-key",
            &uris[0],
            "--issuing-key",
            &uris[1],
            "--ocsp-key",
            &uris[2],
            "--tsa-key",
            &uris[5],
        ],
    );
    for key in ["root", "issuing", "ocsp", "tsa"] {
        assert!(!d.join(format!("home/pki/main/{key}.key.pem")).exists());
        let r = fs::read_to_string(d.join(format!("home/pki/main/{key}.key.uri"))).unwrap();
        assert!(r.starts_with("sdf:index=") && !r.contains("secret"), "{r}");
    }
    let listed = yz_no_pass(d, &["keys", "--json"]);
    let keys: Value = serde_json::from_slice(&listed.stdout).unwrap();
    assert!(
        keys.as_array().unwrap().len() == 4
            && keys
                .as_array()
                .unwrap()
                .iter()
                .all(|k| k["location"]["kind"] == "sdf"
                    && (k["algorithm"] == "sm2"
                        // the TSA's, certified when first used
                        || k["purpose"].as_str().unwrap().starts_with("time-stamping"))),
        "{keys}"
    );
    // A second issuing CA whose key is in the device too (the root is there:
    // nothing could make one here).
    yz_no_pass(
        d,
        &[
            "ca",
            "add-issuing",
            "--name",
            "second",
            "--subject",
            "CN=SDF Second Issuing CA,O=Yinzheng,C=CN",
            "--key",
            &uris[6],
        ],
    );
    let r = fs::read_to_string(d.join("home/pki/main/issuing-second.key.uri")).unwrap();
    assert!(r.starts_with("sdf:index=7"), "{r}");
    let reused = run_cli(
        env!("CARGO_BIN_EXE_yinzheng"),
        d,
        &[
            "ca",
            "add-issuing",
            "--name",
            "third",
            "--subject",
            "CN=SDF Third Issuing CA,O=Yinzheng,C=CN",
            "--key",
            &uris[1],
        ],
        &[],
    );
    assert_eq!(reused.status.code(), Some(2), "a key of its own");
    assert!(
        String::from_utf8_lossy(&reused.stderr).contains("needs a key of its own"),
        "{}",
        String::from_utf8_lossy(&reused.stderr)
    );
    fs::write(d.join("kpw"), "k\n").unwrap();
    yz_no_pass(d, &["ca", "export-roots", "--out", "roots.pem"]);
    yz_no_pass(
        d,
        &[
            "ca",
            "issue",
            "--profile",
            "seal-maker",
            "--subject",
            "CN=Maker,O=Yinzheng,C=CN",
            "--out",
            "maker.pem",
            "--key-out",
            "maker.key",
            "--key-passphrase-file",
            "kpw",
        ],
    );
    first_pem_block(&d.join("maker.pem"), &d.join("leaf.pem"));
    fs::copy(d.join("home/pki/main/issuing.pem"), d.join("issuing.pem")).unwrap();
    yz_no_pass(d, &["ca", "crl", "--out", "crls.pem"]);
    // Our verifier: the chain and the CRLs the device signed.
    let out = run_cli(
        env!("CARGO_BIN_EXE_yinzheng"),
        d,
        &[
            "cert",
            "verify",
            "--json",
            "--trust",
            "roots.pem",
            "--crl",
            "crls.pem",
            "maker.pem",
        ],
        &[],
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["indication"], "TOTAL_PASSED", "{v}");
    // OpenSSL, link by link (SM2 with the GM/T ID), and the CRL by hand.
    for (ca, cert, partial) in [
        ("roots.pem", "issuing.pem", false),
        ("issuing.pem", "leaf.pem", true),
    ] {
        let mut args = vec!["verify"];
        if partial {
            args.push("-partial_chain");
        }
        let id = format!("distid:{ID}");
        args.extend(["-CAfile", ca, "-vfyopt", &id, cert]);
        openssl_ok(d, &args);
    }
    first_pem_block_of(&d.join("crls.pem"), &d.join("issuing.crl"), "X509 CRL");
    openssl_ok(
        d,
        &[
            "x509",
            "-in",
            "issuing.pem",
            "-pubkey",
            "-noout",
            "-out",
            "issuing.pub",
        ],
    );
    openssl_verify_signed_by_hand(d, "issuing.crl", "issuing.pub", "PEM");

    // A signer's key that never leaves the device gets its certificate from a
    // request the device signed: the CA checks that proof of possession.
    yz_no_pass(
        d,
        &[
            "key",
            "csr",
            "--key",
            &uris[3],
            "--subject",
            "CN=Example Org,O=Example Org,C=CN",
            "--out",
            "device.csr",
        ],
    );
    yz_no_pass(
        d,
        &[
            "ca",
            "issue",
            "--profile",
            "seal-signer",
            "--uscc",
            "91350100M000100Y43",
            "--csr",
            "device.csr",
            "--out",
            "device.pem",
        ],
    );
    let out = run_cli(
        env!("CARGO_BIN_EXE_yinzheng"),
        d,
        &[
            "cert",
            "verify",
            "--json",
            "--trust",
            "roots.pem",
            "--crl",
            "crls.pem",
            "device.pem",
        ],
        &[],
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["indication"], "TOTAL_PASSED", "{v}");
    let device_pub = fs::read_to_string(d.join("sm2signpub-4.pem")).unwrap();
    first_pem_block(&d.join("device.pem"), &d.join("device-leaf.pem"));
    let cert_pub = String::from_utf8(
        openssl_ok(d, &["x509", "-in", "device-leaf.pem", "-pubkey", "-noout"]).stdout,
    )
    .unwrap();
    assert_eq!(
        cert_pub.trim(),
        device_pub.trim(),
        "the certificate is for the device's key"
    );

    // A seal bound to that certificate, and a stamp the device signs.
    fs::write(d.join("seal.png"), b"\x89PNG\r\n\x1a\nnot really drawn").unwrap();
    fs::write(d.join("data.bin"), "合同正文 contract body").unwrap();
    let made = yz_no_pass(
        d,
        &[
            "seal",
            "make",
            "--json",
            "--type",
            "contract",
            "--name",
            "Example Org 合同专用章",
            "--holder-uscc",
            "91350100M000100Y43",
            "--signer-cert",
            "device.pem",
            "--maker-cert",
            "maker.pem",
            "--maker-key",
            "maker.key",
            "--passphrase-file",
            "kpw",
            "--picture",
            "seal.png",
            "--valid-days",
            "365",
            "--out",
            "seal.esl",
        ],
    );
    let made: Value = serde_json::from_slice(&made.stdout).unwrap();
    let seal_id = made["id"].as_str().unwrap().to_string();
    yz_no_pass(
        d,
        &[
            "stamp", "--seal", &seal_id, "--key", &uris[3], "--in", "data.bin", "--out", "data.ses",
        ],
    );
    let out = run_cli(
        env!("CARGO_BIN_EXE_yinzheng"),
        d,
        &[
            "verify",
            "--json",
            "--trust",
            "roots.pem",
            "--untrusted",
            "issuing.pem",
            "--crl",
            "crls.pem",
            "--data",
            "data.bin",
            "data.ses",
        ],
        &[],
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "the device's stamp verifies: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );

    // A PDF the device seals (national mode) with a time stamp from the
    // TSA whose key is in the device too, certified on first use.
    fs::copy(
        concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../scripts/samples/notice.pdf"
        ),
        d.join("notice.pdf"),
    )
    .unwrap();
    yz_no_pass(
        d,
        &[
            "seal",
            "make",
            "--type",
            "official",
            "--name",
            "Example Org 公章",
            "--holder-uscc",
            "91350100M000100Y43",
            "--signer-cert",
            "device.pem",
            "--maker-cert",
            "maker.pem",
            "--maker-key",
            "maker.key",
            "--passphrase-file",
            "kpw",
            "--draw",
            "--id",
            "sdf-official",
            "--out",
            "official.esl",
        ],
    );
    yz_no_pass(
        d,
        &[
            "stamp",
            "--seal",
            "sdf-official",
            "--key",
            &uris[3],
            "--in",
            "notice.pdf",
            "--out",
            "sealed.pdf",
            "--alg",
            "sm2",
            "--tsa",
        ],
    );
    assert!(d.join("home/pki/main/tsa.pem").exists());
    yz_no_pass(d, &["ca", "crl", "--out", "crls.pem"]);
    let out = run_cli(
        env!("CARGO_BIN_EXE_yinzheng"),
        d,
        &[
            "verify",
            "--json",
            "--trust",
            "roots.pem",
            "--crl",
            "crls.pem",
            "sealed.pdf",
        ],
        &[],
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["indication"], "TOTAL_PASSED", "{v:#}");
    assert!(
        v["checks"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["id"] == "time stamp"
                && c["status"] == "passed"
                && c["message"].as_str().unwrap().contains("RFC 3161")),
        "{v:#}"
    );
    // The TSA's certificate is for the device's key 6.
    first_pem_block(&d.join("home/pki/main/tsa.pem"), &d.join("tsa-leaf.pem"));
    let tsa_pub = String::from_utf8(
        openssl_ok(d, &["x509", "-in", "tsa-leaf.pem", "-pubkey", "-noout"]).stdout,
    )
    .unwrap();
    assert_eq!(
        tsa_pub.trim(),
        fs::read_to_string(d.join("sm2signpub-6.pem"))
            .unwrap()
            .trim()
    );

    // The anchoring log's checkpoint key in the device too: no key file, no
    // passphrase; its checkpoints and proofs verify with its verifier key.
    yz_no_pass(d, &["log", "init", "--key", &uris[4]]);
    let log = d.join("home/log");
    assert!(log.join("log-signer.key.uri").exists());
    assert!(!log.join("log-signer.key.pem").exists());
    assert_log_proves(d, "log.vkey", &[]);

    // The verify server on this data directory without the CA's key
    // references (kept where the CA runs): it starts with no passphrase at
    // all, its OCSP responder and log keys in the device.
    let ca_side = d.join("ca-side");
    fs::create_dir(&ca_side).unwrap();
    for f in ["root", "issuing", "issuing-second", "tsa"] {
        let name = format!("{f}.key.uri");
        fs::rename(d.join("home/pki/main").join(&name), ca_side.join(&name)).unwrap();
    }
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_yinzheng"))
        .args([
            "--home",
            &d.join("home").display().to_string(),
            "serve",
            "--plain-http",
            "--listen",
            "127.0.0.1:0",
        ])
        .current_dir(d)
        .env_remove("YINZHENG_PASSPHRASE")
        .env("YINZHENG_LOG", "warn")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::inherit())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let printed = yinzheng_tests::serve_banner(stdout);
    let _ = child.kill();
    let _ = child.wait();
    let text = printed.join("\n");
    assert!(text.contains("listening on http://127.0.0.1:"), "{text}");
}

/// Append an entry to `d`'s log (`append_args` after `log append`: a
/// passphrase file when a key is a file), prove it, and verify the proof
/// with the verifier key `vkey` (in `home/log`).
fn assert_log_proves(d: &Path, vkey: &str, append_args: &[&str]) {
    fs::write(d.join("note.txt"), "an entry signed in a device\n").unwrap();
    let mut append = vec!["log", "append", "--data", "note.txt"];
    append.extend_from_slice(append_args);
    yz_no_pass(d, &append);
    yz_no_pass(
        d,
        &["log", "prove", "--index", "0", "--out", "evidence.txt"],
    );
    let vkey = d.join("home/log").join(vkey);
    let out = run_cli(
        env!("CARGO_BIN_EXE_yinzheng"),
        d,
        &[
            "log",
            "verify",
            "--vkey",
            &vkey.display().to_string(),
            "evidence.txt",
        ],
        &[],
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// `ca ocsp` answers for `leaf.pem` into `file`, and OpenSSL verifies the
/// answer against `root.pem` with `issuing.pem` beside it.
fn assert_openssl_accepts_our_ocsp(d: &Path, file: &str) {
    yz_no_pass(d, &["ca", "ocsp", "--cert", "leaf.pem", "--out", file]);
    let out = openssl_ok(
        d,
        &[
            "ocsp",
            "-respin",
            file,
            "-issuer",
            "issuing.pem",
            "-cert",
            "leaf.pem",
            "-CAfile",
            "root.pem",
            "-verify_other",
            "issuing.pem",
        ],
    );
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains("Response verify OK"), "{text}");
}

/// The first PEM block of `kind` in `path`, written to `out`.
fn first_pem_block_of(path: &Path, out: &Path, kind: &str) {
    let text = fs::read_to_string(path).unwrap();
    let begin = text.find(&format!("-----BEGIN {kind}-----")).unwrap();
    let end_marker = format!("-----END {kind}-----");
    let end = text[begin..].find(&end_marker).unwrap() + begin + end_marker.len();
    fs::write(out, format!("{}\n", &text[begin..end])).unwrap();
}
