//! Precomputed tables of odd multiples and width-w NAF recoding for the
//! variable-time double-scalar multiplication of verification.
//!
//! Each 256-bit scalar is cut into [`SPLIT`] 64-bit chunks `k = Σ kⱼ 2^(64j)`, so
//! `[k]P = Σ [kⱼ](2^(64j) P)`: with tables for the four points `2^(64j) P` the
//! doubling chain is 65 long instead of 256, the additions stay as many (one per
//! nonzero wNAF digit). G's tables are built once per process; a public key's
//! once per key (cached, see [`super::KeyTable`]).

use super::point::{Affine, Jacobian, batch_to_affine};
use super::scalar::Scalar;
use std::sync::OnceLock;

/// Number of 64-bit chunks a scalar is cut into.
pub(crate) const SPLIT: usize = 4;
/// Length of a chunk's wNAF (64 bits and a final carry).
pub(crate) const DIGITS: usize = 65;
/// wNAF width for the base point: 2^(8−2) = 64 affine odd multiples per chunk
/// (4 × 64 × 64 bytes = 16 KiB in all).
pub(crate) const G_WINDOW: u32 = 8;
/// wNAF width for public keys: 2^(5−2) = 8 affine odd multiples per chunk
/// (4 × 8 × 64 bytes = 2 KiB per key).
pub(crate) const P_WINDOW: u32 = 5;

/// For each `j < SPLIT`, the odd multiples `Q, 3Q, …, (2^(w−1) − 1)Q` of
/// `Q = 2^(64j) P`, affine, chunk after chunk (`2^(w−2)` entries each).
pub(crate) fn split_odd_multiples(p: &Affine, w: u32) -> Vec<Affine> {
    let count = 1usize << (w - 2);
    let mut jac = Vec::with_capacity(SPLIT * count);
    let mut q = Jacobian::from(*p);
    for j in 0..SPLIT {
        if j > 0 {
            for _ in 0..64 {
                q = q.double();
            }
        }
        let q2 = q.double();
        let mut cur = q;
        jac.push(cur);
        for _ in 1..count {
            cur = cur.add(&q2);
            jac.push(cur);
        }
    }
    // No multiple k·P with 0 < k < n is the point at infinity, so all convert.
    batch_to_affine(&jac)
}

/// The tables of G for [`G_WINDOW`], computed once per process.
pub(crate) fn g_table() -> &'static [Affine] {
    static TABLE: OnceLock<Vec<Affine>> = OnceLock::new();
    TABLE.get_or_init(|| split_odd_multiples(&Affine::GENERATOR, G_WINDOW))
}

/// Width-`w` non-adjacent form of the 64-bit chunk `k`, least significant digit
/// first: every nonzero digit is odd with `|d| < 2^(w−1)`, any two nonzero digits
/// are at least `w` apart, and `k = Σ dᵢ 2^i`.
pub(crate) fn wnaf64(k: u64, w: u32) -> [i8; DIGITS] {
    let mut out = [0i8; DIGITS];
    let mask = (1i128 << w) - 1;
    let half = 1i128 << (w - 1);
    let mut v = i128::from(k);
    let mut i = 0;
    while v != 0 {
        if v & 1 == 1 {
            let mut d = v & mask;
            if d >= half {
                d -= 1 << w;
            }
            out[i] = d as i8;
            v -= d;
        }
        v >>= 1;
        i += 1;
    }
    out
}

/// The [`SPLIT`] chunk recodings of `k`.
pub(crate) fn split_wnaf(k: &Scalar, w: u32) -> [[i8; DIGITS]; SPLIT] {
    let mut out = [[0i8; DIGITS]; SPLIT];
    for (j, o) in out.iter_mut().enumerate() {
        *o = wnaf64(k.0[j], w);
    }
    out
}
