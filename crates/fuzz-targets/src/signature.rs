//! SM2 signature decoding (DER, lenient DER, raw r‖s) and verification of whatever decodes.

use std::sync::OnceLock;
use yinzheng_crypto::{Sm2PrivateKey, Sm2Signature};

fn key() -> &'static Sm2PrivateKey {
    static KEY: OnceLock<Sm2PrivateKey> = OnceLock::new();
    KEY.get_or_init(|| Sm2PrivateKey::from_bytes(&[7u8; 32]).expect("valid scalar"))
}

/// One fuzz input: must never panic (asserts are the properties checked).
pub fn run(data: &[u8]) {
    if let Ok(sig) = Sm2Signature::parse(data) {
        // Re-encoding is strict and must decode to the same value.
        let again = Sm2Signature::from_der(&sig.to_der()).expect("our DER decodes");
        assert_eq!(again.to_raw(), sig.to_raw());
        assert!(again.deviations().is_empty());
        let _ = key().public_key().verify_signature(b"fuzz", &sig);
    }
}
