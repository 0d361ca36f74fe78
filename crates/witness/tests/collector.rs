//! The log's side (issue 24): a `Collector` asking witnesses that lie,
//! fail, hang or run ahead. Each is named in its report and none blocks the
//! others; only verified cosignatures reach the witnessed checkpoint.

#![allow(clippy::unwrap_used)]

use std::io::{BufRead, BufReader, Read, Write};
use std::sync::Arc;
use std::time::{Duration, Instant};
use yinzheng_anchor::{
    Checkpoint, Cosigner, HashAlg, MemoryTree, Note, NoteSigner, consistency_proof,
};
use yinzheng_crypto::{KeyAlgorithm, PrivateKey};
use yinzheng_witness::{
    Collector, Outcome, Witness, WitnessEndpoint, WitnessedLog, WitnessesConfig,
};

const ORIGIN: &str = "log.example.gov.cn/log";

/// A fake witness: answers every request with `answer(body)` = (status,
/// content type, body); `None` hangs without answering.
fn fake(
    answer: impl Fn(&str) -> Option<(u16, &'static str, String)> + Send + Sync + 'static,
) -> String {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    let answer = Arc::new(answer);
    std::thread::spawn(move || {
        for s in l.incoming() {
            let Ok(mut s) = s else { continue };
            let answer = answer.clone();
            std::thread::spawn(move || {
                let mut r = BufReader::new(s.try_clone().unwrap());
                let mut len = 0usize;
                loop {
                    let mut line = String::new();
                    if r.read_line(&mut line).unwrap_or(0) == 0 {
                        return;
                    }
                    let lower = line.to_ascii_lowercase();
                    if let Some(v) = lower.strip_prefix("content-length:") {
                        len = v.trim().parse().unwrap();
                    }
                    if line == "\r\n" {
                        break;
                    }
                }
                let mut body = vec![0; len];
                r.read_exact(&mut body).unwrap();
                match answer(&String::from_utf8(body).unwrap()) {
                    Some((status, ctype, text)) => {
                        let _ = write!(
                            s,
                            "HTTP/1.1 {status} X\r\nContent-Type: {ctype}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{text}",
                            text.len()
                        );
                    }
                    None => std::thread::sleep(Duration::from_secs(30)),
                }
            });
        }
    });
    format!("http://{addr}/")
}

struct Log {
    signer: NoteSigner,
    tree: MemoryTree,
}

impl Log {
    fn new() -> Self {
        Log {
            signer: NoteSigner::new(ORIGIN, PrivateKey::generate(KeyAlgorithm::Sm2).unwrap())
                .unwrap(),
            tree: MemoryTree::new(HashAlg::Sm3),
        }
    }

    fn grow_to(&mut self, size: u64) -> String {
        while self.tree.size() < size {
            let n = self.tree.size();
            self.tree.push_entry(format!("entry {n}").as_bytes());
        }
        Checkpoint::new(ORIGIN, size, self.tree.root())
            .unwrap()
            .sign(&[&self.signer])
            .unwrap()
    }
}

fn cosigner(name: &str) -> Cosigner {
    Cosigner::new(
        name,
        Arc::new(PrivateKey::generate(KeyAlgorithm::Ed25519).unwrap()),
    )
    .unwrap()
}

/// A real witness served on loopback; its URL.
fn real(dir: &std::path::Path, c: Cosigner, log: &Log) -> String {
    Witness::create_state(dir).unwrap();
    let w = Arc::new(
        Witness::open(
            dir,
            vec![c],
            vec![WitnessedLog {
                origin: ORIGIN.into(),
                keys: vec![log.signer.verifier().clone()],
                hash: HashAlg::Sm3,
            }],
        )
        .unwrap(),
    );
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            tx.send(l.local_addr().unwrap()).unwrap();
            yinzheng_witness::serve(w, l, std::future::pending())
                .await
                .unwrap();
        });
    });
    format!("http://{}/", rx.recv().unwrap())
}

#[test]
fn lying_failing_hanging_and_ahead_witnesses_are_named_and_do_not_count() {
    let dir = yinzheng_tests::tempdir();
    let mut log = Log::new();
    let honest = cosigner("witness.honest.example/w");
    let honest_vkey = honest.verifier().to_string();
    let honest_url = real(dir.path(), honest, &log);
    // Forges: its own cosignature line with the signature altered.
    let forger = cosigner("witness.forger.example/w");
    let forger_vkey = forger.verifier().to_string();
    let forged_url = fake(move |body| {
        let note = body.split_once("\n\n").unwrap().1;
        let text = Note::parse(note.as_bytes()).unwrap().text().to_string();
        let line = forger.cosign(&text, 1_790_000_000).unwrap();
        let (head, sig) = line.trim_end().rsplit_once(' ').unwrap();
        let mut raw = yinzheng_anchor::base64::decode(sig).unwrap();
        raw[20] ^= 1;
        Some((
            200,
            "text/plain",
            format!("{head} {}\n", yinzheng_anchor::base64::encode(&raw)),
        ))
    });
    // Claims to have cosigned size 99 of this log.
    let ahead = cosigner("witness.ahead.example/w");
    let ahead_url = fake(|_| Some((409, "text/x.tlog.size", "99\n".into())));
    // Fails, then hangs, with junk in between.
    let broken = cosigner("witness.broken.example/w");
    let broken_url = fake(|_| Some((500, "text/plain", "database is locked\n".into())));
    let hanging = cosigner("witness.hanging.example/w");
    let hanging_url = fake(|_| None);
    // Repeats its one valid line 120 times (a note holds 100 signatures).
    let repeater = cosigner("witness.repeater.example/w");
    let repeater_vkey = repeater.verifier().to_string();
    let repeater_url = fake(move |body| {
        let note = body.split_once("\n\n").unwrap().1;
        let text = Note::parse(note.as_bytes()).unwrap().text().to_string();
        Some((
            200,
            "text/plain",
            repeater.cosign(&text, 1_790_000_000).unwrap().repeat(120),
        ))
    });
    // Dates its cosignature an hour ahead.
    let early = cosigner("witness.early.example/w");
    let early_vkey = early.verifier().to_string();
    let early_url = fake(move |body| {
        let note = body.split_once("\n\n").unwrap().1;
        let text = Note::parse(note.as_bytes()).unwrap().text().to_string();
        let ahead = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs()
            + 3600;
        Some((200, "text/plain", early.cosign(&text, ahead).unwrap()))
    });
    let junk = cosigner("witness.junk.example/w");
    let junk_url = fake(|_| Some((200, "text/plain", "x".repeat(100_000))));
    let config = WitnessesConfig {
        quorum: 1,
        timeout_ms: Some(500),
        retry_max_ms: Some(200),
        tls_roots: None,
        witnesses: [
            (&honest_url, honest_vkey),
            (&forged_url, forger_vkey),
            (&ahead_url, ahead.verifier().to_string()),
            (&broken_url, broken.verifier().to_string()),
            (&hanging_url, hanging.verifier().to_string()),
            (&junk_url, junk.verifier().to_string()),
            (&repeater_url, repeater_vkey),
            (&early_url, early_vkey),
        ]
        .into_iter()
        .map(|(url, vkey)| WitnessEndpoint {
            url: url.clone(),
            vkeys: vec![vkey],
        })
        .collect(),
    };
    let collector = Collector::new(&config, vec![log.signer.verifier().clone()]).unwrap();
    let note = log.grow_to(5);
    let tree = &log.tree;
    let prove = |old: u64, new: u64| consistency_proof(tree, old, new).map_err(|e| e.to_string());
    let started = Instant::now();
    let round = collector.collect(&note, &prove).unwrap();
    // Bounded by the one timeout, not one per witness.
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(
        round.quorum.cosigned,
        vec!["witness.honest.example/w", "witness.repeater.example/w"]
    );
    let witnessed = round.witnessed.clone().unwrap();
    assert_eq!(
        witnessed.matches("witness.repeater.example/w").count(),
        1,
        "{witnessed}"
    );
    assert!(!witnessed.contains("witness.forger"), "{witnessed}");
    let outcome = |name: &str| {
        round
            .witnesses
            .iter()
            .find(|w| w.name == name)
            .unwrap()
            .outcome
            .clone()
    };
    assert_eq!(
        outcome("witness.honest.example/w"),
        Outcome::Cosigned { size: 5 }
    );
    assert!(
        matches!(outcome("witness.forger.example/w"), Outcome::Refused { status: 200, why } if why.contains("does not verify"))
    );
    assert!(
        matches!(outcome("witness.ahead.example/w"), Outcome::Refused { status: 409, why } if why.contains("larger than this checkpoint"))
    );
    assert!(
        matches!(outcome("witness.broken.example/w"), Outcome::Down(why) if why.contains("500") && why.contains("database is locked"))
    );
    assert!(matches!(
        outcome("witness.hanging.example/w"),
        Outcome::Down(_)
    ));
    assert!(matches!(
        outcome("witness.junk.example/w"),
        Outcome::Down(_)
    ));
    assert!(
        matches!(outcome("witness.early.example/w"), Outcome::Refused { why, .. } if why.contains("ahead of this machine's clock"))
    );
    // At once again: the one that just timed out is backing off, not
    // asked; the honest one is not asked again for the same checkpoint.
    let round = collector.collect(&note, &prove).unwrap();
    assert!(round.witnessed.is_some());
    assert!(matches!(
        round
            .witnesses
            .iter()
            .find(|w| w.name == "witness.hanging.example/w")
            .unwrap()
            .outcome,
        Outcome::Waiting { .. }
    ));
    // The log grows: the honest witness extends from the size it holds.
    let note = log.grow_to(9);
    let tree = &log.tree;
    let prove = |old: u64, new: u64| consistency_proof(tree, old, new).map_err(|e| e.to_string());
    let round = collector.collect(&note, &prove).unwrap();
    assert!(
        round
            .quorum
            .cosigned
            .contains(&"witness.honest.example/w".to_string())
    );
    let reports = collector.reports();
    let honest = reports
        .iter()
        .find(|w| w.name == "witness.honest.example/w")
        .unwrap();
    assert_eq!((honest.size, honest.cosigned_total), (Some(9), 2));
    // A checkpoint the log did not sign is not sent anywhere.
    let other = NoteSigner::new(ORIGIN, PrivateKey::generate(KeyAlgorithm::Sm2).unwrap()).unwrap();
    let forged = Checkpoint::new(ORIGIN, 9, log.tree.root())
        .unwrap()
        .sign(&[&other])
        .unwrap();
    assert!(collector.collect(&forged, &prove).is_err());
}

#[test]
fn a_configuration_the_log_cannot_use_is_refused() {
    let log = Log::new();
    let w = cosigner("witness.a.example/w");
    let endpoint = |url: &str, vkey: String| WitnessEndpoint {
        url: url.into(),
        vkeys: vec![vkey],
    };
    let keys = vec![log.signer.verifier().clone()];
    let try_config = |quorum, witnesses| {
        Collector::new(
            &WitnessesConfig {
                quorum,
                witnesses,
                ..Default::default()
            },
            keys.clone(),
        )
    };
    let good = endpoint("http://127.0.0.1:1/", w.verifier().to_string());
    assert!(try_config(1, vec![good.clone()]).is_ok());
    for (why, quorum, witnesses) in [
        ("no witness", 1, vec![]),
        ("quorum 0", 0, vec![good.clone()]),
        ("quorum above the witnesses", 2, vec![good.clone()]),
        (
            "not http",
            1,
            vec![endpoint("ftp://x/", w.verifier().to_string())],
        ),
        (
            "the log's key",
            1,
            vec![endpoint("http://x/", log.signer.verifier().to_string())],
        ),
        (
            "twice",
            1,
            vec![
                good.clone(),
                endpoint("http://y/", w.verifier().to_string()),
            ],
        ),
    ] {
        assert!(try_config(quorum, witnesses).is_err(), "{why}");
    }
}
