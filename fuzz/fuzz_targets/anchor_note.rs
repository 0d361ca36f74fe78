//! Signed-note, checkpoint and vkey parsing (yinzheng-anchor): no panics, and
//! whatever parses re-encodes to the same text.
//!
//! The body is `yinzheng_fuzz_targets::anchor_note::run`, whose seed corpus
//! (`fuzz/seeds/anchor_note/`) `cargo test --workspace` runs.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| yinzheng_fuzz_targets::anchor_note::run(data));
