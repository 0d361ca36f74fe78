//! Certificates for Yinzheng (印证), read and validated: SM2 certificates
//! (GM/T 0015 / GB/T 20518 on RFC 5280), ECDSA P-256 as well, PKCS#10 intake,
//! CRLs, OCSP responses, path validation, and the [`VerificationReport`] every
//! later crate returns. It keeps no state: the certificate authority with its
//! store is `yinzheng-ca`, which builds on the [`issue`] building blocks here.
//!
//! Invariants: signatures are checked over the TBS bytes as received. Library
//! functions never read the clock for validation: the validation time is an
//! argument, and where a "now" is needed it comes from a [`Clock`].
//!
//! Start with [`Validator`] (validate a certificate into a
//! [`VerificationReport`]).
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod clock;
mod crl;
mod csr;
mod error;
pub mod ids;
pub mod ocsp;
mod profile;
mod report;
mod status;
mod validate;
mod x509;

pub use clock::{Clock, FixedClock, SystemClock, system_clock};
pub use crl::{Crl, CrlEntry, reason_code, reason_name};
pub use csr::Csr;
pub use error::{Error, Result};

/// Building blocks of issuance — certificate profiles, CRL and OCSP response
/// signing — for the CA (`yinzheng-ca`), which keeps the state. Nothing here
/// stores anything.
pub mod issue {
    pub use crate::crl::build as build_crl;
    pub use crate::ocsp::respond as ocsp_response;
    pub use crate::profile::{CertProfile, Kind};
    pub use crate::x509::{random_serial, x509_time};
}
pub use profile::{
    LOG_SIGNER_POLICY_DER, OID_ID_NUMBER, OID_USCC, Profile, Profiles, SEAL_MAKER_POLICY_DER,
    SubjectExtras, Urls, certificate_policy_ids, check_signer_purpose, eku_oid,
    has_extended_key_usage, is_seal_maker, key_identifier, uscc_of,
};
pub use report::{
    ChainElement, Check, CheckStatus, Indication, RevocationSource, SubIndication,
    VerificationReport,
};
pub use status::{CertStatus, StoredCert};
pub use validate::{RevocationPolicy, Validator};
pub use x509::{
    DerSignature, MAX_OBJECT_LEN, ParsedCert, X509Signer, der_tlv, pem, pem_blocks, rfc3339,
};
