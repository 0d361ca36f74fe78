//! Every example runs under `cargo test`: each example file is included here
//! as a module and its `run` is called, so CI covers them without spawning
//! `cargo run --example`.

#![allow(clippy::unwrap_used)]

#[path = "../examples/seal_pdf.rs"]
mod seal_pdf;

#[path = "../examples/verify_ofd.rs"]
mod verify_ofd;

#[path = "../examples/check_identifier.rs"]
mod check_identifier;

#[path = "../examples/verify_evidence.rs"]
mod verify_evidence;

use yinzheng::{CheckStatus, Indication, SubIndication};

#[test]
fn seal_pdf_example_seals_and_verifies() {
    let report = seal_pdf::run().unwrap();
    assert!(report.passed(), "{report}");
}

#[test]
fn verify_ofd_example_checks_ofdrw_file() {
    let r = verify_ofd::run().unwrap();
    let passed = |id: &str| {
        r.checks()
            .iter()
            .filter(|c| c.id == id && c.status == CheckStatus::Passed)
            .count()
    };
    assert_eq!(passed("reference"), 5, "{r}");
    assert_eq!(passed("signature 1/signature"), 1, "{r}");
    // ofdrw's certificates expired in 2022 and nothing proves the signature
    // is older: everything else holds, and it cannot be decided.
    assert_eq!(r.indication(), Indication::Indeterminate, "{r}");
    assert_eq!(
        r.sub_indication(),
        Some(SubIndication::OutOfBoundsNoPoe),
        "{r}"
    );
}

#[test]
fn check_identifier_example_tells_good_from_bad() {
    let id = yinzheng::LicenseId::new("11100000000013338W001", "11430000006122244L", "7", 1)
        .unwrap()
        .to_string();
    let (body, check) = id.rsplit_once('.').unwrap();
    let wrong = if check == "0" { "1" } else { "0" };
    let inputs: Vec<String> = [
        "91350100M000100Y43",
        "91350100M000100Y44",
        "11010519491231002X",
        &id,
        &format!("{body}.{wrong}"),
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let lines = check_identifier::run(&inputs);
    assert!(lines[0].starts_with("ok "), "{lines:?}");
    assert!(lines[1].starts_with("bad "), "{lines:?}");
    assert!(lines[2].starts_with("ok "), "{lines:?}");
    assert!(lines[3].starts_with("ok "), "{lines:?}");
    assert!(lines[4].starts_with("bad "), "{lines:?}");
}

#[test]
fn verify_evidence_example_proves_an_entry() {
    let v = verify_evidence::run().unwrap();
    assert_eq!((v.index(), v.tree_size()), (1, 3));
    assert_eq!(v.entry_kind(), Some("seal.made"));
    assert_eq!(v.entry_subjects(), ["seal-2".to_string()]);
}
