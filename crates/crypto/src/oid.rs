//! Object identifiers used by this crate (and re-used by the crates above it).
//!
//! Sources: GM/T 0006 (national algorithm OIDs), RFC 5480 (EC keys), RFC 8410
//! (Ed25519), RFC 4055 / RFC 8017 (RSA), RFC 8018 (PBES2).

use der::asn1::ObjectIdentifier as Oid;

/// SM2 curve (`sm2p256v1`), also the "SM2 algorithm" OID some producers put in
/// place of id-ecPublicKey: 1.2.156.10197.1.301.
pub const SM2_CURVE: Oid = Oid::new_unwrap("1.2.156.10197.1.301");
/// SM2 signature inside GB/T 35275 / CMS SignerInfo: 1.2.156.10197.1.301.1.
pub const SM2_SIGN: Oid = Oid::new_unwrap("1.2.156.10197.1.301.1");
/// sm2sign-with-sm3 (certificates, CRLs, OCSP, seals): 1.2.156.10197.1.501.
pub const SM2_WITH_SM3: Oid = Oid::new_unwrap("1.2.156.10197.1.501");
/// SM3: 1.2.156.10197.1.401.
pub const SM3: Oid = Oid::new_unwrap("1.2.156.10197.1.401");
/// hmacWithSM3 (PBKDF2 PRF): 1.2.156.10197.1.401.2.
pub const HMAC_WITH_SM3: Oid = Oid::new_unwrap("1.2.156.10197.1.401.2");
/// SM4-CBC: 1.2.156.10197.1.104.2.
pub const SM4_CBC: Oid = Oid::new_unwrap("1.2.156.10197.1.104.2");

/// id-ecPublicKey (RFC 5480): 1.2.840.10045.2.1.
pub const EC_PUBLIC_KEY: Oid = Oid::new_unwrap("1.2.840.10045.2.1");
/// NIST P-256 (secp256r1): 1.2.840.10045.3.1.7.
pub const P256: Oid = Oid::new_unwrap("1.2.840.10045.3.1.7");
/// NIST P-384 (secp384r1): 1.3.132.0.34.
pub const P384: Oid = Oid::new_unwrap("1.3.132.0.34");
/// ecdsa-with-SHA256: 1.2.840.10045.4.3.2.
pub const ECDSA_WITH_SHA256: Oid = Oid::new_unwrap("1.2.840.10045.4.3.2");
/// ecdsa-with-SHA384: 1.2.840.10045.4.3.3.
pub const ECDSA_WITH_SHA384: Oid = Oid::new_unwrap("1.2.840.10045.4.3.3");
/// Ed25519 (RFC 8410): 1.3.101.112.
pub const ED25519: Oid = Oid::new_unwrap("1.3.101.112");

/// rsaEncryption: 1.2.840.113549.1.1.1.
pub const RSA_ENCRYPTION: Oid = Oid::new_unwrap("1.2.840.113549.1.1.1");
/// RSASSA-PSS: 1.2.840.113549.1.1.10.
pub const RSA_PSS: Oid = Oid::new_unwrap("1.2.840.113549.1.1.10");
/// id-mgf1: 1.2.840.113549.1.1.8.
pub const MGF1: Oid = Oid::new_unwrap("1.2.840.113549.1.1.8");
/// sha256WithRSAEncryption: 1.2.840.113549.1.1.11.
pub const SHA256_WITH_RSA: Oid = Oid::new_unwrap("1.2.840.113549.1.1.11");
/// sha384WithRSAEncryption: 1.2.840.113549.1.1.12.
pub const SHA384_WITH_RSA: Oid = Oid::new_unwrap("1.2.840.113549.1.1.12");
/// sha512WithRSAEncryption: 1.2.840.113549.1.1.13.
pub const SHA512_WITH_RSA: Oid = Oid::new_unwrap("1.2.840.113549.1.1.13");

/// SHA-256: 2.16.840.1.101.3.4.2.1.
pub const SHA256: Oid = Oid::new_unwrap("2.16.840.1.101.3.4.2.1");
/// SHA-384: 2.16.840.1.101.3.4.2.2.
pub const SHA384: Oid = Oid::new_unwrap("2.16.840.1.101.3.4.2.2");
/// SHA-512: 2.16.840.1.101.3.4.2.3.
pub const SHA512: Oid = Oid::new_unwrap("2.16.840.1.101.3.4.2.3");

/// PBES2 (RFC 8018): 1.2.840.113549.1.5.13.
pub const PBES2: Oid = Oid::new_unwrap("1.2.840.113549.1.5.13");
/// PBKDF2 (RFC 8018): 1.2.840.113549.1.5.12.
pub const PBKDF2: Oid = Oid::new_unwrap("1.2.840.113549.1.5.12");
/// hmacWithSHA256 (RFC 8018): 1.2.840.113549.2.9.
pub const HMAC_WITH_SHA256: Oid = Oid::new_unwrap("1.2.840.113549.2.9");
/// AES-128-CBC: 2.16.840.1.101.3.4.1.2.
pub const AES128_CBC: Oid = Oid::new_unwrap("2.16.840.1.101.3.4.1.2");
/// AES-256-CBC: 2.16.840.1.101.3.4.1.42.
pub const AES256_CBC: Oid = Oid::new_unwrap("2.16.840.1.101.3.4.1.42");
