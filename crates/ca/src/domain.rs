//! A trust domain on disk: root CA, issuing CA, OCSP responder, profiles and the
//! certificate store, in `<home>/pki/<name>/`.
//!
//! ```text
//! root.pem  root.key.pem        self-signed root (key encrypted, PBES2 SM4/HMAC-SM3)
//! issuing.pem  issuing.key.pem  the main issuing CA ("main"): end entities, CRL
//! issuing-NAME.pem  …key.pem    further issuing CAs added with `add_issuing`
//! ocsp.pem  ocsp.key.pem        delegated OCSP responder (profile ocsp-responder)
//! tsa.pem  tsa.key.pem          the time-stamping authority, made on first use
//! profiles.toml                 end-entity profiles, editable
//! ca.db                         every issued certificate and its revocation state
//! ```
//!
//! A key kept in a device has, instead of its `NAME.key.pem`, a `NAME.key.uri`
//! holding the key's `pkcs11:` URI (a PKCS#11 token) or `sdf:` reference (a
//! GM/T 0018 cipher machine); never a PIN or password, which come from the
//! files or environment variables the reference names. [`InitOptions::token`]
//! makes every CA key of a new domain on a token; [`InitOptions::keys`] uses
//! keys already in devices (an SDF device's keys are provisioned by its own
//! tool, by index).

use crate::error::{Error, Result};
use crate::store::Store;
use der::{Decode, Encode};
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use x509_cert::builder::{Builder, CertificateBuilder};
use x509_cert::name::Name;
use x509_cert::serial_number::SerialNumber;
use x509_cert::time::Validity;
use yinzheng_crypto::{KeyAlgorithm, KeyEncryption, PrivateKey, PublicKey, Signer, Sm2Id};
use yinzheng_pkcs11::{Pkcs11Key, Pkcs11Uri};
use yinzheng_pki::issue::{self, CertProfile, Kind};
use yinzheng_pki::{CertStatus, Crl, Profiles, StoredCert, SubjectExtras, ids};
use yinzheng_pki::{Clock, ParsedCert, X509Signer};
use yinzheng_store::{Backend, DataDir};

const DAY: u64 = 86_400;

/// The root CRL (ARL) signed ahead at a key ceremony, in the domain
/// directory, used when the root's key is kept offline.
pub const ROOT_ARL_FILE: &str = "root-arl.der";

/// How long a CRL the CA publishes is valid (nextUpdate), in hours: a week.
/// Every revocation, hold and release publishes its CA's CRL at once, and
/// `yinzheng ca crl` (daily, from cron) signs them all ahead again; verify
/// servers only publish and trust what the CA signed.
pub const PUBLISHED_CRL_HOURS: u32 = 7 * 24;

/// How to create a trust domain.
#[derive(Clone, Debug)]
pub struct InitOptions {
    /// Root CA subject DN (RFC 4514 text).
    pub root_subject: String,
    /// Issuing CA subject DN; derived from the root's when absent.
    pub issuing_subject: Option<String>,
    /// Key algorithm of the CA keys (SM2 by default; P-256 for an ECDSA domain).
    pub key_algorithm: KeyAlgorithm,
    /// Root validity in days.
    pub root_days: u32,
    /// Issuing CA validity in days.
    pub issuing_days: u32,
    /// How CA keys are encrypted.
    pub key_encryption: KeyEncryption,
    /// Start of the CA certificates' validity (default: now). An earlier
    /// start lets a domain cover documents that predate it (a migrated CA,
    /// tests of proven past times).
    pub not_before: Option<SystemTime>,
    /// Where "now" comes from for this domain (validity starts, CRL and OCSP
    /// times, issuance records): the system clock by default.
    pub clock: Arc<dyn Clock>,
    /// Make the CA keys (root, issuing, OCSP responder, later the TSA) on this
    /// PKCS#11 token (a token URI: `pkcs11:token=…?module-path=…&pin-source=…`)
    /// instead of encrypted files: P-256 only, labelled `yinzheng-<domain>-<key>`.
    pub token: Option<Pkcs11Uri>,
    /// Use these keys, already in devices, for the root, issuing CA and OCSP
    /// responder (`pkcs11:` URIs or `sdf:` references), instead of making keys.
    pub keys: Option<CaKeyUris>,
    /// The OCSP responder key file's own passphrase (it goes to the verify
    /// servers, which must not learn the CA passphrase); default: the CA
    /// passphrase.
    pub ocsp_key_passphrase: Option<Passphrase>,
    /// A key already in a device (`pkcs11:` URI or `sdf:` reference) for the
    /// time-stamping authority, certified when it is first used; checked
    /// (the domain's algorithm, no other key's) before the domain is made.
    pub tsa_key: Option<String>,
}

/// A passphrase held in memory: zeroized when dropped, never printed.
#[derive(Clone)]
pub struct Passphrase(zeroize::Zeroizing<Vec<u8>>);

impl Passphrase {
    /// Hold `bytes`.
    pub fn new(bytes: &[u8]) -> Self {
        Passphrase(zeroize::Zeroizing::new(bytes.to_vec()))
    }

    /// The passphrase's bytes.
    pub fn expose(&self) -> &[u8] {
        &self.0
    }
}

impl std::fmt::Debug for Passphrase {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Passphrase(..)")
    }
}

/// How [`TrustDomain::renew_ocsp_responder`] makes the new responder (no
/// `Debug`: it may hold a passphrase).
#[derive(Clone, Default)]
pub struct ResponderRenewal<'a> {
    /// Validity in days (default: the `ocsp-responder` profile's); clamped to
    /// the issuing CA's notAfter.
    pub days: Option<u32>,
    /// A key already in a device (`pkcs11:` URI or `sdf:` reference) instead
    /// of a new one.
    pub key: Option<&'a str>,
    /// The passphrase of a new key file (the responder key's own; default:
    /// the CA passphrase the domain was opened with).
    pub key_passphrase: Option<&'a [u8]>,
    /// How a new key file is encrypted.
    pub key_encryption: KeyEncryption,
}

/// The device keys of a new domain's three CA keys (see [`InitOptions::keys`]).
#[derive(Clone, Debug)]
pub struct CaKeyUris {
    /// The root's key.
    pub root: String,
    /// The main issuing CA's key.
    pub issuing: String,
    /// The OCSP responder's key.
    pub ocsp: String,
}

use crate::key_ref::{open_device_key as open_key_uri, read_key_uri_file};

impl InitOptions {
    /// SM2 domain, 20-year root, 10-year issuing CA.
    pub fn new(root_subject: impl Into<String>) -> Self {
        InitOptions {
            root_subject: root_subject.into(),
            issuing_subject: None,
            key_algorithm: KeyAlgorithm::Sm2,
            root_days: 20 * 365,
            issuing_days: 10 * 365,
            key_encryption: KeyEncryption::default(),
            not_before: None,
            clock: yinzheng_pki::system_clock(),
            token: None,
            keys: None,
            ocsp_key_passphrase: None,
            tsa_key: None,
        }
    }
}

/// A CA key just made or taken: in a file to be written encrypted, or in a
/// device, recorded by its URI.
enum NewKey {
    File(Box<PrivateKey>),
    Device {
        signer: Box<dyn Signer>,
        uri: String,
    },
}

impl NewKey {
    /// Make a key of `algorithm`: on `token` (labelled `label`) or in memory.
    fn generate(algorithm: KeyAlgorithm, token: Option<&Pkcs11Uri>, label: &str) -> Result<Self> {
        Ok(match token {
            Some(t) => {
                let key = Pkcs11Key::generate(&t.key(label), algorithm)?;
                let uri = key.uri().to_string();
                NewKey::Device {
                    signer: Box::new(key),
                    uri,
                }
            }
            None => NewKey::File(Box::new(PrivateKey::generate(algorithm)?)),
        })
    }

    /// The device key `text` names, which must be of `algorithm`.
    fn existing(text: &str, algorithm: KeyAlgorithm, role: &str) -> Result<Self> {
        let (signer, uri) = open_key_uri(text)?;
        let found = signer.public_key().algorithm();
        if found != algorithm {
            return Err(Error::Refused(format!(
                "the {role} key {uri} is {found}, the domain's keys are {algorithm}"
            )));
        }
        Ok(NewKey::Device { signer, uri })
    }

    fn signer(&self) -> &dyn Signer {
        match self {
            NewKey::File(k) => k.as_ref(),
            NewKey::Device { signer, .. } => signer.as_ref(),
        }
    }

    /// Record the key in `dir` as `NAME.key.pem` (encrypted with `passphrase`,
    /// which a key file needs) or `NAME.key.uri`, `pem_name` being `NAME.key.pem`.
    fn save(
        &self,
        dir: &Path,
        pem_name: &str,
        passphrase: Option<&[u8]>,
        enc: &KeyEncryption,
    ) -> Result<()> {
        match self {
            NewKey::File(k) => {
                let passphrase = passphrase.ok_or_else(|| {
                    Error::Domain(format!("writing {pem_name} needs the CA passphrase"))
                })?;
                let pem = k.to_encrypted_pkcs8_pem(passphrase, enc)?;
                write_atomic(&dir.join(pem_name), pem.as_bytes(), true)
            }
            NewKey::Device { uri, .. } => write_atomic(
                &dir.join(uri_name(pem_name)),
                format!("{uri}\n").as_bytes(),
                true,
            ),
        }
    }
}

/// Keys an operation made on a token, destroyed again when it fails before
/// it recorded them (so a failed `ca init` leaves no orphan key whose label
/// a retry would be refused); [`MadeKeys::keep`] once they are recorded.
#[derive(Default)]
struct MadeKeys(Vec<Pkcs11Uri>);

impl MadeKeys {
    /// Note `key`, just made on a token.
    fn note(&mut self, key: &NewKey) {
        if let NewKey::Device { uri, .. } = key
            && let Ok(u) = Pkcs11Uri::parse(uri)
        {
            self.0.push(u);
        }
    }

    /// The keys are recorded: keep them.
    fn keep(&mut self) {
        self.0.clear();
    }
}

impl Drop for MadeKeys {
    fn drop(&mut self) {
        for uri in self.0.drain(..) {
            // Best effort: a key that cannot be destroyed stays, named by
            // its label in the token's listing.
            let _ = Pkcs11Key::destroy(&uri);
        }
    }
}

/// `NAME.key.uri` for `NAME.key.pem`: where a token key's URI is kept.
fn uri_name(pem_name: &str) -> String {
    format!("{}.uri", pem_name.strip_suffix(".pem").unwrap_or(pem_name))
}

/// The label of a domain's key on a token.
fn token_label(dir: &Path, key: &str) -> String {
    let domain = dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    format!("yinzheng-{domain}-{key}")
}

/// Where the subject's public key comes from.
#[non_exhaustive]
pub enum KeySource<'a> {
    /// A PKCS#10 request (PEM or DER); proof of possession is checked with this SM2 ID.
    Csr(&'a [u8], Sm2Id),
    /// The CA generates the key (profile's algorithm) and returns it.
    Generate,
    /// A public key whose private key the caller generated itself in this
    /// process (no proof of possession is possible or needed).
    OwnKey(&'a PublicKey),
}

/// A request to issue an end-entity certificate.
pub struct IssueRequest<'a> {
    /// Profile name from profiles.toml.
    pub profile: &'a str,
    /// Subject DN (RFC 4514); with a CSR, absent means "the CSR's subject".
    pub subject: Option<&'a str>,
    /// USCC, ID number, SANs.
    pub extras: SubjectExtras,
    /// Where the key comes from.
    pub key: KeySource<'a>,
    /// Start of validity (default: now).
    pub not_before: Option<SystemTime>,
    /// Validity in days (default: the profile's), clamped to the issuer's notAfter.
    pub days: Option<u32>,
    /// Which issuing CA signs ("main" when None).
    pub issuer: Option<&'a str>,
}

/// What `issue` returns.
pub struct Issued {
    /// The certificate.
    pub cert: ParsedCert,
    /// The generated private key (KeySource::Generate only).
    pub key: Option<PrivateKey>,
    /// True when the requested validity was cut to the issuer's notAfter.
    pub clamped: bool,
}

/// A trust domain opened from disk.
pub struct TrustDomain {
    dir: PathBuf,
    root: ParsedCert,
    issuing: ParsedCert,
    /// Further issuing CAs by name (never "main" or "root").
    extra_issuers: std::collections::BTreeMap<String, ParsedCert>,
    ocsp: ParsedCert,
    profiles: Profiles,
    store: Store,
    passphrase: Option<zeroize::Zeroizing<Vec<u8>>>,
    clock: Arc<dyn Clock>,
}

/// The directory of domain `name` under `home`.
pub fn domain_dir(home: &Path, name: &str) -> PathBuf {
    DataDir::new(home).trust_domain(name)
}

impl TrustDomain {
    /// Create a new trust domain in `dir` (which must not already hold one),
    /// its certificate store in `backend`.
    pub fn init_in(
        dir: &Path,
        backend: &Backend,
        opts: &InitOptions,
        passphrase: &[u8],
    ) -> Result<Self> {
        if dir.join("root.pem").exists() {
            return Err(Error::Domain(format!(
                "{} already holds a trust domain",
                dir.display()
            )));
        }
        let made = std::cell::RefCell::new(MadeKeys::default());
        let domain = Self::init_making(dir, backend, opts, passphrase, &made);
        // Keys made on a token for a domain that was not made are destroyed
        // (once root.pem is written the domain exists, and keeps them).
        if domain.is_ok() || dir.join("root.pem").exists() {
            made.borrow_mut().keep();
        }
        domain
    }

    /// [`Self::init_in`], noting in `made` each key it makes on a token.
    fn init_making(
        dir: &Path,
        backend: &Backend,
        opts: &InitOptions,
        passphrase: &[u8],
        made: &std::cell::RefCell<MadeKeys>,
    ) -> Result<Self> {
        if dir.join("root.pem").exists() {
            return Err(Error::Domain(format!(
                "{} already holds a trust domain",
                dir.display()
            )));
        }
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
        let root_name = parse_name(&opts.root_subject)?;
        let issuing_subject = match &opts.issuing_subject {
            Some(s) => s.clone(),
            None => derive_issuing_subject(&opts.root_subject),
        };
        let issuing_name = parse_name(&issuing_subject)?;
        let now = opts.not_before.unwrap_or_else(|| opts.clock.now());
        let issued_at = unix(opts.clock.now());

        if opts.token.is_some() && opts.key_algorithm != KeyAlgorithm::EcdsaP256 {
            return Err(Error::Refused(format!(
                "CA keys on a PKCS#11 token are P-256 (--algorithm p256), not {}: SM2 keys \
                 belong in a GM/T 0018 cipher machine",
                opts.key_algorithm
            )));
        }
        let token = opts.token.as_ref();
        if token.is_some() && opts.keys.is_some() {
            return Err(Error::Refused(
                "make the CA keys on a token or use existing device keys, not both".into(),
            ));
        }
        let key_for = |role: &str, existing: Option<&String>| match existing {
            Some(text) => NewKey::existing(text, opts.key_algorithm, role),
            None => {
                let key = NewKey::generate(opts.key_algorithm, token, &token_label(dir, role))?;
                made.borrow_mut().note(&key);
                Ok(key)
            }
        };
        let keys = opts.keys.as_ref();
        let root_key = key_for("root", keys.map(|k| &k.root))?;
        let root = build_cert(
            root_key.signer(),
            root_key.signer().public_key(),
            root_name.clone(),
            root_name.clone(),
            now,
            now + Duration::from_secs(opts.root_days as u64 * DAY),
            Kind::Ca { path_len: Some(1) },
        )?;
        let issuing_key = key_for("issuing", keys.map(|k| &k.issuing))?;
        let not_after = clamp(
            now + Duration::from_secs(opts.issuing_days as u64 * DAY),
            root.not_after(),
        )
        .0;
        let issuing = build_cert(
            root_key.signer(),
            issuing_key.signer().public_key(),
            issuing_name.clone(),
            root_name,
            now,
            not_after,
            Kind::Ca { path_len: Some(0) },
        )?;
        let profiles = Profiles::defaults();
        let ocsp_profile = profiles.get("ocsp-responder")?.clone();
        let ocsp_key = key_for("ocsp", keys.map(|k| &k.ocsp))?;
        let publics = [&root_key, &issuing_key, &ocsp_key].map(|k| k.signer().public_key().clone());
        if publics[0] == publics[1] || publics[0] == publics[2] || publics[1] == publics[2] {
            return Err(Error::Refused(
                "the root, issuing CA and OCSP responder must each have a key of its own".into(),
            ));
        }
        let tsa_key = match &opts.tsa_key {
            Some(text) => {
                let key = NewKey::existing(text, opts.key_algorithm, "TSA")?;
                if publics.contains(key.signer().public_key()) {
                    return Err(Error::Refused(
                        "the TSA key is a CA or OCSP responder key: give it a key of its own"
                            .into(),
                    ));
                }
                Some(key)
            }
            None => None,
        };
        let ocsp_subject =
            parse_name(&format!("CN=OCSP Responder,{}", strip_cn(&issuing_subject)))?;
        let extras = SubjectExtras::default();
        let ocsp = build_cert(
            issuing_key.signer(),
            ocsp_key.signer().public_key(),
            ocsp_subject,
            issuing_name,
            now,
            clamp(
                now + Duration::from_secs(ocsp_profile.validity_days as u64 * DAY),
                issuing.not_after(),
            )
            .0,
            Kind::Leaf {
                profile: &ocsp_profile,
                urls: &profiles.urls,
                extras: &extras,
            },
        )?;

        for (name, key) in [
            ("root.key.pem", &root_key),
            ("issuing.key.pem", &issuing_key),
        ] {
            key.save(dir, name, Some(passphrase), &opts.key_encryption)?;
        }
        let ocsp_pass = opts
            .ocsp_key_passphrase
            .as_ref()
            .map_or(passphrase, Passphrase::expose);
        ocsp_key.save(dir, "ocsp.key.pem", Some(ocsp_pass), &opts.key_encryption)?;
        if let Some(k) = &tsa_key {
            k.save(dir, "tsa.key.pem", None, &opts.key_encryption)?;
        }
        write_atomic(&dir.join("issuing.pem"), issuing.to_pem().as_bytes(), false)?;
        write_atomic(&dir.join("ocsp.pem"), ocsp.to_pem().as_bytes(), false)?;
        write_atomic(
            &dir.join("profiles.toml"),
            profiles.to_toml().as_bytes(),
            false,
        )?;
        let mut store = Store::open_in(&dir.join("ca.db"), backend)?;
        for (c, p) in [
            (&root, "root"),
            (&issuing, "issuing-ca"),
            (&ocsp, "ocsp-responder"),
        ] {
            let issuer = if p == "ocsp-responder" {
                "main"
            } else {
                "root"
            };
            store.insert(
                &c.serial_hex(),
                &c.subject(),
                p,
                issuer,
                unix(c.not_before()),
                unix(c.not_after()),
                c.der(),
                issued_at,
            )?;
        }
        // root.pem last: its presence marks a complete domain.
        write_atomic(&dir.join("root.pem"), root.to_pem().as_bytes(), false)?;
        let mut domain =
            Self::open_in(dir, backend, Some(passphrase))?.with_clock(opts.clock.clone());
        // Verify servers trust only CRLs the CA signed: publish the first ones.
        domain.crl(PUBLISHED_CRL_HOURS)?;
        Ok(domain)
    }

    /// Whether every key of the domain in `dir` is on a token (its directory
    /// holds `NAME.key.uri` files and no `NAME.key.pem`): then signing needs
    /// the tokens' PINs, not the CA passphrase.
    pub fn keys_on_tokens_only(dir: &Path) -> bool {
        let names: Vec<String> = std::fs::read_dir(dir)
            .map(|d| {
                d.flatten()
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .collect()
            })
            .unwrap_or_default();
        names.iter().any(|n| n.ends_with(".key.uri"))
            && !names.iter().any(|n| n.ends_with(".key.pem"))
    }

    /// Open the domain in `dir`, its certificate store in `backend`. Without a
    /// passphrase only read operations work, and signing with keys on a token.
    pub fn open_in(dir: &Path, backend: &Backend, passphrase: Option<&[u8]>) -> Result<Self> {
        if !dir.join("root.pem").exists() {
            return Err(Error::Domain(format!(
                "no trust domain in {} (run `yinzheng ca init` first)",
                dir.display()
            )));
        }
        let load = |name: &str| -> Result<ParsedCert> {
            let p = dir.join(name);
            let bytes = std::fs::read(&p).map_err(|e| Error::io(&p, e))?;
            ParsedCert::load_all(&bytes)?
                .into_iter()
                .next()
                .ok_or_else(|| Error::Domain(format!("{} holds no certificate", p.display())))
        };
        let profiles_path = dir.join("profiles.toml");
        let text =
            std::fs::read_to_string(&profiles_path).map_err(|e| Error::io(&profiles_path, e))?;
        let mut extra_issuers = std::collections::BTreeMap::new();
        for entry in std::fs::read_dir(dir).map_err(|e| Error::io(dir, e))? {
            let entry = entry.map_err(|e| Error::io(dir, e))?;
            let file = entry.file_name().to_string_lossy().into_owned();
            if let Some(name) = file
                .strip_prefix("issuing-")
                .and_then(|f| f.strip_suffix(".pem"))
                && !name.ends_with(".key")
            {
                extra_issuers.insert(name.to_string(), load(&file)?);
            }
        }
        Ok(TrustDomain {
            root: load("root.pem")?,
            issuing: load("issuing.pem")?,
            extra_issuers,
            ocsp: load("ocsp.pem")?,
            profiles: Profiles::from_toml(&text)?,
            store: Store::open_in(&dir.join("ca.db"), backend)?,
            dir: dir.to_path_buf(),
            passphrase: passphrase.map(|p| zeroize::Zeroizing::new(p.to_vec())),
            clock: yinzheng_pki::system_clock(),
        })
    }

    /// Take "now" from `clock` (validity starts, CRL thisUpdate, OCSP
    /// producedAt, issuance records) instead of the system clock.
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// The current time by this domain's clock.
    pub fn now(&self) -> SystemTime {
        self.clock.now()
    }

    /// The root certificate.
    pub fn root(&self) -> &ParsedCert {
        &self.root
    }

    /// The issuing CA certificate.
    pub fn issuing(&self) -> &ParsedCert {
        &self.issuing
    }

    /// The issuing CA called `name` ("main" is [`Self::issuing`]).
    pub fn issuer(&self, name: &str) -> Result<&ParsedCert> {
        if name == "main" {
            return Ok(&self.issuing);
        }
        self.extra_issuers.get(name).ok_or_else(|| {
            let mut names: Vec<&str> = vec!["main"];
            names.extend(self.extra_issuers.keys().map(String::as_str));
            Error::Refused(format!(
                "no issuing CA {name:?}; known: {}",
                names.join(", ")
            ))
        })
    }

    /// Every issuing CA: ("main", …) first, then the added ones by name.
    pub fn issuers(&self) -> Vec<(&str, &ParsedCert)> {
        let mut v = vec![("main", &self.issuing)];
        v.extend(self.extra_issuers.iter().map(|(k, c)| (k.as_str(), c)));
        v
    }

    fn issuer_key_file(name: &str) -> String {
        if name == "main" {
            "issuing.key.pem".into()
        } else {
            format!("issuing-{name}.key.pem")
        }
    }

    /// Add an issuing CA called `name` under the root (pathLen 0), with the
    /// root's key algorithm; its key is written encrypted like the others.
    pub fn add_issuing(
        &mut self,
        name: &str,
        subject: &str,
        days: u32,
        enc: &KeyEncryption,
    ) -> Result<ParsedCert> {
        self.add_issuing_with_key(name, subject, days, enc, None)
    }

    /// [`Self::add_issuing`], its key `device_key` (a `pkcs11:` URI or an
    /// `sdf:` reference to a key already in a device; how a domain whose
    /// root is in a GM/T 0018 cipher machine adds one) when given.
    pub fn add_issuing_with_key(
        &mut self,
        name: &str,
        subject: &str,
        days: u32,
        enc: &KeyEncryption,
        device_key: Option<&str>,
    ) -> Result<ParsedCert> {
        let valid = !name.is_empty()
            && name.len() <= 32
            && name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
            && name != "main"
            && name != "root";
        if !valid {
            return Err(Error::Refused(format!(
                "issuing CA name {name:?}: 1-32 of a-z, 0-9 and '-', not \"main\" or \"root\""
            )));
        }
        if self.extra_issuers.contains_key(name) {
            return Err(Error::Refused(format!(
                "issuing CA {name:?} already exists"
            )));
        }
        let root_key = self.load_key("root.key.pem")?;
        let mut made = MadeKeys::default();
        let key = match device_key {
            Some(text) => {
                let key = NewKey::existing(
                    text,
                    root_key.public_key().algorithm(),
                    &format!("issuing CA {name:?}"),
                )?;
                if let Some(role) = self.key_in_use(key.signer().public_key())? {
                    return Err(Error::Refused(format!(
                        "the key {} is {role}'s: issuing CA {name:?} needs a key of its own",
                        text.split('?').next().unwrap_or(text)
                    )));
                }
                key
            }
            None => {
                // A domain whose root is on a token makes its issuing CAs there too.
                let token =
                    self.token_of("root.key.pem", &format!("the key of issuing CA {name:?}"))?;
                let key = NewKey::generate(
                    root_key.public_key().algorithm(),
                    token.as_ref(),
                    &token_label(&self.dir, &format!("issuing-{name}")),
                )?;
                made.note(&key);
                key
            }
        };
        let now = self.clock.now();
        let (not_after, _) = clamp(
            now + Duration::from_secs(days as u64 * DAY),
            self.root.not_after(),
        );
        let cert = build_cert(
            root_key.as_ref(),
            key.signer().public_key(),
            parse_name(subject)?,
            self.root.cert().tbs_certificate().subject().clone(),
            now,
            not_after,
            Kind::Ca { path_len: Some(0) },
        )?;
        key.save(
            &self.dir,
            &Self::issuer_key_file(name),
            self.passphrase.as_deref().map(|p| &p[..]),
            enc,
        )?;
        self.store.insert(
            &cert.serial_hex(),
            &cert.subject(),
            "issuing-ca",
            "root",
            unix(cert.not_before()),
            unix(cert.not_after()),
            cert.der(),
            unix(self.clock.now()),
        )?;
        // The certificate file last: its presence makes the CA usable.
        write_atomic(
            &self.dir.join(format!("issuing-{name}.pem")),
            cert.to_pem().as_bytes(),
            false,
        )?;
        made.keep();
        self.extra_issuers.insert(name.to_string(), cert.clone());
        let now = self.clock.now();
        self.publish_one(name, now, published_until(now))?;
        Ok(cert)
    }

    /// The OCSP responder certificate.
    pub fn ocsp_responder(&self) -> &ParsedCert {
        &self.ocsp
    }

    /// The profiles.
    pub fn profiles(&self) -> &Profiles {
        &self.profiles
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The key `name` (`NAME.key.pem`): from the token its `NAME.key.uri`
    /// names, else decrypted from the file with the CA passphrase.
    /// The key must be the one its certificate (`NAME.pem`, when there is
    /// one) certifies: a `NAME.key.uri` pointing elsewhere, or a replaced key
    /// file, is refused before anything is signed with it.
    pub(crate) fn load_key(&self, name: &str) -> Result<Box<dyn Signer>> {
        self.load_key_with(name, self.passphrase.as_deref().map(|p| p.as_slice()))
    }

    /// [`load_key`](Self::load_key), a key file decrypted with `passphrase`.
    fn load_key_with(&self, name: &str, passphrase: Option<&[u8]>) -> Result<Box<dyn Signer>> {
        let key: Box<dyn Signer> = match self.key_uri_text(name)? {
            Some(text) => {
                if self.dir.join(name).exists() {
                    return Err(Error::Domain(format!(
                        "both {name} and {} are in {}: keep the one the key lives in",
                        uri_name(name),
                        self.dir.display()
                    )));
                }
                open_key_uri(&text)?.0
            }
            None => Box::new(self.load_file_key(name, passphrase)?),
        };
        let cert_path = self.dir.join(format!(
            "{}.pem",
            name.strip_suffix(".key.pem").unwrap_or(name)
        ));
        if let Ok(bytes) = std::fs::read(&cert_path)
            && let Some(cert) = ParsedCert::load_all(&bytes)?.into_iter().next()
            && cert.public_key() != Some(key.public_key())
        {
            return Err(Error::Domain(format!(
                "the key {name} is not the key {} certifies: refusing to sign with it",
                cert_path.display()
            )));
        }
        Ok(key)
    }

    /// Whether key `name` is in this domain, in a file or on a token.
    fn has_key(&self, name: &str) -> bool {
        self.dir.join(name).exists() || self.dir.join(uri_name(name)).exists()
    }

    /// The text of `NAME.key.uri` for key `name`, when it is in a device.
    fn key_uri_text(&self, name: &str) -> Result<Option<String>> {
        read_key_uri_file(&self.dir.join(uri_name(name)))
    }

    /// The PKCS#11 token key `name` is on (its URI without the key), if any;
    /// an error for a key in an SDF device, where `what` cannot be made (its
    /// keys are provisioned by the device's own tool).
    fn token_of(&self, name: &str, what: &str) -> Result<Option<Pkcs11Uri>> {
        match self.key_uri_text(name)? {
            None => Ok(None),
            Some(text) if text.starts_with("sdf:") => Err(Error::Refused(format!(
                "{what}: this domain's keys are in a GM/T 0018 device, which cannot make one \
                 here; provision a key with the device's tool and write its sdf: reference \
                 to {} in {}",
                uri_name(name),
                self.dir.display()
            ))),
            Some(text) => Ok(Some(Pkcs11Uri {
                object: None,
                id: None,
                ..Pkcs11Uri::parse(&text)?
            })),
        }
    }

    fn load_file_key(&self, name: &str, passphrase: Option<&[u8]>) -> Result<PrivateKey> {
        let pass = passphrase.ok_or_else(|| {
            Error::Domain("this operation signs: the CA passphrase is needed".into())
        })?;
        let p = self.dir.join(name);
        let bytes = zeroize::Zeroizing::new(std::fs::read(&p).map_err(|e| Error::io(&p, e))?);
        PrivateKey::from_bytes(&bytes, Some(pass)).map_err(|e| match e {
            yinzheng_crypto::Error::Decryption if name == "ocsp.key.pem" => Error::Domain(format!(
                "cannot decrypt {}: wrong passphrase (the OCSP responder key may have its own: \
                 give that one)",
                p.display()
            )),
            yinzheng_crypto::Error::Decryption => Error::Domain(format!(
                "cannot decrypt {}: wrong CA passphrase",
                p.display()
            )),
            e => e.into(),
        })
    }

    /// Use `device_key` (a `pkcs11:` URI or `sdf:` reference) for the
    /// domain's time-stamping authority, made on first use by
    /// [`Self::time_stamp_authority`]: refused once the TSA exists, and for a
    /// key of another algorithm than the issuing CA's or one a CA or the OCSP
    /// responder already uses.
    pub fn set_tsa_key(&mut self, device_key: &str) -> Result<()> {
        if self.has_key("tsa.key.pem") || self.dir.join("tsa.pem").exists() {
            return Err(Error::Refused(
                "this domain's time-stamping authority already has its key".into(),
            ));
        }
        let alg = self
            .issuing
            .public_key()
            .map(|k| k.algorithm())
            .unwrap_or(KeyAlgorithm::Sm2);
        let key = NewKey::existing(device_key, alg, "TSA")?;
        if let Some(role) = self.key_in_use(key.signer().public_key())? {
            return Err(Error::Refused(format!(
                "that key is {role}'s: the TSA needs a key of its own"
            )));
        }
        key.save(&self.dir, "tsa.key.pem", None, &KeyEncryption::default())
    }

    /// The domain's RFC 3161 time-stamping authority: `tsa.pem` and
    /// `tsa.key.pem` (encrypted with the CA passphrase), created on first use
    /// under profile `tsa` by the main issuing CA, with a key of the issuing
    /// CA's algorithm (so a P-256 domain gets a TSA that PDF validators accept).
    pub fn time_stamp_authority(&mut self) -> Result<yinzheng_cms::TimeStampAuthority> {
        let cert_path = self.dir.join("tsa.pem");
        if !cert_path.exists() {
            let alg = self
                .issuing
                .public_key()
                .map(|k| k.algorithm())
                .unwrap_or(KeyAlgorithm::Sm2);
            let alg = if alg == KeyAlgorithm::EcdsaP256 {
                alg
            } else {
                KeyAlgorithm::Sm2
            };
            let mut made = MadeKeys::default();
            let key = match self.key_uri_text("tsa.key.pem")? {
                // A device key put there for the TSA (an SDF device's are
                // provisioned by its own tool).
                Some(text) => {
                    let key = NewKey::existing(&text, alg, "TSA")?;
                    if let Some(role) = self.key_in_use(key.signer().public_key())? {
                        return Err(Error::Refused(format!(
                            "that key is {role}'s: the TSA needs a key of its own"
                        )));
                    }
                    key
                }
                None => {
                    // On the token the issuing CA's key is on, if it is.
                    let token = self.token_of("issuing.key.pem", "the TSA's key")?;
                    if token.is_some() && alg != KeyAlgorithm::EcdsaP256 {
                        return Err(Error::Refused(
                            "the TSA key would go on the issuing CA's token, which holds \
                             P-256 keys only"
                                .into(),
                        ));
                    }
                    let key =
                        NewKey::generate(alg, token.as_ref(), &token_label(&self.dir, "tsa"))?;
                    made.note(&key);
                    key
                }
            };
            // The issuing CA's name with its CN replaced.
            let issuing = self.issuing.subject();
            let rest = issuing
                .split_once(',')
                .filter(|_| issuing.starts_with("CN="))
                .map_or(issuing.as_str(), |(_, r)| r);
            let subject = format!("CN=Time-Stamping Authority,{rest}");
            let issued = self.issue(IssueRequest {
                profile: "tsa",
                subject: Some(&subject),
                extras: SubjectExtras::default(),
                key: KeySource::OwnKey(key.signer().public_key()),
                not_before: None,
                days: None,
                issuer: None,
            })?;
            key.save(
                &self.dir,
                "tsa.key.pem",
                self.passphrase.as_deref().map(|p| &p[..]),
                &KeyEncryption::default(),
            )?;
            // Recorded in tsa.key.uri: a retry certifies this key.
            made.keep();
            write_atomic(&cert_path, issued.cert.to_pem().as_bytes(), false)?;
        }
        let bytes = std::fs::read(&cert_path).map_err(|e| Error::io(&cert_path, e))?;
        let cert = ParsedCert::load_all(&bytes)?
            .into_iter()
            .next()
            .ok_or_else(|| {
                Error::Domain(format!("{} holds no certificate", cert_path.display()))
            })?;
        let key = self.load_key("tsa.key.pem")?;
        yinzheng_cms::TimeStampAuthority::new(
            key,
            cert.der().to_vec(),
            vec![self.issuing.der().to_vec()],
            None,
        )
        .map_err(|e| Error::Domain(format!("time-stamping authority: {e}")))
    }

    /// Issue an end-entity certificate under a profile.
    pub fn issue(&mut self, req: IssueRequest<'_>) -> Result<Issued> {
        let profile = self.profiles.get(req.profile)?.clone();
        for r in &profile.requires {
            match r.as_str() {
                "uscc" if req.extras.uscc.is_none() => {
                    return Err(Error::Refused(format!(
                        "profile {} needs --uscc",
                        req.profile
                    )));
                }
                "id-number" if req.extras.id_number.is_none() => {
                    return Err(Error::Refused(format!(
                        "profile {} needs --id-number",
                        req.profile
                    )));
                }
                "san" if req.extras.san.is_empty() => {
                    return Err(Error::Refused(format!(
                        "profile {} needs at least one --san",
                        req.profile
                    )));
                }
                _ => {}
            }
        }
        if let Some(u) = &req.extras.uscc {
            ids::check_uscc(u).map_err(Error::Refused)?;
        }
        if let Some(i) = &req.extras.id_number {
            ids::check_citizen_id(i).map_err(Error::Refused)?;
        }
        let (public, key, csr_subject) = match req.key {
            KeySource::Csr(bytes, id) => {
                let csr = yinzheng_pki::Csr::parse(bytes)?;
                csr.verify_proof_of_possession(&id)?;
                (csr.public_key().clone(), None, Some(csr.subject()))
            }
            KeySource::OwnKey(k) => (k.clone(), None, None),
            KeySource::Generate => {
                let alg = match profile.key_algorithm.as_str() {
                    "p256" => KeyAlgorithm::EcdsaP256,
                    _ => KeyAlgorithm::Sm2,
                };
                let k = PrivateKey::generate(alg)?;
                (k.public_key().clone(), Some(k), None)
            }
        };
        let mut subject = match (req.subject, csr_subject) {
            (Some(s), _) => parse_name(s)?,
            (None, Some(n)) => n,
            (None, None) => {
                return Err(Error::Refused("a subject DN is needed (--subject)".into()));
            }
        };
        // GM/T 0015: an organisation's subject carries its USCC as well as the
        // extension; add it as serialNumber when the DN does not already hold it.
        if let Some(uscc) = &req.extras.uscc
            && !subject.to_string().contains(uscc.as_str())
        {
            subject = parse_name(&format!("serialNumber={uscc},{subject}"))?;
        }
        let issuer_name = req.issuer.unwrap_or("main");
        let issuer_cert = self.issuer(issuer_name)?.clone();
        let issuer_key = self.load_key(&Self::issuer_key_file(issuer_name))?;
        let not_before = req.not_before.unwrap_or_else(|| self.clock.now());
        let days = req.days.unwrap_or(profile.validity_days) as u64;
        let (not_after, clamped) = clamp(
            not_before + Duration::from_secs(days * DAY),
            issuer_cert.not_after(),
        );
        if not_after <= not_before {
            return Err(Error::Refused(
                "the issuing CA expires before the requested start".into(),
            ));
        }
        let cert = build_cert(
            issuer_key.as_ref(),
            &public,
            subject,
            issuer_cert.cert().tbs_certificate().subject().clone(),
            not_before,
            not_after,
            Kind::Leaf {
                profile: &profile,
                urls: &self.profiles.urls,
                extras: &req.extras,
            },
        )?;
        self.store.insert(
            &cert.serial_hex(),
            &cert.subject(),
            req.profile,
            issuer_name,
            unix(cert.not_before()),
            unix(cert.not_after()),
            cert.der(),
            unix(self.clock.now()),
        )?;
        Ok(Issued { cert, key, clamped })
    }

    /// Revoke for good with an RFC 5280 reason code (not 6: use [`Self::hold`]).
    pub fn revoke(&mut self, serial: &str, reason: u8, at: SystemTime) -> Result<StoredCert> {
        if reason == 6 || reason == 7 || reason > 10 {
            return Err(Error::Refused(format!(
                "reason code {reason} cannot be used to revoke"
            )));
        }
        self.change_status(
            serial,
            CertStatus::Revoked {
                reason,
                at: unix(at),
            },
        )
    }

    /// Suspend (certificateHold).
    pub fn hold(&mut self, serial: &str, at: SystemTime) -> Result<StoredCert> {
        self.change_status(serial, CertStatus::OnHold { at: unix(at) })
    }

    /// Release a hold.
    pub fn release(&mut self, serial: &str) -> Result<StoredCert> {
        match self.store.get(serial)? {
            Some(c) if matches!(c.status, CertStatus::OnHold { .. }) => {
                self.change_status(serial, CertStatus::Valid)
            }
            Some(_) => Err(Error::Refused(format!(
                "certificate {serial} is not on hold"
            ))),
            None => Err(Error::Refused(format!(
                "no certificate with serial {serial} was issued by this CA"
            ))),
        }
    }

    /// The stored record of `serial`.
    pub fn lookup(&self, serial: &str) -> Result<Option<StoredCert>> {
        self.store.get(serial)
    }

    /// Change the status of `serial` and publish its CA's fresh CRL in the
    /// same transaction (so a revocation is never recorded without the CRL
    /// that says so). The CA's key is loaded first: without it nothing
    /// changes. A CA certificate of a root kept offline changes in the store
    /// only: its ARL is signed at the ceremony host (`yinzheng ca arl`), and
    /// servers refuse an ARL that does not list it.
    fn change_status(&mut self, serial: &str, status: CertStatus) -> Result<StoredCert> {
        let stored = self.store.get(serial)?.ok_or_else(|| {
            Error::Refused(format!(
                "no certificate with serial {serial} was issued by this CA"
            ))
        })?;
        if stored.profile == "root" {
            // No CRL can list the trust anchor: retire a root by removing it
            // from the relying parties' trust, not by revoking it.
            return Err(Error::Refused(
                "the root certificate cannot be revoked or held (no CRL lists a trust anchor): \
                 withdraw it from the relying parties' trust instead"
                    .into(),
            ));
        }
        let issuer = stored.issuer;
        let now = self.clock.now();
        if issuer == "root" && !self.root_key_online() {
            return self.store.set_status(serial, status, unix(now), None);
        }
        let (key, cert) = self.crl_signer(&issuer)?;
        let next = published_until(now);
        let mut sign = |number: u64, entries: &[StoredCert]| -> Result<(Vec<u8>, i64)> {
            let crl = issue::build_crl(key.as_ref(), &cert, number, now, next, entries)?;
            Ok((crl.der().to_vec(), unix(next)))
        };
        self.store
            .set_status(serial, status, unix(now), Some(&mut sign))
    }

    /// The key and certificate that sign the CRL of CA `name` (`root`, `main`
    /// or an added issuing CA).
    fn crl_signer(&self, name: &str) -> Result<(Box<dyn Signer>, ParsedCert)> {
        if name == "root" {
            Ok((self.load_key("root.key.pem")?, self.root.clone()))
        } else {
            Ok((
                self.load_key(&Self::issuer_key_file(name))?,
                self.issuer(name)?.clone(),
            ))
        }
    }

    /// Sign and publish a fresh CRL of CA `name`, valid from `now` to `next`.
    fn publish_one(&mut self, name: &str, now: SystemTime, next: SystemTime) -> Result<Crl> {
        let (key, cert) = self.crl_signer(name)?;
        let mut made = None;
        let mut sign = |number: u64, entries: &[StoredCert]| -> Result<(Vec<u8>, i64)> {
            let crl = issue::build_crl(key.as_ref(), &cert, number, now, next, entries)?;
            let der = crl.der().to_vec();
            made = Some(crl);
            Ok((der, unix(next)))
        };
        self.store.publish_crl(name, unix(now), &mut sign)?;
        made.ok_or_else(|| Error::Domain(format!("the CRL of {name} was not signed")))
    }

    /// Sign fresh CRLs valid for `hours` and publish them (the CA store keeps
    /// the latest of each CA, which verify servers serve and trust): one per
    /// issuing CA (its end entities) and the root's authority revocation list
    /// (the issuing CAs), so every link of a chain has revocation data. A
    /// root kept offline is not signed for: its ARL signed ahead is returned.
    pub fn crl(&mut self, hours: u32) -> Result<Vec<Crl>> {
        if hours == 0 {
            return Err(Error::Refused(
                "a CRL valid 0 hours would expire the servers' trust at once: choose at least 1"
                    .into(),
            ));
        }
        let now = self.clock.now();
        let next = now + Duration::from_secs(hours as u64 * 3600);
        let mut out = Vec::new();
        let names: Vec<String> = self.issuers().iter().map(|(n, _)| n.to_string()).collect();
        for name in names {
            out.push(self.publish_one(&name, now, next)?);
        }
        if self.root_key_online() {
            out.push(self.publish_one("root", now, next)?);
        } else {
            let ca_certs = self.revoked_ca_certs(now)?;
            out.push(self.presigned_root_arl(now, &ca_certs)?);
        }
        Ok(out)
    }

    /// The CRLs the CA published, in the order of [`crl`](Self::crl), each
    /// named by its CA (`main`, added issuing CAs, `root`): what a verify
    /// server serves and trusts, signing nothing. The root's is the newer of
    /// the one published and [`ROOT_ARL_FILE`] (a root kept offline). Each
    /// must be signed by its CA and list every certificate of that CA the
    /// store knows revoked or held, else an error says what to sign where.
    /// Expired CRLs are returned: the caller decides (a server refuses to
    /// start on one and warns while running).
    pub fn published_crls(&self) -> Result<Vec<(String, Crl)>> {
        self.published_crls_each()?
            .into_iter()
            .map(|(name, crl)| Ok((name, crl?)))
            .collect()
    }

    /// [`published_crls`](Self::published_crls), each CA's CRL (or why it
    /// cannot be trusted) apart, so that a server can keep trusting every CA
    /// whose CRL holds and none of the certificates of one whose CRL does not.
    pub fn published_crls_each(&self) -> Result<Vec<(String, Result<Crl>)>> {
        let now = self.clock.now();
        let revoked = self.store.revoked(unix(now))?;
        let mut cas: Vec<(String, ParsedCert)> = self
            .issuers()
            .into_iter()
            .map(|(n, c)| (n.to_string(), c.clone()))
            .collect();
        cas.push(("root".into(), self.root.clone()));
        let mut out = Vec::new();
        for (name, cert) in cas {
            let mut found: Vec<(String, Vec<u8>)> = Vec::new();
            if let Some(p) = self.store.published_crl(&name)? {
                found.push((format!("the CRL of {name} published in the CA store"), p));
            }
            let arl_path = self.dir.join(ROOT_ARL_FILE);
            if name == "root" {
                match std::fs::read(&arl_path) {
                    Ok(bytes) => found.push((arl_path.display().to_string(), bytes)),
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                    Err(e) => {
                        out.push((name, Err(Error::io(&arl_path, e))));
                        continue;
                    }
                }
            }
            let crl = self.newest_valid(&name, &cert, found, &revoked);
            out.push((name, crl));
        }
        Ok(out)
    }

    /// Of the CRLs `found` for CA `name`, the newest one signed by `cert`
    /// (one that does not parse or verify is passed over while another
    /// does), checked to list every certificate of that CA in `revoked`.
    fn newest_valid(
        &self,
        name: &str,
        cert: &ParsedCert,
        found: Vec<(String, Vec<u8>)>,
        revoked: &[StoredCert],
    ) -> Result<Crl> {
        let mut best: Option<Crl> = None;
        let mut refused = Vec::new();
        for (what, der) in found {
            let crl = match Crl::parse(&der) {
                Ok(c) => c,
                Err(e) => {
                    refused.push(format!("{what} does not parse: {e}"));
                    continue;
                }
            };
            if let Err(e) = crl.verify_signature(cert, &Sm2Id::default()) {
                refused.push(format!("{what} is not signed by CA {name}: {e}"));
                continue;
            }
            // The newest; within one second, the higher CRL number.
            let key = |c: &Crl| (c.this_update(), crl_number(c));
            if best.as_ref().is_none_or(|b| key(&crl) > key(b)) {
                best = Some(crl);
            }
        }
        let ceremony = if name == "root" {
            " (`yinzheng ca arl` at the ceremony host for a root kept offline)"
        } else {
            ""
        };
        let crl = best.ok_or_else(|| {
            let why = if refused.is_empty() {
                format!("none has been published for {}", self.dir.display())
            } else {
                refused.join("; ")
            };
            Error::Domain(format!(
                "no usable CRL of CA {name}: {why}; sign them where the CA keys are, with \
                 `yinzheng ca crl`{ceremony}"
            ))
        })?;
        for r in revoked
            .iter()
            .filter(|r| r.issuer == name && r.profile != "root")
        {
            let serial = hex::decode(&r.serial).unwrap_or_default();
            if !matches!(crl.entry(&serial), yinzheng_pki::CrlEntry::Listed { .. }) {
                return Err(Error::Domain(format!(
                    "the published CRL of CA {name} does not list certificate {} ({}), which \
                     the CA store says is revoked or held: sign fresh CRLs with `yinzheng ca \
                     crl`{ceremony}",
                    r.serial, r.subject
                )));
            }
        }
        Ok(crl)
    }

    /// The CA certificates (issued by the root, not the root itself) revoked
    /// or held and not expired at `now`: what the root's ARL must list.
    fn revoked_ca_certs(&self, now: SystemTime) -> Result<Vec<StoredCert>> {
        Ok(self
            .store
            .revoked(unix(now))?
            .into_iter()
            .filter(|r| r.issuer == "root" && r.profile != "root")
            .collect())
    }

    /// Whether the root's key is in the domain directory. A domain whose root
    /// was made at a key ceremony and kept offline has none: its root CRL
    /// (ARL) is the one signed ahead there ([`ROOT_ARL_FILE`],
    /// [`sign_root_arl`](Self::sign_root_arl)).
    pub fn root_key_online(&self) -> bool {
        self.has_key("root.key.pem")
    }

    /// Sign the root's CRL (ARL) valid for `days` and write it to
    /// [`ROOT_ARL_FILE`]: done on the offline ceremony machine, which holds
    /// the root key; the file is then copied to every server.
    pub fn sign_root_arl(&mut self, days: u32) -> Result<Crl> {
        if days == 0 || days > 400 {
            return Err(Error::Refused(format!(
                "an ARL valid {days} days: choose 1 to 400"
            )));
        }
        let now = self.clock.now();
        let next = now + Duration::from_secs(days as u64 * DAY);
        let root_key = self.load_key("root.key.pem")?;
        let ca_certs = self.revoked_ca_certs(now)?;
        let n = self.store.next_crl_number()?;
        let arl = issue::build_crl(root_key.as_ref(), &self.root, n, now, next, &ca_certs)?;
        write_atomic(&self.dir.join(ROOT_ARL_FILE), arl.der(), false)?;
        Ok(arl)
    }

    /// The ARL signed ahead for an offline root: signed by the root, not
    /// expired, and listing every CA certificate the store knows revoked —
    /// else an error saying what to do at the ceremony host.
    fn presigned_root_arl(&self, now: SystemTime, ca_certs: &[StoredCert]) -> Result<Crl> {
        let path = self.dir.join(ROOT_ARL_FILE);
        let bytes = std::fs::read(&path).map_err(|e| {
            Error::Domain(format!(
                "the root key is offline (no root.key.pem) and its signed-ahead ARL {} cannot be read ({e}): sign one at the ceremony host with `yinzheng ca arl`",
                path.display()
            ))
        })?;
        let arl = Crl::parse(&bytes)?;
        arl.verify_signature(&self.root, &Sm2Id::default())
            .map_err(|e| {
                Error::Domain(format!("{}: not signed by the root: {e}", path.display()))
            })?;
        match arl.next_update() {
            Some(t) if t > now => {}
            _ => {
                return Err(Error::Domain(format!(
                    "{}: the signed-ahead ARL has expired: sign a new one at the ceremony host with `yinzheng ca arl`",
                    path.display()
                )));
            }
        }
        for c in ca_certs {
            let serial = hex::decode(&c.serial).unwrap_or_default();
            if !matches!(arl.entry(&serial), yinzheng_pki::CrlEntry::Listed { .. }) {
                return Err(Error::Domain(format!(
                    "{}: the signed-ahead ARL does not list the revoked CA certificate {} ({}): sign a new one at the ceremony host",
                    path.display(),
                    c.serial,
                    c.subject
                )));
            }
        }
        Ok(arl)
    }

    /// Sign an OCSP response for the certificate with `serial` (see [`yinzheng_pki::issue::ocsp_response`]).
    pub fn ocsp_response(
        &self,
        serial: &str,
        hash: yinzheng_pki::ocsp::CertIdHash,
        validity_hours: u32,
    ) -> Result<Vec<u8>> {
        let stored = self.store.get(serial)?;
        // Certificates of the main issuing CA are answered by the delegated
        // responder; those of added issuing CAs by the issuing CA itself
        // (RFC 6960 §4.2.2.2 allows both).
        let issuer_name = stored
            .as_ref()
            .map(|s| s.issuer.clone())
            .unwrap_or_else(|| "main".into());
        let (key, responder, issuer) = if issuer_name == "main" {
            (
                self.load_key("ocsp.key.pem")?,
                self.ocsp.clone(),
                self.issuing.clone(),
            )
        } else {
            let c = self.issuer(&issuer_name)?.clone();
            (
                self.load_key(&Self::issuer_key_file(&issuer_name))?,
                c.clone(),
                c,
            )
        };
        Ok(issue::ocsp_response(
            key.as_ref(),
            &responder,
            &issuer,
            serial,
            stored.as_ref(),
            hash,
            self.clock.now(),
            validity_hours,
        )?)
    }

    /// An OCSP responder for this domain, answering with the delegated
    /// responder's key only (never a CA key): a key file decrypted with
    /// `key_passphrase` (else the passphrase the domain was opened with), a
    /// key on a token with its PIN.
    pub fn ocsp_responder_service(
        &self,
        validity_hours: u32,
        key_passphrase: Option<&[u8]>,
    ) -> Result<yinzheng_pki::ocsp::OcspResponder> {
        let key = match key_passphrase {
            Some(p) => self.load_key_with("ocsp.key.pem", Some(p))?,
            None => self.load_key("ocsp.key.pem")?,
        };
        Ok(yinzheng_pki::ocsp::OcspResponder::new(
            key,
            self.ocsp.clone(),
            self.issuing.clone(),
            validity_hours,
        ))
    }

    /// Re-issue the delegated OCSP responder (`ocsp.pem` and its key): a
    /// short-lived certificate from the main issuing CA (profile
    /// `ocsp-responder`, 90 days for domains made since it was shortened)
    /// for a new key — on the token the current responder key is on, else a
    /// file encrypted with [`ResponderRenewal::key_passphrase`] — or for
    /// [`ResponderRenewal::key`], a key already in a device. Needs the issuing
    /// CA's key. The old certificate is left to expire (it carries
    /// id-pkix-ocsp-nocheck, so it is not revoked); verify servers pick the
    /// new one up when restarted with the copied files.
    pub fn renew_ocsp_responder(&mut self, opts: &ResponderRenewal<'_>) -> Result<ParsedCert> {
        let alg = self
            .issuing
            .public_key()
            .map(|k| k.algorithm())
            .unwrap_or(KeyAlgorithm::Sm2);
        let longest = self.profiles.get("ocsp-responder")?.validity_days;
        if opts.days.is_some_and(|d| d == 0 || d > longest) {
            return Err(Error::Refused(format!(
                "the OCSP responder's certificate is short-lived (it cannot be revoked): 1 to \
                 {longest} days, the ocsp-responder profile's"
            )));
        }
        // A new key file gets its own passphrase: the servers that hold it
        // must not learn the CA's.
        let token = match opts.key {
            Some(_) => None,
            None => self.token_of("ocsp.key.pem", "a new OCSP responder key")?,
        };
        if opts.key.is_none() && token.is_none() && opts.key_passphrase.is_none() {
            return Err(Error::Refused(
                "the new OCSP responder key is a file: give it a passphrase of its own \
                 (--key-passphrase-file; the verify servers get it, never the CA passphrase)"
                    .into(),
            ));
        }
        // The issuing CA's key first: without it nothing is made.
        self.load_key("issuing.key.pem")?;
        let mut made = MadeKeys::default();
        let key = match opts.key {
            Some(text) => NewKey::existing(text, alg, "OCSP responder")?,
            None => {
                let stamp = unix(self.clock.now());
                let key = NewKey::generate(
                    alg,
                    token.as_ref(),
                    &format!("{}-{stamp}", token_label(&self.dir, "ocsp")),
                )?;
                made.note(&key);
                key
            }
        };
        let public = key.signer().public_key().clone();
        if let Some(role) = self.key_in_use(&public)?
            && role != "the OCSP responder"
        {
            return Err(Error::Refused(format!(
                "that key is {role}'s: the OCSP responder needs a key of its own"
            )));
        }
        let subject = self.ocsp.subject();
        let issued = self.issue(IssueRequest {
            profile: "ocsp-responder",
            subject: Some(&subject),
            extras: SubjectExtras::default(),
            key: KeySource::OwnKey(&public),
            not_before: None,
            days: opts.days,
            issuer: None,
        })?;
        // The key, then the certificate, then the other kind's file (a key
        // file replaced by a device key, or the reverse). A crash in between
        // leaves a key that does not match ocsp.pem (or both kinds): nothing
        // signs with it, and renewing again heals it.
        key.save(
            &self.dir,
            "ocsp.key.pem",
            opts.key_passphrase,
            &opts.key_encryption,
        )?;
        made.keep();
        write_atomic(
            &self.dir.join("ocsp.pem"),
            issued.cert.to_pem().as_bytes(),
            false,
        )?;
        let other = match key {
            NewKey::File(_) => self.dir.join(uri_name("ocsp.key.pem")),
            NewKey::Device { .. } => self.dir.join("ocsp.key.pem"),
        };
        match std::fs::remove_file(&other) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(Error::io(&other, e)),
        }
        self.ocsp = issued.cert.clone();
        Ok(issued.cert)
    }

    /// Whose key `public` already is in this domain — a CA's, the OCSP
    /// responder's or the TSA's — if anyone's: each key serves one purpose.
    fn key_in_use(&self, public: &PublicKey) -> Result<Option<&'static str>> {
        let mine = |c: &ParsedCert| c.public_key() == Some(public);
        if mine(&self.root) {
            return Ok(Some("the root CA"));
        }
        if mine(&self.issuing) || self.extra_issuers.values().any(mine) {
            return Ok(Some("an issuing CA"));
        }
        if mine(&self.ocsp) {
            return Ok(Some("the OCSP responder"));
        }
        let tsa = self.dir.join("tsa.pem");
        if tsa.exists() {
            let bytes = std::fs::read(&tsa).map_err(|e| Error::io(&tsa, e))?;
            if ParsedCert::load_all(&bytes)?.iter().any(mine) {
                return Ok(Some("the time-stamping authority"));
            }
        }
        Ok(None)
    }

    /// Every certificate this domain issued to end entities (for OCSP pre-signing).
    pub fn issued(&self) -> Result<Vec<StoredCert>> {
        self.store.all()
    }

    /// The trust anchors to hand to relying parties (PEM): the root.
    pub fn roots_pem(&self) -> String {
        self.root.to_pem()
    }
}

/// Build and sign one certificate through the `x509-cert` builder and our signer wrapper.
pub(crate) fn build_cert(
    issuer_key: &dyn Signer,
    subject_key: &PublicKey,
    subject: Name,
    issuer: Name,
    not_before: SystemTime,
    not_after: SystemTime,
    kind: Kind<'_>,
) -> Result<ParsedCert> {
    let profile = CertProfile {
        subject,
        issuer,
        kind,
    };
    let serial = SerialNumber::new(&issue::random_serial()?)?;
    let validity = Validity::new(issue::x509_time(not_before)?, issue::x509_time(not_after)?);
    let spki = spki::SubjectPublicKeyInfoOwned::from_der(&subject_key.to_spki_der())?;
    let builder = CertificateBuilder::new(profile, serial, validity, spki)
        .map_err(|e| Error::Refused(format!("certificate builder: {e}")))?;
    let signer = X509Signer::new(issuer_key);
    let cert = builder
        .build::<_, yinzheng_pki::DerSignature>(&signer)
        .map_err(|e| Error::Refused(format!("certificate signing: {e}")))?;
    Ok(ParsedCert::from_der(&cert.to_der()?)?)
}

/// The nextUpdate of a CRL published at `now` with the default validity.
fn published_until(now: SystemTime) -> SystemTime {
    now + Duration::from_secs(u64::from(PUBLISHED_CRL_HOURS) * 3600)
}

/// A CRL's number as an integer (0 when it has none or it is too long).
fn crl_number(crl: &Crl) -> u128 {
    crl.number()
        .filter(|n| n.len() <= 16)
        .map(|n| n.iter().fold(0u128, |acc, b| (acc << 8) | u128::from(*b)))
        .unwrap_or(0)
}

/// Parse an RFC 4514 DN, with a clear error.
pub fn parse_name(s: &str) -> Result<Name> {
    Name::from_str(s).map_err(|e| Error::Refused(format!("subject {s:?} is not a valid DN: {e}")))
}

fn derive_issuing_subject(root: &str) -> String {
    if root.contains("Root CA") {
        root.replacen("Root CA", "Issuing CA", 1)
    } else {
        format!("CN=Issuing CA,{}", strip_cn(root))
    }
}

fn strip_cn(dn: &str) -> String {
    dn.split(',')
        .filter(|p| !p.trim_start().to_ascii_uppercase().starts_with("CN="))
        .collect::<Vec<_>>()
        .join(",")
}

fn clamp(want: SystemTime, limit: SystemTime) -> (SystemTime, bool) {
    if want > limit {
        (limit, true)
    } else {
        (want, false)
    }
}

pub(crate) fn unix(t: SystemTime) -> i64 {
    t.duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// Write `data` to `path` atomically (`yinzheng_store::write_atomic`);
/// `private` gives mode 0600.
pub(crate) fn write_atomic(path: &Path, data: &[u8], private: bool) -> Result<()> {
    let written = if private {
        yinzheng_store::write_atomic_private(path, data)
    } else {
        yinzheng_store::write_atomic(path, data)
    };
    written.map_err(|e| Error::io(path, e))
}
