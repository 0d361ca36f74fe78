//! The seal registry of a data directory: every seal made here, its status, and
//! an append-only event history (made, suspended, resumed, revoked) with time,
//! actor and reason. SQLite or PostgreSQL, one transaction per change.

use crate::error::{Error, Result};
use std::path::Path;
use yinzheng_seal::{RegisteredSeal, Seal, SealStatus, SealStatusSource};
use yinzheng_store::{Backend, Db, Migration, Migrations, Row, params};

/// One lifecycle event.
#[derive(Clone, Debug)]
pub struct SealEvent {
    /// Sequence number (registry-wide, increasing).
    pub seq: i64,
    /// Seal id.
    pub seal_id: String,
    /// Unix seconds.
    pub at: i64,
    /// Who did it.
    pub actor: String,
    /// `made`, `suspended`, `resumed`, `revoked`.
    pub action: String,
    /// Why.
    pub reason: String,
}

/// The registry in `<home>/seals/seals.db` (or the `<namespace>_seal`
/// schema of a PostgreSQL store).
pub struct Registry {
    conn: Db,
}

/// The schema of `seals.db`. Step 1 is the schema every registry was created
/// with before yinzheng-store, verbatim: its `IF NOT EXISTS` makes it a no-op
/// on those databases, which then carry on from version 1. Add steps; never
/// edit a shipped one.
const MIGRATIONS: Migrations = Migrations::new(&[Migration {
    name: "seals and seal events",
    sql: SCHEMA_V1,
}])
.with_postgres(&[POSTGRES_V1]);

const SCHEMA_V1: &str = "
CREATE TABLE IF NOT EXISTS seals (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    holder TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('active','suspended','revoked')),
    status_at INTEGER NOT NULL,
    der BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS seal_events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    seal_id TEXT NOT NULL REFERENCES seals(id),
    at INTEGER NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    reason TEXT NOT NULL
);
-- The history is append-only.
CREATE TRIGGER IF NOT EXISTS seal_events_no_update BEFORE UPDATE ON seal_events
BEGIN SELECT RAISE(ABORT, 'seal events are append-only'); END;
CREATE TRIGGER IF NOT EXISTS seal_events_no_delete BEFORE DELETE ON seal_events
BEGIN SELECT RAISE(ABORT, 'seal events are append-only'); END;
";

/// The PostgreSQL schema of the same step (append-only by trigger too).
const POSTGRES_V1: &str = "
CREATE TABLE seals (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    holder TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('active','suspended','revoked')),
    status_at BIGINT NOT NULL,
    der BYTEA NOT NULL
);
CREATE TABLE seal_events (
    seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    seal_id TEXT NOT NULL REFERENCES seals(id),
    at BIGINT NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    reason TEXT NOT NULL
);
CREATE FUNCTION seal_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN RAISE EXCEPTION 'seal events are append-only'; END $$;
CREATE TRIGGER seal_events_no_change BEFORE UPDATE OR DELETE ON seal_events
FOR EACH ROW EXECUTE FUNCTION seal_events_append_only();
";

const COLUMNS: &str = "id, name, holder, status, status_at, der";

fn db(e: yinzheng_store::Error) -> Error {
    Error::from(e)
}

impl Registry {
    /// Open (creating) the registry database at `path` in `backend`: that
    /// SQLite file, or the `<namespace>_seal` schema on PostgreSQL.
    pub fn open_in(path: &Path, backend: &Backend) -> Result<Self> {
        let location = backend.location(path, "seal");
        let conn =
            Db::open(&location, &MIGRATIONS, yinzheng_store::Options::default()).map_err(db)?;
        Ok(Registry { conn })
    }

    /// Open the registry for reading from a PostgreSQL read replica: nothing
    /// is migrated; the schema must be current.
    pub fn open_replica(path: &Path, backend: &Backend) -> Result<Self> {
        let conn = Db::open_replica(&backend.location(path, "seal"), &MIGRATIONS).map_err(db)?;
        Ok(Registry { conn })
    }

    /// Register a newly made seal.
    pub fn register(&mut self, seal: &Seal, holder: &str, actor: &str, at: i64) -> Result<()> {
        self.conn.transaction(|tx| {
            let exists = tx
                .query_opt("SELECT 1 FROM seals WHERE id = ?1", params![seal.id()])
                .map_err(db)?
                .is_some();
            if exists {
                return Err(Error::Refused(format!(
                    "a seal with id {} is already registered",
                    seal.id()
                )));
            }
            tx.execute(
                "INSERT INTO seals (id, name, holder, status, status_at, der) VALUES (?1, ?2, ?3, 'active', ?4, ?5)",
                params![seal.id(), seal.name(), holder, at, seal.raw()],
            )
            .map_err(db)?;
            tx.execute(
                "INSERT INTO seal_events (seal_id, at, actor, action, reason) VALUES (?1, ?2, ?3, 'made', '')",
                params![seal.id(), at, actor],
            )
            .map_err(db)?;
            Ok(())
        })
    }

    /// The seal with `id`.
    pub fn get(&self, id: &str) -> Result<Option<RegisteredSeal>> {
        self.conn
            .query_opt(
                &format!("SELECT {COLUMNS} FROM seals WHERE id = ?1"),
                params![id],
            )
            .map_err(db)?
            .map(|r| row(&r))
            .transpose()
    }

    /// Every seal, by id.
    pub fn list(&self) -> Result<Vec<RegisteredSeal>> {
        self.conn.query_map(
            &format!("SELECT {COLUMNS} FROM seals ORDER BY id"),
            params![],
            row,
        )
    }

    /// The event history of `id`, oldest first.
    pub fn events(&self, id: &str) -> Result<Vec<SealEvent>> {
        self.conn.query_map(
            "SELECT seq, seal_id, at, actor, action, reason FROM seal_events WHERE seal_id = ?1 ORDER BY seq",
            params![id],
            |r| {
                Ok(SealEvent {
                    seq: r.get(0).map_err(db)?,
                    seal_id: r.get(1).map_err(db)?,
                    at: r.get(2).map_err(db)?,
                    actor: r.get(3).map_err(db)?,
                    action: r.get(4).map_err(db)?,
                    reason: r.get(5).map_err(db)?,
                })
            },
        )
    }

    /// Change the status: suspend (active → suspended), resume (suspended → active),
    /// revoke (active or suspended → revoked). Other transitions are refused.
    /// Servers on the same PostgreSQL database hear of it at commit
    /// ([`yinzheng_store::CHANGES_CHANNEL`]).
    pub fn transition(
        &mut self,
        id: &str,
        to: SealStatus,
        actor: &str,
        reason: &str,
        at: i64,
    ) -> Result<RegisteredSeal> {
        self.conn.transaction(|tx| {
            let cur = tx
                .query_opt(
                    &format!("SELECT {COLUMNS} FROM seals WHERE id = ?1"),
                    params![id],
                )
                .map_err(db)?
                .map(|r| row(&r))
                .transpose()?
                .ok_or_else(|| Error::Refused(format!("no seal {id} in the registry")))?;
            let action = match (cur.status, to) {
                (SealStatus::Active, SealStatus::Suspended) => "suspended",
                (SealStatus::Suspended, SealStatus::Active) => "resumed",
                (SealStatus::Active | SealStatus::Suspended, SealStatus::Revoked) => "revoked",
                (from, to) => {
                    return Err(Error::Refused(format!(
                        "seal {id} is {}: it cannot become {}{}",
                        from.name(),
                        to.name(),
                        if from == SealStatus::Revoked {
                            " (revocation is final)"
                        } else {
                            ""
                        }
                    )));
                }
            };
            tx.execute(
                "UPDATE seals SET status = ?2, status_at = ?3 WHERE id = ?1",
                params![id, to.name(), at],
            )
            .map_err(db)?;
            tx.execute(
                "INSERT INTO seal_events (seal_id, at, actor, action, reason) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![id, at, actor, action, reason],
            )
            .map_err(db)?;
            tx.notify(yinzheng_store::CHANGES_CHANNEL).map_err(db)?;
            Ok(RegisteredSeal {
                status: to,
                status_at: at,
                ..cur
            })
        })
    }
}

impl SealStatusSource for Registry {
    fn seal_status(
        &self,
        id: &str,
    ) -> std::result::Result<Option<RegisteredSeal>, Box<dyn std::error::Error + Send + Sync>> {
        Ok(self.get(id)?)
    }
}

fn row(r: &Row) -> Result<RegisteredSeal> {
    Ok(RegisteredSeal {
        id: r.get(0).map_err(db)?,
        name: r.get(1).map_err(db)?,
        holder: r.get(2).map_err(db)?,
        status: {
            let name: String = r.get(3).map_err(db)?;
            SealStatus::from_name(&name).ok_or_else(|| {
                Error::Refused(format!("unknown seal status {name:?} in the registry"))
            })?
        },
        status_at: r.get(4).map_err(db)?,
        der: r.get(5).map_err(db)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use rusqlite::Connection;

    fn sqlite(e: rusqlite::Error) -> Error {
        db(e.into())
    }

    /// The schema and open path of `seals.db` before yinzheng-store, verbatim
    /// (commit 9c8be8d), so the upgrade is tested against what is on disk today.
    const OLD_SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS seals (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    holder TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('active','suspended','revoked')),
    status_at INTEGER NOT NULL,
    der BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS seal_events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    seal_id TEXT NOT NULL REFERENCES seals(id),
    at INTEGER NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    reason TEXT NOT NULL
);
-- The history is append-only.
CREATE TRIGGER IF NOT EXISTS seal_events_no_update BEFORE UPDATE ON seal_events
BEGIN SELECT RAISE(ABORT, 'seal events are append-only'); END;
CREATE TRIGGER IF NOT EXISTS seal_events_no_delete BEFORE DELETE ON seal_events
BEGIN SELECT RAISE(ABORT, 'seal events are append-only'); END;
";

    fn old_open(path: &Path) -> rusqlite::Result<Connection> {
        let conn = Connection::open(path)?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.execute_batch(OLD_SCHEMA)?;
        Ok(conn)
    }

    #[test]
    fn step_one_is_the_old_schema() {
        assert_eq!(SCHEMA_V1, OLD_SCHEMA);
    }

    #[test]
    fn a_registry_made_by_the_old_code_opens_with_its_history() -> Result<()> {
        let dir = tempfile::tempdir().map_err(|e| Error::Refused(e.to_string()))?;
        let path = dir.path().join("seals.db");
        {
            let conn = old_open(&path).map_err(sqlite)?;
            conn.execute_batch(
                "INSERT INTO seals VALUES ('s1', 'Seal', '91350100M000100Y43', 'suspended', 20, x'3000');
                 INSERT INTO seal_events (seal_id, at, actor, action, reason)
                   VALUES ('s1', 10, 'op', 'made', ''), ('s1', 20, 'op', 'suspended', 'audit');",
            )
            .map_err(sqlite)?;
        }
        let mut registry = Registry::open_in(&path, &Backend::Embedded)?;
        let seal = registry
            .get("s1")?
            .ok_or_else(|| Error::Refused("lost".into()))?;
        assert_eq!(seal.status, SealStatus::Suspended);
        let events = registry.events("s1")?;
        assert_eq!(events.len(), 2);
        assert_eq!(events[1].reason, "audit");
        // The history is still append-only, and the registry still writes.
        assert!(
            registry
                .conn
                .execute("DELETE FROM seal_events", params![])
                .is_err()
        );
        registry.transition("s1", SealStatus::Active, "op", "done", 30)?;
        let version: u32 = registry
            .conn
            .query_row("SELECT MAX(version) FROM schema_migrations", params![])
            .and_then(|r| r.get(0))
            .map_err(db)?;
        assert_eq!(version, 1);
        Ok(())
    }
}
