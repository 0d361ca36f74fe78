//! Documents: CMS SignedData (SM2 and P-256, detached over 1 KiB, OpenSSL 3's
//! CMS side by side for P-256), sealing and verifying PDFs (national SM2 with
//! a seal and picture, international P-256; a one-page notice and a 5 MB scan)
//! and OFD (generate a license, stamp it, verify it).
//!
//! `cargo bench -p yinzheng-benches --bench document` (about 1.5 minutes).
//! Needs a CJK font (fonts-wqy-microhei) for the seal picture and the OFD.
//! With `$YINZHENG_PYHANKO` set to a pyHanko CLI, also prints the wall time of
//! `pyhanko sign validate` (a whole process, Python start-up included).

#![allow(clippy::unwrap_used, missing_docs)]

use criterion::{Criterion, criterion_group, criterion_main};
use openssl::cms::{CMSOptions, CmsContentInfo};
use openssl::pkey::PKey;
use openssl::stack::Stack;
use openssl::x509::X509;
use std::hint::black_box;
use std::path::Path;
use std::time::{Duration, Instant};
use yinzheng_ca::{InitOptions, IssueRequest, KeySource, TrustDomain};
use yinzheng_cms::{SignOptions, SignedData, VerifyOptions, sign_detached};
use yinzheng_crypto::{KeyAlgorithm, KeyEncryption, PrivateKey};
use yinzheng_document::{
    CmsVerifyContext, OfdDocumentSpec, OfdFont, OfdLine, OfdPage, PdfPosition, PdfSealAppearance,
    PdfSealer, PdfStampOptions, Placement, seal_pdf, stamp_ofd, verify_ofd, verify_pdf, write_ofd,
};
use yinzheng_pki::{Crl, ParsedCert, SubjectExtras, Validator};
use yinzheng_seal::{MakerTrust, Picture, Seal, SealBuilder, SealType};

/// A trust domain (root + issuing CA, CRLs) with a seal signer, and for SM2 a
/// seal maker and a seal showing a drawn round seal.
struct Domain {
    _dir: tempfile::TempDir,
    root: ParsedCert,
    issuing: ParsedCert,
    crls: Vec<Crl>,
    key: PrivateKey,
    cert: ParsedCert,
    seal: Option<Seal>,
    tsa: yinzheng_cms::TimeStampAuthority,
}

impl Domain {
    fn new(alg: KeyAlgorithm, png: &[u8]) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let mut opts = InitOptions::new("CN=Bench Root CA,O=Yinzheng,C=CN");
        opts.key_algorithm = alg;
        opts.key_encryption = KeyEncryption::default().with_iterations(1000);
        let mut domain = TrustDomain::init_in(
            &dir.path().join("pki"),
            &yinzheng_store::Backend::Embedded,
            &opts,
            b"pw",
        )
        .unwrap();
        let mut issue = |profile: &str, subject: &str, uscc: Option<&str>| {
            let key = PrivateKey::generate(alg).unwrap();
            let i = domain
                .issue(IssueRequest {
                    profile,
                    subject: Some(subject),
                    extras: SubjectExtras {
                        uscc: uscc.map(str::to_string),
                        ..Default::default()
                    },
                    key: KeySource::OwnKey(key.public_key()),
                    not_before: None,
                    days: None,
                    issuer: None,
                })
                .unwrap();
            (key, i.cert)
        };
        let (key, cert) = issue(
            "seal-signer",
            "CN=Example Org,O=Example Org,C=CN",
            Some("91350100M000100Y43"),
        );
        let seal = (alg == KeyAlgorithm::Sm2).then(|| {
            let maker = issue("seal-maker", "CN=Seal Maker,O=Yinzheng,C=CN", None);
            let now = time::OffsetDateTime::now_utc();
            let picture = Picture {
                kind: "PNG".into(),
                data: png.to_vec(),
                width_mm: 40,
                height_mm: 40,
            };
            SealBuilder::new(
                "bench-1",
                "示例科技有限公司 合同专用章",
                SealType::Contract,
                picture,
            )
            .signer_cert(cert.der())
            .validity(
                now - time::Duration::days(1),
                now + time::Duration::days(30),
            )
            .sign(&maker.0, maker.1.der())
            .unwrap()
        });
        let (tsa_key, tsa_cert) = issue("tsa", "CN=Bench TSA,O=Yinzheng,C=CN", None);
        let tsa = yinzheng_cms::TimeStampAuthority::new(
            Box::new(tsa_key),
            tsa_cert.der().to_vec(),
            vec![],
            None,
        )
        .unwrap();
        let crls = domain.crl(24).unwrap();
        Domain {
            tsa,
            root: domain.root().clone(),
            issuing: domain.issuing().clone(),
            crls,
            key,
            cert,
            seal,
            _dir: dir,
        }
    }

    /// A fresh validator (empty chain cache) trusting the root, with the CRLs.
    fn validator(&self) -> Validator {
        Validator::new(vec![self.root.clone()]).with_crls(self.crls.clone())
    }

    fn sealer(&self) -> PdfSealer<'_> {
        PdfSealer {
            signer: &self.key,
            certificate: self.cert.der(),
            chain: vec![self.issuing.der().to_vec()],
            seal: self.seal.as_ref(),
            tsa: None,
        }
    }
}

fn picture() -> Vec<u8> {
    let font = yinzheng_seal::SealFont::find()
        .expect("a CJK font for the seal picture (apt-get install fonts-wqy-microhei)");
    yinzheng_seal::draw_round(&font, "示例科技有限公司", "合同专用章", 40.0).unwrap()
}

fn sample(name: &str) -> Vec<u8> {
    std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../scripts/samples")
            .join(name),
    )
    .unwrap()
}

/// A one-page PDF of about 5 MB: a page-filling uncompressed RGB image (a
/// "scan", 1,300 × 1,300 px, pseudo-random so nothing compresses it away)
/// and a line of text; classic cross-reference table.
fn big_pdf() -> Vec<u8> {
    const SIDE: usize = 1300;
    let mut pixels = Vec::with_capacity(SIDE * SIDE * 3);
    let mut x: u32 = 0x9e37_79b9;
    while pixels.len() < SIDE * SIDE * 3 {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        pixels.extend_from_slice(&x.to_le_bytes()[..3]);
    }
    let content =
        b"q 595 0 0 842 0 0 cm /Im1 Do Q\nBT /F1 20 Tf 72 760 Td (Scanned contract) Tj ET\n";
    let mut pdf = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n".to_vec();
    let mut offsets = Vec::new();
    let mut obj = |pdf: &mut Vec<u8>, head: &str, stream: Option<&[u8]>| {
        offsets.push(pdf.len());
        pdf.extend_from_slice(format!("{} 0 obj\n{head}", offsets.len()).as_bytes());
        if let Some(s) = stream {
            pdf.extend_from_slice(b"\nstream\n");
            pdf.extend_from_slice(s);
            pdf.extend_from_slice(b"\nendstream");
        }
        pdf.extend_from_slice(b"\nendobj\n");
    };
    obj(&mut pdf, "<< /Type /Catalog /Pages 2 0 R >>", None);
    obj(&mut pdf, "<< /Type /Pages /Kids [3 0 R] /Count 1 >>", None);
    obj(
        &mut pdf,
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 5 0 R >> \
         /XObject << /Im1 6 0 R >> >> /Contents 4 0 R >>",
        None,
    );
    obj(
        &mut pdf,
        &format!("<< /Length {} >>", content.len()),
        Some(content),
    );
    obj(
        &mut pdf,
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
        None,
    );
    obj(
        &mut pdf,
        &format!(
            "<< /Type /XObject /Subtype /Image /Width {SIDE} /Height {SIDE} /ColorSpace /DeviceRGB \
             /BitsPerComponent 8 /Length {} >>",
            pixels.len()
        ),
        Some(&pixels),
    );
    let xref = pdf.len();
    pdf.extend_from_slice(
        format!("xref\n0 {}\n0000000000 65535 f \n", offsets.len() + 1).as_bytes(),
    );
    for o in &offsets {
        pdf.extend_from_slice(format!("{o:010} 00000 n \n").as_bytes());
    }
    pdf.extend_from_slice(
        format!(
            "trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n",
            offsets.len() + 1
        )
        .as_bytes(),
    );
    pdf
}

fn stamp_options(png: &[u8]) -> PdfStampOptions {
    let now = time::OffsetDateTime::now_utc().to_offset(time::macros::offset!(+8));
    let mut o = PdfStampOptions::new(now);
    o.position = PdfPosition::At {
        x_mm: 120.0,
        y_mm: 60.0,
    };
    o.appearance = Some(PdfSealAppearance {
        png: png.to_vec(),
        width_mm: 40.0,
        height_mm: 40.0,
        text_line: Some("Example Org 2026-11-23".into()),
    });
    o.reason = Some("Approval".into());
    o
}

fn pdf_context<'a>(
    validator: &'a Validator,
    intermediates: &'a [ParsedCert],
) -> CmsVerifyContext<'a> {
    CmsVerifyContext {
        validator,
        intermediates,
        makers: MakerTrust::Policy,
        registry: None,
        sm2_id: None,
        deadline: None,
    }
}

fn configure(g: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>) {
    g.sample_size(10)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2));
}

fn cms(c: &mut Criterion) {
    let png = picture();
    let content: Vec<u8> = (0..1024u32).map(|i| (i * 7 + 3) as u8).collect();
    let mut g = c.benchmark_group("cms_1KiB");
    configure(&mut g);
    for (label, alg) in [
        ("sm2", KeyAlgorithm::Sm2),
        ("p256", KeyAlgorithm::EcdsaP256),
    ] {
        let d = Domain::new(alg, &png);
        let opts = SignOptions {
            chain: vec![d.issuing.der().to_vec()],
            ..SignOptions::default()
        };
        let sign = || sign_detached(&d.key, d.cert.der(), &[&content], &opts, None).unwrap();
        let verify = |der: &[u8]| {
            SignedData::parse(der)
                .unwrap()
                .verify_signer(0, Some(&[&content]), &VerifyOptions::default())
                .unwrap()
        };
        let ours = sign();
        verify(&ours);
        g.bench_function(format!("{label} sign: yinzheng"), |b| b.iter(&sign));
        g.bench_function(format!("{label} parse+verify: yinzheng"), |b| {
            b.iter(|| verify(black_box(&ours)))
        });
        if alg != KeyAlgorithm::EcdsaP256 {
            continue;
        }
        // OpenSSL 3.0: CMS_sign with the signer and the issuing CA, detached,
        // binary (its default signed attributes: contentType, signingTime,
        // messageDigest, SMIMECapabilities); CMS_verify without path validation.
        let x509 = X509::from_der(d.cert.der()).unwrap();
        let pkey = PKey::private_key_from_pkcs8(&d.key.to_pkcs8_der()).unwrap();
        let mut chain = Stack::new().unwrap();
        chain
            .push(X509::from_der(d.issuing.der()).unwrap())
            .unwrap();
        let flags = CMSOptions::DETACHED | CMSOptions::BINARY;
        let ossl_sign = || {
            CmsContentInfo::sign(
                Some(&x509),
                Some(&pkey),
                Some(&chain),
                Some(&content),
                flags,
            )
            .unwrap()
            .to_der()
            .unwrap()
        };
        let ossl_verify = |der: &[u8]| {
            CmsContentInfo::from_der(der)
                .unwrap()
                .verify(
                    None,
                    None,
                    Some(&content),
                    None,
                    flags | CMSOptions::NO_SIGNER_CERT_VERIFY,
                )
                .unwrap()
        };
        // Each accepts the other's.
        ossl_verify(&ours);
        verify(&ossl_sign());
        g.bench_function(format!("{label} sign: openssl"), |b| b.iter(ossl_sign));
        g.bench_function(format!("{label} parse+verify: openssl"), |b| {
            b.iter(|| ossl_verify(black_box(&ours)))
        });
    }
    g.finish();
}

fn pdf(c: &mut Criterion) {
    let png = picture();
    let small = sample("notice.pdf");
    let big = big_pdf();
    let opts = stamp_options(&png);
    let mut g = c.benchmark_group("pdf");
    configure(&mut g);
    let mut for_pyhanko = Vec::new();
    for (label, alg) in [
        ("national sm2+seal", KeyAlgorithm::Sm2),
        ("international p256", KeyAlgorithm::EcdsaP256),
    ] {
        let d = Domain::new(alg, &png);
        let inter = vec![d.issuing.clone()];
        let warm = d.validator();
        for (size, pdf) in [("notice 0.8 KB", &small), ("scan 5 MB", &big)] {
            let sealed = seal_pdf(pdf, &opts, &d.sealer()).unwrap();
            let ctx = |validator| pdf_context(validator, &inter);
            println!(
                "pdf: {label}, {size}: {} bytes in, {} bytes sealed",
                pdf.len(),
                sealed.len()
            );
            let r = verify_pdf(&sealed, &ctx(&warm)).unwrap();
            assert!(r.passed(), "{r}");
            g.bench_function(format!("seal {label}, {size}"), |b| {
                b.iter(|| seal_pdf(black_box(pdf), &opts, &d.sealer()).unwrap())
            });
            g.bench_function(format!("verify {label}, {size}, warm chain cache"), |b| {
                b.iter(|| {
                    assert!(
                        verify_pdf(black_box(&sealed), &ctx(&warm))
                            .unwrap()
                            .passed()
                    )
                })
            });
            g.bench_function(format!("verify {label}, {size}, cold validator"), |b| {
                b.iter(|| {
                    let v = d.validator();
                    assert!(
                        verify_pdf(black_box(&sealed), &pdf_context(&v, &inter))
                            .unwrap()
                            .passed()
                    )
                })
            });
            if size.starts_with("notice") {
                // B-LTA: the validation data in the DSS and a document time
                // stamp; verified with the root alone (no CRL given), so
                // every verification builds its own validator from the DSS.
                let material = yinzheng_document::DssMaterial {
                    certs: vec![d.issuing.der().to_vec(), d.root.der().to_vec()],
                    crls: d.crls.iter().map(|c| c.der().to_vec()).collect(),
                    ocsps: vec![],
                };
                let lta = yinzheng_document::time_stamp_pdf(
                    &yinzheng_document::add_dss(&sealed, &material, &[]).unwrap(),
                    &d.tsa,
                    time::OffsetDateTime::now_utc(),
                )
                .unwrap();
                let root_only = Validator::new(vec![d.root.clone()]);
                let r = verify_pdf(&lta, &pdf_context(&root_only, &[])).unwrap();
                assert!(r.passed(), "{r}");
                g.bench_function(
                    format!("verify {label}, {size}, B-LTA from the file"),
                    |b| {
                        b.iter(|| {
                            assert!(
                                verify_pdf(black_box(&lta), &pdf_context(&root_only, &[]))
                                    .unwrap()
                                    .passed()
                            )
                        })
                    },
                );
            }
            if alg == KeyAlgorithm::EcdsaP256 {
                for_pyhanko.push((size, sealed, d.root.to_pem()));
            }
        }
    }
    g.finish();
    pyhanko_reference(&for_pyhanko);
}

/// For reference only: the wall time of `pyhanko sign validate` (one process
/// per run, Python start-up included, revocation not checked) over the
/// international seals, when `$YINZHENG_PYHANKO` names the CLI.
fn pyhanko_reference(files: &[(&str, Vec<u8>, String)]) {
    let Some(cli) = std::env::var_os("YINZHENG_PYHANKO") else {
        println!("pyHanko reference skipped: set YINZHENG_PYHANKO to the pyhanko CLI");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    for (size, pdf, root) in files {
        std::fs::write(dir.path().join("root.pem"), root).unwrap();
        std::fs::write(dir.path().join("sealed.pdf"), pdf).unwrap();
        let run = || {
            let out = std::process::Command::new(&cli)
                .args([
                    "sign",
                    "validate",
                    "--no-revocation-check",
                    "--trust",
                    "root.pem",
                    "--trust-replace",
                    "sealed.pdf",
                ])
                .current_dir(dir.path())
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "pyHanko: {}",
                String::from_utf8_lossy(&out.stdout)
            );
        };
        run();
        const RUNS: u32 = 10;
        let t = Instant::now();
        for _ in 0..RUNS {
            run();
        }
        let per = t.elapsed() / RUNS;
        println!(
            "pdf/pyhanko sign validate (process), international p256, {size}: {:.1} ms per run ({RUNS} runs)",
            per.as_secs_f64() * 1e3
        );
    }
}

fn license() -> OfdDocumentSpec {
    let face = OfdPage::titled("营业执照")
        .kv("统一社会信用代码", "91350100M000100Y43")
        .kv("名称", "福州示例科技有限公司")
        .kv("类型", "有限责任公司（自然人投资或控股）")
        .kv("法定代表人", "张三")
        .kv("注册资本", "壹佰万圆整")
        .kv("成立日期", "2020年01月15日")
        .kv("住所", "福建省福州市鼓楼区五四路1号")
        .kv(
            "经营范围",
            "一般项目：软件开发；信息技术咨询服务；数据处理服务；电子印章与电子证照系统的研发、\
             销售及技术服务。除依法须经批准的项目外，凭营业执照依法自主开展经营活动。",
        )
        .line(OfdLine::Blank)
        .text("登记机关：福州市市场监督管理局");
    let mut spec = OfdDocumentSpec::new(
        "营业执照 91350100M000100Y43",
        time::macros::date!(2024 - 05 - 20),
        vec![face],
    );
    spec.author = Some("福州市市场监督管理局".into());
    spec
}

fn ofd(c: &mut Criterion) {
    let font = OfdFont::find().expect("a CJK font (apt-get install fonts-wqy-microhei)");
    let spec = license();
    let png = picture();
    let d = Domain::new(KeyAlgorithm::Sm2, &png);
    let seal = d.seal.as_ref().unwrap();
    let inter = vec![d.issuing.clone()];
    let warm = d.validator();
    let ofd = write_ofd(&spec, &font).unwrap();
    let place = Placement {
        page: 1,
        x_mm: 125.0,
        y_mm: 118.0,
    };
    let stamp = || {
        stamp_ofd(
            black_box(&ofd),
            seal,
            &d.key,
            d.cert.der(),
            place,
            time::OffsetDateTime::now_utc(),
        )
        .unwrap()
    };
    let sealed = stamp();
    let verify = |v: &Validator| {
        let r = verify_ofd(black_box(&sealed), v, MakerTrust::Policy, &inter, None).unwrap();
        assert!(r.passed(), "{r}");
    };
    verify(&warm);
    println!(
        "ofd: license {} bytes, sealed {} bytes (seal {} bytes)",
        ofd.len(),
        sealed.len(),
        seal.raw().len()
    );
    let mut g = c.benchmark_group("ofd");
    configure(&mut g);
    g.bench_function("write_ofd (1-page license, font subset)", |b| {
        b.iter(|| write_ofd(black_box(&spec), &font).unwrap())
    });
    g.bench_function("stamp_ofd (SM2 seal)", |b| b.iter(stamp));
    g.bench_function("verify_ofd, warm chain cache", |b| b.iter(|| verify(&warm)));
    g.bench_function("verify_ofd, cold validator", |b| {
        b.iter(|| verify(&d.validator()))
    });
    g.finish();
}

criterion_group!(benches, cms, pdf, ofd);
criterion_main!(benches);
