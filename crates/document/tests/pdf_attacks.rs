//! Signatures that verify cryptographically but do not sign the document must
//! fail: an attached (encapsulated) CMS over other content in a PDF, and a
//! detached `.p7s` whose CMS encapsulates something else.

#![allow(clippy::unwrap_used)]

#[path = "support/pki.rs"]
mod support;

use yinzheng_cms::{SignOptions, oid, sign_encapsulated};
use yinzheng_document::{
    CmsVerifyContext, PdfStampOptions, stamp_pdf, verify_detached_cms, verify_pdf,
};
use yinzheng_pki::{Indication, SubIndication};
use yinzheng_seal::MakerTrust;

fn notice() -> Vec<u8> {
    std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../scripts/samples/notice.pdf"
    ))
    .unwrap()
}

#[test]
fn an_attached_cms_over_other_content_does_not_sign_the_pdf() {
    let mut p = support::pki();
    let v = support::validator(&mut p);
    let chain = vec![p.domain.issuing().clone()];
    let (key, cert) = (&p.signer.0, p.signer.1.der().to_vec());
    let mut sign = |_parts: [&[u8]; 2]| -> yinzheng_document::Result<Vec<u8>> {
        // a perfectly valid signature by a trusted key — over the wrong bytes
        Ok(sign_encapsulated(
            key,
            &cert,
            oid::DATA,
            b"I approve nothing in particular",
            &SignOptions::default(),
        )?)
    };
    let pdf = stamp_pdf(
        &notice(),
        &PdfStampOptions::new(time::OffsetDateTime::now_utc()),
        &mut sign,
    )
    .unwrap();
    let ctx = CmsVerifyContext {
        validator: &v,
        intermediates: &chain,
        makers: MakerTrust::Policy,
        registry: None,
        sm2_id: None,
        deadline: None,
    };
    let r = verify_pdf(&pdf, &ctx).unwrap();
    assert_eq!(r.indication(), Indication::TotalFailed, "{r}");
    assert_eq!(r.sub_indication(), Some(SubIndication::HashFailure), "{r}");

    // the same for a detached .p7s next to a file
    let p7s = sign_encapsulated(key, &cert, oid::DATA, b"other", &SignOptions::default()).unwrap();
    let r = verify_detached_cms(&p7s, &[b"the contract"], &ctx);
    assert_eq!(r.sub_indication(), Some(SubIndication::HashFailure), "{r}");
    // and an encapsulated CMS over exactly the file is fine
    let p7s = sign_encapsulated(
        key,
        &cert,
        oid::DATA,
        b"the contract",
        &SignOptions::default(),
    )
    .unwrap();
    let r = verify_detached_cms(&p7s, &[b"the contract"], &ctx);
    assert!(r.passed(), "{r}");
}
