//! tlog-tiles path, entry bundle and hash tile parsing (yinzheng-anchor): no
//! panics, one spelling per tile path.
//!
//! The body is `yinzheng_fuzz_targets::anchor_tile_path::run`, whose seed corpus
//! (`fuzz/seeds/anchor_tile_path/`) `cargo test --workspace` runs.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| yinzheng_fuzz_targets::anchor_tile_path::run(data));
