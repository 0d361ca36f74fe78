//! Arithmetic in GF(p), p = 2²⁵⁶ − 2²²⁴ − 2⁹⁶ + 2⁶⁴ − 1, over fiat-crypto's
//! formally verified `sm2_64` Montgomery routines.
//!
//! Every [`Fe`] is fully reduced (`< p`) in Montgomery form, so equality and the
//! zero test compare limbs directly.

use fiat_crypto::sm2_64::{
    fiat_sm2_add, fiat_sm2_from_montgomery, fiat_sm2_montgomery_domain_field_element as Mont,
    fiat_sm2_mul, fiat_sm2_non_montgomery_domain_field_element as NonMont, fiat_sm2_opp,
    fiat_sm2_selectznz, fiat_sm2_square, fiat_sm2_sub, fiat_sm2_to_montgomery,
};

/// p, little-endian 64-bit limbs.
pub(crate) const P: [u64; 4] = [
    0xFFFF_FFFF_FFFF_FFFF,
    0xFFFF_FFFF_0000_0000,
    0xFFFF_FFFF_FFFF_FFFF,
    0xFFFF_FFFE_FFFF_FFFF,
];

/// A field element mod p in Montgomery form, fully reduced.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub(crate) struct Fe(pub(crate) [u64; 4]);

impl Fe {
    /// 0.
    pub(crate) const ZERO: Fe = Fe([0; 4]);
    /// 1 (R mod p in Montgomery form).
    pub(crate) const ONE: Fe = Fe::from_canonical_limbs([1, 0, 0, 0]);

    /// The element with canonical (not Montgomery) little-endian limbs `l`, `l < p`.
    pub(crate) const fn from_canonical_limbs(l: [u64; 4]) -> Fe {
        let mut out = Mont([0; 4]);
        fiat_sm2_to_montgomery(&mut out, &NonMont(l));
        Fe(out.0)
    }

    /// Canonical little-endian limbs (`< p`).
    pub(crate) fn to_canonical_limbs(self) -> [u64; 4] {
        let mut out = NonMont([0; 4]);
        fiat_sm2_from_montgomery(&mut out, &Mont(self.0));
        out.0
    }

    /// The element encoded big-endian in `b`; `None` if `b ≥ p`.
    pub(crate) fn from_be_bytes(b: &[u8; 32]) -> Option<Fe> {
        let l = be_bytes_to_limbs(b);
        lt(&l, &P).then(|| Fe::from_canonical_limbs(l))
    }

    /// Big-endian canonical encoding.
    pub(crate) fn to_be_bytes(self) -> [u8; 32] {
        limbs_to_be_bytes(&self.to_canonical_limbs())
    }

    /// Compile-time decoding of a big-endian constant below p.
    pub(crate) const fn from_be_const(b: &[u8; 32]) -> Fe {
        Fe::from_canonical_limbs(be_bytes_to_limbs(b))
    }

    #[inline(always)]
    pub(crate) fn mul(&self, rhs: &Fe) -> Fe {
        let mut out = Mont([0; 4]);
        fiat_sm2_mul(&mut out, &Mont(self.0), &Mont(rhs.0));
        Fe(out.0)
    }

    #[inline(always)]
    pub(crate) fn square(&self) -> Fe {
        let mut out = Mont([0; 4]);
        fiat_sm2_square(&mut out, &Mont(self.0));
        Fe(out.0)
    }

    /// `self^(2^k)`.
    #[inline]
    pub(crate) fn sqn(&self, k: usize) -> Fe {
        let mut x = *self;
        for _ in 0..k {
            x = x.square();
        }
        x
    }

    #[inline(always)]
    pub(crate) fn add(&self, rhs: &Fe) -> Fe {
        let mut out = Mont([0; 4]);
        fiat_sm2_add(&mut out, &Mont(self.0), &Mont(rhs.0));
        Fe(out.0)
    }

    #[inline(always)]
    pub(crate) fn sub(&self, rhs: &Fe) -> Fe {
        let mut out = Mont([0; 4]);
        fiat_sm2_sub(&mut out, &Mont(self.0), &Mont(rhs.0));
        Fe(out.0)
    }

    #[inline(always)]
    pub(crate) fn neg(&self) -> Fe {
        let mut out = Mont([0; 4]);
        fiat_sm2_opp(&mut out, &Mont(self.0));
        Fe(out.0)
    }

    /// `2·self`.
    #[inline(always)]
    pub(crate) fn double(&self) -> Fe {
        self.add(self)
    }

    /// True for 0 (variable time in nothing: ORs the limbs).
    #[inline(always)]
    pub(crate) fn is_zero(&self) -> bool {
        (self.0[0] | self.0[1] | self.0[2] | self.0[3]) == 0
    }

    /// `if choice { b } else { a }` with `choice ∈ {0, 1}`, constant time.
    #[inline(always)]
    pub(crate) fn select(a: &Fe, b: &Fe, choice: u8) -> Fe {
        let mut out = [0u64; 4];
        fiat_sm2_selectznz(&mut out, choice, &a.0, &b.0);
        Fe(out)
    }

    /// `self⁻¹` by Fermat (`self^(p−2)`), a fixed addition chain of 256 squarings
    /// and 15 multiplications (constant time). 0 maps to 0.
    pub(crate) fn invert(&self) -> Fe {
        // p − 2 = [31 ones][0][128 ones][32 zeros][62 ones][0][1] from the top bit.
        let x1 = *self;
        let x2 = x1.square().mul(&x1);
        let x3 = x2.square().mul(&x1);
        let x6 = x3.sqn(3).mul(&x3);
        let x12 = x6.sqn(6).mul(&x6);
        let x24 = x12.sqn(12).mul(&x12);
        let x30 = x24.sqn(6).mul(&x6);
        let x31 = x30.square().mul(&x1);
        let x32 = x31.square().mul(&x1);
        let mut t = x31.square();
        for _ in 0..4 {
            t = t.sqn(32).mul(&x32);
        }
        t = t.sqn(32);
        t = t.sqn(32).mul(&x32);
        t = t.sqn(30).mul(&x30);
        t.sqn(2).mul(&x1)
    }
}

/// Big-endian 32 bytes to little-endian limbs.
pub(crate) const fn be_bytes_to_limbs(b: &[u8; 32]) -> [u64; 4] {
    let mut l = [0u64; 4];
    let mut i = 0;
    while i < 4 {
        let mut w = 0u64;
        let mut j = 0;
        while j < 8 {
            w = (w << 8) | b[(3 - i) * 8 + j] as u64;
            j += 1;
        }
        l[i] = w;
        i += 1;
    }
    l
}

/// Little-endian limbs to big-endian 32 bytes.
pub(crate) fn limbs_to_be_bytes(l: &[u64; 4]) -> [u8; 32] {
    let mut out = [0u8; 32];
    for (i, w) in l.iter().enumerate() {
        out[(3 - i) * 8..(4 - i) * 8].copy_from_slice(&w.to_be_bytes());
    }
    out
}

/// `a < b` for little-endian limbs (variable time: only for public values).
pub(crate) fn lt(a: &[u64; 4], b: &[u64; 4]) -> bool {
    for i in (0..4).rev() {
        if a[i] != b[i] {
            return a[i] < b[i];
        }
    }
    false
}

/// `a − b` over 256 bits, returning the difference and the borrow (0 or 1).
#[inline(always)]
pub(crate) fn sbb4(a: &[u64; 4], b: &[u64; 4]) -> ([u64; 4], u64) {
    let mut out = [0u64; 4];
    let mut borrow = 0u64;
    for i in 0..4 {
        let (d1, b1) = a[i].overflowing_sub(b[i]);
        let (d2, b2) = d1.overflowing_sub(borrow);
        out[i] = d2;
        borrow = u64::from(b1 | b2);
    }
    (out, borrow)
}

/// `a + b` over 256 bits, returning the sum and the carry (0 or 1).
#[inline(always)]
pub(crate) fn adc4(a: &[u64; 4], b: &[u64; 4]) -> ([u64; 4], u64) {
    let mut out = [0u64; 4];
    let mut carry = 0u64;
    for i in 0..4 {
        let (s1, c1) = a[i].overflowing_add(b[i]);
        let (s2, c2) = s1.overflowing_add(carry);
        out[i] = s2;
        carry = u64::from(c1 | c2);
    }
    (out, carry)
}
