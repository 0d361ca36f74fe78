//! PDF signature extraction and the modification check never panic on malformed input.
//!
//! The body is `yinzheng_fuzz_targets::pdf_signatures::run`, whose seed corpus
//! (`fuzz/seeds/pdf_signatures/`) `cargo test --workspace` runs.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| yinzheng_fuzz_targets::pdf_signatures::run(data));
