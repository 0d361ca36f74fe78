//! GB/T 38540 / GM/T 0031 seals and seal signatures from untrusted files.

use yinzheng_seal::{Seal, SealSignature};

/// One fuzz input: must never panic (asserts are the properties checked).
pub fn run(data: &[u8]) {
    if let Ok(sig) = SealSignature::parse(data) {
        // The signed regions are sub-slices of the input.
        assert!(sig.to_sign_bytes().len() < data.len());
        let _ = (sig.seal().name(), sig.signing_time(), sig.warnings());
    }
    if let Ok(seal) = Seal::parse(data) {
        let _ = (
            seal.id(),
            seal.cert_list(),
            seal.picture().data.len(),
            seal.warnings(),
        );
    }
}
