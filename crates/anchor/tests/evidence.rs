//! Evidence files end to end: made from a running log, verified offline with
//! only the vkey text; any change to entry, index, proof or checkpoint fails.
//! Audits recompute every tile and catch a changed entry.

#![allow(clippy::unwrap_used)]

use std::time::Duration;
use yinzheng_anchor::{Error, Evidence, HashAlg, NoteSigner, VerifierKey, audit, base64};
use yinzheng_crypto::{KeyAlgorithm, PrivateKey};
use yinzheng_log::{Log, LogOptions};

#[test]
fn evidence_verifies_offline_and_tampering_fails() {
    let dir = tempfile::tempdir().unwrap();
    let key = PrivateKey::generate(KeyAlgorithm::Sm2).unwrap();
    let s = NoteSigner::new("yinzheng.test/log/sm3", key).unwrap();
    let vkey_text = s.verifier().to_string();
    Log::create_in(
        dir.path(),
        &yinzheng_tests::store_backend(dir.path()),
        "yinzheng.test/log/sm3",
        HashAlg::Sm3,
        &[&s],
    )
    .unwrap();
    let log = Log::open_in(
        dir.path(),
        &yinzheng_tests::store_backend(dir.path()),
        vec![s],
        LogOptions::default().with_period(Duration::from_millis(5)),
    )
    .unwrap();
    let mut pend = Vec::new();
    for i in 0..600u32 {
        pend.push(log.submit(format!("event {i}").as_bytes()).unwrap());
    }
    for p in pend {
        p.wait().unwrap();
    }
    let size = log.checkpoint().size();
    assert_eq!(size, 600);
    let ev = Evidence::new(
        b"event 300",
        300,
        log.prove_inclusion(300, size).unwrap(),
        &log.checkpoint_note(),
    );
    let text = ev.to_text();
    assert!(text.starts_with("c2sp.org/tlog-proof@v1\nextra "));

    // Offline: only the vkey text.
    let vk = VerifierKey::parse(&vkey_text).unwrap();
    let parsed = Evidence::parse(text.as_bytes()).unwrap();
    assert_eq!(parsed, ev);
    let v = parsed
        .verify(std::slice::from_ref(&vk), HashAlg::Sm3, None)
        .unwrap();
    assert_eq!((v.index, v.entry.as_slice()), (300, &b"event 300"[..]));
    // Wrong profile, wrong entry, wrong index, changed proof, changed checkpoint.
    assert!(
        parsed
            .verify(std::slice::from_ref(&vk), HashAlg::Sha256, None)
            .is_err()
    );
    assert!(
        parsed
            .verify(std::slice::from_ref(&vk), HashAlg::Sm3, Some(b"event 301"))
            .is_err()
    );
    let t = text.replace("index 300", "index 301");
    assert!(
        Evidence::parse(t.as_bytes())
            .unwrap()
            .verify(std::slice::from_ref(&vk), HashAlg::Sm3, None)
            .is_err()
    );
    let first_hash = base64::encode(&ev.proof()[0]);
    let mut flipped = ev.proof()[0];
    flipped[0] ^= 1;
    let t = text.replace(&first_hash, &base64::encode(&flipped));
    assert!(
        Evidence::parse(t.as_bytes())
            .unwrap()
            .verify(std::slice::from_ref(&vk), HashAlg::Sm3, None)
            .is_err()
    );
    let t = text.replace("\n600\n", "\n601\n");
    assert!(matches!(
        Evidence::parse(t.as_bytes()).unwrap().verify(
            std::slice::from_ref(&vk),
            HashAlg::Sm3,
            None
        ),
        Err(Error::BadSignature { .. })
    ));
    // Another key: not trusted.
    let other = NoteSigner::new(
        "yinzheng.test/log/sm3",
        PrivateKey::generate(KeyAlgorithm::Sm2).unwrap(),
    )
    .unwrap();
    assert!(matches!(
        parsed.verify(std::slice::from_ref(other.verifier()), HashAlg::Sm3, None),
        Err(Error::NoKnownSignature)
    ));
    // Malformed files are typed errors.
    for bad in [
        "",
        "c2sp.org/tlog-proof@v1\nindex 01\n\nx",
        "c2sp.org/tlog-proof@v2\nindex 1\n\nx",
        "c2sp.org/tlog-proof@v1\nindex 1\nAAAA\n\nx",
    ] {
        assert!(Evidence::parse(bad.as_bytes()).is_err(), "{bad:?}");
    }

    // Audit: the whole log recomputes; a changed entry is caught.
    log.close().unwrap();
    let tiles = Log::tiles_dir(dir.path());
    let rep = audit(&tiles, HashAlg::Sm3, std::slice::from_ref(&vk), None).unwrap();
    assert_eq!(rep.entries, 600);
    assert!(rep.tiles >= 3);
    let bundle = tiles.join("tile/entries/001");
    let mut b = std::fs::read(&bundle).unwrap();
    let pos = b.windows(9).position(|w| w == b"event 300").unwrap();
    b[pos] = b'E';
    std::fs::write(&bundle, b).unwrap();
    assert!(matches!(
        audit(&tiles, HashAlg::Sm3, &[vk], None),
        Err(Error::Mismatch(_))
    ));
}
