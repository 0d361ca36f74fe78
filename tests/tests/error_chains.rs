//! An error either prints its cause or returns it as its `source()`, never
//! both: a report that walks the chain (the CLI's, a log line's) then says
//! each thing once. Checked on real failures of the crates that wrap
//! operating-system, database and archive errors.

use std::error::Error as StdError;
use std::path::Path;
use yinzheng_store::Backend;

/// Every link of `err`'s chain: no message holds the message of its source.
fn assert_no_repeats(what: &str, err: &(dyn StdError + 'static)) {
    let mut at: Option<&(dyn StdError + 'static)> = Some(err);
    let mut chain = Vec::new();
    while let Some(e) = at {
        let text = e.to_string();
        if let Some(source) = e.source() {
            let inner = source.to_string();
            assert!(
                inner.is_empty() || !text.contains(&inner),
                "{what}: {text:?} repeats its source {inner:?} (chain so far: {chain:?})"
            );
        }
        chain.push(text);
        at = e.source();
    }
    assert!(!chain.is_empty());
}

/// The error of a call that must fail.
fn failure<T, E>(r: Result<T, E>, what: &str) -> E {
    match r {
        Ok(_) => panic!("{what}: expected an error"),
        Err(e) => e,
    }
}

/// A path below a regular file: every open or create under it fails.
fn impossible(dir: &Path) -> std::path::PathBuf {
    let file = dir.join("a-file");
    std::fs::write(&file, b"x").expect("write");
    file.join("below")
}

#[test]
fn store_log_ca_license_and_seal_registry_errors_say_each_cause_once() {
    let dir = tempfile::tempdir().expect("dir");
    let bad = impossible(dir.path());
    let store = Backend::Embedded;

    let e = failure(
        yinzheng_seal_registry::Registry::open_in(&bad.join("seals.db"), &store),
        "seal registry under a file",
    );
    assert_no_repeats("seal registry", &e);

    let e = failure(
        yinzheng_license::Registry::open_in(&bad, &store),
        "license registry under a file",
    );
    assert_no_repeats("license registry", &e);

    let e = failure(
        yinzheng_ca::TrustDomain::init_in(
            &bad,
            &store,
            &yinzheng_ca::InitOptions::new("CN=Root,O=Test,C=CN"),
            b"pass",
        ),
        "trust domain under a file",
    );
    assert_no_repeats("trust domain", &e);

    let e = failure(
        yinzheng_log::Log::config_in(&bad, &store),
        "log under a file",
    );
    assert_no_repeats("log state", &e);

    let e = failure(
        yinzheng_anchor::TileReader::open_checkpoint(
            &bad,
            yinzheng_anchor::HashAlg::Sm3,
            &[],
            None,
        ),
        "tiles under a file",
    );
    assert_no_repeats("tiles", &e);
}

#[test]
fn archive_and_pdf_errors_say_each_cause_once() {
    let e = failure(
        yinzheng_document::OfdPackage::read(b"PK\x03\x04 not really a zip"),
        "not an OFD package",
    );
    assert_no_repeats("OFD package", &e);
}
