//! Signing keys held in a PKCS#11 token — a hardware security module, or
//! SoftHSM2 in the tests — behind [`yinzheng_crypto::Signer`].
//!
//! A key is generated on the token ([`Pkcs11Key::generate`]: sensitive, never
//! extractable) and addressed by an RFC 7512 `pkcs11:` URI ([`Pkcs11Uri`]:
//! token, object label, id; the module from `module-path` or
//! `YINZHENG_PKCS11_MODULE`). The user PIN comes from a file (`pin-source`)
//! or the environment ([`PinSource`]), never from the URI or the command line:
//! a `pin-value` is refused. Signing hashes on our side where the mechanism
//! takes a digest (ECDSA P-256 over SHA-256) and hands the token the rest
//! (Ed25519 signs the message itself); the token's raw `r‖s` is returned as the
//! DER X.509 and CMS use. SM2 keys in a cipher machine go through GM/T 0018 SDF
//! instead: PKCS#11 has no standard SM2 mechanism.
//!
//! Every token error is an [`Error`] that says what was asked and what the
//! token answered (`CKR_PIN_INCORRECT`, `CKR_TOKEN_NOT_PRESENT`, …); a key that
//! could leave the token (extractable, or not sensitive) is refused.

mod error;
mod key;
mod pin;
mod uri;

pub use error::{Error, Result};
pub use key::{MODULE_ENV, Pkcs11Key};
pub use pin::{PIN_ENV, PinSource};
pub use uri::Pkcs11Uri;
