//! Time comes from proof, not from what the signer claims (issue 18): a seal
//! signature's `timeInfo` is reported, never used. Without proof of when the
//! signature existed, a signer or seal that has expired or was revoked by now
//! is INDETERMINATE (…_NO_POE); with proof, validation happens at the proven
//! time, both ways. A seal signature verified without its data is bound to
//! nothing: INDETERMINATE / SIGNED_DATA_NOT_FOUND.

#![allow(clippy::unwrap_used)]

use std::time::{Duration, SystemTime};
use yinzheng_ca::{InitOptions, IssueRequest, KeySource, TrustDomain};
use yinzheng_crypto::{KeyEncryption, PrivateKey};
use yinzheng_pki::{
    Indication, ParsedCert, SubIndication, SubjectExtras, Validator, VerificationReport,
};
use yinzheng_seal::{
    MakerTrust, Picture, Seal, SealBuilder, SealSignature, SealStatus, SealType, VerifyOptions,
    stamp, verify_signature, verify_signature_at,
};
use yinzheng_seal_registry::Registry;

const DAY: Duration = Duration::from_secs(86_400);

struct Pki {
    _dir: tempfile::TempDir,
    domain: TrustDomain,
    maker: (PrivateKey, ParsedCert),
}

impl Pki {
    fn new() -> Pki {
        let dir = tempfile::tempdir().unwrap();
        let mut opts = InitOptions::new("CN=PoE Test Root CA,O=Yinzheng,C=CN");
        opts.key_encryption = KeyEncryption::default().with_iterations(1000);
        // The CAs and the maker predate every proven time the tests use.
        let start = SystemTime::now() - 60 * DAY;
        opts.not_before = Some(start);
        let mut domain = TrustDomain::init_in(
            &dir.path().join("pki"),
            &yinzheng_tests::store_backend(&dir.path().join("pki")),
            &opts,
            b"pw",
        )
        .unwrap();
        let maker = issue(
            &mut domain,
            "seal-maker",
            "CN=PoE Maker,O=Yinzheng,C=CN",
            None,
            Some(start),
            None,
        );
        Pki {
            _dir: dir,
            domain,
            maker,
        }
    }

    /// A certificate of `profile`, valid from `from` for `days` when given.
    fn issue(
        &mut self,
        profile: &str,
        subject: &str,
        uscc: Option<&str>,
        from: Option<SystemTime>,
        days: Option<u32>,
    ) -> (PrivateKey, ParsedCert) {
        issue(&mut self.domain, profile, subject, uscc, from, days)
    }

    fn signer(&mut self, from: Option<SystemTime>, days: Option<u32>) -> (PrivateKey, ParsedCert) {
        self.issue(
            "seal-signer",
            "CN=Example Org,O=Example Org,C=CN",
            Some("91350100M000100Y43"),
            from,
            days,
        )
    }

    fn seal(&self, id: &str, signer: &ParsedCert, from: SystemTime, to: SystemTime) -> Seal {
        SealBuilder::new(id, "Example Org 公章", SealType::Official, picture())
            .signer_cert(signer.der())
            .validity(odt(from), odt(to))
            .sign(&self.maker.0, self.maker.1.der())
            .unwrap()
    }

    fn validator(&mut self) -> Validator {
        Validator::new(vec![self.domain.root().clone()]).with_crls(self.domain.crl(24).unwrap())
    }

    /// A validator with the CRLs the CA issued at `t` (a CRL issued after a
    /// certificate expired says nothing about it: expired entries drop off).
    fn validator_as_of(&mut self, t: SystemTime) -> Validator {
        let pki = self._dir.path().join("pki");
        let mut then =
            TrustDomain::open_in(&pki, &yinzheng_tests::store_backend(&pki), Some(b"pw"))
                .unwrap()
                .with_clock(std::sync::Arc::new(yinzheng_pki::FixedClock(t)));
        Validator::new(vec![self.domain.root().clone()]).with_crls(then.crl(24).unwrap())
    }
}

fn issue(
    domain: &mut TrustDomain,
    profile: &str,
    subject: &str,
    uscc: Option<&str>,
    from: Option<SystemTime>,
    days: Option<u32>,
) -> (PrivateKey, ParsedCert) {
    let i = domain
        .issue(IssueRequest {
            profile,
            subject: Some(subject),
            extras: SubjectExtras {
                uscc: uscc.map(str::to_string),
                ..Default::default()
            },
            key: KeySource::Generate,
            not_before: from,
            issuer: None,
            days,
        })
        .unwrap();
    (i.key.unwrap(), i.cert)
}

fn picture() -> Picture {
    Picture {
        kind: "PNG".into(),
        data: b"\x89PNG\r\n\x1a\n not a real image".to_vec(),
        width_mm: 40,
        height_mm: 40,
    }
}

fn odt(t: SystemTime) -> time::OffsetDateTime {
    let s = t.duration_since(SystemTime::UNIX_EPOCH).unwrap().as_secs();
    time::OffsetDateTime::from_unix_timestamp(s as i64).unwrap()
}

fn sign(seal: &Seal, signer: &(PrivateKey, ParsedCert), claimed: SystemTime) -> SealSignature {
    stamp(
        seal,
        &signer.0,
        signer.1.der(),
        b"data",
        "data.bin",
        odt(claimed),
    )
    .unwrap()
}

fn verify(
    pki: &Pki,
    v: &Validator,
    sig: &SealSignature,
    registry: Option<&dyn yinzheng_seal::SealStatusSource>,
    proven: Option<SystemTime>,
) -> VerificationReport {
    let chain = vec![pki.domain.issuing().clone()];
    let opts = VerifyOptions {
        validator: v,
        intermediates: &chain,
        registry,
        makers: MakerTrust::Policy,
        data: Some(b"data".into()),
    };
    match proven {
        Some(p) => verify_signature_at(sig, &opts, p),
        None => verify_signature(sig, &opts),
    }
}

fn expect(r: &VerificationReport, indication: Indication, sub: Option<SubIndication>) {
    assert_eq!(
        (r.indication(), r.sub_indication()),
        (indication, sub),
        "{r}"
    );
}

#[test]
fn an_expired_signer_back_dating_its_signature_does_not_pass() {
    let mut pki = Pki::new();
    let now = SystemTime::now();
    // Valid for two days, ten days ago: expired eight days ago.
    let signer = pki.signer(Some(now - 10 * DAY), Some(2));
    let seal = pki.seal("poe-expired", &signer.1, now - 20 * DAY, now + 30 * DAY);
    // Signed now, claiming a time inside the certificate's validity.
    let sig = sign(&seal, &signer, now - 9 * DAY);
    let v = pki.validator();

    let r = verify(&pki, &v, &sig, None, None);
    expect(
        &r,
        Indication::Indeterminate,
        Some(SubIndication::OutOfBoundsNoPoe),
    );
    assert!(
        r.checks().iter().any(|c| c.id == "signing-time"
            && c.message.contains("claimed signing time")
            && c.message.contains("not used")),
        "the claimed time is reported, not used:\n{r}"
    );

    // A proof that it existed while the certificate was valid: it passes,
    // with a CRL issued while the certificate was valid (today's CRL no
    // longer speaks for an expired certificate).
    let r = verify(&pki, &v, &sig, None, Some(now - 9 * DAY));
    expect(&r, Indication::Indeterminate, Some(SubIndication::TryLater));
    let then = pki.validator_as_of(now - 9 * DAY);
    let r = verify(&pki, &then, &sig, None, Some(now - 9 * DAY));
    expect(&r, Indication::TotalPassed, None);
    // A proof that it existed only after the certificate expired: it fails.
    let r = verify(&pki, &v, &sig, None, Some(now - DAY));
    expect(&r, Indication::TotalFailed, Some(SubIndication::Expired));
}

#[test]
fn a_revoked_signer_is_indeterminate_without_proof_and_judged_at_the_proof_with_it() {
    let mut pki = Pki::new();
    let now = SystemTime::now();
    let signer = pki.signer(Some(now - 10 * DAY), None);
    let seal = pki.seal("poe-revoked", &signer.1, now - 20 * DAY, now + 30 * DAY);
    let sig = sign(&seal, &signer, now - 5 * DAY);
    // Revoked an hour ago, reason "superseded" (not a key compromise).
    pki.domain
        .revoke(&signer.1.serial_hex(), 4, now - Duration::from_secs(3600))
        .unwrap();
    let v = pki.validator();

    let r = verify(&pki, &v, &sig, None, None);
    expect(
        &r,
        Indication::Indeterminate,
        Some(SubIndication::RevokedNoPoe),
    );
    // Proven to exist before the revocation: the revocation came later.
    let r = verify(&pki, &v, &sig, None, Some(now - 5 * DAY));
    expect(&r, Indication::TotalPassed, None);
    // Proven to exist only after it: revoked.
    let r = verify(&pki, &v, &sig, None, Some(now - Duration::from_secs(60)));
    expect(&r, Indication::TotalFailed, Some(SubIndication::Revoked));
}

#[test]
fn an_expired_seal_is_indeterminate_without_proof() {
    let mut pki = Pki::new();
    let now = SystemTime::now();
    let signer = pki.signer(Some(now - 10 * DAY), None);
    // The seal's own validity ended yesterday; the signature claims last week.
    let seal = pki.seal("poe-seal", &signer.1, now - 20 * DAY, now - DAY);
    let sig = sign(&seal, &signer, now - 7 * DAY);
    let v = pki.validator();
    let r = verify(&pki, &v, &sig, None, None);
    expect(
        &r,
        Indication::Indeterminate,
        Some(SubIndication::OutOfBoundsNoPoe),
    );
    // Proven while the seal was valid: it passes; proven after: it fails.
    let r = verify(&pki, &v, &sig, None, Some(now - 7 * DAY));
    expect(&r, Indication::TotalPassed, None);
    let r = verify(&pki, &v, &sig, None, Some(now - Duration::from_secs(3600)));
    expect(
        &r,
        Indication::TotalFailed,
        Some(SubIndication::SigConstraintsFailure),
    );
}

#[test]
fn a_seal_revoked_or_suspended_in_the_registry_is_judged_like_a_certificate() {
    let mut pki = Pki::new();
    let now = SystemTime::now();
    let signer = pki.signer(Some(now - 10 * DAY), None);
    let dir = tempfile::tempdir().unwrap();
    let mut reg = Registry::open_in(
        &dir.path().join("seals.db"),
        &yinzheng_tests::store_backend(&dir.path().join("seals.db")),
    )
    .unwrap();
    let secs = |t: SystemTime| t.duration_since(SystemTime::UNIX_EPOCH).unwrap().as_secs() as i64;
    let v = pki.validator();

    let revoked = pki.seal("poe-reg-revoked", &signer.1, now - 20 * DAY, now + 30 * DAY);
    reg.register(&revoked, "Example Org", "test", secs(now - 20 * DAY))
        .unwrap();
    reg.transition(
        revoked.id(),
        SealStatus::Revoked,
        "test",
        "lost",
        secs(now - DAY),
    )
    .unwrap();
    let sig = sign(&revoked, &signer, now - 3 * DAY);
    let r = verify(&pki, &v, &sig, Some(&reg), None);
    expect(
        &r,
        Indication::Indeterminate,
        Some(SubIndication::RevokedNoPoe),
    );
    let r = verify(&pki, &v, &sig, Some(&reg), Some(now - 3 * DAY));
    expect(&r, Indication::TotalPassed, None);
    assert!(
        r.checks()
            .iter()
            .any(|c| c.id == "seal-status" && c.message.contains("later")),
        "{r}"
    );
    let r = verify(
        &pki,
        &v,
        &sig,
        Some(&reg),
        Some(now - Duration::from_secs(60)),
    );
    expect(&r, Indication::TotalFailed, Some(SubIndication::Revoked));

    let suspended = pki.seal(
        "poe-reg-suspended",
        &signer.1,
        now - 20 * DAY,
        now + 30 * DAY,
    );
    reg.register(&suspended, "Example Org", "test", secs(now - 20 * DAY))
        .unwrap();
    reg.transition(
        suspended.id(),
        SealStatus::Suspended,
        "test",
        "audit",
        secs(now - DAY),
    )
    .unwrap();
    let sig = sign(&suspended, &signer, now - 3 * DAY);
    let r = verify(&pki, &v, &sig, Some(&reg), None);
    assert_eq!(r.indication(), Indication::Indeterminate, "{r}");
    let r = verify(&pki, &v, &sig, Some(&reg), Some(now - 3 * DAY));
    expect(&r, Indication::TotalPassed, None);
}

#[test]
fn a_seal_signature_without_its_data_is_bound_to_nothing() {
    let mut pki = Pki::new();
    let signer = pki.signer(None, None);
    let now = SystemTime::now();
    let seal = pki.seal("poe-bare", &signer.1, now - DAY, now + DAY);
    let sig = sign(&seal, &signer, now);
    let v = pki.validator();
    let chain = vec![pki.domain.issuing().clone()];
    let bare = verify_signature(
        &sig,
        &VerifyOptions {
            validator: &v,
            intermediates: &chain,
            registry: None,
            makers: MakerTrust::Policy,
            data: None,
        },
    );
    expect(
        &bare,
        Indication::Indeterminate,
        Some(SubIndication::SignedDataNotFound),
    );
    assert!(bare.to_string().contains("--data"), "{bare}");
    // With its data, the same signature passes.
    expect(
        &verify(&pki, &v, &sig, None, None),
        Indication::TotalPassed,
        None,
    );
}

#[test]
fn keys_of_other_purposes_never_stamp_a_passing_signature() {
    let mut pki = Pki::new();
    let now = SystemTime::now();
    let v = pki.validator();
    // SM2 profiles of the domain that are not for signing documents. (The
    // P-256 TLS profiles are covered through CMS in yinzheng-document.)
    let others: [(&str, &str, Option<&str>); 4] = [
        ("ocsp-responder", "CN=PoE OCSP,O=Yinzheng,C=CN", None),
        ("tsa", "CN=PoE TSA,O=Yinzheng,C=CN", None),
        ("log-signer", "CN=PoE Log,O=Yinzheng,C=CN", None),
        ("seal-maker", "CN=PoE Maker 2,O=Yinzheng,C=CN", None),
    ];
    for (profile, subject, uscc) in others {
        let key = pki.issue(profile, subject, uscc, None, None);
        let seal = pki.seal(&format!("poe-{profile}"), &key.1, now - DAY, now + DAY);
        let sig = sign(&seal, &key, now);
        let r = verify(&pki, &v, &sig, None, None);
        assert_ne!(r.indication(), Indication::TotalPassed, "{profile}: {r}");
        assert!(
            r.checks()
                .iter()
                .any(|c| c.id == "signer-purpose" && c.status == yinzheng_pki::CheckStatus::Failed),
            "{profile}: the refusal is named:\n{r}"
        );
    }
    // The seal-signer profile is the one that may.
    let signer = pki.signer(None, None);
    let seal = pki.seal("poe-signer", &signer.1, now - DAY, now + DAY);
    let r = verify(&pki, &v, &sign(&seal, &signer, now), None, None);
    expect(&r, Indication::TotalPassed, None);
}

#[test]
fn a_key_compromise_after_the_proven_time_cannot_be_decided() {
    let mut pki = Pki::new();
    let now = SystemTime::now();
    let signer = pki.signer(Some(now - 10 * DAY), None);
    let seal = pki.seal("poe-compromise", &signer.1, now - 20 * DAY, now + 30 * DAY);
    let sig = sign(&seal, &signer, now - 5 * DAY);
    // keyCompromise (1), dated an hour ago.
    pki.domain
        .revoke(&signer.1.serial_hex(), 1, now - Duration::from_secs(3600))
        .unwrap();
    let v = pki.validator();
    // Proven before the revocation date: the key may have been stolen
    // earlier than that, so neither valid nor forged.
    let r = verify(&pki, &v, &sig, None, Some(now - 5 * DAY));
    expect(
        &r,
        Indication::Indeterminate,
        Some(SubIndication::RevokedNoPoe),
    );
    // Proven after it: revoked.
    let r = verify(&pki, &v, &sig, None, Some(now - Duration::from_secs(60)));
    expect(&r, Indication::TotalFailed, Some(SubIndication::Revoked));
}
