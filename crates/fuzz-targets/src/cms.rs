//! CMS SignedData, time-stamp tokens, TSTInfo and RFC 4998 evidence
//! records from untrusted sources (PDF /Contents, .p7s files, OFD
//! SignedValue.dat, archive packages).

use yinzheng_cms::{EvidenceRecord, SignedData, TstInfo, VerifyOptions, verify_time_stamp};

/// One fuzz input: must never panic (asserts are the properties checked).
pub fn run(data: &[u8]) {
    if let Ok(sd) = SignedData::parse(data) {
        for i in 0..sd.signers().len() {
            let _ = sd.verify_signer(i, Some(&[b"content"]), &VerifyOptions::default());
        }
    }
    let _ = TstInfo::parse(data);
    let _ = verify_time_stamp(data, b"x", &VerifyOptions::default());
    // RFC 4998 evidence records (archive packages, renewed proofs).
    if let Ok(er) = EvidenceRecord::parse(data) {
        let _ = er.verify(b"content", &VerifyOptions::default());
        assert_eq!(EvidenceRecord::parse(&er.to_der()).ok(), Some(er));
    }
}
