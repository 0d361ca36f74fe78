//! The right edge of a tiled tree: appends entries and emits the tiles they
//! complete. Used by the sequencer (to write) and by audits (to recompute).

use crate::error::{Error, Result};
use crate::hash::{Hash, HashAlg};
use crate::merkle::{HashSource, fold_right};
use crate::tiles::{TILE_WIDTH, TileKind, TilePath, TileReader, encode_bundle, perfect_root};

/// A tile file to write: its path and contents.
pub type TileFile = (TilePath, Vec<u8>);

/// The right edge of a tiled tree (see the module docs).
#[derive(Clone, Debug)]
pub struct TileBuilder {
    h: HashAlg,
    size: u64,
    /// Per tile level: hashes of the incomplete tile.
    edges: Vec<Vec<Hash>>,
    /// Per tile level: hashes ever pushed (= nodes of tree level 8·L).
    counts: Vec<u64>,
    /// Entries of the incomplete bundle.
    bundle: Vec<Vec<u8>>,
    /// Compact range: (level, hash) of the perfect subtrees covering [0, size).
    range: Vec<(u8, Hash)>,
}

impl TileBuilder {
    /// An empty tree with hash profile `h`.
    pub fn new(h: HashAlg) -> Self {
        TileBuilder {
            h,
            size: 0,
            edges: vec![Vec::new()],
            counts: vec![0],
            bundle: Vec::new(),
            range: Vec::new(),
        }
    }

    /// Rebuild the right edge of the tree of `size` leaves from its tiles.
    pub fn resume(reader: &TileReader, size: u64) -> Result<Self> {
        let h = reader.hash_alg();
        let mut b = TileBuilder::new(h);
        b.size = size;
        b.edges.clear();
        b.counts.clear();
        let mut level = 0u8;
        loop {
            let count = if 8 * u32::from(level) >= 64 {
                0
            } else {
                size >> (8 * u32::from(level))
            };
            let w = (count % TILE_WIDTH) as usize;
            let edge = if w > 0 {
                let t = reader.hash_tile(level, count / TILE_WIDTH)?;
                t.get(..w)
                    .ok_or_else(|| Error::Mismatch("partial tile shorter than expected".into()))?
                    .to_vec()
            } else {
                Vec::new()
            };
            b.edges.push(edge);
            b.counts.push(count);
            if count < TILE_WIDTH {
                break;
            }
            level += 1;
        }
        let w = size % TILE_WIDTH;
        if w > 0 {
            b.bundle = reader.bundle(size / TILE_WIDTH)?;
        }
        // Compact range: binary decomposition of size, largest subtree first.
        let mut start = 0u64;
        for lv in (0..64u8).rev() {
            if size & (1u64 << lv) != 0 {
                b.range.push((lv, reader.node(lv, start >> lv)?));
                start += 1u64 << lv;
            }
        }
        Ok(b)
    }

    /// Entries pushed so far.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// The root of the tree of every entry pushed so far.
    pub fn root(&self) -> Hash {
        let parts: Vec<Hash> = self.range.iter().map(|(_, h)| *h).collect();
        fold_right(self.h, &parts)
    }

    /// Append one entry; full tiles and bundles it completes go to `out`.
    pub fn push(&mut self, entry: &[u8], out: &mut Vec<TileFile>) -> Result<()> {
        let leaf = self.h.leaf_hash(entry);
        self.bundle.push(entry.to_vec());
        if self.bundle.len() as u64 == TILE_WIDTH {
            out.push((
                TilePath {
                    kind: TileKind::Entries,
                    index: self.size / TILE_WIDTH,
                    width: TILE_WIDTH as u16,
                },
                encode_bundle(&self.bundle)?,
            ));
            self.bundle.clear();
        }
        self.push_hash(0, leaf, out);
        self.range.push((0, leaf));
        while self.range.len() >= 2 {
            let n = self.range.len();
            if self.range[n - 1].0 != self.range[n - 2].0 {
                break;
            }
            let (lv, right) = self.range[n - 1];
            let (_, left) = self.range[n - 2];
            self.range.truncate(n - 2);
            self.range.push((lv + 1, self.h.node_hash(&left, &right)));
        }
        self.size += 1;
        Ok(())
    }

    fn push_hash(&mut self, level: usize, hash: Hash, out: &mut Vec<TileFile>) {
        if self.edges.len() == level {
            self.edges.push(Vec::new());
            self.counts.push(0);
        }
        self.edges[level].push(hash);
        self.counts[level] += 1;
        if self.edges[level].len() as u64 == TILE_WIDTH {
            let tile = std::mem::take(&mut self.edges[level]);
            let root = perfect_root(self.h, &tile);
            out.push((
                TilePath {
                    kind: TileKind::Hash(level as u8),
                    index: (self.counts[level] - 1) / TILE_WIDTH,
                    width: TILE_WIDTH as u16,
                },
                tile.concat(),
            ));
            self.push_hash(level + 1, root, out);
        }
    }

    /// The partial tiles and bundle of the current size.
    pub fn partial_files(&self, out: &mut Vec<TileFile>) -> Result<()> {
        for (level, edge) in self.edges.iter().enumerate() {
            if !edge.is_empty() {
                out.push((
                    TilePath {
                        kind: TileKind::Hash(level as u8),
                        index: self.counts[level] / TILE_WIDTH,
                        width: edge.len() as u16,
                    },
                    edge.concat(),
                ));
            }
        }
        if !self.bundle.is_empty() {
            out.push((
                TilePath {
                    kind: TileKind::Entries,
                    index: self.size / TILE_WIDTH,
                    width: self.bundle.len() as u16,
                },
                encode_bundle(&self.bundle)?,
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::merkle::MemoryTree;

    #[test]
    fn builder_root_matches_memory_tree_across_tile_boundaries() -> Result<()> {
        let mut b = TileBuilder::new(HashAlg::Sm3);
        let mut m = MemoryTree::new(HashAlg::Sm3);
        let mut out = Vec::new();
        for i in 0..70_000u32 {
            let e = i.to_be_bytes();
            b.push(&e, &mut out)?;
            m.push_entry(&e);
            if i % 9_999 == 0 || i == 65_535 {
                assert_eq!(b.root(), m.root(), "size {}", i + 1);
            }
        }
        // 273 full level-0 tiles, 1 full level-1 tile, 273 full bundles.
        let full_l0 = out
            .iter()
            .filter(|(p, _)| p.kind == TileKind::Hash(0))
            .count();
        let full_l1 = out
            .iter()
            .filter(|(p, _)| p.kind == TileKind::Hash(1))
            .count();
        assert_eq!((full_l0, full_l1), (273, 1));
        Ok(())
    }
}
