//! Signed-note, checkpoint and vkey parsing (yinzheng-anchor): no panics, and
//! whatever parses re-encodes to the same text.

use yinzheng_anchor::{Checkpoint, Note, SignedCheckpoint, VerifierKey};

const VKEY: &str = "example.com/log/testdata+33d7b496+AeHTu4Q3hEIMHNqc6fASMsq3rKNx280NI+oO5xCFkkSx";

/// One fuzz input: must never panic (asserts are the properties checked).
pub fn run(data: &[u8]) {
    if let Ok(n) = Note::parse(data)
        && let Ok(c) = Checkpoint::parse(n.text())
    {
        assert_eq!(c.to_text(), n.text());
    }
    let vk = VerifierKey::parse(VKEY).expect("published vkey");
    let _ = SignedCheckpoint::open(data, std::slice::from_ref(&vk), None);
    if let Ok(s) = std::str::from_utf8(data)
        && let Ok(k) = VerifierKey::parse(s)
    {
        assert_eq!(VerifierKey::parse(&k.to_string()).expect("re-parses"), k);
    }
}
