//! Verify an OFD document sealed by another implementation (ofdrw).
//!
//! `cargo run -p yinzheng --example verify_ofd` — checks ofdrw's
//! `SESV4SignDoc.ofd` against its test PKI's `ROOT.pem`. That PKI does not
//! mark seal makers and publishes no CRLs, hence the two `danger_` settings;
//! its certificates expired in 2022 and nothing proves the signature is
//! older (the time it claims is no proof), so the report ends INDETERMINATE /
//! OUT_OF_BOUNDS_NO_POE while every digest and signature checks.

use yinzheng::{CheckStatus, Trust};

const INTEROP: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../testdata/interop/ofdrw/");

/// Verify ofdrw's sealed OFD; returns the report.
pub fn run() -> Result<yinzheng::VerificationReport, Box<dyn std::error::Error>> {
    let trust = Trust::builder()
        .roots_file(format!("{INTEROP}ROOT.pem"))
        .danger_any_maker()
        .danger_revocation_best_effort()
        .build()?;
    let ofd = std::fs::read(format!("{INTEROP}SESV4SignDoc.ofd"))?;
    let report = trust.verify(&ofd)?;
    for check in report.checks() {
        let mark = match check.status {
            CheckStatus::Passed => "ok  ",
            CheckStatus::Failed => "FAIL",
            _ => "    ",
        };
        println!("{mark} {:<28} {}", check.id, check.message);
    }
    println!("=> {:?} {:?}", report.indication(), report.sub_indication());
    Ok(report)
}

#[allow(dead_code)] // `main` is unused when the test includes this file
fn main() -> Result<(), Box<dyn std::error::Error>> {
    run().map(drop)
}
