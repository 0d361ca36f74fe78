//! The ofdrw project's GB/T 38540 test material (testdata/interop/ofdrw):
//! v4 and v1 seals and a v4 seal signature, verified against the ofdrw root.
//! The certificates expired in 2022: at the current time, with nothing
//! proving when the signature was made, it is INDETERMINATE; taking its
//! signing time as proven (as a time stamp or log entry would), it passes.

#![allow(clippy::unwrap_used)]

use std::time::{Duration, SystemTime};
use yinzheng_pki::{Indication, ParsedCert, RevocationPolicy, SubIndication, Validator};
use yinzheng_seal::{
    CertList, Error, FormatVersion, MakerTrust, Seal, SealSignature, VerifyOptions, verify_seal,
    verify_signature, verify_signature_at,
};

fn interop(name: &str) -> Vec<u8> {
    let p = concat!(env!("CARGO_MANIFEST_DIR"), "/../../testdata/interop/ofdrw/");
    std::fs::read(format!("{p}{name}")).unwrap_or_else(|e| {
        panic!("{p}{name}: {e} (the shared interop data must sit beside the repository)")
    })
}

fn validator() -> Validator {
    let root = ParsedCert::load_all(&interop("ROOT.pem")).unwrap();
    // ofdrw publishes no CRL: revocation cannot be checked for these files.
    Validator::new(root).with_revocation(RevocationPolicy::DangerBestEffort)
}

/// The signature's own (claimed) time, standing in for a proof of it.
fn signed_at(sig: &SealSignature) -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(sig.signing_time().unix_timestamp() as u64)
}

fn at(y: i32, m: u8, d: u8) -> SystemTime {
    let date = time::Date::from_calendar_date(y, time::Month::try_from(m).unwrap(), d).unwrap();
    SystemTime::UNIX_EPOCH
        + Duration::from_secs(date.midnight().assume_utc().unix_timestamp() as u64)
}

#[test]
fn v4_seal_parses_field_by_field_and_verifies_at_its_time() {
    let seal = Seal::parse(&interop("UserV4.esl")).unwrap();
    assert_eq!(seal.version(), FormatVersion::V4);
    assert_eq!(seal.name(), "OFD R&W 测试用印章");
    assert_eq!(seal.id(), "51f044b76510434e9bc67a1185c2fba5");
    assert_eq!(seal.vendor(), "OFDR&WTest");
    assert_eq!(seal.seal_type(), 3);
    assert_eq!(seal.picture().kind, "PNG");
    assert_eq!(
        (seal.picture().width_mm, seal.picture().height_mm),
        (40, 40)
    );
    assert!(seal.picture().data.starts_with(b"\x89PNG"));
    assert!(matches!(seal.cert_list(), CertList::Certificates(c) if c.len() == 1));
    assert_eq!(seal.maker_algorithm(), "1.2.156.10197.1.501");
    assert!(seal.warnings().is_empty(), "{:?}", seal.warnings());
    let report = verify_seal(
        &seal,
        &validator(),
        MakerTrust::DangerAny,
        &[],
        at(2021, 1, 1),
    );
    assert_eq!(report.indication(), Indication::TotalPassed, "{report}");
    // After 2022 the seal and the maker certificate have expired.
    let late = verify_seal(
        &seal,
        &validator(),
        MakerTrust::DangerAny,
        &[],
        at(2026, 1, 1),
    );
    assert_eq!(late.indication(), Indication::TotalFailed, "{late}");
}

#[test]
fn v1_seal_verifies_with_the_gmt_0031_signed_message() {
    let seal = Seal::parse(&interop("UserV1.esl")).unwrap();
    assert_eq!(seal.version(), FormatVersion::V1);
    assert_eq!(seal.name(), "OFDRW测试用印章");
    let report = verify_seal(
        &seal,
        &validator(),
        MakerTrust::DangerAny,
        &[],
        at(2021, 1, 1),
    );
    assert_eq!(report.indication(), Indication::TotalPassed, "{report}");
}

#[test]
fn v4_seal_signature_verifies_and_its_test_data_hash_does_not_match_real_data() {
    let sig = SealSignature::parse(&interop("SignedValueV4.dat")).unwrap();
    assert_eq!(sig.version(), FormatVersion::V4);
    assert_eq!(sig.property_info(), "/Doc_0/Signs/Sign_0/Signature.xml");
    assert_eq!(sig.seal().name(), "OFD R&W 测试用印章");
    let v = validator();
    let opts = |data: Option<&'static [u8]>| VerifyOptions {
        intermediates: &[],
        registry: None,
        makers: MakerTrust::DangerAny,
        validator: &v,
        data: data.map(Into::into),
    };
    // Now, with nothing proving when it was made: the certificates have
    // expired since, so it cannot be decided (and is not called forged).
    let now = verify_signature(&sig, &opts(None));
    assert_eq!(now.indication(), Indication::Indeterminate, "{now}");
    assert!(
        now.checks()
            .iter()
            .any(|c| c.message.contains("nothing proves")),
        "{now}"
    );
    // As of its signing time, proven: everything but the data checks out;
    // ofdrw does not publish the data, so the data-hash step stays open.
    let report = verify_signature_at(&sig, &opts(None), signed_at(&sig));
    assert_eq!(
        report.sub_indication(),
        Some(SubIndication::SignedDataNotFound),
        "{report}"
    );
    let failed: Vec<_> = report
        .checks()
        .iter()
        .filter(|c| c.status == yinzheng_pki::CheckStatus::Failed)
        .map(|c| c.id.as_str())
        .collect();
    assert_eq!(failed, ["data-hash"], "{report}");
    let with_data = verify_signature_at(&sig, &opts(Some(b"some document")), signed_at(&sig));
    assert_eq!(
        with_data.sub_indication(),
        Some(SubIndication::HashFailure),
        "{with_data}"
    );
}

#[test]
fn any_flipped_byte_in_a_signed_region_fails() {
    let raw = interop("SignedValueV4.dat");
    let v = validator();
    let when = signed_at(&SealSignature::parse(&raw).unwrap());
    // Bytes inside toSign (the signer's signature) and inside eSealInfo (both signatures).
    for offset in [30usize, 200, 700, 17030, 17080] {
        let mut bad = raw.clone();
        bad[offset] ^= 0x01;
        match SealSignature::parse(&bad) {
            Ok(sig) => {
                let r = verify_signature_at(
                    &sig,
                    &VerifyOptions {
                        intermediates: &[],
                        registry: None,
                        makers: MakerTrust::DangerAny,
                        validator: &v,
                        data: None,
                    },
                    when,
                );
                assert_eq!(
                    r.indication(),
                    Indication::TotalFailed,
                    "offset {offset}: {r}"
                );
            }
            Err(e) => assert!(matches!(e, Error::Format { .. }), "offset {offset}: {e}"),
        }
    }
}

#[test]
fn a_seal_from_an_unknown_maker_is_indeterminate() {
    let sig = SealSignature::parse(&interop("SignedValueV4.dat")).unwrap();
    // Trust something unrelated: the signatures verify but no chain reaches an anchor.
    let other = ParsedCert::load_all(&interop("USER.pem")).unwrap();
    let v = Validator::new(other).with_revocation(RevocationPolicy::DangerBestEffort);
    let r = verify_signature_at(
        &sig,
        &VerifyOptions {
            intermediates: &[],
            registry: None,
            makers: MakerTrust::DangerAny,
            validator: &v,
            data: None,
        },
        signed_at(&sig),
    );
    assert_eq!(r.indication(), Indication::Indeterminate, "{r}");
    assert_eq!(
        r.sub_indication(),
        Some(SubIndication::NoCertificateChainFound)
    );
}

#[test]
fn gbt_35275_signed_data_is_recognised_not_misparsed() {
    // SEQUENCE { OID 1.2.156.10197.6.1.4.2.2, [0] { } }
    let der = [
        0x30, 0x0e, 0x06, 0x0a, 0x2a, 0x81, 0x1c, 0xcf, 0x55, 0x06, 0x01, 0x04, 0x02, 0x02, 0xa0,
        0x00,
    ];
    assert!(matches!(SealSignature::parse(&der), Err(Error::SignedData)));
}

#[test]
fn truncations_and_garbage_never_panic() {
    let raw = interop("SignedValueV4.dat");
    for n in (0..raw.len()).step_by(97) {
        assert!(SealSignature::parse(&raw[..n]).is_err());
    }
    let seal = interop("UserV4.esl");
    for n in (0..seal.len()).step_by(89) {
        assert!(Seal::parse(&seal[..n]).is_err());
    }
    for junk in [
        &b""[..],
        b"\x30\x80\x00\x00",
        b"\x30\x84\xff\xff\xff\xff",
        &[0x30, 0x02, 0x30, 0x00],
    ] {
        assert!(SealSignature::parse(junk).is_err());
        assert!(Seal::parse(junk).is_err());
    }
}
