//! CSV files handed to `yinzheng license import`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data)
        && let Ok(records) = yinzheng_license::parse_csv(text)
    {
        for r in records {
            assert!(r.fields.len() <= yinzheng_license::MAX_CSV_FIELDS);
        }
    }
});
