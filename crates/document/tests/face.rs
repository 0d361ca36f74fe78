//! License faces: QR codes (checked by decoding them back with rqrr and with
//! ZBar's `zbarimg`), images in generated OFD (package structure, our renderer
//! draws them), and the PDF copy from the same spec (`qpdf --check`,
//! `pdftotext` finds every string, `pdftoppm` renders text and a readable QR,
//! `seal_pdf` seals it and `verify_pdf` accepts it). Peers missing fail the
//! tests (scripts/test.sh installs poppler-utils, qpdf, zbar-tools and
//! fonts-wqy-microhei).

#![allow(clippy::unwrap_used)]

mod pdf_util;
#[path = "support/pki.rs"]
mod support;

use std::path::Path;
use yinzheng_document::{
    CmsVerifyContext, OfdDocumentSpec, OfdFont, OfdImage, OfdLine, OfdPackage, OfdPage, PdfSealer,
    PdfSubFilter, qr_png, qr_terminal, render_ofd_page_png, seal_pdf, verify_pdf, write_ofd,
    write_pdf,
};
use yinzheng_seal::MakerTrust;

const URL: &str = "https://zz.example.gov.cn/v/1.2.156.3005.2.11100000000013338W011.11430000006122244L.20230000403.001.U";

/// Where the QR code sits on the face, mm: (x, y, side).
const QR_BOX: (f64, f64, f64) = (150.0, 240.0, 35.0);

fn font() -> OfdFont {
    OfdFont::find().unwrap_or_else(|e| panic!("{e} (scripts/test.sh installs fonts-wqy-microhei)"))
}

/// A one-page license face with a QR code carrying the verify URL.
fn face() -> OfdDocumentSpec {
    let (x, y, side) = QR_BOX;
    let page = OfdPage::titled("营业执照")
        .kv("统一社会信用代码", "91350100M000100Y43")
        .kv("名称", "福州示例科技有限公司")
        .kv("类型", "有限责任公司（自然人投资或控股）")
        .kv("法定代表人", "张三")
        .kv("注册资本", "壹佰万圆整")
        .kv("成立日期", "2020年01月15日")
        .kv("住所", "福建省福州市鼓楼区五四路1号")
        .kv(
            "经营范围",
            "软件开发；信息技术咨询服务；电子印章与电子证照系统的研发（Software & IT services）。",
        )
        .line(OfdLine::Blank)
        .text("登记机关：福州市市场监督管理局")
        .text("证照标识：1.2.156.3005.2.11100000000013338W011.11430000006122244L.20230000403.001.U")
        .image(OfdImage::new(qr_png(URL, 8).unwrap(), x, y, side, side));
    let mut spec = OfdDocumentSpec::new(
        "营业执照 91350100M000100Y43",
        time::macros::date!(2024 - 05 - 20),
        vec![page],
    );
    spec.author = Some("福州市市场监督管理局".into());
    spec
}

/// Strings the face shows (pdftotext must find each).
const SHOWN: &[&str] = &[
    "营业执照",
    "统一社会信用代码",
    "91350100M000100Y43",
    "福州示例科技有限公司",
    "有限责任公司（自然人投资或控股）",
    "法定代表人",
    "张三",
    "壹佰万圆整",
    "2020年01月15日",
    "福建省福州市鼓楼区五四路1号",
    "登记机关：福州市市场监督管理局",
];

/// Decode every QR code in a greyscale image with rqrr.
fn rqrr_decode(width: usize, height: usize, grey: &[u8]) -> Vec<String> {
    let mut img =
        rqrr::PreparedImage::prepare_from_greyscale(width, height, |x, y| grey[y * width + x]);
    img.detect_grids()
        .into_iter()
        .map(|g| g.decode().unwrap().1)
        .collect()
}

/// A PNG file as (width, height, grey samples).
fn grey_png(png_bytes: &[u8]) -> (usize, usize, Vec<u8>) {
    let mut dec = png::Decoder::new(std::io::Cursor::new(png_bytes));
    dec.set_transformations(png::Transformations::EXPAND | png::Transformations::STRIP_16);
    let mut reader = dec.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut buf).unwrap();
    let ch = info.color_type.samples();
    let grey = buf[..info.buffer_size()]
        .chunks_exact(ch)
        .map(|p| {
            if ch >= 3 {
                ((u16::from(p[0]) + u16::from(p[1]) + u16::from(p[2])) / 3) as u8
            } else {
                p[0]
            }
        })
        .collect();
    (info.width as usize, info.height as usize, grey)
}

/// zbarimg's reading of the PNG file `name` in `dir`: the decoded texts.
fn zbarimg(dir: &Path, name: &str) -> Vec<String> {
    let out = yinzheng_tests::run_ok(
        &yinzheng_tests::zbarimg(),
        dir,
        &["--quiet", "--raw", "-Sqrcode.enable", name],
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect()
}

#[yinzheng_tests::peer_test(zbar)]
fn qr_png_decodes_back_with_rqrr_and_zbarimg() {
    let dir = yinzheng_tests::tempdir();
    for (text, px) in [(URL, 8), ("证照 1.2.156.3005.2 ✓", 3), ("A", 2)] {
        let png = qr_png(text, px).unwrap();
        let (w, h, grey) = grey_png(&png);
        assert_eq!(w, h);
        assert_eq!(w % px as usize, 0);
        // The quiet zone: 4 white modules all round.
        assert!(grey[..w * 4 * px as usize].iter().all(|&g| g == 255));
        assert_eq!(rqrr_decode(w, h, &grey), [text], "rqrr, {px} px/module");
        std::fs::write(dir.path().join("qr.png"), &png).unwrap();
        assert_eq!(
            zbarimg(dir.path(), "qr.png"),
            [text],
            "zbarimg, {px} px/module"
        );
    }
    let png = qr_png(URL, 8).unwrap();
    assert!(png.len() < 2048, "{} bytes", png.len());
}

#[test]
fn qr_terminal_decodes_back() {
    let t = qr_terminal(URL).unwrap();
    // Back to modules: a block is light, two module rows per line.
    let lines: Vec<Vec<char>> = t.lines().map(|l| l.chars().collect()).collect();
    let side = lines[0].len();
    let px = 4;
    let size = side * px;
    let mut grey = vec![255u8; size * size];
    for y in 0..side {
        for x in 0..side {
            let c = lines[y / 2][x];
            let light = match (c, y % 2) {
                ('█', _) | ('▀', 0) | ('▄', 1) => true,
                (' ', _) | ('▀', _) | ('▄', _) => false,
                _ => panic!("unexpected {c:?}"),
            };
            for dy in 0..px {
                for dx in 0..px {
                    grey[(y * px + dy) * size + x * px + dx] = if light { 255 } else { 0 };
                }
            }
        }
    }
    assert_eq!(rqrr_decode(size, size, &grey), [URL]);
}

/// Greyscale of a box given in mm of an image at `px_per_mm`: (dark, light) pixel counts.
fn ink(w: usize, grey: &[u8], px_per_mm: f64, b: (f64, f64, f64, f64)) -> (usize, usize) {
    let (x0, y0) = ((b.0 * px_per_mm) as usize, (b.1 * px_per_mm) as usize);
    let (x1, y1) = ((b.2 * px_per_mm) as usize, (b.3 * px_per_mm) as usize);
    let (mut dark, mut light) = (0, 0);
    for y in y0..y1 {
        for x in x0..x1 {
            match grey[y * w + x] {
                0..100 => dark += 1,
                200.. => light += 1,
                _ => {}
            }
        }
    }
    (dark, light)
}

/// The QR part of a rendered page, cut out (with margin), decoded by rqrr.
fn qr_on_page(w: usize, grey: &[u8], px_per_mm: f64) -> Vec<String> {
    let (x, y, side) = QR_BOX;
    let (x0, y0) = (
        ((x - 3.0) * px_per_mm) as usize,
        ((y - 3.0) * px_per_mm) as usize,
    );
    let n = ((side + 6.0) * px_per_mm) as usize;
    let cut: Vec<u8> = (0..n)
        .flat_map(|r| {
            grey[(y0 + r) * w + x0..(y0 + r) * w + x0 + n]
                .iter()
                .copied()
        })
        .collect();
    rqrr_decode(n, n, &cut)
}

#[test]
fn ofd_carries_the_image_and_our_renderer_draws_it() {
    let ofd = write_ofd(&face(), &font()).unwrap();
    let pkg = OfdPackage::read(&ofd).unwrap();
    let res = String::from_utf8(pkg.part("Doc_0/PublicRes.xml").unwrap().to_vec()).unwrap();
    assert!(
        res.contains("<ofd:MultiMedias><ofd:MultiMedia ID=\"2\" Type=\"Image\" Format=\"PNG\"><ofd:MediaFile>image_2.png</ofd:MediaFile></ofd:MultiMedia></ofd:MultiMedias>"),
        "{res}"
    );
    assert_eq!(
        pkg.part("Doc_0/Res/image_2.png").unwrap(),
        &qr_png(URL, 8).unwrap()[..]
    );
    let content =
        String::from_utf8(pkg.part("Doc_0/Pages/Page_0/Content.xml").unwrap().to_vec()).unwrap();
    assert!(
        content.contains("<ofd:ImageObject ID=\"5\" Boundary=\"150 240 35 35\" CTM=\"35 0 0 35 0 0\" ResourceID=\"2\"/>"),
        "{content}"
    );
    let max: u64 = String::from_utf8(pkg.part("Doc_0/Document.xml").unwrap().to_vec())
        .unwrap()
        .split("<ofd:MaxUnitID>")
        .nth(1)
        .and_then(|s| s.split('<').next())
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(max, 5 + content.matches("<ofd:TextObject").count() as u64);

    let png = render_ofd_page_png(&pkg, 1, 4.0, None).unwrap();
    let (w, _, grey) = grey_png(&png);
    let (dark, light) = ink(w, &grey, 4.0, (150.0, 240.0, 185.0, 275.0));
    assert!(dark > 1000 && light > 1000, "{dark} {light}");
    assert_eq!(qr_on_page(w, &grey, 4.0), [URL]);
    // Identical images are stored once.
    let mut spec = face();
    let img = spec.pages[0].images[0].clone();
    spec.pages[0]
        .images
        .push(OfdImage::new(img.png, 10.0, 240.0, 35.0, 35.0));
    let pkg = OfdPackage::read(&write_ofd(&spec, &font()).unwrap()).unwrap();
    assert!(pkg.part("Doc_0/Res/image_3.png").is_none());
    // An image of the second spec page goes on that page's first physical page.
    spec.pages.push(OfdPage::titled("二").image(OfdImage::new(
        qr_png("2", 4).unwrap(),
        10.0,
        10.0,
        20.0,
        20.0,
    )));
    let pkg = OfdPackage::read(&write_ofd(&spec, &font()).unwrap()).unwrap();
    let page2 = pkg.part("Doc_0/Pages/Page_1/Content.xml").unwrap();
    assert!(String::from_utf8_lossy(page2).contains("ResourceID=\"3\""));
    let png = render_ofd_page_png(&pkg, 2, 4.0, None).unwrap();
    let (w, _, grey) = grey_png(&png);
    let (dark, light) = ink(w, &grey, 4.0, (8.0, 8.0, 32.0, 32.0));
    assert!(dark > 100 && light > 100, "{dark} {light}");
}

#[test]
fn bad_images_are_refused_with_the_reason() {
    let font = font();
    for (img, why) in [
        (
            OfdImage::new(b"GIF89a".to_vec(), 10.0, 10.0, 20.0, 20.0),
            "not a PNG",
        ),
        (
            OfdImage::new(qr_png("x", 2).unwrap(), 200.0, 10.0, 20.0, 20.0),
            "not within",
        ),
        (
            OfdImage::new(qr_png("x", 2).unwrap(), 10.0, 10.0, 0.0, 20.0),
            "not within",
        ),
        (
            OfdImage::new(qr_png("x", 2).unwrap(), f64::NAN, 10.0, 5.0, 20.0),
            "not within",
        ),
    ] {
        let spec = OfdDocumentSpec::new(
            "t",
            time::macros::date!(2024 - 05 - 20),
            vec![OfdPage::titled("t").image(img)],
        );
        for e in [
            write_ofd(&spec, &font).unwrap_err(),
            write_pdf(&spec, &font).unwrap_err(),
        ] {
            assert!(
                matches!(e, yinzheng_document::Error::Spec(_)) && e.to_string().contains(why),
                "{e}"
            );
        }
    }
}

#[yinzheng_tests::peer_test(poppler, qpdf, zbar)]
fn pdf_copy_checks_extracts_renders_and_is_deterministic() {
    let dir = yinzheng_tests::tempdir();
    let p = dir.path();
    let pdf = write_pdf(&face(), &font()).unwrap();
    assert_eq!(pdf, write_pdf(&face(), &font()).unwrap());
    assert!(pdf.starts_with(b"%PDF-1.7"));
    eprintln!("license face PDF: {} bytes", pdf.len());
    assert!(pdf.len() < 80_000, "{} bytes", pdf.len());
    pdf_util::qpdf_check(p, "face.pdf", &pdf);

    let out = yinzheng_tests::run_ok(
        &yinzheng_tests::pdftotext(),
        p,
        &["-layout", "face.pdf", "-"],
    );
    let text = String::from_utf8(out.stdout).unwrap();
    for s in SHOWN {
        assert!(text.contains(s), "pdftotext lacks {s:?}: {text}");
    }
    // The font: one embedded subset (tag + name) with a ToUnicode map.
    let out = yinzheng_tests::run_ok(&yinzheng_tests::pdffonts(), p, &["face.pdf"]);
    let fonts = String::from_utf8_lossy(&out.stdout);
    assert!(
        fonts.lines().count() == 3
            && fonts
                .lines()
                .nth(2)
                .is_some_and(|l| l.contains("CID TrueType")
                    && l.contains("Identity-H")
                    && l.contains("yes yes yes")
                    && l.as_bytes().get(6) == Some(&b'+')),
        "{fonts}"
    );
    let out = yinzheng_tests::run_ok(&yinzheng_tests::pdfinfo(), p, &["face.pdf"]);
    let info = String::from_utf8_lossy(&out.stdout);
    assert!(info.contains("营业执照 91350100M000100Y43"), "{info}");
    assert!(
        info.contains("福州市市场监督管理局") && info.contains("Pages:           1"),
        "{info}"
    );

    // 100 dpi: the title is ink, the QR has both colours and decodes.
    let (w, _, rgb) = pdf_util::render(p, "face", &pdf, 1, 100);
    let grey: Vec<u8> = rgb
        .chunks_exact(3)
        .map(|c| ((u16::from(c[0]) + u16::from(c[1]) + u16::from(c[2])) / 3) as u8)
        .collect();
    let px_per_mm = 100.0 / 25.4;
    let (title, _) = ink(w as usize, &grey, px_per_mm, (90.0, 25.0, 122.0, 38.0));
    assert!(title > 500, "{title}");
    let (margin, _) = ink(w as usize, &grey, px_per_mm, (2.0, 2.0, 20.0, 20.0));
    assert_eq!(margin, 0);
    let (dark, light) = ink(w as usize, &grey, px_per_mm, (150.0, 240.0, 185.0, 275.0));
    assert!(dark > 1000 && light > 1000, "{dark} {light}");
    assert_eq!(qr_on_page(w as usize, &grey, px_per_mm), [URL]);
    assert_eq!(zbarimg(p, "face.png"), [URL]);
}

#[yinzheng_tests::peer_test(poppler, qpdf)]
fn pdf_copy_seals_and_verifies() {
    let font = font();
    let pdf = write_pdf(&face(), &font).unwrap();
    let png = pdf_util::seal_png();
    let mut p = support::pki_with_picture(yinzheng_seal::Picture {
        kind: "PNG".into(),
        data: png.clone(),
        width_mm: 40,
        height_mm: 40,
    });
    let mut opts = pdf_util::visible(1, 125.0, 200.0, &png);
    opts.appearance.as_mut().unwrap().text_line = None;
    opts.sub_filter = PdfSubFilter::Pkcs7Detached;
    opts.signing_time = time::OffsetDateTime::now_utc();
    let sealed = seal_pdf(
        &pdf,
        &opts,
        &PdfSealer {
            signer: &p.signer.0,
            certificate: p.signer.1.der(),
            chain: vec![p.domain.issuing().der().to_vec()],
            seal: Some(&p.seal),
            tsa: None,
        },
    )
    .unwrap();
    assert!(sealed.starts_with(&pdf), "an incremental update");
    eprintln!("sealed license face PDF: {} bytes", sealed.len());
    let validator = support::validator(&mut p);
    let inter = vec![p.domain.issuing().clone()];
    let r = verify_pdf(
        &sealed,
        &CmsVerifyContext {
            validator: &validator,
            intermediates: &inter,
            makers: MakerTrust::Policy,
            registry: None,
            sm2_id: None,
            deadline: None,
        },
    )
    .unwrap();
    assert!(r.passed(), "{r}");
    let dir = yinzheng_tests::tempdir();
    pdf_util::qpdf_check(dir.path(), "sealed.pdf", &sealed);
    if std::env::var_os("YINZHENG_WRITE_SAMPLES").is_some() {
        std::fs::write(dir.path().join("s.pdf"), &sealed).unwrap();
        let out = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../docs/license-face-sample"
        );
        yinzheng_tests::run_ok(
            &yinzheng_tests::pdftoppm(),
            dir.path(),
            &["-png", "-r", "60", "-singlefile", "s.pdf", out],
        );
    }
}

/// The OFD and the PDF come from one layout: words sit at the same place.
#[yinzheng_tests::peer_test(poppler)]
fn pdf_and_ofd_place_words_alike() {
    let font = font();
    let ofd = OfdPackage::read(&write_ofd(&face(), &font).unwrap()).unwrap();
    let content =
        String::from_utf8(ofd.part("Doc_0/Pages/Page_0/Content.xml").unwrap().to_vec()).unwrap();
    let dir = yinzheng_tests::tempdir();
    std::fs::write(
        dir.path().join("face.pdf"),
        write_pdf(&face(), &font).unwrap(),
    )
    .unwrap();
    let out = yinzheng_tests::run_ok(
        &yinzheng_tests::pdftotext(),
        dir.path(),
        &["-bbox", "face.pdf", "-"],
    );
    let bbox = String::from_utf8(out.stdout).unwrap();
    let pt = 72.0 / 25.4;
    for word in ["营业执照", "张三", "壹佰万圆整", "91350100M000100Y43"] {
        // OFD: Boundary="x top w h" … TextCode Y="baseline">word<
        let at = content.find(&format!(">{word}</ofd:TextCode>")).unwrap();
        let obj = &content[content[..at].rfind("<ofd:TextObject").unwrap()..at];
        let attr = |name: &str| -> Vec<f64> {
            let v = obj.split(&format!(" {name}=\"")).nth(1).unwrap();
            v[..v.find('"').unwrap()]
                .split(' ')
                .map(|n| n.parse().unwrap())
                .collect()
        };
        let (b, y) = (attr("Boundary"), attr("Y")[0]);
        let (x_mm, baseline_mm) = (b[0], b[1] + y);
        // pdftotext: <word xMin=".." yMin=".." xMax=".." yMax="..">word</word>
        let line = bbox
            .lines()
            .find(|l| l.contains(&format!(">{word}</word>")))
            .unwrap_or_else(|| panic!("{word} not in {bbox}"));
        let num = |k: &str| -> f64 {
            let v = line.split(&format!("{k}=\"")).nth(1).unwrap();
            v[..v.find('"').unwrap()].parse().unwrap()
        };
        assert!(
            (num("xMin") - x_mm * pt).abs() < 0.1,
            "{word}: {line} vs x {x_mm} mm"
        );
        let baseline = baseline_mm * pt;
        assert!(
            num("yMin") < baseline && baseline < num("yMax"),
            "{word}: {line} vs baseline {baseline_mm} mm"
        );
    }
}
