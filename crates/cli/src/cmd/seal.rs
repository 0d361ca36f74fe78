//! `yinzheng seal …` and `yinzheng stamp`: make seals, keep them in the
//! registry of `--home`, change their status, and stamp data with them.

use super::Home;
use crate::io;
use crate::output::Output;
use anyhow::{Context, Result, bail};
use clap::{Args, Subcommand, ValueEnum};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use yinzheng_pki::ParsedCert;
use yinzheng_seal::{Picture, Seal, SealBuilder, SealSignature, SealStatus, SealType};
use yinzheng_seal_registry::Registry;
use yinzheng_store::DataDir;

/// Seal administration commands.
#[derive(Subcommand, Debug)]
pub enum SealCommand {
    /// Make a seal (signed by the seal maker) and register it.
    Make(Box<MakeArgs>),
    /// List the registered seals.
    List,
    /// Show one registered seal and its history.
    Show(ShowArgs),
    /// Suspend a seal (it cannot stamp until resumed).
    Suspend(StatusArgs),
    /// Resume a suspended seal.
    Resume(StatusArgs),
    /// Revoke a seal for good.
    Revoke(StatusArgs),
    /// Print every field of a seal (.esl) or seal signature (.ses) file.
    Inspect(InspectArgs),
    /// Draw a seal picture (PNG with transparency) without making a seal.
    Draw(DrawArgs),
}

/// Picture shapes.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum ShapeArg {
    /// Round organisation seal with a star.
    Round,
    /// Square personal seal.
    Square,
}

/// Arguments of `seal draw`.
#[derive(Args, Debug)]
pub struct DrawArgs {
    /// Shape.
    #[arg(long, value_enum, default_value = "round")]
    shape: ShapeArg,
    /// Text around the rim (round) or in the square.
    #[arg(long)]
    text: String,
    /// Kind written below the star (round only), e.g. 合同专用章.
    #[arg(long, default_value = "")]
    kind: String,
    /// Size in mm (diameter or side).
    #[arg(long)]
    size_mm: Option<f32>,
    /// CJK font file (default: an installed WenQuanYi/Noto CJK font, else the
    /// embedded WenQuanYi Micro Hei subset, which holds GB 2312 only).
    #[arg(long, env = "YINZHENG_SEAL_FONT")]
    font: Option<PathBuf>,
    /// Where to write the PNG.
    #[arg(long)]
    out: PathBuf,
}

/// Seal types on the command line.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum TypeArg {
    /// Organisation statutory seal (公章).
    Official,
    /// Contract seal (合同专用章).
    Contract,
    /// Finance seal (财务专用章).
    Finance,
    /// Invoice seal (发票专用章).
    Invoice,
    /// Legal representative's name seal (法定代表人名章).
    LegalRepresentative,
    /// Other.
    Other,
}

/// Arguments of `seal make`.
#[derive(Args, Debug)]
pub struct MakeArgs {
    /// Seal type.
    #[arg(long = "type", value_enum)]
    seal_type: TypeArg,
    /// Seal name, e.g. "Example Org 合同专用章".
    #[arg(long)]
    name: String,
    /// Holder organisation's unified social credit code.
    #[arg(long)]
    holder_uscc: Option<String>,
    /// Holder person's citizen ID (personal seals).
    #[arg(long)]
    holder_id: Option<String>,
    /// Certificate(s) allowed to stamp with the seal (repeatable; the first of each file).
    #[arg(long, required = true)]
    signer_cert: Vec<PathBuf>,
    /// Seal maker (制章者) certificate.
    #[arg(long)]
    maker_cert: PathBuf,
    /// Seal maker private key: a key file, a pkcs11: URI or an sdf: reference
    /// (a maker's key in its cipher machine).
    #[arg(long)]
    maker_key: PathBuf,
    /// Passphrase file of the maker key (else env YINZHENG_PASSPHRASE).
    #[arg(long)]
    passphrase_file: Option<PathBuf>,
    /// Seal picture (PNG or JPG); or use --draw.
    #[arg(long, conflicts_with = "draw")]
    picture: Option<PathBuf>,
    /// Draw the picture: a round seal (organisation) or square seal (--holder-id) with the
    /// rim text from --draw-text (default: the name without its kind suffix).
    #[arg(long)]
    draw: bool,
    /// Text for a drawn picture.
    #[arg(long)]
    draw_text: Option<String>,
    /// CJK font for a drawn picture (default: an installed WenQuanYi/Noto CJK
    /// font, else the embedded WenQuanYi Micro Hei subset, GB 2312 only).
    #[arg(long, env = "YINZHENG_SEAL_FONT")]
    font: Option<PathBuf>,
    /// Picture width in millimetres.
    #[arg(long, default_value_t = 40)]
    width_mm: u64,
    /// Picture height in millimetres.
    #[arg(long, default_value_t = 40)]
    height_mm: u64,
    /// Validity in days from now.
    #[arg(long, default_value_t = 365)]
    valid_days: i64,
    /// Seal identifier (default: random).
    #[arg(long)]
    id: Option<String>,
    /// Where to write the seal file.
    #[arg(long)]
    out: PathBuf,
    /// Who is acting (recorded in the history).
    #[arg(long, env = "USER", default_value = "admin")]
    actor: String,
}

/// Arguments of `seal show`.
#[derive(Args, Debug)]
pub struct ShowArgs {
    /// Seal id.
    id: String,
    /// Write the seal picture to this file.
    #[arg(long)]
    picture_out: Option<PathBuf>,
}

/// Arguments of `seal suspend|resume|revoke`.
#[derive(Args, Debug)]
pub struct StatusArgs {
    /// Seal id.
    id: String,
    /// Why (recorded in the history).
    #[arg(long, default_value = "")]
    reason: String,
    /// Who is acting.
    #[arg(long, env = "USER", default_value = "admin")]
    actor: String,
}

/// Arguments of `seal inspect`.
#[derive(Args, Debug)]
pub struct InspectArgs {
    /// A seal (.esl) or seal signature (.ses) file.
    file: PathBuf,
}

/// Arguments of `stamp`: an OFD package gets a visible seal inside it; any other
/// file gets a detached SES_Signature.
#[derive(Args, Debug)]
pub struct StampArgs {
    /// Registered seal id.
    #[arg(long)]
    seal: String,
    /// The signer's private key (its certificate must be in the seal's list).
    #[arg(long)]
    key: PathBuf,
    /// Passphrase file of the key (else env YINZHENG_PASSPHRASE).
    #[arg(long)]
    passphrase_file: Option<PathBuf>,
    /// The data to stamp.
    #[arg(long = "in")]
    input: PathBuf,
    /// Where to write the SES_Signature.
    #[arg(long)]
    out: PathBuf,
    /// What the signature protects (propertyInfo); default: the input file name.
    #[arg(long)]
    property: Option<String>,
    /// Other files: write a detached CMS SignedData (.p7s) instead of a
    /// SES_Signature; with an SM2 key the seal signature travels inside it.
    #[arg(long)]
    cms: bool,
    /// OFD/PDF input: the page to place the stamp on (from 1).
    #[arg(long, default_value_t = 1)]
    page: usize,
    /// OFD/PDF input: the stamp's top-left corner "X,Y" in mm from the page's top-left.
    #[arg(long, default_value = "120,40")]
    at: String,
    /// PDF input: centre the stamp just below the first occurrence of this text on --page.
    #[arg(long, conflicts_with = "at")]
    near: Option<String>,
    /// PDF input: expected signature algorithm (sm2: national mode, CMS SM2/SM3 with
    /// the seal signature inside; p256: international mode, ECDSA P-256/SHA-256).
    /// The key decides; this only guards against using the wrong key.
    #[arg(long, value_enum)]
    alg: Option<PdfAlg>,
    /// PDF input: add an RFC 3161 signature time stamp (PAdES B-T) from the TSA
    /// of the trust domain that issued the signer's certificate (needs the CA
    /// passphrase: --ca-passphrase-file or YINZHENG_PASSPHRASE).
    #[arg(long)]
    tsa: bool,
    /// File whose first line is the CA passphrase, for --tsa.
    #[arg(long)]
    ca_passphrase_file: Option<PathBuf>,
    /// PDF input: write /SubFilter adbe.pkcs7.detached instead of ETSI.CAdES.detached.
    #[arg(long)]
    pkcs7: bool,
    /// PDF input: a text line under the seal (e.g. signer and time).
    #[arg(long)]
    caption: Option<String>,
    /// PDF input: /Reason of the signature.
    #[arg(long)]
    reason: Option<String>,
    /// PDF input: /Location of the signature.
    #[arg(long)]
    location: Option<String>,
}

/// Signature algorithms of PDF seals.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum PdfAlg {
    /// SM2 with SM3 (national mode).
    Sm2,
    /// ECDSA P-256 with SHA-256 (international mode).
    P256,
}

/// The time-stamping authority of the trust domain in `dir`, its key
/// unlocked with the CA passphrase `pass` (`flag` says how to give it) —
/// none needed when the TSA's key, and the issuing CA's that certifies a new
/// TSA, are in devices.
pub fn domain_tsa(
    home: &Home,
    dir: &Path,
    pass: Option<&[u8]>,
    flag: &str,
) -> Result<yinzheng_cms::TimeStampAuthority> {
    let mut domain = yinzheng_ca::TrustDomain::open_in(dir, home.store(), pass)?;
    let tsa = domain.time_stamp_authority();
    match (tsa, pass) {
        (Ok(t), _) => Ok(t),
        (Err(e), Some(_)) => Err(e.into()),
        (Err(e), None) => Err(anyhow::Error::from(e).context(format!(
            "--tsa: the TSA's key is a file (or the issuing CA's, to certify a new TSA): \
             give the CA passphrase ({flag} or YINZHENG_PASSPHRASE)"
        ))),
    }
}

/// The registry of `home`.
pub fn registry(home: &Home) -> Result<Registry> {
    Ok(Registry::open_in(
        &home.data_dir().seal_registry(),
        home.store(),
    )?)
}

/// The data directory's seal registry when it has one: verifying never
/// creates a registry (an empty one would only report "not a seal of this
/// registry" for every seal).
pub fn existing_registry(home: &Home) -> Option<Registry> {
    let path = home.data_dir().seal_registry();
    if !home.store().is_postgres() && !path.exists() {
        return None;
    }
    Registry::open_in(&path, home.store()).ok()
}

fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

/// Run a `seal` subcommand.
pub fn run(cmd: &SealCommand, home: &Home, out: &Output) -> Result<ExitCode> {
    match cmd {
        SealCommand::Make(a) => make(a, home, out),
        SealCommand::List => {
            let reg = registry(home)?;
            let seals = reg.list()?;
            let v: Vec<_> = seals
                .iter()
                .map(|s| serde_json::json!({"id": s.id, "name": s.name, "holder": s.holder, "status": shown_status(s)}))
                .collect();
            out.result(&v, || {
                if seals.is_empty() {
                    return "no seals registered".into();
                }
                seals
                    .iter()
                    .map(|s| {
                        format!(
                            "{}  {:<10} {}  ({})",
                            s.id,
                            shown_status(s),
                            s.name,
                            s.holder
                        )
                    })
                    .collect::<Vec<_>>()
                    .join("\n")
            });
            Ok(ExitCode::SUCCESS)
        }
        SealCommand::Show(a) => {
            let reg = registry(home)?;
            let s = reg
                .get(&a.id)?
                .with_context(|| format!("no seal {} in the registry", a.id))?;
            let seal = Seal::parse(&s.der)?;
            if let Some(p) = &a.picture_out {
                io::write_atomic(p, &seal.picture().data, false)?;
            }
            let events = reg.events(&a.id)?;
            let v = serde_json::json!({
                "id": s.id, "name": s.name, "holder": s.holder, "status": shown_status(&s),
                "validStart": seal.valid_start().to_string(), "validEnd": seal.valid_end().to_string(),
                "history": events.iter().map(|e| serde_json::json!({"seq": e.seq, "at": e.at, "actor": e.actor, "action": e.action, "reason": e.reason})).collect::<Vec<_>>(),
            });
            out.result(&v, || {
                let mut t = format!(
                    "{}  {}  [{}]\n  holder: {}\n  valid:  {} .. {}\n  history:",
                    s.id,
                    s.name,
                    shown_status(&s),
                    s.holder,
                    seal.valid_start(),
                    seal.valid_end()
                );
                for e in &events {
                    t.push_str(&format!(
                        "\n    #{} {} {} by {}{}",
                        e.seq,
                        e.at,
                        e.action,
                        e.actor,
                        if e.reason.is_empty() {
                            String::new()
                        } else {
                            format!(": {}", e.reason)
                        }
                    ));
                }
                t
            });
            Ok(ExitCode::SUCCESS)
        }
        SealCommand::Suspend(a) => transition(home, a, SealStatus::Suspended, out),
        SealCommand::Resume(a) => transition(home, a, SealStatus::Active, out),
        SealCommand::Revoke(a) => transition(home, a, SealStatus::Revoked, out),
        SealCommand::Inspect(a) => inspect(a, out),
        SealCommand::Draw(a) => {
            let font = load_font(a.font.as_deref())?;
            let png = match a.shape {
                ShapeArg::Round => {
                    yinzheng_seal::draw_round(&font, &a.text, &a.kind, a.size_mm.unwrap_or(40.0))?
                }
                ShapeArg::Square => {
                    yinzheng_seal::draw_square(&font, &a.text, a.size_mm.unwrap_or(20.0))?
                }
            };
            io::write_atomic(&a.out, &png, false)?;
            let v =
                serde_json::json!({"picture": a.out, "bytes": png.len(), "font": font.source()});
            out.result(&v, || {
                format!(
                    "drew {} ({} bytes, font {})",
                    a.out.display(),
                    png.len(),
                    font.source()
                )
            });
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// The status to show: a registered "active" seal past its validEnd is "expired".
fn shown_status(s: &yinzheng_seal::RegisteredSeal) -> &'static str {
    let expired =
        Seal::parse(&s.der).is_ok_and(|seal| seal.valid_end() < time::OffsetDateTime::now_utc());
    if s.status == SealStatus::Active && expired {
        "expired"
    } else {
        s.status.name()
    }
}

fn transition(home: &Home, a: &StatusArgs, to: SealStatus, out: &Output) -> Result<ExitCode> {
    let mut reg = registry(home)?;
    let s = reg.transition(&a.id, to, &a.actor, &a.reason, now())?;
    let v = serde_json::json!({"id": s.id, "status": s.status.name()});
    out.result(&v, || format!("seal {} is now {}", s.id, s.status.name()));
    Ok(ExitCode::SUCCESS)
}

fn first_cert(p: &Path) -> Result<ParsedCert> {
    ParsedCert::load_all(&io::read_limited(p, 4 << 20, "certificate")?)?
        .into_iter()
        .next()
        .with_context(|| format!("{} holds no certificate", p.display()))
}

fn make(a: &MakeArgs, home: &Home, out: &Output) -> Result<ExitCode> {
    let holder = match (&a.holder_uscc, &a.holder_id) {
        (Some(u), None) => {
            yinzheng_pki::ids::check_uscc(u).map_err(anyhow::Error::msg)?;
            u.clone()
        }
        (None, Some(i)) => {
            yinzheng_pki::ids::check_citizen_id(i).map_err(anyhow::Error::msg)?;
            i.clone()
        }
        _ => bail!("name the holder: --holder-uscc (organisation) or --holder-id (person)"),
    };
    let (kind_label, personal) = match a.seal_type {
        TypeArg::Official => ("", false),
        TypeArg::Contract => ("合同专用章", false),
        TypeArg::Finance => ("财务专用章", false),
        TypeArg::Invoice => ("发票专用章", false),
        TypeArg::LegalRepresentative => ("", true),
        TypeArg::Other => ("", false),
    };
    let picture_bytes = match (&a.picture, a.draw) {
        (Some(p), false) => io::read_limited(p, yinzheng_seal::MAX_PICTURE_LEN as u64, "picture")?,
        (None, true) => {
            let font = load_font(a.font.as_deref())?;
            let text = a
                .draw_text
                .clone()
                .unwrap_or_else(|| a.name.trim_end_matches(kind_label).trim().to_string());
            if personal || a.holder_id.is_some() {
                yinzheng_seal::draw_square(&font, &text, a.width_mm as f32)?
            } else {
                yinzheng_seal::draw_round(&font, &text, kind_label, a.width_mm as f32)?
            }
        }
        _ => bail!("give the seal picture: --picture FILE or --draw"),
    };
    let kind = if picture_bytes.starts_with(b"\x89PNG") {
        "PNG"
    } else if picture_bytes.starts_with(&[0xff, 0xd8]) {
        "JPG"
    } else {
        bail!("the picture must be PNG or JPG");
    };
    let maker_cert = first_cert(&a.maker_cert)?;
    let maker_key = crate::cmd::key::load_signer(&a.maker_key, a.passphrase_file.as_deref())?;
    if Some(maker_key.public_key()) != maker_cert.public_key() {
        bail!("--maker-key does not belong to --maker-cert");
    }
    let id = match &a.id {
        Some(i) => i.clone(),
        None => {
            let mut b = [0u8; 16];
            getrandom_fill(&mut b)?;
            hex::encode(b)
        }
    };
    let seal_type = match a.seal_type {
        TypeArg::Official => SealType::Official,
        TypeArg::Contract => SealType::Contract,
        TypeArg::Finance => SealType::Finance,
        TypeArg::Invoice => SealType::Invoice,
        TypeArg::LegalRepresentative => SealType::LegalRepresentative,
        TypeArg::Other => SealType::Other(99),
    };
    let start = time::OffsetDateTime::now_utc().replace_nanosecond(0)?;
    let mut b = SealBuilder::new(
        &id,
        &a.name,
        seal_type,
        Picture {
            kind: kind.into(),
            data: picture_bytes,
            width_mm: a.width_mm,
            height_mm: a.height_mm,
        },
    )
    .validity(start, start + time::Duration::days(a.valid_days));
    for p in &a.signer_cert {
        b = b.signer_cert(first_cert(p)?.der());
    }
    let seal = b.sign(maker_key.as_ref(), maker_cert.der())?;
    let mut reg = registry(home)?;
    reg.register(&seal, &holder, &a.actor, now())?;
    io::write_atomic(&a.out, seal.raw(), false)?;
    let v = serde_json::json!({"id": seal.id(), "name": seal.name(), "holder": holder, "seal": a.out, "validEnd": seal.valid_end().to_string()});
    out.result(&v, || {
        format!(
            "made seal {} ({}) for {holder}, written to {} and registered",
            seal.id(),
            seal.name(),
            a.out.display()
        )
    });
    Ok(ExitCode::SUCCESS)
}

fn load_font(path: Option<&Path>) -> Result<yinzheng_seal::SealFont> {
    Ok(match path {
        Some(p) => yinzheng_seal::SealFont::load(p)?,
        None => yinzheng_seal::SealFont::find()?,
    })
}

fn getrandom_fill(b: &mut [u8]) -> Result<()> {
    // The crypto crate owns randomness; a key generation is overkill, so use SM3 of a fresh key's public half.
    let k = yinzheng_crypto::PrivateKey::generate(yinzheng_crypto::KeyAlgorithm::Ed25519)?;
    let d = yinzheng_crypto::sm3(&k.public_key().raw_bytes());
    b.copy_from_slice(&d[..b.len()]);
    Ok(())
}

/// Run `stamp`.
pub fn stamp(a: &StampArgs, home: &Home, out: &Output) -> Result<ExitCode> {
    let (s, seal, key, cert) =
        stamping_identity(home, &a.seal, &a.key, a.passphrase_file.as_deref())?;
    let cert = cert.as_slice();
    let now = time::OffsetDateTime::now_utc().replace_nanosecond(0)?;
    let data = io::read_message(&a.input, !out.is_json())?;
    let (x, y) =
        a.at.split_once(',')
            .and_then(|(x, y)| Some((x.trim().parse::<f64>().ok()?, y.trim().parse::<f64>().ok()?)))
            .with_context(|| format!("--at {:?}: expected X,Y in millimetres", a.at))?;
    if data.starts_with(b"%PDF-") {
        return stamp_pdf(a, home, out, &s, &seal, &key, cert, &data, now, (x, y));
    }
    if data.starts_with(b"PK\x03\x04") {
        let sealed = yinzheng_document::stamp_ofd(
            &data,
            &seal,
            &key,
            cert,
            yinzheng_document::Placement {
                page: a.page,
                x_mm: x,
                y_mm: y,
            },
            now,
        )?;
        io::write_atomic(&a.out, &sealed, false)?;
        let v = serde_json::json!({"seal": s.id, "document": a.out, "format": "ofd", "page": a.page, "atMm": [x, y], "time": now.to_string()});
        out.result(&v, || {
            format!(
                "sealed OFD {} with seal {} ({}) on page {} at {x},{y} mm; written to {}",
                a.input.display(),
                s.id,
                s.name,
                a.page,
                a.out.display()
            )
        });
        return Ok(ExitCode::SUCCESS);
    }
    let property = a.property.clone().unwrap_or_else(|| {
        a.input
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default()
    });
    let sig = yinzheng_seal::stamp(&seal, &key, cert, &data, &property, now)?;
    if a.cms {
        let opts = yinzheng_cms::SignOptions {
            unsigned_attributes: vec![(
                yinzheng_cms::oid::ATTR_SES_SIGNATURE.to_string(),
                yinzheng_crypto::asn1::tlv(0x04, sig.raw()),
            )],
            signing_time: Some(now),
            ..Default::default()
        };
        let cms = yinzheng_cms::sign_detached(&key, cert, &[&data], &opts, None)?;
        io::write_atomic(&a.out, &cms, false)?;
        let v = serde_json::json!({"seal": s.id, "signature": a.out, "format": "cms", "time": now.to_string()});
        out.result(&v, || {
            format!(
                "signed {} with seal {} ({}); detached CMS written to {}",
                a.input.display(),
                s.id,
                s.name,
                a.out.display()
            )
        });
        return Ok(ExitCode::SUCCESS);
    }
    io::write_atomic(&a.out, sig.raw(), false)?;
    let v = serde_json::json!({"seal": s.id, "signature": a.out, "dataSm3": hex::encode(sig.data_hash()), "time": now.to_string()});
    out.result(&v, || {
        format!(
            "stamped {} with seal {} ({}); signature written to {}",
            a.input.display(),
            s.id,
            s.name,
            a.out.display()
        )
    });
    Ok(ExitCode::SUCCESS)
}

/// A registered seal, its parsed form, the signer's key (a file, a token or a
/// cipher machine) and the signer's certificate (DER) from the seal's list.
pub type StampingIdentity = (
    yinzheng_seal::RegisteredSeal,
    Seal,
    Box<dyn yinzheng_crypto::Signer>,
    Vec<u8>,
);

/// A registered, active seal in its validity window, the signer's key and the
/// certificate of that key in the seal's list: what stamping needs.
pub fn stamping_identity(
    home: &Home,
    seal_id: &str,
    key_path: &Path,
    passphrase_file: Option<&Path>,
) -> Result<StampingIdentity> {
    let reg = registry(home)?;
    let s = reg
        .get(seal_id)?
        .with_context(|| format!("no seal {seal_id} in the registry"))?;
    if s.status != SealStatus::Active {
        bail!("seal {} is {}: it cannot stamp", s.id, s.status.name());
    }
    let seal = Seal::parse(&s.der)?;
    let now = time::OffsetDateTime::now_utc().replace_nanosecond(0)?;
    if now < seal.valid_start() || now > seal.valid_end() {
        bail!(
            "seal {} is outside its validity window ({} .. {})",
            s.id,
            seal.valid_start(),
            seal.valid_end()
        );
    }
    let key = crate::cmd::key::load_signer(key_path, passphrase_file)?;
    let yinzheng_seal::CertList::Certificates(certs) = seal.cert_list() else {
        bail!(
            "seal {} lists certificate digests; stamping needs the certificate itself",
            s.id
        );
    };
    let cert = certs
        .iter()
        .find(|c| {
            ParsedCert::from_der(c)
                .ok()
                .and_then(|p| p.public_key().cloned())
                .as_ref()
                == Some(key.public_key())
        })
        .with_context(|| {
            format!(
                "the key {} is not authorised by seal {}",
                key_path.display(),
                s.id
            )
        })?
        .clone();
    Ok((s, seal, key, cert))
}

/// Every issuing CA certificate of the trust domains under `home`, with its
/// domain directory (`HOME/pki/<domain>/issuing*.pem`, never the keys).
fn local_issuing(home: &Home) -> Vec<(PathBuf, ParsedCert)> {
    let mut out = Vec::new();
    let Ok(domains) = std::fs::read_dir(DataDir::new(home).pki()) else {
        return out;
    };
    for domain in domains.flatten() {
        let dir = domain.path();
        let Ok(files) = std::fs::read_dir(&dir) else {
            continue;
        };
        for f in files.flatten() {
            let name = f.file_name().to_string_lossy().into_owned();
            if name.starts_with("issuing")
                && name.ends_with(".pem")
                && !name.ends_with(".key.pem")
                && let Ok(bytes) = std::fs::read(f.path())
            {
                for c in ParsedCert::load_all(&bytes).unwrap_or_default() {
                    out.push((dir.clone(), c));
                }
            }
        }
    }
    out
}

/// Every issuing CA certificate of the trust domains under `home` (help for
/// path building only: intermediates never make anything trusted).
pub fn local_issuing_cas(home: &Home) -> Vec<ParsedCert> {
    local_issuing(home).into_iter().map(|(_, c)| c).collect()
}

/// The issuing CA (and its trust domain directory) that issued `cert`, among
/// the trust domains of `home`.
pub fn local_issuer(home: &Home, cert: &ParsedCert) -> Option<(PathBuf, ParsedCert)> {
    local_issuing(home)
        .into_iter()
        .find(|(_, c)| c.subject() == cert.issuer())
}

#[allow(clippy::too_many_arguments)]
fn stamp_pdf(
    a: &StampArgs,
    home: &Home,
    out: &Output,
    s: &yinzheng_seal::RegisteredSeal,
    seal: &Seal,
    key: &dyn yinzheng_crypto::Signer,
    cert: &[u8],
    data: &[u8],
    now: time::OffsetDateTime,
    (x, y): (f64, f64),
) -> Result<ExitCode> {
    use yinzheng_document::{
        PdfPosition, PdfSealAppearance, PdfSealMode, PdfSealer, PdfStampOptions, PdfSubFilter,
    };
    let mode = PdfSealMode::for_key(key.public_key().algorithm())?;
    let national = mode == PdfSealMode::National;
    match (a.alg, national) {
        (Some(PdfAlg::Sm2), false) => bail!("--alg sm2 but {} is a P-256 key", a.key.display()),
        (Some(PdfAlg::P256), true) => bail!("--alg p256 but {} is an SM2 key", a.key.display()),
        _ => {}
    }
    let parsed = ParsedCert::from_der(cert)?;
    let issuer = local_issuer(home, &parsed);
    let chain: Vec<Vec<u8>> = issuer.iter().map(|(_, c)| c.der().to_vec()).collect();
    let tsa = if a.tsa {
        let (dir, _) = issuer.as_ref().with_context(|| {
            format!(
                "--tsa: the CA that issued {} is not a trust domain under {}",
                parsed.subject(),
                home.display()
            )
        })?;
        let pass = io::passphrase(a.ca_passphrase_file.as_deref())?;
        Some(domain_tsa(
            home,
            dir,
            pass.as_deref().map(|p| &p[..]),
            "--ca-passphrase-file F",
        )?)
    } else {
        None
    };
    let appearance = PdfSealAppearance::of_seal(seal, a.caption.clone())?;
    let mut opts = PdfStampOptions::new(now.to_offset(time::UtcOffset::from_hms(8, 0, 0)?));
    opts.page = a.page;
    opts.position = match &a.near {
        Some(text) => PdfPosition::Near { text: text.clone() },
        None => PdfPosition::At { x_mm: x, y_mm: y },
    };
    opts.appearance = Some(appearance);
    opts.sub_filter = if a.pkcs7 {
        PdfSubFilter::Pkcs7Detached
    } else {
        PdfSubFilter::CadesDetached
    };
    opts.name = Some(parsed.subject());
    opts.reason = a.reason.clone();
    opts.location = a.location.clone();
    let sealed = yinzheng_document::seal_pdf(
        data,
        &opts,
        &PdfSealer {
            signer: key,
            certificate: cert,
            chain,
            seal: mode.carried(seal),
            tsa: tsa.as_ref(),
        },
    )?;
    io::write_atomic(&a.out, &sealed, false)?;
    let mode = mode.describe();
    let v = serde_json::json!({
        "seal": s.id, "document": a.out, "format": "pdf", "page": a.page,
        "atMm": if a.near.is_some() { serde_json::Value::Null } else { serde_json::json!([x, y]) },
        "near": a.near, "mode": if national { "sm2" } else { "p256" },
        "timeStamp": a.tsa, "time": now.to_string(),
    });
    out.result(&v, || {
        format!(
            "sealed PDF {} with seal {} ({}) on page {}, {mode}{}; written to {}",
            a.input.display(),
            s.id,
            s.name,
            a.page,
            if a.tsa { ", with a time stamp" } else { "" },
            a.out.display()
        )
    });
    Ok(ExitCode::SUCCESS)
}

fn inspect(a: &InspectArgs, out: &Output) -> Result<ExitCode> {
    let bytes = io::read_limited(&a.file, yinzheng_seal::MAX_SEAL_LEN as u64, "file")?;
    let (sig, seal) = match SealSignature::parse(&bytes) {
        Ok(sig) => {
            let seal = sig.seal().clone();
            (Some(sig), seal)
        }
        Err(_) => (
            None,
            Seal::parse(&bytes).with_context(|| {
                format!(
                    "{} is neither a seal nor a seal signature",
                    a.file.display()
                )
            })?,
        ),
    };
    let certs = match seal.cert_list() {
        yinzheng_seal::CertList::Certificates(c) => c
            .iter()
            .map(|d| {
                ParsedCert::from_der(d)
                    .map(|p| p.subject())
                    .unwrap_or_else(|e| format!("<{e}>"))
            })
            .collect::<Vec<_>>(),
        yinzheng_seal::CertList::Digests(d) => d
            .iter()
            .map(|(k, v)| format!("{k}:{}", hex::encode(v)))
            .collect(),
        _ => Vec::new(),
    };
    let maker = ParsedCert::from_der(seal.maker_cert())
        .map(|p| p.subject())
        .unwrap_or_else(|e| format!("<{e}>"));
    let mut v = serde_json::json!({
        "seal": {
            "version": format!("{:?}", seal.version()), "id": seal.id(), "vendor": seal.vendor(), "type": seal.seal_type(),
            "name": seal.name(), "signers": certs, "created": seal.created().to_string(),
            "validStart": seal.valid_start().to_string(), "validEnd": seal.valid_end().to_string(),
            "picture": {"type": seal.picture().kind, "bytes": seal.picture().data.len(), "widthMm": seal.picture().width_mm, "heightMm": seal.picture().height_mm},
            "maker": maker, "makerAlgorithm": seal.maker_algorithm(), "warnings": seal.warnings(),
        }
    });
    if let Some(s) = &sig {
        let signer = ParsedCert::from_der(s.signer_cert())
            .map(|p| p.subject())
            .unwrap_or_else(|e| format!("<{e}>"));
        v["signature"] = serde_json::json!({
            "version": format!("{:?}", s.version()), "time": s.signing_time().to_string(), "dataHash": hex::encode(s.data_hash()),
            "propertyInfo": s.property_info(), "signer": signer, "algorithm": s.algorithm(), "timestamp": s.timestamp().is_some(),
            "warnings": s.warnings(),
        });
    }
    out.result(&v, || serde_json::to_string_pretty(&v).unwrap_or_default());
    Ok(ExitCode::SUCCESS)
}
