//! `yinzheng`: the command line for seal administrators.
//!
//! A thin frontend: it parses arguments, reads and writes files, calls one
//! library function and renders the result. Exit codes: 0 ok, 1 verification
//! failed, 2 usage or input error.

mod cmd;
mod io;
mod output;

use clap::{Parser, Subcommand};

/// mimalloc: the verify server allocates per request on many threads.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;
use std::path::PathBuf;
use std::process::ExitCode;

/// Yinzheng (印证): e-seals and e-licenses with SM2/SM3.
#[derive(Parser, Debug)]
#[command(name = "yinzheng", version, about, long_about = None)]
struct Cli {
    /// Data directory (trust domain, stores). Used by commands that keep state.
    #[arg(
        long,
        global = true,
        env = "YINZHENG_HOME",
        default_value = "./yinzheng-data"
    )]
    home: PathBuf,

    /// Print machine-readable JSON on stdout instead of text.
    #[arg(long, global = true)]
    json: bool,

    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Generate and inspect keys.
    #[command(subcommand)]
    Key(cmd::key::KeyCommand),
    /// Sign a file (detached signature).
    Sign(cmd::sign::SignArgs),
    /// Verify a signature. Exit 0 valid, 1 invalid, 2 usage or input error.
    Verify(cmd::verify::VerifyArgs),
    /// Print the digest of a file as lower-case hex.
    Digest(cmd::digest::DigestArgs),
    /// Certificate authority: init, issue, revoke, CRL, OCSP.
    Ca(cmd::ca::CaArgs),
    /// E-seals: make, list, show, suspend, resume, revoke, inspect.
    #[command(subcommand)]
    Seal(cmd::seal::SealCommand),
    /// Stamp data with a registered seal (detached SES_Signature).
    Stamp(cmd::seal::StampArgs),
    /// Certificates: verify against trust anchors and CRLs.
    #[command(subcommand)]
    Cert(cmd::cert::CertCommand),
    /// E-licenses: types, issue, import, show, list, lifecycle, token, check, usage.
    #[command(subcommand)]
    License(cmd::license::LicenseCommand),
    /// Anchoring log: init, append, checkpoint, prove, consistency, verify, audit.
    #[command(subcommand)]
    Log(cmd::log::LogCommand),
    /// Trust anchors for auditors: export the file `yinzheng-audit` needs.
    #[command(subcommand)]
    Trust(cmd::trust::TrustCommand),
    /// Serve the HTTPS verify API on the data directory (`--demo` makes one first).
    Serve(cmd::serve::ServeArgs),
    /// Callers of the verify API: add (API key or client certificate), list, remove.
    #[command(subcommand)]
    Caller(cmd::serve::CallerCommand),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let out = output::Output::new(cli.json);
    let result = match &cli.command {
        Command::Key(c) => cmd::key::run(c, &out),
        Command::Sign(a) => cmd::sign::run(a, &out),
        Command::Verify(a) => cmd::verify::run(a, &cli.home, &out),
        Command::Digest(a) => cmd::digest::run(a, &out),
        Command::Ca(a) => cmd::ca::run(a, &cli.home, &out),
        Command::Cert(c) => cmd::cert::run(c, &out),
        Command::Seal(c) => cmd::seal::run(c, &cli.home, &out),
        Command::Stamp(a) => cmd::seal::stamp(a, &cli.home, &out),
        Command::Log(c) => cmd::log::run(c, &cli.home, &out),
        Command::License(c) => cmd::license::run(c, &cli.home, &out),
        Command::Trust(c) => cmd::trust::run(c, &cli.home, &out),
        Command::Serve(a) => cmd::serve::serve(a, &cli.home, &out),
        Command::Caller(c) => cmd::serve::caller(c, &cli.home, &out),
    };
    let _ = &cli.home;
    match result {
        Ok(code) => code,
        Err(err) => {
            out.error(&err);
            ExitCode::from(2)
        }
    }
}
