//! The attack corpus (tests/pdf_util/attacks.rs) against our verifier and the
//! peers. A document prepared for shadow attacks is sealed in national (SM2,
//! seal signature carried) and international (ECDSA P-256, PAdES) mode, and
//! certified by pyHanko with DocMDP P=2 and P=3 (international only: our
//! stamp_pdf writes approval signatures and has no /Reference DocMDP); every
//! attack builds one file from it. For each file:
//!
//! - qpdf --check passes (files malformed on purpose: qpdf still reads them);
//! - pdftoppm draws page 1 of the signed revision and of the attacked file
//!   differently (the change is real), except for attacks that act elsewhere
//!   (the reason is in the attack's `visible`);
//! - `verify_pdf` does not say TOTAL_PASSED, and a failed check names one of
//!   the changed objects ("object N G");
//! - international mode: pyHanko never calls VALID a file we refuse unless the
//!   attack documents why pyHanko is more lenient (`pyhanko_lenient`).
//!
//! Legitimate later changes (a second seal by us, a signature by pyHanko, a
//! DSS by `pyhanko sign ltvfix`, our seal on a P=2 certified document) pass
//! with both. Every problem is collected into one table and the test fails at
//! the end listing them, so one run shows the whole picture.
//!
//! With `YINZHENG_ATTACK_CORPUS_DIR` set, every file is also written there.

#![allow(clippy::unwrap_used)]

#[path = "pdf_util/attacks.rs"]
mod attacks;
mod pdf_util;

use attacks::{Attack, Base, Built, Class, OVER_AMOUNT_MM, SEAL_AT_MM, Signed, corpus};
use pdf_util::{fake_cms, render, seal_png, visible, with_object_streams};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use yinzheng_ca::{InitOptions, IssueRequest, KeySource, TrustDomain};
use yinzheng_crypto::{KeyAlgorithm, KeyEncryption, PrivateKey};
use yinzheng_document::{
    CmsVerifyContext, PdfChangePolicy, PdfSealer, PdfStampOptions, PdfSubFilter, seal_pdf,
    stamp_pdf, verify_pdf_with,
};
use yinzheng_pki::{CheckStatus, ParsedCert, SubjectExtras, Validator, VerificationReport};
use yinzheng_seal::{MakerTrust, Picture, Seal, SealBuilder, SealType};

/// A trust domain of one algorithm with a seal signer (and in national mode a seal).
struct Mode {
    name: &'static str,
    national: bool,
    _home: tempfile::TempDir,
    domain: TrustDomain,
    key: PrivateKey,
    cert: ParsedCert,
    seal: Option<Seal>,
    validator: Validator,
    /// The domain's CRLs (DER), for pyHanko's DSS.
    crls: Vec<Vec<u8>>,
}

fn now() -> time::OffsetDateTime {
    time::OffsetDateTime::now_utc().to_offset(time::macros::offset!(+8))
}

impl Mode {
    fn new(name: &'static str, alg: KeyAlgorithm) -> Mode {
        let home = yinzheng_tests::tempdir();
        let mut opts = InitOptions::new("CN=PDF Attack Corpus Root,O=Yinzheng,C=CN");
        opts.key_algorithm = alg;
        opts.key_encryption = KeyEncryption::default().with_iterations(1000);
        let mut domain = TrustDomain::init_in(
            &home.path().join("pki"),
            &yinzheng_tests::store_backend(&home.path().join("pki")),
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
        let national = alg == KeyAlgorithm::Sm2;
        let seal = national.then(|| {
            let (mk, mc) = issue("seal-maker", "CN=Seal Maker,O=Yinzheng,C=CN", None);
            let t = time::OffsetDateTime::now_utc();
            SealBuilder::new(
                "pdf-attack-1",
                "示例科技有限公司合同专用章",
                SealType::Contract,
                Picture {
                    kind: "PNG".into(),
                    data: seal_png(),
                    width_mm: 40,
                    height_mm: 40,
                },
            )
            .signer_cert(cert.der())
            .validity(t - time::Duration::days(1), t + time::Duration::days(30))
            .sign(&mk, mc.der())
            .unwrap()
        });
        let crl = domain.crl(24).unwrap();
        let crls = crl.iter().map(|c| c.der().to_vec()).collect();
        let validator = Validator::new(vec![domain.root().clone()]).with_crls(crl);
        Mode {
            name,
            national,
            _home: home,
            domain,
            key,
            cert,
            seal,
            validator,
            crls,
        }
    }

    fn options(&self, at: (f64, f64), png: &[u8]) -> PdfStampOptions {
        let mut o = visible(1, at.0, at.1, png);
        o.signing_time = now();
        if self.national {
            o.sub_filter = PdfSubFilter::Pkcs7Detached;
        }
        o
    }

    /// Our seal on `pdf` with its top-left corner at `at` (mm).
    fn seal(&self, pdf: &[u8], at: (f64, f64), png: &[u8]) -> Vec<u8> {
        let png = self.seal.as_ref().map_or(png, |s| &s.picture().data);
        let sealer = PdfSealer {
            signer: &self.key,
            certificate: self.cert.der(),
            chain: vec![self.domain.issuing().der().to_vec()],
            seal: self.seal.as_ref(),
            tsa: None,
        };
        seal_pdf(pdf, &self.options(at, png), &sealer).unwrap()
    }

    /// Our seal without a picture (an invisible signature field).
    fn seal_invisible(&self, pdf: &[u8]) -> Vec<u8> {
        let sealer = PdfSealer {
            signer: &self.key,
            certificate: self.cert.der(),
            chain: vec![self.domain.issuing().der().to_vec()],
            seal: self.seal.as_ref(),
            tsa: None,
        };
        let mut o = self.options((0.0, 0.0), &[]);
        o.appearance = None;
        seal_pdf(pdf, &o, &sealer).unwrap()
    }

    fn verify(&self, pdf: &[u8]) -> Result<VerificationReport, String> {
        self.verify_with(pdf, &PdfChangePolicy::default())
    }

    /// [`verify`](Self::verify) under a change policy of the caller's.
    fn verify_with(
        &self,
        pdf: &[u8],
        policy: &PdfChangePolicy,
    ) -> Result<VerificationReport, String> {
        let inter = vec![self.domain.issuing().clone()];
        verify_pdf_with(
            pdf,
            &CmsVerifyContext {
                validator: &self.validator,
                intermediates: &inter,
                makers: MakerTrust::Policy,
                registry: None,
                sm2_id: None,
                deadline: None,
            },
            policy,
            None,
        )
        .map_err(|e| e.to_string())
    }

    /// root.pem, issuing.pem, key.pem, cert.pem in `dir` (for pyHanko).
    fn write_pems(&self, dir: &Path) {
        std::fs::write(dir.join("root.pem"), self.domain.root().to_pem()).unwrap();
        std::fs::write(dir.join("issuing.pem"), self.domain.issuing().to_pem()).unwrap();
        std::fs::write(dir.join("key.pem"), self.key.to_pkcs8_pem().as_bytes()).unwrap();
        std::fs::write(dir.join("cert.pem"), self.cert.to_pem()).unwrap();
        for (i, c) in self.crls.iter().enumerate() {
            std::fs::write(dir.join(format!("crl{i}.der")), c).unwrap();
        }
    }
}

/// pyHanko certifies `pdf` (field "Cert", visible at the page foot) with
/// DocMDP permission `p` using key.pem/cert.pem/issuing.pem in `dir`.
fn pyhanko_certify(dir: &Path, pdf: &[u8], p: u8) -> Vec<u8> {
    let (inp, out) = (
        format!("certify-in-{p}.pdf"),
        format!("certify-out-{p}.pdf"),
    );
    std::fs::write(dir.join(&inp), pdf).unwrap();
    let script = format!(
        "from pyhanko.sign import signers, fields\n\
         from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter\n\
         signer = signers.SimpleSigner.load('key.pem', 'cert.pem', ca_chain_files=('issuing.pem',))\n\
         w = IncrementalPdfFileWriter(open('{inp}', 'rb'))\n\
         fields.append_signature_field(w, fields.SigFieldSpec('Cert', on_page=0, box=(360, 40, 540, 100)))\n\
         meta = signers.PdfSignatureMetadata(field_name='Cert', certify=True, \
         docmdp_permissions=fields.MDPPerm({p}), subfilter=fields.SigSeedSubFilter.PADES)\n\
         with open('{out}', 'wb') as o:\n    signers.sign_pdf(w, meta, signer=signer, output=o)\n"
    );
    yinzheng_tests::run_ok(&yinzheng_tests::peer_python(), dir, &["-c", &script]);
    std::fs::read(dir.join(out)).unwrap()
}

/// pyHanko adds a PAdES signature (our international signer) on a new field.
fn pyhanko_addsig(dir: &Path, pdf: &[u8], field: &str) -> Vec<u8> {
    std::fs::write(dir.join("addsig-in.pdf"), pdf).unwrap();
    yinzheng_tests::run_ok(
        &yinzheng_tests::pyhanko(),
        dir,
        &[
            "sign",
            "addsig",
            "--use-pades",
            "--field",
            field,
            "pemder",
            "--key",
            "key.pem",
            "--cert",
            "cert.pem",
            "--chain",
            "issuing.pem",
            "--no-pass",
            "addsig-in.pdf",
            "addsig-out.pdf",
        ],
    );
    std::fs::read(dir.join("addsig-out.pdf")).unwrap()
}

/// What `pyhanko sign ltvfix` does (`validation.add_validation_info` on the
/// field's signature, a DSS revision), with the domain's CRLs given offline
/// instead of fetched (the CLI insists on fetching).
fn pyhanko_ltvfix(dir: &Path, pdf: &[u8], field: &str) -> Vec<u8> {
    std::fs::write(dir.join("ltv.pdf"), pdf).unwrap();
    let script = format!(
        "import glob\n\
         from pyhanko.pdf_utils.reader import PdfFileReader\n\
         from pyhanko.sign import validation\n\
         from pyhanko.keys import load_cert_from_pemder\n\
         from pyhanko_certvalidator import ValidationContext\n\
         vc = ValidationContext(trust_roots=[load_cert_from_pemder('root.pem')], \
         other_certs=[load_cert_from_pemder('issuing.pem')], \
         crls=[open(f, 'rb').read() for f in sorted(glob.glob('crl*.der'))], \
         allow_fetching=False, revocation_mode='hard-fail')\n\
         f = open('ltv.pdf', 'rb+')\n\
         r = PdfFileReader(f)\n\
         s = next(s for s in r.embedded_regular_signatures if s.field_name == '{field}')\n\
         validation.add_validation_info(s, vc, in_place=True)\n\
         f.close()\n"
    );
    yinzheng_tests::run_ok(&yinzheng_tests::peer_python(), dir, &["-c", &script]);
    std::fs::read(dir.join("ltv.pdf")).unwrap()
}

/// pyHanko's verdict: every signature judged VALID (and exit 0), with the
/// lines that say why.
/// pyHanko's `sign validate` on each of `files` (in `dir`, trusting its
/// `root.pem`): (judged valid, the lines that say why) per file.
///
/// One Python process imports pyHanko once and forks a child per file that
/// runs the `pyhanko` command's own click entry point with the file's
/// arguments, its output in a file of its own: each verdict comes from a fresh
/// process exactly as the command gives it, without paying Python's start and
/// pyHanko's imports (≈ 1 s of CPU) per file.
fn pyhanko_validate_all(dir: &Path, files: &[String]) -> Vec<(bool, String)> {
    const SCRIPT: &str = r#"
import os, sys, traceback
from pyhanko.cli import cli_root
ARGS = ["sign", "validate", "--pretty-print", "--no-revocation-check",
        "--trust", "root.pem", "--trust-replace"]
for f in sys.argv[1:]:
    pid = os.fork()
    if pid == 0:
        fd = os.open(f + ".pyhanko.txt", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        os.dup2(fd, 1)
        os.dup2(fd, 2)
        code = 0
        try:
            cli_root(args=ARGS + [f], prog_name="pyhanko")
        except SystemExit as e:
            code = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
        except BaseException:
            traceback.print_exc()
            code = 1
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    _, status = os.waitpid(pid, 0)
    print(f, os.waitstatus_to_exitcode(status), flush=True)
"#;
    let out = std::process::Command::new(yinzheng_tests::peer_python())
        .arg("-c")
        .arg(SCRIPT)
        .args(files)
        .current_dir(dir)
        .output()
        .expect("pyHanko's Python runs");
    assert!(
        out.status.success(),
        "the pyHanko batch failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let codes = String::from_utf8_lossy(&out.stdout).into_owned();
    let codes: Vec<&str> = codes.lines().collect();
    assert_eq!(
        codes.len(),
        files.len(),
        "one exit code per file: {codes:?}"
    );
    files
        .iter()
        .zip(codes)
        .map(|(file, line)| {
            let (name, code) = line.rsplit_once(' ').expect("`file code`");
            assert_eq!(name, file);
            let text = std::fs::read_to_string(dir.join(format!("{file}.pyhanko.txt")))
                .expect("pyHanko's output");
            pyhanko_verdict(code == "0", &text)
        })
        .collect()
}

/// Valid when pyHanko exited 0 and judged every signature VALID; the lines
/// that say why.
fn pyhanko_verdict(success: bool, text: &str) -> (bool, String) {
    let judged: Vec<&str> = text
        .lines()
        .filter(|l| l.contains("The signature is judged"))
        .collect();
    let valid = success && !judged.is_empty() && judged.iter().all(|l| l.contains("judged VALID"));
    let why: Vec<String> = text
        .lines()
        .map(str::trim)
        .filter(|l| {
            l.contains("judged")
                || l.contains("modif")
                || l.contains("Error")
                || l.contains("error")
                || l.contains("trust")
        })
        .map(str::to_string)
        .collect();
    (valid, why.join(" | "))
}

/// `qpdf --check`: Ok, or the complaint. Files malformed on purpose may warn (exit 3).
fn qpdf(dir: &Path, name: &str, pdf: &[u8], may_warn: bool) -> Result<(), String> {
    let file = dir.join(format!("qpdf-{name}.pdf"));
    std::fs::write(&file, pdf).unwrap();
    let out = std::process::Command::new(yinzheng_tests::qpdf())
        .arg("--check")
        .arg(&file)
        .output()
        .expect("qpdf runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let code = out.status.code().unwrap_or(-1);
    let ok = if may_warn {
        code == 0 || code == 3
    } else {
        code == 0 && !text.contains("WARNING")
    };
    if ok {
        Ok(())
    } else {
        Err(format!(
            "qpdf --check exit {code}: {}",
            text.lines().take(4).collect::<Vec<_>>().join(" / ")
        ))
    }
}

/// The messages of the checks that did not pass.
fn failed_messages(r: &VerificationReport) -> Vec<String> {
    r.checks()
        .iter()
        .filter(|c| c.status == CheckStatus::Failed)
        .map(|c| format!("[{}] {}", c.id, c.message))
        .collect()
}

/// One file of the corpus and what everyone said about it.
struct Row {
    mode: &'static str,
    class: String,
    name: String,
    pdf: Vec<u8>,
    signed: Vec<u8>,
    visible: Result<(), &'static str>,
    qpdf_warns: Option<&'static str>,
    targets: Result<Vec<(u32, u16)>, &'static str>,
    lenient: Option<&'static str>,
    legit: bool,
    pyhanko: bool,
    /// Shown, not asserted: why.
    note: Option<&'static str>,
    // results
    ours: String,
    ours_passed: bool,
    named: Option<bool>,
    render: String,
    qpdf: String,
    ph: String,
    problems: Vec<String>,
}

fn corpus_dir() -> Option<PathBuf> {
    std::env::var_os("YINZHENG_ATTACK_CORPUS_DIR")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
}

#[yinzheng_tests::peer_test(openssl, poppler, pyhanko, qpdf)]
fn attack_corpus_is_refused_and_legitimate_changes_pass() {
    let started = std::time::Instant::now();
    let out_dir = corpus_dir();
    if let Some(d) = &out_dir {
        std::fs::create_dir_all(d).unwrap();
    }
    let png = seal_png();
    let base = attacks::shadow_base_pdf();
    let mut rows: Vec<Row> = Vec::new();
    let modes = [
        Mode::new("national", KeyAlgorithm::Sm2),
        Mode::new("international", KeyAlgorithm::EcdsaP256),
    ];
    let mut dirs = Vec::new();
    for m in &modes {
        let tmp = yinzheng_tests::tempdir();
        let dir = tmp.path().to_path_buf();
        dirs.push(tmp);
        m.write_pems(&dir);
        if let Some(d) = &out_dir {
            std::fs::write(
                d.join(format!("{}-root.pem", m.name)),
                m.domain.root().to_pem(),
            )
            .unwrap();
        }
        let sealed = m.seal(&base, SEAL_AT_MM, &png);
        let sealed_xs = m.seal(&with_object_streams(&dir, &base), SEAL_AT_MM, &png);
        let mut bases: BTreeMap<&str, Vec<u8>> = BTreeMap::new();
        bases.insert("sealed", sealed.clone());
        bases.insert("sealed-xrefstream", sealed_xs.clone());
        if !m.national {
            bases.insert("certified-p2", pyhanko_certify(&dir, &base, 2));
            bases.insert("certified-p3", pyhanko_certify(&dir, &base, 3));
        }
        for (name, pdf) in &bases {
            let r = m.verify(pdf).unwrap();
            assert!(r.passed(), "{} base {name}: {r}", m.name);
            if let Some(d) = &out_dir {
                std::fs::write(d.join(format!("{}-base-{name}.pdf", m.name)), pdf).unwrap();
            }
        }
        let mut signed: BTreeMap<&str, Signed> = BTreeMap::new();
        for (k, b) in &bases {
            signed.insert(k, Signed::new(b.clone(), &dir));
        }
        let key = |b: Base| match b {
            Base::Sealed => "sealed",
            Base::SealedXrefStream => "sealed-xrefstream",
            Base::CertifiedP2 => "certified-p2",
            Base::CertifiedP3 => "certified-p3",
        };
        let attacks: Vec<Attack> = corpus();
        for a in attacks {
            let Some(s) = signed.get(key(a.base)) else {
                continue; // certification: international only (see the module doc)
            };
            let Built { pdf, targets } = (a.build)(s);
            rows.push(Row {
                mode: m.name,
                class: a.class.to_string(),
                name: a.name.to_string(),
                pdf,
                signed: s.pdf.clone(),
                visible: a.visible,
                qpdf_warns: a.qpdf_warns,
                targets,
                lenient: a.pyhanko_lenient,
                legit: false,
                pyhanko: !m.national,
                ..Row::blank()
            });
        }
        // Sneaky Signature in both modes, without a certification: a second
        // seal whose picture covers the amount and whose CMS is not a signature.
        let sneaky = stamp_pdf(
            &sealed,
            &m.options(OVER_AMOUNT_MM, &png),
            &mut |_p: [&[u8]; 2]| Ok(fake_cms(2000)),
        )
        .unwrap();
        rows.push(Row {
            mode: m.name,
            class: Class::Certification.to_string(),
            name: "sneaky-signature-bad-cms".into(),
            pdf: sneaky,
            signed: sealed.clone(),
            visible: Ok(()),
            targets: Err("the new signature's own CMS fails"),
            pyhanko: !m.national,
            ..Row::blank()
        });
        // Legitimate later changes.
        let mut legit = vec![(
            "legit-second-seal-ours",
            m.seal(&sealed, (110.0, 236.0), &png),
        )];
        if !m.national {
            legit.push((
                "legit-second-signature-pyhanko",
                pyhanko_addsig(&dir, &sealed, "1/360,40,540,100/Theirs"),
            ));
            legit.push(("legit-dss-ltvfix", pyhanko_ltvfix(&dir, &sealed, "Seal1")));
            legit.push((
                "legit-our-invisible-seal-on-certified-p2",
                m.seal_invisible(&bases["certified-p2"]),
            ));
        }
        for (name, pdf) in legit {
            rows.push(Row {
                mode: m.name,
                class: "legitimate".into(),
                name: name.into(),
                pdf,
                legit: true,
                pyhanko: !m.national,
                ..Row::blank()
            });
        }
        if !m.national {
            // Not asserted, shown: a new *visible* signature field after a
            // certification. ISO 32000 allows signing under P=2; pyHanko
            // refuses new visible signature fields after a certification
            // signature (its Sneaky Signature defence,
            // SigFieldCreationRule.allow_new_visible_after_certify = False).
            rows.push(Row {
                mode: m.name,
                class: "policy difference".into(),
                name: "our-visible-seal-on-certified-p2".into(),
                pdf: m.seal(&bases["certified-p2"], (110.0, 236.0), &png),
                legit: true,
                pyhanko: true,
                note: Some(
                    "pyHanko refuses a new visible signature field after a certification; \
                     whether ours should too is the verifier's policy (Sneaky Signature)",
                ),
                ..Row::blank()
            });
        }
        // ours, on this thread
        for row in rows.iter_mut().filter(|r| r.mode == m.name) {
            evaluate_ours(m, row);
        }
    }
    let dir_of = |mode: &str| {
        dirs[usize::from(mode == "international")]
            .path()
            .to_path_buf()
    };
    // the peer tools, in parallel
    let next = AtomicUsize::new(0);
    let shared: Vec<Mutex<&mut Row>> = rows.iter_mut().map(Mutex::new).collect();
    std::thread::scope(|sc| {
        for _ in 0..3 {
            sc.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::SeqCst);
                    let Some(cell) = shared.get(i) else { break };
                    let mut row = cell.lock().unwrap();
                    let dir = dir_of(row.mode);
                    evaluate_peers(&dir, &mut row);
                }
            });
        }
    });
    drop(shared);
    // pyHanko: one batch per directory (every row it judges is international).
    for mode in ["national", "international"] {
        let files: Vec<String> = rows
            .iter()
            .filter(|r| r.pyhanko && r.mode == mode)
            .map(pyhanko_file)
            .collect();
        if files.is_empty() {
            continue;
        }
        let verdicts = pyhanko_validate_all(&dir_of(mode), &files);
        let judged = rows.iter_mut().filter(|r| r.pyhanko && r.mode == mode);
        for (row, verdict) in judged.zip(verdicts) {
            judge_pyhanko(row, verdict);
        }
    }
    for r in rows.iter_mut().filter(|r| r.note.is_some()) {
        r.problems.clear();
    }
    if let Some(d) = &out_dir {
        for r in &rows {
            std::fs::write(d.join(format!("{}-{}.pdf", r.mode, r.name)), &r.pdf).unwrap();
        }
    }
    report(&rows, started);
}

impl Row {
    fn blank() -> Row {
        Row {
            mode: "",
            class: String::new(),
            name: String::new(),
            pdf: Vec::new(),
            signed: Vec::new(),
            visible: Err("legitimate change"),
            qpdf_warns: None,
            targets: Err("legitimate change"),
            lenient: None,
            legit: false,
            pyhanko: false,
            note: None,
            ours: String::new(),
            ours_passed: false,
            named: None,
            render: String::new(),
            qpdf: String::new(),
            ph: String::new(),
            problems: Vec::new(),
        }
    }
}

fn evaluate_ours(m: &Mode, row: &mut Row) {
    match m.verify(&row.pdf) {
        Err(e) => {
            row.ours = format!("error: {e}");
            row.ours_passed = false;
            if row.legit {
                row.problems.push(format!("ours cannot read it: {e}"));
            }
        }
        Ok(r) => {
            row.ours_passed = r.passed();
            let msgs = failed_messages(&r);
            row.ours = if r.passed() {
                "TOTAL_PASSED".into()
            } else {
                format!(
                    "{} {}: {}",
                    r.indication(),
                    r.sub_indication()
                        .map(|s| s.to_string())
                        .unwrap_or_default(),
                    msgs.join("; ")
                )
            };
            if row.legit {
                if !r.passed() {
                    row.problems
                        .push(format!("ours refuses a legitimate change: {r}"));
                }
                return;
            }
            if r.passed() {
                row.problems.push("SLIPS: ours says TOTAL_PASSED".into());
            } else if let Ok(targets) = &row.targets {
                let named = targets.iter().any(|(n, g)| {
                    let needle = format!("object {n} {g}");
                    msgs.iter().any(|m| {
                        m.match_indices(&needle).any(|(i, _)| {
                            !m[i + needle.len()..].starts_with(|c: char| c.is_ascii_digit())
                        })
                    })
                });
                row.named = Some(named);
                if !named {
                    row.problems.push(format!(
                        "the report names none of the changed objects {:?}",
                        targets
                    ));
                }
            }
        }
    }
}

fn evaluate_peers(dir: &Path, row: &mut Row) {
    let tag = format!("{}-{}", row.mode, row.name);
    if !row.legit {
        row.qpdf = match qpdf(dir, &tag, &row.pdf, row.qpdf_warns.is_some()) {
            Ok(()) => "ok".into(),
            Err(e) => {
                row.problems.push(e.clone());
                e
            }
        };
        row.render = match row.visible {
            Err(why) => format!("skipped: {why}"),
            Ok(()) => {
                let before = render(dir, &format!("{tag}-signed"), &row.signed, 1, 50);
                let after = render(dir, &format!("{tag}-attacked"), &row.pdf, 1, 50);
                if before != after {
                    "page 1 differs".into()
                } else {
                    row.problems
                        .push("pdftoppm draws page 1 unchanged: the attack is not visible".into());
                    "SAME".into()
                }
            }
        };
    }
    if !row.pyhanko {
        row.ph = "n/a (SM2)".into();
    } else {
        std::fs::write(dir.join(pyhanko_file(row)), &row.pdf).unwrap();
    }
}

/// The file of `row` that pyHanko validates.
fn pyhanko_file(row: &Row) -> String {
    format!("ph-{}-{}.pdf", row.mode, row.name)
}

/// pyHanko's verdict on `row`, and what it means for the test.
fn judge_pyhanko(row: &mut Row, (valid, why): (bool, String)) {
    row.ph = format!("{} ({why})", if valid { "VALID" } else { "INVALID" });
    if row.legit && !valid {
        row.problems
            .push(format!("pyHanko refuses a legitimate change: {why}"));
    }
    if !row.legit && valid && !row.ours_passed && row.lenient.is_none() {
        row.problems.push(
            "pyHanko calls VALID what we refuse, and no reason is documented (attacks.rs pyhanko_lenient)"
                .into(),
        );
    }
}

fn report(rows: &[Row], started: std::time::Instant) {
    println!(
        "\n{:<13} {:<28} {:<32} {:<6} {:<5} {:<7} {:<4} {:<8} | ours",
        "mode", "class", "attack", "ours", "named", "render", "qpdf", "pyHanko"
    );
    for r in rows {
        println!(
            "{:<13} {:<28} {:<32} {:<6} {:<5} {:<7} {:<4} {:<8} | {}",
            r.mode,
            r.class,
            r.name,
            if r.ours_passed { "PASS" } else { "fail" },
            match r.named {
                Some(true) => "yes",
                Some(false) => "NO",
                None => "-",
            },
            if r.render.starts_with("page") {
                "differs"
            } else if r.render.starts_with("skipped") {
                "skipped"
            } else if r.render.is_empty() {
                "-"
            } else {
                "SAME"
            },
            if r.qpdf.is_empty() {
                "-"
            } else if r.qpdf == "ok" {
                "ok"
            } else {
                "BAD"
            },
            r.ph.split(' ').next().unwrap_or(""),
            r.ours,
        );
    }
    for r in rows.iter().filter(|r| r.note.is_some()) {
        println!(
            "\nnot asserted, {}-{}: {}\n  ours: {}\n  pyHanko: {}",
            r.mode,
            r.name,
            r.note.unwrap_or(""),
            r.ours,
            r.ph
        );
    }
    println!("\npyHanko, per file:");
    for r in rows.iter().filter(|r| r.pyhanko) {
        println!("  {}-{}: {}", r.mode, r.name, r.ph);
        if let (Some(why), true) = (r.lenient, r.ph.starts_with("VALID")) {
            println!("      documented leniency: {why}");
        }
    }
    let mut by_class: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for r in rows {
        for p in &r.problems {
            by_class
                .entry(r.class.clone())
                .or_default()
                .push(format!("{}-{}: {p}", r.mode, r.name));
        }
    }
    println!(
        "\n{} files in {:.1} s",
        rows.len(),
        started.elapsed().as_secs_f64()
    );
    if !by_class.is_empty() {
        let mut msg = String::from("attack corpus problems, by class:\n");
        for (class, ps) in by_class {
            msg.push_str(&format!("== {class}\n"));
            for p in ps {
                msg.push_str(&format!("   {p}\n"));
            }
        }
        panic!("{msg}");
    }
}

/// An annotation added under DocMDP P=3 is legitimate when the caller allows
/// annotations, and refused by default (as evil-annotation-p3 in the corpus).
#[yinzheng_tests::peer_test(pyhanko)]
fn annotation_under_docmdp_p3_passes_when_allowed() {
    let m = Mode::new("international", KeyAlgorithm::EcdsaP256);
    let tmp = yinzheng_tests::tempdir();
    m.write_pems(tmp.path());
    let certified = pyhanko_certify(tmp.path(), &attacks::shadow_base_pdf(), 3);
    let s = Signed::new(certified, tmp.path());
    let n = s.next_id();
    // a small comment annotation away from the content
    use lopdf::dictionary;
    let annot = dictionary! {
        "Type" => "Annot", "Subtype" => "Text", "Rect" => vec![500.into(), 780.into(), 520.into(), 800.into()],
        "Contents" => lopdf::Object::string_literal("Checked."), "P" => s.l.page1,
    };
    let pdf = attacks::append(
        &s.pdf,
        attacks::Update::objects(vec![
            ((n, 0), lopdf::Object::Dictionary(annot)),
            (s.l.page1, s.page1_with_annot((n, 0))),
        ]),
    );
    // pyHanko's default difference policy explains no annotation change at
    // all (anything touching /Annots but form filling and signing is
    // "illegitimate"), so it is no reference for this case.
    let refused = m.verify(&pdf).unwrap();
    assert!(
        !refused.passed(),
        "an added annotation passed by default:\n{refused}"
    );
    assert!(
        refused.to_string().contains("annotation"),
        "the refusal names the annotation:\n{refused}"
    );
    let allowed = m
        .verify_with(
            &pdf,
            &PdfChangePolicy {
                allow_annotations: true,
            },
        )
        .unwrap();
    assert!(allowed.passed(), "{allowed}");
    assert!(
        allowed.to_string().to_lowercase().contains("annotation"),
        "the allowed annotation is still reported as a warning:\n{allowed}"
    );
}
