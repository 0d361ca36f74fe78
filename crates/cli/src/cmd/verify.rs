//! `yinzheng verify`: the one command that verifies things.
//!
//! With `--sig` and `--pub` it checks a detached signature over a file with a
//! public key. Otherwise FILE is recognised by its content: a GB/T 38540 /
//! GM/T 0031 seal signature (with `--data` for the protected bytes), a seal, an
//! OFD package or a PDF, verified against `--trust` anchors; `--sig` without
//! `--pub` is a detached CMS (`.p7s`) or seal signature over FILE. Licenses
//! join later; the report shape (ETSI EN 319 102-1 indications) stays the same.

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
    /// Trust anchors, intermediates, CRLs, seal makers.
    #[command(flatten)]
    trust: TrustArgs,
    /// The protected data of a seal signature (its SM3 is compared with dataHash).
    #[arg(long)]
    data: Option<PathBuf>,
    /// Signature algorithm, when the key does not imply one (RSA: rsa-pkcs1-sha256, rsa-pss-sha256, …).
    #[arg(long)]
    alg: Option<String>,
}

/// Trust material for verifying seals and sealed documents.
#[derive(Args, Debug, Default)]
pub struct TrustArgs {
    /// Trust anchors (PEM) for seal signatures, seals and sealed documents.
    #[arg(long)]
    pub trust: Option<PathBuf>,
    /// Seal makers must chain to these anchors (PEM) instead of carrying the seal-maker policy.
    #[arg(long)]
    pub maker_trust: Option<PathBuf>,
    /// Accept any certificate under --trust as a seal maker (for PKIs that do not mark makers).
    #[arg(long, conflicts_with = "maker_trust")]
    pub danger_any_maker: bool,
    /// Intermediate CA certificates (PEM) (repeatable).
    #[arg(long)]
    pub untrusted: Vec<PathBuf>,
    /// CRLs for the certificates involved (repeatable).
    #[arg(long)]
    pub crl: Vec<PathBuf>,
    /// Do not require revocation information for the certificates involved.
    #[arg(long)]
    pub no_revocation_required: bool,
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
pub fn run(a: &VerifyArgs, home: &std::path::Path, out: &Output) -> Result<ExitCode> {
    let (sig_path, pub_path) = match (&a.sig, &a.public_key) {
        (Some(s), Some(p)) => (s, p),
        (None, None) => return verify_sealed(a, home, out),
        (Some(s), None) => return verify_detached_with_trust(a, s, home, out),
        (None, Some(_)) => bail!("--pub needs --sig SIGNATURE (the detached signature over FILE)"),
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

/// Trust material from the command line: anchors with CRLs, seal-maker anchors, intermediates.
pub struct Trust {
    /// Anchors with CRLs and policy.
    pub validator: yinzheng_pki::Validator,
    makers: Option<yinzheng_pki::Validator>,
    /// Intermediate CA certificates.
    pub intermediates: Vec<yinzheng_pki::ParsedCert>,
    danger_any_maker: bool,
}

impl Trust {
    /// Load what `a` names; `what` says what it is for in the error.
    pub fn load(a: &TrustArgs, what: &str) -> Result<Self> {
        use yinzheng_pki::{Crl, ParsedCert, RevocationPolicy, Validator};
        let Some(trust) = &a.trust else {
            bail!(
                "give --trust ROOTS.pem to verify {what} (or --sig and --pub for a detached signature with a bare key)"
            );
        };
        let anchors = ParsedCert::load_all(&io::read_limited(trust, 4 << 20, "trust anchors")?)
            .with_context(|| format!("cannot read trust anchors {}", trust.display()))?;
        let mut crls = Vec::new();
        for p in &a.crl {
            crls.extend(
                Crl::parse_all(&io::read_limited(p, 64 << 20, "CRL")?)
                    .with_context(|| format!("cannot read CRL {}", p.display()))?,
            );
        }
        let mut intermediates = Vec::new();
        for p in &a.untrusted {
            intermediates.extend(
                ParsedCert::load_all(&io::read_limited(p, 4 << 20, "intermediate certificates")?)
                    .with_context(|| format!("cannot read {}", p.display()))?,
            );
        }
        let mut validator = Validator::new(anchors).with_crls(crls.clone());
        if a.no_revocation_required {
            validator = validator.with_revocation(RevocationPolicy::DangerBestEffort);
        }
        let makers = match &a.maker_trust {
            Some(p) => {
                let anchors =
                    ParsedCert::load_all(&io::read_limited(p, 4 << 20, "seal-maker anchors")?)
                        .with_context(|| {
                            format!("cannot read seal-maker anchors {}", p.display())
                        })?;
                let mut v = Validator::new(anchors).with_crls(crls);
                if a.no_revocation_required {
                    v = v.with_revocation(RevocationPolicy::DangerBestEffort);
                }
                Some(v)
            }
            None => None,
        };
        Ok(Trust {
            validator,
            makers,
            intermediates,
            danger_any_maker: a.danger_any_maker,
        })
    }

    /// Who may make seals.
    pub fn makers(&self) -> yinzheng_seal::MakerTrust<'_> {
        match (&self.makers, self.danger_any_maker) {
            (Some(v), _) => yinzheng_seal::MakerTrust::Anchors(v),
            (None, true) => yinzheng_seal::MakerTrust::DangerAny,
            (None, false) => yinzheng_seal::MakerTrust::Policy,
        }
    }
}

/// Print a report; exit 0 when it passed, 1 otherwise.
pub fn finish(report: &yinzheng_pki::VerificationReport, out: &Output) -> ExitCode {
    out.result(report, || report.to_string().trim_end().to_string());
    if report.passed() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

/// `--sig` without `--pub`: a detached CMS SignedData (`.p7s`) or a detached
/// seal signature over FILE, verified against `--trust`.
fn verify_detached_with_trust(
    a: &VerifyArgs,
    sig_path: &std::path::Path,
    home: &std::path::Path,
    out: &Output,
) -> Result<ExitCode> {
    let sig = io::read_limited(
        sig_path,
        yinzheng_cms::MAX_CMS_LEN.max(yinzheng_seal::MAX_SEAL_LEN) as u64,
        "signature file",
    )?;
    let trust = Trust::load(&a.trust, "a detached CMS or seal signature")?;
    let registry = crate::cmd::seal::registry(home).ok();
    let data = io::read_message(&a.file, !out.is_json())?;
    let report = if yinzheng_cms::SignedData::parse(&sig).is_ok() {
        let ctx = yinzheng_document::CmsVerifyContext {
            validator: &trust.validator,
            intermediates: &trust.intermediates,
            makers: trust.makers(),
            registry: registry.as_ref(),
            sm2_id: a.sm2_id.as_deref().map(|s| sm2_id(Some(s))).transpose()?,
        };
        yinzheng_document::verify_detached_cms(&sig, &[&data], &ctx)
    } else {
        let parsed = yinzheng_seal::SealSignature::parse(&sig).with_context(|| {
            format!(
                "{} is neither a CMS SignedData nor a seal signature",
                sig_path.display()
            )
        })?;
        yinzheng_seal::verify_signature(
            &parsed,
            &yinzheng_seal::VerifyOptions {
                makers: trust.makers(),
                intermediates: &trust.intermediates,
                registry: registry.as_ref(),
                validator: &trust.validator,
                data: Some(&data),
            },
        )
    };
    Ok(finish(&report, out))
}

/// FILE is an OFD package, a seal signature or a seal: verify it against `--trust`.
fn verify_sealed(a: &VerifyArgs, home: &std::path::Path, out: &Output) -> Result<ExitCode> {
    use yinzheng_seal::{Seal, SealSignature, VerifyOptions};
    let bytes = io::read_limited(
        &a.file,
        yinzheng_document::MAX_PDF_LEN
            .max(yinzheng_seal::MAX_SEAL_LEN)
            .max(yinzheng_document::MAX_PACKAGE_LEN as usize) as u64,
        "file",
    )?;
    let trust = Trust::load(&a.trust, "a document, seal or seal signature")?;
    let (validator, intermediates, makers) =
        (&trust.validator, &trust.intermediates, trust.makers());
    // Our registry, when the data directory has one, adds the seal's status.
    let registry = crate::cmd::seal::registry(home).ok();
    if bytes.starts_with(b"%PDF-") {
        let ctx = yinzheng_document::CmsVerifyContext {
            validator,
            intermediates,
            makers,
            registry: registry.as_ref(),
            sm2_id: a.sm2_id.as_deref().map(|s| sm2_id(Some(s))).transpose()?,
        };
        let report = yinzheng_document::verify_pdf(&bytes, &ctx)
            .with_context(|| format!("cannot read the PDF {}", a.file.display()))?;
        return Ok(finish(&report, out));
    }
    if bytes.starts_with(b"PK\x03\x04") {
        let report = yinzheng_document::verify_ofd(
            &bytes,
            validator,
            makers,
            intermediates,
            registry.as_ref(),
        )
        .with_context(|| format!("cannot read the OFD package {}", a.file.display()))?;
        return Ok(finish(&report, out));
    }
    let report = match SealSignature::parse(&bytes) {
        Ok(sig) => {
            let data = match &a.data {
                Some(p) => Some(io::read_message(p, !out.is_json())?),
                None => None,
            };
            yinzheng_seal::verify_signature(
                &sig,
                &VerifyOptions {
                    makers,
                    intermediates,
                    registry: registry.as_ref(),
                    validator,
                    data: data.as_deref(),
                },
            )
        }
        Err(yinzheng_seal::Error::SignedData) => {
            bail!(
                "{} is a GB/T 35275 SignedData (a plain SM2 signature), not a seal signature; not supported yet",
                a.file.display()
            )
        }
        Err(sig_err) => match Seal::parse(&bytes) {
            Ok(seal) => yinzheng_seal::verify_seal(
                &seal,
                validator,
                makers,
                intermediates,
                std::time::SystemTime::now(),
            ),
            Err(_) => {
                return Err(anyhow::Error::new(sig_err).context(format!(
                    "{} is neither a detached-signature pair, a seal signature nor a seal",
                    a.file.display()
                )));
            }
        },
    };
    Ok(finish(&report, out))
}
