//! One road to a verdict: the same file and the same trust give the same
//! report from every front end — `yinzheng verify`, the verify API
//! (`/v1/verify`), the facade (`yinzheng::Trust::verify`) and the offline
//! auditor (`yinzheng_audit::Auditor::verify_file`). Genuine and altered
//! files alike; only the validation time (each asks at its own "now") is
//! left out of the comparison.

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The report without the times at which each front end asked.
fn normalised(mut report: Value) -> Value {
    fn strip(v: &mut Value) {
        match v {
            Value::Object(m) => {
                m.remove("validationTime");
                m.values_mut().for_each(strip);
            }
            Value::Array(a) => a.iter_mut().for_each(strip),
            _ => {}
        }
    }
    strip(&mut report);
    report
}

fn files_with(dir: &Path, keep: impl Fn(&str) -> bool) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|d| d.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    out.retain(|p| keep(&p.file_name().unwrap_or_default().to_string_lossy()));
    out.sort();
    out
}

/// Flip one byte inside the first signature's signed range (the first page's
/// content), keeping the file's length: the digest no longer matches.
fn altered_pdf(pdf: &[u8]) -> Vec<u8> {
    let mut out = pdf.to_vec();
    let at = pdf
        .windows(6)
        .position(|w| w == b"stream")
        .expect("a stream in the PDF")
        + 20;
    out[at] ^= 0x01;
    out
}

#[yinzheng_tests::peer_test(curl)]
fn cli_api_facade_and_auditor_give_the_same_report() {
    let dir = yinzheng_tests::tempdir();
    let d = dir.path();
    let home = d.join("home");
    let curl = yinzheng_tests::curl();
    let mut child = Command::new(env!("CARGO_BIN_EXE_yinzheng"))
        .args([
            "--home",
            &home.display().to_string(),
            "serve",
            "--demo",
            "--listen",
            "127.0.0.1:0",
        ])
        .env_remove("YINZHENG_PASSPHRASE")
        .env("YINZHENG_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("the binary runs");
    let stdout = child.stdout.take().expect("stdout");
    let _server = Server(child);
    let banner = yinzheng_tests::serve_banner(stdout).join("\n");
    let base = banner
        .split_whitespace()
        .find(|w| w.starts_with("https://127.0.0.1:"))
        .expect("listening address")
        .trim_end_matches('/')
        .to_string();
    let key = banner
        .split_whitespace()
        .find(|w| w.starts_with("yzk_"))
        .expect("demo API key")
        .to_string();
    let tls_ca = home.join("demo").join("tls-root.pem");
    let get = |url: &str| -> Option<Vec<u8>> {
        let out = Command::new(&curl)
            .args(["-sS", "-f", "--cacert"])
            .arg(&tls_ca)
            .arg(url)
            .output()
            .expect("curl runs");
        out.status.success().then_some(out.stdout)
    };

    // The trust the server uses, as files: every local domain's root, its
    // issuing CAs, and the very CRLs the server signed and publishes.
    let mut roots = Vec::new();
    let mut issuing = Vec::new();
    let mut crls = Vec::new();
    for domain in files_with(&home.join("pki"), |_| true) {
        let Ok(root) = std::fs::read(domain.join("root.pem")) else {
            continue;
        };
        roots.extend(root);
        for p in files_with(&domain, |n| {
            n.starts_with("issuing") && n.ends_with(".pem") && !n.ends_with(".key.pem")
        }) {
            issuing.extend(std::fs::read(p).expect("issuing CA"));
        }
        let name = domain.file_name().unwrap().to_string_lossy().into_owned();
        for crl_name in [name.clone(), format!("{name}-root")] {
            if let Some(crl) = get(&format!("{base}/v1/crl/{crl_name}.crl")) {
                let p = d.join(format!("{crl_name}.crl"));
                std::fs::write(&p, crl).unwrap();
                crls.push(p);
            }
        }
    }
    assert!(!crls.is_empty(), "the server publishes its CRLs");
    std::fs::write(d.join("roots.pem"), &roots).unwrap();
    std::fs::write(d.join("issuing.pem"), &issuing).unwrap();

    // The facade and the auditor, built once on the same files.
    let mut builder = yinzheng::Trust::builder()
        .roots_file(d.join("roots.pem"))
        .intermediates_file(d.join("issuing.pem"));
    for c in &crls {
        builder = builder.crl_file(c);
    }
    let facade = builder.build().expect("facade trust");
    let mut anchors = yinzheng_audit::TrustAnchors::new();
    let pems = |b: &[u8]| -> Vec<String> {
        String::from_utf8_lossy(b)
            .split_inclusive("-----END CERTIFICATE-----")
            .filter(|s| s.contains("BEGIN CERTIFICATE"))
            .map(|s| s.trim().to_string() + "\n")
            .collect()
    };
    let audit_crls: Vec<yinzheng_pki::Crl> = crls
        .iter()
        .flat_map(|p| yinzheng_pki::Crl::parse_all(&std::fs::read(p).unwrap()).unwrap())
        .collect();
    for (i, root) in pems(&roots).into_iter().enumerate() {
        anchors.domains.push(yinzheng_audit::DomainAnchors {
            name: format!("d{i}"),
            root,
            untrusted_intermediates: if i == 0 { pems(&issuing) } else { Vec::new() },
            crls: Vec::new(),
        });
    }
    let auditor = yinzheng_audit::Auditor::new(&anchors).expect("auditor");

    // Inputs: every sample license's files, and an altered copy of a PDF.
    let mut inputs: Vec<PathBuf> = Vec::new();
    for lic in files_with(&home.join("licenses").join("files"), |_| true) {
        inputs.extend(files_with(&lic, |n| {
            n.ends_with(".pdf") || n.ends_with(".ofd")
        }));
    }
    let first_pdf = inputs
        .iter()
        .find(|p| p.extension().is_some_and(|e| e == "pdf"))
        .expect("a sample PDF")
        .clone();
    let altered = d.join("altered.pdf");
    std::fs::write(&altered, altered_pdf(&std::fs::read(&first_pdf).unwrap())).unwrap();
    inputs.push(altered.clone());
    assert!(inputs.len() >= 3, "{inputs:?}");

    let empty_home = d.join("no-registry");
    let mut trust_args = vec![
        "--trust".to_string(),
        d.join("roots.pem").display().to_string(),
        "--untrusted".to_string(),
        d.join("issuing.pem").display().to_string(),
    ];
    for c in &crls {
        trust_args.push("--crl".into());
        trust_args.push(c.display().to_string());
    }
    let cli = |home: &Path, file: &Path| -> (i32, Value) {
        let mut args = vec![
            "--home".to_string(),
            home.display().to_string(),
            "--json".to_string(),
            "verify".to_string(),
            file.display().to_string(),
        ];
        args.extend(trust_args.iter().cloned());
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = yinzheng_tests::run_cli(env!("CARGO_BIN_EXE_yinzheng"), d, &args, &[]);
        let j = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
            panic!(
                "{args:?}: {e}\n{}\n{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            )
        });
        (out.status.code().unwrap_or(-1), j)
    };

    let mut passed = 0;
    for file in &inputs {
        let bytes = std::fs::read(file).unwrap();
        let what = file.display().to_string();

        // CLI, with the server's data directory (its seal registry) and without one.
        let (code, with_registry) = cli(&home, file);
        let (code_plain, plain) = cli(&empty_home, file);
        assert_eq!(code, code_plain, "{what}");
        let ok = with_registry["indication"] == "TOTAL_PASSED";
        assert_eq!(code, if ok { 0 } else { 1 }, "{what}: {with_registry}");
        passed += usize::from(ok);

        // The API, which has the registry.
        let out = Command::new(&curl)
            .args(["-sS", "--cacert"])
            .arg(&tls_ca)
            .args(["-H", &format!("Authorization: Bearer {key}")])
            .args(["-H", "Content-Type: application/octet-stream"])
            .arg("--data-binary")
            .arg(format!("@{}", file.display()))
            .arg(format!(
                "{base}/v1/verify?purpose=one-verdict&matter=T-1&businessSerial=BS-1&operator=test"
            ))
            .output()
            .expect("curl runs");
        let api: Value = serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("{what}: {e}: {}", String::from_utf8_lossy(&out.stdout)));
        assert_eq!(
            normalised(api["report"].clone()),
            normalised(with_registry.clone()),
            "{what}: the API and `yinzheng verify` disagree"
        );

        // The facade and the auditor, without a registry.
        let f = serde_json::to_value(facade.verify(&bytes).expect("facade")).unwrap();
        assert_eq!(
            normalised(f),
            normalised(plain.clone()),
            "{what}: the facade and `yinzheng verify` disagree"
        );
        let a = auditor.verify_file(&bytes, None, &audit_crls, std::time::SystemTime::now());
        let a = serde_json::to_value(&a.report).unwrap();
        assert_eq!(
            normalised(a),
            normalised(plain),
            "{what}: the auditor and `yinzheng verify` disagree"
        );
    }
    assert!(passed >= 2, "the genuine samples pass");
    assert!(passed < inputs.len(), "the altered file fails");
}
