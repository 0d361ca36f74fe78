//! Differential verification against RustCrypto `sm2` through the public
//! [`Sm2PublicKey`] API, and the edge cases of GB/T 32918.2 §7.1.

use super::field::{Fe, P, adc4, limbs_to_be_bytes, lt};
use super::point::B;
use super::scalar::{N, Scalar};
use super::tests::{Rng, pow_p_plus_1_over_4};
use crate::error::Error;
use crate::sm2::{Sm2PrivateKey, Sm2PublicKey, Sm2Signature};
use ::sm2::dsa::signature::hazmat::{PrehashSigner as _, PrehashVerifier as _};

/// RustCrypto's verdict on `(r‖s)` over `e` for `pk`.
fn rustcrypto_accepts(vk: &::sm2::dsa::VerifyingKey, e: &[u8; 32], raw: &[u8; 64]) -> bool {
    ::sm2::dsa::Signature::from_slice(raw).is_ok_and(|sig| vk.verify_prehash(e, &sig).is_ok())
}

fn ours_accepts(pk: &Sm2PublicKey, e: &[u8; 32], raw: &[u8; 64]) -> bool {
    let sig = Sm2Signature::from_raw(raw).expect("64 bytes");
    match pk.verify_digest(e, &sig) {
        Ok(()) => true,
        Err(err) => {
            assert!(err.is_verification_failure(), "{err:?}");
            false
        }
    }
}

/// `cases` random (key, digest, signature) triples: the signature verifies with
/// both implementations, and with one bit of r, s or e flipped both reject.
fn differential(cases: usize, seed: u64) {
    let mut rng = Rng(seed);
    let mut key = None;
    for case in 0..cases {
        // A new key every 8 cases (a fresh key exercises the table build and cache).
        if case % 8 == 0 || key.is_none() {
            let d = rng.bytes32();
            key = Sm2PrivateKey::from_bytes(&d).ok().map(|k| {
                let theirs = ::sm2::dsa::SigningKey::from_slice("", &d).expect("valid key");
                let sec1 = k.public_key().to_sec1_uncompressed();
                // Decode afresh so the table comes from the process-wide cache path.
                let public = Sm2PublicKey::from_sec1_bytes(&sec1).expect("valid point");
                (k, theirs, public)
            });
        }
        let Some((ours, theirs, public)) = &key else {
            continue;
        };
        let vk = theirs.verifying_key();
        let e = rng.bytes32();
        // Alternate signers: ours and RustCrypto's.
        let raw = if case % 2 == 0 {
            ours.sign_digest(&e).expect("sign").to_raw()
        } else {
            let sig: ::sm2::dsa::Signature = theirs.sign_prehash(&e).expect("sign");
            let mut raw = [0u8; 64];
            raw.copy_from_slice(&sig.to_bytes());
            raw
        };
        assert!(rustcrypto_accepts(vk, &e, &raw), "case {case}");
        assert!(ours_accepts(public, &e, &raw), "case {case}");
        // Flip one bit of r, s or e.
        let bit = (rng.next() % (3 * 256)) as usize;
        let (mut raw2, mut e2) = (raw, e);
        if bit < 512 {
            raw2[bit / 8] ^= 1 << (bit % 8);
        } else {
            e2[(bit - 512) / 8] ^= 1 << (bit % 8);
        }
        let r = rustcrypto_accepts(vk, &e2, &raw2);
        let o = ours_accepts(public, &e2, &raw2);
        assert_eq!(r, o, "case {case}: implementations disagree");
        assert!(!o, "case {case}: a flipped bit verified");
    }
}

// 10⁴ cases in two halves with their own seeds, run in parallel (CI time).
#[test]
fn differential_against_rustcrypto_10k_first_half() {
    differential(5_000, 0x5eed);
}

#[test]
fn differential_against_rustcrypto_10k_second_half() {
    differential(5_000, 0x5eee);
}

#[test]
#[ignore = "a million cases: minutes; run with --ignored"]
fn differential_against_rustcrypto_1m() {
    differential(1_000_000, 0xface);
}

fn key(d: &Scalar) -> (Sm2PrivateKey, ::sm2::dsa::VerifyingKey) {
    let k = Sm2PrivateKey::from_bytes(&d.to_be_bytes()).expect("valid key");
    let vk = ::sm2::dsa::VerifyingKey::from_sec1_bytes("", &k.public_key().to_sec1_uncompressed())
        .expect("valid point");
    (k, vk)
}

fn raw(r: &[u8; 32], s: &[u8; 32]) -> [u8; 64] {
    let mut out = [0u8; 64];
    out[..32].copy_from_slice(r);
    out[32..].copy_from_slice(s);
    out
}

#[test]
fn range_and_degenerate_signatures_are_rejected() {
    let mut rng = Rng(11);
    let d = Scalar([0x1234_5678, 9, 10, 11]);
    let (k, vk) = key(&d);
    let pk = k.public_key();
    let e = rng.bytes32();
    let good = k.sign_digest(&e).expect("sign");
    let (r, s) = (*good.r(), *good.s());
    let n = limbs_to_be_bytes(&N);
    let n1 = limbs_to_be_bytes(&adc4(&N, &[1, 0, 0, 0]).0);
    let zero = [0u8; 32];
    let ff = [0xffu8; 32];
    for (rr, ss) in [
        (zero, s),
        (r, zero),
        (n, s),
        (r, n),
        (n1, s),
        (r, n1),
        (ff, s),
        (r, ff),
    ] {
        let raw = raw(&rr, &ss);
        let sig = Sm2Signature::from_raw(&raw).expect("64 bytes");
        assert!(
            matches!(
                pk.verify_digest(&e, &sig),
                Err(Error::MalformedSignature(_))
            ),
            "{raw:02x?}"
        );
        assert!(!rustcrypto_accepts(&vk, &e, &raw));
    }
    assert!(ours_accepts(pk, &e, &raw(&r, &s)));

    // r + s = n: t = 0.
    let rs = Scalar::from_be_bytes(&r).expect("r < n");
    let s_neg = rs.neg().to_be_bytes();
    let sig = Sm2Signature::from_raw(&raw(&r, &s_neg)).expect("64 bytes");
    assert!(matches!(
        pk.verify_digest(&e, &sig),
        Err(Error::BadSignature)
    ));
    assert!(!rustcrypto_accepts(&vk, &e, &raw(&r, &s_neg)));

    // [s]G + [t]P = O: t = −s/d, r = t − s.
    for _ in 0..20 {
        let s = Scalar(rng.below(&N));
        if s.is_zero() {
            continue;
        }
        let t = s.mul(&d.invert()).neg();
        let r = t.sub(&s);
        if r.is_zero() {
            continue;
        }
        let raw = raw(&r.to_be_bytes(), &s.to_be_bytes());
        let sig = Sm2Signature::from_raw(&raw).expect("64 bytes");
        assert!(matches!(
            pk.verify_digest(&e, &sig),
            Err(Error::BadSignature)
        ));
        assert!(!rustcrypto_accepts(&vk, &e, &raw));
    }

    // r = 1, s = 1, r = n − 1, s = n − 1: in range, not valid.
    let one = Scalar::ONE.to_be_bytes();
    let nm1 = Scalar::ONE.neg().to_be_bytes();
    for (rr, ss) in [(one, one), (nm1, nm1), (one, nm1), (nm1, s)] {
        assert!(!ours_accepts(pk, &e, &raw(&rr, &ss)));
        assert!(!rustcrypto_accepts(&vk, &e, &raw(&rr, &ss)));
    }
}

#[test]
fn digest_at_or_above_n_is_reduced() {
    // e ≥ n must be used mod n, as RustCrypto and the standard do.
    let d = Scalar([77, 66, 55, 44]);
    let (k, vk) = key(&d);
    for e in [
        [0xffu8; 32],
        limbs_to_be_bytes(&N),
        limbs_to_be_bytes(&adc4(&N, &[5, 0, 0, 0]).0),
    ] {
        let sig = k.sign_digest(&e).expect("sign").to_raw();
        assert!(ours_accepts(k.public_key(), &e, &sig));
        assert!(rustcrypto_accepts(&vk, &e, &sig));
    }
}

/// A curve point with a small x (so x + p still fits in 32 bytes).
fn small_x_point() -> ([u64; 4], Fe) {
    let mut x = [0u64; 4];
    loop {
        x[0] += 1;
        let fx = Fe::from_canonical_limbs(x);
        let rhs = fx.square().mul(&fx).sub(&fx.double().add(&fx)).add(&B);
        // p ≡ 3 (mod 4): a square root is rhs^((p+1)/4).
        let y = pow_p_plus_1_over_4(&rhs);
        if y.square() == rhs {
            return (x, y);
        }
    }
}

#[test]
fn public_key_decoding_rejects_bad_points() {
    let (x, y) = small_x_point();
    let xb = limbs_to_be_bytes(&x);
    let yb = y.to_be_bytes();
    let enc = |x: &[u8; 32], y: &[u8; 32]| {
        let mut v = vec![4u8];
        v.extend_from_slice(x);
        v.extend_from_slice(y);
        v
    };
    // The point itself decodes, and compressed decodes to the same key.
    let pk = Sm2PublicKey::from_sec1_bytes(&enc(&xb, &yb)).expect("on the curve");
    let mut comp = vec![2 + (yb[31] & 1)];
    comp.extend_from_slice(&xb);
    assert_eq!(
        Sm2PublicKey::from_sec1_bytes(&comp).expect("compressed"),
        pk
    );
    // x + p (≡ x mod p, but not canonical) is refused.
    let (xp, carry) = adc4(&x, &P);
    assert_eq!(carry, 0);
    assert!(Sm2PublicKey::from_sec1_bytes(&enc(&limbs_to_be_bytes(&xp), &yb)).is_err());
    // A coordinate equal to p, or all ones, is refused.
    let pb = limbs_to_be_bytes(&P);
    assert!(Sm2PublicKey::from_sec1_bytes(&enc(&pb, &yb)).is_err());
    assert!(Sm2PublicKey::from_sec1_bytes(&enc(&xb, &pb)).is_err());
    assert!(Sm2PublicKey::from_sec1_bytes(&enc(&xb, &[0xff; 32])).is_err());
    // Off the curve; the point at infinity; (0, 0); truncated; wrong tag.
    let y1 = y.add(&Fe::ONE).to_be_bytes();
    assert!(Sm2PublicKey::from_sec1_bytes(&enc(&xb, &y1)).is_err());
    assert!(Sm2PublicKey::from_sec1_bytes(&[0]).is_err());
    assert!(Sm2PublicKey::from_sec1_bytes(&enc(&[0; 32], &[0; 32])).is_err());
    assert!(Sm2PublicKey::from_sec1_bytes(&enc(&xb, &yb)[..64]).is_err());
    let mut tag5 = enc(&xb, &yb);
    tag5[0] = 5;
    assert!(Sm2PublicKey::from_sec1_bytes(&tag5).is_err());
    let mut comp_bad = comp.clone();
    comp_bad[1..].copy_from_slice(&pb);
    assert!(Sm2PublicKey::from_sec1_bytes(&comp_bad).is_err());
    // Sanity for the helpers: y < p and x small.
    assert!(lt(&y.to_canonical_limbs(), &P) && x[1] == 0);
}

#[test]
fn fixed_base_multiplication_matches_rustcrypto() {
    use ::sm2::elliptic_curve::{PrimeField as _, sec1::ToSec1Point as _};
    let mut rng = Rng(12);
    let mut ks: Vec<Scalar> = [1u64, 2, 7, 8, 9, 15, 16, 17, 0x88, 0x8888_8888_8888_8888]
        .iter()
        .map(|&v| Scalar([v, 0, 0, 0]))
        .collect();
    ks.push(Scalar(super::field::sbb4(&N, &[1, 0, 0, 0]).0));
    ks.push(Scalar([
        u64::MAX,
        u64::MAX,
        u64::MAX,
        0xFFFF_FFFE_0000_0000,
    ]));
    ks.push(Scalar([0x8888_8888_8888_8888; 4]));
    ks.push(Scalar([0x9999_9999_9999_9999, 0, 0, 0x8888_8888_8888_8888]));
    for _ in 0..300 {
        ks.push(Scalar(rng.below(&N)));
    }
    for k in ks {
        if k.is_zero() {
            assert!(super::sign::mul_base_affine(&k).is_none());
            continue;
        }
        let ours = super::sign::mul_base_affine(&k).expect("not the identity");
        let rk = Option::<::sm2::Scalar>::from(::sm2::Scalar::from_repr(k.to_be_bytes().into()))
            .expect("below n");
        let theirs = (::sm2::ProjectivePoint::GENERATOR * rk)
            .to_affine()
            .to_sec1_point(false);
        assert_eq!(&theirs.as_bytes()[1..33], &ours.x.to_be_bytes(), "{k:?}");
        assert_eq!(&theirs.as_bytes()[33..], &ours.y.to_be_bytes(), "{k:?}");
    }
}
