//! E-seals (电子印章): GB/T 38540-2020 seals and seal signatures, and reading
//! and verifying GM/T 0031-2014 ones.
//!
//! Invariants: every signature is checked over the bytes as received, never a
//! re-encoding; reading is lenient and reports each leniency as a warning
//! (formats-eseal.md lists the deviations of real vendor files); no private key
//! lives here (signing goes through `yinzheng_crypto::Signer`). Start with
//! [`SealSignature::parse`] / [`Seal::parse`], [`verify_signature`],
//! [`SealBuilder`] and [`stamp`].

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod asn1;
mod draw;
mod error;
mod make;
mod memo;
mod model;
mod status;
mod verify;

pub use asn1::MAX_SEAL_LEN;
pub use draw::{PX_PER_MM, SealFont, draw_round, draw_square};
pub use error::{Error, Result};
pub use make::{MAX_PICTURE_LEN, SealBuilder, SealType, stamp};
pub use model::{CertList, FormatVersion, MAX_CERT_LIST, Picture, Seal, SealSignature};
pub use status::{RegisteredSeal, SealStatus, SealStatusSource};
pub use verify::{
    MakerTrust, ProtectedData, VerifyOptions, verify_seal, verify_signature, verify_signature_at,
};
