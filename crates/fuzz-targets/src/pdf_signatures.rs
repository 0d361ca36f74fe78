//! PDF signature extraction, the document security store reader and the
//! modification check never panic on malformed input, and a file the
//! verifier reads in part lists exactly what the file parsed whole lists.

use yinzheng_document::pdf_reading;

/// One fuzz input: must never panic (asserts are the properties checked).
pub fn run(data: &[u8]) {
    if let Some(in_part) = pdf_reading::in_part(data) {
        let whole = pdf_reading::whole(data);
        match (&in_part, &whole) {
            (Ok(a), Ok(b)) => assert_eq!(a, b, "read in part and parsed whole differ"),
            (Err(_), Err(_)) => {}
            // The whole parse may fail on what the partial read never
            // touches (a decompression bomb or a parser failure in an object
            // nothing leads to): not a different listing.
            (Ok(_), Err(_)) => {}
            _ => panic!("read in part: {in_part:?}; parsed whole: {whole:?}"),
        }
    }
    let _ = yinzheng_document::pdf_dss(data);
    if let Ok(sigs) = yinzheng_document::pdf_signatures(data) {
        for sig in &sigs {
            let _ = yinzheng_document::signed_ranges(data, sig);
            let _ = yinzheng_document::modifications_after(data, sig);
        }
    }
}
