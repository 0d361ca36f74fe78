//! Archive packages and evidence bundles as the auditor reads them never
//! panic: the zip container within its limits, the manifests, and the whole
//! four-property check of a package (`Auditor::verify_archive`) under a
//! fixed trust file (the demo root of the seeds) at a fixed time.

use std::sync::OnceLock;
use std::time::{Duration, SystemTime};
use yinzheng_audit::{Auditor, DomainAnchors, TrustAnchors};

/// The root the checked-in seeds were made under.
const ROOT: &str = include_str!("../../../fuzz/seeds/pki_objects/roots.pem");

fn auditor() -> Option<&'static Auditor> {
    static AUDITOR: OnceLock<Option<Auditor>> = OnceLock::new();
    AUDITOR
        .get_or_init(|| {
            let mut t = TrustAnchors::new();
            t.domains.push(DomainAnchors {
                name: "fuzz".into(),
                root: ROOT.into(),
                untrusted_intermediates: Vec::new(),
                crls: Vec::new(),
            });
            Auditor::new(&t).ok()
        })
        .as_ref()
}

/// One fuzz input: must never panic.
pub fn run(data: &[u8]) {
    let _ = yinzheng_audit::bundle_documents(data);
    let _ = yinzheng_audit::bundle_checkpoint(data);
    if yinzheng_audit::is_archive(data)
        && let Some(a) = auditor()
    {
        // 2027-01-15: a fixed validation time, so a run is repeatable.
        let at = SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        let _ = a.verify_archive(data, &[], at);
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_whole_check_runs_not_only_the_readers() {
        assert!(super::auditor().is_some(), "the fixed trust file must load");
    }
}
