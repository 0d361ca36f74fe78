//! RFC 4998 evidence records, offline: proof that a file existed, judged
//! with the trust file alone at any validation time (`--at`, years later).

use crate::auditor::Auditor;
use crate::outcome::{Outcome, TimeBasis, TimeSource};
use std::time::SystemTime;
use yinzheng_pki::{Crl, rfc3339};

impl Auditor {
    /// Verify the evidence record `record` (DER) for `data` at `at`: every
    /// link (hash trees, renewals, token signatures, order) and each TSA
    /// certificate — chained to the trust file's roots, with the
    /// timeStamping purpose — valid when the next link was made, the last
    /// one at `at`. The facts name the proof of existence: the first link's
    /// time and TSA, and each renewal.
    pub fn verify_evidence_record(
        &self,
        record: &[u8],
        data: &[u8],
        crls: &[Crl],
        at: SystemTime,
    ) -> Outcome {
        let ctx = self.context(crls, &[]);
        let (report, links) = yinzheng_document::verify_evidence_record(&ctx, record, data, at);
        let mut facts = Vec::new();
        if let Some(first) = links.first() {
            facts.push((
                "existed at".into(),
                format!("{} (archive time stamp by {})", first.time, first.tsa),
            ));
        }
        for l in &links {
            facts.push((
                format!("chain {} link {}", l.chain, l.index),
                format!("{} at {} by {}", l.digest, l.time, l.tsa),
            ));
        }
        Outcome {
            report,
            time_basis: TimeBasis {
                time: rfc3339(at),
                source: TimeSource::None,
                reason: "each archive time stamp's TSA is judged at the next link's time, the last one at this time".into(),
            },
            facts,
            events: Vec::new(),
            picture: None,
            properties: Vec::new(),
        }
    }
}
