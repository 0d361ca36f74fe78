//! The anchoring log's sequencer for Yinzheng (印证), in the Sunlight pattern:
//! entries are batched, the checkpoint is signed once per batch, committed by
//! compare-and-swap in the state database (SQLite or PostgreSQL) and published
//! as C2SP tlog tiles. On PostgreSQL one server at a time is the sequencer
//! (a lease); the others follow the published tiles.
//!
//! This is the stateful side of the log. Reading and checking what it
//! publishes — notes, checkpoints, tiles, proofs, evidence — is
//! `yinzheng-anchor`, which links no database; the offline auditor uses that
//! alone.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod error;
mod log;
mod slot;

pub use error::{Error, Result};
pub use log::{
    DEFAULT_MAX_POOL, DEFAULT_PERIOD, Log, LogOptions, LogQueue, Pending, WITNESSED_FILE,
};
pub use slot::{LogSlot, SequencerKeys, SlotEvent};
