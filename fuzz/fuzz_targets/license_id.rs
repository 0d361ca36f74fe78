//! License identifiers (GB/T 36904) typed or scanned by callers.
//!
//! The body is `yinzheng_fuzz_targets::license_id::run`, whose seed corpus
//! (`fuzz/seeds/license_id/`) `cargo test --workspace` runs.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| yinzheng_fuzz_targets::license_id::run(data));
