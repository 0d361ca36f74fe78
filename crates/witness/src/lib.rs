//! A transparency-log witness (c2sp.org/tlog-witness): the departments of a
//! region each run one, so that no single operator of the anchoring log can
//! show different histories to different auditors unnoticed.
//!
//! For every log it is configured with (origin, log keys, hash profile) a
//! [`Witness`] keeps the latest checkpoint it cosigned — durably, in SQLite,
//! checked and replaced in one `IMMEDIATE` transaction (a compare-and-swap on
//! the size) — and cosigns a new checkpoint only when the log signed it and a
//! consistency proof shows it extends that one. Besides, it keeps only the
//! log-signed checkpoints it refused as not extending it (evidence of a
//! split view, [`read_conflicts`]). `kill -9` at any point leaves either the
//! old or the new checkpoint, so it never accepts a rollback or a fork. Its
//! answers are c2sp.org/tlog-cosignature lines: cosignature/v1 (Ed25519)
//! and, for national deployments, our SM2 counterpart (docs/FORMATS.md).
//!
//! [`serve`] is the HTTP face (`POST /add-checkpoint`, `GET /latest`);
//! `yinzheng witness serve` runs it. The log's side — asking witnesses and
//! publishing the witnessed checkpoint — is [`Collector`] and [`Witnessing`].

mod client;
mod config;
mod error;
mod http;
mod request;

pub use client::{
    Collector, DEFAULT_RETRY_MAX, DEFAULT_TIMEOUT, MAX_WITNESSES, Outcome, Prover, Round,
    WITNESSES_FILE, WitnessEndpoint, WitnessReport, WitnessesConfig, Witnessing,
};
pub use config::{CONFIG_FILE, LogConfig, WitnessConfig};
pub use error::{Error, Result};
pub use http::{MAX_BODY, MAX_IN_FLIGHT, REQUEST_TIMEOUT, serve};
pub use request::{AddCheckpoint, MAX_PROOF_LINES};

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, Mutex};
use yinzheng_anchor::{Checkpoint, Cosigner, Hash, HashAlg, Note, VerifierKey};
use yinzheng_store::{Migration, Migrations};

/// The state file of a witness in its directory.
pub const STATE_FILE: &str = "witness.db";

const SCHEMA: Migrations = Migrations::new(&[
    Migration {
        name: "the latest checkpoint cosigned per log",
        sql: "CREATE TABLE latest (
        origin TEXT PRIMARY KEY,
        size BIGINT NOT NULL,
        root BLOB NOT NULL,
        note TEXT NOT NULL,
        updated_s BIGINT NOT NULL
    )",
    },
    Migration {
        name: "log-signed checkpoints refused as a fork or with a failing proof",
        sql: "CREATE TABLE conflicts (
        origin TEXT NOT NULL,
        size BIGINT NOT NULL,
        root BLOB NOT NULL,
        note TEXT NOT NULL,
        reason TEXT NOT NULL,
        kind TEXT NOT NULL CHECK (kind IN ('fork', 'proof')),
        at_s BIGINT NOT NULL,
        PRIMARY KEY (origin, size, root)
    )",
    },
]);

/// Most checkpoints refused for a failing proof kept per log (the oldest:
/// anyone can send a published checkpoint with a junk proof, so these never
/// push out what came first). Forks — another log-signed root at a size
/// the witness cosigned, which only the log's key can make — are all kept.
pub const MAX_CONFLICTS: i64 = 100;

/// A checkpoint the log signed that this witness refused because it does
/// not extend the one it cosigned (another root at that size, or a failing
/// consistency proof): with the witness's latest, evidence that the log
/// showed two histories — or sent a broken proof, which an auditor tells
/// apart with the log's tiles (`yinzheng-audit consistency --tiles`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Conflict {
    /// Its tree size.
    pub size: u64,
    /// Its root hash.
    pub root: Hash,
    /// The log-signed note as it was sent.
    pub note: String,
    /// Why it was refused.
    pub reason: String,
    /// `fork` (another root at a size cosigned: proof by itself, with the
    /// witness's latest) or `proof` (a larger checkpoint whose consistency
    /// proof failed: a fork, or a broken proof, told apart with the tiles).
    pub kind: String,
    /// When (Unix seconds).
    pub at_s: u64,
}

/// A log this witness witnesses.
#[derive(Clone, Debug)]
pub struct WitnessedLog {
    /// Its origin line (the checkpoints' first line).
    pub origin: String,
    /// Its keys: a checkpoint must carry a valid signature by one of them.
    pub keys: Vec<VerifierKey>,
    /// Its tree's hash profile (SM3 or SHA-256), for consistency proofs.
    pub hash: HashAlg,
}

/// The latest checkpoint a witness cosigned for a log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Latest {
    /// Tree size.
    pub size: u64,
    /// Root hash.
    pub root: Hash,
    /// The log-signed note as submitted.
    pub note: String,
}

/// Where a witness's cosignature times come from (Unix seconds).
pub type Clock = Arc<dyn Fn() -> u64 + Send + Sync>;

/// A witness: its keys, the logs it witnesses and its state.
pub struct Witness {
    cosigners: Vec<Cosigner>,
    logs: BTreeMap<String, WitnessedLog>,
    db: Mutex<rusqlite::Connection>,
    clock: Clock,
    /// `GET /latest` answers per origin: (size, time, cosigned note).
    latest_cache: Mutex<BTreeMap<String, (u64, u64, String)>>,
}

/// How long a `GET /latest` answer is reused while the state is unchanged.
pub const LATEST_REUSE_S: u64 = 10;

impl std::fmt::Debug for Witness {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Witness")
            .field("cosigners", &self.cosigners)
            .field("logs", &self.logs.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

impl Witness {
    /// Make the state of a new witness in `dir` (`witness.db`, empty);
    /// refused when one is there. [`Witness::open`] never makes one: a
    /// witness whose state is lost would cosign a rollback to anything.
    pub fn create_state(dir: &Path) -> Result<()> {
        let path = dir.join(STATE_FILE);
        if path.exists() {
            return Err(Error::Config(format!("{} already exists", path.display())));
        }
        yinzheng_store::sqlite::open(&path, &SCHEMA, yinzheng_store::Options::default())?;
        Ok(())
    }

    /// A witness cosigning with `cosigners` (all under one name) for `logs`,
    /// its state in `dir/witness.db`, which [`Witness::create_state`] made:
    /// a missing state is refused, never made afresh (a witness whose state
    /// is lost is retired, with its keys).
    pub fn open(dir: &Path, cosigners: Vec<Cosigner>, logs: Vec<WitnessedLog>) -> Result<Self> {
        let Some(first) = cosigners.first() else {
            return Err(Error::Config("a witness needs a key to cosign with".into()));
        };
        let name = first.verifier().name().to_string();
        if cosigners.iter().any(|c| c.verifier().name() != name) {
            return Err(Error::Config(
                "every key of a witness cosigns under the same name".into(),
            ));
        }
        let mut by_origin = BTreeMap::new();
        for log in logs {
            if log.keys.is_empty() {
                return Err(Error::Config(format!("log {:?} has no key", log.origin)));
            }
            if log.keys.iter().any(|k| k.key_type().is_cosignature()) {
                return Err(Error::Config(format!(
                    "log {:?}: a cosignature key is a witness's, not a log's",
                    log.origin
                )));
            }
            if cosigners.iter().any(|c| {
                log.keys
                    .iter()
                    .any(|k| k.key_bytes() == c.verifier().key_bytes())
            }) {
                return Err(Error::Config(format!(
                    "log {:?}: the witness would cosign with the log's own key",
                    log.origin
                )));
            }
            let origin = log.origin.clone();
            if by_origin.insert(origin.clone(), log).is_some() {
                return Err(Error::Config(format!("log {origin:?} is listed twice")));
            }
        }
        let path = dir.join(STATE_FILE);
        if !path.exists() {
            return Err(Error::Config(format!(
                "no witness state at {}: a witness whose state is lost must not start afresh \
                 (it would cosign a rollback); retire it and make a new one \
                 (`yinzheng witness init`, new keys)",
                path.display()
            )));
        }
        let db = yinzheng_store::sqlite::open(
            &path,
            &SCHEMA,
            yinzheng_store::Options::default().create(false),
        )?;
        Ok(Witness {
            cosigners,
            logs: by_origin,
            db: Mutex::new(db),
            latest_cache: Mutex::new(BTreeMap::new()),
            clock: Arc::new(|| {
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map(|d| d.as_secs())
                    .unwrap_or(0)
            }),
        })
    }

    /// Take cosignature times from `clock` (tests; the system clock by default).
    pub fn with_clock(mut self, clock: Clock) -> Self {
        self.clock = clock;
        self
    }

    /// The verifier keys of this witness's cosignatures (what relying
    /// parties put in their trust anchors' `[witnesses] keys`).
    pub fn verifiers(&self) -> Vec<VerifierKey> {
        self.cosigners
            .iter()
            .map(|c| c.verifier().clone())
            .collect()
    }

    /// The origins this witness witnesses.
    pub fn origins(&self) -> Vec<&str> {
        self.logs.keys().map(String::as_str).collect()
    }

    /// The latest checkpoint cosigned for `origin`, if any.
    pub fn latest(&self, origin: &str) -> Result<Option<Latest>> {
        let db = self
            .db
            .lock()
            .map_err(|_| Error::State("poisoned".into()))?;
        latest_in(&db, origin)
    }

    /// The latest checkpoint cosigned for `origin`, with this witness's
    /// cosignatures made now: what it vouches is the latest of that log it
    /// has seen. Auditors gather these from several witnesses to look for a
    /// split view (`yinzheng-audit consistency --tiles`).
    ///
    /// The time is read before the state: a checkpoint cosigned in between
    /// is newer than the time, never the other way round. An answer is
    /// reused for [`LATEST_REUSE_S`] seconds while the state is unchanged
    /// (cosigning costs; anyone may ask).
    pub fn latest_cosigned(&self, origin: &str) -> Result<Option<String>> {
        let now = (self.clock)();
        let Some(latest) = self.latest(origin)? else {
            return Ok(None);
        };
        let mut cache = self
            .latest_cache
            .lock()
            .map_err(|_| Error::State("poisoned".into()))?;
        if let Some((size, at, answer)) = cache.get(origin)
            && *size == latest.size
            && now.saturating_sub(*at) < LATEST_REUSE_S
        {
            return Ok(Some(answer.clone()));
        }
        let note = Note::parse(latest.note.as_bytes())
            .map_err(|e| Error::State(format!("the stored checkpoint of {origin:?}: {e}")))?;
        let out = format!("{}{}", latest.note, self.cosign_all(note.text(), now)?);
        cache.insert(origin.to_string(), (latest.size, now, out.clone()));
        Ok(Some(out))
    }

    /// Handle an `add-checkpoint` request body: check it as
    /// c2sp.org/tlog-witness says, in its order, record the checkpoint and
    /// return the cosignature lines (one per key). Every refusal is an
    /// [`Error`] whose [`status`](Error::status) is the protocol's.
    pub fn add_checkpoint(&self, body: &[u8]) -> Result<String> {
        let req = AddCheckpoint::parse(body)?;
        let note = Note::parse(req.checkpoint.as_bytes())
            .map_err(|e| Error::BadRequest(format!("the checkpoint is not a signed note: {e}")))?;
        let checkpoint = Checkpoint::parse(note.text())
            .map_err(|e| Error::BadRequest(format!("not a checkpoint: {e}")))?;
        let log = self
            .logs
            .get(checkpoint.origin())
            .ok_or_else(|| Error::UnknownOrigin(checkpoint.origin().to_string()))?;
        note.open(&log.keys)
            .map_err(|e| Error::Forbidden(e.to_string()))?;
        let (old, size) = (req.old, checkpoint.size());
        if size > i64::MAX as u64 {
            return Err(Error::BadRequest(format!(
                "tree size {size} is beyond what a witness records (2^63 - 1)"
            )));
        }
        if old > size {
            return Err(Error::BadRequest(format!(
                "old size {old} is larger than the checkpoint's {size}"
            )));
        }
        if old == 0 && !req.proof.is_empty() {
            return Err(Error::BadRequest(
                "a consistency proof from size 0 must be empty".into(),
            ));
        }
        let now = (self.clock)();
        let checked = {
            let mut db = self
                .db
                .lock()
                .map_err(|_| Error::State("poisoned".into()))?;
            yinzheng_store::transaction(&mut db, |tx| -> Result<()> {
                let latest = latest_in(tx, checkpoint.origin())?;
                let (latest_size, latest_root) = match &latest {
                    Some(l) => (l.size, l.root),
                    None => (0, log.hash.empty_root()),
                };
                if old != latest_size {
                    return Err(Error::StaleOldSize {
                        old,
                        latest: latest_size,
                    });
                }
                if old == size {
                    if *checkpoint.root() != latest_root {
                        return Err(Error::RootMismatch { size });
                    }
                    if !req.proof.is_empty() {
                        return Err(Error::BadProof {
                            old,
                            new: size,
                            why: "equal sizes need an empty proof".into(),
                        });
                    }
                } else if old > 0 {
                    yinzheng_anchor::verify_consistency(
                        log.hash,
                        old,
                        size,
                        &latest_root,
                        checkpoint.root(),
                        &req.proof,
                    )
                    .map_err(|e| Error::BadProof {
                        old,
                        new: size,
                        why: e.to_string(),
                    })?;
                }
                // The compare-and-swap: the row still holds what was read
                // (the IMMEDIATE transaction holds the write lock anyway).
                let changed = match &latest {
                    Some(_) => tx.execute(
                        "UPDATE latest SET size = ?1, root = ?2, note = ?3, updated_s = ?4
                         WHERE origin = ?5 AND size = ?6",
                        rusqlite::params![
                            size as i64,
                            checkpoint.root().as_slice(),
                            req.checkpoint,
                            now as i64,
                            checkpoint.origin(),
                            old as i64
                        ],
                    )?,
                    None => tx.execute(
                        "INSERT INTO latest (origin, size, root, note, updated_s)
                         VALUES (?1, ?2, ?3, ?4, ?5)",
                        rusqlite::params![
                            checkpoint.origin(),
                            size as i64,
                            checkpoint.root().as_slice(),
                            req.checkpoint,
                            now as i64
                        ],
                    )?,
                };
                if changed != 1 {
                    return Err(Error::State(
                        "the latest checkpoint changed under the transaction".into(),
                    ));
                }
                Ok(())
            })
        };
        // The log signed it: keep it, it may be half of a split view. (A
        // failing proof between equal sizes is no conflict: the checkpoint
        // is the witness's own latest.)
        let kind = match &checked {
            Err(Error::RootMismatch { .. }) => Some("fork"),
            Err(Error::BadProof { old, new, .. }) if old != new => Some("proof"),
            _ => None,
        };
        if let (Some(kind), Err(e)) = (kind, &checked)
            && let Err(why) =
                self.record_conflict(&checkpoint, &req.checkpoint, &e.to_string(), kind, now)
        {
            tracing::error!(error = %why, "cannot keep the refused checkpoint");
        }
        checked?;
        // Persisted: now cosign.
        self.cosign_all(note.text(), now)
    }

    /// One cosignature line per key of this witness on `text` at `now`.
    fn cosign_all(&self, text: &str, now: u64) -> Result<String> {
        let mut lines = String::new();
        for c in &self.cosigners {
            lines.push_str(
                &c.cosign(text, now)
                    .map_err(|e| Error::State(format!("cosigning: {e}")))?,
            );
        }
        Ok(lines)
    }
}

impl Witness {
    fn record_conflict(
        &self,
        cp: &Checkpoint,
        note: &str,
        reason: &str,
        kind: &str,
        now: u64,
    ) -> Result<()> {
        let mut db = self
            .db
            .lock()
            .map_err(|_| Error::State("poisoned".into()))?;
        yinzheng_store::transaction(&mut db, |tx| -> Result<()> {
            if kind == "proof" {
                let kept: i64 = tx.query_row(
                    "SELECT COUNT(*) FROM conflicts WHERE origin = ?1 AND kind = 'proof'",
                    [cp.origin()],
                    |r| r.get(0),
                )?;
                if kept >= MAX_CONFLICTS {
                    return Ok(());
                }
            }
            tx.execute(
                "INSERT OR IGNORE INTO conflicts (origin, size, root, note, reason, kind, at_s)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                rusqlite::params![
                    cp.origin(),
                    cp.size() as i64,
                    cp.root().as_slice(),
                    note,
                    reason,
                    kind,
                    now as i64
                ],
            )?;
            Ok(())
        })
    }
}

/// The log-signed checkpoints the witness in `dir` refused for `origin`
/// (newest first: every fork, at most [`MAX_CONFLICTS`] failing proofs),
/// read without its keys.
pub fn read_conflicts(dir: &Path, origin: &str) -> Result<Vec<Conflict>> {
    let path = dir.join(STATE_FILE);
    if !path.exists() {
        return Ok(Vec::new());
    }
    let db = yinzheng_store::sqlite::open(
        &path,
        &SCHEMA,
        yinzheng_store::Options::default().query_only(true),
    )?;
    let mut stmt = db.prepare(
        "SELECT size, root, note, reason, kind, at_s FROM conflicts WHERE origin = ?1
         ORDER BY at_s DESC, rowid DESC",
    )?;
    let rows = stmt.query_map([origin], |r| {
        Ok((
            r.get::<_, i64>(0)?,
            r.get::<_, Vec<u8>>(1)?,
            r.get::<_, String>(2)?,
            r.get::<_, String>(3)?,
            r.get::<_, String>(4)?,
            r.get::<_, i64>(5)?,
        ))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (size, root, note, reason, kind, at_s) = row?;
        out.push(Conflict {
            size: size.max(0) as u64,
            root: root
                .try_into()
                .map_err(|_| Error::State("a stored root is not 32 bytes".into()))?,
            note,
            reason,
            kind,
            at_s: at_s.max(0) as u64,
        });
    }
    Ok(out)
}

/// The latest checkpoint the witness in `dir` cosigned for `origin`, read
/// without opening its keys (none when it never cosigned one, or has no state).
pub fn read_latest(dir: &Path, origin: &str) -> Result<Option<Latest>> {
    let path = dir.join(STATE_FILE);
    if !path.exists() {
        return Ok(None);
    }
    let db = yinzheng_store::sqlite::open(
        &path,
        &SCHEMA,
        yinzheng_store::Options::default().query_only(true),
    )?;
    latest_in(&db, origin)
}

fn latest_in(db: &rusqlite::Connection, origin: &str) -> Result<Option<Latest>> {
    use rusqlite::OptionalExtension;
    let row = db
        .query_row(
            "SELECT size, root, note FROM latest WHERE origin = ?1",
            [origin],
            |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, Vec<u8>>(1)?,
                    r.get::<_, String>(2)?,
                ))
            },
        )
        .optional()?;
    let Some((size, root, note)) = row else {
        return Ok(None);
    };
    let root: Hash = root
        .try_into()
        .map_err(|_| Error::State(format!("the stored root of {origin:?} is not 32 bytes")))?;
    let size = u64::try_from(size)
        .map_err(|_| Error::State(format!("the stored size of {origin:?} is negative")))?;
    Ok(Some(Latest { size, root, note }))
}
