//! Check license identifiers (GB/T 36904), USCCs and citizen IDs.
//!
//! `cargo run -p yinzheng --example check_identifier [ID …]` — each argument
//! is recognised by its shape; without arguments, a few samples.

use yinzheng::LicenseId;

/// Check each of `inputs`; returns one line per input ("ok …" or "bad …").
pub fn run(inputs: &[String]) -> Vec<String> {
    inputs
        .iter()
        .map(|s| {
            let outcome = if s.starts_with("1.2.156.3005.2.") {
                LicenseId::parse(s)
                    .map(|id| {
                        format!(
                            "license of type {} issued by {}, serial {}, version {}",
                            id.type_code(),
                            id.issuer_code(),
                            id.serial(),
                            id.version()
                        )
                    })
                    .map_err(yinzheng::Error::from)
            } else if s.len() == 18 && s[..17].bytes().all(|b| b.is_ascii_digit()) {
                yinzheng::check_citizen_id(s).map(|()| "citizen identity number".into())
            } else {
                yinzheng::check_uscc(s).map(|()| "unified social credit code".into())
            };
            match outcome {
                Ok(what) => format!("ok  {s}: {what}"),
                Err(e) => format!("bad {s}: {e}"),
            }
        })
        .collect()
}

#[allow(dead_code)] // `main` is unused when the test includes this file
fn main() {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    if args.is_empty() {
        let id = LicenseId::new(
            "11100000000013338W001",
            "11430000006122244L",
            "2026000001",
            1,
        )
        .expect("a valid sample identifier");
        args = vec![
            id.to_string(),
            "91350100M000100Y43".into(),
            "91350100M000100Y44".into(),
            "11010519491231002X".into(),
        ];
    }
    for line in run(&args) {
        println!("{line}");
    }
}
