//! Sealed PDFs checked by independent verifiers: poppler's `pdfsig` (NSS),
//! pyHanko and qpdf accept our international (ECDSA P-256, PAdES) seals, one,
//! two on top of each other and with a signature time stamp (B-T), and reject a
//! flipped byte; our `verify_pdf` accepts pyHanko's signatures; in national
//! mode (SM2/SM3 with the seal signature carried) OpenSSL checks the CMS
//! signature and digest by hand, and the empty-SM2-ID variant with `cms -verify`.
//!
//! The test domains' certificates name an OCSP responder that the test serves
//! on 127.0.0.1 (the domain's own responder), so pdfsig's online revocation
//! check really runs. Peers missing fail the tests (yinzheng_tests helpers;
//! `certutil` from libnss3-tools).

#![allow(clippy::unwrap_used)]

mod pdf_util;

use pdf_util::*;
use std::net::TcpListener;
use std::path::Path;
use yinzheng_ca::{InitOptions, IssueRequest, KeySource, TrustDomain};
use yinzheng_crypto::{KeyAlgorithm, KeyEncryption, PrivateKey, Sm2Id};
use yinzheng_document::{
    CmsVerifyContext, PdfSealer, PdfStampOptions, PdfSubFilter, pdf_signatures, seal_pdf,
    signed_ranges, verify_pdf,
};
use yinzheng_pki::{
    CheckStatus, Indication, ParsedCert, RevocationPolicy, StoredCert, SubIndication,
    SubjectExtras, Validator, VerificationReport, ocsp::OcspResponder,
};
use yinzheng_seal::{MakerTrust, Picture, Seal, SealBuilder, SealType};

/// A trust domain (root + issuing CA, CRLs) and a seal signer under it.
struct Domain {
    _dir: tempfile::TempDir,
    domain: TrustDomain,
    key: PrivateKey,
    cert: ParsedCert,
    /// A second organisation's signer, for the second seal.
    other: (PrivateKey, ParsedCert),
    maker: Option<(PrivateKey, ParsedCert)>,
}

/// Answer OCSP requests (HTTP GET or POST) for the domain's certificates on
/// `listener`, from a background thread, until the process ends: pdfsig (NSS)
/// asks the responder named in the signer certificate and calls a certificate
/// with an unreachable responder an "Unknown issue".
fn serve_ocsp(listener: TcpListener, responder: OcspResponder, certs: Vec<StoredCert>) {
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut s) = stream else { continue };
            let _ = answer_ocsp(&mut s, &responder, &certs);
        }
    });
}

fn answer_ocsp(
    s: &mut std::net::TcpStream,
    responder: &OcspResponder,
    certs: &[StoredCert],
) -> std::io::Result<()> {
    use std::io::{Read, Write};
    s.set_read_timeout(Some(std::time::Duration::from_secs(5)))?;
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        let n = s.read(&mut chunk)?;
        if n == 0 {
            return Ok(());
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
    let mut words = head.split_whitespace();
    let (method, path) = (words.next().unwrap_or(""), words.next().unwrap_or(""));
    let request = if method == "POST" {
        let len: usize = head
            .lines()
            .find_map(|l| {
                let (k, v) = l.split_once(':')?;
                k.eq_ignore_ascii_case("content-length")
                    .then(|| v.trim().parse().ok())?
            })
            .unwrap_or(0);
        while buf.len() < head_end + len {
            let n = s.read(&mut chunk)?;
            if n == 0 {
                break;
            }
            buf.extend_from_slice(&chunk[..n]);
        }
        buf[head_end..].to_vec()
    } else {
        let b64 = path.rsplit('/').next().unwrap_or("");
        let b64 = b64
            .replace("%2B", "+")
            .replace("%2F", "/")
            .replace("%3D", "=")
            .replace("%2b", "+")
            .replace("%2f", "/")
            .replace("%3d", "=");
        yinzheng_crypto::base64::decode(&b64).unwrap_or_default()
    };
    let body = responder.respond(
        &request,
        |serial| {
            Ok::<_, std::convert::Infallible>(certs.iter().find(|c| c.serial == serial).cloned())
        },
        std::time::SystemTime::now(),
    );
    s.write_all(
        format!(
            "HTTP/1.0 200 OK\r\nContent-Type: application/ocsp-response\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            body.len()
        )
        .as_bytes(),
    )?;
    s.write_all(&body)
}

/// A trust domain of `alg` whose end-entity certificates name a live OCSP
/// responder on 127.0.0.1, with a seal signer (and for SM2 a seal maker).
fn domain(alg: KeyAlgorithm) -> Domain {
    let dir = yinzheng_tests::tempdir();
    let mut opts = InitOptions::new("CN=PDF Test Root CA,O=Yinzheng,C=CN");
    opts.key_algorithm = alg;
    opts.key_encryption = KeyEncryption::default().with_iterations(1000);
    let home = dir.path().join("pki");
    drop(TrustDomain::init_in(&home, &yinzheng_tests::store_backend(&home), &opts, b"pw").unwrap());
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let profiles = std::fs::read_to_string(home.join("profiles.toml")).unwrap();
    assert!(profiles.contains("http://127.0.0.1:8443/"), "{profiles}");
    std::fs::write(
        home.join("profiles.toml"),
        profiles.replace(
            "http://127.0.0.1:8443/",
            &format!("http://127.0.0.1:{port}/"),
        ),
    )
    .unwrap();
    let mut domain =
        TrustDomain::open_in(&home, &yinzheng_tests::store_backend(&home), Some(b"pw")).unwrap();
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
    let other = issue(
        "seal-signer",
        "CN=Second Org,O=Second Org,C=CN",
        Some("91110000600037341L"),
    );
    let maker = (alg == KeyAlgorithm::Sm2)
        .then(|| issue("seal-maker", "CN=Seal Maker,O=Yinzheng,C=CN", None));
    domain.time_stamp_authority().unwrap(); // created now so that OCSP knows it
    serve_ocsp(
        listener,
        domain.ocsp_responder_service(1, None).unwrap(),
        domain.issued().unwrap(),
    );
    Domain {
        _dir: dir,
        domain,
        key,
        cert,
        other,
        maker,
    }
}

impl Domain {
    fn validator(&mut self) -> Validator {
        Validator::new(vec![self.domain.root().clone()]).with_crls(self.domain.crl(24).unwrap())
    }

    fn sealer<'a>(
        &'a self,
        seal: Option<&'a Seal>,
        tsa: Option<&'a yinzheng_cms::TimeStampAuthority>,
    ) -> PdfSealer<'a> {
        PdfSealer {
            signer: &self.key,
            certificate: self.cert.der(),
            chain: vec![self.domain.issuing().der().to_vec()],
            seal,
            tsa,
        }
    }

    /// Write root.pem and issuing.pem into `dir`.
    fn write_pems(&self, dir: &Path) {
        std::fs::write(dir.join("root.pem"), self.domain.root().to_pem()).unwrap();
        std::fs::write(dir.join("issuing.pem"), self.domain.issuing().to_pem()).unwrap();
    }
}

fn now() -> time::OffsetDateTime {
    time::OffsetDateTime::now_utc().to_offset(time::macros::offset!(+8))
}

/// Visible seal options at (x, y) mm on page 1, signed now.
fn seal_opts(x_mm: f64, y_mm: f64, png: &[u8]) -> PdfStampOptions {
    let mut o = visible(1, x_mm, y_mm, png);
    o.signing_time = now();
    o
}

fn verify(pdf: &[u8], validator: &Validator, intermediates: &[ParsedCert]) -> VerificationReport {
    verify_pdf(
        pdf,
        &CmsVerifyContext {
            validator,
            intermediates,
            makers: MakerTrust::Policy,
            registry: None,
            sm2_id: None,
            deadline: None,
        },
    )
    .unwrap()
}

/// Messages of passed checks whose id is `id` (exactly).
fn passed<'a>(r: &'a VerificationReport, id: &str) -> Vec<&'a str> {
    r.checks()
        .iter()
        .filter(|c| c.id == id && c.status == CheckStatus::Passed)
        .map(|c| c.message.as_str())
        .collect()
}

/// An NSS database in `dir/nssdb` trusting `dir/root.pem`.
fn nssdb(dir: &Path) -> String {
    let db = dir.join("nssdb");
    std::fs::create_dir_all(&db).unwrap();
    let spec = format!("sql:{}", db.display());
    yinzheng_tests::run_ok("certutil", dir, &["-N", "-d", &spec, "--empty-password"]);
    yinzheng_tests::run_ok(
        "certutil",
        dir,
        &[
            "-A", "-d", &spec, "-n", "root", "-t", "CT,C,C", "-i", "root.pem",
        ],
    );
    spec
}

/// pdfsig's verdict per signature: (field name, signature valid, certificate trusted).
fn pdfsig(dir: &Path, nss: &str, name: &str, pdf: &[u8]) -> (Vec<(String, bool, bool)>, String) {
    std::fs::write(dir.join(name), pdf).unwrap();
    let out = yinzheng_tests::run_ok(&yinzheng_tests::pdfsig(), dir, &["-nssdir", nss, name]);
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let sigs = text
        .split("Signature #")
        .skip(1)
        .map(|s| {
            let field = s
                .lines()
                .find_map(|l| l.trim().strip_prefix("- Signature Field Name: "))
                .unwrap_or("?")
                .to_string();
            (
                field,
                s.contains("Signature Validation: Signature is Valid."),
                s.contains("Certificate Validation: Certificate is Trusted."),
            )
        })
        .collect();
    (sigs, text)
}

/// Every signature valid and trusted for pdfsig, and `count` of them.
fn pdfsig_all_valid(dir: &Path, nss: &str, name: &str, pdf: &[u8], count: usize) {
    let (sigs, text) = pdfsig(dir, nss, name, pdf);
    assert_eq!(sigs.len(), count, "pdfsig {name}: {text}");
    assert!(
        sigs.iter().all(|(_, valid, trusted)| *valid && *trusted),
        "pdfsig {name}: {text}"
    );
}

/// `pyhanko sign validate`: (exit success, stdout then stderr).
fn pyhanko_validate(dir: &Path, name: &str, pdf: &[u8], extra: &[&str]) -> (bool, String) {
    let (ok, stdout, stderr) = pyhanko_run(dir, name, pdf, extra);
    (ok, format!("{stdout}{stderr}"))
}

/// `pyhanko sign validate`: (exit success, stdout, stderr) — verdicts are
/// read from stdout only; stderr carries Python's warnings (a newer
/// `cryptography` prints a DSA deprecation there).
fn pyhanko_run(dir: &Path, name: &str, pdf: &[u8], extra: &[&str]) -> (bool, String, String) {
    std::fs::write(dir.join(name), pdf).unwrap();
    let mut args = vec![
        "sign",
        "validate",
        "--no-revocation-check",
        "--trust",
        "root.pem",
        "--trust-replace",
    ];
    args.extend_from_slice(extra);
    args.push(name);
    let out = std::process::Command::new(yinzheng_tests::pyhanko())
        .args(&args)
        .current_dir(dir)
        .output()
        .expect("pyhanko runs");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// pyHanko validates every signature of the file (one `field:…:VALID` line each).
fn pyhanko_all_valid(dir: &Path, name: &str, pdf: &[u8], count: usize) -> String {
    let (ok, stdout, stderr) = pyhanko_run(dir, name, pdf, &["--executive-summary"]);
    let verdicts: Vec<&str> = stdout.lines().filter(|l| l.contains(':')).collect();
    assert!(
        ok && verdicts.len() == count && verdicts.iter().all(|l| l.ends_with(":VALID")),
        "pyHanko {name}: {stdout}{stderr}"
    );
    stdout
}

/// Flip a byte of the first revision's page text ("Contract No. 2026-001"),
/// inside every signature's signed ranges.
fn tamper(pdf: &[u8]) -> Vec<u8> {
    let needle = b"Contract No. 2026-001";
    let at = pdf
        .windows(needle.len())
        .position(|w| w == needle)
        .expect("page text is stored uncompressed")
        + needle.len()
        - 1;
    for s in pdf_signatures(pdf).unwrap() {
        let [_, b, c, _] = s.byte_range;
        assert!(!(b..c).contains(&at), "the flipped byte is signed");
    }
    let mut t = pdf.to_vec();
    t[at] = b'7';
    t
}

#[yinzheng_tests::peer_test(pdfsig, poppler, pyhanko, qpdf)]
fn international_one_and_two_seals_accepted_by_peers_and_ours() {
    let mut d = domain(KeyAlgorithm::EcdsaP256);
    let dir = yinzheng_tests::tempdir();
    let p = dir.path();
    d.write_pems(p);
    let nss = nssdb(p);
    let png = seal_png();
    let base = base_pdf(false);
    let one = seal_pdf(&base, &seal_opts(60.0, 150.0, &png), &d.sealer(None, None)).unwrap();
    let second = PdfSealer {
        signer: &d.other.0,
        certificate: d.other.1.der(),
        ..d.sealer(None, None)
    };
    // The second seal is another organisation's: poppler 22.12 reads NSS's
    // error code without checking the verification result, and after an OCSP
    // cache hit (the same certificate twice) reports a stale error as
    // "Unknown issue"; the same signer twice is checked below without pdfsig's
    // certificate verdict.
    let two = seal_pdf(&one, &seal_opts(120.0, 210.0, &png), &second).unwrap();
    let validator = d.validator();
    let inter = vec![d.domain.issuing().clone()];
    for (name, pdf, n) in [("one.pdf", &one, 1), ("two.pdf", &two, 2)] {
        qpdf_check(p, name, pdf);
        pdfsig_all_valid(p, &nss, name, pdf, n);
        pyhanko_all_valid(p, name, pdf, n);
        let r = verify(pdf, &validator, &inter);
        assert!(r.passed(), "{r}");
    }
    let r = verify(&two, &validator, &inter);
    let coverage = passed(&r, "coverage");
    assert_eq!(coverage.len(), 2, "{r}");
    assert!(
        coverage[0].contains("make only changes allowed after signing")
            && coverage[0].contains("revision 3 added signature field Seal2"),
        "{r}"
    );
    assert!(coverage[1].contains("covers the whole document"), "{r}");

    // Rendered: the seal's red star shows at its centre, (80, 170) mm.
    let (w, _, px) = render(p, "one-render", &one, 1, 72);
    let mm = 72.0 / 25.4;
    let red = (-4..=4)
        .flat_map(|dx| (-4..=4).map(move |dy| (dx, dy)))
        .filter(|&(dx, dy)| {
            let x = (80.0 * mm) as i64 + dx;
            let y = (170.0 * mm) as i64 + dy;
            let i = (y as usize * w as usize + x as usize) * 3;
            px[i] > 150 && px[i + 1] < 110 && px[i + 2] < 110
        })
        .count();
    assert!(
        red > 10,
        "the sealed page shows red at the seal centre ({red})"
    );

    // One byte of page text flipped: every verifier says no.
    let bad = tamper(&two);
    let (sigs, text) = pdfsig(p, &nss, "bad.pdf", &bad);
    assert_eq!(sigs.len(), 2, "{text}");
    assert!(sigs.iter().all(|(_, valid, _)| !valid), "{text}");
    let (ok, text) = pyhanko_validate(p, "bad.pdf", &bad, &["--executive-summary"]);
    assert!(!ok, "pyHanko accepted a flipped byte: {text}");
    let r = verify(&bad, &validator, &inter);
    assert!(!r.passed(), "{r}");
    assert_eq!(r.sub_indication(), Some(SubIndication::HashFailure), "{r}");

    // The same signer twice: both signatures valid for everyone.
    let again = seal_pdf(&one, &seal_opts(120.0, 210.0, &png), &d.sealer(None, None)).unwrap();
    qpdf_check(p, "again.pdf", &again);
    let (sigs, text) = pdfsig(p, &nss, "again.pdf", &again);
    assert_eq!(sigs.len(), 2, "{text}");
    assert!(
        sigs.iter().all(|(_, valid, _)| *valid) && sigs[0].2,
        "{text}"
    );
    pyhanko_all_valid(p, "again.pdf", &again, 2);
    let r = verify(&again, &validator, &inter);
    assert!(r.passed(), "{r}");
}

/// PAdES B-T: the domain's TSA time-stamps the signature value; pdfsig and
/// pyHanko accept it, pyHanko and we report the time stamp valid.
#[yinzheng_tests::peer_test(pdfsig, pyhanko, qpdf)]
fn international_b_t_time_stamp() {
    let mut d = domain(KeyAlgorithm::EcdsaP256);
    let dir = yinzheng_tests::tempdir();
    let p = dir.path();
    d.write_pems(p);
    let nss = nssdb(p);
    let tsa = d.domain.time_stamp_authority().unwrap();
    let png = seal_png();
    let pdf = seal_pdf(
        &base_pdf(false),
        &seal_opts(60.0, 150.0, &png),
        &d.sealer(None, Some(&tsa)),
    )
    .unwrap();
    qpdf_check(p, "bt.pdf", &pdf);
    pdfsig_all_valid(p, &nss, "bt.pdf", &pdf, 1);
    pyhanko_all_valid(p, "bt.pdf", &pdf, 1);
    let (ok, text) = pyhanko_validate(p, "bt.pdf", &pdf, &["--pretty-print"]);
    assert!(
        ok && text.contains("The timestamp token is cryptographically sound.")
            && text.contains("The TSA certificate is trusted.")
            && text.contains("The signature is judged VALID."),
        "{text}"
    );
    let validator = d.validator();
    let r = verify(&pdf, &validator, &[d.domain.issuing().clone()]);
    assert!(r.passed(), "{r}");
    let ts = passed(&r, "time stamp");
    assert_eq!(ts.len(), 1, "{r}");
    assert!(ts[0].contains("Time-Stamping Authority"), "{r}");
}

/// OpenSSL-made P-256 CA and leaf (nonRepudiation, digitalSignature) in `dir`:
/// ca.pem, k.pem, c.pem.
fn openssl_p256_chain(dir: &Path) {
    let ok = |args: &[&str]| {
        yinzheng_tests::openssl_ok(dir, args);
    };
    ok(&[
        "ecparam",
        "-name",
        "prime256v1",
        "-genkey",
        "-noout",
        "-out",
        "ca.key",
    ]);
    ok(&[
        "req",
        "-new",
        "-x509",
        "-key",
        "ca.key",
        "-out",
        "ca.pem",
        "-days",
        "30",
        "-subj",
        "/CN=OpenSSL Test CA",
        "-addext",
        "basicConstraints=critical,CA:TRUE",
        "-addext",
        "keyUsage=critical,keyCertSign,cRLSign",
    ]);
    ok(&[
        "ecparam",
        "-name",
        "prime256v1",
        "-genkey",
        "-noout",
        "-out",
        "k.pem",
    ]);
    ok(&[
        "req",
        "-new",
        "-key",
        "k.pem",
        "-subj",
        "/CN=pyHanko Signer",
        "-out",
        "c.csr",
    ]);
    std::fs::write(
        dir.join("leaf.ext"),
        "keyUsage=critical,nonRepudiation,digitalSignature\nbasicConstraints=CA:FALSE\n",
    )
    .unwrap();
    ok(&[
        "x509",
        "-req",
        "-in",
        "c.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-days",
        "10",
        "-extfile",
        "leaf.ext",
        "-out",
        "c.pem",
    ]);
}

/// Signatures made by pyHanko (an independent PAdES signer) verify with ours,
/// one and two (the second on top of the first); a flipped byte fails.
#[yinzheng_tests::peer_test(openssl, pyhanko)]
fn pyhanko_signed_pdfs_verify_with_ours() {
    let dir = yinzheng_tests::tempdir();
    let p = dir.path();
    openssl_p256_chain(p);
    let sign = |input: &[u8], field: &str| {
        std::fs::write(p.join("in.pdf"), input).unwrap();
        yinzheng_tests::run_ok(
            &yinzheng_tests::pyhanko(),
            p,
            &[
                "sign",
                "addsig",
                "--use-pades",
                "--field",
                field,
                "pemder",
                "--key",
                "k.pem",
                "--cert",
                "c.pem",
                "--chain",
                "ca.pem",
                "--no-pass",
                "in.pdf",
                "out.pdf",
            ],
        );
        std::fs::read(p.join("out.pdf")).unwrap()
    };
    let one = sign(&base_pdf(false), "1/60,500,180,620/Seal1");
    let two = sign(&one, "2/60,500,180,620/Seal2");
    let ca = ParsedCert::load_all(&std::fs::read(p.join("ca.pem")).unwrap()).unwrap();
    let validator = Validator::new(ca).with_revocation(RevocationPolicy::DangerBestEffort);
    for (pdf, n) in [(&one, 1), (&two, 2)] {
        let r = verify(pdf, &validator, &[]);
        assert!(r.passed(), "{r}");
        assert_eq!(passed(&r, "coverage").len(), n, "{r}");
        let cms: Vec<&str> = passed(&r, "cms");
        assert_eq!(cms.len(), n, "{r}");
        assert!(
            cms.iter()
                .all(|m| m.contains("SHA-256") || m.contains("sha")),
            "{r}"
        );
    }
    let r = verify(&tamper(&two), &validator, &[]);
    assert!(!r.passed(), "{r}");
    assert_eq!(r.sub_indication(), Some(SubIndication::HashFailure), "{r}");
    // A validator that does not trust the OpenSSL CA says so.
    let other = domain(KeyAlgorithm::EcdsaP256);
    let stranger = Validator::new(vec![other.domain.root().clone()])
        .with_revocation(RevocationPolicy::DangerBestEffort);
    let r = verify(&one, &stranger, &[]);
    assert!(!r.passed(), "{r}");
}

/// `(start, end)` of the first element at `depth` whose line has `needle`, per
/// `openssl asn1parse`.
fn asn1_element(dir: &Path, file: &str, depth: usize, needle: &str) -> (usize, usize) {
    let out = yinzheng_tests::openssl_ok(dir, &["asn1parse", "-inform", "DER", "-in", file]);
    let text = String::from_utf8_lossy(&out.stdout);
    let field = |line: &str, key: &str| -> usize {
        line.split(key)
            .nth(1)
            .unwrap()
            .split_whitespace()
            .next()
            .unwrap()
            .parse()
            .unwrap()
    };
    let line = text
        .lines()
        .find(|l| l.contains(&format!("d={depth} ")) && l.contains(needle))
        .unwrap_or_else(|| panic!("no d={depth} {needle} in\n{text}"));
    let off: usize = line.split(':').next().unwrap().trim().parse().unwrap();
    (off, off + field(line, "hl=") + field(line, " l="))
}

/// The messageDigest signed attribute of a CMS, read by asn1crypto.
fn message_digest_by_asn1crypto(dir: &Path, cms_file: &str) -> String {
    let script = format!(
        "from asn1crypto import cms\n\
         ci = cms.ContentInfo.load(open('{cms_file}', 'rb').read())\n\
         si = ci['content']['signer_infos'][0]\n\
         print([a['values'][0].native for a in si['signed_attrs'] \
         if a['type'].native == 'message_digest'][0].hex())\n"
    );
    let out = yinzheng_tests::run_ok(&yinzheng_tests::peer_python(), dir, &["-c", &script]);
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// A national-mode seal of the domain's SM2 signer, made by the domain's maker.
fn national_seal(d: &Domain, png: &[u8]) -> Seal {
    let (maker_key, maker_cert) = d.maker.as_ref().unwrap();
    let now = time::OffsetDateTime::now_utc();
    SealBuilder::new(
        "pdf-1",
        "示例科技有限公司合同专用章",
        SealType::Contract,
        Picture {
            kind: "PNG".into(),
            data: png.to_vec(),
            width_mm: 40,
            height_mm: 40,
        },
    )
    .signer_cert(d.cert.der())
    .validity(
        now - time::Duration::days(1),
        now + time::Duration::days(30),
    )
    .sign(maker_key, maker_cert.der())
    .unwrap()
}

/// National mode: SM2/SM3 CMS under adbe.pkcs7.detached carrying the GB/T
/// 38540 seal signature. Ours verifies everything including the carried seal;
/// OpenSSL checks the SM2 signature over the signed attributes (GM/T ID) and
/// the SM3 messageDigest over the ByteRange by hand.
#[yinzheng_tests::peer_test(openssl, pyhanko, qpdf)]
fn national_sm2_seal_verifies_and_openssl_checks_the_cms() {
    let mut d = domain(KeyAlgorithm::Sm2);
    let dir = yinzheng_tests::tempdir();
    let p = dir.path();
    let seal = national_seal(&d, &seal_png());
    let mut opts = seal_opts(60.0, 150.0, &seal.picture().data);
    opts.sub_filter = PdfSubFilter::Pkcs7Detached;
    let pdf = seal_pdf(&base_pdf(true), &opts, &d.sealer(Some(&seal), None)).unwrap();
    qpdf_check(p, "national.pdf", &pdf);
    let validator = d.validator();
    let inter = vec![d.domain.issuing().clone()];
    let r = verify(&pdf, &validator, &inter);
    assert!(r.passed(), "{r}");
    let seal_checks: Vec<_> = r
        .checks()
        .iter()
        .filter(|c| c.id.contains("seal"))
        .collect();
    assert!(
        seal_checks.len() >= 3 && seal_checks.iter().all(|c| c.status != CheckStatus::Failed),
        "{r}"
    );
    assert!(
        seal_checks.iter().any(|c| c.id.contains("maker")),
        "the maker's signature on the seal is checked: {r}"
    );

    // OpenSSL: SM2 signature over the DER SET OF signed attributes.
    let sigs = pdf_signatures(&pdf).unwrap();
    assert_eq!(sigs.len(), 1);
    assert_eq!(sigs[0].sub_filter, "adbe.pkcs7.detached");
    let cms = &sigs[0].contents;
    std::fs::write(p.join("cms.der"), cms).unwrap();
    let (s, e) = asn1_element(p, "cms.der", 5, "cont [ 0 ]");
    let mut attrs = cms[s..e].to_vec();
    attrs[0] = 0x31;
    std::fs::write(p.join("attrs.der"), &attrs).unwrap();
    let (s, e) = asn1_element(p, "cms.der", 5, "OCTET STRING");
    let mut rd = yinzheng_crypto::asn1::Reader::new(&cms[s..e]);
    let t = rd.tlv_at(0, e - s, "signature").unwrap();
    std::fs::write(p.join("sig.der"), rd.bytes(&t)).unwrap();
    std::fs::write(p.join("signer.pub"), d.cert.public_key().unwrap().to_pem()).unwrap();
    let verify_raw = |attrs_file: &str| {
        yinzheng_tests::openssl_run(
            p,
            &[
                "pkeyutl",
                "-verify",
                "-pubin",
                "-inkey",
                "signer.pub",
                "-rawin",
                "-digest",
                "sm3",
                "-pkeyopt",
                "distid:1234567812345678",
                "-in",
                attrs_file,
                "-sigfile",
                "sig.der",
            ],
        )
    };
    let out = verify_raw("attrs.der");
    assert!(
        out.status.success()
            && String::from_utf8_lossy(&out.stdout).contains("Signature Verified Successfully"),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    // ... and not over anything else.
    let mut other = attrs.clone();
    let last = other.len() - 1;
    other[last] ^= 1;
    std::fs::write(p.join("other.der"), &other).unwrap();
    assert!(!verify_raw("other.der").status.success());

    // OpenSSL: the messageDigest is SM3 over the two ByteRange parts.
    let ranges = signed_ranges(&pdf, &sigs[0]).unwrap();
    std::fs::write(p.join("ranges.bin"), ranges.concat()).unwrap();
    let out = yinzheng_tests::openssl_ok(p, &["dgst", "-sm3", "-r", "ranges.bin"]);
    let sm3 = String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .next()
        .unwrap()
        .to_string();
    assert_eq!(sm3.len(), 64);
    assert_eq!(message_digest_by_asn1crypto(p, "cms.der"), sm3);

    // A flipped byte: HASH_FAILURE.
    let r = verify(&tamper(&pdf), &validator, &inter);
    assert_eq!(r.sub_indication(), Some(SubIndication::HashFailure), "{r}");
}

/// The OpenSSL-compatible empty SM2 ID (CMS only, no seal signature): OpenSSL
/// 3.0's `cms -verify` accepts the CMS over the ByteRange, and ours does with
/// `sm2_id: empty`.
#[yinzheng_tests::peer_test(openssl)]
fn national_empty_sm2_id_checked_by_openssl_cms_verify() {
    let mut d = domain(KeyAlgorithm::Sm2);
    let dir = yinzheng_tests::tempdir();
    let p = dir.path();
    let seal = national_seal(&d, &seal_png());
    let key = d.key.with_sm2_id(Sm2Id::danger_empty());
    let mut sealer = PdfSealer {
        signer: &key,
        certificate: d.cert.der(),
        chain: vec![d.domain.issuing().der().to_vec()],
        seal: Some(&seal),
        tsa: None,
    };
    let opts = seal_opts(60.0, 150.0, &seal.picture().data);
    // A GB/T 38540 seal signature is GM/T-ID only: refused rather than carried unverifiable.
    let e = seal_pdf(&base_pdf(false), &opts, &sealer).unwrap_err();
    assert!(e.to_string().contains("SM2 ID"), "{e}");
    sealer.seal = None;
    let pdf = seal_pdf(&base_pdf(false), &opts, &sealer).unwrap();
    let sigs = pdf_signatures(&pdf).unwrap();
    let ranges = signed_ranges(&pdf, &sigs[0]).unwrap();
    std::fs::write(p.join("cms.der"), &sigs[0].contents).unwrap();
    std::fs::write(p.join("ranges.bin"), ranges.concat()).unwrap();
    let cms_verify = |content: &str| {
        yinzheng_tests::openssl_run(
            p,
            &[
                "cms",
                "-verify",
                "-binary",
                "-inform",
                "DER",
                "-noverify",
                "-content",
                content,
                "-in",
                "cms.der",
                "-out",
                "/dev/null",
            ],
        )
    };
    let out = cms_verify("ranges.bin");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::write(p.join("other.bin"), tamper(&pdf)).unwrap();
    assert!(!cms_verify("other.bin").status.success());

    let validator =
        Validator::new(vec![d.domain.root().clone()]).with_crls(d.domain.crl(24).unwrap());
    let inter = vec![d.domain.issuing().clone()];
    let ctx = |id: Option<Sm2Id>| CmsVerifyContext {
        validator: &validator,
        intermediates: &inter,
        makers: MakerTrust::Policy,
        registry: None,
        sm2_id: id,
        deadline: None,
    };
    let r = verify_pdf(&pdf, &ctx(Some(Sm2Id::danger_empty()))).unwrap();
    assert!(r.passed(), "{r}");
    // With the GM/T default ID the same signature does not verify.
    let r = verify_pdf(&pdf, &ctx(None)).unwrap();
    assert!(!r.passed(), "{r}");
}

/// Time comes from proof (issue 18), in a national PDF: the signer is
/// revoked after sealing. Without a time stamp nothing proves the seal
/// predates the revocation: INDETERMINATE / REVOKED_NO_POE, never a pass. With
/// a time stamp from before the revocation it passes; a time stamp from after
/// it proves the signature came too late: TOTAL_FAILED / REVOKED.
#[test]
fn national_revoked_signer_is_judged_by_the_time_stamp_not_the_claim() {
    let mut d = domain(KeyAlgorithm::Sm2);
    let seal = national_seal(&d, &seal_png());
    let tsa = d.domain.time_stamp_authority().unwrap();
    let mut opts = seal_opts(60.0, 150.0, &seal.picture().data);
    opts.sub_filter = PdfSubFilter::Pkcs7Detached;
    let plain = seal_pdf(&base_pdf(true), &opts, &d.sealer(Some(&seal), None)).unwrap();
    let stamped = seal_pdf(&base_pdf(true), &opts, &d.sealer(Some(&seal), Some(&tsa))).unwrap();
    std::thread::sleep(std::time::Duration::from_millis(1500));
    d.domain
        .revoke(&d.cert.serial_hex(), 4, std::time::SystemTime::now())
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(1500));
    let late = seal_pdf(&base_pdf(true), &opts, &d.sealer(Some(&seal), Some(&tsa))).unwrap();
    let validator = d.validator();
    let inter = vec![d.domain.issuing().clone()];

    let r = verify(&plain, &validator, &inter);
    assert_eq!(r.indication(), Indication::Indeterminate, "{r}");
    assert_eq!(r.sub_indication(), Some(SubIndication::RevokedNoPoe), "{r}");
    let r = verify(&stamped, &validator, &inter);
    assert!(
        r.passed(),
        "a time stamp before the revocation proves the seal: {r}"
    );
    let r = verify(&late, &validator, &inter);
    assert_eq!(r.indication(), Indication::TotalFailed, "{r}");
    assert_eq!(r.sub_indication(), Some(SubIndication::Revoked), "{r}");
}

/// National mode, the carried seal signature transplanted: the CMS is genuine
/// over the ByteRange, but the GB/T 38540 seal signature in its unsigned
/// attributes (which the CMS signature does not cover) was made by the same
/// signer and seal over other bytes. The seal's dataHash must be compared with
/// the document's bytes, not trusted: HASH_FAILURE at the seal's data-hash
/// step. The same construction over the ByteRange passes (the control).
#[test]
fn national_seal_signature_over_other_bytes_is_a_hash_failure() {
    use yinzheng_crypto::asn1::tlv;
    let mut d = domain(KeyAlgorithm::Sm2);
    let validator = d.validator();
    let inter = vec![d.domain.issuing().clone()];
    let seal = national_seal(&d, &seal_png());
    let mut opts = seal_opts(60.0, 150.0, &seal.picture().data);
    opts.sub_filter = PdfSubFilter::Pkcs7Detached;
    opts.contents_capacity = 65_536;
    let with_seal_over = |other: Option<&[u8]>| {
        yinzheng_document::stamp_pdf(&base_pdf(true), &opts, &mut |parts: [&[u8]; 2]| {
            let data = other.map_or_else(|| parts.concat(), <[u8]>::to_vec);
            let ses =
                yinzheng_seal::stamp(&seal, &d.key, d.cert.der(), &data, "PDF ByteRange", now())
                    .unwrap();
            let cms_opts = yinzheng_cms::SignOptions {
                chain: vec![d.domain.issuing().der().to_vec()],
                unsigned_attributes: vec![(
                    yinzheng_cms::oid::ATTR_SES_SIGNATURE.to_string(),
                    tlv(0x04, ses.raw()),
                )],
                ..Default::default()
            };
            Ok(yinzheng_cms::sign_detached(&d.key, d.cert.der(), &parts, &cms_opts, None).unwrap())
        })
        .unwrap()
    };
    let control = verify(&with_seal_over(None), &validator, &inter);
    assert!(control.passed(), "{control}");
    let count = |r: &VerificationReport, suffix: &str, status: CheckStatus| {
        r.checks()
            .iter()
            .filter(|c| c.id.ends_with(suffix) && c.status == status)
            .count()
    };
    assert_eq!(
        count(&control, "data-hash", CheckStatus::Passed),
        1,
        "the seal's dataHash is checked against the ByteRange: {control}"
    );

    let r = verify(
        &with_seal_over(Some(b"another document")),
        &validator,
        &inter,
    );
    assert_eq!(r.sub_indication(), Some(SubIndication::HashFailure), "{r}");
    let failed: Vec<&str> = r
        .checks()
        .iter()
        .filter(|c| c.status == CheckStatus::Failed)
        .map(|c| c.id.as_str())
        .collect();
    assert!(
        failed.iter().all(|id| id.ends_with("data-hash")) && !failed.is_empty(),
        "only the seal's data-hash fails, the CMS itself is genuine: {r}"
    );
    assert_eq!(count(&r, "cms", CheckStatus::Passed), 1, "{r}");
}

/// The whole file's SM3 with saved states (what the license check computes to
/// find the license) lets the `/ByteRange` digest resume instead of hashing
/// the signed bytes again — but only for the very bytes verified: states of
/// another buffer, even one with the same content, or of a tampered copy are
/// ignored, so a tampered file still fails and a genuine one still passes.
#[test]
fn the_file_hash_is_reused_only_for_the_bytes_it_was_made_of() {
    let mut d = domain(KeyAlgorithm::Sm2);
    let seal = national_seal(&d, &seal_png());
    let mut opts = seal_opts(60.0, 150.0, &seal.picture().data);
    opts.sub_filter = PdfSubFilter::Pkcs7Detached;
    let pdf = seal_pdf(&base_pdf(true), &opts, &d.sealer(Some(&seal), None)).unwrap();
    // A byte inside the signed range changed (the page text).
    let mut tampered = pdf.clone();
    let at = tampered
        .windows(b"Contract No. 2026-001".len())
        .position(|w| w == b"Contract No. 2026-001")
        .unwrap();
    tampered[at] ^= 1;
    let trust = yinzheng_document::TrustContext::new(d.validator())
        .with_intermediates(vec![d.domain.issuing().clone()]);
    let verify_with = |bytes: &[u8], prefixes: Option<&yinzheng_crypto::Sm3Prefixes<'_>>| {
        let req = yinzheng_document::VerifyRequest {
            file_sm3: prefixes,
            ..Default::default()
        };
        trust
            .verify_as(yinzheng_document::Format::Pdf, bytes, &req)
            .unwrap()
    };
    let genuine = yinzheng_crypto::Sm3Prefixes::new(&pdf);
    let copy = pdf.clone();
    let of_copy = yinzheng_crypto::Sm3Prefixes::new(&copy);
    let of_tampered = yinzheng_crypto::Sm3Prefixes::new(&tampered);
    for prefixes in [None, Some(&genuine), Some(&of_copy), Some(&of_tampered)] {
        let r = verify_with(&pdf, prefixes);
        assert!(r.passed(), "{r}");
        let r = verify_with(&tampered, prefixes);
        assert_eq!(r.sub_indication(), Some(SubIndication::HashFailure), "{r}");
    }
    let r = verify_with(&tampered, Some(&of_tampered));
    assert_eq!(r.sub_indication(), Some(SubIndication::HashFailure), "{r}");
}
