//! SubjectPublicKeyInfo (PEM or DER) and algorithm identifiers.

use yinzheng_crypto::{PublicKey, SignatureAlgorithm};

/// One fuzz input: must never panic (asserts are the properties checked).
pub fn run(data: &[u8]) {
    if let Ok(key) = PublicKey::from_bytes(data) {
        let again = PublicKey::from_spki_der(&key.to_spki_der()).expect("our SPKI reloads");
        assert_eq!(again, key);
    }
    let _ = SignatureAlgorithm::from_algorithm_identifier_der(data);
}
