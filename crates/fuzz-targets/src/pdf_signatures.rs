//! PDF signature extraction and the modification check never panic on malformed input.

/// One fuzz input: must never panic (asserts are the properties checked).
pub fn run(data: &[u8]) {
    if let Ok(sigs) = yinzheng_document::pdf_signatures(data) {
        for sig in &sigs {
            let _ = yinzheng_document::signed_ranges(data, sig);
            let _ = yinzheng_document::modifications_after(data, sig);
        }
    }
}
