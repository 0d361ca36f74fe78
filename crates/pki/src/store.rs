//! The certificate store: every issued certificate and its revocation state, in
//! SQLite (`ca.db` in the trust domain directory). Every change is one
//! transaction. Schema changes are numbered migrations (`yinzheng-store`,
//! recorded in `schema_migrations`); databases made before that kept their
//! version in `meta.schema_version`, which is taken in on first open.

use crate::error::{Error, Result};
use rusqlite::{Connection, OptionalExtension, params};
use std::path::Path;
use yinzheng_store::{Legacy, Migration, Migrations};

/// Revocation state of an issued certificate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum CertStatus {
    /// Not revoked.
    Valid,
    /// Revoked for good, with an RFC 5280 reason code, at a time (unix seconds).
    Revoked {
        /// CRLReason code (never 6).
        reason: u8,
        /// Revocation time, unix seconds.
        at: i64,
    },
    /// Suspended (certificateHold) since a time (unix seconds); can be released.
    OnHold {
        /// Hold time, unix seconds.
        at: i64,
    },
}

/// One row of the store.
#[derive(Clone, Debug)]
pub struct StoredCert {
    /// Serial, lower-case hex.
    pub serial: String,
    /// Subject DN.
    pub subject: String,
    /// Profile used (or `root`, `issuing-ca`).
    pub profile: String,
    /// notAfter, unix seconds.
    pub not_after: i64,
    /// The certificate DER.
    pub der: Vec<u8>,
    /// Revocation state.
    pub status: CertStatus,
    /// The CA that signed it: `root`, `main` or an added issuing CA's name.
    pub issuer: String,
}

/// The schema of `ca.db`. Never edit a step that has shipped; add one.
pub(crate) const MIGRATIONS: Migrations = Migrations::new(&[
    Migration {
        name: "certificates and CRL numbers",
        sql: "CREATE TABLE certificates (
        serial TEXT PRIMARY KEY,
        subject TEXT NOT NULL,
        profile TEXT NOT NULL,
        not_before INTEGER NOT NULL,
        not_after INTEGER NOT NULL,
        der BLOB NOT NULL,
        status TEXT NOT NULL DEFAULT 'valid' CHECK (status IN ('valid','revoked','hold')),
        reason INTEGER,
        status_at INTEGER,
        issued_at INTEGER NOT NULL
     );
     CREATE TABLE crl_number (id INTEGER PRIMARY KEY CHECK (id = 1), next INTEGER NOT NULL);
     INSERT INTO crl_number (id, next) VALUES (1, 1);",
    },
    // Which CA signed each certificate ('root', 'main' or an added issuing CA's name).
    Migration {
        name: "certificate issuer",
        sql: "ALTER TABLE certificates ADD COLUMN issuer TEXT NOT NULL DEFAULT 'main';
     UPDATE certificates SET issuer = 'root' WHERE profile IN ('root', 'issuing-ca');",
    },
])
// Before yinzheng-store, the version was kept here.
.with_legacy(Legacy::KeyValue {
    table: "meta",
    key: "schema_version",
});

/// The SQLite certificate store of one trust domain.
pub struct Store {
    conn: Connection,
}

impl Store {
    /// Open (creating and migrating) the store at `path`.
    pub fn open(path: &Path) -> Result<Self> {
        let conn =
            yinzheng_store::sqlite::open(path, &MIGRATIONS, yinzheng_store::Options::default())?;
        Ok(Store { conn })
    }

    /// Record an issued certificate.
    #[allow(clippy::too_many_arguments)]
    pub fn insert(
        &mut self,
        serial: &str,
        subject: &str,
        profile: &str,
        issuer: &str,
        not_before: i64,
        not_after: i64,
        der: &[u8],
    ) -> Result<()> {
        let now = unix_now();
        let tx = self.conn.transaction()?;
        tx.execute(
            "INSERT INTO certificates (serial, subject, profile, issuer, not_before, not_after, der, issued_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            params![serial, subject, profile, issuer, not_before, not_after, der, now],
        )?;
        tx.commit()?;
        Ok(())
    }

    /// The certificate with `serial` (hex), if issued here.
    pub fn get(&self, serial: &str) -> Result<Option<StoredCert>> {
        Ok(self
            .conn
            .query_row(
                "SELECT serial, subject, profile, not_after, der, status, reason, status_at, issuer FROM certificates WHERE serial = ?1",
                params![serial],
                row_to_cert,
            )
            .optional()?)
    }

    /// Change the revocation state of `serial`. Refuses changes a CA must not make
    /// (un-revoking a revoked certificate, holding a revoked one).
    pub fn set_status(&mut self, serial: &str, status: CertStatus) -> Result<StoredCert> {
        let tx = self.conn.transaction()?;
        let current = tx
            .query_row(
                "SELECT serial, subject, profile, not_after, der, status, reason, status_at, issuer FROM certificates WHERE serial = ?1",
                params![serial],
                row_to_cert,
            )
            .optional()?
            .ok_or_else(|| Error::Refused(format!("no certificate with serial {serial} was issued by this CA")))?;
        match (current.status, status) {
            (CertStatus::Revoked { .. }, _) => {
                return Err(Error::Refused(format!(
                    "certificate {serial} is already revoked; revocation is final"
                )));
            }
            (CertStatus::Valid, CertStatus::Valid) => {
                return Err(Error::Refused(format!(
                    "certificate {serial} is not on hold"
                )));
            }
            (CertStatus::OnHold { .. }, CertStatus::OnHold { .. }) => {
                return Err(Error::Refused(format!(
                    "certificate {serial} is already on hold"
                )));
            }
            _ => {}
        }
        let (name, reason, at) = match status {
            CertStatus::Valid => ("valid", None, None),
            CertStatus::Revoked { reason, at } => ("revoked", Some(reason as i64), Some(at)),
            CertStatus::OnHold { at } => ("hold", Some(6), Some(at)),
        };
        tx.execute(
            "UPDATE certificates SET status = ?2, reason = ?3, status_at = ?4 WHERE serial = ?1",
            params![serial, name, reason, at],
        )?;
        tx.commit()?;
        Ok(StoredCert { status, ..current })
    }

    /// Every revoked or held certificate that has not expired before `now`.
    pub fn revoked(&self, now: i64) -> Result<Vec<StoredCert>> {
        let mut stmt = self.conn.prepare(
            "SELECT serial, subject, profile, not_after, der, status, reason, status_at, issuer FROM certificates
             WHERE status != 'valid' AND not_after >= ?1 ORDER BY status_at, serial",
        )?;
        let rows = stmt.query_map(params![now], row_to_cert)?;
        Ok(rows.collect::<std::result::Result<_, _>>()?)
    }

    /// Every end-entity certificate (not the CA certificates), oldest first.
    pub fn all(&self) -> Result<Vec<StoredCert>> {
        let mut stmt = self.conn.prepare(
            "SELECT serial, subject, profile, not_after, der, status, reason, status_at, issuer FROM certificates
             WHERE profile NOT IN ('root', 'issuing-ca') ORDER BY issued_at, serial",
        )?;
        let rows = stmt.query_map([], row_to_cert)?;
        Ok(rows.collect::<std::result::Result<_, _>>()?)
    }

    /// Take the next CRL number (monotonic, in a transaction).
    pub fn next_crl_number(&mut self) -> Result<u64> {
        let tx = self.conn.transaction()?;
        let n: i64 = tx.query_row("SELECT next FROM crl_number WHERE id = 1", [], |r| r.get(0))?;
        tx.execute("UPDATE crl_number SET next = next + 1 WHERE id = 1", [])?;
        tx.commit()?;
        Ok(n as u64)
    }
}

fn row_to_cert(r: &rusqlite::Row<'_>) -> rusqlite::Result<StoredCert> {
    let status: String = r.get(5)?;
    let reason: Option<i64> = r.get(6)?;
    let at: Option<i64> = r.get(7)?;
    let status = match status.as_str() {
        "revoked" => CertStatus::Revoked {
            reason: reason.unwrap_or(0) as u8,
            at: at.unwrap_or(0),
        },
        "hold" => CertStatus::OnHold {
            at: at.unwrap_or(0),
        },
        _ => CertStatus::Valid,
    };
    Ok(StoredCert {
        serial: r.get(0)?,
        subject: r.get(1)?,
        profile: r.get(2)?,
        not_after: r.get(3)?,
        der: r.get(4)?,
        status,
        issuer: r.get(8)?,
    })
}

pub(crate) fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The migrations and open path of `ca.db` before yinzheng-store, verbatim
    /// (commit 9c8be8d), so the upgrade is tested against what is on disk today.
    const OLD_MIGRATIONS: &[&str] = &[
        // 1: certificates and CRL numbers
        "CREATE TABLE certificates (
        serial TEXT PRIMARY KEY,
        subject TEXT NOT NULL,
        profile TEXT NOT NULL,
        not_before INTEGER NOT NULL,
        not_after INTEGER NOT NULL,
        der BLOB NOT NULL,
        status TEXT NOT NULL DEFAULT 'valid' CHECK (status IN ('valid','revoked','hold')),
        reason INTEGER,
        status_at INTEGER,
        issued_at INTEGER NOT NULL
     );
     CREATE TABLE crl_number (id INTEGER PRIMARY KEY CHECK (id = 1), next INTEGER NOT NULL);
     INSERT INTO crl_number (id, next) VALUES (1, 1);",
        // 2: which CA signed each certificate ('root', 'main' or an added issuing CA's name)
        "ALTER TABLE certificates ADD COLUMN issuer TEXT NOT NULL DEFAULT 'main';
     UPDATE certificates SET issuer = 'root' WHERE profile IN ('root', 'issuing-ca');",
    ];

    fn old_open(path: &Path, upto: usize) -> rusqlite::Result<Connection> {
        let mut conn = Connection::open(path)?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        let tx = conn.transaction()?;
        tx.execute_batch(
            "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
        )?;
        let version: i64 = tx
            .query_row(
                "SELECT value FROM meta WHERE key = 'schema_version'",
                [],
                |r| r.get::<_, String>(0),
            )
            .optional()?
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        for (i, m) in OLD_MIGRATIONS
            .iter()
            .enumerate()
            .take(upto)
            .skip(version as usize)
        {
            tx.execute_batch(m)?;
            tx.execute(
                "INSERT INTO meta (key, value) VALUES ('schema_version', ?1)
                 ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                params![(i + 1).to_string()],
            )?;
        }
        tx.commit()?;
        Ok(conn)
    }

    fn history(store: &Store) -> Result<Vec<(u32, String)>> {
        let mut stmt = store
            .conn
            .prepare("SELECT version, name FROM schema_migrations ORDER BY version")?;
        let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    #[test]
    fn a_ca_db_made_by_the_old_code_opens_with_its_data() -> Result<()> {
        let dir = tempfile::tempdir().map_err(|e| Error::io(Path::new("tempdir"), e))?;
        let path = dir.path().join("ca.db");
        {
            let conn = old_open(&path, OLD_MIGRATIONS.len())?;
            conn.execute(
                "INSERT INTO certificates (serial, subject, profile, issuer, not_before, not_after, der, issued_at)
                 VALUES ('0a', 'CN=a', 'seal', 'main', 1, 4000000000, x'3000', 1)",
                [],
            )?;
            conn.execute(
                "UPDATE certificates SET status = 'revoked', reason = 1, status_at = 5 WHERE serial = '0a'",
                [],
            )?;
            conn.execute("UPDATE crl_number SET next = 7 WHERE id = 1", [])?;
        }
        let mut store = Store::open(&path)?;
        assert_eq!(
            history(&store)?,
            vec![
                (1, "certificates and CRL numbers".into()),
                (2, "certificate issuer".into())
            ]
        );
        let cert = store.get("0a")?.ok_or(Error::Refused("lost".into()))?;
        assert_eq!(cert.status, CertStatus::Revoked { reason: 1, at: 5 });
        assert_eq!(cert.issuer, "main");
        assert_eq!(store.next_crl_number()?, 7);
        store.insert("0b", "CN=b", "seal", "main", 1, 4000000000, b"\x30\x00")?;
        drop(store);
        // And again, now from schema_migrations.
        let store = Store::open(&path)?;
        assert_eq!(store.all()?.len(), 2);
        Ok(())
    }

    #[test]
    fn an_old_version_1_ca_db_gets_the_issuer_migration() -> Result<()> {
        let dir = tempfile::tempdir().map_err(|e| Error::io(Path::new("tempdir"), e))?;
        let path = dir.path().join("ca.db");
        {
            let conn = old_open(&path, 1)?;
            conn.execute(
                "INSERT INTO certificates (serial, subject, profile, not_before, not_after, der, issued_at)
                 VALUES ('01', 'CN=root', 'root', 1, 4000000000, x'3000', 1),
                        ('02', 'CN=leaf', 'seal', 1, 4000000000, x'3000', 1)",
                [],
            )?;
        }
        let store = Store::open(&path)?;
        assert_eq!(history(&store)?.len(), 2);
        assert_eq!(store.get("01")?.map(|c| c.issuer), Some("root".into()));
        assert_eq!(store.get("02")?.map(|c| c.issuer), Some("main".into()));
        Ok(())
    }

    #[test]
    fn a_ca_db_from_a_newer_program_is_refused() -> Result<()> {
        let dir = tempfile::tempdir().map_err(|e| Error::io(Path::new("tempdir"), e))?;
        let path = dir.path().join("ca.db");
        drop(Store::open(&path)?);
        Connection::open(&path)?.execute(
            "INSERT INTO schema_migrations (version, name, applied_ms) VALUES (3, 'future', 0)",
            [],
        )?;
        let err = Store::open(&path)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(
            err.contains("schema version 3") && err.contains("the 2 this program knows"),
            "{err}"
        );
        Ok(())
    }
}
