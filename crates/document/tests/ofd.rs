//! ofdrw's sealed OFD (SESV4SignDoc.ofd): References and the seal signature
//! verify; a changed page is named; a displayed part nobody signed fails, a
//! stray one is a warning; the page renders with its stamp (and its text, given a fallback font).

#![allow(clippy::unwrap_used)]

use std::io::{Read, Write};
use yinzheng_document::{OfdPackage, verify_ofd};
use yinzheng_pki::{
    CheckStatus, Indication, ParsedCert, RevocationPolicy, SubIndication, Validator,
};
use yinzheng_seal::MakerTrust;

fn interop(name: &str) -> Vec<u8> {
    let p = concat!(env!("CARGO_MANIFEST_DIR"), "/../../testdata/interop/ofdrw/");
    std::fs::read(format!("{p}{name}")).unwrap()
}

fn validator() -> Validator {
    Validator::new(ParsedCert::load_all(&interop("ROOT.pem")).unwrap())
        .with_revocation(RevocationPolicy::DangerBestEffort)
}

/// Rewrite the package, replacing `part` with `data` (or adding it).
fn rewrite(ofd: &[u8], part: &str, data: &[u8]) -> Vec<u8> {
    let mut zin = zip::ZipArchive::new(std::io::Cursor::new(ofd)).unwrap();
    let mut out = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let opts =
        zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    let mut replaced = false;
    for i in 0..zin.len() {
        let mut f = zin.by_index(i).unwrap();
        if f.is_dir() {
            continue;
        }
        let name = f.name().to_string();
        let mut buf = Vec::new();
        f.read_to_end(&mut buf).unwrap();
        out.start_file(name.clone(), opts).unwrap();
        if name == part {
            out.write_all(data).unwrap();
            replaced = true;
        } else {
            out.write_all(&buf).unwrap();
        }
    }
    if !replaced {
        out.start_file(part, opts).unwrap();
        out.write_all(data).unwrap();
    }
    out.finish().unwrap().into_inner()
}

#[test]
fn ofdrw_package_references_and_seal_signature_verify() {
    let ofd = interop("SESV4SignDoc.ofd");
    let pkg = OfdPackage::read(&ofd).unwrap();
    let sigs = pkg.signatures().unwrap();
    assert_eq!(sigs.len(), 1);
    assert_eq!(sigs[0].kind, "Seal");
    assert_eq!(sigs[0].references.len(), 5);
    let r = verify_ofd(&ofd, &validator(), MakerTrust::DangerAny, &[], None).unwrap();
    let passed = |id: &str| {
        r.checks()
            .iter()
            .filter(|c| c.id == id && c.status == CheckStatus::Passed)
            .count()
    };
    assert_eq!(passed("reference"), 5, "{r}");
    assert_eq!(passed("signature 1/signature"), 1, "{r}");
    assert_eq!(passed("signature 1/data-hash"), 1, "{r}");
    assert_eq!(passed("signature 1/maker-signature"), 1, "{r}");
    // ofdrw re-signed this file in 2026 with certificates that expired in 2022:
    // everything cryptographic holds; the certificates are expired now and
    // nothing proves the signature is older (a claimed time is no proof).
    assert_eq!(r.indication(), Indication::Indeterminate, "{r}");
    assert_eq!(
        r.sub_indication(),
        Some(SubIndication::OutOfBoundsNoPoe),
        "{r}"
    );
}

#[test]
fn a_changed_page_is_named_and_an_unsigned_part_fails() {
    let ofd = interop("SESV4SignDoc.ofd");
    let changed = rewrite(
        &ofd,
        "Doc_0/Pages/Page_0/Content.xml",
        b"<ofd:Page xmlns:ofd=\"http://www.ofdspec.org/2016\"/>",
    );
    let r = verify_ofd(&changed, &validator(), MakerTrust::DangerAny, &[], None).unwrap();
    assert_eq!(r.sub_indication(), Some(SubIndication::HashFailure), "{r}");
    let failed: Vec<_> = r
        .checks()
        .iter()
        .filter(|c| c.status == CheckStatus::Failed && c.id == "reference")
        .collect();
    assert_eq!(failed.len(), 1);
    assert!(
        failed[0].message.contains("Doc_0/Pages/Page_0/Content.xml"),
        "{r}"
    );

    // A page file nothing refers to is not displayed: only a warning ...
    let added = rewrite(&ofd, "Doc_0/Pages/Page_1/Content.xml", b"<x/>");
    let r = verify_ofd(&added, &validator(), MakerTrust::DangerAny, &[], None).unwrap();
    assert!(
        r.checks().iter().any(|c| c.id == "unprotected"
            && c.status == CheckStatus::Warning
            && c.subject == "Doc_0/Pages/Page_1/Content.xml"),
        "{r}"
    );
    assert_eq!(
        r.sub_indication(),
        Some(SubIndication::OutOfBoundsNoPoe),
        "{r}"
    );
    // ... once Document.xml lists it, it is displayed and unprotected, and the
    // changed Document.xml makes the report HASH_FAILURE.
    let pkg = OfdPackage::read(&added).unwrap();
    let doc = String::from_utf8(pkg.part("Doc_0/Document.xml").unwrap().to_vec())
        .unwrap()
        .replace(
            "</ofd:Pages>",
            "<ofd:Page ID=\"9\" BaseLoc=\"Pages/Page_1/Content.xml\"/></ofd:Pages>",
        );
    let listed = rewrite(&added, "Doc_0/Document.xml", doc.as_bytes());
    let r = verify_ofd(&listed, &validator(), MakerTrust::DangerAny, &[], None).unwrap();
    assert_eq!(r.sub_indication(), Some(SubIndication::HashFailure), "{r}");
    assert!(
        r.checks().iter().any(|c| c.id == "coverage"
            && c.status == CheckStatus::Failed
            && c.subject == "Doc_0/Pages/Page_1/Content.xml"),
        "{r}"
    );
    // A part named like a signature list is not exempt from being reported.
    let sneaky = rewrite(&ofd, "Doc_0/Res/EvilSignatures.xml", b"<x/>");
    let r = verify_ofd(&sneaky, &validator(), MakerTrust::DangerAny, &[], None).unwrap();
    assert!(
        r.checks().iter().any(|c| c.id == "unprotected"
            && c.status == CheckStatus::Warning
            && c.subject == "Doc_0/Res/EvilSignatures.xml"),
        "{r}"
    );
}

#[test]
fn redirecting_the_document_root_to_unsigned_content_fails() {
    // The attack found in review: OFD.xml pointing at a new, unsigned document.
    // (Here OFD.xml is signed too, so its Reference fails as well; for the
    // vendor norm, OFD.xml unsigned, see ofd_coverage.rs.)
    let ofd = interop("SESV4SignDoc.ofd");
    let pkg = OfdPackage::read(&ofd).unwrap();
    let text = String::from_utf8(pkg.part("OFD.xml").unwrap().to_vec())
        .unwrap()
        .replace("Doc_0/Document.xml", "Doc_1/Document.xml");
    let doc = String::from_utf8(pkg.part("Doc_0/Document.xml").unwrap().to_vec())
        .unwrap()
        .replace("Pages/Page_0", "Pages/Page_9");
    let forged = rewrite(
        &rewrite(
            &rewrite(&ofd, "OFD.xml", text.as_bytes()),
            "Doc_1/Document.xml",
            doc.as_bytes(),
        ),
        "Doc_1/Pages/Page_9/Content.xml",
        b"<forged/>",
    );
    let r = verify_ofd(&forged, &validator(), MakerTrust::DangerAny, &[], None).unwrap();
    assert_eq!(r.indication(), Indication::TotalFailed);
    assert!(
        r.checks().iter().any(|c| c.id == "coverage"
            && c.subject == "Doc_1/Pages/Page_9/Content.xml"
            && c.status == CheckStatus::Failed),
        "{r}"
    );
}

#[test]
fn ambiguous_zip_names_are_refused() {
    let ofd = interop("SESV4SignDoc.ofd");
    let dup = rewrite(&ofd, "/OFD.xml", b"<x/>");
    assert!(
        OfdPackage::read(&dup).is_err(),
        "'/OFD.xml' and 'OFD.xml' are the same part"
    );
    let dots = rewrite(&ofd, "Doc_0/../OFD2.xml", b"<x/>");
    assert!(OfdPackage::read(&dots).is_err());
}

#[test]
fn junk_is_an_error_not_a_panic() {
    assert!(verify_ofd(b"not a zip", &validator(), MakerTrust::DangerAny, &[], None).is_err());
    let ofd = interop("SESV4SignDoc.ofd");
    for n in (0..ofd.len()).step_by(211) {
        let _ = verify_ofd(&ofd[..n], &validator(), MakerTrust::DangerAny, &[], None);
    }
    let broken = rewrite(&ofd, "OFD.xml", b"<ofd:OFD><unclosed>");
    assert!(verify_ofd(&broken, &validator(), MakerTrust::DangerAny, &[], None).is_err());
}

#[test]
fn ofdrw_page_renders_its_stamp_and_its_text_in_the_fallback_font() {
    let ofd = interop("SESV4SignDoc.ofd");
    let pkg = OfdPackage::read(&ofd).unwrap();
    // ofdrw names 宋体 without embedding it: text needs the fallback font.
    let font = yinzheng_document::OfdFont::find().unwrap();
    let inks = |fallback| {
        let png = yinzheng_document::render_ofd_page_png(&pkg, 1, 3.0, fallback).unwrap();
        let img = tiny_skia::Pixmap::decode_png(&png).unwrap();
        let (mut dark, mut red) = (0, 0);
        for c in img.pixels() {
            let c = c.demultiply();
            dark += usize::from(c.red() < 100 && c.green() < 100);
            red += usize::from(c.red() > 180 && c.green() < 100);
        }
        (dark, red)
    };
    let (dark, _) = inks(None);
    assert_eq!(dark, 0);
    let (dark, red) = inks(Some(&font));
    assert!(dark > 100, "{dark}");
    // The 40 mm stamp at (50, 50) mm.
    assert!(red > 3000, "{red}");
}
