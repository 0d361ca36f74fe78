//! Encrypted private keys: PKCS#8 `EncryptedPrivateKeyInfo` with PBES2 (RFC 8018 §6.2):
//! PBKDF2 with HMAC-SM3 (default) or HMAC-SHA256, and SM4-CBC (default) or AES-CBC.
//!
//! The default, PBKDF2-HMAC-SM3 + SM4-CBC, is what
//! `openssl pkcs8 -topk8 -v2 sm4-cbc -v2prf hmacWithSM3` writes in OpenSSL releases
//! that know hmacWithSM3. OpenSSL 3.0 (Debian 12) does not know that PRF at all;
//! [`KeyEncryption::openssl_3_0_compatible`] writes SM4-CBC with HMAC-SHA256, which
//! it reads (and writes with `-v2 sm4-cbc`). OpenSSL's own default (AES-256-CBC +
//! HMAC-SHA256) is read too.

use crate::error::{Error, Result};
use crate::oid;
use der::asn1::{Any, ObjectIdentifier, OctetString};
use der::{Decode, Encode, Sequence};
use spki::AlgorithmIdentifierOwned;
use zeroize::Zeroizing;

/// PBKDF2 iterations written by default. About 0.1 s on one core for HMAC-SM3.
pub const DEFAULT_ITERATIONS: u32 = 100_000;
/// Most PBKDF2 iterations accepted when reading (a file is not allowed to make us spin for minutes).
pub const MAX_ITERATIONS: u32 = 2_000_000;

/// The cipher that encrypts the key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum KeyCipher {
    /// SM4-CBC (GB/T 32907), OID 1.2.156.10197.1.104.2.
    Sm4Cbc,
    /// AES-128-CBC.
    Aes128Cbc,
    /// AES-256-CBC (OpenSSL's default for `pkcs8 -topk8`).
    Aes256Cbc,
}

/// The PBKDF2 pseudo-random function.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum KdfPrf {
    /// HMAC-SM3, OID 1.2.156.10197.1.401.2.
    HmacSm3,
    /// HMAC-SHA256, OID 1.2.840.113549.2.9.
    HmacSha256,
}

/// How to encrypt a private key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KeyEncryption {
    cipher: KeyCipher,
    prf: KdfPrf,
    iterations: u32,
}

impl Default for KeyEncryption {
    /// PBKDF2-HMAC-SM3, [`DEFAULT_ITERATIONS`], SM4-CBC.
    fn default() -> Self {
        KeyEncryption {
            cipher: KeyCipher::Sm4Cbc,
            prf: KdfPrf::HmacSm3,
            iterations: DEFAULT_ITERATIONS,
        }
    }
}

impl KeyEncryption {
    /// SM4-CBC with PBKDF2-HMAC-SHA256: readable by OpenSSL 3.0, which lacks hmacWithSM3.
    pub fn openssl_3_0_compatible() -> Self {
        KeyEncryption {
            prf: KdfPrf::HmacSha256,
            ..Self::default()
        }
    }

    /// Choose the cipher.
    pub fn with_cipher(mut self, cipher: KeyCipher) -> Self {
        self.cipher = cipher;
        self
    }

    /// Choose the PRF.
    pub fn with_prf(mut self, prf: KdfPrf) -> Self {
        self.prf = prf;
        self
    }

    /// Choose the iteration count (1 to [`MAX_ITERATIONS`]; clamped).
    pub fn with_iterations(mut self, iterations: u32) -> Self {
        self.iterations = iterations.clamp(1, MAX_ITERATIONS);
        self
    }

    /// The cipher.
    pub fn cipher(&self) -> KeyCipher {
        self.cipher
    }

    /// The PRF.
    pub fn prf(&self) -> KdfPrf {
        self.prf
    }

    /// The iteration count.
    pub fn iterations(&self) -> u32 {
        self.iterations
    }
}

/// `EncryptedPrivateKeyInfo` (RFC 5958 §3).
#[derive(Sequence)]
struct EncryptedPrivateKeyInfo {
    encryption_algorithm: AlgorithmIdentifierOwned,
    encrypted_data: OctetString,
}

/// `PBES2-params` (RFC 8018 A.4).
#[derive(Sequence)]
struct Pbes2Params {
    key_derivation_func: AlgorithmIdentifierOwned,
    encryption_scheme: AlgorithmIdentifierOwned,
}

/// `PBKDF2-params` (RFC 8018 A.2); the salt is the `specified` choice.
#[derive(Sequence)]
struct Pbkdf2Params {
    salt: OctetString,
    iteration_count: u32,
    #[asn1(optional = "true")]
    key_length: Option<u16>,
    #[asn1(optional = "true")]
    prf: Option<AlgorithmIdentifierOwned>,
}

/// True when `der` has the shape of an `EncryptedPrivateKeyInfo` rather than a
/// plain `PrivateKeyInfo` (whose first element is the version INTEGER).
pub(crate) fn is_encrypted_pkcs8(der: &[u8]) -> bool {
    EncryptedPrivateKeyInfo::from_der(der).is_ok()
}

/// Encrypt PKCS#8 `plain` under `passphrase`.
pub(crate) fn encrypt(plain: &[u8], passphrase: &[u8], params: &KeyEncryption) -> Result<Vec<u8>> {
    let mut salt = [0u8; 16];
    let mut iv = [0u8; 16];
    getrandom::fill(&mut salt).map_err(|_| Error::Rng)?;
    getrandom::fill(&mut iv).map_err(|_| Error::Rng)?;
    let key = derive(
        params.prf,
        passphrase,
        &salt,
        params.iterations,
        key_len(params.cipher),
    )?;
    let ciphertext = cbc_encrypt(params.cipher, &key, &iv, plain);

    let prf_oid = match params.prf {
        KdfPrf::HmacSm3 => oid::HMAC_WITH_SM3,
        KdfPrf::HmacSha256 => oid::HMAC_WITH_SHA256,
    };
    let kdf = Pbkdf2Params {
        salt: octets(&salt)?,
        iteration_count: params.iterations,
        key_length: None,
        prf: Some(AlgorithmIdentifierOwned {
            oid: prf_oid,
            parameters: Some(Any::null()),
        }),
    };
    let scheme = Pbes2Params {
        key_derivation_func: AlgorithmIdentifierOwned {
            oid: oid::PBKDF2,
            parameters: Some(any_of(&kdf)?),
        },
        encryption_scheme: AlgorithmIdentifierOwned {
            oid: cipher_oid(params.cipher),
            parameters: Some(any_of(&octets(&iv)?)?),
        },
    };
    let info = EncryptedPrivateKeyInfo {
        encryption_algorithm: AlgorithmIdentifierOwned {
            oid: oid::PBES2,
            parameters: Some(any_of(&scheme)?),
        },
        encrypted_data: octets(&ciphertext)?,
    };
    info.to_der()
        .map_err(|e| Error::malformed("EncryptedPrivateKeyInfo", e))
}

/// Decrypt an `EncryptedPrivateKeyInfo`, returning the PKCS#8 bytes.
pub(crate) fn decrypt(der: &[u8], passphrase: &[u8]) -> Result<Zeroizing<Vec<u8>>> {
    const WHAT: &str = "encrypted private key";
    let info = EncryptedPrivateKeyInfo::from_der(der).map_err(|e| Error::malformed(WHAT, e))?;
    if info.encryption_algorithm.oid != oid::PBES2 {
        return Err(Error::unsupported(
            "key encryption scheme",
            format!(
                "{} (only PBES2 is supported)",
                info.encryption_algorithm.oid
            ),
        ));
    }
    let pbes2: Pbes2Params = decode_params(&info.encryption_algorithm, WHAT)?;
    if pbes2.key_derivation_func.oid != oid::PBKDF2 {
        return Err(Error::unsupported(
            "key derivation function",
            format!(
                "{} (only PBKDF2 is supported)",
                pbes2.key_derivation_func.oid
            ),
        ));
    }
    let kdf: Pbkdf2Params = decode_params(&pbes2.key_derivation_func, WHAT)?;
    let prf = match kdf.prf.as_ref().map(|p| p.oid) {
        Some(o) if o == oid::HMAC_WITH_SM3 => KdfPrf::HmacSm3,
        Some(o) if o == oid::HMAC_WITH_SHA256 => KdfPrf::HmacSha256,
        Some(o) => return Err(Error::unsupported("PBKDF2 PRF", o)),
        None => {
            return Err(Error::unsupported(
                "PBKDF2 PRF",
                "hmacWithSHA1 (the default) is not accepted",
            ));
        }
    };
    let cipher = cipher_from_oid(&pbes2.encryption_scheme.oid)?;
    let iv: OctetString = decode_params(&pbes2.encryption_scheme, WHAT)?;
    if iv.as_bytes().len() != 16 {
        return Err(Error::malformed(
            WHAT,
            format!("IV must be 16 bytes, got {}", iv.as_bytes().len()),
        ));
    }
    if kdf.iteration_count == 0 || kdf.iteration_count > MAX_ITERATIONS {
        return Err(Error::malformed(
            WHAT,
            format!(
                "PBKDF2 iteration count {} outside 1..={MAX_ITERATIONS}",
                kdf.iteration_count
            ),
        ));
    }
    let want = key_len(cipher);
    if let Some(len) = kdf.key_length
        && usize::from(len) != want
    {
        return Err(Error::malformed(
            WHAT,
            format!("key length {len} does not match the cipher ({want})"),
        ));
    }
    if kdf.salt.as_bytes().len() > 1024 {
        return Err(Error::malformed(WHAT, "salt longer than 1024 bytes"));
    }
    let key = derive(
        prf,
        passphrase,
        kdf.salt.as_bytes(),
        kdf.iteration_count,
        want,
    )?;
    cbc_decrypt(cipher, &key, iv.as_bytes(), info.encrypted_data.as_bytes())
}

fn decode_params<T: for<'a> Decode<'a> + for<'a> der::DecodeValue<'a> + der::FixedTag>(
    ai: &AlgorithmIdentifierOwned,
    what: &'static str,
) -> Result<T> {
    ai.parameters
        .as_ref()
        .ok_or_else(|| Error::malformed(what, format!("parameters of {} missing", ai.oid)))?
        .decode_as::<T>()
        .map_err(|e| Error::malformed(what, format!("parameters of {}: {e}", ai.oid)))
}

fn any_of<T: Encode>(value: &T) -> Result<Any> {
    let der = value
        .to_der()
        .map_err(|e| Error::malformed("PBES2 parameters", e))?;
    Any::from_der(&der).map_err(|e| Error::malformed("PBES2 parameters", e))
}

fn octets(b: &[u8]) -> Result<OctetString> {
    OctetString::new(b).map_err(|e| Error::malformed("OCTET STRING", e))
}

fn cipher_oid(c: KeyCipher) -> ObjectIdentifier {
    match c {
        KeyCipher::Sm4Cbc => oid::SM4_CBC,
        KeyCipher::Aes128Cbc => oid::AES128_CBC,
        KeyCipher::Aes256Cbc => oid::AES256_CBC,
    }
}

fn cipher_from_oid(o: &ObjectIdentifier) -> Result<KeyCipher> {
    if *o == oid::SM4_CBC {
        Ok(KeyCipher::Sm4Cbc)
    } else if *o == oid::AES128_CBC {
        Ok(KeyCipher::Aes128Cbc)
    } else if *o == oid::AES256_CBC {
        Ok(KeyCipher::Aes256Cbc)
    } else {
        Err(Error::unsupported("key encryption cipher", o))
    }
}

fn key_len(c: KeyCipher) -> usize {
    match c {
        KeyCipher::Sm4Cbc | KeyCipher::Aes128Cbc => 16,
        KeyCipher::Aes256Cbc => 32,
    }
}

fn derive(
    prf: KdfPrf,
    passphrase: &[u8],
    salt: &[u8],
    iterations: u32,
    len: usize,
) -> Result<Zeroizing<Vec<u8>>> {
    let mut key = Zeroizing::new(vec![0u8; len]);
    match prf {
        KdfPrf::HmacSm3 => pbkdf2::pbkdf2_hmac::<sm3::Sm3>(passphrase, salt, iterations, &mut key),
        KdfPrf::HmacSha256 => {
            let n = std::num::NonZeroU32::new(iterations)
                .ok_or_else(|| Error::malformed("encrypted private key", "zero iterations"))?;
            ring::pbkdf2::derive(
                ring::pbkdf2::PBKDF2_HMAC_SHA256,
                n,
                salt,
                passphrase,
                &mut key,
            );
        }
    }
    Ok(key)
}

fn cbc_encrypt(cipher: KeyCipher, key: &[u8], iv: &[u8], plain: &[u8]) -> Vec<u8> {
    use cbc::cipher::{BlockModeEncrypt, KeyIvInit, block_padding::Pkcs7};
    fn run<C>(key: &[u8], iv: &[u8], plain: &[u8]) -> Vec<u8>
    where
        C: cbc::cipher::BlockCipherEncrypt + cbc::cipher::KeyInit,
        cbc::Encryptor<C>: KeyIvInit + BlockModeEncrypt,
    {
        let enc = <cbc::Encryptor<C> as KeyIvInit>::new_from_slices(key, iv)
            .unwrap_or_else(|_| unreachable!("key and IV lengths fixed by the cipher"));
        let mut buf = vec![0u8; plain.len() + 16];
        buf[..plain.len()].copy_from_slice(plain);
        let n = enc
            .encrypt_padded::<Pkcs7>(&mut buf, plain.len())
            .unwrap_or_else(|_| unreachable!("buffer has room for a padding block"))
            .len();
        buf.truncate(n);
        buf
    }
    match cipher {
        KeyCipher::Sm4Cbc => run::<sm4::Sm4>(key, iv, plain),
        KeyCipher::Aes128Cbc => run::<aes::Aes128>(key, iv, plain),
        KeyCipher::Aes256Cbc => run::<aes::Aes256>(key, iv, plain),
    }
}

fn cbc_decrypt(cipher: KeyCipher, key: &[u8], iv: &[u8], ct: &[u8]) -> Result<Zeroizing<Vec<u8>>> {
    use cbc::cipher::{BlockModeDecrypt, KeyIvInit, block_padding::Pkcs7};
    fn run<C>(key: &[u8], iv: &[u8], ct: &[u8]) -> Result<Zeroizing<Vec<u8>>>
    where
        C: cbc::cipher::BlockCipherDecrypt + cbc::cipher::KeyInit,
        cbc::Decryptor<C>: KeyIvInit + BlockModeDecrypt,
    {
        if ct.is_empty() || !ct.len().is_multiple_of(16) {
            return Err(Error::malformed(
                "encrypted private key",
                format!(
                    "ciphertext length {} is not a positive multiple of 16",
                    ct.len()
                ),
            ));
        }
        let dec = <cbc::Decryptor<C> as KeyIvInit>::new_from_slices(key, iv)
            .unwrap_or_else(|_| unreachable!("key and IV lengths fixed by the cipher"));
        let mut buf = Zeroizing::new(ct.to_vec());
        let n = dec
            .decrypt_padded::<Pkcs7>(&mut buf)
            .map_err(|_| Error::Decryption)?
            .len();
        buf.truncate(n);
        Ok(buf)
    }
    match cipher {
        KeyCipher::Sm4Cbc => run::<sm4::Sm4>(key, iv, ct),
        KeyCipher::Aes128Cbc => run::<aes::Aes128>(key, iv, ct),
        KeyCipher::Aes256Cbc => run::<aes::Aes256>(key, iv, ct),
    }
}
