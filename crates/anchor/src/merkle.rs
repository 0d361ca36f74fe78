//! RFC 6962 / RFC 9162 Merkle trees: roots, inclusion and consistency proofs,
//! and their verification exactly as RFC 9162 §2.1.3.2 and §2.1.4.2 write it.
//!
//! Proof generation works over any [`HashSource`]: an in-memory [`MemoryTree`]
//! or the tiles on disk ([`crate::TileReader`]). A source only has to give the
//! hash of a *perfect* subtree (`2^level` leaves starting at `index · 2^level`);
//! every other hash the RFC needs is folded from those.

use crate::error::{Error, Result};
use crate::hash::{Hash, HashAlg};

/// Largest proof accepted for verification or decoding: a tree of 2^63 leaves
/// needs at most 63 hashes for inclusion and 64 for consistency.
pub const MAX_PROOF_HASHES: usize = 64;

/// Something that knows the hashes of perfect subtrees of one tree.
pub trait HashSource {
    /// The hash algorithm of the tree.
    fn hash_alg(&self) -> HashAlg;
    /// The root of the perfect subtree of `2^level` leaves starting at leaf
    /// `index << level`. Errors if that subtree is not complete in the tree.
    fn node(&self, level: u8, index: u64) -> Result<Hash>;
}

/// `MTH(D[start:end])` for a range that occurs in the RFC 6962 recursion
/// (`start` aligned to the largest power of two not above `end - start`).
pub fn subtree_hash(src: &dyn HashSource, start: u64, end: u64) -> Result<Hash> {
    let h = src.hash_alg();
    if start >= end {
        return Ok(h.empty_root());
    }
    let mut parts: Vec<Hash> = Vec::with_capacity(64);
    let mut s = start;
    while s < end {
        let mut level = 0u8;
        while level < 63
            && s.is_multiple_of(1u64 << (level + 1))
            && s + (1u64 << (level + 1)) <= end
        {
            level += 1;
        }
        parts.push(src.node(level, s >> level)?);
        s += 1u64 << level;
    }
    Ok(fold_right(h, &parts))
}

/// The root of the first `size` leaves.
pub fn root(src: &dyn HashSource, size: u64) -> Result<Hash> {
    subtree_hash(src, 0, size)
}

/// Fold perfect-subtree hashes, left to right in the tree, into one root.
pub(crate) fn fold_right(h: HashAlg, parts: &[Hash]) -> Hash {
    let mut iter = parts.iter().rev();
    let Some(last) = iter.next() else {
        return h.empty_root();
    };
    let mut acc = *last;
    for p in iter {
        acc = h.node_hash(p, &acc);
    }
    acc
}

fn split(n: u64) -> u64 {
    // Largest power of two strictly smaller than n (n >= 2).
    1u64 << (63 - (n - 1).leading_zeros())
}

/// Inclusion proof of leaf `index` in the tree of `size` leaves:
/// `PATH(m, D[n])` of RFC 9162 §2.1.3.1.
pub fn inclusion_proof(src: &dyn HashSource, index: u64, size: u64) -> Result<Vec<Hash>> {
    if index >= size {
        return Err(Error::OutOfRange(format!(
            "leaf {index} is not in a tree of size {size}"
        )));
    }
    let mut out = Vec::new();
    path(src, index, 0, size, &mut out)?;
    Ok(out)
}

fn path(src: &dyn HashSource, m: u64, start: u64, end: u64, out: &mut Vec<Hash>) -> Result<()> {
    let n = end - start;
    if n <= 1 {
        return Ok(());
    }
    let k = split(n);
    if m < k {
        path(src, m, start, start + k, out)?;
        out.push(subtree_hash(src, start + k, end)?);
    } else {
        path(src, m - k, start + k, end, out)?;
        out.push(subtree_hash(src, start, start + k)?);
    }
    Ok(())
}

/// Consistency proof from the tree of `old` leaves to the tree of `new` leaves:
/// `PROOF(m, D[n])` of RFC 9162 §2.1.4.1 (empty when `old` is 0 or equals `new`;
/// note that [`verify_consistency`] refuses `old = 0`).
pub fn consistency_proof(src: &dyn HashSource, old: u64, new: u64) -> Result<Vec<Hash>> {
    if old > new {
        return Err(Error::OutOfRange(format!(
            "old size {old} is larger than new size {new}"
        )));
    }
    let mut out = Vec::new();
    if old == 0 || old == new {
        return Ok(out);
    }
    subproof(src, old, 0, new, true, &mut out)?;
    Ok(out)
}

fn subproof(
    src: &dyn HashSource,
    m: u64,
    start: u64,
    end: u64,
    b: bool,
    out: &mut Vec<Hash>,
) -> Result<()> {
    let n = end - start;
    if m == n {
        if !b {
            out.push(subtree_hash(src, start, end)?);
        }
        return Ok(());
    }
    let k = split(n);
    if m <= k {
        subproof(src, m, start, start + k, b, out)?;
        out.push(subtree_hash(src, start + k, end)?);
    } else {
        subproof(src, m - k, start + k, end, false, out)?;
        out.push(subtree_hash(src, start, start + k)?);
    }
    Ok(())
}

/// Verify an inclusion proof, RFC 9162 §2.1.3.2, step by step.
///
/// Checks that `leaf_hash` is leaf `index` of the tree of `size` leaves whose
/// root is `root`. Every step of the RFC is kept, including "`sn` is 0 at the
/// end", which rejects proofs with trailing or missing hashes and wrong sizes:
/// a verifier that skips it accepts a proof for a different tree shape.
pub fn verify_inclusion(
    h: HashAlg,
    leaf_hash: &Hash,
    index: u64,
    size: u64,
    proof: &[Hash],
    root: &Hash,
) -> Result<()> {
    // 1. Compare leaf_index from the inclusion_proof against tree_size.
    if index >= size {
        return Err(Error::InvalidProof("leaf index is not below the tree size"));
    }
    if proof.len() > MAX_PROOF_HASHES {
        return Err(Error::InvalidProof("proof longer than any tree allows"));
    }
    // 2. fn = leaf_index, sn = tree_size - 1.
    let (mut fn_, mut sn) = (index, size - 1);
    // 3. r = hash.
    let mut r = *leaf_hash;
    // 4. For each p in the inclusion_path:
    for p in proof {
        // a. If sn is 0, stop and fail.
        if sn == 0 {
            return Err(Error::InvalidProof("proof has more hashes than the path"));
        }
        // b. If LSB(fn) is set, or if fn is equal to sn, then:
        if fn_ & 1 == 1 || fn_ == sn {
            r = h.node_hash(p, &r);
            if fn_ & 1 == 0 {
                while fn_ & 1 == 0 && fn_ != 0 {
                    fn_ >>= 1;
                    sn >>= 1;
                }
            }
        } else {
            r = h.node_hash(&r, p);
        }
        fn_ >>= 1;
        sn >>= 1;
    }
    // 5. Compare sn to 0 and r against the root hash.
    if sn != 0 {
        return Err(Error::InvalidProof("proof has fewer hashes than the path"));
    }
    if r != *root {
        return Err(Error::InvalidProof("computed root does not match"));
    }
    Ok(())
}

/// Verify a consistency proof, RFC 9162 §2.1.4.2, step by step.
///
/// Checks that the tree of `old` leaves with root `old_root` is a prefix of the
/// tree of `new` leaves with root `new_root`: the log did not rewrite history.
/// Equal sizes need an empty proof and equal roots; `old = 0` is refused (RFC
/// 9162 defines no proof from the empty tree, and the transparency-dev vectors
/// expect an error).
pub fn verify_consistency(
    h: HashAlg,
    old: u64,
    new: u64,
    old_root: &Hash,
    new_root: &Hash,
    proof: &[Hash],
) -> Result<()> {
    if old > new {
        return Err(Error::InvalidProof("old size is larger than new size"));
    }
    if old == 0 {
        // RFC 9162 §2.1.4 defines proofs for 0 < first < second only; the
        // empty tree proves nothing, so checking against it is refused.
        return Err(Error::InvalidProof(
            "no consistency proof from the empty tree",
        ));
    }
    if old == new {
        if !proof.is_empty() {
            return Err(Error::InvalidProof("equal sizes need an empty proof"));
        }
        if old_root != new_root {
            return Err(Error::InvalidProof("equal sizes but different roots"));
        }
        return Ok(());
    }
    // 1. If consistency_path is an empty array, stop and fail.
    if proof.is_empty() {
        return Err(Error::InvalidProof("empty consistency proof"));
    }
    if proof.len() > MAX_PROOF_HASHES {
        return Err(Error::InvalidProof("proof longer than any tree allows"));
    }
    // 2. If first is an exact power of 2, prepend first_hash.
    let mut path: Vec<Hash> = Vec::with_capacity(proof.len() + 1);
    if old.is_power_of_two() {
        path.push(*old_root);
    }
    path.extend_from_slice(proof);
    // 3. fn = first - 1, sn = second - 1.
    let (mut fn_, mut sn) = (old - 1, new - 1);
    // 4. If LSB(fn) is set, right-shift both until it is not.
    while fn_ & 1 == 1 {
        fn_ >>= 1;
        sn >>= 1;
    }
    // 5. fr = sr = c[0].
    let (mut fr, mut sr) = (path[0], path[0]);
    // 6. For each subsequent c:
    for c in &path[1..] {
        if sn == 0 {
            return Err(Error::InvalidProof("proof has more hashes than the path"));
        }
        if fn_ & 1 == 1 || fn_ == sn {
            fr = h.node_hash(c, &fr);
            sr = h.node_hash(c, &sr);
            if fn_ & 1 == 0 {
                while fn_ & 1 == 0 && fn_ != 0 {
                    fn_ >>= 1;
                    sn >>= 1;
                }
            }
        } else {
            sr = h.node_hash(&sr, c);
        }
        fn_ >>= 1;
        sn >>= 1;
    }
    // 7. Check fr == first_hash, sr == second_hash and sn == 0.
    if sn != 0 {
        return Err(Error::InvalidProof("proof has fewer hashes than the path"));
    }
    if fr != *old_root {
        return Err(Error::InvalidProof("computed old root does not match"));
    }
    if sr != *new_root {
        return Err(Error::InvalidProof("computed new root does not match"));
    }
    Ok(())
}

/// A whole tree in memory: every level of perfect-subtree hashes. For tests,
/// audits of small logs and peers; the log itself reads tiles.
#[derive(Clone, Debug)]
pub struct MemoryTree {
    h: HashAlg,
    levels: Vec<Vec<Hash>>,
}

impl MemoryTree {
    /// An empty tree.
    pub fn new(h: HashAlg) -> Self {
        MemoryTree {
            h,
            levels: vec![Vec::new()],
        }
    }

    /// Append a leaf given its entry bytes.
    pub fn push_entry(&mut self, entry: &[u8]) {
        self.push_leaf_hash(self.h.leaf_hash(entry));
    }

    /// Append a leaf given its leaf hash.
    pub fn push_leaf_hash(&mut self, leaf: Hash) {
        self.levels[0].push(leaf);
        let mut level = 0;
        while self.levels[level].len().is_multiple_of(2) {
            let n = self.levels[level].len();
            let node = self
                .h
                .node_hash(&self.levels[level][n - 2], &self.levels[level][n - 1]);
            if self.levels.len() == level + 1 {
                self.levels.push(Vec::new());
            }
            self.levels[level + 1].push(node);
            level += 1;
        }
    }

    /// Number of leaves.
    pub fn size(&self) -> u64 {
        self.levels[0].len() as u64
    }

    /// The current root.
    pub fn root(&self) -> Hash {
        // A MemoryTree holds every node it is asked for, so this cannot fail.
        root(self, self.size()).unwrap_or_else(|_| unreachable!("memory tree is complete"))
    }
}

impl HashSource for MemoryTree {
    fn hash_alg(&self) -> HashAlg {
        self.h
    }

    fn node(&self, level: u8, index: u64) -> Result<Hash> {
        self.levels
            .get(level as usize)
            .and_then(|l| l.get(usize::try_from(index).ok()?))
            .copied()
            .ok_or_else(|| Error::OutOfRange(format!("node {level}/{index} not in the tree")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_is_largest_power_of_two_below() {
        assert_eq!(split(2), 1);
        assert_eq!(split(3), 2);
        assert_eq!(split(4), 2);
        assert_eq!(split(5), 4);
        assert_eq!(split(1 << 40), 1 << 39);
    }
}
