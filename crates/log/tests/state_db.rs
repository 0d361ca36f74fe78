//! The state database across the move to yinzheng-store: a log directory made
//! by the code before it (schema without `schema_migrations`) opens, keeps
//! its checkpoint and grows; both ways of creating give the same tables; and
//! looking for a log where there is none leaves nothing behind.

#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::time::Duration;
use yinzheng_anchor::{Checkpoint, Entry, HashAlg, NoteSigner};
use yinzheng_crypto::{KeyAlgorithm, PrivateKey};
use yinzheng_log::{Log, LogOptions};
use yinzheng_store::Backend::Embedded;

const ORIGIN: &str = "yinzheng.test/log";

fn signer(seed: &PrivateKey) -> NoteSigner {
    let again = PrivateKey::from_bytes(&seed.to_pkcs8_der(), None).unwrap();
    NoteSigner::new(ORIGIN, again).unwrap()
}

/// `Log::create` as it was before yinzheng-store (commit 9c8be8d), verbatim
/// but for the checkpoint file, written plainly.
fn old_create(dir: &Path, hash: HashAlg, signer: &NoteSigner) {
    std::fs::create_dir_all(dir.join("tiles")).unwrap();
    let cp = Checkpoint::new(ORIGIN, 0, hash.empty_root()).unwrap();
    let note = cp.sign(&[signer]).unwrap();
    let mut conn = rusqlite::Connection::open(dir.join("state.sqlite")).unwrap();
    conn.busy_timeout(Duration::from_secs(10)).unwrap();
    conn.pragma_update(None, "journal_mode", "WAL").unwrap();
    conn.pragma_update(None, "synchronous", "FULL").unwrap();
    let tx = conn.transaction().unwrap();
    tx.execute_batch(
        "CREATE TABLE config(key TEXT PRIMARY KEY, value TEXT NOT NULL);
         CREATE TABLE checkpoint(id INTEGER PRIMARY KEY CHECK (id = 1), body TEXT NOT NULL);
         CREATE TABLE staged(id INTEGER PRIMARY KEY CHECK (id = 1), size INTEGER NOT NULL, bundle BLOB NOT NULL);",
    )
    .unwrap();
    tx.execute("INSERT INTO config VALUES ('origin', ?1)", [ORIGIN])
        .unwrap();
    tx.execute("INSERT INTO config VALUES ('hash', ?1)", [hash.name()])
        .unwrap();
    tx.execute("INSERT INTO checkpoint VALUES (1, ?1)", [&note])
        .unwrap();
    tx.commit().unwrap();
    std::fs::write(dir.join("tiles/checkpoint"), note.as_bytes()).unwrap();
}

fn tables(dir: &Path) -> Vec<(String, String)> {
    let conn = rusqlite::Connection::open(dir.join("state.sqlite")).unwrap();
    let mut stmt = conn
        .prepare(
            "SELECT name, sql FROM sqlite_master
             WHERE type = 'table' AND name IN ('config', 'checkpoint', 'staged') ORDER BY name",
        )
        .unwrap();
    stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .collect::<rusqlite::Result<_>>()
        .unwrap()
}

fn entry(i: u64) -> Entry {
    Entry::new("note", 1_700_000_000_000 + i, "tester")
        .unwrap()
        .with_subject(&format!("e{i}"))
        .unwrap()
}

#[test]
fn a_log_made_by_the_old_code_opens_and_grows() {
    let old = tempfile::tempdir().unwrap();
    let key = PrivateKey::generate(KeyAlgorithm::Sm2).unwrap();
    old_create(old.path(), HashAlg::Sm3, &signer(&key));
    let opts = LogOptions::default().with_period(Duration::from_millis(5));
    let log = Log::open_in(old.path(), &Embedded, vec![signer(&key)], opts.clone()).unwrap();
    for i in 0..5 {
        assert_eq!(log.append_entry(&entry(i)).unwrap(), i);
    }
    log.close().unwrap();
    drop(log);
    assert_eq!(
        Log::config_in(old.path(), &Embedded).unwrap(),
        (ORIGIN.to_string(), HashAlg::Sm3)
    );
    let log = Log::open_in(old.path(), &Embedded, vec![signer(&key)], opts).unwrap();
    assert_eq!(log.checkpoint().size(), 5);
    assert_eq!(log.append_entry(&entry(5)).unwrap(), 5);
    log.close().unwrap();

    // The new code makes the same tables as the old.
    let new = tempfile::tempdir().unwrap();
    Log::create_in(
        new.path(),
        &Embedded,
        ORIGIN,
        HashAlg::Sm3,
        &[&signer(&key)],
    )
    .unwrap();
    assert_eq!(tables(old.path()), tables(new.path()));
}

#[test]
fn no_log_no_files() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nothing-here");
    assert!(Log::config_in(&missing, &yinzheng_tests::store_backend(&missing)).is_err());
    assert!(!missing.exists());
    let key = PrivateKey::generate(KeyAlgorithm::Sm2).unwrap();
    assert!(
        Log::open_in(
            dir.path(),
            &yinzheng_tests::store_backend(dir.path()),
            vec![signer(&key)],
            LogOptions::default()
        )
        .is_err()
    );
    assert!(!dir.path().join("state.sqlite").exists());
}
