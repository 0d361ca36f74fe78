//! `yinzheng verify` on seal signatures and seals (ofdrw's GB/T 38540 files).

#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::Output;
use yinzheng_tests::{run_cli, tempdir};

fn ofdrw(name: &str) -> PathBuf {
    Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../testdata/interop/ofdrw"
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
    // ofdrw's PKI does not mark seal makers: accept any maker under its root explicitly.
    let any = ["verify", "--json", "--trust", root, "--danger-any-maker"];
    let run = |extra: &[&str]| {
        let args: Vec<&str> = any.iter().chain(extra.iter()).copied().collect();
        let out = yz(d, &args);
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        (out.status.code().unwrap(), v)
    };
    // ofdrw publishes neither the signed data nor a proof of time, and its
    // certificates expired in 2022: every signature checks, and the verdict
    // is INDETERMINATE (exit 1), naming both missing pieces.
    let (code, v) = run(&["--no-revocation-required", sig]);
    assert_eq!(code, 1, "{v}");
    assert_eq!(v["indication"], "INDETERMINATE", "{v}");
    let failed = |id: &str, needle: &str| {
        v["checks"].as_array().unwrap().iter().any(|c| {
            c["status"] == "failed"
                && c["id"].as_str().unwrap().ends_with(id)
                && c["message"].as_str().unwrap().contains(needle)
        })
    };
    assert!(failed("data-hash", "--data"), "{v}");
    assert!(failed("validity", "nothing proves"), "{v}");
    assert!(
        v["checks"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["id"] == "signature" && c["status"] == "passed"),
        "{v}"
    );
    std::fs::write(d.join("data.bin"), b"not the protected bytes").unwrap();
    let (code, v) = run(&["--no-revocation-required", "--data", "data.bin", sig]);
    assert_eq!(code, 1);
    assert_eq!(v["subIndication"], "HASH_FAILURE");
    // Without revocation data the default is INDETERMINATE, never a silent pass.
    let (code, v) = run(&[sig]);
    assert_eq!(code, 1);
    assert_eq!(v["indication"], "INDETERMINATE");
    // By default a maker must carry the seal-maker policy: ofdrw's ordinary certificate fails…
    let out = yz(
        d,
        &[
            "verify",
            "--json",
            "--trust",
            root,
            "--no-revocation-required",
            sig,
        ],
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["subIndication"], "SIG_CONSTRAINTS_FAILURE", "{v}");
    // …unless its root is trusted for seal makers explicitly: then the maker
    // passes and only the missing proof of time and data remain.
    let out = yz(
        d,
        &[
            "verify",
            "--json",
            "--trust",
            root,
            "--maker-trust",
            root,
            "--no-revocation-required",
            sig,
        ],
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["indication"], "INDETERMINATE", "{v}");
    assert!(
        v["checks"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["id"] == "maker-authority" && c["status"] == "passed"),
        "{v}"
    );
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
            "--danger-any-maker",
            "--no-revocation-required",
            seal.to_str().unwrap(),
        ],
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["indication"], "TOTAL_FAILED");
    std::fs::write(d.join("junk.bin"), [0x30, 0x03, 0x02, 0x01, 0x00]).unwrap();
    let junk = yz(
        d,
        &["verify", "--trust", root, "--danger-any-maker", "junk.bin"],
    );
    assert_eq!(junk.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&junk.stderr).contains("neither"));
}

fn ok(dir: &Path, args: &[&str]) -> Output {
    yinzheng_tests::assert_success(
        run_cli(
            env!("CARGO_BIN_EXE_yinzheng"),
            dir,
            args,
            &[("YINZHENG_PASSPHRASE", "ca pass")],
        ),
        &args,
    )
}

/// A trust domain in `d` with roots.pem, a seal maker (maker.pem/.key) and an
/// organisation's signer (org.pem/.key); keys encrypted with the passphrase in `kpw`.
fn seal_pki(d: &Path) {
    ok(
        d,
        &["ca", "init", "--subject", "CN=Seal Root CA,O=Yinzheng,C=CN"],
    );
    ok(d, &["ca", "export-roots", "--out", "roots.pem"]);
    let key = ["--key-passphrase-file", "kpw"];
    let maker = [
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
    ];
    ok(d, &[&maker[..], &key[..]].concat());
    let org = [
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
    ];
    ok(d, &[&org[..], &key[..]].concat());
}

fn code(dir: &Path, args: &[&str]) -> (i32, String) {
    let out = run_cli(
        env!("CARGO_BIN_EXE_yinzheng"),
        dir,
        args,
        &[("YINZHENG_PASSPHRASE", "ca pass")],
    );
    (
        out.status.code().unwrap(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

#[test]
fn seal_administration_make_stamp_suspend_resume_revoke() {
    let dir = tempdir();
    let d = dir.path();
    std::fs::write(d.join("kpw"), "key pass\n").unwrap();
    std::fs::write(d.join("seal.png"), b"\x89PNG\r\n\x1a\nnot really drawn").unwrap();
    std::fs::write(d.join("data.bin"), "合同正文 contract body").unwrap();
    seal_pki(d);
    let out = ok(
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
            "org.pem",
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
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let id = v["id"].as_str().unwrap().to_string();
    assert!(
        String::from_utf8_lossy(&ok(d, &["seal", "list"]).stdout)
            .contains(&format!("{id}  active"))
    );
    ok(d, &["seal", "show", &id, "--picture-out", "back.png"]);
    assert_eq!(
        std::fs::read(d.join("back.png")).unwrap(),
        std::fs::read(d.join("seal.png")).unwrap()
    );

    ok(
        d,
        &[
            "stamp",
            "--seal",
            &id,
            "--key",
            "org.key",
            "--passphrase-file",
            "kpw",
            "--in",
            "data.bin",
            "--out",
            "data.ses",
        ],
    );
    ok(d, &["ca", "crl", "--out", "ca.crl"]);
    let verify = [
        "verify",
        "--json",
        "--trust",
        "roots.pem",
        "--untrusted",
        "home/pki/main/issuing.pem",
        "--crl",
        "ca.crl",
        "--data",
        "data.bin",
        "data.ses",
    ];
    let (c, text) = code(d, &verify);
    assert_eq!(c, 0, "{text}");
    assert!(text.contains("registered here and active"), "{text}");
    let inspect = String::from_utf8(ok(d, &["seal", "inspect", "data.ses"]).stdout).unwrap();
    assert!(
        inspect.contains("Example Org 合同专用章") && inspect.contains("data.bin"),
        "{inspect}"
    );

    // Suspended: no stamping. The earlier signature cannot be decided now:
    // nothing proves it was made before the suspension (its claimed time is
    // no proof), so it is INDETERMINATE, never a pass and never "forged".
    // (Times are in seconds and a change in the signing second counts as before it.)
    std::thread::sleep(std::time::Duration::from_millis(1100));
    ok(d, &["seal", "suspend", &id, "--reason", "audit"]);
    let (c, text) = code(
        d,
        &[
            "stamp",
            "--seal",
            &id,
            "--key",
            "org.key",
            "--passphrase-file",
            "kpw",
            "--in",
            "data.bin",
            "--out",
            "x.ses",
        ],
    );
    assert_eq!(c, 2);
    assert!(text.contains("suspended"), "{text}");
    let (c, text) = code(d, &verify);
    assert_eq!(c, 1, "{text}");
    assert!(
        text.contains("INDETERMINATE") && text.contains("REVOKED_ON_HOLD"),
        "{text}"
    );
    assert!(text.contains("suspended at"), "{text}");
    ok(d, &["seal", "resume", &id]);
    ok(
        d,
        &[
            "stamp",
            "--seal",
            &id,
            "--key",
            "org.key",
            "--passphrase-file",
            "kpw",
            "--in",
            "data.bin",
            "--out",
            "y.ses",
        ],
    );
    // Revoked: final.
    ok(d, &["seal", "revoke", &id, "--reason", "seal lost"]);
    let (c, text) = code(d, &["seal", "resume", &id]);
    assert_eq!(c, 2);
    assert!(text.contains("revocation is final"), "{text}");
    let (c, _) = code(
        d,
        &[
            "stamp",
            "--seal",
            &id,
            "--key",
            "org.key",
            "--passphrase-file",
            "kpw",
            "--in",
            "data.bin",
            "--out",
            "z.ses",
        ],
    );
    assert_eq!(c, 2);
    let history = String::from_utf8(ok(d, &["seal", "show", &id]).stdout).unwrap();
    for action in ["made", "suspended by", "resumed", "revoked by"] {
        assert!(history.contains(action), "{history}");
    }
    // A key the seal does not authorise cannot stamp.
    let (c, text) = code(
        d,
        &[
            "stamp",
            "--seal",
            &id,
            "--key",
            "maker.key",
            "--passphrase-file",
            "kpw",
            "--in",
            "data.bin",
            "--out",
            "w.ses",
        ],
    );
    assert_eq!(c, 2, "{text}");
}

#[test]
fn a_drawn_seal_is_made_and_its_picture_is_a_png() {
    let dir = tempdir();
    let d = dir.path();
    std::fs::write(d.join("kpw"), "key pass\n").unwrap();
    seal_pki(d);
    ok(
        d,
        &[
            "seal",
            "make",
            "--type",
            "contract",
            "--name",
            "示例科技有限公司合同专用章",
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
            "drawn-1",
            "--out",
            "seal.esl",
        ],
    );
    ok(d, &["seal", "show", "drawn-1", "--picture-out", "p.png"]);
    assert!(
        std::fs::read(d.join("p.png"))
            .unwrap()
            .starts_with(b"\x89PNG")
    );
    let inspect =
        String::from_utf8(ok(d, &["seal", "inspect", "--json", "seal.esl"]).stdout).unwrap();
    assert!(inspect.contains("\"widthMm\": 40"), "{inspect}");
}

#[test]
fn ofd_packages_are_recognised_and_verified() {
    let dir = tempdir();
    let d = dir.path();
    let root = ofdrw("ROOT.pem");
    let ofd = ofdrw("SESV4SignDoc.ofd");
    let out = yz(
        d,
        &[
            "verify",
            "--json",
            "--trust",
            root.to_str().unwrap(),
            "--danger-any-maker",
            "--no-revocation-required",
            ofd.to_str().unwrap(),
        ],
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    // Every reference and signature holds; the certificates expired in 2022
    // and nothing proves the signature is older: it cannot be decided.
    assert_eq!(v["indication"], "INDETERMINATE", "{v}");
    assert_eq!(v["subIndication"], "OUT_OF_BOUNDS_NO_POE", "{v}");
    let refs = v["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["id"] == "reference" && c["status"] == "passed")
        .count();
    assert_eq!(refs, 5);
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn stamping_an_ofd_puts_the_seal_inside_and_it_verifies() {
    let dir = tempdir();
    let d = dir.path();
    std::fs::write(d.join("kpw"), "key pass\n").unwrap();
    std::fs::write(d.join("seal.png"), b"\x89PNG\r\n\x1a\nx").unwrap();
    seal_pki(d);
    ok(
        d,
        &[
            "seal",
            "make",
            "--type",
            "official",
            "--name",
            "Example Org",
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
            "--picture",
            "seal.png",
            "--id",
            "s1",
            "--out",
            "s1.esl",
        ],
    );
    std::fs::copy(ofdrw("SESV4SignDoc.ofd"), d.join("doc.ofd")).unwrap();
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
            "doc.ofd",
            "--out",
            "doc.sealed.ofd",
            "--page",
            "1",
            "--at",
            "120,200",
        ],
    );
    ok(d, &["ca", "crl", "--out", "ca.crl"]);
    let out = yz(
        d,
        &[
            "verify",
            "--json",
            "--trust",
            "roots.pem",
            "--untrusted",
            "home/pki/main/issuing.pem",
            "--crl",
            "ca.crl",
            "doc.sealed.ofd",
        ],
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let checks = v["checks"].as_array().unwrap();
    // Our seal (signature 3) passes every check, including our registry's status; ofdrw's is still intact.
    assert!(
        checks
            .iter()
            .filter(|c| c["id"].as_str().unwrap().starts_with("signature 3/"))
            .all(|c| c["status"] != "failed"),
        "{v}"
    );
    assert!(
        checks
            .iter()
            .any(|c| c["id"] == "signature 3/seal-status" && c["status"] == "passed"),
        "{v}"
    );
    assert_eq!(
        checks
            .iter()
            .filter(|c| c["id"] == "reference" && c["status"] == "failed")
            .count(),
        0,
        "{v}"
    );
}

/// `seal_pki` plus seal `s1` for org.pem, with `picture` as its picture.
fn seal_pki_with_seal(d: &Path, picture: &[u8]) {
    std::fs::write(d.join("kpw"), "key pass\n").unwrap();
    std::fs::write(d.join("seal.png"), picture).unwrap();
    seal_pki(d);
    ok(
        d,
        &[
            "seal",
            "make",
            "--type",
            "official",
            "--name",
            "Example Org",
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
            "--picture",
            "seal.png",
            "--id",
            "s1",
            "--out",
            "s1.esl",
        ],
    );
    ok(d, &["ca", "crl", "--out", "ca.crl"]);
}

#[yinzheng_tests::peer_test(openssl)]
fn a_detached_cms_carries_the_seal_and_verifies_against_the_roots() {
    let dir = tempdir();
    let d = dir.path();
    seal_pki_with_seal(d, b"\x89PNG\r\n\x1a\nx");
    std::fs::write(d.join("contract.bin"), b"any file at all\x00\x01").unwrap();
    let stamp = [
        "stamp",
        "--seal",
        "s1",
        "--key",
        "org.key",
        "--passphrase-file",
        "kpw",
        "--in",
        "contract.bin",
        "--out",
        "contract.p7s",
        "--cms",
    ];
    ok(d, &stamp);
    // OpenSSL reads it as CMS
    yinzheng_tests::openssl_ok(
        d,
        &[
            "cms",
            "-cmsout",
            "-print",
            "-inform",
            "DER",
            "-in",
            "contract.p7s",
        ],
    );
    let verify = [
        "verify",
        "--json",
        "--trust",
        "roots.pem",
        "--untrusted",
        "home/pki/main/issuing.pem",
        "--crl",
        "ca.crl",
        "contract.bin",
        "--sig",
        "contract.p7s",
    ];
    let out = ok(d, &verify);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["indication"], "TOTAL_PASSED", "{v}");
    let checks = v["checks"].as_array().unwrap();
    // the carried seal signature was verified too, with our registry's status
    assert!(
        checks
            .iter()
            .any(|c| c["id"] == "CMS signature seal/seal-status" && c["status"] == "passed"),
        "{v}"
    );
    std::fs::write(d.join("contract.bin"), b"any file at all\x00\x02").unwrap();
    let (code, text) = code(d, &verify);
    assert_eq!(code, 1, "{text}");
    assert!(text.contains("HASH_FAILURE"), "{text}");
}
