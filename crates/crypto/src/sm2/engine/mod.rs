//! SM2 verification engine: fiat-crypto field and scalar arithmetic (field
//! multiplication and squaring our own, for the shape of p), Jacobian points
//! with a = −3 formulas, and an interleaved (Straus) wNAF double-scalar
//! multiplication `[s]G + [t]P` over precomputed affine tables.
//!
//! Everything here except [`sign`] (constant-time fixed-base multiplication and
//! the signing equation) works on public data and may take variable time.

pub(crate) mod field;
pub(crate) mod point;
pub(crate) mod scalar;
pub(crate) mod sign;
pub(crate) mod table;

use field::Fe;
use point::{Affine, Jacobian};
use scalar::Scalar;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

/// A public key prepared for verification: its split wNAF tables.
#[derive(Debug)]
pub(crate) struct KeyTable {
    /// For j < 4, `Q, 3Q, …, 15Q` with `Q = 2^(64j) P` (see [`table`]).
    odd: Vec<Affine>,
}

impl KeyTable {
    /// Precompute the tables of `p`: 192 doublings, 32 additions, one inversion
    /// (about the cost of one unsplit verification).
    pub(crate) fn new(p: &Affine) -> KeyTable {
        KeyTable {
            odd: table::split_odd_multiples(p, table::P_WINDOW),
        }
    }
}

/// `[a]G + [b]P` (variable time; `a`, `b` and P are public).
pub(crate) fn double_mul(a: &Scalar, b: &Scalar, key: &KeyTable) -> Jacobian {
    let g = table::g_table();
    let gn = 1usize << (table::G_WINDOW - 2);
    let pn = 1usize << (table::P_WINDOW - 2);
    let na = table::split_wnaf(a, table::G_WINDOW);
    let nb = table::split_wnaf(b, table::P_WINDOW);
    let top = (0..table::DIGITS)
        .rev()
        .find(|&i| (0..table::SPLIT).any(|j| na[j][i] != 0 || nb[j][i] != 0));
    let Some(top) = top else {
        return Jacobian::IDENTITY;
    };
    let mut acc = Jacobian::IDENTITY;
    for i in (0..=top).rev() {
        if !acc.is_identity() {
            acc = acc.double();
        }
        for j in 0..table::SPLIT {
            add_digit(&mut acc, na[j][i], &g[j * gn..(j + 1) * gn]);
            add_digit(&mut acc, nb[j][i], &key.odd[j * pn..(j + 1) * pn]);
        }
    }
    acc
}

#[inline(always)]
fn add_digit(acc: &mut Jacobian, d: i8, table: &[Affine]) {
    if d > 0 {
        *acc = acc.add_affine(&table[(d as usize) >> 1]);
    } else if d < 0 {
        *acc = acc.add_affine(&table[((-d) as usize) >> 1].neg());
    }
}

/// GB/T 32918.2 §7.1 B1–B7 over the digest `e`: true iff `(r, s)` is valid for the
/// key whose table is `key`.
pub(crate) fn verify_prehash(key: &KeyTable, e: &[u8; 32], r: &[u8; 32], s: &[u8; 32]) -> bool {
    // B1, B2: r, s ∈ [1, n − 1].
    let (Some(r), Some(s)) = (Scalar::from_be_bytes(r), Scalar::from_be_bytes(s)) else {
        return false;
    };
    if r.is_zero() || s.is_zero() {
        return false;
    }
    // B5: t = (r + s) mod n ≠ 0.
    let t = r.add(&s);
    if t.is_zero() {
        return false;
    }
    // B6: (x1, y1) = [s]G + [t]P, not the point at infinity.
    let q = double_mul(&s, &t, key);
    if q.is_identity() {
        return false;
    }
    x_matches(&q, &r, e)
}

/// B7 for `q ≠ O`: `(e + x1) mod n == r` with `x1 = X/Z²`.
///
/// Equivalently `x1 ≡ r − e (mod n)`. As `x1 ∈ [0, p)` and `p < 2n`, `x1` is
/// `c = (r − e) mod n` or `c + n`; test `X = x1·Z²` for each candidate below p
/// instead of inverting Z.
pub(crate) fn x_matches(q: &Jacobian, r: &Scalar, e: &[u8; 32]) -> bool {
    let c = r.sub(&Scalar::reduce_be_bytes(e));
    let z2 = q.z.square();
    let cand = Fe::from_canonical_limbs(c.0);
    if cand.mul(&z2) == q.x {
        return true;
    }
    match scalar::add_n_vartime(&c.0) {
        Some(c2) if field::lt(&c2, &field::P) => Fe::from_canonical_limbs(c2).mul(&z2) == q.x,
        _ => false,
    }
}

/// How many public-key tables the process-wide cache keeps.
pub(crate) const CACHE_CAPACITY: usize = 64;

/// A bounded cache of key tables keyed by the uncompressed coordinates `x‖y`,
/// with clock (second-chance) eviction, so keys decoded afresh for every
/// verification (from a certificate, say) do not rebuild their table.
struct TableCache {
    index: HashMap<[u8; 64], usize>,
    slots: Vec<Slot>,
    hand: usize,
}

struct Slot {
    key: [u8; 64],
    table: Arc<KeyTable>,
    referenced: bool,
}

impl TableCache {
    fn get(&mut self, key: &[u8; 64]) -> Option<Arc<KeyTable>> {
        let &i = self.index.get(key)?;
        self.slots[i].referenced = true;
        Some(self.slots[i].table.clone())
    }

    fn insert(&mut self, key: [u8; 64], table: Arc<KeyTable>) {
        if self.index.contains_key(&key) {
            return;
        }
        if self.slots.len() < CACHE_CAPACITY {
            self.index.insert(key, self.slots.len());
            self.slots.push(Slot {
                key,
                table,
                referenced: false,
            });
            return;
        }
        loop {
            let slot = &mut self.slots[self.hand];
            if slot.referenced {
                slot.referenced = false;
                self.hand = (self.hand + 1) % CACHE_CAPACITY;
                continue;
            }
            self.index.remove(&slot.key);
            self.index.insert(key, self.hand);
            *slot = Slot {
                key,
                table,
                referenced: false,
            };
            self.hand = (self.hand + 1) % CACHE_CAPACITY;
            return;
        }
    }
}

fn cache() -> &'static Mutex<TableCache> {
    static CACHE: OnceLock<Mutex<TableCache>> = OnceLock::new();
    CACHE.get_or_init(|| {
        Mutex::new(TableCache {
            index: HashMap::with_capacity(CACHE_CAPACITY),
            slots: Vec::with_capacity(CACHE_CAPACITY),
            hand: 0,
        })
    })
}

/// The table for the point with coordinates `xy = x‖y`, from the process-wide
/// cache or freshly computed (and then cached).
pub(crate) fn cached_table(xy: &[u8; 64], p: &Affine) -> Arc<KeyTable> {
    if let Some(t) = cache().lock().ok().and_then(|mut c| c.get(xy)) {
        return t;
    }
    let t = Arc::new(KeyTable::new(p));
    if let Ok(mut c) = cache().lock() {
        c.insert(*xy, t.clone());
    }
    t
}

#[cfg(test)]
mod differential;
#[cfg(test)]
mod field_tests;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod timing;
