//! Crash safety: a sequencer process is killed with SIGKILL at random points
//! while producers append, then restarted, many times. Afterwards no
//! acknowledged entry is lost (each is at the index it was acknowledged
//! with), every tile recomputes from the entries, and every checkpoint that
//! was ever published is a prefix of the final tree and consistent with the
//! next one. Two sequencer processes on one directory: one loses the
//! compare-and-swap and stops, the log does not fork.
//!
//! The child processes are this test binary re-executed in "child mode"
//! (`ANCHOR_CRASH_CHILD`), so no extra binary is needed.

#![allow(clippy::unwrap_used)]

use std::collections::HashMap;
use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};
use yinzheng_anchor::{
    HashAlg, NoteSigner, SignedCheckpoint, TileReader, VerifierKey, audit, root, verify_consistency,
};
use yinzheng_crypto::{KeyAlgorithm, PrivateKey};
use yinzheng_log::Error;
use yinzheng_log::{Log, LogOptions};

const ORIGIN: &str = "yinzheng.test/crash/sm3";

fn signer(dir: &Path) -> NoteSigner {
    let der = std::fs::read(dir.join("key.der")).unwrap();
    NoteSigner::new(ORIGIN, PrivateKey::from_bytes(&der, None).unwrap()).unwrap()
}

/// Child mode: append forever from 4 threads, print "ack <index> <entry>" per
/// acknowledged entry; exit 3 with "stopped …" when the sequencer stops.
fn child(dir: &Path, tag: &str) -> ! {
    // End the test harness's "test child_entry_point ... " line first.
    println!();
    let log = Arc::new(
        Log::open_in(
            dir,
            &yinzheng_tests::store_backend(dir),
            vec![signer(dir)],
            LogOptions::default().with_period(Duration::from_millis(3)),
        )
        .unwrap_or_else(|e| {
            println!("open-failed {e}");
            std::process::exit(4)
        }),
    );
    let mut hs = Vec::new();
    for t in 0..4 {
        let log = log.clone();
        let tag = tag.to_string();
        hs.push(std::thread::spawn(move || {
            for seq in 0u64.. {
                let e = format!("{tag}-t{t}-{seq}");
                match log.append(e.as_bytes()) {
                    Ok(i) => {
                        let mut out = std::io::stdout().lock();
                        let _ = writeln!(out, "ack {i} {e}");
                        let _ = out.flush();
                    }
                    Err(err) => {
                        let mut out = std::io::stdout().lock();
                        let _ = writeln!(out, "stopped {err}");
                        let _ = out.flush();
                        std::process::exit(3);
                    }
                }
            }
        }));
    }
    for h in hs {
        let _ = h.join();
    }
    std::process::exit(0)
}

fn spawn_child(dir: &Path, tag: &str) -> Child {
    Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "child_entry_point",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("ANCHOR_CRASH_CHILD", dir)
        .env("ANCHOR_CRASH_TAG", tag)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

/// Not a test of its own: the entry point of child processes.
#[test]
fn child_entry_point() {
    if let Some(dir) = std::env::var_os("ANCHOR_CRASH_CHILD") {
        let tag = std::env::var("ANCHOR_CRASH_TAG").unwrap_or_default();
        child(&PathBuf::from(dir), &tag);
    }
}

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

fn read_acks(child: &mut Child, acks: &mut HashMap<u64, String>) -> Vec<String> {
    let mut other = Vec::new();
    let out = child.stdout.take().unwrap();
    for line in std::io::BufReader::new(out).lines() {
        let Ok(line) = line else { break };
        let mut parts = line.splitn(3, ' ');
        match (parts.next(), parts.next(), parts.next()) {
            (Some("ack"), Some(i), Some(e)) => {
                let i: u64 = i.parse().unwrap();
                let prev = acks.insert(i, e.to_string());
                assert!(prev.is_none(), "index {i} acknowledged twice");
            }
            _ => other.push(line),
        }
    }
    other
}

fn new_log() -> (tempfile::TempDir, VerifierKey) {
    let dir = tempfile::tempdir().unwrap();
    let key = PrivateKey::generate(KeyAlgorithm::Sm2).unwrap();
    std::fs::write(dir.path().join("key.der"), key.to_pkcs8_der().as_slice()).unwrap();
    let s = signer(dir.path());
    Log::create_in(
        dir.path(),
        &yinzheng_tests::store_backend(dir.path()),
        ORIGIN,
        HashAlg::Sm3,
        &[&s],
    )
    .unwrap();
    (dir, s.verifier().clone())
}

/// Check the final log against everything observed.
fn check_log(dir: &Path, vk: &VerifierKey, acks: &HashMap<u64, String>, seen: &[String]) -> u64 {
    // Reopening runs recovery; then close and read the tiles alone.
    let log = Log::open_in(
        dir,
        &yinzheng_tests::store_backend(dir),
        vec![signer(dir)],
        LogOptions::default(),
    )
    .unwrap();
    let size = log.checkpoint().size();
    log.close().unwrap();
    drop(log);
    let tiles = Log::tiles_dir(dir);
    let rep = audit(&tiles, HashAlg::Sm3, std::slice::from_ref(vk), Some(ORIGIN)).unwrap();
    assert_eq!(rep.entries, size);
    let reader = TileReader::new(&tiles, HashAlg::Sm3, size);
    for (i, e) in acks {
        assert!(*i < size, "acknowledged index {i} beyond final size {size}");
        assert_eq!(
            reader.entry(*i).unwrap(),
            e.as_bytes(),
            "entry {i} lost or changed"
        );
    }
    // Every published checkpoint is a prefix of the final tree, and each is
    // consistent with the next one observed.
    let mut prev: Option<(u64, [u8; 32])> = None;
    for note in seen {
        let cp = SignedCheckpoint::open(note.as_bytes(), std::slice::from_ref(vk), Some(ORIGIN))
            .unwrap();
        let (s, r) = (cp.checkpoint().size(), *cp.checkpoint().root());
        assert!(s <= size);
        assert_eq!(
            root(&reader, s).unwrap(),
            r,
            "published checkpoint of size {s} is not a prefix"
        );
        if let Some((ps, pr)) = prev {
            assert!(ps <= s, "published checkpoint went back from {ps} to {s}");
            if ps > 0 && ps < s {
                let p = yinzheng_anchor::consistency_proof(&reader, ps, s).unwrap();
                verify_consistency(HashAlg::Sm3, ps, s, &pr, &r, &p).unwrap();
            }
        }
        prev = Some((s, r));
    }
    size
}

fn poll_checkpoint(tiles: &Path, seen: &mut Vec<String>) {
    if let Ok(b) = std::fs::read_to_string(tiles.join("checkpoint"))
        && seen.last() != Some(&b)
    {
        seen.push(b);
    }
}

#[test]
fn sigkill_at_random_points_loses_no_acknowledged_entry() {
    if std::env::var_os("ANCHOR_CRASH_CHILD").is_some() {
        return;
    }
    let (dir, vk) = new_log();
    let tiles = Log::tiles_dir(dir.path());
    let mut rng = Rng(Instant::now().elapsed().as_nanos() as u64
        ^ 0x5eed_1234_abcd_9876
        ^ u64::from(std::process::id()));
    let mut acks = HashMap::new();
    let mut seen = Vec::new();
    let rounds = 15;
    for round in 0..rounds {
        let mut c = spawn_child(dir.path(), &format!("r{round}"));
        let run_for = Duration::from_millis(80 + rng.next() % 500);
        let start = Instant::now();
        while start.elapsed() < run_for {
            poll_checkpoint(&tiles, &mut seen);
            std::thread::sleep(Duration::from_millis(2));
        }
        c.kill().unwrap(); // SIGKILL
        c.wait().unwrap();
        let other = read_acks(&mut c, &mut acks);
        assert!(
            other.iter().all(|l| !l.starts_with("open-failed")),
            "round {round}: {other:?}"
        );
        poll_checkpoint(&tiles, &mut seen);
    }
    assert!(
        acks.len() > 100,
        "only {} entries acknowledged across {rounds} runs",
        acks.len()
    );
    let size = check_log(dir.path(), &vk, &acks, &seen);
    assert!(
        seen.len() > rounds,
        "only {} checkpoints observed",
        seen.len()
    );
    eprintln!(
        "crash test: {rounds} kills, {} acks, final size {size}, {} checkpoints checked",
        acks.len(),
        seen.len()
    );
}

#[test]
fn two_sequencer_processes_one_stops_and_the_log_does_not_fork() {
    if std::env::var_os("ANCHOR_CRASH_CHILD").is_some() {
        return;
    }
    let (dir, vk) = new_log();
    let tiles = Log::tiles_dir(dir.path());
    let mut a = spawn_child(dir.path(), "a");
    let mut b = spawn_child(dir.path(), "b");
    let mut seen = Vec::new();
    let start = Instant::now();
    let mut stopped = 0;
    let mut statuses = [None, None];
    while start.elapsed() < Duration::from_secs(10) {
        poll_checkpoint(&tiles, &mut seen);
        for (k, c) in [&mut a, &mut b].into_iter().enumerate() {
            if statuses[k].is_none()
                && let Some(s) = c.try_wait().unwrap()
            {
                statuses[k] = Some(s);
                stopped += 1;
            }
        }
        if stopped >= 1 && start.elapsed() > Duration::from_millis(500) {
            break;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    assert_eq!(
        stopped, 1,
        "exactly one sequencer must stop (statuses {statuses:?})"
    );
    let _ = a.kill();
    let _ = b.kill();
    a.wait().unwrap();
    b.wait().unwrap();
    let mut acks = HashMap::new();
    let out_a = read_acks(&mut a, &mut acks);
    let out_b = read_acks(&mut b, &mut acks);
    let lost: Vec<&String> = out_a
        .iter()
        .chain(&out_b)
        .filter(|l| l.starts_with("stopped"))
        .collect();
    // On PostgreSQL the loser never gets as far: the sequencer's lease (an
    // advisory lock) refuses it at open. The CAS stays as the last line.
    let on_postgres = yinzheng_tests::store_on_postgres();
    if on_postgres {
        assert!(
            out_a
                .iter()
                .chain(&out_b)
                .any(|l| l.contains("not the sequencer")),
            "the loser is refused the lease (a: {out_a:?}, b: {out_b:?}, {statuses:?})"
        );
    } else {
        assert!(
            !lost.is_empty() && lost.iter().all(|l| l.contains("compare-and-swap")),
            "the loser stops on the CAS: {lost:?} (a: {out_a:?}, b: {out_b:?}, {statuses:?})"
        );
    }
    poll_checkpoint(&tiles, &mut seen);
    // One history: every acknowledged entry of both processes is where it was
    // acknowledged, and all observed checkpoints line up.
    check_log(dir.path(), &vk, &acks, &seen);
    // And an in-process second sequencer loses the same way.
    let x = Log::open_in(
        dir.path(),
        &yinzheng_tests::store_backend(dir.path()),
        vec![signer(dir.path())],
        LogOptions::default().with_period(Duration::from_millis(1)),
    )
    .unwrap();
    let y = Log::open_in(
        dir.path(),
        &yinzheng_tests::store_backend(dir.path()),
        vec![signer(dir.path())],
        LogOptions::default().with_period(Duration::from_millis(1)),
    );
    if on_postgres {
        assert!(matches!(y, Err(Error::NotSequencer(_))), "{y:?}");
        x.append(b"x").unwrap();
        return;
    }
    let y = y.unwrap();
    x.append(b"x").unwrap();
    assert!(matches!(y.append(b"y"), Err(Error::LostCas)));
    assert!(matches!(y.append(b"y"), Err(Error::Stopped(_))));
}
