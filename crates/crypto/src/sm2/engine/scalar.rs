//! Arithmetic mod n, the order of the SM2 base point, over fiat-crypto's
//! `sm2_scalar_64` routines.
//!
//! A [`Scalar`] holds canonical (not Montgomery) little-endian limbs `< n`: addition
//! and subtraction are representation-independent, and a product is one extra
//! Montgomery multiplication by R² away (see [`Scalar::mul`]). Every operation here
//! is constant time; only the `_vartime` helpers branch.

use super::field::{adc4, be_bytes_to_limbs, limbs_to_be_bytes, sbb4};
use fiat_crypto::sm2_scalar_64::{
    fiat_sm2_scalar_add, fiat_sm2_scalar_montgomery_domain_field_element as Mont,
    fiat_sm2_scalar_mul, fiat_sm2_scalar_non_montgomery_domain_field_element as NonMont,
    fiat_sm2_scalar_sub, fiat_sm2_scalar_to_montgomery,
};
use zeroize::Zeroize;

/// n, little-endian 64-bit limbs.
pub(crate) const N: [u64; 4] = [
    0x53BB_F409_39D5_4123,
    0x7203_DF6B_21C6_052B,
    0xFFFF_FFFF_FFFF_FFFF,
    0xFFFF_FFFE_FFFF_FFFF,
];

/// An integer mod n, canonical limbs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Zeroize)]
pub(crate) struct Scalar(pub(crate) [u64; 4]);

impl Scalar {
    /// 0.
    #[cfg(test)]
    pub(crate) const ZERO: Scalar = Scalar([0; 4]);
    /// 1.
    pub(crate) const ONE: Scalar = Scalar([1, 0, 0, 0]);

    /// The scalar encoded big-endian in `b`, if `b < n` (the range check of a
    /// signature component or a private key). The comparison is constant time;
    /// only its outcome is revealed.
    pub(crate) fn from_be_bytes(b: &[u8; 32]) -> Option<Scalar> {
        let l = be_bytes_to_limbs(b);
        let (_, borrow) = sbb4(&l, &N);
        (borrow == 1).then_some(Scalar(l))
    }

    /// `b mod n` for any 256-bit big-endian `b` (one conditional subtraction
    /// suffices as 2²⁵⁶ < 2n), constant time.
    pub(crate) fn reduce_be_bytes(b: &[u8; 32]) -> Scalar {
        Scalar(reduce_once(&be_bytes_to_limbs(b)))
    }

    /// Reduce canonical field limbs (`< p < 2n`) mod n, constant time.
    pub(crate) fn reduce_limbs(l: &[u64; 4]) -> Scalar {
        Scalar(reduce_once(l))
    }

    /// Big-endian encoding.
    pub(crate) fn to_be_bytes(self) -> [u8; 32] {
        limbs_to_be_bytes(&self.0)
    }

    /// True for 0.
    pub(crate) fn is_zero(&self) -> bool {
        (self.0[0] | self.0[1] | self.0[2] | self.0[3]) == 0
    }

    /// `self + rhs mod n`.
    pub(crate) fn add(&self, rhs: &Scalar) -> Scalar {
        let mut out = Mont([0; 4]);
        fiat_sm2_scalar_add(&mut out, &Mont(self.0), &Mont(rhs.0));
        Scalar(out.0)
    }

    /// `self − rhs mod n`.
    pub(crate) fn sub(&self, rhs: &Scalar) -> Scalar {
        let mut out = Mont([0; 4]);
        fiat_sm2_scalar_sub(&mut out, &Mont(self.0), &Mont(rhs.0));
        Scalar(out.0)
    }

    /// `−self mod n`.
    #[cfg(test)]
    pub(crate) fn neg(&self) -> Scalar {
        use fiat_crypto::sm2_scalar_64::fiat_sm2_scalar_opp;
        let mut out = Mont([0; 4]);
        fiat_sm2_scalar_opp(&mut out, &Mont(self.0));
        Scalar(out.0)
    }

    /// `self · rhs mod n`: Montgomery-multiplying `self·R` by `rhs` gives the
    /// canonical product.
    pub(crate) fn mul(&self, rhs: &Scalar) -> Scalar {
        let mut a = Mont([0; 4]);
        fiat_sm2_scalar_to_montgomery(&mut a, &NonMont(self.0));
        let mut out = Mont([0; 4]);
        fiat_sm2_scalar_mul(&mut out, &a, &Mont(rhs.0));
        a.0.zeroize();
        Scalar(out.0)
    }

    /// `self⁻¹ mod n` by Fermat (`self^(n−2)`), square-and-multiply over the public
    /// exponent (constant time in `self`). 0 maps to 0.
    pub(crate) fn invert(&self) -> Scalar {
        // Work in the Montgomery domain throughout: x·R.
        let mut x = Mont([0; 4]);
        fiat_sm2_scalar_to_montgomery(&mut x, &NonMont(self.0));
        let mut acc = Mont([0; 4]);
        fiat_sm2_scalar_to_montgomery(&mut acc, &NonMont([1, 0, 0, 0]));
        let (e, _) = sbb4(&N, &[2, 0, 0, 0]);
        for i in (0..256).rev() {
            let mut sq = Mont([0; 4]);
            fiat_sm2_scalar_mul(&mut sq, &acc, &acc);
            acc = sq;
            // The temporaries hold powers of the secret (the last one is the
            // inverse itself): wiped, not left on the stack.
            sq.0.zeroize();
            if (e[i / 64] >> (i % 64)) & 1 == 1 {
                let mut m = Mont([0; 4]);
                fiat_sm2_scalar_mul(&mut m, &acc, &x);
                acc = m;
                m.0.zeroize();
            }
        }
        // Back out of the Montgomery domain: multiply by canonical 1.
        let mut out = Mont([0; 4]);
        fiat_sm2_scalar_mul(&mut out, &acc, &Mont([1, 0, 0, 0]));
        x.0.zeroize();
        acc.0.zeroize();
        Scalar(out.0)
    }
}

/// `l mod n` for `l < 2n`, constant time.
fn reduce_once(l: &[u64; 4]) -> [u64; 4] {
    let (d, borrow) = sbb4(l, &N);
    // borrow = 1: l < n, keep l.
    let mask = borrow.wrapping_neg();
    let mut out = [0u64; 4];
    for i in 0..4 {
        out[i] = (l[i] & mask) | (d[i] & !mask);
    }
    out
}

/// `l + n` over 256 bits if it does not overflow (variable time; public values).
pub(crate) fn add_n_vartime(l: &[u64; 4]) -> Option<[u64; 4]> {
    let (s, carry) = adc4(l, &N);
    (carry == 0).then_some(s)
}
