//! License identifiers (GB/T 36904) typed or scanned by callers.

use yinzheng_license::LicenseId;

/// One fuzz input: must never panic (asserts are the properties checked).
pub fn run(data: &[u8]) {
    if let Ok(s) = std::str::from_utf8(data)
        && let Ok(id) = LicenseId::parse(s)
    {
        assert_eq!(LicenseId::parse(&id.to_string()).ok(), Some(id));
    }
}
