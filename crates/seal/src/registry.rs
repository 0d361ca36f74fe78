//! The seal registry of a data directory: every seal made here, its status, and
//! an append-only event history (made, suspended, resumed, revoked) with time,
//! actor and reason. SQLite, one transaction per change.

use crate::error::{Error, Result};
use crate::model::Seal;
use rusqlite::{Connection, OptionalExtension, params};
use std::path::Path;
use yinzheng_store::{Migration, Migrations};

/// Lifecycle state of a registered seal.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum SealStatus {
    /// Usable.
    Active,
    /// Temporarily unusable; can be resumed.
    Suspended,
    /// Permanently unusable.
    Revoked,
}

impl SealStatus {
    /// Lower-case name.
    pub fn name(self) -> &'static str {
        match self {
            SealStatus::Active => "active",
            SealStatus::Suspended => "suspended",
            SealStatus::Revoked => "revoked",
        }
    }

    fn parse(s: &str) -> Self {
        match s {
            "suspended" => SealStatus::Suspended,
            "revoked" => SealStatus::Revoked,
            _ => SealStatus::Active,
        }
    }
}

/// One registered seal.
#[derive(Clone, Debug)]
pub struct RegisteredSeal {
    /// esID.
    pub id: String,
    /// Seal name.
    pub name: String,
    /// Holder identifier (USCC or citizen ID), as given when made.
    pub holder: String,
    /// Current status.
    pub status: SealStatus,
    /// When the status last changed (unix seconds).
    pub status_at: i64,
    /// The seal file (DER).
    pub der: Vec<u8>,
}

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

/// The registry in `<home>/seals/seals.db`.
pub struct Registry {
    conn: Connection,
}

/// The schema of `seals.db`. Step 1 is the schema every registry was created
/// with before yinzheng-store, verbatim: its `IF NOT EXISTS` makes it a no-op
/// on those databases, which then carry on from version 1. Add steps; never
/// edit a shipped one.
const MIGRATIONS: Migrations = Migrations::new(&[Migration {
    name: "seals and seal events",
    sql: SCHEMA_V1,
}]);

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

fn db(e: rusqlite::Error) -> Error {
    Error::Refused(format!("seal registry: {e}"))
}

impl Registry {
    /// Open (creating) the registry database at `path`.
    pub fn open(path: &Path) -> Result<Self> {
        let conn =
            yinzheng_store::sqlite::open(path, &MIGRATIONS, yinzheng_store::Options::default())
                .map_err(|e| Error::Refused(format!("seal registry: {e}")))?;
        Ok(Registry { conn })
    }

    /// Register a newly made seal.
    pub fn register(&mut self, seal: &Seal, holder: &str, actor: &str, at: i64) -> Result<()> {
        let tx = self.conn.transaction().map_err(db)?;
        let exists: bool = tx
            .query_row(
                "SELECT 1 FROM seals WHERE id = ?1",
                params![seal.id()],
                |_| Ok(true),
            )
            .optional()
            .map_err(db)?
            .unwrap_or(false);
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
        tx.commit().map_err(db)
    }

    /// The seal with `id`.
    pub fn get(&self, id: &str) -> Result<Option<RegisteredSeal>> {
        self.conn
            .query_row(
                "SELECT id, name, holder, status, status_at, der FROM seals WHERE id = ?1",
                params![id],
                row,
            )
            .optional()
            .map_err(db)
    }

    /// Every seal, by id.
    pub fn list(&self) -> Result<Vec<RegisteredSeal>> {
        let mut st = self
            .conn
            .prepare("SELECT id, name, holder, status, status_at, der FROM seals ORDER BY id")
            .map_err(db)?;
        let rows = st.query_map([], row).map_err(db)?;
        rows.collect::<std::result::Result<_, _>>().map_err(db)
    }

    /// The event history of `id`, oldest first.
    pub fn events(&self, id: &str) -> Result<Vec<SealEvent>> {
        let mut st = self
            .conn
            .prepare("SELECT seq, seal_id, at, actor, action, reason FROM seal_events WHERE seal_id = ?1 ORDER BY seq")
            .map_err(db)?;
        let rows = st
            .query_map(params![id], |r| {
                Ok(SealEvent {
                    seq: r.get(0)?,
                    seal_id: r.get(1)?,
                    at: r.get(2)?,
                    actor: r.get(3)?,
                    action: r.get(4)?,
                    reason: r.get(5)?,
                })
            })
            .map_err(db)?;
        rows.collect::<std::result::Result<_, _>>().map_err(db)
    }

    /// Change the status: suspend (active → suspended), resume (suspended → active),
    /// revoke (active or suspended → revoked). Other transitions are refused.
    pub fn transition(
        &mut self,
        id: &str,
        to: SealStatus,
        actor: &str,
        reason: &str,
        at: i64,
    ) -> Result<RegisteredSeal> {
        let tx = self.conn.transaction().map_err(db)?;
        let cur = tx
            .query_row(
                "SELECT id, name, holder, status, status_at, der FROM seals WHERE id = ?1",
                params![id],
                row,
            )
            .optional()
            .map_err(db)?
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
        tx.commit().map_err(db)?;
        Ok(RegisteredSeal {
            status: to,
            status_at: at,
            ..cur
        })
    }
}

fn row(r: &rusqlite::Row<'_>) -> rusqlite::Result<RegisteredSeal> {
    Ok(RegisteredSeal {
        id: r.get(0)?,
        name: r.get(1)?,
        holder: r.get(2)?,
        status: SealStatus::parse(&r.get::<_, String>(3)?),
        status_at: r.get(4)?,
        der: r.get(5)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

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
            let conn = old_open(&path).map_err(db)?;
            conn.execute_batch(
                "INSERT INTO seals VALUES ('s1', 'Seal', '91350100M000100Y43', 'suspended', 20, x'3000');
                 INSERT INTO seal_events (seal_id, at, actor, action, reason)
                   VALUES ('s1', 10, 'op', 'made', ''), ('s1', 20, 'op', 'suspended', 'audit');",
            )
            .map_err(db)?;
        }
        let mut registry = Registry::open(&path)?;
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
                .execute("DELETE FROM seal_events", [])
                .is_err()
        );
        registry.transition("s1", SealStatus::Active, "op", "done", 30)?;
        let version: u32 = registry
            .conn
            .query_row("SELECT MAX(version) FROM schema_migrations", [], |r| {
                r.get(0)
            })
            .map_err(db)?;
        assert_eq!(version, 1);
        Ok(())
    }
}
