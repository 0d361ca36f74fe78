//! OFD packages (zip + XML) from untrusted sources.

use yinzheng_document::OfdPackage;

/// One fuzz input: must never panic (asserts are the properties checked).
pub fn run(data: &[u8]) {
    if let Ok(pkg) = OfdPackage::read(data) {
        let _ = pkg.signatures();
    }
}
