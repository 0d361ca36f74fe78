//! License identifiers (GB/T 36904) typed or scanned by callers.
#![no_main]

use libfuzzer_sys::fuzz_target;
use yinzheng_license::LicenseId;

fuzz_target!(|data: &[u8]| {
    if let Ok(s) = std::str::from_utf8(data)
        && let Ok(id) = LicenseId::parse(s)
    {
        assert_eq!(LicenseId::parse(&id.to_string()).ok(), Some(id));
    }
});
