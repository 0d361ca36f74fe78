//! The persistence layer the other Yinzheng crates share.
//!
//! - [`sqlite::open`]: one way to open a SQLite database (WAL, `synchronous`,
//!   foreign keys, busy timeout, parent directory) that also brings its
//!   schema up to date.
//! - [`Migrations`]: a database's schema as an ordered list of named SQL
//!   steps, recorded in a `schema_migrations` table (portable to PostgreSQL),
//!   with a way in for databases made before that table existed ([`Legacy`]).
//! - [`Pool`]: a small blocking pool of read-only connections, so a
//!   multi-threaded server can run lookups in parallel beside one writer.
//! - [`transaction`]: run a closure in an `IMMEDIATE` transaction.
//! - [`write_atomic`] / [`write_atomic_private`] / [`write_atomic_no_dir_sync`]:
//!   replace a file so that a reader sees the old or the new bytes, never a mix.
//!
//! PostgreSQL is not here yet: it comes with the scale-out work, behind a
//! backend trait at the server's seam. SQL written for the migrations should
//! stay portable (no `PRAGMA` in migrations; those belong in [`Options`]).

mod error;
mod fs;
mod migrate;
mod pool;
pub mod sqlite;

pub use error::{Error, Result};
pub use fs::{write_atomic, write_atomic_no_dir_sync, write_atomic_private};
pub use migrate::{Legacy, Migration, Migrations};
pub use pool::{Pool, PooledConnection};
pub use sqlite::{Options, Synchronous, transaction};
