//! The field multiplication and squaring of [`Fe`] against fiat-crypto's
//! `fiat_sm2_mul`/`fiat_sm2_square` (the oracle) and against `num-bigint`
//! computing `a·b·R⁻¹ mod p`, R = 2²⁵⁶: an edge-case matrix, random pairs, and
//! a microbenchmark of both (ignored tests).

use super::field::{Fe, P, mont_mul, mont_mul_separated, sbb4};
use super::tests::Rng;
use num_bigint::BigUint;
use std::hint::black_box;
use std::time::Instant;

/// `a·b·R⁻¹ mod p` by big integers, the operands as little-endian limbs.
struct BigRef {
    p: BigUint,
    r_inv: BigUint,
}

impl BigRef {
    fn new() -> BigRef {
        let p = big(&P);
        let r: BigUint = BigUint::from(1u8) << 256usize;
        let r_inv = r.modpow(&(&p - 2u8), &p);
        assert_eq!((&r * &r_inv) % &p, BigUint::from(1u8));
        BigRef { p, r_inv }
    }

    fn mont_mul(&self, a: &[u64; 4], b: &[u64; 4]) -> [u64; 4] {
        limbs(&(big(a) * big(b) * &self.r_inv % &self.p))
    }
}

fn big(l: &[u64; 4]) -> BigUint {
    BigUint::from_slice(
        &l.iter()
            .flat_map(|w| [*w as u32, (*w >> 32) as u32])
            .collect::<Vec<_>>(),
    )
}

fn limbs(x: &BigUint) -> [u64; 4] {
    let d = x.to_u64_digits();
    assert!(d.len() <= 4);
    let mut out = [0u64; 4];
    out[..d.len()].copy_from_slice(&d);
    out
}

/// Uniform below p by rejection.
fn uniform(rng: &mut Rng) -> [u64; 4] {
    loop {
        let l = rng.limbs();
        if super::field::lt(&l, &P) {
            return l;
        }
    }
}

/// Limb patterns below p that stress carries and the final subtraction.
fn edge_values() -> Vec<[u64; 4]> {
    let mut v = vec![
        [0; 4],
        [1, 0, 0, 0],
        [2, 0, 0, 0],
        [0, 0, 0, 1 << 63],                            // 2²⁵⁵
        [u64::MAX, u64::MAX, u64::MAX, u64::MAX >> 1], // 2²⁵⁵ − 1
        [1, 0, 0, 1 << 63],                            // 2²⁵⁵ + 1
        [0, 0, 0, 1 << 32],                            // 2²²⁴
        sbb4(&[0, 0, 0, 0xFFFF_FFFF_0000_0000], &P).0, // 2²⁵⁶ − 2²²⁴ − p = 2⁹⁶ − 2⁶⁴ + 1
        [1, 0xFFFF_FFFF_0000_0000, 0, 1 << 32],        // R mod p = 2²²⁴ + 2⁹⁶ − 2⁶⁴ + 1
        [0, 1 << 32, 0, 0],                            // 2⁹⁶
        [0, 1, 0, 0],                                  // 2⁶⁴
        Fe::ONE.0,
        Fe::ONE.neg().0,
    ];
    for i in 1..=16u64 {
        v.push(sbb4(&P, &[i, 0, 0, 0]).0); // p − i
        v.push([i, 0, 0, 0]);
    }
    // Every limb from a set of run patterns: all-ones, all-zeros, half-words.
    let words = [
        0,
        1,
        u64::MAX,
        u64::MAX - 1,
        0xFFFF_FFFF,
        0xFFFF_FFFF_0000_0000,
        0xFFFF_FFFE_FFFF_FFFF,
        1 << 63,
    ];
    for &a in &words {
        for &b in &words {
            for &c in &words {
                for &d in &words {
                    v.push([a, b, c, d]);
                }
            }
        }
    }
    v.retain(|l| super::field::lt(l, &P));
    v.sort_unstable();
    v.dedup();
    v
}

#[test]
fn edge_matrix_mul_and_square_match_fiat() {
    let v = edge_values();
    assert!(v.len() > 2000, "{} edge values", v.len());
    for a in &v {
        let fa = Fe(*a);
        let sq = fa.square();
        assert_eq!(sq, fa.square_fiat(), "square {a:x?}");
        assert_eq!(sq, fa.mul(&fa), "square vs mul {a:x?}");
        for b in &v {
            let fb = Fe(*b);
            let m = fa.mul(&fb);
            assert_eq!(m, fa.mul_fiat(&fb), "mul {a:x?} {b:x?}");
            assert_eq!(m.0, mont_mul_separated(a, b), "separated {a:x?} {b:x?}");
        }
    }
}

#[test]
fn edge_values_mul_and_square_match_big_integers() {
    let r = BigRef::new();
    let v = edge_values();
    // The hand-picked head of the list against every value, both ways.
    let special: Vec<[u64; 4]> = v.iter().copied().filter(|l| l[1..] == [0; 3]).collect();
    let special = [special, v.iter().rev().take(40).copied().collect()].concat();
    for a in &special {
        assert_eq!(Fe(*a).square().0, r.mont_mul(a, a), "square {a:x?}");
        for b in &v {
            let want = r.mont_mul(a, b);
            assert_eq!(Fe(*a).mul(&Fe(*b)).0, want, "mul {a:x?} {b:x?}");
            assert_eq!(Fe(*b).mul(&Fe(*a)).0, want, "mul {b:x?} {a:x?}");
        }
    }
    for a in &v {
        assert_eq!(Fe(*a).square().0, r.mont_mul(a, a), "square {a:x?}");
    }
}

fn random_against_fiat(cases: usize, seed: u64) {
    let mut rng = Rng(seed);
    for i in 0..cases {
        let (a, b) = if i % 2 == 0 {
            (uniform(&mut rng), uniform(&mut rng))
        } else {
            (rng.below(&P), rng.below(&P))
        };
        let (fa, fb) = (Fe(a), Fe(b));
        let m = fa.mul(&fb);
        assert_eq!(m, fa.mul_fiat(&fb), "mul {a:x?} {b:x?}");
        assert_eq!(m.0, mont_mul_separated(&a, &b), "separated {a:x?} {b:x?}");
        let sq = fa.square();
        assert_eq!(sq, fa.square_fiat(), "square {a:x?}");
        assert_eq!(sq, fa.mul(&fa), "square vs mul {a:x?}");
    }
}

#[test]
fn random_mul_and_square_match_fiat() {
    random_against_fiat(100_000, 0xf1e1d);
}

#[test]
#[ignore = "10^7 random cases, about a minute in release"]
fn random_mul_and_square_match_fiat_long() {
    random_against_fiat(10_000_000, 0x10_000_000);
}

#[test]
fn random_mul_and_square_match_big_integers() {
    let r = BigRef::new();
    let mut rng = Rng(0xb161);
    for _ in 0..2000 {
        let (a, b) = (uniform(&mut rng), uniform(&mut rng));
        assert_eq!(mont_mul(&a, &b), r.mont_mul(&a, &b), "mul {a:x?} {b:x?}");
        assert_eq!(Fe(a).square().0, r.mont_mul(&a, &a), "square {a:x?}");
    }
}

/// Nanoseconds per operation of a dependent chain of 10⁶ (latency), best of 5.
fn ns_per_op(f: impl Fn(Fe) -> Fe) -> f64 {
    const N: u32 = 1_000_000;
    let mut best = f64::MAX;
    let mut x = Fe::ONE.add(&Fe::ONE);
    for _ in 0..5 {
        let start = Instant::now();
        for _ in 0..N {
            x = f(black_box(x));
        }
        best = best.min(start.elapsed().as_nanos() as f64 / f64::from(N));
    }
    black_box(x);
    best
}

#[test]
#[ignore = "microbenchmark: cargo test -p yinzheng-crypto --release -- --ignored --nocapture field_speed"]
fn field_speed() {
    let y = black_box(Fe::from_canonical_limbs([7, 11, 13, 17]));
    for round in 0..2 {
        let fiat_mul = ns_per_op(|x| x.mul_fiat(&y));
        let new_mul = ns_per_op(|x| x.mul(&y));
        let sep_mul = ns_per_op(|x| Fe(mont_mul_separated(&x.0, &y.0)));
        let fiat_sq = ns_per_op(|x| x.square_fiat());
        let new_sq = ns_per_op(|x| x.square());
        println!(
            "round {round}: mul fiat {fiat_mul:.2} ns, interleaved (ours) {new_mul:.2} ns, \
             separated {sep_mul:.2} ns; square fiat {fiat_sq:.2} ns, new {new_sq:.2} ns"
        );
    }
}
