//! Object identifiers used in CMS, in dotted form.

/// id-data (PKCS#7).
pub const DATA: &str = "1.2.840.113549.1.7.1";
/// id-signedData (PKCS#7 / RFC 5652).
pub const SIGNED_DATA: &str = "1.2.840.113549.1.7.2";
/// data, GB/T 35275 (GM/T 0010).
pub const GM_DATA: &str = "1.2.156.10197.6.1.4.2.1";
/// signedData, GB/T 35275 (GM/T 0010).
pub const GM_SIGNED_DATA: &str = "1.2.156.10197.6.1.4.2.2";
/// id-ct-TSTInfo (RFC 3161).
pub const TST_INFO: &str = "1.2.840.113549.1.9.16.1.4";

/// contentType attribute.
pub const ATTR_CONTENT_TYPE: &str = "1.2.840.113549.1.9.3";
/// messageDigest attribute.
pub const ATTR_MESSAGE_DIGEST: &str = "1.2.840.113549.1.9.4";
/// signingTime attribute.
pub const ATTR_SIGNING_TIME: &str = "1.2.840.113549.1.9.5";
/// id-aa-signingCertificate (ESS, SHA-1).
pub const ATTR_SIGNING_CERTIFICATE: &str = "1.2.840.113549.1.9.16.2.12";
/// id-aa-signingCertificateV2 (RFC 5035).
pub const ATTR_SIGNING_CERTIFICATE_V2: &str = "1.2.840.113549.1.9.16.2.47";
/// id-aa-signatureTimeStampToken (RFC 3161 appendix A): unsigned attribute.
pub const ATTR_TIME_STAMP_TOKEN: &str = "1.2.840.113549.1.9.16.2.14";
/// Yinzheng's unsigned attribute carrying the GB/T 38540 SES_Signature (seal
/// picture and maker signature) next to a CMS signature. A UUID OID (X.667):
/// no registry arc is needed and nobody else uses it.
pub const ATTR_SES_SIGNATURE: &str = "2.25.126470958411352378218346045232465016901";

/// SM3.
pub const SM3: &str = "1.2.156.10197.1.401";
/// SHA-256.
pub const SHA256: &str = "2.16.840.1.101.3.4.2.1";
/// SHA-384.
pub const SHA384: &str = "2.16.840.1.101.3.4.2.2";
/// SHA-512.
pub const SHA512: &str = "2.16.840.1.101.3.4.2.3";
/// SM2 signature with SM3 (what OpenSSL writes in CMS).
pub const SM2_WITH_SM3: &str = "1.2.156.10197.1.501";
/// SM2 signature as GB/T 35275 names it in SignerInfo.
pub const SM2_SIGN: &str = "1.2.156.10197.1.301.1";
/// The SM2 curve / key OID, written by some vendors as a signature algorithm.
pub const SM2_KEY: &str = "1.2.156.10197.1.301";
/// id-ecPublicKey, written by some signers as the signature algorithm.
pub const EC_PUBLIC_KEY: &str = "1.2.840.10045.2.1";
/// ecdsa-with-SHA256.
pub const ECDSA_SHA256: &str = "1.2.840.10045.4.3.2";
/// ecdsa-with-SHA384.
pub const ECDSA_SHA384: &str = "1.2.840.10045.4.3.3";
/// rsaEncryption, written by many signers as the signature algorithm.
pub const RSA_ENCRYPTION: &str = "1.2.840.113549.1.1.1";
/// sha256WithRSAEncryption.
pub const RSA_SHA256: &str = "1.2.840.113549.1.1.11";
/// sha384WithRSAEncryption.
pub const RSA_SHA384: &str = "1.2.840.113549.1.1.12";
/// sha512WithRSAEncryption.
pub const RSA_SHA512: &str = "1.2.840.113549.1.1.13";
/// Ed25519.
pub const ED25519: &str = "1.3.101.112";
/// subjectKeyIdentifier extension.
pub const SUBJECT_KEY_IDENTIFIER: &str = "2.5.29.14";
