//! X.509 objects from untrusted sources: certificates (PEM/DER chains), CRLs,
//! PKCS#10 requests and OCSP requests.
//!
//! The body is `yinzheng_fuzz_targets::pki_objects::run`, whose seed corpus
//! (`fuzz/seeds/pki_objects/`) `cargo test --workspace` runs.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| yinzheng_fuzz_targets::pki_objects::run(data));
