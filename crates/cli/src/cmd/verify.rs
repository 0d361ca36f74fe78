//! `yinzheng verify`: the one command that verifies things.
//!
//! Today it checks a detached signature over a file with a public key. Later
//! issues add PDF, OFD, seal signatures and licenses, detected from the file;
//! the report shape (ETSI EN 319 102-1 indications) stays the same.

use crate::cmd::key::key_id;
use crate::cmd::sign::sm2_id;
use crate::io;
use crate::output::Output;
use anyhow::{Context, Result, bail};
use clap::Args;
use serde::Serialize;
use std::path::PathBuf;
use std::process::ExitCode;
use yinzheng_crypto::{
    Error as CryptoError, KeyAlgorithm, PublicKey, SignatureAlgorithm, Sm2Signature,
};

/// Arguments of `verify`.
#[derive(Args, Debug)]
pub struct VerifyArgs {
    /// The signed file.
    file: PathBuf,
    /// Detached signature over FILE.
    #[arg(long)]
    sig: Option<PathBuf>,
    /// Public key of the signer (SPKI, PEM or DER).
    #[arg(long = "pub")]
    public_key: Option<PathBuf>,
    /// SM2 distinguishing ID (default 1234567812345678; '' for OpenSSL's default empty ID).
    #[arg(long)]
    sm2_id: Option<String>,
    /// Signature algorithm, when the key does not imply one (RSA: rsa-pkcs1-sha256, rsa-pss-sha256, …).
    #[arg(long)]
    alg: Option<String>,
}

/// Outcome of a verification, in the vocabulary of ETSI EN 319 102-1.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct VerifyReport {
    indication: &'static str,
    sub_indication: Option<&'static str>,
    format: &'static str,
    file: PathBuf,
    algorithm: &'static str,
    key_id: String,
    sm2_id: Option<String>,
    signature_encoding: Option<&'static str>,
    warnings: Vec<String>,
    message: String,
}

fn parse_alg(name: &str) -> Result<SignatureAlgorithm> {
    SignatureAlgorithm::from_name(name).with_context(|| {
        let names: Vec<_> = SignatureAlgorithm::ALL.iter().map(|a| a.name()).collect();
        format!("unknown --alg {name:?}; one of {}", names.join(", "))
    })
}

/// Run `verify`.
pub fn run(a: &VerifyArgs, out: &Output) -> Result<ExitCode> {
    let (Some(sig_path), Some(pub_path)) = (&a.sig, &a.public_key) else {
        bail!(
            "give --sig SIGNATURE and --pub PUBLIC_KEY (detached signatures are what `verify` checks so far)"
        );
    };
    let key = PublicKey::from_bytes(&io::read_limited(
        pub_path,
        yinzheng_crypto::MAX_KEY_FILE_LEN as u64,
        "public key",
    )?)
    .with_context(|| format!("cannot load public key {}", pub_path.display()))?;
    if a.sm2_id.is_some() && key.algorithm() != KeyAlgorithm::Sm2 {
        bail!(
            "--sm2-id applies to SM2 keys only, this is a {} key",
            key.algorithm()
        );
    }
    let key = key.with_sm2_id(sm2_id(a.sm2_id.as_deref())?);
    let alg = match &a.alg {
        Some(name) => parse_alg(name)?,
        None => key
            .algorithm()
            .default_signature_algorithm()
            .with_context(|| {
                format!(
                    "a {} key signs with several algorithms: choose one with --alg",
                    key.algorithm()
                )
            })?,
    };
    if alg.key_algorithm() != key.algorithm() {
        bail!("--alg {alg} does not fit a {} key", key.algorithm());
    }
    let signature = io::read_limited(sig_path, io::MAX_SIGNATURE_FILE, "signature file")?;
    if !a.file.is_file() {
        bail!("{} is not a readable file", a.file.display());
    }
    let progress = !out.is_json();
    let mut warnings = Vec::new();
    let mut encoding = None;
    let outcome: Result<(), CryptoError> = match key.as_sm2() {
        Some(sm2) => match Sm2Signature::parse(&signature) {
            Ok(sig) => {
                encoding = Some(match sig.encoding() {
                    yinzheng_crypto::Sm2SignatureEncoding::Raw => "raw",
                    _ => "der",
                });
                warnings.extend(sig.deviations().iter().map(|d| d.to_string()));
                let mut h = sm2.message_hasher();
                io::stream_file(&a.file, progress, |c| h.update(c))?;
                sm2.verify_digest(&h.finalize(), &sig)
            }
            Err(e) => Err(e),
        },
        None => {
            let msg = io::read_message(&a.file, progress)?;
            key.verify(alg, &msg, &signature)
        }
    };
    let (indication, sub, message, code) = match outcome {
        Ok(()) => (
            "TOTAL_PASSED",
            None,
            "signature is valid".to_string(),
            ExitCode::SUCCESS,
        ),
        Err(e @ CryptoError::MalformedSignature(_)) => (
            "TOTAL_FAILED",
            Some("FORMAT_FAILURE"),
            e.to_string(),
            ExitCode::from(1),
        ),
        Err(e @ CryptoError::BadSignature) => (
            "TOTAL_FAILED",
            Some("SIG_CRYPTO_FAILURE"),
            format!(
                "{e}: the file, the signature, the key{} do not belong together",
                if key.as_sm2().is_some() {
                    " or the SM2 ID"
                } else {
                    ""
                }
            ),
            ExitCode::from(1),
        ),
        Err(e) => return Err(anyhow::Error::new(e).context("verification could not be performed")),
    };
    let report = VerifyReport {
        indication,
        sub_indication: sub,
        format: "detached-signature",
        file: a.file.clone(),
        algorithm: alg.name(),
        key_id: key_id(&key),
        sm2_id: key
            .as_sm2()
            .map(|k| String::from_utf8_lossy(k.id().as_bytes()).into_owned()),
        signature_encoding: encoding,
        warnings,
        message,
    };
    out.result(&report, || {
        let mut s = format!(
            "{}: {} ({} key {}{})",
            if report.indication == "TOTAL_PASSED" {
                "VALID"
            } else {
                "INVALID"
            },
            report.message,
            report.algorithm,
            report.key_id,
            key.as_sm2()
                .map(|k| format!(", SM2 ID {}", k.id()))
                .unwrap_or_default()
        );
        for w in &report.warnings {
            s.push_str(&format!("\n  warning: {w}"));
        }
        s
    });
    Ok(code)
}
