//! [`Db`]: one connection to either backend, with one SQL dialect.
//!
//! The SQL the crates write is the common subset of SQLite and PostgreSQL:
//! numbered `?1` placeholders (rewritten to `$1` for PostgreSQL), `INSERT …
//! ON CONFLICT … DO …`, `RETURNING`, no `PRAGMA`, no `INSERT OR …`. Schemas
//! (migrations) are written once per backend; everything else is shared, so
//! both backends behave the same by construction and one test suite checks both.

use crate::backend::Location;
use crate::blocking::off_runtime;
use crate::error::{Error, Result};
use crate::migrate::Migrations;
use crate::pg::PgConn;
use crate::sqlite::{self, Options};
use crate::value::{Row, ToValue, Value, from_sqlite};
use std::cell::{Cell, RefCell};
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
    /// Set when a statement failed inside the open PostgreSQL transaction:
    /// PostgreSQL has aborted it, and its COMMIT would quietly roll back.
    failed: Cell<bool>,
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
                let pg = off_runtime(|| {
                    let mut pg = PgConn::connect(config, schema)?;
                    pg.migrate(migrations)?;
                    Ok::<_, Error>(pg)
                })?;
                Conn::Postgres(Box::new(RefCell::new(pg)))
            }
        };
        Ok(Db::with_conn(conn, location))
    }

    /// A `Db` over an opened connection, outside any transaction.
    fn with_conn(conn: Conn, location: &Location) -> Db {
        Db {
            conn,
            location: location.clone(),
            retryable: Cell::new(false),
            failed: Cell::new(false),
            in_tx: Cell::new(false),
        }
    }

    /// Open a read replica of `location` (a PostgreSQL hot standby): no
    /// migration (a standby refuses writes); the schema must already be at
    /// this program's version. Every statement on it is read-only. A SQLite
    /// location has no replica: [`Error::Config`].
    pub fn open_replica(location: &Location, migrations: &Migrations) -> Result<Db> {
        let conn = match location {
            Location::Sqlite(p) => {
                return Err(Error::Config {
                    value: p.display().to_string(),
                    reason: "a read replica is a PostgreSQL store".into(),
                });
            }
            Location::Postgres { config, schema } => {
                let pg = off_runtime(|| {
                    let mut pg = PgConn::connect(config, schema)?;
                    pg.check_replica(migrations)?;
                    Ok::<_, Error>(pg)
                })?;
                Conn::Postgres(Box::new(RefCell::new(pg)))
            }
        };
        Ok(Db::with_conn(conn, location))
    }

    /// PostgreSQL: this session's WAL position — written (primary) or
    /// replayed (replica), in bytes. Comparing the two tells how far a
    /// replica is behind. SQLite: 0.
    pub fn wal_position(&self) -> Result<i64> {
        match &self.conn {
            Conn::Sqlite(_) => Ok(0),
            Conn::Postgres(pg) => self.pg(pg, |pg| pg.wal_position()),
        }
    }

    /// Wrap a SQLite connection opened elsewhere (tests, old-schema upgrades).
    pub fn from_sqlite(conn: rusqlite::Connection) -> Db {
        let path = conn.path().map(Into::into).unwrap_or_default();
        Db {
            conn: Conn::Sqlite(conn),
            location: Location::Sqlite(path),
            retryable: Cell::new(false),
            failed: Cell::new(false),
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

    /// How hard this connection's commits reach the disk. SQLite: `PRAGMA
    /// synchronous`. PostgreSQL: `synchronous_commit` for this session
    /// (`Normal` → `off`: a commit returns before its WAL flush; a crash of the
    /// database server can lose the last fraction of a second, never corrupt).
    pub fn set_synchronous(&self, mode: crate::sqlite::Synchronous) -> Result<()> {
        let normal = matches!(mode, crate::sqlite::Synchronous::Normal);
        match &self.conn {
            Conn::Sqlite(c) => {
                Ok(c.pragma_update(None, "synchronous", if normal { "NORMAL" } else { "FULL" })?)
            }
            Conn::Postgres(_) => self.execute_batch(if normal {
                "SET synchronous_commit = off"
            } else {
                "SET synchronous_commit = on"
            }),
        }
    }

    /// SQLite: stop this connection from checkpointing the WAL at commit
    /// (another connection does it: [`Db::checkpoint_wal`]). PostgreSQL: nothing.
    pub fn disable_auto_checkpoint(&self) -> Result<()> {
        match &self.conn {
            Conn::Sqlite(c) => Ok(c.pragma_update(None, "wal_autocheckpoint", 0)?),
            Conn::Postgres(_) => Ok(()),
        }
    }

    /// SQLite: a PASSIVE WAL checkpoint (never blocks writers); the frames
    /// not yet checkpointed. PostgreSQL checkpoints on its own: 0.
    pub fn checkpoint_wal(&self) -> Result<i64> {
        match &self.conn {
            Conn::Sqlite(c) => Ok(c.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| r.get(1))?),
            Conn::Postgres(_) => Ok(0),
        }
    }

    /// SQLite: a TRUNCATE WAL checkpoint — waits at most `wait` for the
    /// writer and for readers of older snapshots (this connection's busy
    /// timeout becomes `wait`: it holds the write lock while it waits, so
    /// keep it short), copies every frame and truncates the WAL file to zero
    /// bytes; false when it could not finish (a reader kept an old snapshot;
    /// retry later). Under constant writes PASSIVE checkpoints never let the
    /// WAL file shrink; this does. PostgreSQL: nothing (true).
    pub fn truncate_wal(&self, wait: std::time::Duration) -> Result<bool> {
        match &self.conn {
            Conn::Sqlite(c) => {
                c.busy_timeout(wait)?;
                let busy: i64 = c.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| r.get(0))?;
                Ok(busy == 0)
            }
            Conn::Postgres(_) => Ok(true),
        }
    }

    /// SQLite: the size of the WAL file in bytes (0 when there is none).
    /// PostgreSQL: `None` (its WAL is the database server's business).
    pub fn wal_bytes(&self) -> Option<u64> {
        match &self.conn {
            Conn::Sqlite(c) => {
                let path = c.path().filter(|p| !p.is_empty())?;
                Some(
                    std::fs::metadata(format!("{path}-wal"))
                        .map(|m| m.len())
                        .unwrap_or(0),
                )
            }
            Conn::Postgres(_) => None,
        }
    }

    /// Run one statement; the number of rows it changed.
    pub fn execute(&self, sql: &str, params: &[&dyn ToValue]) -> Result<u64> {
        match &self.conn {
            Conn::Sqlite(c) => self.sqlite_tracked((|| {
                let mut stmt = c.prepare_cached(sql)?;
                let n = stmt.execute(rusqlite::params_from_iter(values(params)))?;
                Ok(n as u64)
            })()),
            Conn::Postgres(pg) => {
                let v = values(params);
                self.pg(pg, move |pg| pg.execute(sql, &v))
            }
        }
    }

    /// Run statements without parameters, separated by `;`.
    pub fn execute_batch(&self, sql: &str) -> Result<()> {
        match &self.conn {
            Conn::Sqlite(c) => self.sqlite_tracked(c.execute_batch(sql).map_err(Error::from)),
            Conn::Postgres(pg) => self.pg(pg, |pg| pg.batch(sql)),
        }
    }

    /// All rows of a query.
    pub fn query(&self, sql: &str, params: &[&dyn ToValue]) -> Result<Vec<Row>> {
        match &self.conn {
            Conn::Sqlite(c) => self.sqlite_tracked((|| {
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
            })()),
            Conn::Postgres(pg) => {
                let v = values(params);
                self.pg(pg, move |pg| pg.query(sql, &v))
            }
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
    /// do nothing but database work it can repeat. On both backends a
    /// transaction in which any statement failed is rolled back, even when
    /// `f` returns `Ok` ([`Error::Aborted`]): PostgreSQL allows nothing else.
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
            self.failed.set(false);
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
                // A statement failed but `f` carried on (it kept the error
                // as a value): PostgreSQL would answer COMMIT with a silent
                // ROLLBACK, so never claim the commit.
                Ok(_) if self.failed.get() => Err(E::from(Error::Aborted)),
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
                let schema = pg.borrow().schema().to_owned();
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

    /// SQLite keeps a transaction going after most failed statements;
    /// PostgreSQL aborts it. Both backends follow PostgreSQL's rule here: a
    /// transaction in which a statement failed is never committed.
    fn sqlite_tracked<T>(&self, r: Result<T>) -> Result<T> {
        if r.is_err() && self.in_tx.get() {
            self.failed.set(true);
        }
        r
    }

    fn pg<T: Send>(
        &self,
        pg: &RefCell<PgConn>,
        f: impl FnOnce(&mut PgConn) -> Result<T> + Send,
    ) -> Result<T> {
        let mut pg = pg.borrow_mut();
        let pg: &mut PgConn = &mut pg;
        let in_tx = self.in_tx.get();
        let r = off_runtime(move || {
            // A broken connection is replaced between transactions, never inside one.
            if !in_tx {
                pg.reconnect_if_closed()?;
            }
            f(pg)
        });
        if let Err(e) = &r {
            if self.in_tx.get() {
                self.failed.set(true);
            }
            if e.is_retryable() {
                self.retryable.set(true);
            }
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

pub(crate) fn values(params: &[&dyn ToValue]) -> Vec<Value> {
    params.iter().map(|p| p.to_value()).collect()
}
