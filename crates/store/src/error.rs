//! The one error type of the store.

use std::path::PathBuf;

/// Result with the store's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Why a database could not be opened, migrated or used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Creating the database's directory failed.
    #[error("{}: {cause}", path.display())]
    Io {
        /// The directory.
        path: PathBuf,
        /// Why.
        cause: std::io::Error,
    },
    /// SQLite refused to open or set up the database.
    #[error("{}: {cause}", path.display())]
    Open {
        /// The database file.
        path: PathBuf,
        /// Why.
        cause: rusqlite::Error,
    },
    /// A migration step failed; its transaction was rolled back.
    #[error("{}: migration {version} ({name}) failed: {cause}", path.display())]
    Migration {
        /// The database file.
        path: PathBuf,
        /// The version the step would have brought the database to.
        version: u32,
        /// The step's name.
        name: &'static str,
        /// Why.
        cause: rusqlite::Error,
    },
    /// The database was migrated by a newer program than this one.
    #[error(
        "{}: the database is at schema version {found}, newer than the {known} this program knows; use a newer release",
        path.display()
    )]
    TooNew {
        /// The database file.
        path: PathBuf,
        /// The version recorded in the database.
        found: u32,
        /// The latest version this program knows.
        known: u32,
    },
    /// The database's schema history does not belong to these migrations
    /// (a recorded step has another name, or a legacy version marker is unreadable).
    #[error("{}: {reason}", path.display())]
    Unrecognised {
        /// The database file.
        path: PathBuf,
        /// What does not match.
        reason: String,
    },
    /// A pool of no connections was asked for.
    #[error("a connection pool needs at least one connection")]
    EmptyPool,
    /// Any other SQLite error.
    #[error(transparent)]
    Sqlite(#[from] rusqlite::Error),
    /// A PostgreSQL error (the database answered, or the connection broke).
    #[cfg(feature = "postgres")]
    #[error("PostgreSQL: {}", postgres_message(.0))]
    Postgres(postgres::Error),
    /// A PostgreSQL store was asked for, but this program was built without
    /// PostgreSQL (the offline auditor is).
    #[error(
        "this program was built without PostgreSQL support (yinzheng-store's `postgres` feature): use the `yinzheng` binary, or the embedded store"
    )]
    NoPostgres,
    /// A PostgreSQL migration step failed; nothing of it was applied.
    #[cfg(feature = "postgres")]
    #[error(
        "schema {schema}: migration {version} ({name}) failed: {}",
        postgres_message(cause)
    )]
    PostgresMigration {
        /// The schema.
        schema: String,
        /// The version the step would have brought the schema to.
        version: u32,
        /// The step's name.
        name: &'static str,
        /// Why.
        cause: postgres::Error,
    },
    /// The database cannot be reached now; try again later.
    #[error("database unavailable: {0}")]
    Unavailable(String),
    /// `--store` / `store =` is not a store this program knows.
    #[error("store {value}: {reason}")]
    Config {
        /// The value given (password hidden).
        value: String,
        /// What is wrong.
        reason: String,
    },
    /// A statement failed inside a PostgreSQL transaction and the caller
    /// went on: the transaction was rolled back, nothing of it is stored.
    #[error("a statement failed inside the transaction, so it was rolled back; nothing was stored")]
    Aborted,
    /// A query that must return a row returned none.
    #[error("the query returned no row")]
    NoRows,
    /// A result column is not of the type asked for.
    #[error("column {index}: {reason}")]
    Column {
        /// 0-based column index.
        index: usize,
        /// The mismatch.
        reason: String,
    },
}

#[cfg(feature = "postgres")]
impl From<postgres::Error> for Error {
    fn from(e: postgres::Error) -> Self {
        Error::Postgres(e)
    }
}

/// The driver's error with its causes ("db error: ERROR: …"): the driver
/// prints only "db error" and keeps the server's message as its source.
#[cfg(feature = "postgres")]
pub(crate) fn postgres_message(e: &postgres::Error) -> String {
    let mut out = e.to_string();
    let mut next = std::error::Error::source(e);
    while let Some(s) = next {
        let text = s.to_string();
        if !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        next = s.source();
    }
    out
}

impl Error {
    /// The database is unreachable, shutting down, overloaded or timed out:
    /// the request may succeed later (servers answer 503 with Retry-After).
    pub fn is_unavailable(&self) -> bool {
        match self {
            Error::Unavailable(_) => true,
            #[cfg(feature = "postgres")]
            Error::Postgres(e) => match e.code() {
                None => true,
                Some(code) => {
                    let c = code.code();
                    // 08: connection exception; 57P0x: shutdown; 53: resources;
                    // 57014: statement timeout; 55P03: lock timeout.
                    c.starts_with("08")
                        || c.starts_with("57P")
                        || c.starts_with("53")
                        || c == "57014"
                        || c == "55P03"
                }
            },
            Error::Sqlite(e) => matches!(
                e.sqlite_error_code(),
                Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked)
            ),
            _ => false,
        }
    }

    /// A PostgreSQL serialization failure or deadlock: the transaction may be run again.
    pub fn is_retryable(&self) -> bool {
        match self {
            #[cfg(feature = "postgres")]
            Error::Postgres(e) => e
                .code()
                .is_some_and(|c| c.code() == "40001" || c.code() == "40P01"),
            _ => false,
        }
    }

    /// A `UNIQUE` or primary-key constraint refused the write.
    pub fn is_unique_violation(&self) -> bool {
        match self {
            #[cfg(feature = "postgres")]
            Error::Postgres(e) => e.code().is_some_and(|c| c.code() == "23505"),
            Error::Sqlite(rusqlite::Error::SqliteFailure(f, _)) => matches!(
                f.extended_code,
                rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE
                    | rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY
            ),
            _ => false,
        }
    }
}
