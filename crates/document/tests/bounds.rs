//! Bounded work per document (issue 18): each count bound a verifier keeps
//! is fed its bound (accepted) and its bound plus one (refused with a clear
//! error naming the bound). The size bounds and the revision bound have
//! their own tests (pdf_malformed, ofd_zip, pdf_changes).

#![allow(clippy::unwrap_used)]

use lopdf::{Document, Object, dictionary};
use std::io::Write;
use yinzheng_crypto::PrivateKey;
use yinzheng_document::{MAX_OFD_SIGNATURES, MAX_PDF_SIGNATURES, OfdPackage, pdf_signatures};

/// A one-page PDF whose AcroForm lists `n` signed signature fields (their
/// values are placeholders: counting happens before any of them is checked).
fn pdf_with_signature_fields(n: usize) -> Vec<u8> {
    let mut doc = Document::with_version("1.7");
    let pages_id = doc.new_object_id();
    let page_id = doc.add_object(dictionary! {
        "Type" => "Page", "Parent" => pages_id,
        "MediaBox" => vec![0.into(), 0.into(), 200.into(), 200.into()],
    });
    doc.objects.insert(
        pages_id,
        Object::Dictionary(dictionary! {
            "Type" => "Pages", "Kids" => vec![page_id.into()], "Count" => 1,
        }),
    );
    let mut fields = Vec::new();
    for i in 0..n {
        let v = doc.add_object(dictionary! {
            "Type" => "Sig",
            "Filter" => "Adobe.PPKLite",
            "SubFilter" => "ETSI.CAdES.detached",
            "ByteRange" => vec![0.into(), 10.into(), 20.into(), 10.into()],
            "Contents" => Object::String(vec![0u8; 8], lopdf::StringFormat::Hexadecimal),
        });
        let f = doc.add_object(dictionary! {
            "FT" => "Sig",
            "T" => Object::string_literal(format!("Sig{i}")),
            "V" => v,
            "Type" => "Annot", "Subtype" => "Widget",
            "Rect" => vec![0.into(), 0.into(), 0.into(), 0.into()],
            "P" => page_id,
        });
        fields.push(Object::Reference(f));
    }
    let acroform = doc.add_object(dictionary! { "Fields" => fields, "SigFlags" => 3 });
    let catalog = doc.add_object(dictionary! {
        "Type" => "Catalog", "Pages" => pages_id, "AcroForm" => acroform,
    });
    doc.trailer.set("Root", catalog);
    let mut out = Vec::new();
    doc.save_to(&mut out).unwrap();
    out
}

#[test]
fn pdf_signature_fields_are_bounded() {
    let at_bound = pdf_signatures(&pdf_with_signature_fields(MAX_PDF_SIGNATURES)).unwrap();
    assert_eq!(at_bound.len(), MAX_PDF_SIGNATURES);
    let e = pdf_signatures(&pdf_with_signature_fields(MAX_PDF_SIGNATURES + 1))
        .unwrap_err()
        .to_string();
    assert!(
        e.contains(&format!("more than {MAX_PDF_SIGNATURES}")),
        "{e}"
    );
}

/// An OFD package whose signature list names `n` signatures.
fn ofd_with_signatures(n: usize) -> Vec<u8> {
    let mut z = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let opts =
        zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    let mut put = |name: &str, body: &str| {
        z.start_file(name, opts).unwrap();
        z.write_all(body.as_bytes()).unwrap();
    };
    put(
        "OFD.xml",
        r#"<?xml version="1.0" encoding="UTF-8"?><ofd:OFD xmlns:ofd="http://www.ofdspec.org/2016" Version="1.0" DocType="OFD"><ofd:DocBody><ofd:DocInfo><ofd:DocID>x</ofd:DocID></ofd:DocInfo><ofd:DocRoot>Doc_0/Document.xml</ofd:DocRoot><ofd:Signatures>Doc_0/Signs/Signatures.xml</ofd:Signatures></ofd:DocBody></ofd:OFD>"#,
    );
    put(
        "Doc_0/Document.xml",
        r#"<?xml version="1.0" encoding="UTF-8"?><ofd:Document xmlns:ofd="http://www.ofdspec.org/2016"><ofd:CommonData><ofd:MaxUnitID>1</ofd:MaxUnitID><ofd:PageArea><ofd:PhysicalBox>0 0 210 297</ofd:PhysicalBox></ofd:PageArea></ofd:CommonData><ofd:Pages/></ofd:Document>"#,
    );
    let mut list = String::from(
        r#"<?xml version="1.0" encoding="UTF-8"?><ofd:Signatures xmlns:ofd="http://www.ofdspec.org/2016">"#,
    );
    for i in 0..n {
        list.push_str(&format!(
            r#"<ofd:Signature ID="{i}" Type="Seal" BaseLoc="Sign_{i}/Signature.xml"/>"#
        ));
    }
    list.push_str("</ofd:Signatures>");
    put("Doc_0/Signs/Signatures.xml", &list);
    z.finish().unwrap().into_inner()
}

#[test]
fn ofd_signatures_are_bounded() {
    let over = ofd_with_signatures(MAX_OFD_SIGNATURES + 1);
    let e = OfdPackage::read(&over)
        .unwrap()
        .signatures()
        .unwrap_err()
        .to_string();
    assert!(
        e.contains(&format!("more than {MAX_OFD_SIGNATURES}")),
        "{e}"
    );
    // At the bound the list is read (and fails on the first missing part,
    // not on the count).
    let at = ofd_with_signatures(MAX_OFD_SIGNATURES);
    let e = OfdPackage::read(&at)
        .unwrap()
        .signatures()
        .unwrap_err()
        .to_string();
    assert!(!e.contains("more than"), "{e}");
}

fn key_and_cert() -> (PrivateKey, Vec<u8>) {
    let dir = tempfile::tempdir().unwrap();
    let mut opts = yinzheng_ca::InitOptions::new("CN=Bounds Root,O=Yinzheng,C=CN");
    opts.key_encryption = yinzheng_crypto::KeyEncryption::default().with_iterations(1000);
    let mut d = yinzheng_ca::TrustDomain::init_in(
        &dir.path().join("pki"),
        &yinzheng_tests::store_backend(&dir.path().join("pki")),
        &opts,
        b"pw",
    )
    .unwrap();
    let i = d
        .issue(yinzheng_ca::IssueRequest {
            profile: "seal-signer",
            subject: Some("CN=Bounds Signer,O=Yinzheng,C=CN"),
            extras: yinzheng_pki::SubjectExtras {
                uscc: Some("91350100M000100Y43".into()),
                ..Default::default()
            },
            key: yinzheng_ca::KeySource::Generate,
            not_before: None,
            issuer: None,
            days: None,
        })
        .unwrap();
    (i.key.unwrap(), i.cert.der().to_vec())
}

#[test]
fn cms_certificates_and_attributes_are_bounded() {
    use yinzheng_cms::{MAX_CMS_ATTRIBUTES, MAX_CMS_CERTIFICATES, SignOptions, SignedData};
    let (key, cert) = key_and_cert();
    let sign = |opts: &SignOptions| {
        yinzheng_cms::sign_detached(&key, &cert, &[b"data"], opts, None).unwrap()
    };
    // Certificates: the signer's own plus `n - 1` more, all different (a
    // SET OF keeps one of equal elements); the parser counts before it reads
    // any of them, so small SEQUENCEs stand in.
    let with_certs = |n: usize| SignOptions {
        chain: (0..n - 1)
            .map(|i| vec![0x30, 0x04, 0x02, 0x02, (i >> 8) as u8, i as u8])
            .collect(),
        ..Default::default()
    };
    assert!(SignedData::parse(&sign(&with_certs(MAX_CMS_CERTIFICATES))).is_ok());
    let e = SignedData::parse(&sign(&with_certs(MAX_CMS_CERTIFICATES + 1)))
        .unwrap_err()
        .to_string();
    assert!(
        e.contains(&format!("more than {MAX_CMS_CERTIFICATES}")),
        "{e}"
    );
    // Unsigned attributes.
    let with_attrs = |n: usize| SignOptions {
        unsigned_attributes: (0..n)
            .map(|i| (format!("1.2.3.4.{i}"), vec![0x05, 0x00]))
            .collect(),
        ..Default::default()
    };
    assert!(SignedData::parse(&sign(&with_attrs(MAX_CMS_ATTRIBUTES))).is_ok());
    let e = SignedData::parse(&sign(&with_attrs(MAX_CMS_ATTRIBUTES + 1)))
        .unwrap_err()
        .to_string();
    assert!(
        e.contains(&format!("more than {MAX_CMS_ATTRIBUTES}")),
        "{e}"
    );
}

#[test]
fn verification_stops_at_the_callers_deadline() {
    use std::time::{Duration, Instant};
    use yinzheng_document::{Error, TrustContext, VerifyRequest};
    let trust = TrustContext::new(yinzheng_pki::Validator::new(Vec::new()));
    let passed = VerifyRequest {
        deadline: Some(Instant::now() - Duration::from_secs(1)),
        ..Default::default()
    };
    let ofd = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../testdata/interop/ofdrw/SESV4SignDoc.ofd"
    ))
    .unwrap();
    for (what, bytes) in [("pdf", pdf_with_signature_fields(1)), ("ofd", ofd)] {
        match trust.verify(&bytes, &passed) {
            Err(Error::DeadlinePassed(at)) => {
                assert!(
                    at.contains("signature") || at.contains("part"),
                    "{what}: {at}"
                )
            }
            other => panic!("{what}: {other:?}"),
        }
        // Without a deadline (or before it) the same file gets its report.
        assert!(
            trust.verify(&bytes, &VerifyRequest::default()).is_ok(),
            "{what}"
        );
    }
}

/// A zip bomb inside the package limits (issue 19): 32 MiB of zeros deflate
/// to 32 KiB. With a 16 MiB budget the package is refused before anything
/// is inflated, naming the budget; within the default limits it is read.
#[test]
fn ofd_inflation_stays_within_the_callers_budget() {
    use yinzheng_document::{Error, TrustContext, VerifyRequest};
    let mut z = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let deflated = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    let stored =
        zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    z.start_file("OFD.xml", stored).unwrap();
    z.write_all(br#"<?xml version="1.0" encoding="UTF-8"?><ofd:OFD xmlns:ofd="http://www.ofdspec.org/2016" Version="1.0" DocType="OFD"><ofd:DocBody><ofd:DocInfo><ofd:DocID>x</ofd:DocID></ofd:DocInfo><ofd:DocRoot>Doc_0/Document.xml</ofd:DocRoot></ofd:DocBody></ofd:OFD>"#).unwrap();
    z.start_file("Doc_0/Res/bomb.bin", deflated).unwrap();
    let zeros = vec![0u8; 1 << 20];
    for _ in 0..32 {
        z.write_all(&zeros).unwrap();
    }
    let bomb = z.finish().unwrap().into_inner();
    assert!(bomb.len() < 256 << 10, "{}", bomb.len());

    let started = std::time::Instant::now();
    let e = OfdPackage::read_within(&bomb, 16 << 20, None)
        .err()
        .unwrap();
    assert!(
        e.to_string()
            .contains(&format!("larger than {} bytes", 16 << 20)),
        "{e}"
    );
    assert!(started.elapsed() < std::time::Duration::from_millis(500));
    let trust = TrustContext::new(yinzheng_pki::Validator::new(Vec::new()));
    let budget = VerifyRequest {
        max_inflated: Some(16 << 20),
        ..Default::default()
    };
    assert!(matches!(trust.verify(&bomb, &budget), Err(Error::Zip(_))));
    // The same package within the default limits is read (and its 32 MiB
    // part inflated).
    let pkg = OfdPackage::read(&bomb).unwrap();
    assert_eq!(pkg.part("Doc_0/Res/bomb.bin").unwrap().len(), 32 << 20);
}
