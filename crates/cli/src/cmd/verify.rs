//! `yinzheng verify`: the one command that verifies things.
//!
//! With `--sig` and `--pub` it checks a detached signature over a file with a
//! public key. Otherwise FILE is recognised by its content: a GB/T 38540 /
//! GM/T 0031 seal signature (with `--data` for the protected bytes), a seal, an
//! OFD package or a PDF, verified against `--trust` anchors; `--sig` without
//! `--pub` is a detached CMS (`.p7s`) or seal signature over FILE. Licenses
//! join later; the report shape (ETSI EN 319 102-1 indications) stays the same.

use super::Home;
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
    /// Accept annotations added to a PDF after it was sealed (reported as
    /// warnings) unless a certification forbids them; by default they fail,
    /// since an annotation can cover what was sealed.
    #[arg(long)]
    pub allow_annotations: bool,
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
pub fn run(a: &VerifyArgs, home: &Home, out: &Output) -> Result<ExitCode> {
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

/// Trust material from the command line: anchors with CRLs, seal-maker
/// anchors, intermediates — the verification pipeline's trust context.
pub struct Trust;

impl Trust {
    /// Load what `a` names into a trust context; `what` says what it is for
    /// in the error; `extra` intermediates help build paths.
    pub fn load(
        a: &TrustArgs,
        what: &str,
        extra: Vec<yinzheng_pki::ParsedCert>,
    ) -> Result<yinzheng_document::TrustContext> {
        use yinzheng_document::{MakerPolicy, TrustContext};
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
        intermediates.extend(extra);
        let policy = |v: Validator| {
            if a.no_revocation_required {
                v.with_revocation(RevocationPolicy::DangerBestEffort)
            } else {
                v
            }
        };
        let makers = match &a.maker_trust {
            Some(p) => {
                let anchors =
                    ParsedCert::load_all(&io::read_limited(p, 4 << 20, "seal-maker anchors")?)
                        .with_context(|| {
                            format!("cannot read seal-maker anchors {}", p.display())
                        })?;
                MakerPolicy::Anchors(Box::new(policy(
                    Validator::new(anchors).with_crls(crls.clone()),
                )))
            }
            None if a.danger_any_maker => MakerPolicy::DangerAny,
            None => MakerPolicy::Policy,
        };
        Ok(
            TrustContext::new(policy(Validator::new(anchors).with_crls(crls)))
                .with_intermediates(intermediates)
                .with_makers(makers)
                .with_pdf_changes(yinzheng_document::PdfChangePolicy {
                    allow_annotations: a.allow_annotations,
                }),
        )
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
    home: &Home,
    out: &Output,
) -> Result<ExitCode> {
    use yinzheng_document::Format;
    let sig = io::read_limited(
        sig_path,
        yinzheng_cms::MAX_CMS_LEN.max(yinzheng_seal::MAX_SEAL_LEN) as u64,
        "signature file",
    )?;
    let format = Format::sniff(&sig)
        .filter(|f| matches!(f, Format::DetachedCms | Format::SealSignature))
        .with_context(|| {
            format!(
                "{} is neither a CMS SignedData nor a seal signature",
                sig_path.display()
            )
        })?;
    let data = io::read_message(&a.file, !out.is_json())?;
    let report = pipeline(a, home, format, &sig, Some(&data))?;
    Ok(finish(&report, out))
}

/// FILE is a PDF, an OFD package, a seal signature (with `--data`) or a
/// seal: recognise it and verify it against `--trust`.
fn verify_sealed(a: &VerifyArgs, home: &Home, out: &Output) -> Result<ExitCode> {
    use yinzheng_document::Format;
    let bytes = io::read_limited(
        &a.file,
        yinzheng_document::MAX_PDF_LEN
            .max(yinzheng_seal::MAX_SEAL_LEN)
            .max(yinzheng_document::MAX_PACKAGE_LEN as usize) as u64,
        "file",
    )?;
    let format = match Format::sniff(&bytes) {
        Some(Format::DetachedCms) => bail!(
            "{} is a CMS SignedData (a detached signature): give the file it signs, \
             `yinzheng verify DATA --sig {}`",
            a.file.display(),
            a.file.display()
        ),
        Some(f) => f,
        None => bail!(
            "{} is neither a PDF, an OFD package, a seal signature nor a seal; \
             if it is data with a detached signature, give the signature with --sig",
            a.file.display()
        ),
    };
    let data = match &a.data {
        Some(p) => Some(io::read_message(p, !out.is_json())?),
        None => None,
    };
    let report = pipeline(a, home, format, &bytes, data.as_deref())?;
    Ok(finish(&report, out))
}

/// The one verification road: the trust context of `--trust` and friends,
/// this data directory's seal registry for seal status, no proven time.
fn pipeline(
    a: &VerifyArgs,
    home: &Home,
    format: yinzheng_document::Format,
    bytes: &[u8],
    detached: Option<&[u8]>,
) -> Result<yinzheng_pki::VerificationReport> {
    let trust = Trust::load(&a.trust, &format!("a {format}"), Vec::new())?
        .with_sm2_id(a.sm2_id.as_deref().map(|s| sm2_id(Some(s))).transpose()?);
    // Our registry, when the data directory has one, adds the seal's status.
    let registry = crate::cmd::seal::existing_registry(home);
    let req = yinzheng_document::VerifyRequest {
        detached,
        seals: registry
            .as_ref()
            .map(|s| s as &dyn yinzheng_seal::SealStatusSource),
        ..Default::default()
    };
    trust
        .verify_as(format, bytes, &req)
        .with_context(|| format!("cannot verify {} as a {format}", a.file.display()))
}
