//! Generating a simple OFD (GB/T 33190) package: text pages (a centred title,
//! paragraphs, key/value lines in two columns) set in one embedded CJK font.
//!
//! Package layout written:
//! ```text
//! OFD.xml                        ofd:OFD → DocBody: DocInfo (DocID, Title, Author,
//!                                CreationDate, Creator "Yinzheng"), DocRoot
//! Doc_0/Document.xml             CommonData (MaxUnitID, PageArea, PublicRes), Pages
//! Doc_0/PublicRes.xml            Fonts/Font → FontFile
//! Doc_0/Res/font_1.ttf           subset of the font: only the glyphs used, with a cmap
//! Doc_0/Pages/Page_N/Content.xml Layer of TextObject (Boundary, Font, Size,
//!                                FillColor, TextCode X Y DeltaX)
//! ```
//! Lengths are millimetres, as in OFD. Text is placed from the font's advance
//! widths and every glyph offset is written in `DeltaX`, so a reader places
//! glyphs where we measured them. Units (fonts, pages, layers, text objects)
//! get unique IDs counted from 1 and `MaxUnitID` is the last.
//!
//! Output is deterministic: the same spec and font give the same bytes (the
//! DocID, when not given, is derived from the content; no clock is read).

mod font;

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
const MARGIN_X: f64 = 25.0;
const MARGIN_TOP: f64 = 25.0;
const MARGIN_BOTTOM: f64 = 20.0;
/// Type sizes (em height), mm: title ≈ 21 pt, body ≈ 12 pt.
const TITLE_SIZE: f64 = 7.5;
const BODY_SIZE: f64 = 4.2;
const LINE_SPACING: f64 = 1.7;
/// Gap after the title, mm.
const TITLE_GAP: f64 = 6.0;

/// One page of a generated document. Content that does not fit continues on
/// the next physical page (without repeating the title).
#[derive(Clone, Debug, Default, PartialEq)]
#[non_exhaustive]
pub struct OfdPage {
    /// Shown larger and centred at the top.
    pub title: Option<String>,
    /// The lines below the title, top to bottom.
    pub lines: Vec<OfdLine>,
}

impl OfdPage {
    /// A page with `title` and no lines yet.
    pub fn titled(title: impl Into<String>) -> Self {
        OfdPage {
            title: Some(title.into()),
            lines: Vec::new(),
        }
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
/// physical pages, a page size outside 50–2000 mm; with [`Error::MissingGlyph`]:
/// a character the font cannot show (control characters other than `\n` included).
pub fn write_ofd(spec: &OfdDocumentSpec, font: &OfdFont) -> Result<Vec<u8>> {
    if spec.pages.is_empty() {
        return Err(Error::Spec("the document has no pages".into()));
    }
    let (pw, ph) = spec.page_size_mm;
    if !(50.0..=2000.0).contains(&pw) || !(50.0..=2000.0).contains(&ph) {
        return Err(Error::Spec(format!(
            "page size {pw} × {ph} mm is outside 50–2000 mm"
        )));
    }
    let metrics = font.metrics()?;
    let pages = layout(spec, &metrics)?;

    // Units: the font is 1; then per page: the page, its layer, its text objects.
    const FONT_ID: u64 = 1;
    let mut next_id = FONT_ID + 1;
    let mut chars = BTreeSet::new();
    let mut contents = Vec::with_capacity(pages.len());
    let mut page_ids = Vec::with_capacity(pages.len());
    for runs in &pages {
        page_ids.push(next_id);
        let layer_id = next_id + 1;
        next_id += 2;
        let mut body = String::new();
        for r in runs {
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
    let subset = font.subset(&chars)?;
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
    let public_res = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<ofd:Res xmlns:ofd=\"{NS}\" BaseLoc=\"Res\"><ofd:Fonts>\
         <ofd:Font ID=\"{FONT_ID}\" FontName=\"{family}\" FamilyName=\"{family}\"><ofd:FontFile>{font_file}</ofd:FontFile></ofd:Font>\
         </ofd:Fonts></ofd:Res>"
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

/// One line of text placed on a page (all mm).
struct Run {
    x: f64,
    top: f64,
    height: f64,
    /// Baseline, from `top`.
    baseline: f64,
    size: f64,
    text: String,
    /// Advance of each character.
    advances: Vec<f64>,
}

/// Place every line: physical pages of runs.
fn layout(spec: &OfdDocumentSpec, m: &font::Metrics<'_>) -> Result<Vec<Vec<Run>>> {
    let (pw, ph) = spec.page_size_mm;
    let text_w = pw - 2.0 * MARGIN_X;
    let bottom = ph - MARGIN_BOTTOM;
    let mut pages: Vec<Vec<Run>> = Vec::new();
    let new_page = |pages: &mut Vec<Vec<Run>>| -> Result<()> {
        if pages.len() == MAX_GENERATED_PAGES {
            return Err(Error::Spec(format!(
                "more than {MAX_GENERATED_PAGES} pages"
            )));
        }
        pages.push(Vec::new());
        Ok(())
    };
    let run = |x: f64, top: f64, size: f64, line: Line| Run {
        x,
        top,
        height: size * LINE_SPACING,
        baseline: size * (LINE_SPACING - 1.0) / 2.0
            + size * m.ascender / (m.ascender - m.descender),
        size,
        text: line.text,
        advances: line.advances,
    };
    for page in &spec.pages {
        new_page(&mut pages)?;
        let mut y = MARGIN_TOP;
        // Start a new physical page when `h` more mm do not fit.
        let room = |pages: &mut Vec<Vec<Run>>, y: &mut f64, h: f64| -> Result<()> {
            if *y + h > bottom && *y > MARGIN_TOP {
                new_page(pages)?;
                *y = MARGIN_TOP;
            }
            Ok(())
        };
        if let Some(title) = &page.title {
            for line in wrap(title, text_w, TITLE_SIZE, m)? {
                let h = TITLE_SIZE * LINE_SPACING;
                room(&mut pages, &mut y, h)?;
                let w: f64 = line.advances.iter().sum();
                let x = (pw - w) / 2.0;
                push(&mut pages, run(x, y, TITLE_SIZE, line));
                y += h;
            }
            y += TITLE_GAP;
        }
        let key_w = page
            .lines
            .iter()
            .filter_map(|l| match l {
                OfdLine::KeyValue { key, .. } => Some(key),
                _ => None,
            })
            .map(|k| width(k, BODY_SIZE, m))
            .try_fold(0f64, |acc, w| w.map(|w| acc.max(w)))?;
        let key_col = (key_w + 2.0 * BODY_SIZE).min(text_w * 0.45);
        let h = BODY_SIZE * LINE_SPACING;
        for line in &page.lines {
            match line {
                OfdLine::Blank => y += h,
                OfdLine::Text(t) => {
                    for l in wrap(t, text_w, BODY_SIZE, m)? {
                        room(&mut pages, &mut y, h)?;
                        push(&mut pages, run(MARGIN_X, y, BODY_SIZE, l));
                        y += h;
                    }
                }
                OfdLine::KeyValue { key, value } => {
                    let keys = wrap(key, key_col - BODY_SIZE, BODY_SIZE, m)?;
                    let values = wrap(value, text_w - key_col, BODY_SIZE, m)?;
                    let rows = keys.len().max(values.len()).max(1);
                    let mut keys = keys.into_iter();
                    let mut values = values.into_iter();
                    for _ in 0..rows {
                        room(&mut pages, &mut y, h)?;
                        if let Some(k) = keys.next() {
                            push(&mut pages, run(MARGIN_X, y, BODY_SIZE, k));
                        }
                        if let Some(v) = values.next() {
                            push(&mut pages, run(MARGIN_X + key_col, y, BODY_SIZE, v));
                        }
                        y += h;
                    }
                }
            }
        }
    }
    Ok(pages)
}

fn push(pages: &mut [Vec<Run>], run: Run) {
    if !run.text.is_empty()
        && let Some(p) = pages.last_mut()
    {
        p.push(run);
    }
}

/// A wrapped line: its characters and their advances (mm).
struct Line {
    text: String,
    advances: Vec<f64>,
}

fn width(s: &str, size: f64, m: &font::Metrics<'_>) -> Result<f64> {
    s.chars()
        .try_fold(0.0, |acc, c| Ok(acc + m.advance(c)? * size))
}

/// Letters and digits of alphabetic scripts: no line break between two of them.
fn is_word(c: char) -> bool {
    (c.is_alphanumeric() && u32::from(c) < 0x1100) || "-'_/.@:%".contains(c)
}

/// Whether a line may break between `a` and `b` (spaces, CJK characters; not
/// inside a Latin word, not before closing or after opening punctuation).
fn can_break(a: char, b: char) -> bool {
    if a == ' ' || b == ' ' {
        return true;
    }
    if "，。、；：？！）》」』】”’,.;:!?)]}".contains(b) || "（《「『【“‘([{".contains(a)
    {
        return false;
    }
    !(is_word(a) && is_word(b))
}

/// Greedy line breaking of `text` into lines no wider than `max` mm (a single
/// character wider than `max` still gets its own line).
fn wrap(text: &str, max: f64, size: f64, m: &font::Metrics<'_>) -> Result<Vec<Line>> {
    let mut out = Vec::new();
    for para in text.split('\n') {
        let chars: Vec<char> = para.chars().collect();
        let widths = chars
            .iter()
            .map(|&c| Ok(m.advance(c)? * size))
            .collect::<Result<Vec<f64>>>()?;
        let mut start = 0;
        if chars.is_empty() {
            out.push(Line {
                text: String::new(),
                advances: Vec::new(),
            });
        }
        while start < chars.len() {
            while start < chars.len() && chars[start] == ' ' {
                start += 1;
            }
            if start == chars.len() {
                break;
            }
            let (mut end, mut w, mut last_ok) = (start, 0.0, None);
            while end < chars.len() {
                if end > start && can_break(chars[end - 1], chars[end]) {
                    last_ok = Some(end);
                }
                if end > start && w + widths[end] > max + 1e-9 {
                    break;
                }
                w += widths[end];
                end += 1;
            }
            if end < chars.len()
                && let Some(b) = last_ok
            {
                end = b;
            }
            let mut stop = end;
            while stop > start && chars[stop - 1] == ' ' {
                stop -= 1;
            }
            out.push(Line {
                text: chars[start..stop].iter().collect(),
                advances: widths[start..stop].to_vec(),
            });
            start = end;
        }
    }
    Ok(out)
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

    #[test]
    fn breaks_keep_latin_words_and_closing_punctuation() {
        assert!(!can_break('a', 'b'));
        assert!(can_break('营', '业'));
        assert!(!can_break('业', '，'));
        assert!(can_break('a', ' '));
        assert!(!can_break('（', '营'));
    }
}
