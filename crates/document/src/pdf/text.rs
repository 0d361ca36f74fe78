//! Finding a phrase on a page and where it is drawn.
//!
//! Walks the page's content stream with enough of the text model (ISO 32000-1
//! §9.4: BT/ET, Tm, Td, TD, T*, Tf, Tc, Tw, Tz, TL, Ts, Tj, TJ, ', ") and the
//! graphics state (cm, q, Q) for simple generated PDFs. Characters are decoded
//! through the font's `/ToUnicode` CMap when it has one (Type0 fonts are read
//! as two-byte codes), else through its simple encoding. Text inside form
//! XObjects is not searched.

use crate::error::{Error, Result};
use lopdf::content::Content;
use lopdf::{Dictionary, Document, Encoding, Object, ObjectId};
use std::collections::HashMap;

type Matrix = [f64; 6];
const IDENTITY: Matrix = [1.0, 0.0, 0.0, 1.0, 0.0, 0.0];
/// Decompressed page content read at most.
const MAX_CONTENT: usize = 64 * 1024 * 1024;

fn mul(a: &Matrix, b: &Matrix) -> Matrix {
    [
        a[0] * b[0] + a[1] * b[2],
        a[0] * b[1] + a[1] * b[3],
        a[2] * b[0] + a[3] * b[2],
        a[2] * b[1] + a[3] * b[3],
        a[4] * b[0] + a[5] * b[2] + b[4],
        a[4] * b[1] + a[5] * b[3] + b[5],
    ]
}

fn apply(m: &Matrix, x: f64, y: f64) -> (f64, f64) {
    (m[0] * x + m[2] * y + m[4], m[1] * x + m[3] * y + m[5])
}

/// Where a phrase is drawn: its bounding box in user space.
#[derive(Clone, Copy, Debug)]
pub(crate) struct TextHit {
    /// `[llx, lly, urx, ury]`.
    pub bbox: [f64; 4],
}

struct Font<'a> {
    encoding: Option<Encoding<'a>>,
    two_byte: bool,
    first_char: i64,
    widths: Vec<f64>,
    cid_widths: HashMap<u32, f64>,
    default_width: f64,
    standard: bool,
}

fn num(o: &Object) -> Option<f64> {
    o.as_float().ok().map(f64::from)
}

impl<'a> Font<'a> {
    fn new(doc: &'a Document, dict: &'a Dictionary) -> Self {
        let encoding = dict.get_font_encoding(doc).ok();
        let two_byte = dict.get(b"Subtype").and_then(Object::as_name).ok() == Some(b"Type0");
        let first_char = dict.get(b"FirstChar").and_then(Object::as_i64).unwrap_or(0);
        let deref = |o: &'a Object| -> Option<&'a Object> {
            match o {
                Object::Reference(id) => doc.get_object(*id).ok(),
                o => Some(o),
            }
        };
        let widths = dict
            .get(b"Widths")
            .ok()
            .and_then(deref)
            .and_then(|o| o.as_array().ok())
            .map(|a| a.iter().map(|w| num(w).unwrap_or(0.0)).collect())
            .unwrap_or_default();
        let mut cid_widths = HashMap::new();
        let mut default_width = if two_byte { 1000.0 } else { 500.0 };
        if two_byte
            && let Some(cid) = dict
                .get(b"DescendantFonts")
                .ok()
                .and_then(deref)
                .and_then(|o| o.as_array().ok())
                .and_then(|a| a.first())
                .and_then(deref)
                .and_then(|o| o.as_dict().ok())
        {
            if let Some(dw) = cid.get(b"DW").ok().and_then(num) {
                default_width = dw;
            }
            if let Some(w) = cid
                .get(b"W")
                .ok()
                .and_then(deref)
                .and_then(|o| o.as_array().ok())
            {
                parse_w(w, &mut cid_widths);
            }
        }
        let standard = dict
            .get(b"BaseFont")
            .and_then(Object::as_name)
            .ok()
            .is_some_and(|n| n.starts_with(b"Helvetica") || n.starts_with(b"Arial"));
        Font {
            encoding,
            two_byte,
            first_char,
            widths,
            cid_widths,
            default_width,
            standard,
        }
    }

    /// Advance width of `code`, in 1/1000 em.
    fn width(&self, code: u32) -> f64 {
        if self.two_byte {
            return *self.cid_widths.get(&code).unwrap_or(&self.default_width);
        }
        let i = i64::from(code) - self.first_char;
        if let Some(w) = usize::try_from(i).ok().and_then(|i| self.widths.get(i)) {
            return *w;
        }
        if self.standard || self.widths.is_empty() {
            return u8::try_from(code).map_or(500.0, super::appearance::helvetica_width);
        }
        self.default_width
    }

    fn decode(&self, code: &[u8]) -> String {
        match &self.encoding {
            Some(e) => e.bytes_to_string(code).unwrap_or_default(),
            None => code.iter().map(|b| char::from(*b)).collect(),
        }
    }
}

/// `/W` of a CIDFont: `c [w1 w2 …]` and `c_first c_last w` entries (Identity CMaps: code = CID).
fn parse_w(w: &[Object], out: &mut HashMap<u32, f64>) {
    let mut i = 0;
    while i + 1 < w.len() && out.len() < 65536 {
        let Some(first) = w[i].as_i64().ok().and_then(|v| u32::try_from(v).ok()) else {
            return;
        };
        match &w[i + 1] {
            Object::Array(list) => {
                for (k, v) in list.iter().enumerate() {
                    if let Some(v) = num(v) {
                        out.insert(first.saturating_add(k as u32), v);
                    }
                }
                i += 2;
            }
            last => {
                let (Some(last), Some(v)) = (
                    last.as_i64().ok().and_then(|v| u32::try_from(v).ok()),
                    w.get(i + 2).and_then(num),
                ) else {
                    return;
                };
                for c in first..=last.min(first.saturating_add(65535)) {
                    out.insert(c, v);
                }
                i += 3;
            }
        }
    }
}

#[derive(Clone)]
struct State {
    ctm: Matrix,
    char_spacing: f64,
    word_spacing: f64,
    scale: f64,
    leading: f64,
    rise: f64,
    font: Option<Vec<u8>>,
    size: f64,
}

/// One drawn character and its box in user space.
struct Glyph {
    ch: char,
    bbox: [f64; 4],
}

/// Find the first occurrence of `phrase` (whitespace ignored) on `page`.
pub(crate) fn find_text(doc: &Document, page: ObjectId, phrase: &str) -> Result<Option<TextHit>> {
    let wanted: Vec<char> = phrase.chars().filter(|c| !c.is_whitespace()).collect();
    if wanted.is_empty() {
        return Ok(None);
    }
    let content = doc
        .get_page_content_with_limit(page, MAX_CONTENT)
        .map_err(|e| Error::Pdf(format!("cannot read the page content: {e}")))?;
    let ops = Content::decode(&content)
        .map_err(|e| Error::Pdf(format!("cannot parse the page content: {e}")))?;
    let font_dicts = doc.get_page_fonts(page).unwrap_or_default();
    let fonts: HashMap<&[u8], Font> = font_dicts
        .iter()
        .map(|(name, d)| (name.as_slice(), Font::new(doc, d)))
        .collect();

    let mut glyphs: Vec<Glyph> = Vec::new();
    let mut st = State {
        ctm: IDENTITY,
        char_spacing: 0.0,
        word_spacing: 0.0,
        scale: 1.0,
        leading: 0.0,
        rise: 0.0,
        font: None,
        size: 0.0,
    };
    let mut stack: Vec<State> = Vec::new();
    let mut tm = IDENTITY;
    let mut lm = IDENTITY;
    for op in &ops.operations {
        let n = |i: usize| op.operands.get(i).and_then(num).unwrap_or(0.0);
        match op.operator.as_str() {
            "q" if stack.len() < 256 => stack.push(st.clone()),
            "Q" => {
                if let Some(s) = stack.pop() {
                    st = s;
                }
            }
            "cm" if op.operands.len() == 6 => {
                st.ctm = mul(&[n(0), n(1), n(2), n(3), n(4), n(5)], &st.ctm);
            }
            "BT" => {
                tm = IDENTITY;
                lm = IDENTITY;
            }
            "Tf" => {
                st.font = op
                    .operands
                    .first()
                    .and_then(|o| o.as_name().ok())
                    .map(<[u8]>::to_vec);
                st.size = n(1);
            }
            "Tc" => st.char_spacing = n(0),
            "Tw" => st.word_spacing = n(0),
            "Tz" => st.scale = n(0) / 100.0,
            "TL" => st.leading = n(0),
            "Ts" => st.rise = n(0),
            "Td" | "TD" => {
                if op.operator == "TD" {
                    st.leading = -n(1);
                }
                lm = mul(&[1.0, 0.0, 0.0, 1.0, n(0), n(1)], &lm);
                tm = lm;
            }
            "Tm" if op.operands.len() == 6 => {
                lm = [n(0), n(1), n(2), n(3), n(4), n(5)];
                tm = lm;
            }
            "T*" => {
                lm = mul(&[1.0, 0.0, 0.0, 1.0, 0.0, -st.leading], &lm);
                tm = lm;
            }
            "Tj" | "'" | "\"" | "TJ" => {
                if op.operator == "\"" {
                    st.word_spacing = n(0);
                    st.char_spacing = n(1);
                }
                if op.operator == "'" || op.operator == "\"" {
                    lm = mul(&[1.0, 0.0, 0.0, 1.0, 0.0, -st.leading], &lm);
                    tm = lm;
                }
                let font = st.font.as_deref().and_then(|f| fonts.get(f));
                let items: &[Object] = match op.operator.as_str() {
                    "TJ" => op
                        .operands
                        .first()
                        .and_then(|o| o.as_array().ok())
                        .map_or(&[], Vec::as_slice),
                    "\"" => op.operands.get(2..3).unwrap_or(&[]),
                    _ => op.operands.get(..1).unwrap_or(&[]),
                };
                for item in items {
                    match item {
                        Object::String(bytes, _) => {
                            show(bytes, font, &st, &mut tm, &mut glyphs);
                        }
                        other => {
                            let adj = num(other).unwrap_or(0.0);
                            let tx = -adj / 1000.0 * st.size * st.scale;
                            tm = mul(&[1.0, 0.0, 0.0, 1.0, tx, 0.0], &tm);
                        }
                    }
                }
                if glyphs.len() > 4_000_000 {
                    break;
                }
            }
            _ => {}
        }
    }

    let chars: Vec<&Glyph> = glyphs.iter().filter(|g| !g.ch.is_whitespace()).collect();
    let hit = chars
        .windows(wanted.len())
        .find(|w| w.iter().zip(&wanted).all(|(g, c)| g.ch == *c));
    Ok(hit.map(|w| {
        let mut bbox = [f64::MAX, f64::MAX, f64::MIN, f64::MIN];
        for g in w {
            bbox[0] = bbox[0].min(g.bbox[0]);
            bbox[1] = bbox[1].min(g.bbox[1]);
            bbox[2] = bbox[2].max(g.bbox[2]);
            bbox[3] = bbox[3].max(g.bbox[3]);
        }
        TextHit { bbox }
    }))
}

fn show(bytes: &[u8], font: Option<&Font>, st: &State, tm: &mut Matrix, out: &mut Vec<Glyph>) {
    let step = if font.is_some_and(|f| f.two_byte) {
        2
    } else {
        1
    };
    for code in bytes.chunks(step) {
        let code_value = code.iter().fold(0u32, |a, b| (a << 8) | u32::from(*b));
        let (text, w0) = match font {
            Some(f) => (f.decode(code), f.width(code_value) / 1000.0),
            None => (code.iter().map(|b| char::from(*b)).collect(), 0.5),
        };
        let m = mul(tm, &st.ctm);
        let h = st.scale;
        let pts = [
            apply(&m, 0.0, st.rise - 0.2 * st.size),
            apply(&m, w0 * st.size * h, st.rise - 0.2 * st.size),
            apply(&m, 0.0, st.rise + 0.8 * st.size),
            apply(&m, w0 * st.size * h, st.rise + 0.8 * st.size),
        ];
        let bbox = [
            pts.iter().map(|p| p.0).fold(f64::MAX, f64::min),
            pts.iter().map(|p| p.1).fold(f64::MAX, f64::min),
            pts.iter().map(|p| p.0).fold(f64::MIN, f64::max),
            pts.iter().map(|p| p.1).fold(f64::MIN, f64::max),
        ];
        let mut chars = text.chars();
        match chars.next() {
            None => out.push(Glyph {
                ch: '\u{FFFD}',
                bbox,
            }),
            Some(c) => {
                out.push(Glyph { ch: c, bbox });
                out.extend(chars.map(|ch| Glyph { ch, bbox }));
            }
        }
        let word = if step == 1 && code == b" " {
            st.word_spacing
        } else {
            0.0
        };
        let tx = (w0 * st.size + st.char_spacing + word) * h;
        *tm = mul(&[1.0, 0.0, 0.0, 1.0, tx, 0.0], tm);
    }
}
