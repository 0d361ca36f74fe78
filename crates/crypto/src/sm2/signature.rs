//! SM2 signature values: DER `SEQUENCE { r INTEGER, s INTEGER }` (certificates, CMS,
//! GB/T 38540) and raw 64-byte `r‖s` (GM/T 0031 seal files, SDF devices).
//!
//! Decoding is lenient because real seal files are not strict DER: INTEGERs whose
//! high bit is set but lack the leading zero byte ("negative" r or s), superfluous
//! leading zeros and non-minimal lengths are accepted and reported as
//! [`EncodingDeviation`]s so a verification report can show them. Encoding is
//! always strict DER.

use crate::error::{Error, Result};

/// How a signature value was encoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Sm2SignatureEncoding {
    /// DER `SEQUENCE { r INTEGER, s INTEGER }`.
    Der,
    /// Raw 64 bytes `r‖s`, each 32 bytes big-endian.
    Raw,
}

/// A departure from strict DER met while decoding a signature.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum EncodingDeviation {
    /// The INTEGER named (`'r'` or `'s'`) has its high bit set without a leading
    /// zero byte, so strict DER would read it as negative.
    NegativeInteger(char),
    /// The INTEGER named has superfluous leading zero bytes.
    NonMinimalInteger(char),
    /// A length was written in a longer form than needed.
    NonMinimalLength,
}

impl std::fmt::Display for EncodingDeviation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            EncodingDeviation::NegativeInteger(c) => {
                write!(
                    f,
                    "signature component {c} lacks its leading zero byte (negative INTEGER)"
                )
            }
            EncodingDeviation::NonMinimalInteger(c) => {
                write!(
                    f,
                    "signature component {c} has superfluous leading zero bytes"
                )
            }
            EncodingDeviation::NonMinimalLength => {
                f.write_str("signature uses a non-minimal DER length")
            }
        }
    }
}

/// A decoded SM2 signature `(r, s)`.
///
/// Decoding only checks the shape (each component at most 32 bytes once leading
/// zeros are removed); the range `1 ≤ r, s ≤ n-1` is checked by verification,
/// which reports a violation as a bad signature.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sm2Signature {
    r: [u8; 32],
    s: [u8; 32],
    encoding: Sm2SignatureEncoding,
    deviations: Vec<EncodingDeviation>,
}

impl Sm2Signature {
    pub(crate) fn from_scalars(r: [u8; 32], s: [u8; 32]) -> Self {
        Sm2Signature {
            r,
            s,
            encoding: Sm2SignatureEncoding::Der,
            deviations: Vec::new(),
        }
    }

    /// Decode either form: DER when the bytes parse as the DER SEQUENCE, otherwise raw
    /// `r‖s` when there are exactly 64 bytes.
    pub fn parse(bytes: &[u8]) -> Result<Self> {
        match Self::from_der(bytes) {
            Ok(sig) => Ok(sig),
            Err(_) if bytes.len() == 64 => Self::from_raw(bytes),
            Err(e) => Err(e),
        }
    }

    /// Decode raw `r‖s` (exactly 64 bytes).
    pub fn from_raw(bytes: &[u8]) -> Result<Self> {
        if bytes.len() != 64 {
            return Err(Error::MalformedSignature(format!(
                "raw SM2 signature must be 64 bytes (r‖s), got {}",
                bytes.len()
            )));
        }
        let mut r = [0u8; 32];
        let mut s = [0u8; 32];
        r.copy_from_slice(&bytes[..32]);
        s.copy_from_slice(&bytes[32..]);
        Ok(Sm2Signature {
            r,
            s,
            encoding: Sm2SignatureEncoding::Raw,
            deviations: Vec::new(),
        })
    }

    /// Decode DER `SEQUENCE { r INTEGER, s INTEGER }`, leniently (see the module docs).
    /// Trailing bytes after the SEQUENCE are an error.
    pub fn from_der(bytes: &[u8]) -> Result<Self> {
        let mut deviations = Vec::new();
        let mut rd = Reader { buf: bytes, pos: 0 };
        let body = rd.tlv(0x30, &mut deviations)?;
        if rd.pos != bytes.len() {
            return Err(Error::MalformedSignature(format!(
                "{} unexpected bytes after the signature SEQUENCE",
                bytes.len() - rd.pos
            )));
        }
        let mut inner = Reader { buf: body, pos: 0 };
        let r = integer(inner.tlv(0x02, &mut deviations)?, 'r', &mut deviations)?;
        let s = integer(inner.tlv(0x02, &mut deviations)?, 's', &mut deviations)?;
        if inner.pos != body.len() {
            return Err(Error::MalformedSignature(
                "unexpected data after s inside the signature SEQUENCE".into(),
            ));
        }
        Ok(Sm2Signature {
            r,
            s,
            encoding: Sm2SignatureEncoding::Der,
            deviations,
        })
    }

    /// `r`, 32 bytes big-endian.
    pub fn r(&self) -> &[u8; 32] {
        &self.r
    }

    /// `s`, 32 bytes big-endian.
    pub fn s(&self) -> &[u8; 32] {
        &self.s
    }

    /// The encoding the signature was decoded from (DER for signatures made here).
    pub fn encoding(&self) -> Sm2SignatureEncoding {
        self.encoding
    }

    /// Departures from strict DER met while decoding (empty for strict input).
    pub fn deviations(&self) -> &[EncodingDeviation] {
        &self.deviations
    }

    /// Raw `r‖s`.
    pub fn to_raw(&self) -> [u8; 64] {
        let mut out = [0u8; 64];
        out[..32].copy_from_slice(&self.r);
        out[32..].copy_from_slice(&self.s);
        out
    }

    /// Strict DER `SEQUENCE { r INTEGER, s INTEGER }`.
    pub fn to_der(&self) -> Vec<u8> {
        crate::asn1::ec_signature_der(&self.r, &self.s)
    }
}

struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn byte(&mut self) -> Result<u8> {
        let b = *self
            .buf
            .get(self.pos)
            .ok_or_else(|| Error::MalformedSignature(format!("truncated at byte {}", self.pos)))?;
        self.pos += 1;
        Ok(b)
    }

    /// Read one TLV with the expected tag and return its value.
    fn tlv(&mut self, tag: u8, deviations: &mut Vec<EncodingDeviation>) -> Result<&'a [u8]> {
        let at = self.pos;
        let got = self.byte()?;
        if got != tag {
            return Err(Error::MalformedSignature(format!(
                "expected tag 0x{tag:02x} at byte {at}, found 0x{got:02x}"
            )));
        }
        // A signature is at most a few hundred bytes: one or two length octets.
        let h = crate::asn1::header(self.buf, at, self.buf.len())
            .ok()
            .filter(|h| h.header_len <= 4)
            .ok_or_else(|| {
                Error::MalformedSignature(format!(
                    "unsupported or truncated length at byte {}",
                    at + 1
                ))
            })?;
        if !h.minimal {
            push_once(deviations, EncodingDeviation::NonMinimalLength);
        }
        self.pos = at + h.header_len;
        let len = h.content_len;
        let end = self
            .pos
            .checked_add(len)
            .filter(|&e| e <= self.buf.len())
            .ok_or_else(|| {
                Error::MalformedSignature(format!(
                    "length {len} at byte {at} runs past the end ({} bytes)",
                    self.buf.len()
                ))
            })?;
        let v = &self.buf[self.pos..end];
        self.pos = end;
        Ok(v)
    }
}

fn push_once(v: &mut Vec<EncodingDeviation>, d: EncodingDeviation) {
    if !v.contains(&d) {
        v.push(d);
    }
}

fn integer(v: &[u8], name: char, deviations: &mut Vec<EncodingDeviation>) -> Result<[u8; 32]> {
    if v.is_empty() {
        return Err(Error::MalformedSignature(format!(
            "component {name} is an empty INTEGER"
        )));
    }
    if v[0] & 0x80 != 0 {
        deviations.push(EncodingDeviation::NegativeInteger(name));
    }
    let lead = v.iter().take_while(|&&b| b == 0).count();
    let mag = &v[lead..];
    // One leading zero is required exactly when the next byte has its high bit set.
    let minimal_zeros = usize::from(mag.first().is_some_and(|b| b & 0x80 != 0));
    if lead > minimal_zeros && !(mag.is_empty() && lead == 1) {
        deviations.push(EncodingDeviation::NonMinimalInteger(name));
    }
    if mag.len() > 32 {
        return Err(Error::MalformedSignature(format!(
            "component {name} has {} significant bytes, more than the 32 of an SM2 scalar",
            mag.len()
        )));
    }
    let mut out = [0u8; 32];
    out[32 - mag.len()..].copy_from_slice(mag);
    Ok(out)
}
