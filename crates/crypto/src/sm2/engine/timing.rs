//! A dudect-style timing-leak test of the signing path (Reparaz, Balasch,
//! Verbauwhede, "Dude, is my code constant time?", 2017): two classes of
//! secret input measured interleaved in random order, the slowest samples
//! cropped, Welch's t-test on the rest. A branch or a table index on the
//! nonce's digits would separate a nonce of almost only zero digits from a
//! random one by a t in the hundreds; constant-time code stays near zero.
//!
//! The short run in the normal suite fails only on a clear leak (|t| > 20:
//! the two cores of CI are shared, so small differences are noise). The long
//! run, `cargo test -p yinzheng-crypto --release -- --ignored dudect`, uses
//! the threshold of the paper (|t| > 4.5 after 10⁶ samples) and its result is
//! in docs/PERFORMANCE.md.

use super::scalar::Scalar;
use super::sign::mul_base;
use super::tests::Rng;
use std::hint::black_box;
use std::time::Instant;

/// Welch's t between the two classes, after dropping every sample above the
/// `keep` quantile of all samples.
fn welch_t(samples: &[(u8, u64)], keep: f64) -> f64 {
    let mut all: Vec<u64> = samples.iter().map(|s| s.1).collect();
    all.sort_unstable();
    let cut = all[((all.len() as f64 * keep) as usize).min(all.len() - 1)];
    let mut stats = [(0f64, 0f64, 0f64); 2]; // n, mean, M2 (Welford)
    for &(class, t) in samples.iter().filter(|s| s.1 <= cut) {
        let (n, mean, m2) = &mut stats[usize::from(class)];
        *n += 1.0;
        let d = t as f64 - *mean;
        *mean += d / *n;
        *m2 += d * (t as f64 - *mean);
    }
    let [(n0, m0, v0), (n1, m1, v1)] = stats;
    let (v0, v1) = (v0 / (n0 - 1.0), v1 / (n1 - 1.0));
    (m0 - m1) / (v0 / n0 + v1 / n1).sqrt()
}

/// `samples` timings of `[k]G`, class 0 with a fixed nonce of one non-zero
/// digit, class 1 with random nonces, in random order.
fn measure(samples: usize, seed: u64) -> Vec<(u8, u64)> {
    let mut rng = Rng(seed);
    let fixed = Scalar([1, 0, 0, 0]);
    let mut out = Vec::with_capacity(samples);
    for _ in 0..samples {
        let class = (rng.next() & 1) as u8;
        let k = if class == 0 {
            fixed
        } else {
            loop {
                let mut b = [0u8; 32];
                for chunk in b.chunks_mut(8) {
                    chunk.copy_from_slice(&rng.next().to_le_bytes());
                }
                if let Some(k) = Scalar::from_be_bytes(&b) {
                    break k;
                }
            }
        };
        let k = black_box(k);
        let start = Instant::now();
        black_box(mul_base(&k));
        out.push((class, start.elapsed().as_nanos() as u64));
    }
    out
}

#[test]
fn signing_time_does_not_separate_a_sparse_nonce_from_a_random_one() {
    let samples = measure(4_000, 0x5eed_d0de);
    for keep in [0.5, 0.9] {
        let t = welch_t(&samples, keep);
        println!("dudect [k]G, 4000 samples, cropped at the {keep} quantile: t = {t:.2}");
        assert!(
            t.abs() < 20.0,
            "[k]G takes measurably different time for a nonce of zero digits: t = {t:.1} \
             (samples up to the {keep} quantile)"
        );
    }
}

#[test]
#[ignore = "10^6 samples, about a minute in release: the documented long run"]
fn dudect_long_run() {
    let samples = measure(1_000_000, 0x1dea_5eed);
    for keep in [0.5, 0.9, 0.99] {
        let t = welch_t(&samples, keep);
        println!("dudect [k]G, 10^6 samples, cropped at the {keep} quantile: t = {t:.2}");
        assert!(t.abs() < 4.5, "leak: t = {t:.2} at the {keep} quantile");
    }
}

/// The test itself can see a leak: a deliberately variable-time stand-in
/// (one multiplication for one class, eight for the other) is caught.
#[test]
fn the_test_catches_a_variable_time_multiplication() {
    let mut rng = Rng(7);
    let k = Scalar([3, 0, 0, 0]);
    let samples: Vec<(u8, u64)> = (0..400)
        .map(|_| {
            let class = (rng.next() & 1) as u8;
            let start = Instant::now();
            for _ in 0..(1 + 7 * u32::from(class)) {
                black_box(mul_base(black_box(&k)));
            }
            (class, start.elapsed().as_nanos() as u64)
        })
        .collect();
    assert!(welch_t(&samples, 0.9).abs() > 20.0);
}
