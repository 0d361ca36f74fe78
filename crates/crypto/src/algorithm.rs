//! Signature algorithms, named by OID as they appear in X.509, CMS and seal files.

use crate::error::{Error, Result};
use crate::keys::KeyAlgorithm;
use crate::oid;
use der::asn1::{Any, ObjectIdentifier};
use der::{Decode, Encode, Sequence, Tagged};
use spki::AlgorithmIdentifierOwned;

/// A signature algorithm: key type plus hash and padding.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SignatureAlgorithm {
    /// SM2 with SM3 (GB/T 32918.2, GM/T 0009), OID 1.2.156.10197.1.501; in CMS also
    /// 1.2.156.10197.1.301.1. Signature: DER `SEQUENCE{r, s}` (raw `r‖s` read too).
    Sm2Sm3,
    /// ECDSA on P-256 with SHA-256 (ring), OID 1.2.840.10045.4.3.2; DER signature.
    EcdsaP256Sha256,
    /// ECDSA on P-384 with SHA-384 (ring, verify only), OID 1.2.840.10045.4.3.3.
    EcdsaP384Sha384,
    /// Ed25519 (RFC 8032, ring), OID 1.3.101.112; 64-byte signature.
    Ed25519,
    /// RSA PKCS#1 v1.5 with SHA-256 (ring, verify only).
    RsaPkcs1Sha256,
    /// RSA PKCS#1 v1.5 with SHA-384 (ring, verify only).
    RsaPkcs1Sha384,
    /// RSA PKCS#1 v1.5 with SHA-512 (ring, verify only).
    RsaPkcs1Sha512,
    /// RSASSA-PSS with SHA-256, MGF1-SHA-256, salt 32 (ring, verify only).
    RsaPssSha256,
    /// RSASSA-PSS with SHA-384, MGF1-SHA-384, salt 48 (ring, verify only).
    RsaPssSha384,
    /// RSASSA-PSS with SHA-512, MGF1-SHA-512, salt 64 (ring, verify only).
    RsaPssSha512,
}

impl SignatureAlgorithm {
    /// Every algorithm this crate knows, in a stable order.
    pub const ALL: [SignatureAlgorithm; 10] = [
        SignatureAlgorithm::Sm2Sm3,
        SignatureAlgorithm::EcdsaP256Sha256,
        SignatureAlgorithm::EcdsaP384Sha384,
        SignatureAlgorithm::Ed25519,
        SignatureAlgorithm::RsaPkcs1Sha256,
        SignatureAlgorithm::RsaPkcs1Sha384,
        SignatureAlgorithm::RsaPkcs1Sha512,
        SignatureAlgorithm::RsaPssSha256,
        SignatureAlgorithm::RsaPssSha384,
        SignatureAlgorithm::RsaPssSha512,
    ];

    /// The algorithm whose [`Self::name`] is `name`.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|a| a.name() == name)
    }

    /// A short stable name (`sm2-sm3`, `ecdsa-p256-sha256`, `ed25519`, …).
    pub fn name(self) -> &'static str {
        use SignatureAlgorithm::*;
        match self {
            Sm2Sm3 => "sm2-sm3",
            EcdsaP256Sha256 => "ecdsa-p256-sha256",
            EcdsaP384Sha384 => "ecdsa-p384-sha384",
            Ed25519 => "ed25519",
            RsaPkcs1Sha256 => "rsa-pkcs1-sha256",
            RsaPkcs1Sha384 => "rsa-pkcs1-sha384",
            RsaPkcs1Sha512 => "rsa-pkcs1-sha512",
            RsaPssSha256 => "rsa-pss-sha256",
            RsaPssSha384 => "rsa-pss-sha384",
            RsaPssSha512 => "rsa-pss-sha512",
        }
    }

    /// The key algorithm this signature algorithm needs.
    pub fn key_algorithm(self) -> KeyAlgorithm {
        use SignatureAlgorithm::*;
        match self {
            Sm2Sm3 => KeyAlgorithm::Sm2,
            EcdsaP256Sha256 => KeyAlgorithm::EcdsaP256,
            EcdsaP384Sha384 => KeyAlgorithm::EcdsaP384,
            Ed25519 => KeyAlgorithm::Ed25519,
            _ => KeyAlgorithm::Rsa,
        }
    }

    /// The OID written into an `AlgorithmIdentifier` for this algorithm.
    pub fn oid(self) -> ObjectIdentifier {
        use SignatureAlgorithm::*;
        match self {
            Sm2Sm3 => oid::SM2_WITH_SM3,
            EcdsaP256Sha256 => oid::ECDSA_WITH_SHA256,
            EcdsaP384Sha384 => oid::ECDSA_WITH_SHA384,
            Ed25519 => oid::ED25519,
            RsaPkcs1Sha256 => oid::SHA256_WITH_RSA,
            RsaPkcs1Sha384 => oid::SHA384_WITH_RSA,
            RsaPkcs1Sha512 => oid::SHA512_WITH_RSA,
            RsaPssSha256 | RsaPssSha384 | RsaPssSha512 => oid::RSA_PSS,
        }
    }

    /// The DER `AlgorithmIdentifier` to write (GM/T 0015: SM2 with parameters
    /// absent; RFC 5758 ECDSA absent; RFC 8410 Ed25519 absent; RSA PKCS#1 NULL).
    /// PSS is verify-only and has no canonical form here.
    pub fn to_algorithm_identifier(self) -> AlgorithmIdentifierOwned {
        use SignatureAlgorithm::*;
        let parameters = match self {
            RsaPkcs1Sha256 | RsaPkcs1Sha384 | RsaPkcs1Sha512 => Some(Any::null()),
            _ => None,
        };
        AlgorithmIdentifierOwned {
            oid: self.oid(),
            parameters,
        }
    }

    /// Identify the algorithm from an `AlgorithmIdentifier` (OID plus parameters, which
    /// matter for RSASSA-PSS). For SM2 both 1.2.156.10197.1.501 and the CMS OID
    /// 1.2.156.10197.1.301.1 are accepted, with parameters absent or NULL.
    pub fn from_algorithm_identifier(ai: &AlgorithmIdentifierOwned) -> Result<Self> {
        use SignatureAlgorithm::*;
        let oid = ai.oid;
        let params_absent_or_null = ai
            .parameters
            .as_ref()
            .is_none_or(|p| p.tag() == der::Tag::Null && p.value().is_empty());
        let simple = if oid == oid::SM2_WITH_SM3 || oid == oid::SM2_SIGN {
            Some(Sm2Sm3)
        } else if oid == oid::ECDSA_WITH_SHA256 {
            Some(EcdsaP256Sha256)
        } else if oid == oid::ECDSA_WITH_SHA384 {
            Some(EcdsaP384Sha384)
        } else if oid == oid::ED25519 {
            Some(Ed25519)
        } else if oid == oid::SHA256_WITH_RSA {
            Some(RsaPkcs1Sha256)
        } else if oid == oid::SHA384_WITH_RSA {
            Some(RsaPkcs1Sha384)
        } else if oid == oid::SHA512_WITH_RSA {
            Some(RsaPkcs1Sha512)
        } else {
            None
        };
        if let Some(alg) = simple {
            if !params_absent_or_null {
                return Err(Error::malformed(
                    "signature AlgorithmIdentifier",
                    format!("{oid} must have absent or NULL parameters"),
                ));
            }
            return Ok(alg);
        }
        if oid == oid::RSA_PSS {
            return pss_from_params(ai.parameters.as_ref());
        }
        Err(Error::unsupported("signature algorithm", oid))
    }

    /// The algorithm named by a bare OID, as seal files carry it (`signAlgID`);
    /// only algorithms without parameters (not RSASSA-PSS).
    pub fn from_oid(oid: &ObjectIdentifier) -> Option<Self> {
        Self::from_algorithm_identifier(&AlgorithmIdentifierOwned {
            oid: *oid,
            parameters: None,
        })
        .ok()
    }

    /// [`Self::from_algorithm_identifier`] over DER bytes.
    pub fn from_algorithm_identifier_der(der: &[u8]) -> Result<Self> {
        let ai = AlgorithmIdentifierOwned::from_der(der)
            .map_err(|e| Error::malformed("signature AlgorithmIdentifier", e))?;
        Self::from_algorithm_identifier(&ai)
    }

    /// The DER encoding of [`Self::to_algorithm_identifier`].
    pub fn to_algorithm_identifier_der(self) -> Vec<u8> {
        self.to_algorithm_identifier()
            .to_der()
            .unwrap_or_else(|_| unreachable!("fixed AlgorithmIdentifier always encodes"))
    }
}

impl std::fmt::Display for SignatureAlgorithm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// `RSASSA-PSS-params` (RFC 4055 §3.1).
#[derive(Sequence)]
struct PssParams {
    #[asn1(context_specific = "0", tag_mode = "EXPLICIT", optional = "true")]
    hash: Option<AlgorithmIdentifierOwned>,
    #[asn1(context_specific = "1", tag_mode = "EXPLICIT", optional = "true")]
    mgf: Option<AlgorithmIdentifierOwned>,
    #[asn1(context_specific = "2", tag_mode = "EXPLICIT", optional = "true")]
    salt_length: Option<u32>,
    #[asn1(context_specific = "3", tag_mode = "EXPLICIT", optional = "true")]
    trailer_field: Option<u32>,
}

fn pss_from_params(params: Option<&Any>) -> Result<SignatureAlgorithm> {
    let params = params.ok_or_else(|| Error::malformed("RSASSA-PSS parameters", "missing"))?;
    let p: PssParams = params
        .decode_as()
        .map_err(|e| Error::malformed("RSASSA-PSS parameters", e))?;
    let hash = p
        .hash
        .map(|h| h.oid)
        .unwrap_or(ObjectIdentifier::new_unwrap("1.3.14.3.2.26"));
    let (alg, salt) = if hash == oid::SHA256 {
        (SignatureAlgorithm::RsaPssSha256, 32)
    } else if hash == oid::SHA384 {
        (SignatureAlgorithm::RsaPssSha384, 48)
    } else if hash == oid::SHA512 {
        (SignatureAlgorithm::RsaPssSha512, 64)
    } else {
        return Err(Error::unsupported("RSASSA-PSS hash", hash));
    };
    let mgf_ok = p.mgf.as_ref().is_some_and(|m| {
        m.oid == oid::MGF1
            && m.parameters
                .as_ref()
                .and_then(|a| a.decode_as::<AlgorithmIdentifierOwned>().ok())
                .is_some_and(|h| h.oid == hash)
    });
    if !mgf_ok {
        return Err(Error::unsupported(
            "RSASSA-PSS mask generation",
            "only MGF1 with the message hash",
        ));
    }
    if p.salt_length.unwrap_or(20) != salt || p.trailer_field.unwrap_or(1) != 1 {
        return Err(Error::unsupported(
            "RSASSA-PSS parameters",
            format!("salt length must equal the hash length ({salt}) and trailer 1"),
        ));
    }
    Ok(alg)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sm2_algorithm_identifier_is_the_gmt_0015_bytes() {
        assert_eq!(
            SignatureAlgorithm::Sm2Sm3.to_algorithm_identifier_der(),
            [
                0x30, 0x0a, 0x06, 0x08, 0x2a, 0x81, 0x1c, 0xcf, 0x55, 0x01, 0x83, 0x75
            ]
        );
    }

    #[test]
    fn sm2_with_null_parameters_is_accepted() {
        let der = [
            0x30, 0x0c, 0x06, 0x08, 0x2a, 0x81, 0x1c, 0xcf, 0x55, 0x01, 0x83, 0x75, 0x05, 0x00,
        ];
        assert_eq!(
            SignatureAlgorithm::from_algorithm_identifier_der(&der).unwrap(),
            SignatureAlgorithm::Sm2Sm3
        );
    }

    #[test]
    fn names_round_trip() {
        for alg in SignatureAlgorithm::ALL {
            assert_eq!(SignatureAlgorithm::from_name(alg.name()), Some(alg));
        }
        assert_eq!(SignatureAlgorithm::from_name("md5"), None);
    }

    #[test]
    fn round_trip_every_writable_algorithm() {
        use SignatureAlgorithm::*;
        for alg in [
            Sm2Sm3,
            EcdsaP256Sha256,
            EcdsaP384Sha384,
            Ed25519,
            RsaPkcs1Sha256,
            RsaPkcs1Sha384,
            RsaPkcs1Sha512,
        ] {
            let der = alg.to_algorithm_identifier_der();
            assert_eq!(
                SignatureAlgorithm::from_algorithm_identifier_der(&der).unwrap(),
                alg
            );
        }
    }

    #[test]
    fn unknown_oid_is_unsupported_not_a_panic() {
        let der = [0x30, 0x05, 0x06, 0x03, 0x2a, 0x03, 0x04];
        assert!(matches!(
            SignatureAlgorithm::from_algorithm_identifier_der(&der),
            Err(Error::Unsupported { .. })
        ));
        assert!(SignatureAlgorithm::from_algorithm_identifier_der(&[0x30]).is_err());
    }
}
