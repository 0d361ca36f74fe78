//! The one error type of the store.

use std::path::PathBuf;

/// Result with the store's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Why a database could not be opened, migrated or used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Creating the database's directory failed.
    #[error("{}: {source}", path.display())]
    Io {
        /// The directory.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// SQLite refused to open or set up the database.
    #[error("{}: {source}", path.display())]
    Open {
        /// The database file.
        path: PathBuf,
        /// Why.
        source: rusqlite::Error,
    },
    /// A migration step failed; its transaction was rolled back.
    #[error("{}: migration {version} ({name}) failed: {source}", path.display())]
    Migration {
        /// The database file.
        path: PathBuf,
        /// The version the step would have brought the database to.
        version: u32,
        /// The step's name.
        name: &'static str,
        /// Why.
        source: rusqlite::Error,
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
}
