//! The one demo seal authority: a throw-away SM2 trust domain with a seal
//! maker, a seal signer and the signer's drawn, signed seal. Both demos start
//! here — the developer facade's `yinzheng::demo::Demo` (examples, doc tests)
//! and `yinzheng serve --demo` (which adds licenses, TLS and the log around it).
//!
//! **Not for production**: a real deployment runs `yinzheng ca init`,
//! `ca issue` and `seal make`.

use crate::{InitOptions, IssueRequest, KeySource, Result, TrustDomain};
use std::path::Path;
use time::OffsetDateTime;
use yinzheng_crypto::{KeyEncryption, PrivateKey};
use yinzheng_pki::{ParsedCert, SubjectExtras};
use yinzheng_seal::{Picture, Seal, SealBuilder, SealFont, SealType};
use yinzheng_store::Backend;

/// What the demo authority is called and how its seal looks.
#[derive(Clone, Debug)]
pub struct DemoAuthority<'a> {
    /// The root CA's subject DN.
    pub root_subject: &'a str,
    /// The sealing organisation: the signer's CN and O, and the seal's ring text.
    pub organisation: &'a str,
    /// Its unified social credit code (put in the signer's subject).
    pub uscc: &'a str,
    /// The seal's ID (GB/T 38540 `esID`).
    pub seal_id: &'a str,
    /// The seal's name.
    pub seal_name: &'a str,
    /// The seal's type.
    pub seal_type: SealType,
    /// The text across the seal's centre ("合同专用章"; empty for an official seal).
    pub seal_text: &'a str,
    /// The seal's diameter, mm.
    pub size_mm: u16,
    /// How long the seal is valid, days from `now`.
    pub seal_days: i64,
    /// How long the certificates are valid (None: the profile's default).
    pub cert_days: Option<u32>,
    /// How the CA keys are encrypted at rest.
    pub key_encryption: KeyEncryption,
    /// The time the seal's validity starts from (an hour before, against clock skew).
    pub now: OffsetDateTime,
}

/// A made demo authority.
pub struct MadeAuthority {
    /// The trust domain (root, issuing CA, its store).
    pub domain: TrustDomain,
    /// The seal signer's private key (the caller writes it, encrypted).
    pub signer_key: PrivateKey,
    /// The seal signer's certificate.
    pub signer_cert: ParsedCert,
    /// The signed seal, made by the seal maker for the signer.
    pub seal: Seal,
}

impl DemoAuthority<'_> {
    /// Make the trust domain in `dir` (keys encrypted with `passphrase`, its
    /// certificate store in `backend`), issue
    /// the seal maker and signer, and draw and sign the seal. The seal is drawn
    /// with an installed CJK font, else the embedded one.
    pub fn create(
        &self,
        dir: &Path,
        backend: &Backend,
        passphrase: &[u8],
    ) -> Result<MadeAuthority> {
        let mut opts = InitOptions::new(self.root_subject);
        opts.key_encryption = self.key_encryption;
        let mut domain = TrustDomain::init_in(dir, backend, &opts, passphrase)?;
        let mut issue = |profile: &str, subject: &str, extras: SubjectExtras| {
            let issued = domain.issue(IssueRequest {
                profile,
                subject: Some(subject),
                extras,
                key: KeySource::Generate,
                not_before: None,
                days: self.cert_days,
                issuer: None,
            })?;
            match issued.key {
                Some(key) => Ok((key, issued.cert)),
                None => Err(crate::Error::Domain(format!(
                    "profile {profile} generated no key"
                ))),
            }
        };
        let (maker_key, maker_cert) = issue(
            "seal-maker",
            "CN=Demo Seal Maker,O=Yinzheng Demo,C=CN",
            SubjectExtras::default(),
        )?;
        let (signer_key, signer_cert) = issue(
            "seal-signer",
            &format!("CN={0},O={0},C=CN", self.organisation),
            SubjectExtras {
                uscc: Some(self.uscc.to_string()),
                ..Default::default()
            },
        )?;
        let font = SealFont::find()?;
        let png = yinzheng_seal::draw_round(
            &font,
            self.organisation,
            self.seal_text,
            f32::from(self.size_mm),
        )?;
        let seal = SealBuilder::new(
            self.seal_id,
            self.seal_name,
            self.seal_type,
            Picture {
                kind: "PNG".into(),
                data: png,
                width_mm: u64::from(self.size_mm),
                height_mm: u64::from(self.size_mm),
            },
        )
        .validity(
            self.now - time::Duration::hours(1),
            self.now + time::Duration::days(self.seal_days),
        )
        .signer_cert(signer_cert.der())
        .sign(&maker_key, maker_cert.der())?;
        Ok(MadeAuthority {
            domain,
            signer_key,
            signer_cert,
            seal,
        })
    }
}
