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
    start_at(d, "127.0.0.1:0")
}

/// Start `witness serve` listening on `listen` (a restart: the same port).
fn start_at(d: &Path, listen: &str) -> (Server, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_yinzheng"))
        .args(["--home", "home", "witness", "serve", "--listen", listen])
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

/// `GET path` from `addr`: (status, body).
fn get(addr: &str, path: &str) -> (u16, String) {
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut raw = String::new();
    s.read_to_string(&mut raw).unwrap();
    let (head, payload) = raw.split_once("\r\n\r\n").unwrap_or((&raw, ""));
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    (status, payload.to_string())
}

/// The tree size of a signed checkpoint note.
fn size_of(note: &str) -> u64 {
    Checkpoint::parse(Note::parse(note.as_bytes()).unwrap().text())
        .unwrap()
        .size()
}

/// Wait (30 s at most) until `f` holds.
fn wait_until(what: &str, mut f: impl FnMut() -> bool) {
    let start = std::time::Instant::now();
    while !f() {
        assert!(
            start.elapsed() < std::time::Duration::from_secs(30),
            "timed out waiting for {what}"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

/// A department's witness process in its own directory.
struct Department {
    dir: std::path::PathBuf,
    name: String,
    addr: String,
    server: Option<Server>,
}

impl Department {
    fn stop(&mut self) {
        self.server = None;
    }

    fn restart(&mut self) {
        let (server, addr) = start_at(&self.dir, &self.addr);
        assert_eq!(addr, self.addr);
        self.server = Some(server);
    }

    fn latest(&self, origin: &str) -> u64 {
        yinzheng_witness::read_latest(&self.dir.join("home/witness"), origin)
            .unwrap()
            .map_or(0, |l| l.size)
    }
}

/// The consortium of issue 24: one log and three departments' witnesses,
/// each a process of its own on loopback, quorum two. The log's witnessing
/// loop (`yinzheng log witness --watch`, what a sequencing server runs in a
/// thread) publishes the witnessed checkpoint; appends never wait for it.
/// One witness stopped: still witnessed. Two stopped: the log goes on, its
/// new entries' evidence is not witnessed (INDETERMINATE); restarted, they
/// catch up from the size each holds with one consistency proof. A witness
/// killed with SIGKILL while checkpoints stream in comes back holding what
/// it acknowledged. A fork of the log (same keys, other entries) is refused
/// by the witnesses that saw the real history; the one that was away
/// cosigns it, alone short of the quorum, and the auditor, given each
/// witness's latest checkpoint, shows the split.
#[test]
fn a_consortium_of_three_witnesses_keeps_one_log_honest() {
    let dir = yinzheng_tests::tempdir();
    let d = dir.path();
    let logd = d.join("log");
    std::fs::create_dir_all(&logd).unwrap();
    yz(&logd, &["--home", "home", "log", "init"]);
    let log_vkey = std::fs::read_to_string(logd.join("home/log/log.vkey"))
        .unwrap()
        .trim()
        .to_string();
    let origin = log_vkey.split('+').next().unwrap().to_string();
    let mut depts: Vec<Department> = Vec::new();
    for i in 1..=3 {
        let wd = d.join(format!("dept{i}"));
        std::fs::create_dir_all(&wd).unwrap();
        let name = format!("witness.dept{i}.example.gov.cn/w");
        yz(&wd, &["--home", "home", "witness", "init", "--name", &name]);
        yz(
            &wd,
            &[
                "--home", "home", "witness", "add-log", "--origin", &origin, "--vkey", &log_vkey,
            ],
        );
        let (server, addr) = start(&wd);
        let vkey = wd.join("home/witness/witness-ed25519.vkey");
        yz(
            &logd,
            &[
                "--home",
                "home",
                "log",
                "add-witness",
                "--url",
                &format!("http://{addr}/"),
                "--vkey",
                vkey.to_str().unwrap(),
                "--quorum",
                if i == 1 { "1" } else { "2" },
            ],
        );
        depts.push(Department {
            dir: wd,
            name,
            addr,
            server: Some(server),
        });
    }
    // Short waits for a test (the defaults are 5 s and 60 s).
    let wfile = logd.join("home/log/witnesses.toml");
    let config = std::fs::read_to_string(&wfile).unwrap();
    assert!(config.contains("quorum = 2"), "{config}");
    std::fs::write(
        &wfile,
        format!("timeout_ms = 3000\nretry_max_ms = 400\n{config}"),
    )
    .unwrap();
    // A quorum above the witnesses, or a witness key that is the log's: refused.
    let bad = yinzheng_tests::run_cli(
        env!("CARGO_BIN_EXE_yinzheng"),
        &logd,
        &[
            "--home",
            "home",
            "log",
            "add-witness",
            "--url",
            "http://127.0.0.1:9/",
            "--vkey",
            "home/log/log.vkey",
        ],
        &[],
    );
    assert_eq!(bad.status.code(), Some(2), "{bad:?}");

    let tiles = logd.join("home/log/tiles");
    let witnessed = || std::fs::read_to_string(tiles.join("checkpoint.witnessed")).ok();
    let witnessed_size = || witnessed().map_or(0, |n| size_of(&n));
    let appended = std::cell::Cell::new(0u64);
    let append = |n: u64, tag: &str| {
        for _ in 0..n {
            let k = appended.get();
            std::fs::write(logd.join("entry.txt"), format!("{tag} entry {k}\n")).unwrap();
            yz(
                &logd,
                &["--home", "home", "log", "append", "--data", "entry.txt"],
            );
            appended.set(k + 1);
        }
        appended.get()
    };
    // The log's witnessing loop; paused while the fork is shown to a
    // witness that must not hear the real history first.
    let spawn_watcher = || {
        let watch_log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(d.join("watch.jsonl"))
            .unwrap();
        Server(
            Command::new(env!("CARGO_BIN_EXE_yinzheng"))
                .args([
                    "--home",
                    "home",
                    "--json",
                    "log",
                    "witness",
                    "--watch",
                    "--interval-ms",
                    "50",
                ])
                .current_dir(&logd)
                .env("YINZHENG_LOG", "warn")
                .stdout(watch_log)
                .stderr(Stdio::inherit())
                .spawn()
                .unwrap(),
        )
    };
    let mut watcher = Some(spawn_watcher());
    let vkey_files: Vec<String> = depts
        .iter()
        .map(|w| {
            w.dir
                .join("home/witness/witness-ed25519.vkey")
                .display()
                .to_string()
        })
        .collect();
    let all_names: Vec<String> = depts.iter().map(|w| w.name.clone()).collect();
    let policy = yinzheng_anchor::WitnessPolicy::parse(
        &vkey_files
            .iter()
            .map(|f| std::fs::read_to_string(f).unwrap())
            .collect::<String>(),
        2,
    )
    .unwrap();
    let cosigners = |note: &str| {
        let mut q = policy
            .check(&Note::parse(note.as_bytes()).unwrap())
            .unwrap()
            .cosigned;
        q.sort();
        q
    };
    let names =
        |which: &[usize]| -> Vec<String> { which.iter().map(|&i| all_names[i].clone()).collect() };
    // Relying parties' check: `log prove` then `log verify` with the quorum.
    let verify_entry = |index: u64| -> (Option<i32>, String) {
        yz(
            &logd,
            &[
                "--home",
                "home",
                "log",
                "prove",
                "--index",
                &index.to_string(),
                "--out",
                "ev.txt",
            ],
        );
        let mut args = vec![
            "--home",
            "home",
            "log",
            "verify",
            "--vkey",
            "home/log/log.vkey",
        ];
        for v in &vkey_files {
            args.extend(["--witness-vkey", v.as_str()]);
        }
        args.extend(["--quorum", "2", "ev.txt"]);
        let out = yinzheng_tests::run_cli(env!("CARGO_BIN_EXE_yinzheng"), &logd, &args, &[]);
        (
            out.status.code(),
            format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ),
        )
    };

    // All three up.
    let size = append(3, "first");
    wait_until("the first witnessed checkpoint", || {
        witnessed_size() == size
    });
    let (code, out) = verify_entry(2);
    assert_eq!(code, Some(0), "{out}");

    // One witness stopped: two still make the quorum.
    depts[2].stop();
    let size = append(2, "one down");
    wait_until("witnessed with one witness down", || {
        witnessed_size() == size
    });
    assert_eq!(cosigners(&witnessed().unwrap()), names(&[0, 1]));
    let (code, out) = verify_entry(size - 1);
    assert_eq!(code, Some(0), "{out}");

    // Two stopped: the log goes on; its new entries are not witnessed.
    depts[1].stop();
    let held = witnessed_size();
    let size = append(2, "two down");
    std::thread::sleep(std::time::Duration::from_millis(800));
    assert_eq!(witnessed_size(), held, "witnessed without a quorum");
    let (code, out) = verify_entry(size - 1);
    assert_eq!(code, Some(1), "{out}");
    assert!(
        out.contains("INDETERMINATE") && out.contains(&depts[0].name),
        "{out}"
    );
    // The entries the witnesses saw keep their witnessed evidence.
    let (code, out) = verify_entry(held - 1);
    assert_eq!(code, Some(0), "{out}");

    // Back: both catch up, each from the size it holds.
    let (before1, before2) = (depts[1].latest(&origin), depts[2].latest(&origin));
    assert_eq!((before1, before2), (held, 3));
    depts[1].restart();
    depts[2].restart();
    wait_until("caught up after two came back", || witnessed_size() == size);
    wait_until("every witness caught up", || {
        depts.iter().all(|w| w.latest(&origin) == size)
    });
    let (code, out) = verify_entry(size - 1);
    assert_eq!(code, Some(0), "{out}");

    // SIGKILL mid-stream, three times: never behind what it acknowledged.
    for round in 0..3 {
        let acknowledged = depts[0].latest(&origin);
        append(1, "kill");
        depts[0].stop(); // Child::kill is SIGKILL
        append(1, "while dead");
        assert!(
            depts[0].latest(&origin) >= acknowledged,
            "round {round}: rolled back"
        );
        depts[0].restart();
        assert!(
            depts[0].latest(&origin) >= acknowledged,
            "round {round}: rolled back"
        );
    }
    let size = appended.get();
    wait_until("witnessed after the kills", || witnessed_size() == size);
    wait_until("the killed witness caught up", || {
        depts[0].latest(&origin) == size
    });

    // A fork: the operator copies the log (keys and all) and grows both
    // copies differently while department 1's witness is away.
    let forkd = d.join("fork");
    yinzheng_tests::copy_dir(&logd, &forkd);
    depts[0].stop();
    let size = append(3, "real");
    wait_until("the real history witnessed", || witnessed_size() == size);
    for k in 0..3 {
        std::fs::write(forkd.join("entry.txt"), format!("forged entry {k}\n")).unwrap();
        yz(
            &forkd,
            &["--home", "home", "log", "append", "--data", "entry.txt"],
        );
    }
    let fork_checkpoint = std::fs::read_to_string(forkd.join("home/log/tiles/checkpoint")).unwrap();
    assert_eq!(size_of(&fork_checkpoint), size);
    let present_fork = || {
        let out = yinzheng_tests::run_cli(
            env!("CARGO_BIN_EXE_yinzheng"),
            &forkd,
            &["--home", "home", "--json", "log", "witness"],
            &[],
        );
        let v: serde_json::Value =
            serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {out:?}"));
        (out.status.code(), v)
    };
    // The two that saw the real history refuse it (409: another root at a
    // size they cosigned); the fork is not witnessed.
    let (code, v) = present_fork();
    assert_eq!(code, Some(1), "{v}");
    let outcomes: Vec<&str> = v["witnesses"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["outcome"].as_str().unwrap())
        .collect();
    assert_eq!(outcomes, ["down", "refused", "refused"], "{v}");
    assert!(
        v["witnesses"][1]["detail"]
            .as_str()
            .unwrap()
            .starts_with("409"),
        "{v}"
    );
    // They kept the fork's log-signed checkpoint: half of the proof.
    let status = yz(
        &depts[1].dir,
        &["--home", "home", "--json", "witness", "status"],
    );
    let status: serde_json::Value = serde_json::from_slice(&status.stdout).unwrap();
    let kept = &status[0]["conflicts"];
    assert_eq!(kept.as_array().map(Vec::len), Some(1), "{status}");
    assert_eq!(
        kept[0]["note"].as_str(),
        Some(fork_checkpoint.as_str()),
        "{status}"
    );
    // Department 1's witness, back, has only seen the common prefix: it
    // cosigns the fork — one cosignature, short of the quorum. (The real
    // log's loop is paused meanwhile: it would catch the witness up first.)
    drop(watcher.take());
    depts[0].restart();
    let (code, v) = present_fork();
    assert_eq!(code, Some(1), "{v}");
    assert_eq!(v["cosigned"], serde_json::json!([depts[0].name]), "{v}");
    assert!(
        !forkd.join("home/log/tiles/checkpoint.witnessed").exists() || {
            let n =
                std::fs::read_to_string(forkd.join("home/log/tiles/checkpoint.witnessed")).unwrap();
            size_of(&n) < size
        }
    );
    // The real log goes on, witnessed by the other two; department 1's
    // witness now refuses it (the proof from the fork's tree fails).
    let _watcher = spawn_watcher();
    let size = append(1, "after the fork");
    wait_until("the real log witnessed after the fork", || {
        witnessed_size() == size
    });
    assert_eq!(cosigners(&witnessed().unwrap()), names(&[1, 2]));
    wait_until("the log's loop to report department 1 refusing", || {
        std::fs::read_to_string(d.join("watch.jsonl"))
            .unwrap()
            .contains("\"detail\": \"422: ")
    });

    // The auditor gathers each witness's latest checkpoint and compares
    // them with the log's published tree: the split is shown, naming the
    // checkpoint and who cosigned it.
    let enc: String = origin.replace('/', "%2F");
    let mut gathered = Vec::new();
    for w in &depts {
        let (status, note) = get(&w.addr, &format!("/latest?origin={enc}"));
        assert_eq!(status, 200, "{note}");
        gathered.push((w.name.clone(), note.into_bytes()));
    }
    let mut anchors = yinzheng_audit::TrustAnchors::new();
    anchors.log = Some(yinzheng_audit::LogAnchors {
        origin: origin.clone(),
        hash: "sm3".into(),
        verifier_keys: vec![log_vkey.clone()],
    });
    anchors.witnesses.keys = policy.keys().iter().map(|k| k.to_string()).collect();
    anchors.witnesses.quorum = 2;
    let auditor = yinzheng_audit::Auditor::new(&anchors).unwrap();
    let o = auditor.split_view(&gathered, Some(&tiles), std::time::SystemTime::now());
    let report = serde_json::to_string(&o.report).unwrap();
    assert!(!o.passed(), "{report}");
    let failed: Vec<_> = o
        .report
        .checks()
        .iter()
        .filter(|c| c.status == yinzheng_pki::CheckStatus::Failed)
        .collect();
    assert_eq!(failed.len(), 1, "{report}");
    assert_eq!(failed[0].subject, depts[0].name, "{report}");
    assert!(
        failed[0].message.contains("split view") && failed[0].message.contains(&depts[0].name),
        "{report}"
    );
    // Without department 1's view there is nothing to see.
    let o = auditor.split_view(&gathered[1..], Some(&tiles), std::time::SystemTime::now());
    assert!(o.passed(), "{}", serde_json::to_string(&o.report).unwrap());
}
