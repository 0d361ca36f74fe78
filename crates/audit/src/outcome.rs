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
    /// For an archive package: the four-property check (DA/T 70), the
    /// report's checks grouped by property.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub properties: Vec<Property>,
}

/// One of the four properties of an electronic record (DA/T 70 四性检测)
/// and what was checked for it.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Property {
    /// `authenticity`, `integrity`, `usability` or `security`.
    pub key: &'static str,
    /// Its Chinese name (真实性, 完整性, 可用性, 安全性).
    pub name: &'static str,
    /// `passed`, `passed with warnings`, `not passed` (a check failed) or
    /// `not applicable` (nothing was checked for it).
    pub result: &'static str,
    /// How many checks passed, failed, warned.
    pub passed: usize,
    /// Checks failed.
    pub failed: usize,
    /// Checks with a warning.
    pub warnings: usize,
    /// What was checked: each top-level check, and every failure and
    /// warning, as `[status] subject: message`.
    pub findings: Vec<String>,
}

/// The four properties, in the order DA/T 70 lists them, with what each means here.
pub const PROPERTIES: [(&str, &str); 4] = [
    ("authenticity", "真实性"),
    ("integrity", "完整性"),
    ("usability", "可用性"),
    ("security", "安全性"),
];

/// Group `report`'s checks by property: a check belongs to the property its
/// id starts with (`integrity`, `authenticity …/cms`, …).
pub fn properties_of(report: &VerificationReport) -> Vec<Property> {
    use yinzheng_pki::CheckStatus;
    PROPERTIES
        .iter()
        .map(|(key, name)| {
            let mut p = Property {
                key,
                name,
                result: "passed",
                passed: 0,
                failed: 0,
                warnings: 0,
                findings: Vec::new(),
            };
            for c in report.checks().iter().filter(|c| c.id.starts_with(key)) {
                let top = c.id == *key;
                let tag = match c.status {
                    CheckStatus::Passed => {
                        p.passed += 1;
                        "ok"
                    }
                    CheckStatus::Failed => {
                        p.failed += 1;
                        "FAIL"
                    }
                    CheckStatus::Warning => {
                        p.warnings += 1;
                        "warn"
                    }
                    _ => "skip",
                };
                if top || tag == "FAIL" || tag == "warn" {
                    let what = c.id.strip_prefix(key).unwrap_or(&c.id).trim_start();
                    let what = if what.is_empty() {
                        c.subject.clone()
                    } else {
                        format!("{what} ({})", c.subject)
                    };
                    p.findings.push(format!("[{tag}] {what}: {}", c.message));
                }
            }
            p.result = if p.failed > 0 {
                "not passed"
            } else if p.passed == 0 {
                "not applicable"
            } else if p.warnings > 0 {
                "passed with warnings"
            } else {
                "passed"
            };
            p
        })
        .collect()
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
        if !self.properties.is_empty() {
            writeln!(f, "  four-property check (DA/T 70 四性检测):")?;
            for p in &self.properties {
                writeln!(
                    f,
                    "    {} {}: {} ({} passed, {} failed, {} warnings)",
                    p.name, p.key, p.result, p.passed, p.failed, p.warnings
                )?;
                for x in &p.findings {
                    writeln!(f, "      {x}")?;
                }
            }
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
