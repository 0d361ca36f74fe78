//! `yinzheng serve --demo` as a new user runs it: the demo is made, the
//! printed curl commands are run as printed by curl (an independent client)
//! and answer; SIGTERM stops the server cleanly after in-flight requests.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[yinzheng_tests::peer_test(curl)]
fn serve_demo_prints_curl_commands_that_work() {
    let dir = yinzheng_tests::tempdir();
    let home = dir.path().join("home");
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
    let mut server = Server(child);
    let printed = yinzheng_tests::serve_banner(stdout);
    let text = printed.join("\n");
    assert!(text.contains("listening on https://127.0.0.1:"), "{text}");
    assert!(text.contains("demo API key: yzk_"), "{text}");
    let commands: Vec<&String> = printed.iter().filter(|l| l.starts_with("curl ")).collect();
    assert!(commands.len() >= 8, "{text}");
    for cmd in &commands {
        assert!(cmd.contains("--cacert"), "TLS is verified, never -k: {cmd}");
        let with_status = format!(
            "{} -sS -w '\\n%{{http_code}}'",
            cmd.replacen("curl", &curl, 1)
        );
        let out = Command::new("sh")
            .args(["-c", &with_status])
            .output()
            .expect("sh runs");
        let body = String::from_utf8_lossy(&out.stdout);
        let (body, status) = body.rsplit_once('\n').expect("status line");
        assert_eq!(
            status,
            "200",
            "{cmd}\n{body}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        if cmd.contains("/v1/licenses/") || cmd.contains("/v1/verify") || cmd.contains("/redeem") {
            let j: serde_json::Value = serde_json::from_str(body).expect("JSON");
            assert!(
                j["code"].is_u64() && j["usageRecord"].as_i64().is_some_and(|n| n > 0),
                "{j}"
            );
            if cmd.contains("receipt=true") {
                assert_eq!(j["receipt"]["format"], "yinzheng-receipt/1", "{j}");
            }
        }
    }
    // the revoked license's command says so
    let revoked_at = printed
        .iter()
        .position(|l| l.contains("revoked license"))
        .expect("revoked example");
    let cmd = &printed[revoked_at + 1];
    let out = Command::new("sh")
        .args(["-c", &cmd.replacen("curl", &curl, 1)])
        .output()
        .expect("sh");
    let j: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(
        (j["code"].as_u64(), j["status"].as_str()),
        (Some(3), Some("revoked"))
    );

    // SIGTERM: a clean stop, exit 0
    let pid = server.0.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .expect("kill")
            .success()
    );
    let deadline = Instant::now() + Duration::from_secs(40);
    let status = loop {
        if let Some(s) = server.0.try_wait().expect("wait") {
            break s;
        }
        assert!(
            Instant::now() < deadline,
            "the server did not stop within 40 s of SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(status.success(), "{status:?}");

    // a second `serve --demo` on the same directory reuses it (no new demo)
    let out = yinzheng_tests::run_cli(
        env!("CARGO_BIN_EXE_yinzheng"),
        dir.path(),
        &[
            "--home",
            &home.display().to_string(),
            "serve",
            "--demo",
            "--listen",
            "256.0.0.1:1",
        ],
        &[],
    );
    assert_eq!(
        out.status.code(),
        Some(2),
        "bad listen address is a usage error"
    );
}
