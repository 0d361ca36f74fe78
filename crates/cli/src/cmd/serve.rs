//! `yinzheng serve` (the HTTPS verify API) and `yinzheng caller` (who may call it).

use super::Home;
use crate::io;
use crate::output::Output;
use anyhow::{Context, Result, bail};
use clap::{Args, Subcommand};
use serde::Serialize;
use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use yinzheng_server::demo::{self, DemoInfo};
use yinzheng_server::{CallerConfig, CallersFile, ServeOptions, ServerConfig};

/// Arguments of `serve`.
#[derive(Args, Debug)]
pub struct ServeArgs {
    /// Address to listen on (default: server.toml's, else 127.0.0.1:8443).
    #[arg(long)]
    listen: Option<SocketAddr>,
    /// Make a complete demo in the data directory when it is empty, then serve it.
    #[arg(long)]
    demo: bool,
    /// Serve plain HTTP: only behind a TLS-terminating proxy on the same host.
    #[arg(long)]
    plain_http: bool,
    /// Passphrase file of the server's key files — the OCSP responder's, the
    /// log's, the TLS key — unless each has its own below (else env
    /// YINZHENG_PASSPHRASE). Keys in devices need none.
    #[arg(long)]
    passphrase_file: Option<PathBuf>,
    /// Passphrase file of the delegated OCSP responder keys (pki/*/ocsp.key.pem).
    #[arg(long)]
    ocsp_passphrase_file: Option<PathBuf>,
    /// Passphrase file of the anchoring log's keys (log/log-signer*.key.pem).
    #[arg(long)]
    log_passphrase_file: Option<PathBuf>,
    /// Passphrase file of the TLS key (server.toml's tls_key).
    #[arg(long)]
    tls_passphrase_file: Option<PathBuf>,
    /// Log as JSON lines (else human-readable), on stderr.
    #[arg(long)]
    log_json: bool,
    /// A PostgreSQL read replica (hot standby) of the --store database, same
    /// namespace: license and seal reads go there while it is current
    /// (docs/DEPLOYMENT.md); writes stay on the primary.
    #[arg(long, env = "YINZHENG_STORE_READ", hide_env_values = true)]
    store_read: Option<String>,
    /// Read --store-read from this file (keeps the password off the command line).
    #[arg(long, conflicts_with = "store_read")]
    store_read_file: Option<PathBuf>,
}

/// The read replica of `--store-read` / `--store-read-file`, checked against the primary.
fn read_replica(
    a: &ServeArgs,
    primary: &yinzheng_store::Backend,
) -> Result<Option<yinzheng_store::Backend>> {
    let url = match (&a.store_read, &a.store_read_file) {
        (Some(u), _) => u.clone(),
        (None, Some(f)) => {
            let text = io::read_limited(f, 4096, "store-read file")?;
            String::from_utf8(text)
                .with_context(|| format!("{} is not UTF-8", f.display()))?
                .trim()
                .to_owned()
        }
        (None, None) => return Ok(None),
    };
    let replica = yinzheng_store::Backend::parse(&url)?;
    let yinzheng_store::Backend::Postgres(r) = &replica else {
        bail!("--store-read names a PostgreSQL replica (postgres://…), not {url:?}");
    };
    let yinzheng_store::Backend::Postgres(p) = primary else {
        bail!("--store-read needs --store postgres://… (the primary)");
    };
    if p.namespace() != r.namespace() {
        bail!(
            "the replica's namespace {:?} is not the primary's {:?}",
            r.namespace(),
            p.namespace()
        );
    }
    Ok(Some(replica))
}

/// `caller` subcommands.
#[derive(Subcommand, Debug)]
pub enum CallerCommand {
    /// Add a caller; prints its API key once (or binds a client certificate).
    Add(CallerAddArgs),
    /// List the callers (never their keys).
    List,
    /// Remove a caller.
    Remove {
        /// The caller's name.
        name: String,
    },
}

/// Arguments of `caller add`.
#[derive(Args, Debug)]
pub struct CallerAddArgs {
    /// Name (recorded in every usage record).
    name: String,
    /// License type keys it may see, comma-separated (`*`: all). Required: deny by default.
    #[arg(long, value_delimiter = ',', required = true)]
    types: Vec<String>,
    /// Operations it may run, comma-separated (`*`: all). Required: deny by default.
    #[arg(long, value_delimiter = ',', required = true)]
    ops: Vec<String>,
    /// Authenticate with this client certificate (PEM) instead of an API key.
    #[arg(long)]
    cert: Option<PathBuf>,
    /// Sustained requests per second.
    #[arg(long, default_value_t = 100.0)]
    rate: f64,
    /// Burst.
    #[arg(long, default_value_t = 200.0)]
    burst: f64,
    /// May see unmasked citizen ID numbers of holders.
    #[arg(long)]
    personal_data: bool,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct CallerAdded {
    name: String,
    api_key: Option<String>,
    client_cert_sha256: Option<String>,
}

/// Run `caller …`.
pub fn caller(c: &CallerCommand, home: &Home, out: &Output) -> Result<ExitCode> {
    let mut file = CallersFile::load(home)?;
    match c {
        CallerCommand::List => {
            out.result(&file.callers, || {
                if file.callers.is_empty() {
                    return "no callers: every API call is refused".into();
                }
                file.callers
                    .iter()
                    .map(|c| {
                        format!(
                            "{}  {}  types={}  ops={}  rate={}/s",
                            c.name,
                            if c.api_key_sm3.is_some() {
                                "api-key"
                            } else {
                                "client-cert"
                            },
                            c.license_types.join(","),
                            c.operations.join(","),
                            c.rate_per_s
                        )
                    })
                    .collect::<Vec<_>>()
                    .join("\n")
            });
        }
        CallerCommand::Remove { name } => {
            let before = file.callers.len();
            file.callers.retain(|c| &c.name != name);
            if file.callers.len() == before {
                bail!("no caller {name:?}");
            }
            file.save(home)?;
            out.result(
                &serde_json::json!({"removed": name, "inForceWithinMs": 1000}),
                || {
                    format!(
                        "removed {name}: servers on this data directory refuse it within a second"
                    )
                },
            );
        }
        CallerCommand::Add(a) => {
            let mut cfg = CallerConfig {
                name: a.name.clone(),
                api_key_sm3: None,
                client_cert_sha256: None,
                license_types: a.types.clone(),
                operations: a.ops.clone(),
                rate_per_s: a.rate,
                burst: a.burst,
                personal_data: a.personal_data,
            };
            let added = if let Some(p) = &a.cert {
                let bytes = io::read_limited(p, 1 << 20, "client certificate")?;
                let cert = yinzheng_pki::ParsedCert::load_all(&bytes)
                    .ok()
                    .and_then(|v| v.into_iter().next())
                    .with_context(|| format!("{} holds no certificate", p.display()))?;
                let fp = hex::encode(yinzheng_crypto::sha256(cert.der()));
                cfg.client_cert_sha256 = Some(fp.clone());
                if file.callers.iter().any(|c| c.name == cfg.name) {
                    bail!("caller {:?} exists already", cfg.name);
                }
                file.callers.push(cfg);
                CallerAdded {
                    name: a.name.clone(),
                    api_key: None,
                    client_cert_sha256: Some(fp),
                }
            } else {
                let key = file.add_with_key(cfg)?;
                CallerAdded {
                    name: a.name.clone(),
                    api_key: Some(key),
                    client_cert_sha256: None,
                }
            };
            file.save(home)?;
            out.result(&added, || match &added.api_key {
                Some(k) => format!(
                    "added {}\nAPI key (shown once, stored only as its SM3): {k}",
                    added.name
                ),
                None => format!(
                    "added {} (client certificate sha256 {})",
                    added.name,
                    added.client_cert_sha256.as_deref().unwrap_or_default()
                ),
            });
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Run `serve`.
pub fn serve(a: &ServeArgs, home: &Home, out: &Output) -> Result<ExitCode> {
    let filter = tracing_subscriber::EnvFilter::try_from_env("YINZHENG_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    // Log lines go through a background thread: a request never waits for
    // stderr (lines are dropped, and counted, if it cannot keep up).
    let (writer, _log_guard) = tracing_appender::non_blocking(std::io::stderr());
    let sub = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer);
    if a.log_json {
        let _ = sub.json().try_init();
    } else {
        let _ = sub.try_init();
    }
    let demo_info = if a.demo {
        if demo::is_empty(home) {
            let bar = (!out.is_json()).then(|| {
                let b = indicatif::ProgressBar::new_spinner();
                b.set_message(format!(
                    "making a demo data directory in {}",
                    home.display()
                ));
                b.enable_steady_tick(std::time::Duration::from_millis(120));
                b
            });
            let info = demo::create(home, home.store()).context("cannot make the demo")?;
            if let Some(b) = bar {
                b.finish_with_message(format!("demo data directory made in {}", home.display()));
            }
            Some(info)
        } else {
            let info = DemoInfo::load(home)?.with_context(|| {
                format!(
                    "{} is neither empty nor a demo data directory: run without --demo, or use another --home",
                    home.display()
                )
            })?;
            // The demo is its own CA: its CRLs, signed ahead a week, are
            // signed again each time it is served.
            demo::publish_crls(home, home.store(), &info).context("cannot sign the demo's CRLs")?;
            Some(info)
        }
    } else {
        None
    };
    let keys = match &demo_info {
        Some(i) => yinzheng_server::KeyPassphrases::same(i.passphrase.as_bytes()),
        None => {
            // Each key's own passphrase file, else the shared one (or the
            // environment); a key that needs one and has none is named when
            // the server opens it.
            let shared = io::passphrase(a.passphrase_file.as_deref())?;
            let own = |file: &Option<PathBuf>| -> Result<_> {
                let pass = match file {
                    Some(f) => io::passphrase(Some(f))?,
                    None => shared.clone(),
                };
                Ok(pass.map(|p| yinzheng_ca::Passphrase::new(&p)))
            };
            yinzheng_server::KeyPassphrases {
                ocsp: own(&a.ocsp_passphrase_file)?,
                log: own(&a.log_passphrase_file)?,
                tls: if a.plain_http {
                    None
                } else {
                    own(&a.tls_passphrase_file)?
                },
            }
        }
    };
    let mut config = ServerConfig::load(home)?;
    if demo_info.is_some() {
        // The demo is one host, its CA keys beside the server (a demo made
        // before the setting existed has no line for it).
        config.allow_ca_keys_in_data_dir = true;
    }
    if let Some(l) = a.listen {
        config.listen = l;
    }
    config.store = home.store().clone();
    config.read_replica = read_replica(a, home.store())?;
    let listen = config.listen;
    let state = yinzheng_server::AppState::open_with_keys(home, config, &keys)
        .with_context(|| format!("cannot open the data directory {}", home.display()))?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the runtime")?;
    rt.block_on(async move {
        let listener = tokio::net::TcpListener::bind(listen)
            .await
            .with_context(|| format!("cannot listen on {listen}"))?;
        let addr = listener.local_addr()?;
        let scheme = if a.plain_http { "http" } else { "https" };
        let host = if addr.ip().is_loopback() && addr.is_ipv4() {
            "127.0.0.1".to_string()
        } else {
            addr.ip().to_string()
        };
        let base = format!("{scheme}://{host}:{}", addr.port());
        let token = match &demo_info {
            Some(i) => demo::mint_token(home, home.store(), i).ok(),
            None => None,
        };
        let report = serde_json::json!({
            "url": base,
            "demoApiKey": demo_info.as_ref().map(|i| i.api_key.clone()),
            "demoToken": token,
            "demoLicenses": demo_info.as_ref().map(|i| i.licenses.clone()),
        });
        out.result(&report, || {
            let mut s = format!("listening on {base}\n");
            if let Some(i) = &demo_info {
                s.push_str(&format!(
                    "counter page: {base}/  (trust {} in the browser, or accept the warning)\ndemo API key: {}\n\ntry:\n\n{}",
                    home.join("demo").join("tls-root.pem").display(),
                    i.api_key,
                    demo::curl_examples(home, &base, i, token.as_deref())
                ));
            }
            s.push_str("Ctrl-C stops (in-flight requests finish, usage records are flushed).");
            s
        });
        let _ = std::io::stdout().flush();
        let shutdown = io::shutdown_signal();
        yinzheng_server::serve(
            state,
            listener,
            ServeOptions {
                plain_http: a.plain_http,
            },
            keys.tls.as_ref().map(yinzheng_ca::Passphrase::expose),
            shutdown,
        )
        .await?;
        anyhow::Ok(())
    })?;
    Ok(ExitCode::SUCCESS)
}
