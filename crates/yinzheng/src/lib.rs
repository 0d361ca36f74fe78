//! Yinzheng (印证): e-seals and e-licenses for Rust approval systems — one
//! front door.
//!
//! This crate is the part of Yinzheng that promises semver stability. It
//! re-exports the few types a developer needs and wraps the rest of the
//! workspace (`yinzheng-crypto`, `-pki`, `-cms`, `-seal`, `-document`,
//! `-anchor`, `-license`), whose APIs may change in any release. Everything
//! is synchronous; nothing here opens a socket or starts a thread.
//!
//! | you want to | use |
//! |---|---|
//! | say whom you trust (roots, CRLs, intermediates, seal makers) | [`Trust::builder`] |
//! | verify a PDF, OFD, seal signature or seal | [`Trust::verify`] |
//! | verify a detached signature (`.p7s` or seal signature) | [`Trust::verify_detached`] |
//! | seal a PDF, an OFD document or any bytes | [`Sealer`], [`SealOptions`], [`seal_pdf`], [`seal_ofd`], [`seal_bytes`] |
//! | check a license identifier, USCC or citizen ID | [`LicenseId::parse`], [`check_uscc`], [`check_citizen_id`] |
//! | check a license file | [`Trust::check_license_file`] |
//! | verify log evidence offline | [`verify_evidence`], with a witness quorum [`verify_evidence_witnessed`] |
//!
//! Every verification returns a [`VerificationReport`] in the vocabulary of
//! ETSI EN 319 102-1 (TOTAL_PASSED, TOTAL_FAILED, INDETERMINATE with a
//! sub-indication and every check made). A document that fails a check is an
//! `Ok` report that says so; [`Error`] means the work could not be done.
//!
//! # Sealing a document in five minutes
//!
//! You need three things from your seal administrator (the `yinzheng` CLI:
//! `ca init`, `ca issue`, `seal make`, `ca export-roots`, `ca crl`): a seal
//! file, the signer's key, and the trust files (roots, intermediates, CRLs).
//! [`demo::Demo`] makes a throw-away set of them, so this example runs as is:
//!
//! ```
//! # fn main() -> yinzheng::Result<()> {
//! use yinzheng::{SealOptions, Sealer, Trust};
//!
//! let dir = tempfile::tempdir().unwrap();
//! let demo = yinzheng::demo::Demo::create(dir.path())?; // the administrator's files
//!
//! // 1. Load the signer: a seal and a key that the seal authorises.
//! let sealer = Sealer::from_files(demo.seal_file(), demo.key_file(), Some(yinzheng::demo::PASSPHRASE))?;
//!
//! // 2. Seal a PDF: page 1, 120 mm from the left, 40 mm from the top.
//! let pdf = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/../../scripts/samples/notice.pdf")).unwrap();
//! let sealed = yinzheng::seal_pdf(&pdf, &sealer, &SealOptions::new().at_mm(120.0, 40.0))?;
//!
//! // 3. Whoever receives it verifies it against the roots they trust.
//! let trust = Trust::builder()
//!     .roots_file(demo.roots_file())
//!     .intermediates_file(demo.intermediates_file())
//!     .crl_file(demo.crl_file())
//!     .build()?;
//! let report = trust.verify(&sealed)?;
//! assert!(report.passed(), "{report}");
//! # Ok(())
//! # }
//! ```
//!
//! The key decides the PDF mode: SM2 keys seal in national mode (SM2/SM3,
//! the GB/T 38540 seal signature carried inside; `yinzheng verify` and this
//! crate check it), ECDSA P-256 keys in international mode (PAdES, which
//! Acrobat, pdfsig and pyHanko validate). Add
//! [`Sealer::with_time_stamp_authority`] and [`SealOptions::time_stamp`] for
//! an RFC 3161 time stamp.
//!
//! Hardware keys: [`Sealer::new`] takes any [`Signer`], so a PKCS#11 or SDF
//! module implementing the trait replaces the key file without other changes.
//!
//! See `docs/LIBRARY.md` for the crate map and what is stable.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod demo;
mod error;
mod evidence;
mod license;
mod seal;
mod trust;

// The public surface, in one place.
pub use error::{Error, Result};
pub use evidence::{VerifiedEvidence, verify_evidence, verify_evidence_witnessed};
pub use license::{LicenseFileCheck, check_citizen_id, check_uscc};
pub use seal::{SealOptions, Sealer, load_key, seal_bytes, seal_ofd, seal_pdf};
pub use trust::{Trust, TrustBuilder};
pub use yinzheng_anchor::{Quorum, WitnessPolicy};

/// RFC 3161 time-stamping authority for B-T seals (from `yinzheng-cms`).
pub use yinzheng_cms::TimeStampAuthority;
/// Keys and the signing abstraction (from `yinzheng-crypto`).
pub use yinzheng_crypto::{KeyAlgorithm, PrivateKey, PublicKey, Signer};
/// A GB/T 36904 license identifier (from `yinzheng-license`).
pub use yinzheng_license::LicenseId;
/// Verification reports (from `yinzheng-pki`).
pub use yinzheng_pki::{Check, CheckStatus, Indication, SubIndication, VerificationReport};
/// A GB/T 38540 / GM/T 0031 seal (from `yinzheng-seal`).
pub use yinzheng_seal::Seal;
