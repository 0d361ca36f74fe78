//! Engine tests: field and scalar arithmetic against a shift-and-subtract big-integer
//! reference, points and double-scalar multiplication against RustCrypto `sm2`, and
//! the final x-coordinate check on its rare `x1 ≥ n` branch.

use super::field::{Fe, P, adc4, limbs_to_be_bytes, lt, sbb4};
use super::point::{Affine, Jacobian};
use super::scalar::{N, Scalar};
use super::*;
use ::sm2::elliptic_curve::{Group as _, PrimeField as _, sec1::ToSec1Point as _};

/// splitmix64: deterministic test randomness.
pub(crate) struct Rng(pub(crate) u64);

impl Rng {
    pub(crate) fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    pub(crate) fn limbs(&mut self) -> [u64; 4] {
        [self.next(), self.next(), self.next(), self.next()]
    }

    pub(crate) fn bytes32(&mut self) -> [u8; 32] {
        limbs_to_be_bytes(&self.limbs())
    }

    /// Uniform below `m`, with a bias toward the edges (0, 1, m − 1, m − 2, and
    /// values with long runs of ones or zeros).
    pub(crate) fn below(&mut self, m: &[u64; 4]) -> [u64; 4] {
        let pick = self.next() % 16;
        let v = match pick {
            0 => [0; 4],
            1 => [1, 0, 0, 0],
            2 => sbb4(m, &[1, 0, 0, 0]).0,
            3 => sbb4(m, &[2, 0, 0, 0]).0,
            4 => [u64::MAX, u64::MAX, 0, 0],
            5 => [0, 0, u64::MAX, u64::MAX >> 1],
            _ => self.limbs(),
        };
        if lt(&v, m) { v } else { self.below(m) }
    }
}

/// `(a · b) mod m` by schoolbook multiplication and bitwise long division.
fn ref_mulmod(a: &[u64; 4], b: &[u64; 4], m: &[u64; 4]) -> [u64; 4] {
    let mut prod = [0u64; 8];
    for i in 0..4 {
        let mut carry = 0u128;
        for j in 0..4 {
            let t = prod[i + j] as u128 + (a[i] as u128) * (b[j] as u128) + carry;
            prod[i + j] = t as u64;
            carry = t >> 64;
        }
        prod[i + 4] = carry as u64;
    }
    ref_mod(&prod, m)
}

fn ref_mod(x: &[u64; 8], m: &[u64; 4]) -> [u64; 4] {
    // r < m < 2^256 always; 2r + bit < 2^257 is tracked with a top bit.
    let mut r = [0u64; 4];
    for bit in (0..512).rev() {
        let top = r[3] >> 63;
        for i in (1..4).rev() {
            r[i] = (r[i] << 1) | (r[i - 1] >> 63);
        }
        r[0] = (r[0] << 1) | ((x[bit / 64] >> (bit % 64)) & 1);
        if top == 1 || !lt(&r, m) {
            r = sbb4(&r, m).0;
        }
    }
    r
}

fn ref_addmod(a: &[u64; 4], b: &[u64; 4], m: &[u64; 4]) -> [u64; 4] {
    let (s, c) = adc4(a, b);
    if c == 1 || !lt(&s, m) {
        sbb4(&s, m).0
    } else {
        s
    }
}

fn ref_submod(a: &[u64; 4], b: &[u64; 4], m: &[u64; 4]) -> [u64; 4] {
    let (d, borrow) = sbb4(a, b);
    if borrow == 1 { adc4(&d, m).0 } else { d }
}

fn fe(l: [u64; 4]) -> Fe {
    Fe::from_canonical_limbs(l)
}

#[test]
fn field_ops_match_the_reference() {
    let mut rng = Rng(1);
    for _ in 0..3000 {
        let a = rng.below(&P);
        let b = rng.below(&P);
        let (fa, fb) = (fe(a), fe(b));
        assert_eq!(fa.to_canonical_limbs(), a);
        assert_eq!(fa.mul(&fb).to_canonical_limbs(), ref_mulmod(&a, &b, &P));
        assert_eq!(fa.square().to_canonical_limbs(), ref_mulmod(&a, &a, &P));
        assert_eq!(fa.add(&fb).to_canonical_limbs(), ref_addmod(&a, &b, &P));
        assert_eq!(fa.sub(&fb).to_canonical_limbs(), ref_submod(&a, &b, &P));
        assert_eq!(fa.neg().to_canonical_limbs(), ref_submod(&[0; 4], &a, &P));
        assert_eq!(fa.is_zero(), a == [0; 4]);
        assert_eq!(Fe::select(&fa, &fb, 0), fa);
        assert_eq!(Fe::select(&fa, &fb, 1), fb);
        let bytes = limbs_to_be_bytes(&a);
        assert_eq!(Fe::from_be_bytes(&bytes), Some(fa));
        assert_eq!(fa.to_be_bytes(), bytes);
    }
    for _ in 0..200 {
        let a = rng.below(&P);
        let inv = fe(a).invert();
        if a == [0; 4] {
            assert_eq!(inv, Fe::ZERO);
        } else {
            assert_eq!(ref_mulmod(&a, &inv.to_canonical_limbs(), &P), [1, 0, 0, 0]);
        }
    }
}

#[test]
fn field_decoding_rejects_non_canonical_values() {
    assert!(Fe::from_be_bytes(&limbs_to_be_bytes(&P)).is_none());
    assert!(Fe::from_be_bytes(&[0xff; 32]).is_none());
    let p1 = adc4(&P, &[1, 0, 0, 0]).0;
    assert!(Fe::from_be_bytes(&limbs_to_be_bytes(&p1)).is_none());
    let pm1 = sbb4(&P, &[1, 0, 0, 0]).0;
    assert_eq!(
        Fe::from_be_bytes(&limbs_to_be_bytes(&pm1)),
        Some(Fe::ONE.neg())
    );
}

#[test]
fn scalar_ops_match_the_reference_and_rustcrypto() {
    let mut rng = Rng(2);
    let rc = |s: &Scalar| {
        Option::<sm2::Scalar>::from(sm2::Scalar::from_repr(s.to_be_bytes().into()))
            .expect("below n")
    };
    for _ in 0..2000 {
        let a = Scalar(rng.below(&N));
        let b = Scalar(rng.below(&N));
        assert_eq!(a.mul(&b).0, ref_mulmod(&a.0, &b.0, &N));
        assert_eq!(a.add(&b).0, ref_addmod(&a.0, &b.0, &N));
        assert_eq!(a.sub(&b).0, ref_submod(&a.0, &b.0, &N));
        assert_eq!(a.neg().0, ref_submod(&[0; 4], &a.0, &N));
        assert_eq!(rc(&a.mul(&b)), rc(&a) * rc(&b));
        assert_eq!(rc(&a.sub(&b)), rc(&a) - rc(&b));
        let raw = rng.bytes32();
        let reduced = Scalar::reduce_be_bytes(&raw);
        let mut wide = [0u64; 8];
        wide[..4].copy_from_slice(&super::field::be_bytes_to_limbs(&raw));
        assert_eq!(reduced.0, ref_mod(&wide, &N));
        assert_eq!(Scalar::from_be_bytes(&a.to_be_bytes()), Some(a));
    }
    for _ in 0..50 {
        let a = Scalar(rng.below(&N));
        let inv = a.invert();
        if a.is_zero() {
            assert!(inv.is_zero());
        } else {
            assert_eq!(a.mul(&inv), Scalar::ONE);
            assert_eq!(rc(&inv), rc(&a).invert().unwrap());
        }
    }
    // Range checks.
    assert!(Scalar::from_be_bytes(&limbs_to_be_bytes(&N)).is_none());
    assert!(Scalar::from_be_bytes(&[0xff; 32]).is_none());
    let nm1 = sbb4(&N, &[1, 0, 0, 0]).0;
    assert!(Scalar::from_be_bytes(&limbs_to_be_bytes(&nm1)).is_some());
    assert_eq!(
        Scalar::reduce_be_bytes(&limbs_to_be_bytes(&N)),
        Scalar::ZERO
    );
    assert_eq!(Scalar::reduce_limbs(&P).0, sbb4(&P, &N).0);
}

#[test]
fn wnaf_recodes_exactly() {
    let mut rng = Rng(3);
    for w in [2u32, 4, 5, 6, 8] {
        for n in 0..2000u64 {
            let k = match n {
                0 => 0,
                1 => u64::MAX,
                2 => 1 << 63,
                3 => n,
                _ => rng.next() >> (rng.next() % 64),
            };
            let d = table::wnaf64(k, w);
            let mut acc = 0i128;
            let mut last_nonzero: Option<usize> = None;
            for i in (0..table::DIGITS).rev() {
                acc *= 2;
                let v = d[i];
                if v != 0 {
                    assert!(v % 2 != 0 && (v.unsigned_abs() as u32) < (1 << (w - 1)));
                    if let Some(j) = last_nonzero {
                        assert!(j - i >= w as usize, "digits {j} and {i} too close");
                    }
                    last_nonzero = Some(i);
                    acc += i128::from(v);
                }
            }
            assert_eq!(acc, i128::from(k), "w = {w}");
        }
    }
}

fn rc_point(p: &Jacobian) -> Option<[u8; 65]> {
    p.to_affine().map(|a| {
        let mut out = [4u8; 65];
        out[1..33].copy_from_slice(&a.x.to_be_bytes());
        out[33..].copy_from_slice(&a.y.to_be_bytes());
        out
    })
}

fn rc_encode(p: &sm2::ProjectivePoint) -> Option<[u8; 65]> {
    if bool::from(p.is_identity()) {
        return None;
    }
    let enc = p.to_affine().to_sec1_point(false);
    let mut out = [0u8; 65];
    out.copy_from_slice(enc.as_bytes());
    Some(out)
}

fn rc_scalar(s: &Scalar) -> sm2::Scalar {
    Option::<sm2::Scalar>::from(sm2::Scalar::from_repr(s.to_be_bytes().into())).expect("below n")
}

fn affine_of(p: &sm2::ProjectivePoint) -> Affine {
    let enc = rc_encode(p).expect("not infinity");
    let x: [u8; 32] = enc[1..33].try_into().expect("32");
    let y: [u8; 32] = enc[33..].try_into().expect("32");
    Affine::from_be_bytes(&x, &y).expect("on the curve")
}

#[test]
fn generator_and_curve_constants() {
    let g = Affine::GENERATOR;
    assert!(g.is_on_curve());
    assert_eq!(
        rc_point(&Jacobian::from(g)),
        rc_encode(&sm2::ProjectivePoint::GENERATOR)
    );
    let mut bad = g;
    bad.y = bad.y.add(&Fe::ONE);
    assert!(!bad.is_on_curve());
    // Table entries are the odd multiples of 2^(64j)·G.
    let t = table::g_table();
    assert_eq!(t.len(), 4 * 64);
    let two64 = sm2::Scalar::from(u64::MAX) + sm2::Scalar::ONE;
    let mut base = sm2::ProjectivePoint::GENERATOR;
    for j in 0..4 {
        for i in 0..64 {
            let k = sm2::Scalar::from((2 * i + 1) as u64);
            assert_eq!(affine_of(&(base * k)), t[j * 64 + i]);
        }
        base *= two64;
    }
}

#[test]
fn point_formulas_match_rustcrypto() {
    let mut rng = Rng(4);
    let g = sm2::ProjectivePoint::GENERATOR;
    for _ in 0..40 {
        let a = Scalar(rng.below(&N));
        let b = Scalar(rng.below(&N));
        let pa = g * rc_scalar(&a);
        let pb = g * rc_scalar(&b);
        if bool::from(pa.is_identity() | pb.is_identity()) {
            continue;
        }
        let (ja, jb) = (Jacobian::from(affine_of(&pa)), affine_of(&pb));
        // Give ja a random Z so the Jacobian paths see Z ≠ 1.
        let z = fe(rng.below(&P)).add(&Fe::ONE);
        let ja = Jacobian {
            x: ja.x.mul(&z.square()),
            y: ja.y.mul(&z.square().mul(&z)),
            z,
        };
        assert_eq!(rc_point(&ja.double()), rc_encode(&pa.double()));
        assert_eq!(rc_point(&ja.add_affine(&jb)), rc_encode(&(pa + pb)));
        assert_eq!(
            rc_point(&ja.add(&Jacobian::from(jb).double())),
            rc_encode(&(pa + pb.double()))
        );
        // Exceptional cases: P + P, P − P, O + P, P + O.
        let a_aff = affine_of(&pa);
        assert_eq!(rc_point(&ja.add_affine(&a_aff)), rc_encode(&pa.double()));
        assert!(ja.add_affine(&a_aff.neg()).is_identity());
        assert!(ja.add(&Jacobian::from(a_aff.neg())).is_identity());
        assert!(ja.add(&ja).eq_point(&ja.double()));
        assert!(Jacobian::IDENTITY.add_affine(&a_aff).eq_point(&ja));
        assert!(Jacobian::IDENTITY.add(&ja).eq_point(&ja));
        assert!(ja.add(&Jacobian::IDENTITY).eq_point(&ja));
        assert!(Jacobian::IDENTITY.double().is_identity());
    }
}

#[test]
fn double_mul_matches_rustcrypto() {
    let mut rng = Rng(5);
    let g = sm2::ProjectivePoint::GENERATOR;
    let mut keys = Vec::new();
    for _ in 0..6 {
        let d = Scalar(rng.below(&N));
        if d.is_zero() {
            continue;
        }
        keys.push(d);
    }
    // P = G, P = −G and P = 2G exercise the P = ±Q cases inside the chain.
    keys.push(Scalar::ONE);
    keys.push(Scalar::ONE.neg());
    keys.push(Scalar([2, 0, 0, 0]));
    for d in keys {
        let p = g * rc_scalar(&d);
        let table = KeyTable::new(&affine_of(&p));
        for _ in 0..25 {
            let a = Scalar(rng.below(&N));
            let b = Scalar(rng.below(&N));
            let ours = double_mul(&a, &b, &table);
            let theirs = g * rc_scalar(&a) + p * rc_scalar(&b);
            assert_eq!(rc_point(&ours), rc_encode(&theirs));
            // k·G and k·P alone.
            assert_eq!(
                rc_point(&double_mul(&a, &Scalar::ZERO, &table)),
                rc_encode(&(g * rc_scalar(&a)))
            );
            assert_eq!(
                rc_point(&double_mul(&Scalar::ZERO, &b, &table)),
                rc_encode(&(p * rc_scalar(&b)))
            );
            // a·G + b·P = O when a = −b·d.
            let a0 = b.mul(&d).neg();
            assert!(double_mul(&a0, &b, &table).is_identity());
        }
    }
    assert!(
        double_mul(
            &Scalar::ZERO,
            &Scalar::ZERO,
            &KeyTable::new(&Affine::GENERATOR)
        )
        .is_identity()
    );
}

#[test]
fn x_check_covers_x1_at_or_above_n() {
    // Find affine points with x1 ∈ [n, p): x1 mod n = x1 − n. A random Z stands in
    // for the Jacobian output of the multiplication.
    let mut rng = Rng(6);
    let mut found = 0;
    // p − n ≈ 2^127.1: step through [n, p) in small random increments.
    let mut x = N;
    while found < 5 {
        x = adc4(&x, &[rng.next() >> 8, rng.next() >> 8, 0, 0]).0;
        assert!(lt(&x, &P));
        let fx = fe(x);
        let rhs = fx
            .square()
            .mul(&fx)
            .sub(&fx.double().add(&fx))
            .add(&super::point::B);
        // p ≡ 3 (mod 4): y = rhs^((p+1)/4) if rhs is a square.
        let y = pow_p_plus_1_over_4(&rhs);
        if y.square() != rhs {
            continue;
        }
        found += 1;
        let z = fe(rng.below(&P)).add(&Fe::ONE);
        let q = Jacobian {
            x: fx.mul(&z.square()),
            y: y.mul(&z.square().mul(&z)),
            z,
        };
        let e_raw = rng.bytes32();
        let e = Scalar::reduce_be_bytes(&e_raw);
        let x1n = Scalar(sbb4(&x, &N).0);
        let r = e.add(&x1n);
        assert!(x_matches(&q, &r, &e_raw));
        assert!(!x_matches(&q, &r.add(&Scalar::ONE), &e_raw));
        // A point with x1 < n: only the first candidate can match.
        let g = Jacobian::from(Affine::GENERATOR);
        let gx = Scalar::reduce_limbs(&Affine::GENERATOR.x.to_canonical_limbs());
        assert!(x_matches(&g, &e.add(&gx), &e_raw));
        assert!(!x_matches(&g, &e.add(&gx).add(&Scalar::ONE), &e_raw));
    }
}

pub(super) fn pow_p_plus_1_over_4(a: &Fe) -> Fe {
    // (p + 1) / 4, bit by bit (tests only).
    let (p1, _) = adc4(&P, &[1, 0, 0, 0]);
    let e = [
        (p1[0] >> 2) | (p1[1] << 62),
        (p1[1] >> 2) | (p1[2] << 62),
        (p1[2] >> 2) | (p1[3] << 62),
        p1[3] >> 2,
    ];
    let mut acc = Fe::ONE;
    for i in (0..256).rev() {
        acc = acc.square();
        if (e[i / 64] >> (i % 64)) & 1 == 1 {
            acc = acc.mul(a);
        }
    }
    acc
}

#[test]
fn table_cache_evicts_and_hits() {
    let mut rng = Rng(7);
    let g = sm2::ProjectivePoint::GENERATOR;
    let mut first = None;
    for i in 0..(CACHE_CAPACITY + 10) {
        let d = Scalar(rng.below(&N));
        if d.is_zero() {
            continue;
        }
        let p = affine_of(&(g * rc_scalar(&d)));
        let mut xy = [0u8; 64];
        xy[..32].copy_from_slice(&p.x.to_be_bytes());
        xy[32..].copy_from_slice(&p.y.to_be_bytes());
        let t = cached_table(&xy, &p);
        assert_eq!(t.odd[0], p);
        if i == 0 {
            first = Some((xy, p, t.clone()));
        }
        let again = cached_table(&xy, &p);
        assert!(Arc::ptr_eq(&t, &again));
    }
    let (xy, p, _) = first.expect("set");
    assert_eq!(cached_table(&xy, &p).odd[0], p);
    let c = cache().lock().expect("not poisoned");
    assert!(c.slots.len() <= CACHE_CAPACITY && c.index.len() == c.slots.len());
}
