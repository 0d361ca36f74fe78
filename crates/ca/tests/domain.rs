//! yinzheng-pki's public API: a trust domain in a temporary directory, the
//! validator's cache and its limits, and OCSP requests made by OpenSSL.

#![allow(clippy::unwrap_used)]

use std::time::{Duration, SystemTime};
use yinzheng_ca::{InitOptions, IssueRequest, KeySource, TrustDomain};
use yinzheng_crypto::{KeyEncryption, Signer};
use yinzheng_pki::{Crl, Indication, ParsedCert, SubIndication, SubjectExtras, Validator, ocsp};
use yinzheng_tests::{openssl_ok, tempdir};

fn domain(dir: &std::path::Path) -> TrustDomain {
    let mut opts = InitOptions::new("CN=Test Root CA,O=Yinzheng,C=CN");
    opts.key_encryption = KeyEncryption::default().with_iterations(1000);
    TrustDomain::init_in(
        &dir.join("pki"),
        &yinzheng_tests::store_backend(&dir.join("pki")),
        &opts,
        b"pw",
    )
    .unwrap()
}

fn issue(d: &mut TrustDomain, profile: &str, subject: &str) -> yinzheng_ca::Issued {
    d.issue(IssueRequest {
        profile,
        subject: Some(subject),
        extras: SubjectExtras::default(),
        key: KeySource::Generate,
        not_before: None,
        issuer: None,
        days: None,
    })
    .unwrap()
}

#[test]
fn cache_never_outlives_the_crl() {
    let dir = tempdir();
    let mut d = domain(dir.path());
    let leaf = issue(&mut d, "seal-maker", "CN=Maker,O=Yinzheng,C=CN");
    let crls = d.crl(24).unwrap();
    let v = Validator::new(vec![d.root().clone()]).with_crls(crls);
    let chain = vec![d.issuing().clone()];
    let now = SystemTime::now();
    assert!(v.validate(&leaf.cert, &chain, now).passed());
    assert!(
        v.validate(&leaf.cert, &chain, now + Duration::from_secs(3600))
            .passed()
    );
    // After nextUpdate the cached pass must not be served: the CRL is stale.
    let later = v.validate(&leaf.cert, &chain, now + Duration::from_secs(25 * 3600));
    assert_eq!(later.indication(), Indication::Indeterminate);
    assert_eq!(later.sub_indication(), Some(SubIndication::TryLater));
}

#[test]
fn validity_is_clamped_to_the_issuer_and_keys_are_usable() {
    let dir = tempdir();
    let mut d = domain(dir.path());
    let issued = d
        .issue(IssueRequest {
            profile: "seal-maker",
            subject: Some("CN=Long,O=Yinzheng,C=CN"),
            extras: SubjectExtras::default(),
            key: KeySource::Generate,
            not_before: None,
            issuer: None,
            days: Some(365 * 50),
        })
        .unwrap();
    assert!(issued.clamped);
    assert_eq!(issued.cert.not_after(), d.issuing().not_after());
    // The generated key matches the certificate and signs.
    let key = issued.key.unwrap();
    assert_eq!(Some(key.public_key()), issued.cert.public_key());
    let sig = Signer::sign(&key, b"m").unwrap();
    key.public_key()
        .verify(Signer::algorithm(&key), b"m", &sig)
        .unwrap();
    // Reopening without a passphrase reads but cannot sign.
    drop(d);
    let mut ro = TrustDomain::open_in(
        &dir.path().join("pki"),
        &yinzheng_tests::store_backend(&dir.path().join("pki")),
        None,
    )
    .unwrap();
    assert!(ro.crl(1).is_err());
    let mut wrong = TrustDomain::open_in(
        &dir.path().join("pki"),
        &yinzheng_tests::store_backend(&dir.path().join("pki")),
        Some(b"nope"),
    )
    .unwrap();
    let err = wrong.crl(1).unwrap_err().to_string();
    assert!(err.contains("wrong CA passphrase"), "{err}");
}

#[test]
fn every_issued_certificate_is_recorded_and_crl_numbers_increase() {
    let dir = tempdir();
    let mut d = domain(dir.path());
    let a = issue(&mut d, "log-signer", "CN=A");
    assert_eq!(
        d.lookup(&a.cert.serial_hex()).unwrap().unwrap().profile,
        "log-signer"
    );
    let n1 = d.crl(1).unwrap()[0].number().unwrap();
    let n2 = d.crl(1).unwrap()[0].number().unwrap();
    assert!(n2 > n1);
    // Serials: 16 bytes, positive, random.
    let b = issue(&mut d, "log-signer", "CN=B");
    assert_ne!(a.cert.serial_hex(), b.cert.serial_hex());
    assert_eq!(a.cert.serial_hex().len(), 32);
    assert!(u8::from_str_radix(&a.cert.serial_hex()[..2], 16).unwrap() < 0x80);
}

#[yinzheng_tests::peer_test(openssl)]
fn ocsp_requests_from_openssl_parse_and_match_our_cert_ids() {
    let dir = tempdir();
    let p = dir.path();
    let mut d = domain(p);
    let leaf = issue(&mut d, "seal-maker", "CN=Maker,O=Yinzheng,C=CN");
    std::fs::write(p.join("leaf.pem"), leaf.cert.to_pem()).unwrap();
    std::fs::write(p.join("issuing.pem"), d.issuing().to_pem()).unwrap();
    for (flag, hash) in [
        ("-sha1", ocsp::CertIdHash::Sha1),
        ("-sha256", ocsp::CertIdHash::Sha256),
    ] {
        openssl_ok(
            p,
            &[
                "ocsp",
                flag,
                "-issuer",
                "issuing.pem",
                "-cert",
                "leaf.pem",
                "-reqout",
                "req.der",
                "-no_nonce",
            ],
        );
        let ids = ocsp::parse_request(&std::fs::read(p.join("req.der")).unwrap()).unwrap();
        assert_eq!(ids.len(), 1);
        assert_eq!(ids[0].serial_hex(), leaf.cert.serial_hex());
        assert_eq!(ids[0].hash(), Some(hash));
        let ours = ocsp::CertId::new(
            d.issuing(),
            &hex::decode(leaf.cert.serial_hex()).unwrap(),
            hash,
        )
        .unwrap();
        assert_eq!(ids[0], ours, "OpenSSL's CertID equals ours");
    }
    assert!(ocsp::parse_request(&[0x30, 0x03, 0x30, 0x01, 0x00]).is_err());
}

#[test]
fn garbage_never_panics() {
    for bytes in [
        &b""[..],
        b"\x30",
        b"\x30\x82\xff\xff",
        b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
        &[0u8; 64],
    ] {
        assert!(ParsedCert::load_all(bytes).is_err());
        assert!(Crl::parse(bytes).is_err());
        assert!(yinzheng_pki::Csr::parse(bytes).is_err());
        assert!(ocsp::parse_request(bytes).is_err());
    }
}

#[test]
fn our_ocsp_responses_verify_for_every_cert_id_hash() {
    let dir = tempdir();
    let mut d = domain(dir.path());
    let leaf = issue(&mut d, "seal-maker", "CN=Maker,O=Yinzheng,C=CN");
    for hash in [
        ocsp::CertIdHash::Sm3,
        ocsp::CertIdHash::Sha1,
        ocsp::CertIdHash::Sha256,
    ] {
        let der = d.ocsp_response(&leaf.cert.serial_hex(), hash, 24).unwrap();
        let answer = ocsp::check_response(
            &der,
            &leaf.cert,
            d.issuing(),
            &Default::default(),
            SystemTime::now(),
        )
        .unwrap();
        assert_eq!(answer.status, ocsp::OcspCertStatus::Good, "{hash:?}");
        // Signed by the responder, not by the leaf's own key: the wrong issuer fails.
        assert!(
            ocsp::check_response(
                &der,
                &leaf.cert,
                d.root(),
                &Default::default(),
                SystemTime::now()
            )
            .is_err()
        );
    }
    d.revoke(&leaf.cert.serial_hex(), 1, SystemTime::now())
        .unwrap();
    let der = d
        .ocsp_response(&leaf.cert.serial_hex(), ocsp::CertIdHash::Sm3, 24)
        .unwrap();
    let answer = ocsp::check_response(
        &der,
        &leaf.cert,
        d.issuing(),
        &Default::default(),
        SystemTime::now(),
    )
    .unwrap();
    assert!(
        matches!(
            answer.status,
            ocsp::OcspCertStatus::Revoked {
                reason: Some(1),
                ..
            }
        ),
        "{answer:?}"
    );
}

#[yinzheng_tests::peer_test(openssl)]
fn ocsp_responder_answers_from_its_cache_and_sees_revocations_at_once() {
    let dir = tempdir();
    let p = dir.path();
    let mut d = domain(p);
    let leaf = issue(&mut d, "seal-maker", "CN=Maker,O=Yinzheng,C=CN");
    std::fs::write(p.join("leaf.pem"), leaf.cert.to_pem()).unwrap();
    std::fs::write(p.join("issuing.pem"), d.issuing().to_pem()).unwrap();
    openssl_ok(
        p,
        &[
            "ocsp",
            "-issuer",
            "issuing.pem",
            "-cert",
            "leaf.pem",
            "-reqout",
            "req.der",
            "-no_nonce",
        ],
    );
    let req = std::fs::read(p.join("req.der")).unwrap();
    let responder = d.ocsp_responder_service(24, None).unwrap();
    let now = SystemTime::now();
    // Pre-sign for every issued certificate (the responder cert itself is one).
    let signed = responder
        .refresh(&d.issued().unwrap(), &[ocsp::CertIdHash::Sha1], now)
        .unwrap();
    assert!(signed >= 1);
    assert_eq!(
        responder
            .refresh(&d.issued().unwrap(), &[ocsp::CertIdHash::Sha1], now)
            .unwrap(),
        0,
        "all fresh"
    );
    let lookup = |s: &str| d.lookup(s);
    let a = responder.respond(&req, lookup, now);
    let b = responder.respond(&req, lookup, now + Duration::from_secs(60));
    assert_eq!(a, b, "served from the cache, not re-signed");
    let answer = ocsp::check_response(
        &a,
        &leaf.cert,
        d.issuing(),
        &Default::default(),
        SystemTime::now(),
    )
    .unwrap();
    assert_eq!(answer.status, ocsp::OcspCertStatus::Good);
    // Malformed requests get an error status, not a panic.
    assert_eq!(
        responder.respond(b"junk", lookup, now),
        vec![0x30, 0x03, 0x0a, 0x01, 0x01]
    );
    d.revoke(&leaf.cert.serial_hex(), 1, now).unwrap();
    let c = responder.respond(&req, |s: &str| d.lookup(s), now + Duration::from_secs(120));
    let answer = ocsp::check_response(
        &c,
        &leaf.cert,
        d.issuing(),
        &Default::default(),
        SystemTime::now(),
    )
    .unwrap();
    assert!(matches!(
        answer.status,
        ocsp::OcspCertStatus::Revoked { .. }
    ));
}

#[test]
fn a_revocation_dated_later_is_not_hidden_by_the_cache() {
    let dir = tempdir();
    let mut d = domain(dir.path());
    let leaf = issue(&mut d, "seal-maker", "CN=Maker,O=Yinzheng,C=CN");
    let now = SystemTime::now();
    // Revoked (cessationOfOperation) with a date one hour ahead: valid now, revoked after.
    d.revoke(&leaf.cert.serial_hex(), 5, now + Duration::from_secs(3600))
        .unwrap();
    let v = Validator::new(vec![d.root().clone()]).with_crls(d.crl(24).unwrap());
    let chain = vec![d.issuing().clone()];
    assert!(v.validate(&leaf.cert, &chain, now).passed());
    let later = v.validate(&leaf.cert, &chain, now + Duration::from_secs(2 * 3600));
    assert_eq!(
        later.sub_indication(),
        Some(SubIndication::Revoked),
        "{later}"
    );
}

#[test]
fn among_ocsp_answers_a_revocation_wins() {
    let dir = tempdir();
    let mut d = domain(dir.path());
    let leaf = issue(&mut d, "seal-maker", "CN=Maker,O=Yinzheng,C=CN");
    let good = d
        .ocsp_response(&leaf.cert.serial_hex(), ocsp::CertIdHash::Sm3, 24)
        .unwrap();
    d.revoke(
        &leaf.cert.serial_hex(),
        1,
        SystemTime::now() - Duration::from_secs(5),
    )
    .unwrap();
    let revoked = d
        .ocsp_response(&leaf.cert.serial_hex(), ocsp::CertIdHash::Sm3, 24)
        .unwrap();
    let root_arl = d.crl(24).unwrap().pop().unwrap();
    for order in [vec![good.clone(), revoked.clone()], vec![revoked, good]] {
        let v = Validator::new(vec![d.root().clone()])
            .with_crls(vec![root_arl.clone()])
            .with_ocsp_responses(order);
        let r = v.validate(&leaf.cert, &[d.issuing().clone()], SystemTime::now());
        assert_eq!(r.sub_indication(), Some(SubIndication::Revoked), "{r}");
    }
}

#[test]
fn a_passing_chain_holds_no_longer_than_its_ocsp_responder() {
    // A verdict kept until it could change (the chain cache, the server's
    // verdict cache) must end when the delegated responder's certificate
    // does (365 days): after that its answer is refused, though the answer
    // itself says it is fresh for forty years.
    let dir = tempdir();
    let mut d = domain(dir.path());
    let leaf = issue(&mut d, "seal-maker", "CN=Maker,O=Yinzheng,C=CN");
    let forty_years = 24 * 365 * 40;
    let answer = d
        .ocsp_response(&leaf.cert.serial_hex(), ocsp::CertIdHash::Sm3, forty_years)
        .unwrap();
    let root_arl = d.crl(forty_years).unwrap().pop().unwrap();
    let v = Validator::new(vec![d.root().clone()])
        .with_crls(vec![root_arl])
        .with_ocsp_responses(vec![answer]);
    let r = v.validate(&leaf.cert, &[d.issuing().clone()], SystemTime::now());
    assert!(r.passed(), "{r}");
    let responder_end = d.ocsp_responder().not_after();
    assert!(responder_end < leaf.cert.not_after());
    let holds = r.holds_until().expect("a passing chain is bounded");
    assert!(
        holds <= responder_end,
        "holds until {holds:?}, the responder ends {responder_end:?}"
    );
    // And past it, a fresh check does not pass on that answer.
    let later = v.validate(
        &leaf.cert,
        &[d.issuing().clone()],
        responder_end + Duration::from_secs(1),
    );
    assert!(!later.passed(), "{later}");
}

#[test]
fn a_key_compromise_counts_even_before_its_date() {
    // A compromised key may have signed before its revocation was dated: a
    // signature proven to predate the date is not valid either — it cannot be
    // decided (INDETERMINATE), and it is not called forged.
    let dir = tempdir();
    let mut d = domain(dir.path());
    let leaf = issue(&mut d, "seal-maker", "CN=Maker,O=Yinzheng,C=CN");
    let now = SystemTime::now();
    d.revoke(&leaf.cert.serial_hex(), 1, now + Duration::from_secs(3600))
        .unwrap();
    let v = Validator::new(vec![d.root().clone()]).with_crls(d.crl(24).unwrap());
    let r = v.validate(&leaf.cert, &[d.issuing().clone()], now);
    assert_eq!(r.sub_indication(), Some(SubIndication::RevokedNoPoe), "{r}");
    assert!(!r.passed(), "{r}");
    let r = v.validate_unproven(&leaf.cert, &[d.issuing().clone()], now);
    assert_eq!(r.sub_indication(), Some(SubIndication::RevokedNoPoe), "{r}");
    // Proven after the date: revoked.
    let r = v.validate(
        &leaf.cert,
        &[d.issuing().clone()],
        now + Duration::from_secs(7200),
    );
    assert_eq!(r.sub_indication(), Some(SubIndication::Revoked), "{r}");
}

#[test]
fn same_named_cas_the_one_whose_key_verifies_is_chosen() {
    // A key rollover: two roots and two issuing CAs with identical names.
    let (dir1, dir2) = (tempdir(), tempdir());
    let mut d1 = domain(dir1.path());
    let mut d2 = domain(dir2.path());
    let _ = issue(&mut d1, "log-signer", "CN=Old");
    let leaf = issue(&mut d2, "log-signer", "CN=New");
    assert_eq!(d1.root().subject(), d2.root().subject());
    let crls = [d1.crl(24).unwrap(), d2.crl(24).unwrap()].concat();
    let v = Validator::new(vec![d1.root().clone(), d2.root().clone()]).with_crls(crls);
    let r = v.validate(
        &leaf.cert,
        &[d1.issuing().clone(), d2.issuing().clone()],
        SystemTime::now(),
    );
    assert!(r.passed(), "{r}");
    assert_eq!(r.chain()[1].sm3, d2.issuing().sm3_hex());
}

#[test]
fn the_domain_tsa_stamps_and_its_certificate_validates_for_time_stamping() {
    let dir = tempdir();
    let mut d = domain(dir.path());
    let tsa = d.time_stamp_authority().unwrap();
    // created once, then reused
    let again = d.time_stamp_authority().unwrap();
    assert_eq!(tsa.certificate(), again.certificate());
    let now = time::OffsetDateTime::now_utc();
    let token = tsa.stamp_data(b"signature value", now).unwrap();
    let v =
        yinzheng_cms::verify_time_stamp(&token, b"signature value", &Default::default()).unwrap();
    assert_eq!(v.info.imprint_digest, yinzheng_cms::Digest::Sm3);
    let cert = ParsedCert::from_der(&v.signer.certificate).unwrap();
    let eku = "1.3.6.1.5.5.7.3.8".parse().unwrap();
    let validator = Validator::new(vec![d.root().clone()])
        .with_crls(d.crl(24).unwrap())
        .with_leaf_eku(eku);
    let chain: Vec<ParsedCert> = v
        .certificates
        .iter()
        .map(|c| ParsedCert::from_der(c).unwrap())
        .collect();
    assert!(
        validator
            .validate(&cert, &chain, SystemTime::now())
            .passed()
    );
    // a certificate for another purpose is not a TSA
    let ocsp = d.ocsp_responder().clone();
    assert!(
        !validator
            .validate(&ocsp, &chain, SystemTime::now())
            .passed()
    );
    assert!(yinzheng_cms::verify_time_stamp(&token, b"other", &Default::default()).is_err());
}

/// A root kept offline (key ceremony): the ARL signed ahead is published and
/// validates, a missing one is an error naming the command to run, and a
/// leaf still validates against CRLs that include it.
#[test]
fn an_offline_root_publishes_its_signed_ahead_arl() {
    let dir = tempdir();
    let mut d = domain(dir.path());
    let arl = d.sign_root_arl(30).unwrap();
    let leaf = issue(&mut d, "seal-maker", "CN=Maker,O=Yinzheng,C=CN");
    let domain_dir = dir.path().join("pki");
    std::fs::remove_file(domain_dir.join("root.key.pem")).unwrap();
    let mut d = TrustDomain::open_in(
        &domain_dir,
        &yinzheng_tests::store_backend(&domain_dir),
        Some(b"pw"),
    )
    .unwrap();
    assert!(!d.root_key_online());
    let crls = d.crl(24).unwrap();
    assert_eq!(
        crls.last().unwrap().der(),
        arl.der(),
        "the ARL is the one signed ahead"
    );
    let v = Validator::new(vec![d.root().clone()]).with_crls(crls);
    assert!(
        v.validate(&leaf.cert, &[d.issuing().clone()], SystemTime::now())
            .passed()
    );
    std::fs::remove_file(domain_dir.join(yinzheng_ca::ROOT_ARL_FILE)).unwrap();
    let err = d.crl(24).unwrap_err().to_string();
    assert!(err.contains("yinzheng ca arl"), "{err}");
    // Signing one needs the root key: not here.
    assert!(d.sign_root_arl(30).is_err());
}

#[test]
fn the_domain_takes_now_from_its_clock() {
    let dir = tempdir();
    let at = SystemTime::UNIX_EPOCH + Duration::from_secs(1_900_000_000);
    let mut opts = InitOptions::new("CN=Clock Root CA,O=Yinzheng,C=CN");
    opts.key_encryption = KeyEncryption::default().with_iterations(1000);
    opts.clock = std::sync::Arc::new(yinzheng_pki::FixedClock(at));
    let pki = dir.path().join("pki");
    let mut d =
        TrustDomain::init_in(&pki, &yinzheng_tests::store_backend(&pki), &opts, b"pw").unwrap();
    assert_eq!(d.root().not_before(), at);
    assert_eq!(d.now(), at);
    let issued = issue(&mut d, "log-signer", "CN=Clock Signer");
    assert_eq!(issued.cert.not_before(), at);
    for crl in d.crl(24).unwrap() {
        assert_eq!(crl.this_update(), at);
    }
    // Reopened, a domain reads the system clock unless given one.
    let later = at + Duration::from_secs(86_400);
    let d = TrustDomain::open_in(&pki, &yinzheng_tests::store_backend(&pki), Some(b"pw"))
        .unwrap()
        .with_clock(std::sync::Arc::new(yinzheng_pki::FixedClock(later)));
    assert_eq!(d.now(), later);
}

#[test]
fn a_key_that_is_not_its_certificates_or_a_loose_key_reference_is_refused() {
    let dir = tempdir();
    let pki = dir.path().join("pki");
    domain(dir.path());
    let open =
        || TrustDomain::open_in(&pki, &yinzheng_tests::store_backend(&pki), Some(b"pw")).unwrap();
    assert!(open().crl(24).is_ok());
    // The OCSP responder's key put where the issuing CA's goes: nothing is
    // signed with a key its certificate does not certify.
    let issuing = std::fs::read(pki.join("issuing.key.pem")).unwrap();
    std::fs::copy(pki.join("ocsp.key.pem"), pki.join("issuing.key.pem")).unwrap();
    let e = open().crl(24).unwrap_err().to_string();
    assert!(e.contains("is not the key"), "{e}");
    std::fs::write(pki.join("issuing.key.pem"), &issuing).unwrap();
    // A key reference beside the key file: ambiguous, refused.
    let uri = pki.join("issuing.key.uri");
    std::fs::write(&uri, "sdf:index=1?module-path=/tmp/x.so\n").unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&uri, std::fs::Permissions::from_mode(0o600)).unwrap();
        let e = open().crl(24).unwrap_err().to_string();
        assert!(
            e.contains("both issuing.key.pem and issuing.key.uri"),
            "{e}"
        );
        // Writable by others: it names the library loaded to sign, refused
        // before anything is loaded.
        std::fs::remove_file(pki.join("issuing.key.pem")).unwrap();
        std::fs::set_permissions(&uri, std::fs::Permissions::from_mode(0o666)).unwrap();
        let e = open().crl(24).unwrap_err().to_string();
        assert!(e.contains("writable by others"), "{e}");
    }
}

/// Issue 22: what a verify server trusts is what the CA published. A
/// revocation publishes its CA's CRL in the same transaction; without the
/// CA's key nothing changes; a published CRL that misses a revocation the
/// store knows of is refused by name, until one that lists it is signed.
#[test]
fn a_revocation_publishes_its_crl_and_nothing_changes_without_the_key() {
    let dir = tempdir();
    let mut d = domain(dir.path());
    let domain_dir = dir.path().join("pki");
    let backend = yinzheng_tests::store_backend(&domain_dir);
    // As a verify server opens it: no passphrase.
    let reader = || TrustDomain::open_in(&domain_dir, &backend, None).unwrap();
    let leaf = issue(&mut d, "seal-maker", "CN=Maker,O=Yinzheng,C=CN");
    let serial = leaf.cert.serial_hex();
    let serial_bytes = hex::decode(&serial).unwrap();
    let listed = |crl: &Crl| {
        matches!(
            crl.entry(&serial_bytes),
            yinzheng_pki::CrlEntry::Listed { .. }
        )
    };

    // `init` published the first CRLs: the main issuing CA's and the root's.
    let before = reader().published_crls().unwrap();
    let names: Vec<&str> = before.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["main", "root"]);
    assert!(!listed(&before[0].1));

    // Without the CA's key: refused, and the status is unchanged.
    let err = reader()
        .revoke(&serial, 1, SystemTime::now())
        .unwrap_err()
        .to_string();
    assert!(err.contains("passphrase"), "{err}");
    assert_eq!(
        reader().lookup(&serial).unwrap().unwrap().status,
        yinzheng_pki::CertStatus::Valid
    );
    assert_eq!(
        reader().published_crls().unwrap()[0].1.der(),
        before[0].1.der()
    );

    // Held by the CA: the CRL that lists it is published with it; released:
    // one that no longer does.
    d.hold(&serial, SystemTime::now()).unwrap();
    let held = reader().published_crls().unwrap();
    assert!(listed(&held[0].1), "the hold is on the published CRL");
    assert!(held[0].1.number() > before[0].1.number());
    held[0]
        .1
        .verify_signature(d.issuing(), &yinzheng_crypto::Sm2Id::default())
        .unwrap();
    d.release(&serial).unwrap();
    assert!(!listed(&reader().published_crls().unwrap()[0].1));

    // A CA certificate revoked while the root is offline: the store knows,
    // the published ARL does not list it, and it is refused by name until
    // the ceremony host signs an ARL that does.
    let second = d
        .add_issuing(
            "second",
            "CN=Second Issuing CA,O=Yinzheng,C=CN",
            365,
            &KeyEncryption::default().with_iterations(1000),
        )
        .unwrap();
    let names: Vec<String> = reader()
        .published_crls()
        .unwrap()
        .into_iter()
        .map(|(n, _)| n)
        .collect();
    assert_eq!(
        names,
        ["main", "second", "root"],
        "the new CA's CRL is published"
    );
    let root_key = domain_dir.join("root.key.pem");
    let away = dir.path().join("root.key.pem");
    std::fs::rename(&root_key, &away).unwrap();
    d.revoke(&second.serial_hex(), 1, SystemTime::now())
        .unwrap();
    let err = reader().published_crls().unwrap_err().to_string();
    assert!(
        err.contains(&second.serial_hex()) && err.contains("yinzheng ca arl"),
        "{err}"
    );
    std::fs::rename(&away, &root_key).unwrap();
    d.sign_root_arl(30).unwrap();
    let crls = reader().published_crls().unwrap();
    let root_arl = &crls.last().unwrap().1;
    let second_bytes = hex::decode(second.serial_hex()).unwrap();
    assert!(matches!(
        root_arl.entry(&second_bytes),
        yinzheng_pki::CrlEntry::Listed { .. }
    ));
}

#[test]
fn the_ocsp_responder_is_short_lived_has_its_own_passphrase_and_is_renewed() {
    let dir = tempdir();
    let pki = dir.path().join("pki");
    let backend = yinzheng_tests::store_backend(&pki);
    let mut opts = InitOptions::new("CN=Responder Root CA,O=Yinzheng,C=CN");
    opts.key_encryption = KeyEncryption::default().with_iterations(1000);
    opts.ocsp_key_passphrase = Some(yinzheng_ca::Passphrase::new(b"ocsp pw"));
    let mut d = TrustDomain::init_in(&pki, &backend, &opts, b"pw").unwrap();
    let first = d.ocsp_responder().clone();
    let days = |c: &ParsedCert| {
        c.not_after()
            .duration_since(c.not_before())
            .unwrap()
            .as_secs()
            / 86_400
    };
    assert_eq!(days(&first), 90, "short-lived by default");
    let leaf = issue(&mut d, "seal-maker", "CN=Maker,O=Yinzheng,C=CN");
    let serial = leaf.cert.serial_hex();
    // The responder key does not open with the CA passphrase, and the
    // message says whose passphrase is wrong.
    let err = d
        .ocsp_response(&serial, ocsp::CertIdHash::Sha256, 24)
        .unwrap_err()
        .to_string();
    assert!(err.contains("OCSP responder key"), "{err}");
    d.ocsp_responder_service(24, Some(b"ocsp pw")).unwrap();
    let check = |pass: &[u8]| {
        let d = TrustDomain::open_in(&pki, &backend, Some(pass)).unwrap();
        let resp = d
            .ocsp_response(&serial, ocsp::CertIdHash::Sha256, 24)
            .unwrap();
        let answer = ocsp::check_response(
            &resp,
            &leaf.cert,
            d.issuing(),
            &Default::default(),
            SystemTime::now(),
        )
        .unwrap();
        assert_eq!(answer.status, ocsp::OcspCertStatus::Good);
    };
    check(b"ocsp pw");

    // Without the CA key nothing is re-issued.
    let mut reader = TrustDomain::open_in(&pki, &backend, None).unwrap();
    assert!(
        reader
            .renew_ocsp_responder(&yinzheng_ca::ResponderRenewal {
                key_passphrase: Some(b"x"),
                ..Default::default()
            })
            .is_err()
    );
    assert_eq!(
        ParsedCert::load_all(&std::fs::read(pki.join("ocsp.pem")).unwrap()).unwrap()[0].der(),
        first.der()
    );
    // A new key file without a passphrase of its own, or a responder longer
    // than the profile's 90 days: refused.
    let err = d
        .renew_ocsp_responder(&yinzheng_ca::ResponderRenewal::default())
        .unwrap_err()
        .to_string();
    assert!(err.contains("passphrase of its own"), "{err}");
    let err = d
        .renew_ocsp_responder(&yinzheng_ca::ResponderRenewal {
            days: Some(3650),
            key_passphrase: Some(b"ocsp pw 2"),
            ..Default::default()
        })
        .unwrap_err()
        .to_string();
    assert!(err.contains("short-lived"), "{err}");
    // Re-issued: a new key with a new passphrase, 30 days, in the CA's records.
    let renewed = d
        .renew_ocsp_responder(&yinzheng_ca::ResponderRenewal {
            days: Some(30),
            key_passphrase: Some(b"ocsp pw 2"),
            key_encryption: KeyEncryption::default().with_iterations(1000),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(days(&renewed), 30);
    assert_ne!(renewed.public_key(), first.public_key());
    assert_eq!(renewed.subject(), first.subject());
    assert_eq!(
        d.lookup(&renewed.serial_hex()).unwrap().unwrap().profile,
        "ocsp-responder"
    );
    check(b"ocsp pw 2");
    // A response never outlives the responder's certificate: asked for 60
    // days, it ends with the 30-day certificate.
    let d2 = TrustDomain::open_in(&pki, &backend, Some(b"ocsp pw 2")).unwrap();
    let long = d2
        .ocsp_response(&serial, ocsp::CertIdHash::Sha256, 24 * 60)
        .unwrap();
    let answer = ocsp::check_response(
        &long,
        &leaf.cert,
        d2.issuing(),
        &Default::default(),
        SystemTime::now(),
    )
    .unwrap();
    assert_eq!(answer.next_update, Some(renewed.not_after()));
    // Once it has expired, the responder answers tryLater, never a response
    // clients would reject.
    let responder = d2.ocsp_responder_service(24, Some(b"ocsp pw 2")).unwrap();
    let request = ocsp::request(
        d2.issuing(),
        &hex::decode(&serial).unwrap(),
        ocsp::CertIdHash::Sha256,
    )
    .unwrap();
    assert!(matches!(
        responder.respond(&request, |s: &str| d2.lookup(s), SystemTime::now())[..],
        [0x30, 0x82, ..]
    ));
    let later = renewed.not_after() + Duration::from_secs(1);
    assert_eq!(
        responder.respond(&request, |s: &str| d2.lookup(s), later),
        vec![0x30, 0x03, 0x0a, 0x01, 0x03]
    );
    let stale = TrustDomain::open_in(&pki, &backend, Some(b"ocsp pw")).unwrap();
    assert!(
        stale
            .ocsp_response(&serial, ocsp::CertIdHash::Sha256, 24)
            .is_err(),
        "the old passphrase opens nothing"
    );
}
