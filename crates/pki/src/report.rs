//! The verification report shared by every crate that verifies something
//! (certificates now; seals, documents and licenses later).
//!
//! Modelled on the EU DSS library / ETSI EN 319 102-1: a main indication, a
//! sub-indication saying why, and the ordered list of checks with their
//! outcome and a human message. `Serialize` gives the JSON form the API and
//! `--json` print; `Display` gives the text form for people.

use serde::Serialize;
use std::fmt;
use std::time::SystemTime;

/// Main indication (ETSI EN 319 102-1 §5.1.3).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[non_exhaustive]
pub enum Indication {
    /// Every check passed.
    TotalPassed,
    /// A check failed in a way more information cannot repair.
    TotalFailed,
    /// The outcome cannot be decided with the information at hand.
    Indeterminate,
}

/// Sub-indication (ETSI EN 319 102-1 §5.1.3, the ones Yinzheng produces).
///
/// When several checks fail TOTAL_FAILED, the report's sub-indication is the
/// gravest of theirs ([`SubIndication::rank`]), so that evidence of tampering
/// is never hidden behind a policy or format finding met earlier (a changed
/// page stays HASH_FAILURE even when a coverage rule failed first). From
/// gravest to least grave:
///
/// 1. `HashFailure`, `SigCryptoFailure`: the signed bytes or the signature
///    value are not what the signer made (tampering, forgery);
/// 2. `Revoked`, `RevokedOnHold`: the signer's authority was withdrawn;
/// 3. `SigConstraintsFailure`, `ChainConstraintsFailure`,
///    `NoCertificateChainFound`, `CryptoConstraintsFailure`, `Expired`,
///    `NotYetValid`: the signature holds but breaks a rule of trust (what it
///    covers, who may sign, what is trusted, when);
/// 4. `FormatFailure`: something could not be read as specified;
/// 5. `TryLater`: information is missing (normally INDETERMINATE).
///
/// Within one rank the first finding stays (an expired certificate met before
/// a seal outside its window stays EXPIRED). ETSI EN 319 102-1 names no
/// order; this one is ours.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[non_exhaustive]
pub enum SubIndication {
    /// A signature value is wrong.
    SigCryptoFailure,
    /// A digest over signed data does not match.
    HashFailure,
    /// A certificate was revoked before the validation time.
    Revoked,
    /// A certificate is on hold (certificateHold) at the validation time.
    RevokedOnHold,
    /// A certificate's notAfter is before the validation time.
    Expired,
    /// A certificate's notBefore is after the validation time.
    NotYetValid,
    /// No path to a trust anchor could be built.
    NoCertificateChainFound,
    /// A path was found but violates a constraint (CA flag, path length, key usage, critical extension).
    ChainConstraintsFailure,
    /// The object is not well formed.
    FormatFailure,
    /// Revocation information is missing or stale; ask again later.
    TryLater,
    /// A signature algorithm or key is not supported.
    CryptoConstraintsFailure,
    /// The signature is valid but violates a constraint of its context (e.g. a
    /// signer not authorised by the seal, a seal outside its validity window).
    SigConstraintsFailure,
    /// A certificate (or seal) is outside its validity period at the
    /// validation time, and nothing proves that the signature existed while it
    /// was valid (no time stamp, no log entry): INDETERMINATE, since the
    /// signature may be older, or back-dated.
    OutOfBoundsNoPoe,
    /// A certificate (or seal) was revoked before the validation time, and
    /// nothing proves that the signature existed before the revocation:
    /// INDETERMINATE.
    RevokedNoPoe,
    /// The data a signature signs was not given, so nothing is bound to it.
    SignedDataNotFound,
}

impl SubIndication {
    /// How grave the finding is, higher is graver (see the order on the type).
    /// Among TOTAL_FAILED findings the report keeps the highest rank.
    pub fn rank(self) -> u8 {
        match self {
            SubIndication::HashFailure | SubIndication::SigCryptoFailure => 5,
            SubIndication::Revoked | SubIndication::RevokedOnHold | SubIndication::RevokedNoPoe => {
                4
            }
            SubIndication::SigConstraintsFailure
            | SubIndication::ChainConstraintsFailure
            | SubIndication::NoCertificateChainFound
            | SubIndication::CryptoConstraintsFailure
            | SubIndication::Expired
            | SubIndication::NotYetValid
            | SubIndication::OutOfBoundsNoPoe => 3,
            SubIndication::FormatFailure | SubIndication::SignedDataNotFound => 2,
            SubIndication::TryLater => 1,
        }
    }
}

/// Outcome of one check.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum CheckStatus {
    /// The check passed.
    Passed,
    /// The check failed; the report's indication says how badly.
    Failed,
    /// Passed with a reservation the reader should see (e.g. tolerated encoding).
    Warning,
    /// Not performed (not applicable, or skipped by configuration).
    Skipped,
}

/// One check in the report.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Check {
    /// Stable identifier (`signature`, `validity`, `basic-constraints`, …).
    pub id: String,
    /// Which object the check was about (a certificate subject, "CRL of …").
    pub subject: String,
    /// The outcome.
    pub status: CheckStatus,
    /// What was checked and what was found.
    pub message: String,
}

/// One certificate of the chain found, leaf first.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ChainElement {
    /// Subject DN (RFC 4514 text).
    pub subject: String,
    /// Issuer DN.
    pub issuer: String,
    /// Serial number, hex.
    pub serial: String,
    /// notBefore, RFC 3339.
    pub not_before: String,
    /// notAfter, RFC 3339.
    pub not_after: String,
    /// SM3 of the certificate DER, hex: how reports name certificates.
    pub sm3: String,
    /// True for the trust anchor.
    pub trust_anchor: bool,
}

/// Where revocation status came from.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RevocationSource {
    /// Which certificate the status is for (subject DN).
    pub subject: String,
    /// `crl` or `ocsp`.
    pub kind: String,
    /// thisUpdate (CRL) or producedAt (OCSP), RFC 3339.
    pub issued_at: String,
    /// nextUpdate, RFC 3339, if given.
    pub next_update: Option<String>,
    /// `good`, `revoked`, `hold`.
    pub status: String,
}

/// The result of verifying something: indication, sub-indication, every check.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct VerificationReport {
    indication: Indication,
    sub_indication: Option<SubIndication>,
    object: String,
    validation_time: String,
    checks: Vec<Check>,
    chain: Vec<ChainElement>,
    revocation: Vec<RevocationSource>,
    /// The earliest time at which, the same inputs checked again, this
    /// report could read differently: a certificate's or seal's end, a CRL's
    /// or OCSP response's next update (`None`: nothing bounded it).
    #[serde(skip)]
    holds_until: Option<SystemTime>,
}

impl VerificationReport {
    /// A report about `object` at `validation_time` (RFC 3339); starts passed.
    pub fn new(object: impl Into<String>, validation_time: impl Into<String>) -> Self {
        VerificationReport {
            indication: Indication::TotalPassed,
            sub_indication: None,
            object: object.into(),
            validation_time: validation_time.into(),
            checks: Vec::new(),
            chain: Vec::new(),
            revocation: Vec::new(),
            holds_until: None,
        }
    }

    /// Until when this report holds if nothing but the time changes: the
    /// earliest validity end, revocation next update or other time boundary
    /// its checks passed on ([`Self::limit_until`]); `None` when no check
    /// depended on the time.
    pub fn holds_until(&self) -> Option<SystemTime> {
        self.holds_until
    }

    /// Record that the report may read differently from `t` on.
    pub fn limit_until(&mut self, t: SystemTime) {
        self.holds_until = Some(self.holds_until.map_or(t, |h| h.min(t)));
    }

    /// Set the validation time (RFC 3339): a report kept from an earlier
    /// check and given again now.
    pub fn set_validation_time(&mut self, validation_time: impl Into<String>) {
        self.validation_time = validation_time.into();
    }

    /// About how many bytes the report's text takes (a cache's budget).
    pub fn approx_len(&self) -> usize {
        let checks: usize = self
            .checks
            .iter()
            .map(|c| c.id.len() + c.subject.len() + c.message.len() + 32)
            .sum();
        let chain: usize = self
            .chain
            .iter()
            .map(|c| c.subject.len() + c.issuer.len() + c.serial.len() + 160)
            .sum();
        let revocation: usize = self.revocation.iter().map(|r| r.subject.len() + 96).sum();
        self.object.len() + self.validation_time.len() + checks + chain + revocation
    }

    /// The main indication.
    pub fn indication(&self) -> Indication {
        self.indication
    }

    /// The sub-indication (None when passed).
    pub fn sub_indication(&self) -> Option<SubIndication> {
        self.sub_indication
    }

    /// True when the indication is TOTAL_PASSED.
    pub fn passed(&self) -> bool {
        self.indication == Indication::TotalPassed
    }

    /// The checks, in the order performed.
    pub fn checks(&self) -> &[Check] {
        &self.checks
    }

    /// The chain found, leaf first.
    pub fn chain(&self) -> &[ChainElement] {
        &self.chain
    }

    /// The revocation sources used.
    pub fn revocation(&self) -> &[RevocationSource] {
        &self.revocation
    }

    /// Record a passed check.
    pub fn pass(&mut self, id: &str, subject: &str, message: impl Into<String>) {
        self.push(id, subject, CheckStatus::Passed, message);
    }

    /// Record a warning (the indication is unchanged).
    pub fn warn(&mut self, id: &str, subject: &str, message: impl Into<String>) {
        self.push(id, subject, CheckStatus::Warning, message);
    }

    /// Record a skipped check.
    pub fn skip(&mut self, id: &str, subject: &str, message: impl Into<String>) {
        self.push(id, subject, CheckStatus::Skipped, message);
    }

    /// Record a failed check. A TOTAL_FAILED overrides an INDETERMINATE, an
    /// INDETERMINATE never overrides a TOTAL_FAILED; between two TOTAL_FAILED
    /// the graver sub-indication wins ([`SubIndication::rank`]), the first on a
    /// tie; between two INDETERMINATE the first stays.
    pub fn fail(
        &mut self,
        id: &str,
        subject: &str,
        indication: Indication,
        sub: SubIndication,
        message: impl Into<String>,
    ) {
        self.push(id, subject, CheckStatus::Failed, message);
        self.escalate(indication, sub);
    }

    /// Apply one failed finding to the indication (the rule documented on [`Self::fail`]).
    fn escalate(&mut self, indication: Indication, sub: SubIndication) {
        let replace = match (self.indication, indication) {
            (Indication::TotalPassed, _) => true,
            (Indication::Indeterminate, Indication::TotalFailed) => true,
            (Indication::TotalFailed, Indication::TotalFailed) => self
                .sub_indication
                .is_none_or(|current| sub.rank() > current.rank()),
            _ => false,
        };
        if replace {
            self.indication = indication;
            self.sub_indication = Some(sub);
        }
    }

    /// Fold another report (e.g. a certificate validation done as one step of a
    /// seal verification) into this one: its checks are added under `label`, its
    /// chain and revocation sources are kept, and its indication applies as one
    /// failed finding would ([`Self::fail`]).
    pub fn absorb(&mut self, label: &str, other: &VerificationReport) {
        for c in &other.checks {
            self.checks.push(Check {
                id: format!("{label}/{}", c.id),
                ..c.clone()
            });
        }
        if self.chain.is_empty() {
            self.chain = other.chain.clone();
        }
        self.revocation.extend(other.revocation.iter().cloned());
        if let Some(t) = other.holds_until {
            self.limit_until(t);
        }
        if let Some(sub) = other.sub_indication {
            self.escalate(other.indication, sub);
        }
    }

    /// Set the chain found (leaf first).
    pub fn set_chain(&mut self, chain: Vec<ChainElement>) {
        self.chain = chain;
    }

    /// Add a revocation source.
    pub fn add_revocation(&mut self, source: RevocationSource) {
        self.revocation.push(source);
    }

    fn push(&mut self, id: &str, subject: &str, status: CheckStatus, message: impl Into<String>) {
        self.checks.push(Check {
            id: id.to_string(),
            subject: subject.to_string(),
            status,
            message: message.into(),
        });
    }
}

impl fmt::Display for Indication {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Indication::TotalPassed => "TOTAL_PASSED",
            Indication::TotalFailed => "TOTAL_FAILED",
            Indication::Indeterminate => "INDETERMINATE",
        })
    }
}

impl fmt::Display for SubIndication {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = serde_json::to_value(self)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default();
        f.write_str(&s)
    }
}

impl fmt::Display for VerificationReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.indication)?;
        if let Some(s) = self.sub_indication {
            write!(f, " / {s}")?;
        }
        writeln!(f, ": {}", self.object)?;
        writeln!(f, "  validation time: {}", self.validation_time)?;
        if !self.chain.is_empty() {
            writeln!(f, "  chain:")?;
            for (i, c) in self.chain.iter().enumerate() {
                writeln!(
                    f,
                    "    {i}: {}{}  (serial {}, {} .. {})",
                    c.subject,
                    if c.trust_anchor {
                        "  [trust anchor]"
                    } else {
                        ""
                    },
                    c.serial,
                    c.not_before,
                    c.not_after
                )?;
            }
        }
        for r in &self.revocation {
            writeln!(
                f,
                "  revocation: {} via {} issued {}: {}",
                r.subject, r.kind, r.issued_at, r.status
            )?;
        }
        writeln!(f, "  checks:")?;
        for c in &self.checks {
            let mark = match c.status {
                CheckStatus::Passed => "ok  ",
                CheckStatus::Failed => "FAIL",
                CheckStatus::Warning => "warn",
                CheckStatus::Skipped => "skip",
            };
            writeln!(f, "    [{mark}] {} ({}): {}", c.id, c.subject, c.message)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report() -> VerificationReport {
        VerificationReport::new("x", "2024-01-01T00:00:00Z")
    }

    fn failed(ind: Indication, sub: SubIndication) -> VerificationReport {
        let mut r = report();
        r.fail("c", "s", ind, sub, "m");
        r
    }

    #[test]
    fn the_gravest_total_failure_wins_whatever_the_order() {
        let mut r = report();
        r.fail(
            "coverage",
            "p",
            Indication::TotalFailed,
            SubIndication::SigConstraintsFailure,
            "not covered",
        );
        r.fail(
            "reference",
            "p",
            Indication::TotalFailed,
            SubIndication::HashFailure,
            "changed",
        );
        r.fail(
            "format",
            "p",
            Indication::TotalFailed,
            SubIndication::FormatFailure,
            "junk",
        );
        assert_eq!(r.indication(), Indication::TotalFailed);
        assert_eq!(r.sub_indication(), Some(SubIndication::HashFailure));
        assert_eq!(r.checks().len(), 3);
    }

    #[test]
    fn ties_keep_the_first() {
        let mut r = failed(Indication::TotalFailed, SubIndication::SigCryptoFailure);
        r.fail(
            "c",
            "s",
            Indication::TotalFailed,
            SubIndication::HashFailure,
            "m",
        );
        assert_eq!(r.sub_indication(), Some(SubIndication::SigCryptoFailure));
        let mut r = failed(Indication::TotalFailed, SubIndication::Revoked);
        r.fail(
            "c",
            "s",
            Indication::TotalFailed,
            SubIndication::RevokedOnHold,
            "m",
        );
        assert_eq!(r.sub_indication(), Some(SubIndication::Revoked));
    }

    #[test]
    fn revocation_outranks_expiry_and_format() {
        let mut r = failed(Indication::TotalFailed, SubIndication::FormatFailure);
        r.fail(
            "c",
            "s",
            Indication::TotalFailed,
            SubIndication::Expired,
            "m",
        );
        assert_eq!(r.sub_indication(), Some(SubIndication::Expired));
        r.fail(
            "c",
            "s",
            Indication::TotalFailed,
            SubIndication::Revoked,
            "m",
        );
        assert_eq!(r.sub_indication(), Some(SubIndication::Revoked));
        r.fail(
            "c",
            "s",
            Indication::TotalFailed,
            SubIndication::NoCertificateChainFound,
            "m",
        );
        assert_eq!(r.sub_indication(), Some(SubIndication::Revoked));
    }

    #[test]
    fn ties_keep_the_first_among_policy_findings() {
        // An expired certificate met before a seal outside its window stays EXPIRED.
        let mut r = failed(Indication::TotalFailed, SubIndication::Expired);
        r.fail(
            "c",
            "s",
            Indication::TotalFailed,
            SubIndication::SigConstraintsFailure,
            "m",
        );
        assert_eq!(r.sub_indication(), Some(SubIndication::Expired));
    }

    #[test]
    fn indeterminate_never_overrides_total_failed() {
        let mut r = failed(Indication::TotalFailed, SubIndication::FormatFailure);
        r.fail(
            "c",
            "s",
            Indication::Indeterminate,
            SubIndication::HashFailure,
            "m",
        );
        assert_eq!(r.indication(), Indication::TotalFailed);
        assert_eq!(r.sub_indication(), Some(SubIndication::FormatFailure));
        // ... and a TOTAL_FAILED overrides an INDETERMINATE, whatever the ranks.
        let mut r = failed(Indication::Indeterminate, SubIndication::TryLater);
        r.fail(
            "c",
            "s",
            Indication::Indeterminate,
            SubIndication::Revoked,
            "m",
        );
        assert_eq!(
            r.sub_indication(),
            Some(SubIndication::TryLater),
            "first stays"
        );
        r.fail(
            "c",
            "s",
            Indication::TotalFailed,
            SubIndication::FormatFailure,
            "m",
        );
        assert_eq!(r.indication(), Indication::TotalFailed);
        assert_eq!(r.sub_indication(), Some(SubIndication::FormatFailure));
    }

    #[test]
    fn absorb_ranks_like_fail_and_keeps_checks() {
        let mut outer = failed(Indication::TotalFailed, SubIndication::Expired);
        outer.absorb(
            "signature 1",
            &failed(Indication::TotalFailed, SubIndication::SigCryptoFailure),
        );
        assert_eq!(
            outer.sub_indication(),
            Some(SubIndication::SigCryptoFailure)
        );
        assert_eq!(outer.checks()[1].id, "signature 1/c");
        outer.absorb(
            "signature 2",
            &failed(Indication::TotalFailed, SubIndication::FormatFailure),
        );
        assert_eq!(
            outer.sub_indication(),
            Some(SubIndication::SigCryptoFailure)
        );
        let mut passed = report();
        passed.absorb("x", &report());
        assert!(passed.passed());
    }
}
