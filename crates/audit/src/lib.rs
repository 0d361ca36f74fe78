//! The auditor's offline verifier (审计核验) of Yinzheng (印证): everything an
//! auditor checks is checked against a trust-anchors file they were given,
//! on a machine without network access, years after the fact, without
//! trusting the server that produced the files.
//!
//! What it verifies, each into one [`Outcome`] (the shared
//! [`yinzheng_pki::VerificationReport`] plus the time it judged signatures at
//! and why):
//! - sealed PDF and OFD files and detached CMS signatures ([`Auditor::verify_file`]);
//! - evidence bundles (`yinzheng license evidence`, format in `docs/FORMATS.md`):
//!   the sealed license files, certificates, revocation data, every lifecycle
//!   event and usage record with its inclusion proof, and the signed
//!   checkpoint ([`Auditor::verify_bundle`]);
//! - a whole log's tiles, recomputed from its entries ([`Auditor::audit_log`]),
//!   consistency between two checkpoints ([`Auditor::consistency`]) and one
//!   license's history proven entry by entry ([`Auditor::history`]);
//! - verification receipts of the verify server (`yinzheng-receipt/1`): the
//!   batch note signed by a log key, the body included in its root
//!   ([`Auditor::verify_receipt`]).
//!
//! Invariants:
//! - Trust comes only from [`TrustAnchors`]: root certificates, the SM2 user
//!   ID policy, the log's verifier keys and origin, optional witnesses with a
//!   quorum. Certificates, CRLs and proofs carried in a bundle are evidence to
//!   judge, never anchors.
//! - Signatures are judged at a proven time: a verified time stamp, else the
//!   time of the log entry that recorded the document (its inclusion proven to
//!   a signed checkpoint), else the current time; the report says which.
//! - Nothing here opens a socket; the binary's dependency tree holds no
//!   network crate (a test checks `cargo tree`).
//! - A finished check is an `Outcome`, even when it failed; [`Error`] means
//!   the input could not be used at all (unreadable trust file).
//!
//! Left to others: producing the files (the `yinzheng` CLI writes trust
//! files with `trust export` and bundles with `license evidence`).
//!
//! Start with [`TrustAnchors::from_toml`], then [`Auditor::new`].
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod archive;
mod auditor;
mod bundle;
mod error;
mod evidence_record;
mod html;
mod log;
mod outcome;
mod receipt;
mod trust;

pub use archive::{
    ARCHIVE_FORMAT, ArchiveLicense, ArchiveManifest, ArchiveRecord, ArchiveWriter,
    LOG_CHECKPOINT_ROLE, is_archive,
};
pub use auditor::{Auditor, NewestCheckpoint};
pub use bundle::{
    BUNDLE_FORMAT, BundleEvent, BundleUsage, BundleWriter, DocumentRef, MAX_BUNDLE_LEN,
    MAX_MEMBER_LEN, Manifest, RevocationRef, checkpoint_of as bundle_checkpoint,
    documents as bundle_documents,
};
pub use error::{Error, Result};
pub use html::render_html;
pub use log::parse_consistency_proof;
pub use outcome::{
    Outcome, PROPERTIES, Property, ProvenEvent, TimeBasis, TimeSource, properties_of,
};
pub use trust::{DomainAnchors, LogAnchors, TRUST_FORMAT, TrustAnchors, Witnesses};
