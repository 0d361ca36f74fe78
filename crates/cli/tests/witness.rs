//! `yinzheng witness` as a department runs it: init, add-log, serve; a log's
//! checkpoints sent over HTTP as c2sp.org/tlog-witness says, cosigned while
//! they extend the last one, refused (409/422/403/404) otherwise; and the
//! witness killed with SIGKILL while checkpoints stream in, restarted, never
//! accepting a checkpoint older than one it acknowledged.

#![allow(clippy::unwrap_used)]

use std::io::{Read, Write};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use yinzheng_anchor::{
    Checkpoint, HashAlg, MemoryTree, Note, NoteSigner, VerifierKey, consistency_proof, root,
};
use yinzheng_crypto::{KeyAlgorithm, PrivateKey};
use yinzheng_witness::AddCheckpoint;

const ORIGIN: &str = "verify.example.gov.cn/log";

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn yz(d: &Path, args: &[&str]) -> std::process::Output {
    let out = yinzheng_tests::run_cli(
        env!("CARGO_BIN_EXE_yinzheng"),
        d,
        args,
        &[("YINZHENG_PASSPHRASE", "witness pass")],
    );
    yinzheng_tests::assert_success(out, &args)
}

/// Start `witness serve` on a free port; its base URL's address.
fn start(d: &Path) -> (Server, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_yinzheng"))
        .args([
            "--home",
            "home",
            "witness",
            "serve",
            "--listen",
            "127.0.0.1:0",
        ])
        .current_dir(d)
        .env("YINZHENG_PASSPHRASE", "witness pass")
        .env("YINZHENG_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let printed = yinzheng_tests::serve_banner(stdout);
    let text = printed.join("\n");
    let addr = text
        .split("http://")
        .nth(1)
        .and_then(|s| s.split_whitespace().next())
        .unwrap_or_else(|| panic!("no address in {text}"))
        .to_string();
    (Server(child), addr)
}

/// POST `body` to `addr`'s add-checkpoint: (status, content type, body).
fn post(addr: &str, body: &str) -> (u16, String, String) {
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    write!(
        s,
        "POST /add-checkpoint HTTP/1.1\r\nHost: {addr}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut raw = String::new();
    s.read_to_string(&mut raw).unwrap();
    let (head, payload) = raw.split_once("\r\n\r\n").unwrap_or((&raw, ""));
    let status: u16 = head
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let content_type = head
        .lines()
        .find_map(|l| {
            l.to_ascii_lowercase()
                .strip_prefix("content-type: ")
                .map(str::to_string)
        })
        .unwrap_or_default();
    (status, content_type, payload.to_string())
}

struct Log {
    signer: NoteSigner,
    tree: MemoryTree,
}

impl Log {
    fn grow_to(&mut self, size: u64) {
        while self.tree.size() < size {
            let n = self.tree.size();
            self.tree.push_entry(format!("entry {n}").as_bytes());
        }
    }

    fn body(&self, old: u64) -> String {
        let proof = if old == 0 || old == self.tree.size() {
            vec![]
        } else {
            consistency_proof(&self.tree, old, self.tree.size()).unwrap()
        };
        AddCheckpoint {
            old,
            proof,
            checkpoint: Checkpoint::new(ORIGIN, self.tree.size(), self.tree.root())
                .unwrap()
                .sign(&[&self.signer])
                .unwrap(),
        }
        .to_body()
    }
}

#[test]
fn a_witness_serves_cosigns_refuses_and_survives_sigkill_without_rolling_back() {
    let dir = yinzheng_tests::tempdir();
    let d = dir.path();
    let out = yz(
        d,
        &[
            "--home",
            "home",
            "--json",
            "witness",
            "init",
            "--name",
            "witness.example.gov.cn/w1",
            "--sm2",
        ],
    );
    let init: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let vkeys: Vec<VerifierKey> = init["vkeys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| VerifierKey::parse(v.as_str().unwrap()).unwrap())
        .collect();
    assert_eq!(vkeys.len(), 2, "{init}");
    // The key inventory lists the witness's keys.
    let listed = yz(d, &["--home", "home", "keys", "--json"]);
    let keys: serde_json::Value = serde_json::from_slice(&listed.stdout).unwrap();
    assert_eq!(
        keys.as_array()
            .unwrap()
            .iter()
            .filter(|k| k["purpose"]
                .as_str()
                .unwrap()
                .starts_with("witness cosignatures"))
            .count(),
        2,
        "{keys}"
    );
    let mut log = Log {
        signer: NoteSigner::new(ORIGIN, PrivateKey::generate(KeyAlgorithm::Sm2).unwrap()).unwrap(),
        tree: MemoryTree::new(HashAlg::Sm3),
    };
    let vkey = log.signer.verifier().to_string();
    yz(
        d,
        &[
            "--home", "home", "witness", "add-log", "--origin", ORIGIN, "--vkey", &vkey,
        ],
    );

    let (server, addr) = start(d);
    log.grow_to(4);
    let (status, _, lines) = post(&addr, &log.body(0));
    assert_eq!(status, 200, "{lines}");
    // Both cosignatures verify on the checkpoint with the witness's vkeys.
    let cp = Checkpoint::new(ORIGIN, 4, log.tree.root())
        .unwrap()
        .sign(&[&log.signer])
        .unwrap();
    let opened = Note::parse(format!("{cp}{lines}").as_bytes())
        .unwrap()
        .open(&vkeys)
        .unwrap();
    assert_eq!(opened, vec!["witness.example.gov.cn/w1"]);
    // Stale: 409 with the size as text/x.tlog.size.
    log.grow_to(6);
    let (status, ctype, body) = post(&addr, &log.body(0));
    assert_eq!(
        (status, ctype.as_str(), body.as_str()),
        (409, "text/x.tlog.size", "4\n")
    );
    // A bad proof: 422; not the log's key: 403; a malformed checkpoint: 400
    // (unknown origins, 404, are in the crate's tests).
    let mut bad = log.body(4);
    let at = bad.find('\n').unwrap() + 1;
    bad.replace_range(at..at + 1, if &bad[at..at + 1] == "A" { "B" } else { "A" });
    assert_eq!(post(&addr, &bad).0, 422);
    let stranger =
        NoteSigner::new(ORIGIN, PrivateKey::generate(KeyAlgorithm::Sm2).unwrap()).unwrap();
    let forged = AddCheckpoint {
        old: 4,
        proof: consistency_proof(&log.tree, 4, 6).unwrap(),
        checkpoint: Checkpoint::new(ORIGIN, 6, log.tree.root())
            .unwrap()
            .sign(&[&stranger])
            .unwrap(),
    };
    assert_eq!(post(&addr, &forged.to_body()).0, 403);
    assert_eq!(
        post(
            &addr,
            "old 0\n\nelsewhere/log\n1\nAAAA\n\n\u{2014} x AAAA\n"
        )
        .0,
        400
    );
    assert_eq!(post(&addr, &log.body(4)).0, 200);

    // Checkpoints stream in; the witness is killed (SIGKILL) mid-stream and
    // restarted, three times. The size it holds after each restart is at
    // least the last one it answered 200 for, and every older checkpoint is
    // refused.
    let mut server = server;
    let mut addr = addr;
    let mut acknowledged = 6;
    for round in 0..3u64 {
        let pid = server.0.id();
        let killer = std::thread::spawn(move || {
            std::thread::sleep(std::time::Duration::from_millis(150 + 50 * round));
            let _ = Command::new("kill")
                .args(["-KILL", &pid.to_string()])
                .status();
        });
        let mut held = acknowledged;
        let mut cosigned = 0;
        loop {
            log.grow_to(log.tree.size() + 1);
            let body = log.body(held);
            let (status, _, _) = post_or_dead(&addr, &body);
            match status {
                200 => {
                    held = log.tree.size();
                    acknowledged = held;
                    cosigned += 1;
                }
                0 => break, // killed
                s => panic!("round {round}: status {s}"),
            }
        }
        killer.join().unwrap();
        assert!(
            cosigned > 0,
            "round {round}: killed before anything was cosigned"
        );
        let _ = server.0.wait();
        let (next, next_addr) = start(d);
        server = next;
        addr = next_addr;
        // The state it came back with: never before the last acknowledged size.
        let out = yz(d, &["--home", "home", "--json", "witness", "status"]);
        let status: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let size = status[0]["size"].as_u64().unwrap();
        assert!(
            size >= acknowledged,
            "round {round}: held {size}, acknowledged {acknowledged}"
        );
        // A checkpoint older than what it holds (one the log really signed):
        // refused, whichever old size is claimed.
        let older = size - 1;
        let stale = |old: u64| {
            AddCheckpoint {
                old,
                proof: vec![],
                checkpoint: Checkpoint::new(ORIGIN, older, root(&log.tree, older).unwrap())
                    .unwrap()
                    .sign(&[&log.signer])
                    .unwrap(),
            }
            .to_body()
        };
        assert_eq!(post(&addr, &stale(0)).0, 409, "round {round}");
        assert_eq!(post(&addr, &stale(size)).0, 400, "round {round}");
        // It catches up from the size it says it holds.
        log.grow_to(log.tree.size() + 1);
        let (code, _, body) = post(&addr, &log.body(size));
        assert_eq!(code, 200, "round {round}: {body}");
        acknowledged = log.tree.size();
    }
    drop(server);
}

/// [`post`], status 0 when the witness is gone (killed mid-request).
fn post_or_dead(addr: &str, body: &str) -> (u16, String, String) {
    match std::net::TcpStream::connect(addr) {
        Err(_) => (0, String::new(), String::new()),
        Ok(_) => {
            let r = std::panic::catch_unwind(|| post(addr, body));
            r.unwrap_or((0, String::new(), String::new()))
        }
    }
}

/// `log verify` with the witnesses a relying party trusts: evidence whose
/// checkpoint a witness cosigned passes; without the cosignature it is
/// INDETERMINATE and says who did not cosign; a forged cosignature fails.
#[test]
fn log_verify_requires_the_witness_quorum() {
    let dir = yinzheng_tests::tempdir();
    let d = dir.path();
    yz(d, &["--home", "home", "log", "init"]);
    std::fs::write(d.join("note.txt"), "an entry the region relies on\n").unwrap();
    yz(
        d,
        &["--home", "home", "log", "append", "--data", "note.txt"],
    );
    yz(
        d,
        &[
            "--home", "home", "log", "prove", "--index", "0", "--out", "ev.txt",
        ],
    );
    let evidence = std::fs::read_to_string(d.join("ev.txt")).unwrap();
    let checkpoint = evidence.split_once("\n\n").unwrap().1.to_string();
    let origin = checkpoint.lines().next().unwrap().to_string();
    yz(
        d,
        &[
            "--home",
            "home",
            "witness",
            "init",
            "--name",
            "witness.dept-a.example/w1",
        ],
    );
    yz(
        d,
        &[
            "--home",
            "home",
            "witness",
            "add-log",
            "--origin",
            &origin,
            "--vkey",
            "home/log/log.vkey",
        ],
    );
    let (server, addr) = start(d);
    let (status, _, lines) = post(&addr, &format!("old 0\n\n{checkpoint}"));
    assert_eq!(status, 200, "{lines}");
    drop(server);
    std::fs::write(d.join("ev-w.txt"), format!("{evidence}{lines}")).unwrap();
    let verify = |file: &str, quorum: &str| {
        let out = yinzheng_tests::run_cli(
            env!("CARGO_BIN_EXE_yinzheng"),
            d,
            &[
                "--home",
                "home",
                "log",
                "verify",
                "--vkey",
                "home/log/log.vkey",
                "--witness-vkey",
                "home/witness/witness-ed25519.vkey",
                "--quorum",
                quorum,
                file,
            ],
            &[],
        );
        (
            out.status.code(),
            format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ),
        )
    };
    let (code, said) = verify("ev-w.txt", "1");
    assert_eq!(code, Some(0), "{said}");
    assert!(
        said.contains("cosigned by witness.dept-a.example/w1"),
        "{said}"
    );
    let (code, said) = verify("ev.txt", "1");
    assert_eq!(code, Some(1), "{said}");
    assert!(
        said.contains("INDETERMINATE") && said.contains("not by witness.dept-a.example/w1"),
        "{said}"
    );
    // A forged cosignature (one byte of the signature changed).
    let line = lines.trim_end();
    let (head, sig) = line.rsplit_once(' ').unwrap();
    let mut raw = yinzheng_anchor::base64::decode(sig).unwrap();
    raw[40] ^= 1;
    std::fs::write(
        d.join("ev-f.txt"),
        format!(
            "{evidence}{head} {}\n",
            yinzheng_anchor::base64::encode(&raw)
        ),
    )
    .unwrap();
    let (code, said) = verify("ev-f.txt", "1");
    assert_eq!(code, Some(1), "{said}");
    assert!(said.contains("TOTAL_FAILED"), "{said}");
    // A quorum larger than the witnesses trusted is a usage error.
    let (code, said) = verify("ev-w.txt", "2");
    assert_eq!(code, Some(2), "{said}");
}
