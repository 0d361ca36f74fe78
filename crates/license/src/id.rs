//! License identifiers (GB/T 36904): `1.2.156.3005.2.<type>.<issuer>.<serial>.<version>.<check>`.

use crate::error::{Error, Result};

/// The fixed OID prefix of every license identifier.
pub const PREFIX: &str = "1.2.156.3005.2";
const ALPHABET: &[u8; 36] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";

/// A parsed, checked license identifier.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct LicenseId {
    type_code: String,
    issuer_code: String,
    serial: String,
    version: u16,
}

fn value(c: u8) -> Option<u32> {
    match c {
        b'0'..=b'9' => Some((c - b'0') as u32),
        b'A'..=b'Z' => Some((c - b'A') as u32 + 10),
        _ => None,
    }
}

/// ISO/IEC 7064 MOD 37,36 check character over `[0-9A-Z]*` (upper case).
pub fn check_character(body: &str) -> Result<char> {
    let mut p: u32 = 36;
    for (i, c) in body.bytes().enumerate() {
        let v = value(c).ok_or_else(|| {
            Error::Identifier(format!(
                "character {:?} at position {} is not 0-9 or A-Z",
                c as char,
                i + 1
            ))
        })?;
        let mut t = (p + v) % 36;
        if t == 0 {
            t = 36;
        }
        p = (2 * t) % 37;
    }
    Ok(ALPHABET[((37 - p) % 36) as usize] as char)
}

fn check_segment(what: &str, s: &str, len: std::ops::RangeInclusive<usize>) -> Result<()> {
    if !len.contains(&s.len()) {
        let want = if len.start() == len.end() {
            format!("{}", len.start())
        } else {
            format!("{}–{}", len.start(), len.end())
        };
        return Err(Error::Identifier(format!(
            "{what} {s:?} has {} characters, expected {want}",
            s.len()
        )));
    }
    if let Some((i, c)) = s
        .char_indices()
        .find(|(_, c)| !c.is_ascii_digit() && !c.is_ascii_uppercase())
    {
        return Err(Error::Identifier(format!(
            "{what} {s:?}: character {c:?} at position {} is not 0-9 or A-Z",
            i + 1
        )));
    }
    Ok(())
}

impl LicenseId {
    /// Build an identifier. `type_code` is the defining ministry's USCC plus a
    /// 3-digit type number (21 characters), `issuer_code` the issuing
    /// authority's USCC (18, check character verified), `serial` 1–32 of
    /// `[0-9A-Z]`, `version` 1–999.
    pub fn new(type_code: &str, issuer_code: &str, serial: &str, version: u16) -> Result<Self> {
        let (type_code, issuer_code, serial) = (
            type_code.to_ascii_uppercase(),
            issuer_code.to_ascii_uppercase(),
            serial.to_ascii_uppercase(),
        );
        check_segment("type code", &type_code, 21..=21)?;
        if !type_code[18..].bytes().all(|b| b.is_ascii_digit()) {
            return Err(Error::Identifier(format!(
                "type code {type_code:?}: the last 3 characters are the type number (digits)"
            )));
        }
        yinzheng_pki::ids::check_uscc(&type_code[..18]).map_err(|e| {
            Error::Identifier(format!("type code {type_code:?}: defining authority {e}"))
        })?;
        check_segment("issuing authority code", &issuer_code, 18..=18)?;
        yinzheng_pki::ids::check_uscc(&issuer_code)
            .map_err(|e| Error::Identifier(format!("issuing authority code: {e}")))?;
        check_segment("serial", &serial, 1..=32)?;
        if !(1..=999).contains(&version) {
            return Err(Error::Identifier(format!(
                "version {version} is outside 001–999"
            )));
        }
        Ok(LicenseId {
            type_code,
            issuer_code,
            serial,
            version,
        })
    }

    /// Parse an identifier (lower case accepted), checking every segment and
    /// the check character; errors say which segment is wrong and why.
    pub fn parse(text: &str) -> Result<Self> {
        let text = text.trim();
        if text.len() > 128 {
            return Err(Error::Identifier("longer than any identifier".into()));
        }
        let upper = text.to_ascii_uppercase();
        let rest = upper
            .strip_prefix(PREFIX)
            .and_then(|r| r.strip_prefix('.'))
            .ok_or_else(|| Error::Identifier(format!("{text:?} does not start with {PREFIX}.")))?;
        let segs: Vec<&str> = rest.split('.').collect();
        if segs.len() != 5 {
            return Err(Error::Identifier(format!(
                "{text:?} has {} segments after {PREFIX}, expected 5 (type.issuer.serial.version.check)",
                segs.len()
            )));
        }
        check_segment("version", segs[3], 3..=3)?;
        let version: u16 = segs[3]
            .parse()
            .map_err(|_| Error::Identifier(format!("version {:?} is not 3 digits", segs[3])))?;
        let id = LicenseId::new(segs[0], segs[1], segs[2], version)?;
        check_segment("check character", segs[4], 1..=1)?;
        let want = id.check();
        if segs[4] != want.to_string() {
            return Err(Error::Identifier(format!(
                "check character is {:?} but the identifier computes to {:?}",
                segs[4],
                want.to_string()
            )));
        }
        Ok(id)
    }

    /// Type code (21 characters).
    pub fn type_code(&self) -> &str {
        &self.type_code
    }

    /// Issuing authority's USCC.
    pub fn issuer_code(&self) -> &str {
        &self.issuer_code
    }

    /// Serial segment.
    pub fn serial(&self) -> &str {
        &self.serial
    }

    /// Version (1-based).
    pub fn version(&self) -> u16 {
        self.version
    }

    /// The same license at another version (a change or renewal).
    pub fn with_version(&self, version: u16) -> Result<Self> {
        LicenseId::new(&self.type_code, &self.issuer_code, &self.serial, version)
    }

    fn check(&self) -> char {
        let body = format!(
            "{}{}{}{:03}",
            self.type_code, self.issuer_code, self.serial, self.version
        );
        // Segments are checked to be [0-9A-Z]; the fallback never shows.
        check_character(&body).unwrap_or('0')
    }
}

impl std::fmt::Display for LicenseId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{PREFIX}.{}.{}.{}.{:03}.{}",
            self.type_code,
            self.issuer_code,
            self.serial,
            self.version,
            self.check()
        )
    }
}

impl std::str::FromStr for LicenseId {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        LicenseId::parse(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_published_samples() {
        for s in [
            "1.2.156.3005.2.11100000000013338W011.11430000006122244L.20230000403.001.U",
            "1.2.156.3005.2.11100000000013338W032.11220000013544541J.2430599.001.F",
            "1.2.156.3005.2.11100000000013338W009.11330105002500287C.2025052201.002.0",
        ] {
            let id = LicenseId::parse(s).unwrap();
            assert_eq!(id.to_string(), s);
            assert_eq!(LicenseId::parse(&s.to_lowercase()).unwrap(), id);
        }
        let bad = "1.2.156.3005.2.11100000000013661B006.113700000045046442.209FA4E88F9E4C878F3E9BED2CE7EA49.001.M";
        let e = LicenseId::parse(bad).unwrap_err().to_string();
        assert!(e.contains("\"D\""), "{e}");
    }

    #[test]
    fn precise_errors() {
        let ok = "1.2.156.3005.2.11100000000013338W011.11430000006122244L.20230000403.001.U";
        for (bad, needle) in [
            ("1.2.156.3005.3.x", "does not start"),
            (&ok.replace(".001.", ".1."), "version"),
            (&ok.replace(".20230000403.", ".2023-0403."), "serial"),
            (
                &ok.replace("11430000006122244L", "11430000006122244"),
                "issuing authority code",
            ),
            (
                &ok.replace("11430000006122244L", "11430000006122245L"),
                "issuing authority code",
            ),
            (&ok.replace("W011", "W01"), "type code"),
            (&format!("{ok}.X"), "segments"),
            (&ok.replace(".001.", ".000."), "version"),
        ] {
            let e = LicenseId::parse(bad).unwrap_err().to_string();
            assert!(e.contains(needle), "{bad}: {e}");
        }
    }

    #[test]
    fn versions_change_the_check_character() {
        let id = LicenseId::new(
            "11100000000013338W011",
            "11430000006122244L",
            "20230000403",
            1,
        )
        .unwrap();
        let v2 = id.with_version(2).unwrap();
        assert_ne!(id.to_string(), v2.to_string());
        assert_eq!(LicenseId::parse(&v2.to_string()).unwrap().version(), 2);
    }
}
