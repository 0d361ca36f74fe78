//! Time travel for PAdES B-LT/B-LTA (issue 23): a sealed PDF with a
//! signature time stamp, its validation data in the DSS and a document time
//! stamp, renewed once by a longer-lived TSA, validates eight years on —
//! every certificate but the last TSA's expired, no CRL but those the file
//! carries, the signer revoked (superseded) after signing — and the report
//! names the proof of existence. Without the renewal, without the DSS, with
//! the signer's key compromised, or altered, it does not, and says where.

#![allow(clippy::unwrap_used)]

#[path = "pdf_util/attacks.rs"]
mod attacks;
mod pdf_util;

use std::sync::Arc;
use std::sync::Mutex;
use std::time::{Duration, SystemTime};
use yinzheng_ca::{InitOptions, IssueRequest, KeySource, TrustDomain};
use yinzheng_cms::TimeStampAuthority;
use yinzheng_document::{
    CmsVerifyContext, DssMaterial, PdfSealer, PdfStampOptions, add_dss, pdf_dss, pdf_signatures,
    seal_pdf, time_stamp_pdf, verify_pdf,
};
use yinzheng_pki::{
    CheckStatus, Clock, Crl, FixedClock, Indication, ParsedCert, SubIndication, Validator,
    VerificationReport,
};
use yinzheng_seal::MakerTrust;

const DAY: Duration = Duration::from_secs(86_400);

/// A clock the test moves.
#[derive(Debug)]
struct TestClock(Mutex<SystemTime>);

impl Clock for TestClock {
    fn now(&self) -> SystemTime {
        *self.0.lock().unwrap()
    }
}

struct World {
    _dir: tempfile::TempDir,
    domain: TrustDomain,
    clock: Arc<TestClock>,
    start: SystemTime,
    signer: yinzheng_ca::Issued,
    tsa_short: TimeStampAuthority,
    tsa_long: TimeStampAuthority,
}

fn at(t: SystemTime) -> time::OffsetDateTime {
    time::OffsetDateTime::from(t)
}

fn world() -> World {
    let dir = tempfile::tempdir().unwrap();
    let pki = dir.path().join("pki");
    let start = SystemTime::now();
    let clock = Arc::new(TestClock(Mutex::new(start - DAY)));
    let mut opts = InitOptions::new("CN=LTV Root,O=Yinzheng,C=CN");
    opts.key_encryption = yinzheng_crypto::KeyEncryption::default().with_iterations(1000);
    opts.clock = clock.clone();
    let mut domain =
        TrustDomain::init_in(&pki, &yinzheng_tests::store_backend(&pki), &opts, b"pw").unwrap();
    let mut issue = |profile: &str, name: &str, days: u32| {
        domain
            .issue(IssueRequest {
                profile,
                subject: Some(&format!("CN={name},O=Yinzheng,C=CN")),
                extras: yinzheng_pki::SubjectExtras {
                    uscc: (profile == "seal-signer").then(|| "91350100M000100Y43".to_string()),
                    ..Default::default()
                },
                key: KeySource::Generate,
                not_before: Some(start - DAY),
                days: Some(days),
                issuer: None,
            })
            .unwrap()
    };
    let signer = issue("seal-signer", "LTV Signer", 365);
    let tsa = |i: yinzheng_ca::Issued| {
        TimeStampAuthority::new(
            Box::new(i.key.unwrap()),
            i.cert.der().to_vec(),
            vec![],
            None,
        )
        .unwrap()
    };
    let tsa_short = tsa(issue("tsa", "TSA 2026", 365));
    let tsa_long = tsa(issue("tsa", "TSA 2027", 3 * 3650));
    World {
        _dir: dir,
        domain,
        clock,
        start,
        signer,
        tsa_short,
        tsa_long,
    }
}

impl World {
    /// Every CA's CRL as of `t`, valid a week.
    fn crls_at(&mut self, t: SystemTime) -> Vec<Crl> {
        *self.clock.0.lock().unwrap() = t;
        self.domain.crl(24 * 7).unwrap()
    }

    /// The validation data of the PKI as of `t`: both CA certificates and
    /// every CA's CRL.
    fn material_at(&mut self, t: SystemTime) -> DssMaterial {
        let crls = self.crls_at(t);
        DssMaterial {
            certs: vec![
                self.domain.issuing().der().to_vec(),
                self.domain.root().der().to_vec(),
            ],
            crls: crls.iter().map(|c| c.der().to_vec()).collect(),
            ocsps: vec![],
        }
    }

    /// The base PDF sealed (SM2, with a signature time stamp by the short-lived TSA).
    fn sealed(&self) -> Vec<u8> {
        let key = self.signer.key.as_ref().unwrap();
        let sealer = PdfSealer {
            signer: key,
            certificate: self.signer.cert.der(),
            chain: vec![self.domain.issuing().der().to_vec()],
            seal: None,
            tsa: Some(&self.tsa_short),
        };
        seal_pdf(
            &pdf_util::base_pdf(false),
            &PdfStampOptions::new(at(self.start)),
            &sealer,
        )
        .unwrap()
    }

    /// `pdf` made B-LT (validation data as of `t`) then B-LTA (a document
    /// time stamp by `tsa` at `t`).
    fn lta(&mut self, pdf: &[u8], t: SystemTime, long: bool) -> Vec<u8> {
        let material = self.material_at(t);
        let sigs = pdf_signatures(pdf).unwrap();
        let with_dss = add_dss(pdf, &material, &sigs.iter().collect::<Vec<_>>()).unwrap();
        let tsa = if long {
            &self.tsa_long
        } else {
            &self.tsa_short
        };
        time_stamp_pdf(&with_dss, tsa, at(t)).unwrap()
    }
}

fn judge(pdf: &[u8], root: &ParsedCert, crls: Vec<Crl>, when: SystemTime) -> VerificationReport {
    let validator = Validator::new(vec![root.clone()])
        .with_crls(crls)
        .with_clock(Arc::new(FixedClock(when)));
    let makers = Validator::new(vec![]);
    let ctx = CmsVerifyContext {
        validator: &validator,
        intermediates: &[],
        makers: MakerTrust::Anchors(&makers),
        registry: None,
        sm2_id: None,
        deadline: None,
    };
    verify_pdf(pdf, &ctx).unwrap()
}

fn passed<'a>(r: &'a VerificationReport, id: &str) -> Vec<&'a str> {
    r.checks()
        .iter()
        .filter(|c| c.id.ends_with(id) && c.status == CheckStatus::Passed)
        .map(|c| c.message.as_str())
        .collect()
}

fn warned(r: &VerificationReport) -> Vec<String> {
    r.checks()
        .iter()
        .filter(|c| c.status == CheckStatus::Warning)
        .map(|c| format!("{} [{}]: {}", c.id, c.subject, c.message))
        .collect()
}

fn failed(r: &VerificationReport) -> Vec<String> {
    r.checks()
        .iter()
        .filter(|c| c.status == CheckStatus::Failed)
        .map(|c| format!("{} [{}]: {}", c.id, c.subject, c.message))
        .collect()
}

#[test]
fn a_renewed_lta_pdf_validates_eight_years_on_from_what_it_carries() {
    let mut w = world();
    let root = w.domain.root().clone();
    let start = w.start;
    let sealed = w.sealed();
    // B-LT + B-LTA an hour after sealing, by the TSA that lives a year.
    let lta = w.lta(&sealed, start + Duration::from_secs(3600), false);
    // The signer is revoked 200 days on (superseded: no doubt about earlier
    // signatures).
    let serial = w.signer.cert.serial_hex();
    *w.clock.0.lock().unwrap() = start + 200 * DAY;
    w.domain.revoke(&serial, 4, start + 200 * DAY).unwrap();
    // Renewed 300 days on by the long-lived TSA: the DSS gains the CRLs of
    // that day (listing the signer; the first document time stamp's TSA
    // still valid), then a second document time stamp.
    let renewed = w.lta(&lta, start + 300 * DAY, true);
    assert!(pdf_dss(&renewed).unwrap().crls.len() >= 4);
    let eight_years = start + 3000 * DAY;
    // Eight years on, the auditor holding the root alone.
    {
        let r = judge(&renewed, &root, vec![], eight_years);
        assert_eq!(r.indication(), Indication::TotalPassed, "{:#?}", r.checks());
        let poe = passed(&r, "proof of existence");
        assert_eq!(poe.len(), 1, "{r}");
        assert!(poe[0].contains("signature time stamp"), "{}", poe[0]);
        assert!(poe[0].contains("DocTimeStamp1"), "{}", poe[0]);
        let stamps = passed(&r, "document time stamp");
        assert_eq!(stamps.len(), 2, "{r}");
        assert!(
            stamps.iter().any(|m| m.contains("the latest proof")),
            "{stamps:?}"
        );
        assert!(
            passed(&r, "revocation")
                .iter()
                .any(|m| m.contains("revoked only later")),
            "{r}"
        );
    }
    // Not renewed: the only document time stamp's TSA lapsed long ago, so
    // it proves nothing (a warning naming it), and the signature alone is
    // undecided.
    let r = judge(&lta, &root, vec![], eight_years);
    assert_eq!(r.indication(), Indication::Indeterminate, "{r}");
    assert!(
        warned(&r)
            .iter()
            .any(|w| w.contains("DocTimeStamp1") && w.contains("not a proof of existence")),
        "{:?}",
        warned(&r)
    );
    // Without the DSS (B-T only): no revocation data, every certificate expired.
    let r = judge(&sealed, &root, vec![], eight_years);
    assert_ne!(r.indication(), Indication::TotalPassed, "{r}");
    // The first B-LTA is valid the next day from the file alone too; judged
    // before its renewal was made, the renewed file is undecided (a token
    // from the future).
    let r = judge(&lta, &root, vec![], start + 2 * DAY);
    assert_eq!(r.indication(), Indication::TotalPassed, "{r}");
    let r = judge(&renewed, &root, vec![], start + 2 * DAY);
    assert_eq!(r.indication(), Indication::Indeterminate, "{r}");
    assert!(
        failed(&r)
            .iter()
            .any(|m| m.contains("after the validation time")),
        "{:?}",
        failed(&r)
    );
}

#[test]
fn a_compromised_key_or_an_altered_lta_pdf_is_refused_and_named() {
    let mut w = world();
    let root = w.domain.root().clone();
    let start = w.start;
    let sealed = w.sealed();
    let lta = w.lta(&sealed, start + Duration::from_secs(3600), false);
    let renewed = w.lta(&lta, start + 300 * DAY, true);
    let eight_years = start + 3000 * DAY;

    // One byte of page content in the signed revision changed.
    let at_text = find(&renewed, b"Contract No.");
    let mut altered = renewed.clone();
    altered[at_text] = b'K';
    let r = judge(&altered, &root, vec![], eight_years);
    assert_eq!(r.indication(), Indication::TotalFailed, "{r}");
    let f = failed(&r);
    assert!(f.iter().any(|m| m.contains("Seal1")), "{f:?}");
    assert!(f.iter().any(|m| m.contains("DocTimeStamp")), "{f:?}");

    // An update appended after the last document time stamp that changes the page.
    let extra = page_changed(&renewed);
    let r = judge(&extra, &root, vec![], eight_years);
    assert_eq!(r.indication(), Indication::TotalFailed, "{r}");

    // The first document time stamp's token altered (one byte of its
    // signature): the chain of proof is broken there.
    let sigs = pdf_signatures(&renewed).unwrap();
    let first_ts = sigs
        .iter()
        .find(|s| s.field_name == "DocTimeStamp1")
        .unwrap();
    let mut bad_token = renewed.clone();
    let hex_at = first_ts.byte_range[1] + 1 + 2 * (first_ts.contents.len() - 3);
    bad_token[hex_at] = if bad_token[hex_at] == b'0' {
        b'1'
    } else {
        b'0'
    };
    let r = judge(&bad_token, &root, vec![], eight_years);
    assert_eq!(r.indication(), Indication::TotalFailed, "{r}");
    assert!(
        failed(&r).iter().any(|m| m.contains("DocTimeStamp1")),
        "{:?}",
        failed(&r)
    );

    // A document time stamp by a TSA nobody trusts proves nothing: appended
    // to a genuine renewed file it is named and ignored, the file still valid.
    let other = world();
    let foreign = time_stamp_pdf(&renewed, &other.tsa_long, at(start + 301 * DAY)).unwrap();
    let r = judge(&foreign, &root, vec![], eight_years);
    assert_eq!(r.indication(), Indication::TotalPassed, "{r}");
    assert!(
        warned(&r)
            .iter()
            .any(|w| w.contains("DocTimeStamp3") && w.contains("not a proof of existence")),
        "{:?}",
        warned(&r)
    );
    // A PDF with a document time stamp and no signature is not a sealed document.
    let bare = time_stamp_pdf(&pdf_util::base_pdf(false), &w.tsa_short, at(start)).unwrap();
    let r = judge(&bare, &root, vec![], start + DAY);
    assert_eq!(r.indication(), Indication::TotalFailed, "{r}");
    assert!(
        failed(&r)
            .iter()
            .any(|m| m.contains("document time stamps only")),
        "{:?}",
        failed(&r)
    );

    // The signer's key compromised (revoked 200 days on for keyCompromise,
    // as the renewal's CRLs say): a signature before the revocation date
    // cannot be trusted either.
    let serial = w.signer.cert.serial_hex();
    *w.clock.0.lock().unwrap() = start + 200 * DAY;
    w.domain.revoke(&serial, 1, start + 200 * DAY).unwrap();
    let compromised = w.lta(&lta, start + 300 * DAY, true);
    let r = judge(&compromised, &root, vec![], eight_years);
    assert_eq!(r.indication(), Indication::Indeterminate, "{r}");
    assert_eq!(r.sub_indication(), Some(SubIndication::RevokedNoPoe), "{r}");

    // A forged CRL in the DSS (same issuer name, another key) is not used:
    // the file made B-LTA with it alone does not validate even today.
    let mut other = other;
    let genuine = w.material_at(start + Duration::from_secs(3600));
    let forged = DssMaterial {
        certs: genuine.certs,
        crls: other
            .crls_at(start + Duration::from_secs(3600))
            .iter()
            .map(|c| c.der().to_vec())
            .collect(),
        ocsps: vec![],
    };
    let sealed_sigs = pdf_signatures(&sealed).unwrap();
    let with_forged = add_dss(&sealed, &forged, &sealed_sigs.iter().collect::<Vec<_>>()).unwrap();
    let with_forged = time_stamp_pdf(
        &with_forged,
        &w.tsa_short,
        at(start + Duration::from_secs(3600)),
    )
    .unwrap();
    let r = judge(&with_forged, &root, vec![], start + 2 * DAY);
    assert_eq!(r.indication(), Indication::Indeterminate, "{r}");
    assert!(
        failed(&r)
            .iter()
            .any(|m| m.contains("CRL signature does not verify")),
        "{:?}",
        failed(&r)
    );
}

fn find(hay: &[u8], needle: &[u8]) -> usize {
    hay.windows(needle.len()).position(|w| w == needle).unwrap()
}

/// `pdf` with an update that rewrites page 1's content.
fn page_changed(pdf: &[u8]) -> Vec<u8> {
    let doc = lopdf::Document::load_mem(pdf).unwrap();
    let page = *doc.get_pages().get(&1).unwrap();
    let content = doc.get_page_contents(page)[0];
    let stream = lopdf::Stream::new(
        lopdf::dictionary! {},
        b"BT /F1 18 Tf 72 760 Td (Contract No. 2026-999) Tj ET".to_vec(),
    );
    attacks::append(
        pdf,
        attacks::Update::objects(vec![(content, lopdf::Object::Stream(stream))]),
    )
}

#[test]
fn a_crl_issued_after_the_certificate_expired_says_nothing_about_it() {
    let mut w = world();
    let start = w.start;
    let (root, issuing) = (w.domain.root().clone(), w.domain.issuing().clone());
    // Revoked 200 days on; the CA lists it until it expires (365 days on),
    // then drops it, as CAs do.
    *w.clock.0.lock().unwrap() = start + 200 * DAY;
    w.domain
        .revoke(&w.signer.cert.serial_hex(), 4, start + 200 * DAY)
        .unwrap();
    let listing = w.crls_at(start + 250 * DAY);
    let after_expiry = w.crls_at(start + 400 * DAY);
    // Something signed 300 days on — after the revocation — judged with the
    // later CRL alone: it cannot vouch for a certificate it no longer lists.
    let judged = |crls: Vec<Crl>| {
        Validator::new(vec![root.clone()]).with_crls(crls).validate(
            &w.signer.cert,
            std::slice::from_ref(&issuing),
            start + 300 * DAY,
        )
    };
    let r = judged(after_expiry.clone());
    assert_eq!(r.indication(), Indication::Indeterminate, "{r}");
    assert!(
        failed(&r)
            .iter()
            .any(|m| m.contains("after the certificate expired")),
        "{:?}",
        failed(&r)
    );
    // With the CRL that still listed it: revoked.
    let mut both = after_expiry;
    both.extend(listing);
    let r = judged(both);
    assert_eq!(r.indication(), Indication::TotalFailed, "{r}");
    assert_eq!(r.sub_indication(), Some(SubIndication::Revoked), "{r}");
}
