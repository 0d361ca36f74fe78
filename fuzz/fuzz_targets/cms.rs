//! CMS SignedData, time-stamp tokens and TSTInfo from untrusted sources
//! (PDF /Contents, .p7s files, OFD SignedValue.dat).
//!
//! The body is `yinzheng_fuzz_targets::cms::run`, whose seed corpus
//! (`fuzz/seeds/cms/`) `cargo test --workspace` runs.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| yinzheng_fuzz_targets::cms::run(data));
