//! GB/T 38540 / GM/T 0031 seals and seal signatures from untrusted files.
#![no_main]

use libfuzzer_sys::fuzz_target;
use yinzheng_seal::{Seal, SealSignature};

fuzz_target!(|data: &[u8]| {
    if let Ok(sig) = SealSignature::parse(data) {
        // The signed regions are sub-slices of the input.
        assert!(sig.to_sign_bytes().len() < data.len());
        let _ = (sig.seal().name(), sig.signing_time(), sig.warnings());
    }
    if let Ok(seal) = Seal::parse(data) {
        let _ = (seal.id(), seal.cert_list(), seal.picture().data.len(), seal.warnings());
    }
});
