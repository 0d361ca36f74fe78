//! A witness's `add-checkpoint` requests from anyone on the network
//! (yinzheng-witness): parsing and the whole check must refuse, never panic,
//! whatever the bytes, and a parsed request re-encodes to the same request.

use std::sync::{Arc, OnceLock};
use yinzheng_anchor::{Cosigner, HashAlg, VerifierKey};
use yinzheng_crypto::{KeyAlgorithm, PrivateKey};
use yinzheng_witness::{AddCheckpoint, Witness, WitnessedLog};

/// The Tessera test log (its checkpoint is a seed).
const VKEY: &str = "example.com/log/testdata+33d7b496+AeHTu4Q3hEIMHNqc6fASMsq3rKNx280NI+oO5xCFkkSx";

fn witness() -> &'static Witness {
    static W: OnceLock<Witness> = OnceLock::new();
    W.get_or_init(|| {
        let dir =
            std::env::temp_dir().join(format!("yinzheng-fuzz-witness-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        Witness::create_state(&dir).expect("a witness state in the temporary directory");
        let key = PrivateKey::generate(KeyAlgorithm::Ed25519).expect("a key");
        let cosigner = Cosigner::new("fuzz.example/w", Arc::new(key)).expect("a cosigner");
        Witness::open(
            &dir,
            vec![cosigner],
            vec![WitnessedLog {
                origin: "example.com/log/testdata".into(),
                keys: vec![VerifierKey::parse(VKEY).expect("published vkey")],
                hash: HashAlg::Sha256,
            }],
        )
        .expect("a witness in the temporary directory")
    })
}

/// One fuzz input: must never panic (asserts are the properties checked).
pub fn run(data: &[u8]) {
    if let Ok(r) = AddCheckpoint::parse(data) {
        assert_eq!(
            AddCheckpoint::parse(r.to_body().as_bytes()).expect("re-parses"),
            r
        );
    }
    match witness().add_checkpoint(data) {
        Ok(lines) => assert!(lines.starts_with('\u{2014}'), "{lines}"),
        Err(e) => assert!(
            [400, 403, 404, 409, 422].contains(&e.status()),
            "{e}: {}",
            e.status()
        ),
    }
}
