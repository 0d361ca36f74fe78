//! SM2 unit tests: the published example, ID handling, encodings.

use super::*;
use crate::hash::sm3;

fn unhex(s: &str) -> Vec<u8> {
    hex::decode(s.replace(' ', "")).unwrap()
}

/// GM/T 0003.5-2012 Annex A / GB/T 32918 example on the recommended curve:
/// dA, the public key it gives, ID 1234567812345678, message "message digest", (r, s).
const D_A: &str = "3945208F 7B2144B1 3F36E38A C6D39F95 88939369 2860B51A 42FB81EF 4DF7C5B8";
const X_A: &str = "09F9DF31 1E5421A1 50DD7D16 1E4BC5C6 72179FAD 1833FC07 6BB08FF3 56F35020";
const Y_A: &str = "CCEA490C E26775A5 2DC6EA71 8CC1AA60 0AED05FB F35E084A 6632F607 2DA9AD13";
const R: &str = "F5A03B06 48D2C463 0EEAC513 E1BB81A1 5944DA38 27D5B741 43AC7EAC EEE720B3";
const S: &str = "B1B6AA29 DF212FD8 763182BC 0D421CA1 BB9038FD 1F7F42D4 840B69C4 85BBC1AA";

#[test]
fn gmt_0003_5_example_public_key_from_private() {
    let key = Sm2PrivateKey::from_bytes(&unhex(D_A)).unwrap();
    let mut expect = vec![4u8];
    expect.extend(unhex(X_A));
    expect.extend(unhex(Y_A));
    assert_eq!(key.public_key().to_sec1_uncompressed().to_vec(), expect);
}

#[test]
fn gmt_0003_5_example_signature_verifies() {
    let mut point = vec![4u8];
    point.extend(unhex(X_A));
    point.extend(unhex(Y_A));
    let pk = Sm2PublicKey::from_sec1_bytes(&point).unwrap();
    let mut raw = unhex(R);
    raw.extend(unhex(S));
    pk.verify(b"message digest", &raw).unwrap();
    // As DER too, and a changed message or ID fails.
    let sig = Sm2Signature::from_raw(&raw).unwrap();
    pk.verify(b"message digest", &sig.to_der()).unwrap();
    assert!(matches!(
        pk.verify(b"message digesT", &raw),
        Err(Error::BadSignature)
    ));
    let other_id = pk.with_id(Sm2Id::new("ALICE123@YAHOO.COM").unwrap());
    assert!(matches!(
        other_id.verify(b"message digest", &raw),
        Err(Error::BadSignature)
    ));
}

#[test]
fn z_matches_the_rustcrypto_definition() {
    // Sign with sm2's own SigningKey (its own Z computation) and verify with ours.
    use ::sm2::dsa::signature::Signer as _;
    let ours = Sm2PrivateKey::from_bytes(&unhex(D_A)).unwrap();
    let theirs = ::sm2::dsa::SigningKey::from_slice("1234567812345678", &unhex(D_A)).unwrap();
    let sig: ::sm2::dsa::Signature = theirs.sign(b"cross-check");
    ours.public_key()
        .verify(b"cross-check", &sig.to_bytes())
        .unwrap();
    let empty = ::sm2::dsa::SigningKey::from_slice("", &unhex(D_A)).unwrap();
    let sig: ::sm2::dsa::Signature = empty.sign(b"cross-check");
    assert!(
        ours.public_key()
            .verify(b"cross-check", &sig.to_bytes())
            .is_err()
    );
    ours.public_key()
        .with_id(Sm2Id::danger_empty())
        .verify(b"cross-check", &sig.to_bytes())
        .unwrap();
}

#[test]
fn sign_verify_round_trip_and_digest_path() {
    let key = Sm2PrivateKey::generate().unwrap();
    let sig = key.sign(b"hello").unwrap();
    key.public_key().verify_signature(b"hello", &sig).unwrap();
    let e = key.public_key().message_digest(b"hello");
    let sig2 = key.sign_digest(&e).unwrap();
    key.public_key().verify(b"hello", &sig2.to_raw()).unwrap();
    // e is SM3(Z ‖ M)
    let mut zm = key.public_key().z().to_vec();
    zm.extend_from_slice(b"hello");
    assert_eq!(sm3(&zm), e);
    // randomized k: two signatures differ
    assert_ne!(sig.to_raw(), sig2.to_raw());
}

#[test]
fn empty_id_keys_are_distinct() {
    let key = Sm2PrivateKey::generate()
        .unwrap()
        .with_id(Sm2Id::danger_empty());
    let sig = key.sign(b"m").unwrap();
    key.public_key().verify_signature(b"m", &sig).unwrap();
    let default = key.public_key().with_id(Sm2Id::default());
    assert!(default.verify_signature(b"m", &sig).is_err());
}

#[test]
fn id_length_limit() {
    assert!(Sm2Id::new(vec![b'a'; 8191]).is_ok());
    assert!(Sm2Id::new(vec![b'a'; 8192]).is_err());
}

#[test]
fn private_key_range_is_checked() {
    assert!(Sm2PrivateKey::from_bytes(&[0u8; 32]).is_err());
    assert!(Sm2PrivateKey::from_bytes(&[0xffu8; 32]).is_err());
    // n - 1 is a valid scalar but 1 + d is not invertible.
    let n_minus_1 = unhex("FFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFF7203DF6B21C6052B53BBF40939D54122");
    assert!(Sm2PrivateKey::from_bytes(&n_minus_1).is_err());
    assert!(Sm2PrivateKey::from_bytes(&[1u8; 31]).is_err());
}

#[test]
fn point_not_on_curve_is_rejected() {
    let mut point = vec![4u8];
    point.extend(unhex(X_A));
    let mut y = unhex(Y_A);
    y[31] ^= 1;
    point.extend(y);
    assert!(matches!(
        Sm2PublicKey::from_sec1_bytes(&point),
        Err(Error::InvalidKey(_))
    ));
    assert!(Sm2PublicKey::from_sec1_bytes(&[0u8]).is_err());
    assert!(Sm2PublicKey::from_sec1_bytes(&[]).is_err());
}

#[test]
fn der_round_trip_is_strict() {
    let key = Sm2PrivateKey::generate().unwrap();
    for _ in 0..20 {
        let sig = key.sign(b"x").unwrap();
        let der = sig.to_der();
        let back = Sm2Signature::from_der(&der).unwrap();
        assert!(back.deviations().is_empty(), "{:?}", back.deviations());
        assert_eq!(back.to_raw(), sig.to_raw());
        assert_eq!(back.encoding(), Sm2SignatureEncoding::Der);
    }
}

#[test]
fn lenient_der_negative_integers_verify_with_warning() {
    // A signature whose r has its high bit set: re-encode without the leading zero.
    let key = Sm2PrivateKey::generate().unwrap();
    let sig = loop {
        let s = key.sign(b"lenient").unwrap();
        if s.r()[0] & 0x80 != 0 {
            break s;
        }
    };
    let mut body = vec![0x02, 32];
    body.extend_from_slice(sig.r());
    let s_der = &sig.to_der()[2 + 2 + 33..];
    body.extend_from_slice(s_der);
    let mut der = vec![0x30, body.len() as u8];
    der.extend(body);
    let parsed = Sm2Signature::from_der(&der).unwrap();
    assert_eq!(
        parsed.deviations(),
        &[EncodingDeviation::NegativeInteger('r')]
    );
    key.public_key().verify(b"lenient", &der).unwrap();
}

#[test]
fn lenient_der_extra_zeros_and_long_lengths() {
    let key = Sm2PrivateKey::generate().unwrap();
    let sig = key.sign(b"pad").unwrap();
    let mut body = vec![0x02, 34, 0, 0];
    body.extend_from_slice(sig.r());
    body.extend_from_slice(&[0x02, 34, 0, 0]);
    body.extend_from_slice(sig.s());
    let mut der = vec![0x30, 0x81, body.len() as u8];
    der.extend(body);
    let parsed = Sm2Signature::from_der(&der).unwrap();
    assert!(
        parsed
            .deviations()
            .contains(&EncodingDeviation::NonMinimalInteger('r'))
    );
    assert!(
        parsed
            .deviations()
            .contains(&EncodingDeviation::NonMinimalInteger('s'))
    );
    key.public_key().verify(b"pad", &der).unwrap();
}

#[test]
fn malformed_signatures_are_errors_not_panics() {
    let cases: &[&[u8]] = &[
        &[],
        &[0x30],
        &[0x30, 0x00],
        &[0x30, 0x80],
        &[0x30, 0x84, 0, 0, 0, 4],
        &[0x30, 0x06, 0x02, 0x01, 0x01, 0x02, 0x01],
        &[0x30, 0x03, 0x02, 0x01, 0x01],
        &[0x30, 0x06, 0x02, 0x01, 0x01, 0x02, 0x01, 0x01, 0x00],
        &[0x31, 0x06, 0x02, 0x01, 0x01, 0x02, 0x01, 0x01],
        &[0u8; 63],
        &[0u8; 65],
    ];
    let key = Sm2PrivateKey::generate().unwrap();
    for c in cases {
        let r = key.public_key().verify(b"x", c);
        assert!(
            matches!(
                r,
                Err(Error::MalformedSignature(_)) | Err(Error::BadSignature)
            ),
            "{c:?}: {r:?}"
        );
    }
    // 33 significant bytes
    let mut der = vec![0x30, 0x27, 0x02, 0x22, 0x01];
    der.extend([0u8; 33]);
    der.extend([0x02, 0x01, 0x01]);
    assert!(Sm2Signature::from_der(&der).is_err());
}

#[test]
fn r_or_s_out_of_range_fail_verification() {
    let key = Sm2PrivateKey::generate().unwrap();
    let n = unhex("FFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFF7203DF6B21C6052B53BBF40939D54123");
    let sig = key.sign(b"x").unwrap();
    for raw in [
        [&[0u8; 32][..], &sig.s()[..]].concat(),
        [&sig.r()[..], &[0u8; 32][..]].concat(),
        [&n[..], &sig.s()[..]].concat(),
        [&sig.r()[..], &n[..]].concat(),
    ] {
        let r = key.public_key().verify(b"x", &raw);
        assert!(
            r.as_ref().is_err_and(|e| e.is_verification_failure()),
            "{r:?}"
        );
    }
}

#[test]
fn debug_output_never_shows_the_secret() {
    let key = Sm2PrivateKey::from_bytes(&unhex(D_A)).unwrap();
    let dbg = format!("{key:?}").to_lowercase();
    assert!(dbg.contains("redacted"));
    assert!(!dbg.contains("3945208f"), "{dbg}");
}

#[test]
fn gmt_0003_5_example_signature_with_its_nonce() {
    // The standard's nonce k gives exactly the published (r, s).
    const K: &str = "59276E27 D506861A 16680F3A D9C02DCC EF3CC1FA 3CDBE4CE 6D54B80D EAC1BC21";
    let key = Sm2PrivateKey::from_bytes(&unhex(D_A)).unwrap();
    let e = key.public_key().message_digest(b"message digest");
    let k = engine::scalar::Scalar::from_be_bytes(&unhex(K).try_into().unwrap()).unwrap();
    let (r, s) = engine::sign::sign_with_nonce(&key.d, &key.d_plus_1_inv, &e, &k).unwrap();
    assert_eq!(r.to_be_bytes().to_vec(), unhex(R));
    assert_eq!(s.to_be_bytes().to_vec(), unhex(S));
}
