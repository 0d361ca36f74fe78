//! Where data lives: the embedded SQLite files or one PostgreSQL database.

use crate::error::{Error, Result};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Which database a deployment uses, as given by `--store` / `store = …`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum Backend {
    /// SQLite files in the data directory (the default).
    #[default]
    Embedded,
    /// One PostgreSQL database shared by every server.
    Postgres(PgConfig),
}

/// A PostgreSQL database and how Yinzheng talks to it. `Debug` hides the password.
#[derive(Clone, PartialEq, Eq)]
pub struct PgConfig {
    /// The libpq-style URL without Yinzheng's own parameters.
    url: String,
    /// Prefix of every schema Yinzheng makes (`<namespace>_license`, …).
    namespace: String,
    /// `statement_timeout` of every session.
    pub statement_timeout: Duration,
    /// How long to wait for a connection.
    pub connect_timeout: Duration,
    /// TLS to the database (`sslmode`).
    pub ssl_mode: SslMode,
    /// The CA certificates (PEM) the database's certificate must chain to
    /// (`sslrootcert`).
    pub ssl_root_cert: Option<PathBuf>,
}

/// How a connection to PostgreSQL uses TLS (`sslmode=` in the URL).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum SslMode {
    /// No TLS (a database on the same host or a private link).
    Disable,
    /// TLS when `sslrootcert` is given (and the server offers it), else none:
    /// the default, as in libpq.
    #[default]
    Prefer,
    /// TLS always, the server's certificate verified against `sslrootcert`
    /// with its host name (libpq's `verify-full`; `require` and `verify-ca`
    /// are taken as this too: Yinzheng never uses an unverified TLS session).
    VerifyFull,
}

impl std::fmt::Debug for PgConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgConfig")
            .field("url", &redact(&self.url))
            .field("namespace", &self.namespace)
            .field("statement_timeout", &self.statement_timeout)
            .field("ssl_mode", &self.ssl_mode)
            .field("ssl_root_cert", &self.ssl_root_cert)
            .finish()
    }
}

/// `postgres://user:secret@host/db` → `postgres://user:***@host/db`.
pub fn redact(url: &str) -> String {
    let Some(scheme_end) = url.find("://").map(|i| i + 3) else {
        return url.to_owned();
    };
    let rest = &url[scheme_end..];
    let auth_end = rest.find('@');
    let path_start = rest.find('/').unwrap_or(rest.len());
    match auth_end {
        Some(at) if at < path_start => match rest[..at].find(':') {
            Some(colon) => format!(
                "{}{}:***{}",
                &url[..scheme_end],
                &rest[..colon],
                &rest[at..]
            ),
            None => url.to_owned(),
        },
        _ => {
            // password=… as a query parameter
            match url.find("password=") {
                Some(p) => {
                    let end = url[p..].find('&').map_or(url.len(), |e| p + e);
                    format!("{}password=***{}", &url[..p], &url[end..])
                }
                None => url.to_owned(),
            }
        }
    }
}

/// `%2F` → `/` (a path in a URL query).
fn percent_decode(v: &str) -> String {
    let b = v.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = b
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok());
        if b[i] == b'%'
            && let Some(Ok(x)) = hex.map(|h| u8::from_str_radix(h, 16))
        {
            out.push(x);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Default schema prefix.
pub const DEFAULT_NAMESPACE: &str = "yinzheng";
/// Default `statement_timeout`.
pub const DEFAULT_STATEMENT_TIMEOUT: Duration = Duration::from_secs(5);

impl PgConfig {
    /// Parse `postgres://…` (or `postgresql://…`). Yinzheng's own query
    /// parameters are taken out before the URL goes to the driver:
    /// `namespace` (schema prefix, `[a-z0-9_]`, default `yinzheng`),
    /// `statement_timeout_ms` (default 5000), `connect_timeout_ms` (default 5000),
    /// `sslmode` (`disable`, `prefer` (default), `require`/`verify-ca`/`verify-full`
    /// — all three verify the certificate and the host name) and `sslrootcert`
    /// (PEM file of the CA certificates to trust; needed for TLS).
    pub fn parse(url: &str) -> Result<PgConfig> {
        let bad = |reason: String| Error::Config {
            value: redact(url),
            reason,
        };
        if !(url.starts_with("postgres://") || url.starts_with("postgresql://")) {
            return Err(bad("a PostgreSQL store is a postgres:// URL".into()));
        }
        let (base, query) = match url.split_once('?') {
            Some((b, q)) => (b, q),
            None => (url, ""),
        };
        let mut keep = Vec::new();
        let mut config = PgConfig {
            url: String::new(),
            namespace: DEFAULT_NAMESPACE.into(),
            statement_timeout: DEFAULT_STATEMENT_TIMEOUT,
            connect_timeout: Duration::from_secs(5),
            ssl_mode: SslMode::Prefer,
            ssl_root_cert: None,
        };
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            let ms = |v: &str| {
                v.parse::<u64>()
                    .map(Duration::from_millis)
                    .map_err(|_| bad(format!("{k}={v}: expected milliseconds")))
            };
            match k {
                "namespace" => {
                    if v.is_empty()
                        || v.len() > 30
                        || !v
                            .bytes()
                            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
                    {
                        return Err(bad(format!("namespace={v}: use 1 to 30 of a-z, 0-9 and _")));
                    }
                    config.namespace = v.into();
                }
                "statement_timeout_ms" => config.statement_timeout = ms(v)?,
                "connect_timeout_ms" => config.connect_timeout = ms(v)?,
                "sslmode" => {
                    config.ssl_mode = match v {
                        "disable" => SslMode::Disable,
                        "prefer" | "allow" => SslMode::Prefer,
                        "require" | "verify-ca" | "verify-full" => SslMode::VerifyFull,
                        _ => {
                            return Err(bad(format!(
                                "sslmode={v}: use disable, prefer, require, verify-ca or verify-full"
                            )));
                        }
                    }
                }
                "sslrootcert" => config.ssl_root_cert = Some(PathBuf::from(percent_decode(v))),
                _ => keep.push(pair),
            }
        }
        config.url = if keep.is_empty() {
            base.to_owned()
        } else {
            format!("{base}?{}", keep.join("&"))
        };
        // Let the driver check the rest now, not at first use.
        #[cfg(feature = "postgres")]
        {
            let parsed: postgres::Config = config
                .url
                .parse()
                .map_err(|e: postgres::Error| bad(e.to_string()))?;
            drop(parsed);
        }
        if config.ssl_mode == SslMode::VerifyFull && config.ssl_root_cert.is_none() {
            return Err(bad(
                "sslmode verifies the database's certificate: give sslrootcert=/path/to/ca.pem"
                    .into(),
            ));
        }
        Ok(config)
    }

    /// The URL handed to the driver (it may hold the password: never log it;
    /// use [`redact`]).
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The schema prefix.
    pub fn namespace(&self) -> &str {
        &self.namespace
    }

    /// The same database under another schema prefix (tests use one per data directory).
    pub fn with_namespace(mut self, namespace: &str) -> PgConfig {
        self.namespace = namespace.into();
        self
    }

    /// The schema holding `part` (`license`, `seal`, `pki_demo`, `log`, …).
    pub fn schema(&self, part: &str) -> String {
        let part: String = part
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() {
                    c.to_ascii_lowercase()
                } else {
                    '_'
                }
            })
            .collect();
        let mut s = format!("{}_{part}", self.namespace);
        s.truncate(63);
        s
    }
}

impl Backend {
    /// `sqlite` / `embedded` / empty → [`Backend::Embedded`];
    /// `postgres://…` → [`Backend::Postgres`].
    pub fn parse(s: &str) -> Result<Backend> {
        match s.trim() {
            "" | "sqlite" | "embedded" => Ok(Backend::Embedded),
            url => PgConfig::parse(url).map(Backend::Postgres),
        }
    }

    /// Where `part` lives: `sqlite_path` for the embedded backend, schema
    /// `<namespace>_<part>` on PostgreSQL.
    pub fn location(&self, sqlite_path: &Path, part: &str) -> Location {
        match self {
            Backend::Embedded => Location::Sqlite(sqlite_path.to_path_buf()),
            Backend::Postgres(c) => Location::Postgres {
                schema: c.schema(part),
                config: c.clone(),
            },
        }
    }

    /// Whether this is PostgreSQL.
    pub fn is_postgres(&self) -> bool {
        matches!(self, Backend::Postgres(_))
    }

    /// For messages and logs (password hidden).
    pub fn describe(&self) -> String {
        match self {
            Backend::Embedded => "embedded SQLite".into(),
            Backend::Postgres(c) => format!(
                "PostgreSQL {} (schemas {}_*)",
                redact(c.url()),
                c.namespace()
            ),
        }
    }
}

/// One database: a SQLite file or a schema in a PostgreSQL database.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Location {
    /// A SQLite file.
    Sqlite(PathBuf),
    /// A schema in a PostgreSQL database.
    Postgres {
        /// The database.
        config: PgConfig,
        /// The schema (made by the migrations when missing).
        schema: String,
    },
}

impl std::fmt::Display for Location {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Location::Sqlite(p) => write!(f, "{}", p.display()),
            Location::Postgres { config, schema } => {
                write!(f, "{} schema {schema}", redact(config.url()))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_takes_out_our_parameters_and_hides_the_password() -> Result<()> {
        let b = Backend::parse(
            "postgres://u:s3cret@db.example:5432/yz?namespace=prov&sslmode=verify-full&application_name=x&sslrootcert=%2Fetc%2Fyz%2Fca.pem&statement_timeout_ms=250",
        )?;
        let Backend::Postgres(c) = b else {
            panic!("not postgres");
        };
        assert_eq!(
            c.url(),
            "postgres://u:s3cret@db.example:5432/yz?application_name=x"
        );
        assert_eq!(c.ssl_mode, SslMode::VerifyFull);
        assert_eq!(
            c.ssl_root_cert.as_deref(),
            Some(Path::new("/etc/yz/ca.pem"))
        );
        assert!(Backend::parse("postgres://h/db?sslmode=require").is_err());
        assert!(Backend::parse("postgres://h/db?sslmode=sometimes").is_err());
        assert_eq!(c.namespace(), "prov");
        assert_eq!(c.statement_timeout, Duration::from_millis(250));
        assert_eq!(c.schema("pki_demo-2"), "prov_pki_demo_2");
        assert!(!format!("{c:?}").contains("s3cret"));
        assert_eq!(redact("postgresql://u:pw@h/db"), "postgresql://u:***@h/db");
        assert_eq!(
            redact("postgres://h/db?user=u&password=pw&x=1"),
            "postgres://h/db?user=u&password=***&x=1"
        );
        assert_eq!(Backend::parse("sqlite")?, Backend::Embedded);
        assert!(Backend::parse("mysql://x").is_err());
        assert!(Backend::parse("postgres://h/db?namespace=Bad-Name").is_err());
        Ok(())
    }
}
