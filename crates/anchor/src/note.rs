//! C2SP signed notes (c2sp.org/signed-note): text signed by one or more keys,
//! the envelope of checkpoints.
//!
//! ```text
//! <text lines, each ending in \n>
//! <blank line>
//! — <key name> base64(uint32 key ID ‖ signature)\n   (one or more)
//! ```
//!
//! Key ID = first 4 bytes of SHA-256(name ‖ 0x0A ‖ type ‖ public key).
//! Signature types:
//! - `0x01` Ed25519 (RFC 8032), public key 32 bytes, signature 64 bytes.
//! - `0x02` ECDSA P-256 with SHA-256, as the Sigstore Rekor log and
//!   transparency-dev's `note.NewECDSAVerifier` define it: the public key is
//!   its DER SubjectPublicKeyInfo, the signature ASN.1 DER over SHA-256 of the
//!   text, and the key ID the first 4 bytes of SHA-256(SPKI) — not of the
//!   name and type. For keys in PKCS#11 tokens, which hold P-256 but not SM2.
//! - `0xff ‖ "SM2-SM3"` SM2 with SM3 (GB/T 32918.2) and the user ID
//!   `1234567812345678` fixed by this profile. SM2 has no assigned type byte, so
//!   it uses the spec's 0xff escape followed by the identifier. The public key is
//!   the 65-byte uncompressed SEC1 point; the signature is the raw 64-byte
//!   `r ‖ s` (each big-endian, left-padded), not DER, so every signature line
//!   has one length and one encoding.
//!
//! - `0x04` cosignature/v1 (c2sp.org/tlog-cosignature): a witness's Ed25519
//!   key; the signature is `timestamp ‖ Ed25519 signature`, the timestamp a
//!   big-endian uint64 of Unix seconds, over `cosignature/v1\ntime <T>\n`
//!   followed by the note text.
//! - `0xff ‖ "SM2-SM3-cosignature/v1"` its SM2 counterpart for national
//!   deployments (ours, docs/FORMATS.md): the same message and timestamp, the
//!   signature `timestamp ‖ r ‖ s`, the key a 65-byte point, user ID as above.
//!
//! Verifier key text (vkey): `<name>+<hex key ID>+base64(type ‖ public key)`.
//!
//! Opening a note: signatures from keys the verifier does not know are
//! ignored; a signature whose name and key ID match a known key but does not
//! verify rejects the whole note (it means tampering, not an unknown witness).

use crate::error::{Error, Result};
use yinzheng_crypto::base64 as b64;
use yinzheng_crypto::{
    KeyAlgorithm, PrivateKey, PublicKey, SignatureAlgorithm, Sm2Id, Sm2PublicKey, Sm2Signature,
    sha256,
};

/// Largest signed note accepted (checkpoints are a few hundred bytes).
pub const MAX_NOTE_LEN: usize = 1 << 20;
/// Most signature lines accepted on one note (the Go reference's limit).
pub const MAX_SIGNATURES: usize = 100;
/// The signature type identifier that follows `0xff` for SM2-with-SM3 keys.
pub const SM2_TYPE_ID: &[u8] = b"SM2-SM3";
/// The signature type identifier that follows `0xff` for SM2 witness
/// cosignatures (the SM2 counterpart of cosignature/v1).
pub const SM2_COSIGNATURE_TYPE_ID: &[u8] = b"SM2-SM3-cosignature/v1";
/// The SM2 user ID fixed by this profile.
pub const SM2_NOTE_ID: &[u8] = b"1234567812345678";

const ED25519_TYPE: u8 = 0x01;
const ECDSA_P256_TYPE: u8 = 0x02;
const COSIGNATURE_V1_TYPE: u8 = 0x04;
const SPKI_ED25519_PREFIX: [u8; 12] = [
    0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00,
];

/// The algorithm of a note key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum NoteKeyType {
    /// Ed25519, type byte 0x01.
    Ed25519,
    /// SM2 with SM3, type `0xff ‖ "SM2-SM3"`.
    Sm2Sm3,
    /// ECDSA P-256 with SHA-256, type byte 0x02 (Rekor's).
    EcdsaP256,
    /// A witness's Ed25519 cosignature (c2sp.org/tlog-cosignature), type 0x04.
    CosignatureV1,
    /// A witness's SM2 cosignature, type `0xff ‖ "SM2-SM3-cosignature/v1"`.
    Sm2CosignatureV1,
}

impl NoteKeyType {
    /// The type bytes that precede the public key in key IDs and vkeys.
    pub fn type_bytes(self) -> Vec<u8> {
        match self {
            NoteKeyType::Ed25519 => vec![ED25519_TYPE],
            NoteKeyType::EcdsaP256 => vec![ECDSA_P256_TYPE],
            NoteKeyType::CosignatureV1 => vec![COSIGNATURE_V1_TYPE],
            NoteKeyType::Sm2Sm3 => {
                let mut v = vec![0xff];
                v.extend_from_slice(SM2_TYPE_ID);
                v
            }
            NoteKeyType::Sm2CosignatureV1 => {
                let mut v = vec![0xff];
                v.extend_from_slice(SM2_COSIGNATURE_TYPE_ID);
                v
            }
        }
    }

    /// Whether signatures of this type are witness cosignatures (timestamped).
    pub fn is_cosignature(self) -> bool {
        matches!(
            self,
            NoteKeyType::CosignatureV1 | NoteKeyType::Sm2CosignatureV1
        )
    }
}

/// The message a cosignature signs: `cosignature/v1\ntime <T>\n` and the
/// note text (c2sp.org/tlog-cosignature).
pub fn cosigned_message(timestamp: u64, text: &str) -> Vec<u8> {
    format!("cosignature/v1\ntime {timestamp}\n{text}").into_bytes()
}

/// Key ID: first 4 bytes of SHA-256(name ‖ 0x0A ‖ type ‖ key), big-endian.
pub fn key_id(name: &str, type_and_key: &[u8]) -> u32 {
    let mut m = Vec::with_capacity(name.len() + 1 + type_and_key.len());
    m.extend_from_slice(name.as_bytes());
    m.push(b'\n');
    m.extend_from_slice(type_and_key);
    let h = sha256(&m);
    u32::from_be_bytes([h[0], h[1], h[2], h[3]])
}

fn check_key_name(name: &str) -> Result<()> {
    if name.is_empty()
        || name.len() > 1024
        || name
            .chars()
            .any(|c| c.is_whitespace() || c == '+' || c.is_control())
    {
        return Err(Error::malformed(
            "key name",
            "must be non-empty, without spaces, '+' or control characters",
        ));
    }
    Ok(())
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum VerifierInner {
    Ed25519(PublicKey),
    EcdsaP256(PublicKey),
    Sm2(Box<Sm2PublicKey>),
}

/// A key that verifies note signatures: name, key ID and public key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifierKey {
    name: String,
    id: u32,
    key_type: NoteKeyType,
    raw: Vec<u8>,
    inner: VerifierInner,
}

impl VerifierKey {
    /// The verifier for `public` under `name` (Ed25519, SM2 or P-256 keys).
    pub fn new(name: &str, public: &PublicKey) -> Result<Self> {
        check_key_name(name)?;
        match public.algorithm() {
            KeyAlgorithm::Ed25519 => {
                Self::from_parts(name, NoteKeyType::Ed25519, &public.raw_bytes())
            }
            KeyAlgorithm::Sm2 => Self::from_parts(name, NoteKeyType::Sm2Sm3, &public.raw_bytes()),
            KeyAlgorithm::EcdsaP256 => {
                Self::from_parts(name, NoteKeyType::EcdsaP256, &public.to_spki_der())
            }
            other => Err(Error::malformed(
                "note key",
                format!("{other} keys cannot sign notes (Ed25519, SM2 or P-256 only)"),
            )),
        }
    }

    fn from_parts(name: &str, key_type: NoteKeyType, raw: &[u8]) -> Result<Self> {
        let inner = match key_type {
            NoteKeyType::Ed25519 | NoteKeyType::CosignatureV1 => {
                if raw.len() != 32 {
                    return Err(Error::malformed("vkey", "Ed25519 key is not 32 bytes"));
                }
                let mut spki = SPKI_ED25519_PREFIX.to_vec();
                spki.extend_from_slice(raw);
                VerifierInner::Ed25519(PublicKey::from_spki_der(&spki)?)
            }
            NoteKeyType::Sm2Sm3 | NoteKeyType::Sm2CosignatureV1 => {
                if raw.len() != 65 || raw[0] != 0x04 {
                    return Err(Error::malformed(
                        "vkey",
                        "SM2 key is not a 65-byte uncompressed point",
                    ));
                }
                let k = Sm2PublicKey::from_sec1_bytes(raw)?.with_id(Sm2Id::new(SM2_NOTE_ID)?);
                VerifierInner::Sm2(Box::new(k))
            }
            NoteKeyType::EcdsaP256 => {
                let k = PublicKey::from_spki_der(raw)?;
                if k.algorithm() != KeyAlgorithm::EcdsaP256 || k.to_spki_der() != raw {
                    return Err(Error::malformed(
                        "vkey",
                        "type 0x02 key is not a P-256 SubjectPublicKeyInfo in DER",
                    ));
                }
                VerifierInner::EcdsaP256(k)
            }
        };
        let id = match key_type {
            // Rekor's key ID: of the SubjectPublicKeyInfo alone.
            NoteKeyType::EcdsaP256 => {
                let h = sha256(raw);
                u32::from_be_bytes([h[0], h[1], h[2], h[3]])
            }
            _ => {
                let mut tk = key_type.type_bytes();
                tk.extend_from_slice(raw);
                key_id(name, &tk)
            }
        };
        Ok(VerifierKey {
            name: name.to_string(),
            id,
            key_type,
            raw: raw.to_vec(),
            inner,
        })
    }

    /// Parse vkey text `<name>+<hex key ID>+base64(type ‖ key)`; the key ID must match.
    pub fn parse(text: &str) -> Result<Self> {
        let text = text.trim_end_matches(['\n', '\r']);
        if text.len() > 4096 {
            return Err(Error::TooLarge {
                what: "vkey",
                len: text.len(),
                max: 4096,
            });
        }
        // The base64 key may itself contain '+', so split at the first two only.
        let mut parts = text.splitn(3, '+');
        let (Some(name), Some(id_hex), Some(key_b64)) = (parts.next(), parts.next(), parts.next())
        else {
            return Err(Error::malformed(
                "vkey",
                "want <name>+<hex id>+<base64 key>",
            ));
        };
        check_key_name(name)?;
        let id_bytes = hex::decode(id_hex)
            .ok()
            .filter(|b| b.len() == 4 && id_hex.len() == 8)
            .ok_or_else(|| Error::malformed("vkey", "key ID is not 8 hex digits"))?;
        let tk =
            b64::decode(key_b64).ok_or_else(|| Error::malformed("vkey", "key is not base64"))?;
        let (key_type, raw) = match tk.first() {
            Some(&ED25519_TYPE) => (NoteKeyType::Ed25519, &tk[1..]),
            Some(&ECDSA_P256_TYPE) => (NoteKeyType::EcdsaP256, &tk[1..]),
            Some(&COSIGNATURE_V1_TYPE) => (NoteKeyType::CosignatureV1, &tk[1..]),
            // The longer identifier first: it starts with the shorter one.
            Some(0xff) if tk[1..].starts_with(SM2_COSIGNATURE_TYPE_ID) => (
                NoteKeyType::Sm2CosignatureV1,
                &tk[1 + SM2_COSIGNATURE_TYPE_ID.len()..],
            ),
            Some(0xff) if tk[1..].starts_with(SM2_TYPE_ID) => {
                (NoteKeyType::Sm2Sm3, &tk[1 + SM2_TYPE_ID.len()..])
            }
            _ => {
                return Err(Error::malformed(
                    "vkey",
                    "unsupported signature type (want 0x01 Ed25519, 0x02 ECDSA P-256, 0x04 \
                     cosignature/v1, 0xff SM2-SM3 or 0xff SM2-SM3-cosignature/v1)",
                ));
            }
        };
        let vk = Self::from_parts(name, key_type, raw)?;
        if vk.id.to_be_bytes().as_slice() != id_bytes.as_slice() {
            return Err(Error::malformed("vkey", "key ID does not match the key"));
        }
        Ok(vk)
    }

    /// The key name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The key ID.
    pub fn key_id(&self) -> u32 {
        self.id
    }

    /// The signature type.
    pub fn key_type(&self) -> NoteKeyType {
        self.key_type
    }

    /// The public key bytes (after the type bytes): the same key under
    /// another type or name has the same bytes.
    pub fn key_bytes(&self) -> &[u8] {
        &self.raw
    }

    /// Verify a note signature (without the 4-byte key ID) over `msg`; a
    /// cosignature's over the cosigned message with its timestamp, which
    /// must not be zero.
    pub fn verify(&self, msg: &[u8], sig: &[u8]) -> bool {
        if self.key_type.is_cosignature() {
            let Some(t) = self.cosignature_time(sig) else {
                return false;
            };
            let Ok(text) = std::str::from_utf8(msg) else {
                return false;
            };
            return self.verify_raw(&cosigned_message(t, text), &sig[8..]);
        }
        self.verify_raw(msg, sig)
    }

    /// The timestamp (Unix seconds) a cosignature carries, if `sig` is one of
    /// this key's shape with a non-zero time.
    pub fn cosignature_time(&self, sig: &[u8]) -> Option<u64> {
        if !self.key_type.is_cosignature() || sig.len() != 8 + 64 {
            return None;
        }
        let t = u64::from_be_bytes(sig[..8].try_into().ok()?);
        // Never zero, at most 2^63 - 1 (c2sp.org/tlog-cosignature).
        (t != 0 && t <= i64::MAX as u64).then_some(t)
    }

    fn verify_raw(&self, msg: &[u8], sig: &[u8]) -> bool {
        match &self.inner {
            VerifierInner::Ed25519(k) => k.verify(SignatureAlgorithm::Ed25519, msg, sig).is_ok(),
            VerifierInner::EcdsaP256(k) => k
                .verify(SignatureAlgorithm::EcdsaP256Sha256, msg, sig)
                .is_ok(),
            VerifierInner::Sm2(k) => {
                sig.len() == 64
                    && Sm2Signature::from_raw(sig)
                        .and_then(|s| k.verify_signature(msg, &s))
                        .is_ok()
            }
        }
    }
}

impl std::fmt::Display for VerifierKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut tk = self.key_type.type_bytes();
        tk.extend_from_slice(&self.raw);
        write!(f, "{}+{:08x}+{}", self.name, self.id, b64::encode(&tk))
    }
}

/// A key that signs notes: a name and an Ed25519, SM2 or P-256 private key, in a
/// file or in a device (a PKCS#11 token, a GM/T 0018 cipher machine).
///
/// SM2 keys are used with the profile's user ID `1234567812345678`: a key
/// file whatever ID it carried, a device key only when its public key
/// carries that ID (its Z_A is computed with it).
pub struct NoteSigner {
    verifier: VerifierKey,
    key: NoteKey,
}

/// A witness's key that cosigns checkpoints (cosignature/v1 for Ed25519, its
/// SM2 counterpart for SM2), each cosignature with the time it was made.
pub struct Cosigner {
    verifier: VerifierKey,
    key: std::sync::Arc<dyn yinzheng_crypto::Signer>,
}

impl Cosigner {
    /// A cosigner under the witness's `name`: an Ed25519 key (cosignature/v1)
    /// or an SM2 key with the profile's user ID (SM2-SM3-cosignature/v1).
    pub fn new(name: &str, key: std::sync::Arc<dyn yinzheng_crypto::Signer>) -> Result<Self> {
        check_key_name(name)?;
        let public = key.public_key();
        let verifier = match key.algorithm() {
            SignatureAlgorithm::Ed25519 => {
                VerifierKey::from_parts(name, NoteKeyType::CosignatureV1, &public.raw_bytes())?
            }
            SignatureAlgorithm::Sm2Sm3 => {
                if public.as_sm2().map(|k| k.id().as_bytes()) != Some(SM2_NOTE_ID) {
                    return Err(Error::malformed(
                        "cosigner key",
                        "an SM2 cosigner signs with the user ID 1234567812345678; this key uses another",
                    ));
                }
                VerifierKey::from_parts(name, NoteKeyType::Sm2CosignatureV1, &public.raw_bytes())?
            }
            other => {
                return Err(Error::malformed(
                    "cosigner key",
                    format!("{other:?} keys do not cosign (Ed25519 or SM2)"),
                ));
            }
        };
        Ok(Cosigner { verifier, key })
    }

    /// The verifier key relying parties configure for this witness.
    pub fn verifier(&self) -> &VerifierKey {
        &self.verifier
    }

    /// The signature line (`— name base64(key ID ‖ timestamp ‖ signature)\n`)
    /// cosigning the note `text` (a checkpoint's) at `timestamp`, Unix seconds,
    /// which must not be zero.
    pub fn cosign(&self, text: &str, timestamp: u64) -> Result<String> {
        if timestamp == 0 {
            return Err(Error::malformed(
                "cosignature",
                "the timestamp must not be zero",
            ));
        }
        let mut sig = timestamp.to_be_bytes().to_vec();
        sig.extend_from_slice(&device_signature(
            self.key.as_ref(),
            &cosigned_message(timestamp, text),
        )?);
        Ok(signature_line(&self.verifier, &sig))
    }
}

impl std::fmt::Debug for Cosigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cosigner")
            .field("verifier", &self.verifier.to_string())
            .finish_non_exhaustive()
    }
}

enum NoteKey {
    File(Box<PrivateKey>),
    Device(std::sync::Arc<dyn yinzheng_crypto::Signer>),
}

impl NoteSigner {
    /// A signer for `key` under `name`.
    pub fn new(name: &str, key: PrivateKey) -> Result<Self> {
        let key = key.with_sm2_id(Sm2Id::new(SM2_NOTE_ID)?);
        let verifier = VerifierKey::new(name, key.public_key())?;
        Ok(NoteSigner {
            verifier,
            key: NoteKey::File(Box::new(key)),
        })
    }

    /// A signer under `name` for a key behind the [`Signer`](yinzheng_crypto::Signer)
    /// trait (a token or cipher-machine key): SM2 with the profile's user ID,
    /// Ed25519 or P-256; any other key is refused.
    pub fn from_signer(
        name: &str,
        key: std::sync::Arc<dyn yinzheng_crypto::Signer>,
    ) -> Result<Self> {
        match key.algorithm() {
            SignatureAlgorithm::Sm2Sm3 => {
                let id = key
                    .public_key()
                    .as_sm2()
                    .map(|k| k.id().as_bytes().to_vec());
                if id.as_deref() != Some(SM2_NOTE_ID) {
                    return Err(Error::malformed(
                        "note key",
                        "an SM2 note key signs with the user ID 1234567812345678; this key uses another",
                    ));
                }
            }
            SignatureAlgorithm::Ed25519 | SignatureAlgorithm::EcdsaP256Sha256 => {}
            other => {
                return Err(Error::malformed(
                    "note key",
                    format!("{other:?} keys do not sign notes (SM2, Ed25519 or P-256)"),
                ));
            }
        }
        let verifier = VerifierKey::new(name, key.public_key())?;
        Ok(NoteSigner {
            verifier,
            key: NoteKey::Device(key),
        })
    }

    /// The matching verifier key.
    pub fn verifier(&self) -> &VerifierKey {
        &self.verifier
    }

    /// Sign `msg`: the signature bytes without the key ID (SM2: raw `r‖s`).
    fn sign_raw(&self, msg: &[u8]) -> Result<Vec<u8>> {
        match &self.key {
            NoteKey::File(key) => match key.as_sm2() {
                Some(k) => Ok(k.sign(msg)?.to_raw().to_vec()),
                None => Ok(key.sign(msg)?),
            },
            NoteKey::Device(key) => device_signature(key.as_ref(), msg),
        }
    }
}

impl std::fmt::Debug for NoteSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NoteSigner")
            .field("verifier", &self.verifier.to_string())
            .finish_non_exhaustive()
    }
}

/// One signature line of a note.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NoteSignature {
    /// The key name.
    pub name: String,
    /// The key ID.
    pub key_id: u32,
    /// The signature bytes after the key ID.
    pub signature: Vec<u8>,
}

/// A parsed signed note: the text and its signature lines, not yet verified.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Note {
    text: String,
    signatures: Vec<NoteSignature>,
}

impl Note {
    /// Parse a signed note. Checks the shape only; see [`Note::open`].
    pub fn parse(bytes: &[u8]) -> Result<Self> {
        if bytes.len() > MAX_NOTE_LEN {
            return Err(Error::TooLarge {
                what: "signed note",
                len: bytes.len(),
                max: MAX_NOTE_LEN,
            });
        }
        let s = std::str::from_utf8(bytes).map_err(|_| Error::malformed("note", "not UTF-8"))?;
        if s.chars().any(|c| c < ' ' && c != '\n') {
            return Err(Error::malformed(
                "note",
                "control character other than newline",
            ));
        }
        let split = s
            .rfind("\n\n")
            .ok_or_else(|| Error::malformed("note", "no blank line before the signatures"))?;
        let text = &s[..split + 1];
        let sigs = &s[split + 2..];
        if !sigs.ends_with('\n') {
            return Err(Error::malformed("note", "does not end in a newline"));
        }
        let mut signatures = Vec::new();
        for line in sigs[..sigs.len() - 1].split('\n') {
            if signatures.len() == MAX_SIGNATURES {
                return Err(Error::malformed("note", "too many signatures"));
            }
            let rest = line.strip_prefix("\u{2014} ").ok_or_else(|| {
                Error::malformed("note", "signature line does not start with '— '")
            })?;
            let (name, sig64) = rest
                .split_once(' ')
                .ok_or_else(|| Error::malformed("note", "signature line has no signature"))?;
            check_key_name(name)?;
            let raw = b64::decode(sig64).filter(|r| r.len() > 4).ok_or_else(|| {
                Error::malformed("note", "signature is not base64 of key ID ‖ signature")
            })?;
            signatures.push(NoteSignature {
                name: name.to_string(),
                key_id: u32::from_be_bytes([raw[0], raw[1], raw[2], raw[3]]),
                signature: raw[4..].to_vec(),
            });
        }
        if signatures.is_empty() {
            return Err(Error::malformed("note", "no signatures"));
        }
        Ok(Note {
            text: text.to_string(),
            signatures,
        })
    }

    /// The signed text, final newline included.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The signature lines.
    pub fn signatures(&self) -> &[NoteSignature] {
        &self.signatures
    }

    /// Verify the note with `known` keys; returns the names of the keys whose
    /// signatures verified.
    ///
    /// Signatures from unknown (name, key ID) pairs are ignored; a signature
    /// from a known key that does not verify rejects the note
    /// ([`Error::BadSignature`]); no verified signature is
    /// [`Error::NoKnownSignature`].
    pub fn open(&self, known: &[VerifierKey]) -> Result<Vec<String>> {
        let mut ok = Vec::new();
        for s in &self.signatures {
            let Some(k) = known.iter().find(|k| k.name == s.name && k.id == s.key_id) else {
                continue;
            };
            if !k.verify(self.text.as_bytes(), &s.signature) {
                return Err(Error::BadSignature {
                    name: s.name.clone(),
                });
            }
            if !ok.contains(&s.name) {
                ok.push(s.name.clone());
            }
        }
        if ok.is_empty() {
            return Err(Error::NoKnownSignature);
        }
        Ok(ok)
    }
}

/// The names of the witnesses among `witnesses` whose cosignatures on `note`
/// verify (each name once); none is an empty list, not an error. A
/// signature naming a witness key that does not verify is
/// [`Error::BadSignature`]: a forged cosignature.
pub fn cosigned_by(note: &Note, witnesses: &[VerifierKey]) -> Result<Vec<String>> {
    match note.open(witnesses) {
        Ok(names) => Ok(names),
        Err(Error::NoKnownSignature) => Ok(Vec::new()),
        Err(e) => Err(e),
    }
}

/// Sign `text` (non-empty, each line ending in `\n`, no blank line) with every
/// signer, in order; returns the signed note.
pub fn sign_note(text: &str, signers: &[&NoteSigner]) -> Result<String> {
    if text.is_empty()
        || !text.ends_with('\n')
        || text.contains("\n\n")
        || text.starts_with('\n')
        || text.chars().any(|c| c < ' ' && c != '\n')
    {
        return Err(Error::malformed(
            "note text",
            "must be non-empty lines each ending in a newline, without blank lines",
        ));
    }
    if signers.is_empty() {
        return Err(Error::malformed("note", "no signers"));
    }
    let mut out = String::with_capacity(text.len() + 160 * signers.len());
    out.push_str(text);
    out.push('\n');
    for s in signers {
        out.push_str(&signature_line(&s.verifier, &s.sign_raw(text.as_bytes())?));
    }
    Ok(out)
}

/// `key`'s signature on `msg` in note form: SM2 as raw `r ‖ s` (a
/// [`Signer`](yinzheng_crypto::Signer) gives DER), others as they come.
fn device_signature(key: &dyn yinzheng_crypto::Signer, msg: &[u8]) -> Result<Vec<u8>> {
    let sig = key.sign(msg)?;
    match key.algorithm() {
        SignatureAlgorithm::Sm2Sm3 => Ok(Sm2Signature::parse(&sig)?.to_raw().to_vec()),
        _ => Ok(sig),
    }
}

/// A note signature line, `— <name> base64(key ID ‖ sig)\n`.
fn signature_line(key: &VerifierKey, sig: &[u8]) -> String {
    let mut raw = key.id.to_be_bytes().to_vec();
    raw.extend_from_slice(sig);
    format!("\u{2014} {} {}\n", key.name, b64::encode(&raw))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn signers() -> (NoteSigner, NoteSigner) {
        let sm2 = NoteSigner::new(
            "yinzheng.example/log",
            PrivateKey::generate(KeyAlgorithm::Sm2).unwrap_or_else(|e| panic!("{e}")),
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let ed = NoteSigner::new(
            "witness.example",
            PrivateKey::generate(KeyAlgorithm::Ed25519).unwrap_or_else(|e| panic!("{e}")),
        )
        .unwrap_or_else(|e| panic!("{e}"));
        (sm2, ed)
    }

    #[test]
    fn a_key_behind_the_signer_trait_signs_notes_that_verify() {
        use std::sync::Arc;
        let make = |alg| PrivateKey::generate(alg).unwrap_or_else(|e| panic!("{e}"));
        for alg in [
            KeyAlgorithm::Sm2,
            KeyAlgorithm::Ed25519,
            KeyAlgorithm::EcdsaP256,
        ] {
            let device = NoteSigner::from_signer("yinzheng.example/log", Arc::new(make(alg)))
                .unwrap_or_else(|e| panic!("{e}"));
            let note = sign_note("hello\n", &[&device]).unwrap_or_else(|e| panic!("{e}"));
            let parsed = Note::parse(note.as_bytes()).unwrap_or_else(|e| panic!("{e}"));
            let sig = &parsed.signatures()[0];
            assert!(
                device.verifier().verify(b"hello\n", &sig.signature),
                "{alg:?}"
            );
        }
        // Another SM2 user ID would make signatures no note verifier accepts.
        let other = make(KeyAlgorithm::Sm2)
            .with_sm2_id(Sm2Id::new(b"ALICE".to_vec()).unwrap_or_else(|e| panic!("{e}")));
        assert!(NoteSigner::from_signer("n", Arc::new(other)).is_err());
    }

    /// A witness cosigns a log's checkpoint (cosignature/v1 with Ed25519, its
    /// SM2 counterpart): the cosigned note opens with the log's and the
    /// witness's keys, the vkeys round-trip, and an altered timestamp, a
    /// zero timestamp or a cosignature moved to other text is refused.
    #[test]
    fn witnesses_cosign_checkpoints_with_a_timestamp() -> Result<()> {
        use std::sync::Arc;
        let (log, _) = signers();
        let text = "yinzheng.example/log\n7\nf+7CoKgXKE/tNys9TTXcr/ad6U/K3xvznmzew9y6SP0=\n";
        let note = sign_note(text, &[&log])?;
        for alg in [KeyAlgorithm::Ed25519, KeyAlgorithm::Sm2] {
            let key = Arc::new(PrivateKey::generate(alg)?);
            let witness = Cosigner::new("witness.example/w1", key)?;
            let vk = VerifierKey::parse(&witness.verifier().to_string())?;
            assert_eq!(vk, *witness.verifier());
            assert!(vk.key_type().is_cosignature(), "{alg:?}");
            let line = witness.cosign(text, 1_765_000_000)?;
            let cosigned = format!("{note}{line}");
            let n = Note::parse(cosigned.as_bytes())?;
            assert_eq!(
                n.open(&[log.verifier().clone(), vk.clone()])?,
                vec!["yinzheng.example/log", "witness.example/w1"],
                "{alg:?}"
            );
            let sig = &n.signatures()[1].signature;
            assert_eq!(vk.cosignature_time(sig), Some(1_765_000_000));
            // The timestamp is signed: another one fails the note.
            let mut raw = vk.key_id().to_be_bytes().to_vec();
            raw.extend_from_slice(&1_765_000_001u64.to_be_bytes());
            raw.extend_from_slice(&sig[8..]);
            let moved = format!("{note}\u{2014} witness.example/w1 {}\n", b64::encode(&raw));
            assert!(matches!(
                Note::parse(moved.as_bytes())?.open(std::slice::from_ref(&vk)),
                Err(Error::BadSignature { .. })
            ));
            // A cosignature is not a plain note signature over the same text.
            assert!(!vk.verify(text.as_bytes(), &sig[8..]));
            assert!(witness.cosign(text, 0).is_err());
            // Another checkpoint: the cosignature does not carry over.
            let other = text.replace("\n7\n", "\n8\n");
            assert!(!vk.verify(other.as_bytes(), sig));
        }
        Ok(())
    }

    /// Signed notes of two ECDSA P-256 logs that run in production (Sigstore's
    /// Rekor, the Pixel 6 binary transparency log), with their keys as
    /// transparency-dev's `note` package tests them: the key IDs (of the
    /// SubjectPublicKeyInfo) and the signatures check.
    #[test]
    fn ecdsa_p256_notes_of_rekor_and_pixel_verify() -> Result<()> {
        for (vkey, note, name) in [
            (
                "rekor.sigstore.dev+c0d23d6a+AjBZMBMGByqGSM49AgEGCCqGSM49AwEHA0IABNhtmPtrWm3U1eQXBogSMdGvXwBcK5AW5i0hrZLOC96l+smGNM7nwZ4QvFK/4sueRoVj//QP22Ni4Qt9DPfkWLc=",
                "Rekor\n798034\nf+7CoKgXKE/tNys9TTXcr/ad6U/K3xvznmzew9y6SP0=\n\n\u{2014} rekor.sigstore.dev wNI9ajBEAiARInWIWyCdyG27CO6LPnPekyw20qO0YJfoaPaowGp/XgIgc+qEHS3+GKVClgqq20uDLet7MCoTURUCRdxwWBHHufk=\n",
                "rekor.sigstore.dev",
            ),
            (
                "pixel6_transparency_log+91c16e30+AjBZMBMGByqGSM49AgEGCCqGSM49AwEHA0IABN+4x0Jk1yTwvLFI9A4NDdGZcX0aiWVdWM5XJVy0M4VWD3AvyW5Q6Hs9A0mcDkpUoYgn+KKPNzFC0H3nN3q6JQ8=",
                "DEFAULT\n10\nbsWRucJU5xJPHb5eBdOm6+DM+VelCZBuvtI3sHERJ9Y=\n\n\u{2014} pixel6_transparency_log kcFuMDBFAiEAhqMAP8P6qf6QxtUJhzMhbN+MbZ9dwfUHzGQJmffJHtoCIGD0cNe47dHWBoPwYdgBCepB06/+g5O1FmYjXl06owL4\n",
                "pixel6_transparency_log",
            ),
        ] {
            let vk = VerifierKey::parse(vkey)?;
            assert_eq!(vk.key_type(), NoteKeyType::EcdsaP256);
            assert_eq!(vk.to_string(), vkey);
            let n = Note::parse(note.as_bytes())?;
            assert_eq!(n.open(std::slice::from_ref(&vk))?, vec![name]);
            // One letter of the text changed, the signature line as it was.
            let bad = Note::parse(format!("x{}", &note[1..]).as_bytes())?;
            assert!(bad.open(std::slice::from_ref(&vk)).is_err(), "{name}");
        }
        // A key ID that is not the SPKI's is refused.
        assert!(
            VerifierKey::parse("rekor.sigstore.dev+00000000+AjBZMBMGByqGSM49AgEGCCqGSM49AwEHA0IABNhtmPtrWm3U1eQXBogSMdGvXwBcK5AW5i0hrZLOC96l+smGNM7nwZ4QvFK/4sueRoVj//QP22Ni4Qt9DPfkWLc=")
                .is_err()
        );
        Ok(())
    }

    #[test]
    fn sm2_and_ed25519_notes_round_trip_through_vkey_text() -> Result<()> {
        let (sm2, ed) = signers();
        let note = sign_note("hello\nworld\n", &[&sm2, &ed])?;
        let vk_sm2 = VerifierKey::parse(&sm2.verifier().to_string())?;
        let vk_ed = VerifierKey::parse(&ed.verifier().to_string())?;
        assert_eq!(vk_sm2, *sm2.verifier());
        let n = Note::parse(note.as_bytes())?;
        assert_eq!(n.text(), "hello\nworld\n");
        // The SM2 signature is raw r‖s.
        assert_eq!(n.signatures()[0].signature.len(), 64);
        assert_eq!(
            n.open(std::slice::from_ref(&vk_sm2))?,
            vec!["yinzheng.example/log"]
        );
        assert_eq!(n.open(&[vk_ed.clone(), vk_sm2.clone()])?.len(), 2);
        // Unknown key only: nothing verified.
        let (other, _) = signers();
        assert!(matches!(
            n.open(&[other.verifier().clone()]),
            Err(Error::NoKnownSignature)
        ));
        // Tampered text: the known key's signature fails and rejects.
        let bad = note.replacen("world", "w0rld", 1);
        assert!(matches!(
            Note::parse(bad.as_bytes())?.open(&[vk_ed]),
            Err(Error::BadSignature { .. })
        ));
        Ok(())
    }

    #[test]
    fn malformed_notes_and_vkeys_are_typed_errors() {
        for bad in [
            &b"no blank line\n"[..],
            b"text\n\n",
            b"text\n\n- name AAAAAAA=\n",
            b"text\n\n\xe2\x80\x94 name !!!\n",
            b"text\n\n\xe2\x80\x94 name AAAA\n",
            b"text\r\n\n\xe2\x80\x94 name AAAAAAA=\n",
            b"\xff\n\n",
        ] {
            assert!(
                Note::parse(bad).is_err(),
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
        for bad in [
            "",
            "a+b",
            "a+0000000+AQ==",
            "a+00000000+AQ==",
            "a b+00000000+AQ==",
        ] {
            assert!(VerifierKey::parse(bad).is_err(), "{bad:?}");
        }
    }
}
