//! Helpers shared by Yinzheng's peer tests: locating the peer tools (OpenSSL 3)
//! and running them. A missing peer fails the test with instructions; it is
//! never silently skipped.
#![forbid(unsafe_code)]

use std::path::Path;
use std::process::{Command, Output};

/// The `openssl` binary to use: `$YINZHENG_OPENSSL` or `openssl` on PATH.
/// Panics with install instructions when it is missing or older than 3.0.
pub fn openssl() -> String {
    let bin = std::env::var("YINZHENG_OPENSSL").unwrap_or_else(|_| "openssl".to_string());
    let out = Command::new(&bin)
        .arg("version")
        .output()
        .unwrap_or_else(|e| {
            panic!(
                "peer tool `{bin}` not found ({e}). These interop tests need OpenSSL 3: \
             `apt-get install openssl` (scripts/test.sh installs it)"
            )
        });
    let v = String::from_utf8_lossy(&out.stdout);
    assert!(
        v.starts_with("OpenSSL 3."),
        "peer tool `{bin}` is {v:?}; the interop tests need OpenSSL 3 (apt-get install openssl)"
    );
    bin
}

/// Run OpenSSL with `args` in `dir`; returns the output (no status check).
pub fn openssl_run(dir: &Path, args: &[&str]) -> Output {
    Command::new(openssl())
        .args(args)
        .current_dir(dir)
        .output()
        .expect("openssl runs")
}

/// Run OpenSSL and panic with its stderr unless it succeeds.
pub fn openssl_ok(dir: &Path, args: &[&str]) -> Output {
    let out = openssl_run(dir, args);
    assert!(
        out.status.success(),
        "openssl {} failed: {}{}",
        args.join(" "),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// A fresh temporary directory for one test.
pub fn tempdir() -> tempfile::TempDir {
    tempfile::tempdir().expect("temporary directory")
}

/// Run a Yinzheng binary (`env!("CARGO_BIN_EXE_…")`) in `dir` with `YINZHENG_HOME`
/// set to `dir/home`, `YINZHENG_PASSPHRASE` cleared unless `env` sets it, and fail
/// the test if it panicked (exit codes are the caller's to check).
pub fn run_cli(bin: &str, dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(bin);
    cmd.args(args)
        .current_dir(dir)
        .env_remove("YINZHENG_PASSPHRASE")
        .env("YINZHENG_HOME", dir.join("home"));
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("the binary runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !stderr.contains("panicked"),
        "{bin} {args:?} panicked: {stderr}"
    );
    out
}
