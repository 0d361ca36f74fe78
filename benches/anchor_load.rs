//! Load driver for the anchoring log (not criterion: it reports rates and
//! latency percentiles of a sustained run).
//!
//! `cargo bench -p yinzheng-benches --bench anchor_load` prints, for a log
//! with the default 250 ms period and SM3:
//! - sustained appends/s and append→index latency p50/p99 with 1, 16 and 256
//!   producers each blocking on `append`, and with one open-loop producer
//!   (non-blocking `submit`, as a server front end would);
//! - building a 10^6-entry log, then inclusion and consistency proof times
//!   from its tiles, and disk bytes per entry.
//!
//! `ANCHOR_LOAD_SECS` (default 5) sets each run's length; `ANCHOR_LOAD_BIG`
//! (default 1000000) the size of the proof log.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};
use yinzheng_anchor::{HashAlg, NoteSigner, TileReader, consistency_proof, inclusion_proof};
use yinzheng_crypto::{KeyAlgorithm, PrivateKey};
use yinzheng_log::{Log, LogOptions};

fn new_log(dir: &std::path::Path) -> Log {
    let key = PrivateKey::generate(KeyAlgorithm::Sm2).unwrap();
    let der = key.to_pkcs8_der();
    let s = NoteSigner::new("bench/log/sm3", key).unwrap();
    Log::create_in(
        dir,
        &yinzheng_store::Backend::Embedded,
        "bench/log/sm3",
        HashAlg::Sm3,
        &[&s],
    )
    .unwrap();
    let s = NoteSigner::new("bench/log/sm3", PrivateKey::from_bytes(&der, None).unwrap()).unwrap();
    Log::open_in(
        dir,
        &yinzheng_store::Backend::Embedded,
        vec![s],
        LogOptions::default().with_max_pool(1_000_000),
    )
    .unwrap()
}

fn entry(i: u64) -> Vec<u8> {
    let mut e = format!("license.use|{i}|verifier-17|11100000000000000X-2026-{i:06}|").into_bytes();
    e.extend_from_slice(&[0x5a; 32]);
    e
}

fn pct(v: &mut [Duration], p: f64) -> Duration {
    v.sort_unstable();
    v.get(((v.len() as f64 - 1.0) * p).round() as usize)
        .copied()
        .unwrap_or_default()
}

fn dir_bytes(p: &std::path::Path) -> u64 {
    let mut n = 0;
    if let Ok(rd) = std::fs::read_dir(p) {
        for e in rd.flatten() {
            let m = e.metadata().unwrap();
            n += if m.is_dir() {
                dir_bytes(&e.path())
            } else {
                m.len()
            };
        }
    }
    n
}

fn blocking_producers(producers: usize, secs: u64) {
    let dir = tempfile::tempdir().unwrap();
    let log = Arc::new(new_log(dir.path()));
    let stop = Arc::new(AtomicBool::new(false));
    let start = Instant::now();
    let hs: Vec<_> = (0..producers)
        .map(|t| {
            let (log, stop) = (log.clone(), stop.clone());
            std::thread::spawn(move || {
                let mut lat = Vec::new();
                let mut i = (t as u64) << 40;
                while !stop.load(Ordering::Relaxed) {
                    let t0 = Instant::now();
                    log.append(&entry(i)).unwrap();
                    lat.push(t0.elapsed());
                    i += 1;
                }
                lat
            })
        })
        .collect();
    std::thread::sleep(Duration::from_secs(secs));
    stop.store(true, Ordering::Relaxed);
    let mut lat: Vec<Duration> = hs.into_iter().flat_map(|h| h.join().unwrap()).collect();
    let el = start.elapsed().as_secs_f64();
    println!(
        "{producers:>4} blocking producers: {:>9.0} appends/s, append→index p50 {:>4} ms, p99 {:>4} ms ({} entries)",
        lat.len() as f64 / el,
        pct(&mut lat, 0.5).as_millis(),
        pct(&mut lat, 0.99).as_millis(),
        lat.len()
    );
}

/// One producer submitting without waiting (at `rate` per second, 0 = as fast
/// as it can), a collector waiting in order.
fn open_loop(total: u64, rate: u64) -> (tempfile::TempDir, f64, Duration, Duration) {
    let dir = tempfile::tempdir().unwrap();
    let log = Arc::new(new_log(dir.path()));
    let (tx, rx) = std::sync::mpsc::channel();
    let start = Instant::now();
    let collector = std::thread::spawn(move || {
        let mut lat = Vec::new();
        for (t0, p) in rx.iter() {
            let p: yinzheng_log::Pending = p;
            p.wait().unwrap();
            let t0: Instant = t0;
            lat.push(t0.elapsed());
        }
        lat
    });
    for i in 0..total {
        if rate > 0 {
            let due = start + Duration::from_secs_f64(i as f64 / rate as f64);
            if let Some(d) = due.checked_duration_since(Instant::now()) {
                std::thread::sleep(d);
            }
        }
        let t0 = Instant::now();
        loop {
            match log.submit(&entry(i)) {
                Ok(p) => {
                    tx.send((t0, p)).unwrap();
                    break;
                }
                Err(yinzheng_log::Error::PoolFull(_)) => {
                    std::thread::sleep(Duration::from_millis(1))
                }
                Err(e) => panic!("{e}"),
            }
        }
    }
    drop(tx);
    let mut lat = collector.join().unwrap();
    let el = start.elapsed().as_secs_f64();
    log.close().unwrap();
    let p50 = pct(&mut lat, 0.5);
    let p99 = pct(&mut lat, 0.99);
    (dir, total as f64 / el, p50, p99)
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return; // `cargo bench -- --list` compatibility
    }
    let secs: u64 = std::env::var("ANCHOR_LOAD_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(5);
    let big: u64 = std::env::var("ANCHOR_LOAD_BIG")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1_000_000);
    println!("anchoring log, SM3, period 250 ms, fsync on; {secs} s per run");
    for p in [1, 16, 256] {
        blocking_producers(p, secs);
    }
    for offered in [4_000u64, 10_000, 20_000, 40_000] {
        let (_d, rate, p50, p99) = open_loop(offered * secs, offered);
        println!(
            "open loop, offered {offered:>6}/s: {rate:>9.0} appends/s, submit→index p50 {} ms, p99 {} ms",
            p50.as_millis(),
            p99.as_millis()
        );
    }

    let (dir, rate, _, _) = open_loop(big, 0);
    let data = dir.path();
    let tiles = dir_bytes(&Log::tiles_dir(data));
    for f in ["state.sqlite", "state.sqlite-wal"] {
        if let Ok(m) = std::fs::metadata(data.join(f)) {
            println!("  {f}: {} bytes", m.len());
        }
    }
    let total = dir_bytes(data);
    println!(
        "built {big} entries at {rate:.0} appends/s; disk: tiles {:.1} B/entry, all (tiles + SQLite) {:.1} B/entry (entries are {} B)",
        tiles as f64 / big as f64,
        total as f64 / big as f64,
        entry(0).len()
    );
    let reader = TileReader::new(Log::tiles_dir(data), HashAlg::Sm3, big);
    let mut x = 0x9e37_79b9_7f4a_7c15u64;
    let mut rnd = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    for (name, warm) in [("cold reader", false), ("warm reader", true)] {
        let n = 2_000;
        let mut inc = Vec::new();
        let mut con = Vec::new();
        for _ in 0..n {
            // Warm: shares the reader's cache of full tiles. Cold: a fresh
            // reader per proof (tiles come from the OS page cache).
            let r = if warm {
                reader.at_size(big)
            } else {
                TileReader::new(Log::tiles_dir(data), HashAlg::Sm3, big)
            };
            let t0 = Instant::now();
            std::hint::black_box(inclusion_proof(&r, rnd() % big, big).unwrap());
            inc.push(t0.elapsed());
            let t0 = Instant::now();
            std::hint::black_box(consistency_proof(&r, 1 + rnd() % (big - 1), big).unwrap());
            con.push(t0.elapsed());
        }
        println!(
            "proofs at {big} entries, {name}: inclusion p50 {} µs p99 {} µs; consistency p50 {} µs p99 {} µs",
            pct(&mut inc, 0.5).as_micros(),
            pct(&mut inc, 0.99).as_micros(),
            pct(&mut con, 0.5).as_micros(),
            pct(&mut con, 0.99).as_micros()
        );
    }
}
