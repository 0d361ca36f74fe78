//! GB/T 38540 / GM/T 0031 seals and seal signatures from untrusted files.
//!
//! The body is `yinzheng_fuzz_targets::seal::run`, whose seed corpus
//! (`fuzz/seeds/seal/`) `cargo test --workspace` runs.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| yinzheng_fuzz_targets::seal::run(data));
