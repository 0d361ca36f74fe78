//! The visible appearance of a seal: a form XObject with the seal picture at
//! its real size and an optional line of text under it.
//!
//! The picture is an RGB image XObject with a DeviceGray `/SMask` made from the
//! PNG's alpha channel, so the page shows through around and inside the seal.
//! The text line uses fonts that need no embedding: ASCII runs in the standard
//! Type 1 Helvetica (WinAnsiEncoding), other runs in Adobe's predefined CJK
//! font STSong-Light with the UniGB-UCS2-H CMap (Basic Multilingual Plane
//! only; Acrobat has it built in, poppler needs poppler-data and a CJK font).

use super::PT_PER_MM;
use super::stamp::PdfSealAppearance;
use crate::error::{Error, Result};
use lopdf::{Dictionary, Document, Object, ObjectId, Stream, dictionary};

/// Text line font size, points.
const TEXT_SIZE: f64 = 7.0;
/// Height of the band under the seal that holds the text line, points.
const TEXT_BAND: f64 = TEXT_SIZE * 1.6;
/// Largest seal picture accepted, pixels per side.
const MAX_SIDE: u32 = 8192;

/// Helvetica advance widths (1/1000 em) of the WinAnsi codes 32..=126.
const HELVETICA: [u16; 95] = [
    278, 278, 355, 556, 556, 889, 667, 191, 333, 333, 389, 584, 278, 333, 278, 278, 556, 556, 556,
    556, 556, 556, 556, 556, 556, 556, 278, 278, 584, 584, 584, 556, 1015, 667, 667, 722, 722, 667,
    611, 778, 722, 278, 500, 667, 556, 833, 722, 778, 667, 778, 722, 667, 611, 722, 667, 944, 667,
    667, 611, 278, 278, 278, 469, 556, 333, 556, 556, 500, 556, 556, 278, 556, 556, 222, 222, 500,
    222, 833, 556, 556, 556, 556, 333, 500, 278, 556, 500, 722, 500, 500, 500, 334, 260, 334, 584,
];

/// Width of an ASCII character in Helvetica, 1/1000 em (unknown ones as 556).
pub(crate) fn helvetica_width(c: u8) -> f64 {
    c.checked_sub(32)
        .and_then(|i| HELVETICA.get(usize::from(i)))
        .map_or(556.0, |w| f64::from(*w))
}

/// An appearance added to a document: the form XObject and its size in points.
pub(crate) struct Built {
    pub form: ObjectId,
    pub width: f64,
    pub height: f64,
}

/// A decoded picture: RGB samples and, when not fully opaque, alpha samples.
pub(crate) struct Picture {
    width: u32,
    height: u32,
    rgb: Vec<u8>,
    alpha: Option<Vec<u8>>,
}

/// Decode a PNG (any colour type and depth) into RGB and alpha samples; the
/// error says what is wrong with it (for the caller to name the picture).
pub(crate) fn decode_png(png_bytes: &[u8]) -> std::result::Result<Picture, String> {
    let bad = |e: png::DecodingError| format!("not a PNG: {e}");
    let mut decoder = png::Decoder::new(std::io::Cursor::new(png_bytes));
    decoder.set_transformations(png::Transformations::EXPAND | png::Transformations::STRIP_16);
    let mut reader = decoder.read_info().map_err(bad)?;
    let (w, h) = {
        let info = reader.info();
        (info.width, info.height)
    };
    if w == 0 || h == 0 || w > MAX_SIDE || h > MAX_SIDE {
        return Err(format!(
            "{w}×{h} pixels; 1 to {MAX_SIDE} per side are accepted"
        ));
    }
    let size = reader
        .output_buffer_size()
        .ok_or_else(|| "too large".to_string())?;
    let mut buf = vec![0; size];
    let frame = reader.next_frame(&mut buf).map_err(bad)?;
    let pixels = (w as usize) * (h as usize);
    let channels = match frame.color_type {
        png::ColorType::Grayscale => 1,
        png::ColorType::GrayscaleAlpha => 2,
        png::ColorType::Rgb => 3,
        png::ColorType::Rgba => 4,
        png::ColorType::Indexed => return Err("the palette could not be expanded".into()),
    };
    let line = frame.line_size;
    let mut rgb = Vec::with_capacity(pixels * 3);
    let mut alpha = Vec::with_capacity(pixels);
    for y in 0..h as usize {
        let row = buf
            .get(y * line..y * line + w as usize * channels)
            .ok_or_else(|| "truncated".to_string())?;
        for px in row.chunks_exact(channels) {
            let (r, g, b, a) = match *px {
                [g] => (g, g, g, 255),
                [g, a] => (g, g, g, a),
                [r, g, b] => (r, g, b, 255),
                [r, g, b, a] => (r, g, b, a),
                _ => (0, 0, 0, 0),
            };
            rgb.extend([r, g, b]);
            alpha.push(a);
        }
    }
    let alpha = alpha.iter().any(|a| *a != 255).then_some(alpha);
    Ok(Picture {
        width: w,
        height: h,
        rgb,
        alpha,
    })
}

/// Add `pic` to `doc` as an RGB image XObject, with a DeviceGray `/SMask`
/// from its alpha channel when it has one.
pub(crate) fn image_xobject(doc: &mut Document, pic: Picture) -> Result<ObjectId> {
    let smask = match pic.alpha {
        Some(a) => Some(doc.add_object(compressed(
            dictionary! {
                "Type" => "XObject", "Subtype" => "Image",
                "Width" => i64::from(pic.width), "Height" => i64::from(pic.height),
                "ColorSpace" => "DeviceGray", "BitsPerComponent" => 8,
            },
            a,
        )?)),
        None => None,
    };
    let mut image_dict = dictionary! {
        "Type" => "XObject", "Subtype" => "Image",
        "Width" => i64::from(pic.width), "Height" => i64::from(pic.height),
        "ColorSpace" => "DeviceRGB", "BitsPerComponent" => 8,
    };
    if let Some(id) = smask {
        image_dict.set("SMask", id);
    }
    Ok(doc.add_object(compressed(image_dict, pic.rgb)?))
}

/// A number as PDF writes it (no exponent, at most 3 decimals).
pub(crate) fn num(v: f64) -> String {
    let s = format!("{v:.3}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s == "-0" { "0".into() } else { s.into() }
}

/// A FlateDecode stream at zlib's default level. lopdf's `Stream::compress`
/// uses level 9, which spent ~80 % of sealing a small PDF on the seal picture
/// (`cargo bench --bench document`) for a few per cent of size.
pub(crate) fn compressed(mut dict: Dictionary, content: Vec<u8>) -> Result<Stream> {
    use std::io::Write;
    let mut z = flate2::write::ZlibEncoder::new(
        Vec::with_capacity(content.len() / 2),
        flate2::Compression::default(),
    );
    z.write_all(&content)
        .map_err(|e| Error::Pdf(format!("cannot compress a stream: {e}")))?;
    let packed = z
        .finish()
        .map_err(|e| Error::Pdf(format!("cannot compress a stream: {e}")))?;
    if packed.len() + 19 >= content.len() {
        return Ok(Stream::new(dict, content));
    }
    dict.set("Filter", "FlateDecode");
    Ok(Stream::new(dict, packed))
}

/// One run of the text line: ASCII (Helvetica) or not (STSong-Light).
struct Run {
    ascii: bool,
    text: String,
}

fn runs(line: &str) -> Vec<Run> {
    let mut out: Vec<Run> = Vec::new();
    for c in line.chars() {
        let ascii = c.is_ascii() && !c.is_ascii_control();
        let c = if c.is_ascii_control() { ' ' } else { c };
        match out.last_mut() {
            Some(r) if r.ascii == ascii => r.text.push(c),
            _ => out.push(Run {
                ascii,
                text: c.to_string(),
            }),
        }
    }
    out
}

fn run_width(r: &Run) -> f64 {
    let em: f64 = if r.ascii {
        r.text.bytes().map(helvetica_width).sum()
    } else {
        1000.0 * r.text.chars().count() as f64
    };
    em * TEXT_SIZE / 1000.0
}

fn literal(s: &str) -> Vec<u8> {
    let mut out = vec![b'('];
    for b in s.bytes() {
        if matches!(b, b'(' | b')' | b'\\') {
            out.push(b'\\');
        }
        out.push(b);
    }
    out.push(b')');
    out
}

fn ucs2_hex(s: &str) -> Vec<u8> {
    let mut out = String::from("<");
    for c in s.chars() {
        let u = u32::from(c);
        let u = if u > 0xFFFF { 0x3000 } else { u };
        out.push_str(&format!("{u:04X}"));
    }
    out.push('>');
    out.into_bytes()
}

/// The image streams of one seal picture (RGB, optional soft mask).
type ImageStreams = std::sync::Arc<(Stream, Option<Stream>)>;

/// Seal pictures decoded and compressed recently, by SM3 of the PNG: a batch
/// that seals thousands of files with one seal decodes and deflates its
/// picture once (it was most of the sealing time).
static IMAGE_CACHE: std::sync::Mutex<Vec<([u8; 32], ImageStreams)>> =
    std::sync::Mutex::new(Vec::new());
const IMAGE_CACHE_LEN: usize = 8;

fn seal_image_streams(png: &[u8]) -> Result<ImageStreams> {
    let key = yinzheng_crypto::sm3(png);
    let lock = || {
        IMAGE_CACHE
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    };
    if let Some((_, hit)) = lock().iter().find(|(k, _)| *k == key) {
        return Ok(hit.clone());
    }
    let pic = decode_png(png).map_err(|e| Error::Options(format!("the seal picture: {e}")))?;
    let size = |d: &mut Dictionary| {
        d.set("Width", i64::from(pic.width));
        d.set("Height", i64::from(pic.height));
    };
    let smask = match &pic.alpha {
        Some(a) => {
            let mut d = dictionary! {
                "Type" => "XObject", "Subtype" => "Image",
                "ColorSpace" => "DeviceGray", "BitsPerComponent" => 8,
            };
            size(&mut d);
            Some(compressed(d, a.clone())?)
        }
        None => None,
    };
    let mut d = dictionary! {
        "Type" => "XObject", "Subtype" => "Image",
        "ColorSpace" => "DeviceRGB", "BitsPerComponent" => 8,
    };
    size(&mut d);
    let streams: ImageStreams = std::sync::Arc::new((compressed(d, pic.rgb)?, smask));
    let mut cache = lock();
    if cache.len() >= IMAGE_CACHE_LEN {
        cache.remove(0);
    }
    cache.push((key, streams.clone()));
    Ok(streams)
}

/// Add a seal picture (PNG) to `doc` as an image XObject with its soft mask,
/// reusing the decoded and compressed streams of a recent identical picture.
fn seal_image_xobject(doc: &mut Document, png: &[u8]) -> Result<ObjectId> {
    let streams = seal_image_streams(png)?;
    let (rgb, smask) = &*streams;
    let mut rgb = rgb.clone();
    if let Some(m) = smask {
        let id = doc.add_object(m.clone());
        rgb.dict.set("SMask", id);
    }
    Ok(doc.add_object(rgb))
}

/// Add the appearance's objects to `doc`; `matrix` turns it upright on a rotated page.
pub(crate) fn build(
    doc: &mut Document,
    app: &PdfSealAppearance,
    matrix: [f64; 6],
) -> Result<Built> {
    if !(app.width_mm > 0.0
        && app.height_mm > 0.0
        && app.width_mm <= 1000.0
        && app.height_mm <= 1000.0)
    {
        return Err(Error::Options(format!(
            "seal size {}×{} mm is not within (0, 1000] mm",
            app.width_mm, app.height_mm
        )));
    }
    let image = seal_image_xobject(doc, &app.png)?;

    let seal_w = app.width_mm * PT_PER_MM;
    let seal_h = app.height_mm * PT_PER_MM;
    let line = app.text_line.as_deref().map(runs).unwrap_or_default();
    let text_w: f64 = line.iter().map(run_width).sum();
    let band = if line.is_empty() { 0.0 } else { TEXT_BAND };
    let width = seal_w.max(if line.is_empty() { 0.0 } else { text_w + 2.0 });
    let height = seal_h + band;

    let mut content = format!(
        "q {} 0 0 {} {} {} cm /Im1 Do Q\n",
        num(seal_w),
        num(seal_h),
        num((width - seal_w) / 2.0),
        num(band)
    )
    .into_bytes();
    let mut fonts = Dictionary::new();
    if !line.is_empty() {
        content.extend_from_slice(
            format!(
                "BT 0.15 g {} {} Td\n",
                num((width - text_w) / 2.0),
                num(band * 0.32)
            )
            .as_bytes(),
        );
        for r in &line {
            if r.ascii {
                content.extend_from_slice(format!("/F1 {} Tf ", num(TEXT_SIZE)).as_bytes());
                content.extend(literal(&r.text));
            } else {
                content.extend_from_slice(format!("/F2 {} Tf ", num(TEXT_SIZE)).as_bytes());
                content.extend(ucs2_hex(&r.text));
            }
            content.extend_from_slice(b" Tj\n");
        }
        content.extend_from_slice(b"ET\n");
        if line.iter().any(|r| r.ascii) {
            let f1 = doc.add_object(dictionary! {
                "Type" => "Font", "Subtype" => "Type1", "BaseFont" => "Helvetica",
                "Encoding" => "WinAnsiEncoding",
            });
            fonts.set("F1", f1);
        }
        if line.iter().any(|r| !r.ascii) {
            fonts.set("F2", cjk_font(doc));
        }
    }
    let mut resources = dictionary! { "XObject" => dictionary! { "Im1" => image } };
    if !fonts.is_empty() {
        resources.set("Font", fonts);
    }
    let form = doc.add_object(compressed(
        dictionary! {
            "Type" => "XObject", "Subtype" => "Form", "FormType" => 1,
            "BBox" => vec![0.into(), 0.into(), Object::Real(width as f32), Object::Real(height as f32)],
            "Matrix" => matrix.iter().map(|v| Object::Real(*v as f32)).collect::<Vec<_>>(),
            "Resources" => resources,
        },
        content,
    )?);
    Ok(Built {
        form,
        width,
        height,
    })
}

/// STSong-Light with UniGB-UCS2-H: a predefined CJK font readers supply.
fn cjk_font(doc: &mut Document) -> ObjectId {
    let descriptor = doc.add_object(dictionary! {
        "Type" => "FontDescriptor", "FontName" => "STSong-Light", "Flags" => 6,
        "FontBBox" => vec![(-25).into(), (-254).into(), 1000.into(), 880.into()],
        "ItalicAngle" => 0, "Ascent" => 880, "Descent" => -120, "CapHeight" => 880, "StemV" => 93,
    });
    let cid = doc.add_object(dictionary! {
        "Type" => "Font", "Subtype" => "CIDFontType0", "BaseFont" => "STSong-Light",
        "CIDSystemInfo" => dictionary! {
            "Registry" => Object::string_literal("Adobe"),
            "Ordering" => Object::string_literal("GB1"),
            "Supplement" => 2,
        },
        "FontDescriptor" => descriptor, "DW" => 1000,
    });
    doc.add_object(dictionary! {
        "Type" => "Font", "Subtype" => "Type0", "BaseFont" => "STSong-Light",
        "Encoding" => "UniGB-UCS2-H", "DescendantFonts" => vec![cid.into()],
    })
}
