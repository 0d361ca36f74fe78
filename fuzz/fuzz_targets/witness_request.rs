//! A witness's `add-checkpoint` requests (c2sp.org/tlog-witness): parsing and
//! the whole check must refuse, never panic, whatever the bytes.
//!
//! The body is `yinzheng_fuzz_targets::witness_request::run`, whose seed
//! corpus (`fuzz/seeds/witness_request/`) `cargo test --workspace` runs.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| yinzheng_fuzz_targets::witness_request::run(data));
