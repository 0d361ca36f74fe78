//! Keys on a SoftHSM2 token: generated there, never extractable, found again
//! by URI, signing what OpenSSL verifies; every mistake a typed error that
//! names it.
//!
//! Each test gets a private token (`yinzheng_tests::softhsm2_token`: SoftHSM2
//! reads `SOFTHSM2_CONF` once per process, so the test runs again in a child
//! process pointed at a token directory of its own).

use std::path::{Path, PathBuf};
use yinzheng_crypto::{KeyAlgorithm, PublicKey, Signer};
use yinzheng_pkcs11::{Error, Pkcs11Key, Pkcs11Uri};
use yinzheng_tests::SoftHsm2Token;

const TOKEN: &str = SoftHsm2Token::LABEL;
const PIN: &str = SoftHsm2Token::PIN;

/// A key URI on the test's token.
fn key_uri(token: &SoftHsm2Token, attributes: &str) -> Pkcs11Uri {
    Pkcs11Uri::parse(&token.uri(attributes)).expect("a test URI")
}

fn with_token(name: &str, body: impl FnOnce(&SoftHsm2Token)) {
    yinzheng_tests::softhsm2_token(name, body)
}

/// OpenSSL verifies `signature` by `key` over `message`.
fn openssl_verifies(dir: &Path, key: &PublicKey, message: &[u8], signature: &[u8]) {
    std::fs::write(dir.join("pub.pem"), key.to_pem()).expect("write");
    std::fs::write(dir.join("msg"), message).expect("write");
    std::fs::write(dir.join("sig"), signature).expect("write");
    let args: Vec<&str> = match key.algorithm() {
        KeyAlgorithm::Ed25519 => vec![
            "pkeyutl", "-verify", "-pubin", "-inkey", "pub.pem", "-rawin", "-in", "msg",
            "-sigfile", "sig",
        ],
        _ => vec![
            "dgst",
            "-sha256",
            "-verify",
            "pub.pem",
            "-signature",
            "sig",
            "msg",
        ],
    };
    let out = yinzheng_tests::run_ok(&yinzheng_tests::openssl(), dir, &args);
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("Verified OK")
            || String::from_utf8_lossy(&out.stdout).contains("Signature Verified Successfully"),
        "openssl {}: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stdout)
    );
}

#[yinzheng_tests::peer_test(softhsm2, openssl)]
fn keys_made_on_the_token_sign_what_openssl_verifies() {
    with_token(
        "keys_made_on_the_token_sign_what_openssl_verifies",
        |token| {
            let work = yinzheng_tests::tempdir();
            for (label, algorithm) in [
                ("issuing-ca", KeyAlgorithm::EcdsaP256),
                ("log", KeyAlgorithm::Ed25519),
            ] {
                let made =
                    Pkcs11Key::generate(&key_uri(token, &format!("object={label}")), algorithm)
                        .expect("generates on the token");
                assert_eq!(made.public_key().algorithm(), algorithm);
                // The returned URI names the key with its id; found again by it
                // (and by its label alone), in a session of its own.
                let uri = made.uri().clone();
                assert!(uri.id.as_ref().is_some_and(|id| id.len() == 16));
                let found = Pkcs11Key::open(&uri).expect("found by its URI");
                assert_eq!(found.public_key(), made.public_key());
                let by_label =
                    Pkcs11Key::open(&key_uri(token, &format!("object={label}"))).expect("by label");
                assert_eq!(by_label.public_key(), made.public_key());
                let message = format!("a CRL to sign with {label}").into_bytes();
                let signature = found.sign(&message).expect("the token signs");
                made.public_key()
                    .verify(found.algorithm(), &message, &signature)
                    .expect("we verify what the token signed");
                openssl_verifies(work.path(), found.public_key(), &message, &signature);
                // A changed message does not verify.
                assert!(
                    made.public_key()
                        .verify(found.algorithm(), b"another message", &signature)
                        .is_err()
                );
            }
        },
    );
}

#[yinzheng_tests::peer_test(softhsm2)]
fn a_key_that_could_leave_the_token_is_refused() {
    with_token("a_key_that_could_leave_the_token_is_refused", |token| {
        use cryptoki::context::{CInitializeArgs, CInitializeFlags, Pkcs11};
        use cryptoki::mechanism::Mechanism;
        use cryptoki::object::Attribute;
        use cryptoki::session::UserType;
        use cryptoki::types::AuthPin;
        // Our own key first: the module is then initialised in this process.
        Pkcs11Key::generate(&key_uri(token, "object=kept"), KeyAlgorithm::EcdsaP256).expect("made");
        let p11 = Pkcs11::new(&token.module).expect("module");
        let _ = p11.initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK));
        let slot = p11.get_slots_with_token().expect("slots")[0];
        let session = p11.open_rw_session(slot).expect("session");
        let _ = session.login(UserType::User, Some(&AuthPin::new(PIN.into())));
        session
            .generate_key_pair(
                &Mechanism::EccKeyPairGen,
                &[
                    Attribute::Token(true),
                    Attribute::Verify(true),
                    Attribute::EcParams(vec![
                        0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07,
                    ]),
                    Attribute::Label(b"exportable".to_vec()),
                ],
                &[
                    Attribute::Token(true),
                    Attribute::Sign(true),
                    Attribute::Sensitive(false),
                    Attribute::Extractable(true),
                    Attribute::Label(b"exportable".to_vec()),
                ],
            )
            .expect("a key made the unsafe way");
        let err = Pkcs11Key::open(&key_uri(token, "object=exportable"))
            .expect_err("refused")
            .to_string();
        assert!(err.contains("could leave the token"), "{err}");
    });
}

#[yinzheng_tests::peer_test(softhsm2)]
fn mistakes_are_typed_errors_that_name_them() {
    with_token("mistakes_are_typed_errors_that_name_them", |token| {
        let made = Pkcs11Key::generate(&key_uri(token, "object=seal"), KeyAlgorithm::EcdsaP256)
            .expect("made");
        // The same label again: never overwritten.
        let again = Pkcs11Key::generate(&key_uri(token, "object=seal"), KeyAlgorithm::Ed25519)
            .expect_err("refused")
            .to_string();
        assert!(again.contains("already on the token"), "{again}");
        // No such key.
        let none = Pkcs11Key::open(&key_uri(token, "object=nothing"))
            .expect_err("none")
            .to_string();
        assert!(none.contains("no private key"), "{none}");
        // No such token: the message lists the tokens there are.
        let mut other = made.uri().clone();
        other.token = Some("elsewhere".into());
        let e = Pkcs11Key::open(&other).expect_err("no token").to_string();
        assert!(e.contains("no token matches") && e.contains(TOKEN), "{e}");
        // SM2 is not a PKCS#11 key here.
        let sm2 = Pkcs11Key::generate(&key_uri(token, "object=sm2"), KeyAlgorithm::Sm2)
            .expect_err("refused")
            .to_string();
        assert!(sm2.contains("GM/T 0018"), "{sm2}");
        // A module that does not load.
        let mut missing = made.uri().clone();
        missing.module_path = Some(PathBuf::from("/nonexistent/libpkcs11.so"));
        assert!(matches!(
            Pkcs11Key::open(&missing),
            Err(Error::Module { .. })
        ));
        // A PIN file that is not there.
        let mut no_pin = made.uri().clone();
        no_pin.pin_source = Some("file:/nonexistent/pin".into());
        assert!(matches!(Pkcs11Key::open(&no_pin), Err(Error::Pin(_))));
    });
}

#[yinzheng_tests::peer_test(softhsm2)]
fn a_wrong_pin_is_the_tokens_answer_named() {
    with_token("a_wrong_pin_is_the_tokens_answer_named", |token| {
        std::fs::write(token.dir.join("wrong-pin"), "0000").expect("write");
        let mut uri = key_uri(token, "object=any");
        uri.pin_source = Some(format!("file:{}", token.dir.join("wrong-pin").display()));
        let e = Pkcs11Key::open(&uri).expect_err("refused");
        assert!(
            matches!(
                e,
                Error::Call {
                    operation: "log in",
                    ..
                }
            ),
            "{e}"
        );
        assert!(e.to_string().contains("log in"), "{e}");
        assert!(
            !e.to_string().contains("0000"),
            "the PIN is never echoed: {e}"
        );
    });
}
