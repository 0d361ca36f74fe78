//! Constant-time fixed-base multiplication `[k]G` for signing.
//!
//! `k` is recoded into 65 signed radix-16 digits `dᵢ ∈ [−8, 8]` (`k = Σ dᵢ 16^i`),
//! and `[k]G = Σ [dᵢ](16^i G)` is summed from a table of `j·16^i·G` for
//! `j = 1..8` (65 × 8 affine points, 33 KiB, built once per process): no
//! doublings, 65 complete mixed additions. Every lookup reads all eight entries of
//! its row and keeps one by mask; the sign is applied by a masked negation; a zero
//! digit keeps the accumulator by mask. The additions are the complete
//! Renes–Costello–Batina formulas (a = −3, homogeneous projective coordinates), so
//! no input takes a different path. Nothing here branches on or indexes by `k`.

use super::field::Fe;
use super::point::{Affine, B, Jacobian, batch_to_affine};
use super::scalar::Scalar;
use std::sync::OnceLock;
use zeroize::Zeroize;

/// Number of signed radix-16 digits (64 nibbles and a carry).
const WINDOWS: usize = 65;
/// Entries per row: `1·16^i·G … 8·16^i·G`.
const ROW: usize = 8;

/// `j·16^i·G` at `[i·8 + j − 1]`, built with variable-time arithmetic over
/// public data, once per process.
fn comb_table() -> &'static [Affine] {
    static TABLE: OnceLock<Vec<Affine>> = OnceLock::new();
    TABLE.get_or_init(|| {
        let mut jac = Vec::with_capacity(WINDOWS * ROW);
        let mut base = Jacobian::from(Affine::GENERATOR);
        for i in 0..WINDOWS {
            if i > 0 {
                for _ in 0..4 {
                    base = base.double();
                }
            }
            let mut cur = base;
            jac.push(cur);
            for _ in 1..ROW {
                cur = cur.add(&base);
                jac.push(cur);
            }
        }
        // G has prime order n and 0 < j·16^i mod n for every entry (n is
        // prime and neither factor is a multiple of it), so none is the identity.
        batch_to_affine(&jac)
    })
}

/// A point in homogeneous projective coordinates (x = X/Z, y = Y/Z).
#[derive(Clone, Copy, Default)]
pub(crate) struct Projective {
    x: Fe,
    y: Fe,
    z: Fe,
}

impl Zeroize for Projective {
    fn zeroize(&mut self) {
        self.x.0.zeroize();
        self.y.0.zeroize();
        self.z.0.zeroize();
    }
}

impl Projective {
    /// The point at infinity (0 : 1 : 0).
    const IDENTITY: Projective = Projective {
        x: Fe::ZERO,
        y: Fe::ONE,
        z: Fe::ZERO,
    };

    /// `self + q` for affine `q` (complete: any `self`, including the identity and
    /// ±q), Renes–Costello–Batina 2015 Algorithm 5 for a = −3.
    fn add_mixed(&self, q: &Affine) -> Projective {
        let xx = self.x.mul(&q.x);
        let yy = self.y.mul(&q.y);
        let xy_pairs = self.x.add(&self.y).mul(&q.x.add(&q.y)).sub(&xx.add(&yy));
        let yz_pairs = q.y.mul(&self.z).add(&self.y);
        let xz_pairs = q.x.mul(&self.z).add(&self.x);
        let bz_part = xz_pairs.sub(&B.mul(&self.z));
        let bz3_part = bz_part.double().add(&bz_part);
        let yy_m_bzz3 = yy.sub(&bz3_part);
        let yy_p_bzz3 = yy.add(&bz3_part);
        let z3 = self.z.double().add(&self.z);
        let bxz_part = B.mul(&xz_pairs).sub(&z3.add(&xx));
        let bxz3_part = bxz_part.double().add(&bxz_part);
        let xx3_m_zz3 = xx.double().add(&xx).sub(&z3);
        Projective {
            x: yy_p_bzz3.mul(&xy_pairs).sub(&yz_pairs.mul(&bxz3_part)),
            y: yy_p_bzz3.mul(&yy_m_bzz3).add(&xx3_m_zz3.mul(&bxz3_part)),
            z: yy_m_bzz3.mul(&yz_pairs).add(&xy_pairs.mul(&xx3_m_zz3)),
        }
    }

    /// `if choice { b } else { a }`, `choice ∈ {0, 1}`, constant time.
    fn select(a: &Projective, b: &Projective, choice: u8) -> Projective {
        Projective {
            x: Fe::select(&a.x, &b.x, choice),
            y: Fe::select(&a.y, &b.y, choice),
            z: Fe::select(&a.z, &b.z, choice),
        }
    }

    /// Affine coordinates (constant-time inversion), `None` for the identity.
    pub(crate) fn to_affine(self) -> Option<Affine> {
        if self.z.is_zero() {
            return None;
        }
        let zi = self.z.invert();
        Some(Affine {
            x: self.x.mul(&zi),
            y: self.y.mul(&zi),
        })
    }
}

/// Signed radix-16 digits of `k < 2^256`, constant time.
fn recode(k: &Scalar) -> [i8; WINDOWS] {
    let mut out = [0i8; WINDOWS];
    let mut carry = 0u64;
    for (i, o) in out.iter_mut().take(64).enumerate() {
        let nib = (k.0[i / 16] >> ((i % 16) * 4)) & 0xf;
        let d = nib + carry; // 0..=16
        // carry = (d > 8), computed without a branch: 8 − d borrows iff d > 8.
        carry = (8u64.wrapping_sub(d) >> 63) & 1;
        *o = (d as i64 - ((carry as i64) << 4)) as i8;
    }
    out[64] = carry as i8;
    out
}

/// Row `i`'s entry `|d|`, negated when `d < 0`; for `d = 0` some entry (the caller
/// discards the sum). Reads the whole row.
fn lookup(table: &[Affine], i: usize, d: i8) -> Affine {
    // |d| and its sign by arithmetic on the bits, the masks behind
    // `black_box` so the optimiser cannot turn a select into a branch.
    let sign = (d as u8) >> 7; // 1 iff d < 0
    let abs = u64::from(((d as u8) ^ 0u8.wrapping_sub(sign)).wrapping_add(sign));
    let neg = std::hint::black_box(sign);
    let mut out = table[i * ROW];
    for j in 1..ROW {
        let e = &table[i * ROW + j];
        // eq = 1 iff j + 1 == abs.
        let diff = (j as u64 + 1) ^ abs;
        let eq = std::hint::black_box((((diff | diff.wrapping_neg()) >> 63) ^ 1) as u8);
        out.x = Fe::select(&out.x, &e.x, eq);
        out.y = Fe::select(&out.y, &e.y, eq);
    }
    out.y = Fe::select(&out.y, &out.y.neg(), neg);
    out
}

/// `[k]G` in constant time (projective).
pub(crate) fn mul_base(k: &Scalar) -> Projective {
    let table = comb_table();
    let mut digits = recode(k);
    let mut acc = Projective::IDENTITY;
    for (i, &d) in digits.iter().enumerate() {
        let t = lookup(table, i, d);
        let sum = acc.add_mixed(&t);
        let bits = d as u8;
        let nonzero = std::hint::black_box((bits | bits.wrapping_neg()) >> 7);
        acc = Projective::select(&acc, &sum, nonzero);
    }
    digits.zeroize();
    acc
}

/// `[k]G` for the Jacobian-coordinate tests.
#[cfg(test)]
pub(crate) fn mul_base_affine(k: &Scalar) -> Option<Affine> {
    mul_base(k).to_affine()
}

/// A uniformly random scalar in `[1, n − 1]` from the operating system's RNG
/// (rejection sampling).
pub(crate) fn random_nonzero() -> Option<Scalar> {
    for _ in 0..64 {
        let mut buf = [0u8; 32];
        getrandom::fill(&mut buf).ok()?;
        let k = Scalar::from_be_bytes(&buf);
        buf.zeroize();
        if let Some(k) = k.filter(|k| !k.is_zero()) {
            return Some(k);
        }
    }
    None
}

/// GB/T 32918.2 §6.1 A4–A6 for the nonce `k`: `(r, s)`, or `None` when
/// `r = 0`, `r + k = n` or `s = 0` (draw another `k`).
pub(crate) fn sign_with_nonce(
    d: &Scalar,
    d_plus_1_inv: &Scalar,
    e: &[u8; 32],
    k: &Scalar,
) -> Option<(Scalar, Scalar)> {
    let mut point = mul_base(k);
    let affine = point.to_affine();
    point.zeroize();
    // k ∈ [1, n − 1], so [k]G is never the identity.
    let x1 = affine?.x.to_canonical_limbs();
    let r = Scalar::reduce_be_bytes(e).add(&Scalar::reduce_limbs(&x1));
    if r.is_zero() || r.add(k).is_zero() {
        return None;
    }
    let mut rd = r.mul(d);
    let mut k_rd = k.sub(&rd);
    let s = d_plus_1_inv.mul(&k_rd);
    rd.zeroize();
    k_rd.zeroize();
    (!s.is_zero()).then_some((r, s))
}
