//! The seal registry on the store the environment selects: SQLite by default,
//! PostgreSQL when `YINZHENG_STORE_TEST_POSTGRES` is set (scripts/test.sh runs
//! this file both ways).

#![allow(clippy::unwrap_used)]

use yinzheng_crypto::PrivateKey;
use yinzheng_pki::ParsedCert;
use yinzheng_seal::{Picture, SealBuilder, SealStatus, SealType};
use yinzheng_seal_registry::Registry;

fn interop(name: &str) -> Vec<u8> {
    let p = concat!(env!("CARGO_MANIFEST_DIR"), "/../../testdata/interop/ofdrw/");
    std::fs::read(format!("{p}{name}")).unwrap()
}

#[test]
fn register_transition_and_history_on_this_backend() {
    let pem = interop("SealBuilder.pem");
    let key = PrivateKey::from_bytes(&pem, None).unwrap();
    let cert = ParsedCert::load_all(&pem).unwrap().remove(0).der().to_vec();
    let picture = Picture {
        kind: "PNG".into(),
        data: b"\x89PNG\r\n\x1a\n".to_vec(),
        width_mm: 40,
        height_mm: 40,
    };
    let seal = SealBuilder::new("yz-reg-1", "示例单位公章", SealType::Official, picture)
        .signer_cert(&cert)
        .sign(&key, &cert)
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("seals").join("seals.db");
    let mut reg = Registry::open_in(&path, &yinzheng_tests::store_backend(&path)).unwrap();
    reg.register(&seal, "91350100M000100Y43", "op", 10).unwrap();
    let again = reg.register(&seal, "91350100M000100Y43", "op", 11);
    assert!(
        again
            .unwrap_err()
            .to_string()
            .contains("already registered"),
        "a seal id is registered once"
    );
    reg.transition("yz-reg-1", SealStatus::Suspended, "op", "audit", 20)
        .unwrap();
    let refused = reg
        .transition("yz-reg-1", SealStatus::Suspended, "op", "again", 21)
        .unwrap_err();
    assert!(
        refused.to_string().contains("cannot become suspended"),
        "{refused}"
    );
    reg.transition("yz-reg-1", SealStatus::Revoked, "op", "lost", 30)
        .unwrap();
    let final_ = reg
        .transition("yz-reg-1", SealStatus::Active, "op", "found", 40)
        .unwrap_err();
    assert!(
        final_.to_string().contains("revocation is final"),
        "{final_}"
    );

    // A second connection (another server on PostgreSQL) sees it all.
    let other = Registry::open_in(&path, &yinzheng_tests::store_backend(&path)).unwrap();
    let s = other.get("yz-reg-1").unwrap().unwrap();
    assert_eq!((s.status, s.status_at), (SealStatus::Revoked, 30));
    assert_eq!(s.der, seal.raw());
    let actions: Vec<(String, String)> = other
        .events("yz-reg-1")
        .unwrap()
        .into_iter()
        .map(|e| (e.action, e.reason))
        .collect();
    assert_eq!(
        actions,
        [
            ("made".to_string(), String::new()),
            ("suspended".into(), "audit".into()),
            ("revoked".into(), "lost".into())
        ]
    );
    assert_eq!(other.list().unwrap().len(), 1);
    assert!(other.get("nope").unwrap().is_none());
}
