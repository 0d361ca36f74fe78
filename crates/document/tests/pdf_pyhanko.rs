//! pyHanko as an independent PDF signer: our extractor reads its signatures,
//! and signatures by either side on top of the other count as allowed changes.

mod pdf_util;

use pdf_util::*;
use std::path::Path;
use yinzheng_document::{modifications_after, pdf_signatures, stamp_pdf};

/// A self-signed P-256 signer (key, cert) made with OpenSSL in `dir`.
fn p256_signer(dir: &Path) {
    yinzheng_tests::openssl_ok(
        dir,
        &[
            "ecparam",
            "-name",
            "prime256v1",
            "-genkey",
            "-noout",
            "-out",
            "k.pem",
        ],
    );
    yinzheng_tests::openssl_ok(
        dir,
        &[
            "req",
            "-new",
            "-x509",
            "-key",
            "k.pem",
            "-out",
            "c.pem",
            "-days",
            "30",
            "-subj",
            "/CN=PDF Test Signer",
            "-addext",
            "keyUsage=critical,digitalSignature,nonRepudiation",
        ],
    );
}

fn pyhanko_sign(dir: &Path, input: &[u8], field: &str) -> Vec<u8> {
    std::fs::write(dir.join("in.pdf"), input).expect("write");
    yinzheng_tests::run_ok(
        &yinzheng_tests::pyhanko(),
        dir,
        &[
            "sign",
            "addsig",
            "--use-pades",
            "--field",
            field,
            "pemder",
            "--key",
            "k.pem",
            "--cert",
            "c.pem",
            "--no-pass",
            "in.pdf",
            "out.pdf",
        ],
    );
    std::fs::read(dir.join("out.pdf")).expect("pyHanko wrote out.pdf")
}

#[yinzheng_tests::peer_test(openssl, pyhanko, qpdf)]
fn pyhanko_signatures_read_and_mixed_with_ours() {
    let dir = yinzheng_tests::tempdir();
    p256_signer(dir.path());

    // pyHanko signs our base PDF; we read its signature.
    let base = base_pdf(false);
    let theirs = pyhanko_sign(dir.path(), &base, "1/60,500,180,620/Theirs");
    let sigs = pdf_signatures(&theirs).expect("reads");
    assert_eq!(sigs.len(), 1);
    let s = &sigs[0];
    assert_eq!(s.field_name, "Theirs");
    assert_eq!(s.sub_filter, "ETSI.CAdES.detached");
    assert!(s.byte_range_ok && s.covers_whole_document, "{s:?}");
    assert_eq!(s.page, Some(1));
    assert_eq!(s.contents[0], 0x30);
    assert!(
        s.contents.len() > 300 && s.contents.len() < 8192,
        "padding removed: {}",
        s.contents.len()
    );

    // We stamp on top: pyHanko's signature still covers its revision, and ours is allowed.
    let ours = stamp_pdf(
        &theirs,
        &visible(1, 110.0, 150.0, &seal_png()),
        &mut |_p: [&[u8]; 2]| Ok(fake_cms(2000)),
    )
    .expect("stamps");
    qpdf_check(dir.path(), "theirs-ours.pdf", &ours);
    let sigs = pdf_signatures(&ours).expect("reads");
    assert_eq!(sigs.len(), 2);
    assert!(!sigs[0].covers_whole_document && sigs[1].covers_whole_document);
    let m = modifications_after(&ours, &sigs[0]).expect("compares");
    assert!(m.allowed, "{m:?}");

    // pyHanko signs on top of ours: our checker accepts pyHanko's update as signing-only.
    let mine = stamp_pdf(
        &base,
        &visible(1, 110.0, 150.0, &seal_png()),
        &mut |_p: [&[u8]; 2]| Ok(fake_cms(2000)),
    )
    .expect("stamps");
    let both = pyhanko_sign(dir.path(), &mine, "2/60,500,180,620/Theirs");
    let sigs = pdf_signatures(&both).expect("reads");
    assert_eq!(sigs.len(), 2);
    assert_eq!(sigs[0].field_name, "Seal1");
    assert!(sigs[0].byte_range_ok && !sigs[0].covers_whole_document);
    let m = modifications_after(&both, &sigs[0]).expect("compares");
    assert!(m.allowed, "{m:?}");
}
