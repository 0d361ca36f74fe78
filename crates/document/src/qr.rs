//! QR codes for license faces and terminals: the verify URL (or any text) as a
//! PNG to place on a page ([`crate::OfdImage`]) and as text for a terminal.
//!
//! Both use error correction level M (15 % of the code words can be restored)
//! and the smallest version that holds the text, with the 4-module quiet zone
//! ISO/IEC 18004 asks for. Encoding is done by the `qrcode` crate.

use crate::error::{Error, Result};
use qrcode::{Color, EcLevel, QrCode};

/// Quiet zone around the code, modules (ISO/IEC 18004 §6.3.8).
const QUIET: usize = 4;
/// Largest module accepted by [`qr_png`], pixels.
pub const MAX_QR_MODULE_PX: u32 = 64;

fn encode(text: &str) -> Result<QrCode> {
    QrCode::with_error_correction_level(text.as_bytes(), EcLevel::M).map_err(|e| {
        Error::Qr(format!(
            "{} bytes of text do not fit a QR code at level M: {e}",
            text.len()
        ))
    })
}

/// The modules of `code` with the quiet zone, row by row: true is dark.
fn modules(code: &QrCode) -> (usize, Vec<bool>) {
    let w = code.width();
    let side = w + 2 * QUIET;
    let colors = code.to_colors();
    let mut out = vec![false; side * side];
    for (i, c) in colors.iter().enumerate() {
        out[(i / w + QUIET) * side + i % w + QUIET] = *c == Color::Dark;
    }
    (side, out)
}

/// `text` (UTF-8 bytes, byte mode where needed) as a QR code PNG: black on
/// white, 1 bit per pixel, `module_px` pixels per module (1 to
/// [`MAX_QR_MODULE_PX`]), with a 4-module quiet zone. A 100-character URL
/// gives a version 5 code (37 modules, 45 with the quiet zone): 360 px square
/// at 8 px/module, about 650 bytes.
///
/// Refused with [`Error::Qr`]: text too long for a QR code (about 2,300 bytes
/// at level M); with [`Error::Spec`]: a module size out of range.
pub fn qr_png(text: &str, module_px: u32) -> Result<Vec<u8>> {
    if !(1..=MAX_QR_MODULE_PX).contains(&module_px) {
        return Err(Error::Spec(format!(
            "QR module size {module_px} px is not within 1–{MAX_QR_MODULE_PX}"
        )));
    }
    let (side, dark) = modules(&encode(text)?);
    let px = module_px as usize;
    let width = side * px;
    let row_bytes = width.div_ceil(8);
    let mut data = Vec::with_capacity(row_bytes * width);
    for y in 0..side {
        let mut row = vec![0u8; row_bytes];
        for x in 0..width {
            // Grey level 1 bit: 1 is white.
            if !dark[y * side + x / px] {
                row[x / 8] |= 0x80 >> (x % 8);
            }
        }
        for _ in 0..px {
            data.extend_from_slice(&row);
        }
    }
    let mut out = Vec::new();
    let size = u32::try_from(width).map_err(|_| Error::Qr("QR code too large".into()))?;
    let mut enc = png::Encoder::new(&mut out, size, size);
    enc.set_color(png::ColorType::Grayscale);
    enc.set_depth(png::BitDepth::One);
    enc.set_compression(png::Compression::High);
    let mut w = enc
        .write_header()
        .map_err(|e| Error::Qr(format!("encoding the QR PNG: {e}")))?;
    w.write_image_data(&data)
        .map_err(|e| Error::Qr(format!("encoding the QR PNG: {e}")))?;
    w.finish()
        .map_err(|e| Error::Qr(format!("encoding the QR PNG: {e}")))?;
    Ok(out)
}

/// `text` as a QR code for a terminal: one line per two module rows, drawn
/// with the half blocks `▀ ▄ █` and spaces, quiet zone included.
///
/// The blocks draw the *light* modules, as `qrencode -t UTF8` does: on the
/// usual light-on-dark terminal the code shows dark on light, as scanners
/// expect. Refused with [`Error::Qr`]: text too long for a QR code.
pub fn qr_terminal(text: &str) -> Result<String> {
    let (side, dark) = modules(&encode(text)?);
    let light = |x: usize, y: usize| y >= side || !dark[y * side + x];
    let mut out = String::with_capacity((side + 1) * side.div_ceil(2) * 3);
    for y in (0..side).step_by(2) {
        for x in 0..side {
            out.push(match (light(x, y), light(x, y + 1)) {
                (true, true) => '█',
                (true, false) => '▀',
                (false, true) => '▄',
                (false, false) => ' ',
            });
        }
        out.push('\n');
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn sizes_and_limits() {
        let code = encode("x").unwrap();
        let (side, _) = modules(&code);
        assert_eq!(side, 21 + 8);
        assert!(matches!(qr_png("x", 0), Err(Error::Spec(_))));
        assert!(matches!(qr_png(&"x".repeat(5000), 4), Err(Error::Qr(_))));
        let t = qr_terminal("x").unwrap();
        assert_eq!(t.lines().count(), side.div_ceil(2));
        assert!(t.lines().all(|l| l.chars().count() == 29));
        // The quiet zone is light: the first line is all full blocks.
        assert!(t.lines().next().unwrap().chars().all(|c| c == '█'));
    }
}
