//! The certificate store: every issued certificate and its revocation state, in
//! SQLite (`ca.db` in the trust domain directory) or a PostgreSQL schema
//! (`--store postgres://…`). Every change is one transaction. Schema changes are numbered migrations (`yinzheng-store`,
//! recorded in `schema_migrations`); databases made before that kept their
//! version in `meta.schema_version`, which is taken in on first open.

use crate::error::{Error, Result};
use std::path::Path;
use yinzheng_pki::{CertStatus, StoredCert};
use yinzheng_store::{Backend, Db, Legacy, Migration, Migrations, Row, params};

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
    // The CRLs the CA signed ahead, the latest per CA ('root', 'main' or an
    // added issuing CA's name): what verify servers publish and trust.
    Migration {
        name: "published CRLs",
        sql: "CREATE TABLE published_crls (
        issuer TEXT PRIMARY KEY,
        number INTEGER NOT NULL,
        next_update INTEGER NOT NULL,
        der BLOB NOT NULL
     );",
    },
])
// Before yinzheng-store, the version was kept here.
.with_legacy(Legacy::KeyValue {
    table: "meta",
    key: "schema_version",
})
.with_postgres(POSTGRES);

/// The PostgreSQL schema of the same steps (`BIGINT` for SQLite's
/// `INTEGER`, `BYTEA` for `BLOB`).
const POSTGRES: &[&str] = &[
    "CREATE TABLE certificates (
        serial TEXT PRIMARY KEY,
        subject TEXT NOT NULL,
        profile TEXT NOT NULL,
        not_before BIGINT NOT NULL,
        not_after BIGINT NOT NULL,
        der BYTEA NOT NULL,
        status TEXT NOT NULL DEFAULT 'valid' CHECK (status IN ('valid','revoked','hold')),
        reason BIGINT,
        status_at BIGINT,
        issued_at BIGINT NOT NULL
     );
     CREATE TABLE crl_number (id BIGINT PRIMARY KEY CHECK (id = 1), next BIGINT NOT NULL);
     INSERT INTO crl_number (id, next) VALUES (1, 1);",
    "ALTER TABLE certificates ADD COLUMN issuer TEXT NOT NULL DEFAULT 'main';
     UPDATE certificates SET issuer = 'root' WHERE profile IN ('root', 'issuing-ca');",
    "CREATE TABLE published_crls (
        issuer TEXT PRIMARY KEY,
        number BIGINT NOT NULL,
        next_update BIGINT NOT NULL,
        der BYTEA NOT NULL
     );",
];

const COLUMNS: &str = "serial, subject, profile, not_after, der, status, reason, status_at, issuer";

/// What signs a CRL for [`Store::publish_crl`]: given its number and the
/// revoked (or held) certificates it must list, the DER CRL and its
/// nextUpdate (Unix seconds).
pub type SignCrl<'a> = dyn FnMut(u64, &[StoredCert]) -> Result<(Vec<u8>, i64)> + 'a;

/// The certificate store of one trust domain: `ca.db` beside the domain's
/// files, or the schema `<namespace>_pki_<domain>` on PostgreSQL.
pub struct Store {
    db: Db,
}

impl Store {
    /// Open (creating and migrating) the store of the domain at `path`
    /// (`<domain dir>/ca.db`) in `backend`: that SQLite file, or schema
    /// `<namespace>_pki_<domain>` on PostgreSQL.
    pub fn open_in(path: &Path, backend: &Backend) -> Result<Self> {
        let domain = path
            .parent()
            .and_then(Path::file_name)
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let location = backend.location(path, &format!("pki_{domain}"));
        let db = Db::open(&location, &MIGRATIONS, yinzheng_store::Options::default())?;
        Ok(Store { db })
    }

    /// Record a certificate issued at `issued_at` (Unix seconds, by the domain's clock).
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
        issued_at: i64,
    ) -> Result<()> {
        let now = issued_at;
        self.db.execute(
            "INSERT INTO certificates (serial, subject, profile, issuer, not_before, not_after, der, issued_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            params![serial, subject, profile, issuer, not_before, not_after, der, now],
        )?;
        Ok(())
    }

    /// The certificate with `serial` (hex), if issued here.
    pub fn get(&self, serial: &str) -> Result<Option<StoredCert>> {
        self.db
            .query_opt(
                &format!("SELECT {COLUMNS} FROM certificates WHERE serial = ?1"),
                params![serial],
            )?
            .map(|r| row_to_cert(&r))
            .transpose()
    }

    /// Change the revocation state of `serial`. Refuses changes a CA must not make
    /// (un-revoking a revoked certificate, holding a revoked one). Servers on
    /// the same PostgreSQL database hear of it at commit ([`yinzheng_store::CHANGES_CHANNEL`]).
    ///
    /// With `publish`, the CRL of the certificate's CA is signed and published
    /// in the same transaction: the new status and the CRL that lists it
    /// commit together or not at all.
    pub fn set_status(
        &mut self,
        serial: &str,
        status: CertStatus,
        now: i64,
        mut publish: Option<&mut SignCrl<'_>>,
    ) -> Result<StoredCert> {
        self.db.transaction(|tx| {
            let current = tx
                .query_opt(
                    &format!("SELECT {COLUMNS} FROM certificates WHERE serial = ?1"),
                    params![serial],
                )?
                .map(|r| row_to_cert(&r))
                .transpose()?
                .ok_or_else(|| {
                    Error::Refused(format!(
                        "no certificate with serial {serial} was issued by this CA"
                    ))
                })?;
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
                _ => return Err(Error::Refused("unknown certificate status".into())),
            };
            tx.execute(
                "UPDATE certificates SET status = ?2, reason = ?3, status_at = ?4 WHERE serial = ?1",
                params![serial, name, reason, at],
            )?;
            if let Some(sign) = publish.as_mut() {
                publish_in(tx, &current.issuer, now, &mut **sign)?;
            }
            tx.notify(yinzheng_store::CHANGES_CHANNEL)?;
            Ok(StoredCert { status, ..current })
        })
    }

    /// Sign (with `sign`) and publish a fresh CRL of CA `issuer`, listing its
    /// certificates revoked or held and not expired at `now`; it replaces the
    /// CA's published CRL. Servers on PostgreSQL hear of it at commit.
    pub fn publish_crl(&mut self, issuer: &str, now: i64, sign: &mut SignCrl<'_>) -> Result<()> {
        self.db.transaction(|tx| {
            publish_in(tx, issuer, now, &mut *sign)?;
            tx.notify(yinzheng_store::CHANGES_CHANNEL)
                .map_err(Error::from)
        })
    }

    /// The CRL (DER) of CA `issuer` last published, if any.
    pub fn published_crl(&self, issuer: &str) -> Result<Option<Vec<u8>>> {
        self.db
            .query_opt(
                "SELECT der FROM published_crls WHERE issuer = ?1",
                params![issuer],
            )?
            .map(|r| Ok(r.get(0)?))
            .transpose()
    }

    /// Every revoked or held certificate that has not expired before `now`.
    pub fn revoked(&self, now: i64) -> Result<Vec<StoredCert>> {
        self.db.query_map(
            &format!(
                "SELECT {COLUMNS} FROM certificates
                 WHERE status != 'valid' AND not_after >= ?1 ORDER BY status_at, serial"
            ),
            params![now],
            row_to_cert,
        )
    }

    /// Every end-entity certificate (not the CA certificates), oldest first.
    pub fn all(&self) -> Result<Vec<StoredCert>> {
        self.db.query_map(
            &format!(
                "SELECT {COLUMNS} FROM certificates
                 WHERE profile NOT IN ('root', 'issuing-ca') ORDER BY issued_at, serial"
            ),
            params![],
            row_to_cert,
        )
    }

    /// Take the next CRL number (monotonic, in a transaction; on PostgreSQL
    /// two servers never take the same one).
    pub fn next_crl_number(&mut self) -> Result<u64> {
        take_crl_number(&self.db)
    }
}

/// Take the next CRL number on `db` (inside a transaction when there is one).
fn take_crl_number(db: &Db) -> Result<u64> {
    let n: i64 = db
        .query_row(
            "UPDATE crl_number SET next = next + 1 WHERE id = 1 RETURNING next - 1",
            params![],
        )?
        .get(0)?;
    Ok(n as u64)
}

/// Inside a transaction: take a CRL number, sign the CRL of `issuer` and
/// keep it as that CA's published CRL (a higher number only replaces a lower).
fn publish_in(tx: &Db, issuer: &str, now: i64, sign: &mut SignCrl<'_>) -> Result<()> {
    // The root's CRL (ARL) lists CA certificates, never the root itself.
    let listed = tx.query_map(
        &format!(
            "SELECT {COLUMNS} FROM certificates
             WHERE status != 'valid' AND not_after >= ?1 AND issuer = ?2 AND profile != 'root'
             ORDER BY status_at, serial"
        ),
        params![now, issuer],
        row_to_cert,
    )?;
    let number = take_crl_number(tx)?;
    let (der, next_update) = sign(number, &listed)?;
    tx.execute(
        "INSERT INTO published_crls (issuer, number, next_update, der) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (issuer) DO UPDATE SET number = excluded.number,
           next_update = excluded.next_update, der = excluded.der
         WHERE excluded.number > published_crls.number",
        params![issuer, number, next_update, der],
    )?;
    Ok(())
}

fn row_to_cert(r: &Row) -> Result<StoredCert> {
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

#[cfg(test)]
mod tests {
    use super::*;
    use rusqlite::{Connection, OptionalExtension, params};

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
        store.db.query_map(
            "SELECT version, name FROM schema_migrations ORDER BY version",
            yinzheng_store::params![],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
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
        let mut store = Store::open_in(&path, &Backend::Embedded)?;
        assert_eq!(
            history(&store)?,
            vec![
                (1, "certificates and CRL numbers".into()),
                (2, "certificate issuer".into()),
                (3, "published CRLs".into())
            ]
        );
        let cert = store.get("0a")?.ok_or(Error::Refused("lost".into()))?;
        assert_eq!(cert.status, CertStatus::Revoked { reason: 1, at: 5 });
        assert_eq!(cert.issuer, "main");
        assert_eq!(store.next_crl_number()?, 7);
        store.insert("0b", "CN=b", "seal", "main", 1, 4000000000, b"\x30\x00", 0)?;
        drop(store);
        // And again, now from schema_migrations.
        let store = Store::open_in(&path, &Backend::Embedded)?;
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
        let store = Store::open_in(&path, &Backend::Embedded)?;
        assert_eq!(history(&store)?.len(), 3);
        assert_eq!(store.get("01")?.map(|c| c.issuer), Some("root".into()));
        assert_eq!(store.get("02")?.map(|c| c.issuer), Some("main".into()));
        Ok(())
    }

    #[test]
    fn a_ca_db_from_a_newer_program_is_refused() -> Result<()> {
        let dir = tempfile::tempdir().map_err(|e| Error::io(Path::new("tempdir"), e))?;
        let path = dir.path().join("ca.db");
        drop(Store::open_in(&path, &Backend::Embedded)?);
        Connection::open(&path)?.execute(
            "INSERT INTO schema_migrations (version, name, applied_ms) VALUES (4, 'future', 0)",
            [],
        )?;
        let err = Store::open_in(&path, &Backend::Embedded)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(
            err.contains("schema version 4") && err.contains("the 3 this program knows"),
            "{err}"
        );
        Ok(())
    }
}
