//! Helpers shared by Yinzheng's peer tests: locating the peer tools (OpenSSL 3)
//! and running them. A missing peer fails the test with instructions; it is
//! never silently skipped.
#![forbid(unsafe_code)]

use std::path::Path;
use std::process::{Command, Output};

/// The `openssl` binary to use: `$YINZHENG_OPENSSL` or `openssl` on PATH.
/// Panics with install instructions when it is missing or older than 3.0.
pub fn openssl() -> String {
    require_peer("openssl");
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

/// Whether the peer tests run (the `peers` feature: scripts/test.sh).
pub const PEERS: bool = cfg!(feature = "peers");

/// Every peer lookup starts here: without the `peers` feature only a test
/// marked `#[peer_test]` (and so ignored) could get this far, so reaching it
/// means a test runs a peer without saying so — it would fail on a machine
/// with only Rust. Fail it here, on every machine, naming the fix.
pub fn require_peer(peer: &str) {
    if !PEERS {
        panic!(
            "this test runs the peer tool `{peer}` but is not marked \
         #[yinzheng_tests::peer_test({peer})]: mark it, so that `cargo test --workspace` \
         on a machine with only Rust ignores it and scripts/test.sh \
         (--features yinzheng-tests/peers) runs it"
        );
    }
}

/// Locate a peer tool: `$env_var` if set, else `default` on PATH; panics with
/// `install` (how to get it) when it does not run with `probe`.
fn peer_tool(env_var: &str, default: &str, probe: &[&str], install: &str) -> String {
    require_peer(default);
    let bin = std::env::var(env_var).unwrap_or_else(|_| default.to_string());
    match Command::new(&bin).args(probe).output() {
        Ok(_) => bin,
        Err(e) => panic!(
            "peer tool `{bin}` not found ({e}). {install} (scripts/test.sh installs it; \
             or set {env_var})"
        ),
    }
}

/// The `qpdf` binary (`$YINZHENG_QPDF` or `qpdf` on PATH), the PDF structure checker.
pub fn qpdf() -> String {
    peer_tool(
        "YINZHENG_QPDF",
        "qpdf",
        &["--version"],
        "`apt-get install qpdf`",
    )
}

/// The `pdftoppm` binary (`$YINZHENG_PDFTOPPM` or `pdftoppm` on PATH), poppler's renderer.
pub fn pdftoppm() -> String {
    peer_tool(
        "YINZHENG_PDFTOPPM",
        "pdftoppm",
        &["-v"],
        "`apt-get install poppler-utils`",
    )
}

/// The `pdftotext` binary (`$YINZHENG_PDFTOTEXT` or `pdftotext` on PATH), poppler's text extractor.
pub fn pdftotext() -> String {
    peer_tool(
        "YINZHENG_PDFTOTEXT",
        "pdftotext",
        &["-v"],
        "`apt-get install poppler-utils`",
    )
}

/// The `pdfinfo` binary (`$YINZHENG_PDFINFO` or `pdfinfo` on PATH): a PDF's Info dictionary, as poppler reads it.
pub fn pdfinfo() -> String {
    peer_tool(
        "YINZHENG_PDFINFO",
        "pdfinfo",
        &["-v"],
        "`apt-get install poppler-utils`",
    )
}

/// The `pdffonts` binary (`$YINZHENG_PDFFONTS` or `pdffonts` on PATH): a PDF's fonts, as poppler reads them.
pub fn pdffonts() -> String {
    peer_tool(
        "YINZHENG_PDFFONTS",
        "pdffonts",
        &["-v"],
        "`apt-get install poppler-utils`",
    )
}

/// The `zbarimg` binary (`$YINZHENG_ZBARIMG` or `zbarimg` on PATH), ZBar's
/// barcode reader: the independent decoder of the QR codes we draw.
pub fn zbarimg() -> String {
    peer_tool(
        "YINZHENG_ZBARIMG",
        "zbarimg",
        &["--version"],
        "`apt-get install zbar-tools`",
    )
}

/// The `softhsm2-util` binary (`$YINZHENG_SOFTHSM2_UTIL` or on PATH): makes
/// the SoftHSM2 tokens the PKCS#11 tests sign with.
pub fn softhsm2_util() -> String {
    peer_tool(
        "YINZHENG_SOFTHSM2_UTIL",
        "softhsm2-util",
        &["--version"],
        "`apt-get install softhsm2`",
    )
}

/// SoftHSM2's PKCS#11 module (`$YINZHENG_SOFTHSM2_MODULE`, else Debian's
/// `/usr/lib/softhsm/libsofthsm2.so`); fails the test when it is missing.
pub fn softhsm2_module() -> String {
    require_peer("softhsm2");
    let path = std::env::var("YINZHENG_SOFTHSM2_MODULE")
        .unwrap_or_else(|_| "/usr/lib/softhsm/libsofthsm2.so".to_string());
    assert!(
        Path::new(&path).exists(),
        "SoftHSM2's PKCS#11 module {path} is missing: `apt-get install softhsm2` \
         (scripts/test.sh installs it; or set YINZHENG_SOFTHSM2_MODULE)"
    );
    path
}

/// A SoftHSM2 token of the test's own, made by [`softhsm2_token`].
pub struct SoftHsm2Token {
    /// The token directory's parent (the PIN file is `pin` in it).
    pub dir: std::path::PathBuf,
    /// SoftHSM2's module.
    pub module: String,
}

impl SoftHsm2Token {
    /// The token's label.
    pub const LABEL: &'static str = "yinzheng test";
    /// Its user PIN (also in the file `dir/pin`).
    pub const PIN: &'static str = "4711-0815";

    /// A `pkcs11:` URI of this token with `path` attributes added (`object=…`),
    /// the module and the PIN file in its query.
    pub fn uri(&self, path: &str) -> String {
        let sep = if path.is_empty() { "" } else { ";" };
        format!(
            "pkcs11:token={}{sep}{path}?module-path={}&pin-source=file:{}",
            Self::LABEL.replace(' ', "%20"),
            self.module,
            self.dir.join("pin").display()
        )
    }
}

/// The environment variable that tells a test it runs in the child
/// [`softhsm2_token`] started, and where its token is.
const SOFTHSM2_CHILD_ENV: &str = "YINZHENG_TEST_SOFTHSM_DIR";

/// Run `body` with a fresh SoftHSM2 token of its own. SoftHSM2 reads
/// `SOFTHSM2_CONF` (where its tokens live) once per process and a test cannot
/// set its own environment without `unsafe`; so in the test process this makes
/// a private token directory, initialises a token there with `softhsm2-util`
/// and runs the test `name` (its full path in the test binary) again in a child
/// process with `SOFTHSM2_CONF` set, and in that child runs `body`.
pub fn softhsm2_token(name: &str, body: impl FnOnce(&SoftHsm2Token)) {
    let module = softhsm2_module();
    if let Ok(dir) = std::env::var(SOFTHSM2_CHILD_ENV) {
        body(&SoftHsm2Token {
            dir: dir.into(),
            module,
        });
        return;
    }
    let dir = tempdir();
    let tokens = dir.path().join("tokens");
    std::fs::create_dir(&tokens).expect("token directory");
    let conf = dir.path().join("softhsm2.conf");
    std::fs::write(
        &conf,
        format!(
            "directories.tokendir = {}\nobjectstore.backend = file\nlog.level = ERROR\n",
            tokens.display()
        ),
    )
    .expect("softhsm2.conf");
    std::fs::write(dir.path().join("pin"), format!("{}\n", SoftHsm2Token::PIN)).expect("pin");
    let init = Command::new(softhsm2_util())
        .args([
            "--init-token",
            "--free",
            "--label",
            SoftHsm2Token::LABEL,
            "--so-pin",
            "so-0000",
            "--pin",
            SoftHsm2Token::PIN,
        ])
        .env("SOFTHSM2_CONF", &conf)
        .output()
        .expect("softhsm2-util runs");
    assert!(
        init.status.success(),
        "softhsm2-util --init-token: {}{}",
        String::from_utf8_lossy(&init.stdout),
        String::from_utf8_lossy(&init.stderr)
    );
    rerun_in_child(
        name,
        "SoftHSM2",
        dir.path(),
        &[
            ("SOFTHSM2_CONF", conf.as_os_str()),
            (SOFTHSM2_CHILD_ENV, dir.path().as_os_str()),
        ],
    );
}

/// Run the test `name` (its full path in this test binary) again in a child
/// process of the binary, working in `dir` with `env` set, and fail unless it
/// ran and passed there. For peers that read state of the whole process — a
/// module's configuration from the environment, key files from the working
/// directory — which a test cannot set for itself alone (`set_var` is
/// `unsafe`, `set_current_dir` is process-wide).
pub fn rerun_in_child(name: &str, peer: &str, dir: &Path, env: &[(&str, &std::ffi::OsStr)]) {
    let mut cmd = Command::new(std::env::current_exe().expect("the test binary"));
    cmd.args([name, "--exact", "--nocapture", "--include-ignored"])
        .current_dir(dir);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("the test binary runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{name} on {peer}:\n{text}");
    assert!(
        text.contains("1 passed"),
        "{name} did not run in the child:\n{text}"
    );
}

/// SoftSDF (the software GM/T 0018 device on GmSSL, from testdata/peers),
/// built once by `scripts/sm2-peers.sh softsdf`: its directory, holding
/// `libsoftsdf.so` and `softsdfinit`.
pub fn softsdf() -> std::path::PathBuf {
    require_peer("softsdf");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/sm2-peers.sh");
    let out = Command::new("bash")
        .arg(&script)
        .arg("softsdf")
        .output()
        .expect("scripts/sm2-peers.sh runs");
    assert!(
        out.status.success(),
        "building SoftSDF failed (scripts/sm2-peers.sh softsdf; needs cmake and cc, which \
         scripts/test.sh installs): {}",
        String::from_utf8_lossy(&out.stderr)
    );
    std::path::PathBuf::from(String::from_utf8_lossy(&out.stdout).trim())
}

/// Make SoftSDF signing key `index` (and KEK `index`) with `password` in the
/// device directory `dir` (SoftSDF keeps a device in its working directory),
/// and write the password to `dir/pw-<index>`; returns that file.
pub fn softsdf_key(dir: &Path, index: u32, password: &str) -> std::path::PathBuf {
    let n = index.to_string();
    let init = Command::new(softsdf().join("softsdfinit"))
        .args(["-kek", &n, "-key", &n, "-pass", password])
        .current_dir(dir)
        .output()
        .expect("softsdfinit runs");
    assert!(
        init.status.success(),
        "softsdfinit: {}",
        String::from_utf8_lossy(&init.stderr)
    );
    let file = dir.join(format!("pw-{index}"));
    std::fs::write(&file, format!("{password}\n")).expect("password file");
    file
}

/// The `curl` binary (`$YINZHENG_CURL` or `curl` on PATH): an independent
/// HTTPS client for the verify API (the README's curl commands are run as printed).
pub fn curl() -> String {
    peer_tool(
        "YINZHENG_CURL",
        "curl",
        &["--version"],
        "`apt-get install curl`",
    )
}

/// The environment variable naming the PostgreSQL server the tests may use
/// (scripts/test.sh starts a private one with scripts/pg.sh and sets it).
/// Setting [`STORE_POSTGRES_ENV`] as well runs a crate's whole suite on
/// PostgreSQL instead of SQLite ([`store_backend`]).
pub const POSTGRES_URL_ENV: &str = "YINZHENG_TEST_POSTGRES_URL";

/// The URL of the tests' PostgreSQL server; without one the test fails and
/// says how to get one (it is never skipped).
pub fn postgres_url() -> String {
    require_peer("postgresql");
    match std::env::var(POSTGRES_URL_ENV) {
        Ok(u) if !u.trim().is_empty() => u.trim().to_string(),
        _ => panic!(
            "{POSTGRES_URL_ENV} is not set: this test needs a PostgreSQL server. Run scripts/test.sh \
             (it installs Debian's postgresql and starts a private server), or \
             `scripts/pg.sh start target/pg` and export \
             {POSTGRES_URL_ENV}=postgres://yinzheng:yinzheng@127.0.0.1:55432/yinzheng"
        ),
    }
}

/// The `pdfsig` binary (`$YINZHENG_PDFSIG` or `pdfsig` on PATH), poppler's signature checker.
pub fn pdfsig() -> String {
    peer_tool(
        "YINZHENG_PDFSIG",
        "pdfsig",
        &["-v"],
        "`apt-get install poppler-utils libnss3-tools`",
    )
}

/// The pyHanko CLI: `$YINZHENG_PYHANKO` (scripts/test.sh sets it to its venv) or `pyhanko` on PATH.
pub fn pyhanko() -> String {
    peer_tool(
        "YINZHENG_PYHANKO",
        "pyhanko",
        &["--version"],
        "`python3 -m venv v && v/bin/pip install pyhanko pyhanko-cli asn1crypto`",
    )
}

/// The Python with pyHanko and asn1crypto: `$YINZHENG_PYTHON` (scripts/test.sh sets it) or `python3`.
pub fn peer_python() -> String {
    peer_tool(
        "YINZHENG_PYTHON",
        "python3",
        &["--version"],
        "`python3 -m venv v && v/bin/pip install pyhanko pyhanko-cli asn1crypto`",
    )
}

/// Run a peer tool in `dir` and panic with its output unless it succeeds.
pub fn run_ok(bin: &str, dir: &Path, args: &[&str]) -> Output {
    let out = Command::new(bin)
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap_or_else(|e| panic!("{bin} does not run: {e}"));
    assert!(
        out.status.success(),
        "{bin} {} failed: {}{}",
        args.join(" "),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// Fail the test unless `out` (of `what`, e.g. the arguments) exited 0; the
/// message carries stdout and stderr. Returns `out` for further checks.
pub fn assert_success(out: Output, what: &dyn std::fmt::Debug) -> Output {
    assert_eq!(
        out.status.code(),
        Some(0),
        "{what:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// The lines `yinzheng serve` prints up to and including its "Ctrl-C stops"
/// banner line (panics if it has not printed it within 300 s); the rest of
/// its stdout is drained on a thread so the server never blocks on a full pipe.
pub fn serve_banner(stdout: std::process::ChildStdout) -> Vec<String> {
    use std::io::{BufRead, BufReader};
    let mut lines = BufReader::new(stdout).lines();
    let mut printed = Vec::new();
    let start = std::time::Instant::now();
    for line in lines.by_ref() {
        let line = line.expect("a line");
        let done = line.starts_with("Ctrl-C stops");
        printed.push(line);
        if done {
            break;
        }
        assert!(
            start.elapsed() < std::time::Duration::from_secs(300),
            "no banner: {printed:#?}"
        );
    }
    std::thread::spawn(move || for _ in lines {});
    printed
}

/// `#[peer_test(openssl, …)]`: a test that runs peer tools, ignored (saying
/// which) unless the `peers` feature is on — scripts/test.sh turns it on.
pub use yinzheng_test_macros::peer_test;

/// The environment variable that puts the data directories of a test suite in
/// PostgreSQL: scripts/test.sh's PostgreSQL pass runs the suites of the crates
/// that keep state again with it set. Read here, by the tests' own helper —
/// the libraries take their [`Backend`](yinzheng_store::Backend) as an argument.
pub const STORE_POSTGRES_ENV: &str = "YINZHENG_STORE_TEST_POSTGRES";

/// Whether this run keeps the tests' data directories in PostgreSQL ([`STORE_POSTGRES_ENV`]).
pub fn store_on_postgres() -> bool {
    std::env::var(STORE_POSTGRES_ENV).is_ok_and(|v| !v.trim().is_empty())
}

/// The store a test's data directory `dir` uses: embedded SQLite, or, when
/// [`STORE_POSTGRES_ENV`] names a database, PostgreSQL with a schema prefix of
/// its own derived from `dir` (`t` + 16 hex digits), so tests running side by
/// side never share a schema.
pub fn store_backend(dir: &std::path::Path) -> yinzheng_store::Backend {
    let url = match std::env::var(STORE_POSTGRES_ENV) {
        Ok(u) if !u.trim().is_empty() => u,
        _ => return yinzheng_store::Backend::Embedded,
    };
    let config = yinzheng_store::PgConfig::parse(url.trim())
        .unwrap_or_else(|e| panic!("{STORE_POSTGRES_ENV} is not a PostgreSQL URL: {e}"));
    // FNV-1a, 64 bit, over the canonical path (the same before and after the
    // directory is made): stable across runs.
    let dir = canonical(dir);
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in dir.as_os_str().as_encoded_bytes() {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    yinzheng_store::Backend::Postgres(config.with_namespace(&format!("t{h:016x}")))
}

/// `path` with its longest existing ancestor canonicalized.
fn canonical(path: &std::path::Path) -> std::path::PathBuf {
    let mut rest = Vec::new();
    let mut at = path;
    loop {
        if let Ok(c) = std::fs::canonicalize(at) {
            return rest.iter().rev().fold(c, |p, name| p.join(name));
        }
        match (at.parent(), at.file_name()) {
            (Some(parent), Some(name)) => {
                rest.push(name.to_os_string());
                at = parent;
            }
            _ => return path.to_path_buf(),
        }
    }
}

/// For the SM2 differential tests: the raw signature `raw` (r‖s) or the
/// message `msg` (not empty) with one bit flipped, chosen by `i` — r, s and
/// the message in turn, walking through their bits.
pub fn flip_one_bit(i: usize, raw: &[u8; 64], msg: &[u8]) -> ([u8; 64], Vec<u8>) {
    let (mut raw, mut msg) = (*raw, msg.to_vec());
    let bit = (i / 3) % 256;
    match i % 3 {
        0 => raw[bit / 8] ^= 1 << (bit % 8),
        1 => raw[32 + bit / 8] ^= 1 << (bit % 8),
        _ => {
            let at = (i / 3) % msg.len();
            msg[at] ^= 1 << (i % 8);
        }
    }
    (raw, msg)
}

/// Copy a directory tree (a log's data, to fork it; tiles, to mix them).
pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("create the copy");
    for e in std::fs::read_dir(from).expect("read the directory") {
        let e = e.expect("directory entry");
        let target = to.join(e.file_name());
        if e.file_type().expect("file type").is_dir() {
            copy_dir(&e.path(), &target);
        } else {
            std::fs::copy(e.path(), &target).expect("copy a file");
        }
    }
}
