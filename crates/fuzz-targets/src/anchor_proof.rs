//! Evidence files (c2sp.org/tlog-proof@v1), entries and raw proof
//! verification (yinzheng-anchor): no panics on any input, re-encoding is
//! stable, and verification never accepts junk against a fixed tree.

use yinzheng_anchor::{
    Entry, Evidence, HashAlg, VerifierKey, verify_consistency, verify_inclusion,
};

const VKEY: &str = "example.com/log/testdata+33d7b496+AeHTu4Q3hEIMHNqc6fASMsq3rKNx280NI+oO5xCFkkSx";

/// One fuzz input: must never panic (asserts are the properties checked).
pub fn run(data: &[u8]) {
    if let Ok(ev) = Evidence::parse(data) {
        let again = Evidence::parse(ev.to_text().as_bytes()).expect("our text parses");
        assert_eq!(again, ev);
        let vk = VerifierKey::parse(VKEY).expect("published vkey");
        let _ = ev.verify(std::slice::from_ref(&vk), HashAlg::Sha256, None);
    }
    if let Ok(e) = Entry::decode(data) {
        assert_eq!(e.encode(), data);
    }
    // Raw proofs: 16 bytes of sizes, then 32-byte hashes.
    if data.len() >= 16 {
        let a = u64::from_be_bytes(data[..8].try_into().expect("8 bytes"));
        let b = u64::from_be_bytes(data[8..16].try_into().expect("8 bytes"));
        let hashes: Vec<[u8; 32]> = data[16..]
            .chunks_exact(32)
            .map(|c| c.try_into().expect("32 bytes"))
            .collect();
        if let Some((first, rest)) = hashes.split_first() {
            for h in [HashAlg::Sm3, HashAlg::Sha256] {
                let _ = verify_inclusion(h, first, a, b, rest, first);
                let _ = verify_consistency(h, a, b, first, first, rest);
            }
        }
    }
}
