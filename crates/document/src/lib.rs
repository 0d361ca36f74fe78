//! Seals on documents (Yinzheng 印证): OFD packages (GB/T 33190) carrying
//! GB/T 38540 seal signatures. PDF stamping and verification come next.
//!
//! Invariants: every digest is over the raw bytes of the package part as
//! stored (never a re-serialised XML); packages are read within size limits
//! (zip bombs); a document that could be read always gets a report.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod error;
mod ofd;
mod ofd_stamp;
mod signed_data;
mod xml;

pub use error::{Error, Result};
pub use ofd::{
    MAX_PACKAGE_ENTRIES, MAX_PACKAGE_LEN, MAX_PART_LEN, OfdPackage, OfdSignature, verify_ofd,
};
pub use ofd_stamp::{Placement, sign_ofd, stamp_ofd};
pub use signed_data::{CmsSummary, CmsVerifyContext, verify_detached_cms};
