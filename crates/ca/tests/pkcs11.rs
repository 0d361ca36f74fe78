//! A trust domain whose CA keys live on a PKCS#11 token (SoftHSM2): made
//! there by `init_in` with `InitOptions::token`, recorded as `NAME.key.uri`
//! files (no key file, no PIN in the directory), used by a domain opened
//! without the CA passphrase, and what they sign — certificates, CRLs, OCSP
//! responses, the TSA's and an added issuing CA's certificates — verified by
//! OpenSSL.

use yinzheng_ca::{InitOptions, IssueRequest, KeySource, TrustDomain};
use yinzheng_crypto::{KeyAlgorithm, KeyEncryption, PrivateKey};
use yinzheng_pkcs11::Pkcs11Uri;
use yinzheng_pki::{SubjectExtras, ocsp};
use yinzheng_tests::openssl_ok;

#[yinzheng_tests::peer_test(softhsm2, openssl)]
fn a_trust_domain_on_a_token_signs_what_openssl_verifies() {
    yinzheng_tests::softhsm2_token(
        "a_trust_domain_on_a_token_signs_what_openssl_verifies",
        |token| {
            let work = yinzheng_tests::tempdir();
            let w = work.path();
            let pki = w.join("pki").join("intl");
            let backend = yinzheng_tests::store_backend(&pki);
            let mut opts = InitOptions::new("CN=Token Root CA,O=Yinzheng,C=CN");
            opts.key_algorithm = KeyAlgorithm::EcdsaP256;
            opts.key_encryption = KeyEncryption::default().with_iterations(1000);
            opts.token = Some(Pkcs11Uri::parse_token(&token.uri("")).expect("a token URI"));
            TrustDomain::init_in(&pki, &backend, &opts, b"not used for token keys")
                .expect("a domain on the token");
            for key in ["root", "issuing", "ocsp"] {
                assert!(
                    !pki.join(format!("{key}.key.pem")).exists(),
                    "{key}: no key file"
                );
                let uri = std::fs::read_to_string(pki.join(format!("{key}.key.uri")))
                    .expect("the key's URI");
                assert!(
                    uri.contains(&format!("object=yinzheng-intl-{key}")),
                    "{uri}"
                );
                assert!(
                    !uri.contains(yinzheng_tests::SoftHsm2Token::PIN),
                    "no PIN: {uri}"
                );
            }

            // Opened without the CA passphrase: the token's PIN (from the
            // URI's pin-source) is all signing needs.
            let mut d = TrustDomain::open_in(&pki, &backend, None).expect("opens");
            let leaf_key = PrivateKey::generate(KeyAlgorithm::EcdsaP256).expect("key");
            let leaf = d
                .issue(IssueRequest {
                    profile: "seal-maker",
                    subject: Some("CN=Token Signer,O=Yinzheng,C=CN"),
                    extras: SubjectExtras::default(),
                    key: KeySource::OwnKey(leaf_key.public_key()),
                    not_before: None,
                    days: None,
                    issuer: None,
                })
                .expect("the issuing CA on the token signs");
            let crls = d.crl(24).expect("CRLs signed on the token");
            // The TSA, made on first use: on the token too, so the
            // passphrase-less domain can make it.
            d.time_stamp_authority()
                .expect("the TSA, its key made on the token");
            assert!(pki.join("tsa.key.uri").exists() && !pki.join("tsa.key.pem").exists());
            let response = d
                .ocsp_response(&leaf.cert.serial_hex(), ocsp::CertIdHash::Sha1, 24)
                .expect("an OCSP response signed by the responder on the token");

            std::fs::write(w.join("root.pem"), d.root().to_pem()).expect("write");
            std::fs::write(w.join("issuing.pem"), d.issuing().to_pem()).expect("write");
            std::fs::write(w.join("leaf.pem"), leaf.cert.to_pem()).expect("write");
            std::fs::copy(pki.join("tsa.pem"), w.join("tsa.pem")).expect("copy");
            std::fs::write(w.join("ocsp.der"), &response).expect("write");
            std::fs::write(w.join("issuing-crl.der"), crls[0].der()).expect("write");
            std::fs::write(w.join("root-crl.der"), crls[crls.len() - 1].der()).expect("write");
            // Certificates: the chain, leaf and TSA.
            for cert in ["leaf.pem", "tsa.pem"] {
                openssl_ok(
                    w,
                    &[
                        "verify",
                        "-CAfile",
                        "root.pem",
                        "-untrusted",
                        "issuing.pem",
                        cert,
                    ],
                );
            }
            // CRLs, each by its issuer.
            for (crl, issuer) in [
                ("issuing-crl.der", "issuing.pem"),
                ("root-crl.der", "root.pem"),
            ] {
                let out = openssl_ok(
                    w,
                    &[
                        "crl", "-inform", "DER", "-in", crl, "-CAfile", issuer, "-noout",
                    ],
                );
                assert!(
                    String::from_utf8_lossy(&out.stderr).contains("verify OK"),
                    "{crl}: {}",
                    String::from_utf8_lossy(&out.stderr)
                );
            }
            // The OCSP response, by the delegated responder the token holds.
            let out = openssl_ok(
                w,
                &[
                    "ocsp",
                    "-respin",
                    "ocsp.der",
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
            assert!(
                text.contains("Response verify OK") && text.contains("leaf.pem: good"),
                "{text}"
            );

            // An added issuing CA goes on the root's token.
            let mut d = TrustDomain::open_in(&pki, &backend, Some(b"unused")).expect("opens");
            let regional = d
                .add_issuing(
                    "regional",
                    "CN=Regional Issuing CA,O=Yinzheng,C=CN",
                    365,
                    &KeyEncryption::default(),
                )
                .expect("added");
            assert!(pki.join("issuing-regional.key.uri").exists());
            std::fs::write(w.join("regional.pem"), regional.to_pem()).expect("write");
            openssl_ok(w, &["verify", "-CAfile", "root.pem", "regional.pem"]);
        },
    );
}

#[yinzheng_tests::peer_test(softhsm2)]
fn an_sm2_domain_is_not_put_on_a_pkcs11_token() {
    yinzheng_tests::softhsm2_token("an_sm2_domain_is_not_put_on_a_pkcs11_token", |token| {
        let work = yinzheng_tests::tempdir();
        let pki = work.path().join("pki").join("national");
        let mut opts = InitOptions::new("CN=Root CA,O=Yinzheng,C=CN");
        opts.token = Some(Pkcs11Uri::parse_token(&token.uri("")).expect("a token URI"));
        let e = TrustDomain::init_in(&pki, &yinzheng_tests::store_backend(&pki), &opts, b"pw")
            .err()
            .expect("refused")
            .to_string();
        assert!(e.contains("P-256") && e.contains("GM/T 0018"), "{e}");
        assert!(!pki.join("root.pem").exists());
    });
}

/// A `ca init` on a token that fails after making its keys destroys them
/// again: the retry, with the same labels, is not refused.
#[yinzheng_tests::peer_test(softhsm2)]
fn a_failed_init_leaves_no_key_on_the_token() {
    yinzheng_tests::softhsm2_token("a_failed_init_leaves_no_key_on_the_token", |token| {
        let work = yinzheng_tests::tempdir();
        let pki = work.path().join("pki").join("retry");
        // The certificate store cannot be made (a directory is in its way):
        // init fails after the keys are on the token.
        std::fs::create_dir_all(pki.join("ca.db")).expect("in the way");
        let backend = yinzheng_store::Backend::Embedded;
        let mut opts = InitOptions::new("CN=Retry Root CA,O=Yinzheng,C=CN");
        opts.key_algorithm = KeyAlgorithm::EcdsaP256;
        opts.token = Some(Pkcs11Uri::parse_token(&token.uri("")).expect("a token URI"));
        assert!(TrustDomain::init_in(&pki, &backend, &opts, b"").is_err());
        assert!(!pki.join("root.pem").exists());
        std::fs::remove_dir(pki.join("ca.db")).expect("out of the way");
        TrustDomain::init_in(&pki, &backend, &opts, b"")
            .expect("the retry makes the same labels again");
        // The keys of the domain that exists are kept: a second init of it
        // is refused before anything is made, and its keys still sign.
        assert!(TrustDomain::init_in(&pki, &backend, &opts, b"").is_err());
        let mut d = TrustDomain::open_in(&pki, &backend, None).expect("opens");
        d.crl(24).expect("its keys are still on the token");
    });
}
