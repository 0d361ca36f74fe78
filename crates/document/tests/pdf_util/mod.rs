//! Test PDFs made with lopdf, a dummy signer, and peer-tool wrappers shared by
//! the PDF tests.
#![allow(dead_code)]

use lopdf::xref::XrefType;
use lopdf::{Document, Object, Stream, dictionary};
use std::path::Path;
use yinzheng_document::{PdfPosition, PdfSealAppearance, PdfStampOptions};

/// An A4 page, points.
pub const A4: [f64; 2] = [595.276, 841.89];

/// A two-page A4 PDF with Helvetica text ("Please seal here:" on page 1 at
/// (72, 500)) and, with `cjk`, "盖章处" drawn at (300, 300) in a Type0 font
/// with a /ToUnicode CMap. Classic cross-reference table.
pub fn base_pdf(cjk: bool) -> Vec<u8> {
    let mut doc = Document::with_version("1.7");
    let pages_id = doc.new_object_id();
    let helv = doc.add_object(dictionary! {
        "Type" => "Font", "Subtype" => "Type1", "BaseFont" => "Helvetica",
        "Encoding" => "WinAnsiEncoding",
    });
    let mut fonts = dictionary! { "F1" => helv };
    let mut page1 = b"BT /F1 18 Tf 72 760 Td (Contract No. 2026-001) Tj ET\n\
BT /F1 11 Tf 72 720 Td 14 TL (This agreement is made between the parties below.) Tj\n\
(Both parties agree to the terms set out in this document.) ' ET\n\
q 1 0 0 1 72 500 cm BT /F1 12 Tf 0 0 Td [(Please) -250 (seal) ( here:)] TJ ET Q\n"
        .to_vec();
    if cjk {
        let cmap = b"/CIDInit /ProcSet findresource begin 12 dict begin begincmap\n\
/CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def\n\
/CMapName /Adobe-Identity-UCS def /CMapType 2 def\n\
1 begincodespacerange <0000> <FFFF> endcodespacerange\n\
3 beginbfchar <0001> <76D6> <0002> <7AE0> <0003> <5904> endbfchar\n\
endcmap CMapName currentdict /CMap defineresource pop end end\n";
        let to_unicode = doc.add_object(Stream::new(dictionary! {}, cmap.to_vec()));
        let descriptor = doc.add_object(dictionary! {
            "Type" => "FontDescriptor", "FontName" => "STSong-Light", "Flags" => 6,
            "FontBBox" => vec![0.into(), (-200).into(), 1000.into(), 900.into()],
            "ItalicAngle" => 0, "Ascent" => 880, "Descent" => -120, "CapHeight" => 880, "StemV" => 80,
        });
        let cid = doc.add_object(dictionary! {
            "Type" => "Font", "Subtype" => "CIDFontType0", "BaseFont" => "STSong-Light",
            "CIDSystemInfo" => dictionary! {
                "Registry" => Object::string_literal("Adobe"),
                "Ordering" => Object::string_literal("Identity"), "Supplement" => 0,
            },
            "FontDescriptor" => descriptor, "DW" => 1000,
        });
        let f2 = doc.add_object(dictionary! {
            "Type" => "Font", "Subtype" => "Type0", "BaseFont" => "STSong-Light",
            "Encoding" => "Identity-H", "DescendantFonts" => vec![cid.into()],
            "ToUnicode" => to_unicode,
        });
        fonts.set("F2", f2);
        page1.extend_from_slice(b"BT /F2 16 Tf 300 300 Td <000100020003> Tj ET\n");
    }
    let resources = doc.add_object(dictionary! { "Font" => fonts });
    let mut kids = Vec::new();
    for content in [page1, b"BT /F1 12 Tf 72 760 Td (Page two.) Tj ET".to_vec()] {
        let c = doc.add_object(Stream::new(dictionary! {}, content));
        let page = doc.add_object(dictionary! {
            "Type" => "Page", "Parent" => pages_id, "Contents" => c, "Resources" => resources,
        });
        kids.push(page.into());
    }
    doc.objects.insert(
        pages_id,
        Object::Dictionary(dictionary! {
            "Type" => "Pages", "Count" => 2, "Kids" => kids,
            "MediaBox" => vec![0.into(), 0.into(), Object::Real(A4[0] as f32), Object::Real(A4[1] as f32)],
        }),
    );
    let catalog = doc.add_object(dictionary! { "Type" => "Catalog", "Pages" => pages_id });
    doc.trailer.set("Root", catalog);
    doc.reference_table.cross_reference_type = XrefType::CrossReferenceTable;
    let mut out = Vec::new();
    doc.save_to(&mut out).expect("saves");
    out
}

/// `pdf` rewritten by qpdf with object streams and a cross-reference stream.
pub fn with_object_streams(dir: &Path, pdf: &[u8]) -> Vec<u8> {
    let inp = dir.join("objstm-in.pdf");
    let out = dir.join("objstm-out.pdf");
    std::fs::write(&inp, pdf).expect("write");
    yinzheng_tests::run_ok(
        &yinzheng_tests::qpdf(),
        dir,
        &[
            "--object-streams=generate",
            inp.to_str().expect("path"),
            out.to_str().expect("path"),
        ],
    );
    let bytes = std::fs::read(out).expect("read");
    assert!(
        bytes.windows(7).any(|w| w == b"/ObjStm"),
        "qpdf made object streams"
    );
    bytes
}

/// A DER-looking blob (`30 82 LL LL` + `len` bytes) standing in for a CMS.
pub fn fake_cms(len: usize) -> Vec<u8> {
    let mut v = vec![0x30, 0x82, (len >> 8) as u8, len as u8];
    v.extend((0..len).map(|i| (i % 251) as u8 | 1));
    v
}

/// The seal picture, 40 mm across.
pub fn seal_png() -> Vec<u8> {
    let font =
        yinzheng_seal::SealFont::find().expect("a CJK font (apt-get install fonts-wqy-microhei)");
    yinzheng_seal::draw_round(&font, "示例科技有限公司", "合同专用章", 40.0).expect("draws")
}

/// Options for a visible seal at (x, y) mm on `page` with a text line.
pub fn visible(page: usize, x_mm: f64, y_mm: f64, png: &[u8]) -> PdfStampOptions {
    let mut o = PdfStampOptions::new(time::macros::datetime!(2026-11-23 10:00:00 +08:00));
    o.page = page;
    o.position = PdfPosition::At { x_mm, y_mm };
    o.appearance = Some(PdfSealAppearance {
        png: png.to_vec(),
        width_mm: 40.0,
        height_mm: 40.0,
        text_line: Some("Signed by ACME Ltd. 2026-11-23 10:00".into()),
    });
    o.name = Some("示例 Signer".into());
    o.reason = Some("Contract approval".into());
    o.location = Some("Beijing".into());
    o
}

/// `qpdf --check` must pass without warnings.
pub fn qpdf_check(dir: &Path, name: &str, pdf: &[u8]) {
    let p = dir.join(name);
    std::fs::write(&p, pdf).expect("write");
    let out = std::process::Command::new(yinzheng_tests::qpdf())
        .arg("--check")
        .arg(&p)
        .output()
        .expect("qpdf runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success() && !text.contains("WARNING"),
        "qpdf --check {name}: {text}"
    );
}

/// Render `page` of `pdf` at `dpi` with pdftoppm; returns (width, height, RGB pixels).
pub fn render(dir: &Path, name: &str, pdf: &[u8], page: usize, dpi: u32) -> (u32, u32, Vec<u8>) {
    let p = dir.join(format!("{name}.pdf"));
    std::fs::write(&p, pdf).expect("write");
    let prefix = dir.join(name);
    let page = page.to_string();
    let dpi = dpi.to_string();
    yinzheng_tests::run_ok(
        &yinzheng_tests::pdftoppm(),
        dir,
        &[
            "-png",
            "-r",
            &dpi,
            "-f",
            &page,
            "-l",
            &page,
            "-singlefile",
            p.to_str().expect("path"),
            prefix.to_str().expect("path"),
        ],
    );
    let png_bytes = std::fs::read(dir.join(format!("{name}.png"))).expect("pdftoppm wrote a PNG");
    let mut dec = png::Decoder::new(std::io::Cursor::new(png_bytes));
    dec.set_transformations(png::Transformations::EXPAND | png::Transformations::STRIP_16);
    let mut reader = dec.read_info().expect("png");
    let mut buf = vec![0; reader.output_buffer_size().expect("size")];
    let info = reader.next_frame(&mut buf).expect("frame");
    let channels = info.color_type.samples();
    let rgb = buf[..info.buffer_size()]
        .chunks_exact(channels)
        .flat_map(|p| [p[0], p[1], p[2]])
        .collect();
    (info.width, info.height, rgb)
}
