//! The PostgreSQL side of [`Db`](crate::Db): a session pinned to one schema,
//! its prepared statements, migrations, and value conversions. Built with the
//! `postgres` feature; without it ([`nopg`](crate::nopg)) opening a
//! PostgreSQL location is an error and nothing of a network client is linked.

use crate::backend::{PgConfig, SslMode};
use crate::blocking::Client;
use crate::error::{Error, Result};
use crate::migrate::Migrations;
use crate::value::{Row, Value};
use postgres::types::{IsNull, ToSql, Type};
use std::collections::HashMap;

/// A PostgreSQL session pinned to one schema, with its prepared statements.
pub(crate) struct PgConn {
    client: Client,
    config: PgConfig,
    schema: String,
    statements: HashMap<String, postgres::Statement>,
}

impl PgConn {
    /// The schema this session works in.
    pub(crate) fn schema(&self) -> &str {
        &self.schema
    }

    pub(crate) fn connect(config: &PgConfig, schema: &str) -> Result<PgConn> {
        let client = Client::new(connect_client(config, schema)?);
        Ok(PgConn {
            client,
            config: config.clone(),
            schema: schema.to_owned(),
            statements: HashMap::new(),
        })
    }

    pub(crate) fn reconnect_if_closed(&mut self) -> Result<()> {
        if self.client.get().is_closed() {
            self.client = Client::new(connect_client(&self.config, &self.schema)?);
            self.statements.clear();
        }
        Ok(())
    }

    fn statement(&mut self, sql: &str) -> Result<postgres::Statement> {
        if let Some(s) = self.statements.get(sql) {
            return Ok(s.clone());
        }
        let s = self.client.get().prepare(&placeholders(sql))?;
        if self.statements.len() > 512 {
            self.statements.clear();
        }
        self.statements.insert(sql.to_owned(), s.clone());
        Ok(s)
    }

    pub(crate) fn execute(&mut self, sql: &str, params: &[Value]) -> Result<u64> {
        let stmt = self.statement(sql)?;
        let refs: Vec<&(dyn ToSql + Sync)> = params.iter().map(|v| v as _).collect();
        Ok(self.client.get().execute(&stmt, &refs)?)
    }

    pub(crate) fn query(&mut self, sql: &str, params: &[Value]) -> Result<Vec<Row>> {
        let stmt = self.statement(sql)?;
        let refs: Vec<&(dyn ToSql + Sync)> = params.iter().map(|v| v as _).collect();
        let rows = self.client.get().query(&stmt, &refs)?;
        rows.iter().map(pg_row).collect()
    }

    pub(crate) fn batch(&mut self, sql: &str) -> Result<()> {
        Ok(self.client.get().batch_execute(sql)?)
    }

    /// A session on a read replica (a hot standby): nothing is created or
    /// migrated there (a standby refuses writes); the schema must be at this
    /// program's version, which it reaches by replaying the primary's
    /// migrations.
    pub(crate) fn check_replica(&mut self, migrations: &Migrations) -> Result<u32> {
        let schema = self.schema.clone();
        let client = self.client.get();
        client.batch_execute("SET default_transaction_read_only = on")?;
        let exists: bool = client
            .query_one(
                "SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1)",
                &[&schema],
            )?
            .get(0);
        let current: i32 = if exists {
            client
                .query_one(
                    "SELECT COALESCE(MAX(version), 0) FROM schema_migrations",
                    &[],
                )?
                .get(0)
        } else {
            0
        };
        let known = migrations.latest();
        match (current as u32).cmp(&known) {
            std::cmp::Ordering::Equal => Ok(known),
            std::cmp::Ordering::Greater => Err(Error::TooNew {
                path: schema.into(),
                found: current as u32,
                known,
            }),
            std::cmp::Ordering::Less => Err(Error::Unrecognised {
                path: schema.into(),
                reason: format!(
                    "the read replica's schema is at version {current}, this program's is {known}: start a server on the primary first (it migrates), and let the replica replay it"
                ),
            }),
        }
    }

    /// This session's position in the WAL: what the primary has written, or
    /// what a replica has replayed (bytes since `0/0`).
    pub(crate) fn wal_position(&mut self) -> Result<i64> {
        Ok(self
            .client
            .get()
            .query_one(
                "SELECT (CASE WHEN pg_is_in_recovery() THEN pg_last_wal_replay_lsn() ELSE pg_current_wal_lsn() END - '0/0'::pg_lsn)::bigint",
                &[],
            )?
            .get(0))
    }

    /// Create the schema and apply the pending steps, all in one transaction
    /// under an advisory lock (PostgreSQL DDL is transactional).
    pub(crate) fn migrate(&mut self, migrations: &Migrations) -> Result<u32> {
        let schema = self.schema.clone();
        let steps = migrations
            .postgres_steps()
            .ok_or_else(|| Error::Unrecognised {
                path: schema.clone().into(),
                reason: "these migrations have no PostgreSQL schema".into(),
            })?;
        let mut tx = self.client.get().transaction()?;
        tx.execute(
            "SELECT pg_advisory_xact_lock(hashtext('yinzheng.migrate'))",
            &[],
        )?;
        tx.batch_execute(&format!(
            "CREATE SCHEMA IF NOT EXISTS \"{schema}\";
             SET LOCAL search_path TO \"{schema}\";
             CREATE TABLE IF NOT EXISTS schema_migrations (
               version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_ms BIGINT NOT NULL)"
        ))?;
        let recorded: Vec<(i32, String)> = tx
            .query(
                "SELECT version, name FROM schema_migrations ORDER BY version",
                &[],
            )?
            .iter()
            .map(|r| (r.get(0), r.get(1)))
            .collect();
        let known = migrations.latest();
        let current = recorded.last().map_or(0, |(v, _)| *v as u32);
        if current > known {
            return Err(Error::TooNew {
                path: schema.into(),
                found: current,
                known,
            });
        }
        for (version, name) in &recorded {
            let step = migrations.steps().get((*version as usize).wrapping_sub(1));
            if let Some(step) = step
                && step.name != name
            {
                return Err(Error::Unrecognised {
                    path: schema.into(),
                    reason: format!(
                        "schema version {version} was applied as {name:?}, but this program's step {version} is {:?}; is this the right database?",
                        step.name
                    ),
                });
            }
        }
        for (i, (step, sql)) in migrations.steps().iter().zip(steps).enumerate() {
            let version = i as u32 + 1;
            if version <= current {
                continue;
            }
            tx.batch_execute(sql)
                .map_err(|cause| Error::PostgresMigration {
                    schema: schema.clone(),
                    version,
                    name: step.name,
                    cause,
                })?;
            tx.execute(
                "INSERT INTO schema_migrations (version, name, applied_ms) VALUES ($1, $2, $3)",
                &[&(version as i32), &step.name, &crate::migrate::now_ms()],
            )?;
        }
        tx.commit()?;
        Ok(known)
    }
}

fn connect_client(config: &PgConfig, schema: &str) -> Result<postgres::Client> {
    let mut client = connect(config, "yinzheng", config.connect_timeout, |_| {})
        .map_err(|e| Error::Unavailable(format!("connecting to PostgreSQL: {e}")))?;
    let timeout = config.statement_timeout.as_millis();
    client.batch_execute(&format!(
        "SET search_path TO \"{schema}\";
         SET statement_timeout = {timeout};
         SET lock_timeout = {timeout};
         SET idle_in_transaction_session_timeout = {}",
        timeout.saturating_mul(6).max(60_000)
    ))?;
    Ok(client)
}

/// Open a session to `config`'s database, with TLS as its `sslmode` and
/// `sslrootcert` say (rustls, the certificate and host name always verified),
/// after `tweak` has adjusted the driver's settings.
pub(crate) fn connect(
    config: &PgConfig,
    application: &str,
    timeout: std::time::Duration,
    tweak: impl FnOnce(&mut postgres::Config),
) -> Result<postgres::Client> {
    let mut c: postgres::Config = config.url().parse()?;
    c.connect_timeout(timeout);
    c.application_name(application);
    tweak(&mut c);
    let roots = match (config.ssl_mode, &config.ssl_root_cert) {
        (SslMode::Disable, _) | (SslMode::Prefer, None) => None,
        (_, Some(file)) => Some(root_store(file)?),
        (SslMode::VerifyFull, None) => {
            return Err(Error::Config {
                value: crate::backend::redact(config.url()),
                reason: "sslmode verifies the database's certificate: give sslrootcert".into(),
            });
        }
    };
    match roots {
        None => {
            c.ssl_mode(postgres::config::SslMode::Disable);
            Ok(c.connect(postgres::NoTls)?)
        }
        Some(roots) => {
            c.ssl_mode(match config.ssl_mode {
                SslMode::VerifyFull => postgres::config::SslMode::Require,
                _ => postgres::config::SslMode::Prefer,
            });
            let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
            let tls = rustls::ClientConfig::builder_with_provider(provider)
                .with_safe_default_protocol_versions()
                .map_err(|e| Error::Unavailable(format!("TLS to PostgreSQL: {e}")))?
                .with_root_certificates(roots)
                .with_no_client_auth();
            Ok(c.connect(crate::pg_tls::MakeRustlsConnect::new(tls))?)
        }
    }
}

/// The CA certificates of `sslrootcert` (PEM).
fn root_store(file: &std::path::Path) -> Result<rustls::RootCertStore> {
    use rustls::pki_types::CertificateDer;
    let bad = |reason: String| Error::Config {
        value: file.display().to_string(),
        reason,
    };
    let mut roots = rustls::RootCertStore::empty();
    let text = std::fs::read_to_string(file).map_err(|e| bad(format!("sslrootcert: {e}")))?;
    let certs = yinzheng_crypto::pem::decode_all(&text, "CERTIFICATE")
        .map_err(|e| bad(format!("sslrootcert: {e}")))?;
    if certs.is_empty() {
        return Err(bad("sslrootcert holds no certificate".into()));
    }
    for cert in certs {
        roots
            .add(CertificateDer::from(cert))
            .map_err(|e| bad(format!("sslrootcert: {e}")))?;
    }
    Ok(roots)
}

/// `?7` → `$7`; a bare `?` takes the next number. Text in single quotes,
/// double-quoted identifiers and `--` comments are left alone.
pub(crate) fn placeholders(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len() + 8);
    let mut next = 1;
    let mut chars = sql.chars().peekable();
    let mut quote: Option<char> = None;
    while let Some(c) = chars.next() {
        if let Some(q) = quote {
            out.push(c);
            if c == q {
                quote = None;
            }
            continue;
        }
        match c {
            '\'' | '"' => {
                quote = Some(c);
                out.push(c);
            }
            '-' if chars.peek() == Some(&'-') => {
                out.push(c);
                for c in chars.by_ref() {
                    out.push(c);
                    if c == '\n' {
                        break;
                    }
                }
            }
            '?' => {
                out.push('$');
                let mut digits = String::new();
                while let Some(d) = chars.peek().filter(|d| d.is_ascii_digit()) {
                    digits.push(*d);
                    chars.next();
                }
                if digits.is_empty() {
                    out.push_str(&next.to_string());
                    next += 1;
                } else {
                    out.push_str(&digits);
                }
            }
            c => out.push(c),
        }
    }
    out
}

fn pg_row(r: &postgres::Row) -> Result<Row> {
    let mut values = Vec::with_capacity(r.len());
    for (i, col) in r.columns().iter().enumerate() {
        let ty = col.type_();
        let v = match *ty {
            Type::INT8 => r.try_get::<_, Option<i64>>(i)?.map(Value::Integer),
            Type::INT4 => r
                .try_get::<_, Option<i32>>(i)?
                .map(|v| Value::Integer(v.into())),
            Type::INT2 => r
                .try_get::<_, Option<i16>>(i)?
                .map(|v| Value::Integer(v.into())),
            Type::OID => r
                .try_get::<_, Option<u32>>(i)?
                .map(|v| Value::Integer(v.into())),
            Type::BOOL => r
                .try_get::<_, Option<bool>>(i)?
                .map(|v| Value::Integer(v.into())),
            Type::FLOAT8 => r.try_get::<_, Option<f64>>(i)?.map(Value::Real),
            Type::FLOAT4 => r
                .try_get::<_, Option<f32>>(i)?
                .map(|v| Value::Real(v.into())),
            Type::TEXT | Type::VARCHAR | Type::BPCHAR | Type::NAME => {
                r.try_get::<_, Option<String>>(i)?.map(Value::Text)
            }
            Type::BYTEA => r.try_get::<_, Option<Vec<u8>>>(i)?.map(Value::Blob),
            Type::VOID => None,
            _ => {
                return Err(Error::Column {
                    index: i,
                    reason: format!(
                        "PostgreSQL type {ty} of column {:?} has no SQL value here; cast it",
                        col.name()
                    ),
                });
            }
        };
        values.push(v.unwrap_or(Value::Null));
    }
    Ok(Row { values })
}

impl ToSql for Value {
    fn to_sql(
        &self,
        ty: &Type,
        out: &mut bytes::BytesMut,
    ) -> std::result::Result<IsNull, Box<dyn std::error::Error + Sync + Send>> {
        match self {
            Value::Null => Ok(IsNull::Yes),
            Value::Integer(i) => match *ty {
                Type::INT8 => i.to_sql(ty, out),
                Type::INT4 => i32::try_from(*i)?.to_sql(ty, out),
                Type::INT2 => i16::try_from(*i)?.to_sql(ty, out),
                Type::BOOL => (*i != 0).to_sql(ty, out),
                Type::FLOAT8 => (*i as f64).to_sql(ty, out),
                _ => Err(format!("an integer cannot be a {ty} parameter").into()),
            },
            Value::Real(f) => f.to_sql(ty, out),
            Value::Text(s) => s.as_str().to_sql(ty, out),
            Value::Blob(b) => b.as_slice().to_sql(ty, out),
        }
    }

    fn accepts(_: &Type) -> bool {
        true
    }

    postgres::types::to_sql_checked!();
}

#[cfg(test)]
mod tests {
    use super::placeholders;

    #[test]
    fn placeholders_are_numbered_outside_quotes() {
        assert_eq!(
            placeholders("SELECT ?1, ?, '?', \"a?\" -- ?\n FROM t WHERE x = ?12"),
            "SELECT $1, $1, '?', \"a?\" -- ?\n FROM t WHERE x = $12"
        );
    }
}
