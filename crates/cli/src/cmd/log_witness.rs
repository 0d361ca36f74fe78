//! `yinzheng log add-witness` and `yinzheng log witness`: the log's side of
//! witnessing. `witnesses.toml` in the log directory names the witnesses and
//! the quorum; `log witness` asks them to cosign the latest checkpoint and
//! publishes `tiles/checkpoint.witnessed` once a quorum did (`--watch`:
//! keeps doing so as the log grows). A server sequencing the log runs the
//! same loop in a thread of its own.

use super::Home;
use super::log::{log_exists, log_verifier_keys};
use crate::io;
use crate::output::Output;
use anyhow::{Context, Result, bail};
use clap::Args;
use serde::Serialize;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;
use yinzheng_log::Log;
use yinzheng_witness::{Collector, Outcome, Round, WitnessEndpoint, WitnessesConfig, Witnessing};

/// Arguments of `log add-witness`.
#[derive(Args, Debug)]
pub struct AddWitnessArgs {
    /// The witness's base URL (http:// or https://); requests go to URL/add-checkpoint.
    #[arg(long)]
    url: String,
    /// File with the witness's verifier key(s), one per line (its
    /// witness-ed25519.vkey, witness-sm2.vkey).
    #[arg(long, required = true)]
    vkey: Vec<PathBuf>,
    /// How many witnesses must cosign a checkpoint (default: kept, or 1 for the first witness).
    #[arg(long)]
    quorum: Option<usize>,
}

/// Arguments of `log witness`.
#[derive(Args, Debug)]
pub struct WitnessArgs {
    /// Keep going: ask again whenever the log grows or a round fell short,
    /// until killed (each publish is atomic).
    #[arg(long)]
    watch: bool,
    /// With --watch, how often to look at the log, in milliseconds.
    #[arg(long, default_value_t = 500)]
    interval_ms: u64,
}

/// Add (or replace, by name) a witness in `witnesses.toml`.
pub fn add_witness(a: &AddWitnessArgs, home: &Home, out: &Output) -> Result<ExitCode> {
    let dir = home.data_dir().log();
    if !log_exists(&dir, home.store())? {
        bail!("no log in {} (run `yinzheng log init`)", dir.display());
    }
    let mut vkeys = Vec::new();
    for p in &a.vkey {
        let text = io::read_limited(p, 16 * 1024, "witness verifier key")?;
        let text = String::from_utf8(text).context("the verifier key file is not UTF-8")?;
        vkeys.extend(
            text.lines()
                .map(str::trim)
                .filter(|l| !l.is_empty() && !l.starts_with('#'))
                .map(str::to_string),
        );
    }
    let mut config = WitnessesConfig::load(&dir)?.unwrap_or_default();
    let name = |v: &[String]| {
        v.first()
            .and_then(|k| k.split('+').next())
            .unwrap_or_default()
            .to_string()
    };
    let new_name = name(&vkeys);
    config.witnesses.retain(|w| {
        name(&w.vkeys) != new_name && w.url.trim_end_matches('/') != a.url.trim_end_matches('/')
    });
    config.witnesses.push(WitnessEndpoint {
        url: a.url.clone(),
        vkeys,
    });
    config.quorum = a.quorum.unwrap_or(config.quorum.max(1));
    // Refuse what the log could not use (bad keys, a log key as a
    // witness's, a quorum above the witnesses) before writing.
    Collector::new(&config, log_verifier_keys(&dir)?)?;
    config.save(&dir)?;
    let v = serde_json::json!({
        "witness": new_name, "url": a.url, "witnesses": config.witnesses.len(), "quorum": config.quorum,
        "file": WitnessesConfig::path(&dir),
    });
    out.result(&v, || {
        format!(
            "witness {new_name} at {} added: {} witness(es), quorum {} ({})",
            a.url,
            config.witnesses.len(),
            config.quorum,
            WitnessesConfig::path(&dir).display()
        )
    });
    Ok(ExitCode::SUCCESS)
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct RoundReport {
    tree_size: u64,
    witnessed: bool,
    cosigned: Vec<String>,
    missing: Vec<String>,
    quorum: usize,
    witnesses: Vec<WitnessLine>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct WitnessLine {
    name: String,
    url: String,
    outcome: &'static str,
    detail: Option<String>,
    size: Option<u64>,
}

fn report(r: &Round) -> RoundReport {
    RoundReport {
        tree_size: r.size,
        witnessed: r.witnessed.is_some(),
        cosigned: r.quorum.cosigned.clone(),
        missing: r.quorum.missing.clone(),
        quorum: r.quorum.required,
        witnesses: r
            .witnesses
            .iter()
            .map(|w| {
                let (outcome, detail) = match &w.outcome {
                    Outcome::Cosigned { .. } => ("cosigned", None),
                    Outcome::Down(why) => ("down", Some(why.clone())),
                    Outcome::Refused { status, why } => {
                        ("refused", Some(format!("{status}: {why}")))
                    }
                    Outcome::Waiting { retry_in } => (
                        "waiting",
                        Some(format!("asked again in {} ms", retry_in.as_millis())),
                    ),
                };
                WitnessLine {
                    name: w.name.clone(),
                    url: w.url.clone(),
                    outcome,
                    detail,
                    size: w.size,
                }
            })
            .collect(),
    }
}

fn human(r: &RoundReport) -> String {
    let mut s = format!(
        "tree size {}: {} ({} of {} required cosigned)",
        r.tree_size,
        if r.witnessed {
            "witnessed"
        } else {
            "NOT witnessed"
        },
        r.cosigned.len(),
        r.quorum
    );
    for w in &r.witnesses {
        s.push_str(&format!("\n  {} ({}): {}", w.name, w.url, w.outcome));
        if let Some(d) = &w.detail {
            s.push_str(&format!(" — {d}"));
        }
    }
    s
}

/// Ask the witnesses to cosign the latest checkpoint (once, or `--watch`).
/// Exit 0 when the latest checkpoint is witnessed, 1 when the quorum was not met.
pub fn witness(a: &WitnessArgs, home: &Home, out: &Output) -> Result<ExitCode> {
    let dir = home.data_dir().log();
    let store = home.store();
    if !log_exists(&dir, store)? {
        bail!("no log in {} (run `yinzheng log init`)", dir.display());
    }
    let Some(config) = WitnessesConfig::load(&dir)? else {
        bail!(
            "the log has no witnesses: {} is missing (run `yinzheng log add-witness`)",
            WitnessesConfig::path(&dir).display()
        );
    };
    let keys = log_verifier_keys(&dir)?;
    let witnessing = Witnessing::new(Collector::new(&config, keys.clone())?);
    let log = Log::follow_in(&dir, store, keys).context("cannot read the log")?;
    // With --watch, a report when something changed (not every round).
    let mut last_printed = String::new();
    loop {
        log.refresh().context("cannot read the log")?;
        let round = witnessing.step(&log)?;
        if let Some(r) = &round {
            let rep = report(r);
            let seen = format!(
                "{} {} {:?}",
                rep.tree_size,
                rep.witnessed,
                rep.witnesses.iter().map(|w| w.outcome).collect::<Vec<_>>()
            );
            if seen != last_printed {
                out.result(&rep, || human(&rep));
                last_printed = seen;
            }
        }
        if !a.watch {
            return Ok(match round {
                Some(r) if r.witnessed.is_none() => ExitCode::from(1),
                _ => ExitCode::SUCCESS,
            });
        }
        std::thread::sleep(Duration::from_millis(a.interval_ms.max(10)));
    }
}
