//! Receipts from callers and auditors (`yinzheng-receipt/1` JSON): parsing and
//! verification must refuse, never panic, whatever the bytes.

use yinzheng_anchor::{Receipt, verify_receipt};

/// One fuzz input: must never panic (asserts are the properties checked).
pub fn run(data: &[u8]) {
    if let Ok(r) = Receipt::from_json(data) {
        let _ = verify_receipt(&r, &[]);
        let _ = r.to_json();
    }
}
