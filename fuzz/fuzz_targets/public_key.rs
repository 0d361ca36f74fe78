//! SubjectPublicKeyInfo (PEM or DER) and algorithm identifiers.
#![no_main]

use libfuzzer_sys::fuzz_target;
use yinzheng_crypto::{PublicKey, SignatureAlgorithm};

fuzz_target!(|data: &[u8]| {
    if let Ok(key) = PublicKey::from_bytes(data) {
        let again = PublicKey::from_spki_der(&key.to_spki_der()).expect("our SPKI reloads");
        assert_eq!(again, key);
    }
    let _ = SignatureAlgorithm::from_algorithm_identifier_der(data);
});
