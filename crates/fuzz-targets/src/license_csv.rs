//! CSV files handed to `yinzheng license import`.

/// One fuzz input: must never panic (asserts are the properties checked).
pub fn run(data: &[u8]) {
    if let Ok(text) = std::str::from_utf8(data)
        && let Ok(records) = yinzheng_license::parse_csv(text)
    {
        for r in records {
            assert!(r.fields.len() <= yinzheng_license::MAX_CSV_FIELDS);
        }
    }
}
