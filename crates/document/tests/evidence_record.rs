//! Time travel for RFC 4998 evidence records (issue 23): a record stamped
//! by a TSA whose certificate lives one year, renewed in time by a second
//! TSA, still proves its file eight years on — the first certificate judged
//! when the renewal was made, the last one at the validation time; the same
//! record without the renewal does not, and says which link's TSA lapsed.

#![allow(clippy::unwrap_used)]

use std::time::{Duration, SystemTime};
use yinzheng_ca::{InitOptions, IssueRequest, KeySource, TrustDomain};
use yinzheng_cms::{Digest, EvidenceRecord, TimeStampAuthority};
use yinzheng_pki::{RevocationPolicy, Validator};

const DAY: Duration = Duration::from_secs(86_400);

#[test]
fn a_renewed_record_outlives_its_first_tsa_certificate() {
    let dir = tempfile::tempdir().unwrap();
    let pki = dir.path().join("pki");
    let mut opts = InitOptions::new("CN=Archive Root,O=Yinzheng,C=CN");
    opts.key_encryption = yinzheng_crypto::KeyEncryption::default().with_iterations(1000);
    let mut d =
        TrustDomain::init_in(&pki, &yinzheng_tests::store_backend(&pki), &opts, b"pw").unwrap();
    let start = SystemTime::now();
    let mut tsa = |name: &str, days: u32| {
        let i = d
            .issue(IssueRequest {
                profile: "tsa",
                subject: Some(&format!("CN={name},O=Yinzheng,C=CN")),
                extras: Default::default(),
                key: KeySource::Generate,
                not_before: Some(start),
                days: Some(days),
                issuer: None,
            })
            .unwrap();
        TimeStampAuthority::new(
            Box::new(i.key.unwrap()),
            i.cert.der().to_vec(),
            vec![],
            None,
        )
        .unwrap()
    };
    let (first, second) = (tsa("TSA 2026", 365), tsa("TSA 2027", 3650 * 3));
    let (root, issuing) = (d.root().clone(), d.issuing().clone());
    let at = |t: SystemTime| time::OffsetDateTime::from(t);
    let file = b"an archived license, sealed in 2026".to_vec();
    let mut records = EvidenceRecord::archive(
        Digest::Sm3,
        &[
            Digest::Sm3.digest(&file),
            Digest::Sm3.digest(b"its neighbour"),
        ],
        &mut |dg, imprint| first.stamp(dg, imprint, at(start + DAY)),
    )
    .unwrap();
    let bare = records.remove(0);
    let mut renewed = bare.clone();
    // Renewed 300 days on, while the first certificate still holds.
    renewed
        .renew_time_stamp(&mut |dg, imprint| second.stamp(dg, imprint, at(start + 300 * DAY)))
        .unwrap();
    let ctx = yinzheng_document::TrustContext::new(
        Validator::new(vec![root]).with_revocation(RevocationPolicy::DangerBestEffort),
    )
    .with_intermediates(vec![issuing]);
    let ten_years = start + 3000 * DAY; // past the first TSA certificate, within its CA
    let judge = |r: &EvidenceRecord, when: SystemTime| {
        yinzheng_document::verify_evidence_record(&ctx, &r.to_der(), &file, when)
    };
    // Now: both pass.
    assert!(judge(&bare, start + 2 * DAY).0.passed());
    let (report, links) = judge(&renewed, ten_years);
    assert!(report.passed(), "{report}");
    assert_eq!(links.len(), 2);
    assert!(links[0].tsa.contains("TSA 2026") && links[1].tsa.contains("TSA 2027"));
    // Years on without the renewal: the first TSA's certificate lapsed.
    let (report, _) = judge(&bare, ten_years);
    assert!(!report.passed(), "{report}");
    assert!(
        report.to_string().contains("chain 0 link 0 TSA"),
        "{report}"
    );
    // A renewal made after the first certificate expired proves nothing
    // about the first link.
    let mut late = bare.clone();
    late.renew_time_stamp(&mut |dg, imprint| second.stamp(dg, imprint, at(start + 400 * DAY)))
        .unwrap();
    let (report, _) = judge(&late, ten_years);
    assert!(!report.passed(), "{report}");
    assert!(
        report.to_string().contains("chain 0 link 0 TSA"),
        "{report}"
    );
    // A token dated before its TSA's certificate existed: refused.
    let backdated = EvidenceRecord::archive(
        Digest::Sm3,
        &[Digest::Sm3.digest(&file)],
        &mut |dg, imprint| first.stamp(dg, imprint, at(start - DAY)),
    )
    .unwrap()
    .remove(0);
    let (report, _) = judge(&backdated, start + 2 * DAY);
    assert!(!report.passed(), "{report}");
    assert!(
        report
            .to_string()
            .contains("outside its TSA certificate's validity"),
        "{report}"
    );
    // Another file: refused at the first link.
    let other =
        yinzheng_document::verify_evidence_record(&ctx, &renewed.to_der(), b"x", ten_years).0;
    assert!(!other.passed());
}
