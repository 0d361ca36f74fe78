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
//!
//! PostgreSQL needs the `postgres` feature (the server and the `yinzheng`
//! binary turn it on). Without it the API is the same and every attempt to
//! reach PostgreSQL is [`Error::NoPostgres`]: the offline auditor is built so,
//! with no network client linked.

mod backend;
mod blocking;
mod data_dir;
mod db;
mod error;
mod fs;
#[cfg(feature = "postgres")]
mod lease;
#[cfg(feature = "postgres")]
mod listen;
mod migrate;
#[cfg(not(feature = "postgres"))]
mod nopg;
#[cfg(feature = "postgres")]
mod pg;
#[cfg(feature = "postgres")]
mod pg_tls;
#[cfg(not(feature = "postgres"))]
use nopg as pg;
mod pool;
pub mod sqlite;
mod value;

/// The channel every change that other servers must see at once is announced
/// on ([`Db::notify`], payload = the schema): certificate status, seal
/// status, license lifecycle. Servers listen ([`Listener`]) and refresh what
/// they derived from it (CRLs, the validator).
pub const CHANGES_CHANNEL: &str = "yinzheng_changes";

pub use backend::{Backend, DEFAULT_NAMESPACE, Location, PgConfig, SslMode, redact};
pub use data_dir::DataDir;
pub use db::Db;
pub use error::{Error, Result};
pub use fs::{write_atomic, write_atomic_no_dir_sync, write_atomic_private};
#[cfg(feature = "postgres")]
pub use lease::Lease;
#[cfg(feature = "postgres")]
pub use listen::{Heard, Listener};
pub use migrate::{Legacy, Migration, Migrations};
#[cfg(not(feature = "postgres"))]
pub use nopg::{Heard, Lease, Listener};
pub use pool::{Pool, PooledConnection};
pub use sqlite::{Options, Synchronous, transaction};
pub use value::{FromValue, Row, ToValue, Value};
