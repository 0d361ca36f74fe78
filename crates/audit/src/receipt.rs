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
    /// root at the receipt's index. Witness quorums apply to checkpoints, not
    /// to receipt batches (the log key alone signs those).
    pub fn verify_receipt(&self, bytes: &[u8], now: SystemTime) -> Outcome {
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
        out
    }
}
