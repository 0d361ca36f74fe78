//! Library-level interop with OpenSSL 3: keys and encrypted keys cross-load both
//! ways, and SM3, HMAC-SM3, SM4-CBC agree with OpenSSL's implementations.
//! (Signature round trips through the `yinzheng` CLI are in crates/cli/tests.)

#![allow(clippy::unwrap_used)]

use std::fs;
use yinzheng_crypto::{
    HmacSm3, KdfPrf, KeyAlgorithm, KeyCipher, KeyEncryption, PrivateKey, PublicKey, Signer, sm3,
};
use yinzheng_tests::{openssl_ok, openssl_run, tempdir};

fn fast() -> KeyEncryption {
    KeyEncryption::default().with_iterations(2048)
}

/// OpenSSL's view of a private key's public half, as SPKI DER.
fn openssl_pub_der(dir: &std::path::Path, key: &str, pass: Option<&str>) -> Vec<u8> {
    let mut args = vec![
        "pkey", "-in", key, "-pubout", "-outform", "DER", "-out", "pub.der",
    ];
    let passin;
    if let Some(p) = pass {
        passin = format!("pass:{p}");
        args.extend(["-passin", &passin]);
    }
    openssl_ok(dir, &args);
    fs::read(dir.join("pub.der")).unwrap()
}

#[yinzheng_tests::peer_test(openssl)]
fn openssl_generated_keys_load_here() {
    let dir = tempdir();
    let d = dir.path();
    let cases: &[(&str, &[&str])] = &[
        (
            "sm2.pem",
            &[
                "genpkey",
                "-algorithm",
                "EC",
                "-pkeyopt",
                "ec_paramgen_curve:SM2",
                "-out",
                "sm2.pem",
            ],
        ),
        (
            "sm2b.pem",
            &["genpkey", "-algorithm", "SM2", "-out", "sm2b.pem"],
        ),
        (
            "p256.pem",
            &[
                "genpkey",
                "-algorithm",
                "EC",
                "-pkeyopt",
                "ec_paramgen_curve:P-256",
                "-out",
                "p256.pem",
            ],
        ),
        (
            "ed.pem",
            &["genpkey", "-algorithm", "ED25519", "-out", "ed.pem"],
        ),
    ];
    for (file, args) in cases {
        openssl_ok(d, args);
        let ours = PrivateKey::from_bytes(&fs::read(d.join(file)).unwrap(), None)
            .unwrap_or_else(|e| panic!("{file}: {e}"));
        assert_eq!(
            ours.public_key().to_spki_der(),
            openssl_pub_der(d, file, None),
            "{file}"
        );
        // the same key as DER
        openssl_ok(
            d,
            &["pkey", "-in", file, "-outform", "DER", "-out", "k.der"],
        );
        let der = PrivateKey::from_bytes(&fs::read(d.join("k.der")).unwrap(), None).unwrap();
        assert_eq!(der.public_key(), ours.public_key());
        // and OpenSSL's SPKI loads as our public key
        let spki = PublicKey::from_spki_der(&openssl_pub_der(d, file, None)).unwrap();
        assert_eq!(&spki, ours.public_key());
    }
    // SEC1 forms: OpenSSL writes "SM2 PRIVATE KEY" / "EC PRIVATE KEY" blocks.
    for (src, out) in [("sm2.pem", "sm2-sec1.pem"), ("p256.pem", "p256-sec1.pem")] {
        openssl_ok(d, &["ec", "-in", src, "-out", out]);
        let sec1 = PrivateKey::from_bytes(&fs::read(d.join(out)).unwrap(), None).unwrap();
        assert_eq!(
            sec1.public_key().to_spki_der(),
            openssl_pub_der(d, src, None)
        );
    }
    // `openssl ecparam -genkey` prepends an EC PARAMETERS block.
    openssl_ok(
        d,
        &["ecparam", "-name", "SM2", "-genkey", "-out", "ecparam.pem"],
    );
    let k = PrivateKey::from_bytes(&fs::read(d.join("ecparam.pem")).unwrap(), None).unwrap();
    assert_eq!(k.algorithm(), KeyAlgorithm::Sm2);
}

#[yinzheng_tests::peer_test(openssl)]
fn our_keys_load_in_openssl() {
    let dir = tempdir();
    let d = dir.path();
    for alg in [
        KeyAlgorithm::Sm2,
        KeyAlgorithm::EcdsaP256,
        KeyAlgorithm::Ed25519,
    ] {
        let key = PrivateKey::generate(alg).unwrap();
        fs::write(d.join("k.pem"), key.to_pkcs8_pem().as_bytes()).unwrap();
        assert_eq!(
            openssl_pub_der(d, "k.pem", None),
            key.public_key().to_spki_der(),
            "{alg}"
        );
        fs::write(d.join("k.der"), key.to_pkcs8_der().as_slice()).unwrap();
        openssl_ok(d, &["pkey", "-in", "k.der", "-inform", "DER", "-noout"]);
        if alg != KeyAlgorithm::Ed25519 {
            fs::write(d.join("sec1.der"), key.to_sec1_der().unwrap().as_slice()).unwrap();
            openssl_ok(
                d,
                &[
                    "ec", "-in", "sec1.der", "-inform", "DER", "-noout", "-check",
                ],
            );
        }
        fs::write(d.join("pub.pem"), key.public_key().to_pem()).unwrap();
        openssl_ok(d, &["pkey", "-pubin", "-in", "pub.pem", "-noout"]);
    }
}

#[yinzheng_tests::peer_test(openssl)]
fn openssl_encrypted_keys_load_here() {
    let dir = tempdir();
    let d = dir.path();
    openssl_ok(
        d,
        &[
            "genpkey",
            "-algorithm",
            "EC",
            "-pkeyopt",
            "ec_paramgen_curve:SM2",
            "-out",
            "k.pem",
        ],
    );
    let expect = openssl_pub_der(d, "k.pem", None);
    // OpenSSL 3.0 writes SM4-CBC with HMAC-SHA256 for `-v2 sm4-cbc`, and AES-256-CBC by default.
    for (out, extra) in [
        ("sm4.pem", vec!["-v2", "sm4-cbc"]),
        ("aes.pem", vec![]),
        ("aes128.pem", vec!["-v2", "aes-128-cbc"]),
    ] {
        let mut args = vec![
            "pkcs8",
            "-topk8",
            "-in",
            "k.pem",
            "-passout",
            "pass:s3cret",
            "-out",
            out,
        ];
        args.extend(extra);
        openssl_ok(d, &args);
        let k = PrivateKey::from_bytes(&fs::read(d.join(out)).unwrap(), Some(b"s3cret")).unwrap();
        assert_eq!(k.public_key().to_spki_der(), expect, "{out}");
        assert!(PrivateKey::from_bytes(&fs::read(d.join(out)).unwrap(), Some(b"wrong")).is_err());
    }
}

#[yinzheng_tests::peer_test(openssl)]
fn our_encrypted_keys_load_in_openssl_3_0() {
    let dir = tempdir();
    let d = dir.path();
    let key = PrivateKey::generate(KeyAlgorithm::Sm2).unwrap();
    for cipher in [KeyCipher::Sm4Cbc, KeyCipher::Aes256Cbc] {
        let params = KeyEncryption::openssl_3_0_compatible()
            .with_cipher(cipher)
            .with_iterations(2048);
        fs::write(
            d.join("enc.pem"),
            key.to_encrypted_pkcs8_pem(b"pa55", &params).unwrap(),
        )
        .unwrap();
        assert_eq!(
            openssl_pub_der(d, "enc.pem", Some("pa55")),
            key.public_key().to_spki_der()
        );
        let bad = openssl_run(
            d,
            &["pkey", "-in", "enc.pem", "-passin", "pass:nope", "-noout"],
        );
        assert!(!bad.status.success());
    }
}

/// OpenSSL 3.0 cannot read hmacWithSM3 (it does not know the PRF), so check our
/// default encryption by redoing each step with OpenSSL's primitives: PBKDF2 with
/// SM3 (`openssl kdf`), SM4-CBC decryption (`openssl enc`), and the key (`openssl pkey`).
#[yinzheng_tests::peer_test(openssl)]
fn default_hmac_sm3_sm4_encryption_checked_step_by_step_with_openssl() {
    let dir = tempdir();
    let d = dir.path();
    let key = PrivateKey::generate(KeyAlgorithm::Sm2).unwrap();
    let enc = key.to_encrypted_pkcs8_der(b"gm-pass", &fast()).unwrap();
    fs::write(d.join("enc.der"), &enc).unwrap();
    let dump =
        String::from_utf8(openssl_ok(d, &["asn1parse", "-inform", "DER", "-in", "enc.der"]).stdout)
            .unwrap();
    let lines: Vec<&str> = dump.lines().collect();
    assert!(
        dump.contains(":PBES2") && dump.contains(":PBKDF2"),
        "{dump}"
    );
    assert!(
        dump.contains(":1.2.156.10197.1.401.2"),
        "PRF must be hmacWithSM3: {dump}"
    );
    assert!(dump.contains(":sm4-cbc"), "cipher must be SM4-CBC: {dump}");
    let hex_of = |line: &str| line.rsplit(':').next().unwrap().trim().to_string();
    let octets: Vec<String> = lines
        .iter()
        .filter(|l| l.contains("OCTET STRING"))
        .map(|l| hex_of(l))
        .collect();
    let (salt, iv, ct) = (&octets[0], &octets[1], &octets[2]);
    let iter_line = lines.iter().find(|l| l.contains("INTEGER")).unwrap();
    let iters = u32::from_str_radix(&hex_of(iter_line), 16).unwrap();
    assert_eq!(iters, 2048);
    let kdf = openssl_ok(
        d,
        &[
            "kdf",
            "-keylen",
            "16",
            "-kdfopt",
            "digest:SM3",
            "-kdfopt",
            "pass:gm-pass",
            "-kdfopt",
            &format!("hexsalt:{salt}"),
            "-kdfopt",
            &format!("iter:{iters}"),
            "PBKDF2",
        ],
    );
    let sm4_key = String::from_utf8(kdf.stdout)
        .unwrap()
        .trim()
        .replace(':', "");
    fs::write(d.join("ct.bin"), hex::decode(ct).unwrap()).unwrap();
    openssl_ok(
        d,
        &[
            "enc",
            "-d",
            "-sm4-cbc",
            "-K",
            &sm4_key,
            "-iv",
            iv,
            "-in",
            "ct.bin",
            "-out",
            "plain.der",
        ],
    );
    assert_eq!(
        openssl_pub_der(d, "plain.der", None),
        key.public_key().to_spki_der(),
        "OpenSSL-decrypted PKCS#8 is our key"
    );
}

#[yinzheng_tests::peer_test(openssl)]
fn sm3_hmac_sm3_and_sm4_agree_with_openssl() {
    let dir = tempdir();
    let d = dir.path();
    let data: Vec<u8> = (0..100_000u32).map(|i| (i * 7 + 3) as u8).collect();
    fs::write(d.join("data"), &data).unwrap();
    let out = String::from_utf8(openssl_ok(d, &["dgst", "-sm3", "-r", "data"]).stdout).unwrap();
    assert_eq!(
        out.split_whitespace().next().unwrap(),
        hex::encode(sm3(&data))
    );

    let out = openssl_ok(
        d,
        &[
            "mac",
            "-digest",
            "SM3",
            "-macopt",
            "hexkey:000102030405",
            "-in",
            "data",
            "HMAC",
        ],
    );
    let mut mac = HmacSm3::new(&[0, 1, 2, 3, 4, 5]);
    mac.update(&data);
    assert_eq!(
        String::from_utf8(out.stdout).unwrap().trim().to_lowercase(),
        hex::encode(mac.finalize())
    );
}

#[yinzheng_tests::peer_test(openssl)]
fn signature_made_by_our_signer_trait_verifies_in_openssl() {
    // The Signer trait (what pki and seal will call) produces what OpenSSL expects.
    let dir = tempdir();
    let d = dir.path();
    let key = PrivateKey::generate(KeyAlgorithm::Sm2).unwrap();
    let signer: &dyn Signer = &key;
    fs::write(d.join("m"), b"trait message").unwrap();
    fs::write(d.join("m.sig"), signer.sign(b"trait message").unwrap()).unwrap();
    fs::write(d.join("pub.pem"), key.public_key().to_pem()).unwrap();
    openssl_ok(
        d,
        &[
            "pkeyutl",
            "-verify",
            "-pubin",
            "-inkey",
            "pub.pem",
            "-rawin",
            "-digest",
            "sm3",
            "-pkeyopt",
            "distid:1234567812345678",
            "-in",
            "m",
            "-sigfile",
            "m.sig",
        ],
    );
    let _ = KdfPrf::HmacSm3;
}
