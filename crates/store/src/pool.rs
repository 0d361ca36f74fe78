//! A small blocking pool of read-only connections.

use crate::error::{Error, Result};
use crate::migrate::Migrations;
use crate::sqlite::{self, Options};
use rusqlite::Connection;
use std::ops::{Deref, DerefMut};
use std::path::{Path, PathBuf};
use std::sync::{Condvar, Mutex, MutexGuard, PoisonError};

/// A fixed set of read-only connections to one database, shared by threads:
/// [`get`](Pool::get) lends one (waiting while all are lent) and the
/// [`PooledConnection`] gives it back when dropped. `Send + Sync`; put it in
/// an `Arc` to share it. Writes go through a separate connection from
/// [`sqlite::open`]; in WAL mode readers do not block it nor it them.
#[derive(Debug)]
pub struct Pool {
    path: PathBuf,
    size: usize,
    idle: Mutex<Vec<Connection>>,
    returned: Condvar,
}

/// A connection lent by a [`Pool`]; derefs to [`rusqlite::Connection`] and
/// goes back to the pool on drop (rolling back a transaction left open).
#[derive(Debug)]
pub struct PooledConnection<'a> {
    pool: &'a Pool,
    conn: Option<Connection>,
}

impl Pool {
    /// Open `size` read-only connections to the database at `path`, after
    /// bringing it up to date with [`sqlite::open`] and default [`Options`].
    pub fn open(path: &Path, migrations: &Migrations, size: usize) -> Result<Pool> {
        Pool::open_with(path, migrations, size, Options::default())
    }

    /// [`Pool::open`] with `options` (the busy timeout matters to readers;
    /// `query_only` is always set on the pooled connections).
    pub fn open_with(
        path: &Path,
        migrations: &Migrations,
        size: usize,
        options: Options,
    ) -> Result<Pool> {
        if size == 0 {
            return Err(Error::EmptyPool);
        }
        // Create and migrate once, through a writable connection.
        drop(sqlite::open(path, migrations, options.clone())?);
        let readers = options.create(false);
        let mut idle = Vec::with_capacity(size);
        for _ in 0..size {
            let conn = sqlite::connect(path, &readers)?;
            sqlite::set_query_only(&conn, path)?;
            idle.push(conn);
        }
        Ok(Pool {
            path: path.to_path_buf(),
            size,
            idle: Mutex::new(idle),
            returned: Condvar::new(),
        })
    }

    /// Lend a connection, waiting until one is free.
    pub fn get(&self) -> PooledConnection<'_> {
        let mut idle = self.lock();
        loop {
            if let Some(conn) = idle.pop() {
                return PooledConnection {
                    pool: self,
                    conn: Some(conn),
                };
            }
            idle = self
                .returned
                .wait(idle)
                .unwrap_or_else(PoisonError::into_inner);
        }
    }

    /// Lend a connection if one is free now.
    pub fn try_get(&self) -> Option<PooledConnection<'_>> {
        self.lock().pop().map(|conn| PooledConnection {
            pool: self,
            conn: Some(conn),
        })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// How many connections the pool holds (lent or idle).
    pub fn size(&self) -> usize {
        self.size
    }

    fn lock(&self) -> MutexGuard<'_, Vec<Connection>> {
        // A panic while holding the lock cannot leave the Vec half-updated.
        self.idle.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Deref for PooledConnection<'_> {
    type Target = Connection;

    fn deref(&self) -> &Connection {
        match &self.conn {
            Some(c) => c,
            None => unreachable!("a pooled connection is only taken on drop"),
        }
    }
}

impl DerefMut for PooledConnection<'_> {
    fn deref_mut(&mut self) -> &mut Connection {
        match &mut self.conn {
            Some(c) => c,
            None => unreachable!("a pooled connection is only taken on drop"),
        }
    }
}

impl Drop for PooledConnection<'_> {
    fn drop(&mut self) {
        let Some(conn) = self.conn.take() else {
            return;
        };
        // A transaction left open would pin an old snapshot (and the WAL) for
        // the next borrower. Should the rollback fail, the connection still
        // goes back: a pool that lost connections could block `get` for ever.
        if !conn.is_autocommit() {
            let _ = conn.execute_batch("ROLLBACK");
        }
        self.pool.lock().push(conn);
        self.pool.returned.notify_one();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Migration;
    use std::sync::{Arc, Barrier};

    const SCHEMA: Migrations = Migrations::new(&[Migration {
        name: "items",
        sql: "CREATE TABLE items (id INTEGER PRIMARY KEY, label TEXT NOT NULL);",
    }]);

    fn assert_send_sync<T: Send + Sync>() {}

    #[test]
    fn pool_is_send_and_sync() {
        assert_send_sync::<Pool>();
        fn assert_send<T: Send>() {}
        assert_send::<PooledConnection<'static>>();
    }

    #[test]
    fn readers_run_in_parallel_beside_a_writer() -> Result<()> {
        let dir = tempfile::tempdir().map_err(|cause| Error::Io {
            path: PathBuf::new(),
            cause,
        })?;
        let path = dir.path().join("sub/items.db");
        let pool = Arc::new(Pool::open(&path, &SCHEMA, 4)?);
        assert_eq!(pool.size(), 4);
        let mut writer = sqlite::open(&path, &SCHEMA, Options::default())?;
        for i in 0..100 {
            writer.execute(
                "INSERT INTO items (id, label) VALUES (?1, ?2)",
                (i, format!("item {i}")),
            )?;
        }
        // All four connections lent at once: the readers really are parallel.
        let barrier = Arc::new(Barrier::new(4));
        let threads: Vec<_> = (0..8)
            .map(|t| {
                let pool = Arc::clone(&pool);
                let barrier = Arc::clone(&barrier);
                std::thread::spawn(move || -> rusqlite::Result<i64> {
                    let conn = pool.get();
                    if t < 4 {
                        barrier.wait();
                    }
                    let mut sum = 0;
                    for i in 0..100 {
                        let label: String =
                            conn.query_row("SELECT label FROM items WHERE id = ?1", [i], |r| {
                                r.get(0)
                            })?;
                        assert_eq!(label, format!("item {i}"));
                        sum += i;
                    }
                    Ok(sum)
                })
            })
            .collect();
        // The writer keeps going while they read.
        crate::transaction(&mut writer, |tx| {
            tx.execute("INSERT INTO items (id, label) VALUES (1000, 'late')", [])
        })?;
        for t in threads {
            match t.join() {
                Ok(sum) => assert_eq!(sum?, 4950),
                Err(_) => panic!("a reader thread panicked"),
            }
        }
        assert_eq!(pool.try_get().map(|_| ()), Some(()));
        let n: i64 = pool
            .get()
            .query_row("SELECT COUNT(*) FROM items", [], |r| r.get(0))?;
        assert_eq!(n, 101);
        Ok(())
    }

    #[test]
    fn pooled_connections_refuse_writes_and_come_back_clean() -> Result<()> {
        let dir = tempfile::tempdir().map_err(|cause| Error::Io {
            path: PathBuf::new(),
            cause,
        })?;
        let pool = Pool::open(&dir.path().join("items.db"), &SCHEMA, 1)?;
        {
            let conn = pool.get();
            assert!(
                conn.execute("INSERT INTO items (id, label) VALUES (1, 'x')", [])
                    .is_err()
            );
            conn.execute_batch("BEGIN")?;
            assert!(pool.try_get().is_none());
        }
        let conn = pool.get();
        assert!(
            conn.is_autocommit(),
            "the open transaction was rolled back on return"
        );
        Ok(())
    }

    #[test]
    fn an_empty_pool_is_refused() {
        let dir = tempfile::tempdir().ok();
        let path = dir
            .as_ref()
            .map(|d| d.path().join("x.db"))
            .unwrap_or_default();
        assert!(matches!(
            Pool::open(&path, &SCHEMA, 0),
            Err(Error::EmptyPool)
        ));
    }
}
