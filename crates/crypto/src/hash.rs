//! Hash functions: SM3 (GB/T 32905) and HMAC-SM3 from RustCrypto, SHA-256 from ring.

use crate::oid;
use der::asn1::ObjectIdentifier;
use hmac::{KeyInit, Mac};
use sm3::Digest;

/// Output length of SM3 and SHA-256 in bytes.
pub const DIGEST_LEN: usize = 32;

/// SM3 of `data` as 64 lowercase hex digits (the text form of SM3 digests in
/// records, receipts, reports and file names).
pub fn sm3_hex(data: &[u8]) -> String {
    hex::encode(sm3(data))
}

/// One ring digest of the concatenation of `parts`.
fn ring_parts(alg: &'static ring::digest::Algorithm, parts: &[&[u8]]) -> ring::digest::Digest {
    let mut c = ring::digest::Context::new(alg);
    for p in parts {
        c.update(p);
    }
    c.finish()
}

/// SHA-256 of the concatenation of `parts` (ring).
pub fn sha256_parts(parts: &[&[u8]]) -> [u8; 32] {
    let mut out = [0u8; 32];
    out.copy_from_slice(ring_parts(&ring::digest::SHA256, parts).as_ref());
    out
}

/// SHA-384 of the concatenation of `parts` (ring): CMS signers and time-stamp
/// imprints from peers that use it.
pub fn sha384_parts(parts: &[&[u8]]) -> [u8; 48] {
    let mut out = [0u8; 48];
    out.copy_from_slice(ring_parts(&ring::digest::SHA384, parts).as_ref());
    out
}

/// SHA-512 of the concatenation of `parts` (ring).
pub fn sha512_parts(parts: &[&[u8]]) -> [u8; 64] {
    let mut out = [0u8; 64];
    out.copy_from_slice(ring_parts(&ring::digest::SHA512, parts).as_ref());
    out
}

/// SHA-1, for identifiers only, never for signatures: the CertID of OCSP
/// requests, which RFC 6960 clients (OpenSSL's default) still hash with it,
/// and the key of a PAdES `/VRI` entry (ETSI EN 319 142-1).
pub fn sha1_identifier(data: &[u8]) -> [u8; 20] {
    let mut out = [0u8; 20];
    out.copy_from_slice(ring_parts(&ring::digest::SHA1_FOR_LEGACY_USE_ONLY, &[data]).as_ref());
    out
}

/// SM3 of `data` in one call.
pub fn sm3(data: &[u8]) -> [u8; DIGEST_LEN] {
    sm3::Sm3::digest(data).into()
}

/// SHA-256 of `data` in one call (ring).
pub fn sha256(data: &[u8]) -> [u8; DIGEST_LEN] {
    sha256_parts(&[data])
}

/// HMAC-SM3 of `data` under `key` in one call.
pub fn hmac_sm3(key: &[u8], data: &[u8]) -> [u8; DIGEST_LEN] {
    let mut mac = HmacSm3::new(key);
    mac.update(data);
    mac.finalize()
}

/// Streaming SM3.
#[derive(Clone, Default)]
pub struct Sm3Hasher(sm3::Sm3);

impl Sm3Hasher {
    /// A fresh hasher.
    pub fn new() -> Self {
        Self::default()
    }

    /// Absorb more input.
    pub fn update(&mut self, data: &[u8]) {
        self.0.update(data);
    }

    /// The digest of everything absorbed.
    pub fn finalize(self) -> [u8; DIGEST_LEN] {
        self.0.finalize().into()
    }
}

/// SM3 of a byte string, keeping the hash state at every
/// [`Sm3Prefixes::INTERVAL`] bytes, so that the digest of any prefix of it
/// followed by other bytes resumes from a saved state instead of hashing the
/// prefix again. A signed PDF is hashed whole (to find the license it is)
/// and as its `/ByteRange` (the CMS digest): the first range is a prefix of
/// the file, so one pass serves both.
#[derive(Clone)]
pub struct Sm3Prefixes<'a> {
    bytes: &'a [u8],
    /// The state after `(i + 1) · INTERVAL` bytes, for each whole interval.
    states: Vec<Sm3Hasher>,
    digest: [u8; DIGEST_LEN],
}

impl<'a> Sm3Prefixes<'a> {
    /// Bytes between saved states: at most this many are hashed again to
    /// resume (a saved state is about a hundred bytes).
    pub const INTERVAL: usize = 4096;

    /// Hash `bytes` once, saving the state at every interval.
    pub fn new(bytes: &'a [u8]) -> Self {
        let mut h = Sm3Hasher::new();
        let mut states = Vec::with_capacity(bytes.len() / Self::INTERVAL);
        let mut chunks = bytes.chunks_exact(Self::INTERVAL);
        for chunk in chunks.by_ref() {
            h.update(chunk);
            states.push(h.clone());
        }
        h.update(chunks.remainder());
        Sm3Prefixes {
            bytes,
            states,
            digest: h.finalize(),
        }
    }

    /// The bytes hashed.
    pub fn bytes(&self) -> &'a [u8] {
        self.bytes
    }

    /// SM3 of all of them.
    pub fn digest(&self) -> [u8; DIGEST_LEN] {
        self.digest
    }

    /// SM3 of the first `prefix_len` bytes followed by `rest`, resumed from
    /// the last saved state within the prefix; `None` if `prefix_len` is
    /// beyond the bytes.
    pub fn digest_of_prefix_and(
        &self,
        prefix_len: usize,
        rest: &[&[u8]],
    ) -> Option<[u8; DIGEST_LEN]> {
        let prefix = self.bytes.get(..prefix_len)?;
        let saved = (prefix_len / Self::INTERVAL).min(self.states.len());
        let (mut h, from) = match saved.checked_sub(1) {
            Some(i) => (self.states[i].clone(), saved * Self::INTERVAL),
            None => (Sm3Hasher::new(), 0),
        };
        h.update(&prefix[from..]);
        for r in rest {
            h.update(r);
        }
        Some(h.finalize())
    }
}

impl std::fmt::Debug for Sm3Prefixes<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sm3Prefixes")
            .field("len", &self.bytes.len())
            .field("states", &self.states.len())
            .finish()
    }
}

impl std::fmt::Debug for Sm3Hasher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Sm3Hasher")
    }
}

/// Streaming HMAC-SM3 (RFC 2104 over SM3, block size 64).
#[derive(Clone)]
pub struct HmacSm3(hmac::Hmac<sm3::Sm3>);

impl HmacSm3 {
    /// A MAC under `key` (any length; long keys are hashed first, per RFC 2104).
    pub fn new(key: &[u8]) -> Self {
        // Hmac accepts keys of every length, so this cannot fail.
        Self(
            <hmac::Hmac<sm3::Sm3> as KeyInit>::new_from_slice(key)
                .unwrap_or_else(|_| unreachable!()),
        )
    }

    /// Absorb more input.
    pub fn update(&mut self, data: &[u8]) {
        self.0.update(data);
    }

    /// The tag.
    pub fn finalize(self) -> [u8; DIGEST_LEN] {
        self.0.finalize().into_bytes().into()
    }

    /// Compare the tag with `expected` in constant time.
    pub fn verify(self, expected: &[u8]) -> bool {
        self.0.verify_slice(expected).is_ok()
    }
}

impl std::fmt::Debug for HmacSm3 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("HmacSm3 { .. }")
    }
}

/// A digest algorithm this crate can compute.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum DigestAlgorithm {
    /// SM3 (GB/T 32905-2016), OID 1.2.156.10197.1.401.
    Sm3,
    /// SHA-256 (FIPS 180-4), OID 2.16.840.1.101.3.4.2.1.
    Sha256,
}

impl DigestAlgorithm {
    /// Lower-case name as used on the command line (`sm3`, `sha256`).
    pub fn name(self) -> &'static str {
        match self {
            DigestAlgorithm::Sm3 => "sm3",
            DigestAlgorithm::Sha256 => "sha256",
        }
    }

    /// Parse a name as written by [`DigestAlgorithm::name`] (case-insensitive, `sha-256` allowed).
    pub fn from_name(name: &str) -> Option<Self> {
        match name.to_ascii_lowercase().as_str() {
            "sm3" => Some(DigestAlgorithm::Sm3),
            "sha256" | "sha-256" => Some(DigestAlgorithm::Sha256),
            _ => None,
        }
    }

    /// The algorithm's object identifier.
    pub fn oid(self) -> ObjectIdentifier {
        match self {
            DigestAlgorithm::Sm3 => oid::SM3,
            DigestAlgorithm::Sha256 => oid::SHA256,
        }
    }

    /// The algorithm named by `oid`, if supported.
    pub fn from_oid(oid: &ObjectIdentifier) -> Option<Self> {
        if *oid == oid::SM3 {
            Some(DigestAlgorithm::Sm3)
        } else if *oid == oid::SHA256 {
            Some(DigestAlgorithm::Sha256)
        } else {
            None
        }
    }

    /// Digest of `data` in one call.
    pub fn digest(self, data: &[u8]) -> [u8; DIGEST_LEN] {
        match self {
            DigestAlgorithm::Sm3 => sm3(data),
            DigestAlgorithm::Sha256 => sha256(data),
        }
    }

    /// A streaming hasher for this algorithm.
    pub fn hasher(self) -> Hasher {
        match self {
            DigestAlgorithm::Sm3 => Hasher::Sm3(Sm3Hasher::new()),
            DigestAlgorithm::Sha256 => {
                Hasher::Sha256(ring::digest::Context::new(&ring::digest::SHA256))
            }
        }
    }
}

impl std::fmt::Display for DigestAlgorithm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// A streaming hasher for any [`DigestAlgorithm`].
#[derive(Clone)]
#[non_exhaustive]
pub enum Hasher {
    /// SM3.
    Sm3(Sm3Hasher),
    /// SHA-256 (ring).
    Sha256(ring::digest::Context),
}

impl Hasher {
    /// Absorb more input.
    pub fn update(&mut self, data: &[u8]) {
        match self {
            Hasher::Sm3(h) => h.update(data),
            Hasher::Sha256(h) => h.update(data),
        }
    }

    /// The digest of everything absorbed.
    pub fn finalize(self) -> [u8; DIGEST_LEN] {
        match self {
            Hasher::Sm3(h) => h.finalize(),
            Hasher::Sha256(h) => {
                let mut out = [0u8; DIGEST_LEN];
                out.copy_from_slice(h.finish().as_ref());
                out
            }
        }
    }
}

impl std::fmt::Debug for Hasher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Hasher::Sm3(_) => f.write_str("Hasher(sm3)"),
            Hasher::Sha256(_) => f.write_str("Hasher(sha256)"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streaming_matches_one_shot() {
        let data: Vec<u8> = (0..1000u32).map(|i| i as u8).collect();
        for alg in [DigestAlgorithm::Sm3, DigestAlgorithm::Sha256] {
            let mut h = alg.hasher();
            for chunk in data.chunks(37) {
                h.update(chunk);
            }
            assert_eq!(h.finalize(), alg.digest(&data), "{alg}");
        }
    }

    #[test]
    fn a_prefix_resumed_from_a_saved_state_hashes_as_the_whole() {
        let i = Sm3Prefixes::INTERVAL;
        for len in [0, 1, 63, 64, i - 1, i, i + 1, 3 * i, 3 * i + 65, 10 * i + 7] {
            let data: Vec<u8> = (0..len).map(|x| (x * 7 + 3) as u8).collect();
            let p = Sm3Prefixes::new(&data);
            assert_eq!(p.digest(), sm3(&data), "{len}");
            assert_eq!(p.bytes().len(), len);
            let cuts = [
                0,
                1,
                64,
                i - 1,
                i,
                i + 1,
                2 * i,
                len / 2,
                len.saturating_sub(1),
                len,
            ];
            for cut in cuts.into_iter().filter(|&c| c <= len) {
                for rest in [
                    &[][..],
                    &[&b"x"[..]][..],
                    &[&b"gap"[..], &data[..len / 3]][..],
                ] {
                    let mut h = Sm3Hasher::new();
                    h.update(&data[..cut]);
                    rest.iter().for_each(|r| h.update(r));
                    assert_eq!(
                        p.digest_of_prefix_and(cut, rest),
                        Some(h.finalize()),
                        "{len} {cut}"
                    );
                }
            }
            assert_eq!(p.digest_of_prefix_and(len + 1, &[]), None);
        }
    }

    /// GB/T 32905-2016 Annex A, examples 1 and 2.
    #[test]
    fn sm3_published_vectors() {
        assert_eq!(
            hex::encode(sm3(b"abc")),
            "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0"
        );
        assert_eq!(
            hex::encode(sm3(&b"abcd".repeat(16))),
            "debe9ff92275b8a138604889c18e5a4d6fdb70e5387e5765293dcba39c0c5732"
        );
    }

    /// GB/T 32907-2016 Annex A, example 1 (one block) and example 2 (10^6 encryptions).
    #[test]
    fn sm4_published_vectors() {
        use sm4::cipher::{BlockCipherEncrypt, KeyInit};
        let key = hex::decode("0123456789abcdeffedcba9876543210").unwrap();
        let cipher = sm4::Sm4::new_from_slice(&key).unwrap();
        let mut block = sm4::cipher::Block::<sm4::Sm4>::try_from(&key[..]).unwrap();
        cipher.encrypt_block(&mut block);
        assert_eq!(hex::encode(block), "681edf34d206965e86b3e94f536e4246");
        for _ in 1..1_000_000 {
            cipher.encrypt_block(&mut block);
        }
        assert_eq!(hex::encode(block), "595298c7c6fd271f0402f804c33d3f66");
    }

    #[test]
    fn sha256_abc() {
        assert_eq!(
            hex::encode(sha256(b"abc")),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn hmac_sm3_verify_constant_time_path() {
        let tag = hmac_sm3(b"key", b"data");
        let mut m = HmacSm3::new(b"key");
        m.update(b"data");
        assert!(m.verify(&tag));
        let mut m = HmacSm3::new(b"key");
        m.update(b"datb");
        assert!(!m.verify(&tag));
    }
}
