//! The witness's checks, each refusal with the status c2sp.org/tlog-witness
//! gives it: a log's checkpoint cosigned once it extends the last one, and
//! every rollback, fork, unsigned or forged checkpoint, stale size and bad
//! proof refused; the state survives a restart.

#![allow(clippy::unwrap_used)]

use std::sync::Arc;
use yinzheng_anchor::{
    Checkpoint, Cosigner, HashAlg, MemoryTree, Note, NoteSigner, VerifierKey, consistency_proof,
};
use yinzheng_crypto::{KeyAlgorithm, PrivateKey};
use yinzheng_witness::{AddCheckpoint, Error, Witness, WitnessedLog};

const ORIGIN: &str = "yinzheng.test/log/sm3";

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

    fn grow_to(&mut self, size: u64, salt: &str) {
        while self.tree.size() < size {
            let n = self.tree.size();
            self.tree.push_entry(format!("{salt} entry {n}").as_bytes());
        }
    }

    fn checkpoint(&self) -> String {
        Checkpoint::new(ORIGIN, self.tree.size(), self.tree.root())
            .unwrap()
            .sign(&[&self.signer])
            .unwrap()
    }

    /// The request extending the witness's `old` to this log's size.
    fn request(&self, old: u64) -> String {
        let proof = if old == 0 || old >= self.tree.size() {
            vec![]
        } else {
            consistency_proof(&self.tree, old, self.tree.size()).unwrap()
        };
        AddCheckpoint {
            old,
            proof,
            checkpoint: self.checkpoint(),
        }
        .to_body()
    }
}

fn cosigners() -> Vec<Cosigner> {
    [KeyAlgorithm::Ed25519, KeyAlgorithm::Sm2]
        .into_iter()
        .map(|alg| {
            Cosigner::new(
                "witness.example/w1",
                Arc::new(PrivateKey::generate(alg).unwrap()),
            )
            .unwrap()
        })
        .collect()
}

fn witness(dir: &std::path::Path, log: &Log, cosigners: Vec<Cosigner>) -> Witness {
    if !dir.join(yinzheng_witness::STATE_FILE).exists() {
        Witness::create_state(dir).unwrap();
    }
    Witness::open(
        dir,
        cosigners,
        vec![WitnessedLog {
            origin: ORIGIN.into(),
            keys: vec![log.signer.verifier().clone()],
            hash: HashAlg::Sm3,
        }],
    )
    .unwrap()
}

fn status(r: Result<String, Error>) -> u16 {
    match r {
        Ok(_) => 200,
        Err(e) => e.status(),
    }
}

#[test]
fn a_witness_cosigns_only_what_extends_what_it_cosigned() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = Log::new();
    let keys = cosigners();
    let vkeys: Vec<VerifierKey> = keys.iter().map(|c| c.verifier().clone()).collect();
    let w = witness(dir.path(), &log, keys);

    // First contact: old 0, no proof. The answer is one cosignature per key,
    // each verifying on the checkpoint with the witness's vkeys.
    log.grow_to(3, "a");
    let lines = w.add_checkpoint(log.request(0).as_bytes()).unwrap();
    assert_eq!(lines.lines().count(), 2, "{lines}");
    let cosigned = format!("{}{lines}", log.checkpoint());
    let opened = Note::parse(cosigned.as_bytes())
        .unwrap()
        .open(&vkeys)
        .unwrap();
    assert_eq!(opened, vec!["witness.example/w1"]);
    assert_eq!(w.latest(ORIGIN).unwrap().unwrap().size, 3);

    // A stale old size: 409 with the size the witness holds.
    log.grow_to(5, "a");
    match w.add_checkpoint(log.request(0).as_bytes()) {
        Err(Error::StaleOldSize { old: 0, latest: 3 }) => {}
        other => panic!("{other:?}"),
    }
    // Extended with a proof: cosigned.
    assert_eq!(status(w.add_checkpoint(log.request(3).as_bytes())), 200);
    // The same checkpoint again: cosigned again (same size, same root).
    assert_eq!(status(w.add_checkpoint(log.request(5).as_bytes())), 200);

    // A rollback: a smaller checkpoint is refused whatever old size is sent.
    let mut small = Log {
        signer: NoteSigner::new(ORIGIN, PrivateKey::generate(KeyAlgorithm::Sm2).unwrap()).unwrap(),
        tree: MemoryTree::new(HashAlg::Sm3),
    };
    std::mem::swap(&mut small.signer, &mut log.signer);
    small.grow_to(4, "a");
    assert_eq!(status(w.add_checkpoint(small.request(5).as_bytes())), 400);
    assert_eq!(status(w.add_checkpoint(small.request(3).as_bytes())), 409);
    std::mem::swap(&mut small.signer, &mut log.signer);

    // A fork: another history, signed by the log's key. At the same size the
    // roots differ (409); larger, its proof does not reach the cosigned root
    // (422). The witness still holds the first history.
    let mut fork = Log {
        signer: NoteSigner::new(ORIGIN, PrivateKey::generate(KeyAlgorithm::Sm2).unwrap()).unwrap(),
        tree: MemoryTree::new(HashAlg::Sm3),
    };
    std::mem::swap(&mut fork.signer, &mut log.signer);
    fork.grow_to(5, "b");
    match w.add_checkpoint(fork.request(5).as_bytes()) {
        Err(e @ Error::RootMismatch { .. }) => assert_eq!(e.status(), 409),
        other => panic!("{other:?}"),
    }
    fork.grow_to(9, "b");
    match w.add_checkpoint(fork.request(5).as_bytes()) {
        Err(e @ Error::BadProof { .. }) => assert_eq!(e.status(), 422),
        other => panic!("{other:?}"),
    }
    std::mem::swap(&mut fork.signer, &mut log.signer);
    assert_eq!(w.latest(ORIGIN).unwrap().unwrap().root, log.tree.root());
    // Both log-signed fork checkpoints are kept, newest first, with why.
    let kept = yinzheng_witness::read_conflicts(dir.path(), ORIGIN).unwrap();
    assert_eq!(
        kept.iter().map(|c| c.size).collect::<Vec<_>>(),
        vec![9, 5],
        "{kept:?}"
    );
    assert!(kept[1].reason.contains("forked"), "{kept:?}");
    assert!(kept[0].reason.contains("consistency proof"), "{kept:?}");

    // Not the log's signature: 403; a known key's forged signature: 403; an
    // unknown origin: 404; a proof from size 0: 400.
    let stranger =
        NoteSigner::new(ORIGIN, PrivateKey::generate(KeyAlgorithm::Sm2).unwrap()).unwrap();
    log.grow_to(6, "a");
    let foreign = AddCheckpoint {
        old: 5,
        proof: consistency_proof(&log.tree, 5, 6).unwrap(),
        checkpoint: Checkpoint::new(ORIGIN, 6, log.tree.root())
            .unwrap()
            .sign(&[&stranger])
            .unwrap(),
    };
    assert_eq!(status(w.add_checkpoint(foreign.to_body().as_bytes())), 403);
    let good = log.request(5);
    let forged = good.replacen("\n6\n", "\n7\n", 1);
    assert_eq!(status(w.add_checkpoint(forged.as_bytes())), 403);
    let other_origin = AddCheckpoint {
        old: 0,
        proof: vec![],
        checkpoint: Checkpoint::new("elsewhere.example/log", 6, log.tree.root())
            .unwrap()
            .sign(&[&log.signer])
            .unwrap(),
    };
    assert_eq!(
        status(w.add_checkpoint(other_origin.to_body().as_bytes())),
        404
    );
    assert_eq!(status(w.add_checkpoint(b"old 0\nAAAA\n\nx")), 400);
    // A bad proof for the right sizes: 422, nothing changes.
    let mut bad = AddCheckpoint::parse(good.as_bytes()).unwrap();
    bad.proof[0][0] ^= 1;
    assert_eq!(status(w.add_checkpoint(bad.to_body().as_bytes())), 422);
    assert_eq!(w.latest(ORIGIN).unwrap().unwrap().size, 5);
    assert_eq!(status(w.add_checkpoint(good.as_bytes())), 200);

    // Restarted on the same state: it remembers size 6, refuses the past.
    drop(w);
    let w = witness(dir.path(), &log, cosigners());
    assert!(
        Witness::create_state(dir.path()).is_err(),
        "a state is never made over another"
    );
    assert_eq!(w.latest(ORIGIN).unwrap().unwrap().size, 6);
    assert_eq!(status(w.add_checkpoint(log.request(0).as_bytes())), 409);
    assert_eq!(status(w.add_checkpoint(log.request(5).as_bytes())), 409);
    assert_eq!(status(w.add_checkpoint(log.request(6).as_bytes())), 200);
}

#[test]
fn racing_submissions_never_roll_the_witness_back() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = Log::new();
    let w = Arc::new(witness(dir.path(), &log, cosigners()));
    log.grow_to(10, "a");
    w.add_checkpoint(log.request(0).as_bytes()).unwrap();
    // Requests for 11..=40 all claiming old 10, sent at once: exactly one
    // wins, the rest are told the new size; never does the size go back.
    let mut reqs = Vec::new();
    for size in 11..=40u64 {
        log.grow_to(size, "a");
        reqs.push((size, log.request(10)));
    }
    let handles: Vec<_> = reqs
        .into_iter()
        .map(|(size, body)| {
            let w = w.clone();
            std::thread::spawn(move || (size, w.add_checkpoint(body.as_bytes())))
        })
        .collect();
    let results: Vec<_> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    let won: Vec<u64> = results
        .iter()
        .filter(|(_, r)| r.is_ok())
        .map(|(s, _)| *s)
        .collect();
    assert_eq!(won.len(), 1, "{results:?}");
    for (_, r) in &results {
        if let Err(e) = r {
            assert!(
                matches!(e, Error::StaleOldSize { old: 10, latest } if *latest == won[0]),
                "{e:?}"
            );
        }
    }
    assert_eq!(w.latest(ORIGIN).unwrap().unwrap().size, won[0]);
}

#[test]
fn a_witness_needs_keys_its_state_and_well_formed_logs() {
    let dir = tempfile::tempdir().unwrap();
    let log = Log::new();
    // No state: refused, never made afresh (it would accept a rollback).
    let lost = Witness::open(
        dir.path(),
        cosigners(),
        vec![WitnessedLog {
            origin: ORIGIN.into(),
            keys: vec![log.signer.verifier().clone()],
            hash: HashAlg::Sm3,
        }],
    );
    assert!(
        matches!(lost, Err(Error::Config(ref m)) if m.contains("retire")),
        "{lost:?}"
    );
    assert!(!dir.path().join(yinzheng_witness::STATE_FILE).exists());
    Witness::create_state(dir.path()).unwrap();
    // A witness cosigning with the log's own key: refused.
    let shared = Arc::new(PrivateKey::generate(KeyAlgorithm::Ed25519).unwrap());
    let log_ed = NoteSigner::from_signer(ORIGIN, shared.clone()).unwrap();
    let own = Witness::open(
        dir.path(),
        vec![Cosigner::new("witness.example/w1", shared).unwrap()],
        vec![WitnessedLog {
            origin: ORIGIN.into(),
            keys: vec![log.signer.verifier().clone(), log_ed.verifier().clone()],
            hash: HashAlg::Sm3,
        }],
    );
    assert!(
        matches!(own, Err(Error::Config(ref m)) if m.contains("own key")),
        "{own:?}"
    );
    // A tree size beyond 2^63 - 1: a bad request, not a wrapped number.
    let w = witness(dir.path(), &log, cosigners());
    let huge = AddCheckpoint {
        old: 0,
        proof: vec![],
        checkpoint: Checkpoint::new(ORIGIN, u64::MAX, log.tree.root())
            .unwrap()
            .sign(&[&log.signer])
            .unwrap(),
    };
    assert_eq!(status(w.add_checkpoint(huge.to_body().as_bytes())), 400);
    drop(w);
    assert!(Witness::open(dir.path(), vec![], vec![]).is_err());
    let cosigner = cosigners().remove(0);
    let cosig_key = cosigner.verifier().clone();
    let bad = Witness::open(
        dir.path(),
        vec![cosigner],
        vec![WitnessedLog {
            origin: ORIGIN.into(),
            keys: vec![cosig_key],
            hash: HashAlg::Sm3,
        }],
    );
    assert!(matches!(bad, Err(Error::Config(_))), "{bad:?}");
    let _ = log;
}

/// Slow clients cannot take the witness: past [`MAX_IN_FLIGHT`] requests
/// at once the next is answered 503 at once, and a request whose body never
/// comes does not hold its slot forever.
#[test]
fn a_witness_answers_busy_past_its_request_limit() {
    use std::io::{Read, Write};
    let dir = yinzheng_tests::tempdir();
    let log = Log::new();
    let w = Arc::new(witness(dir.path(), &log, cosigners()));
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
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
    let addr = rx.recv().unwrap();
    // Requests whose bodies never come, each holding a slot.
    let slow: Vec<std::net::TcpStream> = (0..yinzheng_witness::MAX_IN_FLIGHT)
        .map(|_| {
            let mut s = std::net::TcpStream::connect(addr).unwrap();
            write!(
                s,
                "POST /add-checkpoint HTTP/1.1\r\nHost: w\r\nContent-Length: 1000\r\n\r\nold"
            )
            .unwrap();
            s
        })
        .collect();
    let ask = || {
        let mut s = std::net::TcpStream::connect(addr).unwrap();
        write!(s, "GET / HTTP/1.1\r\nHost: w\r\nConnection: close\r\n\r\n").unwrap();
        let mut out = String::new();
        s.read_to_string(&mut out).unwrap();
        out
    };
    // (Under a loaded machine the witness may take a while to read every
    // slow request's head.)
    let start = std::time::Instant::now();
    let mut busy = ask();
    while !busy.starts_with("HTTP/1.1 503") && start.elapsed() < std::time::Duration::from_secs(9) {
        std::thread::sleep(std::time::Duration::from_millis(20));
        busy = ask();
    }
    assert!(busy.starts_with("HTTP/1.1 503"), "{busy}");
    assert!(
        busy.to_ascii_lowercase().contains("retry-after: 1"),
        "{busy}"
    );
    // The slow clients gone, the witness answers again.
    drop(slow);
    let start = std::time::Instant::now();
    let mut ok = ask();
    while !ok.starts_with("HTTP/1.1 200") && start.elapsed() < std::time::Duration::from_secs(5) {
        std::thread::sleep(std::time::Duration::from_millis(20));
        ok = ask();
    }
    assert!(ok.starts_with("HTTP/1.1 200"), "{ok}");
}

/// Anyone can send a checkpoint the log published with a junk proof: those
/// refusals are kept only up to a bound, never pushing out a fork (which
/// only the log's key can make), and a junk proof for the witness's own
/// latest is no conflict at all.
#[test]
fn junk_proofs_never_push_out_the_evidence_of_a_fork() {
    let dir = yinzheng_tests::tempdir();
    let mut log = Log::new();
    let w = witness(dir.path(), &log, cosigners());
    log.grow_to(4, "a");
    assert_eq!(status(w.add_checkpoint(log.request(0).as_bytes())), 200);
    // The fork: another root at size 4, signed by the log.
    let mut fork = Log::new();
    std::mem::swap(&mut fork.signer, &mut log.signer);
    fork.grow_to(4, "b");
    assert_eq!(status(w.add_checkpoint(fork.request(4).as_bytes())), 409);
    std::mem::swap(&mut fork.signer, &mut log.signer);
    // The witness's own latest with a junk proof: 422, not kept.
    let junk = |log: &Log| {
        AddCheckpoint {
            old: 4,
            proof: vec![[9u8; 32]],
            checkpoint: log.checkpoint(),
        }
        .to_body()
    };
    assert_eq!(status(w.add_checkpoint(junk(&log).as_bytes())), 422);
    // The real log's later checkpoints with junk proofs, more than are kept.
    let bound = yinzheng_witness::MAX_CONFLICTS as u64;
    for size in 5..5 + bound + 20 {
        log.grow_to(size, "a");
        assert_eq!(status(w.add_checkpoint(junk(&log).as_bytes())), 422);
    }
    let kept = yinzheng_witness::read_conflicts(dir.path(), ORIGIN).unwrap();
    let forks: Vec<_> = kept.iter().filter(|c| c.kind == "fork").collect();
    assert_eq!(forks.len(), 1, "{kept:?}");
    assert_eq!((forks[0].size, forks[0].root), (4, fork.tree.root()));
    assert_eq!(kept.len() as u64, bound + 1);
    // The first ones are kept, not the newest.
    assert!(kept.iter().any(|c| c.size == 5) && !kept.iter().any(|c| c.size == 4 + bound + 20));
}
