//! CSV files handed to `yinzheng license import`.
//!
//! The body is `yinzheng_fuzz_targets::license_csv::run`, whose seed corpus
//! (`fuzz/seeds/license_csv/`) `cargo test --workspace` runs.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| yinzheng_fuzz_targets::license_csv::run(data));
