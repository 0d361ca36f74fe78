//! SM2 keys in a GM/T 0018 device — SoftSDF, the software SDF device on
//! GmSSL, built from testdata/peers by `scripts/sm2-peers.sh softsdf` — sign
//! what we, OpenSSL and the device's own public key file verify; every device
//! refusal is a typed error naming the function.
//!
//! SoftSDF keeps its keys in files of the process's current directory, which a
//! test cannot change for itself alone: each test makes a device directory with
//! `softsdfinit` and runs itself again in a child process working there.

use std::path::{Path, PathBuf};
use yinzheng_crypto::{PublicKey, SignatureAlgorithm, Signer};
use yinzheng_sdf::{Error, PasswordSource, SdfKey};

const CHILD_ENV: &str = "YINZHENG_TEST_SOFTSDF_LIB";
const PASSWORD: &str = "P@ssw0rd-1";

/// Run `body(library)` in a child process working in a fresh SoftSDF device
/// directory (signing keys 1 and 2, passwords in the files `pw-1`, `pw-2`).
fn with_device(name: &str, body: impl FnOnce(&Path)) {
    if let Ok(lib) = std::env::var(CHILD_ENV) {
        body(Path::new(&lib));
        return;
    }
    let device = yinzheng_tests::tempdir();
    yinzheng_tests::softsdf_key(device.path(), 1, PASSWORD);
    yinzheng_tests::softsdf_key(device.path(), 2, "another-password");
    let lib = yinzheng_tests::softsdf().join("libsoftsdf.so");
    yinzheng_tests::rerun_in_child(
        name,
        "SoftSDF",
        device.path(),
        &[(CHILD_ENV, lib.as_os_str())],
    );
}

fn password(key: u32) -> PasswordSource {
    PasswordSource::File(PathBuf::from(format!("pw-{key}")))
}

#[yinzheng_tests::peer_test(softsdf, openssl)]
fn a_device_key_signs_what_we_and_openssl_verify() {
    with_device("a_device_key_signs_what_we_and_openssl_verify", |lib| {
        let key = SdfKey::open(lib, 1, &password(1), None).expect("the device key");
        assert_eq!(key.algorithm(), SignatureAlgorithm::Sm2Sm3);
        // The exported public key is the one softsdfinit wrote beside it.
        let written = std::fs::read_to_string("sm2signpub-1.pem").expect("the device's file");
        assert_eq!(
            key.public_key(),
            &PublicKey::from_pem(&written).expect("a public key"),
            "SDF_ExportSignPublicKey_ECC mapped to the same key"
        );
        // Many signatures: r or s with leading zero bytes come up too.
        for i in 0..300u32 {
            let message = format!("CRL number {i}").into_bytes();
            let sig = key.sign(&message).expect("the device signs");
            key.public_key()
                .verify(SignatureAlgorithm::Sm2Sm3, &message, &sig)
                .unwrap_or_else(|e| panic!("signature {i} does not verify: {e}"));
            assert!(
                key.public_key()
                    .verify(SignatureAlgorithm::Sm2Sm3, b"another message", &sig)
                    .is_err()
            );
        }
        // OpenSSL, with the GM/T default ID our Z_A used.
        let work = yinzheng_tests::tempdir();
        let w = work.path();
        std::fs::write(w.join("m"), b"a seal signed in a cipher machine").expect("write");
        std::fs::write(
            w.join("m.sig"),
            key.sign(b"a seal signed in a cipher machine")
                .expect("signs"),
        )
        .expect("write");
        std::fs::write(w.join("pub.pem"), key.public_key().to_pem()).expect("write");
        yinzheng_tests::openssl_ok(
            w,
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
        // A second key of the same device, in a session of its own.
        let other = SdfKey::open(lib, 2, &password(2), None).expect("key 2");
        assert_ne!(other.public_key(), key.public_key());
        let sig = other.sign(b"two keys").expect("signs");
        other
            .public_key()
            .verify(SignatureAlgorithm::Sm2Sm3, b"two keys", &sig)
            .expect("verifies");
    });
}

#[yinzheng_tests::peer_test(softsdf)]
fn device_refusals_are_typed_errors_naming_the_function() {
    with_device(
        "device_refusals_are_typed_errors_naming_the_function",
        |lib| {
            // The wrong password: the device refuses the access right.
            std::fs::write("wrong", "not-the-password").expect("write");
            let e = SdfKey::open(lib, 1, &PasswordSource::File("wrong".into()), None)
                .expect_err("refused");
            assert!(
                matches!(
                    e,
                    Error::Device {
                        function: "SDF_GetPrivateKeyAccessRight",
                        ..
                    }
                ),
                "{e}"
            );
            assert!(!e.to_string().contains("not-the-password"), "{e}");
            // A key the device does not have.
            let e = SdfKey::open(lib, 7, &password(1), None).expect_err("no key 7");
            assert!(matches!(e, Error::Device { .. }), "{e}");
            // No password file.
            let e = SdfKey::open(lib, 1, &PasswordSource::File("absent".into()), None)
                .expect_err("no password");
            assert!(matches!(e, Error::Password(_)), "{e}");
            // A library that is not there.
            let e = SdfKey::open(Path::new("/nonexistent/libsdf.so"), 1, &password(1), None)
                .expect_err("no library");
            assert!(matches!(e, Error::Library { .. }), "{e}");
            // After the refusals, the right password still opens the key.
            SdfKey::open(lib, 1, &password(1), None).expect("opens");
        },
    );
}
