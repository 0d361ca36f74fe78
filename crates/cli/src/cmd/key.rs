//! `yinzheng key …`: generate keys and extract public keys.

use crate::io;
use crate::output::Output;
use anyhow::{Context, Result, bail};
use clap::{Args, Subcommand, ValueEnum};
use serde::Serialize;
use std::path::PathBuf;
use std::process::ExitCode;
use yinzheng_crypto::{KdfPrf, KeyAlgorithm, KeyCipher, KeyEncryption, PrivateKey, PublicKey};

/// Key management commands.
#[derive(Subcommand, Debug)]
pub enum KeyCommand {
    /// Generate a key pair; the private key is written encrypted (PKCS#8, PBES2).
    Gen(GenArgs),
    /// Write the public key (SPKI PEM) of a private key.
    Pub(PubArgs),
    /// Make a certification request (PKCS#10) signed by a key — a key file, a
    /// PKCS#11 token key (pkcs11: URI) or a GM/T 0018 device key (sdf:
    /// reference) — for `ca issue --csr`.
    Csr(CsrArgs),
}

/// `key csr`.
#[derive(Args, Debug)]
pub struct CsrArgs {
    /// The key: a file, a pkcs11: URI or an sdf: reference.
    #[arg(long)]
    key: PathBuf,
    /// The subject DN (RFC 4514), e.g. "CN=Example Org Seal Signer,O=Example Org,C=CN".
    #[arg(long)]
    subject: String,
    /// File whose first line is the key file's passphrase (else env YINZHENG_PASSPHRASE).
    #[arg(long)]
    passphrase_file: Option<PathBuf>,
    /// Where to write the request (PEM).
    #[arg(long)]
    out: PathBuf,
}

/// Key algorithms that can be generated.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum GenAlg {
    /// SM2 on the recommended curve (GB/T 32918).
    Sm2,
    /// ECDSA on NIST P-256.
    P256,
    /// Ed25519.
    Ed25519,
}

/// PBKDF2 PRF choices.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum PrfArg {
    /// HMAC-SM3 (default; not readable by OpenSSL 3.0).
    Sm3,
    /// HMAC-SHA256 (readable by OpenSSL 3.0).
    Sha256,
}

/// Key encryption cipher choices.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum CipherArg {
    /// SM4-CBC (default).
    Sm4,
    /// AES-256-CBC.
    Aes256,
}

/// Arguments of `key gen`.
#[derive(Args, Debug)]
pub struct GenArgs {
    /// Key algorithm.
    #[arg(long, value_enum, default_value = "sm2")]
    alg: GenAlg,
    /// Where to write the private key (PEM).
    #[arg(long)]
    out: PathBuf,
    /// Where to write the public key (SPKI PEM).
    #[arg(long)]
    pub_out: Option<PathBuf>,
    /// File whose first line is the passphrase (else env YINZHENG_PASSPHRASE).
    #[arg(long)]
    passphrase_file: Option<PathBuf>,
    /// Write the private key unencrypted (only for tests and throw-away keys).
    #[arg(long)]
    unencrypted: bool,
    /// PBKDF2 PRF for the key encryption.
    #[arg(long, value_enum, default_value = "sm3")]
    kdf_prf: PrfArg,
    /// Cipher for the key encryption.
    #[arg(long, value_enum, default_value = "sm4")]
    cipher: CipherArg,
    /// PBKDF2 iterations.
    #[arg(long, default_value_t = yinzheng_crypto::DEFAULT_ITERATIONS)]
    iterations: u32,
    /// Overwrite existing output files.
    #[arg(long)]
    force: bool,
}

/// Arguments of `key pub`.
#[derive(Args, Debug)]
pub struct PubArgs {
    /// The private key (PEM or DER; PKCS#8, encrypted PKCS#8 or SEC1).
    #[arg(long)]
    key: PathBuf,
    /// File whose first line is the passphrase (else env YINZHENG_PASSPHRASE).
    #[arg(long)]
    passphrase_file: Option<PathBuf>,
    /// Where to write the public key; stdout when absent.
    #[arg(long)]
    out: Option<PathBuf>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct GenReport {
    algorithm: &'static str,
    private_key: PathBuf,
    public_key: Option<PathBuf>,
    encrypted: bool,
    key_id: String,
}

/// Run a `key` subcommand.
pub fn run(cmd: &KeyCommand, out: &Output) -> Result<ExitCode> {
    match cmd {
        KeyCommand::Gen(a) => gen_key(a, out),
        KeyCommand::Pub(a) => pub_key(a, out),
        KeyCommand::Csr(a) => csr(a, out),
    }
}

/// SM3 of the DER SubjectPublicKeyInfo, hex: how Yinzheng names a key in reports.
pub fn key_id(pk: &PublicKey) -> String {
    yinzheng_crypto::sm3_hex(&pk.to_spki_der())
}

/// Load a private key file, asking for the passphrase only when it is encrypted.
/// A signing key named on the command line: a `pkcs11:` URI (a key in a
/// PKCS#11 token, its PIN from the URI's pin-source or YINZHENG_PKCS11_PIN),
/// an `sdf:` reference (a key in a GM/T 0018 cipher machine, its password from
/// the reference's password-source or YINZHENG_SDF_PASSWORD), or a key file.
pub fn load_signer(
    key: &std::path::Path,
    passphrase_file: Option<&std::path::Path>,
) -> Result<Box<dyn yinzheng_crypto::Signer>> {
    let text = key.to_string_lossy();
    if yinzheng_ca::is_device_key(&text) {
        return Ok(yinzheng_ca::open_device_key(&text)?.0);
    }
    Ok(Box::new(load_private_key(key, passphrase_file)?))
}

/// A private key file (PKCS#8 PEM or DER, encrypted with the passphrase from
/// `passphrase_file` or YINZHENG_PASSPHRASE).
pub fn load_private_key(
    path: &std::path::Path,
    passphrase_file: Option<&std::path::Path>,
) -> Result<PrivateKey> {
    let bytes = zeroize::Zeroizing::new(io::read_limited(
        path,
        yinzheng_crypto::MAX_KEY_FILE_LEN as u64,
        "key file",
    )?);
    let pass = io::passphrase(passphrase_file)?;
    PrivateKey::from_bytes(&bytes, pass.as_ref().map(|p| p.as_slice())).map_err(|e| match e {
        yinzheng_crypto::Error::PassphraseRequired => anyhow::anyhow!(
            "{} is encrypted: give --passphrase-file or set YINZHENG_PASSPHRASE",
            path.display()
        ),
        e => anyhow::Error::new(e).context(format!("cannot load private key {}", path.display())),
    })
}

fn gen_key(a: &GenArgs, out: &Output) -> Result<ExitCode> {
    for p in std::iter::once(&a.out).chain(a.pub_out.iter()) {
        if p.exists() && !a.force {
            bail!("{} already exists (use --force to overwrite)", p.display());
        }
    }
    let pass = io::passphrase(a.passphrase_file.as_deref())?;
    if pass.is_none() && !a.unencrypted {
        bail!(
            "private keys are written encrypted: give --passphrase-file F or set YINZHENG_PASSPHRASE \
             (or --unencrypted for a throw-away key)"
        );
    }
    let alg = match a.alg {
        GenAlg::Sm2 => KeyAlgorithm::Sm2,
        GenAlg::P256 => KeyAlgorithm::EcdsaP256,
        GenAlg::Ed25519 => KeyAlgorithm::Ed25519,
    };
    let key = PrivateKey::generate(alg).context("key generation failed")?;
    let pem = match &pass {
        Some(p) => {
            let params = KeyEncryption::default()
                .with_prf(match a.kdf_prf {
                    PrfArg::Sm3 => KdfPrf::HmacSm3,
                    PrfArg::Sha256 => KdfPrf::HmacSha256,
                })
                .with_cipher(match a.cipher {
                    CipherArg::Sm4 => KeyCipher::Sm4Cbc,
                    CipherArg::Aes256 => KeyCipher::Aes256Cbc,
                })
                .with_iterations(a.iterations);
            zeroize::Zeroizing::new(key.to_encrypted_pkcs8_pem(p, &params)?)
        }
        None => zeroize::Zeroizing::new(key.to_pkcs8_pem().to_string()),
    };
    io::write_atomic(&a.out, pem.as_bytes(), true)?;
    if let Some(p) = &a.pub_out {
        io::write_atomic(p, key.public_key().to_pem().as_bytes(), false)?;
    }
    let report = GenReport {
        algorithm: alg.name(),
        private_key: a.out.clone(),
        public_key: a.pub_out.clone(),
        encrypted: pass.is_some(),
        key_id: key_id(key.public_key()),
    };
    out.result(&report, || {
        let mut s = format!(
            "generated {} key {}\n  private key: {}{}",
            report.algorithm,
            report.key_id,
            report.private_key.display(),
            if report.encrypted {
                " (encrypted)"
            } else {
                " (UNENCRYPTED)"
            }
        );
        if let Some(p) = &report.public_key {
            s.push_str(&format!("\n  public key:  {}", p.display()));
        }
        s
    });
    Ok(ExitCode::SUCCESS)
}

fn csr(a: &CsrArgs, out: &Output) -> Result<ExitCode> {
    let key = load_signer(&a.key, a.passphrase_file.as_deref())?;
    let der = yinzheng_pki::Csr::create(key.as_ref(), &a.subject)?;
    io::write_atomic(
        &a.out,
        yinzheng_pki::pem("CERTIFICATE REQUEST", &der).as_bytes(),
        false,
    )?;
    let v = serde_json::json!({
        "request": a.out,
        "subject": a.subject,
        "algorithm": key.public_key().algorithm().name(),
        "keyId": key_id(key.public_key()),
    });
    out.result(&v, || {
        format!(
            "wrote a certification request for {} ({} key {}) to {}",
            a.subject,
            key.public_key().algorithm(),
            key_id(key.public_key()),
            a.out.display()
        )
    });
    Ok(ExitCode::SUCCESS)
}

fn pub_key(a: &PubArgs, out: &Output) -> Result<ExitCode> {
    let key = load_private_key(&a.key, a.passphrase_file.as_deref())?;
    let pem = key.public_key().to_pem();
    match &a.out {
        Some(p) => {
            io::write_atomic(p, pem.as_bytes(), false)?;
            let v = serde_json::json!({
                "algorithm": key.algorithm().name(),
                "publicKey": p,
                "keyId": key_id(key.public_key()),
            });
            out.result(&v, || {
                format!("wrote {} public key to {}", key.algorithm(), p.display())
            });
        }
        None => {
            let v = serde_json::json!({
                "algorithm": key.algorithm().name(),
                "publicKeyPem": pem,
                "keyId": key_id(key.public_key()),
            });
            out.result(&v, || pem.trim_end().to_string());
        }
    }
    Ok(ExitCode::SUCCESS)
}
