//! Verify anchoring-log evidence offline.
//!
//! `cargo run -p yinzheng --example verify_evidence` — creates a small log in a
//! temporary directory (what `yinzheng log init` does), appends a few entries,
//! writes an evidence file for one of them (`yinzheng log prove`), then checks
//! it with nothing but the log's verifier key, as an auditor would.

use yinzheng_anchor::{Entry, Evidence, HashAlg, NoteSigner};
use yinzheng_log::{Log, LogOptions};

/// Make a log, prove entry 1, verify the evidence; returns what it proves.
pub fn run() -> Result<yinzheng::VerifiedEvidence, Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    // The log operator's side (normally `yinzheng log init/append/prove`).
    let origin = "example.local/log/sm3";
    let key = yinzheng::PrivateKey::generate(yinzheng::KeyAlgorithm::Sm2)?;
    let signer = NoteSigner::new(origin, key)?;
    let vkey = signer.verifier().to_string(); // published: log.vkey
    Log::create_in(
        dir.path(),
        &yinzheng_store::Backend::Embedded,
        origin,
        HashAlg::Sm3,
        &[&signer],
    )?;
    let log = Log::open_in(
        dir.path(),
        &yinzheng_store::Backend::Embedded,
        vec![signer],
        LogOptions::default().with_period(std::time::Duration::ZERO),
    )?;
    for (i, id) in ["seal-1", "seal-2", "seal-3"].iter().enumerate() {
        log.append_entry(
            &Entry::new("seal.made", 1_790_000_000_000 + i as u64, "admin")?.with_subject(id)?,
        )?;
    }
    let size = log.checkpoint().size();
    let proof = log.prove_inclusion(1, size)?;
    let evidence = Evidence::new(&log.entry(1)?, 1, proof, &log.checkpoint_note()).to_text();
    log.close()?;
    std::fs::write(dir.path().join("seal-2.tlog-proof"), &evidence)?;

    // The auditor's side: the evidence file and the verifier key, nothing else.
    let bytes = std::fs::read(dir.path().join("seal-2.tlog-proof"))?;
    let v = yinzheng::verify_evidence(&bytes, &vkey)?;
    println!(
        "entry {} of {} in {}: {} {:?}",
        v.index(),
        v.tree_size(),
        v.origin(),
        v.entry_kind().unwrap_or("?"),
        v.entry_subjects()
    );
    Ok(v)
}

#[allow(dead_code)] // `main` is unused when the test includes this file
fn main() -> Result<(), Box<dyn std::error::Error>> {
    run().map(drop)
}
