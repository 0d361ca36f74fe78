//! `yinzheng digest`: SM3 or SHA-256 of a file.

use crate::io;
use crate::output::Output;
use anyhow::Result;
use clap::{Args, ValueEnum};
use std::path::PathBuf;
use std::process::ExitCode;
use yinzheng_crypto::DigestAlgorithm;

/// Digest algorithms on the command line.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum DigestArg {
    /// SM3 (GB/T 32905).
    Sm3,
    /// SHA-256.
    Sha256,
}

/// Arguments of `digest`.
#[derive(Args, Debug)]
pub struct DigestArgs {
    /// Digest algorithm.
    #[arg(long, value_enum, default_value = "sm3")]
    alg: DigestArg,
    /// The file to hash.
    file: PathBuf,
}

/// Run `digest`.
pub fn run(a: &DigestArgs, out: &Output) -> Result<ExitCode> {
    let alg = match a.alg {
        DigestArg::Sm3 => DigestAlgorithm::Sm3,
        DigestArg::Sha256 => DigestAlgorithm::Sha256,
    };
    let mut h = alg.hasher();
    let bytes = io::stream_file(&a.file, !out.is_json(), |c| h.update(c))?;
    let digest = hex::encode(h.finalize());
    let v = serde_json::json!({
        "algorithm": alg.name(),
        "digest": digest,
        "file": a.file,
        "bytes": bytes,
    });
    out.result(&v, || digest.clone());
    Ok(ExitCode::SUCCESS)
}
