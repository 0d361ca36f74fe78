//! C2SP tlog-tiles: paths, hash tiles, entry bundles, and a reader that serves
//! proofs and entries from a tiles directory.
//!
//! Layout (relative to the tiles root, servable as static files):
//! - `checkpoint`: the latest signed checkpoint;
//! - `tile/<L>/<N>[.p/<W>]`: hash tile `N` of tile level `L`; level 0 holds
//!   leaf hashes, level `L+1` holds the roots of full level-`L` tiles; a full
//!   tile has 256 hashes (8 KiB); partial tiles of width `W` (1..=255) exist for
//!   every checkpointed size and are never hashed upward;
//! - `tile/entries/<N>[.p/<W>]`: entry bundle `N`, `uint16_be length ‖ entry`
//!   repeated.
//!
//! `<N>` is written in 3-digit groups, all but the last prefixed with `x`:
//! 1234067 → `x001/x234/067`.

use crate::checkpoint::SignedCheckpoint;
use crate::error::{Error, Result};
use crate::hash::{Hash, HashAlg};
use crate::merkle::HashSource;
use crate::note::VerifierKey;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// Hashes in a full tile.
pub const TILE_WIDTH: u64 = 256;
/// Largest entry (bundles store its length in 16 bits).
pub const MAX_ENTRY_LEN: usize = 65_535;
/// Highest tile level accepted in paths (8 hash levels per tile level; 2^64 leaves fit in 8).
pub const MAX_TILE_LEVEL: u8 = 63;
/// Largest checkpoint file read.
pub const MAX_CHECKPOINT_FILE: u64 = 64 * 1024;
const MAX_TILE_PATH: usize = 128;
const FULL_CACHE: usize = 4096;

type TileCache = HashMap<(TileKind, u64), Arc<Vec<Hash>>>;

/// What a tile holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TileKind {
    /// Hashes of tile level `L` (tree level `8·L`).
    Hash(u8),
    /// Entry bundle.
    Entries,
}

/// A tile's identity: kind, index and width (256 = full).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct TilePath {
    /// Hash level or entries.
    pub kind: TileKind,
    /// Tile index `N` within its level.
    pub index: u64,
    /// Number of hashes or entries, 1..=256.
    pub width: u16,
}

impl TilePath {
    /// The path relative to the tiles root, e.g. `tile/0/x001/234.p/7`.
    pub fn to_path_string(&self) -> String {
        let mut s = String::from("tile/");
        match self.kind {
            TileKind::Hash(l) => s.push_str(&l.to_string()),
            TileKind::Entries => s.push_str("entries"),
        }
        s.push('/');
        s.push_str(&encode_index(self.index));
        if u64::from(self.width) < TILE_WIDTH {
            s.push_str(".p/");
            s.push_str(&self.width.to_string());
        }
        s
    }

    /// Parse a path as [`TilePath::to_path_string`] writes it; strict (one
    /// spelling per tile).
    pub fn parse(path: &str) -> Result<Self> {
        let bad = |r: &str| Error::malformed("tile path", r.to_string());
        if path.len() > MAX_TILE_PATH {
            return Err(bad("too long"));
        }
        let rest = path
            .strip_prefix("tile/")
            .ok_or_else(|| bad("does not start with tile/"))?;
        let (level, rest) = rest.split_once('/').ok_or_else(|| bad("no level"))?;
        let kind = if level == "entries" {
            TileKind::Entries
        } else {
            let l = parse_decimal(level).ok_or_else(|| bad("level is not a decimal"))?;
            if l > u64::from(MAX_TILE_LEVEL) {
                return Err(bad("level too high"));
            }
            TileKind::Hash(l as u8)
        };
        let (index_s, width) = match rest.split_once(".p/") {
            Some((i, w)) => {
                let w = parse_decimal(w).ok_or_else(|| bad("width is not a decimal"))?;
                if w == 0 || w >= TILE_WIDTH {
                    return Err(bad("partial width must be 1..=255"));
                }
                (i, w as u16)
            }
            None => (rest, TILE_WIDTH as u16),
        };
        let index = decode_index(index_s).ok_or_else(|| bad("index is not x-grouped digits"))?;
        Ok(TilePath { kind, index, width })
    }
}

fn parse_decimal(s: &str) -> Option<u64> {
    if s.is_empty() || s.len() > 20 || (s.len() > 1 && s.starts_with('0')) {
        return None;
    }
    if !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// `1234067` → `x001/x234/067`.
fn encode_index(mut n: u64) -> String {
    let mut groups = vec![format!("{:03}", n % 1000)];
    n /= 1000;
    while n > 0 {
        groups.push(format!("x{:03}", n % 1000));
        n /= 1000;
    }
    groups.reverse();
    groups.join("/")
}

fn decode_index(s: &str) -> Option<u64> {
    let groups: Vec<&str> = s.split('/').collect();
    let mut n: u64 = 0;
    for (i, g) in groups.iter().enumerate() {
        let last = i + 1 == groups.len();
        let digits = if last { *g } else { g.strip_prefix('x')? };
        if digits.len() != 3 || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        // A leading group of 000 would give a second spelling of the same index.
        if i == 0 && !last && digits == "000" {
            return None;
        }
        n = n
            .checked_mul(1000)?
            .checked_add(digits.parse::<u64>().ok()?)?;
    }
    Some(n)
}

/// Encode entries as a bundle: `uint16_be length ‖ entry` repeated.
pub fn encode_bundle<T: AsRef<[u8]>>(entries: &[T]) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    for e in entries {
        let e = e.as_ref();
        if e.len() > MAX_ENTRY_LEN {
            return Err(Error::TooLarge {
                what: "entry",
                len: e.len(),
                max: MAX_ENTRY_LEN,
            });
        }
        out.extend_from_slice(&(e.len() as u16).to_be_bytes());
        out.extend_from_slice(e);
    }
    Ok(out)
}

/// Decode a bundle that must hold exactly `width` entries and nothing after them.
pub fn decode_bundle(data: &[u8], width: usize) -> Result<Vec<Vec<u8>>> {
    let mut out = Vec::with_capacity(width.min(256));
    let mut rest = data;
    while !rest.is_empty() {
        if out.len() == width {
            return Err(Error::malformed(
                "entry bundle",
                "more entries than its width",
            ));
        }
        if rest.len() < 2 {
            return Err(Error::malformed("entry bundle", "truncated length"));
        }
        let n = usize::from(u16::from_be_bytes([rest[0], rest[1]]));
        if rest.len() < 2 + n {
            return Err(Error::malformed("entry bundle", "truncated entry"));
        }
        out.push(rest[2..2 + n].to_vec());
        rest = &rest[2 + n..];
    }
    if out.len() != width {
        return Err(Error::malformed(
            "entry bundle",
            "fewer entries than its width",
        ));
    }
    Ok(out)
}

/// Decode a hash tile of `width` hashes.
pub fn decode_hash_tile(data: &[u8], width: usize) -> Result<Vec<Hash>> {
    if data.len() != width * 32 {
        return Err(Error::malformed(
            "hash tile",
            format!(
                "{} bytes, want {} for width {width}",
                data.len(),
                width * 32
            ),
        ));
    }
    Ok(data
        .chunks_exact(32)
        .map(|c| {
            let mut h = [0u8; 32];
            h.copy_from_slice(c);
            h
        })
        .collect())
}

/// Root of a perfect tree given its 2^k leaves-of-this-level.
pub(crate) fn perfect_root(h: HashAlg, hashes: &[Hash]) -> Hash {
    let mut level: Vec<Hash> = hashes.to_vec();
    while level.len() > 1 {
        level = level
            .chunks(2)
            .map(|p| {
                if p.len() == 2 {
                    h.node_hash(&p[0], &p[1])
                } else {
                    p[0]
                }
            })
            .collect();
    }
    level.first().copied().unwrap_or_else(|| h.empty_root())
}

/// Reads a tiles directory as the tree of one size: hashes (for proofs),
/// entries, and the checkpoint file. Full tiles are cached (they never change).
pub struct TileReader {
    dir: PathBuf,
    h: HashAlg,
    size: u64,
    cache: Arc<Mutex<TileCache>>,
}

impl std::fmt::Debug for TileReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TileReader")
            .field("dir", &self.dir)
            .field("hash", &self.h)
            .field("size", &self.size)
            .finish()
    }
}

impl TileReader {
    /// A reader of the tree of `size` leaves stored under `dir`.
    pub fn new(dir: impl Into<PathBuf>, h: HashAlg, size: u64) -> Self {
        TileReader {
            dir: dir.into(),
            h,
            size,
            cache: Arc::new(Mutex::new(HashMap::new())),
        }
    }

    /// A reader of the same directory at another tree size, sharing the cache
    /// of full tiles (they are the same at every size).
    pub fn at_size(&self, size: u64) -> TileReader {
        TileReader {
            dir: self.dir.clone(),
            h: self.h,
            size,
            cache: self.cache.clone(),
        }
    }

    /// Open `dir/checkpoint` with `known` keys (and `origin` when given) and
    /// read the tree of its size.
    pub fn open_checkpoint(
        dir: impl Into<PathBuf>,
        h: HashAlg,
        known: &[VerifierKey],
        origin: Option<&str>,
    ) -> Result<(Self, SignedCheckpoint)> {
        let dir = dir.into();
        let bytes = read_file(&dir.join("checkpoint"), MAX_CHECKPOINT_FILE)?;
        let cp = SignedCheckpoint::open(&bytes, known, origin)?;
        let r = TileReader::new(dir, h, cp.checkpoint().size());
        Ok((r, cp))
    }

    /// The tree size this reader serves.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// The tiles directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Width of tile `index` at `kind` for this tree size (0 when absent).
    pub fn tile_width(&self, kind: TileKind, index: u64) -> u16 {
        let count = match kind {
            TileKind::Entries => self.size,
            TileKind::Hash(l) => {
                let shift = 8 * u32::from(l);
                if shift >= 64 { 0 } else { self.size >> shift }
            }
        };
        let start = index.saturating_mul(TILE_WIDTH);
        if count <= start {
            0
        } else {
            (count - start).min(TILE_WIDTH) as u16
        }
    }

    /// Read the raw bytes of tile `index` at `kind` at this tree size: the full
    /// tile or the partial one, falling back to the full tile when the partial
    /// one is gone (full tiles extend partial ones).
    pub fn read_tile(&self, kind: TileKind, index: u64) -> Result<(TilePath, Vec<u8>)> {
        let width = self.tile_width(kind, index);
        if width == 0 {
            return Err(Error::OutOfRange(format!(
                "tile {kind:?}/{index} is beyond tree size {}",
                self.size
            )));
        }
        let p = TilePath { kind, index, width };
        let limit = match kind {
            TileKind::Hash(_) => 32 * TILE_WIDTH,
            TileKind::Entries => (MAX_ENTRY_LEN as u64 + 2) * TILE_WIDTH,
        };
        match read_file(&self.dir.join(p.to_path_string()), limit) {
            Ok(b) => Ok((p, b)),
            Err(Error::Io { cause, .. })
                if cause.kind() == std::io::ErrorKind::NotFound
                    && u64::from(width) < TILE_WIDTH =>
            {
                let full = TilePath {
                    width: TILE_WIDTH as u16,
                    ..p
                };
                let b = read_file(&self.dir.join(full.to_path_string()), limit)?;
                let cut = match kind {
                    TileKind::Hash(_) => b.len().min(32 * usize::from(width)),
                    TileKind::Entries => bundle_prefix_len(&b, usize::from(width))?,
                };
                Ok((p, b[..cut].to_vec()))
            }
            Err(e) => Err(e),
        }
    }

    /// The hashes of tile `index` at tile level `level`, at this tree size.
    pub fn hash_tile(&self, level: u8, index: u64) -> Result<Arc<Vec<Hash>>> {
        let kind = TileKind::Hash(level);
        if let Some(t) = self.cache_get(kind, index) {
            return Ok(t);
        }
        let (p, b) = self.read_tile(kind, index)?;
        let t = Arc::new(decode_hash_tile(&b, usize::from(p.width))?);
        if u64::from(p.width) == TILE_WIDTH {
            self.cache_put(kind, index, t.clone());
        }
        Ok(t)
    }

    /// The entries of bundle `index` at this tree size.
    pub fn bundle(&self, index: u64) -> Result<Vec<Vec<u8>>> {
        let (p, b) = self.read_tile(TileKind::Entries, index)?;
        decode_bundle(&b, usize::from(p.width))
    }

    /// Entry `index`.
    pub fn entry(&self, index: u64) -> Result<Vec<u8>> {
        if index >= self.size {
            return Err(Error::OutOfRange(format!(
                "entry {index} is not in a tree of size {}",
                self.size
            )));
        }
        let mut b = self.bundle(index / TILE_WIDTH)?;
        Ok(b.swap_remove((index % TILE_WIDTH) as usize))
    }

    fn cache_get(&self, kind: TileKind, index: u64) -> Option<Arc<Vec<Hash>>> {
        self.cache.lock().ok()?.get(&(kind, index)).cloned()
    }

    fn cache_put(&self, kind: TileKind, index: u64, t: Arc<Vec<Hash>>) {
        if let Ok(mut c) = self.cache.lock() {
            if c.len() >= FULL_CACHE {
                c.clear();
            }
            c.insert((kind, index), t);
        }
    }
}

impl HashSource for TileReader {
    fn hash_alg(&self) -> HashAlg {
        self.h
    }

    fn node(&self, level: u8, index: u64) -> Result<Hash> {
        let tl = level / 8;
        let r = u32::from(level % 8);
        let first = index
            .checked_shl(r)
            .filter(|f| f.checked_shr(r) == Some(index))
            .ok_or_else(|| Error::OutOfRange(format!("node {level}/{index}")))?;
        let tile = first / TILE_WIDTH;
        let off = (first % TILE_WIDTH) as usize;
        let n = 1usize << r;
        let t = self.hash_tile(tl, tile)?;
        if off + n > t.len() {
            return Err(Error::OutOfRange(format!(
                "node {level}/{index} is not complete in tree size {}",
                self.size
            )));
        }
        Ok(perfect_root(self.h, &t[off..off + n]))
    }
}

fn bundle_prefix_len(b: &[u8], width: usize) -> Result<usize> {
    let mut pos = 0;
    for _ in 0..width {
        if pos + 2 > b.len() {
            return Err(Error::malformed("entry bundle", "truncated length"));
        }
        pos += 2 + usize::from(u16::from_be_bytes([b[pos], b[pos + 1]]));
        if pos > b.len() {
            return Err(Error::malformed("entry bundle", "truncated entry"));
        }
    }
    Ok(pos)
}

/// Read at most `limit` bytes of a file (more is an error).
pub(crate) fn read_file(path: &Path, limit: u64) -> Result<Vec<u8>> {
    use std::io::Read;
    let f = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let mut buf = Vec::new();
    f.take(limit + 1)
        .read_to_end(&mut buf)
        .map_err(|e| Error::io(path, e))?;
    if buf.len() as u64 > limit {
        return Err(Error::TooLarge {
            what: "file",
            len: buf.len(),
            max: limit as usize,
        });
    }
    Ok(buf)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_use_x_groups_and_parse_back() -> Result<()> {
        let cases = [
            (TileKind::Hash(0), 1_234_067, 256, "tile/0/x001/x234/067"),
            (TileKind::Hash(1), 0, 7, "tile/1/000.p/7"),
            (TileKind::Entries, 1000, 256, "tile/entries/x001/000"),
            (TileKind::Entries, 999, 255, "tile/entries/999.p/255"),
        ];
        for (kind, index, width, s) in cases {
            let p = TilePath { kind, index, width };
            assert_eq!(p.to_path_string(), s);
            assert_eq!(TilePath::parse(s)?, p);
        }
        for bad in [
            "tile/0/1234",
            "tile/0/x000/001",
            "tile/0/001.p/0",
            "tile/0/001.p/256",
            "tile/0/001.p/07",
            "tile/64/000",
            "tile/00/000",
            "tile/0/x1/000",
            "tile/0/01",
            "tile/0/000/",
            "tiles/0/000",
            "tile/entries/x018/x446/x744/x073/x709/x551/616",
        ] {
            assert!(TilePath::parse(bad).is_err(), "{bad}");
        }
        Ok(())
    }

    #[test]
    fn bundles_are_exact() -> Result<()> {
        let b = encode_bundle(&[b"one".as_slice(), b"", b"three"])?;
        assert_eq!(
            decode_bundle(&b, 3)?,
            vec![b"one".to_vec(), vec![], b"three".to_vec()]
        );
        assert!(decode_bundle(&b, 2).is_err());
        assert!(decode_bundle(&b, 4).is_err());
        assert!(decode_bundle(&b[..b.len() - 1], 3).is_err());
        Ok(())
    }
}
