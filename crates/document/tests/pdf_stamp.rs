//! PDF stamping mechanics: incremental updates, byte ranges, appearance,
//! placement, several seals, and what later revisions may change. The CMS is
//! a dummy here; qpdf and poppler are the independent checks.

mod pdf_util;

use lopdf::{Document, IncrementalDocument, Object, Stream, dictionary};
use pdf_util::*;
use yinzheng_document::{
    Error, PdfPosition, PdfStampOptions, PdfSubFilter, modifications_after, pdf_signatures,
    signed_ranges, stamp_pdf,
};

fn stamp(pdf: &[u8], opts: &PdfStampOptions, cms_len: usize) -> Vec<u8> {
    stamp_pdf(pdf, opts, &mut |_parts: [&[u8]; 2]| Ok(fake_cms(cms_len))).expect("stamps")
}

/// Stamp twice and check everything both xref kinds must satisfy.
fn double_stamp(base: &[u8], kind: &str) {
    let dir = yinzheng_tests::tempdir();
    let png = seal_png();
    let mut seen = Vec::new();
    let once = stamp_pdf(
        base,
        &visible(1, 120.0, 200.0, &png),
        &mut |parts: [&[u8]; 2]| {
            seen = [parts[0], parts[1]].concat();
            Ok(fake_cms(3000))
        },
    )
    .expect("stamps");
    assert!(
        once.starts_with(base),
        "{kind}: the original bytes are a prefix"
    );
    qpdf_check(dir.path(), &format!("{kind}-1.pdf"), &once);

    let sigs = pdf_signatures(&once).expect("reads");
    assert_eq!(sigs.len(), 1);
    let s = &sigs[0];
    assert_eq!(s.field_name, "Seal1");
    assert_eq!(s.sub_filter, "ETSI.CAdES.detached");
    assert_eq!(s.filter, "Adobe.PPKLite");
    assert_eq!(s.contents, fake_cms(3000), "padding cut at the DER length");
    assert!(s.byte_range_ok && s.covers_whole_document, "{s:?}");
    assert_eq!(s.revision, 2);
    assert_eq!(s.page, Some(1));
    assert_eq!(s.signing_time.as_deref(), Some("D:20261123100000+08'00'"));
    assert_eq!(s.name.as_deref(), Some("示例 Signer"));
    assert_eq!(s.reason.as_deref(), Some("Contract approval"));
    assert_eq!(s.location.as_deref(), Some("Beijing"));
    let r = signed_ranges(&once, s).expect("ranges");
    assert_eq!(
        [r[0], r[1]].concat(),
        seen,
        "the callback got the signed ranges"
    );
    assert_eq!(r[0].len() + r[1].len() + 2 * 16384 + 2, once.len());
    // Rect: 40 mm wide seal 120 mm from the left, 200 mm from the top.
    let rect = s.rect.expect("rect");
    let mm = 72.0 / 25.4;
    assert!((rect[0] - 120.0 * mm).abs() < 0.1, "{rect:?}");
    assert!((rect[3] - (A4[1] - 200.0 * mm)).abs() < 0.1, "{rect:?}");
    assert!(
        (rect[3] - rect[1] - 40.0 * mm - 11.2).abs() < 0.1,
        "seal + text band: {rect:?}"
    );

    let mut opts2 = visible(2, 20.0, 20.0, &png);
    opts2.sub_filter = PdfSubFilter::Pkcs7Detached;
    opts2.appearance = None;
    let twice = stamp(&once, &opts2, 5000);
    assert!(
        twice.starts_with(&once),
        "{kind}: the first signed revision is kept"
    );
    qpdf_check(dir.path(), &format!("{kind}-2.pdf"), &twice);
    let sigs = pdf_signatures(&twice).expect("reads");
    assert_eq!(sigs.len(), 2);
    assert_eq!(
        (
            sigs[0].field_name.as_str(),
            sigs[0].revision,
            sigs[0].covers_whole_document
        ),
        ("Seal1", 2, false)
    );
    assert_eq!(
        (
            sigs[1].field_name.as_str(),
            sigs[1].revision,
            sigs[1].covers_whole_document
        ),
        ("Seal2", 3, true)
    );
    assert_eq!(sigs[1].sub_filter, "adbe.pkcs7.detached");
    assert_eq!(sigs[1].rect, Some([0.0; 4]), "invisible");
    assert_eq!(sigs[1].page, Some(2));
    assert!(sigs.iter().all(|s| s.byte_range_ok));
    assert_eq!(
        signed_ranges(&twice, &sigs[0]).expect("ranges"),
        signed_ranges(&once, s).expect("ranges")
    );
    let m = modifications_after(&twice, &sigs[0]).expect("compares");
    assert_eq!(m.later_revisions, 1);
    assert!(m.allowed, "{m:?}");
    assert!(!m.signing_changes.is_empty());
    let m = modifications_after(&twice, &sigs[1]).expect("compares");
    assert_eq!((m.later_revisions, m.allowed), (0, true));
}

#[yinzheng_tests::peer_test(qpdf)]
fn double_stamp_classic_xref() {
    let base = base_pdf(false);
    assert!(base.windows(5).any(|w| w == b"xref\n"));
    double_stamp(&base, "classic");
}

#[yinzheng_tests::peer_test(qpdf)]
fn double_stamp_xref_and_object_streams() {
    let dir = yinzheng_tests::tempdir();
    let base = with_object_streams(dir.path(), &base_pdf(false));
    double_stamp(&base, "objstm");
    let once = stamp(&base, &visible(1, 10.0, 10.0, &seal_png()), 100);
    let tail = &once[base.len()..];
    assert!(
        tail.windows(10).any(|w| w == b"/Type/XRef") && !tail.windows(7).any(|w| w == b"trailer"),
        "the update has an xref stream, like the original"
    );
}

#[test]
fn near_text_ascii_and_cjk() {
    let base = base_pdf(true);
    let png = seal_png();
    let mut o = visible(1, 0.0, 0.0, &png);
    o.position = PdfPosition::Near {
        text: "Please seal here:".into(),
    };
    let out = stamp(&base, &o, 100);
    let rect = pdf_signatures(&out).expect("reads")[0].rect.expect("rect");
    // "Please seal here:" at x 72.., baseline 500, 12 pt: seal below it, centred on it.
    let width = rect[2] - rect[0];
    let centre = (rect[0] + rect[2]) / 2.0;
    assert!(rect[3] < 500.0 - 2.0 && rect[3] > 500.0 - 8.0, "{rect:?}");
    assert!(
        centre > 72.0 + 30.0 && centre < 72.0 + 70.0,
        "centre {centre} {rect:?}"
    );
    assert!(width > 113.0);

    o.position = PdfPosition::Near {
        text: "盖章处".into(),
    };
    let out = stamp(&base, &o, 100);
    let rect = pdf_signatures(&out).expect("reads")[0].rect.expect("rect");
    let centre = (rect[0] + rect[2]) / 2.0;
    assert!((centre - (300.0 + 24.0)).abs() < 1.0, "centre {centre}");
    assert!(rect[3] < 300.0 - 3.0 && rect[3] > 300.0 - 10.0, "{rect:?}");

    o.position = PdfPosition::Near {
        text: "not on the page".into(),
    };
    let err = stamp_pdf(&base, &o, &mut |_p: [&[u8]; 2]| Ok(fake_cms(10))).expect_err("no text");
    assert!(matches!(err, Error::TextNotFound { page: 1, .. }), "{err}");
}

#[test]
fn cms_larger_than_reserved_is_refused() {
    let base = base_pdf(false);
    let mut o = PdfStampOptions::new(time::macros::datetime!(2026-11-23 10:00:00 +08:00));
    o.contents_capacity = 1000;
    let err = stamp_pdf(&base, &o, &mut |_p: [&[u8]; 2]| Ok(fake_cms(2000))).expect_err("too big");
    assert!(
        matches!(
            err,
            Error::ContentsTooSmall {
                needed: 2004,
                capacity: 1000
            }
        ),
        "{err}"
    );
    o.page = 3;
    assert!(matches!(
        stamp_pdf(&base, &o, &mut |_p: [&[u8]; 2]| Ok(fake_cms(10))),
        Err(Error::Options(_))
    ));
    o.page = 1;
    o.field_name = Some("Seal1".into());
    let once = stamp(&base, &o, 10);
    assert!(
        matches!(
            stamp_pdf(&once, &o, &mut |_p: [&[u8]; 2]| Ok(fake_cms(10))),
            Err(Error::Options(_))
        ),
        "field names are unique"
    );
    assert!(matches!(
        pdf_signatures(b"%PDF-1.7\ngarbage"),
        Err(Error::Pdf(_))
    ));
}

/// A later revision that changes page 1's content is not a signing change.
#[test]
fn modifications_flag_changed_page_content() {
    let base = base_pdf(false);
    let signed = stamp(&base, &visible(1, 120.0, 200.0, &seal_png()), 300);
    let doc = Document::load_mem(&signed).expect("loads");
    let page = doc.get_pages()[&1];
    let mut inc = IncrementalDocument::create_from(signed.clone(), doc);
    let extra = inc.new_document.add_object(Stream::new(
        dictionary! {},
        b"BT /F1 30 Tf 100 400 Td (PAID) Tj ET".to_vec(),
    ));
    inc.opt_clone_object_to_new_document(page).expect("page");
    let d = inc
        .new_document
        .get_object_mut(page)
        .and_then(Object::as_dict_mut)
        .expect("dict");
    let old = d.get(b"Contents").expect("contents").clone();
    d.set("Contents", vec![old, extra.into()]);
    let mut tampered = Vec::new();
    inc.save_to(&mut tampered).expect("saves");

    let sigs = pdf_signatures(&tampered).expect("reads");
    assert!(sigs[0].byte_range_ok && !sigs[0].covers_whole_document);
    let m = modifications_after(&tampered, &sigs[0]).expect("compares");
    assert!(!m.allowed);
    assert_eq!(m.later_revisions, 1);
    assert!(
        m.changes
            .iter()
            .any(|c| c.contains("(page 1,") && c.contains("/Contents") && c.contains("revision 3")),
        "{m:?}"
    );

    // Bytes appended after the last %%EOF are reported too.
    let mut junk = signed.clone();
    junk.extend_from_slice(b"\n1 0 obj (x) endobj\n");
    let sigs = pdf_signatures(&junk).expect("reads");
    assert!(
        !modifications_after(&junk, &sigs[0])
            .expect("compares")
            .allowed
    );
}

/// The stamped page renders with a red seal where it was placed, over the page.
#[yinzheng_tests::peer_test(poppler)]
fn rendered_seal_is_red_and_text_line_shows() {
    let dir = yinzheng_tests::tempdir();
    let base = base_pdf(false);
    let signed = stamp(&base, &visible(1, 60.0, 150.0, &seal_png()), 300);
    let (w, h, before) = render(dir.path(), "before", &base, 1, 72);
    let (w2, h2, after) = render(dir.path(), "after", &signed, 1, 72);
    assert_eq!((w, h), (w2, h2));
    let mm = 72.0 / 25.4;
    let px = |x: f64, y: f64| {
        let i = ((y.round() as usize) * w as usize + x.round() as usize) * 3;
        [
            after[i],
            after[i + 1],
            after[i + 2],
            before[i],
            before[i + 1],
            before[i + 2],
        ]
    };
    // The seal's ring: 40 mm circle centred at (80, 170) mm; sample its star in the centre.
    let (cx, cy) = (80.0 * mm, 170.0 * mm);
    let reddish = (-4..=4)
        .flat_map(|dx| (-4..=4).map(move |dy| (dx, dy)))
        .map(|(dx, dy)| px(cx + f64::from(dx), cy + f64::from(dy)))
        .filter(|p| p[0] > 150 && p[1] < 110 && p[2] < 110 && p[3..] == [255, 255, 255])
        .count();
    assert!(
        reddish > 10,
        "the seal centre is red ({reddish} red pixels)"
    );
    // Left of the ring the page shows through (transparency).
    let p = px(cx - 19.0 * mm, cy - 15.0 * mm);
    assert_eq!(p[..3], p[3..], "outside the ring the page is unchanged");
    // The text line sits under the seal: dark pixels in the band.
    let band_y = 190.0 * mm + 6.0;
    let dark = (0..(50.0 * mm) as i32)
        .flat_map(|dx| (-4..=4).map(move |dy| (dx, dy)))
        .map(|(dx, dy)| px(55.0 * mm + f64::from(dx), band_y + f64::from(dy)))
        .filter(|p| p[0] < 120 && p[1] < 120 && p[2] < 120)
        .count();
    assert!(dark > 20, "the text line renders ({dark} dark pixels)");
}

/// Page geometry and structure variants: a CropBox with an offset origin, a
/// rotated page, a direct /AcroForm in the catalogue and an indirect /Annots.
#[yinzheng_tests::peer_test(poppler, qpdf)]
fn cropbox_rotation_direct_acroform_indirect_annots() {
    let dir = yinzheng_tests::tempdir();
    let mut doc = Document::load_mem(&base_pdf(false)).expect("loads");
    let pages = doc.get_pages();
    let (p1, p2) = (pages[&1], pages[&2]);
    let existing = doc.add_object(dictionary! {
        "Type" => "Annot", "Subtype" => "Text", "Rect" => vec![10.into(), 10.into(), 30.into(), 30.into()],
        "Contents" => Object::string_literal("a note"),
    });
    let annots = doc.add_object(vec![Object::Reference(existing)]);
    let page = doc.get_dictionary_mut(p1).expect("page");
    page.set(
        "CropBox",
        vec![50.into(), 40.into(), 545.into(), 800.into()],
    );
    page.set("Annots", annots);
    doc.get_dictionary_mut(p2).expect("page").set("Rotate", 90);
    doc.catalog_mut()
        .expect("catalogue")
        .set("AcroForm", dictionary! { "Fields" => Vec::<Object>::new() });
    doc.reference_table.cross_reference_type = lopdf::xref::XrefType::CrossReferenceTable;
    let mut base = Vec::new();
    doc.save_to(&mut base).expect("saves");

    let png = seal_png();
    let once = stamp(&base, &visible(1, 10.0, 20.0, &png), 100);
    let twice = stamp(&once, &visible(2, 10.0, 20.0, &png), 100);
    qpdf_check(dir.path(), "variants.pdf", &twice);
    let sigs = pdf_signatures(&twice).expect("reads");
    assert_eq!(sigs.len(), 2);
    let mm = 72.0 / 25.4;
    // Page 1: top-left of the CropBox is (50, 800).
    let r = sigs[0].rect.expect("rect");
    assert!(
        (r[0] - (50.0 + 10.0 * mm)).abs() < 0.1 && (r[3] - (800.0 - 20.0 * mm)).abs() < 0.1,
        "{r:?}"
    );
    // Page 2, rotated 90° clockwise: the displayed top-left is user (0, 0); the
    // seal's width runs up the page and its height along x.
    let r = sigs[1].rect.expect("rect");
    assert!(
        (r[0] - 20.0 * mm).abs() < 0.1 && (r[1] - 10.0 * mm).abs() < 0.1,
        "{r:?}"
    );
    assert!((r[2] - r[0] - 40.0 * mm - 11.2).abs() < 0.1, "{r:?}");
    assert!(
        modifications_after(&twice, &sigs[0])
            .expect("compares")
            .allowed
    );
    // The note is still there, next to the seal.
    let doc = Document::load_mem(&twice).expect("loads");
    assert_eq!(doc.get_page_annotations(p1).expect("annots").len(), 2);
    // Rendered upright: the seal's red is in the displayed spot on the rotated page.
    let (w, _h, rgb) = render(dir.path(), "rot", &twice, 2, 72);
    let (cx, cy) = ((10.0 + 20.0) * mm, (20.0 + 20.0) * mm);
    let red = (-4..=4)
        .flat_map(|dx| (-4..=4).map(move |dy| (dx, dy)))
        .filter(|(dx, dy)| {
            let i = (((cy + f64::from(*dy)) as usize) * w as usize
                + (cx + f64::from(*dx)) as usize)
                * 3;
            rgb[i] > 150 && rgb[i + 1] < 110 && rgb[i + 2] < 110
        })
        .count();
    assert!(red > 10, "seal centre red on the rotated page ({red})");
}
