//! The facade's public API end to end, on a demo trust domain: sealing PDF,
//! OFD and bytes, verification by format, tampering, license files, trust
//! building mistakes and log evidence errors.

#![allow(clippy::unwrap_used)]

use yinzheng::demo::{Demo, PASSPHRASE};
use yinzheng::{Error, LicenseId, SealOptions, SubIndication, Trust};

fn demo() -> (tempfile::TempDir, Demo) {
    let dir = tempfile::tempdir().unwrap();
    let demo = Demo::create(dir.path()).unwrap();
    (dir, demo)
}

fn license_id() -> LicenseId {
    LicenseId::new(
        "11100000000013338W001",
        "11430000006122244L",
        "2026000001",
        1,
    )
    .unwrap()
}

/// A one-page license-like face as (OFD, PDF), both naming the identifier.
fn face() -> (Vec<u8>, Vec<u8>) {
    use yinzheng_document::{OfdDocumentSpec, OfdFont, OfdPage, write_ofd, write_pdf};
    let font = OfdFont::find().unwrap();
    let page = OfdPage::titled("营业执照")
        .kv("名称", "示例科技有限公司")
        .kv("证照标识", license_id().to_string());
    let mut spec =
        OfdDocumentSpec::new("营业执照", time::macros::date!(2026 - 01 - 02), vec![page]);
    spec.doc_id = Some(license_id().to_string());
    (
        write_ofd(&spec, &font).unwrap(),
        write_pdf(&spec, &font).unwrap(),
    )
}

fn flip(bytes: &[u8], needle: &[u8]) -> Vec<u8> {
    let at = bytes
        .windows(needle.len())
        .position(|w| w == needle)
        .unwrap();
    let mut out = bytes.to_vec();
    out[at] ^= 1;
    out
}

#[test]
fn pdf_ofd_and_bytes_seal_and_verify_and_tampering_fails() {
    let (_d, demo) = demo();
    let trust = demo.trust().unwrap();
    let sealer = demo.sealer().unwrap();
    let (ofd, pdf) = face();

    let sealed_pdf = yinzheng::seal_pdf(&pdf, &sealer, &SealOptions::new()).unwrap();
    let r = trust.verify(&sealed_pdf).unwrap();
    assert!(r.passed(), "{r}");
    // A second seal on top keeps the first valid.
    let twice = yinzheng::seal_pdf(
        &sealed_pdf,
        &sealer,
        &SealOptions::new().at_mm(100.0, 100.0),
    )
    .unwrap();
    assert!(trust.verify(&twice).unwrap().passed());

    let sealed_ofd =
        yinzheng::seal_ofd(&ofd, &sealer, &SealOptions::new().at_mm(120.0, 40.0)).unwrap();
    let r = trust.verify(&sealed_ofd).unwrap();
    assert!(r.passed(), "{r}");

    let data = b"approval 2026-001: granted";
    let p7s = yinzheng::seal_bytes(data, &sealer, &SealOptions::new()).unwrap();
    let r = trust.verify_detached(data, &p7s).unwrap();
    assert!(r.passed(), "{r}");
    let r = trust
        .verify_detached(b"approval 2026-001: refused", &p7s)
        .unwrap();
    assert!(!r.passed(), "{r}");
    assert_eq!(r.sub_indication(), Some(SubIndication::HashFailure), "{r}");

    // The seal itself verifies; unknown bytes are an error, not a report.
    assert!(trust.verify(sealer.seal().raw()).unwrap().passed());
    assert!(matches!(trust.verify(b"hello"), Err(Error::Format(_))));
    assert!(matches!(
        trust.verify_detached(data, b"not a signature"),
        Err(Error::Format(_))
    ));

    // Someone else's trust: the same files are not trusted.
    let (_d2, other) = self::demo();
    let r = other.trust().unwrap().verify(&sealed_pdf).unwrap();
    assert!(!r.passed(), "{r}");
}

#[test]
fn options_that_do_not_fit_are_refused() {
    let (_d, demo) = demo();
    let sealer = demo.sealer().unwrap();
    let (ofd, pdf) = face();
    let near = SealOptions::new().near("盖章处");
    assert!(matches!(
        yinzheng::seal_ofd(&ofd, &sealer, &near),
        Err(Error::Options(_))
    ));
    let ts = SealOptions::new().time_stamp(true);
    assert!(matches!(
        yinzheng::seal_pdf(&pdf, &sealer, &ts),
        Err(Error::Options(_))
    ));
    // A key the seal does not list.
    let seal = sealer.seal().clone();
    let stranger = yinzheng::PrivateKey::generate(yinzheng::KeyAlgorithm::Sm2).unwrap();
    assert!(matches!(
        yinzheng::Sealer::new(seal, stranger),
        Err(Error::Options(_))
    ));
    // Wrong passphrase.
    assert!(yinzheng::load_key(demo.key_file(), Some(b"wrong")).is_err());
    assert!(yinzheng::load_key(demo.key_file(), Some(PASSPHRASE)).is_ok());
}

#[test]
fn time_stamped_seals_verify() {
    let (_d, demo) = demo();
    let tsa = yinzheng_ca::TrustDomain::open_in(
        &demo.trust_domain_dir(),
        &yinzheng_store::Backend::Embedded,
        Some(PASSPHRASE),
    )
    .unwrap()
    .time_stamp_authority()
    .unwrap();
    let sealer = demo.sealer().unwrap().with_time_stamp_authority(tsa);
    let opts = SealOptions::new().time_stamp(true);
    let (_, pdf) = face();
    let sealed = yinzheng::seal_pdf(&pdf, &sealer, &opts).unwrap();
    let r = demo.trust().unwrap().verify(&sealed).unwrap();
    assert!(r.passed(), "{r}");
    assert!(
        r.checks().iter().any(|c| c.id.contains("time")),
        "the report mentions the time stamp: {r}"
    );
    let data = b"data";
    let p7s = yinzheng::seal_bytes(data, &sealer, &opts).unwrap();
    let r = demo.trust().unwrap().verify_detached(data, &p7s).unwrap();
    assert!(r.passed(), "{r}");
}

#[test]
fn license_files_give_their_identifier_only_when_genuine() {
    let (_d, demo) = demo();
    let trust = demo.trust().unwrap();
    let sealer = demo.sealer().unwrap();
    let (ofd, pdf) = face();
    let sealed_ofd = yinzheng::seal_ofd(&ofd, &sealer, &SealOptions::new()).unwrap();
    let reason = format!("营业执照 {}", license_id());
    let sealed_pdf = yinzheng::seal_pdf(&pdf, &sealer, &SealOptions::new().reason(reason)).unwrap();
    for file in [&sealed_ofd, &sealed_pdf] {
        let c = trust.check_license_file(file).unwrap();
        assert!(c.passed(), "{}", c.report());
        assert_eq!(c.id(), Some(&license_id()));
    }
    // A changed identifier in the OFD breaks its Reference; none is returned.
    let forged = {
        let pkg = yinzheng_document::OfdPackage::read(&sealed_ofd).unwrap();
        let xml = String::from_utf8(pkg.part("OFD.xml").unwrap().to_vec()).unwrap();
        assert!(xml.contains(&license_id().to_string()));
        rezip(
            &sealed_ofd,
            "OFD.xml",
            xml.replace("2026000001", "2026000002").as_bytes(),
        )
    };
    let c = trust.check_license_file(&forged).unwrap();
    assert!(!c.passed());
    assert_eq!(c.id(), None, "{}", c.report());
    // A PDF byte flipped inside the signed range.
    let c = trust
        .check_license_file(&flip(&sealed_pdf, b"/Reason"))
        .unwrap();
    assert_eq!(c.id(), None, "{}", c.report());
    assert!(matches!(
        trust.check_license_file(b"plain text"),
        Err(Error::Format(_))
    ));
}

/// Rewrite a zip package with `part` replaced.
fn rezip(zip_bytes: &[u8], part: &str, data: &[u8]) -> Vec<u8> {
    use std::io::{Read, Write};
    let mut zin = zip::ZipArchive::new(std::io::Cursor::new(zip_bytes)).unwrap();
    let mut out = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    for i in 0..zin.len() {
        let mut f = zin.by_index(i).unwrap();
        let name = f.name().to_string();
        let mut buf = Vec::new();
        f.read_to_end(&mut buf).unwrap();
        out.start_file(name.as_str(), zip::write::SimpleFileOptions::default())
            .unwrap();
        out.write_all(if name == part { data } else { &buf })
            .unwrap();
    }
    out.finish().unwrap().into_inner()
}

#[test]
fn trust_building_mistakes_are_errors() {
    assert!(matches!(Trust::builder().build(), Err(Error::Options(_))));
    assert!(
        Trust::builder()
            .roots_pem(b"not pem".to_vec())
            .build()
            .is_err()
    );
    assert!(matches!(
        Trust::builder()
            .roots_file("/nonexistent/roots.pem")
            .build(),
        Err(Error::Io { .. })
    ));
    let (_d, demo) = demo();
    let roots = std::fs::read(demo.roots_file()).unwrap();
    assert!(matches!(
        Trust::builder()
            .roots_pem(roots.clone())
            .maker_roots_pem(roots.clone())
            .danger_any_maker()
            .build(),
        Err(Error::Options(_))
    ));
    // A trust domain directory works as well as exported files.
    let t = Trust::builder()
        .trust_domain_dir(demo.trust_domain_dir())
        .crl_file(demo.crl_file())
        .build()
        .unwrap();
    assert_eq!(t.root_subjects().len(), 1);
    let (_, pdf) = face();
    let sealed = yinzheng::seal_pdf(&pdf, &demo.sealer().unwrap(), &SealOptions::new()).unwrap();
    assert!(t.verify(&sealed).unwrap().passed());
    // Without CRLs revocation is unknown: INDETERMINATE unless relaxed.
    let no_crl = Trust::builder().roots_pem(roots.clone()).build().unwrap();
    assert!(!no_crl.verify(&sealed).unwrap().passed());
    let relaxed = Trust::builder()
        .roots_pem(roots)
        .danger_revocation_best_effort()
        .build()
        .unwrap();
    assert!(relaxed.verify(&sealed).unwrap().passed());
}

#[test]
fn evidence_errors() {
    assert!(matches!(
        yinzheng::verify_evidence(b"c2sp.org/tlog-proof@v1\n", ""),
        Err(Error::Options(_))
    ));
    assert!(matches!(
        yinzheng::verify_evidence(b"garbage", "not a key"),
        Err(Error::Evidence(_))
    ));
}

/// Evidence whose checkpoint the trusted witnesses cosigned passes
/// `verify_evidence_witnessed`; short of the quorum it is `NotWitnessed`,
/// naming who cosigned and who did not (issue 24).
#[test]
fn evidence_needs_the_witness_quorum() {
    use std::sync::Arc;
    use yinzheng_anchor::{Cosigner, Entry, Evidence, HashAlg, NoteSigner};
    use yinzheng_log::{Log, LogOptions};
    let dir = tempfile::tempdir().unwrap();
    let origin = "example.local/log/sm3";
    let signer = NoteSigner::new(
        origin,
        yinzheng::PrivateKey::generate(yinzheng::KeyAlgorithm::Sm2).unwrap(),
    )
    .unwrap();
    let vkey = signer.verifier().to_string();
    Log::create_in(
        dir.path(),
        &yinzheng_store::Backend::Embedded,
        origin,
        HashAlg::Sm3,
        &[&signer],
    )
    .unwrap();
    let log = Log::open_in(
        dir.path(),
        &yinzheng_store::Backend::Embedded,
        vec![signer],
        LogOptions::default().with_period(std::time::Duration::ZERO),
    )
    .unwrap();
    log.append_entry(&Entry::new("seal.made", 1_790_000_000_000, "admin").unwrap())
        .unwrap();
    let note = log.checkpoint_note();
    let text = note.split_once("\n\n").unwrap().0.to_string() + "\n";
    let witness = |name: &str| {
        Cosigner::new(
            name,
            Arc::new(yinzheng::PrivateKey::generate(yinzheng::KeyAlgorithm::Ed25519).unwrap()),
        )
        .unwrap()
    };
    let (w1, w2) = (witness("w1.example/w"), witness("w2.example/w"));
    let policy =
        yinzheng::WitnessPolicy::parse(&format!("{}\n{}\n", w1.verifier(), w2.verifier()), 2)
            .unwrap();
    let evidence = |cosigners: &[&Cosigner]| {
        let mut cp = note.clone();
        for c in cosigners {
            cp.push_str(&c.cosign(&text, 1_790_000_100).unwrap());
        }
        Evidence::new(&log.entry(0).unwrap(), 0, vec![], &cp).to_text()
    };
    let v = yinzheng::verify_evidence_witnessed(evidence(&[&w1, &w2]).as_bytes(), &vkey, &policy)
        .unwrap();
    assert_eq!(v.index(), 0);
    match yinzheng::verify_evidence_witnessed(evidence(&[&w1]).as_bytes(), &vkey, &policy) {
        Err(yinzheng::Error::NotWitnessed(q)) => {
            assert_eq!(
                (q.cosigned.clone(), q.missing.clone()),
                (
                    vec!["w1.example/w".to_string()],
                    vec!["w2.example/w".to_string()]
                )
            );
            assert!(!q.met());
        }
        other => panic!("{other:?}"),
    }
    // Without a policy the same evidence is the log's word alone: it verifies.
    assert!(yinzheng::verify_evidence(evidence(&[]).as_bytes(), &vkey).is_ok());
    log.close().unwrap();
}
