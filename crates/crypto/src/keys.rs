//! Public and private keys: SPKI, PKCS#8 (plain and PBES2-encrypted), SEC1, PEM.
//!
//! SM2 keys are written exactly as OpenSSL 3 writes them (id-ecPublicKey with the
//! SM2 curve OID, ECPrivateKey v1 with the public key and no inner parameters);
//! SM2 keys whose algorithm is the bare SM2 OID 1.2.156.10197.1.301 (some
//! Chinese toolkits) are read too. P-256 and Ed25519 signing goes through ring;
//! RSA and P-384 are verify-only.

use crate::algorithm::SignatureAlgorithm;
use crate::error::{Error, Result};
use crate::oid;
use crate::pbes2::{self, KeyEncryption};
use crate::sm2::{Sm2Id, Sm2PrivateKey, Sm2PublicKey};
use der::asn1::{Any, BitString, ObjectIdentifier, OctetString};
use der::{Decode, Encode, Tagged};
use pkcs8::PrivateKeyInfoOwned;
use ring::signature::KeyPair;
use spki::{AlgorithmIdentifierOwned, SubjectPublicKeyInfoOwned};
use std::fmt;
use zeroize::Zeroizing;

/// Largest key file (PEM or DER) accepted, in bytes. Real keys are < 10 KiB.
pub const MAX_KEY_FILE_LEN: usize = 64 * 1024;

/// The algorithm family of a key.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum KeyAlgorithm {
    /// SM2 (GB/T 32918) on the recommended curve.
    Sm2,
    /// ECDSA on NIST P-256.
    EcdsaP256,
    /// ECDSA on NIST P-384 (verify only).
    EcdsaP384,
    /// Ed25519.
    Ed25519,
    /// RSA (verify only).
    Rsa,
}

impl KeyAlgorithm {
    /// Short stable name (`sm2`, `p256`, `p384`, `ed25519`, `rsa`).
    pub fn name(self) -> &'static str {
        match self {
            KeyAlgorithm::Sm2 => "sm2",
            KeyAlgorithm::EcdsaP256 => "p256",
            KeyAlgorithm::EcdsaP384 => "p384",
            KeyAlgorithm::Ed25519 => "ed25519",
            KeyAlgorithm::Rsa => "rsa",
        }
    }

    /// The signature algorithm a key of this family signs with by default
    /// (RSA has none: several exist and we only verify them).
    pub fn default_signature_algorithm(self) -> Option<SignatureAlgorithm> {
        match self {
            KeyAlgorithm::Sm2 => Some(SignatureAlgorithm::Sm2Sm3),
            KeyAlgorithm::EcdsaP256 => Some(SignatureAlgorithm::EcdsaP256Sha256),
            KeyAlgorithm::EcdsaP384 => Some(SignatureAlgorithm::EcdsaP384Sha384),
            KeyAlgorithm::Ed25519 => Some(SignatureAlgorithm::Ed25519),
            KeyAlgorithm::Rsa => None,
        }
    }
}

impl fmt::Display for KeyAlgorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

// ---------------------------------------------------------------------------
// Public keys

/// A public key of any supported algorithm, read from SubjectPublicKeyInfo.
#[derive(Clone, PartialEq, Eq)]
pub struct PublicKey {
    inner: PublicInner,
}

#[derive(Clone, PartialEq, Eq)]
enum PublicInner {
    Sm2(Box<Sm2PublicKey>),
    /// Uncompressed SEC1 point, validated on the curve.
    P256(Vec<u8>),
    /// Uncompressed SEC1 point (validated by ring at verification).
    P384(Vec<u8>),
    Ed25519([u8; 32]),
    /// PKCS#1 RSAPublicKey DER and the modulus size in bits.
    Rsa(Vec<u8>, usize),
}

impl PublicKey {
    /// Parse DER `SubjectPublicKeyInfo` (RFC 5280 §4.1.2.7).
    pub fn from_spki_der(der: &[u8]) -> Result<Self> {
        let spki = SubjectPublicKeyInfoOwned::from_der(der)
            .map_err(|e| Error::malformed("SubjectPublicKeyInfo", e))?;
        let bits = spki.subject_public_key.as_bytes().ok_or_else(|| {
            Error::malformed(
                "SubjectPublicKeyInfo",
                "public key BIT STRING has unused bits",
            )
        })?;
        let alg = &spki.algorithm;
        let algorithm = if alg.oid == oid::EC_PUBLIC_KEY {
            match curve_param(alg)? {
                Some(c) if c == oid::SM2_CURVE => KeyAlgorithm::Sm2,
                Some(c) if c == oid::P256 => KeyAlgorithm::EcdsaP256,
                Some(c) if c == oid::P384 => KeyAlgorithm::EcdsaP384,
                Some(c) => return Err(Error::unsupported("elliptic curve", c)),
                None => return Err(Error::malformed("EC public key", "curve parameter missing")),
            }
        } else if alg.oid == oid::SM2_CURVE {
            KeyAlgorithm::Sm2
        } else if alg.oid == oid::ED25519 {
            KeyAlgorithm::Ed25519
        } else if alg.oid == oid::RSA_ENCRYPTION {
            KeyAlgorithm::Rsa
        } else {
            return Err(Error::unsupported("public key algorithm", alg.oid));
        };
        Self::from_raw(algorithm, bits)
    }

    /// A key of `algorithm` from its raw bytes as they sit in the SPKI BIT
    /// STRING ([`raw_bytes`](Self::raw_bytes)): an uncompressed SEC1 point
    /// (SM2, P-256 — checked on the curve —, P-384), the 32-byte Ed25519 key,
    /// or a PKCS#1 RSAPublicKey. What a hardware token or cipher machine hands
    /// out for the key it holds.
    pub fn from_raw(algorithm: KeyAlgorithm, raw: &[u8]) -> Result<Self> {
        let inner = match algorithm {
            KeyAlgorithm::Sm2 => PublicInner::Sm2(Box::new(Sm2PublicKey::from_sec1_bytes(raw)?)),
            KeyAlgorithm::EcdsaP256 => PublicInner::P256(validate_p256(raw)?),
            KeyAlgorithm::EcdsaP384 => PublicInner::P384(check_uncompressed(raw, 97, "P-384")?),
            KeyAlgorithm::Ed25519 => {
                let k: [u8; 32] = raw.try_into().map_err(|_| {
                    Error::InvalidKey(format!(
                        "Ed25519 public key must be 32 bytes, got {}",
                        raw.len()
                    ))
                })?;
                PublicInner::Ed25519(k)
            }
            KeyAlgorithm::Rsa => PublicInner::Rsa(raw.to_vec(), rsa_modulus_bits(raw)?),
        };
        Ok(PublicKey { inner })
    }

    /// Parse a PEM `PUBLIC KEY` block.
    pub fn from_pem(pem: &str) -> Result<Self> {
        let (label, der) = decode_pem(pem)?;
        if label != "PUBLIC KEY" {
            return Err(Error::malformed(
                "public key PEM",
                format!("expected a \"PUBLIC KEY\" block, found \"{label}\""),
            ));
        }
        Self::from_spki_der(&der)
    }

    /// Parse PEM or DER SubjectPublicKeyInfo, whichever `bytes` hold.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        check_size(bytes)?;
        if looks_like_pem(bytes) {
            let text =
                std::str::from_utf8(bytes).map_err(|_| Error::malformed("PEM", "not UTF-8"))?;
            Self::from_pem(text)
        } else {
            Self::from_spki_der(bytes)
        }
    }

    /// The key's algorithm family.
    pub fn algorithm(&self) -> KeyAlgorithm {
        match self.inner {
            PublicInner::Sm2(_) => KeyAlgorithm::Sm2,
            PublicInner::P256(_) => KeyAlgorithm::EcdsaP256,
            PublicInner::P384(_) => KeyAlgorithm::EcdsaP384,
            PublicInner::Ed25519(_) => KeyAlgorithm::Ed25519,
            PublicInner::Rsa(..) => KeyAlgorithm::Rsa,
        }
    }

    /// The SM2 key, when this is one.
    pub fn as_sm2(&self) -> Option<&Sm2PublicKey> {
        match &self.inner {
            PublicInner::Sm2(k) => Some(k),
            _ => None,
        }
    }

    /// The same key verifying SM2 signatures with `id` (no effect on other algorithms).
    pub fn with_sm2_id(&self, id: Sm2Id) -> Self {
        match &self.inner {
            PublicInner::Sm2(k) => PublicKey {
                inner: PublicInner::Sm2(Box::new(k.with_id(id))),
            },
            _ => self.clone(),
        }
    }

    /// The raw public key bytes as they sit in the SPKI BIT STRING (SEC1 point, Ed25519
    /// key, or PKCS#1 RSAPublicKey).
    pub fn raw_bytes(&self) -> Vec<u8> {
        match &self.inner {
            PublicInner::Sm2(k) => k.to_sec1_uncompressed().to_vec(),
            PublicInner::P256(p) | PublicInner::P384(p) => p.clone(),
            PublicInner::Ed25519(k) => k.to_vec(),
            PublicInner::Rsa(der, _) => der.clone(),
        }
    }

    /// Canonical DER `SubjectPublicKeyInfo` (the form OpenSSL writes).
    pub fn to_spki_der(&self) -> Vec<u8> {
        let algorithm = match &self.inner {
            PublicInner::Sm2(_) => ec_algorithm(oid::SM2_CURVE),
            PublicInner::P256(_) => ec_algorithm(oid::P256),
            PublicInner::P384(_) => ec_algorithm(oid::P384),
            PublicInner::Ed25519(_) => AlgorithmIdentifierOwned {
                oid: oid::ED25519,
                parameters: None,
            },
            PublicInner::Rsa(..) => AlgorithmIdentifierOwned {
                oid: oid::RSA_ENCRYPTION,
                parameters: Some(Any::null()),
            },
        };
        let spki = SubjectPublicKeyInfoOwned {
            algorithm,
            subject_public_key: BitString::from_bytes(&self.raw_bytes())
                .unwrap_or_else(|_| unreachable!("key bytes fit a BIT STRING")),
        };
        spki.to_der()
            .unwrap_or_else(|_| unreachable!("an SPKI built from a valid key always encodes"))
    }

    /// PEM `PUBLIC KEY`.
    pub fn to_pem(&self) -> String {
        encode_pem("PUBLIC KEY", &self.to_spki_der())
    }

    /// Verify `signature` over `message` with the default software verifier.
    /// See [`crate::Verifier`] for the rules.
    pub fn verify(
        &self,
        algorithm: SignatureAlgorithm,
        message: &[u8],
        signature: &[u8],
    ) -> Result<()> {
        crate::signer::Verifier::verify(
            &crate::signer::SoftwareVerifier,
            self,
            algorithm,
            message,
            signature,
        )
    }

    pub(crate) fn ring_parts(&self) -> Option<&[u8]> {
        match &self.inner {
            PublicInner::P256(p) | PublicInner::P384(p) => Some(p),
            PublicInner::Ed25519(k) => Some(k),
            PublicInner::Rsa(der, _) => Some(der),
            PublicInner::Sm2(_) => None,
        }
    }

    /// RSA modulus size in bits (None for other algorithms).
    pub fn rsa_bits(&self) -> Option<usize> {
        match &self.inner {
            PublicInner::Rsa(_, bits) => Some(*bits),
            _ => None,
        }
    }

    fn from_sm2(k: Sm2PublicKey) -> Self {
        PublicKey {
            inner: PublicInner::Sm2(Box::new(k)),
        }
    }
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.inner {
            PublicInner::Sm2(k) => write!(f, "PublicKey({k:?})"),
            PublicInner::Rsa(_, bits) => write!(f, "PublicKey(rsa {bits} bits)"),
            _ => write!(
                f,
                "PublicKey({}, {})",
                self.algorithm(),
                hex_short(&self.raw_bytes())
            ),
        }
    }
}

fn hex_short(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn ec_algorithm(curve: ObjectIdentifier) -> AlgorithmIdentifierOwned {
    AlgorithmIdentifierOwned {
        oid: oid::EC_PUBLIC_KEY,
        parameters: Some(Any::from(&curve)),
    }
}

fn curve_param(alg: &AlgorithmIdentifierOwned) -> Result<Option<ObjectIdentifier>> {
    match &alg.parameters {
        None => Ok(None),
        Some(p) if p.tag() == der::Tag::Null => Ok(None),
        Some(p) => p.decode_as::<ObjectIdentifier>().map(Some).map_err(|_| {
            Error::unsupported("EC parameters", "only named curves (an OID) are supported")
        }),
    }
}

fn check_uncompressed(bits: &[u8], len: usize, name: &str) -> Result<Vec<u8>> {
    if bits.len() != len || bits[0] != 4 {
        return Err(Error::InvalidKey(format!(
            "{name} public key must be an uncompressed point of {len} bytes"
        )));
    }
    Ok(bits.to_vec())
}

fn validate_p256(bits: &[u8]) -> Result<Vec<u8>> {
    let pk = p256::PublicKey::from_sec1_bytes(bits)
        .map_err(|_| Error::InvalidKey("P-256 public key is not a point on the curve".into()))?;
    use p256::elliptic_curve::sec1::ToSec1Point;
    Ok(pk.as_affine().to_sec1_point(false).as_bytes().to_vec())
}

fn rsa_modulus_bits(pkcs1: &[u8]) -> Result<usize> {
    // RSAPublicKey ::= SEQUENCE { modulus INTEGER, publicExponent INTEGER } (RFC 8017 A.1.1)
    let any =
        der::asn1::AnyRef::from_der(pkcs1).map_err(|e| Error::malformed("RSA public key", e))?;
    any.sequence(|r| -> der::Result<usize> {
        let n = der::asn1::UintRef::decode(r)?;
        let _e = der::asn1::UintRef::decode(r)?;
        let b = n.as_bytes();
        Ok(b.len() * 8 - b.first().map_or(8, |x| x.leading_zeros() as usize))
    })
    .map_err(|e| Error::malformed("RSA public key", e))
}

// ---------------------------------------------------------------------------
// Private keys

/// A private key that can sign. Secret material is zeroized on drop and redacted
/// in `Debug`.
pub struct PrivateKey {
    inner: PrivateInner,
    public: PublicKey,
}

enum PrivateInner {
    Sm2(Sm2PrivateKey),
    P256 {
        pair: ring::signature::EcdsaKeyPair,
        pkcs8: Zeroizing<Vec<u8>>,
    },
    Ed25519 {
        pair: ring::signature::Ed25519KeyPair,
        pkcs8: Zeroizing<Vec<u8>>,
    },
}

impl PrivateKey {
    /// Generate a fresh key from the operating system's RNG.
    pub fn generate(algorithm: KeyAlgorithm) -> Result<Self> {
        match algorithm {
            KeyAlgorithm::Sm2 => Ok(Self::from_sm2(Sm2PrivateKey::generate()?)),
            KeyAlgorithm::EcdsaP256 => {
                let doc = ring::signature::EcdsaKeyPair::generate_pkcs8(
                    &ring::signature::ECDSA_P256_SHA256_ASN1_SIGNING,
                    &ring::rand::SystemRandom::new(),
                )
                .map_err(|_| Error::Rng)?;
                Self::from_pkcs8_der(doc.as_ref())
            }
            KeyAlgorithm::Ed25519 => {
                let mut seed = Zeroizing::new([0u8; 32]);
                getrandom::fill(seed.as_mut()).map_err(|_| Error::Rng)?;
                Self::ed25519_from_seed(&seed)
            }
            other => Err(Error::unsupported("key generation", other)),
        }
    }

    /// Wrap an SM2 key.
    pub fn from_sm2(key: Sm2PrivateKey) -> Self {
        let public = PublicKey::from_sm2(key.public_key().clone());
        PrivateKey {
            inner: PrivateInner::Sm2(key),
            public,
        }
    }

    /// Read a key file: PEM (`PRIVATE KEY`, `ENCRYPTED PRIVATE KEY`, `EC PRIVATE KEY`,
    /// `SM2 PRIVATE KEY`) or DER (PKCS#8, encrypted PKCS#8, SEC1). `passphrase` is
    /// needed for encrypted keys and ignored otherwise.
    pub fn from_bytes(bytes: &[u8], passphrase: Option<&[u8]>) -> Result<Self> {
        check_size(bytes)?;
        if looks_like_pem(bytes) {
            let text =
                std::str::from_utf8(bytes).map_err(|_| Error::malformed("PEM", "not UTF-8"))?;
            let (label, der) = decode_pem(text)?;
            let der = Zeroizing::new(der);
            return match label.as_str() {
                "PRIVATE KEY" => Self::from_pkcs8_der(&der),
                "ENCRYPTED PRIVATE KEY" => Self::from_encrypted_pkcs8_der(
                    &der,
                    passphrase.ok_or(Error::PassphraseRequired)?,
                ),
                "EC PRIVATE KEY" | "SM2 PRIVATE KEY" => Self::from_sec1_der(&der),
                other => Err(Error::malformed(
                    "private key PEM",
                    format!(
                        "unexpected block \"{other}\" (want PRIVATE KEY or ENCRYPTED PRIVATE KEY)"
                    ),
                )),
            };
        }
        if pbes2::is_encrypted_pkcs8(bytes) {
            return Self::from_encrypted_pkcs8_der(
                bytes,
                passphrase.ok_or(Error::PassphraseRequired)?,
            );
        }
        match Self::from_pkcs8_der(bytes) {
            Ok(k) => Ok(k),
            Err(pkcs8_err) => Self::from_sec1_der(bytes).map_err(|_| pkcs8_err),
        }
    }

    /// Parse unencrypted PKCS#8 `PrivateKeyInfo` (v1 or v2) DER.
    pub fn from_pkcs8_der(der: &[u8]) -> Result<Self> {
        let pki = PrivateKeyInfoOwned::from_der(der)
            .map_err(|e| Error::malformed("PKCS#8 private key", e))?;
        let key_bytes = pki.private_key.as_bytes();
        let alg = &pki.algorithm;
        if alg.oid == oid::EC_PUBLIC_KEY || alg.oid == oid::SM2_CURVE {
            let outer = if alg.oid == oid::SM2_CURVE {
                Some(oid::SM2_CURVE)
            } else {
                curve_param(alg)?
            };
            Self::from_ec_private_key(key_bytes, outer)
        } else if alg.oid == oid::ED25519 {
            let inner = OctetString::from_der(key_bytes)
                .map_err(|e| Error::malformed("Ed25519 private key", e))?;
            let seed: &[u8; 32] = inner.as_bytes().try_into().map_err(|_| {
                Error::InvalidKey(format!(
                    "Ed25519 seed must be 32 bytes, got {}",
                    inner.as_bytes().len()
                ))
            })?;
            let key = Self::ed25519_from_seed(seed)?;
            if let Some(pk) = &pki.public_key
                && key.public.raw_bytes() != pk.raw_bytes()
            {
                return Err(Error::InvalidKey(
                    "embedded Ed25519 public key does not match the seed".into(),
                ));
            }
            Ok(key)
        } else {
            Err(Error::unsupported("private key algorithm", alg.oid))
        }
    }

    /// Parse SEC1 `ECPrivateKey` DER (RFC 5915); the curve must be named inside.
    pub fn from_sec1_der(der: &[u8]) -> Result<Self> {
        Self::from_ec_private_key(der, None)
    }

    /// Parse PBES2-encrypted PKCS#8 (`EncryptedPrivateKeyInfo`) DER.
    pub fn from_encrypted_pkcs8_der(der: &[u8], passphrase: &[u8]) -> Result<Self> {
        let plain = pbes2::decrypt(der, passphrase)?;
        // A wrong passphrase yields valid padding about once in 256 tries; the
        // PKCS#8 parse then fails, which is still a decryption failure to the user.
        Self::from_pkcs8_der(&plain).map_err(|_| Error::Decryption)
    }

    fn from_ec_private_key(der: &[u8], outer_curve: Option<ObjectIdentifier>) -> Result<Self> {
        let ec =
            sec1::EcPrivateKey::from_der(der).map_err(|e| Error::malformed("EC private key", e))?;
        let inner_curve = ec.parameters.and_then(|p| p.named_curve());
        let curve = match (outer_curve, inner_curve) {
            (Some(a), Some(b)) if a != b => {
                return Err(Error::malformed(
                    "EC private key",
                    "inner and outer curve OIDs differ",
                ));
            }
            (Some(a), _) | (None, Some(a)) => a,
            (None, None) => return Err(Error::malformed("EC private key", "no curve named")),
        };
        let d = ec.private_key;
        let embedded_pub = ec.public_key;
        let key = if curve == oid::SM2_CURVE {
            // Some producers strip leading zero bytes of d: left-pad to 32.
            if d.len() > 32 {
                return Err(Error::InvalidKey(format!(
                    "SM2 private key has {} bytes",
                    d.len()
                )));
            }
            let mut padded = Zeroizing::new([0u8; 32]);
            padded[32 - d.len()..].copy_from_slice(d);
            Self::from_sm2(Sm2PrivateKey::from_bytes(padded.as_ref())?)
        } else if curve == oid::P256 {
            let sk = p256::SecretKey::from_slice(d)
                .map_err(|_| Error::InvalidKey("P-256 private key out of range".into()))?;
            let pkcs8 = p256_pkcs8(&sk)?;
            let pair = ring::signature::EcdsaKeyPair::from_pkcs8(
                &ring::signature::ECDSA_P256_SHA256_ASN1_SIGNING,
                &pkcs8,
                &ring::rand::SystemRandom::new(),
            )
            .map_err(|e| Error::InvalidKey(format!("P-256 key rejected by ring: {e}")))?;
            let public = PublicKey {
                inner: PublicInner::P256(pair.public_key().as_ref().to_vec()),
            };
            PrivateKey {
                inner: PrivateInner::P256 { pair, pkcs8 },
                public,
            }
        } else {
            return Err(Error::unsupported("curve for signing", curve));
        };
        if let Some(pk) = embedded_pub
            && pk != key.public.raw_bytes().as_slice()
        {
            return Err(Error::InvalidKey(
                "embedded public key does not match the private key".into(),
            ));
        }
        Ok(key)
    }

    fn ed25519_from_seed(seed: &[u8; 32]) -> Result<Self> {
        let pair = ring::signature::Ed25519KeyPair::from_seed_unchecked(seed)
            .map_err(|e| Error::InvalidKey(format!("Ed25519 seed rejected: {e}")))?;
        // PKCS#8 v1 per RFC 8410 §7, as OpenSSL writes it.
        let mut pkcs8 = Zeroizing::new(vec![
            0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22,
            0x04, 0x20,
        ]);
        pkcs8.extend_from_slice(seed);
        let mut pk = [0u8; 32];
        pk.copy_from_slice(pair.public_key().as_ref());
        Ok(PrivateKey {
            inner: PrivateInner::Ed25519 { pair, pkcs8 },
            public: PublicKey {
                inner: PublicInner::Ed25519(pk),
            },
        })
    }

    /// The key's algorithm family.
    pub fn algorithm(&self) -> KeyAlgorithm {
        self.public.algorithm()
    }

    /// The public key.
    pub fn public_key(&self) -> &PublicKey {
        &self.public
    }

    /// The SM2 key, when this is one.
    pub fn as_sm2(&self) -> Option<&Sm2PrivateKey> {
        match &self.inner {
            PrivateInner::Sm2(k) => Some(k),
            _ => None,
        }
    }

    /// The same key signing SM2 with `id` (no effect on other algorithms).
    pub fn with_sm2_id(self, id: Sm2Id) -> Self {
        match self.inner {
            PrivateInner::Sm2(k) => Self::from_sm2(k.with_id(id)),
            inner => PrivateKey {
                inner,
                public: self.public,
            },
        }
    }

    /// Unencrypted PKCS#8 v1 DER (as OpenSSL writes).
    pub fn to_pkcs8_der(&self) -> Zeroizing<Vec<u8>> {
        match &self.inner {
            PrivateInner::Sm2(k) => {
                let ec = sm2_ec_private_key(k);
                wrap_pkcs8(ec_algorithm(oid::SM2_CURVE), &ec)
            }
            PrivateInner::P256 { pkcs8, .. } | PrivateInner::Ed25519 { pkcs8, .. } => pkcs8.clone(),
        }
    }

    /// PEM `PRIVATE KEY`.
    pub fn to_pkcs8_pem(&self) -> Zeroizing<String> {
        Zeroizing::new(encode_pem("PRIVATE KEY", &self.to_pkcs8_der()))
    }

    /// PBES2-encrypted PKCS#8 DER.
    pub fn to_encrypted_pkcs8_der(
        &self,
        passphrase: &[u8],
        params: &KeyEncryption,
    ) -> Result<Vec<u8>> {
        pbes2::encrypt(&self.to_pkcs8_der(), passphrase, params)
    }

    /// PEM `ENCRYPTED PRIVATE KEY`.
    pub fn to_encrypted_pkcs8_pem(
        &self,
        passphrase: &[u8],
        params: &KeyEncryption,
    ) -> Result<String> {
        Ok(encode_pem(
            "ENCRYPTED PRIVATE KEY",
            &self.to_encrypted_pkcs8_der(passphrase, params)?,
        ))
    }

    /// SEC1 `ECPrivateKey` DER with the curve named (EC keys only).
    pub fn to_sec1_der(&self) -> Result<Zeroizing<Vec<u8>>> {
        match &self.inner {
            PrivateInner::Sm2(k) => {
                let d = k.to_bytes();
                let pk = k.public_key().to_sec1_uncompressed();
                encode_ec_private_key(d.as_ref(), Some(oid::SM2_CURVE), &pk)
            }
            PrivateInner::P256 { pkcs8, .. } => {
                let pki = PrivateKeyInfoOwned::from_der(pkcs8)
                    .map_err(|e| Error::malformed("PKCS#8 private key", e))?;
                let ec = sec1::EcPrivateKey::from_der(pki.private_key.as_bytes())
                    .map_err(|e| Error::malformed("EC private key", e))?;
                encode_ec_private_key(ec.private_key, Some(oid::P256), &self.public.raw_bytes())
            }
            PrivateInner::Ed25519 { .. } => Err(Error::unsupported(
                "SEC1 encoding",
                "ed25519 is not an EC key",
            )),
        }
    }

    /// Sign `message` with the key's default algorithm; see [`crate::Signer`].
    pub fn sign(&self, message: &[u8]) -> Result<Vec<u8>> {
        match &self.inner {
            PrivateInner::Sm2(k) => Ok(k.sign(message)?.to_der()),
            PrivateInner::P256 { pair, .. } => pair
                .sign(&ring::rand::SystemRandom::new(), message)
                .map(|s| s.as_ref().to_vec())
                .map_err(|_| Error::Signing("ring ECDSA signing failed")),
            PrivateInner::Ed25519 { pair, .. } => Ok(pair.sign(message).as_ref().to_vec()),
        }
    }
}

impl fmt::Debug for PrivateKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PrivateKey")
            .field("algorithm", &self.algorithm())
            .field("public", &self.public)
            .field("secret", &"<redacted>")
            .finish()
    }
}

fn sm2_ec_private_key(k: &Sm2PrivateKey) -> Zeroizing<Vec<u8>> {
    let d = k.to_bytes();
    let pk = k.public_key().to_sec1_uncompressed();
    // OpenSSL omits the inner parameters when the PKCS#8 algorithm names the curve.
    encode_ec_private_key(d.as_ref(), None, &pk)
        .unwrap_or_else(|_| unreachable!("fixed-size key encodes"))
}

fn encode_ec_private_key(
    d: &[u8],
    curve: Option<ObjectIdentifier>,
    public: &[u8],
) -> Result<Zeroizing<Vec<u8>>> {
    let ec = sec1::EcPrivateKey {
        private_key: d,
        parameters: curve.map(sec1::EcParameters::NamedCurve),
        public_key: Some(public),
    };
    ec.to_der()
        .map(Zeroizing::new)
        .map_err(|e| Error::malformed("EC private key", e))
}

fn wrap_pkcs8(algorithm: AlgorithmIdentifierOwned, key: &[u8]) -> Zeroizing<Vec<u8>> {
    let pki = PrivateKeyInfoOwned {
        algorithm,
        private_key: OctetString::new(key).unwrap_or_else(|_| unreachable!("small key fits")),
        public_key: None,
    };
    Zeroizing::new(
        pki.to_der()
            .unwrap_or_else(|_| unreachable!("PKCS#8 of a valid key encodes")),
    )
}

fn p256_pkcs8(sk: &p256::SecretKey) -> Result<Zeroizing<Vec<u8>>> {
    use p256::elliptic_curve::sec1::ToSec1Point;
    let d = Zeroizing::new(sk.to_bytes());
    let pk = sk.public_key().as_affine().to_sec1_point(false);
    let ec = encode_ec_private_key(d.as_ref(), None, pk.as_bytes())?;
    Ok(wrap_pkcs8(ec_algorithm(oid::P256), &ec))
}

// ---------------------------------------------------------------------------
// PEM helpers

fn check_size(bytes: &[u8]) -> Result<()> {
    if bytes.len() > MAX_KEY_FILE_LEN {
        return Err(Error::malformed(
            "key file",
            format!(
                "{} bytes is larger than the {MAX_KEY_FILE_LEN} accepted",
                bytes.len()
            ),
        ));
    }
    if bytes.is_empty() {
        return Err(Error::malformed("key file", "empty"));
    }
    Ok(())
}

fn looks_like_pem(bytes: &[u8]) -> bool {
    // DER keys start with a SEQUENCE tag; anything else is treated as text.
    bytes.first() != Some(&0x30)
}

/// Decode the first PEM block in `text` that is not a parameters block: a
/// leading `EC PARAMETERS` block (`openssl ecparam -genkey`) and the `SM2
/// PARAMETERS` block OpenSSL writes for SM2 are skipped (see [`crate::pem`]).
pub(crate) fn decode_pem(text: &str) -> Result<(String, Vec<u8>)> {
    crate::pem::decode_first(text, |label| !label.ends_with(" PARAMETERS"))
}

pub(crate) fn encode_pem(label: &'static str, der: &[u8]) -> String {
    crate::pem::encode(label, der)
}

#[cfg(test)]
mod tests;
