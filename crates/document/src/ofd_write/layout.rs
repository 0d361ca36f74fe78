//! The one layout pass shared by the OFD and PDF writers: the spec's lines
//! wrapped and placed as runs of glyphs with their advances, and the spec's
//! images checked and placed, on physical pages (all lengths mm, y down from
//! the page's top edge, as in OFD).

use super::font;
use crate::error::{Error, Result};
use crate::ofd_write::{MAX_GENERATED_PAGES, OfdDocumentSpec, OfdLine};

const MARGIN_X: f64 = 25.0;
const MARGIN_TOP: f64 = 25.0;
const MARGIN_BOTTOM: f64 = 20.0;
/// Type sizes (em height), mm: title ≈ 21 pt, body ≈ 12 pt.
const TITLE_SIZE: f64 = 7.5;
const BODY_SIZE: f64 = 4.2;
const LINE_SPACING: f64 = 1.7;
/// Gap after the title, mm.
const TITLE_GAP: f64 = 6.0;
/// Largest image accepted, pixels per side.
pub(crate) const MAX_IMAGE_SIDE: u32 = 8192;
/// Most images on one page of the spec.
const MAX_IMAGES_PER_PAGE: usize = 64;

/// One physical page: its text runs and its images.
#[derive(Default)]
pub(crate) struct LaidPage<'a> {
    pub runs: Vec<Run>,
    pub images: Vec<PlacedImage<'a>>,
}

/// An image of the spec, checked (a PNG within the size limits) and placed (mm).
pub(crate) struct PlacedImage<'a> {
    pub png: &'a [u8],
    pub x: f64,
    pub y: f64,
    pub width: f64,
    pub height: f64,
}

/// Check the page size, then place every line and image of `spec`: physical
/// pages of runs and images. Images go on the first physical page of their
/// spec page, at their own position; text flows without regard to them.
pub(crate) fn lay_out<'a>(
    spec: &'a OfdDocumentSpec,
    m: &font::Metrics<'_>,
) -> Result<Vec<LaidPage<'a>>> {
    if spec.pages.is_empty() {
        return Err(Error::Spec("the document has no pages".into()));
    }
    let (pw, ph) = spec.page_size_mm;
    if !(50.0..=2000.0).contains(&pw) || !(50.0..=2000.0).contains(&ph) {
        return Err(Error::Spec(format!(
            "page size {pw} × {ph} mm is outside 50–2000 mm"
        )));
    }
    let (mut pages, starts) = layout(spec, m)?;
    for ((n, page), first) in spec.pages.iter().enumerate().zip(starts) {
        if page.images.len() > MAX_IMAGES_PER_PAGE {
            return Err(Error::Spec(format!(
                "page {} has {} images, more than {MAX_IMAGES_PER_PAGE}",
                n + 1,
                page.images.len()
            )));
        }
        for (i, img) in page.images.iter().enumerate() {
            let what = format!("image {} of page {}", i + 1, n + 1);
            let (x, y, w, h) = (img.x_mm, img.y_mm, img.width_mm, img.height_mm);
            let inside = [x, y, w, h].iter().all(|v| v.is_finite())
                && w > 0.0
                && h > 0.0
                && x >= 0.0
                && y >= 0.0
                && x + w <= pw + 1e-6
                && y + h <= ph + 1e-6;
            if !inside {
                return Err(Error::Spec(format!(
                    "{what}: {w} × {h} mm at ({x}, {y}) is not within the {pw} × {ph} mm page"
                )));
            }
            png_size(&img.png).map_err(|e| Error::Spec(format!("{what}: {e}")))?;
            if let Some(p) = pages.get_mut(first) {
                p.images.push(PlacedImage {
                    png: &img.png,
                    x,
                    y,
                    width: w,
                    height: h,
                });
            }
        }
    }
    Ok(pages)
}

/// The pixel size of a PNG, checked against [`MAX_IMAGE_SIDE`]; the image
/// data itself is decoded by whoever draws it.
pub(crate) fn png_size(png_bytes: &[u8]) -> std::result::Result<(u32, u32), String> {
    let decoder = png::Decoder::new(std::io::Cursor::new(png_bytes));
    let reader = decoder.read_info().map_err(|e| format!("not a PNG: {e}"))?;
    let info = reader.info();
    let (w, h) = (info.width, info.height);
    if w == 0 || h == 0 || w > MAX_IMAGE_SIDE || h > MAX_IMAGE_SIDE {
        return Err(format!(
            "{w}×{h} pixels; 1 to {MAX_IMAGE_SIDE} per side are accepted"
        ));
    }
    Ok((w, h))
}

/// One line of text placed on a page (all mm).
pub(crate) struct Run {
    pub x: f64,
    pub top: f64,
    pub height: f64,
    /// Baseline, from `top`.
    pub baseline: f64,
    pub size: f64,
    pub text: String,
    /// Advance of each character.
    pub advances: Vec<f64>,
}

/// Place every line: physical pages of runs, and the index of the first
/// physical page of each spec page.
fn layout<'a>(
    spec: &OfdDocumentSpec,
    m: &font::Metrics<'_>,
) -> Result<(Vec<LaidPage<'a>>, Vec<usize>)> {
    let (pw, ph) = spec.page_size_mm;
    let text_w = pw - 2.0 * MARGIN_X;
    let bottom = ph - MARGIN_BOTTOM;
    let mut pages: Vec<LaidPage<'a>> = Vec::new();
    let mut starts = Vec::with_capacity(spec.pages.len());
    let new_page = |pages: &mut Vec<LaidPage<'a>>| -> Result<()> {
        if pages.len() == MAX_GENERATED_PAGES {
            return Err(Error::Spec(format!(
                "more than {MAX_GENERATED_PAGES} pages"
            )));
        }
        pages.push(LaidPage::default());
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
        starts.push(pages.len() - 1);
        let mut y = MARGIN_TOP;
        // Start a new physical page when `h` more mm do not fit.
        let room = |pages: &mut Vec<LaidPage<'a>>, y: &mut f64, h: f64| -> Result<()> {
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
    Ok((pages, starts))
}

fn push(pages: &mut [LaidPage<'_>], run: Run) {
    if !run.text.is_empty()
        && let Some(p) = pages.last_mut()
    {
        p.runs.push(run);
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn breaks_keep_latin_words_and_closing_punctuation() {
        assert!(!can_break('a', 'b'));
        assert!(can_break('营', '业'));
        assert!(!can_break('业', '，'));
        assert!(can_break('a', ' '));
        assert!(!can_break('（', '营'));
    }
}
