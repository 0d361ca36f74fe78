//! Anchoring log (yinzheng-anchor) hot paths under criterion: appending a
//! batch through the sequencer (one signature and one commit per batch), and
//! inclusion / consistency proof generation from tiles on disk, and
//! verification receipts (one batch of 1,000 signed at once, one verified).
//!
//! `cargo bench -p yinzheng-benches --bench anchor` (add `-- --quick` for a
//! fast pass). The sustained-load figures (1/16/256 producers, time to
//! inclusion, 10^6 entries, disk bytes) come from `--bench anchor_load`.

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use std::hint::black_box;
use std::time::Duration;
use yinzheng_anchor::{
    HashAlg, NoteSigner, ReceiptBody, TileReader, consistency_proof, inclusion_proof,
    sign_receipts, verify_receipt,
};
use yinzheng_crypto::{KeyAlgorithm, PrivateKey};
use yinzheng_log::{Log, LogOptions};

fn new_log(dir: &std::path::Path, period: Duration) -> Log {
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
        LogOptions::default()
            .with_period(period)
            .with_max_pool(1 << 20),
    )
    .unwrap()
}

fn entry(i: u64) -> Vec<u8> {
    // About the size of a real entry: kind, time, actor, one subject, one SM3 digest.
    let mut e =
        format!("license.issued|{i}|ca-operator|11100000000000000X-2026-{i:06}|").into_bytes();
    e.extend_from_slice(&[0x5a; 32]);
    e
}

fn append_batches(c: &mut Criterion) {
    let mut g = c.benchmark_group("anchor_append_batch");
    g.sample_size(10);
    for batch in [1u64, 1_000, 10_000] {
        let dir = tempfile::tempdir().unwrap();
        let log = new_log(dir.path(), Duration::ZERO);
        let mut next = 0u64;
        g.throughput(Throughput::Elements(batch));
        g.bench_with_input(BenchmarkId::from_parameter(batch), &batch, |b, &batch| {
            b.iter(|| {
                let pending: Vec<_> = (0..batch)
                    .map(|_| {
                        next += 1;
                        log.submit(&entry(next)).unwrap()
                    })
                    .collect();
                for p in pending {
                    black_box(p.wait().unwrap());
                }
            })
        });
    }
    g.finish();
}

fn proofs(c: &mut Criterion) {
    let mut g = c.benchmark_group("anchor_proof");
    let dir = tempfile::tempdir().unwrap();
    let n: u64 = 1 << 17;
    {
        let log = new_log(dir.path(), Duration::from_millis(50));
        let pending: Vec<_> = (0..n).map(|i| log.submit(&entry(i)).unwrap()).collect();
        for p in pending {
            p.wait().unwrap();
        }
        log.close().unwrap();
    }
    let reader = TileReader::new(Log::tiles_dir(dir.path()), HashAlg::Sm3, n);
    let mut x = 0x1234_5678_9abc_def0u64;
    let mut rnd = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    g.bench_function("inclusion_131072", |b| {
        b.iter(|| inclusion_proof(&reader, rnd() % n, n).unwrap())
    });
    g.bench_function("consistency_131072", |b| {
        b.iter(|| consistency_proof(&reader, 1 + rnd() % (n - 1), n).unwrap())
    });
    g.finish();
}

fn receipt_body(i: u64) -> ReceiptBody {
    ReceiptBody {
        request_sm3: format!("{i:064x}"),
        operation: "query".into(),
        subject: format!("11100000000000000X-2026-{i:06}"),
        caller: "bench-caller".into(),
        result_code: Some(0),
        result: "TOTAL_PASSED".into(),
        time_ms: 1_767_225_600_000 + i,
        usage_seq: Some(i as i64),
        usage_sm3: Some(format!("{:064x}", i + 1)),
        log_index: None,
    }
}

fn receipts(c: &mut Criterion) {
    let mut g = c.benchmark_group("anchor_receipts");
    let key = PrivateKey::generate(KeyAlgorithm::Sm2).unwrap();
    let s = NoteSigner::new("bench/log/sm3", key).unwrap();
    let bodies: Vec<ReceiptBody> = (0..1_000).map(receipt_body).collect();
    g.throughput(Throughput::Elements(1_000));
    g.bench_function("sign_batch_1000", |b| {
        b.iter(|| {
            sign_receipts(
                bodies.clone(),
                "bench/log/sm3",
                HashAlg::Sm3,
                &s,
                1_767_225_601_000,
            )
            .unwrap()
        })
    });
    let signed =
        sign_receipts(bodies, "bench/log/sm3", HashAlg::Sm3, &s, 1_767_225_601_000).unwrap();
    let keys = [s.verifier().clone()];
    g.throughput(Throughput::Elements(1));
    g.bench_function("verify_one_of_1000", |b| {
        b.iter(|| verify_receipt(black_box(&signed[421]), &keys).unwrap())
    });
    g.finish();
}

criterion_group!(benches, append_batches, proofs, receipts);
criterion_main!(benches);
