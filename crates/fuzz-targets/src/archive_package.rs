//! Archive packages and evidence bundles as the auditor reads them (zip
//! container within its limits, manifests, members) never panic.

/// One fuzz input: must never panic.
pub fn run(data: &[u8]) {
    let _ = yinzheng_audit::is_archive(data);
    let _ = yinzheng_audit::bundle_documents(data);
    let _ = yinzheng_audit::bundle_checkpoint(data);
}
