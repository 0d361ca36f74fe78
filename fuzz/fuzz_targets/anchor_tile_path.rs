//! tlog-tiles path, entry bundle and hash tile parsing (yinzheng-anchor): no
//! panics, one spelling per tile path.
#![no_main]

use libfuzzer_sys::fuzz_target;
use yinzheng_anchor::{TilePath, decode_bundle, decode_hash_tile, encode_bundle};

fuzz_target!(|data: &[u8]| {
    if let Ok(s) = std::str::from_utf8(data) {
        if let Ok(p) = TilePath::parse(s) {
            assert_eq!(p.to_path_string(), s);
        }
    }
    if let Some((&w, rest)) = data.split_first() {
        let width = usize::from(w) + 1;
        if let Ok(entries) = decode_bundle(rest, width) {
            assert_eq!(encode_bundle(&entries).expect("entries fit"), rest);
        }
        let _ = decode_hash_tile(rest, width);
    }
});
