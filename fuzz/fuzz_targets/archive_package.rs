//! Archive packages and evidence bundles read by the auditor never panic.
//!
//! The body is `yinzheng_fuzz_targets::archive_package::run`, whose seed
//! corpus (`fuzz/seeds/archive_package/`) `cargo test --workspace` runs.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| yinzheng_fuzz_targets::archive_package::run(data));
