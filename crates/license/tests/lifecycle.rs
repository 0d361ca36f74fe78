//! Licenses end to end on the library: issue (sealed OFD + PDF, anchored),
//! check by identifier, file, face data and token, every lifecycle transition
//! and refusal, changes, usage records anchored with offline proofs.

#![allow(clippy::unwrap_used)]

use yinzheng_anchor::{Evidence, HashAlg, NoteSigner};
use yinzheng_ca::{InitOptions, IssueRequest as CertRequest, KeySource, TrustDomain};
use yinzheng_crypto::{KeyAlgorithm, KeyEncryption, PrivateKey};
use yinzheng_document::OfdFont;
use yinzheng_license::{
    Action, DocumentTrust, FaceSealer, IssueRequest, Registry, ResultCode, Status, UsageContext,
};
use yinzheng_log::{Log, LogOptions};
use yinzheng_pki::{ParsedCert, SubjectExtras, Validator};
use yinzheng_seal::{Picture, Seal, SealBuilder, SealType};

struct World {
    _dir: tempfile::TempDir,
    log: Log,
    domain: TrustDomain,
    seal: Seal,
    signer: (PrivateKey, ParsedCert),
    font: OfdFont,
    log_key: yinzheng_anchor::VerifierKey,
    crls: Vec<yinzheng_pki::Crl>,
}

fn world() -> (World, Registry) {
    let dir = tempfile::tempdir().unwrap();
    let mut opts = InitOptions::new("CN=License Test Root CA,O=Yinzheng,C=CN");
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
            .issue(CertRequest {
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
        "CN=示例市市场监督管理局,O=示例市市场监督管理局,C=CN",
        Some("11430000006122244L"),
    );
    let picture = yinzheng_seal::draw_round(
        &yinzheng_seal::SealFont::find().unwrap(),
        "示例市市场监督管理局",
        "登记专用章",
        42.0,
    )
    .unwrap();
    let now = time::OffsetDateTime::now_utc();
    let seal = SealBuilder::new(
        "reg-1",
        "示例市市场监督管理局登记专用章",
        SealType::Official,
        Picture {
            kind: "PNG".into(),
            data: picture,
            width_mm: 42,
            height_mm: 42,
        },
    )
    .signer_cert(signer.1.der())
    .validity(
        now - time::Duration::days(1),
        now + time::Duration::days(3650),
    )
    .sign(&maker.0, maker.1.der())
    .unwrap();
    let log_dir = dir.path().join("log");
    let origin = "licenses.test/log/sm3";
    let log_key = PrivateKey::generate(KeyAlgorithm::Sm2).unwrap();
    let vkey = NoteSigner::new(
        origin,
        PrivateKey::from_pkcs8_der(&log_key.to_pkcs8_der()).unwrap(),
    )
    .unwrap()
    .verifier()
    .clone();
    Log::create_in(
        &log_dir,
        &yinzheng_tests::store_backend(&log_dir),
        origin,
        HashAlg::Sm3,
        &[&NoteSigner::new(
            origin,
            PrivateKey::from_pkcs8_der(&log_key.to_pkcs8_der()).unwrap(),
        )
        .unwrap()],
    )
    .unwrap();
    let log = Log::open_in(
        &log_dir,
        &yinzheng_tests::store_backend(&log_dir),
        vec![NoteSigner::new(origin, log_key).unwrap()],
        LogOptions::default().with_period(std::time::Duration::from_millis(5)),
    )
    .unwrap();
    let reg = Registry::open_in(
        &dir.path().join("licenses"),
        &yinzheng_tests::store_backend(&dir.path().join("licenses")),
    )
    .unwrap();
    let crls = domain.crl(24).unwrap();
    (
        World {
            _dir: dir,
            log,
            domain,
            seal,
            signer,
            font: OfdFont::find().unwrap(),
            log_key: vkey,
            crls,
        },
        reg,
    )
}

fn sealer(w: &World) -> FaceSealer<'_> {
    FaceSealer {
        seal: &w.seal,
        signer: &w.signer.0,
        certificate: w.signer.1.der(),
        chain: vec![w.domain.issuing().der().to_vec()],
        tsa: None,
        font: &w.font,
        actor: "registrar 01".into(),
    }
}

fn business(holder: &str) -> IssueRequest {
    IssueRequest {
        type_key: "business-licence".into(),
        holder_name: "示例科技有限公司".into(),
        holder_code: holder.into(),
        fields: vec![
            ("company_type".into(), "有限责任公司".into()),
            ("legal_rep".into(), "张三".into()),
            ("established".into(), "2020年1月2日".into()),
            ("address".into(), "示例市示例区示例路1号".into()),
        ],
        ..Default::default()
    }
}

fn ctx() -> UsageContext {
    UsageContext {
        caller: "approval-system-A".into(),
        operator: "窗口 07".into(),
        purpose: "办理食品经营许可".into(),
        matter: "MATTER-001".into(),
        business_serial: "BIZ-2026-1".into(),
    }
}

fn now() -> time::OffsetDateTime {
    time::OffsetDateTime::now_utc()
        .replace_nanosecond(0)
        .unwrap()
}

#[test]
fn issue_check_every_way_change_and_revoke() {
    let (w, mut reg) = world();
    let at = now();
    let s = sealer(&w);
    let lic = reg
        .issue(&business("91350100M000100Y43"), &s, &w.log, at)
        .unwrap();
    assert_eq!(lic.status, Status::Valid);
    assert_eq!(lic.id.version(), 1);
    let files = reg.files_dir(&lic.id);
    let ofd = std::fs::read(files.join("license.ofd")).unwrap();
    let pdf = std::fs::read(files.join("license.pdf")).unwrap();
    // the "issued" event is in the log, provably, with the files' digests
    let ev = Evidence::parse(&std::fs::read(files.join("issued.tlog-proof")).unwrap()).unwrap();
    let v = ev
        .verify(std::slice::from_ref(&w.log_key), HashAlg::Sm3, None)
        .unwrap();
    let entry = yinzheng_anchor::Entry::decode(&v.entry).unwrap();
    assert_eq!(entry.kind(), "license.issued");
    assert_eq!(
        entry.digests(),
        &[yinzheng_crypto::sm3(&ofd), yinzheng_crypto::sm3(&pdf)]
    );
    assert_eq!(entry.subjects(), &[lic.id.to_string()]);

    // by identifier
    let o = reg.check_id(&lic.id.to_string(), &ctx(), at).unwrap();
    assert_eq!(o.code, ResultCode::Valid, "{}", o.message);
    assert_eq!(
        reg.check_id(
            "1.2.156.3005.2.11100000000013338W011.11430000006122244L.X.001.0",
            &ctx(),
            at
        )
        .unwrap()
        .code,
        ResultCode::DataWrong
    );
    let missing = lic.id.with_version(9).unwrap().to_string();
    assert_eq!(
        reg.check_id(&missing, &ctx(), at).unwrap().code,
        ResultCode::NotFound
    );
    assert!(
        reg.check_id(
            &lic.id.to_string(),
            &UsageContext {
                purpose: String::new(),
                ..ctx()
            },
            at
        )
        .is_err()
    );

    // by file: both files are genuine and valid
    let validator = Validator::new(vec![w.domain.root().clone()]).with_crls(w.crls.clone());
    let chain = vec![w.domain.issuing().clone()];
    let context = yinzheng_document::TrustContext::new(validator).with_intermediates(chain);
    let trust = DocumentTrust {
        context: &context,
        seals: None,
        deadline: None,
        max_inflated: None,
    };
    for f in [&ofd, &pdf] {
        let o = reg.check_file(f, &trust, &ctx(), at).unwrap();
        assert_eq!(o.code, ResultCode::Valid, "{}", o.message);
        assert_eq!(o.license.as_ref().unwrap().id, lic.id);
    }
    // a changed byte: not genuine (7)
    let mut bad = pdf.clone();
    let i = bad
        .windows(3)
        .position(|w| w == b"/F1" || w == b"BT\n")
        .unwrap_or(200);
    bad[i + 1] ^= 1;
    assert_eq!(
        reg.check_file(&bad, &trust, &ctx(), at).unwrap().code,
        ResultCode::DataWrong
    );

    // by face data
    let claim = |k: &str, v: &str| vec![(k.to_string(), v.to_string())];
    assert_eq!(
        reg.check_face(&lic.id.to_string(), &claim("legal_rep", "张三"), &ctx(), at)
            .unwrap()
            .code,
        ResultCode::Valid
    );
    let o = reg
        .check_face(
            &lic.id.to_string(),
            &claim("法定代表人", "李四"),
            &ctx(),
            at,
        )
        .unwrap();
    assert_eq!(o.code, ResultCode::DataWrong);
    assert_eq!(o.mismatches, vec!["法定代表人".to_string()]);
    assert_eq!(
        reg.check_face(&lic.id.to_string(), &[], &ctx(), at)
            .unwrap()
            .code,
        ResultCode::NoData
    );

    // by token: single use, bound to the matter, expires
    let (token, _) = reg
        .create_token(&lic.id.to_string(), 120, Some("MATTER-001"), "holder", at)
        .unwrap();
    assert!(
        reg.redeem_token(
            &token,
            &UsageContext {
                matter: "OTHER".into(),
                ..ctx()
            },
            at
        )
        .is_err()
    );
    assert_eq!(
        reg.redeem_token(&token, &ctx(), at).unwrap().code,
        ResultCode::Valid
    );
    let e = reg.redeem_token(&token, &ctx(), at).unwrap_err();
    assert!(e.to_string().contains("replay"), "{e}");
    let (t2, _) = reg
        .create_token(&lic.id.to_string(), 60, None, "holder", at)
        .unwrap();
    let e = reg
        .redeem_token(&t2, &ctx(), at + time::Duration::seconds(61))
        .unwrap_err();
    assert!(e.to_string().contains("expired"), "{e}");
    assert!(
        reg.create_token(&lic.id.to_string(), 30, None, "holder", at)
            .is_err()
    );

    // lifecycle: suspend → 2, resume → 0, refusals
    reg.transition(
        &lic.id.to_string(),
        Action::Suspend,
        "registrar",
        "under investigation",
        &w.log,
        at,
    )
    .unwrap();
    assert_eq!(
        reg.check_id(&lic.id.to_string(), &ctx(), at).unwrap().code,
        ResultCode::Suspended
    );
    assert!(
        reg.create_token(&lic.id.to_string(), 60, None, "holder", at)
            .is_err()
    );
    assert!(
        reg.transition(
            &lic.id.to_string(),
            Action::Suspend,
            "registrar",
            "again",
            &w.log,
            at
        )
        .is_err()
    );
    reg.transition(
        &lic.id.to_string(),
        Action::Resume,
        "registrar",
        "",
        &w.log,
        at,
    )
    .unwrap();

    // change: version 2 supersedes version 1
    let mut change = IssueRequest {
        fields: vec![("legal_rep".into(), "李四".into())],
        ..Default::default()
    };
    change.holder_code = String::new();
    let v2 = reg
        .change(&lic.id.to_string(), &change, &s, &w.log, at)
        .unwrap();
    assert_eq!(v2.id.version(), 2);
    assert_eq!(v2.supersedes.as_deref(), Some(lic.id.to_string().as_str()));
    assert!(
        v2.face
            .contains(&("法定代表人".to_string(), "李四".to_string()))
    );
    assert!(
        v2.face
            .contains(&("住所".to_string(), "示例市示例区示例路1号".to_string())),
        "unchanged fields kept"
    );
    let old = reg.check_id(&lic.id.to_string(), &ctx(), at).unwrap();
    assert_eq!(old.code, ResultCode::NoLongerValid);
    assert!(old.message.contains("superseded by"), "{}", old.message);
    // the old file is genuine but no longer valid — not "not genuine"
    assert_eq!(
        reg.check_file(&pdf, &trust, &ctx(), at).unwrap().code,
        ResultCode::NoLongerValid
    );

    // revoke: final
    reg.transition(
        &v2.id.to_string(),
        Action::Revoke,
        "registrar",
        "fraud",
        &w.log,
        at,
    )
    .unwrap();
    let e = reg
        .transition(
            &v2.id.to_string(),
            Action::Resume,
            "registrar",
            "",
            &w.log,
            at,
        )
        .unwrap_err();
    assert!(e.to_string().contains("revoked"), "{e}");
    let v2_pdf = std::fs::read(reg.files_dir(&v2.id).join("license.pdf")).unwrap();
    let o = reg.check_file(&v2_pdf, &trust, &ctx(), at).unwrap();
    assert_eq!(o.code, ResultCode::NoLongerValid, "{}", o.message);
    assert!(o.message.contains("revoked"), "{}", o.message);

    // events and usage records: all anchored, provably
    let kinds: Vec<String> = reg
        .events(&lic.id)
        .unwrap()
        .iter()
        .map(|e| e.kind.clone())
        .collect();
    assert_eq!(kinds, ["issued", "suspended", "resumed", "superseded"]);
    assert!(
        reg.events(&lic.id)
            .unwrap()
            .iter()
            .all(|e| e.log_index.is_some())
    );
    // A writer that crashed between its log batch and its commit: the first
    // two pending records are in the log, their indexes not recorded.
    // anchor_usage finds them in the log's tail and anchors only the rest.
    let crashed = reg.pending_usage_entries(2).unwrap();
    let entries: Vec<_> = crashed.iter().map(|(_, e)| e.clone()).collect();
    let crashed_idx = yinzheng_license::Anchor::append_batch(&w.log, &entries).unwrap();
    let before = w.log.checkpoint().size();
    let n = reg.anchor_usage(&w.log).unwrap();
    assert!(n >= 15, "{n}");
    assert_eq!(
        w.log.checkpoint().size(),
        before + n as u64 - 2,
        "records already in the log are not anchored twice"
    );
    for ((seq, _), idx) in crashed.iter().zip(crashed_idx) {
        let r = reg.usage_record(*seq).unwrap().unwrap();
        assert_eq!(r.log_index, Some(idx));
    }
    assert_eq!(reg.anchor_usage(&w.log).unwrap(), 0);
    let records = reg.usage(Some(&lic.id.to_string()), None).unwrap();
    assert!(
        records
            .iter()
            .any(|r| r.operation == "qr-redeem" && r.result == 0)
    );
    let r = &records[0];
    let text = reg.usage_evidence(r.seq, &w.log).unwrap();
    let v = Evidence::parse(text.as_bytes())
        .unwrap()
        .verify(std::slice::from_ref(&w.log_key), HashAlg::Sm3, None)
        .unwrap();
    let e = yinzheng_anchor::Entry::decode(&v.entry).unwrap();
    assert_eq!(e.digests(), &[Registry::usage_digest(r)]);
    // the holder's records: those of both versions
    let by_holder = reg.usage(None, Some("91350100M000100Y43")).unwrap();
    assert!(records.iter().all(|r| by_holder.contains(r)));
    let v2_records = reg.usage(Some(&v2.id.to_string()), None).unwrap();
    assert_eq!(by_holder.len(), records.len() + v2_records.len());
}

#[test]
fn bad_requests_are_refused_with_reasons_and_leave_nothing() {
    let (w, mut reg) = world();
    let at = now();
    let s = sealer(&w);
    let e = reg
        .issue(&business("91350100M000100Y44"), &s, &w.log, at)
        .unwrap_err();
    assert!(e.to_string().contains("holder code"), "{e}");
    let mut r = business("91350100M000100Y43");
    r.fields.retain(|(k, _)| k != "legal_rep");
    let e = reg.issue(&r, &s, &w.log, at).unwrap_err();
    assert!(e.to_string().contains("legal_rep"), "{e}");
    let mut r = business("91350100M000100Y43");
    r.fields.push(("colour".into(), "red".into()));
    assert!(
        reg.issue(&r, &s, &w.log, at)
            .unwrap_err()
            .to_string()
            .contains("colour")
    );
    let mut r = business("91350100M000100Y43");
    r.type_key = "no-such-type".into();
    assert!(reg.issue(&r, &s, &w.log, at).is_err());
    assert!(reg.list(None, 10).unwrap().is_empty());
    let leftovers: Vec<_> = std::fs::read_dir(reg.dir().join("files"))
        .unwrap()
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
    // the citizen-ID type checks GB 11643
    let mut r = IssueRequest {
        type_key: "practising-certificate".into(),
        holder_name: "张三".into(),
        holder_code: "11010519491231002X".into(),
        fields: vec![
            ("profession".into(), "律师".into()),
            ("workplace".into(), "示例律师事务所".into()),
        ],
        ..Default::default()
    };
    let ok = reg.issue(&r, &s, &w.log, at).unwrap();
    assert_eq!(
        ok.valid_to,
        Some(yinzheng_license::license_day(at) + time::Duration::days(1825))
    );
    r.holder_code = "110105194912310021".into();
    assert!(reg.issue(&r, &s, &w.log, at).is_err());
    // cancel: final, and a cancelled license cannot be changed
    let c = reg
        .issue(&business("91350100M000100Y43"), &s, &w.log, at)
        .unwrap();
    assert!(
        reg.transition(
            &c.id.to_string(),
            Action::Cancel,
            "registrar",
            "",
            &w.log,
            at
        )
        .is_err(),
        "a reason is needed"
    );
    reg.transition(
        &c.id.to_string(),
        Action::Cancel,
        "registrar",
        "holder request",
        &w.log,
        at,
    )
    .unwrap();
    assert_eq!(
        reg.check_id(&c.id.to_string(), &ctx(), at).unwrap().code,
        ResultCode::NoLongerValid
    );
    for action in [
        Action::Resume,
        Action::Suspend,
        Action::Revoke,
        Action::Cancel,
    ] {
        assert!(
            reg.transition(&c.id.to_string(), action, "registrar", "x", &w.log, at)
                .is_err()
        );
    }
    assert!(
        reg.change(&c.id.to_string(), &IssueRequest::default(), &s, &w.log, at)
            .is_err()
    );
    // not yet valid: code 1
    let mut future = business("91350100M000100Y43");
    future.valid_from = Some(at.date() + time::Duration::days(10));
    let f = reg.issue(&future, &s, &w.log, at).unwrap();
    assert_eq!(
        reg.check_id(&f.id.to_string(), &ctx(), at).unwrap().code,
        ResultCode::NotYetValid
    );
    // Valid from a day in Beijing: at 20:00 UTC the day before (04:00 there)
    // it is in force, whatever offset the caller's time carries; at 15:59 UTC
    // the day before (23:59 there) it is not yet.
    let from = future.valid_from.unwrap();
    let evening_utc = from
        .previous_day()
        .unwrap()
        .with_hms(20, 0, 0)
        .unwrap()
        .assume_utc();
    assert_eq!(
        reg.check_id(&f.id.to_string(), &ctx(), evening_utc)
            .unwrap()
            .code,
        ResultCode::Valid
    );
    assert_eq!(
        reg.check_id(
            &f.id.to_string(),
            &ctx(),
            evening_utc - time::Duration::minutes(241)
        )
        .unwrap()
        .code,
        ResultCode::NotYetValid
    );
    // expiry is computed, and recorded once
    let later = at + time::Duration::days(1826);
    assert_eq!(
        reg.check_id(&ok.id.to_string(), &ctx(), later)
            .unwrap()
            .code,
        ResultCode::NoLongerValid
    );
    assert!(reg.mark_expired(&ok.id.to_string(), &w.log, later).unwrap());
    assert!(!reg.mark_expired(&ok.id.to_string(), &w.log, later).unwrap());
    assert_eq!(
        reg.get(&ok.id.to_string()).unwrap().unwrap().status,
        Status::Expired
    );
}
