//! Versioned schema migrations recorded in `schema_migrations`.

use crate::error::{Error, Result};
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};
use std::path::{Path, PathBuf};

/// One schema step: a name (recorded in the database, never to be renamed)
/// and the SQL that takes the schema from the previous version to this one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Migration {
    /// Short name recorded with the version, e.g. `"certificates"`.
    pub name: &'static str,
    /// One or more SQL statements. Keep them portable (no `PRAGMA`): they
    /// should read the same on PostgreSQL. They run inside the step's
    /// transaction (no `BEGIN`/`COMMIT` of their own) with foreign keys on,
    /// which cannot be switched off there: a step that rebuilds a referenced
    /// table needs `PRAGMA defer_foreign_keys = ON`.
    pub sql: &'static str,
}

/// Where a database made before `schema_migrations` existed keeps its version.
/// It is read once, when `schema_migrations` is empty, and the steps up to that
/// version are then recorded as applied (their SQL is not run again).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Legacy {
    /// No older databases to take in: an empty history means version 0.
    None,
    /// `PRAGMA user_version`.
    UserVersion,
    /// A key/value table holding the version as text, e.g.
    /// `meta(key, value)` with key `schema_version` (the pki `ca.db`).
    KeyValue {
        /// The table, with columns `key` and `value`.
        table: &'static str,
        /// The key whose value is the version.
        key: &'static str,
    },
}

/// The schema of one kind of database: its steps in order (step `i` brings the
/// database to version `i + 1`) and how to read a pre-`schema_migrations` version.
#[derive(Clone, Copy, Debug)]
pub struct Migrations {
    steps: &'static [Migration],
    legacy: Legacy,
    postgres: Option<&'static [&'static str]>,
}

/// The history table. Portable SQL: it reads the same on PostgreSQL.
const HISTORY: &str = "CREATE TABLE IF NOT EXISTS schema_migrations (
    version INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    applied_ms BIGINT NOT NULL
)";

impl Migrations {
    /// The schema made by `steps`, with no legacy version to read.
    pub const fn new(steps: &'static [Migration]) -> Self {
        Migrations {
            steps,
            legacy: Legacy::None,
            postgres: None,
        }
    }

    /// The same steps written for PostgreSQL, one SQL text per step in the
    /// same order and with the same names (`BIGINT` for every integer,
    /// `BYTEA` for blobs, identity columns for `AUTOINCREMENT`). Without
    /// them the schema cannot live in PostgreSQL.
    pub const fn with_postgres(self, sql: &'static [&'static str]) -> Self {
        assert!(
            sql.len() == self.steps.len(),
            "one PostgreSQL text per migration step"
        );
        Migrations {
            postgres: Some(sql),
            ..self
        }
    }

    /// The PostgreSQL text of each step, when written.
    pub fn postgres_steps(&self) -> Option<&'static [&'static str]> {
        self.postgres
    }

    /// The same steps, taking in databases that kept their version as `legacy` says.
    pub const fn with_legacy(self, legacy: Legacy) -> Self {
        Migrations { legacy, ..self }
    }

    /// The steps, oldest first.
    pub fn steps(&self) -> &'static [Migration] {
        self.steps
    }

    /// The latest version these migrations know (the number of steps).
    pub fn latest(&self) -> u32 {
        u32::try_from(self.steps.len()).unwrap_or(u32::MAX)
    }

    /// The version recorded in `conn`'s `schema_migrations`, 0 when it has none
    /// (legacy markers are not consulted).
    pub fn version(conn: &Connection) -> Result<u32> {
        let exists = table_exists(conn, "schema_migrations")?;
        if !exists {
            return Ok(0);
        }
        Ok(recorded_version(conn)?)
    }

    /// Bring the database up to [`latest`](Self::latest), one `IMMEDIATE`
    /// transaction per step, and return the version it is at. A database at a
    /// higher version than known is refused ([`Error::TooNew`]); one whose
    /// recorded step names differ from these is refused ([`Error::Unrecognised`]).
    /// Safe when several processes open the same database at once: each step
    /// re-reads the version under the write lock.
    pub fn apply(&self, conn: &mut Connection) -> Result<u32> {
        let path = conn.path().map(PathBuf::from).unwrap_or_default();
        let known = self.latest();
        let mut checked = false;
        loop {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            tx.execute_batch(HISTORY)?;
            let mut current = recorded_version(&tx)?;
            if current == 0 {
                current = self.adopt_legacy(&tx, &path)?;
            }
            if current > known {
                return Err(Error::TooNew {
                    path,
                    found: current,
                    known,
                });
            }
            if !checked {
                self.check_names(&tx, &path)?;
                checked = true;
            }
            let Some(step) = self.steps.get(current as usize) else {
                tx.commit()?;
                return Ok(current);
            };
            let version = current + 1;
            tx.execute_batch(step.sql)
                .map_err(|cause| Error::Migration {
                    path: path.clone(),
                    version,
                    name: step.name,
                    cause,
                })?;
            tx.execute(
                "INSERT INTO schema_migrations (version, name, applied_ms) VALUES (?1, ?2, ?3)",
                params![version, step.name, now_ms()],
            )?;
            tx.commit()?;
        }
    }

    /// Record the steps a legacy version marker says were applied; returns that version.
    fn adopt_legacy(&self, conn: &Connection, path: &Path) -> Result<u32> {
        let version = match self.legacy {
            Legacy::None => return Ok(0),
            Legacy::UserVersion => {
                let v: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
                u32::try_from(v).map_err(|_| Error::Unrecognised {
                    path: path.to_path_buf(),
                    reason: format!("user_version {v} is not a schema version"),
                })?
            }
            Legacy::KeyValue { table, key } => {
                if !table_exists(conn, table)? {
                    return Ok(0);
                }
                let sql = format!("SELECT value FROM \"{table}\" WHERE key = ?1");
                let value: Option<String> = conn.query_row(&sql, [key], |r| r.get(0)).optional()?;
                match value {
                    None => 0,
                    Some(v) => v.trim().parse().map_err(|_| Error::Unrecognised {
                        path: path.to_path_buf(),
                        reason: format!("{table}.{key} = {v:?} is not a schema version"),
                    })?,
                }
            }
        };
        if version > self.latest() {
            // Refused by the caller; nothing is recorded.
            return Ok(version);
        }
        for (i, step) in self.steps.iter().take(version as usize).enumerate() {
            conn.execute(
                "INSERT INTO schema_migrations (version, name, applied_ms) VALUES (?1, ?2, ?3)",
                params![i as u32 + 1, step.name, now_ms()],
            )?;
        }
        Ok(version)
    }

    fn check_names(&self, conn: &Connection, path: &Path) -> Result<()> {
        let mut stmt =
            conn.prepare("SELECT version, name FROM schema_migrations ORDER BY version")?;
        let rows = stmt.query_map([], |r| Ok((r.get::<_, u32>(0)?, r.get::<_, String>(1)?)))?;
        for row in rows {
            let (version, name) = row?;
            let expected = version
                .checked_sub(1)
                .and_then(|i| self.steps.get(i as usize));
            if let Some(step) = expected
                && step.name != name
            {
                return Err(Error::Unrecognised {
                    path: path.to_path_buf(),
                    reason: format!(
                        "schema version {version} was applied as {name:?}, but this program's step {version} is {:?}; is this the right database?",
                        step.name
                    ),
                });
            }
        }
        Ok(())
    }
}

fn recorded_version(conn: &Connection) -> rusqlite::Result<u32> {
    conn.query_row(
        "SELECT COALESCE(MAX(version), 0) FROM schema_migrations",
        [],
        |r| r.get(0),
    )
}

fn table_exists(conn: &Connection, table: &str) -> rusqlite::Result<bool> {
    Ok(conn
        .query_row(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?1",
            [table],
            |_| Ok(()),
        )
        .optional()?
        .is_some())
}

pub(crate) fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sqlite::{self, Options};

    const V1: &[Migration] = &[Migration {
        name: "people",
        sql: "CREATE TABLE people (id INTEGER PRIMARY KEY, name TEXT NOT NULL);",
    }];
    const V2: &[Migration] = &[
        V1[0],
        Migration {
            name: "people email",
            sql: "ALTER TABLE people ADD COLUMN email TEXT;
                  UPDATE people SET email = name || '@example.cn';",
        },
    ];

    fn tmp() -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::Builder::new()
            .tempdir()
            .unwrap_or_else(|e| panic!("tempdir: {e}"));
        let path = dir.path().join("db/test.db");
        (dir, path)
    }

    fn history(conn: &Connection) -> Vec<(u32, String)> {
        let mut stmt = conn
            .prepare("SELECT version, name FROM schema_migrations ORDER BY version")
            .unwrap_or_else(|e| panic!("{e}"));
        stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .and_then(|rows| rows.collect())
            .unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn fresh_database_gets_every_step_then_a_later_one() -> Result<()> {
        let (_dir, path) = tmp();
        let conn = sqlite::open(&path, &Migrations::new(V1), Options::default())?;
        conn.execute("INSERT INTO people (name) VALUES ('li')", [])?;
        assert_eq!(Migrations::version(&conn)?, 1);
        drop(conn);
        let conn = sqlite::open(&path, &Migrations::new(V2), Options::default())?;
        assert_eq!(
            history(&conn),
            vec![(1, "people".into()), (2, "people email".into())]
        );
        let email: String = conn.query_row("SELECT email FROM people", [], |r| r.get(0))?;
        assert_eq!(email, "li@example.cn");
        // Opening again changes nothing.
        drop(conn);
        let conn = sqlite::open(&path, &Migrations::new(V2), Options::default())?;
        assert_eq!(history(&conn).len(), 2);
        Ok(())
    }

    #[test]
    fn a_newer_database_is_refused_naming_both_versions() -> Result<()> {
        let (_dir, path) = tmp();
        drop(sqlite::open(
            &path,
            &Migrations::new(V2),
            Options::default(),
        )?);
        let err = sqlite::open(&path, &Migrations::new(V1), Options::default())
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(err.contains("schema version 2"), "{err}");
        assert!(err.contains("the 1 this program knows"), "{err}");
        Ok(())
    }

    #[test]
    fn a_failing_step_rolls_back_and_names_itself() -> Result<()> {
        const BAD: &[Migration] = &[
            V1[0],
            Migration {
                name: "broken",
                sql: "ALTER TABLE people ADD COLUMN x TEXT; CREATE TABLE people (id INTEGER);",
            },
        ];
        let (_dir, path) = tmp();
        drop(sqlite::open(
            &path,
            &Migrations::new(V1),
            Options::default(),
        )?);
        match sqlite::open(&path, &Migrations::new(BAD), Options::default()) {
            Err(Error::Migration {
                version: 2,
                name: "broken",
                ..
            }) => {}
            other => panic!("expected the step to fail: {other:?}"),
        }
        let conn = sqlite::open(&path, &Migrations::new(V1), Options::default())?;
        // The ALTER before the failing statement was rolled back with it.
        assert!(conn.prepare("SELECT x FROM people").is_err());
        assert_eq!(Migrations::version(&conn)?, 1);
        Ok(())
    }

    #[test]
    fn another_schema_history_is_refused() -> Result<()> {
        const OTHER: &[Migration] = &[Migration {
            name: "animals",
            sql: "CREATE TABLE animals (id INTEGER PRIMARY KEY);",
        }];
        let (_dir, path) = tmp();
        drop(sqlite::open(
            &path,
            &Migrations::new(V1),
            Options::default(),
        )?);
        match sqlite::open(&path, &Migrations::new(OTHER), Options::default()) {
            Err(Error::Unrecognised { reason, .. }) => assert!(reason.contains("animals")),
            other => panic!("expected a refusal: {other:?}"),
        }
        Ok(())
    }

    #[test]
    fn legacy_user_version_is_taken_in() -> Result<()> {
        let (_dir, path) = tmp();
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|cause| Error::Io {
                path: dir.to_path_buf(),
                cause,
            })?;
        }
        {
            // What a program keeping PRAGMA user_version would have left.
            let conn = Connection::open(&path)?;
            conn.execute_batch(V1[0].sql)?;
            conn.execute("INSERT INTO people (name) VALUES ('wang')", [])?;
            conn.pragma_update(None, "user_version", 1)?;
        }
        let migrations = Migrations::new(V2).with_legacy(Legacy::UserVersion);
        let conn = sqlite::open(&path, &migrations, Options::default())?;
        assert_eq!(
            history(&conn),
            vec![(1, "people".into()), (2, "people email".into())]
        );
        let email: String = conn.query_row("SELECT email FROM people", [], |r| r.get(0))?;
        assert_eq!(email, "wang@example.cn");
        drop(conn);
        // A legacy marker newer than the code is refused too.
        let (_dir2, newer) = tmp();
        if let Some(dir) = newer.parent() {
            std::fs::create_dir_all(dir).map_err(|cause| Error::Io {
                path: dir.to_path_buf(),
                cause,
            })?;
        }
        Connection::open(&newer)?.pragma_update(None, "user_version", 7)?;
        match sqlite::open(&newer, &migrations, Options::default()) {
            Err(Error::TooNew {
                found: 7, known: 2, ..
            }) => {}
            other => panic!("expected TooNew: {other:?}"),
        }
        Ok(())
    }

    #[test]
    fn legacy_key_value_version_is_taken_in() -> Result<()> {
        let (_dir, path) = tmp();
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|cause| Error::Io {
                path: dir.to_path_buf(),
                cause,
            })?;
        }
        {
            let conn = Connection::open(&path)?;
            conn.execute_batch(
                "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
                 INSERT INTO meta VALUES ('schema_version', '1');",
            )?;
            conn.execute_batch(V1[0].sql)?;
        }
        let migrations = Migrations::new(V2).with_legacy(Legacy::KeyValue {
            table: "meta",
            key: "schema_version",
        });
        let conn = sqlite::open(&path, &migrations, Options::default())?;
        assert_eq!(Migrations::version(&conn)?, 2);
        conn.execute("INSERT INTO people (name, email) VALUES ('a', 'b')", [])?;
        Ok(())
    }
}
