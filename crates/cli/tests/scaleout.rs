//! Two `yinzheng serve` processes on one PostgreSQL database (the scale-out
//! deployment of docs/DEPLOYMENT.md), driven as an operator would: the
//! binary, the CLI, curl and psql.
//!
//! - revoke on A (CLI on A's data directory): the next check on B says revoked;
//! - issue on B: status on A finds it;
//! - revoke the sealing certificate on A: B's verification of a sealed PDF
//!   fails at once (LISTEN/NOTIFY rebuilds B's validator, no 5-minute wait);
//! - SIGKILL the sequencer (A) while both answer: B takes the lease, every
//!   acknowledged usage record ends up anchored, and B's checkpoints extend
//!   A's (consistency proof verified with the log key).
//!
//! Needs `YINZHENG_TEST_POSTGRES_URL` (scripts/test.sh starts a private
//! PostgreSQL with scripts/pg.sh); without it the test fails and says how.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_yinzheng");

struct Server {
    child: Child,
    base: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn pg_url() -> String {
    yinzheng_tests::postgres_url()
}

/// `serve --demo` on `home` against `store`; waits for the banner.
fn serve(home: &Path, store: &str) -> (Server, String) {
    let mut child = Command::new(BIN)
        .args([
            "--home",
            &home.display().to_string(),
            "serve",
            "--demo",
            "--listen",
            "127.0.0.1:0",
        ])
        .env("YINZHENG_STORE", store)
        .env_remove("YINZHENG_PASSPHRASE")
        .env("YINZHENG_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("the binary runs");
    let stdout = child.stdout.take().expect("stdout");
    let text = yinzheng_tests::serve_banner(stdout).join("\n");
    let base = text
        .lines()
        .find_map(|l| l.strip_prefix("listening on "))
        .unwrap_or_else(|| panic!("no URL in {text}"))
        .trim()
        .to_string();
    (Server { child, base }, text)
}

/// `yinzheng --home H …` with the store in the environment; stdout.
fn cli(home: &Path, store: &str, args: &[&str]) -> String {
    let out = Command::new(BIN)
        .arg("--home")
        .arg(home)
        .args(args)
        .env("YINZHENG_STORE", store)
        .env_remove("YINZHENG_PASSPHRASE")
        .output()
        .expect("the binary runs");
    assert!(
        out.status.success(),
        "yinzheng {args:?}: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

struct Api {
    curl: String,
    ca: PathBuf,
    key: String,
}

const USAGE: &str = "purpose=scale-out-test&matter=M-1&businessSerial=BS-1&operator=op-1";

impl Api {
    /// (HTTP status, body) of a GET or a POST of a file.
    fn call(&self, base: &str, path: &str, post: Option<(&Path, &str)>) -> (u16, String) {
        let mut cmd = Command::new(&self.curl);
        cmd.args(["-sS", "--max-time", "20", "--cacert"])
            .arg(&self.ca)
            .args(["-H", &format!("Authorization: Bearer {}", self.key)])
            .args(["-w", "\n%{http_code}"]);
        if let Some((file, ty)) = post {
            cmd.args(["-H", &format!("Content-Type: {ty}"), "--data-binary"])
                .arg(format!("@{}", file.display()));
        }
        let out = cmd
            .arg(format!("{base}{path}"))
            .output()
            .expect("curl runs");
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        let (body, code) = text.rsplit_once('\n').unwrap_or(("", "0"));
        (code.trim().parse().unwrap_or(0), body.to_string())
    }

    fn json(&self, base: &str, path: &str) -> serde_json::Value {
        let (code, body) = self.call(base, path, None);
        assert_eq!(code, 200, "GET {base}{path}: {body}");
        serde_json::from_str(&body).unwrap_or_else(|e| panic!("{e}: {body}"))
    }

    fn status(&self, base: &str, id: &str) -> serde_json::Value {
        self.json(base, &format!("/v1/licenses/{id}?{USAGE}"))
    }
}

fn psql(url: &str, sql: &str) -> String {
    let out = Command::new("psql")
        .args([url, "-tAc", sql])
        .output()
        .expect("psql runs (Debian: postgresql-client)");
    assert!(
        out.status.success(),
        "psql {sql}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// `key = "value"` lines of the demo's secrets file, in order.
fn toml_values(path: &Path, key: &str) -> Vec<String> {
    let text = std::fs::read_to_string(path).expect("demo secrets");
    text.lines()
        .filter_map(|l| {
            let (k, v) = l.split_once('=')?;
            (k.trim() == key).then(|| v.trim().trim_matches('"').to_string())
        })
        .collect()
}

#[yinzheng_tests::peer_test(curl, postgresql)]
fn two_servers_on_one_postgres_database() {
    let base_url = pg_url();
    let ns = format!(
        "so{}_{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_micros())
            .unwrap_or(0)
    );
    let sep = if base_url.contains('?') { '&' } else { '?' };
    let store = format!("{base_url}{sep}namespace={ns}");
    let dir = yinzheng_tests::tempdir();
    let home_a = dir.path().join("a");
    let home_b = dir.path().join("b");

    // Server A makes the demo: keys and files in A's directory, data in PostgreSQL.
    let (a, banner) = serve(&home_a, &store);
    let key = banner
        .lines()
        .find_map(|l| l.strip_prefix("demo API key: "))
        .expect("API key")
        .trim()
        .to_string();
    assert!(
        !home_a.join("licenses/licenses.db").exists() && !home_a.join("log/state.sqlite").exists(),
        "with --store postgres:// no SQLite database is made"
    );
    // Server B: a copy of A's data directory (keys, certificates, callers),
    // the log's tiles shared (here a symlink; in production a shared volume).
    let cp = Command::new("cp")
        .arg("-a")
        .arg(&home_a)
        .arg(&home_b)
        .status()
        .expect("cp");
    assert!(cp.success());
    std::fs::remove_dir_all(home_b.join("log/tiles")).expect("rm tiles copy");
    std::os::unix::fs::symlink(home_a.join("log/tiles"), home_b.join("log/tiles")).expect("link");
    let (b, _) = serve(&home_b, &store);

    let api = Api {
        curl: yinzheng_tests::curl(),
        ca: home_a.join("demo/tls-root.pem"),
        key,
    };
    let secrets = home_a.join("server/demo-secrets.toml");
    let pass_file = dir.path().join("pass");
    std::fs::write(&pass_file, &toml_values(&secrets, "passphrase")[0]).expect("pass");
    let pass = pass_file.display().to_string();
    let ids = toml_values(&secrets, "id");
    let statuses = toml_values(&secrets, "status");
    let valid: Vec<&String> = ids
        .iter()
        .zip(&statuses)
        .filter(|(_, s)| *s == "valid")
        .map(|(i, _)| i)
        .collect();
    assert!(valid.len() >= 2, "{ids:?} {statuses:?}");

    // Both answer the same.
    for base in [&a.base, &b.base] {
        let j = api.status(base, valid[0]);
        assert_eq!(j["code"], 0, "{j}");
    }

    // 1. Revoke on A, the next check on B says revoked.
    cli(
        &home_a,
        &store,
        &[
            "license",
            "revoke",
            valid[0],
            "--reason",
            "scale-out test",
            "--passphrase-file",
            &pass,
        ],
    );
    let j = api.status(&b.base, valid[0]);
    assert_eq!(
        (j["code"].as_u64(), j["status"].as_str()),
        (Some(3), Some("revoked")),
        "{j}"
    );

    // 2. Issue on B, status on A finds it (its "issued" entry went through
    //    the log queue to the sequencing server).
    let issued = cli(
        &home_b,
        &store,
        &[
            "--json",
            "license",
            "issue",
            "--type",
            "business-licence",
            "--holder-name",
            "扩容测试有限公司",
            "--holder-code",
            "91350100M000100Y43",
            "--field",
            "company_type=有限责任公司",
            "--field",
            "legal_rep=赵六",
            "--field",
            "established=2021-01-01",
            "--field",
            "address=示例市扩容路1号",
            "--seal",
            &toml_values(&secrets, "seal_id")[0],
            "--key",
            &home_b.join("demo/authority.key.pem").display().to_string(),
            "--passphrase-file",
            &pass,
        ],
    );
    let issued: serde_json::Value = serde_json::from_str(&issued).expect("issue JSON");
    let new_id = issued["id"]
        .as_str()
        .or_else(|| issued["license"]["id"].as_str())
        .unwrap_or_else(|| panic!("no id in {issued}"))
        .to_string();
    let j = api.status(&a.base, &new_id);
    assert_eq!(
        (j["code"].as_u64(), j["status"].as_str()),
        (Some(0), Some("valid")),
        "{j}"
    );

    // 3. Revoke the authority's sealing certificate on A: B's verification of
    //    a sealed license PDF fails as soon as the notification arrives.
    let pdf = std::fs::read_dir(home_a.join("licenses/files"))
        .expect("license files")
        .flatten()
        .flat_map(|d| std::fs::read_dir(d.path()).into_iter().flatten().flatten())
        .map(|e| e.path())
        .find(|p| {
            p.extension().is_some_and(|e| e == "pdf")
                && p.to_string_lossy().contains(valid[1].as_str())
        })
        .or_else(|| {
            // files/<id>/license.pdf
            let p = home_a
                .join("licenses/files")
                .join(valid[1])
                .join("license.pdf");
            p.exists().then_some(p)
        })
        .unwrap_or_else(|| panic!("no PDF of {}", valid[1]));
    let verify = |base: &str| {
        let (code, body) = api.call(
            base,
            &format!("/v1/verify?{USAGE}"),
            Some((&pdf, "application/pdf")),
        );
        assert_eq!(code, 200, "{body}");
        serde_json::from_str::<serde_json::Value>(&body).expect("JSON")
    };
    let before = verify(&b.base);
    assert_eq!(before["code"], 0, "{before}");

    // 4. Kill the sequencer (A, which started first) while both answer.
    let cp_before = api.call(&b.base, "/v1/log/checkpoint", None).1;
    let size_before: u64 = cp_before
        .lines()
        .nth(1)
        .and_then(|l| l.parse().ok())
        .expect("size");
    let acked = Arc::new(Mutex::new(Vec::<i64>::new()));
    let stop = Arc::new(AtomicBool::new(false));
    let load = {
        let (acked, stop) = (acked.clone(), stop.clone());
        let bases = [a.base.clone(), b.base.clone()];
        let id = valid[1].clone();
        let api = Api {
            curl: api.curl.clone(),
            ca: api.ca.clone(),
            key: api.key.clone(),
        };
        std::thread::spawn(move || {
            let mut n = 0usize;
            while !stop.load(Ordering::Relaxed) {
                n += 1;
                let base = &bases[n % 2];
                let (code, body) = api.call(base, &format!("/v1/licenses/{id}?{USAGE}"), None);
                if code == 200
                    && let Ok(j) = serde_json::from_str::<serde_json::Value>(&body)
                    && let Some(seq) = j["usageRecord"].as_i64()
                {
                    acked.lock().expect("acked").push(seq);
                }
            }
        })
    };
    std::thread::sleep(Duration::from_millis(1500));
    let mut a = a;
    a.child.kill().expect("SIGKILL A");
    a.child.wait().expect("reaped");
    std::thread::sleep(Duration::from_millis(2500));
    stop.store(true, Ordering::Relaxed);
    load.join().expect("load thread");
    let acked = acked.lock().expect("acked").clone();
    assert!(acked.len() > 20, "too few answers: {}", acked.len());

    // B takes over: every acknowledged record is anchored.
    let license = format!("{ns}_license");
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let pending = psql(
            &base_url,
            &format!(
                "SELECT count(*) FROM {license}.usage u WHERE NOT EXISTS (SELECT 1 FROM {license}.usage_anchor a WHERE a.seq = u.seq)"
            ),
        );
        if pending == "0" {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{pending} usage records never anchored after the takeover"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    let list = acked
        .iter()
        .map(i64::to_string)
        .collect::<Vec<_>>()
        .join(",");
    let anchored = psql(
        &base_url,
        &format!("SELECT count(DISTINCT seq) FROM {license}.usage_anchor WHERE seq IN ({list})"),
    );
    let distinct: std::collections::BTreeSet<i64> = acked.iter().copied().collect();
    assert_eq!(
        anchored,
        distinct.len().to_string(),
        "acknowledged but not anchored"
    );

    // B's log extends A's: consistency proof from the size A published.
    let cp_after = api.call(&b.base, "/v1/log/checkpoint", None).1;
    let vkey = std::fs::read_to_string(home_a.join("log/log.vkey")).expect("vkey");
    let vk = yinzheng_anchor::VerifierKey::parse(vkey.trim()).expect("vkey parses");
    let old = yinzheng_anchor::SignedCheckpoint::open(
        cp_before.as_bytes(),
        std::slice::from_ref(&vk),
        None,
    )
    .expect("A's checkpoint verifies");
    let new = yinzheng_anchor::SignedCheckpoint::open(
        cp_after.as_bytes(),
        std::slice::from_ref(&vk),
        None,
    )
    .expect("B's checkpoint verifies");
    let size_after = new.checkpoint().size();
    assert_eq!(old.checkpoint().size(), size_before);
    assert!(
        size_after > size_before,
        "B sequenced nothing: {size_before} → {size_after}"
    );
    let proof = api.json(
        &b.base,
        &format!("/v1/log/consistency?old={size_before}&new={size_after}"),
    );
    let hashes: Vec<yinzheng_anchor::Hash> = proof["proof"]
        .as_array()
        .expect("proof")
        .iter()
        .map(|h| {
            let raw = yinzheng_anchor::base64::decode(h.as_str().expect("b64")).expect("base64");
            yinzheng_anchor::Hash::try_from(raw.as_slice()).expect("hash")
        })
        .collect();
    yinzheng_anchor::verify_consistency(
        yinzheng_anchor::HashAlg::Sm3,
        size_before,
        size_after,
        old.checkpoint().root(),
        new.checkpoint().root(),
        &hashes,
    )
    .expect("B's checkpoint is consistent with A's");

    // 5. With A gone, revoke the sealing certificate through B's directory:
    //    B's verification fails at once (its validator is rebuilt on the notification).
    let serial = toml_values(&secrets, "signer_serial")[0].clone();
    cli(
        &home_b,
        &store,
        &[
            "ca",
            "--domain",
            "demo",
            "--passphrase-file",
            &pass,
            "revoke",
            "--serial",
            &serial,
            "--reason",
            "keyCompromise",
        ],
    );
    let deadline = Instant::now() + Duration::from_secs(3);
    loop {
        let after = verify(&b.base);
        if after["code"] != 0 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "B still accepts a revoked signer: {after}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    drop(b);
}
