//! The font of a generated OFD: measuring text with the font's advance widths,
//! and embedding a subset that holds only the glyphs the document uses.
//!
//! OFD gives text as Unicode (`TextCode`), and a reader finds each glyph through
//! the embedded font's `cmap`. The `subsetter` crate (typst's) renumbers glyphs
//! and drops `cmap` and `OS/2` (it subsets for PDF CID fonts), so we add back a
//! `cmap` for exactly the used characters (format 4, plus format 12 when a
//! character lies beyond the BMP) and the original `OS/2`, then check the result
//! by parsing it again: every used character must map to the glyph it was given.

use crate::error::{Error, Result};
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use ttf_parser::{Face, GlyphId, Tag};

/// Largest font file accepted.
const MAX_FONT_LEN: usize = 64 << 20;

/// A font for generated OFD documents: TrueType or CFF outlines, one face of a
/// font file or collection. Documents embed a subset of it, never the whole file.
pub struct OfdFont {
    data: Vec<u8>,
    index: u32,
    source: String,
    family: String,
}

impl std::fmt::Debug for OfdFont {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OfdFont")
            .field("source", &self.source)
            .field("index", &self.index)
            .field("family", &self.family)
            .field("len", &self.data.len())
            .finish()
    }
}

impl OfdFont {
    /// Load the first face of the font file at `path` (TTF, OTF, TTC or OTC).
    pub fn load(path: &Path) -> Result<Self> {
        let data = std::fs::read(path)
            .map_err(|e| Error::Font(format!("font {}: {e}", path.display())))?;
        Self::from_bytes(data, 0, &path.display().to_string())
    }

    /// Face `index` of the font file `data`; `source` names it in errors.
    pub fn from_bytes(data: Vec<u8>, index: u32, source: &str) -> Result<Self> {
        if data.len() > MAX_FONT_LEN {
            return Err(Error::Font(format!(
                "font {source}: larger than {MAX_FONT_LEN} bytes"
            )));
        }
        let face = Face::parse(&data, index)
            .map_err(|e| Error::Font(format!("font {source} (face {index}): {e}")))?;
        if face.tables().glyf.is_none() && face.tables().cff.is_none() {
            return Err(Error::Font(format!(
                "font {source}: neither TrueType nor CFF outlines (CFF2 is not supported)"
            )));
        }
        let family = family_name(&face).unwrap_or_else(|| {
            Path::new(source)
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_else(|| "Embedded".into())
        });
        Ok(OfdFont {
            data,
            index,
            source: source.to_string(),
            family,
        })
    }

    /// The first installed Debian CJK font (fonts-wqy-microhei first), else
    /// the embedded WenQuanYi Micro Hei subset (GB 2312; see [`yinzheng_fonts`]).
    pub fn find() -> Result<Self> {
        Self::open(yinzheng_fonts::CjkFont::default_source())
    }

    /// The embedded WenQuanYi Micro Hei subset (GB 2312), whatever is installed.
    pub fn embedded() -> Result<Self> {
        Self::open(yinzheng_fonts::CjkFont::Embedded)
    }

    fn open(source: yinzheng_fonts::CjkFont) -> Result<Self> {
        let data = source
            .read()
            .map_err(|e| Error::Font(format!("font {}: {e}", source.name())))?;
        Self::from_bytes(data, 0, &source.name())
    }

    /// The family name from the font's `name` table (else the file name).
    pub fn family(&self) -> &str {
        &self.family
    }

    /// Where the font came from (a path, or what the caller named it).
    pub fn source(&self) -> &str {
        &self.source
    }

    /// Size of the whole font file in bytes (what a document would carry without subsetting).
    pub fn file_len(&self) -> usize {
        self.data.len()
    }

    /// The parsed face.
    pub(crate) fn face(&self) -> Result<Face<'_>> {
        Face::parse(&self.data, self.index)
            .map_err(|e| Error::Font(format!("font {}: {e}", self.source)))
    }

    /// Measuring access to the face.
    pub(crate) fn metrics(&self) -> Result<Metrics<'_>> {
        let face = self.face()?;
        let upem = f64::from(face.units_per_em().max(1));
        Ok(Metrics {
            ascender: f64::from(face.ascender()) / upem,
            descender: f64::from(face.descender()) / upem,
            upem,
            face,
            font: self,
        })
    }

    /// A font file holding only the glyphs of `chars`, with a `cmap` for them.
    pub(crate) fn subset(&self, chars: &BTreeSet<char>) -> Result<Subset> {
        let m = self.metrics()?;
        let mut remapper = subsetter::GlyphRemapper::new();
        let mut old = Vec::with_capacity(chars.len());
        for &c in chars {
            let gid = m.glyph(c)?;
            old.push((c, gid));
            remapper.remap(gid.0);
        }
        let sub = subsetter::subset(&self.data, self.index, &remapper)
            .map_err(|e| Error::Font(format!("subsetting {}: {e}", self.source)))?;
        let mut map = BTreeMap::new();
        for (c, gid) in old {
            let new = remapper
                .get(gid.0)
                .ok_or_else(|| Error::Font(format!("subsetting lost the glyph of {c:?}")))?;
            map.insert(c, new);
        }
        let mut tables = read_tables(&sub)?;
        tables.retain(|(t, _)| t != b"cmap" && t != b"OS/2");
        tables.push((*b"cmap", cmap(&map)?));
        if let Some(os2) = m.face.raw_face().table(Tag::from_bytes(b"OS/2")) {
            tables.push((*b"OS/2", os2.to_vec()));
        }
        let out = write_sfnt(&sub[..4], tables);
        // The reader maps TextCode through this cmap: check every character.
        let check = Face::parse(&out, 0)
            .map_err(|e| Error::Font(format!("the font subset does not parse: {e}")))?;
        for (c, gid) in &map {
            if check.glyph_index(*c) != Some(GlyphId(*gid)) || *gid == 0 {
                return Err(Error::Font(format!(
                    "the font subset does not map {c:?} (U+{:04X})",
                    u32::from(*c)
                )));
            }
        }
        Ok(Subset {
            data: out,
            glyphs: map,
        })
    }

    /// The PostScript name from the `name` table (else the family name without
    /// spaces), as PDF's `BaseFont` wants it: printable ASCII, no delimiters.
    pub(crate) fn postscript_name(&self) -> String {
        let from_names = self.face().ok().and_then(|face| {
            face.names()
                .into_iter()
                .filter(|n| n.name_id == ttf_parser::name_id::POST_SCRIPT_NAME)
                .find_map(|n| n.to_string())
        });
        let name: String = from_names
            .unwrap_or_else(|| self.family.clone())
            .chars()
            .filter(|c| c.is_ascii_graphic() && !"()<>[]{}/%#".contains(*c))
            .take(100)
            .collect();
        if name.is_empty() {
            "Embedded".into()
        } else {
            name
        }
    }
}

/// A font subset: the font file and the glyph ID of each character in it.
pub(crate) struct Subset {
    /// The font file (TrueType or CFF-flavoured OpenType).
    pub data: Vec<u8>,
    /// Character → glyph ID in `data`.
    pub glyphs: BTreeMap<char, u16>,
}

fn family_name(face: &Face<'_>) -> Option<String> {
    let names: Vec<_> = face
        .names()
        .into_iter()
        .filter(|n| n.name_id == ttf_parser::name_id::FAMILY && n.is_unicode())
        .collect();
    // Prefer the English (US) name: readers match fonts by it.
    names
        .iter()
        .find(|n| n.language_id == 0x0409)
        .or_else(|| names.first())
        .and_then(|n| n.to_string())
        .filter(|s| !s.trim().is_empty())
}

/// Advance widths and vertical metrics, in em.
pub(crate) struct Metrics<'a> {
    face: Face<'a>,
    font: &'a OfdFont,
    upem: f64,
    /// Ascender, em (positive).
    pub ascender: f64,
    /// Descender, em (negative).
    pub descender: f64,
}

impl Metrics<'_> {
    /// The glyph of `c`, or the typed error naming `c`.
    pub fn glyph(&self, c: char) -> Result<GlyphId> {
        match self.face.glyph_index(c) {
            Some(g) if g.0 != 0 => Ok(g),
            _ => Err(Error::MissingGlyph {
                ch: c,
                font: self.font.family.clone(),
            }),
        }
    }

    /// Advance width of `c`, em.
    pub fn advance(&self, c: char) -> Result<f64> {
        let g = self.glyph(c)?;
        Ok(f64::from(self.face.glyph_hor_advance(g).unwrap_or(0)) / self.upem)
    }
}

type Table = ([u8; 4], Vec<u8>);

fn be16(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes(b.get(at..at + 2)?.try_into().ok()?))
}

fn be32(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_be_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

/// The tables of a single-face sfnt file.
fn read_tables(font: &[u8]) -> Result<Vec<Table>> {
    let bad = || Error::Font("the font subset has a malformed table directory".into());
    let n = be16(font, 4).ok_or_else(bad)?;
    let mut out = Vec::with_capacity(usize::from(n) + 2);
    for i in 0..usize::from(n) {
        let rec = 12 + 16 * i;
        let tag: [u8; 4] = font
            .get(rec..rec + 4)
            .and_then(|t| t.try_into().ok())
            .ok_or_else(bad)?;
        let off = be32(font, rec + 8).ok_or_else(bad)? as usize;
        let len = be32(font, rec + 12).ok_or_else(bad)? as usize;
        let data = font.get(off..off.saturating_add(len)).ok_or_else(bad)?;
        out.push((tag, data.to_vec()));
    }
    Ok(out)
}

fn checksum(data: &[u8]) -> u32 {
    data.chunks(4).fold(0u32, |sum, chunk| {
        let mut b = [0u8; 4];
        b[..chunk.len()].copy_from_slice(chunk);
        sum.wrapping_add(u32::from_be_bytes(b))
    })
}

/// An sfnt file from its tables (sorted by tag, 4-byte aligned, with checksums
/// and the `head` checkSumAdjustment), per the OpenType "font file" chapter.
fn write_sfnt(version: &[u8], mut tables: Vec<Table>) -> Vec<u8> {
    tables.sort_by_key(|t| t.0);
    let n = tables.len() as u16;
    let selector = 15 - n.max(1).leading_zeros() as u16;
    let range = (1u16 << selector) * 16;
    let mut out = Vec::new();
    out.extend_from_slice(version);
    for v in [n, range, selector, n * 16 - range] {
        out.extend_from_slice(&v.to_be_bytes());
    }
    let mut offset = 12 + 16 * tables.len();
    let mut head_at = None;
    for (tag, data) in &mut tables {
        if tag == b"head" && data.len() >= 12 {
            data[8..12].fill(0);
            head_at = Some(offset + 8);
        }
        out.extend_from_slice(tag);
        out.extend_from_slice(&checksum(data).to_be_bytes());
        out.extend_from_slice(&(offset as u32).to_be_bytes());
        out.extend_from_slice(&(data.len() as u32).to_be_bytes());
        offset += data.len().next_multiple_of(4);
    }
    for (_, data) in &tables {
        out.extend_from_slice(data);
        out.resize(out.len().next_multiple_of(4), 0);
    }
    if let Some(at) = head_at {
        let adj = 0xB1B0_AFBA_u32.wrapping_sub(checksum(&out));
        out[at..at + 4].copy_from_slice(&adj.to_be_bytes());
    }
    out
}

/// A `cmap` table for `map` (character → glyph): format 4 under (3, 1) for the
/// BMP, plus format 12 under (3, 10) when a character lies beyond it.
fn cmap(map: &BTreeMap<char, u16>) -> Result<Vec<u8>> {
    // Format 4: one segment per run of consecutive characters with consecutive glyphs.
    let mut segs: Vec<(u16, u16, u16)> = Vec::new(); // start, end, delta
    for (&c, &g) in map.range(..='\u{FFFE}') {
        let c = u32::from(c) as u16;
        let delta = g.wrapping_sub(c);
        match segs.last_mut() {
            Some((_, end, d)) if *end + 1 == c && *d == delta => *end = c,
            _ => segs.push((c, c, delta)),
        }
    }
    segs.push((0xFFFF, 0xFFFF, 1));
    if segs.len() > 8000 {
        return Err(Error::Spec(format!(
            "{} distinct characters: too many for one embedded font",
            map.len()
        )));
    }
    let n = segs.len() as u16;
    let selector = 15 - n.leading_zeros() as u16;
    let range = (1u16 << selector) * 2;
    let mut f4 = Vec::new();
    for v in [4, 16 + 8 * n, 0, 2 * n, range, selector, 2 * n - range] {
        f4.extend_from_slice(&v.to_be_bytes());
    }
    segs.iter()
        .for_each(|s| f4.extend_from_slice(&s.1.to_be_bytes()));
    f4.extend_from_slice(&0u16.to_be_bytes());
    segs.iter()
        .for_each(|s| f4.extend_from_slice(&s.0.to_be_bytes()));
    segs.iter()
        .for_each(|s| f4.extend_from_slice(&s.2.to_be_bytes()));
    segs.iter()
        .for_each(|_| f4.extend_from_slice(&0u16.to_be_bytes()));

    let mut subtables = vec![(1u16, f4)];
    if map.keys().any(|&c| u32::from(c) > 0xFFFF) {
        let mut groups: Vec<(u32, u32, u32)> = Vec::new();
        for (&c, &g) in map {
            let (c, g) = (u32::from(c), u32::from(g));
            match groups.last_mut() {
                Some((s, e, sg)) if *e + 1 == c && *sg + (c - *s) == g => *e = c,
                _ => groups.push((c, c, g)),
            }
        }
        let mut f12 = Vec::new();
        f12.extend_from_slice(&12u16.to_be_bytes());
        f12.extend_from_slice(&0u16.to_be_bytes());
        f12.extend_from_slice(&(16 + 12 * groups.len() as u32).to_be_bytes());
        f12.extend_from_slice(&0u32.to_be_bytes());
        f12.extend_from_slice(&(groups.len() as u32).to_be_bytes());
        for (s, e, g) in groups {
            for v in [s, e, g] {
                f12.extend_from_slice(&v.to_be_bytes());
            }
        }
        subtables.push((10, f12));
    }
    let mut out = Vec::new();
    out.extend_from_slice(&0u16.to_be_bytes());
    out.extend_from_slice(&(subtables.len() as u16).to_be_bytes());
    let mut offset = 4 + 8 * subtables.len() as u32;
    for (enc, data) in &subtables {
        out.extend_from_slice(&3u16.to_be_bytes());
        out.extend_from_slice(&enc.to_be_bytes());
        out.extend_from_slice(&offset.to_be_bytes());
        offset += data.len() as u32;
    }
    for (_, data) in subtables {
        out.extend_from_slice(&data);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn cmap_with_supplementary_characters_parses_back() {
        let map: BTreeMap<char, u16> = [('A', 1), ('B', 2), ('营', 3), ('\u{20000}', 4)]
            .into_iter()
            .collect();
        let table = cmap(&map).unwrap();
        let cmap = ttf_parser::cmap::Table::parse(&table).unwrap();
        for (c, g) in map {
            let found = cmap
                .subtables
                .into_iter()
                .find_map(|s| s.glyph_index(u32::from(c)));
            assert_eq!(found, Some(GlyphId(g)), "{c:?}");
        }
    }
}
