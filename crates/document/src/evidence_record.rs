//! RFC 4998 evidence records judged against trust: the record's hashes,
//! trees, order and token signatures (`yinzheng_cms::EvidenceRecord`), then
//! each archive time stamp's TSA certificate — a timeStamping certificate
//! that chains to a trusted root and was valid at the time of the *next*
//! link (the next time stamp proves the earlier one existed while its
//! certificate held), the last one at the validation time (with the newest
//! revocation data held: `Validator::validate_latest_proof`).

use crate::signed_data::{has_time_stamping_eku, to_system};
use crate::verifier::TrustContext;
use std::time::SystemTime;
use yinzheng_cms::{EvidenceRecord, VerifyOptions};
use yinzheng_pki::{Indication, ParsedCert, SubIndication, VerificationReport, rfc3339};

/// One link of a verified record, for reports.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EvidenceLink {
    /// Its chain (hash-tree renewals) and place in it (time-stamp renewals).
    pub chain: usize,
    /// Its place in the chain.
    pub index: usize,
    /// The hash algorithm of its chain (`sm3`, `sha256`, …).
    pub digest: String,
    /// The time its token vouches for (RFC 3339).
    pub time: String,
    /// Its TSA (certificate subject).
    pub tsa: String,
    /// The end of its TSA certificate's validity (RFC 3339): for the last
    /// link, the time by which the record must be renewed.
    pub valid_until: String,
}

/// Judge the evidence record `record` (DER) for `data` at `at` (normally
/// now): TOTAL_PASSED proves `data` existed at the first link's time. A
/// broken link is TOTAL_FAILED naming it (`chain K link I`); a TSA
/// certificate not valid when the next link was made (or, for the last
/// one, at `at`: the record needs renewing) is the validator's verdict for
/// it, labelled with the link.
pub fn verify_evidence_record(
    ctx: &TrustContext,
    record: &[u8],
    data: &[u8],
    at: SystemTime,
) -> (VerificationReport, Vec<EvidenceLink>) {
    let mut report = VerificationReport::new("evidence record", rfc3339(at));
    let er = match EvidenceRecord::parse(record) {
        Ok(er) => er,
        Err(e) => {
            report.fail(
                "format",
                "evidence record",
                Indication::TotalFailed,
                SubIndication::FormatFailure,
                e.to_string(),
            );
            return (report, Vec::new());
        }
    };
    let verified = match er.verify(data, &VerifyOptions::default()) {
        Ok(v) => v,
        Err(yinzheng_cms::Error::EvidenceRecord { chain, stamp, why }) => {
            report.fail(
                "evidence record",
                &format!("chain {chain} link {stamp}"),
                Indication::TotalFailed,
                SubIndication::HashFailure,
                why,
            );
            return (report, Vec::new());
        }
        Err(e) => {
            report.fail(
                "evidence record",
                "evidence record",
                Indication::TotalFailed,
                SubIndication::FormatFailure,
                e.to_string(),
            );
            return (report, Vec::new());
        }
    };
    let mut links = Vec::new();
    for (n, l) in verified.iter().enumerate() {
        let label = format!("chain {} link {}", l.chain, l.index);
        let when = to_system(l.time_stamp.info.gen_time);
        // Valid when the next link was made; the last one, at `at`.
        let judged_at = verified
            .get(n + 1)
            .map_or(at, |next| to_system(next.time_stamp.info.gen_time));
        let tsa = match ParsedCert::from_der(&l.time_stamp.signer.certificate) {
            Ok(c) => c,
            Err(e) => {
                report.fail(
                    "time stamp",
                    &label,
                    Indication::TotalFailed,
                    SubIndication::FormatFailure,
                    format!("the TSA certificate: {e}"),
                );
                continue;
            }
        };
        if !has_time_stamping_eku(&tsa) {
            report.fail(
                "time stamp",
                &label,
                Indication::TotalFailed,
                SubIndication::ChainConstraintsFailure,
                format!(
                    "{} lacks the timeStamping extended key usage",
                    tsa.subject()
                ),
            );
            continue;
        }
        // The token's own time: within its certificate, and not after the
        // validation time.
        if when < tsa.not_before() || when > tsa.not_after() {
            report.fail(
                "time stamp",
                &label,
                Indication::TotalFailed,
                SubIndication::SigConstraintsFailure,
                format!(
                    "made at {} outside its TSA certificate's validity ({} .. {})",
                    rfc3339(when),
                    rfc3339(tsa.not_before()),
                    rfc3339(tsa.not_after())
                ),
            );
            continue;
        }
        if when > at {
            report.fail(
                "time stamp",
                &label,
                Indication::TotalFailed,
                SubIndication::SigConstraintsFailure,
                format!("made at {}, after the validation time", rfc3339(when)),
            );
            continue;
        }
        let mut chain: Vec<ParsedCert> = ctx.intermediates().to_vec();
        chain.extend(
            l.time_stamp
                .certificates
                .iter()
                .filter_map(|c| ParsedCert::from_der(c).ok()),
        );
        // Earlier links are judged at the next link's time, which that link
        // proves; the last one at the validation time, which nothing proves:
        // a lapsed or revoked last certificate is INDETERMINATE (renew the
        // record), not a forgery. Years on no revocation source of the last
        // TSA answers: the newest revocation data held decides, with a
        // warning (as for a PDF's latest document time stamp).
        let v = if n + 1 < verified.len() {
            ctx.validator().validate(&tsa, &chain, judged_at)
        } else {
            ctx.validator()
                .validate_latest_proof(&tsa, &chain, judged_at)
        };
        report.absorb(&format!("{label} TSA"), &v);
        if v.passed() {
            report.pass(
                "time stamp",
                &label,
                format!(
                    "{} archive time stamp by {} at {}, over {}; its certificate held at {}",
                    l.digest.name(),
                    tsa.subject(),
                    rfc3339(when),
                    if l.index == 0 && l.chain == 0 {
                        "the object's hash tree".to_string()
                    } else if l.index == 0 {
                        "the object and every earlier chain (hash-tree renewal)".to_string()
                    } else {
                        "the previous time stamp (renewal)".to_string()
                    },
                    rfc3339(judged_at)
                ),
            );
        }
        links.push(EvidenceLink {
            chain: l.chain,
            index: l.index,
            digest: l.digest.name().to_string(),
            time: rfc3339(when),
            tsa: tsa.subject(),
            valid_until: rfc3339(tsa.not_after()),
        });
    }
    (report, links)
}
