//! The counter page (`GET /`) in a real browser: `yinzheng serve --demo` on a
//! temporary data directory and port 0, then `scripts/browser_check.py`
//! drives headless Chromium over the DevTools protocol through it — the
//! valid license's PDF, a tampered copy, the revoked license's PDF, an unknown
//! identifier, the holder's QR token — and checks the verdict the page shows.
//!
//! Chromium is a peer tool: missing, the test fails with the install hint
//! (`apt-get install chromium`; scripts/test.sh installs it), never skips.
//! `YINZHENG_CHROMIUM` names another binary; `YINZHENG_SCREENSHOT=PATH` keeps
//! the screenshot of the valid verdict (docs/verify-page.png is one).

#![allow(clippy::unwrap_used)]

use serde_json::Value;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A child process killed (and reaped) when the test ends, failed or not.
struct KillOnDrop(Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The workspace root (this crate is `crates/server`).
fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .nth(2)
        .unwrap()
        .to_path_buf()
}

/// The `yinzheng` CLI of this workspace and profile: `target/<profile>/yinzheng`,
/// next to this test's `deps/` directory. `cargo test --workspace` builds it
/// in the same run; when it is missing (or `rebuild`: it serves an older
/// page than this source tree), cargo is asked to build it.
fn yinzheng_bin(rebuild: bool) -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let profile_dir = exe.parent().and_then(Path::parent).unwrap();
    let bin = profile_dir.join(format!("yinzheng{}", std::env::consts::EXE_SUFFIX));
    if bin.exists() && !rebuild {
        return bin;
    }
    let mut cmd = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    cmd.args(["build", "-p", "yinzheng-cli", "--bin", "yinzheng"])
        .current_dir(workspace());
    match profile_dir.file_name().and_then(|n| n.to_str()) {
        Some("debug") | None => {}
        Some(p) => {
            cmd.args(["--profile", p]);
        }
    }
    if let Some(target) = profile_dir.parent() {
        cmd.env("CARGO_TARGET_DIR", target);
    }
    let st = cmd.status().expect("cargo runs");
    assert!(st.success(), "building the yinzheng CLI failed");
    assert!(bin.exists(), "{} not found after building", bin.display());
    bin
}

/// `yinzheng serve --demo` on `home`, port 0; its `--json` report (url,
/// demoApiKey, demoToken, demoLicenses) once it listens.
fn serve(bin: &Path, home: &Path, log: &Path) -> (KillOnDrop, Value) {
    let child = Command::new(bin)
        .args(["--json", "--home"])
        .arg(home)
        .args(["serve", "--demo", "--listen", "127.0.0.1:0"])
        .env_remove("YINZHENG_PASSPHRASE")
        .env("YINZHENG_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(log).unwrap())
        .spawn()
        .unwrap_or_else(|e| panic!("{} does not start: {e}", bin.display()));
    let mut guard = KillOnDrop(child);
    let stdout = guard.0.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        // The report is pretty JSON ending in a `}` line; keep draining after.
        let mut text = String::new();
        let mut lines = BufReader::new(stdout).lines();
        for line in lines.by_ref() {
            let Ok(line) = line else { break };
            text.push_str(&line);
            text.push('\n');
            if line == "}" {
                let _ = tx.send(text.clone());
                break;
            }
        }
        for _ in lines {}
    });
    // Making the demo takes 10–30 s in a debug build on a busy machine.
    let report = match rx.recv_timeout(Duration::from_secs(180)) {
        Ok(t) => serde_json::from_str::<Value>(&t).unwrap(),
        Err(_) => panic!(
            "`yinzheng serve --demo` did not report listening within 180 s: {}",
            std::fs::read_to_string(log).unwrap_or_default()
        ),
    };
    (guard, report)
}

/// A copy of `pdf` with one byte of the first page's content stream changed
/// (the signature and its byte ranges untouched).
fn tamper(pdf: &[u8]) -> Vec<u8> {
    let find = |hay: &[u8], needle: &[u8], from: usize| {
        hay[from..]
            .windows(needle.len())
            .position(|w| w == needle)
            .map(|p| p + from)
    };
    // `/Contents N 0 R` of the page, then `N 0 obj … stream`.
    let mut at = 0;
    let obj = loop {
        let p = find(pdf, b"/Contents ", at).expect("the PDF has a page /Contents");
        let rest = &pdf[p + 10..];
        let n: String = rest
            .iter()
            .take_while(|b| b.is_ascii_digit())
            .map(|&b| b as char)
            .collect();
        if !n.is_empty() && rest[n.len()..].starts_with(b" 0 R") {
            break n;
        }
        at = p + 10;
    };
    let start =
        find(pdf, format!("\n{obj} 0 obj").as_bytes(), 0).expect("the page content object") + 1;
    let stream = find(pdf, b"stream", start).expect("the content stream") + b"stream".len();
    let body = stream + if pdf[stream] == b'\r' { 2 } else { 1 };
    let mut out = pdf.to_vec();
    out[body + 4] ^= 0x20;
    assert_ne!(out, pdf);
    out
}

/// Another identifier of the valid license's type and authority: well formed,
/// never issued.
fn unknown_id(valid: &str) -> String {
    let id = yinzheng_license::LicenseId::parse(valid).unwrap();
    yinzheng_license::LicenseId::new(id.type_code(), id.issuer_code(), "NOSUCH000000001", 1)
        .unwrap()
        .to_string()
}

/// The Python that runs the check (`$YINZHENG_BROWSER_PYTHON`, else `python3`).
fn python() -> String {
    yinzheng_tests::require_peer("python3");
    let py = std::env::var("YINZHENG_BROWSER_PYTHON").unwrap_or_else(|_| "python3".into());
    if let Err(e) = Command::new(&py).arg("--version").output() {
        panic!("`{py}` not found ({e}): apt-get install python3 (scripts/test.sh installs it)");
    }
    py
}

/// Chromium, the peer browser: `$YINZHENG_CHROMIUM` or `chromium` on PATH.
fn chromium() -> String {
    yinzheng_tests::require_peer("chromium");
    let bin = std::env::var("YINZHENG_CHROMIUM").unwrap_or_else(|_| "chromium".into());
    match Command::new(&bin).arg("--version").output() {
        Ok(o) if o.status.success() => bin,
        Ok(o) => panic!(
            "`{bin} --version` failed: {}{} (apt-get install chromium; scripts/test.sh installs it)",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        ),
        Err(e) => panic!(
            "peer tool `{bin}` not found ({e}). The counter page test needs Chromium: \
             `apt-get install chromium` (scripts/test.sh installs it; or set YINZHENG_CHROMIUM)"
        ),
    }
}

/// Run the browser check with a deadline; its exit status and output.
fn browser_check(args: &[String], deadline: Duration) -> (Option<i32>, String) {
    let script = workspace().join("scripts").join("browser_check.py");
    let mut child = KillOnDrop(
        Command::new(python())
            .arg(&script)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let mut out = child.0.stdout.take().unwrap();
    let mut err = child.0.stderr.take().unwrap();
    let o = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = out.read_to_string(&mut s);
        s
    });
    let e = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = err.read_to_string(&mut s);
        s
    });
    let start = Instant::now();
    let status = loop {
        if let Some(st) = child.0.try_wait().unwrap() {
            break st.code();
        }
        if start.elapsed() > deadline {
            let _ = child.0.kill();
            break None;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let text = format!("{}{}", o.join().unwrap(), e.join().unwrap());
    (status, text)
}

#[yinzheng_tests::peer_test(chromium)]
fn counter_page_in_chromium() {
    let chromium = chromium();
    let tmp = yinzheng_tests::tempdir();
    let home = tmp.path().join("home");
    let log = tmp.path().join("server.log");
    let expect_index = tmp.path().join("index.html");
    std::fs::write(&expect_index, yinzheng_server::routes::INDEX_HTML).unwrap();
    let screenshot = tmp.path().join("verify-page.png");

    let mut rebuilt = false;
    loop {
        let bin = yinzheng_bin(rebuilt);
        let (server, report) = serve(&bin, &home, &log);
        let url = report["url"].as_str().unwrap().to_string();
        let key = report["demoApiKey"].as_str().unwrap().to_string();
        let licenses = report["demoLicenses"].as_array().unwrap();
        let with = |status: &str| {
            licenses
                .iter()
                .find(|l| l["status"] == status)
                .and_then(|l| l["id"].as_str())
                .unwrap_or_else(|| panic!("the demo has no {status} license"))
                .to_string()
        };
        let (valid, revoked) = (with("valid"), with("revoked"));
        let pdf = |id: &str| home.join("licenses/files").join(id).join("license.pdf");
        let tampered = tmp.path().join("tampered.pdf");
        std::fs::write(&tampered, tamper(&std::fs::read(pdf(&valid)).unwrap())).unwrap();

        let mut args: Vec<String> = vec![
            "--chromium".into(),
            chromium.clone(),
            "--url".into(),
            url,
            "--tls-root".into(),
            home.join("demo/tls-root.pem").display().to_string(),
            "--api-key".into(),
            key,
            "--valid-id".into(),
            valid.clone(),
            "--valid-pdf".into(),
            pdf(&valid).display().to_string(),
            "--tampered-pdf".into(),
            tampered.display().to_string(),
            "--revoked-pdf".into(),
            pdf(&revoked).display().to_string(),
            "--unknown-id".into(),
            unknown_id(&valid),
            "--expect-index".into(),
            expect_index.display().to_string(),
            "--screenshot".into(),
            screenshot.display().to_string(),
        ];
        if let Some(t) = report["demoToken"].as_str() {
            args.extend(["--token".into(), t.to_string()]);
        }
        let (status, output) = browser_check(&args, Duration::from_secs(120));
        drop(server);
        if status == Some(3) && !rebuilt {
            // The binary predates this source tree's page: build it and rerun.
            rebuilt = true;
            continue;
        }
        assert_eq!(
            status,
            Some(0),
            "the browser check failed (status {status:?}):\n{output}\nserver log:\n{}",
            std::fs::read_to_string(&log).unwrap_or_default()
        );
        println!("{output}");
        break;
    }
    let png = std::fs::read(&screenshot).unwrap();
    assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"));
    if let Ok(keep) = std::env::var("YINZHENG_SCREENSHOT") {
        std::fs::write(&keep, &png).unwrap();
    }
}
