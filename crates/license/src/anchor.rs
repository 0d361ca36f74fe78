//! What the registry needs from the anchoring log: append a batch of entries
//! (one checkpoint signature for the batch) and produce offline evidence.

use crate::error::Result;
use yinzheng_anchor::{Entry, Evidence};
use yinzheng_log::Log;

/// An anchoring log the registry records its events in.
pub trait Anchor {
    /// Append `entries` as one batch; their indices once committed and published.
    fn append_batch(&self, entries: &[Entry]) -> Result<Vec<u64>>;
    /// A tlog-proof evidence file for the entry at `index`: its inclusion
    /// proof to the witnessed checkpoint when that covers it, else to the
    /// latest signed checkpoint.
    fn evidence(&self, index: u64) -> Result<String>;
    /// The published tree size and the entry at `index` below it: what
    /// reconciliation reads of the log's tail.
    fn size(&self) -> u64;
    /// The entry at `index` (encoded).
    fn entry(&self, index: u64) -> Result<Vec<u8>>;
}

impl Anchor for Log {
    fn append_batch(&self, entries: &[Entry]) -> Result<Vec<u64>> {
        let pending: Vec<_> = entries
            .iter()
            .map(|e| self.submit(&e.encode()))
            .collect::<yinzheng_log::Result<_>>()?;
        Ok(pending
            .into_iter()
            .map(|p| p.wait())
            .collect::<yinzheng_log::Result<_>>()?)
    }

    fn evidence(&self, index: u64) -> Result<String> {
        // The witnessed checkpoint when it covers the entry (it carries the
        // witnesses' cosignatures), else the log's latest. The checkpoint
        // and its note are read separately: retry if a batch was published
        // in between.
        // A witnessed checkpoint that cannot be read (damaged, or of keys
        // this log no longer has) is passed over: the log's own checkpoint
        // still proves the entry, and the witnessing loop reports the file.
        let (note, size) = match self.witnessed_covering(index).ok().flatten() {
            Some(w) => w,
            None => loop {
                let cp = self.checkpoint();
                let note = self.checkpoint_note();
                if note.starts_with(&cp.to_text()) {
                    break (note, cp.size());
                }
            },
        };
        let proof = self.prove_inclusion(index, size)?;
        let entry = Log::entry(self, index)?;
        Ok(Evidence::new(&entry, index, proof, &note).to_text())
    }

    fn size(&self) -> u64 {
        self.checkpoint().size()
    }

    fn entry(&self, index: u64) -> Result<Vec<u8>> {
        Ok(Log::entry(self, index)?)
    }
}
