//! Evidence files (c2sp.org/tlog-proof@v1), entries and raw proof
//! verification (yinzheng-anchor): no panics on any input, re-encoding is
//! stable, and verification never accepts junk against a fixed tree.
//!
//! The body is `yinzheng_fuzz_targets::anchor_proof::run`, whose seed corpus
//! (`fuzz/seeds/anchor_proof/`) `cargo test --workspace` runs.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| yinzheng_fuzz_targets::anchor_proof::run(data));
