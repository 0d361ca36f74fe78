//! Drawing seal pictures: a round red organisation seal (name around the rim,
//! a five-pointed star, the seal's kind below it) and a square personal seal,
//! as PNG with a transparent background, at the seal's real size in mm.
//!
//! Text needs a CJK font. [`SealFont::find`] takes an installed Debian CJK
//! font (fonts-wqy-microhei, fonts-wqy-zenhei, fonts-noto-cjk) and, with none
//! installed, the embedded WenQuanYi Micro Hei subset (GB 2312); a caller with
//! a font of its own uses [`SealFont::load`].

use crate::error::{Error, Result};
use ab_glyph::{Font, FontVec, PxScale};
use std::path::Path;
use tiny_skia::{Color, FillRule, Paint, PathBuilder, Pixmap, PixmapPaint, Stroke, Transform};
use yinzheng_fonts::CjkFont;

/// Pixels per millimetre of drawn pictures (≈ 406 dpi).
pub const PX_PER_MM: f32 = 16.0;
/// Seal red (RGB 230, 0, 18).
const RED: (u8, u8, u8) = (230, 0, 18);

/// A font with CJK glyphs.
pub struct SealFont {
    font: FontVec,
    source: CjkFont,
}

impl SealFont {
    /// Load the font at `path` (TTF, OTF or the first face of a TTC).
    pub fn load(path: &Path) -> Result<Self> {
        Self::open(CjkFont::File(path.to_path_buf()))
    }

    /// The first installed CJK font, else the embedded one (see
    /// [`yinzheng_fonts`]).
    pub fn find() -> Result<Self> {
        Self::open(CjkFont::default_source())
    }

    /// The embedded WenQuanYi Micro Hei subset (GB 2312), whatever is installed.
    pub fn embedded() -> Result<Self> {
        Self::open(CjkFont::Embedded)
    }

    fn open(source: CjkFont) -> Result<Self> {
        let data = source
            .read()
            .map_err(|e| Error::Refused(format!("font {}: {e}", source.name())))?;
        let font = FontVec::try_from_vec_and_index(data, 0)
            .map_err(|e| Error::Refused(format!("font {}: {e}", source.name())))?;
        Ok(SealFont { font, source })
    }

    /// Where the font came from: its path, or the embedded font's name.
    pub fn source(&self) -> String {
        self.source.name()
    }

    /// A red bitmap of `ch` at height `px` (None for characters without a visible glyph).
    fn glyph(&self, ch: char, px: f32) -> Result<Option<Pixmap>> {
        let id = self.font.glyph_id(ch);
        if id.0 == 0 && !ch.is_whitespace() {
            return Err(Error::Refused(format!(
                "the font {} has no glyph for {ch:?}{}",
                self.source.name(),
                if self.source == CjkFont::Embedded {
                    " (it holds GB 2312 only: install fonts-wqy-microhei or name a font file)"
                } else {
                    ""
                }
            )));
        }
        let glyph = id.with_scale(PxScale::from(px));
        let Some(outline) = self.font.outline_glyph(glyph) else {
            return Ok(None);
        };
        let b = outline.px_bounds();
        let (w, h) = (
            b.width().ceil().max(1.0) as u32,
            b.height().ceil().max(1.0) as u32,
        );
        let mut pm = Pixmap::new(w, h).ok_or_else(|| Error::Refused("glyph too large".into()))?;
        let stride = w as usize;
        let pixels = pm.pixels_mut();
        outline.draw(|x, y, c| {
            let a = (c.clamp(0.0, 1.0) * 255.0) as u8;
            let i = y as usize * stride + x as usize;
            if let (Some(p), Some(col)) = (
                pixels.get_mut(i),
                tiny_skia::ColorU8::from_rgba(RED.0, RED.1, RED.2, a)
                    .premultiply()
                    .into(),
            ) {
                *p = col;
            }
        });
        Ok(Some(pm))
    }
}

fn red(alpha: u8) -> Paint<'static> {
    let mut p = Paint::default();
    p.set_color(Color::from_rgba8(RED.0, RED.1, RED.2, alpha));
    p.anti_alias = true;
    p
}

/// Draw `glyph` centred at (x, y), rotated by `deg` degrees.
fn place(canvas: &mut Pixmap, glyph: &Pixmap, x: f32, y: f32, deg: f32) {
    let t = Transform::from_translate(x, y)
        .pre_rotate(deg)
        .pre_translate(
            -(glyph.width() as f32) / 2.0,
            -(glyph.height() as f32) / 2.0,
        );
    canvas.draw_pixmap(0, 0, glyph.as_ref(), &PixmapPaint::default(), t, None);
}

/// A round organisation seal: `name` around the upper rim, a star in the
/// centre, `kind` (e.g. 合同专用章) below it. `diameter_mm` is usually 40–42.
pub fn draw_round(font: &SealFont, name: &str, kind: &str, diameter_mm: f32) -> Result<Vec<u8>> {
    if !(20.0..=60.0).contains(&diameter_mm) {
        return Err(Error::Refused(format!(
            "a round seal is 20 to 60 mm across, not {diameter_mm}"
        )));
    }
    let size = (diameter_mm * PX_PER_MM).round() as u32;
    let mut canvas =
        Pixmap::new(size, size).ok_or_else(|| Error::Refused("picture too large".into()))?;
    let c = size as f32 / 2.0;
    let ring = 1.2 * PX_PER_MM;
    let outer = c - ring / 2.0 - 2.0;
    let circle =
        PathBuilder::from_circle(c, c, outer).ok_or_else(|| Error::Refused("bad circle".into()))?;
    let stroke = Stroke {
        width: ring,
        ..Stroke::default()
    };
    canvas.stroke_path(&circle, &red(255), &stroke, Transform::identity(), None);

    // Five-pointed star, point up.
    let r_out = 0.19 * size as f32;
    let r_in = r_out * 0.382;
    let mut pb = PathBuilder::new();
    for i in 0..10 {
        let r = if i % 2 == 0 { r_out } else { r_in };
        let a = -std::f32::consts::FRAC_PI_2 + i as f32 * std::f32::consts::PI / 5.0;
        let (x, y) = (c + r * a.cos(), c + r * a.sin());
        if i == 0 {
            pb.move_to(x, y)
        } else {
            pb.line_to(x, y)
        }
    }
    pb.close();
    let star = pb
        .finish()
        .ok_or_else(|| Error::Refused("bad star".into()))?;
    canvas.fill_path(
        &star,
        &red(255),
        FillRule::Winding,
        Transform::identity(),
        None,
    );

    // The name around the upper rim, characters upright towards the centre.
    let chars: Vec<char> = name.chars().filter(|c| !c.is_whitespace()).collect();
    if chars.is_empty() || chars.len() > 24 {
        return Err(Error::Refused(
            "a round seal's name has 1 to 24 characters".into(),
        ));
    }
    let h = 0.15
        * size as f32
        * if chars.len() > 14 {
            14.0 / chars.len() as f32
        } else {
            1.0
        };
    let r_text = outer - ring / 2.0 - 0.62 * h;
    let step = (1.08 * h / r_text).min(240f32.to_radians() / chars.len().max(1) as f32);
    let start = -std::f32::consts::FRAC_PI_2 - step * (chars.len() as f32 - 1.0) / 2.0;
    for (i, ch) in chars.iter().enumerate() {
        let theta = start + step * i as f32;
        if let Some(g) = font.glyph(*ch, h)? {
            place(
                &mut canvas,
                &g,
                c + r_text * theta.cos(),
                c + r_text * theta.sin(),
                theta.to_degrees() + 90.0,
            );
        }
    }
    // The kind, horizontally below the star.
    let kind: Vec<char> = kind.chars().filter(|c| !c.is_whitespace()).collect();
    if !kind.is_empty() {
        let kh = (0.1 * size as f32).min(0.62 * size as f32 / kind.len() as f32);
        let y = c + 0.27 * size as f32;
        let x0 = c - kh * (kind.len() as f32 - 1.0) / 2.0;
        for (i, ch) in kind.iter().enumerate() {
            if let Some(g) = font.glyph(*ch, kh)? {
                place(&mut canvas, &g, x0 + kh * i as f32, y, 0.0);
            }
        }
    }
    canvas
        .encode_png()
        .map_err(|e| Error::Refused(format!("PNG encoding: {e}")))
}

/// A square personal seal: the characters in columns of two, read right to left
/// (the traditional layout of e.g. 张三之印). `size_mm` is usually 15–25.
pub fn draw_square(font: &SealFont, name: &str, size_mm: f32) -> Result<Vec<u8>> {
    if !(10.0..=40.0).contains(&size_mm) {
        return Err(Error::Refused(format!(
            "a square seal is 10 to 40 mm, not {size_mm}"
        )));
    }
    let chars: Vec<char> = name.chars().filter(|c| !c.is_whitespace()).collect();
    if chars.is_empty() || chars.len() > 6 {
        return Err(Error::Refused(
            "a square seal holds 1 to 6 characters".into(),
        ));
    }
    let size = (size_mm * PX_PER_MM).round() as u32;
    let s = size as f32;
    let mut canvas =
        Pixmap::new(size, size).ok_or_else(|| Error::Refused("picture too large".into()))?;
    let border = 0.07 * s;
    let rect = tiny_skia::Rect::from_xywh(
        border / 2.0 + 1.0,
        border / 2.0 + 1.0,
        s - border - 2.0,
        s - border - 2.0,
    )
    .ok_or_else(|| Error::Refused("bad square".into()))?;
    let square = PathBuilder::from_rect(rect);
    let stroke = Stroke {
        width: border,
        ..Stroke::default()
    };
    canvas.stroke_path(&square, &red(255), &stroke, Transform::identity(), None);
    let rows = if chars.len() == 1 { 1 } else { 2 };
    let cols = chars.len().div_ceil(rows);
    let inner = s - 2.4 * border;
    let cell_w = inner / cols as f32;
    let cell_h = inner / rows as f32;
    let h = 0.92 * cell_w.min(cell_h);
    for (i, ch) in chars.iter().enumerate() {
        let col = i / rows; // right to left
        let row = i % rows;
        let x = s - 1.2 * border - cell_w * (col as f32 + 0.5);
        let y = 1.2 * border + cell_h * (row as f32 + 0.5);
        if let Some(g) = font.glyph(*ch, h)? {
            // Stretch the glyph to fill a tall cell, as seal carvers do.
            let sy = (cell_h / cell_w).clamp(1.0, 1.8);
            let t = Transform::from_translate(x, y)
                .pre_scale(1.0, sy)
                .pre_translate(-(g.width() as f32) / 2.0, -(g.height() as f32) / 2.0);
            canvas.draw_pixmap(0, 0, g.as_ref(), &PixmapPaint::default(), t, None);
        }
    }
    canvas
        .encode_png()
        .map_err(|e| Error::Refused(format!("PNG encoding: {e}")))
}
