//! Test PKI shared by the OFD sealing tests: a trust domain, a seal maker, a
//! seal signer and a seal.

#![allow(clippy::unwrap_used, dead_code)]

use yinzheng_ca::{InitOptions, IssueRequest, KeySource, TrustDomain};
use yinzheng_crypto::{KeyEncryption, PrivateKey};
use yinzheng_pki::{ParsedCert, SubjectExtras, Validator};
use yinzheng_seal::{Picture, Seal, SealBuilder, SealType};

/// What the tests seal with.
pub struct Pki {
    _dir: tempfile::TempDir,
    pub domain: TrustDomain,
    pub seal: Seal,
    pub signer: (PrivateKey, ParsedCert),
}

/// A fresh trust domain, a seal maker, a signer and a seal with a placeholder picture.
pub fn pki() -> Pki {
    pki_with_picture(Picture {
        kind: "PNG".into(),
        data: b"\x89PNG".to_vec(),
        width_mm: 40,
        height_mm: 40,
    })
}

/// As [`pki`], with the seal showing `picture`.
pub fn pki_with_picture(picture: Picture) -> Pki {
    let dir = tempfile::tempdir().unwrap();
    let mut opts = InitOptions::new("CN=OFD Test Root CA,O=Yinzheng,C=CN");
    opts.key_encryption = KeyEncryption::default().with_iterations(1000);
    let mut domain = TrustDomain::init_in(
        &dir.path().join("pki"),
        &yinzheng_tests::store_backend(&dir.path().join("pki")),
        &opts,
        b"pw",
    )
    .unwrap();
    let mut issue = |profile: &str, subject: &str, uscc: Option<&str>| {
        let i = domain
            .issue(IssueRequest {
                profile,
                subject: Some(subject),
                extras: SubjectExtras {
                    uscc: uscc.map(str::to_string),
                    ..Default::default()
                },
                key: KeySource::Generate,
                not_before: None,
                days: None,
                issuer: None,
            })
            .unwrap();
        (i.key.unwrap(), i.cert)
    };
    let maker = issue("seal-maker", "CN=Seal Maker,O=Yinzheng,C=CN", None);
    let signer = issue(
        "seal-signer",
        "CN=Example Org,O=Example Org,C=CN",
        Some("91350100M000100Y43"),
    );
    let now = time::OffsetDateTime::now_utc();
    let seal = SealBuilder::new("ofd-1", "Example Org 公章", SealType::Official, picture)
        .signer_cert(signer.1.der())
        .validity(
            now - time::Duration::days(1),
            now + time::Duration::days(30),
        )
        .sign(&maker.0, maker.1.der())
        .unwrap();
    Pki {
        _dir: dir,
        domain,
        seal,
        signer,
    }
}

/// A validator trusting the domain root, with its CRL.
pub fn validator(p: &mut Pki) -> Validator {
    Validator::new(vec![p.domain.root().clone()]).with_crls(p.domain.crl(24).unwrap())
}
