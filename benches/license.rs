//! A license file checked the way the verify API checks it: the demo's sealed
//! license PDF (national mode: SM2 CMS carrying the GB/T 38540 seal
//! signature) through `Registry::evaluate_file` with the server's trust
//! material and registries — document verification, both chains, the seal,
//! the registry lookup by the file's SM3 — without HTTP, TLS or the usage
//! record. Issue 21's goal is one millisecond of CPU for this. Measured
//! twice: afresh (`pdf_…`, `ofd_…`: the verdict cache off, as for a file the
//! server has not seen) and `…_again` (the server's default, the same file
//! checked again: a kept verdict, its seal statuses and the license read anew).
//!
//! `cargo bench -p yinzheng-benches --bench license` (about 30 s; making the
//! demo data directory takes a few seconds first).

#![allow(clippy::unwrap_used, missing_docs)]

use criterion::{Criterion, criterion_group, criterion_main};
use std::hint::black_box;
use yinzheng_store::Backend;

fn license_file(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("home");
    let info = yinzheng_server::demo::create(&home, &Backend::Embedded).unwrap();
    let config = yinzheng_server::ServerConfig {
        verdict_cache_entries: 0,
        ..yinzheng_server::ServerConfig::load(&home).unwrap()
    };
    let state = yinzheng_server::AppState::open(&home, config, info.passphrase.as_bytes()).unwrap();
    // The same trust with the server's default verdict cache.
    let cached = yinzheng_server::state::build_trust(
        &state.domains,
        &yinzheng_server::ServerConfig::load(&home).unwrap(),
    )
    .unwrap();
    let id = &info.license("valid").unwrap().id;
    let pdf = std::fs::read(home.join("licenses/files").join(id).join("license.pdf")).unwrap();
    let ofd = std::fs::read(home.join("licenses/files").join(id).join("license.ofd")).unwrap();
    let trust = state.trust();
    let reader = state.readers.get().unwrap();
    let doc_trust = yinzheng_license::DocumentTrust {
        context: &trust.context,
        seals: reader
            .seals
            .as_ref()
            .map(|s| s as &dyn yinzheng_seal::SealStatusSource),
        deadline: None,
        max_inflated: None,
    };
    // Any offset will do: the license day is taken in Beijing time.
    let at = time::OffsetDateTime::now_utc();
    // The verdict first: a benchmark of a failing check would measure nothing useful.
    for file in [&pdf, &ofd] {
        let o = reader.licenses.evaluate_file(file, &doc_trust, at).unwrap();
        assert_eq!(o.code_number, 0, "{}", o.message);
    }
    let mut g = c.benchmark_group("license_file_check");
    g.bench_function(format!("pdf_{}_bytes", pdf.len()), |b| {
        b.iter(|| {
            reader
                .licenses
                .evaluate_file(black_box(&pdf), &doc_trust, at)
                .unwrap()
        })
    });
    g.bench_function(format!("ofd_{}_bytes", ofd.len()), |b| {
        b.iter(|| {
            reader
                .licenses
                .evaluate_file(black_box(&ofd), &doc_trust, at)
                .unwrap()
        })
    });
    let again = yinzheng_license::DocumentTrust {
        context: &cached.context,
        ..doc_trust
    };
    for (name, file) in [("pdf", &pdf), ("ofd", &ofd)] {
        g.bench_function(format!("{name}_{}_bytes_again", file.len()), |b| {
            b.iter(|| {
                let o = reader
                    .licenses
                    .evaluate_file(black_box(file), &again, at)
                    .unwrap();
                assert_eq!(o.code_number, 0);
                o
            })
        });
    }
    let (kept, hits, _) = cached.context.verdict_cache().unwrap().stats();
    assert!(kept == 2 && hits > 0, "the verdict cache was not used");
    g.finish();
}

criterion_group!(benches, license_file);
criterion_main!(benches);
