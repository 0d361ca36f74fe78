//! Opening SQLite databases the one way the project does it.

use crate::error::{Error, Result};
use crate::migrate::Migrations;
use rusqlite::{Connection, OpenFlags, Transaction, TransactionBehavior};
use std::path::Path;
use std::time::Duration;

/// How hard SQLite pushes a commit to disk (`PRAGMA synchronous`, in WAL mode).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum Synchronous {
    /// `FULL` (the default): the WAL is synced at every commit, so a
    /// transaction that returned survives a power loss as well as a crash.
    /// The project keeps it for its records of issued certificates,
    /// revocations, seals, licenses and log checkpoints: once a caller has
    /// been told "issued", "revoked" or "anchored", forgetting it after a power
    /// cut would hand out a certificate the CA does not know, un-revoke one, or
    /// fork the log against a checkpoint already published.
    #[default]
    Full,
    /// `NORMAL`: the WAL is synced only at checkpoints. Commits are cheaper; a
    /// committed transaction still survives a process crash, but the last
    /// ones before a power loss or OS crash may be lost (the database stays
    /// consistent). For data that can be rebuilt, such as caches.
    Normal,
}

impl Synchronous {
    fn pragma(self) -> &'static str {
        match self {
            Synchronous::Full => "FULL",
            Synchronous::Normal => "NORMAL",
        }
    }
}

/// How [`open`] sets up a connection. `Options::default()`: WAL journal,
/// [`Synchronous::Full`], foreign keys on, a 5 s busy timeout, the file (and
/// its directory) created when missing, writable.
#[derive(Clone, Debug)]
pub struct Options {
    busy_timeout: Duration,
    synchronous: Synchronous,
    create: bool,
    query_only: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            busy_timeout: Duration::from_secs(5),
            synchronous: Synchronous::Full,
            create: true,
            query_only: false,
        }
    }
}

impl Options {
    /// How long a statement waits for another connection's lock before
    /// failing with `SQLITE_BUSY` (default 5 s).
    pub fn busy_timeout(mut self, timeout: Duration) -> Self {
        self.busy_timeout = timeout;
        self
    }

    /// The `synchronous` level (default [`Synchronous::Full`]).
    pub fn synchronous(mut self, level: Synchronous) -> Self {
        self.synchronous = level;
        self
    }

    /// Whether a missing database file (and its parent directory) is created
    /// (default `true`). With `false`, opening a missing database is an error
    /// and nothing is left on disk.
    pub fn create(mut self, create: bool) -> Self {
        self.create = create;
        self
    }

    /// Whether the connection refuses writes (`PRAGMA query_only`; default
    /// `false`). Migrations are still applied before the switch.
    pub fn query_only(mut self, query_only: bool) -> Self {
        self.query_only = query_only;
        self
    }
}

/// Open the SQLite database at `path` and bring its schema up to date:
/// WAL journal, `synchronous` as [`Options`] say (see [`Synchronous`] for the
/// durability trade-off), foreign keys on, the busy timeout, the parent
/// directory created when [`Options::create`] allows, then
/// [`Migrations::apply`]. A database newer than `migrations` is refused with
/// [`Error::TooNew`].
pub fn open(path: &Path, migrations: &Migrations, options: Options) -> Result<Connection> {
    let mut conn = connect(path, &options)?;
    migrations.apply(&mut conn)?;
    if options.query_only {
        set_query_only(&conn, path)?;
    }
    Ok(conn)
}

/// Open a connection and set its pragmas, without migrating.
pub(crate) fn connect(path: &Path, options: &Options) -> Result<Connection> {
    let mut flags = OpenFlags::SQLITE_OPEN_READ_WRITE
        | OpenFlags::SQLITE_OPEN_URI
        | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    if options.create {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|cause| Error::Io {
                path: dir.to_path_buf(),
                cause,
            })?;
        }
        flags |= OpenFlags::SQLITE_OPEN_CREATE;
    }
    let open_err = |cause| Error::Open {
        path: path.to_path_buf(),
        cause,
    };
    let conn = Connection::open_with_flags(path, flags).map_err(open_err)?;
    conn.busy_timeout(options.busy_timeout).map_err(open_err)?;
    conn.pragma_update(None, "journal_mode", "WAL")
        .map_err(open_err)?;
    conn.pragma_update(None, "synchronous", options.synchronous.pragma())
        .map_err(open_err)?;
    conn.pragma_update(None, "foreign_keys", "ON")
        .map_err(open_err)?;
    Ok(conn)
}

pub(crate) fn set_query_only(conn: &Connection, path: &Path) -> Result<()> {
    conn.pragma_update(None, "query_only", "ON")
        .map_err(|cause| Error::Open {
            path: path.to_path_buf(),
            cause,
        })
}

/// Run `f` in an `IMMEDIATE` transaction (the write lock is taken at `BEGIN`,
/// so a writer never fails half-way with `SQLITE_BUSY` on upgrading a read
/// snapshot); commit when it returns `Ok`, roll back when it returns `Err` or panics.
pub fn transaction<T, E>(
    conn: &mut Connection,
    f: impl FnOnce(&Transaction<'_>) -> std::result::Result<T, E>,
) -> std::result::Result<T, E>
where
    E: From<rusqlite::Error>,
{
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let value = f(&tx)?;
    tx.commit()?;
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Migration;

    const SCHEMA: Migrations = Migrations::new(&[Migration {
        name: "parent child",
        sql: "CREATE TABLE parent (id INTEGER PRIMARY KEY);
              CREATE TABLE child (id INTEGER PRIMARY KEY, parent INTEGER NOT NULL REFERENCES parent(id));",
    }]);

    fn pragma(conn: &Connection, name: &str) -> String {
        conn.query_row(&format!("PRAGMA {name}"), [], |r| {
            r.get::<_, rusqlite::types::Value>(0)
        })
        .map(|v| format!("{v:?}"))
        .unwrap_or_else(|e| e.to_string())
    }

    #[test]
    fn open_sets_the_pragmas() -> Result<()> {
        let dir = tempfile::tempdir().map_err(|cause| Error::Io {
            path: Default::default(),
            cause,
        })?;
        let conn = open(&dir.path().join("a/b/c.db"), &SCHEMA, Options::default())?;
        assert_eq!(pragma(&conn, "journal_mode"), "Text(\"wal\")");
        assert_eq!(pragma(&conn, "synchronous"), "Integer(2)");
        assert_eq!(pragma(&conn, "foreign_keys"), "Integer(1)");
        assert_eq!(pragma(&conn, "busy_timeout"), "Integer(5000)");
        assert!(
            conn.execute("INSERT INTO child VALUES (1, 42)", [])
                .is_err()
        );
        let conn = open(
            &dir.path().join("a/b/c.db"),
            &SCHEMA,
            Options::default()
                .synchronous(Synchronous::Normal)
                .busy_timeout(Duration::from_millis(250))
                .query_only(true),
        )?;
        assert_eq!(pragma(&conn, "synchronous"), "Integer(1)");
        assert_eq!(pragma(&conn, "busy_timeout"), "Integer(250)");
        assert!(conn.execute("INSERT INTO parent VALUES (1)", []).is_err());
        Ok(())
    }

    #[test]
    fn without_create_a_missing_database_is_an_error_and_nothing_is_made() -> Result<()> {
        let dir = tempfile::tempdir().map_err(|cause| Error::Io {
            path: Default::default(),
            cause,
        })?;
        let path = dir.path().join("missing/x.db");
        assert!(matches!(
            open(&path, &SCHEMA, Options::default().create(false)),
            Err(Error::Open { .. })
        ));
        assert!(!dir.path().join("missing").exists());
        Ok(())
    }

    #[test]
    fn transaction_commits_on_ok_and_rolls_back_on_err() -> Result<()> {
        let dir = tempfile::tempdir().map_err(|cause| Error::Io {
            path: Default::default(),
            cause,
        })?;
        let mut conn = open(&dir.path().join("t.db"), &SCHEMA, Options::default())?;
        transaction(&mut conn, |tx| {
            tx.execute("INSERT INTO parent VALUES (1)", [])
        })?;
        let r: Result<()> = transaction(&mut conn, |tx| {
            tx.execute("INSERT INTO parent VALUES (2)", [])?;
            Err(Error::EmptyPool)
        });
        assert!(r.is_err());
        let n: i64 = conn.query_row("SELECT COUNT(*) FROM parent", [], |r| r.get(0))?;
        assert_eq!(n, 1);
        Ok(())
    }
}
