//! SubjectPublicKeyInfo (PEM or DER) and algorithm identifiers.
//!
//! The body is `yinzheng_fuzz_targets::public_key::run`, whose seed corpus
//! (`fuzz/seeds/public_key/`) `cargo test --workspace` runs.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| yinzheng_fuzz_targets::public_key::run(data));
