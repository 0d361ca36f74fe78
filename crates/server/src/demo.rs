//! `yinzheng serve --demo`: a complete demo data directory, made once when
//! the directory is empty — an SM2 trust domain (root, issuing CA, OCSP), a
//! P-256 TLS domain (server and client certificates), a seal maker, an
//! issuing authority with its drawn seal, the anchoring log, sample licenses
//! of three types (one suspended, one revoked) with their sealed files, and
//! two demo callers (API key; client certificate).
//!
//! **Demo only**: the keys' passphrase and the demo API key are kept in
//! `HOME/server/demo-secrets.toml` (mode 0600) so the command can print them
//! again. A real deployment keeps the passphrase out of the data directory.

use crate::config::{CallerConfig, CallersFile, ServerConfig};
use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use yinzheng_anchor::{HashAlg, NoteSigner};
use yinzheng_ca::demo::{DemoAuthority, MadeAuthority};
use yinzheng_ca::{InitOptions, IssueRequest, KeySource, TrustDomain};
use yinzheng_crypto::{KeyAlgorithm, KeyEncryption, PrivateKey};
use yinzheng_log::{Log, LogOptions};
use yinzheng_pki::SubjectExtras;
use yinzheng_seal::SealType;
use yinzheng_store::{Backend, DataDir};

/// The demo caller with every operation on every license type.
pub const DEMO_CALLER: &str = "demo-approval-system";
/// The demo caller that authenticates with a client certificate.
pub const DEMO_MTLS_CALLER: &str = "demo-counter-mtls";

/// What `serve --demo` prints (and keeps in `HOME/server/demo-secrets.toml`).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct DemoInfo {
    /// Passphrase of every demo key.
    pub passphrase: String,
    /// The demo caller's API key.
    pub api_key: String,
    /// Sample licenses: identifier, type, status, holder.
    pub licenses: Vec<DemoLicense>,
    /// The authority's seal id.
    pub seal_id: String,
    /// Serial of the authority's seal-signer certificate.
    pub signer_serial: String,
}

/// One sample license.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct DemoLicense {
    /// Identifier.
    pub id: String,
    /// Type key.
    pub type_key: String,
    /// Status after the demo set-up.
    pub status: String,
    /// Holder name.
    pub holder: String,
}

impl DemoInfo {
    /// `HOME/server/demo-secrets.toml`.
    pub fn path(home: &Path) -> PathBuf {
        home.join("server").join("demo-secrets.toml")
    }

    /// Read the demo facts of `home`, if it is a demo data directory.
    pub fn load(home: &Path) -> Result<Option<DemoInfo>> {
        let p = Self::path(home);
        match std::fs::read_to_string(&p) {
            Ok(t) => {
                Ok(Some(toml::from_str(&t).map_err(|e| {
                    Error::Config(format!("{}: {e}", p.display()))
                })?))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(Error::io(&p, e)),
        }
    }

    /// The first sample license with this status.
    pub fn license(&self, status: &str) -> Option<&DemoLicense> {
        self.licenses.iter().find(|l| l.status == status)
    }
}

/// Is `home` empty enough to make a demo in (absent, or no entries)?
pub fn is_empty(home: &Path) -> bool {
    std::fs::read_dir(home)
        .map(|mut d| d.next().is_none())
        .unwrap_or(true)
}

fn random_secret() -> Result<String> {
    let mut b = [0u8; 18];
    getrandom::fill(&mut b).map_err(|e| Error::Config(format!("no randomness: {e}")))?;
    Ok(hex::encode(b))
}

fn write_key(path: &Path, key: &PrivateKey, pass: &[u8]) -> Result<()> {
    let pem = key.to_encrypted_pkcs8_pem(pass, &KeyEncryption::default())?;
    crate::write_atomic(path, pem.as_bytes())
}

/// The demo is its own CA on one host: sign its domains' CRLs afresh (a
/// week), as `yinzheng ca crl` would, so that a demo served again after its
/// CRLs expired starts. Only for a demo data directory, whose passphrase it
/// keeps; a real server never signs a CRL.
pub fn publish_crls(home: &Path, store: &Backend, info: &DemoInfo) -> Result<()> {
    for name in ["demo", "tls"] {
        let dir = DataDir::new(home).trust_domain(name);
        if dir.join("root.pem").exists() {
            TrustDomain::open_in(&dir, store, Some(info.passphrase.as_bytes()))?
                .crl(yinzheng_ca::PUBLISHED_CRL_HOURS)?;
        }
    }
    Ok(())
}

/// Make the demo in `home` (which must be empty), its databases in `store`.
/// Takes a few seconds (key encryption, rendering and sealing the sample
/// licenses).
pub fn create(home: &Path, store: &Backend) -> Result<DemoInfo> {
    if !is_empty(home) {
        return Err(Error::Config(format!(
            "{} is not empty: the demo is only made in an empty data directory",
            home.display()
        )));
    }
    std::fs::create_dir_all(home).map_err(|e| Error::io(home, e))?;
    let passphrase = random_secret()?;
    let pass = passphrase.as_bytes();
    let enc = KeyEncryption::default();

    // 1. The SM2 trust domain for seals and licenses, and the authority's
    //    seal (the demo seal authority the developer facade's demo shares).
    let licenses_dir = DataDir::new(home).licenses();
    let mut registry = yinzheng_license::Registry::open_in(&licenses_dir, store)?;
    let service = registry.catalogue().service.clone();
    let now = time::OffsetDateTime::now_utc()
        .to_offset(yinzheng_license::LICENSE_TIME_OFFSET)
        .replace_nanosecond(0)
        .map_err(|e| Error::Config(e.to_string()))?;
    let seal_id = format!("{}-official-1", &service.issuer_code);
    let MadeAuthority {
        domain,
        signer_key,
        signer_cert,
        seal,
    } = DemoAuthority {
        root_subject: "CN=Yinzheng Demo Root CA,O=Yinzheng Demo,C=CN",
        organisation: &service.issuer_name,
        uscc: &service.issuer_code,
        seal_id: &seal_id,
        seal_name: &format!("{}公章", service.issuer_name),
        seal_type: SealType::Official,
        seal_text: "",
        size_mm: 42,
        seal_days: 3 * 365,
        cert_days: None,
        key_encryption: enc,
        now,
    }
    .create(&DataDir::new(home).trust_domain("demo"), store, pass)?;
    let signer_serial = signer_cert.serial_hex();
    let demo_dir = home.join("demo");
    write_key(&demo_dir.join("authority.key.pem"), &signer_key, pass)?;
    crate::write_atomic(
        &demo_dir.join("authority.pem"),
        signer_cert.to_pem().as_bytes(),
    )?;
    crate::write_atomic(
        &demo_dir.join("roots.pem"),
        domain.root().to_pem().as_bytes(),
    )?;

    // 2. The authority's seal, registered.
    let mut seals =
        yinzheng_seal_registry::Registry::open_in(&DataDir::new(home).seal_registry(), store)?;
    seals.register(&seal, &service.issuer_code, "demo", now.unix_timestamp())?;
    crate::write_atomic(&demo_dir.join("authority-seal.esl"), seal.raw())?;

    // 3. The P-256 TLS domain: server certificate for localhost, a client
    //    certificate for the mTLS demo caller.
    let mut tls_opts = InitOptions::new("CN=Yinzheng Demo TLS Root CA,O=Yinzheng Demo,C=CN");
    tls_opts.key_algorithm = KeyAlgorithm::EcdsaP256;
    tls_opts.key_encryption = enc;
    let mut tls = TrustDomain::init_in(
        &DataDir::new(home).trust_domain("tls"),
        store,
        &tls_opts,
        pass,
    )?;
    let issue = |tls: &mut TrustDomain,
                 profile: &str,
                 subject: &str,
                 extras: SubjectExtras|
     -> Result<(PrivateKey, yinzheng_pki::ParsedCert)> {
        let issued = tls.issue(IssueRequest {
            profile,
            subject: Some(subject),
            extras,
            key: KeySource::Generate,
            not_before: None,
            days: None,
            issuer: None,
        })?;
        let key = issued
            .key
            .ok_or_else(|| Error::Config(format!("the {profile} profile generated no key")))?;
        Ok((key, issued.cert))
    };
    let (server_key, server_cert) = issue(
        &mut tls,
        "tls-server",
        "CN=localhost,O=Yinzheng Demo,C=CN",
        SubjectExtras {
            san: vec!["localhost".into(), "127.0.0.1".into(), "::1".into()],
            ..Default::default()
        },
    )?;
    let chain = format!("{}{}", server_cert.to_pem(), tls.issuing().to_pem());
    let config = ServerConfig {
        client_ca: vec![PathBuf::from("pki/tls/root.pem")],
        // The demo is one host: its CA keys stay beside the server so that
        // `yinzheng ca` works on the same data directory.
        allow_ca_keys_in_data_dir: true,
        ..ServerConfig::default()
    };
    crate::write_atomic(&home.join(&config.tls_cert), chain.as_bytes())?;
    write_key(&home.join(&config.tls_key), &server_key, pass)?;
    let (client_key, client_cert) = issue(
        &mut tls,
        "tls-client",
        "CN=Demo Counter,O=Yinzheng Demo,C=CN",
        SubjectExtras::default(),
    )?;
    crate::write_atomic(
        &demo_dir.join("client.pem"),
        format!("{}{}", client_cert.to_pem(), tls.issuing().to_pem()).as_bytes(),
    )?;
    // curl needs the client key unencrypted; it is a demo file, mode 0600.
    crate::write_atomic(
        &demo_dir.join("client.key.pem"),
        client_key.to_pkcs8_pem().as_bytes(),
    )?;
    crate::write_atomic(
        &demo_dir.join("tls-root.pem"),
        tls.root().to_pem().as_bytes(),
    )?;
    crate::write_atomic(
        &DataDir::new(home).server_config(),
        toml::to_string_pretty(&config)
            .map_err(|e| Error::Config(e.to_string()))?
            .as_bytes(),
    )?;

    // 4. The anchoring log.
    let log_dir = DataDir::new(home).log();
    std::fs::create_dir_all(&log_dir).map_err(|e| Error::io(&log_dir, e))?;
    let origin = "yinzheng.local/log/sm3";
    let log_key = PrivateKey::generate(KeyAlgorithm::Sm2)?;
    write_key(&log_dir.join("log-signer.key.pem"), &log_key, pass)?;
    let signer = NoteSigner::new(origin, log_key)?;
    crate::write_atomic(
        &log_dir.join("log.vkey"),
        format!("{}\n", signer.verifier()).as_bytes(),
    )?;
    Log::create_in(&log_dir, store, origin, HashAlg::Sm3, &[&signer])?;
    let log = Log::open_in(
        &log_dir,
        store,
        vec![signer],
        LogOptions::default().with_period(std::time::Duration::from_millis(5)),
    )?;

    // 5. Sample licenses, sealed and anchored.
    let ofd_font = yinzheng_document::OfdFont::find()?;
    let chain = vec![domain.issuing().der().to_vec()];
    let sealer = yinzheng_license::FaceSealer {
        seal: &seal,
        signer: &signer_key,
        certificate: signer_cert.der(),
        chain,
        tsa: None,
        font: &ofd_font,
        actor: "demo-registrar".into(),
    };
    let f = |k: &str, v: &str| (k.to_string(), v.to_string());
    let samples: Vec<(yinzheng_license::IssueRequest, &str)> = vec![
        (
            req(
                "business-licence",
                "示例科技有限公司",
                "91350100M000100Y43",
                vec![
                    f("company_type", "有限责任公司"),
                    f("legal_rep", "张三"),
                    f("capital", "100万元"),
                    f("established", "2020-05-01"),
                    f("address", "示例市高新区科技路1号"),
                    f("scope", "软件开发；信息技术服务"),
                ],
            ),
            "valid",
        ),
        (
            req(
                "food-permit",
                "示例餐饮管理有限公司",
                "91350100M000100Y43",
                vec![
                    f("operator", "示例餐饮管理有限公司"),
                    f("premises", "示例市中山路8号"),
                    f("items", "热食类食品制售"),
                ],
            ),
            "valid",
        ),
        (
            req(
                "practising-certificate",
                "李四",
                "11010519491231002X",
                vec![f("profession", "临床"), f("workplace", "示例市人民医院")],
            ),
            "valid",
        ),
        (
            req(
                "business-licence",
                "示例贸易有限公司",
                "91350100M000100Y43",
                vec![
                    f("company_type", "有限责任公司"),
                    f("legal_rep", "王五"),
                    f("established", "2019-03-15"),
                    f("address", "示例市港口路66号"),
                ],
            ),
            "suspended",
        ),
        (
            req(
                "business-licence",
                "示例物流有限公司",
                "91350100M000100Y43",
                vec![
                    f("company_type", "有限责任公司"),
                    f("legal_rep", "赵六"),
                    f("established", "2018-09-09"),
                    f("address", "示例市物流园2号"),
                ],
            ),
            "revoked",
        ),
    ];
    let reqs: Vec<_> = samples.iter().map(|(r, _)| r.clone()).collect();
    let mut out = Vec::new();
    for ((r, status), issued) in samples
        .iter()
        .zip(registry.issue_batch(&reqs, &sealer, &log, now))
    {
        let l = issued?;
        let id = l.id.to_string();
        let action = match *status {
            "suspended" => Some(yinzheng_license::Action::Suspend),
            "revoked" => Some(yinzheng_license::Action::Revoke),
            _ => None,
        };
        if let Some(a) = action {
            registry.transition(
                &id,
                a,
                "demo-registrar",
                "demo: a license that is not valid",
                &log,
                now,
            )?;
        }
        out.push(DemoLicense {
            id,
            type_key: r.type_key.clone(),
            status: status.to_string(),
            holder: r.holder_name.clone(),
        });
    }
    log.close()?;

    // 6. Callers: an API key with every right; a client certificate.
    let mut callers = CallersFile::default();
    let api_key = callers.add_with_key(CallerConfig {
        name: DEMO_CALLER.into(),
        api_key_sm3: None,
        client_cert_sha256: None,
        license_types: vec!["*".into()],
        operations: vec!["*".into()],
        rate_per_s: 1_000_000.0,
        burst: 1_000_000.0,
        personal_data: false,
    })?;
    callers.callers.push(CallerConfig {
        name: DEMO_MTLS_CALLER.into(),
        api_key_sm3: None,
        client_cert_sha256: Some(hex::encode(yinzheng_crypto::sha256(client_cert.der()))),
        license_types: vec!["business-licence".into(), "food-permit".into()],
        operations: vec![
            "license.read".into(),
            "verify".into(),
            "token.redeem".into(),
        ],
        rate_per_s: 50.0,
        burst: 100.0,
        personal_data: false,
    });
    callers.save(home)?;
    let info = DemoInfo {
        passphrase,
        api_key,
        licenses: out,
        seal_id,
        signer_serial,
    };
    crate::write_atomic(
        &DemoInfo::path(home),
        toml::to_string_pretty(&info)
            .map_err(|e| Error::Config(e.to_string()))?
            .as_bytes(),
    )?;
    Ok(info)
}

fn req(
    type_key: &str,
    holder: &str,
    code: &str,
    fields: Vec<(String, String)>,
) -> yinzheng_license::IssueRequest {
    yinzheng_license::IssueRequest {
        type_key: type_key.into(),
        holder_name: holder.into(),
        holder_code: code.into(),
        fields,
        number: None,
        valid_from: None,
        valid_to: None,
        serial: None,
    }
}

/// A fresh presentation token (5 minutes) for the first valid sample
/// license, to paste into the redeem example.
pub fn mint_token(home: &Path, store: &Backend, info: &DemoInfo) -> Result<String> {
    let l = info
        .license("valid")
        .ok_or_else(|| Error::Config("the demo has no valid license".into()))?;
    let mut reg = yinzheng_license::Registry::open_in(&DataDir::new(home).licenses(), store)?;
    let (t, _) = reg.create_token(&l.id, 300, None, "demo", time::OffsetDateTime::now_utc())?;
    Ok(t)
}

/// The ready-to-paste curl commands for a demo served at `base`.
pub fn curl_examples(home: &Path, base: &str, info: &DemoInfo, token: Option<&str>) -> String {
    let ca = home.join("demo").join("tls-root.pem");
    let ca = ca.display();
    let key = &info.api_key;
    let usage = "purpose=%E4%BC%81%E4%B8%9A%E5%BC%80%E5%8A%9E&matter=DEMO-0001&businessSerial=BS-0001&operator=counter-01";
    let mut s = String::new();
    let mut add = |title: &str, cmd: String| {
        s.push_str(&format!("# {title}\n{cmd}\n\n"));
    };
    if let Some(l) = info.license("valid") {
        add(
            "status of a valid license (result code 0)",
            format!(
                "curl --cacert {ca} -H 'Authorization: Bearer {key}' '{base}/v1/licenses/{}?{usage}'",
                l.id
            ),
        );
        let pdf = home
            .join("licenses")
            .join("files")
            .join(&l.id)
            .join("license.pdf");
        add(
            "verify its sealed PDF file",
            format!(
                "curl --cacert {ca} -H 'Authorization: Bearer {key}' -H 'Content-Type: application/pdf' --data-binary @{} '{base}/v1/verify?{usage}'",
                pdf.display()
            ),
        );
        add(
            "the same with a signed receipt",
            format!(
                "curl --cacert {ca} -H 'Authorization: Bearer {key}' '{base}/v1/licenses/{}?{usage}&receipt=true'",
                l.id
            ),
        );
    }
    if let Some(l) = info.license("revoked") {
        add(
            "a revoked license (result code 3)",
            format!(
                "curl --cacert {ca} -H 'Authorization: Bearer {key}' '{base}/v1/licenses/{}?{usage}'",
                l.id
            ),
        );
    }
    if let Some(t) = token {
        add(
            "redeem a holder's QR token (single use, 5 minutes)",
            format!(
                "curl --cacert {ca} -X POST -H 'Authorization: Bearer {key}' '{base}/v1/tokens/{t}/redeem?{usage}'"
            ),
        );
    }
    let client = home.join("demo").join("client.pem");
    let client_key = home.join("demo").join("client.key.pem");
    if let Some(l) = info.license("valid") {
        add(
            "the same lookup as the mTLS caller (client certificate, no API key)",
            format!(
                "curl --cacert {ca} --cert {} --key {} '{base}/v1/licenses/{}?{usage}'",
                client.display(),
                client_key.display(),
                l.id
            ),
        );
    }
    add(
        "the log's latest signed checkpoint (public)",
        format!("curl --cacert {ca} {base}/v1/log/checkpoint"),
    );
    add(
        "Prometheus metrics",
        format!("curl --cacert {ca} -H 'Authorization: Bearer {key}' {base}/metrics"),
    );
    s
}
