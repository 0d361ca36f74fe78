//! Certificate authority and validation for Yinzheng (印证): SM2 certificates
//! (GM/T 0015 / GB/T 20518 on RFC 5280), ECDSA P-256 as well, PKCS#10 intake,
//! CRLs, OCSP responses, path validation, and the [`VerificationReport`] every
//! later crate returns.
//!
//! Invariants: signatures are checked over the TBS bytes as received; CA keys
//! are encrypted at rest and loaded only for signing; leaf validity is clamped
//! to the issuer's notAfter; every issued certificate is recorded in the
//! domain's SQLite store before it is returned. Library functions never read
//! the clock for validation: the validation time is an argument.
//!
//! Start with [`TrustDomain`] (issue, revoke, CRL, OCSP) and [`Validator`]
//! (validate a certificate into a [`VerificationReport`]).
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod crl;
mod csr;
mod domain;
mod error;
pub mod ids;
pub mod ocsp;
mod profile;
mod report;
mod store;
mod validate;
mod x509;

pub use crl::{Crl, CrlEntry, reason_code, reason_name};
pub use csr::Csr;
pub use domain::{
    InitOptions, IssueRequest, Issued, KeySource, ROOT_ARL_FILE, TrustDomain, domain_dir,
    parse_name,
};
pub use error::{Error, Result};
pub use profile::{
    LOG_SIGNER_POLICY_DER, OID_ID_NUMBER, OID_USCC, Profile, Profiles, SEAL_MAKER_POLICY_DER,
    SubjectExtras, Urls, certificate_policy_ids, check_signer_purpose, eku_oid,
    has_extended_key_usage, is_seal_maker, key_identifier, uscc_of,
};
pub use report::{
    ChainElement, Check, CheckStatus, Indication, RevocationSource, SubIndication,
    VerificationReport,
};
pub use store::{CertStatus, StoredCert};
pub use validate::{RevocationPolicy, Validator};
pub use x509::{
    DerSignature, MAX_OBJECT_LEN, ParsedCert, X509Signer, der_tlv, pem, pem_blocks, rfc3339,
};
