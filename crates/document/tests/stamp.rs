//! Sealing OFD packages: one seal, two seals, a seal after ofdrw's; every seal
//! verifies, earlier seals stay valid, and editing a page breaks exactly the
//! References to that page.

#![allow(clippy::unwrap_used)]

#[path = "support/pki.rs"]
mod support;

use std::io::{Read, Write};
use support::{pki, validator};
use yinzheng_document::{OfdPackage, Placement, stamp_ofd, verify_ofd};
use yinzheng_pki::{CheckStatus, Indication, SubIndication};
use yinzheng_seal::MakerTrust;

fn blank_ofd() -> Vec<u8> {
    let files = [
        (
            "OFD.xml",
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<ofd:OFD xmlns:ofd=\"http://www.ofdspec.org/2016\" Version=\"1.0\" DocType=\"OFD\"><ofd:DocBody><ofd:DocInfo><ofd:DocID>x</ofd:DocID></ofd:DocInfo><ofd:DocRoot>Doc_0/Document.xml</ofd:DocRoot></ofd:DocBody></ofd:OFD>",
        ),
        (
            "Doc_0/Document.xml",
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<ofd:Document xmlns:ofd=\"http://www.ofdspec.org/2016\"><ofd:CommonData><ofd:PageArea><ofd:PhysicalBox>0 0 210 297</ofd:PhysicalBox></ofd:PageArea><ofd:MaxUnitID>2</ofd:MaxUnitID></ofd:CommonData><ofd:Pages><ofd:Page ID=\"1\" BaseLoc=\"Pages/Page_0/Content.xml\"/><ofd:Page ID=\"2\" BaseLoc=\"Pages/Page_1/Content.xml\"/></ofd:Pages></ofd:Document>",
        ),
        (
            "Doc_0/Pages/Page_0/Content.xml",
            "<ofd:Page xmlns:ofd=\"http://www.ofdspec.org/2016\"><ofd:Content/></ofd:Page>",
        ),
        (
            "Doc_0/Pages/Page_1/Content.xml",
            "<ofd:Page xmlns:ofd=\"http://www.ofdspec.org/2016\"><ofd:Content/></ofd:Page>",
        ),
    ];
    let mut z = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    for (n, c) in files {
        z.start_file(n, zip::write::SimpleFileOptions::default())
            .unwrap();
        z.write_all(c.as_bytes()).unwrap();
    }
    z.finish().unwrap().into_inner()
}

fn replace_part(ofd: &[u8], part: &str, data: &[u8]) -> Vec<u8> {
    let mut zin = zip::ZipArchive::new(std::io::Cursor::new(ofd)).unwrap();
    let mut out = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    for i in 0..zin.len() {
        let mut f = zin.by_index(i).unwrap();
        let name = f.name().to_string();
        let mut buf = Vec::new();
        f.read_to_end(&mut buf).unwrap();
        out.start_file(name.clone(), zip::write::SimpleFileOptions::default())
            .unwrap();
        out.write_all(if name == part { data } else { &buf })
            .unwrap();
    }
    out.finish().unwrap().into_inner()
}

fn now() -> time::OffsetDateTime {
    time::OffsetDateTime::now_utc()
        .replace_nanosecond(0)
        .unwrap()
}

#[test]
fn two_seals_on_a_fresh_ofd_both_verify_and_an_edit_is_named() {
    let mut p = pki();
    let at = Placement {
        page: 1,
        x_mm: 120.0,
        y_mm: 40.0,
    };
    let once = stamp_ofd(
        &blank_ofd(),
        &p.seal,
        &p.signer.0,
        p.signer.1.der(),
        at,
        now(),
    )
    .unwrap();
    let twice = stamp_ofd(
        &once,
        &p.seal,
        &p.signer.0,
        p.signer.1.der(),
        Placement { page: 2, ..at },
        now(),
    )
    .unwrap();
    let chain = vec![p.domain.issuing().clone()];
    let v = validator(&mut p);
    let sigs = OfdPackage::read(&twice).unwrap().signatures().unwrap();
    assert_eq!(sigs.len(), 2);
    let r = verify_ofd(&twice, &v, MakerTrust::Policy, &chain, None).unwrap();
    assert_eq!(r.indication(), Indication::TotalPassed, "{r}");
    assert!(
        r.checks().iter().all(|c| c.status == CheckStatus::Passed
            || !["coverage", "unprotected"].contains(&c.id.as_str())),
        "every part is protected: {r}"
    );
    // Editing page 2 breaks exactly the references to it (one per signature).
    let edited = replace_part(&twice, "Doc_0/Pages/Page_1/Content.xml", b"<ofd:Page xmlns:ofd=\"http://www.ofdspec.org/2016\"><ofd:Content>x</ofd:Content></ofd:Page>");
    let r = verify_ofd(&edited, &v, MakerTrust::Policy, &chain, None).unwrap();
    assert_eq!(r.sub_indication(), Some(SubIndication::HashFailure));
    let failed: Vec<_> = r
        .checks()
        .iter()
        .filter(|c| c.status == CheckStatus::Failed)
        .collect();
    assert_eq!(failed.len(), 2, "{r}");
    assert!(
        failed
            .iter()
            .all(|c| c.subject == "Doc_0/Pages/Page_1/Content.xml"),
        "{r}"
    );
}

#[test]
fn sealing_after_ofdrw_keeps_its_references_valid() {
    let mut p = pki();
    let ofdrw = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../testdata/interop/ofdrw/SESV4SignDoc.ofd"
    ))
    .unwrap();
    let ours = stamp_ofd(
        &ofdrw,
        &p.seal,
        &p.signer.0,
        p.signer.1.der(),
        Placement {
            page: 1,
            x_mm: 100.0,
            y_mm: 200.0,
        },
        now(),
    )
    .unwrap();
    let chain = vec![p.domain.issuing().clone()];
    let v = validator(&mut p);
    let r = verify_ofd(&ours, &v, MakerTrust::Policy, &chain, None).unwrap();
    // ofdrw's five references still match; ours pass; only ofdrw's unknown/expired chain fails.
    let failed_refs = r
        .checks()
        .iter()
        .filter(|c| c.id == "reference" && c.status == CheckStatus::Failed)
        .count();
    assert_eq!(failed_refs, 0, "{r}");
    assert!(
        r.checks()
            .iter()
            .any(|c| c.id == "signature 3/signature" && c.status == CheckStatus::Passed)
            || r.checks()
                .iter()
                .any(|c| c.id.ends_with("/data-hash") && c.status == CheckStatus::Passed),
        "{r}"
    );
    let ours_ok = r
        .checks()
        .iter()
        .filter(|c| c.id.starts_with("signature 3/") && c.status == CheckStatus::Failed)
        .count();
    assert_eq!(ours_ok, 0, "our seal passes every check: {r}");
}

#[test]
fn a_page_that_does_not_exist_is_refused() {
    let p = pki();
    assert!(
        stamp_ofd(
            &blank_ofd(),
            &p.seal,
            &p.signer.0,
            p.signer.1.der(),
            Placement {
                page: 9,
                x_mm: 0.0,
                y_mm: 0.0
            },
            now()
        )
        .is_err()
    );
}

#[test]
fn a_gbt35275_sign_signature_after_a_seal_verifies_and_tampering_is_named() {
    let mut p = pki();
    let sealed = stamp_ofd(
        &blank_ofd(),
        &p.seal,
        &p.signer.0,
        p.signer.1.der(),
        Placement {
            page: 1,
            x_mm: 20.0,
            y_mm: 20.0,
        },
        now(),
    )
    .unwrap();
    let chain = vec![p.domain.issuing().clone()];
    let signed = yinzheng_document::sign_ofd(
        &sealed,
        &p.signer.0,
        p.signer.1.der(),
        &[p.domain.issuing().der().to_vec()],
        now(),
    )
    .unwrap();
    let sigs = OfdPackage::read(&signed).unwrap().signatures().unwrap();
    assert_eq!(sigs.len(), 2);
    assert_eq!(sigs[1].kind, "Sign");
    let v = validator(&mut p);
    let r = verify_ofd(&signed, &v, MakerTrust::Policy, &chain, None).unwrap();
    assert_eq!(r.indication(), Indication::TotalPassed, "{r}");
    assert!(r.to_string().contains("GB/T 35275 SignedData"), "{r}");
    // SignedValue.dat is a SignedData with the national OIDs
    let pkg = OfdPackage::read(&signed).unwrap();
    let sd = yinzheng_cms::SignedData::parse(pkg.part(&sigs[1].signed_value).unwrap()).unwrap();
    assert_eq!(sd.flavour(), yinzheng_cms::Flavour::GmT0010);
    // Changing the Sign signature's Signature.xml breaks its messageDigest
    let xml = String::from_utf8(pkg.part(&sigs[1].signature_xml).unwrap().to_vec()).unwrap();
    let edited = replace_part(
        &signed,
        &sigs[1].signature_xml,
        xml.replacen("Yinzheng", "Yinzhenq", 1).as_bytes(),
    );
    let r = verify_ofd(&edited, &v, MakerTrust::Policy, &chain, None).unwrap();
    assert_eq!(r.sub_indication(), Some(SubIndication::HashFailure), "{r}");
}
