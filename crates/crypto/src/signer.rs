//! The one signing and verification abstraction every other crate uses.
//!
//! [`Signer`] is implemented by [`PrivateKey`] (software keys) and is the seam for a
//! hardware module (PKCS#11, GM/T 0018 SDF) or a remote signer: callers hold a
//! `&dyn Signer` and never see key bytes. [`Verifier`] is the seam for a faster
//! verification backend (e.g. an assembly SM2): callers hold a `&dyn Verifier`,
//! [`SoftwareVerifier`] is the default.

use crate::algorithm::SignatureAlgorithm;
use crate::error::{Error, Result};
use crate::keys::{KeyAlgorithm, PrivateKey, PublicKey};

/// Something that signs with one key and one algorithm.
///
/// `sign` returns the signature in the encoding X.509 and CMS use for the
/// algorithm: DER `SEQUENCE{r, s}` for SM2 and ECDSA, 64 raw bytes for Ed25519.
/// For SM2 the message is hashed with the signer's distinguishing ID
/// (`SM3(Z_A ‖ message)`).
pub trait Signer: Send + Sync {
    /// The signature algorithm produced.
    fn algorithm(&self) -> SignatureAlgorithm;

    /// The public key that verifies this signer's signatures.
    fn public_key(&self) -> &PublicKey;

    /// Sign `message`.
    fn sign(&self, message: &[u8]) -> Result<Vec<u8>>;
}

impl Signer for PrivateKey {
    fn algorithm(&self) -> SignatureAlgorithm {
        match self.algorithm() {
            KeyAlgorithm::Sm2 => SignatureAlgorithm::Sm2Sm3,
            KeyAlgorithm::EcdsaP256 => SignatureAlgorithm::EcdsaP256Sha256,
            KeyAlgorithm::Ed25519 => SignatureAlgorithm::Ed25519,
            // PrivateKey can only be built for the three families above.
            KeyAlgorithm::EcdsaP384 | KeyAlgorithm::Rsa => {
                unreachable!("no private keys of this family")
            }
        }
    }

    fn public_key(&self) -> &PublicKey {
        PrivateKey::public_key(self)
    }

    fn sign(&self, message: &[u8]) -> Result<Vec<u8>> {
        PrivateKey::sign(self, message)
    }
}

/// A boxed signer signs as the signer in it: a key chosen at run time (a file,
/// a PKCS#11 token, a GM/T 0018 device) is a `Box<dyn Signer>`.
impl<S: Signer + ?Sized> Signer for Box<S> {
    fn algorithm(&self) -> SignatureAlgorithm {
        (**self).algorithm()
    }

    fn public_key(&self) -> &PublicKey {
        (**self).public_key()
    }

    fn sign(&self, message: &[u8]) -> Result<Vec<u8>> {
        (**self).sign(message)
    }
}

/// Something that checks signatures.
///
/// Returns `Ok(())` only when `signature` is a valid signature by `key` over
/// `message` under `algorithm`. [`Error::BadSignature`] and
/// [`Error::MalformedSignature`] mean "not valid"; [`Error::AlgorithmMismatch`] and
/// [`Error::Unsupported`] mean the question could not be asked.
pub trait Verifier: Send + Sync {
    /// Verify one signature.
    fn verify(
        &self,
        key: &PublicKey,
        algorithm: SignatureAlgorithm,
        message: &[u8],
        signature: &[u8],
    ) -> Result<()>;
}

/// The default verifier: RustCrypto `sm2` for SM2, ring for everything else.
///
/// SM2 signatures are accepted as DER (leniently decoded) or raw 64-byte `r‖s`;
/// ECDSA as DER; Ed25519 and RSA as raw bytes.
#[derive(Clone, Copy, Debug, Default)]
pub struct SoftwareVerifier;

impl Verifier for SoftwareVerifier {
    fn verify(
        &self,
        key: &PublicKey,
        algorithm: SignatureAlgorithm,
        message: &[u8],
        signature: &[u8],
    ) -> Result<()> {
        if algorithm.key_algorithm() != key.algorithm() {
            return Err(Error::AlgorithmMismatch {
                key: key.algorithm().name(),
                algorithm: algorithm.name(),
            });
        }
        if let Some(sm2) = key.as_sm2() {
            return sm2.verify(message, signature);
        }
        use ring::signature as rs;
        let alg: &dyn rs::VerificationAlgorithm = match algorithm {
            SignatureAlgorithm::EcdsaP256Sha256 => &rs::ECDSA_P256_SHA256_ASN1,
            SignatureAlgorithm::EcdsaP384Sha384 => &rs::ECDSA_P384_SHA384_ASN1,
            SignatureAlgorithm::Ed25519 => &rs::ED25519,
            SignatureAlgorithm::RsaPkcs1Sha256 => &rs::RSA_PKCS1_2048_8192_SHA256,
            SignatureAlgorithm::RsaPkcs1Sha384 => &rs::RSA_PKCS1_2048_8192_SHA384,
            SignatureAlgorithm::RsaPkcs1Sha512 => &rs::RSA_PKCS1_2048_8192_SHA512,
            SignatureAlgorithm::RsaPssSha256 => &rs::RSA_PSS_2048_8192_SHA256,
            SignatureAlgorithm::RsaPssSha384 => &rs::RSA_PSS_2048_8192_SHA384,
            SignatureAlgorithm::RsaPssSha512 => &rs::RSA_PSS_2048_8192_SHA512,
            SignatureAlgorithm::Sm2Sm3 => unreachable!("handled above"),
        };
        if let Some(bits) = key.rsa_bits()
            && !(2048..=8192).contains(&bits)
        {
            return Err(Error::unsupported(
                "RSA key size",
                format!("{bits} bits (2048 to 8192 accepted)"),
            ));
        }
        let raw = key.ring_parts().unwrap_or_default();
        rs::UnparsedPublicKey::new(alg, raw)
            .verify(message, signature)
            .map_err(|_| Error::BadSignature)
    }
}
