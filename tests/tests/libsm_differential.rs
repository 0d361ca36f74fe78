//! Differential tests against libsm (an independent SM2/SM3 implementation):
//! each side verifies the other's signatures on random keys and messages, with the
//! default ID 1234567812345678 (the only one libsm's high-level API uses).

#![allow(clippy::unwrap_used)]

use libsm::sm2::signature::{SigCtx, Signature as LibsmSignature};
use proptest::prelude::*;
use yinzheng_crypto::{Sm2PrivateKey, Sm2PublicKey, Sm2Signature, sm3};

fn config() -> ProptestConfig {
    // libsm is slow (≈1 ms per operation); 64 cases each way are plenty.
    ProptestConfig {
        cases: 64,
        ..ProptestConfig::default()
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn libsm_verifies_ours(seed in any::<[u8; 32]>(), msg in proptest::collection::vec(any::<u8>(), 0..512)) {
        // Derive a valid scalar from the seed; fall back to generation for the rare invalid one.
        let key = Sm2PrivateKey::from_bytes(&seed).or_else(|_| Sm2PrivateKey::generate()).unwrap();
        let sig = key.sign(&msg).unwrap();
        let ctx = SigCtx::new();
        let pk = ctx.load_pubkey(&key.public_key().to_sec1_uncompressed()).unwrap();
        let theirs = LibsmSignature::der_decode(&sig.to_der()).unwrap();
        prop_assert!(ctx.verify(&msg, &pk, &theirs).unwrap());
        let mut tampered = msg.clone();
        tampered.push(0x55);
        prop_assert!(!ctx.verify(&tampered, &pk, &theirs).unwrap());
    }

    #[test]
    fn we_verify_libsm(msg in proptest::collection::vec(any::<u8>(), 0..512)) {
        let ctx = SigCtx::new();
        let (pk, sk) = ctx.new_keypair().unwrap();
        let sig = ctx.sign(&msg, &sk, &pk).unwrap();
        let ours = Sm2PublicKey::from_sec1_bytes(&ctx.serialize_pubkey(&pk, false).unwrap()).unwrap();
        ours.verify(&msg, &sig.der_encode()).unwrap();
        // libsm's DER may omit leading zeros or not; the raw form must agree.
        let parsed = Sm2Signature::parse(&sig.der_encode()).unwrap();
        ours.verify_signature(&msg, &parsed).unwrap();
        let mut tampered = msg.clone();
        tampered.push(1);
        prop_assert!(ours.verify(&tampered, &sig.der_encode()).is_err());
        // And the private key loads into ours and gives the same public key.
        let sk_bytes = ctx.serialize_seckey(&sk).unwrap();
        let mine = Sm2PrivateKey::from_bytes(&sk_bytes).unwrap();
        prop_assert_eq!(mine.public_key(), &ours);
    }

    #[test]
    fn sm3_agrees_with_libsm(msg in proptest::collection::vec(any::<u8>(), 0..2048)) {
        let theirs = libsm::sm3::hash::Sm3Hash::new(&msg).get_hash();
        prop_assert_eq!(sm3(&msg), theirs);
    }
}

#[test]
fn digest_path_agrees_with_libsm_raw_api() {
    // e computed by us, signed by libsm's sign_raw, verified by us.
    let ctx = SigCtx::new();
    let (pk, sk) = ctx.new_keypair().unwrap();
    let ours = Sm2PublicKey::from_sec1_bytes(&ctx.serialize_pubkey(&pk, false).unwrap()).unwrap();
    let e = ours.message_digest(b"digest path");
    assert_eq!(
        e,
        ctx.hash("1234567812345678", &pk, b"digest path").unwrap()
    );
    let sig = ctx.sign_raw(&e, &sk).unwrap();
    let parsed = Sm2Signature::parse(&sig.der_encode()).unwrap();
    ours.verify_digest(&e, &parsed).unwrap();
}
