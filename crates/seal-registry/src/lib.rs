//! The seal registry of a Yinzheng (印证) data directory (`<home>/seals/seals.db`,
//! or the `<namespace>_seal` schema of a PostgreSQL store): every seal made
//! there, its status and an append-only history of who changed it, when and
//! why.
//!
//! This is the stateful side of seals. Verification (`yinzheng-seal`) asks
//! it only through [`yinzheng_seal::SealStatusSource`], which [`Registry`]
//! implements, so verifiers and the offline auditor link no database.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod error;
mod registry;

pub use error::{Error, Result};
pub use registry::{Registry, SealEvent};
