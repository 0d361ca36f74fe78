//! Log entries: small canonical records of one event, never whole documents.
//!
//! Encoding (all integers big-endian; one byte string per entry, so the leaf
//! hash is well defined):
//!
//! ```text
//! u8  version = 1
//! u8  kind length (1..=64), kind: [a-z0-9._-]      e.g. license.issued, seal.revoked, stamp, license.use, note
//! u64 time, Unix milliseconds (given by the caller; the library never reads the clock)
//! u16 actor length (0..=256), actor: UTF-8          who caused the event
//! u8  subject count (0..=16), each: u16 length (1..=256) + UTF-8 identifier
//! u8  digest count (0..=16), each: 32 bytes (SM3 of the document or record)
//! u16 data length, data: opaque payload (notes, small JSON), the rest of the 64 KiB budget
//! ```
//!
//! Decoding is strict: any other byte string (trailing bytes, bad UTF-8,
//! out-of-range counts) is rejected, so each entry has exactly one encoding.

use crate::error::{Error, Result};
use crate::hash::Hash;
use crate::tiles::MAX_ENTRY_LEN;

/// Most subject identifiers in one entry.
pub const MAX_SUBJECTS: usize = 16;
/// Most digests in one entry.
pub const MAX_DIGESTS: usize = 16;
/// Longest kind, actor or subject identifier.
pub const MAX_FIELD_LEN: usize = 256;
const MAX_KIND_LEN: usize = 64;
const VERSION: u8 = 1;

/// One logged event (type, subject identifiers, SM3 digests, time, actor).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    kind: String,
    time_ms: u64,
    actor: String,
    subjects: Vec<String>,
    digests: Vec<Hash>,
    data: Vec<u8>,
}

impl Entry {
    /// An entry of `kind` at `time_ms` (Unix milliseconds) by `actor`.
    pub fn new(kind: &str, time_ms: u64, actor: &str) -> Result<Self> {
        if kind.is_empty()
            || kind.len() > MAX_KIND_LEN
            || !kind
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(&b))
        {
            return Err(Error::malformed(
                "entry",
                "kind must be 1-64 of [a-z0-9._-]",
            ));
        }
        if actor.len() > MAX_FIELD_LEN {
            return Err(Error::malformed("entry", "actor longer than 256 bytes"));
        }
        Ok(Entry {
            kind: kind.to_string(),
            time_ms,
            actor: actor.to_string(),
            subjects: Vec::new(),
            digests: Vec::new(),
            data: Vec::new(),
        })
    }

    /// Add a subject identifier (license number, seal code, certificate serial…).
    pub fn with_subject(mut self, subject: &str) -> Result<Self> {
        if subject.is_empty()
            || subject.len() > MAX_FIELD_LEN
            || self.subjects.len() == MAX_SUBJECTS
        {
            return Err(Error::malformed(
                "entry",
                "subject must be 1-256 bytes, at most 16",
            ));
        }
        self.subjects.push(subject.to_string());
        Ok(self)
    }

    /// Add a digest (SM3 of the document or record this event is about).
    pub fn with_digest(mut self, digest: Hash) -> Result<Self> {
        if self.digests.len() == MAX_DIGESTS {
            return Err(Error::malformed("entry", "at most 16 digests"));
        }
        self.digests.push(digest);
        Ok(self)
    }

    /// Set the opaque payload; the encoded entry must stay within 64 KiB.
    pub fn with_data(mut self, data: &[u8]) -> Result<Self> {
        self.data = data.to_vec();
        let len = self.encoded_len();
        if len > MAX_ENTRY_LEN {
            return Err(Error::TooLarge {
                what: "entry",
                len,
                max: MAX_ENTRY_LEN,
            });
        }
        Ok(self)
    }

    /// The kind.
    pub fn kind(&self) -> &str {
        &self.kind
    }
    /// Unix milliseconds.
    pub fn time_ms(&self) -> u64 {
        self.time_ms
    }
    /// The actor.
    pub fn actor(&self) -> &str {
        &self.actor
    }
    /// Subject identifiers.
    pub fn subjects(&self) -> &[String] {
        &self.subjects
    }
    /// Digests.
    pub fn digests(&self) -> &[Hash] {
        &self.digests
    }
    /// Payload.
    pub fn data(&self) -> &[u8] {
        &self.data
    }

    fn encoded_len(&self) -> usize {
        1 + 1
            + self.kind.len()
            + 8
            + 2
            + self.actor.len()
            + 1
            + self.subjects.iter().map(|s| 2 + s.len()).sum::<usize>()
            + 1
            + 32 * self.digests.len()
            + 2
            + self.data.len()
    }

    /// The canonical encoding (what is logged and hashed).
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.encoded_len());
        out.push(VERSION);
        out.push(self.kind.len() as u8);
        out.extend_from_slice(self.kind.as_bytes());
        out.extend_from_slice(&self.time_ms.to_be_bytes());
        out.extend_from_slice(&(self.actor.len() as u16).to_be_bytes());
        out.extend_from_slice(self.actor.as_bytes());
        out.push(self.subjects.len() as u8);
        for s in &self.subjects {
            out.extend_from_slice(&(s.len() as u16).to_be_bytes());
            out.extend_from_slice(s.as_bytes());
        }
        out.push(self.digests.len() as u8);
        for d in &self.digests {
            out.extend_from_slice(d);
        }
        out.extend_from_slice(&(self.data.len() as u16).to_be_bytes());
        out.extend_from_slice(&self.data);
        out
    }

    /// Decode a canonical encoding.
    pub fn decode(bytes: &[u8]) -> Result<Self> {
        if bytes.len() > MAX_ENTRY_LEN {
            return Err(Error::TooLarge {
                what: "entry",
                len: bytes.len(),
                max: MAX_ENTRY_LEN,
            });
        }
        let mut r = Reader(bytes);
        if r.u8()? != VERSION {
            return Err(Error::malformed("entry", "unknown version"));
        }
        let kl = usize::from(r.u8()?);
        let kind = r.utf8(kl)?;
        let time_ms = u64::from_be_bytes(r.take(8)?.try_into().map_err(|_| trunc())?);
        let al = usize::from(r.u16()?);
        let actor = r.utf8(al)?;
        let mut e = Entry::new(&kind, time_ms, &actor)?;
        let ns = usize::from(r.u8()?);
        if ns > MAX_SUBJECTS {
            return Err(Error::malformed("entry", "too many subjects"));
        }
        for _ in 0..ns {
            let l = usize::from(r.u16()?);
            e = e.with_subject(&r.utf8(l)?)?;
        }
        let nd = usize::from(r.u8()?);
        if nd > MAX_DIGESTS {
            return Err(Error::malformed("entry", "too many digests"));
        }
        for _ in 0..nd {
            let d: Hash = r.take(32)?.try_into().map_err(|_| trunc())?;
            e.digests.push(d);
        }
        let dl = usize::from(r.u16()?);
        e.data = r.take(dl)?.to_vec();
        if !r.0.is_empty() {
            return Err(Error::malformed("entry", "trailing bytes"));
        }
        Ok(e)
    }
}

fn trunc() -> Error {
    Error::malformed("entry", "truncated")
}

struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        if self.0.len() < n {
            return Err(trunc());
        }
        let (a, b) = self.0.split_at(n);
        self.0 = b;
        Ok(a)
    }
    fn u8(&mut self) -> Result<u8> {
        Ok(self.take(1)?[0])
    }
    fn u16(&mut self) -> Result<u16> {
        let b = self.take(2)?;
        Ok(u16::from_be_bytes([b[0], b[1]]))
    }
    fn utf8(&mut self, n: usize) -> Result<String> {
        std::str::from_utf8(self.take(n)?)
            .map(str::to_string)
            .map_err(|_| Error::malformed("entry", "text field is not UTF-8"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_round_trip_and_reject_other_encodings() -> Result<()> {
        let e = Entry::new("license.issued", 1_763_900_000_000, "ca-operator-7")?
            .with_subject("11100000000000000X-2026-000001")?
            .with_digest([7u8; 32])?
            .with_data(b"{}")?;
        let b = e.encode();
        assert_eq!(Entry::decode(&b)?, e);
        let mut trailing = b.clone();
        trailing.push(0);
        assert!(Entry::decode(&trailing).is_err());
        assert!(Entry::decode(&b[..b.len() - 1]).is_err());
        let mut v2 = b.clone();
        v2[0] = 2;
        assert!(Entry::decode(&v2).is_err());
        assert!(Entry::new("Bad Kind", 0, "").is_err());
        assert!(
            Entry::new("note", 0, "")?
                .with_data(&vec![0; 65_535])
                .is_err()
        );
        Ok(())
    }
}
