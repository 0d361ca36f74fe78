//! OFD packages (zip + XML) from untrusted sources.
#![no_main]

use libfuzzer_sys::fuzz_target;
use yinzheng_document::OfdPackage;

fuzz_target!(|data: &[u8]| {
    if let Ok(pkg) = OfdPackage::read(data) {
        let _ = pkg.signatures();
    }
});
