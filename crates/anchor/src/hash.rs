//! The hash profiles of the log: RFC 6962 §2.1 leaf and node hashing over SM3
//! (the national default) or SHA-256 (so independent peers can check our proofs).

use yinzheng_crypto::{Sm3Hasher, sha256, sm3};

/// A tree hash: a leaf hash, an interior node or a root (32 bytes for both profiles).
pub type Hash = [u8; 32];

/// The hash function a log is built on. The profile is part of the log's
/// identity (put it in the origin); one log never mixes profiles.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum HashAlg {
    /// SM3 (GB/T 32905), the default profile.
    Sm3,
    /// SHA-256 (FIPS 180-4), the RFC 6962 original.
    Sha256,
}

impl HashAlg {
    /// Short stable name: `sm3` or `sha256`.
    pub fn name(self) -> &'static str {
        match self {
            HashAlg::Sm3 => "sm3",
            HashAlg::Sha256 => "sha256",
        }
    }

    /// The profile named `name` (`sm3`, `sha256`).
    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "sm3" => Some(HashAlg::Sm3),
            "sha256" => Some(HashAlg::Sha256),
            _ => None,
        }
    }

    /// The plain hash of `data`.
    pub fn digest(self, data: &[u8]) -> Hash {
        match self {
            HashAlg::Sm3 => sm3(data),
            HashAlg::Sha256 => sha256(data),
        }
    }

    /// `MTH({}) = H("")`, the root of the empty tree (RFC 6962 §2.1).
    pub fn empty_root(self) -> Hash {
        self.digest(b"")
    }

    /// Leaf hash `H(0x00 ‖ entry)` (RFC 6962 §2.1).
    pub fn leaf_hash(self, entry: &[u8]) -> Hash {
        match self {
            HashAlg::Sm3 => {
                let mut h = Sm3Hasher::new();
                h.update(&[0]);
                h.update(entry);
                h.finalize()
            }
            HashAlg::Sha256 => {
                let mut buf = Vec::with_capacity(entry.len() + 1);
                buf.push(0);
                buf.extend_from_slice(entry);
                sha256(&buf)
            }
        }
    }

    /// Interior node hash `H(0x01 ‖ left ‖ right)` (RFC 6962 §2.1).
    pub fn node_hash(self, left: &Hash, right: &Hash) -> Hash {
        let mut buf = [0u8; 65];
        buf[0] = 1;
        buf[1..33].copy_from_slice(left);
        buf[33..].copy_from_slice(right);
        self.digest(&buf)
    }
}

impl std::fmt::Display for HashAlg {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_roots_are_the_published_values() {
        assert_eq!(
            hex::encode(HashAlg::Sm3.empty_root()),
            "1ab21d8355cfa17f8e61194831e81a8f22bec8c728fefb747ed035eb5082aa2b"
        );
        assert_eq!(
            hex::encode(HashAlg::Sha256.empty_root()),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }
}
