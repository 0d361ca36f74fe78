//! Generating a PDF from the same [`OfdDocumentSpec`] as [`crate::write_ofd`]:
//! the same layout pass (`ofd_write::layout`), so the PDF copy of a license
//! face shows what its OFD master shows, glyph for glyph.
//!
//! What is written (PDF 1.7, ISO 32000-1, classic cross-reference table):
//! ```text
//! Catalog → Pages (MediaBox of the spec's page size) → Page per physical page
//! Page     Contents: images (q w 0 0 h x y cm /ImN Do Q), then text
//!          (BT /F1 size Tf 1 0 0 1 x y Tm <glyph ids> Tj … ET), Flate-compressed
//! F1       Type0, Identity-H → CIDFontType2 (CIDToGIDMap Identity, /W widths)
//!          → FontDescriptor → FontFile2: the same TrueType subset the OFD embeds
//!          ToUnicode CMap: glyph id → character, so text can be extracted
//! ImN      RGB image XObject, /SMask (DeviceGray) when the PNG has transparency
//! Info     Title, Author, CreationDate, Creator, Producer; trailer /ID
//! ```
//! The glyph ids in the content are the subset's own (CID = GID). Widths in
//! `/W` are the font's advances, so a viewer advances glyphs exactly as the
//! layout measured them. Output is deterministic, like the OFD writer's.

use crate::error::{Error, Result};
use crate::ofd_write::layout::{self, LaidPage};
use crate::ofd_write::{OfdDocumentSpec, OfdFont};
use crate::pdf::PT_PER_MM;
use crate::pdf::appearance::{compressed, decode_png, image_xobject, num};
use lopdf::xref::XrefType;
use lopdf::{Dictionary, Document, Object, ObjectId, StringFormat, dictionary};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

/// Generate a PDF of `spec`, set in `font` (embedded as a subset holding only
/// the glyphs used), with the same layout as [`crate::write_ofd`] gives it.
///
/// Refused as [`crate::write_ofd`] refuses (with [`Error::Spec`],
/// [`Error::MissingGlyph`]), and with [`Error::Font`] for a font with CFF
/// outlines (the PDF embeds TrueType outlines only).
pub fn write_pdf(spec: &OfdDocumentSpec, font: &OfdFont) -> Result<Vec<u8>> {
    let metrics = font.metrics()?;
    let pages = layout::lay_out(spec, &metrics)?;
    let (pw, ph) = (
        spec.page_size_mm.0 * PT_PER_MM,
        spec.page_size_mm.1 * PT_PER_MM,
    );

    let chars: BTreeSet<char> = pages
        .iter()
        .flat_map(|p| &p.runs)
        .flat_map(|r| r.text.chars())
        .collect();
    let mut doc = Document::with_version("1.7");
    let (font_id, glyphs) = if chars.is_empty() {
        (None, BTreeMap::new())
    } else {
        let (id, glyphs) = embed_font(&mut doc, font, &chars)?;
        (Some(id), glyphs)
    };

    let pages_id = doc.new_object_id();
    let mut images: Vec<(&[u8], ObjectId)> = Vec::new();
    let mut kids = Vec::with_capacity(pages.len());
    let mut digest_input = Vec::new();
    for (n, page) in pages.iter().enumerate() {
        let (content, xobjects) = page_content(&mut doc, page, n, ph, &glyphs, &mut images)?;
        digest_input.extend_from_slice(&content);
        let mut resources = Dictionary::new();
        if let Some(f) = font_id {
            resources.set("Font", dictionary! { "F1" => f });
        }
        if !xobjects.is_empty() {
            resources.set("XObject", xobjects);
        }
        let contents = doc.add_object(compressed(Dictionary::new(), content)?);
        let page_id = doc.add_object(dictionary! {
            "Type" => "Page", "Parent" => pages_id, "Contents" => contents,
            "Resources" => resources,
        });
        kids.push(Object::Reference(page_id));
    }
    let count = kids.len() as i64;
    doc.objects.insert(
        pages_id,
        Object::Dictionary(dictionary! {
            "Type" => "Pages", "Count" => count, "Kids" => kids,
            "MediaBox" => vec![0.into(), 0.into(), Object::Real(pw as f32), Object::Real(ph as f32)],
        }),
    );
    let catalog = doc.add_object(dictionary! { "Type" => "Catalog", "Pages" => pages_id });
    doc.trailer.set("Root", catalog);

    let d = spec.creation_date;
    let mut info = dictionary! {
        "Title" => lopdf::text_string(&spec.title),
        "CreationDate" => Object::string_literal(format!(
            "D:{:04}{:02}{:02}",
            d.year(),
            d.month() as u8,
            d.day()
        )),
        "Creator" => Object::string_literal("Yinzheng"),
        "Producer" => Object::string_literal(format!("Yinzheng {}", env!("CARGO_PKG_VERSION"))),
    };
    if let Some(a) = &spec.author {
        info.set("Author", lopdf::text_string(a));
    }
    let info = doc.add_object(info);
    doc.trailer.set("Info", info);
    digest_input.extend_from_slice(spec.title.as_bytes());
    for (png, _) in &images {
        digest_input.extend_from_slice(png);
    }
    let id = yinzheng_crypto::sm3(&digest_input)[..16].to_vec();
    doc.trailer.set(
        "ID",
        vec![
            Object::String(id.clone(), StringFormat::Hexadecimal),
            Object::String(id, StringFormat::Hexadecimal),
        ],
    );
    doc.reference_table.cross_reference_type = XrefType::CrossReferenceTable;
    let mut out = Vec::new();
    doc.save_to(&mut out)
        .map_err(|e| Error::Pdf(format!("writing the PDF: {e}")))?;
    Ok(out)
}

/// The content stream of one page and its `/XObject` resources; images are
/// added to `doc` once per distinct PNG (`images`).
fn page_content<'a>(
    doc: &mut Document,
    page: &LaidPage<'a>,
    page_no: usize,
    ph: f64,
    glyphs: &BTreeMap<char, u16>,
    images: &mut Vec<(&'a [u8], ObjectId)>,
) -> Result<(Vec<u8>, Dictionary)> {
    let mut content = String::new();
    let mut xobjects = Dictionary::new();
    for (i, img) in page.images.iter().enumerate() {
        let id = match images.iter().find(|(png, _)| *png == img.png) {
            Some((_, id)) => *id,
            None => {
                let pic = decode_png(img.png).map_err(|e| {
                    Error::Spec(format!("image {} on page {}: {e}", i + 1, page_no + 1))
                })?;
                let id = image_xobject(doc, pic)?;
                images.push((img.png, id));
                id
            }
        };
        let name = format!("Im{}", id.0);
        let (w, h) = (img.width * PT_PER_MM, img.height * PT_PER_MM);
        let _ = writeln!(
            content,
            "q {} 0 0 {} {} {} cm /{name} Do Q",
            num(w),
            num(h),
            num(img.x * PT_PER_MM),
            num(ph - (img.y + img.height) * PT_PER_MM)
        );
        xobjects.set(name, id);
    }
    if !page.runs.is_empty() {
        content.push_str("BT 0 g\n");
        let mut size = None;
        for r in &page.runs {
            if size != Some(r.size) {
                let _ = writeln!(content, "/F1 {} Tf", num(r.size * PT_PER_MM));
                size = Some(r.size);
            }
            let mut hex = String::with_capacity(r.text.len() * 4 + 2);
            hex.push('<');
            for c in r.text.chars() {
                // Every character of a run went into the subset (MissingGlyph otherwise).
                let gid = glyphs.get(&c).copied().unwrap_or(0);
                let _ = write!(hex, "{gid:04X}");
            }
            hex.push('>');
            let _ = writeln!(
                content,
                "1 0 0 1 {} {} Tm {hex} Tj",
                num(r.x * PT_PER_MM),
                num(ph - (r.top + r.baseline) * PT_PER_MM)
            );
        }
        content.push_str("ET\n");
    }
    Ok((content.into_bytes(), xobjects))
}

/// Embed a subset of `font` for `chars` as a Type0 font; returns the font's
/// object and each character's glyph id (= CID) in the subset.
fn embed_font(
    doc: &mut Document,
    font: &OfdFont,
    chars: &BTreeSet<char>,
) -> Result<(ObjectId, BTreeMap<char, u16>)> {
    let subset = font.subset(chars)?;
    if subset.data.starts_with(b"OTTO") {
        return Err(Error::Font(format!(
            "{} has CFF outlines; PDF output embeds TrueType outlines only \
             (use fonts-wqy-microhei or fonts-wqy-zenhei)",
            font.family()
        )));
    }
    let face = font.face()?;
    let m = font.metrics()?;
    let upem = f64::from(face.units_per_em().max(1));
    let em = |v: f64| (v * 1000.0 / upem).round() as i64;
    let bbox = face.global_bounding_box();
    let ascent = em(f64::from(face.ascender()));
    let descent = em(f64::from(face.descender()));
    let cap = face.capital_height().map_or(ascent, |c| em(f64::from(c)));

    // A subset tag (six capitals) from the glyph set, then the PostScript name.
    let digest = yinzheng_crypto::sm3(&subset.data);
    let tag: String = digest[..6]
        .iter()
        .map(|b| char::from(b'A' + b % 26))
        .collect();
    let base_font = format!("{tag}+{}", font.postscript_name());

    let len1 = subset.data.len() as i64;
    let file = doc.add_object(compressed(dictionary! { "Length1" => len1 }, subset.data)?);
    let descriptor = doc.add_object(dictionary! {
        "Type" => "FontDescriptor",
        "FontName" => Object::Name(base_font.clone().into_bytes()),
        "Flags" => 4,
        "FontBBox" => vec![
            em(f64::from(bbox.x_min)).into(), em(f64::from(bbox.y_min)).into(),
            em(f64::from(bbox.x_max)).into(), em(f64::from(bbox.y_max)).into(),
        ],
        "ItalicAngle" => 0, "Ascent" => ascent, "Descent" => descent,
        "CapHeight" => cap, "StemV" => 80, "FontFile2" => file,
    });

    // /W: [gid [w]] per glyph, consecutive glyph ids grouped.
    let mut widths: BTreeMap<u16, f64> = BTreeMap::new();
    let mut unicode: BTreeMap<u16, char> = BTreeMap::new();
    for (&c, &gid) in &subset.glyphs {
        widths.insert(gid, m.advance(c)? * 1000.0);
        unicode.entry(gid).or_insert(c);
    }
    let mut w_array: Vec<Object> = Vec::new();
    let mut group: Vec<Object> = Vec::new();
    let mut prev: Option<u16> = None;
    for (&gid, &w) in &widths {
        if prev.is_none_or(|p| p + 1 != gid) {
            if !group.is_empty() {
                w_array.push(Object::Array(std::mem::take(&mut group)));
            }
            w_array.push(i64::from(gid).into());
        }
        group.push(Object::Real(w as f32));
        prev = Some(gid);
    }
    if !group.is_empty() {
        w_array.push(Object::Array(group));
    }
    let cid_font = doc.add_object(dictionary! {
        "Type" => "Font", "Subtype" => "CIDFontType2",
        "BaseFont" => Object::Name(base_font.clone().into_bytes()),
        "CIDSystemInfo" => dictionary! {
            "Registry" => Object::string_literal("Adobe"),
            "Ordering" => Object::string_literal("Identity"),
            "Supplement" => 0,
        },
        "FontDescriptor" => descriptor, "DW" => 1000, "W" => w_array,
        "CIDToGIDMap" => "Identity",
    });
    let to_unicode = doc.add_object(compressed(Dictionary::new(), to_unicode_cmap(&unicode))?);
    let type0 = doc.add_object(dictionary! {
        "Type" => "Font", "Subtype" => "Type0",
        "BaseFont" => Object::Name(base_font.into_bytes()),
        "Encoding" => "Identity-H", "DescendantFonts" => vec![cid_font.into()],
        "ToUnicode" => to_unicode,
    });
    Ok((type0, subset.glyphs))
}

/// A ToUnicode CMap (Adobe technical note 5411): two-byte codes (the glyph
/// ids) to UTF-16BE, in `bfchar` blocks of at most 100 entries.
fn to_unicode_cmap(map: &BTreeMap<u16, char>) -> Vec<u8> {
    let mut s = String::from(
        "/CIDInit /ProcSet findresource begin\n12 dict begin\nbegincmap\n\
         /CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def\n\
         /CMapName /Adobe-Identity-UCS def\n/CMapType 2 def\n\
         1 begincodespacerange\n<0000> <FFFF>\nendcodespacerange\n",
    );
    let entries: Vec<_> = map.iter().collect();
    for chunk in entries.chunks(100) {
        let _ = writeln!(s, "{} beginbfchar", chunk.len());
        for (gid, c) in chunk {
            let mut units = [0u16; 2];
            let hex: String = c
                .encode_utf16(&mut units)
                .iter()
                .map(|u| format!("{u:04X}"))
                .collect();
            let _ = writeln!(s, "<{gid:04X}> <{hex}>");
        }
        s.push_str("endbfchar\n");
    }
    s.push_str("endcmap\nCMapName currentdict /CMap defineresource pop\nend\nend\n");
    s.into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn to_unicode_has_surrogates_and_blocks_of_100() {
        let mut map = BTreeMap::new();
        map.insert(1, '营');
        map.insert(2, '\u{20000}');
        for g in 3..150 {
            map.insert(g, 'a');
        }
        let cmap = String::from_utf8(to_unicode_cmap(&map)).unwrap_or_default();
        assert!(cmap.contains("<0001> <8425>"), "{cmap}");
        assert!(cmap.contains("<0002> <D840DC00>"));
        assert!(cmap.contains("100 beginbfchar") && cmap.contains("49 beginbfchar"));
    }
}
