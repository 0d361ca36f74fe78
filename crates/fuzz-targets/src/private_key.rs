//! Private key files: PEM or DER, PKCS#8, encrypted PKCS#8 (PBES2), SEC1.

use yinzheng_crypto::PrivateKey;

/// One fuzz input: must never panic (asserts are the properties checked).
pub fn run(data: &[u8]) {
    // A short passphrase keeps PBKDF2 cheap only when the file asks for few
    // iterations; MAX_ITERATIONS bounds the worst case.
    if let Ok(key) = PrivateKey::from_bytes(data, Some(b"fuzz")) {
        let der = key.to_pkcs8_der();
        let again = PrivateKey::from_bytes(&der, None).expect("our PKCS#8 reloads");
        assert_eq!(again.public_key(), key.public_key());
    }
}
