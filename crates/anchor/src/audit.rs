//! Full audit of a tiles directory: recompute every tile and the root from the
//! entry bundles alone and compare with what is stored and signed.

use crate::builder::TileBuilder;
use crate::checkpoint::SignedCheckpoint;
use crate::error::{Error, Result};
use crate::hash::HashAlg;
use crate::note::VerifierKey;
use crate::tiles::{TILE_WIDTH, TileReader};
use std::path::Path;

/// What an audit checked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuditReport {
    /// The verified checkpoint that was audited.
    pub checkpoint: SignedCheckpoint,
    /// Entries read and hashed.
    pub entries: u64,
    /// Hash tiles and entry bundles compared byte for byte.
    pub tiles: u64,
}

/// Audit the log in `tiles_dir`: open its checkpoint with `known` keys, read
/// every entry bundle, rebuild every hash tile and partial tile, and compare
/// each with the stored file and the root with the signed one.
///
/// Fails with [`Error::Mismatch`] naming the first tile that differs.
pub fn audit(
    tiles_dir: &Path,
    hash: HashAlg,
    known: &[VerifierKey],
    origin: Option<&str>,
) -> Result<AuditReport> {
    audit_entries(tiles_dir, hash, known, origin, &mut |_, _| {})
}

/// [`audit`], handing every entry to `visit` (its index and bytes) as it is
/// hashed, so a caller can count or select entries in the same single pass.
/// Entries seen before a mismatch is found have been visited.
pub fn audit_entries(
    tiles_dir: &Path,
    hash: HashAlg,
    known: &[VerifierKey],
    origin: Option<&str>,
    visit: &mut dyn FnMut(u64, &[u8]),
) -> Result<AuditReport> {
    let (reader, cp) = TileReader::open_checkpoint(tiles_dir, hash, known, origin)?;
    let size = cp.checkpoint().size();
    let mut b = TileBuilder::new(hash);
    let mut out = Vec::new();
    let mut tiles = 0u64;
    let bundles = size.div_ceil(TILE_WIDTH);
    for t in 0..bundles {
        let entries = reader.bundle(t)?;
        tiles += 1;
        for (i, e) in entries.iter().enumerate() {
            visit(t * TILE_WIDTH + i as u64, e);
            b.push(e, &mut out)?;
        }
        for (p, data) in out.drain(..) {
            tiles += compare(&reader, p, &data)?;
        }
    }
    b.partial_files(&mut out)?;
    for (p, data) in out.drain(..) {
        tiles += compare(&reader, p, &data)?;
    }
    if &b.root() != cp.checkpoint().root() {
        return Err(Error::Mismatch(format!(
            "root recomputed from {size} entries differs from the checkpoint's"
        )));
    }
    Ok(AuditReport {
        checkpoint: cp,
        entries: size,
        tiles,
    })
}

fn compare(reader: &TileReader, p: crate::tiles::TilePath, data: &[u8]) -> Result<u64> {
    if let crate::tiles::TileKind::Entries = p.kind {
        // Bundles were read to get here; their content is what was hashed.
        return Ok(0);
    }
    let (_, stored) = reader.read_tile(p.kind, p.index)?;
    if stored != data {
        return Err(Error::Mismatch(format!(
            "{} differs from the tile recomputed from the entries",
            p.to_path_string()
        )));
    }
    Ok(1)
}
