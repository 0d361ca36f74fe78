//! The license registry: the database (`<dir>/licenses.db`, or the
//! `<namespace>_license` schema of a PostgreSQL store), the catalogue
//! (`<dir>/catalogue.toml`) and the license files (`<dir>/files/<id>/`).
//! Every change runs in one transaction; lifecycle events and usage records
//! are append-only (triggers refuse UPDATE and DELETE) and anchored in the log.

use crate::anchor::Anchor;
use crate::catalogue::{Catalogue, DEFAULT_CATALOGUE};
use crate::error::{Error, Result};
use crate::model::{Event, Holder, License, Status};
use crate::{LicenseId, format_date, parse_date};
use std::path::{Path, PathBuf};
use yinzheng_anchor::Entry;
use yinzheng_store::{Backend, Db, Migration, Migrations, Row, params};

/// The columns [`row`] reads, in its order (a macro, so queries are `concat!`ed
/// once at compile time: the statement caches key on the SQL text).
macro_rules! columns {
    () => {
        "id, type_key, number, name, issuer_name, issue_date, area_code, holder_name, holder_code, holder_type, valid_from, valid_to, face, status, supersedes, superseded_by, ofd_sm3, pdf_sm3, log_index"
    };
}

/// The schema of `licenses.db`. Step 1 is the schema every registry was
/// created with before yinzheng-store, verbatim but for its two `PRAGMA` lines
/// (WAL and foreign keys are set by `yinzheng_store::sqlite::open`): its
/// `IF NOT EXISTS` makes it a no-op on those databases, which then carry on
/// from version 1. Add steps; never edit a shipped one.
const MIGRATIONS: Migrations = Migrations::new(&[
    Migration {
        name: "licenses, serials, events, tokens, usage",
        sql: SCHEMA_V1,
    },
    Migration {
        name: "usage records waiting for the log",
        sql: SCHEMA_V2,
    },
])
.with_postgres(&[POSTGRES_V1, POSTGRES_V2]);

/// Step 2: the usage records not yet anchored, as a table of their own. With
/// one writer (SQLite) "every record after the last anchored one" was enough;
/// with several servers on PostgreSQL sequence numbers commit out of order, so
/// a record waits here until its log index is recorded (in the same
/// transaction that deletes it from here). A trigger adds every new record,
/// so writing one stays one statement (one round trip to PostgreSQL).
const SCHEMA_V2: &str = "
CREATE TABLE usage_pending (seq BIGINT PRIMARY KEY REFERENCES usage(seq));
INSERT INTO usage_pending (seq)
  SELECT seq FROM usage WHERE seq > (SELECT COALESCE(MAX(seq), 0) FROM usage_anchor);
CREATE TRIGGER usage_pending_add AFTER INSERT ON usage
  BEGIN INSERT INTO usage_pending (seq) VALUES (NEW.seq); END;
";

/// Step 2 on PostgreSQL: the same table and trigger.
const POSTGRES_V2: &str = "
CREATE TABLE usage_pending (seq BIGINT PRIMARY KEY REFERENCES usage(seq));
INSERT INTO usage_pending (seq)
  SELECT seq FROM usage WHERE seq > (SELECT COALESCE(MAX(seq), 0) FROM usage_anchor);
CREATE FUNCTION usage_pending_add() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN INSERT INTO usage_pending (seq) VALUES (NEW.seq); RETURN NULL; END $$;
CREATE TRIGGER usage_pending_add AFTER INSERT ON usage
  FOR EACH ROW EXECUTE FUNCTION usage_pending_add();
";

/// Step 1 on PostgreSQL: the same tables (`BIGINT` for `INTEGER`, identity
/// columns for `AUTOINCREMENT`, a `rowid` identity for SQLite's implicit one),
/// append-only by trigger (TRUNCATE too).
const POSTGRES_V1: &str = r#"
CREATE TABLE licenses (
  id TEXT PRIMARY KEY,
  type_code TEXT NOT NULL, issuer_code TEXT NOT NULL, serial TEXT NOT NULL, version BIGINT NOT NULL,
  type_key TEXT NOT NULL, number TEXT NOT NULL, name TEXT NOT NULL, issuer_name TEXT NOT NULL,
  issue_date TEXT NOT NULL, area_code TEXT NOT NULL,
  holder_name TEXT NOT NULL, holder_code TEXT NOT NULL, holder_type TEXT NOT NULL,
  valid_from TEXT NOT NULL, valid_to TEXT,
  face TEXT NOT NULL,
  status TEXT NOT NULL,
  supersedes TEXT, superseded_by TEXT,
  ofd_sm3 TEXT NOT NULL, pdf_sm3 TEXT NOT NULL,
  log_index BIGINT,
  rowid BIGINT GENERATED ALWAYS AS IDENTITY UNIQUE,
  UNIQUE (type_code, issuer_code, serial, version)
);
CREATE INDEX licenses_holder ON licenses (holder_code);
CREATE INDEX licenses_ofd ON licenses (ofd_sm3);
CREATE INDEX licenses_pdf ON licenses (pdf_sm3);
CREATE TABLE serials (
  type_code TEXT NOT NULL, issuer_code TEXT NOT NULL, year BIGINT NOT NULL, next BIGINT NOT NULL,
  PRIMARY KEY (type_code, issuer_code, year)
);
CREATE TABLE events (
  seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  license TEXT NOT NULL REFERENCES licenses(id),
  time_ms BIGINT NOT NULL, actor TEXT NOT NULL, kind TEXT NOT NULL, reason TEXT NOT NULL,
  log_index BIGINT
);
CREATE TABLE tokens (
  token_hash TEXT PRIMARY KEY,
  license TEXT NOT NULL REFERENCES licenses(id),
  matter TEXT, created_ms BIGINT NOT NULL, expires_ms BIGINT NOT NULL,
  created_by TEXT NOT NULL, used_ms BIGINT, used_by TEXT
);
CREATE TABLE usage (
  seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  time_ms BIGINT NOT NULL, caller TEXT NOT NULL, operator TEXT NOT NULL, purpose TEXT NOT NULL,
  matter TEXT NOT NULL, business_serial TEXT NOT NULL, holder_code TEXT NOT NULL, license TEXT NOT NULL,
  operation TEXT NOT NULL, result BIGINT NOT NULL, record_sm3 TEXT NOT NULL
);
CREATE INDEX usage_license ON usage (license);
CREATE INDEX usage_holder ON usage (holder_code);
CREATE TABLE usage_anchor (
  seq BIGINT PRIMARY KEY REFERENCES usage(seq), log_index BIGINT NOT NULL
);
CREATE FUNCTION append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN RAISE EXCEPTION '%', TG_ARGV[0]; END $$;
CREATE TRIGGER events_no_change BEFORE UPDATE OR DELETE ON events
  FOR EACH ROW EXECUTE FUNCTION append_only('license events are append-only');
CREATE TRIGGER events_no_truncate BEFORE TRUNCATE ON events
  FOR EACH STATEMENT EXECUTE FUNCTION append_only('license events are append-only');
CREATE TRIGGER usage_no_change BEFORE UPDATE OR DELETE ON usage
  FOR EACH ROW EXECUTE FUNCTION append_only('usage records are append-only');
CREATE TRIGGER usage_no_truncate BEFORE TRUNCATE ON usage
  FOR EACH STATEMENT EXECUTE FUNCTION append_only('usage records are append-only');
"#;

const SCHEMA_V1: &str = r#"
CREATE TABLE IF NOT EXISTS licenses (
  id TEXT PRIMARY KEY,
  type_code TEXT NOT NULL, issuer_code TEXT NOT NULL, serial TEXT NOT NULL, version INTEGER NOT NULL,
  type_key TEXT NOT NULL, number TEXT NOT NULL, name TEXT NOT NULL, issuer_name TEXT NOT NULL,
  issue_date TEXT NOT NULL, area_code TEXT NOT NULL,
  holder_name TEXT NOT NULL, holder_code TEXT NOT NULL, holder_type TEXT NOT NULL,
  valid_from TEXT NOT NULL, valid_to TEXT,
  face TEXT NOT NULL,
  status TEXT NOT NULL,
  supersedes TEXT, superseded_by TEXT,
  ofd_sm3 TEXT NOT NULL, pdf_sm3 TEXT NOT NULL,
  log_index INTEGER,
  UNIQUE (type_code, issuer_code, serial, version)
);
CREATE INDEX IF NOT EXISTS licenses_holder ON licenses (holder_code);
CREATE INDEX IF NOT EXISTS licenses_ofd ON licenses (ofd_sm3);
CREATE INDEX IF NOT EXISTS licenses_pdf ON licenses (pdf_sm3);
CREATE TABLE IF NOT EXISTS serials (
  type_code TEXT NOT NULL, issuer_code TEXT NOT NULL, year INTEGER NOT NULL, next INTEGER NOT NULL,
  PRIMARY KEY (type_code, issuer_code, year)
);
CREATE TABLE IF NOT EXISTS events (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  license TEXT NOT NULL REFERENCES licenses(id),
  time_ms INTEGER NOT NULL, actor TEXT NOT NULL, kind TEXT NOT NULL, reason TEXT NOT NULL,
  log_index INTEGER
);
CREATE TRIGGER IF NOT EXISTS events_no_update BEFORE UPDATE ON events
  BEGIN SELECT RAISE(ABORT, 'license events are append-only'); END;
CREATE TRIGGER IF NOT EXISTS events_no_delete BEFORE DELETE ON events
  BEGIN SELECT RAISE(ABORT, 'license events are append-only'); END;
CREATE TABLE IF NOT EXISTS tokens (
  token_hash TEXT PRIMARY KEY,
  license TEXT NOT NULL REFERENCES licenses(id),
  matter TEXT, created_ms INTEGER NOT NULL, expires_ms INTEGER NOT NULL,
  created_by TEXT NOT NULL, used_ms INTEGER, used_by TEXT
);
CREATE TABLE IF NOT EXISTS usage (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  time_ms INTEGER NOT NULL, caller TEXT NOT NULL, operator TEXT NOT NULL, purpose TEXT NOT NULL,
  matter TEXT NOT NULL, business_serial TEXT NOT NULL, holder_code TEXT NOT NULL, license TEXT NOT NULL,
  operation TEXT NOT NULL, result INTEGER NOT NULL, record_sm3 TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS usage_license ON usage (license);
CREATE INDEX IF NOT EXISTS usage_holder ON usage (holder_code);
CREATE TRIGGER IF NOT EXISTS usage_no_delete BEFORE DELETE ON usage
  BEGIN SELECT RAISE(ABORT, 'usage records are append-only'); END;
CREATE TRIGGER IF NOT EXISTS usage_no_update BEFORE UPDATE ON usage
  BEGIN SELECT RAISE(ABORT, 'usage records are append-only'); END;
CREATE TABLE IF NOT EXISTS usage_anchor (
  seq INTEGER PRIMARY KEY REFERENCES usage(seq), log_index INTEGER NOT NULL
);
"#;

/// What a lifecycle transition does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Action {
    /// Valid → Suspended (暂扣).
    Suspend,
    /// Suspended → Valid.
    Resume,
    /// Valid | Suspended → Revoked (撤销/吊销).
    Revoke,
    /// Valid | Suspended → Cancelled (注销).
    Cancel,
}

impl Action {
    fn verb(self) -> &'static str {
        match self {
            Action::Suspend => "suspend",
            Action::Resume => "resume",
            Action::Revoke => "revoke",
            Action::Cancel => "cancel",
        }
    }

    fn event(self) -> &'static str {
        match self {
            Action::Suspend => "suspended",
            Action::Resume => "resumed",
            Action::Revoke => "revoked",
            Action::Cancel => "cancelled",
        }
    }

    /// The status after the action, when allowed from `from`.
    fn target(self, from: Status) -> Option<Status> {
        match (self, from) {
            (Action::Suspend, Status::Valid) => Some(Status::Suspended),
            (Action::Resume, Status::Suspended) => Some(Status::Valid),
            (Action::Revoke, Status::Valid | Status::Suspended) => Some(Status::Revoked),
            (Action::Cancel, Status::Valid | Status::Suspended) => Some(Status::Cancelled),
            _ => None,
        }
    }
}

/// The license registry of one data directory.
pub struct Registry {
    pub(crate) conn: Db,
    pub(crate) dir: PathBuf,
    pub(crate) catalogue: Catalogue,
}

impl std::fmt::Debug for Registry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Registry")
            .field("dir", &self.dir)
            .finish_non_exhaustive()
    }
}

pub(crate) fn now_ms(t: time::OffsetDateTime) -> i64 {
    (t.unix_timestamp_nanos() / 1_000_000) as i64
}

pub(crate) fn entry(
    kind: &str,
    at: time::OffsetDateTime,
    actor: &str,
    id: &str,
    digests: &[[u8; 32]],
) -> Result<Entry> {
    let mut e = Entry::new(kind, now_ms(at).max(0) as u64, actor)?.with_subject(id)?;
    for d in digests {
        e = e.with_digest(*d)?;
    }
    Ok(e)
}

impl Registry {
    /// Open (or create) the registry in `dir`, its database in `backend` (the
    /// files and the catalogue stay in `dir`); writes the default catalogue
    /// when there is none.
    pub fn open_in(dir: &Path, backend: &Backend) -> Result<Self> {
        std::fs::create_dir_all(dir.join("files")).map_err(|e| Error::io(dir, e))?;
        let cat_path = dir.join("catalogue.toml");
        if !cat_path.exists() {
            write_atomic(&cat_path, DEFAULT_CATALOGUE.as_bytes())?;
        }
        let text = std::fs::read_to_string(&cat_path).map_err(|e| Error::io(&cat_path, e))?;
        let catalogue = Catalogue::from_toml(&text)
            .map_err(|e| Error::Catalogue(format!("{}: {e}", cat_path.display())))?;
        let conn = Db::open(
            &backend.location(&dir.join("licenses.db"), "license"),
            &MIGRATIONS,
            yinzheng_store::Options::default().busy_timeout(std::time::Duration::from_secs(10)),
        )?;
        Ok(Registry {
            conn,
            dir: dir.to_path_buf(),
            catalogue,
        })
    }

    /// Open the registry in `dir` for reading from a PostgreSQL read replica
    /// (`backend`: the replica's URL, same namespace as the primary): nothing
    /// is migrated, the schema must be current ([`Db::open_replica`]).
    pub fn open_replica(dir: &Path, backend: &Backend) -> Result<Self> {
        let text = std::fs::read_to_string(dir.join("catalogue.toml"))
            .map_err(|e| Error::io(&dir.join("catalogue.toml"), e))?;
        let catalogue = Catalogue::from_toml(&text).map_err(|e| {
            Error::Catalogue(format!("{}: {e}", dir.join("catalogue.toml").display()))
        })?;
        let conn = Db::open_replica(
            &backend.location(&dir.join("licenses.db"), "license"),
            &MIGRATIONS,
        )?;
        Ok(Registry {
            conn,
            dir: dir.to_path_buf(),
            catalogue,
        })
    }

    /// PostgreSQL: this connection's WAL position (written on the primary,
    /// replayed on a replica, in bytes); SQLite: 0.
    pub fn wal_position(&self) -> Result<i64> {
        Ok(self.conn.wal_position()?)
    }

    /// Whether the database is PostgreSQL (shared by several servers).
    pub fn is_postgres(&self) -> bool {
        self.conn.is_postgres()
    }

    /// How hard this connection's commits are pushed to disk
    /// ([`Db::set_synchronous`]). The default is `Full`; a server's
    /// usage-record writer may choose `Normal`, so a group commit costs no
    /// fsync (the records survive a process crash, and are anchored in the
    /// log — which syncs — within a second).
    pub fn set_synchronous(&self, mode: yinzheng_store::Synchronous) -> Result<()> {
        Ok(self.conn.set_synchronous(mode)?)
    }

    /// Stop this connection from checkpointing the WAL when it commits (a
    /// server's writer hands checkpoints, and their fsyncs, to another
    /// connection: [`checkpoint`](Self::checkpoint)). Nothing on PostgreSQL.
    pub fn disable_auto_checkpoint(&self) -> Result<()> {
        Ok(self.conn.disable_auto_checkpoint()?)
    }

    /// Copy the WAL into the database without blocking writers (a PASSIVE
    /// checkpoint); returns the WAL frames not yet checkpointed. PostgreSQL
    /// checkpoints on its own: 0.
    pub fn checkpoint(&self) -> Result<i64> {
        Ok(self.conn.checkpoint_wal()?)
    }

    /// SQLite: checkpoint every WAL frame and truncate the WAL file (waits
    /// at most `wait` for the writer and readers of older snapshots, holding
    /// the write lock meanwhile; this connection's busy timeout becomes
    /// `wait`); false when a reader kept it from finishing. PostgreSQL: true.
    pub fn truncate_wal(&self, wait: std::time::Duration) -> Result<bool> {
        Ok(self.conn.truncate_wal(wait)?)
    }

    /// SQLite: the WAL file's size in bytes. PostgreSQL: `None`.
    pub fn wal_bytes(&self) -> Option<u64> {
        self.conn.wal_bytes()
    }

    /// The catalogue in force.
    pub fn catalogue(&self) -> &Catalogue {
        &self.catalogue
    }

    /// The directory holding a license's files (`license.ofd`, `license.pdf`, `issued.tlog-proof`).
    pub fn files_dir(&self, id: &LicenseId) -> PathBuf {
        self.dir.join("files").join(id.to_string())
    }

    /// The data directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// A license by identifier (parsed and checked first).
    pub fn get(&self, id: &str) -> Result<Option<License>> {
        let id = LicenseId::parse(id)?;
        get_in(&self.conn, &id)
    }

    /// A license whose sealed OFD or PDF has this SM3 digest (hex).
    pub fn by_digest(&self, sm3_hex: &str) -> Result<Option<License>> {
        self.conn
            .query_opt(
                concat!(
                    "SELECT ",
                    columns!(),
                    " FROM licenses WHERE ofd_sm3 = ?1 OR pdf_sm3 = ?1"
                ),
                params![sm3_hex],
            )?
            .map(|r| row(&r))
            .transpose()
    }

    /// Licenses, newest first, optionally of one holder.
    pub fn list(&self, holder_code: Option<&str>, limit: usize) -> Result<Vec<License>> {
        let limit = limit.min(100_000) as i64;
        match holder_code {
            Some(h) => self.conn.query_map(
                concat!(
                    "SELECT ",
                    columns!(),
                    " FROM licenses WHERE holder_code = ?1 ORDER BY rowid DESC LIMIT ?2"
                ),
                params![h.to_ascii_uppercase(), limit],
                row,
            ),
            None => self.conn.query_map(
                concat!(
                    "SELECT ",
                    columns!(),
                    " FROM licenses ORDER BY rowid DESC LIMIT ?1"
                ),
                params![limit],
                row,
            ),
        }
    }

    /// Every lifecycle event of a license, oldest first.
    pub fn events(&self, id: &LicenseId) -> Result<Vec<Event>> {
        self.conn.query_map(
            "SELECT license, time_ms, actor, kind, reason, log_index FROM events WHERE license = ?1 ORDER BY seq",
            params![id.to_string()],
            |r| {
                Ok(Event {
                    license: r.get(0)?,
                    time_ms: r.get(1)?,
                    actor: r.get(2)?,
                    kind: r.get(3)?,
                    reason: r.get(4)?,
                    log_index: r.get::<Option<i64>>(5)?.map(|i| i as u64),
                })
            },
        )
    }

    /// Apply a lifecycle action; refused transitions say why. The event is
    /// anchored in the log before the transaction commits (once, even when a
    /// PostgreSQL transaction is run again), and the status is checked inside
    /// the transaction, so two servers cannot both apply a conflicting action.
    pub fn transition(
        &mut self,
        id: &str,
        action: Action,
        actor: &str,
        reason: &str,
        anchor: &dyn Anchor,
        at: time::OffsetDateTime,
    ) -> Result<License> {
        let id = LicenseId::parse(id)?;
        if matches!(action, Action::Revoke | Action::Cancel | Action::Suspend)
            && reason.trim().is_empty()
        {
            return Err(Error::Refused(format!("{} needs a reason", action.verb())));
        }
        let mut anchored: Option<Vec<u64>> = None;
        self.conn.transaction(|tx| {
            let lic = get_in(tx, &id)?.ok_or_else(|| Error::NotFound(id.to_string()))?;
            let now_status = lic.status_at(crate::license_day(at));
            let to = action.target(now_status).ok_or_else(|| Error::Transition {
                action: action.verb().into(),
                id: lic.id.to_string(),
                status: now_status.to_string(),
            })?;
            let idx = match &anchored {
                Some(idx) => idx.clone(),
                None => {
                    let idx = anchor.append_batch(&[entry(
                        &format!("license.{}", action.event()),
                        at,
                        actor,
                        &lic.id.to_string(),
                        &[],
                    )?])?;
                    anchored = Some(idx.clone());
                    idx
                }
            };
            set_status(tx, &lic.id, to)?;
            insert_event(
                tx,
                &lic.id,
                at,
                actor,
                action.event(),
                reason,
                idx.first().copied(),
            )?;
            tx.notify(yinzheng_store::CHANGES_CHANNEL)?;
            get_in(tx, &lic.id)?.ok_or_else(|| Error::NotFound(lic.id.to_string()))
        })
    }

    /// Record that a license ran past its validity end (idempotent).
    pub fn mark_expired(
        &mut self,
        id: &str,
        anchor: &dyn Anchor,
        at: time::OffsetDateTime,
    ) -> Result<bool> {
        let id = LicenseId::parse(id)?;
        let mut anchored: Option<Vec<u64>> = None;
        self.conn.transaction(|tx| {
            let lic = get_in(tx, &id)?.ok_or_else(|| Error::NotFound(id.to_string()))?;
            if lic.status.is_final() || lic.status_at(crate::license_day(at)) != Status::Expired {
                return Ok(false);
            }
            let idx = match &anchored {
                Some(idx) => idx.clone(),
                None => {
                    let idx = anchor.append_batch(&[entry(
                        "license.expired",
                        at,
                        "system",
                        &lic.id.to_string(),
                        &[],
                    )?])?;
                    anchored = Some(idx.clone());
                    idx
                }
            };
            set_status(tx, &lic.id, Status::Expired)?;
            insert_event(
                tx,
                &lic.id,
                at,
                "system",
                "expired",
                "validity ended",
                idx.first().copied(),
            )?;
            tx.notify(yinzheng_store::CHANGES_CHANNEL)?;
            Ok(true)
        })
    }
}

/// The license `id` as `db` (a connection or an open transaction) sees it.
pub(crate) fn get_in(db: &Db, id: &LicenseId) -> Result<Option<License>> {
    db.query_opt(
        concat!("SELECT ", columns!(), " FROM licenses WHERE id = ?1"),
        params![id.to_string()],
    )?
    .map(|r| row(&r))
    .transpose()
}

pub(crate) fn set_status(tx: &Db, id: &LicenseId, to: Status) -> Result<()> {
    tx.execute(
        "UPDATE licenses SET status = ?2 WHERE id = ?1",
        params![id.to_string(), to.name()],
    )?;
    Ok(())
}

pub(crate) fn insert_event(
    tx: &Db,
    id: &LicenseId,
    at: time::OffsetDateTime,
    actor: &str,
    kind: &str,
    reason: &str,
    log_index: Option<u64>,
) -> Result<()> {
    tx.execute(
        "INSERT INTO events (license, time_ms, actor, kind, reason, log_index) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![id.to_string(), now_ms(at), actor, kind, reason, log_index.map(|i| i as i64)],
    )?;
    Ok(())
}

pub(crate) fn row(r: &Row) -> Result<License> {
    let get = |i: usize| r.get::<String>(i);
    let id: String = get(0)?;
    let face: String = get(12)?;
    let status: String = get(13)?;
    let valid_to: Option<String> = r.get(11)?;
    {
        Ok(License {
            id: LicenseId::parse(&id)?,
            type_key: get(1)?,
            number: get(2)?,
            name: get(3)?,
            issuer_name: get(4)?,
            issue_date: parse_date(&get(5)?)?,
            area_code: get(6)?,
            holder: Holder {
                name: get(7)?,
                code: get(8)?,
                type_code: get(9)?,
            },
            valid_from: parse_date(&get(10)?)?,
            valid_to: valid_to.as_deref().map(parse_date).transpose()?,
            face: serde_json::from_str(&face)
                .map_err(|e| Error::Store(format!("face of {id}: {e}")))?,
            status: Status::from_name(&status)
                .ok_or_else(|| Error::Store(format!("status {status:?} of {id}")))?,
            supersedes: r.get(14)?,
            superseded_by: r.get(15)?,
            ofd_sm3: get(16)?,
            pdf_sm3: get(17)?,
            log_index: r.get::<Option<i64>>(18)?.map(|i| i as u64),
        })
    }
}

pub(crate) fn insert_license(tx: &Db, l: &License) -> Result<()> {
    tx.execute(
        "INSERT INTO licenses (id, type_code, issuer_code, serial, version, type_key, number, name, issuer_name, issue_date, area_code, holder_name, holder_code, holder_type, valid_from, valid_to, face, status, supersedes, superseded_by, ofd_sm3, pdf_sm3, log_index)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22, ?23)",
        params![
            l.id.to_string(),
            l.id.type_code(),
            l.id.issuer_code(),
            l.id.serial(),
            l.id.version(),
            l.type_key,
            l.number,
            l.name,
            l.issuer_name,
            format_date(l.issue_date),
            l.area_code,
            l.holder.name,
            l.holder.code,
            l.holder.type_code,
            format_date(l.valid_from),
            l.valid_to.map(format_date),
            serde_json::to_string(&l.face).map_err(|e| Error::Store(e.to_string()))?,
            l.status.name(),
            l.supersedes,
            l.superseded_by,
            l.ofd_sm3,
            l.pdf_sm3,
            l.log_index.map(|i| i as i64),
        ],
    )?;
    Ok(())
}

/// Write `data` to `path` through a temporary file and a rename
/// (`yinzheng_store`). Owner-only (0600 on Unix), as the registry's files have
/// always been: faces and evidence name the holder.
pub(crate) fn write_atomic(path: &Path, data: &[u8]) -> Result<()> {
    yinzheng_store::write_atomic_private(path, data).map_err(|e| Error::io(path, e))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rusqlite::Connection;

    /// The schema and open path of `licenses.db` before yinzheng-store,
    /// verbatim (commit 9c8be8d), so the upgrade is tested against what is on
    /// disk today.
    const OLD_SCHEMA: &str = r#"
PRAGMA journal_mode = WAL;
PRAGMA foreign_keys = ON;
CREATE TABLE IF NOT EXISTS licenses (
  id TEXT PRIMARY KEY,
  type_code TEXT NOT NULL, issuer_code TEXT NOT NULL, serial TEXT NOT NULL, version INTEGER NOT NULL,
  type_key TEXT NOT NULL, number TEXT NOT NULL, name TEXT NOT NULL, issuer_name TEXT NOT NULL,
  issue_date TEXT NOT NULL, area_code TEXT NOT NULL,
  holder_name TEXT NOT NULL, holder_code TEXT NOT NULL, holder_type TEXT NOT NULL,
  valid_from TEXT NOT NULL, valid_to TEXT,
  face TEXT NOT NULL,
  status TEXT NOT NULL,
  supersedes TEXT, superseded_by TEXT,
  ofd_sm3 TEXT NOT NULL, pdf_sm3 TEXT NOT NULL,
  log_index INTEGER,
  UNIQUE (type_code, issuer_code, serial, version)
);
CREATE INDEX IF NOT EXISTS licenses_holder ON licenses (holder_code);
CREATE INDEX IF NOT EXISTS licenses_ofd ON licenses (ofd_sm3);
CREATE INDEX IF NOT EXISTS licenses_pdf ON licenses (pdf_sm3);
CREATE TABLE IF NOT EXISTS serials (
  type_code TEXT NOT NULL, issuer_code TEXT NOT NULL, year INTEGER NOT NULL, next INTEGER NOT NULL,
  PRIMARY KEY (type_code, issuer_code, year)
);
CREATE TABLE IF NOT EXISTS events (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  license TEXT NOT NULL REFERENCES licenses(id),
  time_ms INTEGER NOT NULL, actor TEXT NOT NULL, kind TEXT NOT NULL, reason TEXT NOT NULL,
  log_index INTEGER
);
CREATE TRIGGER IF NOT EXISTS events_no_update BEFORE UPDATE ON events
  BEGIN SELECT RAISE(ABORT, 'license events are append-only'); END;
CREATE TRIGGER IF NOT EXISTS events_no_delete BEFORE DELETE ON events
  BEGIN SELECT RAISE(ABORT, 'license events are append-only'); END;
CREATE TABLE IF NOT EXISTS tokens (
  token_hash TEXT PRIMARY KEY,
  license TEXT NOT NULL REFERENCES licenses(id),
  matter TEXT, created_ms INTEGER NOT NULL, expires_ms INTEGER NOT NULL,
  created_by TEXT NOT NULL, used_ms INTEGER, used_by TEXT
);
CREATE TABLE IF NOT EXISTS usage (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  time_ms INTEGER NOT NULL, caller TEXT NOT NULL, operator TEXT NOT NULL, purpose TEXT NOT NULL,
  matter TEXT NOT NULL, business_serial TEXT NOT NULL, holder_code TEXT NOT NULL, license TEXT NOT NULL,
  operation TEXT NOT NULL, result INTEGER NOT NULL, record_sm3 TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS usage_license ON usage (license);
CREATE INDEX IF NOT EXISTS usage_holder ON usage (holder_code);
CREATE TRIGGER IF NOT EXISTS usage_no_delete BEFORE DELETE ON usage
  BEGIN SELECT RAISE(ABORT, 'usage records are append-only'); END;
CREATE TRIGGER IF NOT EXISTS usage_no_update BEFORE UPDATE ON usage
  BEGIN SELECT RAISE(ABORT, 'usage records are append-only'); END;
CREATE TABLE IF NOT EXISTS usage_anchor (
  seq INTEGER PRIMARY KEY REFERENCES usage(seq), log_index INTEGER NOT NULL
);
"#;

    fn old_open(path: &Path) -> rusqlite::Result<Connection> {
        let conn = Connection::open(path)?;
        conn.busy_timeout(std::time::Duration::from_secs(10))?;
        conn.execute_batch(OLD_SCHEMA)?;
        Ok(conn)
    }

    #[test]
    fn step_one_is_the_old_schema_without_its_pragmas() {
        let without = OLD_SCHEMA.replace(
            "\nPRAGMA journal_mode = WAL;\nPRAGMA foreign_keys = ON;",
            "",
        );
        assert_eq!(SCHEMA_V1, without);
    }

    #[test]
    fn a_registry_made_by_the_old_code_opens_with_its_data() -> Result<()> {
        let dir = tempfile::tempdir().map_err(|e| Error::io(Path::new("tempdir"), e))?;
        let id = LicenseId::new(
            "11430000006122244L001",
            "11430000006122244L",
            "2026000001",
            1,
        )?;
        {
            let conn = old_open(&dir.path().join("licenses.db"))?;
            conn.execute(
                "INSERT INTO licenses (id, type_code, issuer_code, serial, version, type_key, number, name,
                   issuer_name, issue_date, area_code, holder_name, holder_code, holder_type, valid_from,
                   valid_to, face, status, ofd_sm3, pdf_sm3, log_index)
                 VALUES (?1, ?2, ?3, ?4, 1, 'business', 'N1', '营业执照', '示例局', '2026-01-02', '430000',
                   '示例公司', '91350100M000100Y43', '01', '2026-01-02', NULL, '[[\"名称\",\"示例公司\"]]',
                   'suspended', 'aa', 'bb', 3)",
                rusqlite::params![id.to_string(), id.type_code(), id.issuer_code(), id.serial()],
            )?;
            conn.execute(
                "INSERT INTO events (license, time_ms, actor, kind, reason, log_index)
                 VALUES (?1, 1000, 'op', 'issued', '', 3)",
                [id.to_string()],
            )?;
            conn.execute(
                "INSERT INTO serials VALUES (?1, ?2, 2026, 2)",
                [id.type_code(), id.issuer_code()],
            )?;
        }
        let registry = Registry::open_in(dir.path(), &Backend::Embedded)?;
        let license = registry
            .get(&id.to_string())?
            .ok_or_else(|| Error::NotFound(id.to_string()))?;
        assert_eq!(license.status, Status::Suspended);
        assert_eq!(
            license.face,
            vec![("名称".to_string(), "示例公司".to_string())]
        );
        assert_eq!(registry.events(&id)?.len(), 1);
        // Still append-only, and foreign keys are enforced.
        assert!(
            registry
                .conn
                .execute("DELETE FROM events", params![])
                .is_err()
        );
        assert!(
            registry
                .conn
                .execute(
                    "INSERT INTO tokens VALUES ('h', 'no such license', NULL, 0, 0, 'op', NULL, NULL)",
                    params![],
                )
                .is_err()
        );
        let version: u32 = registry
            .conn
            .query_row("SELECT MAX(version) FROM schema_migrations", params![])?
            .get(0)?;
        assert_eq!(version, 2);
        Ok(())
    }

    #[test]
    fn old_unanchored_usage_records_wait_in_usage_pending() -> Result<()> {
        let dir = tempfile::tempdir().map_err(|e| Error::io(Path::new("tempdir"), e))?;
        {
            let conn = old_open(&dir.path().join("licenses.db"))?;
            for seq in 1..=5 {
                conn.execute(
                    "INSERT INTO usage (time_ms, caller, operator, purpose, matter, business_serial,
                       holder_code, license, operation, result, record_sm3)
                     VALUES (?1, 'c', 'o', 'p', '', '', '', 'L', 'query', 0, ?2)",
                    rusqlite::params![seq, hex::encode([seq as u8; 32])],
                )?;
            }
            conn.execute("INSERT INTO usage_anchor VALUES (1, 10), (2, 11)", [])?;
        }
        let registry = Registry::open_in(dir.path(), &Backend::Embedded)?;
        let pending: Vec<i64> = registry
            .pending_usage_entries(100)?
            .into_iter()
            .map(|(s, _)| s)
            .collect();
        assert_eq!(pending, [3, 4, 5]);
        Ok(())
    }

    /// On whichever backend the environment selects (scripts/test.sh runs
    /// the crate's tests on both): events and usage records refuse UPDATE,
    /// DELETE (and on PostgreSQL TRUNCATE); usage waits in `usage_pending`
    /// until marked, reconciliation finds records the log already holds.
    #[test]
    fn append_only_and_pending_usage_on_this_backend() -> Result<()> {
        let dir = tempfile::tempdir().map_err(|e| Error::io(Path::new("tempdir"), e))?;
        let registry = Registry::open_in(dir.path(), &yinzheng_store::Backend::Embedded)?;
        let ctx = crate::UsageContext {
            caller: "c".into(),
            operator: "o".into(),
            purpose: "test".into(),
            ..Default::default()
        };
        let at = time::OffsetDateTime::now_utc();
        let o = registry.evaluate_id("11430000006122244L001", at)?;
        let mut seqs = Vec::new();
        for _ in 0..3 {
            let p = registry.pending_usage(&o, &ctx, "11430000006122244L001", "query", at);
            seqs.push(registry.record_usage(&p)?);
        }
        assert!(
            registry
                .conn
                .execute("UPDATE usage SET caller = 'x'", params![])
                .is_err()
        );
        assert!(
            registry
                .conn
                .execute("DELETE FROM usage", params![])
                .is_err()
        );
        if registry.is_postgres() {
            assert!(
                registry
                    .conn
                    .execute("TRUNCATE usage CASCADE", params![])
                    .is_err()
            );
        }
        assert_eq!(registry.pending_usage_count()?, 3);
        let pending = registry.pending_usage_entries(10)?;
        assert_eq!(pending.iter().map(|p| p.0).collect::<Vec<_>>(), seqs);
        // The log holds the first two (a crash before their indexes were
        // recorded); reconciliation records them without anchoring again.
        let tail: Vec<(u64, Vec<u8>)> = pending[..2]
            .iter()
            .enumerate()
            .map(|(i, (_, e))| (100 + i as u64, e.encode()))
            .collect();
        assert_eq!(registry.reconcile_usage(&tail)?, 2);
        assert_eq!(registry.pending_usage_count()?, 1);
        assert_eq!(registry.last_usage_log_index()?, Some(101));
        assert_eq!(
            registry.usage_record(seqs[0])?.and_then(|r| r.log_index),
            Some(100)
        );
        // Marking twice keeps the first index.
        registry.mark_usage_anchored(&[(seqs[0], 7), (seqs[2], 102)])?;
        assert_eq!(
            registry.usage_record(seqs[0])?.and_then(|r| r.log_index),
            Some(100)
        );
        assert_eq!(registry.pending_usage_count()?, 0);
        // Many at once (the statements come in chunks of 64, 8 and 1).
        let mut more = Vec::new();
        for _ in 0..75 {
            let p = registry.pending_usage(&o, &ctx, "11430000006122244L001", "query", at);
            more.push(registry.record_usage(&p)?);
        }
        assert_eq!(registry.pending_usage_count()?, 75);
        let pairs: Vec<(i64, u64)> = more.iter().zip(200u64..).map(|(s, i)| (*s, i)).collect();
        registry.mark_usage_anchored(&pairs)?;
        assert_eq!(registry.pending_usage_count()?, 0);
        for (seq, index) in [pairs[0], pairs[63], pairs[64], pairs[74]] {
            assert_eq!(
                registry.usage_record(seq)?.and_then(|r| r.log_index),
                Some(index)
            );
        }
        Ok(())
    }
}
