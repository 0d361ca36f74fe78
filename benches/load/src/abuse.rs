//! `abuse`: a normal client looks a license up at a steady rate, first on a
//! quiet server, then while attackers hold idle connections, send headers
//! and bodies a byte at a time, upload zip bombs and PDFs with thousands of
//! incremental updates, all in parallel. The normal client's p99 under
//! attack must stay within `max_ratio` × its quiet p99 (plus a floor for
//! timer noise), and the server's RSS within `rss_budget_mib`; otherwise
//! exit 1.

use crate::Target;
use crate::soak::rss;
use anyhow::{Context, Result};
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use std::io::Write;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// What `abuse` is asked.
#[derive(clap::Args, Debug)]
pub struct AbuseArgs {
    /// Base URL, e.g. https://127.0.0.1:8443
    #[arg(long)]
    pub url: String,
    /// PEM file of the server's TLS root.
    #[arg(long)]
    pub cacert: PathBuf,
    /// The caller's API key (the attackers use it too: an insider).
    #[arg(long)]
    pub api_key: String,
    /// The license the normal client looks up.
    #[arg(long)]
    pub license: String,
    /// Query string (the usage-record context).
    #[arg(long)]
    pub query: String,
    /// A sealed PDF: the attackers append incremental updates to it.
    #[arg(long)]
    pub pdf: PathBuf,
    /// The server's process id (its RSS is sampled).
    #[arg(long)]
    pub pid: u32,
    /// The normal client's lookups per second.
    #[arg(long, default_value_t = 50.0)]
    pub rate: f64,
    /// Seconds of the quiet phase, and of the attack.
    #[arg(long, default_value_t = 20)]
    pub seconds: u64,
    /// Idle TCP connections the attackers keep open (reopened when closed).
    #[arg(long, default_value_t = 10_000)]
    pub idle: usize,
    /// Source addresses the idle connections come from (127.0.0.2 …).
    #[arg(long, default_value_t = 4)]
    pub sources: u8,
    /// Slow-header and slow-body connections (each).
    #[arg(long, default_value_t = 32)]
    pub slow: usize,
    /// Zip bombs uploaded at once (again as each is answered).
    #[arg(long, default_value_t = 16)]
    pub bombs: usize,
    /// What one bomb inflates to, MiB (the server refuses more than its
    /// max_inflated_bytes before inflating: the worst bomb is just under).
    #[arg(long, default_value_t = 63)]
    pub bomb_mib: usize,
    /// PDFs with many incremental updates uploaded at once.
    #[arg(long, default_value_t = 4)]
    pub revision_uploads: usize,
    /// Incremental updates in each.
    #[arg(long, default_value_t = 5_000)]
    pub revisions: usize,
    /// Largest allowed ratio of the attacked p99 to the quiet p99.
    #[arg(long, default_value_t = 2.0)]
    pub max_ratio: f64,
    /// Latency floor (ms) under which p99s are not compared (timer noise).
    #[arg(long, default_value_t = 5.0)]
    pub floor_ms: f64,
    /// The server's RSS must stay under this, MiB.
    #[arg(long, default_value_t = 1024)]
    pub rss_budget_mib: u64,
    /// Write the JSON summary here.
    #[arg(long)]
    pub out: Option<PathBuf>,
}

/// An OFD package whose resource parts inflate to `mib` MiB of zeros in all
/// (about 1 KiB on the wire per MiB), in parts of at most 63 MiB (the
/// document crate refuses a part over 64 MiB before inflating it).
fn zip_bomb(mib: usize) -> Result<Vec<u8>> {
    // A stored OFD.xml, deflated parts of zeros; written by hand (no zip
    // writer in this crate): local headers, data, central directory.
    let ofd: &[u8] = br#"<?xml version="1.0" encoding="UTF-8"?><ofd:OFD xmlns:ofd="http://www.ofdspec.org/2016" Version="1.0" DocType="OFD"><ofd:DocBody><ofd:DocInfo><ofd:DocID>x</ofd:DocID></ofd:DocInfo><ofd:DocRoot>Doc_0/Document.xml</ofd:DocRoot></ofd:DocBody></ofd:OFD>"#;
    let crc = |data: &[u8]| {
        let mut h = flate2::Crc::new();
        h.update(data);
        h.sum()
    };
    // (name, method, crc, stored data, uncompressed size)
    let mut entries: Vec<(String, u16, u32, Vec<u8>, usize)> =
        vec![("OFD.xml".into(), 0, crc(ofd), ofd.to_vec(), ofd.len())];
    let mut left = mib;
    let mut i = 0;
    while left > 0 {
        let part = left.min(63);
        left -= part;
        let zeros = vec![0u8; part << 20];
        let mut enc = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::best());
        enc.write_all(&zeros)?;
        entries.push((
            format!("Doc_0/Res/bomb{i}.bin"),
            8,
            crc(&zeros),
            enc.finish()?,
            zeros.len(),
        ));
        i += 1;
    }
    let mut out = Vec::new();
    let mut central = Vec::new();
    for (name, method, crc, data, size) in &entries {
        let offset = out.len() as u32;
        let mut h = Vec::new();
        h.extend_from_slice(&[0x50, 0x4b, 0x03, 0x04, 20, 0, 0, 0]);
        h.extend_from_slice(&method.to_le_bytes());
        h.extend_from_slice(&[0, 0, 0x21, 0]); // time, date
        h.extend_from_slice(&crc.to_le_bytes());
        h.extend_from_slice(&(data.len() as u32).to_le_bytes());
        h.extend_from_slice(&(*size as u32).to_le_bytes());
        h.extend_from_slice(&(name.len() as u16).to_le_bytes());
        h.extend_from_slice(&0u16.to_le_bytes());
        out.extend_from_slice(&h);
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(data);
        let mut c = vec![0x50, 0x4b, 0x01, 0x02, 20, 0];
        c.extend_from_slice(&h[4..]);
        c.extend_from_slice(&[0; 10]); // comment length, disk, internal and external attributes
        c.extend_from_slice(&offset.to_le_bytes());
        c.extend_from_slice(name.as_bytes());
        central.extend_from_slice(&c);
    }
    let cd_offset = out.len() as u32;
    out.extend_from_slice(&central);
    out.extend_from_slice(&[0x50, 0x4b, 0x05, 0x06, 0, 0, 0, 0]);
    out.extend_from_slice(&(entries.len() as u16).to_le_bytes());
    out.extend_from_slice(&(entries.len() as u16).to_le_bytes());
    out.extend_from_slice(&(central.len() as u32).to_le_bytes());
    out.extend_from_slice(&cd_offset.to_le_bytes());
    out.extend_from_slice(&0u16.to_le_bytes());
    Ok(out)
}

/// `pdf` with `n` empty incremental updates appended (each a new xref
/// section and trailer pointing at the previous one).
fn many_revisions(pdf: &[u8], n: usize) -> Result<Vec<u8>> {
    let text = String::from_utf8_lossy(pdf);
    let last = |key: &str| -> Option<String> {
        let i = text.rfind(key)?;
        let rest = &text[i + key.len()..];
        let end = rest.find(['/', '>'])?;
        Some(rest[..end].trim().to_string())
    };
    let root = last("/Root").context("the PDF names no /Root")?;
    let size = last("/Size").context("the PDF names no /Size")?;
    let mut prev: usize = {
        let i = text.rfind("startxref").context("no startxref")?;
        text[i + 9..]
            .split_whitespace()
            .next()
            .and_then(|v| v.parse().ok())
            .context("startxref is not a number")?
    };
    let mut out = pdf.to_vec();
    for _ in 0..n {
        if !out.ends_with(b"\n") {
            out.push(b'\n');
        }
        let at = out.len();
        write!(
            out,
            "xref\n0 0\ntrailer\n<< /Size {size} /Root {root} /Prev {prev} >>\nstartxref\n{at}\n%%EOF\n"
        )?;
        prev = at;
    }
    Ok(out)
}

/// A TCP connection from `source` kept open until the server closes it,
/// then opened again, until `stop`.
async fn hold_idle(addr: SocketAddr, source: IpAddr, stop: Arc<AtomicBool>, held: Arc<AtomicU64>) {
    while !stop.load(Ordering::Relaxed) {
        let sock = match tokio::net::TcpSocket::new_v4() {
            Ok(s) => s,
            Err(_) => {
                tokio::time::sleep(Duration::from_millis(200)).await;
                continue;
            }
        };
        if sock.bind(SocketAddr::new(source, 0)).is_err() {
            tokio::time::sleep(Duration::from_millis(200)).await;
            continue;
        }
        let Ok(mut s) = sock.connect(addr).await else {
            tokio::time::sleep(Duration::from_millis(100)).await;
            continue;
        };
        held.fetch_add(1, Ordering::Relaxed);
        let mut b = [0u8; 64];
        // Wait for the server to close it (or the attack to end).
        let _ = tokio::time::timeout(Duration::from_secs(600), async {
            while !stop.load(Ordering::Relaxed) {
                match tokio::time::timeout(Duration::from_millis(500), s.read(&mut b)).await {
                    Ok(Ok(0)) | Ok(Err(_)) => break,
                    _ => {}
                }
            }
        })
        .await;
        held.fetch_sub(1, Ordering::Relaxed);
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A TLS connection that sends `head` then `body_len` bytes, one byte every
/// `pace`, reopened when closed, until `stop`.
async fn dribble(target: Arc<Target>, head: String, body_len: usize, stop: Arc<AtomicBool>) {
    let pace = Duration::from_millis(500);
    while !stop.load(Ordering::Relaxed) {
        let Ok(mut s) = target.tls().await else {
            tokio::time::sleep(Duration::from_millis(200)).await;
            continue;
        };
        let mut bytes = head.clone().into_bytes();
        bytes.extend(std::iter::repeat_n(b'%', body_len));
        let slow_from = if body_len > 0 { head.len() } else { 0 };
        if s.write_all(&bytes[..slow_from]).await.is_err() {
            continue;
        }
        for b in &bytes[slow_from..] {
            if stop.load(Ordering::Relaxed) || s.write_all(&[*b]).await.is_err() {
                break;
            }
            let _ = s.flush().await;
            tokio::time::sleep(pace).await;
        }
    }
}

/// Upload `body` again and again until `stop`; counts the answers by status.
async fn upload_loop(
    target: Arc<Target>,
    path: String,
    auth: String,
    content_type: &'static str,
    body: Bytes,
    stop: Arc<AtomicBool>,
    answers: Arc<std::sync::Mutex<std::collections::BTreeMap<u16, u64>>>,
) {
    while !stop.load(Ordering::Relaxed) {
        let Ok(mut s) = target.connect_full().await else {
            tokio::time::sleep(Duration::from_millis(200)).await;
            continue;
        };
        while !stop.load(Ordering::Relaxed) {
            let Ok(req) = hyper::Request::post(&path)
                .header(hyper::header::HOST, &target.authority)
                .header(hyper::header::AUTHORIZATION, &auth)
                .header(hyper::header::CONTENT_TYPE, content_type)
                .body(Full::new(body.clone()))
            else {
                return;
            };
            let r = async {
                s.ready().await?;
                let r = s.send_request(req).await?;
                let st = r.status().as_u16();
                r.into_body().collect().await?;
                anyhow::Ok(st)
            }
            .await;
            match r {
                Ok(st) => {
                    if let Ok(mut a) = answers.lock() {
                        *a.entry(st).or_default() += 1;
                    }
                    if st == 503 {
                        tokio::time::sleep(Duration::from_millis(100)).await;
                    }
                }
                Err(_) => break,
            }
        }
    }
}

/// Lookups at `rate` for `secs`, open loop; the p99 (s) and the failures.
async fn normal_client(
    target: &Arc<Target>,
    path: &str,
    auth: &str,
    rate: f64,
    secs: u64,
) -> (f64, usize, usize) {
    let mut s = target.connect_full().await.ok();
    let start = Instant::now();
    let n = (rate * secs as f64) as usize;
    let mut lat = Vec::with_capacity(n);
    let mut failed = 0;
    for i in 0..n {
        let due = start + Duration::from_secs_f64(i as f64 / rate);
        tokio::time::sleep_until(due.into()).await;
        let ok = match (
            s.as_mut(),
            hyper::Request::get(path)
                .header(hyper::header::HOST, &target.authority)
                .header(hyper::header::AUTHORIZATION, auth)
                .body(Full::new(Bytes::new())),
        ) {
            (Some(s), Ok(req)) => async {
                s.ready().await?;
                let r = s.send_request(req).await?;
                let ok = r.status() == 200;
                r.into_body().collect().await?;
                anyhow::Ok(ok)
            }
            .await
            .unwrap_or(false),
            _ => false,
        };
        if ok {
            lat.push(due.elapsed());
        } else {
            failed += 1;
            s = target.connect_full().await.ok();
        }
    }
    lat.sort_unstable();
    let p99 = if lat.is_empty() {
        f64::INFINITY
    } else {
        lat[((0.99 * lat.len() as f64).ceil() as usize).clamp(1, lat.len()) - 1].as_secs_f64()
    };
    (p99, lat.len(), failed)
}

/// [`normal_client`] on a thread and runtime of its own, so the attackers'
/// tasks in this process do not delay its measurements.
async fn measured_apart(
    target: &Arc<Target>,
    path: &str,
    auth: &str,
    rate: f64,
    secs: u64,
) -> Result<(f64, usize, usize)> {
    let (target, path, auth) = (target.clone(), path.to_string(), auth.to_string());
    let (tx, rx) = tokio::sync::oneshot::channel();
    std::thread::Builder::new()
        .name("normal-client".into())
        .spawn(move || {
            let r = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map(|rt| rt.block_on(normal_client(&target, &path, &auth, rate, secs)));
            let _ = tx.send(r);
        })?;
    Ok(rx.await??)
}

pub async fn abuse(a: AbuseArgs) -> Result<()> {
    anyhow::ensure!(
        a.rate > 0.0 && a.seconds > 0,
        "--rate and --seconds must be positive"
    );
    let target = Target::new(&a.url, &a.cacert)?;
    let auth = format!("Bearer {}", a.api_key);
    let lookup = format!("/v1/licenses/{}?{}", a.license, a.query);
    let verify = format!("/v1/verify?{}", a.query);
    let pdf = std::fs::read(&a.pdf).with_context(|| format!("cannot read {}", a.pdf.display()))?;
    let bomb = Bytes::from(zip_bomb(a.bomb_mib)?);
    let revisions = Bytes::from(many_revisions(&pdf, a.revisions)?);
    let addr: SocketAddr = tokio::net::lookup_host(&target.addr)
        .await?
        .next()
        .context("the server's address")?;

    // One bomb on the quiet server: what the attack costs it (the package
    // must reach inflation, not be refused as a malformed ZIP).
    {
        let mut s = target.connect_full().await?;
        let req = hyper::Request::post(&verify)
            .header(hyper::header::HOST, &target.authority)
            .header(hyper::header::AUTHORIZATION, &auth)
            .header(hyper::header::CONTENT_TYPE, "application/ofd")
            .body(Full::new(bomb.clone()))?;
        let started = Instant::now();
        let r = s.send_request(req).await?;
        let status = r.status();
        let body = r.into_body().collect().await?.to_bytes();
        let text = String::from_utf8_lossy(&body);
        eprintln!(
            "abuse: one zip bomb alone: {status} in {} ms: {}",
            started.elapsed().as_millis(),
            text.chars().take(300).collect::<String>()
        );
        anyhow::ensure!(
            !text.to_lowercase().contains("zip"),
            "the zip bomb was refused as a malformed package, not inflated: {text}"
        );
    }
    eprintln!(
        "abuse: quiet phase, {} s at {} lookups/s",
        a.seconds, a.rate
    );
    let (quiet_p99, quiet_n, quiet_failed) =
        measured_apart(&target, &lookup, &auth, a.rate, a.seconds).await?;

    eprintln!(
        "abuse: attack — {} idle connections from {} addresses, {} slow headers, {} slow bodies, {} zip bombs of {} MiB ({} KiB each), {} PDFs of {} revisions ({} KiB each)",
        a.idle,
        a.sources,
        a.slow,
        a.slow,
        a.bombs,
        a.bomb_mib,
        bomb.len() >> 10,
        a.revision_uploads,
        a.revisions,
        revisions.len() >> 10
    );
    let stop = Arc::new(AtomicBool::new(false));
    let held = Arc::new(AtomicU64::new(0));
    let answers = Arc::new(std::sync::Mutex::new(std::collections::BTreeMap::new()));
    let mut attackers = Vec::new();
    for i in 0..a.idle {
        let source = IpAddr::V4(Ipv4Addr::new(
            127,
            0,
            0,
            2 + (i % a.sources.clamp(1, 250) as usize) as u8,
        ));
        attackers.push(tokio::spawn(hold_idle(
            addr,
            source,
            stop.clone(),
            held.clone(),
        )));
    }
    let slow_header = format!(
        "GET {lookup} HTTP/1.1\r\nHost: {}\r\nAuthorization: {auth}\r\n\r\n",
        target.authority
    );
    let slow_body = format!(
        "POST {verify} HTTP/1.1\r\nHost: {}\r\nAuthorization: {auth}\r\nContent-Type: application/pdf\r\nContent-Length: 1000000\r\n\r\n",
        target.authority
    );
    for _ in 0..a.slow {
        attackers.push(tokio::spawn(dribble(
            target.clone(),
            slow_header.clone(),
            0,
            stop.clone(),
        )));
        attackers.push(tokio::spawn(dribble(
            target.clone(),
            slow_body.clone(),
            1_000_000,
            stop.clone(),
        )));
    }
    for _ in 0..a.bombs {
        attackers.push(tokio::spawn(upload_loop(
            target.clone(),
            verify.clone(),
            auth.clone(),
            "application/ofd",
            bomb.clone(),
            stop.clone(),
            answers.clone(),
        )));
    }
    for _ in 0..a.revision_uploads {
        attackers.push(tokio::spawn(upload_loop(
            target.clone(),
            verify.clone(),
            auth.clone(),
            "application/pdf",
            revisions.clone(),
            stop.clone(),
            answers.clone(),
        )));
    }
    let rss_max = Arc::new(AtomicU64::new(rss(a.pid)));
    let sampler = {
        let (stop, rss_max, pid) = (stop.clone(), rss_max.clone(), a.pid);
        tokio::spawn(async move {
            while !stop.load(Ordering::Relaxed) {
                rss_max.fetch_max(rss(pid), Ordering::Relaxed);
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        })
    };
    // Let the attack build up, then measure.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let held_at_start = held.load(Ordering::Relaxed);
    let (attack_p99, attack_n, attack_failed) =
        measured_apart(&target, &lookup, &auth, a.rate, a.seconds).await?;
    let held_at_end = held.load(Ordering::Relaxed);
    stop.store(true, Ordering::Relaxed);
    for t in attackers {
        t.abort();
    }
    let _ = sampler.await;
    let rss_max = rss_max.load(Ordering::Relaxed);
    let answers = answers.lock().map(|a| a.clone()).unwrap_or_default();

    let floor = a.floor_ms / 1e3;
    let ratio = attack_p99.max(floor) / quiet_p99.max(floor);
    println!("| phase | lookups answered | failed | p99 (ms) |");
    println!("|---|---|---|---|");
    println!(
        "| quiet | {quiet_n} | {quiet_failed} | {:.1} |",
        quiet_p99 * 1e3
    );
    println!(
        "| under attack | {attack_n} | {attack_failed} | {:.1} |",
        attack_p99 * 1e3
    );
    println!(
        "\nratio {ratio:.2} (bound {}; p99s under {} ms count as {} ms); idle connections held open: {held_at_start} at the start, {held_at_end} at the end; server RSS max {} MiB (budget {}); attack uploads answered: {answers:?}",
        a.max_ratio,
        a.floor_ms,
        a.floor_ms,
        rss_max >> 20,
        a.rss_budget_mib
    );
    let mut violations = Vec::new();
    if attack_failed > 0 || quiet_failed > 0 {
        violations.push(format!(
            "the normal client failed {quiet_failed} quiet and {attack_failed} attacked lookups"
        ));
    }
    if ratio > a.max_ratio {
        violations.push(format!(
            "the normal client's p99 grew {ratio:.2}× under attack (bound {}×)",
            a.max_ratio
        ));
    }
    if rss_max > a.rss_budget_mib << 20 {
        violations.push(format!(
            "the server's RSS reached {} MiB (budget {} MiB)",
            rss_max >> 20,
            a.rss_budget_mib
        ));
    }
    let v = serde_json::json!({
        "quietP99": quiet_p99,
        "attackP99": attack_p99,
        "ratio": ratio,
        "quietFailed": quiet_failed,
        "attackFailed": attack_failed,
        "idleHeld": [held_at_start, held_at_end],
        "rssMaxBytes": rss_max,
        "attackAnswers": answers.iter().map(|(k, v)| (k.to_string(), *v)).collect::<std::collections::BTreeMap<_, _>>(),
        "violations": violations,
    });
    if let Some(p) = &a.out {
        std::fs::write(p, serde_json::to_string_pretty(&v)? + "\n")?;
    }
    if !violations.is_empty() {
        for v in &violations {
            eprintln!("abuse: {v}");
        }
        std::process::exit(1);
    }
    Ok(())
}
