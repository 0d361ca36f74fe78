//! E-seals (电子印章): GB/T 38540-2020 seals and seal signatures, and reading
//! and verifying GM/T 0031-2014 ones.
//!
//! Invariants: every signature is checked over the bytes as received, never a
//! re-encoding; reading is lenient and reports each leniency as a warning
//! (formats-eseal.md lists the deviations of real vendor files); no private key
//! lives here. Start with [`SealSignature::parse`] / [`Seal::parse`] and
//! [`verify_signature`].
//!
//! Not yet here (see the seal issue): making seals, the registry and lifecycle,
//! stamping, pictures.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod asn1;
mod error;
mod model;
mod verify;

pub use asn1::MAX_SEAL_LEN;
pub use error::{Error, Result};
pub use model::{CertList, FormatVersion, Picture, Seal, SealSignature};
pub use verify::{VerifyOptions, verify_seal, verify_signature};
