//! Making seals and stamping: round trips with the ofdrw keys (field for field)
//! and with a trust domain of our own (chains, revocation).

#![allow(clippy::unwrap_used)]

use proptest::prelude::*;
use std::time::SystemTime;
use yinzheng_ca::{InitOptions, IssueRequest, KeySource, TrustDomain};
use yinzheng_crypto::{KeyEncryption, PrivateKey};
use yinzheng_pki::{
    Indication, ParsedCert, RevocationPolicy, SubIndication, SubjectExtras, Validator,
};
use yinzheng_seal::{
    CertList, FormatVersion, MakerTrust, Picture, ProtectedData, Seal, SealBuilder, SealSignature,
    SealType, VerifyOptions, stamp, verify_signature, verify_signature_at,
};

fn interop(name: &str) -> Vec<u8> {
    let p = concat!(env!("CARGO_MANIFEST_DIR"), "/../../testdata/interop/ofdrw/");
    std::fs::read(format!("{p}{name}")).unwrap()
}

fn key_and_cert(file: &str) -> (PrivateKey, Vec<u8>) {
    let pem = interop(file);
    let key = PrivateKey::from_bytes(&pem, None).unwrap();
    let cert = ParsedCert::load_all(&pem).unwrap().remove(0).der().to_vec();
    (key, cert)
}

fn date(y: i32, m: u8, d: u8) -> time::OffsetDateTime {
    time::Date::from_calendar_date(y, time::Month::try_from(m).unwrap(), d)
        .unwrap()
        .midnight()
        .assume_utc()
}

fn picture() -> Picture {
    Picture {
        kind: "PNG".into(),
        data: b"\x89PNG\r\n\x1a\n not a real image".to_vec(),
        width_mm: 40,
        height_mm: 40,
    }
}

#[test]
fn ofdrw_keys_make_a_seal_and_a_signature_that_parse_back_field_for_field() {
    let (maker_key, maker_cert) = key_and_cert("SealBuilder.pem");
    let (user_key, user_cert) = key_and_cert("USER.pem");
    let seal = SealBuilder::new(
        "yz-0001",
        "示例单位合同专用章",
        SealType::Contract,
        picture(),
    )
    .signer_cert(&user_cert)
    .validity(date(2020, 6, 1), date(2021, 6, 1))
    .sign(&maker_key, &maker_cert)
    .unwrap();
    let again = Seal::parse(seal.raw()).unwrap();
    assert_eq!(again.version(), FormatVersion::V4);
    assert_eq!(again.id(), "yz-0001");
    assert_eq!(again.name(), "示例单位合同专用章");
    assert_eq!(again.seal_type(), 2);
    assert_eq!(again.vendor(), "Yinzheng");
    assert_eq!(again.valid_start(), date(2020, 6, 1));
    assert_eq!(again.valid_end(), date(2021, 6, 1));
    assert_eq!(again.picture().data, picture().data);
    assert_eq!(
        again.cert_list(),
        &CertList::Certificates(vec![user_cert.clone()])
    );
    assert_eq!(again.maker_cert(), maker_cert.as_slice());
    assert!(
        again.warnings().is_empty(),
        "we write strict DER: {:?}",
        again.warnings()
    );

    let data = b"contract text";
    let sig = stamp(
        &seal,
        &user_key,
        &user_cert,
        data,
        "contract.txt",
        date(2021, 1, 1),
    )
    .unwrap();
    let back = SealSignature::parse(sig.raw()).unwrap();
    assert_eq!(back.property_info(), "contract.txt");
    assert_eq!(back.signing_time(), date(2021, 1, 1));
    assert_eq!(
        back.seal().raw(),
        seal.raw(),
        "the seal is embedded byte for byte"
    );
    assert!(back.warnings().is_empty());

    let root = ParsedCert::load_all(&interop("ROOT.pem")).unwrap();
    let v = Validator::new(root).with_revocation(RevocationPolicy::DangerBestEffort);
    // The ofdrw certificates expired in 2022: judged as of a proven 2021 time.
    let proven = |d: time::OffsetDateTime| {
        SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(d.unix_timestamp() as u64)
    };
    let r = verify_signature_at(
        &back,
        &VerifyOptions {
            registry: None,
            makers: MakerTrust::DangerAny,
            validator: &v,
            intermediates: &[],
            data: Some(data.into()),
        },
        proven(date(2021, 1, 1)),
    );
    assert_eq!(r.indication(), Indication::TotalPassed, "{r}");
    // Stamped when the seal's validity window had closed (proven): that check fails.
    let late = stamp(&seal, &user_key, &user_cert, data, "x", date(2021, 12, 1)).unwrap();
    let r = verify_signature_at(
        &late,
        &VerifyOptions {
            registry: None,
            makers: MakerTrust::DangerAny,
            validator: &v,
            intermediates: &[],
            data: Some(data.into()),
        },
        proven(date(2021, 12, 1)),
    );
    assert_eq!(
        r.sub_indication(),
        Some(SubIndication::SigConstraintsFailure),
        "{r}"
    );
    // A signer the seal does not list is refused at stamping time.
    assert!(stamp(&seal, &maker_key, &maker_cert, data, "x", date(2021, 1, 1)).is_err());
}

struct Domain {
    _dir: tempfile::TempDir,
    domain: TrustDomain,
    maker: (PrivateKey, Vec<u8>),
    signer: (PrivateKey, ParsedCert),
}

fn domain() -> Domain {
    let dir = tempfile::tempdir().unwrap();
    let mut opts = InitOptions::new("CN=Seal Test Root CA,O=Yinzheng,C=CN");
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
                issuer: None,
                days: None,
            })
            .unwrap();
        (i.key.unwrap(), i.cert)
    };
    let (mk, mc) = issue("seal-maker", "CN=Seal Maker,O=Yinzheng,C=CN", None);
    let signer = issue(
        "seal-signer",
        "CN=Example Org,O=Example Org,C=CN",
        Some("91350100M000100Y43"),
    );
    Domain {
        _dir: dir,
        domain,
        maker: (mk, mc.der().to_vec()),
        signer,
    }
}

#[test]
fn our_own_pki_seal_verifies_a_forged_maker_fails_and_a_revoked_signer_fails() {
    let mut d = domain();
    let now = time::OffsetDateTime::now_utc();
    let seal = SealBuilder::new("yz-0002", "Example Org 公章", SealType::Official, picture())
        .signer_cert(d.signer.1.der())
        .validity(
            now - time::Duration::days(1),
            now + time::Duration::days(30),
        )
        .sign(&d.maker.0, &d.maker.1)
        .unwrap();
    let sig = stamp(
        &seal,
        &d.signer.0,
        d.signer.1.der(),
        b"data",
        "data.bin",
        now,
    )
    .unwrap();
    // Seal files carry only end-entity certificates: the issuing CA comes from the caller.
    let chain = vec![d.domain.issuing().clone()];
    let v = Validator::new(vec![d.domain.root().clone()]).with_crls(d.domain.crl(24).unwrap());
    let opts = |v| VerifyOptions {
        makers: MakerTrust::Policy,
        registry: None,
        intermediates: &chain,
        validator: v,
        data: Some(b"data".into()),
    };
    let r = verify_signature(&sig, &opts(&v));
    assert_eq!(r.indication(), Indication::TotalPassed, "{r}");
    // The maker's signature is remembered once it verified (the seal comes
    // with every stamp), for exactly these bytes: the same report again, and
    // the seal with one byte of its picture changed under the same maker
    // signature fails it, before and after the genuine one was remembered.
    let checks = |r: &yinzheng_pki::VerificationReport| {
        r.checks()
            .iter()
            .map(|c| (c.id.clone(), c.status, c.message.clone()))
            .collect::<Vec<_>>()
    };
    assert_eq!(checks(&verify_signature(&sig, &opts(&v))), checks(&r));
    let mut raw = seal.raw().to_vec();
    let at = raw
        .windows(6)
        .position(|w| w == b"a real")
        .expect("the picture is in the seal");
    raw[at] ^= 0x20;
    let altered = Seal::parse(&raw).unwrap();
    for _ in 0..2 {
        let r =
            yinzheng_seal::verify_seal(&altered, &v, MakerTrust::Policy, &chain, SystemTime::now());
        assert!(
            r.checks().iter().any(|c| c.id == "maker-signature"
                && c.status == yinzheng_pki::CheckStatus::Failed),
            "{r}"
        );
        assert_eq!(
            r.sub_indication(),
            Some(SubIndication::SigCryptoFailure),
            "{r}"
        );
    }
    // The data in any of its forms: the same bytes in parts, or their SM3 from
    // a caller that hashed them already, pass; other bytes, the right bytes cut
    // differently but with one missing, or a digest of other bytes fail the
    // data-hash step by name.
    let with = |data: ProtectedData<'_>| {
        verify_signature(
            &sig,
            &VerifyOptions {
                data: Some(data),
                ..opts(&v)
            },
        )
    };
    for good in [
        ProtectedData::Parts(&[b"da", b"", b"ta"]),
        ProtectedData::Sm3 {
            digest: yinzheng_crypto::sm3(b"data"),
            len: 4,
        },
    ] {
        let r = with(good);
        assert_eq!(r.indication(), Indication::TotalPassed, "{good:?}: {r}");
    }
    for bad in [
        ProtectedData::Parts(&[b"da", b"tA"]),
        ProtectedData::Parts(&[b"da", b"a"]),
        ProtectedData::Bytes(b"data "),
        ProtectedData::Sm3 {
            digest: yinzheng_crypto::sm3(b"Data"),
            len: 4,
        },
    ] {
        let r = with(bad);
        assert_eq!(
            r.sub_indication(),
            Some(SubIndication::HashFailure),
            "{bad:?}: {r}"
        );
        assert!(
            r.checks()
                .iter()
                .any(|c| c.id.ends_with("data-hash")
                    && c.status == yinzheng_pki::CheckStatus::Failed),
            "{bad:?}: {r}"
        );
    }
    // "Now" is the validator's clock, not the system's: twenty years on, the
    // certificates of a signature nothing dates have expired.
    let later = SystemTime::now() + std::time::Duration::from_secs(20 * 365 * 86_400);
    let v_later = Validator::new(vec![d.domain.root().clone()])
        .with_crls(d.domain.crl(24).unwrap())
        .with_clock(std::sync::Arc::new(yinzheng_pki::FixedClock(later)));
    let r = verify_signature(&sig, &opts(&v_later));
    assert_ne!(r.indication(), Indication::TotalPassed, "{r}");
    assert!(r.to_string().contains(&yinzheng_pki::rfc3339(later)), "{r}");
    let no_chain = verify_signature(
        &sig,
        &VerifyOptions {
            makers: MakerTrust::Policy,
            registry: None,
            intermediates: &[],
            validator: &v,
            data: Some(b"data".into()),
        },
    );
    assert_eq!(
        no_chain.sub_indication(),
        Some(SubIndication::NoCertificateChainFound)
    );

    // A seal-signer certificate may not make seals: a seal "made" with it, naming
    // another organisation and listing itself, is refused by default.
    let forged = SealBuilder::new(
        "yz-forged",
        "Another Org 公章",
        SealType::Official,
        picture(),
    )
    .signer_cert(d.signer.1.der())
    .validity(
        now - time::Duration::days(1),
        now + time::Duration::days(30),
    )
    .sign(&d.signer.0, d.signer.1.der())
    .unwrap();
    let fsig = stamp(
        &forged,
        &d.signer.0,
        d.signer.1.der(),
        b"data",
        "data.bin",
        now,
    )
    .unwrap();
    let r = verify_signature(&fsig, &opts(&v));
    assert_eq!(
        r.sub_indication(),
        Some(SubIndication::SigConstraintsFailure),
        "{r}"
    );
    assert!(
        r.checks()
            .iter()
            .any(|c| c.id == "maker-authority" && c.status == yinzheng_pki::CheckStatus::Failed),
        "{r}"
    );

    d.domain
        .revoke(
            &d.signer.1.serial_hex(),
            1,
            SystemTime::now() - std::time::Duration::from_secs(60),
        )
        .unwrap();
    let v = Validator::new(vec![d.domain.root().clone()]).with_crls(d.domain.crl(24).unwrap());
    // Nothing proves the signature predates the revocation: INDETERMINATE.
    let r = verify_signature(&sig, &opts(&v));
    assert_eq!(r.sub_indication(), Some(SubIndication::RevokedNoPoe), "{r}");
    assert_eq!(r.indication(), Indication::Indeterminate, "{r}");
    // Proven to exist after it: revoked.
    let r = verify_signature_at(&sig, &opts(&v), SystemTime::now());
    assert_eq!(r.sub_indication(), Some(SubIndication::Revoked), "{r}");
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    /// make → stamp → verify round trips; any single-bit flip in a signed region
    /// fails (or no longer parses).
    #[test]
    fn round_trip_and_bit_flips(data in proptest::collection::vec(any::<u8>(), 0..256), flip in any::<prop::sample::Index>(), bit in 0u8..8) {
        let (maker_key, maker_cert) = key_and_cert("SealBuilder.pem");
        let (user_key, user_cert) = key_and_cert("USER.pem");
        let seal = SealBuilder::new("p", "p", SealType::Other(9), picture())
            .signer_cert(&user_cert)
            .validity(date(2020, 6, 1), date(2021, 6, 1))
            .sign(&maker_key, &maker_cert)
            .unwrap();
        let sig = stamp(&seal, &user_key, &user_cert, &data, "p", date(2021, 1, 1)).unwrap();
        let root = ParsedCert::load_all(&interop("ROOT.pem")).unwrap();
        let v = Validator::new(root).with_revocation(RevocationPolicy::DangerBestEffort);
        // Signed in 2021 (the ofdrw certificates' time): proven then.
        let signed = SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(date(2021, 1, 1).unix_timestamp() as u64);
        let ok = verify_signature_at(&sig, &VerifyOptions { registry: None,
 makers: MakerTrust::DangerAny,
 validator: &v, intermediates: &[], data: Some((&data).into()) }, signed);
        prop_assert_eq!(ok.indication(), Indication::TotalPassed);
        let mut bad = sig.raw().to_vec();
        // toSign starts after the 4-byte outer header; flip a bit inside it.
        let pos = 4 + flip.index(sig.to_sign_bytes().len() - 4);
        bad[pos] ^= 1 << bit;
        if let Ok(parsed) = SealSignature::parse(&bad) {
            let r = verify_signature_at(&parsed, &VerifyOptions { registry: None,
 makers: MakerTrust::DangerAny,
 validator: &v, intermediates: &[], data: Some((&data).into()) }, signed);
            prop_assert_ne!(r.indication(), Indication::TotalPassed, "flip at {} passed", pos);
        }
    }
}
