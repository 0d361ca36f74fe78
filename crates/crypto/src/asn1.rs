//! A lenient DER reader for files made by other implementations.
//!
//! Real seal files and vendor CMS are not strict DER (formats-eseal.md):
//! non-minimal lengths, explicit DEFAULT values, BIT STRINGs with odd unused
//! bits, "negative" INTEGERs. [`Reader`] walks tag-length-value triples over the
//! received bytes, records every tolerated deviation as a warning, and hands out
//! byte ranges so that signatures are checked over exactly what was received.
//! Indefinite lengths and multi-byte tags are refused.

use std::ops::Range;

/// One DER TLV with a minimal definite length: the small writer the crates use
/// where typed `der` structures do not fit (raw OIDs with 128-bit arcs, seals,
/// CMS signed attributes that must keep their exact bytes).
pub fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    let n = content.len();
    if n < 0x80 {
        out.push(n as u8);
    } else {
        let b: Vec<u8> = n
            .to_be_bytes()
            .into_iter()
            .skip_while(|&x| x == 0)
            .collect();
        out.push(0x80 | b.len() as u8);
        out.extend(b);
    }
    out.extend_from_slice(content);
    out
}

/// The header of a TLV: how long the tag and length octets are, how long the
/// value is, and whether the length was written in its shortest form.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Header {
    /// Tag and length octets.
    pub header_len: usize,
    /// The value's length as the length octets give it (not checked against the buffer).
    pub content_len: usize,
    /// False for a non-minimal length encoding (a BER leniency).
    pub minimal: bool,
}

/// Why the length octets of a TLV could not be read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LengthFault {
    /// The buffer ends before the length octets.
    Missing,
    /// `0x80`: indefinite length (BER), not supported.
    Indefinite,
    /// More length octets than the 4 any object here needs (the count given).
    TooLong(usize),
    /// The buffer ends inside the length octets.
    Truncated,
}

impl std::fmt::Display for LengthFault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LengthFault::Missing => f.write_str("truncated: no length"),
            LengthFault::Indefinite => f.write_str("indefinite length (BER) is not supported"),
            LengthFault::TooLong(n) => write!(f, "length of {n} bytes"),
            LengthFault::Truncated => f.write_str("truncated length"),
        }
    }
}

/// The one definite-length decoder of the workspace: the header of the TLV
/// whose (single-byte) tag is at `pos`, reading no byte at or after `limit`.
pub fn header(buf: &[u8], pos: usize, limit: usize) -> core::result::Result<Header, LengthFault> {
    let limit = limit.min(buf.len());
    let byte = |i: usize| buf.get(i).copied().filter(|_| i < limit);
    let first = byte(pos + 1).ok_or(LengthFault::Missing)?;
    if first < 0x80 {
        return Ok(Header {
            header_len: 2,
            content_len: usize::from(first),
            minimal: true,
        });
    }
    if first == 0x80 {
        return Err(LengthFault::Indefinite);
    }
    let n = usize::from(first & 0x7f);
    if n > 4 {
        return Err(LengthFault::TooLong(n));
    }
    let mut len = 0usize;
    for i in 0..n {
        len = (len << 8) | usize::from(byte(pos + 2 + i).ok_or(LengthFault::Truncated)?);
    }
    Ok(Header {
        header_len: 2 + n,
        content_len: len,
        minimal: !(len < 0x80 || (n > 1 && len >> (8 * (n - 1)) == 0)),
    })
}

/// Contents octets of a dotted OBJECT IDENTIFIER. Arcs up to 128 bits are
/// supported, so UUID OIDs (`2.25.<uuid>`, X.667) work, which `der` refuses.
/// None when `dotted` is not an OID.
pub fn oid_to_der(dotted: &str) -> Option<Vec<u8>> {
    let arcs: Vec<u128> = dotted
        .split('.')
        .map(|a| {
            (!a.is_empty()
                && a.bytes().all(|b| b.is_ascii_digit())
                && (a == "0" || !a.starts_with('0')))
            .then(|| a.parse().ok())
            .flatten()
        })
        .collect::<Option<_>>()?;
    if arcs.len() < 2 || arcs[0] > 2 || (arcs[0] < 2 && arcs[1] > 39) {
        return None;
    }
    let mut out = Vec::new();
    let first = arcs[0].checked_mul(40)?.checked_add(arcs[1])?;
    for arc in std::iter::once(first).chain(arcs[2..].iter().copied()) {
        let mut groups = vec![(arc & 0x7f) as u8];
        let mut rest = arc >> 7;
        while rest > 0 {
            groups.push((rest & 0x7f) as u8 | 0x80);
            rest >>= 7;
        }
        out.extend(groups.iter().rev());
    }
    Some(out)
}

/// Dotted form of OBJECT IDENTIFIER contents octets (arcs up to 128 bits).
/// None when malformed (empty, truncated, non-minimal arc, arc too large).
pub fn oid_from_der(bytes: &[u8]) -> Option<String> {
    let mut arcs: Vec<u128> = Vec::new();
    let mut cur: u128 = 0;
    let mut in_arc = false;
    for &b in bytes {
        if !in_arc && b == 0x80 {
            return None; // non-minimal
        }
        if cur >> 121 != 0 {
            return None;
        }
        cur = (cur << 7) | (b & 0x7f) as u128;
        in_arc = b & 0x80 != 0;
        if !in_arc {
            arcs.push(cur);
            cur = 0;
        }
    }
    if in_arc || arcs.is_empty() {
        return None;
    }
    let first = arcs[0];
    let (a, b) = if first < 80 {
        (first / 40, first % 40)
    } else {
        (2, first - 80)
    };
    let mut s = format!("{a}.{b}");
    for arc in &arcs[1..] {
        s.push('.');
        s.push_str(&arc.to_string());
    }
    Some(s)
}

/// Why bytes could not be read as the expected structure (what, where, why).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("malformed {what} at byte {offset}: {reason}")]
pub struct Asn1Error {
    /// What was being read.
    pub what: String,
    /// Byte offset of the element that failed.
    pub offset: usize,
    /// Why.
    pub reason: String,
}

struct Error;

impl Error {
    fn format(what: &str, offset: usize, reason: impl ToString) -> Asn1Error {
        Asn1Error {
            what: what.to_string(),
            offset,
            reason: reason.to_string(),
        }
    }
}

type Result<T> = core::result::Result<T, Asn1Error>;

/// One TLV: tag byte and the byte ranges of the whole element and its value.
#[derive(Clone, Debug)]
pub struct Tlv {
    /// The (single-byte) tag.
    pub tag: u8,
    /// Tag, length and value.
    pub whole: Range<usize>,
    /// The value only.
    pub value: Range<usize>,
}

/// A reader over the received bytes that collects warnings.
pub struct Reader<'a> {
    /// The bytes being read.
    pub buf: &'a [u8],
    /// Deviations from DER tolerated so far (deduplicated).
    pub warnings: Vec<String>,
}

impl<'a> Reader<'a> {
    /// A reader over `buf` with no warnings yet.
    pub fn new(buf: &'a [u8]) -> Self {
        Reader {
            buf,
            warnings: Vec::new(),
        }
    }

    /// The TLV starting at `pos`, not beyond `limit`.
    pub fn tlv_at(&mut self, pos: usize, limit: usize, what: &str) -> Result<Tlv> {
        let tag = *self
            .buf
            .get(pos)
            .filter(|_| pos < limit)
            .ok_or_else(|| Error::format(what, pos, "truncated: no tag"))?;
        if tag & 0x1f == 0x1f {
            return Err(Error::format(
                what,
                pos,
                "multi-byte tags are not supported",
            ));
        }
        let h = header(self.buf, pos, limit).map_err(|f| Error::format(what, pos, f))?;
        if !h.minimal {
            self.warn(format!("{what}: non-minimal length encoding at byte {pos}"));
        }
        let (hdr, len) = (h.header_len, h.content_len);
        let start = pos + hdr;
        let end = start
            .checked_add(len)
            .filter(|&e| e <= limit)
            .ok_or_else(|| Error::format(what, pos, format!("length {len} runs past the end")))?;
        Ok(Tlv {
            tag,
            whole: pos..end,
            value: start..end,
        })
    }

    /// The children of a constructed TLV.
    pub fn children(&mut self, t: &Tlv, what: &str) -> Result<Vec<Tlv>> {
        let mut out = Vec::new();
        let mut pos = t.value.start;
        while pos < t.value.end {
            let c = self.tlv_at(pos, t.value.end, what)?;
            pos = c.whole.end;
            out.push(c);
            if out.len() > 10_000 {
                return Err(Error::format(what, pos, "too many elements"));
            }
        }
        Ok(out)
    }

    /// Expect `tag` on `t`.
    pub fn expect(&self, t: &Tlv, tag: u8, what: &str) -> Result<()> {
        if t.tag != tag {
            return Err(Error::format(
                what,
                t.whole.start,
                format!("expected tag 0x{tag:02x}, found 0x{:02x}", t.tag),
            ));
        }
        Ok(())
    }

    /// The value bytes of `t`.
    pub fn bytes(&self, t: &Tlv) -> &'a [u8] {
        &self.buf[t.value.clone()]
    }

    /// Tag, length and value bytes of `t`.
    pub fn whole(&self, t: &Tlv) -> &'a [u8] {
        &self.buf[t.whole.clone()]
    }

    /// Record a tolerated deviation (once).
    pub fn warn(&mut self, w: String) {
        if !self.warnings.contains(&w) {
            self.warnings.push(w);
        }
    }

    /// INTEGER read as unsigned big-endian (lenient about sign and padding).
    pub fn integer(&mut self, t: &Tlv, what: &str) -> Result<u64> {
        self.expect(t, 0x02, what)?;
        let b = self.bytes(t);
        if b.is_empty() {
            return Err(Error::format(what, t.whole.start, "empty INTEGER"));
        }
        if b[0] & 0x80 != 0 {
            self.warn(format!(
                "{what}: INTEGER with the high bit set read as unsigned"
            ));
        }
        let lead = b.iter().take_while(|&&x| x == 0).count();
        if lead > 1 || (lead == 1 && b.len() > 1 && b[1] & 0x80 == 0) {
            self.warn(format!("{what}: non-minimal INTEGER"));
        }
        let mag = &b[lead..];
        if mag.len() > 8 {
            return Err(Error::format(what, t.whole.start, "INTEGER too large"));
        }
        Ok(mag.iter().fold(0u64, |acc, x| (acc << 8) | *x as u64))
    }

    /// A string (IA5String, UTF8String, PrintableString…); invalid UTF-8 is kept lossily with a warning.
    pub fn string(&mut self, t: &Tlv, what: &str) -> Result<String> {
        if !matches!(t.tag, 0x0c | 0x13 | 0x16 | 0x14 | 0x1e | 0x04) {
            return Err(Error::format(
                what,
                t.whole.start,
                format!("expected a string, found tag 0x{:02x}", t.tag),
            ));
        }
        let b = self.bytes(t);
        match std::str::from_utf8(b) {
            Ok(s) => Ok(s.to_string()),
            Err(_) => {
                self.warn(format!("{what}: not valid UTF-8 (mojibake kept as is)"));
                Ok(String::from_utf8_lossy(b).into_owned())
            }
        }
    }

    /// BIT STRING contents (after the unused-bits byte). Non-zero unused bits are tolerated with a warning.
    pub fn bit_string(&mut self, t: &Tlv, what: &str) -> Result<&'a [u8]> {
        self.expect(t, 0x03, what)?;
        let b = self.bytes(t);
        let (&unused, rest) = b
            .split_first()
            .ok_or_else(|| Error::format(what, t.whole.start, "empty BIT STRING"))?;
        if unused != 0 {
            self.warn(format!(
                "{what}: BIT STRING declares {unused} unused bits (ignored)"
            ));
        }
        Ok(rest)
    }

    /// OBJECT IDENTIFIER in dotted form.
    pub fn oid(&mut self, t: &Tlv, what: &str) -> Result<String> {
        self.expect(t, 0x06, what)?;
        oid_from_der(self.bytes(t))
            .ok_or_else(|| Error::format(what, t.whole.start, "malformed OBJECT IDENTIFIER"))
    }

    /// GeneralizedTime or UTCTime, leniently: missing `Z`, fractions, or a 2-digit
    /// year inside a GeneralizedTime tag are accepted with a warning.
    pub fn time(&mut self, t: &Tlv, what: &str) -> Result<time::OffsetDateTime> {
        let s = match t.tag {
            0x18 | 0x17 => String::from_utf8_lossy(self.bytes(t)).into_owned(),
            // v1 timeInfo is a BIT STRING holding the text
            0x03 => String::from_utf8_lossy(self.bit_string(t, what)?).into_owned(),
            other => {
                return Err(Error::format(
                    what,
                    t.whole.start,
                    format!("expected a time, found tag 0x{other:02x}"),
                ));
            }
        };
        let mut digits: String = s.chars().take_while(|c| c.is_ascii_digit()).collect();
        if !s.ends_with('Z') {
            self.warn(format!("{what}: time {s:?} without Z read as UTC"));
        }
        let utc = t.tag == 0x17 || digits.len() == 12;
        if t.tag == 0x18 && digits.len() == 12 {
            self.warn(format!("{what}: 2-digit year inside a GeneralizedTime"));
        }
        if utc {
            let yy: i32 = digits.get(..2).and_then(|y| y.parse().ok()).unwrap_or(0);
            digits = format!("{}{digits}", if yy >= 50 { "19" } else { "20" });
        }
        if digits.len() < 14 {
            return Err(Error::format(
                what,
                t.whole.start,
                format!("unreadable time {s:?}"),
            ));
        }
        let n = |r: Range<usize>| digits[r].parse::<u32>().unwrap_or(0);
        let date = time::Date::from_calendar_date(
            n(0..4) as i32,
            time::Month::try_from(n(4..6) as u8)
                .map_err(|_| Error::format(what, t.whole.start, format!("bad month in {s:?}")))?,
            n(6..8) as u8,
        )
        .map_err(|_| Error::format(what, t.whole.start, format!("bad date in {s:?}")))?;
        let tm = time::Time::from_hms(n(8..10) as u8, n(10..12) as u8, n(12..14) as u8)
            .map_err(|_| Error::format(what, t.whole.start, format!("bad time of day in {s:?}")))?;
        Ok(time::PrimitiveDateTime::new(date, tm).assume_utc())
    }
}

/// Strict DER `SEQUENCE { r INTEGER, s INTEGER }` of two 256-bit unsigned
/// big-endian components: the signature value of SM2 and of ECDSA P-256
/// (X.509, CMS), from the raw `r‖s` a token or an engine produces.
pub fn ec_signature_der(r: &[u8; 32], s: &[u8; 32]) -> Vec<u8> {
    let r = der_unsigned(r);
    let s = der_unsigned(s);
    let len = r.len() + s.len();
    let mut out = Vec::with_capacity(len + 3);
    out.push(0x30);
    if len < 0x80 {
        out.push(len as u8);
    } else {
        out.push(0x81);
        out.push(len as u8);
    }
    out.extend_from_slice(&r);
    out.extend_from_slice(&s);
    out
}

/// A DER INTEGER of the unsigned big-endian `x`: leading zeros dropped, one
/// zero byte added when the high bit is set.
fn der_unsigned(x: &[u8; 32]) -> Vec<u8> {
    let lead = x.iter().take_while(|&&b| b == 0).count();
    let mag = if lead == 32 { &x[31..] } else { &x[lead..] };
    let pad = mag[0] & 0x80 != 0;
    let mut out = Vec::with_capacity(mag.len() + 3);
    out.push(0x02);
    out.push((mag.len() + usize::from(pad)) as u8);
    if pad {
        out.push(0);
    }
    out.extend_from_slice(mag);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn oids_round_trip_including_uuid_arcs() {
        for o in [
            "1.2.156.10197.1.501",
            "2.25.255491869134881516944537825235989398612",
            "1.2.840.113549.1.9.16.2.47",
            "2.999.3",
            "0.0",
        ] {
            let der = oid_to_der(o).unwrap();
            assert_eq!(oid_from_der(&der).as_deref(), Some(o));
            if let Ok(d) = der::asn1::ObjectIdentifier::new(o) {
                assert_eq!(d.as_bytes(), der.as_slice(), "{o}");
            }
        }
        for bad in ["", "1", "3.1", "1.40", "1..2", "1.02", "a.b"] {
            assert!(oid_to_der(bad).is_none(), "{bad}");
        }
        assert!(oid_from_der(&[0x2a, 0x80, 0x01]).is_none());
        assert!(oid_from_der(&[0x2a, 0x81]).is_none());
        assert!(oid_from_der(&[0xff; 30]).is_none());
    }
}
