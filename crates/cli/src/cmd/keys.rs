//! `yinzheng keys`: every private key the data directory uses — what it is
//! for, its algorithm, where it lives (file, encrypted or not; PKCS#11 URI),
//! its certificate and expiry (`yinzheng_ca::key_inventory`).

use crate::cmd::Home;
use crate::output::Output;
use anyhow::Result;
use clap::Args;
use std::process::ExitCode;
use yinzheng_ca::{KeyEntry, KeyLocation};

/// List the keys of the data directory.
#[derive(Args, Debug)]
pub struct KeysArgs {}

fn json(k: &KeyEntry) -> serde_json::Value {
    let location = match &k.location {
        KeyLocation::File { path, encrypted } => serde_json::json!({
            "kind": "file", "path": path, "encrypted": encrypted,
        }),
        KeyLocation::Pkcs11 { uri, path } => serde_json::json!({
            "kind": "pkcs11", "uri": uri, "path": path,
        }),
        KeyLocation::Sdf { reference, path } => serde_json::json!({
            "kind": "sdf", "reference": reference, "path": path,
        }),
        _ => serde_json::json!({ "kind": "unknown" }),
    };
    serde_json::json!({
        "purpose": k.purpose,
        "algorithm": k.algorithm.map(|a| a.name()),
        "location": location,
        "certificate": k.certificate.as_ref().map(|c| serde_json::json!({
            "subject": c.subject,
            "serial": c.serial,
            "notAfter": yinzheng_pki::rfc3339(c.not_after),
            "path": c.path,
        })),
    })
}

fn text(k: &KeyEntry) -> String {
    let location = match &k.location {
        KeyLocation::File { path, encrypted } => format!(
            "file {}{}",
            path.display(),
            if *encrypted {
                " (encrypted)"
            } else {
                " (IN THE CLEAR)"
            }
        ),
        KeyLocation::Pkcs11 { uri, .. } => format!("token {uri}"),
        KeyLocation::Sdf { reference, .. } => format!("cipher machine {reference}"),
        _ => "elsewhere".to_string(),
    };
    let cert = k
        .certificate
        .as_ref()
        .map_or("no certificate beside it".to_string(), |c| {
            format!(
                "{} (serial {}, until {})",
                c.subject,
                c.serial,
                yinzheng_pki::rfc3339(c.not_after)
            )
        });
    format!(
        "{}\n  algorithm:   {}\n  where:       {location}\n  certificate: {cert}",
        k.purpose,
        k.algorithm
            .map_or("unknown (encrypted, no certificate)", |a| a.name()),
    )
}

/// Run `yinzheng keys`.
pub fn run(_: &KeysArgs, home: &Home, out: &Output) -> Result<ExitCode> {
    let keys = yinzheng_ca::key_inventory(home.path())?;
    let v: Vec<serde_json::Value> = keys.iter().map(json).collect();
    out.result(&v, || {
        if keys.is_empty() {
            format!("no keys in {}", home.path().display())
        } else {
            keys.iter().map(text).collect::<Vec<_>>().join("\n\n")
        }
    });
    Ok(ExitCode::SUCCESS)
}
