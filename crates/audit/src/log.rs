//! Log-wide checks: the whole log recomputed from its entries, consistency
//! between two checkpoints, and one license's history proven entry by entry.

use crate::auditor::{Auditor, fail, log_sub, proven_event};
use crate::outcome::{Outcome, TimeBasis, TimeSource};
use std::collections::BTreeMap;
use std::path::Path;
use std::time::SystemTime;
use yinzheng_anchor::{
    Entry, Hash, TileReader, audit_entries, base64, inclusion_proof, verify_consistency,
    verify_inclusion,
};
use yinzheng_pki::{SubIndication, VerificationReport, rfc3339};

fn outcome(object: String, now: SystemTime) -> Outcome {
    Outcome {
        report: VerificationReport::new(object, rfc3339(now)),
        time_basis: TimeBasis {
            time: rfc3339(now),
            source: TimeSource::None,
            reason: "log checks judge hashes and checkpoint signatures, which do not expire".into(),
        },
        facts: Vec::new(),
        events: Vec::new(),
        picture: None,
        properties: Vec::new(),
    }
}

/// Read a consistency proof: the text or `--json` output of `yinzheng log
/// consistency`, or bare base64 hashes one per line. Returns the hashes.
pub fn parse_consistency_proof(bytes: &[u8]) -> Result<Vec<Hash>, String> {
    let text = std::str::from_utf8(bytes).map_err(|_| "the proof is not UTF-8".to_string())?;
    let lines: Vec<String> = if text.trim_start().starts_with('{') {
        let v: serde_json::Value =
            serde_json::from_str(text).map_err(|e| format!("proof JSON: {e}"))?;
        v.get("proof")
            .and_then(|p| p.as_array())
            .ok_or("proof JSON has no \"proof\" array")?
            .iter()
            .map(|h| {
                h.as_str()
                    .map(str::to_string)
                    .ok_or("proof hash is not a string")
            })
            .collect::<Result<_, _>>()?
    } else {
        text.lines()
            .map(str::trim)
            .filter(|l| {
                !l.is_empty()
                    && !l.starts_with("consistency ")
                    && !l.starts_with("old root ")
                    && !l.starts_with("new root ")
            })
            .map(str::to_string)
            .collect()
    };
    lines
        .iter()
        .map(|l| {
            base64::decode(l)
                .and_then(|h| <Hash>::try_from(h).ok())
                .ok_or_else(|| format!("{l:?} is not base64 of a 32-byte hash"))
        })
        .collect()
}

impl Auditor {
    /// Audit a whole log: open its checkpoint with the trusted keys and
    /// origin, re-derive every hash tile and the root from the entry bundles,
    /// compare each with the stored file and the root with the signed one,
    /// and count entries by kind.
    pub fn audit_log(&self, tiles: &Path, now: SystemTime) -> Outcome {
        let mut out = outcome(format!("log tiles {}", tiles.display()), now);
        let (origin, hash, keys) = match self.log_keys() {
            Ok(k) => k,
            Err(m) => {
                let r = &mut out.report;
                fail(r, "log", "trust", SubIndication::NoCertificateChainFound, m);
                return out;
            }
        };
        let note = match std::fs::read(tiles.join("checkpoint")) {
            Ok(n) => n,
            Err(e) => {
                let msg = format!("checkpoint: {e}");
                fail(
                    &mut out.report,
                    "checkpoint",
                    "checkpoint",
                    SubIndication::FormatFailure,
                    msg,
                );
                return out;
            }
        };
        if let Err(e) = self.open_checkpoint(&note) {
            e.record(&mut out.report, "checkpoint", "checkpoint");
            return out;
        }
        let mut kinds: BTreeMap<String, u64> = BTreeMap::new();
        let mut visit = |_: u64, e: &[u8]| {
            let k = Entry::decode(e)
                .map(|e| e.kind().to_string())
                .unwrap_or_else(|_| "(not a canonical entry)".into());
            *kinds.entry(k).or_default() += 1;
        };
        match audit_entries(tiles, *hash, keys, Some(origin), &mut visit) {
            Ok(rep) => {
                let c = rep.checkpoint.checkpoint();
                out.report.pass(
                    "checkpoint",
                    "checkpoint",
                    format!(
                        "signed by {} for {} at tree size {}",
                        rep.checkpoint.verified_by().join(", "),
                        c.origin(),
                        c.size()
                    ),
                );
                out.report.pass(
                    "tiles",
                    "tile/",
                    format!(
                        "{} entries hashed, {} hash tiles re-derived and identical, root {} \
                         equals the signed one",
                        rep.entries,
                        rep.tiles,
                        base64::encode(c.root())
                    ),
                );
                out.facts.push(("origin".into(), c.origin().to_string()));
                out.facts.push(("tree size".into(), c.size().to_string()));
                out.facts.push(("root".into(), base64::encode(c.root())));
                out.facts
                    .push(("tiles compared".into(), rep.tiles.to_string()));
                for (k, n) in kinds {
                    out.facts.push((format!("entries {k}"), n.to_string()));
                }
            }
            Err(e) => {
                let sub = log_sub(&e);
                fail(&mut out.report, "tiles", "tile/", sub, e.to_string());
            }
        }
        out
    }

    /// Check that the tree of the `old` checkpoint is a prefix of the `new`
    /// one's (RFC 9162 §2.1.4.2): both signed by the trusted log, `proof`
    /// from `yinzheng log consistency`. A log that rewrote history fails.
    pub fn consistency(&self, old: &[u8], new: &[u8], proof: &[Hash], now: SystemTime) -> Outcome {
        let mut out = outcome("checkpoint consistency".into(), now);
        let r = &mut out.report;
        let mut open = |note: &[u8], name: &str| match self.open_checkpoint(note) {
            Ok(cp) => {
                r.pass(
                    "checkpoint",
                    name,
                    format!(
                        "size {} signed by {}",
                        cp.checkpoint().size(),
                        cp.verified_by().join(", ")
                    ),
                );
                Some(cp)
            }
            Err(e) => {
                e.record(r, "checkpoint", name);
                None
            }
        };
        let (Some(o), Some(n)) = (open(old, "old checkpoint"), open(new, "new checkpoint")) else {
            return out;
        };
        let Ok((_, hash, _)) = self.log_keys() else {
            return out;
        };
        let (oc, nc) = (o.checkpoint(), n.checkpoint());
        out.facts.push(("old size".into(), oc.size().to_string()));
        out.facts.push(("new size".into(), nc.size().to_string()));
        match verify_consistency(*hash, oc.size(), nc.size(), oc.root(), nc.root(), proof) {
            Ok(()) => out.report.pass(
                "consistency",
                "proof",
                format!(
                    "the tree of size {} is a prefix of the tree of size {}: history was not rewritten",
                    oc.size(),
                    nc.size()
                ),
            ),
            Err(e) => fail(
                &mut out.report,
                "consistency",
                "proof",
                SubIndication::HashFailure,
                format!(
                    "{e}: the log of size {} is not an extension of the one of size {} \
                     (history rewritten, or the proof is for other checkpoints)",
                    nc.size(),
                    oc.size()
                ),
            ),
        }
        out
    }

    /// Look for a split view: `checkpoints` (name, note) gathered from
    /// several witnesses (`GET /latest?origin=…` of each) or relying parties,
    /// each signed by the trusted log. Two of the same size with different
    /// roots prove the log signed two histories; with `tiles` (the log's
    /// published tree) each is also checked to be a prefix of that tree, its
    /// root recomputed from the tiles at its size. A checkpoint the log
    /// signed that is not in its tree is TOTAL_FAILED (HASH_FAILURE), naming
    /// the checkpoint and the witnesses that cosigned it; one larger than the
    /// tiles cannot be placed (INDETERMINATE).
    pub fn split_view(
        &self,
        checkpoints: &[(String, Vec<u8>)],
        tiles: Option<&Path>,
        now: SystemTime,
    ) -> Outcome {
        use yinzheng_anchor::{Note, SignedCheckpoint, consistency_proof, cosigned_by, root};
        use yinzheng_pki::Indication;
        let mut out = outcome("split view".into(), now);
        let (origin, hash, keys) = match self.log_keys() {
            Ok(k) => k,
            Err(m) => {
                fail(
                    &mut out.report,
                    "log",
                    "trust",
                    SubIndication::NoCertificateChainFound,
                    m,
                );
                return out;
            }
        };
        let mut opened = Vec::new();
        for (name, note) in checkpoints {
            let cp = match SignedCheckpoint::open(note, keys, Some(origin)) {
                Ok(cp) => cp,
                Err(e) => {
                    fail(
                        &mut out.report,
                        "checkpoint",
                        name,
                        log_sub(&e),
                        format!("checkpoint: {e}"),
                    );
                    continue;
                }
            };
            let witnesses = match Note::parse(note)
                .and_then(|n| cosigned_by(&n, self.trust.witnesses.keys()))
            {
                Ok(w) => w,
                Err(e) => {
                    fail(
                        &mut out.report,
                        "checkpoint",
                        name,
                        log_sub(&e),
                        format!("witness cosignatures: {e}"),
                    );
                    continue;
                }
            };
            let c = cp.checkpoint();
            let by = if witnesses.is_empty() {
                "no trusted witness".to_string()
            } else {
                witnesses.join(", ")
            };
            out.report.pass(
                "checkpoint",
                name,
                format!(
                    "size {} root {} signed by {}; cosigned by {by}",
                    c.size(),
                    base64::encode(c.root()),
                    cp.verified_by().join(", ")
                ),
            );
            opened.push((name.clone(), c.clone(), by));
        }
        let mut split = false;
        for (i, (an, a, aw)) in opened.iter().enumerate() {
            for (bn, b, bw) in &opened[i + 1..] {
                if a.size() == b.size() && a.root() != b.root() {
                    split = true;
                    fail(
                        &mut out.report,
                        "split-view",
                        &format!("{an} / {bn}"),
                        SubIndication::HashFailure,
                        format!(
                            "the log signed two different trees of size {}: {an} (cosigned by {aw}) and {bn} (cosigned by {bw}) — a split view",
                            a.size()
                        ),
                    );
                }
            }
        }
        if let Some(tiles) = tiles {
            // The tiles are only the log's view once their data reproduces
            // the root of the checkpoint they carry, which the log signed.
            let view = TileReader::open_checkpoint(tiles, *hash, keys, Some(origin))
                .and_then(|(reader, cp)| {
                    let n = cp.checkpoint().size();
                    let ours = root(&reader, n)?;
                    if ours != *cp.checkpoint().root() {
                        return Err(yinzheng_anchor::Error::Mismatch(format!(
                            "the tiles' data gives another root at size {n} than their signed checkpoint"
                        )));
                    }
                    Ok((reader, cp))
                });
            let tiles_name = tiles.display().to_string();
            match view {
                Ok((reader, cp)) => {
                    let (n, top) = (cp.checkpoint().size(), *cp.checkpoint().root());
                    out.facts.push(("log tree size".into(), n.to_string()));
                    for (name, c, by) in &opened {
                        if c.size() == n {
                            if *c.root() == top {
                                out.report.pass(
                                    "in-log",
                                    name,
                                    format!(
                                        "size {n}: the log's published checkpoint: the same history"
                                    ),
                                );
                            } else {
                                split = true;
                                fail(
                                    &mut out.report,
                                    "in-log",
                                    name,
                                    SubIndication::HashFailure,
                                    format!(
                                        "size {n}: the log signed this checkpoint (cosigned by {by}) and another root for the same size in its published tree — a split view"
                                    ),
                                );
                            }
                            continue;
                        }
                        if c.size() == 0 {
                            if *c.root() == hash.empty_root() {
                                out.report.pass("in-log", name, "size 0: the empty tree");
                            } else {
                                fail(
                                    &mut out.report,
                                    "in-log",
                                    name,
                                    SubIndication::HashFailure,
                                    "size 0 with a root that is not the empty tree's".into(),
                                );
                            }
                            continue;
                        }
                        if c.size() > n {
                            out.report.fail(
                                "in-log",
                                name,
                                Indication::Indeterminate,
                                SubIndication::TryLater,
                                format!("size {} is beyond the log's published tree ({n}): fetch the tiles again", c.size()),
                            );
                            continue;
                        }
                        // A consistency proof from the tiles, checked against
                        // both signed roots: a pass is sound whatever the
                        // tiles hold. A failure proves a split only when the
                        // tiles' own root at that size is consistent with
                        // their signed root and differs from the checkpoint's;
                        // otherwise the tiles are at fault (INDETERMINATE).
                        let m = c.size();
                        let indeterminate = |out: &mut Outcome, why: String| {
                            out.report.fail(
                                "in-log",
                                name,
                                Indication::Indeterminate,
                                SubIndication::TryLater,
                                why,
                            )
                        };
                        let proof = match consistency_proof(&reader, m, n) {
                            Ok(p) => p,
                            Err(e) => {
                                indeterminate(
                                    &mut out,
                                    format!(
                                        "size {m}: the log's tiles cannot prove it against size {n}: {e}"
                                    ),
                                );
                                continue;
                            }
                        };
                        match verify_consistency(*hash, m, n, c.root(), &top, &proof) {
                            Ok(()) => out.report.pass(
                                "in-log",
                                name,
                                format!("size {m}: a prefix of the log's published tree of size {n}: the same history"),
                            ),
                            Err(e) => {
                                let theirs = root(&reader, m);
                                let proven = matches!(&theirs, Ok(r) if r != c.root()
                                    && verify_consistency(*hash, m, n, r, &top, &proof).is_ok());
                                if proven {
                                    split = true;
                                    fail(
                                        &mut out.report,
                                        "in-log",
                                        name,
                                        SubIndication::HashFailure,
                                        format!(
                                            "size {m}: the log signed this checkpoint (cosigned by {by}) but it is not a prefix of its published tree of size {n} ({e}) — a split view"
                                        ),
                                    );
                                } else {
                                    indeterminate(&mut out, format!("size {m}: the log's tiles are not consistent with their own signed checkpoint ({e}): fetch them again"));
                                }
                            }
                        }
                    }
                }
                Err(e) => fail(
                    &mut out.report,
                    "tiles",
                    &tiles_name,
                    log_sub(&e),
                    format!("the log's tiles: {e}"),
                ),
            }
        } else if opened.windows(2).any(|w| w[0].1.size() != w[1].1.size()) && !split {
            out.report.fail(
                "split-view",
                "checkpoints",
                Indication::Indeterminate,
                SubIndication::SigConstraintsFailure,
                "checkpoints of different sizes cannot be compared without the log's tiles (--tiles) or a consistency proof",
            );
        }
        out.facts
            .push(("checkpoints".into(), opened.len().to_string()));
        out.facts.push((
            "split view".into(),
            if split {
                "yes".into()
            } else {
                "none found".into()
            },
        ));
        out
    }

    /// Every log entry about license `id`, in log order, each proven: read
    /// from the tiles at the signed checkpoint, inclusion proof computed from
    /// the hash tiles and verified against the signed root (so an entry
    /// bundle rewritten under unchanged hash tiles fails).
    pub fn history(&self, tiles: &Path, id: &str, now: SystemTime) -> Outcome {
        let mut out = outcome(format!("history of {id}"), now);
        let (origin, hash, keys) = match self.log_keys() {
            Ok(k) => k,
            Err(m) => {
                let r = &mut out.report;
                fail(r, "log", "trust", SubIndication::NoCertificateChainFound, m);
                return out;
            }
        };
        let (reader, cp) = match TileReader::open_checkpoint(tiles, *hash, keys, Some(origin)) {
            Ok(x) => x,
            Err(e) => {
                fail(
                    &mut out.report,
                    "checkpoint",
                    "checkpoint",
                    log_sub(&e),
                    e.to_string(),
                );
                return out;
            }
        };
        if let Err(e) = self.open_checkpoint(cp.note().as_bytes()) {
            e.record(&mut out.report, "checkpoint", "checkpoint");
            return out;
        }
        let size = cp.checkpoint().size();
        out.facts.push(("license".into(), id.to_string()));
        out.facts.push((
            "checkpoint".into(),
            format!("{} size {size}", cp.checkpoint().origin()),
        ));
        let bundles = size.div_ceil(yinzheng_anchor::TILE_WIDTH);
        for t in 0..bundles {
            let entries = match reader.bundle(t) {
                Ok(b) => b,
                Err(e) => {
                    let p = format!("tile/entries/{t}");
                    fail(&mut out.report, "entries", &p, log_sub(&e), e.to_string());
                    return out;
                }
            };
            for (i, bytes) in entries.iter().enumerate() {
                let Ok(e) = Entry::decode(bytes) else {
                    continue;
                };
                if !e.subjects().iter().any(|s| s == id) {
                    continue;
                }
                let index = t * yinzheng_anchor::TILE_WIDTH + i as u64;
                let proven = inclusion_proof(&reader, index, size).and_then(|p| {
                    verify_inclusion(
                        *hash,
                        &hash.leaf_hash(bytes),
                        index,
                        size,
                        &p,
                        cp.checkpoint().root(),
                    )
                });
                let label = format!("entry #{index}");
                match &proven {
                    Ok(()) => out.report.pass(
                        "inclusion",
                        &label,
                        format!(
                            "{} at {} proven in the checkpoint of size {size}",
                            e.kind(),
                            rfc3339(crate::auditor::ms_to_system(e.time_ms()))
                        ),
                    ),
                    Err(err) => fail(
                        &mut out.report,
                        "inclusion",
                        &label,
                        log_sub(err),
                        format!("{}: {err}", e.kind()),
                    ),
                }
                out.events.push(proven_event(index, &e, proven.is_ok()));
            }
        }
        if out.events.is_empty() {
            fail(
                &mut out.report,
                "history",
                id,
                SubIndication::NoCertificateChainFound,
                format!("no entry about {id} in the first {size} entries"),
            );
        }
        out
    }
}
