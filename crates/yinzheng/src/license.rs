//! E-license (电子证照) helpers: identifiers, holder codes, license files.

use crate::Trust;
use crate::error::{Error, Result};
use yinzheng_license::LicenseId;
use yinzheng_pki::VerificationReport;

/// Check a unified social credit code (统一社会信用代码, GB 32100): 18
/// characters, the registration authority and kind, and the check character.
///
/// ```
/// assert!(yinzheng::check_uscc("91350100M000100Y43").is_ok());
/// assert!(yinzheng::check_uscc("91350100M000100Y44").is_err());
/// ```
pub fn check_uscc(code: &str) -> Result<()> {
    yinzheng_pki::ids::check_uscc(code).map_err(Error::Identifier)
}

/// Check a citizen identity number (公民身份号码, GB 11643): 18 characters,
/// the date of birth and the ISO 7064 MOD 11-2 check character.
///
/// ```
/// assert!(yinzheng::check_citizen_id("11010519491231002X").is_ok());
/// assert!(yinzheng::check_citizen_id("110105194912310021").is_err());
/// ```
pub fn check_citizen_id(id: &str) -> Result<()> {
    yinzheng_pki::ids::check_citizen_id(id).map_err(|e| Error::Format(format!("citizen ID: {e}")))
}

/// What checking a license file found: the verification report of the
/// sealed document and, when the document verifies, the license identifier
/// it carries.
#[derive(Clone, Debug)]
pub struct LicenseFileCheck {
    report: VerificationReport,
    id: Option<LicenseId>,
}

impl LicenseFileCheck {
    /// Whether the file's seals verify (TOTAL_PASSED) and it names a valid
    /// license identifier.
    pub fn passed(&self) -> bool {
        self.report.passed() && self.id.is_some()
    }

    /// The identifier found in the signed content, only when the document
    /// verifies (an identifier in a forged file is never returned).
    pub fn id(&self) -> Option<&LicenseId> {
        self.id.as_ref()
    }

    /// The document's verification report.
    pub fn report(&self) -> &VerificationReport {
        &self.report
    }
}

impl Trust {
    /// Check a license file (the sealed OFD master or PDF copy that
    /// `yinzheng license issue` writes): verify the document as
    /// [`Trust::verify`] does, then read the GB/T 36904 identifier from
    /// signed content — the OFD's `DocID` in `OFD.xml` (a part the seal's
    /// References cover), or the PDF signature's `/Reason` (inside the signed
    /// byte range).
    ///
    /// This says the file is genuine and unaltered; whether the license is
    /// still valid (not revoked, suspended or superseded) is the issuing
    /// registry's answer.
    pub fn check_license_file(&self, bytes: &[u8]) -> Result<LicenseFileCheck> {
        use yinzheng_document::Format;
        let format = match Format::sniff(bytes) {
            Some(f @ (Format::Pdf | Format::Ofd)) => f,
            _ => {
                return Err(Error::Format(
                    "a license file is a PDF or an OFD package".into(),
                ));
            }
        };
        let report = self
            .context()
            .verify_as(format, bytes, &Default::default())?;
        let id = if format == Format::Pdf {
            yinzheng_document::pdf_signatures(bytes)?
                .iter()
                .filter(|s| s.byte_range_ok)
                .filter_map(|s| s.reason.as_deref())
                .find_map(find_id)
        } else {
            let pkg = yinzheng_document::OfdPackage::read(bytes)?;
            let covered = pkg
                .signatures()?
                .iter()
                .any(|s| s.references.iter().any(|(p, _)| p == "OFD.xml"));
            if covered {
                pkg.part("OFD.xml")
                    .and_then(|x| std::str::from_utf8(x).ok())
                    .and_then(|x| between(x, "DocID>", "</"))
                    .and_then(find_id)
            } else {
                None
            }
        };
        let id = if report.passed() { id } else { None };
        Ok(LicenseFileCheck { report, id })
    }
}

/// The text between the first `open` and the next `close`.
fn between<'a>(s: &'a str, open: &str, close: &str) -> Option<&'a str> {
    let start = s.find(open)? + open.len();
    let len = s[start..].find(close)?;
    Some(&s[start..start + len])
}

/// The first word of `text` that parses as a license identifier.
fn find_id(text: &str) -> Option<LicenseId> {
    text.split(|c: char| c.is_whitespace() || c == '<' || c == '>')
        .find_map(|w| LicenseId::parse(w).ok())
}
