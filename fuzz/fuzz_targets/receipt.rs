//! Receipts from callers and auditors (`yinzheng-receipt/1` JSON): parsing and
//! verification must refuse, never panic, whatever the bytes.
//!
//! The body is `yinzheng_fuzz_targets::receipt::run`, whose seed corpus
//! (`fuzz/seeds/receipt/`) `cargo test --workspace` runs.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| yinzheng_fuzz_targets::receipt::run(data));
