//! Generating a simple OFD (GB/T 33190) package: text pages (a centred title,
//! paragraphs, key/value lines in two columns) set in one embedded CJK font,
//! with PNG images at fixed positions. The layout pass (`layout.rs`) is shared
//! with the PDF writer ([`crate::write_pdf`]), so both show the same page.
//!
//! Package layout written:
//! ```text
//! OFD.xml                        ofd:OFD → DocBody: DocInfo (DocID, Title, Author,
//!                                CreationDate, Creator "Yinzheng"), DocRoot
//! Doc_0/Document.xml             CommonData (MaxUnitID, PageArea, PublicRes), Pages
//! Doc_0/PublicRes.xml            Fonts/Font → FontFile; MultiMedias/MultiMedia
//!                                (Type Image, Format PNG) → MediaFile
//! Doc_0/Res/font_1.ttf           subset of the font: only the glyphs used, with a cmap
//! Doc_0/Res/image_N.png          each distinct image, as given
//! Doc_0/Pages/Page_N/Content.xml Layer of ImageObject (Boundary, CTM, ResourceID)
//!                                then TextObject (Boundary, Font, Size,
//!                                FillColor, TextCode X Y DeltaX)
//! ```
//! Lengths are millimetres, as in OFD. Text is placed from the font's advance
//! widths and every glyph offset is written in `DeltaX`, so a reader places
//! glyphs where we measured them. Units (fonts, images, pages, layers, objects)
//! get unique IDs counted from 1 and `MaxUnitID` is the last.
//!
//! Output is deterministic: the same spec and font give the same bytes (the
//! DocID, when not given, is derived from the content; no clock is read).

mod font;
pub(crate) mod layout;

pub use font::OfdFont;

use crate::error::{Error, Result};
use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::io::Write as _;

/// Most pages a generated document may have (after long pages continue onto new ones).
pub const MAX_GENERATED_PAGES: usize = 1000;
/// A4 portrait, mm.
pub const A4_MM: (f64, f64) = (210.0, 297.0);

const NS: &str = "http://www.ofdspec.org/2016";

/// One page of a generated document. Content that does not fit continues on
/// the next physical page (without repeating the title).
#[derive(Clone, Debug, Default, PartialEq)]
#[non_exhaustive]
pub struct OfdPage {
    /// Shown larger and centred at the top.
    pub title: Option<String>,
    /// The lines below the title, top to bottom.
    pub lines: Vec<OfdLine>,
    /// Pictures (a QR code, an emblem) at fixed positions on the page's first
    /// physical page, drawn under the text; the text does not flow around them.
    pub images: Vec<OfdImage>,
}

impl OfdPage {
    /// A page with `title` and no lines yet.
    pub fn titled(title: impl Into<String>) -> Self {
        OfdPage {
            title: Some(title.into()),
            ..OfdPage::default()
        }
    }

    /// Add an image.
    pub fn image(mut self, image: OfdImage) -> Self {
        self.images.push(image);
        self
    }

    /// Add a line.
    pub fn line(mut self, line: OfdLine) -> Self {
        self.lines.push(line);
        self
    }

    /// Add a key/value line.
    pub fn kv(self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.line(OfdLine::KeyValue {
            key: key.into(),
            value: value.into(),
        })
    }

    /// Add a paragraph.
    pub fn text(self, text: impl Into<String>) -> Self {
        self.line(OfdLine::Text(text.into()))
    }
}

/// A line of a page.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum OfdLine {
    /// A paragraph, wrapped to the text width; `\n` breaks the line.
    Text(String),
    /// A key in the left column and its value, wrapped, in the right column.
    /// The key column is as wide as the page's widest key (at most 45 % of the text width).
    KeyValue {
        /// The key (e.g. 名称).
        key: String,
        /// The value.
        value: String,
    },
    /// An empty line.
    Blank,
}

/// A PNG picture placed on a page: its top-left corner at (`x_mm`, `y_mm`)
/// from the page's top-left corner, scaled to `width_mm` × `height_mm`.
///
/// The OFD carries the PNG file as it is (a `MultiMedia` resource drawn by an
/// `ImageObject`); the PDF carries its pixels as an RGB image, with a soft
/// mask when the PNG has transparency. Refused by the writers: anything but a
/// PNG of 1 to 8192 pixels per side, or a box not inside the page.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct OfdImage {
    /// The PNG file.
    pub png: Vec<u8>,
    /// Left edge, mm from the page's left edge.
    pub x_mm: f64,
    /// Top edge, mm from the page's top edge.
    pub y_mm: f64,
    /// Width on the page, mm.
    pub width_mm: f64,
    /// Height on the page, mm.
    pub height_mm: f64,
}

impl OfdImage {
    /// `png` with its top-left corner at (`x_mm`, `y_mm`), `width_mm` × `height_mm` on the page.
    pub fn new(png: Vec<u8>, x_mm: f64, y_mm: f64, width_mm: f64, height_mm: f64) -> Self {
        OfdImage {
            png,
            x_mm,
            y_mm,
            width_mm,
            height_mm,
        }
    }
}

/// What to generate.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct OfdDocumentSpec {
    /// DocInfo `Title` (metadata; a page shows its own [`OfdPage::title`]).
    pub title: String,
    /// DocInfo `Author`.
    pub author: Option<String>,
    /// DocInfo `CreationDate`.
    pub creation_date: time::Date,
    /// The pages, at least one.
    pub pages: Vec<OfdPage>,
    /// Page width and height, mm (default [`A4_MM`]).
    pub page_size_mm: (f64, f64),
    /// DocInfo `DocID`; by default 32 hex digits derived from the content.
    pub doc_id: Option<String>,
}

impl OfdDocumentSpec {
    /// An A4 document titled `title`, created on `creation_date`, with `pages`.
    pub fn new(title: impl Into<String>, creation_date: time::Date, pages: Vec<OfdPage>) -> Self {
        OfdDocumentSpec {
            title: title.into(),
            author: None,
            creation_date,
            pages,
            page_size_mm: A4_MM,
            doc_id: None,
        }
    }
}

/// Generate the OFD package (zip bytes) of `spec`, set in `font`; the package
/// embeds a subset of `font` holding only the glyphs used.
///
/// Refused with [`Error::Spec`]: no pages, more than [`MAX_GENERATED_PAGES`]
/// physical pages, a page size outside 50–2000 mm, an image that is not a
/// PNG of 1–8192 pixels per side or does not lie inside the page, more than 64
/// images on a page; with [`Error::MissingGlyph`]: a character the font cannot
/// show (control characters other than `\n` included).
pub fn write_ofd(spec: &OfdDocumentSpec, font: &OfdFont) -> Result<Vec<u8>> {
    let metrics = font.metrics()?;
    let pages = layout::lay_out(spec, &metrics)?;
    let (pw, ph) = spec.page_size_mm;

    // Units: the font is 1; then one per distinct image (its MultiMedia
    // resource); then per page: the page, its layer, its image and text objects.
    const FONT_ID: u64 = 1;
    let mut next_id = FONT_ID + 1;
    let mut media: Vec<(u64, &[u8])> = Vec::new();
    for img in pages.iter().flat_map(|p| &p.images) {
        if !media.iter().any(|(_, png)| *png == img.png) {
            media.push((next_id, img.png));
            next_id += 1;
        }
    }
    let mut chars = BTreeSet::new();
    let mut contents = Vec::with_capacity(pages.len());
    let mut page_ids = Vec::with_capacity(pages.len());
    for page in &pages {
        page_ids.push(next_id);
        let layer_id = next_id + 1;
        next_id += 2;
        let mut body = String::new();
        for img in &page.images {
            let res = media
                .iter()
                .find(|(_, png)| *png == img.png)
                .map_or(0, |(id, _)| *id);
            // The image fills the unit square of its object space; the CTM
            // scales it to the box (GB/T 33190 §10.2).
            let _ = write!(
                body,
                "<ofd:ImageObject ID=\"{next_id}\" Boundary=\"{} {} {} {}\" CTM=\"{} 0 0 {} 0 0\" ResourceID=\"{res}\"/>",
                mm(img.x),
                mm(img.y),
                mm(img.width),
                mm(img.height),
                mm(img.width),
                mm(img.height),
            );
            next_id += 1;
        }
        for r in &page.runs {
            chars.extend(r.text.chars());
            let width: f64 = r.advances.iter().sum::<f64>() + r.size * 0.2;
            let _ = write!(
                body,
                "<ofd:TextObject ID=\"{next_id}\" Boundary=\"{} {} {} {}\" Font=\"{FONT_ID}\" Size=\"{}\">\
                 <ofd:FillColor Value=\"0 0 0\"/><ofd:TextCode X=\"0\" Y=\"{}\"{}>{}</ofd:TextCode></ofd:TextObject>",
                mm(r.x),
                mm(r.top),
                mm(width),
                mm(r.height),
                mm(r.size),
                mm(r.baseline),
                delta_x(&r.advances),
                esc(&r.text),
            );
            next_id += 1;
        }
        contents.push(format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<ofd:Page xmlns:ofd=\"{NS}\"><ofd:Content>\
             <ofd:Layer ID=\"{layer_id}\">{body}</ofd:Layer></ofd:Content></ofd:Page>"
        ));
    }
    let max_id = next_id - 1;
    let subset = font.subset(&chars)?.data;
    let ext = if subset.starts_with(b"OTTO") {
        "otf"
    } else {
        "ttf"
    };
    let font_file = format!("font_{FONT_ID}.{ext}");

    let mut page_list = String::new();
    for (i, id) in page_ids.iter().enumerate() {
        let _ = write!(
            page_list,
            "<ofd:Page ID=\"{id}\" BaseLoc=\"Pages/Page_{i}/Content.xml\"/>"
        );
    }
    let document = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<ofd:Document xmlns:ofd=\"{NS}\"><ofd:CommonData>\
         <ofd:MaxUnitID>{max_id}</ofd:MaxUnitID><ofd:PageArea><ofd:PhysicalBox>0 0 {} {}</ofd:PhysicalBox></ofd:PageArea>\
         <ofd:PublicRes>PublicRes.xml</ofd:PublicRes></ofd:CommonData><ofd:Pages>{page_list}</ofd:Pages></ofd:Document>",
        mm(pw),
        mm(ph)
    );
    let family = esc(font.family());
    let mut multimedia = String::new();
    if !media.is_empty() {
        multimedia.push_str("<ofd:MultiMedias>");
        for (id, _) in &media {
            let _ = write!(
                multimedia,
                "<ofd:MultiMedia ID=\"{id}\" Type=\"Image\" Format=\"PNG\"><ofd:MediaFile>image_{id}.png</ofd:MediaFile></ofd:MultiMedia>"
            );
        }
        multimedia.push_str("</ofd:MultiMedias>");
    }
    let public_res = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<ofd:Res xmlns:ofd=\"{NS}\" BaseLoc=\"Res\"><ofd:Fonts>\
         <ofd:Font ID=\"{FONT_ID}\" FontName=\"{family}\" FamilyName=\"{family}\"><ofd:FontFile>{font_file}</ofd:FontFile></ofd:Font>\
         </ofd:Fonts>{multimedia}</ofd:Res>"
    );
    let doc_id = match &spec.doc_id {
        Some(id) => id.clone(),
        None => {
            let mut all = Vec::new();
            all.extend_from_slice(spec.title.as_bytes());
            all.push(0);
            all.extend_from_slice(document.as_bytes());
            for c in &contents {
                all.extend_from_slice(c.as_bytes());
            }
            for (_, png) in &media {
                all.extend_from_slice(png);
            }
            yinzheng_crypto::sm3(&all)[..16]
                .iter()
                .fold(String::new(), |mut h, b| {
                    let _ = write!(h, "{b:02x}");
                    h
                })
        }
    };
    let d = spec.creation_date;
    let mut info = format!(
        "<ofd:DocID>{}</ofd:DocID><ofd:Title>{}</ofd:Title>",
        esc(&doc_id),
        esc(&spec.title)
    );
    if let Some(a) = &spec.author {
        let _ = write!(info, "<ofd:Author>{}</ofd:Author>", esc(a));
    }
    let _ = write!(
        info,
        "<ofd:CreationDate>{:04}-{:02}-{:02}</ofd:CreationDate><ofd:Creator>Yinzheng</ofd:Creator>\
         <ofd:CreatorVersion>{}</ofd:CreatorVersion>",
        d.year(),
        d.month() as u8,
        d.day(),
        env!("CARGO_PKG_VERSION")
    );
    let ofd = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<ofd:OFD xmlns:ofd=\"{NS}\" Version=\"1.0\" DocType=\"OFD\">\
         <ofd:DocBody><ofd:DocInfo>{info}</ofd:DocInfo><ofd:DocRoot>Doc_0/Document.xml</ofd:DocRoot></ofd:DocBody></ofd:OFD>"
    );

    let mut parts: Vec<(String, Vec<u8>)> = vec![
        ("OFD.xml".into(), ofd.into_bytes()),
        ("Doc_0/Document.xml".into(), document.into_bytes()),
        ("Doc_0/PublicRes.xml".into(), public_res.into_bytes()),
        (format!("Doc_0/Res/{font_file}"), subset),
    ];
    for (id, png) in &media {
        parts.push((format!("Doc_0/Res/image_{id}.png"), png.to_vec()));
    }
    for (i, c) in contents.into_iter().enumerate() {
        parts.push((format!("Doc_0/Pages/Page_{i}/Content.xml"), c.into_bytes()));
    }
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let opts = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    for (name, bytes) in &parts {
        zip.start_file(name.as_str(), opts)
            .map_err(|e| Error::Format(format!("writing {name}: {e}")))?;
        zip.write_all(bytes)
            .map_err(|e| Error::Format(format!("writing {name}: {e}")))?;
    }
    let out = zip
        .finish()
        .map_err(|e| Error::Format(format!("writing the package: {e}")))?;
    Ok(out.into_inner())
}

/// A length in mm as written: at most 3 decimals, no trailing zeros.
fn mm(v: f64) -> String {
    let s = format!("{v:.3}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s == "-0" { "0".into() } else { s.into() }
}

/// ` DeltaX="…"`: the offsets between consecutive glyphs, runs of equal values
/// written as `g N v` (GB/T 33190 §11.3); empty for fewer than two glyphs.
fn delta_x(advances: &[f64]) -> String {
    let Some((_, deltas)) = advances.split_last() else {
        return String::new();
    };
    if deltas.is_empty() {
        return String::new();
    }
    let vals: Vec<String> = deltas.iter().map(|&d| mm(d)).collect();
    let mut out = String::from(" DeltaX=\"");
    let mut i = 0;
    while i < vals.len() {
        let mut j = i + 1;
        while j < vals.len() && vals[j] == vals[i] {
            j += 1;
        }
        if i > 0 {
            out.push(' ');
        }
        if j - i > 1 {
            let _ = write!(out, "g {} {}", j - i, vals[i]);
        } else {
            out.push_str(&vals[i]);
        }
        i = j;
    }
    out.push('"');
    out
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delta_x_compresses_runs() {
        assert_eq!(delta_x(&[1.0]), "");
        assert_eq!(
            delta_x(&[4.2, 4.2, 4.2, 2.1, 1.0]),
            " DeltaX=\"g 3 4.2 2.1\""
        );
        assert_eq!(delta_x(&[1.5, 2.0, 9.0]), " DeltaX=\"1.5 2\"");
    }

    #[test]
    fn lengths_are_short_and_never_negative_zero() {
        assert_eq!(mm(210.0), "210");
        assert_eq!(mm(4.2), "4.2");
        assert_eq!(mm(1.0 / 3.0), "0.333");
        assert_eq!(mm(-0.0001), "0");
    }
}
