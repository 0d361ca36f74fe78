//! Built without the `postgres` feature: the same API, and every attempt to
//! reach PostgreSQL is [`Error::NoPostgres`]. Programs that must not link a
//! network client (the offline auditor) get no `postgres` or `tokio` crate.

use crate::backend::PgConfig;
use crate::error::{Error, Result};
use crate::migrate::Migrations;
use crate::value::{Row, Value};
use std::time::Duration;

/// A PostgreSQL session: none can exist in this build.
pub(crate) enum PgConn {}

impl PgConn {
    pub(crate) fn connect(_: &PgConfig, _: &str) -> Result<PgConn> {
        Err(Error::NoPostgres)
    }

    pub(crate) fn schema(&self) -> &str {
        match *self {}
    }

    pub(crate) fn reconnect_if_closed(&mut self) -> Result<()> {
        match *self {}
    }

    pub(crate) fn execute(&mut self, _: &str, _: &[Value]) -> Result<u64> {
        match *self {}
    }

    pub(crate) fn query(&mut self, _: &str, _: &[Value]) -> Result<Vec<Row>> {
        match *self {}
    }

    pub(crate) fn batch(&mut self, _: &str) -> Result<()> {
        match *self {}
    }

    pub(crate) fn migrate(&mut self, _: &Migrations) -> Result<u32> {
        match *self {}
    }

    pub(crate) fn check_replica(&mut self, _: &Migrations) -> Result<u32> {
        match *self {}
    }

    pub(crate) fn wal_position(&mut self) -> Result<i64> {
        match *self {}
    }
}

/// [`Lease`](crate::Lease) in a build without PostgreSQL: never held.
pub struct Lease(Never);

enum Never {}

impl std::fmt::Debug for Lease {
    fn fmt(&self, _: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.0 {}
    }
}

impl Lease {
    /// Always [`Error::NoPostgres`].
    pub fn try_acquire(_: &PgConfig, _: &str) -> Result<Option<Lease>> {
        Err(Error::NoPostgres)
    }

    /// Never called: no lease exists.
    pub fn check(&mut self) -> bool {
        match self.0 {}
    }

    /// Never called: no lease exists.
    pub fn name(&self) -> &str {
        match self.0 {}
    }
}

/// [`Listener`](crate::Listener) in a build without PostgreSQL.
#[derive(Debug)]
pub struct Listener(());

/// What [`Listener::wait`] saw.
#[derive(Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Heard {
    /// These schemas changed (maybe empty: the wait timed out).
    Changed(Vec<String>),
    /// The session was (re)established.
    Reconnected,
}

impl Listener {
    /// Always [`Error::NoPostgres`].
    pub fn new(_: &PgConfig, _: &str) -> Result<Listener> {
        Err(Error::NoPostgres)
    }

    /// Always [`Error::NoPostgres`].
    pub fn wait(&mut self, _: Duration) -> Result<Heard> {
        Err(Error::NoPostgres)
    }
}
