//! Private key files: PEM or DER, PKCS#8, encrypted PKCS#8 (PBES2), SEC1.
//!
//! The body is `yinzheng_fuzz_targets::private_key::run`, whose seed corpus
//! (`fuzz/seeds/private_key/`) `cargo test --workspace` runs.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| yinzheng_fuzz_targets::private_key::run(data));
