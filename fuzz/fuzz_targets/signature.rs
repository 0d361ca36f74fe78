//! SM2 signature decoding (DER, lenient DER, raw r‖s) and verification of whatever decodes.
//!
//! The body is `yinzheng_fuzz_targets::signature::run`, whose seed corpus
//! (`fuzz/seeds/signature/`) `cargo test --workspace` runs.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| yinzheng_fuzz_targets::signature::run(data));
