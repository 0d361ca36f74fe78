//! National-crypto core of Yinzheng (印证): SM2, SM3 and SM4 from RustCrypto,
//! ECDSA P-256, Ed25519 and RSA from ring, keys in the formats OpenSSL reads and
//! writes, and one [`Signer`] / [`Verifier`] abstraction for every crate above.
//!
//! Standards: GB/T 32918 (SM2), GB/T 32905 (SM3), GB/T 32907 (SM4), GM/T 0009 /
//! GB/T 35276 (SM2 usage and the default user ID), RFC 5208/5958 (PKCS#8),
//! RFC 8018 (PBES2), RFC 5480 / RFC 5915 (EC keys), RFC 8410 (Ed25519).
//!
//! Invariants:
//! - Every SM2 signature is over `SM3(Z_A ‖ M)`; the distinguishing ID lives on
//!   the key ([`Sm2Id`], default `1234567812345678`), never as a hidden global.
//!   The empty ID that OpenSSL uses by default is [`Sm2Id::danger_empty`].
//! - Signature values are decoded leniently (real seal files are not strict DER)
//!   and encoded strictly; [`Sm2Signature::deviations`] says what was tolerated.
//! - Secret keys are zeroized on drop and print as `<redacted>`.
//! - Nothing here reads the clock, the network or files: bytes in, bytes out.
//!
//! Start with [`PrivateKey`] (generate, load, sign), [`PublicKey`] (load,
//! verify) and the [`Signer`] / [`Verifier`] traits; SM2 specifics (IDs,
//! precomputed digests, r‖s) are on [`Sm2PrivateKey`] and [`Sm2PublicKey`].
//!
//! ```
//! use yinzheng_crypto::{KeyAlgorithm, PrivateKey, Signer, SignatureAlgorithm};
//! let key = PrivateKey::generate(KeyAlgorithm::Sm2)?;
//! let sig = key.sign(b"hello")?;
//! key.public_key().verify(SignatureAlgorithm::Sm2Sm3, b"hello", &sig)?;
//! assert!(key.public_key().verify(SignatureAlgorithm::Sm2Sm3, b"hellO", &sig).is_err());
//! # Ok::<(), yinzheng_crypto::Error>(())
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod algorithm;
pub mod asn1;
pub mod base64;
mod error;
mod hash;
mod keys;
pub mod oid;
mod pbes2;
pub mod pem;
mod signer;
mod sm2;

pub use algorithm::SignatureAlgorithm;
pub use error::{Error, Result, error_chain};
pub use hash::{
    DIGEST_LEN, DigestAlgorithm, Hasher, HmacSm3, Sm3Hasher, Sm3Prefixes, hmac_sm3,
    sha1_identifier, sha256, sha256_parts, sha384_parts, sha512_parts, sm3, sm3_hex,
};
pub use keys::{KeyAlgorithm, MAX_KEY_FILE_LEN, PrivateKey, PublicKey};
pub use pbes2::{DEFAULT_ITERATIONS, KdfPrf, KeyCipher, KeyEncryption, MAX_ITERATIONS};
pub use signer::{Signer, SoftwareVerifier, Verifier};
pub use sm2::{
    DEFAULT_SM2_ID, EncodingDeviation, Sm2Id, Sm2PrivateKey, Sm2PublicKey, Sm2Signature,
    Sm2SignatureEncoding, z_digest,
};

/// SM4 block cipher (GB/T 32907), re-exported for the crates that need raw blocks.
pub use sm4::Sm4;
