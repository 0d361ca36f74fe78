//! SM2 digital signatures (GB/T 32918.2-2016, GM/T 0003.2) with the
//! distinguishing identifier handled explicitly.
//!
//! Every SM2 signature is over `e = SM3(Z_A ‖ M)` with
//! `Z_A = SM3(ENTL_A ‖ ID_A ‖ a ‖ b ‖ x_G ‖ y_G ‖ x_A ‖ y_A)`. The ID is part of the
//! signer's identity, so it lives on the key: [`Sm2PublicKey`] and [`Sm2PrivateKey`]
//! carry one (GM/T 0009 default `1234567812345678`) and precompute `Z_A` once.
//! OpenSSL 1.1.1–3.x default to the *empty* ID; use [`Sm2Id::danger_empty`] for
//! such producers.
//!
//! Arithmetic is the crate's own engine (`engine`) over fiat-crypto's verified
//! field and scalar routines: verification uses wNAF tables for G and for each
//! public key (variable time, public data only); signing uses a constant-time
//! fixed-base comb over G with complete addition formulas. RustCrypto `sm2` only
//! decompresses compressed public keys. The secret scalar and `(1 + d)⁻¹` are
//! zeroized on drop and the inversion is paid once per key, not once per
//! signature.

mod engine;
mod signature;

pub use signature::{EncodingDeviation, Sm2Signature, Sm2SignatureEncoding};

use crate::error::{Error, Result};
use crate::hash::{DIGEST_LEN, Sm3Hasher};
use engine::scalar::Scalar;
use sm2::elliptic_curve::sec1::ToSec1Point;
use std::fmt;
use std::sync::{Arc, OnceLock};
use zeroize::{Zeroize, Zeroizing};

/// The distinguishing identifier of GM/T 0009 / GB/T 35276 used when nothing else is agreed.
pub const DEFAULT_SM2_ID: &[u8] = b"1234567812345678";

// Curve parameters of GB/T 32918.5 (the recommended 256-bit curve), as they enter Z_A.
const CURVE_A: [u8; 32] = hex32("FFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF00000000FFFFFFFFFFFFFFFC");
const CURVE_B: [u8; 32] = hex32("28E9FA9E9D9F5E344D5A9E4BCF6509A7F39789F515AB8F92DDBCBD414D940E93");
const GEN_X: [u8; 32] = hex32("32C4AE2C1F1981195F9904466A39C9948FE30BBFF2660BE1715A4589334C74C7");
const GEN_Y: [u8; 32] = hex32("BC3736A2F4F6779C59BDCEE36B692153D0A9877CC62A474002DF32E52139F0A0");

/// SM2 distinguishing identifier (用户身份标识 ID_A).
///
/// At most 8191 bytes (ENTL is a 16-bit bit count). The default is
/// [`DEFAULT_SM2_ID`]; the empty ID exists only for OpenSSL-default producers and is
/// reached through [`Sm2Id::danger_empty`] so it is never chosen by accident.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Sm2Id(Vec<u8>);

impl Sm2Id {
    /// An ID from bytes; fails if longer than 8191 bytes.
    pub fn new(id: impl Into<Vec<u8>>) -> Result<Self> {
        let id = id.into();
        if id.len() > 8191 {
            return Err(Error::malformed(
                "SM2 ID",
                format!("{} bytes is longer than the 8191 allowed", id.len()),
            ));
        }
        Ok(Sm2Id(id))
    }

    /// The empty ID used by OpenSSL 1.1.1–3.x unless `distid` is set.
    pub fn danger_empty() -> Self {
        Sm2Id(Vec::new())
    }

    /// The ID bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// True for the empty ID.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// True for the GM/T 0009 default ID.
    pub fn is_default(&self) -> bool {
        self.0 == DEFAULT_SM2_ID
    }
}

impl Default for Sm2Id {
    fn default() -> Self {
        Sm2Id(DEFAULT_SM2_ID.to_vec())
    }
}

impl fmt::Display for Sm2Id {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match std::str::from_utf8(&self.0) {
            Ok(s) if s.chars().all(|c| !c.is_control()) => write!(f, "{s:?}"),
            _ => {
                f.write_str("0x")?;
                for b in &self.0 {
                    write!(f, "{b:02x}")?;
                }
                Ok(())
            }
        }
    }
}

impl fmt::Debug for Sm2Id {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Sm2Id({self})")
    }
}

/// `Z_A` of GB/T 32918.2 §5.5 for `id` and the uncompressed public point `(x, y)`.
pub fn z_digest(id: &Sm2Id, x: &[u8; 32], y: &[u8; 32]) -> [u8; DIGEST_LEN] {
    // Sm2Id::new bounds the length, so the bit count fits in 16 bits.
    let entl = ((id.0.len() * 8) as u16).to_be_bytes();
    let mut h = Sm3Hasher::new();
    h.update(&entl);
    h.update(&id.0);
    for part in [&CURVE_A, &CURVE_B, &GEN_X, &GEN_Y, x, y] {
        h.update(part);
    }
    h.finalize()
}

/// An SM2 public key with its distinguishing ID and precomputed `Z_A`.
#[derive(Clone)]
pub struct Sm2PublicKey {
    /// The decoded point, in the engine's representation.
    point: engine::point::Affine,
    /// Its wNAF table, built (or fetched from the process-wide cache) on first
    /// verification and shared by clones and [`Sm2PublicKey::with_id`].
    table: Arc<OnceLock<Arc<engine::KeyTable>>>,
    id: Sm2Id,
    x: [u8; 32],
    y: [u8; 32],
    z: [u8; DIGEST_LEN],
}

impl Sm2PublicKey {
    /// Parse a SEC1 point (`04‖x‖y`, or compressed `02/03‖x`) with the default ID.
    ///
    /// Rejects points not on the curve and the point at infinity.
    pub fn from_sec1_bytes(bytes: &[u8]) -> Result<Self> {
        let bad = || Error::InvalidKey("SM2 public key is not a point on the SM2 curve".into());
        let (x, y) = match bytes {
            // Uncompressed: the engine checks x, y < p and the curve equation (the
            // point at infinity has no such encoding).
            [4, xy @ ..] if xy.len() == 64 => {
                let mut x = [0u8; 32];
                let mut y = [0u8; 32];
                x.copy_from_slice(&xy[..32]);
                y.copy_from_slice(&xy[32..]);
                (x, y)
            }
            // Compressed (and anything else): RustCrypto decompresses or rejects.
            _ => sec1_coordinates(&sm2::PublicKey::from_sec1_bytes(bytes).map_err(|_| bad())?),
        };
        let point = engine::point::Affine::from_be_bytes(&x, &y).ok_or_else(bad)?;
        Ok(Self::from_parts(point, x, y, Sm2Id::default()))
    }

    fn from_parts(point: engine::point::Affine, x: [u8; 32], y: [u8; 32], id: Sm2Id) -> Self {
        let z = z_digest(&id, &x, &y);
        Sm2PublicKey {
            point,
            table: Arc::new(OnceLock::new()),
            id,
            x,
            y,
            z,
        }
    }

    /// The same key with another distinguishing ID (recomputes `Z_A`).
    pub fn with_id(&self, id: Sm2Id) -> Self {
        let z = z_digest(&id, &self.x, &self.y);
        Sm2PublicKey {
            point: self.point,
            table: self.table.clone(),
            id,
            x: self.x,
            y: self.y,
            z,
        }
    }

    /// The distinguishing ID this key verifies with.
    pub fn id(&self) -> &Sm2Id {
        &self.id
    }

    /// `Z_A` for this key and ID.
    pub fn z(&self) -> &[u8; DIGEST_LEN] {
        &self.z
    }

    /// Uncompressed SEC1 encoding `04‖x‖y` (65 bytes).
    pub fn to_sec1_uncompressed(&self) -> [u8; 65] {
        let mut out = [0u8; 65];
        out[0] = 4;
        out[1..33].copy_from_slice(&self.x);
        out[33..].copy_from_slice(&self.y);
        out
    }

    /// A streaming SM3 hasher already fed with `Z_A`: feed the message, finalize, and
    /// the result is the digest `e` that [`Sm2PublicKey::verify_digest`] and
    /// [`Sm2PrivateKey::sign_digest`] take.
    pub fn message_hasher(&self) -> Sm3Hasher {
        let mut h = Sm3Hasher::new();
        h.update(&self.z);
        h
    }

    /// `e = SM3(Z_A ‖ message)`.
    pub fn message_digest(&self, message: &[u8]) -> [u8; DIGEST_LEN] {
        let mut h = self.message_hasher();
        h.update(message);
        h.finalize()
    }

    /// Verify `signature` (DER or raw r‖s, decoded leniently) over `message`.
    pub fn verify(&self, message: &[u8], signature: &[u8]) -> Result<()> {
        let sig = Sm2Signature::parse(signature)?;
        self.verify_signature(message, &sig)
    }

    /// Verify an already decoded signature over `message`.
    pub fn verify_signature(&self, message: &[u8], signature: &Sm2Signature) -> Result<()> {
        self.verify_digest(&self.message_digest(message), signature)
    }

    /// Verify a signature over the precomputed digest `e = SM3(Z_A ‖ M)`
    /// (GB/T 32918.2 §7.1, steps B1–B7).
    pub fn verify_digest(&self, e: &[u8; DIGEST_LEN], signature: &Sm2Signature) -> Result<()> {
        // B1, B2: r, s ∈ [1, n − 1], reported as a malformed value.
        let in_range =
            |v: &[u8; 32]| engine::scalar::Scalar::from_be_bytes(v).is_some_and(|x| !x.is_zero());
        if !in_range(signature.r()) || !in_range(signature.s()) {
            return Err(Error::MalformedSignature(
                "r or s is zero or not below the group order".into(),
            ));
        }
        let table = self.table.get_or_init(|| {
            let mut xy = [0u8; 64];
            xy[..32].copy_from_slice(&self.x);
            xy[32..].copy_from_slice(&self.y);
            engine::cached_table(&xy, &self.point)
        });
        if engine::verify_prehash(table, e, signature.r(), signature.s()) {
            Ok(())
        } else {
            Err(Error::BadSignature)
        }
    }
}

/// The big-endian affine coordinates of a RustCrypto public key.
fn sec1_coordinates(pk: &sm2::PublicKey) -> ([u8; 32], [u8; 32]) {
    let enc = pk.as_affine().to_sec1_point(false);
    let mut x = [0u8; 32];
    let mut y = [0u8; 32];
    // An uncompressed SEC1 encoding of a non-identity point is 0x04 ‖ x ‖ y.
    let bytes = enc.as_bytes();
    x.copy_from_slice(&bytes[1..33]);
    y.copy_from_slice(&bytes[33..65]);
    (x, y)
}

impl PartialEq for Sm2PublicKey {
    fn eq(&self, other: &Self) -> bool {
        self.x == other.x && self.y == other.y && self.id == other.id
    }
}

impl Eq for Sm2PublicKey {}

impl fmt::Debug for Sm2PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Sm2PublicKey(04")?;
        for b in self.x.iter().chain(self.y.iter()) {
            write!(f, "{b:02x}")?;
        }
        write!(f, ", id {})", self.id)
    }
}

/// An SM2 private key with its public key and distinguishing ID.
///
/// The secret scalar `d` and the precomputed `(1 + d)⁻¹` are zeroized on drop and
/// never appear in `Debug` output.
pub struct Sm2PrivateKey {
    d: Scalar,
    d_plus_1_inv: Scalar,
    public: Sm2PublicKey,
}

impl Sm2PrivateKey {
    /// Generate a fresh key from the operating system's RNG, with the default ID.
    pub fn generate() -> Result<Self> {
        // d = n − 1 (probability 2⁻²⁵⁶) is refused by from_scalar; draw again.
        for _ in 0..4 {
            let d = engine::sign::random_nonzero().ok_or(Error::Rng)?;
            if let Ok(key) = Self::from_scalar(d) {
                return Ok(key);
            }
        }
        Err(Error::Rng)
    }

    /// The key with secret scalar `bytes` (big-endian, exactly 32 bytes, in `[1, n-2]`).
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        let mut arr: [u8; 32] = bytes.try_into().map_err(|_| {
            Error::InvalidKey(format!(
                "SM2 private key must be 32 bytes, got {}",
                bytes.len()
            ))
        })?;
        let d = Scalar::from_be_bytes(&arr).filter(|d| !d.is_zero());
        arr.zeroize();
        let d = d.ok_or_else(|| {
            Error::InvalidKey("SM2 private key is zero or not below the group order".into())
        })?;
        Self::from_scalar(d)
    }

    fn from_scalar(mut d: Scalar) -> Result<Self> {
        // GB/T 32918.1 §6.1: d ∈ [1, n-2], i.e. 1 + d must be invertible.
        let mut d_plus_1 = d.add(&Scalar::ONE);
        if d_plus_1.is_zero() {
            d.zeroize();
            return Err(Error::InvalidKey("SM2 private key equals n-1".into()));
        }
        let d_plus_1_inv = d_plus_1.invert();
        d_plus_1.zeroize();
        // d ∈ [1, n − 2]: [d]G is never the identity.
        let point = engine::sign::mul_base(&d)
            .to_affine()
            .unwrap_or_else(|| unreachable!("d·G is not the identity for d in [1, n-2]"));
        let (x, y) = (point.x.to_be_bytes(), point.y.to_be_bytes());
        Ok(Sm2PrivateKey {
            d,
            d_plus_1_inv,
            public: Sm2PublicKey::from_parts(point, x, y, Sm2Id::default()),
        })
    }

    /// The same key signing with another distinguishing ID.
    pub fn with_id(mut self, id: Sm2Id) -> Self {
        self.public = self.public.with_id(id);
        self
    }

    /// The public key (with this key's ID).
    pub fn public_key(&self) -> &Sm2PublicKey {
        &self.public
    }

    /// The secret scalar, big-endian. Handle with care: it is the key.
    pub fn to_bytes(&self) -> Zeroizing<[u8; 32]> {
        Zeroizing::new(self.d.to_be_bytes())
    }

    /// Sign `message` with this key's ID: `e = SM3(Z_A ‖ message)`, then [`Self::sign_digest`].
    pub fn sign(&self, message: &[u8]) -> Result<Sm2Signature> {
        self.sign_digest(&self.public.message_digest(message))
    }

    /// Sign the precomputed digest `e` (GB/T 32918.2 §6.1, steps A3–A7) with a
    /// fresh random `k` from the operating system's RNG.
    pub fn sign_digest(&self, e: &[u8; DIGEST_LEN]) -> Result<Sm2Signature> {
        for _ in 0..16 {
            // A3: k ∈ [1, n-1]; wiped after use (k and r reveal d).
            let mut k = engine::sign::random_nonzero().ok_or(Error::Rng)?;
            // A4–A6 in constant time: (x1, y1) = [k]G, r = (e + x1) mod n,
            // s = (1 + d)⁻¹ · (k − r·d) mod n; None when r = 0, r + k = n or s = 0.
            let rs = engine::sign::sign_with_nonce(&self.d, &self.d_plus_1_inv, e, &k);
            k.zeroize();
            if let Some((r, s)) = rs {
                return Ok(Sm2Signature::from_scalars(r.to_be_bytes(), s.to_be_bytes()));
            }
        }
        Err(Error::Signing("no valid nonce after 16 attempts"))
    }
}

impl Drop for Sm2PrivateKey {
    fn drop(&mut self) {
        self.d.zeroize();
        self.d_plus_1_inv.zeroize();
    }
}

impl fmt::Debug for Sm2PrivateKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sm2PrivateKey")
            .field("public", &self.public)
            .field("secret", &"<redacted>")
            .finish()
    }
}

const fn hex32(s: &str) -> [u8; 32] {
    let b = s.as_bytes();
    let mut out = [0u8; 32];
    let mut i = 0;
    while i < 32 {
        out[i] = (nibble(b[2 * i]) << 4) | nibble(b[2 * i + 1]);
        i += 1;
    }
    out
}

const fn nibble(c: u8) -> u8 {
    match c {
        b'0'..=b'9' => c - b'0',
        b'a'..=b'f' => c - b'a' + 10,
        b'A'..=b'F' => c - b'A' + 10,
        _ => panic!("bad hex digit in a constant"),
    }
}

#[cfg(test)]
mod tests;
