//! tlog-tiles path, entry bundle and hash tile parsing (yinzheng-anchor): no
//! panics, one spelling per tile path.

use yinzheng_anchor::{TilePath, decode_bundle, decode_hash_tile, encode_bundle};

/// One fuzz input: must never panic (asserts are the properties checked).
pub fn run(data: &[u8]) {
    if let Ok(s) = std::str::from_utf8(data)
        && let Ok(p) = TilePath::parse(s)
    {
        assert_eq!(p.to_path_string(), s);
    }
    if let Some((&w, rest)) = data.split_first() {
        let width = usize::from(w) + 1;
        if let Ok(entries) = decode_bundle(rest, width) {
            assert_eq!(encode_bundle(&entries).expect("entries fit"), rest);
        }
        let _ = decode_hash_tile(rest, width);
    }
}
