//! What an audit found: the shared verification report, the time signatures
//! were judged at and why, and the facts an auditor reads first.

use serde::Serialize;
use std::fmt;
use yinzheng_pki::VerificationReport;

/// Where the validation time came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum TimeSource {
    /// A verified RFC 3161 time stamp on the signature.
    TimeStamp,
    /// The time of a log entry whose inclusion in a signed checkpoint was proven.
    LogEntry,
    /// The auditor's clock: nothing proves an earlier existence.
    Now,
    /// Not applicable (log audits judge no certificate).
    None,
}

/// The time signatures were judged at, and why that one.
#[derive(Clone, Debug, Serialize)]
pub struct TimeBasis {
    /// RFC 3339.
    pub time: String,
    /// Its source.
    pub source: TimeSource,
    /// A sentence an auditor can quote.
    pub reason: String,
}

/// One lifecycle event or usage record whose log entry was proven.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ProvenEvent {
    /// Log index.
    pub index: u64,
    /// Entry kind (`license.issued`, `license.revoked`, `license.use`, …).
    pub kind: String,
    /// Entry time (RFC 3339), as logged.
    pub time: String,
    /// Who caused it, as logged.
    pub actor: String,
    /// Subjects, as logged.
    pub subjects: Vec<String>,
    /// SM3 digests (hex), as logged.
    pub digests: Vec<String>,
    /// Whether its inclusion proof verified.
    pub proven: bool,
}

/// The result of one `yinzheng-audit` command.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Outcome {
    /// Indication, checks, chain, revocation sources.
    #[serde(flatten)]
    pub report: VerificationReport,
    /// The time signatures were judged at.
    pub time_basis: TimeBasis,
    /// Key facts in reading order (license, status, entry counts…).
    pub facts: Vec<(String, String)>,
    /// Proven log entries (bundle events and usage, license history).
    pub events: Vec<ProvenEvent>,
    /// The seal picture (MIME type, bytes), for the HTML view.
    #[serde(skip)]
    pub picture: Option<(String, Vec<u8>)>,
}

impl Outcome {
    /// True when the report passed.
    pub fn passed(&self) -> bool {
        self.report.passed()
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.report)?;
        writeln!(
            f,
            "  judged at: {} ({:?}): {}",
            self.time_basis.time, self.time_basis.source, self.time_basis.reason
        )?;
        for (k, v) in &self.facts {
            writeln!(f, "  {k}: {v}")?;
        }
        if !self.events.is_empty() {
            writeln!(f, "  log entries:")?;
            for e in &self.events {
                writeln!(
                    f,
                    "    #{} {} {} by {}{}{}",
                    e.index,
                    e.time,
                    e.kind,
                    if e.actor.is_empty() { "-" } else { &e.actor },
                    if e.proven {
                        "  [proven]"
                    } else {
                        "  [NOT PROVEN]"
                    },
                    if e.digests.is_empty() {
                        String::new()
                    } else {
                        format!("  sm3 {}", e.digests.join(", "))
                    }
                )?;
            }
        }
        Ok(())
    }
}
