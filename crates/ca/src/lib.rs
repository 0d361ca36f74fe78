//! The certificate authority of a Yinzheng (印证) trust domain: an SM2 (or
//! ECDSA P-256) root and issuing CAs, issuance under editable profiles,
//! revocation and hold, CRLs, OCSP responses and RFC 3161 time stamps, with
//! every issued certificate recorded in the certificate store (`ca.db`, or a
//! PostgreSQL schema) before it is returned.
//!
//! This is the stateful side. Reading and validating certificates, CRLs and
//! OCSP responses is `yinzheng-pki`, which keeps no state; verifiers and the
//! offline auditor depend on that alone.
//!
//! Invariants: CA keys are encrypted at rest and loaded only for signing; leaf
//! validity is clamped to the issuer's notAfter.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod demo;
mod domain;
mod error;
mod inventory;
mod key_ref;
mod store;

pub use domain::{
    CaKeyUris, InitOptions, IssueRequest, Issued, KeySource, PUBLISHED_CRL_HOURS, Passphrase,
    ROOT_ARL_FILE, ResponderRenewal, TrustDomain, domain_dir, parse_name,
};
pub use error::{Error, Result};
pub use inventory::{KeyCertificate, KeyEntry, KeyLocation, key_inventory};
pub use key_ref::{is_device_key, open_device_key, open_key_in, read_key_uri_file};
