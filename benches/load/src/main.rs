//! Helpers of the verify server's load benchmark (`benches/load/run.sh`).
//!
//! * `mint`: presentation tokens for a license, one a line, straight from the
//!   registry (the CLI would cost a process per token; tokens live ≤ 300 s, so
//!   they are minted right before each run).
//! * `redeem`: the token-redeem scenario's load driver. oha can take its URLs
//!   from a file, but it picks them at random with replacement, so a single-use
//!   token would be sent twice and answered 409; this driver sends every token
//!   once, at a fixed offered rate (open loop, latency measured from the
//!   request's intended send time, as oha's `--latency-correction`), or as fast
//!   as its connections allow (saturation), and writes a JSON summary whose
//!   fields are the subset of oha's `--output-format json` that `run.sh` reads.

use anyhow::{Context, Result, bail};
use clap::{Parser, Subcommand};
use http_body_util::{BodyExt, Empty};
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

#[derive(Parser, Debug)]
#[command(about = "Helpers of the verify server's load benchmark")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Mint presentation tokens for a license (one a line on stdout).
    Mint {
        /// The data directory (its `licenses/` registry is written).
        #[arg(long)]
        home: PathBuf,
        /// License identifier.
        #[arg(long)]
        license: String,
        /// How many tokens.
        #[arg(long)]
        count: usize,
        /// Lifetime in seconds (60–300).
        #[arg(long, default_value_t = 300)]
        ttl: u32,
        /// Where the registry's database lives, as the server's `--store`
        /// (`sqlite`, the default, or `postgres://…`).
        #[arg(long, default_value = "sqlite")]
        store: String,
    },
    /// Redeem tokens over HTTPS at a fixed rate, or at saturation.
    Redeem(RedeemArgs),
    /// Lookups at a fixed rate plus a verification mix for a long time,
    /// reporting RSS, WAL, anchoring backlog and p99 every interval.
    Soak(soak::SoakArgs),
    /// A normal client's latency, quiet and while attackers hold idle
    /// connections, dribble headers and bodies, upload zip bombs and PDFs
    /// with thousands of revisions.
    Abuse(abuse::AbuseArgs),
}

#[derive(clap::Args, Debug)]
struct RedeemArgs {
    /// Base URL, e.g. https://127.0.0.1:8443
    #[arg(long)]
    url: String,
    /// Query string sent with every redemption (the usage-record context).
    #[arg(long)]
    query: String,
    /// PEM file of the server's TLS root.
    #[arg(long)]
    cacert: PathBuf,
    /// The caller's API key (sent as `Authorization: Bearer`).
    #[arg(long)]
    api_key: String,
    /// File of tokens, one a line; each is sent once.
    #[arg(long)]
    tokens: PathBuf,
    /// Offered rate in requests per second; absent: saturation (closed loop).
    #[arg(long)]
    rate: Option<f64>,
    /// Measured seconds.
    #[arg(long, default_value_t = 15.0)]
    duration: f64,
    /// Warm-up seconds before (same rate, results discarded).
    #[arg(long, default_value_t = 2.0)]
    warmup: f64,
    /// Keep-alive connections.
    #[arg(long, default_value_t = 32)]
    connections: usize,
    /// Runtime worker threads of the driver.
    #[arg(long, default_value_t = 1)]
    threads: usize,
    /// Write the JSON summary here (else stdout).
    #[arg(long)]
    out: Option<PathBuf>,
}

mod abuse;
mod soak;

fn runtime(threads: usize) -> Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .worker_threads(threads.max(1))
        .enable_all()
        .build()?)
}

fn main() -> Result<()> {
    match Cli::parse().command {
        Command::Soak(a) => runtime(1)?.block_on(soak::soak(a)),
        Command::Abuse(a) => runtime(1)?.block_on(abuse::abuse(a)),
        Command::Mint {
            home,
            license,
            count,
            ttl,
            store,
        } => mint(
            &home,
            &yinzheng_store::Backend::parse(&store)?,
            &license,
            count,
            ttl,
        ),
        Command::Redeem(a) => {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(a.threads.max(1))
                .enable_all()
                .build()?;
            rt.block_on(redeem(a))
        }
    }
}

fn mint(
    home: &Path,
    store: &yinzheng_store::Backend,
    license: &str,
    count: usize,
    ttl: u32,
) -> Result<()> {
    let mut reg = yinzheng_license::Registry::open_in(&home.join("licenses"), store)
        .with_context(|| format!("cannot open the registry of {}", home.display()))?;
    let out = std::io::stdout();
    let mut out = std::io::BufWriter::new(out.lock());
    for _ in 0..count {
        let (token, _) =
            reg.create_token(license, ttl, None, "bench", time::OffsetDateTime::now_utc())?;
        writeln!(out, "{token}")?;
    }
    out.flush()?;
    Ok(())
}

/// One connection: a TLS stream driven by hyper's HTTP/1.1 client.
type Sender = hyper::client::conn::http1::SendRequest<Empty<Bytes>>;

struct Target {
    addr: String,
    authority: String,
    server_name: ServerName<'static>,
    tls: tokio_rustls::TlsConnector,
}

impl Target {
    /// The server at `url` (https://host:port), trusted through the PEM root `cacert`.
    fn new(url: &str, cacert: &Path) -> Result<Arc<Target>> {
        let rest = url
            .strip_prefix("https://")
            .context("the URL must be https://host:port")?
            .trim_end_matches('/');
        let host = rest.rsplit_once(':').map(|(h, _)| h).unwrap_or(rest);
        let mut roots = rustls::RootCertStore::empty();
        for c in CertificateDer::pem_file_iter(cacert)
            .with_context(|| format!("cannot read {}", cacert.display()))?
        {
            roots.add(c?)?;
        }
        let config = rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()?
        .with_root_certificates(roots)
        .with_no_client_auth();
        Ok(Arc::new(Target {
            addr: rest.to_string(),
            authority: rest.to_string(),
            server_name: ServerName::try_from(host.to_string())?,
            tls: tokio_rustls::TlsConnector::from(Arc::new(config)),
        }))
    }

    /// A TLS stream to the server (no HTTP yet).
    async fn tls(&self) -> Result<tokio_rustls::client::TlsStream<tokio::net::TcpStream>> {
        let tcp = tokio::net::TcpStream::connect(&self.addr).await?;
        tcp.set_nodelay(true)?;
        Ok(self.tls.connect(self.server_name.clone(), tcp).await?)
    }

    /// An HTTP/1.1 connection whose requests carry whole bodies.
    async fn connect_full(
        &self,
    ) -> Result<hyper::client::conn::http1::SendRequest<http_body_util::Full<Bytes>>> {
        let tls = self.tls().await?;
        let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tls)).await?;
        tokio::spawn(async move {
            let _ = conn.await;
        });
        Ok(sender)
    }

    async fn connect(&self) -> Result<Sender> {
        let tcp = tokio::net::TcpStream::connect(&self.addr).await?;
        tcp.set_nodelay(true)?;
        let tls = self.tls.connect(self.server_name.clone(), tcp).await?;
        let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tls)).await?;
        tokio::spawn(async move {
            let _ = conn.await;
        });
        Ok(sender)
    }
}

/// What one phase measured.
#[derive(Default)]
struct Tally {
    latencies: Vec<Duration>,
    status: BTreeMap<String, usize>,
    errors: BTreeMap<String, usize>,
}

struct Phase {
    tokens: Arc<Vec<String>>,
    next: AtomicUsize,
    /// Index of the first token after this phase's share.
    end: usize,
    start: Instant,
    deadline: Instant,
    interval: Option<Duration>,
    path_suffix: String,
    auth: String,
    authority: String,
    tally: Mutex<Tally>,
}

async fn redeem(a: RedeemArgs) -> Result<()> {
    let tokens: Vec<String> = std::fs::read_to_string(&a.tokens)
        .with_context(|| format!("cannot read {}", a.tokens.display()))?
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(String::from)
        .collect();
    if tokens.is_empty() {
        bail!("no tokens in {}", a.tokens.display());
    }
    let tokens = Arc::new(tokens);
    let target = Target::new(&a.url, &a.cacert)?;

    let mut senders = Vec::with_capacity(a.connections);
    for _ in 0..a.connections.max(1) {
        senders.push(target.connect().await?);
    }

    let mut used = 0;
    if a.warmup > 0.0 {
        let (_, n, senders_back) =
            run_phase(&a, &target, &tokens, used, a.warmup, true, senders).await;
        senders = senders_back;
        used = n;
    }
    let (phase, n, _) = run_phase(&a, &target, &tokens, used, a.duration, false, senders).await;
    let tally = std::mem::take(&mut *phase.tally.lock().unwrap_or_else(|e| e.into_inner()));
    let mut lat = tally.latencies;
    let elapsed = phase.start.elapsed().as_secs_f64();
    lat.sort_unstable();
    let pct = |p: f64| -> f64 {
        if lat.is_empty() {
            return 0.0;
        }
        let i = ((p / 100.0 * lat.len() as f64).ceil() as usize).clamp(1, lat.len()) - 1;
        lat[i].as_secs_f64()
    };
    let mut percentiles = serde_json::Map::new();
    for (k, p) in [
        ("p50", 50.0),
        ("p90", 90.0),
        ("p99", 99.0),
        ("p99.9", 99.9),
        ("p99.99", 99.99),
    ] {
        percentiles.insert(k.into(), pct(p).into());
    }
    let done = lat.len();
    let ok = tally.status.get("200").copied().unwrap_or(0);
    let v = serde_json::json!({
        "summary": {
            "total": elapsed,
            "requestsPerSec": if elapsed > 0.0 { done as f64 / elapsed } else { 0.0 },
            "successRate": if done == 0 { 0.0 } else { ok as f64 / done as f64 },
            "slowest": lat.last().map(|d| d.as_secs_f64()).unwrap_or(0.0),
        },
        "latencyPercentiles": percentiles,
        "statusCodeDistribution": tally.status,
        "errorDistribution": tally.errors,
        "offeredRate": a.rate,
        "connections": a.connections,
        "tokensUnused": tokens.len().saturating_sub(n),
        "ranOutOfTokens": n >= tokens.len(),
    });
    let text = serde_json::to_string_pretty(&v)?;
    match &a.out {
        Some(p) => std::fs::write(p, text + "\n")?,
        None => println!("{text}"),
    }
    Ok(())
}

/// Run one phase from token `first` for `secs`; answers the phase, the index
/// of the first unused token, and the connections for the next phase.
async fn run_phase(
    a: &RedeemArgs,
    target: &Arc<Target>,
    tokens: &Arc<Vec<String>>,
    first: usize,
    secs: f64,
    warmup: bool,
    senders: Vec<Sender>,
) -> (Arc<Phase>, usize, Vec<Sender>) {
    let start = Instant::now() + Duration::from_millis(20);
    let dur = Duration::from_secs_f64(secs);
    let (interval, end) = match a.rate {
        Some(r) => {
            let n = (r * secs).round() as usize;
            (
                Some(Duration::from_secs_f64(1.0 / r)),
                (first + n).min(tokens.len()),
            )
        }
        // At saturation a warm-up may use a tenth of the tokens at most.
        None if warmup => (None, (first + tokens.len() / 10).min(tokens.len())),
        None => (None, tokens.len()),
    };
    let phase = Arc::new(Phase {
        tokens: tokens.clone(),
        next: AtomicUsize::new(first),
        end,
        start,
        deadline: start + dur,
        interval,
        path_suffix: format!("/redeem?{}", a.query),
        auth: format!("Bearer {}", a.api_key),
        authority: target.authority.clone(),
        tally: Mutex::new(Tally::default()),
    });
    let mut tasks = Vec::with_capacity(senders.len());
    for s in senders {
        tasks.push(tokio::spawn(worker(
            phase.clone(),
            target.clone(),
            first,
            s,
        )));
    }
    let mut back = Vec::with_capacity(tasks.len());
    for t in tasks {
        if let Ok(Some(s)) = t.await {
            back.push(s);
        }
    }
    let used = phase.next.load(Ordering::Relaxed).min(end);
    (phase, used, back)
}

async fn worker(
    phase: Arc<Phase>,
    target: Arc<Target>,
    first: usize,
    mut sender: Sender,
) -> Option<Sender> {
    let mut local = Tally::default();
    loop {
        let i = phase.next.fetch_add(1, Ordering::Relaxed);
        if i >= phase.end {
            break;
        }
        let intended = match phase.interval {
            Some(iv) => {
                let at = phase.start + iv * (i - first) as u32;
                tokio::time::sleep_until(at.into()).await;
                at
            }
            None => {
                let now = Instant::now();
                if now >= phase.deadline {
                    break;
                }
                now.max(phase.start)
            }
        };
        let req = hyper::Request::post(format!(
            "/v1/tokens/{}{}",
            phase.tokens[i], phase.path_suffix
        ))
        .header(hyper::header::HOST, &phase.authority)
        .header(hyper::header::AUTHORIZATION, &phase.auth)
        .header(hyper::header::CONTENT_LENGTH, "0")
        .body(Empty::<Bytes>::new());
        let req = match req {
            Ok(r) => r,
            Err(e) => {
                *local.errors.entry(e.to_string()).or_default() += 1;
                continue;
            }
        };
        let result = async {
            sender.ready().await?;
            let resp = sender.send_request(req).await?;
            let status = resp.status();
            resp.into_body().collect().await?;
            anyhow::Ok(status)
        }
        .await;
        let latency = intended.elapsed();
        match result {
            Ok(status) => {
                *local.status.entry(status.as_u16().to_string()).or_default() += 1;
                local.latencies.push(latency);
            }
            Err(e) => {
                *local.errors.entry(e.to_string()).or_default() += 1;
                match target.connect().await {
                    Ok(s) => sender = s,
                    Err(e) => {
                        *local.errors.entry(e.to_string()).or_default() += 1;
                        break;
                    }
                }
            }
        }
    }
    let mut t = phase.tally.lock().unwrap_or_else(|e| e.into_inner());
    t.latencies.append(&mut local.latencies);
    for (k, v) in local.status {
        *t.status.entry(k).or_default() += v;
    }
    for (k, v) in local.errors {
        *t.errors.entry(k).or_default() += v;
    }
    drop(t);
    Some(sender)
}
