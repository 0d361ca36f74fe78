//! CMS SignedData, time-stamp tokens and TSTInfo from untrusted sources
//! (PDF /Contents, .p7s files, OFD SignedValue.dat).

use yinzheng_cms::{SignedData, TstInfo, VerifyOptions, verify_time_stamp};

/// One fuzz input: must never panic (asserts are the properties checked).
pub fn run(data: &[u8]) {
    if let Ok(sd) = SignedData::parse(data) {
        for i in 0..sd.signers().len() {
            let _ = sd.verify_signer(i, Some(&[b"content"]), &VerifyOptions::default());
        }
    }
    let _ = TstInfo::parse(data);
    let _ = verify_time_stamp(data, b"x", &VerifyOptions::default());
}
