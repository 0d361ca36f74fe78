//! `yinzheng sign`: a detached signature over a file.

use crate::cmd::key::{key_id, load_private_key};
use crate::io;
use crate::output::Output;
use anyhow::{Result, bail};
use clap::{Args, ValueEnum};
use serde::Serialize;
use std::path::PathBuf;
use std::process::ExitCode;
use yinzheng_crypto::{KeyAlgorithm, Signer, Sm2Id};

/// Signature encodings on the command line.
#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq)]
pub enum SigFormat {
    /// DER SEQUENCE{r, s} for SM2 and ECDSA (what OpenSSL writes); raw for Ed25519.
    Der,
    /// Raw 64-byte r‖s (SM2 only; as in GM/T 0031 seal files).
    Raw,
}

/// Arguments of `sign`.
#[derive(Args, Debug)]
pub struct SignArgs {
    /// The private key (PEM or DER).
    #[arg(long)]
    key: PathBuf,
    /// File whose first line is the passphrase (else env YINZHENG_PASSPHRASE).
    #[arg(long)]
    passphrase_file: Option<PathBuf>,
    /// SM2 distinguishing ID (default 1234567812345678; '' for OpenSSL's default empty ID).
    #[arg(long)]
    sm2_id: Option<String>,
    /// The file to sign.
    #[arg(long = "in")]
    input: PathBuf,
    /// Where to write the signature.
    #[arg(long)]
    out: PathBuf,
    /// Signature encoding.
    #[arg(long, value_enum, default_value = "der")]
    sig_format: SigFormat,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SignReport {
    algorithm: &'static str,
    key_id: String,
    sm2_id: Option<String>,
    file: PathBuf,
    signature: PathBuf,
    signature_encoding: &'static str,
}

/// Parse `--sm2-id`: absent means the GM/T default, '' the empty ID.
pub fn sm2_id(arg: Option<&str>) -> Result<Sm2Id> {
    Ok(match arg {
        None => Sm2Id::default(),
        Some("") => Sm2Id::danger_empty(),
        Some(s) => Sm2Id::new(s.as_bytes())?,
    })
}

/// Run `sign`.
pub fn run(a: &SignArgs, out: &Output) -> Result<ExitCode> {
    let key = load_private_key(&a.key, a.passphrase_file.as_deref())?;
    if a.sm2_id.is_some() && key.algorithm() != KeyAlgorithm::Sm2 {
        bail!(
            "--sm2-id applies to SM2 keys only, this is a {} key",
            key.algorithm()
        );
    }
    if a.sig_format == SigFormat::Raw && key.algorithm() != KeyAlgorithm::Sm2 {
        bail!("--sig-format raw applies to SM2 keys only");
    }
    let id = sm2_id(a.sm2_id.as_deref())?;
    let key = key.with_sm2_id(id.clone());
    let progress = !out.is_json();
    let signature = match key.as_sm2() {
        // SM2 streams: e = SM3(Z_A ‖ file), then sign e.
        Some(sm2) => {
            let mut h = sm2.public_key().message_hasher();
            io::stream_file(&a.input, progress, |c| h.update(c))?;
            let sig = sm2.sign_digest(&h.finalize())?;
            match a.sig_format {
                SigFormat::Der => sig.to_der(),
                SigFormat::Raw => sig.to_raw().to_vec(),
            }
        }
        None => {
            let msg = io::read_message(&a.input, progress)?;
            Signer::sign(&key, &msg)?
        }
    };
    io::write_atomic(&a.out, &signature, false)?;
    let report = SignReport {
        algorithm: Signer::algorithm(&key).name(),
        key_id: key_id(key.public_key()),
        sm2_id: key
            .as_sm2()
            .map(|k| String::from_utf8_lossy(k.public_key().id().as_bytes()).into_owned()),
        file: a.input.clone(),
        signature: a.out.clone(),
        signature_encoding: if a.sig_format == SigFormat::Raw {
            "raw"
        } else {
            "der"
        },
    };
    out.result(&report, || {
        format!(
            "signed {} with {} key {}{}\n  signature: {}",
            report.file.display(),
            report.algorithm,
            report.key_id,
            key.as_sm2()
                .map(|k| format!(" (SM2 ID {})", k.public_key().id()))
                .unwrap_or_default(),
            report.signature.display()
        )
    });
    Ok(ExitCode::SUCCESS)
}
