//! Keys are used only for their purpose (issue 18): a detached CMS signature
//! made with any key of a trust domain that is not a document signer's — the
//! TLS server and client keys (P-256), the OCSP responder, the TSA, the log
//! signer, a seal maker — is refused and the refusal is named; the
//! seal-signer and person-signer keys pass.

#![allow(clippy::unwrap_used)]

use yinzheng_ca::{InitOptions, IssueRequest, KeySource, TrustDomain};
use yinzheng_crypto::KeyEncryption;
use yinzheng_document::{CmsVerifyContext, verify_detached_cms};
use yinzheng_pki::{CheckStatus, Indication, SubjectExtras, Validator};
use yinzheng_seal::MakerTrust;

#[test]
fn only_document_signer_keys_make_a_passing_signature() {
    let dir = tempfile::tempdir().unwrap();
    let mut opts = InitOptions::new("CN=Purpose Test Root CA,O=Yinzheng,C=CN");
    opts.key_encryption = KeyEncryption::default().with_iterations(1000);
    let mut domain = TrustDomain::init_in(
        &dir.path().join("pki"),
        &yinzheng_tests::store_backend(&dir.path().join("pki")),
        &opts,
        b"pw",
    )
    .unwrap();
    // (profile, subject extras, may it sign documents?)
    let cases: Vec<(&str, SubjectExtras, bool)> = vec![
        (
            "tls-server",
            SubjectExtras {
                san: vec!["localhost".into()],
                ..Default::default()
            },
            false,
        ),
        ("tls-client", SubjectExtras::default(), false),
        ("ocsp-responder", SubjectExtras::default(), false),
        ("tsa", SubjectExtras::default(), false),
        ("log-signer", SubjectExtras::default(), false),
        ("seal-maker", SubjectExtras::default(), false),
        (
            "seal-signer",
            SubjectExtras {
                uscc: Some("91350100M000100Y43".into()),
                ..Default::default()
            },
            true,
        ),
        (
            "person-signer",
            SubjectExtras {
                id_number: Some("11010519491231002X".into()),
                ..Default::default()
            },
            true,
        ),
    ];
    let mut issued = Vec::new();
    for (profile, extras, may) in cases {
        let subject = format!("CN=Purpose {profile},O=Yinzheng,C=CN");
        let i = domain
            .issue(IssueRequest {
                profile,
                subject: Some(&subject),
                extras,
                key: KeySource::Generate,
                not_before: None,
                issuer: None,
                days: None,
            })
            .unwrap_or_else(|e| panic!("{profile}: {e}"));
        issued.push((profile, i.key.unwrap(), i.cert, may));
    }
    let validator = Validator::new(vec![domain.root().clone()]).with_crls(domain.crl(24).unwrap());
    let chain = vec![domain.issuing().clone()];
    let ctx = CmsVerifyContext {
        validator: &validator,
        intermediates: &chain,
        makers: MakerTrust::Policy,
        registry: None,
        sm2_id: None,
        deadline: None,
    };
    let data = b"a document";
    for (profile, key, cert, may) in issued {
        let cms = yinzheng_cms::sign_detached(
            &key,
            cert.der(),
            &[data],
            &yinzheng_cms::SignOptions::default(),
            None,
        )
        .unwrap_or_else(|e| panic!("{profile}: {e}"));
        let r = verify_detached_cms(&cms, &[data], &ctx);
        let refused = r
            .checks()
            .iter()
            .any(|c| c.id == "signer purpose" && c.status == CheckStatus::Failed);
        if may {
            assert_eq!(r.indication(), Indication::TotalPassed, "{profile}: {r}");
        } else {
            assert_ne!(r.indication(), Indication::TotalPassed, "{profile}: {r}");
            assert!(refused, "{profile}: the purpose is named:\n{r}");
        }
    }
    // A CA certificate is no signer either.
    assert!(yinzheng_pki::check_signer_purpose(domain.issuing().cert()).is_err());
    assert!(yinzheng_pki::check_signer_purpose(domain.root().cert()).is_err());
}
