//! LogSlot: the sequencer while the lease is held, a follower otherwise, and
//! the switch when the lease comes free (PostgreSQL; on the embedded store
//! every slot sequences).

use std::time::{Duration, Instant};
use yinzheng_anchor::{HashAlg, NoteSigner};
use yinzheng_crypto::{KeyAlgorithm, PrivateKey};
use yinzheng_log::{Log, LogOptions, LogSlot, SequencerKeys, SlotEvent};
use yinzheng_store::Backend;

const ORIGIN: &str = "yinzheng.test/slot";

fn opts() -> LogOptions {
    LogOptions::default().with_period(Duration::from_millis(20))
}

#[test]
fn a_slot_sequences_follows_and_takes_over() {
    let dir = tempfile::tempdir().expect("dir");
    let key: std::sync::Arc<dyn yinzheng_crypto::Signer> =
        std::sync::Arc::new(PrivateKey::generate(KeyAlgorithm::Sm2).expect("key"));
    let backend = yinzheng_tests::store_backend(dir.path());
    let signer = NoteSigner::from_signer(ORIGIN, key.clone()).expect("signer");
    let verifiers = vec![signer.verifier().clone()];
    Log::create_in(dir.path(), &backend, ORIGIN, HashAlg::Sm3, &[&signer]).expect("create");

    let empty = LogSlot::empty(dir.path(), &backend);
    assert!(empty.current().is_none() && empty.tick().is_empty() && empty.close().is_ok());

    let keys = || SequencerKeys::new(ORIGIN, vec![key.clone()]);
    let (a, sequencing) =
        LogSlot::open(dir.path(), &backend, keys(), verifiers.clone(), opts()).expect("open a");
    assert!(sequencing, "the first slot takes the lease");
    let seq = a.sequencer().expect("sequencer");
    assert_eq!(seq.append(b"entry 0").expect("append"), 0);
    assert!(a.tick().is_empty(), "a sequencer's tick does nothing");

    if matches!(backend, Backend::Embedded) {
        // One process per data directory: nothing to follow or take over.
        drop(seq);
        a.close().expect("close");
        return;
    }
    let (b, sequencing) =
        LogSlot::open(dir.path(), &backend, keys(), verifiers, opts()).expect("open b");
    assert!(!sequencing, "the lease is held: b follows");
    assert!(b.sequencer().is_none());
    assert!(b.follow().is_none(), "following reads the published log");
    assert_eq!(b.current().expect("follower").checkpoint().size(), 1);

    // a stops; b takes the lease on a tick and carries on the same tree.
    drop(seq);
    a.close().expect("close a");
    drop(a);
    let started = Instant::now();
    loop {
        let events = b.tick();
        if events
            .iter()
            .any(|e| matches!(e, SlotEvent::TookLease { size: 1 }))
        {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "no takeover: {events:?}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let seq = b.sequencer().expect("b sequences");
    assert_eq!(seq.append(b"entry 1").expect("append"), 1);
    b.close().expect("close b");
}
