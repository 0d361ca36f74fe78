//! Arithmetic in GF(p), p = 2²⁵⁶ − 2²²⁴ − 2⁹⁶ + 2⁶⁴ − 1, over fiat-crypto's
//! formally verified `sm2_64` routines, except multiplication and squaring:
//! those use the shape of p (see [`reduce_step`]) and are tested against
//! fiat's `fiat_sm2_mul`/`fiat_sm2_square`.
//!
//! Every [`Fe`] is fully reduced (`< p`) in Montgomery form, so equality and the
//! zero test compare limbs directly.

use fiat_crypto::sm2_64::{
    fiat_sm2_add, fiat_sm2_from_montgomery, fiat_sm2_montgomery_domain_field_element as Mont,
    fiat_sm2_non_montgomery_domain_field_element as NonMont, fiat_sm2_opp, fiat_sm2_selectznz,
    fiat_sm2_sub, fiat_sm2_to_montgomery,
};
#[cfg(test)]
use fiat_crypto::sm2_64::{fiat_sm2_mul, fiat_sm2_square};

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

    /// Montgomery product `self · rhs · 2⁻²⁵⁶`, fully reduced, constant time.
    #[inline(always)]
    pub(crate) fn mul(&self, rhs: &Fe) -> Fe {
        Fe(mont_mul(&self.0, &rhs.0))
    }

    /// Montgomery square `self² · 2⁻²⁵⁶`, fully reduced, constant time.
    #[inline(always)]
    pub(crate) fn square(&self) -> Fe {
        Fe(mont_reduce(&square_wide(&self.0)))
    }

    /// fiat-crypto's multiplication: the oracle of the tests.
    #[cfg(test)]
    #[inline]
    pub(crate) fn mul_fiat(&self, rhs: &Fe) -> Fe {
        let mut out = Mont([0; 4]);
        fiat_sm2_mul(&mut out, &Mont(self.0), &Mont(rhs.0));
        Fe(out.0)
    }

    /// fiat-crypto's squaring: the oracle of the tests.
    #[cfg(test)]
    #[inline]
    pub(crate) fn square_fiat(&self) -> Fe {
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

// Montgomery multiplication for the shape of p, R = 2²⁵⁶.
//
// p ≡ −1 (mod 2⁶⁴), so −p⁻¹ ≡ 1 and each reduction step's multiplier m is the
// low limb itself. With k = (p + 1)/2⁶⁴ = 2¹⁹² − 2¹⁶⁰ − 2³² + 1, m·p = m·2⁶⁴·k − m,
// so for t with low limb m: (t + m·p)/2⁶⁴ = ⌊t/2⁶⁴⌋ + m·k, and m·k takes shifts
// and subtractions, no multiplication. Everything below is straight-line code on
// u64/u128: no branch and no memory index depends on the values.

/// `a + b + c` (c ≤ 1): sum and carry.
#[inline(always)]
fn adc(a: u64, b: u64, c: u64) -> (u64, u64) {
    let t = a as u128 + b as u128 + c as u128;
    (t as u64, (t >> 64) as u64)
}

/// `a − b − borrow` (borrow ≤ 1): difference and borrow.
#[inline(always)]
fn sbb(a: u64, b: u64, borrow: u64) -> (u64, u64) {
    let (d, b1) = a.overflowing_sub(b);
    let (d, b2) = d.overflowing_sub(borrow);
    (d, u64::from(b1 | b2))
}

/// `acc + a·b + c`: low and high words (never overflows 128 bits).
#[inline(always)]
fn mac(acc: u64, a: u64, b: u64, c: u64) -> (u64, u64) {
    let t = acc as u128 + (a as u128) * (b as u128) + c as u128;
    (t as u64, (t >> 64) as u64)
}

/// `m·k` as four limbs, k = 2¹⁹² − 2¹⁶⁰ − 2³² + 1: `[m, 0, 0, m]` minus
/// `[m≪32, m≫32, m≪32, m≫32]`. m·k < 2²⁵⁶, so no borrow leaves the top limb.
#[inline(always)]
fn mul_k(m: u64) -> [u64; 4] {
    let (d0, b) = sbb(m, m << 32, 0);
    let (d1, b) = sbb(0, m >> 32, b);
    let (d2, b) = sbb(0, m << 32, b);
    let d3 = m.wrapping_sub(m >> 32).wrapping_sub(b);
    [d0, d1, d2, d3]
}

/// One reduction step on `r < 2²⁵⁶`: `(r + m·p)/2⁶⁴ = ⌊r/2⁶⁴⌋ + m·k` with
/// `m = r₀`. The result is below `2¹⁹² + p < 2²⁵⁶`, so it fits in four limbs.
#[inline(always)]
fn reduce_step(r: [u64; 4]) -> [u64; 4] {
    let d = mul_k(r[0]);
    let (r0, c) = adc(r[1], d[0], 0);
    let (r1, c) = adc(r[2], d[1], c);
    let (r2, c) = adc(r[3], d[2], c);
    [r0, r1, r2, d[3].wrapping_add(c)]
}

/// `t · 2⁻²⁵⁶ mod p`, fully reduced, for `t = a·b` with `a, b < p` (squaring).
///
/// Bound: four steps on the low half give `r = (t_lo + M·p)/2²⁵⁶ < 1 + p`, and
/// the high half is `t_hi ≤ (p − 1)²/2²⁵⁶ < p`, so `r + t_hi < 2p`: one
/// subtraction of p (kept when it does not borrow) gives a result below p.
#[inline(always)]
fn mont_reduce(t: &[u64; 8]) -> [u64; 4] {
    let mut r = [t[0], t[1], t[2], t[3]];
    for _ in 0..4 {
        r = reduce_step(r);
    }
    let (s0, c) = adc(r[0], t[4], 0);
    let (s1, c) = adc(r[1], t[5], c);
    let (s2, c) = adc(r[2], t[6], c);
    let (s3, c) = adc(r[3], t[7], c);
    sub_p_if_not_below([s0, s1, s2, s3], c)
}

/// `s + 2²⁵⁶·hi` (with `hi ≤ 1` and the value below 2p) reduced below p: the
/// difference with p is kept unless it borrows, selected by a mask.
#[inline(always)]
fn sub_p_if_not_below(s: [u64; 4], hi: u64) -> [u64; 4] {
    let (d0, b) = sbb(s[0], P[0], 0);
    let (d1, b) = sbb(s[1], P[1], b);
    let (d2, b) = sbb(s[2], P[2], b);
    let (d3, b) = sbb(s[3], P[3], b);
    let (_, b) = sbb(hi, 0, b);
    // b = 1 iff s + 2²⁵⁶·hi < p: keep s; otherwise the difference.
    let keep = 0u64.wrapping_sub(b);
    [
        (s[0] & keep) | (d0 & !keep),
        (s[1] & keep) | (d1 & !keep),
        (s[2] & keep) | (d2 & !keep),
        (s[3] & keep) | (d3 & !keep),
    ]
}

/// The 512-bit product `a·b`, schoolbook (16 multiplications).
#[cfg(test)]
#[inline(always)]
fn mul_wide(a: &[u64; 4], b: &[u64; 4]) -> [u64; 8] {
    let mut t = [0u64; 8];
    for i in 0..4 {
        let mut c = 0;
        for j in 0..4 {
            (t[i + j], c) = mac(t[i + j], a[i], b[j], c);
        }
        t[i + 4] = c;
    }
    t
}

/// The 512-bit square `a²`: six cross products doubled and four squares.
#[inline(always)]
fn square_wide(a: &[u64; 4]) -> [u64; 8] {
    // Cross products a_i·a_j, i < j, at limb i + j.
    let (t1, c) = mac(0, a[0], a[1], 0);
    let (t2, c) = mac(0, a[0], a[2], c);
    let (t3, t4) = mac(0, a[0], a[3], c);
    let (t3, c) = mac(t3, a[1], a[2], 0);
    let (t4, t5) = mac(t4, a[1], a[3], c);
    let (t5, t6) = mac(t5, a[2], a[3], 0);
    // Doubled: the cross sum fits in limbs 1..=6 (below 2⁴⁴⁸); its top bit moves to t7.
    let t7 = t6 >> 63;
    let t6 = (t6 << 1) | (t5 >> 63);
    let t5 = (t5 << 1) | (t4 >> 63);
    let t4 = (t4 << 1) | (t3 >> 63);
    let t3 = (t3 << 1) | (t2 >> 63);
    let t2 = (t2 << 1) | (t1 >> 63);
    let t1 = t1 << 1;
    // Plus the squares a_i² at limb 2i.
    let (t0, h) = mac(0, a[0], a[0], 0);
    let (t1, c) = adc(t1, h, 0);
    let (s, h) = mac(0, a[1], a[1], 0);
    let (t2, c) = adc(t2, s, c);
    let (t3, c) = adc(t3, h, c);
    let (s, h) = mac(0, a[2], a[2], 0);
    let (t4, c) = adc(t4, s, c);
    let (t5, c) = adc(t5, h, c);
    let (s, h) = mac(0, a[3], a[3], 0);
    let (t6, c) = adc(t6, s, c);
    let (t7, _) = adc(t7, h, c);
    [t0, t1, t2, t3, t4, t5, t6, t7]
}

/// `a·b·2⁻²⁵⁶ mod p` by product then reduction: as fast as [`mont_mul`] within
/// the noise of the microbenchmark, kept for it and as a second implementation.
#[cfg(test)]
#[inline(always)]
pub(crate) fn mont_mul_separated(a: &[u64; 4], b: &[u64; 4]) -> [u64; 4] {
    mont_reduce(&mul_wide(a, b))
}

/// `a·b·2⁻²⁵⁶ mod p`, fully reduced, operand scanning: each row `a_i·b` is
/// added and one reduction step follows at once (measured a little faster than
/// product-then-reduce, see `field_tests::field_speed`).
///
/// Bound: with `t < 2p` before a row, `t + a_i·b < (2⁶⁴ + 1)·p < 2³²⁰` fits in
/// five limbs, and after the step `t < (2p + 2·(2⁶⁴ − 1)·p)/2⁶⁴ < 2p` again
/// (`a_i, m < 2⁶⁴`, `b < p`), so the fifth limb is 0 or 1. One conditional
/// subtraction of p ends below p.
#[inline(always)]
pub(crate) fn mont_mul(a: &[u64; 4], b: &[u64; 4]) -> [u64; 4] {
    let mut t = [0u64; 5];
    for &ai in a {
        let (t0, c) = mac(t[0], ai, b[0], 0);
        let (t1, c) = mac(t[1], ai, b[1], c);
        let (t2, c) = mac(t[2], ai, b[2], c);
        let (t3, c) = mac(t[3], ai, b[3], c);
        let t4 = t[4].wrapping_add(c);
        let d = mul_k(t0);
        let (r0, c) = adc(t1, d[0], 0);
        let (r1, c) = adc(t2, d[1], c);
        let (r2, c) = adc(t3, d[2], c);
        let (r3, c) = adc(t4, d[3], c);
        t = [r0, r1, r2, r3, c];
    }
    sub_p_if_not_below([t[0], t[1], t[2], t[3]], t[4])
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
