//! Seal signatures on the hot path: parsing ofdrw's v4 SES_Signature (17 KB,
//! mostly the seal picture) and verifying it (signer and maker signatures over
//! the received bytes, chains at the signing time, warm chain cache).
//!
//! `cargo bench -p yinzheng-benches --bench seal`

use criterion::{Criterion, criterion_group, criterion_main};
use std::hint::black_box;
use yinzheng_pki::{ParsedCert, RevocationPolicy, Validator};
use yinzheng_seal::{MakerTrust, SealSignature, VerifyOptions, verify_signature};

fn interop(name: &str) -> Vec<u8> {
    let p = concat!(env!("CARGO_MANIFEST_DIR"), "/../testdata/interop/ofdrw/");
    std::fs::read(format!("{p}{name}")).expect("shared interop data beside the repository")
}

fn seal(c: &mut Criterion) {
    let raw = interop("SignedValueV4.dat");
    let root = ParsedCert::load_all(&interop("ROOT.pem")).unwrap();
    let v = Validator::new(root).with_revocation(RevocationPolicy::DangerBestEffort);
    let mut g = c.benchmark_group("seal_signature");
    g.bench_function("parse (17 KB v4 SES_Signature)", |b| {
        b.iter(|| SealSignature::parse(black_box(&raw)).unwrap())
    });
    let sig = SealSignature::parse(&raw).unwrap();
    let opts = VerifyOptions {
        makers: MakerTrust::DangerAny,
        validator: &v,
        intermediates: &[],
        registry: None,
        data: None,
    };
    assert!(verify_signature(&sig, &opts).passed());
    g.bench_function("verify (2 SM2 signatures, cached chains)", |b| {
        b.iter(|| assert!(verify_signature(black_box(&sig), &opts).passed()))
    });
    g.finish();
}

criterion_group!(benches, seal);
criterion_main!(benches);
