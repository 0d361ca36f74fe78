//! [`Listener`]: change notifications from other servers (PostgreSQL `LISTEN`).

use crate::backend::PgConfig;
use crate::blocking::{Client, off_runtime};
use crate::error::{Error, Result};
use fallible_iterator::FallibleIterator;
use std::time::{Duration, Instant};

/// One session listening on a channel. Each [`Db::notify`](crate::Db::notify)
/// on that channel, by any server, arrives here after its transaction
/// commits, as the notifying schema's name.
pub struct Listener {
    config: PgConfig,
    channel: String,
    client: Option<Client>,
}

impl std::fmt::Debug for Listener {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Listener")
            .field("config", &self.config)
            .field("channel", &self.channel)
            .finish()
    }
}

/// What [`Listener::wait`] saw.
#[derive(Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Heard {
    /// These schemas changed (maybe empty: the wait timed out).
    Changed(Vec<String>),
    /// The session was (re)established: notifications sent while it was
    /// down are lost, so treat everything as changed.
    Reconnected,
}

impl Listener {
    /// Listen on `channel` (an identifier: `[a-z_]+`).
    pub fn new(config: &PgConfig, channel: &str) -> Result<Listener> {
        if channel.is_empty() || !channel.bytes().all(|b| b.is_ascii_lowercase() || b == b'_') {
            return Err(Error::Config {
                value: channel.into(),
                reason: "a channel name is [a-z_]+".into(),
            });
        }
        Ok(Listener {
            config: config.clone(),
            channel: channel.into(),
            client: None,
        })
    }

    /// Wait up to `timeout` for notifications. A lost session is reopened
    /// on the next call ([`Heard::Reconnected`]); while the database is
    /// down this returns [`Error::Unavailable`] after `timeout`.
    pub fn wait(&mut self, timeout: Duration) -> Result<Heard> {
        off_runtime(|| self.wait_blocking(timeout))
    }

    fn wait_blocking(&mut self, timeout: Duration) -> Result<Heard> {
        let start = Instant::now();
        let client = match self
            .client
            .as_mut()
            .map(Client::get)
            .filter(|c| !c.is_closed())
        {
            Some(c) => c,
            None => {
                self.client = None;
                let mut client = match crate::pg::connect(
                    &self.config,
                    "yinzheng-listen",
                    timeout.max(Duration::from_millis(100)),
                    |_| {},
                ) {
                    Ok(c) => c,
                    Err(e) => {
                        std::thread::sleep(timeout.saturating_sub(start.elapsed()));
                        return Err(Error::Unavailable(format!("listening for changes: {e}")));
                    }
                };
                client.batch_execute(&format!("LISTEN {}", self.channel))?;
                self.client = Some(Client::new(client));
                return Ok(Heard::Reconnected);
            }
        };
        let mut heard = Vec::new();
        let first = client.notifications().timeout_iter(timeout).next();
        let failed = match first {
            Ok(Some(n)) => {
                heard.push(n.payload().to_owned());
                // Take what else has arrived, without waiting again.
                let mut notes = client.notifications();
                let mut now = notes.iter();
                loop {
                    match now.next() {
                        Ok(Some(n)) => heard.push(n.payload().to_owned()),
                        Ok(None) => break None,
                        Err(e) => break Some(e),
                    }
                }
            }
            Ok(None) => None,
            Err(e) => Some(e),
        };
        if let Some(e) = failed {
            self.client = None;
            return Err(Error::Unavailable(format!(
                "listening for changes: {}",
                crate::error::postgres_message(&e)
            )));
        }
        heard.sort();
        heard.dedup();
        Ok(Heard::Changed(heard))
    }
}
