//! Verification receipts (`yinzheng-receipt/1`): one answer of the verify
//! server, proven by a batch note signed with a log key and an inclusion path.

use crate::auditor::{Auditor, fail, log_sub, ms_to_system};
use crate::outcome::{Outcome, TimeBasis, TimeSource};
use std::time::SystemTime;
use yinzheng_anchor::{Error as LogError, Receipt, ReceiptBody, base64, verify_receipt};
use yinzheng_pki::{SubIndication, VerificationReport, rfc3339};

/// The body fields in reading order, each prefixed with `prefix`.
fn body_facts(b: &ReceiptBody, prefix: &str) -> Vec<(String, String)> {
    let opt = |v: Option<String>| v.unwrap_or_else(|| "-".into());
    [
        ("operation", b.operation.clone()),
        ("subject", b.subject.clone()),
        ("caller", b.caller.clone()),
        ("result", b.result.clone()),
        ("result code", opt(b.result_code.map(|c| c.to_string()))),
        (
            "answered at",
            format!("{} ({} ms)", rfc3339(ms_to_system(b.time_ms)), b.time_ms),
        ),
        ("request sm3", b.request_sm3.clone()),
        ("usage seq", opt(b.usage_seq.map(|s| s.to_string()))),
        ("usage sm3", opt(b.usage_sm3.clone())),
        ("usage log index", opt(b.log_index.map(|i| i.to_string()))),
    ]
    .into_iter()
    .map(|(k, v)| (format!("{prefix}{k}"), v))
    .collect()
}

impl Auditor {
    /// Verify a receipt (JSON, `yinzheng-receipt/1`): the batch note is
    /// signed by a log verifier key of the trust file (none failing), names
    /// the trusted log's origin, and the body is included in the signed batch
    /// root at the receipt's index. A batch is signed by the log key alone:
    /// when the trust file requires a witness quorum, the receipt's usage
    /// record must also be shown in a witnessed checkpoint
    /// ([`Self::verify_receipt_anchored`]); without that evidence the
    /// receipt is INDETERMINATE.
    pub fn verify_receipt(&self, bytes: &[u8], now: SystemTime) -> Outcome {
        self.verify_receipt_anchored(bytes, None, now)
    }

    /// [`Self::verify_receipt`], with the tlog-proof evidence of the
    /// receipt's usage record (`yinzheng license usage --evidence SEQ`):
    /// its checkpoint opened as every checkpoint is (log keys, witness
    /// quorum), its entry a `license.use` entry whose digest is the
    /// receipt's `usageSm3`, at the receipt's `logIndex` when it has one.
    pub fn verify_receipt_anchored(
        &self,
        bytes: &[u8],
        usage_evidence: Option<&[u8]>,
        now: SystemTime,
    ) -> Outcome {
        let mut out = Outcome {
            report: VerificationReport::new("receipt", rfc3339(now)),
            time_basis: TimeBasis {
                time: rfc3339(now),
                source: TimeSource::None,
                reason: "receipts judge a Merkle path and a note signature, which do not expire"
                    .into(),
            },
            facts: Vec::new(),
            events: Vec::new(),
            picture: None,
            properties: Vec::new(),
        };
        let r = &mut out.report;
        let receipt = match Receipt::from_json(bytes) {
            Ok(x) => x,
            Err(e) => {
                fail(
                    r,
                    "format",
                    "receipt",
                    SubIndication::FormatFailure,
                    e.to_string(),
                );
                return out;
            }
        };
        let (origin, _, keys) = match self.log_keys() {
            Ok(k) => k,
            Err(m) => {
                fail(r, "log", "trust", SubIndication::NoCertificateChainFound, m);
                return out;
            }
        };
        let v = match verify_receipt(&receipt, keys) {
            Ok(v) => v,
            Err(e) => {
                let msg = match e {
                    LogError::InvalidProof(_) => {
                        format!("{e}: the body, index or path is not what the log key signed")
                    }
                    _ => e.to_string(),
                };
                fail(r, "receipt", "batch", log_sub(&e), msg);
                out.facts = body_facts(&receipt.body, "claimed ");
                return out;
            }
        };
        if v.batch.origin != *origin {
            fail(
                r,
                "origin",
                "batch note",
                SubIndication::SigConstraintsFailure,
                format!(
                    "the batch is for log {:?}, the trusted log is {origin:?}",
                    v.batch.origin
                ),
            );
            out.facts = body_facts(&receipt.body, "claimed ");
            return out;
        }
        r.pass(
            "signature",
            "batch note",
            format!(
                "batch of {} signed by {} at {}",
                v.batch.size,
                v.signed_by.join(", "),
                rfc3339(ms_to_system(v.batch.time_ms))
            ),
        );
        r.pass(
            "inclusion",
            "receipt",
            format!(
                "body is leaf {} of the batch, its path leads to the signed root ({})",
                v.index, v.batch.hash
            ),
        );
        out.facts = body_facts(&v.body, "");
        out.facts.extend([
            (
                "batch time".into(),
                format!(
                    "{} ({} ms)",
                    rfc3339(ms_to_system(v.batch.time_ms)),
                    v.batch.time_ms
                ),
            ),
            ("signed by".into(), v.signed_by.join(", ")),
            ("log origin".into(), v.batch.origin.clone()),
            (
                "batch".into(),
                format!("leaf {} of {}", v.index, v.batch.size),
            ),
            ("batch root".into(), base64::encode(&v.batch.root)),
        ]);
        self.receipt_anchoring(&mut out, &v.body, usage_evidence);
        out
    }

    /// The receipt's usage record in the log: required when the trust file
    /// requires witnesses, checked whenever its evidence is given.
    fn receipt_anchoring(&self, out: &mut Outcome, body: &ReceiptBody, evidence: Option<&[u8]>) {
        let r = &mut out.report;
        let quorum = self.trust.witnesses.quorum();
        if quorum > 0 && body.usage_sm3.is_none() {
            r.fail(
                "anchoring",
                "usage record",
                yinzheng_pki::Indication::Indeterminate,
                SubIndication::SigConstraintsFailure,
                format!(
                    "the trust file requires {quorum} witness(es), and this receipt names no usage \
                     record to find in the log: only the log's key vouches for it"
                ),
            );
            return;
        }
        let Some(evidence) = evidence else {
            if quorum > 0 {
                r.fail(
                    "anchoring",
                    "usage record",
                    yinzheng_pki::Indication::Indeterminate,
                    SubIndication::SigConstraintsFailure,
                    format!(
                        "the trust file requires {quorum} witness(es), and a receipt batch is signed by the \
                         log's key alone: give the evidence of its usage record (`yinzheng license usage \
                         --evidence {}`) to show it in a witnessed checkpoint",
                        body.usage_seq.map_or("SEQ".into(), |s| s.to_string())
                    ),
                );
            }
            return;
        };
        let Some(sm3) = &body.usage_sm3 else {
            fail(
                r,
                "anchoring",
                "usage record",
                SubIndication::SigConstraintsFailure,
                "the receipt names no usage record: nothing to find in the log".into(),
            );
            return;
        };
        let index = match yinzheng_anchor::Evidence::parse(evidence) {
            Ok(ev) => ev.index(),
            Err(e) => {
                fail(
                    r,
                    "anchoring",
                    "usage evidence",
                    SubIndication::FormatFailure,
                    e.to_string(),
                );
                return;
            }
        };
        if let Some(claimed) = body.log_index
            && claimed != index
        {
            fail(
                r,
                "anchoring",
                "usage evidence",
                SubIndication::SigConstraintsFailure,
                format!(
                    "proves log entry {index}; the receipt says its usage record is entry {claimed}"
                ),
            );
            return;
        }
        let mut events = Vec::new();
        let Some(entry) =
            self.prove_entry(r, "usage evidence", Some(evidence), &[], index, &mut events)
        else {
            return;
        };
        let digest = entry.digests().first().map(hex::encode);
        if entry.kind() != "license.use" || digest.as_deref() != Some(sm3.as_str()) {
            fail(
                r,
                "anchoring",
                "usage evidence",
                SubIndication::HashFailure,
                format!(
                    "log entry {index} is a {} entry with digest {}, not the receipt's usage record {sm3}",
                    entry.kind(),
                    digest.unwrap_or_else(|| "-".into())
                ),
            );
            return;
        }
        // The entry also names who asked (and the license, when there is
        // one): they must be the receipt's, or a genuine record could be
        // attached to a forged receipt. (The answer itself, `result` and
        // `operation`, is in the record's digest only, not in the entry.)
        if entry.actor() != body.caller {
            fail(
                r,
                "anchoring",
                "usage evidence",
                SubIndication::SigConstraintsFailure,
                format!(
                    "log entry {index} was made for caller {:?}, the receipt's caller is {:?}",
                    entry.actor(),
                    body.caller
                ),
            );
            return;
        }
        if !entry.subjects().is_empty() && !entry.subjects().contains(&body.subject) {
            r.warn(
                "anchoring",
                "usage evidence",
                format!(
                    "log entry {index} names {}, the receipt's subject is {:?}",
                    entry.subjects().join(", "),
                    body.subject
                ),
            );
        }
        r.pass(
            "anchoring",
            "usage record",
            format!(
                "the receipt's usage record is log entry {index}, in a checkpoint the log signed{}",
                if quorum > 0 {
                    " and the witnesses' quorum cosigned"
                } else {
                    ""
                }
            ),
        );
        out.events.extend(events);
    }
}
