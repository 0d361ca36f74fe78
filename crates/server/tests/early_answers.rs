//! Early answers reach the client (issue 19): a request refused before its
//! body is read (401 without a key, 413 from Content-Length) while the
//! client is still sending gets its problem-details answer — over HTTP/2
//! (where the stream used to be reset as the answer ended, which curl 7.88
//! turns into a lost answer) and HTTP/1.1 alike. Checked with curl, the
//! peer that lost it.

mod support;

use std::process::Command;
use yinzheng_server::ServerConfig;

#[yinzheng_tests::peer_test(curl)]
fn early_refusals_reach_curl_over_http2_and_http1() {
    let curl = yinzheng_tests::curl();
    let dir = tempfile::tempdir().expect("dir");
    let home = dir.path().join("home");
    let info =
        yinzheng_server::demo::create(&home, &yinzheng_tests::store_backend(&home)).expect("demo");
    let config = ServerConfig {
        listen: "127.0.0.1:0".parse().expect("addr"),
        max_upload_bytes: 1 << 20,
        ..ServerConfig::load(&home).expect("config")
    };
    let running = support::start(&home, &info.passphrase, config);
    let body = dir.path().join("body.bin");
    std::fs::write(&body, vec![b'%'; 4 << 20]).expect("body");
    let url = format!(
        "https://127.0.0.1:{}/v1/verify?purpose=p&matter=m&businessSerial=b&operator=o",
        running.port
    );
    let ca = home.join("demo/tls-root.pem");
    for http in ["--http2", "--http1.1"] {
        for (key, status, problem) in [
            (None, "401", "unauthenticated"),
            (Some(info.api_key.as_str()), "413", "payload_too_large"),
        ] {
            let mut cmd = Command::new(&curl);
            cmd.args(["-sS", http, "--cacert"])
                .arg(&ca)
                .args(["-o", "-", "-w", "\n%{http_code}", "-H"])
                .arg("Content-Type: application/pdf")
                .arg("--data-binary")
                .arg(format!("@{}", body.display()));
            if let Some(k) = key {
                cmd.arg("-H").arg(format!("Authorization: Bearer {k}"));
            }
            let out = cmd
                .arg(&url)
                .output()
                .expect("curl runs (scripts/test.sh installs it: apt-get install curl)");
            let text = String::from_utf8_lossy(&out.stdout);
            assert!(
                out.status.success(),
                "{http} {status}: curl failed: {} {text}",
                String::from_utf8_lossy(&out.stderr)
            );
            let (answer, code) = text.rsplit_once('\n').expect("status line");
            assert_eq!(code, status, "{http}: {answer}");
            let j: serde_json::Value = serde_json::from_str(answer).expect("problem JSON");
            assert_eq!(j["code"], problem, "{http}: {answer}");
        }
    }
}
