//! Benchmarks live in `crypto.rs` beside this file; run them with
//! `cargo bench -p yinzheng-benches`. See docs/PERFORMANCE.md for the figures.
#![forbid(unsafe_code)]
