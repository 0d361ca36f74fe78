//! `yinzheng ca …`: the certificate authority of a trust domain in `--home`.

use super::Home;
use crate::io;
use crate::output::Output;
use anyhow::{Context, Result, bail};
use clap::{Args, Subcommand, ValueEnum};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::SystemTime;
use yinzheng_ca::{InitOptions, IssueRequest, KeySource, TrustDomain, domain_dir};
use yinzheng_crypto::{KeyAlgorithm, KeyEncryption};
use yinzheng_pki::{ParsedCert, SubjectExtras, ocsp::CertIdHash, reason_code};

/// Certificate authority commands.
#[derive(Args, Debug)]
pub struct CaArgs {
    /// Trust domain name (a directory under HOME/pki/, HOME being --home).
    #[arg(long, global = true, default_value = "main")]
    domain: String,
    /// File whose first line is the CA passphrase (else env YINZHENG_PASSPHRASE).
    #[arg(long, global = true)]
    passphrase_file: Option<PathBuf>,
    #[command(subcommand)]
    command: CaCommand,
}

#[derive(Subcommand, Debug)]
enum CaCommand {
    /// Create the root CA, the issuing CA and the OCSP responder.
    Init(InitArgs),
    /// Add another issuing CA under the root.
    AddIssuing(AddIssuingArgs),
    /// Issue an end-entity certificate under a profile.
    Issue(Box<IssueArgs>),
    /// Revoke a certificate (reason certificateHold suspends it).
    Revoke(RevokeArgs),
    /// Release a certificate from hold.
    Release(TargetArgs),
    /// Sign every CA's CRL ahead and publish them (verify servers serve and
    /// trust only these): run it daily, from cron, where the CA keys are.
    Crl(CrlArgs),
    /// Sign the root's CRL (ARL) ahead, for a root kept offline (key ceremony):
    /// written to the domain directory as root-arl.der, copied to the servers.
    Arl(ArlArgs),
    /// Sign an OCSP response for a certificate.
    Ocsp(OcspArgs),
    /// Re-issue the delegated OCSP responder: a new key and a short-lived
    /// certificate (run it monthly, where the CA keys are; then copy ocsp.pem
    /// and its key to the verify servers and restart them).
    OcspResponder(ResponderArgs),
    /// Write the trust anchors (root certificate) for relying parties.
    ExportRoots(ExportArgs),
}

/// CA key algorithms.
#[derive(Clone, Copy, Debug, ValueEnum)]
enum CaKeyAlg {
    /// SM2 with SM3 (GM/T 0015).
    Sm2,
    /// ECDSA P-256 with SHA-256.
    P256,
}

#[derive(Args, Debug)]
struct InitArgs {
    /// Root CA subject DN, e.g. "CN=Yinzheng Demo Root CA,O=Yinzheng,C=CN".
    #[arg(long)]
    subject: String,
    /// Issuing CA subject DN (default: the root's with "Root CA" → "Issuing CA").
    #[arg(long)]
    issuing_subject: Option<String>,
    /// Key algorithm of the CA keys.
    #[arg(long, value_enum, default_value = "sm2")]
    key_alg: CaKeyAlg,
    /// Root validity in days.
    #[arg(long, default_value_t = 7300)]
    root_days: u32,
    /// Issuing CA validity in days.
    #[arg(long, default_value_t = 3650)]
    issuing_days: u32,
    /// Make the CA keys (root, issuing CA, OCSP responder, the TSA's later) on
    /// this PKCS#11 token instead of encrypted files, e.g.
    /// 'pkcs11:token=CA?module-path=/usr/lib/softhsm/libsofthsm2.so&pin-source=file:/etc/yinzheng/pin'
    /// (the PIN from that file or YINZHENG_PKCS11_PIN, never the command line);
    /// P-256 keys (--key-alg p256), labelled yinzheng-<domain>-<key>.
    #[arg(long, value_name = "TOKEN_URI", conflicts_with = "root_key")]
    pkcs11: Option<String>,
    /// Use keys already in devices instead of making keys: the root's, as a
    /// pkcs11: URI or an sdf: reference to a GM/T 0018 cipher machine's key,
    /// e.g. 'sdf:index=1?module-path=/opt/vendor/libsdf.so&password-source=file:/etc/yinzheng/sdf-1'
    /// (needs --issuing-key and --ocsp-key too; the keys must be of --key-alg,
    /// SM2 by default, and all different).
    #[arg(long, value_name = "KEY_URI", requires_all = ["issuing_key", "ocsp_key"])]
    root_key: Option<String>,
    /// The main issuing CA's device key (with --root-key).
    #[arg(long, value_name = "KEY_URI", requires = "root_key")]
    issuing_key: Option<String>,
    /// The OCSP responder's device key (with --root-key).
    #[arg(long, value_name = "KEY_URI", requires = "root_key")]
    ocsp_key: Option<String>,
    /// The time-stamping authority's device key (pkcs11: URI or sdf:
    /// reference), certified when the TSA is first used.
    #[arg(long, value_name = "KEY_URI")]
    tsa_key: Option<String>,
    /// Passphrase file of the OCSP responder's key file: its own, since the
    /// key goes to the verify servers, which must not learn the CA passphrase
    /// (default: the CA passphrase).
    #[arg(long)]
    ocsp_passphrase_file: Option<PathBuf>,
}

#[derive(Args, Debug)]
struct AddIssuingArgs {
    /// Short name of the new issuing CA (a-z, 0-9, '-'), used with `ca issue --issuer`.
    #[arg(long)]
    name: String,
    /// Its subject DN.
    #[arg(long)]
    subject: String,
    /// Validity in days (clamped to the root's notAfter).
    #[arg(long, default_value_t = 3650)]
    days: u32,
    /// Its key already in a device (pkcs11: URI or sdf: reference); else a
    /// new key, on the root's token when the root is on one.
    #[arg(long, value_name = "KEY_URI")]
    key: Option<String>,
}

#[derive(Args, Debug)]
struct ResponderArgs {
    /// Validity in days (default: the ocsp-responder profile's; 90 for domains
    /// made since 2026-12).
    #[arg(long)]
    days: Option<u32>,
    /// Certify this device key (pkcs11: URI or sdf: reference) instead of
    /// making one (new keys go on the current responder key's token, else
    /// into an encrypted file).
    #[arg(long, value_name = "KEY_URI")]
    key: Option<String>,
    /// Passphrase file of the new key file (its own; default: the CA passphrase).
    #[arg(long, conflicts_with = "key")]
    key_passphrase_file: Option<PathBuf>,
}

#[derive(Args, Debug)]
struct IssueArgs {
    /// Which issuing CA signs (default: main).
    #[arg(long)]
    issuer: Option<String>,
    /// Profile from profiles.toml (seal-maker, seal-signer, person-signer, tls-server, tls-client, tlcp-sign, tlcp-enc, ocsp-responder, tsa, log-signer).
    #[arg(long)]
    profile: String,
    /// Subject DN (with --csr: defaults to the CSR's subject).
    #[arg(long)]
    subject: Option<String>,
    /// Unified social credit code (seal-signer).
    #[arg(long)]
    uscc: Option<String>,
    /// Citizen ID number (person-signer).
    #[arg(long)]
    id_number: Option<String>,
    /// subjectAltName entries: DNS names or IP addresses (repeatable).
    #[arg(long)]
    san: Vec<String>,
    /// Certify the key of this PKCS#10 request instead of generating one.
    #[arg(long)]
    csr: Option<PathBuf>,
    /// SM2 ID the CSR was signed with (default 1234567812345678; '' for OpenSSL's default).
    #[arg(long)]
    csr_sm2_id: Option<String>,
    /// Where to write the certificate followed by the issuing CA certificate (PEM).
    #[arg(long)]
    out: PathBuf,
    /// Where to write the generated private key (without --csr): a file, or
    /// a PKCS#11 token, 'pkcs11:token=T;object=LABEL?module-path=…&pin-source=…',
    /// where the key is made, never extractable (P-256: --key-alg p256).
    #[arg(long)]
    key_out: Option<PathBuf>,
    /// Algorithm of the generated key (default: the profile's, normally sm2;
    /// p256 for international-mode PDF seals).
    #[arg(long, value_enum, conflicts_with = "csr")]
    key_alg: Option<CaKeyAlg>,
    /// Passphrase file for the generated key (it is written encrypted).
    #[arg(long)]
    key_passphrase_file: Option<PathBuf>,
    /// Validity in days (default: the profile's; always clamped to the issuing CA's notAfter).
    #[arg(long)]
    days: Option<u32>,
}

#[derive(Args, Debug)]
struct TargetArgs {
    /// The certificate (PEM/DER file) or, with --serial, nothing.
    cert: Option<PathBuf>,
    /// Serial number in hex instead of a file.
    #[arg(long)]
    serial: Option<String>,
}

#[derive(Args, Debug)]
struct RevokeArgs {
    /// RFC 5280 reason: unspecified, keyCompromise, cACompromise, affiliationChanged, superseded,
    /// cessationOfOperation, certificateHold, privilegeWithdrawn, aACompromise.
    #[arg(long, default_value = "unspecified")]
    reason: String,
    #[command(flatten)]
    target: TargetArgs,
}

#[derive(Args, Debug)]
struct CrlArgs {
    /// Also write the CRLs to this file (PEM).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Hours until nextUpdate (a week by default; sign again well before).
    #[arg(long, default_value_t = yinzheng_ca::PUBLISHED_CRL_HOURS)]
    hours: u32,
}

#[derive(Args, Debug)]
struct ArlArgs {
    /// Days until nextUpdate (1–400; sign the next one well before).
    #[arg(long, default_value_t = 90)]
    days: u32,
}

/// CertID hash algorithms.
#[derive(Clone, Copy, Debug, ValueEnum)]
enum OcspHash {
    Sha1,
    Sha256,
    Sm3,
}

#[derive(Args, Debug)]
struct OcspArgs {
    /// The certificate the response is about.
    #[arg(long)]
    cert: PathBuf,
    /// Where to write the DER OCSP response.
    #[arg(long)]
    out: PathBuf,
    /// CertID hash (default: sha1 for ECDSA domains, sm3 for SM2 domains).
    #[arg(long, value_enum)]
    hash: Option<OcspHash>,
    /// Hours until nextUpdate.
    #[arg(long, default_value_t = 24)]
    hours: u32,
}

#[derive(Args, Debug)]
struct ExportArgs {
    /// Where to write the root certificate(s) (PEM).
    #[arg(long)]
    out: PathBuf,
}

/// Run a `ca` subcommand.
pub fn run(a: &CaArgs, home: &Home, out: &Output) -> Result<ExitCode> {
    let dir = domain_dir(home, &a.domain);
    let pass = io::passphrase(a.passphrase_file.as_deref())?;
    let need_pass = || {
        pass.as_ref().map(|p| p.as_slice()).context(
            "the CA passphrase is needed: give --passphrase-file F or set YINZHENG_PASSPHRASE",
        )
    };
    // What opening the domain to sign needs: the passphrase, unless every key
    // is on a token (then the tokens' PINs are read from their pin-source).
    let signing_pass = || -> Result<Option<&[u8]>> {
        match pass.as_ref() {
            Some(p) => Ok(Some(p.as_slice())),
            None if TrustDomain::keys_on_tokens_only(&dir) => Ok(None),
            None => need_pass().map(Some),
        }
    };
    match &a.command {
        CaCommand::Init(i) => {
            let mut opts = InitOptions::new(&i.subject);
            opts.issuing_subject = i.issuing_subject.clone();
            opts.key_algorithm = match i.key_alg {
                CaKeyAlg::Sm2 => KeyAlgorithm::Sm2,
                CaKeyAlg::P256 => KeyAlgorithm::EcdsaP256,
            };
            opts.root_days = i.root_days;
            opts.issuing_days = i.issuing_days;
            opts.token = i
                .pkcs11
                .as_deref()
                .map(yinzheng_pkcs11::Pkcs11Uri::parse_token)
                .transpose()?;
            if let (Some(root), Some(issuing), Some(ocsp)) =
                (&i.root_key, &i.issuing_key, &i.ocsp_key)
            {
                opts.keys = Some(yinzheng_ca::CaKeyUris {
                    root: root.clone(),
                    issuing: issuing.clone(),
                    ocsp: ocsp.clone(),
                });
            }
            // Keys in devices are not encrypted with the CA passphrase.
            let init_pass = match (opts.token.is_some() || opts.keys.is_some(), pass.as_ref()) {
                (true, None) => &[][..],
                _ => need_pass()?,
            };
            if let Some(f) = &i.ocsp_passphrase_file {
                let p = io::passphrase_required(Some(f), "--ocsp-passphrase-file")?;
                opts.ocsp_key_passphrase = Some(yinzheng_ca::Passphrase::new(&p));
            }
            opts.tsa_key = i.tsa_key.clone();
            let d = TrustDomain::init_in(&dir, home.store(), &opts, init_pass)?;
            let v = serde_json::json!({
                "domain": a.domain, "directory": dir,
                "root": {"subject": d.root().subject(), "serial": d.root().serial_hex(), "notAfter": yinzheng_pki::rfc3339(d.root().not_after())},
                "issuing": {"subject": d.issuing().subject(), "serial": d.issuing().serial_hex(), "notAfter": yinzheng_pki::rfc3339(d.issuing().not_after())},
                "ocspResponder": {"subject": d.ocsp_responder().subject(), "serial": d.ocsp_responder().serial_hex()},
            });
            out.result(&v, || {
                format!(
                    "trust domain {:?} created in {}\n  root:     {}\n  issuing:  {}\n  ocsp:     {}\n  profiles: {}",
                    a.domain,
                    dir.display(),
                    d.root().subject(),
                    d.issuing().subject(),
                    d.ocsp_responder().subject(),
                    dir.join("profiles.toml").display()
                )
            });
        }
        CaCommand::AddIssuing(n) => {
            let mut d = TrustDomain::open_in(&dir, home.store(), signing_pass()?)?;
            let c = d.add_issuing_with_key(
                &n.name,
                &n.subject,
                n.days,
                &KeyEncryption::default(),
                n.key.as_deref(),
            )?;
            let v = serde_json::json!({"name": n.name, "subject": c.subject(), "serial": c.serial_hex(), "notAfter": yinzheng_pki::rfc3339(c.not_after())});
            out.result(&v, || {
                format!(
                    "issuing CA {:?} ({}) added; use `ca issue --issuer {}`",
                    n.name,
                    c.subject(),
                    n.name
                )
            });
        }
        CaCommand::Issue(i) => {
            let mut d = TrustDomain::open_in(&dir, home.store(), signing_pass()?)?;
            let csr_bytes = match &i.csr {
                Some(p) => Some(io::read_limited(p, 1 << 20, "CSR")?),
                None => None,
            };
            // A key made on a token: its URI, the key never leaves it.
            let token_out = i
                .key_out
                .as_ref()
                .and_then(|p| p.to_str())
                .filter(|p| p.starts_with("pkcs11:"));
            let key_pass = match (&i.csr, &i.key_out) {
                (None, None) => bail!(
                    "without --csr the CA generates the key: give --key-out (and --key-passphrase-file)"
                ),
                (None, Some(_)) if token_out.is_some() => None,
                (None, Some(_)) => Some(io::passphrase_required(
                    i.key_passphrase_file.as_deref(),
                    "--key-passphrase-file",
                )?),
                (Some(_), Some(_)) => {
                    bail!("--key-out makes no sense with --csr: the requester holds the key")
                }
                (Some(_), None) => None,
            };
            let own_key = match i.key_alg {
                Some(CaKeyAlg::Sm2) => {
                    Some(yinzheng_crypto::PrivateKey::generate(KeyAlgorithm::Sm2)?)
                }
                Some(CaKeyAlg::P256) => Some(yinzheng_crypto::PrivateKey::generate(
                    KeyAlgorithm::EcdsaP256,
                )?),
                None => None,
            };
            let token_key = match token_out {
                Some(uri) => {
                    let uri = yinzheng_pkcs11::Pkcs11Uri::parse(uri)?;
                    let alg = match i.key_alg {
                        Some(CaKeyAlg::P256) => KeyAlgorithm::EcdsaP256,
                        Some(CaKeyAlg::Sm2) => KeyAlgorithm::Sm2,
                        None => match d.profiles().get(&i.profile)?.key_algorithm.as_str() {
                            "p256" => KeyAlgorithm::EcdsaP256,
                            _ => bail!(
                                "profile {} makes SM2 keys, which a PKCS#11 token does not hold \
                                 here: give --key-alg p256, or make the key in a GM/T 0018 device \
                                 and certify it with `key csr` and --csr",
                                i.profile
                            ),
                        },
                    };
                    Some(yinzheng_pkcs11::Pkcs11Key::generate(&uri, alg)?)
                }
                None => None,
            };
            let own_key = if token_key.is_some() { None } else { own_key };
            let key = match (&csr_bytes, &own_key, &token_key) {
                (Some(b), _, _) => {
                    KeySource::Csr(b, crate::cmd::sign::sm2_id(i.csr_sm2_id.as_deref())?)
                }
                (None, _, Some(k)) => KeySource::OwnKey(yinzheng_crypto::Signer::public_key(k)),
                (None, Some(k), None) => KeySource::OwnKey(k.public_key()),
                (None, None, None) => KeySource::Generate,
            };
            let issued = match d.issue(IssueRequest {
                profile: &i.profile,
                subject: i.subject.as_deref(),
                extras: SubjectExtras {
                    uscc: i.uscc.clone(),
                    id_number: i.id_number.clone(),
                    san: i.san.clone(),
                },
                key,
                not_before: None,
                issuer: i.issuer.as_deref(),
                days: i.days,
            }) {
                Ok(issued) => issued,
                Err(e) => {
                    // Not certified: the key just made on the token goes.
                    if let Some(k) = &token_key {
                        let _ = yinzheng_pkcs11::Pkcs11Key::destroy(k.uri());
                    }
                    return Err(e.into());
                }
            };
            let chain = format!(
                "{}{}",
                issued.cert.to_pem(),
                d.issuer(i.issuer.as_deref().unwrap_or("main"))?.to_pem()
            );
            io::write_atomic(&i.out, chain.as_bytes(), false)?;
            if let (Some(k), Some(path), Some(p)) = (
                issued.key.as_ref().or(own_key.as_ref()),
                &i.key_out,
                &key_pass,
            ) {
                let pem = k.to_encrypted_pkcs8_pem(p, &KeyEncryption::default())?;
                io::write_atomic(path, pem.as_bytes(), true)?;
            }
            let c = &issued.cert;
            let private_key = match &token_key {
                Some(k) => serde_json::json!(k.uri().to_string()),
                None => serde_json::json!(i.key_out),
            };
            let v = serde_json::json!({
                "profile": i.profile, "subject": c.subject(), "issuer": c.issuer(), "serial": c.serial_hex(),
                "notBefore": yinzheng_pki::rfc3339(c.not_before()), "notAfter": yinzheng_pki::rfc3339(c.not_after()),
                "validityClamped": issued.clamped, "certificate": i.out, "privateKey": private_key, "sm3": c.sm3_hex(),
            });
            out.result(&v, || {
                format!(
                    "issued {} certificate {}\n  subject: {}\n  valid:   {} .. {}{}\n  written: {}{}",
                    i.profile,
                    c.serial_hex(),
                    c.subject(),
                    yinzheng_pki::rfc3339(c.not_before()),
                    yinzheng_pki::rfc3339(c.not_after()),
                    if issued.clamped { " (clamped to the issuing CA)" } else { "" },
                    i.out.display(),
                    match (&token_key, &i.key_out) {
                        (Some(k), _) => format!(", key on the token: {}", k.uri()),
                        (None, Some(k)) => format!(", key {} (encrypted)", k.display()),
                        (None, None) => String::new(),
                    }
                )
            });
        }
        CaCommand::Revoke(r) => {
            let code =
                reason_code(&r.reason).with_context(|| format!("unknown reason {:?}", r.reason))?;
            let serial = target_serial(&r.target)?;
            // The CA's CRL is signed and published with the change.
            let mut d = TrustDomain::open_in(&dir, home.store(), signing_pass()?)?;
            let now = SystemTime::now();
            let rec = if code == 6 {
                d.hold(&serial, now)?
            } else {
                d.revoke(&serial, code, now)?
            };
            // A CA certificate under a root kept offline: no ARL was signed here.
            let published = rec.issuer != "root" || d.root_key_online();
            let v = serde_json::json!({"serial": serial, "subject": rec.subject, "reason": r.reason, "status": if code == 6 {"hold"} else {"revoked"}, "crlPublished": published});
            out.result(&v, || {
                format!(
                    "{} {} ({}): {}; {}",
                    if code == 6 { "held" } else { "revoked" },
                    serial,
                    rec.subject,
                    r.reason,
                    if published {
                        "its CA's CRL is published"
                    } else {
                        "the root is offline: sign an ARL that lists it at the ceremony host \
                         (`yinzheng ca arl`) and copy root-arl.der here and to every server — \
                         until then servers trust no certificate under this root"
                    }
                )
            });
        }
        CaCommand::Release(t) => {
            let serial = target_serial(t)?;
            let mut d = TrustDomain::open_in(&dir, home.store(), signing_pass()?)?;
            let rec = d.release(&serial)?;
            let v =
                serde_json::json!({"serial": serial, "subject": rec.subject, "status": "valid"});
            out.result(&v, || {
                format!("released {serial} ({}) from hold", rec.subject)
            });
        }
        CaCommand::Crl(c) => {
            let mut d = TrustDomain::open_in(&dir, home.store(), signing_pass()?)?;
            let crls = d.crl(c.hours)?;
            if let Some(path) = &c.out {
                let pem: String = crls.iter().map(|c| c.to_pem()).collect();
                io::write_atomic(path, pem.as_bytes(), false)?;
            }
            let list: Vec<_> = crls
                .iter()
                .map(|crl| {
                    serde_json::json!({
                        "issuer": crl.issuer(), "entries": crl.len(), "number": crl.number().map(hex::encode),
                        "thisUpdate": yinzheng_pki::rfc3339(crl.this_update()),
                        "nextUpdate": crl.next_update().map(yinzheng_pki::rfc3339),
                    })
                })
                .collect();
            let v = serde_json::json!({"file": c.out, "crls": list});
            out.result(&v, || {
                let mut s = match &c.out {
                    Some(p) => format!("CRLs published, and written to {}", p.display()),
                    None => "CRLs published".to_string(),
                };
                for crl in &crls {
                    s.push_str(&format!(
                        "\n  {}: {} entries, next update {}",
                        crl.issuer(),
                        crl.len(),
                        crl.next_update()
                            .map(yinzheng_pki::rfc3339)
                            .unwrap_or_default()
                    ));
                }
                s
            });
        }
        CaCommand::Arl(a) => {
            let mut d = TrustDomain::open_in(&dir, home.store(), signing_pass()?)?;
            let arl = d.sign_root_arl(a.days)?;
            let file = dir.join(yinzheng_ca::ROOT_ARL_FILE);
            let next = arl
                .next_update()
                .map(yinzheng_pki::rfc3339)
                .unwrap_or_default();
            let v = serde_json::json!({"file": file, "entries": arl.len(), "nextUpdate": next});
            out.result(&v, || {
                format!(
                    "root ARL signed ahead: {} ({} entries, next update {next}); copy it to every server's {}",
                    file.display(),
                    arl.len(),
                    dir.display()
                )
            });
        }
        CaCommand::Ocsp(o) => {
            let d = TrustDomain::open_in(&dir, home.store(), signing_pass()?)?;
            let cert = first_cert(&o.cert)?;
            let hash = match o.hash {
                Some(OcspHash::Sha1) => CertIdHash::Sha1,
                Some(OcspHash::Sha256) => CertIdHash::Sha256,
                Some(OcspHash::Sm3) => CertIdHash::Sm3,
                None if d
                    .issuing()
                    .public_key()
                    .is_some_and(|k| k.algorithm() == KeyAlgorithm::Sm2) =>
                {
                    CertIdHash::Sm3
                }
                None => CertIdHash::Sha1,
            };
            let resp = d.ocsp_response(&cert.serial_hex(), hash, o.hours)?;
            io::write_atomic(&o.out, &resp, false)?;
            let status = match d.lookup(&cert.serial_hex())?.map(|s| s.status) {
                Some(yinzheng_pki::CertStatus::Valid) => "good",
                Some(_) => "revoked",
                None => "unknown",
            };
            let v = serde_json::json!({"serial": cert.serial_hex(), "status": status, "response": o.out});
            out.result(&v, || {
                format!(
                    "OCSP response ({status}) for {} written to {}",
                    cert.serial_hex(),
                    o.out.display()
                )
            });
        }
        CaCommand::OcspResponder(r) => {
            let mut d = TrustDomain::open_in(&dir, home.store(), signing_pass()?)?;
            let key_pass = match &r.key_passphrase_file {
                Some(f) => Some(io::passphrase_required(Some(f), "--key-passphrase-file")?),
                None => None,
            };
            let c = d.renew_ocsp_responder(&yinzheng_ca::ResponderRenewal {
                days: r.days,
                key: r.key.as_deref(),
                key_passphrase: key_pass.as_deref().map(|p| &p[..]),
                key_encryption: KeyEncryption::default(),
            })?;
            let v = serde_json::json!({
                "subject": c.subject(), "serial": c.serial_hex(),
                "notBefore": yinzheng_pki::rfc3339(c.not_before()), "notAfter": yinzheng_pki::rfc3339(c.not_after()),
                "certificate": dir.join("ocsp.pem"),
            });
            out.result(&v, || {
                format!(
                    "OCSP responder re-issued: {} ({}), valid until {}\n  copy {} and its key to every verify server and restart them",
                    c.subject(),
                    c.serial_hex(),
                    yinzheng_pki::rfc3339(c.not_after()),
                    dir.join("ocsp.pem").display()
                )
            });
        }
        CaCommand::ExportRoots(e) => {
            let d = TrustDomain::open_in(&dir, home.store(), None)?;
            io::write_atomic(&e.out, d.roots_pem().as_bytes(), false)?;
            let v = serde_json::json!({"roots": e.out, "subject": d.root().subject(), "sm3": d.root().sm3_hex()});
            out.result(&v, || {
                format!("root {} written to {}", d.root().subject(), e.out.display())
            });
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn first_cert(path: &Path) -> Result<ParsedCert> {
    let bytes = io::read_limited(path, 4 << 20, "certificate file")?;
    ParsedCert::load_all(&bytes)?
        .into_iter()
        .next()
        .with_context(|| format!("{} holds no certificate", path.display()))
}

fn target_serial(t: &TargetArgs) -> Result<String> {
    match (&t.cert, &t.serial) {
        (Some(p), None) => Ok(first_cert(p)?.serial_hex()),
        (None, Some(s)) => Ok(s.trim().to_ascii_lowercase()),
        _ => bail!("name the certificate: a file, or --serial HEX"),
    }
}
