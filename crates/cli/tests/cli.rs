//! The `yinzheng` command line against OpenSSL 3, end to end: the flows of the
//! foundation issue, exit codes (0 ok, 1 verification failed, 2 usage/input
//! error) and bad input that must never panic.

#![allow(clippy::unwrap_used)]

use std::fs;
use std::path::Path;
use std::process::Output;
use yinzheng_tests::{openssl_ok, openssl_run, run_cli, tempdir};

const ID: &str = "distid:1234567812345678";

fn yz(dir: &Path, args: &[&str]) -> Output {
    run_cli(env!("CARGO_BIN_EXE_yinzheng"), dir, args, &[])
}

fn code(out: &Output) -> i32 {
    out.status.code().expect("exit code")
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn assert_code(out: &Output, want: i32, what: &str) {
    assert_eq!(
        code(out),
        want,
        "{what}: stdout={} stderr={}",
        stdout(out),
        stderr(out)
    );
}

fn setup(d: &Path) {
    fs::write(d.join("pw"), "correct horse battery staple\n").unwrap();
    fs::write(d.join("msg"), "电子证照 license body\n".repeat(100)).unwrap();
}

#[test]
fn digest_of_abc_is_the_published_sm3_value() {
    let dir = tempdir();
    fs::write(dir.path().join("abc"), "abc").unwrap();
    let out = yz(dir.path(), &["digest", "--alg", "sm3", "abc"]);
    assert_code(&out, 0, "digest");
    assert_eq!(
        stdout(&out).trim(),
        "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0"
    );
    let out = yz(dir.path(), &["digest", "--alg", "sha256", "abc", "--json"]);
    let v: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(
        v["digest"],
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    );
}

#[yinzheng_tests::peer_test(openssl)]
fn sm2_signature_round_trips_with_openssl_both_ways() {
    let dir = tempdir();
    let d = dir.path();
    setup(d);
    // ours → OpenSSL
    assert_code(
        &yz(
            d,
            &[
                "key",
                "gen",
                "--alg",
                "sm2",
                "--out",
                "k.pem",
                "--pub-out",
                "k.pub.pem",
                "--passphrase-file",
                "pw",
            ],
        ),
        0,
        "key gen",
    );
    assert_code(
        &yz(
            d,
            &[
                "sign",
                "--key",
                "k.pem",
                "--passphrase-file",
                "pw",
                "--in",
                "msg",
                "--out",
                "msg.sig",
            ],
        ),
        0,
        "sign",
    );
    openssl_ok(
        d,
        &[
            "pkeyutl",
            "-verify",
            "-pubin",
            "-inkey",
            "k.pub.pem",
            "-rawin",
            "-digest",
            "sm3",
            "-pkeyopt",
            ID,
            "-in",
            "msg",
            "-sigfile",
            "msg.sig",
        ],
    );
    assert_code(
        &yz(
            d,
            &["verify", "--pub", "k.pub.pem", "--sig", "msg.sig", "msg"],
        ),
        0,
        "verify own",
    );

    // a flipped byte in the file: OpenSSL and we both say no, we exit 1
    let mut body = fs::read(d.join("msg")).unwrap();
    body[10] ^= 0x01;
    fs::write(d.join("msg.bad"), &body).unwrap();
    let o = openssl_run(
        d,
        &[
            "pkeyutl",
            "-verify",
            "-pubin",
            "-inkey",
            "k.pub.pem",
            "-rawin",
            "-digest",
            "sm3",
            "-pkeyopt",
            ID,
            "-in",
            "msg.bad",
            "-sigfile",
            "msg.sig",
        ],
    );
    assert!(!o.status.success());
    let out = yz(
        d,
        &[
            "verify",
            "--pub",
            "k.pub.pem",
            "--sig",
            "msg.sig",
            "msg.bad",
            "--json",
        ],
    );
    assert_code(&out, 1, "flipped file byte");
    let v: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(v["indication"], "TOTAL_FAILED");
    assert_eq!(v["subIndication"], "SIG_CRYPTO_FAILURE");
    // a flipped byte in the signature: exit 1 too
    let mut sig = fs::read(d.join("msg.sig")).unwrap();
    let last = sig.len() - 1;
    sig[last] ^= 0x80;
    fs::write(d.join("msg.sig.bad"), &sig).unwrap();
    assert_code(
        &yz(
            d,
            &[
                "verify",
                "--pub",
                "k.pub.pem",
                "--sig",
                "msg.sig.bad",
                "msg",
            ],
        ),
        1,
        "flipped sig byte",
    );

    // OpenSSL → ours, with an OpenSSL-made key
    openssl_ok(
        d,
        &[
            "genpkey",
            "-algorithm",
            "EC",
            "-pkeyopt",
            "ec_paramgen_curve:SM2",
            "-out",
            "o.pem",
        ],
    );
    openssl_ok(d, &["pkey", "-in", "o.pem", "-pubout", "-out", "o.pub.pem"]);
    openssl_ok(
        d,
        &[
            "pkeyutl", "-sign", "-inkey", "o.pem", "-rawin", "-digest", "sm3", "-pkeyopt", ID,
            "-in", "msg", "-out", "o.sig",
        ],
    );
    assert_code(
        &yz(
            d,
            &["verify", "--pub", "o.pub.pem", "--sig", "o.sig", "msg"],
        ),
        0,
        "verify OpenSSL sig",
    );
    // our signer with OpenSSL's (unencrypted) key, checked by OpenSSL
    assert_code(
        &yz(
            d,
            &["sign", "--key", "o.pem", "--in", "msg", "--out", "o2.sig"],
        ),
        0,
        "sign with OpenSSL key",
    );
    openssl_ok(
        d,
        &[
            "pkeyutl",
            "-verify",
            "-pubin",
            "-inkey",
            "o.pub.pem",
            "-rawin",
            "-digest",
            "sm3",
            "-pkeyopt",
            ID,
            "-in",
            "msg",
            "-sigfile",
            "o2.sig",
        ],
    );
}

#[yinzheng_tests::peer_test(openssl)]
fn openssl_default_empty_id_needs_explicit_empty_id() {
    let dir = tempdir();
    let d = dir.path();
    setup(d);
    openssl_ok(
        d,
        &[
            "genpkey",
            "-algorithm",
            "EC",
            "-pkeyopt",
            "ec_paramgen_curve:SM2",
            "-out",
            "o.pem",
        ],
    );
    openssl_ok(d, &["pkey", "-in", "o.pem", "-pubout", "-out", "o.pub.pem"]);
    // no distid: OpenSSL uses the empty ID
    openssl_ok(
        d,
        &[
            "pkeyutl", "-sign", "-inkey", "o.pem", "-rawin", "-digest", "sm3", "-in", "msg",
            "-out", "e.sig",
        ],
    );
    assert_code(
        &yz(
            d,
            &["verify", "--pub", "o.pub.pem", "--sig", "e.sig", "msg"],
        ),
        1,
        "default ID must fail",
    );
    let out = yz(
        d,
        &[
            "verify",
            "--pub",
            "o.pub.pem",
            "--sig",
            "e.sig",
            "msg",
            "--sm2-id",
            "",
        ],
    );
    assert_code(&out, 0, "empty ID must pass");
    // and the other way: we sign with the empty ID, OpenSSL verifies without distid
    assert_code(
        &yz(
            d,
            &[
                "sign", "--key", "o.pem", "--sm2-id", "", "--in", "msg", "--out", "e2.sig",
            ],
        ),
        0,
        "sign empty ID",
    );
    openssl_ok(
        d,
        &[
            "pkeyutl",
            "-verify",
            "-pubin",
            "-inkey",
            "o.pub.pem",
            "-rawin",
            "-digest",
            "sm3",
            "-in",
            "msg",
            "-sigfile",
            "e2.sig",
        ],
    );
}

#[test]
fn raw_r_s_signatures_verify() {
    let dir = tempdir();
    let d = dir.path();
    setup(d);
    yz(
        d,
        &[
            "key",
            "gen",
            "--out",
            "k.pem",
            "--pub-out",
            "k.pub",
            "--unencrypted",
        ],
    );
    assert_code(
        &yz(
            d,
            &[
                "sign",
                "--key",
                "k.pem",
                "--in",
                "msg",
                "--out",
                "raw.sig",
                "--sig-format",
                "raw",
            ],
        ),
        0,
        "raw sign",
    );
    assert_eq!(fs::read(d.join("raw.sig")).unwrap().len(), 64);
    let out = yz(
        d,
        &[
            "verify", "--pub", "k.pub", "--sig", "raw.sig", "msg", "--json",
        ],
    );
    assert_code(&out, 0, "raw verify");
    assert!(stdout(&out).contains("\"signatureEncoding\": \"raw\""));
}

#[yinzheng_tests::peer_test(openssl)]
fn p256_and_ed25519_round_trip_with_openssl() {
    let dir = tempdir();
    let d = dir.path();
    setup(d);
    // P-256: ours → `openssl dgst -sha256 -verify`, OpenSSL → ours
    yz(
        d,
        &[
            "key",
            "gen",
            "--alg",
            "p256",
            "--out",
            "p.pem",
            "--pub-out",
            "p.pub",
            "--passphrase-file",
            "pw",
        ],
    );
    assert_code(
        &yz(
            d,
            &[
                "sign",
                "--key",
                "p.pem",
                "--passphrase-file",
                "pw",
                "--in",
                "msg",
                "--out",
                "p.sig",
            ],
        ),
        0,
        "p256 sign",
    );
    openssl_ok(
        d,
        &[
            "dgst",
            "-sha256",
            "-verify",
            "p.pub",
            "-signature",
            "p.sig",
            "msg",
        ],
    );
    openssl_ok(
        d,
        &[
            "genpkey",
            "-algorithm",
            "EC",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-out",
            "op.pem",
        ],
    );
    openssl_ok(d, &["pkey", "-in", "op.pem", "-pubout", "-out", "op.pub"]);
    openssl_ok(
        d,
        &[
            "dgst", "-sha256", "-sign", "op.pem", "-out", "op.sig", "msg",
        ],
    );
    assert_code(
        &yz(d, &["verify", "--pub", "op.pub", "--sig", "op.sig", "msg"]),
        0,
        "verify OpenSSL p256",
    );
    assert_code(
        &yz(d, &["verify", "--pub", "op.pub", "--sig", "p.sig", "msg"]),
        1,
        "wrong key",
    );

    // Ed25519
    yz(
        d,
        &[
            "key",
            "gen",
            "--alg",
            "ed25519",
            "--out",
            "e.pem",
            "--pub-out",
            "e.pub",
            "--passphrase-file",
            "pw",
        ],
    );
    assert_code(
        &yz(
            d,
            &[
                "sign",
                "--key",
                "e.pem",
                "--passphrase-file",
                "pw",
                "--in",
                "msg",
                "--out",
                "e.sig",
            ],
        ),
        0,
        "ed sign",
    );
    openssl_ok(
        d,
        &[
            "pkeyutl", "-verify", "-pubin", "-inkey", "e.pub", "-rawin", "-in", "msg", "-sigfile",
            "e.sig",
        ],
    );
    openssl_ok(d, &["genpkey", "-algorithm", "ED25519", "-out", "oe.pem"]);
    openssl_ok(d, &["pkey", "-in", "oe.pem", "-pubout", "-out", "oe.pub"]);
    openssl_ok(
        d,
        &[
            "pkeyutl", "-sign", "-inkey", "oe.pem", "-rawin", "-in", "msg", "-out", "oe.sig",
        ],
    );
    assert_code(
        &yz(d, &["verify", "--pub", "oe.pub", "--sig", "oe.sig", "msg"]),
        0,
        "verify OpenSSL ed25519",
    );
}

#[yinzheng_tests::peer_test(openssl)]
fn rsa_signatures_from_openssl_verify() {
    let dir = tempdir();
    let d = dir.path();
    setup(d);
    openssl_ok(
        d,
        &[
            "genpkey",
            "-algorithm",
            "RSA",
            "-pkeyopt",
            "rsa_keygen_bits:2048",
            "-out",
            "r.pem",
        ],
    );
    openssl_ok(d, &["pkey", "-in", "r.pem", "-pubout", "-out", "r.pub"]);
    openssl_ok(
        d,
        &["dgst", "-sha256", "-sign", "r.pem", "-out", "r.sig", "msg"],
    );
    assert_code(
        &yz(d, &["verify", "--pub", "r.pub", "--sig", "r.sig", "msg"]),
        2,
        "RSA needs --alg",
    );
    assert_code(
        &yz(
            d,
            &[
                "verify",
                "--pub",
                "r.pub",
                "--sig",
                "r.sig",
                "msg",
                "--alg",
                "rsa-pkcs1-sha256",
            ],
        ),
        0,
        "pkcs1",
    );
    openssl_ok(
        d,
        &[
            "dgst",
            "-sha256",
            "-sign",
            "r.pem",
            "-sigopt",
            "rsa_padding_mode:pss",
            "-sigopt",
            "rsa_pss_saltlen:32",
            "-out",
            "pss.sig",
            "msg",
        ],
    );
    assert_code(
        &yz(
            d,
            &[
                "verify",
                "--pub",
                "r.pub",
                "--sig",
                "pss.sig",
                "msg",
                "--alg",
                "rsa-pss-sha256",
            ],
        ),
        0,
        "pss",
    );
    assert_code(
        &yz(
            d,
            &[
                "verify",
                "--pub",
                "r.pub",
                "--sig",
                "pss.sig",
                "msg",
                "--alg",
                "rsa-pkcs1-sha256",
            ],
        ),
        1,
        "pss as pkcs1",
    );
}

#[yinzheng_tests::peer_test(openssl)]
fn encrypted_keys_cross_load_through_the_cli() {
    let dir = tempdir();
    let d = dir.path();
    setup(d);
    // OpenSSL-encrypted (SM4-CBC, its default PRF HMAC-SHA256) → our signer
    openssl_ok(
        d,
        &[
            "genpkey",
            "-algorithm",
            "EC",
            "-pkeyopt",
            "ec_paramgen_curve:SM2",
            "-out",
            "o.pem",
        ],
    );
    openssl_ok(
        d,
        &[
            "pkcs8",
            "-topk8",
            "-v2",
            "sm4-cbc",
            "-in",
            "o.pem",
            "-passout",
            "file:pw",
            "-out",
            "o.enc.pem",
        ],
    );
    openssl_ok(d, &["pkey", "-in", "o.pem", "-pubout", "-out", "o.pub"]);
    assert_code(
        &yz(
            d,
            &[
                "sign",
                "--key",
                "o.enc.pem",
                "--passphrase-file",
                "pw",
                "--in",
                "msg",
                "--out",
                "s",
            ],
        ),
        0,
        "sign",
    );
    assert_code(
        &yz(d, &["verify", "--pub", "o.pub", "--sig", "s", "msg"]),
        0,
        "verify",
    );
    // ours with --kdf-prf sha256 → OpenSSL 3.0 reads it and signs with it
    yz(
        d,
        &[
            "key",
            "gen",
            "--out",
            "y.pem",
            "--pub-out",
            "y.pub",
            "--passphrase-file",
            "pw",
            "--kdf-prf",
            "sha256",
            "--iterations",
            "4096",
        ],
    );
    openssl_ok(
        d,
        &[
            "pkeyutl", "-sign", "-inkey", "y.pem", "-passin", "file:pw", "-rawin", "-digest",
            "sm3", "-pkeyopt", ID, "-in", "msg", "-out", "ys",
        ],
    );
    assert_code(
        &yz(d, &["verify", "--pub", "y.pub", "--sig", "ys", "msg"]),
        0,
        "verify",
    );
    // key pub gives the same SPKI OpenSSL derives
    let ours = yz(
        d,
        &["key", "pub", "--key", "y.pem", "--passphrase-file", "pw"],
    );
    let theirs = openssl_ok(
        d,
        &["pkey", "-in", "y.pem", "-passin", "file:pw", "-pubout"],
    );
    assert_eq!(
        stdout(&ours).trim(),
        String::from_utf8_lossy(&theirs.stdout).trim()
    );
}

#[yinzheng_tests::peer_test(openssl)]
fn bad_input_gives_clear_errors_and_the_right_exit_code() {
    let dir = tempdir();
    let d = dir.path();
    setup(d);
    yz(
        d,
        &[
            "key",
            "gen",
            "--out",
            "k.pem",
            "--pub-out",
            "k.pub",
            "--passphrase-file",
            "pw",
        ],
    );
    yz(
        d,
        &[
            "sign",
            "--key",
            "k.pem",
            "--passphrase-file",
            "pw",
            "--in",
            "msg",
            "--out",
            "msg.sig",
        ],
    );
    fs::write(d.join("wrong"), "not the passphrase\n").unwrap();

    let case = |args: &[&str], want: i32, needle: &str| {
        let out = yz(d, args);
        assert_code(&out, want, &format!("{args:?}"));
        assert!(
            stderr(&out).to_lowercase().contains(&needle.to_lowercase()),
            "{args:?}: stderr {:?} lacks {needle:?}",
            stderr(&out)
        );
    };
    // wrong / missing passphrase
    case(
        &[
            "sign",
            "--key",
            "k.pem",
            "--passphrase-file",
            "wrong",
            "--in",
            "msg",
            "--out",
            "x",
        ],
        2,
        "wrong passphrase",
    );
    case(
        &["sign", "--key", "k.pem", "--in", "msg", "--out", "x"],
        2,
        "encrypted",
    );
    // malformed PEM and DER keys
    fs::write(
        d.join("bad.pem"),
        "-----BEGIN PUBLIC KEY-----\n@@@@\n-----END PUBLIC KEY-----\n",
    )
    .unwrap();
    case(
        &["verify", "--pub", "bad.pem", "--sig", "msg.sig", "msg"],
        2,
        "malformed PEM",
    );
    fs::write(d.join("bad.der"), [0x30, 0x82, 0x01]).unwrap();
    case(
        &["verify", "--pub", "bad.der", "--sig", "msg.sig", "msg"],
        2,
        "SubjectPublicKeyInfo",
    );
    // truncated public key
    let pubkey = fs::read_to_string(d.join("k.pub")).unwrap();
    fs::write(d.join("trunc.pub"), &pubkey[..pubkey.len() / 2]).unwrap();
    case(
        &["verify", "--pub", "trunc.pub", "--sig", "msg.sig", "msg"],
        2,
        "PEM",
    );
    // a point not on the curve
    let out = openssl_ok(d, &["pkey", "-pubin", "-in", "k.pub", "-outform", "DER"]);
    let mut spki = out.stdout.clone();
    let n = spki.len();
    spki[n - 1] ^= 0x01;
    fs::write(d.join("offcurve.der"), &spki).unwrap();
    case(
        &["verify", "--pub", "offcurve.der", "--sig", "msg.sig", "msg"],
        2,
        "not a point on the SM2 curve",
    );
    // truncated and garbage signatures: a verification failure (1), not a crash
    let sig = fs::read(d.join("msg.sig")).unwrap();
    fs::write(d.join("trunc.sig"), &sig[..sig.len() - 5]).unwrap();
    case(
        &["verify", "--pub", "k.pub", "--sig", "trunc.sig", "msg"],
        1,
        "",
    );
    fs::write(d.join("empty.sig"), b"").unwrap();
    case(
        &["verify", "--pub", "k.pub", "--sig", "empty.sig", "msg"],
        1,
        "",
    );
    // r = 0 and s = n: out of range
    let n_hex = "FFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFF7203DF6B21C6052B53BBF40939D54123";
    let mut r0 = vec![0u8; 32];
    r0.extend(hex::decode(n_hex).unwrap());
    fs::write(d.join("range.sig"), &r0).unwrap();
    let out = yz(
        d,
        &[
            "verify",
            "--pub",
            "k.pub",
            "--sig",
            "range.sig",
            "msg",
            "--json",
        ],
    );
    assert_code(&out, 1, "r, s out of range");
    assert!(stdout(&out).contains("FORMAT_FAILURE"), "{}", stdout(&out));
    // missing files and usage errors
    case(
        &["verify", "--pub", "nope.pub", "--sig", "msg.sig", "msg"],
        2,
        "cannot open",
    );
    case(
        &["verify", "--pub", "k.pub", "--sig", "msg.sig", "nope"],
        2,
        "nope",
    );
    case(&["digest", "nope"], 2, "cannot open");
    case(&["verify", "msg"], 2, "--sig");
    case(&["frobnicate"], 2, "unrecognized");
    case(
        &["key", "gen", "--out", "k.pem", "--passphrase-file", "pw"],
        2,
        "already exists",
    );
    case(&["key", "gen", "--out", "plain.pem"], 2, "encrypted");
    // --json errors are JSON on stdout too
    let out = yz(
        d,
        &[
            "verify", "--pub", "nope.pub", "--sig", "msg.sig", "msg", "--json",
        ],
    );
    let v: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert!(v["error"].as_str().unwrap().contains("nope.pub"));
}

#[test]
fn private_key_files_are_private_and_encrypted() {
    let dir = tempdir();
    let d = dir.path();
    setup(d);
    yz(
        d,
        &["key", "gen", "--out", "k.pem", "--passphrase-file", "pw"],
    );
    let text = fs::read_to_string(d.join("k.pem")).unwrap();
    assert!(text.starts_with("-----BEGIN ENCRYPTED PRIVATE KEY-----"));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = fs::metadata(d.join("k.pem")).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }
    // no temp files left behind
    let names: Vec<_> = fs::read_dir(d)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert!(
        names.iter().all(|n| !n.to_string_lossy().contains(".tmp-")),
        "{names:?}"
    );
}
