//! "Protect what is displayed": vendor-style OFD packages (OFD.xml left out,
//! an unprotected copy of the seal beside the signature, relative paths,
//! several signatures) verify, and every way of changing what a reader shows
//! without breaking a digest is named in the report.
//!
//! The packages are generated here: a document with every displayed kind of
//! part (resources with a font and an image, a template page, two pages with
//! a page resource, annotations, a visible and a hidden attachment, custom
//! tags), signed by `vendor_sign`, which writes Signature.xml the way the
//! vendors' signers do and lets each test choose what it protects.

#![allow(clippy::unwrap_used)]

#[path = "support/pki.rs"]
mod support;

use std::io::{Read, Write};
use support::{Pki, pki, pki_with_picture, validator};
use yinzheng_document::{OfdPackage, Placement, stamp_ofd, verify_ofd};
use yinzheng_pki::{CheckStatus, Indication, ParsedCert, SubIndication, VerificationReport};
use yinzheng_seal::MakerTrust;

const NS: &str = "xmlns:ofd=\"http://www.ofdspec.org/2016\"";

type Parts = Vec<(String, Vec<u8>)>;

/// A document with one part of each displayed kind, as vendor tools lay it out.
fn vendor_document() -> Parts {
    let x = |s: &str| format!("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n{s}").into_bytes();
    vec![
        (
            "OFD.xml".into(),
            x(&format!(
                "<ofd:OFD {NS} Version=\"1.0\" DocType=\"OFD\"><ofd:DocBody><ofd:DocInfo><ofd:DocID>a1</ofd:DocID>\
             <ofd:Title>电子发票</ofd:Title></ofd:DocInfo><ofd:DocRoot>Doc_0/Document.xml</ofd:DocRoot></ofd:DocBody></ofd:OFD>"
            )),
        ),
        (
            "Doc_0/Document.xml".into(),
            x(&format!(
                "<ofd:Document {NS}><ofd:CommonData><ofd:MaxUnitID>20</ofd:MaxUnitID><ofd:PageArea><ofd:PhysicalBox>0 0 210 140</ofd:PhysicalBox></ofd:PageArea>\
             <ofd:PublicRes>PublicRes.xml</ofd:PublicRes><ofd:DocumentRes>/Doc_0/DocumentRes.xml</ofd:DocumentRes>\
             <ofd:TemplatePage ID=\"2\" BaseLoc=\"Tpls/Tpl_0/Content.xml\"/></ofd:CommonData>\
             <ofd:Pages><ofd:Page ID=\"3\" BaseLoc=\"Pages/Page_0/Content.xml\"/><ofd:Page ID=\"4\" BaseLoc=\"Pages/Page_1/Content.xml\"/></ofd:Pages>\
             <ofd:Outlines><ofd:OutlineElem Title=\"发票\"/></ofd:Outlines>\
             <ofd:Annotations>Annots/Annotations.xml</ofd:Annotations><ofd:Attachments>Attachs/Attachments.xml</ofd:Attachments>\
             <ofd:CustomTags>Tags/CustomTags.xml</ofd:CustomTags></ofd:Document>"
            )),
        ),
        (
            "Doc_0/PublicRes.xml".into(),
            x(&format!(
                "<ofd:Res {NS} BaseLoc=\"Res\"><ofd:Fonts><ofd:Font ID=\"5\" FontName=\"宋体\"><ofd:FontFile>font_5.ttf</ofd:FontFile></ofd:Font></ofd:Fonts></ofd:Res>"
            )),
        ),
        (
            "Doc_0/DocumentRes.xml".into(),
            x(&format!(
                "<ofd:Res {NS} BaseLoc=\"Res\"><ofd:MultiMedias><ofd:MultiMedia ID=\"6\" Type=\"Image\" Format=\"PNG\"><ofd:MediaFile>image_6.png</ofd:MediaFile></ofd:MultiMedia></ofd:MultiMedias></ofd:Res>"
            )),
        ),
        (
            "Doc_0/Res/font_5.ttf".into(),
            b"\x00\x01\x00\x00 a font".to_vec(),
        ),
        ("Doc_0/Res/image_6.png".into(), b"\x89PNG an image".to_vec()),
        (
            "Doc_0/Tpls/Tpl_0/Content.xml".into(),
            x(&format!(
                "<ofd:Page {NS}><ofd:Content><ofd:Layer ID=\"7\"><ofd:TextObject ID=\"8\" Boundary=\"0 0 50 10\" Font=\"5\" Size=\"4\"><ofd:TextCode X=\"0\" Y=\"4\">模板</ofd:TextCode></ofd:TextObject></ofd:Layer></ofd:Content></ofd:Page>"
            )),
        ),
        (
            "Doc_0/Pages/Page_0/Content.xml".into(),
            x(&format!(
                "<ofd:Page {NS}><ofd:Template TemplateID=\"2\"/><ofd:PageRes>PageRes.xml</ofd:PageRes><ofd:Content><ofd:Layer ID=\"9\">\
             <ofd:TextObject ID=\"10\" Boundary=\"10 10 80 10\" Font=\"5\" Size=\"4\"><ofd:TextCode X=\"0\" Y=\"4\">价税合计 ¥100.00</ofd:TextCode></ofd:TextObject>\
             <ofd:ImageObject ID=\"11\" Boundary=\"10 30 20 20\" CTM=\"20 0 0 20 0 0\" ResourceID=\"6\"/></ofd:Layer></ofd:Content></ofd:Page>"
            )),
        ),
        (
            "Doc_0/Pages/Page_0/PageRes.xml".into(),
            x(&format!(
                "<ofd:Res {NS}><ofd:MultiMedias><ofd:MultiMedia ID=\"12\" Type=\"Image\"><ofd:MediaFile>logo.png</ofd:MediaFile></ofd:MultiMedia></ofd:MultiMedias></ofd:Res>"
            )),
        ),
        (
            "Doc_0/Pages/Page_0/logo.png".into(),
            b"\x89PNG a logo".to_vec(),
        ),
        (
            "Doc_0/Pages/Page_1/Content.xml".into(),
            x(&format!(
                "<ofd:Page {NS}><ofd:Content><ofd:Layer ID=\"13\"/></ofd:Content></ofd:Page>"
            )),
        ),
        (
            "Doc_0/Annots/Annotations.xml".into(),
            x(&format!(
                "<ofd:Annotations {NS}><ofd:Page PageID=\"3\"><ofd:FileLoc>Page_0/Annotation.xml</ofd:FileLoc></ofd:Page></ofd:Annotations>"
            )),
        ),
        (
            "Doc_0/Annots/Page_0/Annotation.xml".into(),
            x(&format!(
                "<ofd:PageAnnot {NS}><ofd:Annot ID=\"14\" Type=\"Stamp\"><ofd:Appearance Boundary=\"150 10 40 10\"><ofd:TextObject ID=\"15\" Boundary=\"0 0 40 10\" Font=\"5\" Size=\"4\"><ofd:TextCode X=\"0\" Y=\"4\">已验证</ofd:TextCode></ofd:TextObject></ofd:Appearance></ofd:Annot></ofd:PageAnnot>"
            )),
        ),
        (
            "Doc_0/Attachs/Attachments.xml".into(),
            x(&format!(
                "<ofd:Attachments {NS}><ofd:Attachment ID=\"16\" Name=\"明细\" Format=\"xml\"><ofd:FileLoc>details.xml</ofd:FileLoc></ofd:Attachment>\
             <ofd:Attachment ID=\"17\" Name=\"原始数据\" Format=\"xml\" Visible=\"false\"><ofd:FileLoc>original.xml</ofd:FileLoc></ofd:Attachment></ofd:Attachments>"
            )),
        ),
        (
            "Doc_0/Attachs/details.xml".into(),
            b"<details>100.00</details>".to_vec(),
        ),
        (
            "Doc_0/Attachs/original.xml".into(),
            b"<invoice>100.00</invoice>".to_vec(),
        ),
        (
            "Doc_0/Tags/CustomTags.xml".into(),
            x(&format!(
                "<ofd:CustomTags {NS}><ofd:CustomTag NameSpace=\"urn:invoice\"><ofd:FileLoc>invoice.xml</ofd:FileLoc></ofd:CustomTag></ofd:CustomTags>"
            )),
        ),
        (
            "Doc_0/Tags/invoice.xml".into(),
            b"<Invoice><Total>100.00</Total></Invoice>".to_vec(),
        ),
    ]
}

/// What the parts the vendors leave out are: the package's metadata and
/// bookkeeping, and what the document carries without showing.
fn vendor_protects(name: &str) -> bool {
    name != "OFD.xml"
        && !name.contains("/Signs/")
        && !name.starts_with("Doc_0/Tags/")
        && name != "Doc_0/Attachs/original.xml"
}

#[derive(Clone, Copy, PartialEq)]
enum Paths {
    /// `/Doc_0/Pages/…` everywhere.
    Absolute,
    /// FileRef relative to the package root, BaseLoc relative to the list,
    /// SignedValue and Seal relative to the Signature.xml folder.
    Relative,
    /// FileRef relative to the Signature.xml folder (`../../Pages/…`).
    FromSignature,
}

#[derive(Clone)]
enum SealCopy {
    /// No `Seal.esl`.
    None,
    /// `Seal.esl` (unprotected) holds these bytes, named by `<Seal><BaseLoc>`.
    Named(Vec<u8>),
    /// `Seal.esl` (unprotected) holds these bytes, named by nothing.
    Beside(Vec<u8>),
}

#[derive(Clone, Copy, PartialEq)]
enum Kind {
    Seal,
    Sign,
}

struct Vendor<'a> {
    kind: Kind,
    paths: Paths,
    copy: SealCopy,
    protects: &'a dyn Fn(&str) -> bool,
}

impl Default for Vendor<'_> {
    fn default() -> Self {
        Vendor {
            kind: Kind::Seal,
            paths: Paths::Absolute,
            copy: SealCopy::None,
            protects: &vendor_protects,
        }
    }
}

fn now() -> time::OffsetDateTime {
    time::OffsetDateTime::now_utc()
        .replace_nanosecond(0)
        .unwrap()
}

fn get<'a>(parts: &'a Parts, name: &str) -> &'a [u8] {
    &parts.iter().find(|(n, _)| n == name).unwrap().1
}

fn set(parts: &mut Parts, name: &str, data: Vec<u8>) {
    match parts.iter_mut().find(|(n, _)| n == name) {
        Some(p) => p.1 = data,
        None => parts.push((name.to_string(), data)),
    }
}

fn zip(parts: &Parts) -> Vec<u8> {
    let mut z = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let opts = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    for (n, d) in parts {
        z.start_file(n.as_str(), opts).unwrap();
        z.write_all(d).unwrap();
    }
    z.finish().unwrap().into_inner()
}

fn unzip(ofd: &[u8]) -> Parts {
    let mut z = zip::ZipArchive::new(std::io::Cursor::new(ofd)).unwrap();
    (0..z.len())
        .map(|i| {
            let mut f = z.by_index(i).unwrap();
            let mut d = Vec::new();
            f.read_to_end(&mut d).unwrap();
            (f.name().to_string(), d)
        })
        .collect()
}

fn text(parts: &Parts, name: &str) -> String {
    String::from_utf8(get(parts, name).to_vec()).unwrap()
}

/// Sign `parts` the way vendors' signers do: a new `Doc_0/Signs/Sign_N/`
/// with Signature.xml (References to what `v.protects`), SignedValue.dat, and
/// the seal copy `v.copy`; OFD.xml gains the Signatures list when it has none.
fn vendor_sign(parts: &Parts, p: &Pki, v: &Vendor<'_>) -> Parts {
    let mut parts = parts.clone();
    let ofd = text(&parts, "OFD.xml");
    if !ofd.contains("Signatures>") {
        let list = match v.paths {
            Paths::Absolute => "/Doc_0/Signs/Signatures.xml",
            _ => "Doc_0/Signs/Signatures.xml",
        };
        set(
            &mut parts,
            "OFD.xml",
            ofd.replace(
                "</ofd:DocBody>",
                &format!("<ofd:Signatures>{list}</ofd:Signatures></ofd:DocBody>"),
            )
            .into_bytes(),
        );
        set(
            &mut parts,
            "Doc_0/Signs/Signatures.xml",
            format!("<ofd:Signatures {NS}></ofd:Signatures>").into_bytes(),
        );
    }
    let n = (0..)
        .find(|n| {
            !parts
                .iter()
                .any(|(name, _)| name.starts_with(&format!("Doc_0/Signs/Sign_{n}/")))
        })
        .unwrap();
    let dir = format!("Doc_0/Signs/Sign_{n}");
    let mut refs = String::new();
    for (name, data) in &parts {
        if !(v.protects)(name) {
            continue;
        }
        let file_ref = match v.paths {
            Paths::Absolute => format!("/{name}"),
            Paths::Relative => name.clone(),
            Paths::FromSignature => match name.strip_prefix("Doc_0/") {
                Some(rest) => format!("../../{rest}"),
                None => format!("/{name}"),
            },
        };
        let digest = base64_encode(&yinzheng_crypto::sm3(data));
        refs.push_str(&format!(
            "<ofd:Reference FileRef=\"{file_ref}\"><ofd:CheckValue>{digest}</ofd:CheckValue></ofd:Reference>"
        ));
    }
    let (value_loc, seal_loc) = match v.paths {
        Paths::Absolute => (
            format!("/{dir}/SignedValue.dat"),
            format!("/{dir}/Seal.esl"),
        ),
        _ => ("SignedValue.dat".to_string(), "Seal.esl".to_string()),
    };
    let seal_xml = match &v.copy {
        SealCopy::Named(_) => format!("<ofd:Seal><ofd:BaseLoc>{seal_loc}</ofd:BaseLoc></ofd:Seal>"),
        _ => String::new(),
    };
    let stamp = if v.kind == Kind::Seal {
        format!(
            "<ofd:StampAnnot ID=\"{}\" PageRef=\"3\" Boundary=\"150 60 40 40\"/>",
            100 + n
        )
    } else {
        String::new()
    };
    let signature_xml = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<ofd:Signature {NS}><ofd:SignedInfo>\
         <ofd:Provider ProviderName=\"VendorSign\" Company=\"Vendor\" Version=\"3.1\"/>\
         <ofd:SignatureMethod>1.2.156.10197.1.501</ofd:SignatureMethod><ofd:SignatureDateTime>20240101120000</ofd:SignatureDateTime>\
         <ofd:References CheckMethod=\"1.2.156.10197.1.401\">{refs}</ofd:References>{stamp}{seal_xml}</ofd:SignedInfo>\
         <ofd:SignedValue>{value_loc}</ofd:SignedValue></ofd:Signature>"
    );
    let value = match v.kind {
        Kind::Seal => yinzheng_seal::stamp(
            &p.seal,
            &p.signer.0,
            p.signer.1.der(),
            signature_xml.as_bytes(),
            &format!("/{dir}/Signature.xml"),
            now(),
        )
        .unwrap()
        .raw()
        .to_vec(),
        Kind::Sign => yinzheng_cms::sign_detached(
            &p.signer.0,
            p.signer.1.der(),
            &[signature_xml.as_bytes()],
            &yinzheng_cms::SignOptions {
                flavour: yinzheng_cms::Flavour::GmT0010,
                signing_time: Some(now()),
                chain: vec![p.domain.issuing().der().to_vec()],
                ..Default::default()
            },
            None,
        )
        .unwrap(),
    };
    set(
        &mut parts,
        &format!("{dir}/Signature.xml"),
        signature_xml.into_bytes(),
    );
    set(&mut parts, &format!("{dir}/SignedValue.dat"), value);
    if let SealCopy::Named(b) | SealCopy::Beside(b) = &v.copy {
        set(&mut parts, &format!("{dir}/Seal.esl"), b.clone());
    }
    let base_loc = match v.paths {
        Paths::Absolute => format!("/{dir}/Signature.xml"),
        _ => format!("Sign_{n}/Signature.xml"),
    };
    let kind = if v.kind == Kind::Seal { "Seal" } else { "Sign" };
    let list = text(&parts, "Doc_0/Signs/Signatures.xml").replace(
        "</ofd:Signatures>",
        &format!(
            "<ofd:Signature ID=\"{}\" Type=\"{kind}\" BaseLoc=\"{base_loc}\"/></ofd:Signatures>",
            n + 1
        ),
    );
    set(&mut parts, "Doc_0/Signs/Signatures.xml", list.into_bytes());
    parts
}

fn base64_encode(b: &[u8]) -> String {
    yinzheng_crypto::base64::encode(b)
}

struct Env {
    p: Pki,
    v: yinzheng_pki::Validator,
    chain: Vec<ParsedCert>,
}

fn env() -> Env {
    let mut p = pki();
    let v = validator(&mut p);
    let chain = vec![p.domain.issuing().clone()];
    Env { p, v, chain }
}

impl Env {
    fn verify(&self, parts: &Parts) -> VerificationReport {
        verify_ofd(&zip(parts), &self.v, MakerTrust::Policy, &self.chain, None).unwrap()
    }
}

fn with(r: &VerificationReport, status: CheckStatus, id: &str, subject: &str) -> bool {
    r.checks()
        .iter()
        .any(|c| c.status == status && c.id == id && c.subject == subject)
}

fn failures(r: &VerificationReport) -> Vec<(String, String)> {
    r.checks()
        .iter()
        .filter(|c| c.status == CheckStatus::Failed)
        .map(|c| (c.id.clone(), c.subject.clone()))
        .collect()
}

#[test]
fn the_displayed_parts_are_found_by_walking_from_the_doc_root() {
    let pkg = OfdPackage::read(&zip(&vendor_document())).unwrap();
    let shown = pkg.displayed().unwrap();
    let parts: Vec<&str> = shown.parts().map(|(p, _)| p).collect();
    assert_eq!(
        parts,
        [
            "Doc_0/Annots/Annotations.xml",
            "Doc_0/Annots/Page_0/Annotation.xml",
            "Doc_0/Attachs/Attachments.xml",
            "Doc_0/Attachs/details.xml",
            "Doc_0/Document.xml",
            "Doc_0/DocumentRes.xml",
            "Doc_0/Pages/Page_0/Content.xml",
            "Doc_0/Pages/Page_0/PageRes.xml",
            "Doc_0/Pages/Page_0/logo.png",
            "Doc_0/Pages/Page_1/Content.xml",
            "Doc_0/PublicRes.xml",
            "Doc_0/Res/font_5.ttf",
            "Doc_0/Res/image_6.png",
            "Doc_0/Tpls/Tpl_0/Content.xml",
        ]
    );
    assert_eq!(shown.pages().len(), 2);
    let carried: Vec<&str> = shown.carried().map(|(p, _)| p).collect();
    assert_eq!(
        carried,
        [
            "Doc_0/Attachs/original.xml",
            "Doc_0/Tags/CustomTags.xml",
            "Doc_0/Tags/invoice.xml"
        ]
    );
    assert!(shown.missing().is_empty() && shown.malformed().is_empty());
}

#[test]
fn a_vendor_style_package_verifies_with_warnings_for_what_is_not_displayed() {
    let e = env();
    let signed = vendor_sign(&vendor_document(), &e.p, &Vendor::default());
    let r = e.verify(&signed);
    assert_eq!(r.indication(), Indication::TotalPassed, "{r}");
    // OFD.xml is metadata: a warning, not a failure.
    assert!(
        with(&r, CheckStatus::Warning, "unprotected", "OFD.xml"),
        "{r}"
    );
    for carried in [
        "Doc_0/Attachs/original.xml",
        "Doc_0/Tags/CustomTags.xml",
        "Doc_0/Tags/invoice.xml",
    ] {
        assert!(
            with(&r, CheckStatus::Warning, "unprotected", carried),
            "{carried}: {r}"
        );
    }
    // The signature's own files and the list are the signature: no finding.
    for own in [
        "Doc_0/Signs/Signatures.xml",
        "Doc_0/Signs/Sign_0/Signature.xml",
        "Doc_0/Signs/Sign_0/SignedValue.dat",
    ] {
        assert!(
            r.checks()
                .iter()
                .all(|c| c.subject != own || c.status == CheckStatus::Passed),
            "{own}: {r}"
        );
    }
    assert!(
        with(&r, CheckStatus::Passed, "document", "Doc_0/Document.xml"),
        "{r}"
    );
    assert!(
        with(&r, CheckStatus::Passed, "coverage", "Doc_0/Document.xml"),
        "{r}"
    );
}

#[test]
fn path_variants_verify() {
    let e = env();
    for paths in [Paths::Absolute, Paths::Relative, Paths::FromSignature] {
        let v = Vendor {
            paths,
            copy: SealCopy::Named(e.p.seal.raw().to_vec()),
            ..Vendor::default()
        };
        let signed = vendor_sign(&vendor_document(), &e.p, &v);
        let r = e.verify(&signed);
        assert_eq!(r.indication(), Indication::TotalPassed, "{r}");
        assert!(
            with(
                &r,
                CheckStatus::Warning,
                "seal-file",
                "Doc_0/Signs/Sign_0/Seal.esl"
            ),
            "{r}"
        );
    }
}

#[test]
fn an_unprotected_seal_copy_is_a_warning_when_identical_and_a_failure_when_different() {
    let e = env();
    let seal_file = "Doc_0/Signs/Sign_0/Seal.esl";
    for copy in [
        SealCopy::Named(e.p.seal.raw().to_vec()),
        SealCopy::Beside(e.p.seal.raw().to_vec()),
    ] {
        let v = Vendor {
            copy,
            ..Vendor::default()
        };
        let r = e.verify(&vendor_sign(&vendor_document(), &e.p, &v));
        assert_eq!(r.indication(), Indication::TotalPassed, "{r}");
        let c = r.checks().iter().find(|c| c.subject == seal_file).unwrap();
        assert_eq!(c.status, CheckStatus::Warning, "{r}");
        assert!(c.message.contains("byte-identical"), "{r}");
    }
    // Another seal (another picture, another maker signature) in the copy,
    // placed there by the signer or swapped in later: readers draw it.
    let other = pki_with_picture(yinzheng_seal::Picture {
        kind: "PNG".into(),
        data: b"\x89PNG another seal".to_vec(),
        width_mm: 40,
        height_mm: 40,
    });
    for copy in [
        SealCopy::Named(other.seal.raw().to_vec()),
        SealCopy::Beside(other.seal.raw().to_vec()),
    ] {
        let v = Vendor {
            copy,
            ..Vendor::default()
        };
        let r = e.verify(&vendor_sign(&vendor_document(), &e.p, &v));
        assert_eq!(r.indication(), Indication::TotalFailed, "{r}");
        assert_eq!(
            r.sub_indication(),
            Some(SubIndication::SigConstraintsFailure),
            "{r}"
        );
        assert_eq!(
            failures(&r),
            [("seal-file".to_string(), seal_file.to_string())],
            "{r}"
        );
        let c = r.checks().iter().find(|c| c.subject == seal_file).unwrap();
        assert!(
            c.message.contains("picture") && c.message.contains("maker signature"),
            "{r}"
        );
    }
    // Junk in place of the copy: nobody knows what a reader shows.
    let v = Vendor {
        copy: SealCopy::Named(b"not a seal".to_vec()),
        ..Vendor::default()
    };
    let r = e.verify(&vendor_sign(&vendor_document(), &e.p, &v));
    assert_eq!(
        failures(&r),
        [("seal-file".to_string(), seal_file.to_string())],
        "{r}"
    );
}

#[test]
fn replacing_a_protected_seal_copy_is_a_hash_failure_and_named() {
    // Our own stamper protects its Seal.esl; swapping it breaks the digest.
    let e = env();
    let sealed = stamp_ofd(
        &zip(&vendor_document()),
        &e.p.seal,
        &e.p.signer.0,
        e.p.signer.1.der(),
        Placement {
            page: 1,
            x_mm: 150.0,
            y_mm: 60.0,
        },
        now(),
    )
    .unwrap();
    let r = verify_ofd(&sealed, &e.v, MakerTrust::Policy, &e.chain, None).unwrap();
    assert_eq!(r.indication(), Indication::TotalPassed, "{r}");
    let other = pki_with_picture(yinzheng_seal::Picture {
        kind: "PNG".into(),
        data: b"\x89PNG another seal".to_vec(),
        width_mm: 40,
        height_mm: 40,
    });
    let mut parts = unzip(&sealed);
    set(
        &mut parts,
        "Doc_0/Signs/Sign_0/Seal.esl",
        other.seal.raw().to_vec(),
    );
    let r = e.verify(&parts);
    assert_eq!(r.sub_indication(), Some(SubIndication::HashFailure), "{r}");
    assert!(
        with(
            &r,
            CheckStatus::Failed,
            "reference",
            "Doc_0/Signs/Sign_0/Seal.esl"
        ),
        "{r}"
    );
    assert!(
        with(
            &r,
            CheckStatus::Failed,
            "seal-file",
            "Doc_0/Signs/Sign_0/Seal.esl"
        ),
        "{r}"
    );
}

#[test]
fn two_vendor_seals_and_a_seal_with_a_sign_signature_verify() {
    let e = env();
    let once = vendor_sign(&vendor_document(), &e.p, &Vendor::default());
    let twice = vendor_sign(
        &once,
        &e.p,
        &Vendor {
            paths: Paths::Relative,
            copy: SealCopy::Beside(e.p.seal.raw().to_vec()),
            ..Vendor::default()
        },
    );
    let r = e.verify(&twice);
    assert_eq!(r.indication(), Indication::TotalPassed, "{r}");
    assert_eq!(
        OfdPackage::read(&zip(&twice))
            .unwrap()
            .signatures()
            .unwrap()
            .len(),
        2
    );
    assert!(
        with(&r, CheckStatus::Passed, "document", "Doc_0/Document.xml"),
        "{r}"
    );

    let signed = vendor_sign(
        &once,
        &e.p,
        &Vendor {
            kind: Kind::Sign,
            ..Vendor::default()
        },
    );
    let r = e.verify(&signed);
    assert_eq!(r.indication(), Indication::TotalPassed, "{r}");
    assert!(r.to_string().contains("GB/T 35275 SignedData"), "{r}");
    // Editing a page breaks both signatures' References to it.
    let mut edited = signed.clone();
    set(
        &mut edited,
        "Doc_0/Pages/Page_1/Content.xml",
        b"<ofd:Page/>".to_vec(),
    );
    let r = e.verify(&edited);
    assert_eq!(r.sub_indication(), Some(SubIndication::HashFailure), "{r}");
    assert_eq!(
        failures(&r),
        vec![
            (
                "reference".to_string(),
                "Doc_0/Pages/Page_1/Content.xml".to_string()
            );
            2
        ],
        "{r}"
    );
}

#[test]
fn a_signature_that_leaves_out_a_displayed_part_fails_naming_it() {
    let e = env();
    let skip_logo = |n: &str| vendor_protects(n) && n != "Doc_0/Pages/Page_0/logo.png";
    let signed = vendor_sign(
        &vendor_document(),
        &e.p,
        &Vendor {
            protects: &skip_logo,
            ..Vendor::default()
        },
    );
    let r = e.verify(&signed);
    assert_eq!(
        r.sub_indication(),
        Some(SubIndication::SigConstraintsFailure),
        "{r}"
    );
    assert_eq!(
        failures(&r),
        [(
            "coverage".to_string(),
            "Doc_0/Pages/Page_0/logo.png".to_string()
        )],
        "{r}"
    );
    // A second signature that covers it: the first one's gap is a warning.
    let r = e.verify(&vendor_sign(&signed, &e.p, &Vendor::default()));
    assert_eq!(r.indication(), Indication::TotalPassed, "{r}");
    assert!(
        with(
            &r,
            CheckStatus::Warning,
            "coverage",
            "Doc_0/Signs/Sign_0/Signature.xml"
        ),
        "{r}"
    );
}

#[test]
fn changed_pages_fonts_and_images_are_hash_failures_naming_the_part() {
    let e = env();
    let signed = vendor_sign(&vendor_document(), &e.p, &Vendor::default());
    for part in [
        "Doc_0/Pages/Page_0/Content.xml",
        "Doc_0/Res/font_5.ttf",
        "Doc_0/Res/image_6.png",
        "Doc_0/Pages/Page_0/logo.png",
        "Doc_0/Tpls/Tpl_0/Content.xml",
        "Doc_0/Annots/Page_0/Annotation.xml",
        "Doc_0/Attachs/details.xml",
    ] {
        let mut changed = signed.clone();
        let mut data = get(&changed, part).to_vec();
        data.extend_from_slice(b"<!-- changed -->");
        set(&mut changed, part, data);
        let r = e.verify(&changed);
        assert_eq!(
            r.sub_indication(),
            Some(SubIndication::HashFailure),
            "{part}: {r}"
        );
        assert_eq!(
            failures(&r),
            [("reference".to_string(), part.to_string())],
            "{r}"
        );
    }
    // A displayed part deleted: its Reference fails and the document is
    // incomplete; the report is still HASH_FAILURE, naming it twice.
    let mut gone = signed.clone();
    gone.retain(|(n, _)| n != "Doc_0/Res/font_5.ttf");
    let r = e.verify(&gone);
    assert_eq!(r.sub_indication(), Some(SubIndication::HashFailure), "{r}");
    assert!(
        with(&r, CheckStatus::Failed, "reference", "Doc_0/Res/font_5.ttf"),
        "{r}"
    );
    assert!(
        with(&r, CheckStatus::Failed, "document", "font_5.ttf"),
        "{r}"
    );
}

#[test]
fn a_new_page_annotation_or_attachment_is_named() {
    let e = env();
    let signed = vendor_sign(&vendor_document(), &e.p, &Vendor::default());

    // A page added: Document.xml changes (HASH_FAILURE) and the new page is
    // displayed but unprotected; the changed reference decides the report
    // even though the coverage finding comes later.
    let mut added = signed.clone();
    let doc = text(&added, "Doc_0/Document.xml").replace(
        "</ofd:Pages>",
        "<ofd:Page ID=\"19\" BaseLoc=\"Pages/Page_2/Content.xml\"/></ofd:Pages>",
    );
    set(&mut added, "Doc_0/Document.xml", doc.into_bytes());
    set(
        &mut added,
        "Doc_0/Pages/Page_2/Content.xml",
        b"<ofd:Page><ofd:Content/></ofd:Page>".to_vec(),
    );
    let r = e.verify(&added);
    assert_eq!(r.sub_indication(), Some(SubIndication::HashFailure), "{r}");
    assert!(
        with(&r, CheckStatus::Failed, "reference", "Doc_0/Document.xml"),
        "{r}"
    );
    assert!(
        with(
            &r,
            CheckStatus::Failed,
            "coverage",
            "Doc_0/Pages/Page_2/Content.xml"
        ),
        "{r}"
    );

    // An annotation on page 2, listed in Annotations.xml.
    let mut annotated = signed.clone();
    let list = text(&annotated, "Doc_0/Annots/Annotations.xml").replace(
        "</ofd:Annotations>",
        "<ofd:Page PageID=\"4\"><ofd:FileLoc>Page_1/Annotation.xml</ofd:FileLoc></ofd:Page></ofd:Annotations>",
    );
    set(
        &mut annotated,
        "Doc_0/Annots/Annotations.xml",
        list.into_bytes(),
    );
    set(
        &mut annotated,
        "Doc_0/Annots/Page_1/Annotation.xml",
        b"<ofd:PageAnnot><ofd:Annot/></ofd:PageAnnot>".to_vec(),
    );
    let r = e.verify(&annotated);
    assert_eq!(r.sub_indication(), Some(SubIndication::HashFailure), "{r}");
    assert!(
        with(
            &r,
            CheckStatus::Failed,
            "coverage",
            "Doc_0/Annots/Page_1/Annotation.xml"
        ),
        "{r}"
    );

    // An attachment, listed in Attachments.xml.
    let mut attached = signed.clone();
    let list = text(&attached, "Doc_0/Attachs/Attachments.xml").replace(
        "</ofd:Attachments>",
        "<ofd:Attachment ID=\"20\" Name=\"收款账户\"><ofd:FileLoc>account.xml</ofd:FileLoc></ofd:Attachment></ofd:Attachments>",
    );
    set(
        &mut attached,
        "Doc_0/Attachs/Attachments.xml",
        list.into_bytes(),
    );
    set(
        &mut attached,
        "Doc_0/Attachs/account.xml",
        b"<account>6222...</account>".to_vec(),
    );
    let r = e.verify(&attached);
    assert_eq!(r.sub_indication(), Some(SubIndication::HashFailure), "{r}");
    assert!(
        with(
            &r,
            CheckStatus::Failed,
            "coverage",
            "Doc_0/Attachs/account.xml"
        ),
        "{r}"
    );
}

#[test]
fn a_file_a_reader_could_resolve_instead_of_the_signed_one_is_named() {
    // No protected file changes: the annotation's FileLoc "Page_0/Annotation.xml"
    // is relative to Annotations.xml's folder, but a reader resolving it from
    // the package root finds this one. Both count as displayed.
    let e = env();
    let mut shadowed = vendor_sign(&vendor_document(), &e.p, &Vendor::default());
    set(
        &mut shadowed,
        "Page_0/Annotation.xml",
        b"<ofd:PageAnnot><ofd:Annot/></ofd:PageAnnot>".to_vec(),
    );
    let r = e.verify(&shadowed);
    assert_eq!(
        r.sub_indication(),
        Some(SubIndication::SigConstraintsFailure),
        "{r}"
    );
    assert_eq!(
        failures(&r),
        [("coverage".to_string(), "Page_0/Annotation.xml".to_string())],
        "{r}"
    );
    // A file nothing refers to is only a warning (no reader shows it).
    let mut stray = vendor_sign(&vendor_document(), &e.p, &Vendor::default());
    set(
        &mut stray,
        "Doc_0/Pages/Page_7/Content.xml",
        b"<ofd:Page/>".to_vec(),
    );
    let r = e.verify(&stray);
    assert_eq!(r.indication(), Indication::TotalPassed, "{r}");
    assert!(
        with(
            &r,
            CheckStatus::Warning,
            "unprotected",
            "Doc_0/Pages/Page_7/Content.xml"
        ),
        "{r}"
    );
}

#[test]
fn a_doc_root_re_pointed_to_an_unsigned_copy_fails() {
    // OFD.xml is not protected (the vendor norm), so only the rule that each
    // signature signs the document DocRoot names stops this.
    let e = env();
    let signed = vendor_sign(&vendor_document(), &e.p, &Vendor::default());
    let mut forged = signed.clone();
    for (name, data) in signed
        .iter()
        .filter(|(n, _)| n.starts_with("Doc_0/") && !n.contains("/Signs/"))
    {
        let mut data = data.clone();
        if name == "Doc_0/Pages/Page_0/Content.xml" {
            data = String::from_utf8(data)
                .unwrap()
                .replace("100.00", "900.00")
                .into_bytes();
        }
        set(&mut forged, &name.replacen("Doc_0/", "Doc_1/", 1), data);
    }
    let ofd = text(&forged, "OFD.xml").replace("<ofd:DocRoot>Doc_0/", "<ofd:DocRoot>Doc_1/");
    set(&mut forged, "OFD.xml", ofd.into_bytes());
    let r = e.verify(&forged);
    assert_eq!(r.indication(), Indication::TotalFailed, "{r}");
    assert_eq!(
        r.sub_indication(),
        Some(SubIndication::SigConstraintsFailure),
        "{r}"
    );
    assert!(
        with(&r, CheckStatus::Failed, "document", "Doc_1/Document.xml"),
        "{r}"
    );
    assert!(
        with(
            &r,
            CheckStatus::Failed,
            "coverage",
            "Doc_1/Pages/Page_0/Content.xml"
        ),
        "{r}"
    );
    // The signed original is still there, and still intact, but not displayed.
    assert!(
        with(
            &r,
            CheckStatus::Passed,
            "reference",
            "Doc_0/Pages/Page_0/Content.xml"
        ),
        "{r}"
    );
}

#[test]
fn one_doc_body_with_its_own_signatures_list() {
    let e = env();
    let signed = vendor_sign(&vendor_document(), &e.p, &Vendor::default());
    // Two DocBody entries: which document is meant is unclear.
    let mut two = signed.clone();
    let ofd = text(&two, "OFD.xml");
    let body = &ofd[ofd.find("<ofd:DocBody>").unwrap()..ofd.find("</ofd:OFD>").unwrap()];
    let doubled = ofd.replace("</ofd:OFD>", &format!("{body}</ofd:OFD>"));
    set(&mut two, "OFD.xml", doubled.into_bytes());
    let r = e.verify(&two);
    assert_eq!(
        r.sub_indication(),
        Some(SubIndication::FormatFailure),
        "{r}"
    );
    assert!(r.checks()[0].message.contains("2 DocBody"), "{r}");
    // A Signatures list outside the DocBody is not the document's.
    let mut outside = signed.clone();
    let ofd = text(&outside, "OFD.xml");
    let list = "<ofd:Signatures>/Doc_0/Signs/Signatures.xml</ofd:Signatures>";
    let moved = ofd
        .replace(list, "")
        .replace("</ofd:OFD>", &format!("{list}</ofd:OFD>"));
    set(&mut outside, "OFD.xml", moved.into_bytes());
    let r = e.verify(&outside);
    assert_eq!(
        r.sub_indication(),
        Some(SubIndication::FormatFailure),
        "{r}"
    );
    assert!(
        with(&r, CheckStatus::Failed, "signatures", "OFD document"),
        "{r}"
    );
}

#[test]
fn a_displayed_part_that_is_missing_is_a_format_failure() {
    let e = env();
    let mut doc = vendor_document();
    doc.retain(|(n, _)| n != "Doc_0/Pages/Page_0/logo.png");
    let r = e.verify(&vendor_sign(&doc, &e.p, &Vendor::default()));
    assert_eq!(
        r.sub_indication(),
        Some(SubIndication::FormatFailure),
        "{r}"
    );
    assert_eq!(
        failures(&r),
        [("document".to_string(), "logo.png".to_string())],
        "{r}"
    );
    assert!(
        r.checks().iter().any(|c| c.message.contains("PageRes.xml")),
        "{r}"
    );
}

#[test]
fn our_writer_and_stamper_output_verifies_and_protects_everything_displayed() {
    let e = env();
    let font = yinzheng_document::OfdFont::find().unwrap();
    let spec = yinzheng_document::OfdDocumentSpec::new(
        "测试",
        time::macros::date!(2024 - 01 - 01),
        vec![yinzheng_document::OfdPage::titled("营业执照").kv("名称", "示例公司")],
    );
    let ofd = yinzheng_document::write_ofd(&spec, &font).unwrap();
    let sealed = stamp_ofd(
        &ofd,
        &e.p.seal,
        &e.p.signer.0,
        e.p.signer.1.der(),
        Placement {
            page: 1,
            x_mm: 120.0,
            y_mm: 40.0,
        },
        now(),
    )
    .unwrap();
    let r = verify_ofd(&sealed, &e.v, MakerTrust::Policy, &e.chain, None).unwrap();
    assert_eq!(r.indication(), Indication::TotalPassed, "{r}");
    // Nothing unprotected: our stamper also protects OFD.xml and its Seal.esl.
    assert!(
        r.checks().iter().all(|c| c.status == CheckStatus::Passed
            || !["unprotected", "seal-file", "coverage", "document"].contains(&c.id.as_str())),
        "{r}"
    );
    let pkg = OfdPackage::read(&sealed).unwrap();
    let shown = pkg.displayed().unwrap();
    assert!(
        shown.contains("Doc_0/Res/font_1.ttf"),
        "the embedded font is displayed"
    );
    let sig = &pkg.signatures().unwrap()[0];
    for (part, _) in shown.parts() {
        assert!(sig.references.iter().any(|(p, _)| p == part), "{part}");
    }
    assert_eq!(
        sig.seal_file.as_deref(),
        Some("Doc_0/Signs/Sign_0/Seal.esl")
    );
}

#[test]
fn a_check_value_that_is_not_canonical_base64_is_refused_and_named() {
    // The same SM3 digest spelt another way (no padding, the unused low bits
    // set, a line break inside) is not the signed text: refused before any
    // comparison, and the report says which CheckValue.
    let e = env();
    let signed = vendor_sign(&vendor_document(), &e.p, &Vendor::default());
    assert_eq!(e.verify(&signed).indication(), Indication::TotalPassed);
    let xml = text(&signed, "Doc_0/Signs/Sign_0/Signature.xml");
    let start = xml.find("<ofd:CheckValue>").expect("a CheckValue") + "<ofd:CheckValue>".len();
    let end = start + xml[start..].find('<').expect("its end");
    let value = &xml[start..end];
    assert!(value.len() == 44 && value.ends_with('='), "{value}");
    // The character before '=' carries 4 bits of data and 2 unused bits.
    let last = value.as_bytes()[42];
    let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let pos = alphabet.iter().position(|&c| c == last).expect("base64");
    let low_bits = format!("{}{}=", &value[..42], alphabet[pos | 1] as char);
    for variant in [
        value.trim_end_matches('=').to_string(),
        low_bits,
        format!("{}\n{}", &value[..20], &value[20..]),
    ] {
        let mut parts = signed.clone();
        let changed = format!("{}{variant}{}", &xml[..start], &xml[end..]);
        set(
            &mut parts,
            "Doc_0/Signs/Sign_0/Signature.xml",
            changed.into_bytes(),
        );
        let named = |m: &str| m.contains("CheckValue") && m.contains("not canonical base64");
        match verify_ofd(&zip(&parts), &e.v, MakerTrust::Policy, &e.chain, None) {
            // The package's signatures cannot be read: an error naming the value.
            Err(err) => assert!(named(&err.to_string()), "{variant:?}: {err}"),
            Ok(r) => {
                assert_ne!(r.indication(), Indication::TotalPassed, "{variant:?}: {r}");
                assert!(
                    r.checks()
                        .iter()
                        .any(|c| c.status == CheckStatus::Failed && named(&c.message)),
                    "{variant:?}: {r}"
                );
            }
        }
    }
}
