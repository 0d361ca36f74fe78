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

    /// Where the registries live: `sqlite` (files in the data directory, the
    /// default) or `postgres://user:pass@host/db[?namespace=…]` (one database
    /// shared by several servers; keys, tiles and license files stay in --home).
    #[arg(long, global = true, env = "YINZHENG_STORE", hide_env_values = true)]
    store: Option<String>,

    /// Read --store from this file (keeps the database password out of the
    /// process list and the environment).
    #[arg(long, global = true, conflicts_with = "store")]
    store_file: Option<PathBuf>,

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
    /// Every private key the data directory uses: purpose, algorithm, where it
    /// lives (file or PKCS#11 token), certificate and expiry.
    Keys(cmd::keys::KeysArgs),
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
    /// Witness other departments' anchoring logs (c2sp.org/tlog-witness): init,
    /// add-log, serve, status.
    #[command(subcommand)]
    Witness(cmd::witness::WitnessCommand),
    /// RFC 4998 evidence records: long-term proof that files existed
    /// (make, renew, verify).
    #[command(subcommand, name = "evidence-record")]
    EvidenceRecord(cmd::evidence_record::EvidenceRecordCommand),
    /// PAdES long-term validation for sealed PDFs: validation data into the
    /// DSS and a document time stamp (add), renewed before it lapses (renew).
    #[command(subcommand)]
    Ltv(cmd::ltv::LtvCommand),
    /// Archive packages for a license or files (export): records, evidence
    /// records, validation data, trust, the four-property check.
    #[command(subcommand)]
    Archive(cmd::archive::ArchiveCommand),
}

/// The store named by --store / --store-file (embedded SQLite without either).
fn choose_store(cli: &Cli) -> anyhow::Result<yinzheng_store::Backend> {
    use anyhow::Context;
    let url = match (&cli.store, &cli.store_file) {
        (Some(u), _) => u.clone(),
        (None, Some(f)) => {
            let text = io::read_limited(f, 4096, "store file")?;
            String::from_utf8(text)
                .with_context(|| format!("{} is not UTF-8", f.display()))?
                .trim()
                .to_owned()
        }
        (None, None) => return Ok(yinzheng_store::Backend::Embedded),
    };
    Ok(yinzheng_store::Backend::parse(&url)?)
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let out = output::Output::new(cli.json);
    let home = match choose_store(&cli) {
        Ok(store) => cmd::Home::new(cli.home.clone(), store),
        Err(err) => {
            out.error(&err);
            return ExitCode::from(2);
        }
    };
    let result = match &cli.command {
        Command::Key(c) => cmd::key::run(c, &out),
        Command::Keys(a) => cmd::keys::run(a, &home, &out),
        Command::Sign(a) => cmd::sign::run(a, &out),
        Command::Verify(a) => cmd::verify::run(a, &home, &out),
        Command::Digest(a) => cmd::digest::run(a, &out),
        Command::Ca(a) => cmd::ca::run(a, &home, &out),
        Command::Cert(c) => cmd::cert::run(c, &out),
        Command::Seal(c) => cmd::seal::run(c, &home, &out),
        Command::Stamp(a) => cmd::seal::stamp(a, &home, &out),
        Command::Log(c) => cmd::log::run(c, &home, &out),
        Command::License(c) => cmd::license::run(c, &home, &out),
        Command::Trust(c) => cmd::trust::run(c, &home, &out),
        Command::Serve(a) => cmd::serve::serve(a, &home, &out),
        Command::Witness(c) => cmd::witness::run(c, &home, &out),
        Command::EvidenceRecord(c) => cmd::evidence_record::run(c, &home, &out),
        Command::Ltv(c) => cmd::ltv::run(c, &home, &out),
        Command::Archive(c) => cmd::archive::run(c, &home, &out),
        Command::Caller(c) => cmd::serve::caller(c, &home, &out),
    };
    match result {
        Ok(code) => code,
        Err(err) => {
            out.error(&err);
            ExitCode::from(2)
        }
    }
}
