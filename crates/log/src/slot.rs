//! The log as one server of several has it: the sequencer while it holds the
//! lease (always, on the embedded store), else a follower of the published
//! tiles, switching as the lease moves. [`LogSlot::tick`] is called about once
//! a second and [`LogSlot::follow`] more often; they report what happened as
//! [`SlotEvent`]s for the caller to log, and never fail.

use crate::error::Result;
use crate::log::{Log, LogOptions};
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use yinzheng_anchor::{NoteSigner, VerifierKey};
use yinzheng_crypto::Signer;
use yinzheng_store::Backend;

/// The log's note keys, kept so that the sequencer can be opened again when
/// the lease comes back. Each key is opened once by the caller (a key file
/// decrypted, zeroized on drop; a device key's session); signers share them.
pub struct SequencerKeys {
    origin: String,
    keys: Vec<Arc<dyn Signer>>,
}

impl std::fmt::Debug for SequencerKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SequencerKeys")
            .field("origin", &self.origin)
            .field("keys", &self.keys.len())
            .finish_non_exhaustive()
    }
}

impl SequencerKeys {
    /// Keep `keys` (the log's note keys, SM2 first: key files, or keys on a
    /// token or in a cipher machine) for the log `origin`.
    pub fn new(origin: &str, keys: Vec<Arc<dyn Signer>>) -> Self {
        SequencerKeys {
            origin: origin.to_string(),
            keys,
        }
    }

    /// Note signers, one per key, in order.
    pub fn signers(&self) -> Result<Vec<NoteSigner>> {
        self.keys
            .iter()
            .map(|k| Ok(NoteSigner::from_signer(&self.origin, k.clone())?))
            .collect()
    }
}

/// What [`LogSlot::tick`] or [`LogSlot::follow`] saw or did.
#[derive(Debug)]
#[non_exhaustive]
pub enum SlotEvent {
    /// The lease was free: this process now sequences the log.
    TookLease {
        /// The tree size it took over.
        size: u64,
    },
    /// The sequencer stopped (lease lost, fatal error); following instead.
    SequencerStopped(String),
    /// The followed log could not be read again.
    RefreshFailed(crate::Error),
    /// Opening the log as its sequencer failed (not "another holds the lease").
    OpenFailed(crate::Error),
    /// Following the published log failed.
    FollowFailed(crate::Error),
}

/// The anchoring log of one process among several on a database (see the
/// module docs).
pub struct LogSlot {
    dir: PathBuf,
    backend: Backend,
    keys: Option<SequencerKeys>,
    verifiers: Vec<VerifierKey>,
    options: LogOptions,
    current: RwLock<Option<Arc<Log>>>,
}

impl std::fmt::Debug for LogSlot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LogSlot")
            .field("dir", &self.dir)
            .field("sequencer", &self.sequencer().is_some())
            .finish_non_exhaustive()
    }
}

impl LogSlot {
    /// No log (usage records stay unanchored).
    pub fn empty(dir: &Path, backend: &Backend) -> LogSlot {
        LogSlot {
            dir: dir.to_path_buf(),
            backend: backend.clone(),
            keys: None,
            verifiers: Vec::new(),
            options: LogOptions::default(),
            current: RwLock::new(None),
        }
    }

    /// The log in `dir`: its sequencer when the lease is free (always on the
    /// embedded store), else a follower checked with `verifiers`. The second
    /// value says whether this process sequences.
    pub fn open(
        dir: &Path,
        backend: &Backend,
        keys: SequencerKeys,
        verifiers: Vec<VerifierKey>,
        options: LogOptions,
    ) -> Result<(LogSlot, bool)> {
        let slot = LogSlot {
            keys: Some(keys),
            verifiers,
            options,
            ..LogSlot::empty(dir, backend)
        };
        let (log, sequencing) = match slot.open_sequencer()? {
            Some(seq) => (seq, true),
            None => (
                Log::follow_in(&slot.dir, &slot.backend, slot.verifiers.clone())?,
                false,
            ),
        };
        slot.replace(Arc::new(log));
        Ok((slot, sequencing))
    }

    /// The log (sequencer or follower), if there is one.
    pub fn current(&self) -> Option<Arc<Log>> {
        self.current.read().ok().and_then(|c| c.clone())
    }

    /// The log, if this process is its running sequencer.
    pub fn sequencer(&self) -> Option<Arc<Log>> {
        self.current().filter(|l| l.is_sequencer())
    }

    fn open_sequencer(&self) -> Result<Option<Log>> {
        let Some(keys) = &self.keys else {
            return Ok(None);
        };
        match Log::open_in(
            &self.dir,
            &self.backend,
            keys.signers()?,
            self.options.clone(),
        ) {
            Ok(l) => Ok(Some(l)),
            Err(crate::Error::NotSequencer(_)) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// A follower reads the published checkpoint again (a file read; the
    /// signature is checked only when it changed).
    pub fn follow(&self) -> Option<SlotEvent> {
        let log = self.current()?;
        if log.is_sequencer() || log.stopped().is_some() {
            return None;
        }
        log.refresh().err().map(SlotEvent::RefreshFailed)
    }

    /// Refresh a follower; become the sequencer when the lease is free;
    /// follow again when the sequencer stopped.
    pub fn tick(&self) -> Vec<SlotEvent> {
        let mut events = Vec::new();
        let Some(log) = self.current() else {
            return events;
        };
        if log.is_sequencer() {
            return events;
        }
        if let Some(why) = log.stopped() {
            events.push(SlotEvent::SequencerStopped(why));
        } else if let Err(e) = log.refresh() {
            events.push(SlotEvent::RefreshFailed(e));
        }
        match self.open_sequencer() {
            Ok(Some(seq)) => {
                events.push(SlotEvent::TookLease {
                    size: seq.checkpoint().size(),
                });
                self.replace(Arc::new(seq));
            }
            Ok(None) => {
                if log.stopped().is_some() {
                    match Log::follow_in(&self.dir, &self.backend, self.verifiers.clone()) {
                        Ok(f) => self.replace(Arc::new(f)),
                        Err(e) => events.push(SlotEvent::FollowFailed(e)),
                    }
                }
            }
            Err(e) => events.push(SlotEvent::OpenFailed(e)),
        }
        events
    }

    fn replace(&self, log: Arc<Log>) {
        if let Ok(mut c) = self.current.write() {
            *c = Some(log);
        }
    }

    /// Sequence what is pooled and stop (at shutdown).
    pub fn close(&self) -> Result<()> {
        match self.sequencer() {
            Some(l) => l.close(),
            None => Ok(()),
        }
    }
}
