//! The witnessed checkpoint (issue 24): published only when it is this
//! log's tree, never stepping back — not even from a follower whose view
//! lags the file — and withdrawn on demand.

#![allow(clippy::unwrap_used)]

use std::time::Duration;
use yinzheng_anchor::{Checkpoint, HashAlg, NoteSigner};
use yinzheng_crypto::{KeyAlgorithm, PrivateKey};
use yinzheng_log::{Log, LogOptions};

const ORIGIN: &str = "yinzheng.test/log/sm3";

#[test]
fn the_witnessed_checkpoint_is_this_logs_and_never_steps_back() {
    let dir = yinzheng_tests::tempdir();
    let d = dir.path();
    let backend = yinzheng_tests::store_backend(d);
    let der = PrivateKey::generate(KeyAlgorithm::Sm2)
        .unwrap()
        .to_pkcs8_der();
    let signer = || NoteSigner::new(ORIGIN, PrivateKey::from_bytes(&der, None).unwrap()).unwrap();
    Log::create_in(d, &backend, ORIGIN, HashAlg::Sm3, &[&signer()]).unwrap();
    let log = Log::open_in(
        d,
        &backend,
        vec![signer()],
        LogOptions::default().with_period(Duration::from_millis(2)),
    )
    .unwrap();
    for i in 0..3 {
        log.append(format!("entry {i}").as_bytes()).unwrap();
    }
    let note3 = log.checkpoint_note();
    let follower = Log::follow_in(d, &backend, log.verifiers().to_vec()).unwrap();
    assert!(log.witnessed_note().unwrap().is_none());
    assert!(log.publish_witnessed(&note3).unwrap());
    for i in 3..5 {
        log.append(format!("entry {i}").as_bytes()).unwrap();
    }
    let note5 = log.checkpoint_note();
    assert!(log.publish_witnessed(&note5).unwrap());
    assert_eq!(log.witnessed_note().unwrap(), Some(note5.clone()));
    assert_eq!(log.witnessed_covering(4).unwrap().map(|w| w.1), Some(5));
    assert!(log.witnessed_covering(5).unwrap().is_none());
    // The follower still sees size 3: it cannot serve the size-5 file, and
    // it cannot step it back to 3 either.
    assert!(follower.witnessed_note().unwrap().is_none());
    assert!(!follower.publish_witnessed(&note3).unwrap());
    assert_eq!(log.witnessed_note().unwrap(), Some(note5.clone()));
    // The same size with no more signatures: kept as it is.
    assert!(!log.publish_witnessed(&note5).unwrap());
    // Signed by the log's key but another tree: refused.
    let other = Checkpoint::new(ORIGIN, 5, [7u8; 32])
        .unwrap()
        .sign(&[&signer()])
        .unwrap();
    assert!(log.publish_witnessed(&other).is_err());
    // Not signed by the log: refused.
    let stranger =
        NoteSigner::new(ORIGIN, PrivateKey::generate(KeyAlgorithm::Sm2).unwrap()).unwrap();
    let unsigned = Checkpoint::new(ORIGIN, 5, *log.checkpoint().root())
        .unwrap()
        .sign(&[&stranger])
        .unwrap();
    assert!(log.publish_witnessed(&unsigned).is_err());
    // Beyond the log: refused.
    let ahead = Checkpoint::new(ORIGIN, 9, [1u8; 32])
        .unwrap()
        .sign(&[&signer()])
        .unwrap();
    assert!(log.publish_witnessed(&ahead).is_err());
    // Withdrawn only as judged: a file published since is left alone.
    assert!(!log.retract_witnessed(note3.as_bytes()).unwrap());
    assert_eq!(log.witnessed_note().unwrap(), Some(note5.clone()));
    assert!(log.retract_witnessed(note5.as_bytes()).unwrap());
    assert!(log.witnessed_note().unwrap().is_none());
    // A damaged file proves nothing and is replaced.
    std::fs::write(Log::tiles_dir(d).join(yinzheng_log::WITNESSED_FILE), "junk").unwrap();
    assert!(log.witnessed_note().is_err());
    assert!(log.publish_witnessed(&note3).unwrap());
    assert_eq!(log.witnessed_note().unwrap(), Some(note3.clone()));
    log.close().unwrap();
}
