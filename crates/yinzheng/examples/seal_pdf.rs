//! Seal a PDF with a drawn contract seal and verify it.
//!
//! `cargo run -p yinzheng --example seal_pdf` — makes a throw-away trust domain
//! (root, issuing CA, seal maker, seal signer, drawn seal) in a temporary
//! directory, seals `scripts/samples/notice.pdf` and verifies the result.

use yinzheng::{SealOptions, Sealer, Trust};

/// Seal the sample notice and verify it; returns the verification report.
pub fn run() -> Result<yinzheng::VerificationReport, Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    // What the seal administrator hands out: seal.esl, signer.key.pem, roots.pem, issuing.pem, ca.crl.
    let demo = yinzheng::demo::Demo::create(dir.path())?;

    // The signer: a seal and a key that the seal authorises (SM2: national mode).
    let sealer = Sealer::from_files(
        demo.seal_file(),
        demo.key_file(),
        Some(yinzheng::demo::PASSPHRASE),
    )?
    .with_chain_pem(&std::fs::read(demo.intermediates_file())?)?;

    let pdf = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../scripts/samples/notice.pdf"
    ))?;
    let opts = SealOptions::new()
        .page(1)
        .at_mm(120.0, 40.0)
        .reason("合同审批");
    let sealed = yinzheng::seal_pdf(&pdf, &sealer, &opts)?;
    let out = dir.path().join("notice.sealed.pdf");
    std::fs::write(&out, &sealed)?;

    // The receiving side: trust the root (plus CRLs), verify whatever arrives.
    let trust = Trust::builder()
        .roots_file(demo.roots_file())
        .crl_file(demo.crl_file())
        .build()?;
    let report = trust.verify(&std::fs::read(&out)?)?;
    println!("{report}");
    Ok(report)
}

#[allow(dead_code)] // `main` is unused when the test includes this file
fn main() -> Result<(), Box<dyn std::error::Error>> {
    let report = run()?;
    std::process::exit(if report.passed() { 0 } else { 1 })
}
