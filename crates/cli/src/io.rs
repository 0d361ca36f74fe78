//! File input and output for the CLI: bounded reads, atomic private-file writes,
//! passphrases, and progress bars for long reads.

use anyhow::{Context, Result, bail};
use indicatif::{ProgressBar, ProgressStyle};
use std::fs::File;
use std::io::Read;
use std::path::Path;
use zeroize::Zeroizing;

/// Files larger than this show a progress bar while they are read (when stderr is a terminal).
const PROGRESS_THRESHOLD: u64 = 64 * 1024 * 1024;
/// Largest message read into memory for algorithms that cannot stream (ECDSA via ring, Ed25519).
pub const MAX_IN_MEMORY: u64 = 1024 * 1024 * 1024;
/// Largest signature file accepted.
pub const MAX_SIGNATURE_FILE: u64 = 64 * 1024;

/// Read a small file completely, refusing more than `limit` bytes.
pub fn read_limited(path: &Path, limit: u64, what: &str) -> Result<Vec<u8>> {
    let f = File::open(path).with_context(|| format!("cannot open {what} {}", path.display()))?;
    let mut buf = Vec::new();
    f.take(limit + 1)
        .read_to_end(&mut buf)
        .with_context(|| format!("cannot read {what} {}", path.display()))?;
    if buf.len() as u64 > limit {
        bail!(
            "{what} {} is larger than the {limit} bytes accepted",
            path.display()
        );
    }
    Ok(buf)
}

/// Stream `path` through `sink` in 1 MiB chunks, with a progress bar for big files.
pub fn stream_file(path: &Path, show_progress: bool, mut sink: impl FnMut(&[u8])) -> Result<u64> {
    let mut f = File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    let len = f.metadata().map(|m| m.len()).unwrap_or(0);
    let bar = if show_progress && len >= PROGRESS_THRESHOLD {
        let bar = ProgressBar::new(len);
        bar.set_style(
            ProgressStyle::with_template("{msg} [{bar:30}] {bytes}/{total_bytes} ({eta})")
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> "),
        );
        bar.set_message(
            path.file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
        );
        bar
    } else {
        ProgressBar::hidden()
    };
    let mut buf = vec![0u8; 1 << 20];
    let mut total = 0u64;
    loop {
        let n = f
            .read(&mut buf)
            .with_context(|| format!("cannot read {}", path.display()))?;
        if n == 0 {
            break;
        }
        sink(&buf[..n]);
        total += n as u64;
        bar.inc(n as u64);
    }
    bar.finish_and_clear();
    Ok(total)
}

/// Read the message for a non-streaming algorithm, refusing more than [`MAX_IN_MEMORY`].
pub fn read_message(path: &Path, show_progress: bool) -> Result<Vec<u8>> {
    let len = std::fs::metadata(path)
        .with_context(|| format!("cannot open {}", path.display()))?
        .len();
    if len > MAX_IN_MEMORY {
        bail!(
            "{} is {len} bytes; this algorithm signs in memory and accepts at most {MAX_IN_MEMORY} (SM2 streams any size)",
            path.display()
        );
    }
    let mut out = Vec::with_capacity(len as usize);
    stream_file(path, show_progress, |chunk| out.extend_from_slice(chunk))?;
    Ok(out)
}

/// Read a passphrase: the first line of `file` (trailing CR/LF removed), or else
/// the environment variable `YINZHENG_PASSPHRASE`.
pub fn passphrase(file: Option<&Path>) -> Result<Option<Zeroizing<Vec<u8>>>> {
    if let Some(path) = file {
        let raw = Zeroizing::new(read_limited(path, 4096, "passphrase file")?);
        let line_end = raw.iter().position(|&b| b == b'\n').unwrap_or(raw.len());
        let mut line = &raw[..line_end];
        if line.last() == Some(&b'\r') {
            line = &line[..line.len() - 1];
        }
        if line.is_empty() {
            bail!("passphrase file {} is empty", path.display());
        }
        return Ok(Some(Zeroizing::new(line.to_vec())));
    }
    match std::env::var_os("YINZHENG_PASSPHRASE") {
        Some(v) if !v.is_empty() => Ok(Some(Zeroizing::new(v.into_encoded_bytes()))),
        _ => Ok(None),
    }
}

/// A passphrase that must be given through `file` (named `flag` in the error).
pub fn passphrase_required(file: Option<&Path>, flag: &str) -> Result<Zeroizing<Vec<u8>>> {
    match file {
        Some(_) => passphrase(file)?.with_context(|| format!("{flag} is empty")),
        None => bail!("{flag} F is needed: the private key is written encrypted"),
    }
}

/// Resolves on Ctrl-C or, on Unix, SIGTERM: when a server (`serve`,
/// `witness serve`) stops accepting and finishes what is in flight.
pub async fn shutdown_signal() {
    #[cfg(unix)]
    {
        let mut term =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {},
            _ = async { match term.as_mut() { Some(t) => { t.recv().await; } None => std::future::pending::<()>().await } } => {},
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// Write `data` to `path` atomically (`yinzheng_store::write_atomic`): a
/// temporary file in the same directory, flushed and synced, then renamed over
/// `path`. `private` files get mode 0600.
pub fn write_atomic(path: &Path, data: &[u8], private: bool) -> Result<()> {
    let written = if private {
        yinzheng_store::write_atomic_private(path, data)
    } else {
        yinzheng_store::write_atomic(path, data)
    };
    written.with_context(|| format!("cannot write {}", path.display()))
}
