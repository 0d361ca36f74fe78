//! A private key on a token, found (or generated) by URI, signing through the
//! token.

use crate::error::{Error, Result, call};
use crate::pin::PinSource;
use crate::uri::Pkcs11Uri;
use cryptoki::context::{CInitializeArgs, CInitializeFlags, Function, Pkcs11};
use cryptoki::error::RvError;
use cryptoki::mechanism::Mechanism;
use cryptoki::mechanism::eddsa::{EddsaParams, EddsaSignatureScheme};
use cryptoki::object::{Attribute, AttributeType, KeyType, ObjectClass, ObjectHandle};
use cryptoki::session::{Session, UserType};
use cryptoki::slot::Slot;
use cryptoki::types::AuthPin;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};
use yinzheng_crypto::{KeyAlgorithm, PublicKey, SignatureAlgorithm, Signer};

/// The environment variable naming the PKCS#11 module when the URI has no
/// `module-path`.
pub const MODULE_ENV: &str = "YINZHENG_PKCS11_MODULE";

/// DER OID 1.2.840.10045.3.1.7 (prime256v1), the `CKA_EC_PARAMS` of a P-256 key.
const P256_PARAMS: &[u8] = &[0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07];
/// DER OID 1.3.101.112 (id-Ed25519), one `CKA_EC_PARAMS` of an Ed25519 key.
const ED25519_OID_PARAMS: &[u8] = &[0x06, 0x03, 0x2b, 0x65, 0x70];
/// PrintableString "edwards25519", the other (PKCS#11 3.0 §2.3.10).
const ED25519_NAME_PARAMS: &[u8] = b"\x13\x0cedwards25519";

/// Modules loaded and initialised in this process, by path: `C_Initialize`
/// once per module, kept for the life of the process.
fn module(path: &Path) -> Result<Pkcs11> {
    static MODULES: OnceLock<Mutex<HashMap<PathBuf, Pkcs11>>> = OnceLock::new();
    let mut loaded = MODULES
        .get_or_init(Mutex::default)
        .lock()
        .map_err(|_| Error::Module {
            module: path.display().to_string(),
            reason: "an earlier load panicked".into(),
        })?;
    if let Some(m) = loaded.get(path) {
        return Ok(m.clone());
    }
    let failed = |reason: String| Error::Module {
        module: path.display().to_string(),
        reason,
    };
    let m = Pkcs11::new(path).map_err(|e| failed(format!("cannot load: {e}")))?;
    match m.initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK)) {
        Ok(()) => {}
        Err(cryptoki::error::Error::Pkcs11(
            RvError::CryptokiAlreadyInitialized,
            Function::Initialize,
        )) => {}
        Err(e) => return Err(failed(format!("C_Initialize: {e}"))),
    }
    loaded.insert(path.to_path_buf(), m.clone());
    Ok(m)
}

/// The module a URI names, else [`MODULE_ENV`].
fn module_path(uri: &Pkcs11Uri) -> Result<PathBuf> {
    if let Some(p) = &uri.module_path {
        return Ok(p.clone());
    }
    std::env::var_os(MODULE_ENV)
        .map(PathBuf::from)
        .ok_or_else(|| Error::Uri {
            uri: uri.to_string(),
            reason: format!(
                "names no module: add ?module-path=/path/to/module.so or set {MODULE_ENV}"
            ),
        })
}

/// The one slot whose token the URI's token attributes match.
fn find_slot(p11: &Pkcs11, uri: &Pkcs11Uri) -> Result<Slot> {
    let slots = p11
        .get_slots_with_token()
        .map_err(call("list the slots with a token"))?;
    let mut found = Vec::new();
    let mut labels = Vec::new();
    for slot in slots {
        let info = p11
            .get_token_info(slot)
            .map_err(call("read a token's information"))?;
        let label = info.label().trim_end().to_string();
        let matches = uri.token.as_deref().is_none_or(|t| t == label)
            && uri
                .serial
                .as_deref()
                .is_none_or(|s| s == info.serial_number().trim_end())
            && uri
                .manufacturer
                .as_deref()
                .is_none_or(|m| m == info.manufacturer_id().trim_end())
            && uri
                .model
                .as_deref()
                .is_none_or(|m| m == info.model().trim_end())
            && uri.slot_id.is_none_or(|id| id == slot.id());
        labels.push(format!("{label:?} (slot {})", slot.id()));
        if matches {
            found.push(slot);
        }
    }
    match found.as_slice() {
        [one] => Ok(*one),
        [] => Err(Error::Token(format!(
            "no token matches {uri}; the module has {}",
            if labels.is_empty() {
                "no token".to_string()
            } else {
                labels.join(", ")
            }
        ))),
        many => Err(Error::Token(format!(
            "{} tokens match {uri} ({}): add token= or serial=",
            many.len(),
            labels.join(", ")
        ))),
    }
}

/// Open a session on the URI's token and log the user in.
fn session(uri: &Pkcs11Uri, read_write: bool) -> Result<(Session, PathBuf)> {
    let path = module_path(uri)?;
    let p11 = module(&path)?;
    let slot = find_slot(&p11, uri)?;
    let session = if read_write {
        p11.open_rw_session(slot)
    } else {
        p11.open_ro_session(slot)
    }
    .map_err(call("open a session"))?;
    let pin = PinSource::of(uri.pin_source.as_deref()).read()?;
    match session.login(UserType::User, Some(&AuthPin::new(pin.as_str().into()))) {
        Ok(())
        | Err(cryptoki::error::Error::Pkcs11(RvError::UserAlreadyLoggedIn, Function::Login)) => {}
        Err(e) => return Err(call("log in")(e)),
    }
    Ok((session, path))
}

/// The template that finds objects of `class` the URI names.
fn template(uri: &Pkcs11Uri, class: ObjectClass) -> Vec<Attribute> {
    let mut t = vec![Attribute::Class(class)];
    if let Some(label) = &uri.object {
        t.push(Attribute::Label(label.as_bytes().to_vec()));
    }
    if let Some(id) = &uri.id {
        t.push(Attribute::Id(id.clone()));
    }
    t
}

/// A private key held in a PKCS#11 token, signing through it.
pub struct Pkcs11Key {
    session: Mutex<Session>,
    key: ObjectHandle,
    public: PublicKey,
    uri: Pkcs11Uri,
}

impl std::fmt::Debug for Pkcs11Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pkcs11Key")
            .field("uri", &self.uri.to_string())
            .field("algorithm", &self.public.algorithm())
            .finish()
    }
}

impl Pkcs11Key {
    /// The key the URI names: exactly one private key must match, with its
    /// public key object beside it (same label and id), of a type we sign with
    /// (EC P-256, Ed25519), sensitive and not extractable.
    pub fn open(uri: &Pkcs11Uri) -> Result<Self> {
        let (session, _) = session(uri, false)?;
        Self::from_session(session, uri)
    }

    /// Generate a key pair of `algorithm` (P-256 or Ed25519) on the URI's
    /// token, labelled `object` and with the URI's `id` (16 random bytes when
    /// it has none): the private key sensitive and never extractable. Refused
    /// when a key with that label or id is already there. The returned key's
    /// [`uri`](Self::uri) names it exactly (with its id).
    pub fn generate(uri: &Pkcs11Uri, algorithm: KeyAlgorithm) -> Result<Self> {
        let label = uri.object.clone().ok_or_else(|| Error::Uri {
            uri: uri.to_string(),
            reason: "a key to generate needs a label: object=<label>".into(),
        })?;
        let (mechanism, params) = match algorithm {
            KeyAlgorithm::EcdsaP256 => (Mechanism::EccKeyPairGen, P256_PARAMS),
            KeyAlgorithm::Ed25519 => (Mechanism::EccEdwardsKeyPairGen, ED25519_NAME_PARAMS),
            other => {
                return Err(Error::Key {
                    uri: uri.to_string(),
                    reason: format!(
                        "{other} keys are not generated on a PKCS#11 token here (P-256 or \
                         Ed25519; SM2 keys live in a GM/T 0018 cipher machine)"
                    ),
                });
            }
        };
        let (session, _) = session(uri, true)?;
        let mut named = uri.clone();
        let id = match &uri.id {
            Some(id) => id.clone(),
            None => {
                let mut id = vec![0u8; 16];
                getrandom::fill(&mut id).map_err(|_| yinzheng_crypto::Error::Rng)?;
                id
            }
        };
        named.id = Some(id.clone());
        for probe in [
            template(
                &Pkcs11Uri {
                    id: None,
                    ..named.clone()
                },
                ObjectClass::PRIVATE_KEY,
            ),
            template(
                &Pkcs11Uri {
                    object: None,
                    ..named.clone()
                },
                ObjectClass::PRIVATE_KEY,
            ),
        ] {
            let existing = session
                .find_objects(&probe)
                .map_err(call("look for an existing key"))?;
            if !existing.is_empty() {
                return Err(Error::Key {
                    uri: named.to_string(),
                    reason: "a private key with this label or id is already on the token: \
                             choose another, or use it (yinzheng never overwrites a key)"
                        .into(),
                });
            }
        }
        let public_template = vec![
            Attribute::Token(true),
            Attribute::Private(false),
            Attribute::Verify(true),
            Attribute::EcParams(params.to_vec()),
            Attribute::Label(label.as_bytes().to_vec()),
            Attribute::Id(id.clone()),
        ];
        let private_template = vec![
            Attribute::Token(true),
            Attribute::Private(true),
            Attribute::Sensitive(true),
            Attribute::Extractable(false),
            Attribute::Sign(true),
            Attribute::Label(label.as_bytes().to_vec()),
            Attribute::Id(id),
        ];
        session
            .generate_key_pair(&mechanism, &public_template, &private_template)
            .map_err(call("generate a key pair"))?;
        Self::from_session(session, &named)
    }

    fn from_session(session: Session, uri: &Pkcs11Uri) -> Result<Self> {
        let bad = |reason: String| Error::Key {
            uri: uri.to_string(),
            reason,
        };
        let keys = session
            .find_objects(&template(uri, ObjectClass::PRIVATE_KEY))
            .map_err(call("find the private key"))?;
        let key = match keys.as_slice() {
            [one] => *one,
            [] => return Err(bad("no private key on the token matches".into())),
            many => {
                return Err(bad(format!(
                    "{} private keys match: add id= or object=",
                    many.len()
                )));
            }
        };
        let attrs = session
            .get_attributes(
                key,
                &[
                    AttributeType::KeyType,
                    AttributeType::EcParams,
                    AttributeType::Sensitive,
                    AttributeType::Extractable,
                    AttributeType::Label,
                    AttributeType::Id,
                ],
            )
            .map_err(call("read the private key's attributes"))?;
        let (mut key_type, mut params) = (None, None);
        let (mut sensitive, mut extractable) = (false, true);
        let (mut label, mut id) = (None, None);
        for a in attrs {
            match a {
                Attribute::KeyType(t) => key_type = Some(t),
                Attribute::EcParams(p) => params = Some(p),
                Attribute::Sensitive(s) => sensitive = s,
                Attribute::Extractable(e) => extractable = e,
                Attribute::Label(l) => label = Some(l),
                Attribute::Id(i) => id = Some(i),
                _ => {}
            }
        }
        if !sensitive || extractable {
            return Err(bad(
                "the private key could leave the token (CKA_SENSITIVE false or \
                 CKA_EXTRACTABLE true): generate one on the token with `yinzheng keys generate`"
                    .into(),
            ));
        }
        let algorithm = match (key_type, params.as_deref()) {
            (Some(t), Some(P256_PARAMS)) if t == KeyType::EC => KeyAlgorithm::EcdsaP256,
            (Some(t), Some(p))
                if t == KeyType::EC_EDWARDS
                    && (p == ED25519_OID_PARAMS || p == ED25519_NAME_PARAMS) =>
            {
                KeyAlgorithm::Ed25519
            }
            (t, p) => {
                return Err(bad(format!(
                    "key type {t:?} with parameters {p:02x?}: only EC P-256 and Ed25519 keys sign here"
                )));
            }
        };
        // The public key: the public key object with the private key's own
        // label and id.
        let mut public_template = vec![Attribute::Class(ObjectClass::PUBLIC_KEY)];
        if let Some(l) = label {
            public_template.push(Attribute::Label(l));
        }
        if let Some(i) = id {
            public_template.push(Attribute::Id(i));
        }
        let publics = session
            .find_objects(&public_template)
            .map_err(call("find the public key"))?;
        let [public_handle] = publics.as_slice() else {
            return Err(bad(format!(
                "{} public key objects have the private key's label and id (one expected)",
                publics.len()
            )));
        };
        let point = session
            .get_attributes(*public_handle, &[AttributeType::EcPoint])
            .map_err(call("read the public key"))?
            .into_iter()
            .find_map(|a| match a {
                Attribute::EcPoint(p) => Some(p),
                _ => None,
            })
            .ok_or_else(|| bad("the public key object has no CKA_EC_POINT".into()))?;
        let raw = unwrap_octet_string(&point, algorithm);
        let public = PublicKey::from_raw(algorithm, raw)?;
        let opened = Pkcs11Key {
            session: Mutex::new(session),
            key,
            public,
            uri: uri.clone(),
        };
        // The public key object is found by label and id only: a signature
        // it verifies shows it is the private key's own.
        let challenge = b"yinzheng: does this public key belong to this private key?";
        let sig = opened.sign(challenge)?;
        if opened
            .public
            .verify(opened.algorithm(), challenge, &sig)
            .is_err()
        {
            return Err(bad(
                "the public key object beside it does not verify its signatures: it is \
                 another key's"
                    .into(),
            ));
        }
        Ok(opened)
    }

    /// The URI that names this key.
    pub fn uri(&self) -> &Pkcs11Uri {
        &self.uri
    }

    /// Destroy the key pair `uri` names exactly (label and id) on its token:
    /// the private key and its public key object. For a key just generated
    /// by an operation that then failed, so that it leaves no orphan behind
    /// (a label a retry would be refused). Exactly one private key must match.
    pub fn destroy(uri: &Pkcs11Uri) -> Result<()> {
        if uri.object.is_none() || uri.id.is_none() {
            return Err(Error::Uri {
                uri: uri.to_string(),
                reason: "only a key named exactly (object= and id=) is destroyed".into(),
            });
        }
        let (session, _) = session(uri, true)?;
        let private = session
            .find_objects(&template(uri, ObjectClass::PRIVATE_KEY))
            .map_err(call("find the private key"))?;
        let [one] = private.as_slice() else {
            return Err(Error::Key {
                uri: uri.to_string(),
                reason: format!(
                    "{} private keys match, not one: nothing destroyed",
                    private.len()
                ),
            });
        };
        session
            .destroy_object(*one)
            .map_err(call("destroy the private key"))?;
        for public in session
            .find_objects(&template(uri, ObjectClass::PUBLIC_KEY))
            .map_err(call("find the public key"))?
        {
            session
                .destroy_object(public)
                .map_err(call("destroy the public key"))?;
        }
        Ok(())
    }
}

/// `CKA_EC_POINT` is a DER OCTET STRING around the point (PKCS#11 2.40
/// §2.3.3); some modules give the bare point. Told apart by length: the bare
/// point of `algorithm` has a known size.
fn unwrap_octet_string(point: &[u8], algorithm: KeyAlgorithm) -> &[u8] {
    let bare = match algorithm {
        KeyAlgorithm::Ed25519 => 32,
        _ => 65,
    };
    match point {
        [0x04, len, rest @ ..] if usize::from(*len) == bare && rest.len() == bare => rest,
        _ => point,
    }
}

impl Signer for Pkcs11Key {
    fn algorithm(&self) -> SignatureAlgorithm {
        match self.public.algorithm() {
            KeyAlgorithm::Ed25519 => SignatureAlgorithm::Ed25519,
            _ => SignatureAlgorithm::EcdsaP256Sha256,
        }
    }

    fn public_key(&self) -> &PublicKey {
        &self.public
    }

    fn sign(&self, message: &[u8]) -> yinzheng_crypto::Result<Vec<u8>> {
        let session = self
            .session
            .lock()
            .map_err(|_| yinzheng_crypto::Error::Device("the token session is poisoned".into()))?;
        let device = |e: cryptoki::error::Error| {
            yinzheng_crypto::Error::Device(format!("PKCS#11 sign with {}: {e}", self.uri))
        };
        match self.public.algorithm() {
            KeyAlgorithm::Ed25519 => session
                .sign(
                    &Mechanism::Eddsa(EddsaParams::new(EddsaSignatureScheme::Pure)),
                    self.key,
                    message,
                )
                .map_err(device),
            _ => {
                let digest = yinzheng_crypto::sha256(message);
                let raw = session
                    .sign(&Mechanism::Ecdsa, self.key, &digest)
                    .map_err(device)?;
                let (r, s) = raw
                    .split_at_checked(32)
                    .filter(|(r, s)| r.len() == 32 && s.len() == 32)
                    .ok_or_else(|| {
                        yinzheng_crypto::Error::Device(format!(
                            "the token returned a {}-byte ECDSA signature (64 expected)",
                            raw.len()
                        ))
                    })?;
                let (r, s): ([u8; 32], [u8; 32]) = (
                    r.try_into()
                        .map_err(|_| yinzheng_crypto::Error::Signing("r"))?,
                    s.try_into()
                        .map_err(|_| yinzheng_crypto::Error::Signing("s"))?,
                );
                Ok(yinzheng_crypto::asn1::ec_signature_der(&r, &s))
            }
        }
    }
}
