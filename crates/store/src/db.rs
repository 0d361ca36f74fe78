//! [`Db`]: one connection to either backend, with one SQL dialect.
//!
//! The SQL the crates write is the common subset of SQLite and PostgreSQL:
//! numbered `?1` placeholders (rewritten to `$1` for PostgreSQL), `INSERT …
//! ON CONFLICT … DO …`, `RETURNING`, no `PRAGMA`, no `INSERT OR …`. Schemas
//! (migrations) are written once per backend; everything else is shared, so
//! both backends behave the same by construction and one test suite checks both.

use crate::backend::{Location, PgConfig};
use crate::error::{Error, Result};
use crate::migrate::Migrations;
use crate::sqlite::{self, Options};
use crate::value::{Row, ToValue, Value, from_sqlite};
use postgres::types::{IsNull, ToSql, Type};
use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::time::Duration;

/// How often a PostgreSQL transaction that lost a serialization race is
/// run again before the error is returned.
const SERIALIZATION_RETRIES: u32 = 30;

/// A connection to a SQLite file or to a PostgreSQL schema. `Send`, not
/// `Sync` (like `rusqlite::Connection`): one thread at a time; pool them for
/// parallel readers.
pub struct Db {
    conn: Conn,
    location: Location,
    /// Set when the last PostgreSQL error was a serialization failure or a
    /// deadlock: [`Db::transaction`] runs its closure again.
    retryable: Cell<bool>,
    in_tx: Cell<bool>,
}

enum Conn {
    Sqlite(rusqlite::Connection),
    Postgres(Box<RefCell<PgConn>>),
}

impl std::fmt::Debug for Db {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Db")
            .field("location", &self.location.to_string())
            .finish()
    }
}

impl Db {
    /// Open `location` and bring its schema up to date. SQLite takes
    /// `options` (pragmas, create); PostgreSQL creates the schema and applies
    /// the migrations under an advisory lock, so servers starting together
    /// migrate once.
    pub fn open(location: &Location, migrations: &Migrations, options: Options) -> Result<Db> {
        let conn = match location {
            Location::Sqlite(path) => Conn::Sqlite(sqlite::open(path, migrations, options)?),
            Location::Postgres { config, schema } => {
                let mut pg = PgConn::connect(config, schema)?;
                pg.migrate(migrations)?;
                Conn::Postgres(Box::new(RefCell::new(pg)))
            }
        };
        Ok(Db {
            conn,
            location: location.clone(),
            retryable: Cell::new(false),
            in_tx: Cell::new(false),
        })
    }

    /// Wrap a SQLite connection opened elsewhere (tests, old-schema upgrades).
    pub fn from_sqlite(conn: rusqlite::Connection) -> Db {
        let path = conn.path().map(Into::into).unwrap_or_default();
        Db {
            conn: Conn::Sqlite(conn),
            location: Location::Sqlite(path),
            retryable: Cell::new(false),
            in_tx: Cell::new(false),
        }
    }

    /// Where this connection goes.
    pub fn location(&self) -> &Location {
        &self.location
    }

    /// Whether this is PostgreSQL.
    pub fn is_postgres(&self) -> bool {
        matches!(self.conn, Conn::Postgres(_))
    }

    /// The SQLite connection, for SQLite-only tuning (pragmas, WAL checkpoints).
    pub fn sqlite(&self) -> Option<&rusqlite::Connection> {
        match &self.conn {
            Conn::Sqlite(c) => Some(c),
            Conn::Postgres(_) => None,
        }
    }

    /// Run one statement; the number of rows it changed.
    pub fn execute(&self, sql: &str, params: &[&dyn ToValue]) -> Result<u64> {
        match &self.conn {
            Conn::Sqlite(c) => {
                let mut stmt = c.prepare_cached(sql)?;
                let n = stmt.execute(rusqlite::params_from_iter(values(params)))?;
                Ok(n as u64)
            }
            Conn::Postgres(pg) => self.pg(pg, |pg| pg.execute(sql, &values(params))),
        }
    }

    /// Run statements without parameters, separated by `;`.
    pub fn execute_batch(&self, sql: &str) -> Result<()> {
        match &self.conn {
            Conn::Sqlite(c) => Ok(c.execute_batch(sql)?),
            Conn::Postgres(pg) => self.pg(pg, |pg| pg.batch(sql)),
        }
    }

    /// All rows of a query.
    pub fn query(&self, sql: &str, params: &[&dyn ToValue]) -> Result<Vec<Row>> {
        match &self.conn {
            Conn::Sqlite(c) => {
                let mut stmt = c.prepare_cached(sql)?;
                let n = stmt.column_count();
                let mut rows = stmt.query(rusqlite::params_from_iter(values(params)))?;
                let mut out = Vec::new();
                while let Some(r) = rows.next()? {
                    let mut v = Vec::with_capacity(n);
                    for i in 0..n {
                        v.push(from_sqlite(r.get_ref(i)?));
                    }
                    out.push(Row { values: v });
                }
                Ok(out)
            }
            Conn::Postgres(pg) => self.pg(pg, |pg| pg.query(sql, &values(params))),
        }
    }

    /// All rows of a query, each mapped by `f`.
    pub fn query_map<T, E: From<Error>>(
        &self,
        sql: &str,
        params: &[&dyn ToValue],
        f: impl FnMut(&Row) -> std::result::Result<T, E>,
    ) -> std::result::Result<Vec<T>, E> {
        self.query(sql, params)?.iter().map(f).collect()
    }

    /// The first row, or `None`.
    pub fn query_opt(&self, sql: &str, params: &[&dyn ToValue]) -> Result<Option<Row>> {
        Ok(self.query(sql, params)?.into_iter().next())
    }

    /// The first row; [`Error::NoRows`] when there is none.
    pub fn query_row(&self, sql: &str, params: &[&dyn ToValue]) -> Result<Row> {
        self.query_opt(sql, params)?.ok_or(Error::NoRows)
    }

    /// Run `f` in a transaction: commit when it returns `Ok`, roll back when
    /// it returns `Err`. SQLite: `BEGIN IMMEDIATE` (the write lock at once).
    /// PostgreSQL: `SERIALIZABLE` (what SQLite gives), and a transaction that
    /// loses a serialization race or a deadlock is run again (up to 30 times,
    /// after a growing random pause; from the third attempt on behind a
    /// per-schema lock, so a hot row cannot starve one writer) — so `f` must
    /// do nothing but database work it can repeat.
    pub fn transaction<T, E: From<Error>>(
        &self,
        mut f: impl FnMut(&Db) -> std::result::Result<T, E>,
    ) -> std::result::Result<T, E> {
        if self.in_tx.get() {
            // Nested: part of the outer transaction.
            return f(self);
        }
        let begin = if self.is_postgres() {
            "BEGIN ISOLATION LEVEL SERIALIZABLE"
        } else {
            "BEGIN IMMEDIATE"
        };
        let mut attempt = 0;
        loop {
            attempt += 1;
            self.retryable.set(false);
            self.execute_batch(begin)?;
            if attempt > 2 {
                // The slow lane: a transaction that keeps losing races queues
                // behind the others that do, on one lock per schema, so it
                // cannot be starved by them.
                self.execute(
                    "SELECT pg_advisory_xact_lock(hashtext(current_schema()))::text",
                    &[],
                )?;
            }
            self.in_tx.set(true);
            let out = f(self);
            self.in_tx.set(false);
            let out = match out {
                Ok(v) => match self.execute_batch("COMMIT") {
                    Ok(()) => return Ok(v),
                    Err(e) => Err(E::from(e)),
                },
                Err(e) => Err(e),
            };
            let retry = self.retryable.get();
            // A failed COMMIT has ended the transaction already; ROLLBACK
            // then only warns. A lost connection makes it fail: nothing to undo.
            let _ = self.execute_batch("ROLLBACK");
            if retry && attempt < SERIALIZATION_RETRIES {
                std::thread::sleep(backoff(attempt));
                continue;
            }
            return out;
        }
    }

    /// Tell every server listening on `channel` that this schema changed
    /// (PostgreSQL `NOTIFY`, delivered at commit; nothing on SQLite, where
    /// there is one server and it reads the file).
    pub fn notify(&self, channel: &str) -> Result<()> {
        match &self.conn {
            Conn::Sqlite(_) => Ok(()),
            Conn::Postgres(pg) => {
                let schema = pg.borrow().schema.clone();
                self.pg(pg, |pg| {
                    pg.query(
                        "SELECT pg_notify(?1, ?2)",
                        &[Value::Text(channel.into()), Value::Text(schema.clone())],
                    )
                    .map(drop)
                })
            }
        }
    }

    fn pg<T>(&self, pg: &RefCell<PgConn>, f: impl FnOnce(&mut PgConn) -> Result<T>) -> Result<T> {
        let mut pg = pg.borrow_mut();
        // A broken connection is replaced between transactions, never inside one.
        if !self.in_tx.get() {
            pg.reconnect_if_closed()?;
        }
        let r = f(&mut pg);
        if let Err(e) = &r
            && e.is_retryable()
        {
            self.retryable.set(true);
        }
        r
    }
}

/// Randomised, growing pause before a retry, so racing transactions spread out.
fn backoff(attempt: u32) -> Duration {
    let jitter = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    let ceiling_us = 250u64 << attempt.min(7);
    Duration::from_micros(100 + u64::from(jitter) % ceiling_us)
}

fn values(params: &[&dyn ToValue]) -> Vec<Value> {
    params.iter().map(|p| p.to_value()).collect()
}

/// A PostgreSQL session pinned to one schema, with its prepared statements.
struct PgConn {
    client: postgres::Client,
    config: PgConfig,
    schema: String,
    statements: HashMap<String, postgres::Statement>,
}

impl PgConn {
    fn connect(config: &PgConfig, schema: &str) -> Result<PgConn> {
        let client = connect_client(config, schema)?;
        Ok(PgConn {
            client,
            config: config.clone(),
            schema: schema.to_owned(),
            statements: HashMap::new(),
        })
    }

    fn reconnect_if_closed(&mut self) -> Result<()> {
        if self.client.is_closed() {
            self.client = connect_client(&self.config, &self.schema)?;
            self.statements.clear();
        }
        Ok(())
    }

    fn statement(&mut self, sql: &str) -> Result<postgres::Statement> {
        if let Some(s) = self.statements.get(sql) {
            return Ok(s.clone());
        }
        let s = self.client.prepare(&placeholders(sql))?;
        if self.statements.len() > 512 {
            self.statements.clear();
        }
        self.statements.insert(sql.to_owned(), s.clone());
        Ok(s)
    }

    fn execute(&mut self, sql: &str, params: &[Value]) -> Result<u64> {
        let stmt = self.statement(sql)?;
        let refs: Vec<&(dyn ToSql + Sync)> = params.iter().map(|v| v as _).collect();
        Ok(self.client.execute(&stmt, &refs)?)
    }

    fn query(&mut self, sql: &str, params: &[Value]) -> Result<Vec<Row>> {
        let stmt = self.statement(sql)?;
        let refs: Vec<&(dyn ToSql + Sync)> = params.iter().map(|v| v as _).collect();
        let rows = self.client.query(&stmt, &refs)?;
        rows.iter().map(pg_row).collect()
    }

    fn batch(&mut self, sql: &str) -> Result<()> {
        Ok(self.client.batch_execute(sql)?)
    }

    /// Create the schema and apply the pending steps, all in one transaction
    /// under an advisory lock (PostgreSQL DDL is transactional).
    fn migrate(&mut self, migrations: &Migrations) -> Result<u32> {
        let schema = self.schema.clone();
        let steps = migrations
            .postgres_steps()
            .ok_or_else(|| Error::Unrecognised {
                path: schema.clone().into(),
                reason: "these migrations have no PostgreSQL schema".into(),
            })?;
        let mut tx = self.client.transaction()?;
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
                .map_err(|source| Error::PostgresMigration {
                    schema: schema.clone(),
                    version,
                    name: step.name,
                    source,
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
    let mut c: postgres::Config = config.url().parse()?;
    c.connect_timeout(config.connect_timeout);
    c.application_name("yinzheng");
    let mut client = c
        .connect(postgres::NoTls)
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
