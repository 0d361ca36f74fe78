//! OFD packages (zip + XML) from untrusted sources.
//!
//! The body is `yinzheng_fuzz_targets::ofd::run`, whose seed corpus
//! (`fuzz/seeds/ofd/`) `cargo test --workspace` runs.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| yinzheng_fuzz_targets::ofd::run(data));
