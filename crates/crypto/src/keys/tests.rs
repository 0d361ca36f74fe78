//! Key format unit tests (OpenSSL interop lives in the workspace `tests` crate).

use super::*;
use crate::signer::{Signer, Verifier};
use crate::{KdfPrf, KeyCipher, SoftwareVerifier};

fn fast() -> KeyEncryption {
    KeyEncryption::default().with_iterations(1000)
}

const ALGS: [KeyAlgorithm; 3] = [
    KeyAlgorithm::Sm2,
    KeyAlgorithm::EcdsaP256,
    KeyAlgorithm::Ed25519,
];

#[test]
fn pkcs8_pem_and_der_round_trip_every_algorithm() {
    for alg in ALGS {
        let key = PrivateKey::generate(alg).unwrap();
        let der = key.to_pkcs8_der();
        let back = PrivateKey::from_bytes(&der, None).unwrap();
        assert_eq!(back.public_key(), key.public_key(), "{alg}");
        let pem = key.to_pkcs8_pem();
        assert!(pem.starts_with("-----BEGIN PRIVATE KEY-----\n"));
        let back = PrivateKey::from_bytes(pem.as_bytes(), None).unwrap();
        assert_eq!(back.public_key(), key.public_key(), "{alg}");
        // signatures made by the reloaded key verify under the original public key
        let sig = back.sign(b"msg").unwrap();
        SoftwareVerifier
            .verify(key.public_key(), Signer::algorithm(&back), b"msg", &sig)
            .unwrap();
    }
}

#[test]
fn spki_round_trip_every_algorithm() {
    for alg in ALGS {
        let key = PrivateKey::generate(alg).unwrap();
        let spki = key.public_key().to_spki_der();
        let back = PublicKey::from_spki_der(&spki).unwrap();
        assert_eq!(&back, key.public_key());
        let pem = key.public_key().to_pem();
        assert_eq!(
            &PublicKey::from_bytes(pem.as_bytes()).unwrap(),
            key.public_key()
        );
    }
}

#[test]
fn sm2_spki_is_the_openssl_layout() {
    let key = PrivateKey::generate(KeyAlgorithm::Sm2).unwrap();
    let spki = key.public_key().to_spki_der();
    assert_eq!(
        &spki[..27],
        &[
            0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06,
            0x08, 0x2a, 0x81, 0x1c, 0xcf, 0x55, 0x01, 0x82, 0x2d, 0x03, 0x42, 0x00, 0x04
        ]
    );
}

#[test]
fn encrypted_pkcs8_round_trip_all_ciphers_and_prfs() {
    let key = PrivateKey::generate(KeyAlgorithm::Sm2).unwrap();
    for cipher in [
        KeyCipher::Sm4Cbc,
        KeyCipher::Aes128Cbc,
        KeyCipher::Aes256Cbc,
    ] {
        for prf in [KdfPrf::HmacSm3, KdfPrf::HmacSha256] {
            let params = fast().with_cipher(cipher).with_prf(prf);
            let pem = key
                .to_encrypted_pkcs8_pem(b"correct horse", &params)
                .unwrap();
            assert!(pem.starts_with("-----BEGIN ENCRYPTED PRIVATE KEY-----"));
            let back = PrivateKey::from_bytes(pem.as_bytes(), Some(b"correct horse")).unwrap();
            assert_eq!(back.public_key(), key.public_key());
            let der = key.to_encrypted_pkcs8_der(b"pw", &params).unwrap();
            assert!(PrivateKey::from_bytes(&der, Some(b"pw")).is_ok());
        }
    }
}

#[test]
fn wrong_or_missing_passphrase() {
    let key = PrivateKey::generate(KeyAlgorithm::Ed25519).unwrap();
    let pem = key.to_encrypted_pkcs8_pem(b"right", &fast()).unwrap();
    for wrong in [&b"wrong"[..], b"", b"righ", b"right "] {
        assert!(matches!(
            PrivateKey::from_bytes(pem.as_bytes(), Some(wrong)),
            Err(Error::Decryption)
        ));
    }
    assert!(matches!(
        PrivateKey::from_bytes(pem.as_bytes(), None),
        Err(Error::PassphraseRequired)
    ));
}

#[test]
fn sec1_round_trip_for_ec_keys() {
    for alg in [KeyAlgorithm::Sm2, KeyAlgorithm::EcdsaP256] {
        let key = PrivateKey::generate(alg).unwrap();
        let sec1 = key.to_sec1_der().unwrap();
        let back = PrivateKey::from_bytes(&sec1, None).unwrap();
        assert_eq!(back.public_key(), key.public_key());
        let pem = encode_pem("EC PRIVATE KEY", &sec1);
        assert_eq!(
            PrivateKey::from_bytes(pem.as_bytes(), None)
                .unwrap()
                .public_key(),
            key.public_key()
        );
    }
    let ed = PrivateKey::generate(KeyAlgorithm::Ed25519).unwrap();
    assert!(ed.to_sec1_der().is_err());
}

#[test]
fn pem_with_crlf_and_surrounding_text() {
    let key = PrivateKey::generate(KeyAlgorithm::Sm2).unwrap();
    let pem = key.public_key().to_pem().replace('\n', "\r\n");
    let text = format!("Bag Attributes\r\n    friendlyName: x\r\n{pem}trailing words\r\n");
    assert_eq!(
        &PublicKey::from_bytes(text.as_bytes()).unwrap(),
        key.public_key()
    );
}

#[test]
fn garbage_is_a_typed_error() {
    let cases: &[&[u8]] = &[
        b"",
        b"-----BEGIN PRIVATE KEY-----\n",
        b"-----BEGIN PRIVATE KEY-----\n!!!!\n-----END PRIVATE KEY-----\n",
        b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
        &[0x30, 0x03, 0x02, 0x01, 0x00],
        &[0x30, 0x82, 0xff, 0xff],
        &[0xff; 100],
    ];
    for c in cases {
        assert!(PrivateKey::from_bytes(c, Some(b"x")).is_err(), "{c:?}");
        assert!(PublicKey::from_bytes(c).is_err(), "{c:?}");
    }
    let big = vec![b'A'; MAX_KEY_FILE_LEN + 1];
    assert!(PrivateKey::from_bytes(&big, None).is_err());
}

#[test]
fn truncated_keys_never_panic() {
    let key = PrivateKey::generate(KeyAlgorithm::Sm2).unwrap();
    let der = key.to_pkcs8_der();
    let enc = key.to_encrypted_pkcs8_der(b"pw", &fast()).unwrap();
    let spki = key.public_key().to_spki_der();
    for n in 0..der.len() {
        assert!(PrivateKey::from_bytes(&der[..n], None).is_err());
    }
    for n in 0..enc.len() {
        assert!(PrivateKey::from_bytes(&enc[..n], Some(b"pw")).is_err());
    }
    for n in 0..spki.len() {
        assert!(PublicKey::from_bytes(&spki[..n]).is_err());
    }
}

#[test]
fn algorithm_mismatch_is_reported() {
    let sm2 = PrivateKey::generate(KeyAlgorithm::Sm2).unwrap();
    let p256 = PrivateKey::generate(KeyAlgorithm::EcdsaP256).unwrap();
    let sig = p256.sign(b"m").unwrap();
    assert!(matches!(
        sm2.public_key()
            .verify(SignatureAlgorithm::EcdsaP256Sha256, b"m", &sig),
        Err(Error::AlgorithmMismatch { .. })
    ));
    assert!(matches!(
        p256.public_key()
            .verify(SignatureAlgorithm::EcdsaP256Sha256, b"M", &sig),
        Err(Error::BadSignature)
    ));
}

#[test]
fn private_key_debug_is_redacted() {
    for alg in [KeyAlgorithm::Sm2, KeyAlgorithm::Ed25519] {
        let key = PrivateKey::generate(alg).unwrap();
        let dbg = format!("{key:?}");
        assert!(dbg.contains("<redacted>"), "{dbg}");
        // The secret is the SM2 scalar, or the Ed25519 seed at the end of PKCS#8.
        let pkcs8 = key.to_pkcs8_der();
        let secret: Vec<u8> = match key.as_sm2() {
            Some(k) => k.to_bytes().to_vec(),
            None => pkcs8[pkcs8.len() - 32..].to_vec(),
        };
        let secret_hex: String = secret.iter().map(|b| format!("{b:02x}")).collect();
        assert!(!dbg.to_lowercase().contains(&secret_hex));
    }
}

#[test]
fn sm2_pkcs8_with_bare_sm2_oid_is_read() {
    // Some Chinese toolkits name the algorithm 1.2.156.10197.1.301 instead of id-ecPublicKey.
    let key = PrivateKey::generate(KeyAlgorithm::Sm2).unwrap();
    let ec = sm2_ec_private_key(key.as_sm2().unwrap());
    let der = wrap_pkcs8(
        AlgorithmIdentifierOwned {
            oid: oid::SM2_CURVE,
            parameters: None,
        },
        &ec,
    );
    assert_eq!(
        PrivateKey::from_bytes(&der, None).unwrap().public_key(),
        key.public_key()
    );
}
