//! CMS SignedData for Yinzheng (印证): RFC 5652 and GB/T 35275 (GM/T 0010)
//! with SM2/SM3, ECDSA, Ed25519 and RSA signers, PAdES/CAdES baseline
//! attributes, and RFC 3161 time stamps.
//!
//! Used for PDF signatures (`/Contents`), detached `.p7s` files, OFD
//! `Type="Sign"` signatures, time-stamp tokens and RFC 4998 evidence
//! records (archive time stamps over hash trees, renewed as chains).
//!
//! Invariants:
//! - Reading is lenient (real vendor files break DER) and verification uses the
//!   signed attributes exactly as received, re-tagged from `[0]` to `SET OF`.
//! - Writing is strict DER: signed attributes are sorted as a DER SET OF, so
//!   re-encoding verifiers (OpenSSL) see the same bytes.
//! - This crate checks signatures and digests only. The signer's certificate
//!   path, validity and revocation are checked by yinzheng-pki with the
//!   certificate [`VerifiedSigner::certificate`] returns.
//!
//! ```
//! use yinzheng_cms::{SignOptions, SignedData, VerifyOptions, sign_detached};
//! # fn demo(key: &yinzheng_crypto::PrivateKey, cert: &[u8]) -> yinzheng_cms::Result<()> {
//! let cms = sign_detached(key, cert, &[b"part one", b"part two"], &SignOptions::default(), None)?;
//! let sd = SignedData::parse(&cms)?;
//! let signer = sd.verify_signer(0, Some(&[b"part one", b"part two"]), &VerifyOptions::default())?;
//! assert_eq!(signer.certificate, cert);
//! # Ok(()) }
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod build;
mod cert;
mod digest;
mod error;
mod ers;
pub mod oid;
mod parse;
mod tsp;
mod verify;

pub use build::{SignOptions, TimeStamper, sign_detached, sign_encapsulated};
pub use cert::CertFields;
pub use digest::Digest;
pub use error::{Error, Result};
pub use ers::{
    ArchiveTimeStamp, EvidenceRecord, HashTree, MAX_CHAINS, MAX_ERS_LEN, MAX_PARTIAL_HASHES,
    MAX_STAMPS_PER_CHAIN, MAX_TREE_DEPTH, Stamp, VerifiedLink,
};
pub use parse::{
    Attribute, Flavour, MAX_CMS_ATTRIBUTES, MAX_CMS_CERTIFICATES, MAX_CMS_LEN, MAX_CMS_SIGNERS,
    SignedData, SignerId, SignerInfo,
};
pub use tsp::{
    DEFAULT_TSA_POLICY, TimeStampAuthority, TstInfo, VerifiedTimeStamp, verify_time_stamp,
    verify_time_stamp_imprint, verify_time_stamp_parts,
};
pub use verify::{SigningCertificateCheck, VerifiedSigner, VerifyOptions};
