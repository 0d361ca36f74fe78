//! Receipts from callers and auditors (`yinzheng-receipt/1` JSON): parsing and
//! verification must refuse, never panic, whatever the bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use yinzheng_anchor::{Receipt, verify_receipt};

fuzz_target!(|data: &[u8]| {
    if let Ok(r) = Receipt::from_json(data) {
        let _ = verify_receipt(&r, &[]);
        let _ = r.to_json();
    }
});
