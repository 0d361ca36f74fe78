//! [`Lease`]: one holder at a time of a named role (the log's sequencer),
//! as a PostgreSQL session-level advisory lock.
//!
//! The lock lives as long as the session: a holder that dies, is killed or
//! loses its network loses it when PostgreSQL notices (at once for a closed
//! socket, after TCP keepalive for a vanished host), and another server's
//! [`Lease::try_acquire`] then succeeds. A lease is a hint for liveness, not
//! the safety mechanism: what keeps a log from forking is the compare-and-swap
//! of its checkpoint row, which a stale holder fails.

use crate::backend::PgConfig;
use crate::blocking::{Client, off_runtime};
use crate::error::{Error, Result};

/// A held lease; released when dropped (or when its session ends).
pub struct Lease {
    client: Client,
    name: String,
}

impl std::fmt::Debug for Lease {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Lease").field("name", &self.name).finish()
    }
}

impl Lease {
    /// Take the lease `name` if nobody holds it; `None` when another session does.
    pub fn try_acquire(config: &PgConfig, name: &str) -> Result<Option<Lease>> {
        off_runtime(|| Lease::acquire(config, name))
    }

    fn acquire(config: &PgConfig, name: &str) -> Result<Option<Lease>> {
        let mut client =
            crate::pg::connect(config, "yinzheng-lease", config.connect_timeout, |c| {
                // Notice a vanished peer within tens of seconds, not hours.
                c.keepalives(true);
                c.keepalives_idle(std::time::Duration::from_secs(10));
            })
            .map_err(|e| Error::Unavailable(format!("taking the {name} lease: {e}")))?;
        let got: bool = client
            .query_one("SELECT pg_try_advisory_lock(hashtext($1))", &[&name])?
            .get(0);
        if !got {
            return Ok(None);
        }
        Ok(Some(Lease {
            client: Client::new(client),
            name: name.to_owned(),
        }))
    }

    /// Whether the lease is still held: its session answers and still holds the lock.
    pub fn check(&mut self) -> bool {
        let client = self.client.get();
        off_runtime(move || {
            if client.is_closed() {
                return false;
            }
            client
                .query_one(
                    "SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid() AND granted)",
                    &[],
                )
                .map(|r| r.get::<_, bool>(0))
                .unwrap_or(false)
        })
    }

    /// The lease's name.
    pub fn name(&self) -> &str {
        &self.name
    }
}
