//! Certificate validation on the hot path: a 3-level SM2 chain (root → issuing
//! CA → seal signer) with CRLs for both links, validated cold (every signature
//! and CRL checked) and warm (the chain cache answers until the CRL's nextUpdate).
//!
//! `cargo bench -p yinzheng-benches --bench pki`

use criterion::{Criterion, criterion_group, criterion_main};
use std::hint::black_box;
use std::time::SystemTime;
use yinzheng_ca::{InitOptions, IssueRequest, KeySource, TrustDomain};
use yinzheng_crypto::KeyEncryption;
use yinzheng_pki::{SubjectExtras, Validator};

fn validate(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let mut opts = InitOptions::new("CN=Bench Root CA,O=Yinzheng,C=CN");
    opts.key_encryption = KeyEncryption::default().with_iterations(1000);
    let mut d = TrustDomain::init_in(
        &dir.path().join("pki"),
        &yinzheng_store::Backend::Embedded,
        &opts,
        b"pw",
    )
    .unwrap();
    let leaf = d
        .issue(IssueRequest {
            profile: "seal-signer",
            subject: Some("CN=Example Org,O=Example Org,C=CN"),
            extras: SubjectExtras {
                uscc: Some("91350100M000100Y43".into()),
                ..Default::default()
            },
            key: KeySource::Generate,
            not_before: None,
            issuer: None,
            days: None,
        })
        .unwrap()
        .cert;
    let crls = d.crl(24).unwrap();
    let chain = vec![d.issuing().clone()];
    let now = SystemTime::now();

    let mut g = c.benchmark_group("cert_validate");
    g.bench_function("cold (2 SM2 signatures + 2 CRL signatures)", |b| {
        b.iter(|| {
            // A fresh validator has an empty cache.
            let v = Validator::new(vec![d.root().clone()]).with_crls(crls.clone());
            assert!(v.validate(black_box(&leaf), &chain, now).passed());
        })
    });
    let warm = Validator::new(vec![d.root().clone()]).with_crls(crls.clone());
    assert!(warm.validate(&leaf, &chain, now).passed());
    g.bench_function("warm (cached chain)", |b| {
        b.iter(|| assert!(warm.validate(black_box(&leaf), &chain, now).passed()))
    });
    g.finish();
}

criterion_group!(benches, validate);
criterion_main!(benches);
