//! Digest algorithms that CMS content may be hashed with.

use crate::oid;
use yinzheng_crypto::Sm3Hasher;
use yinzheng_crypto::asn1::{oid_to_der, tlv};

/// A digest algorithm of a SignerInfo or a time-stamp imprint.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Digest {
    /// SM3 (GB/T 32905).
    Sm3,
    /// SHA-256.
    Sha256,
    /// SHA-384.
    Sha384,
    /// SHA-512.
    Sha512,
}

impl Digest {
    /// The algorithm for a dotted OID, if supported.
    pub fn from_oid(dotted: &str) -> Option<Self> {
        Some(match dotted {
            oid::SM3 => Digest::Sm3,
            oid::SHA256 => Digest::Sha256,
            oid::SHA384 => Digest::Sha384,
            oid::SHA512 => Digest::Sha512,
            _ => return None,
        })
    }

    /// Dotted OID.
    pub fn oid(self) -> &'static str {
        match self {
            Digest::Sm3 => oid::SM3,
            Digest::Sha256 => oid::SHA256,
            Digest::Sha384 => oid::SHA384,
            Digest::Sha512 => oid::SHA512,
        }
    }

    /// Lower-case name (`sm3`, `sha256`, …).
    pub fn name(self) -> &'static str {
        match self {
            Digest::Sm3 => "sm3",
            Digest::Sha256 => "sha256",
            Digest::Sha384 => "sha384",
            Digest::Sha512 => "sha512",
        }
    }

    /// DER AlgorithmIdentifier: SM3 without parameters (GM/T 0010), SHA-2 with NULL (as most signers write).
    pub fn algorithm_identifier(self) -> Vec<u8> {
        let mut body = oid_tlv(self.oid());
        if self != Digest::Sm3 {
            body.extend([0x05, 0x00]);
        }
        tlv(0x30, &body)
    }

    /// Digest of the concatenation of `parts`.
    pub fn digest_parts(self, parts: &[&[u8]]) -> Vec<u8> {
        match self {
            Digest::Sm3 => {
                let mut h = Sm3Hasher::new();
                for p in parts {
                    h.update(p);
                }
                h.finalize().to_vec()
            }
            Digest::Sha256 => yinzheng_crypto::sha256_parts(parts).to_vec(),
            Digest::Sha384 => yinzheng_crypto::sha384_parts(parts).to_vec(),
            Digest::Sha512 => yinzheng_crypto::sha512_parts(parts).to_vec(),
        }
    }

    /// Digest of `data`.
    pub fn digest(self, data: &[u8]) -> Vec<u8> {
        self.digest_parts(&[data])
    }
}

impl std::fmt::Display for Digest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// DER OBJECT IDENTIFIER for a dotted OID. Callers pass this crate's
/// constants, OIDs read back from DER, or OIDs checked on input
/// ([`crate::TimeStampAuthority::new`], [`crate::SignOptions`] attributes
/// are checked by the builder), so the fallback never shows.
pub(crate) fn oid_tlv(dotted: &str) -> Vec<u8> {
    tlv(0x06, &oid_to_der(dotted).unwrap_or_default())
}
