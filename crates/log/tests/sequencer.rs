//! The sequencer through its public API: concurrent producers get unique,
//! contiguous indexes; every published checkpoint verifies, proofs from the
//! tiles verify against it, checkpoints are consistent with each other; the
//! log reopens where it stopped; a second sequencer on the same directory
//! loses its compare-and-swap and stops without forking the log.

#![allow(clippy::unwrap_used)]

use std::sync::Arc;
use std::time::Duration;
use yinzheng_anchor::Error as AnchorError;
use yinzheng_anchor::{
    Entry, HashAlg, NoteSigner, SignedCheckpoint, TileReader, verify_consistency, verify_inclusion,
};
use yinzheng_crypto::{KeyAlgorithm, PrivateKey};
use yinzheng_log::Error;
use yinzheng_log::{Log, LogOptions};

fn signer(seed: &PrivateKey) -> NoteSigner {
    let again = PrivateKey::from_bytes(&seed.to_pkcs8_der(), None).unwrap();
    NoteSigner::new("yinzheng.test/log", again).unwrap()
}

fn opts() -> LogOptions {
    LogOptions::default().with_period(Duration::from_millis(20))
}

#[test]
fn concurrent_appends_prove_and_reopen() {
    for hash in [HashAlg::Sm3, HashAlg::Sha256] {
        let dir = tempfile::tempdir().unwrap();
        let key = PrivateKey::generate(KeyAlgorithm::Sm2).unwrap();
        let ed = PrivateKey::generate(KeyAlgorithm::Ed25519).unwrap();
        let ed_signer = NoteSigner::new("witness.test", ed).unwrap();
        let ed_vk = ed_signer.verifier().clone();
        Log::create_in(
            dir.path(),
            &yinzheng_tests::store_backend(dir.path()),
            "yinzheng.test/log",
            hash,
            &[&signer(&key), &ed_signer],
        )
        .unwrap();
        let log = Arc::new(
            Log::open_in(
                dir.path(),
                &yinzheng_tests::store_backend(dir.path()),
                vec![signer(&key), ed_signer],
                opts(),
            )
            .unwrap(),
        );
        let vk = log.verifiers()[0].clone();

        let mut handles = Vec::new();
        for t in 0..8u32 {
            let log = log.clone();
            handles.push(std::thread::spawn(move || {
                let mut got = Vec::new();
                for i in 0..80u32 {
                    let e = Entry::new("note", 1_700_000_000_000 + u64::from(i), "tester")
                        .unwrap()
                        .with_subject(&format!("t{t}-{i}"))
                        .unwrap();
                    got.push((log.append_entry(&e).unwrap(), e.encode()));
                }
                got
            }));
        }
        let mut all: Vec<(u64, Vec<u8>)> = handles
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect();
        all.sort();
        let idx: Vec<u64> = all.iter().map(|(i, _)| *i).collect();
        assert_eq!(
            idx,
            (0..640).collect::<Vec<_>>(),
            "indexes unique and contiguous"
        );

        let note = log.checkpoint_note();
        // Both signatures verify, each alone is enough.
        let cp = SignedCheckpoint::open(
            note.as_bytes(),
            &[vk.clone(), ed_vk.clone()],
            Some("yinzheng.test/log"),
        )
        .unwrap();
        assert_eq!(cp.verified_by().len(), 2);
        SignedCheckpoint::open(note.as_bytes(), std::slice::from_ref(&ed_vk), None).unwrap();
        let size = cp.checkpoint().size();
        assert_eq!(size, 640);
        for (i, e) in all.iter().step_by(37) {
            assert_eq!(&log.entry(*i).unwrap(), e);
            let p = log.prove_inclusion(*i, size).unwrap();
            verify_inclusion(
                hash,
                &hash.leaf_hash(e),
                *i,
                size,
                &p,
                cp.checkpoint().root(),
            )
            .unwrap();
        }
        // A proof beyond the published size is refused.
        assert!(log.prove_inclusion(0, size + 1).is_err());
        log.close().unwrap();
        drop(log);

        // Reopen: the tree continues, old checkpoint consistent with the new one.
        let log = Log::open_in(
            dir.path(),
            &yinzheng_tests::store_backend(dir.path()),
            vec![signer(&key)],
            opts(),
        )
        .unwrap();
        assert_eq!(log.checkpoint().size(), 640);
        let i = log.append(b"after reopen").unwrap();
        assert_eq!(i, 640);
        let cp2 = log.checkpoint();
        let proof = log.prove_consistency(size, cp2.size()).unwrap();
        verify_consistency(
            hash,
            size,
            cp2.size(),
            cp.checkpoint().root(),
            cp2.root(),
            &proof,
        )
        .unwrap();
        // A reader of the static tiles alone agrees.
        let (reader, scp) = TileReader::open_checkpoint(
            Log::tiles_dir(dir.path()),
            hash,
            std::slice::from_ref(&vk),
            Some("yinzheng.test/log"),
        )
        .unwrap();
        assert_eq!(scp.checkpoint(), &cp2);
        assert_eq!(yinzheng_anchor::root(&reader, 641).unwrap(), *cp2.root());
        assert_eq!(reader.entry(640).unwrap(), b"after reopen");
    }
}

#[test]
fn a_second_sequencer_loses_the_cas_and_the_log_does_not_fork() {
    let dir = tempfile::tempdir().unwrap();
    let key = PrivateKey::generate(KeyAlgorithm::Sm2).unwrap();
    Log::create_in(
        dir.path(),
        &yinzheng_tests::store_backend(dir.path()),
        "yinzheng.test/log",
        HashAlg::Sm3,
        &[&signer(&key)],
    )
    .unwrap();
    let a = Log::open_in(
        dir.path(),
        &yinzheng_tests::store_backend(dir.path()),
        vec![signer(&key)],
        opts(),
    )
    .unwrap();
    let b = Log::open_in(
        dir.path(),
        &yinzheng_tests::store_backend(dir.path()),
        vec![signer(&key)],
        opts(),
    );
    if yinzheng_tests::store_on_postgres() {
        // On PostgreSQL the lease refuses B before it could race.
        assert!(matches!(b, Err(Error::NotSequencer(_))), "{b:?}");
        return;
    }
    let b = b.unwrap();
    assert_eq!(a.append(b"from a").unwrap(), 0);
    // B still believes the tree is empty; its commit must fail.
    let err = b.append(b"from b").unwrap_err();
    assert!(matches!(err, Error::LostCas), "{err}");
    // And it stays stopped.
    assert!(matches!(b.append(b"again"), Err(Error::Stopped(_))));
    assert!(b.close().is_err());
    assert_eq!(a.append(b"from a again").unwrap(), 1);
    a.close().unwrap();
    let log = Log::open_in(
        dir.path(),
        &yinzheng_tests::store_backend(dir.path()),
        vec![signer(&key)],
        opts(),
    )
    .unwrap();
    assert_eq!(log.checkpoint().size(), 2);
    assert_eq!(log.entry(0).unwrap(), b"from a");
    assert_eq!(log.entry(1).unwrap(), b"from a again");
}

#[test]
fn oversized_entries_and_full_pools_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let key = PrivateKey::generate(KeyAlgorithm::Sm2).unwrap();
    Log::create_in(
        dir.path(),
        &yinzheng_tests::store_backend(dir.path()),
        "o",
        HashAlg::Sm3,
        &[&signer(&key)],
    )
    .unwrap();
    let log = Log::open_in(
        dir.path(),
        &yinzheng_tests::store_backend(dir.path()),
        vec![signer(&key)],
        LogOptions::default()
            .with_period(Duration::from_secs(3600))
            .with_max_pool(2),
    )
    .unwrap();
    assert!(matches!(
        log.submit(&vec![0u8; 65_536]),
        Err(Error::Anchor(AnchorError::TooLarge { .. }))
    ));
    let p1 = log.submit(b"1").unwrap();
    let p2 = log.submit(b"2").unwrap();
    assert!(matches!(log.submit(b"3"), Err(Error::PoolFull(2))));
    assert!(p1.try_wait().is_none());
    // Closing sequences what is pooled.
    log.close().unwrap();
    assert_eq!(p1.wait().unwrap(), 0);
    assert_eq!(p2.wait().unwrap(), 1);
}

#[test]
fn a_batch_committed_but_not_published_is_published_on_open() {
    // The crash window between the SQLite commit and the last tile write,
    // made deterministic: delete what the last batch published, reopen.
    let dir = tempfile::tempdir().unwrap();
    let key = PrivateKey::generate(KeyAlgorithm::Sm2).unwrap();
    Log::create_in(
        dir.path(),
        &yinzheng_tests::store_backend(dir.path()),
        "yinzheng.test/log",
        HashAlg::Sm3,
        &[&signer(&key)],
    )
    .unwrap();
    let log = Log::open_in(
        dir.path(),
        &yinzheng_tests::store_backend(dir.path()),
        vec![signer(&key)],
        opts(),
    )
    .unwrap();
    for i in 0..10u32 {
        log.append(&i.to_be_bytes()).unwrap();
    }
    assert_eq!(log.append(b"last batch").unwrap(), 10);
    let cp = log.checkpoint_note();
    log.close().unwrap();
    drop(log);
    let tiles = Log::tiles_dir(dir.path());
    for f in ["checkpoint", "tile/0/000.p/11", "tile/entries/000.p/11"] {
        std::fs::remove_file(tiles.join(f)).unwrap();
    }
    let log = Log::open_in(
        dir.path(),
        &yinzheng_tests::store_backend(dir.path()),
        vec![signer(&key)],
        opts(),
    )
    .unwrap();
    assert_eq!(log.checkpoint_note(), cp);
    assert_eq!(log.entry(10).unwrap(), b"last batch");
    assert_eq!(
        std::fs::read_to_string(tiles.join("checkpoint")).unwrap(),
        cp
    );
    log.close().unwrap();
    let vk = signer(&key).verifier().clone();
    assert_eq!(
        yinzheng_anchor::audit(&tiles, HashAlg::Sm3, &[vk], None)
            .unwrap()
            .entries,
        11
    );
    // Opening with a key that did not sign the committed checkpoint fails.
    let other = NoteSigner::new(
        "yinzheng.test/log",
        PrivateKey::generate(KeyAlgorithm::Sm2).unwrap(),
    )
    .unwrap();
    assert!(matches!(
        Log::open_in(
            dir.path(),
            &yinzheng_tests::store_backend(dir.path()),
            vec![other],
            opts()
        ),
        Err(Error::Anchor(AnchorError::NoKnownSignature))
    ));
}

/// Entries queued through the database by another process land in the
/// sequencer's batches exactly once; a follower serves what was published and
/// refuses submissions; a new sequencer after the first closes carries on the
/// same tree (on PostgreSQL: after the lease passes on).
#[test]
fn queued_entries_followers_and_a_takeover() {
    use yinzheng_log::LogQueue;
    let dir = tempfile::tempdir().unwrap();
    let key = PrivateKey::generate(KeyAlgorithm::Sm2).unwrap();
    let backend = yinzheng_tests::store_backend(dir.path());
    Log::create_in(
        dir.path(),
        &backend,
        "yinzheng.test/log",
        HashAlg::Sm3,
        &[&signer(&key)],
    )
    .unwrap();
    let a = Log::open_in(dir.path(), &backend, vec![signer(&key)], opts()).unwrap();
    assert!(a.is_sequencer());
    let queue = LogQueue::open_in(dir.path(), &backend).unwrap();
    let follower =
        Log::follow_in(dir.path(), &backend, vec![signer(&key).verifier().clone()]).unwrap();
    assert!(!follower.is_sequencer());
    assert!(matches!(
        follower.submit(b"no"),
        Err(Error::NotSequencer(_))
    ));

    assert_eq!(a.append(b"pooled 0").unwrap(), 0);
    let ids = queue
        .enqueue(&[b"queued 1".to_vec(), b"queued 2".to_vec()])
        .unwrap();
    let idx = queue.wait(&ids, Duration::from_secs(10)).unwrap();
    assert_eq!(idx, [1, 2]);
    assert_eq!(a.append(b"pooled 3").unwrap(), 3);
    // Waiting again gives the same indexes: nothing was sequenced twice.
    assert_eq!(queue.wait(&ids, Duration::from_secs(1)).unwrap(), [1, 2]);
    assert_eq!(a.checkpoint().size(), 4);

    assert_eq!(follower.refresh().unwrap(), 4);
    assert_eq!(follower.entry(1).unwrap(), b"queued 1");
    assert_eq!(follower.checkpoint_note(), a.checkpoint_note());
    let old_root = *follower.checkpoint().root();

    a.close().unwrap();
    drop(a);
    // The next sequencer (on PostgreSQL once the server has freed the lease).
    let started = std::time::Instant::now();
    let b = loop {
        match Log::open_in(dir.path(), &backend, vec![signer(&key)], opts()) {
            Ok(b) => break b,
            Err(Error::NotSequencer(_)) if started.elapsed() < Duration::from_secs(5) => {
                std::thread::sleep(Duration::from_millis(20))
            }
            Err(e) => panic!("takeover: {e}"),
        }
    };
    assert_eq!(b.append(b"pooled 4").unwrap(), 4);
    let ids = queue.enqueue(&[b"queued 5".to_vec()]).unwrap();
    assert_eq!(queue.wait(&ids, Duration::from_secs(10)).unwrap(), [5]);
    assert_eq!(follower.refresh().unwrap(), 6);
    let proof = follower.prove_consistency(4, 6).unwrap();
    yinzheng_anchor::verify_consistency(
        HashAlg::Sm3,
        4,
        6,
        &old_root,
        follower.checkpoint().root(),
        &proof,
    )
    .unwrap();
    b.close().unwrap();
}

/// A state database restored from a backup older than the published tiles
/// (SQLite here: the file copied back) must not rewind the log: the published
/// checkpoint is adopted after a consistency proof from the tiles, and the
/// log grows from there. Tiles of another history are refused.
#[test]
fn a_restored_older_database_carries_on_from_the_published_checkpoint() {
    use yinzheng_store::Backend::Embedded;
    let key = PrivateKey::generate(KeyAlgorithm::Sm2).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state.sqlite");
    Log::create_in(
        dir.path(),
        &Embedded,
        "yinzheng.test/log",
        HashAlg::Sm3,
        &[&signer(&key)],
    )
    .unwrap();
    let log = Log::open_in(dir.path(), &Embedded, vec![signer(&key)], opts()).unwrap();
    for i in 0..3u8 {
        log.append(&[b'a', i]).unwrap();
    }
    log.close().unwrap();
    drop(log);
    let backup = dir.path().join("backup.sqlite");
    std::fs::copy(&state, &backup).unwrap();
    let log = Log::open_in(dir.path(), &Embedded, vec![signer(&key)], opts()).unwrap();
    for i in 3..7u8 {
        log.append(&[b'a', i]).unwrap();
    }
    let root7 = *log.checkpoint().root();
    log.close().unwrap();
    drop(log);
    // The disaster: the database comes back from the backup (size 3).
    for ext in ["-wal", "-shm"] {
        let _ = std::fs::remove_file(dir.path().join(format!("state.sqlite{ext}")));
    }
    std::fs::copy(&backup, &state).unwrap();
    let log = Log::open_in(dir.path(), &Embedded, vec![signer(&key)], opts()).unwrap();
    assert_eq!(
        log.checkpoint().size(),
        7,
        "the published checkpoint is adopted"
    );
    assert_eq!(log.checkpoint().root(), &root7);
    assert_eq!(log.append(b"after the restore").unwrap(), 7);
    let proof = log.prove_consistency(7, 8).unwrap();
    verify_consistency(HashAlg::Sm3, 7, 8, &root7, log.checkpoint().root(), &proof).unwrap();
    assert_eq!(log.entry(2).unwrap(), [b'a', 2]);
    log.close().unwrap();
    drop(log);

    // Tiles of another history (same key, same origin, other entries) are refused.
    let other = tempfile::tempdir().unwrap();
    Log::create_in(
        other.path(),
        &Embedded,
        "yinzheng.test/log",
        HashAlg::Sm3,
        &[&signer(&key)],
    )
    .unwrap();
    let b = Log::open_in(other.path(), &Embedded, vec![signer(&key)], opts()).unwrap();
    b.append(b"b0").unwrap();
    b.append(b"b1").unwrap();
    b.close().unwrap();
    drop(b);
    std::fs::remove_dir_all(other.path().join("tiles")).unwrap();
    let cp = std::process::Command::new("cp")
        .arg("-a")
        .arg(dir.path().join("tiles"))
        .arg(other.path().join("tiles"))
        .status()
        .unwrap();
    assert!(cp.success());
    match Log::open_in(other.path(), &Embedded, vec![signer(&key)], opts()) {
        Err(Error::Anchor(AnchorError::Mismatch(why))) => assert!(why.contains("prefix"), "{why}"),
        Err(e) => panic!("expected a refused fork, got {e}"),
        Ok(_) => panic!("a forked history was adopted"),
    }
}
