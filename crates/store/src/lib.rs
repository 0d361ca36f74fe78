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
//! - [`Db`]: one connection to either backend — a SQLite file or a schema in
//!   a PostgreSQL database ([`Backend`], [`Location`]) — with one SQL dialect,
//!   transactions that retry PostgreSQL serialization failures, and change
//!   notifications between servers ([`Db::notify`], [`Listener`]).
//!
//! SQL written for the crates is the common subset of both databases (see
//! [`Db`]); migrations are written once per backend ([`Migrations::with_postgres`]).

mod backend;
mod db;
mod error;
mod fs;
mod lease;
mod listen;
mod migrate;
mod pool;
pub mod sqlite;
mod value;

pub use backend::{Backend, DEFAULT_NAMESPACE, Location, PgConfig, TEST_POSTGRES_ENV, redact};
pub use db::Db;
pub use error::{Error, Result};
pub use fs::{write_atomic, write_atomic_no_dir_sync, write_atomic_private};
pub use lease::Lease;
pub use listen::{Heard, Listener};
pub use migrate::{Legacy, Migration, Migrations};
pub use pool::{Pool, PooledConnection};
pub use sqlite::{Options, Synchronous, transaction};
pub use value::{FromValue, Row, ToValue, Value};
