//! Evidence bundles: everything an auditor needs to judge one license offline
//! (`yinzheng-evidence/1`, read by `yinzheng-audit`): the sealed documents,
//! the certificates they carry and the CAs those chain to, CRLs, the log's
//! signed checkpoint and an inclusion proof for every lifecycle event and
//! usage record.

use crate::error::{Error, Result};
use crate::registry::Registry;
use std::time::SystemTime;
use yinzheng_anchor::{Evidence, SignedCheckpoint, TileReader, inclusion_proof};
use yinzheng_audit::{
    BundleEvent, BundleUsage, BundleWriter, DocumentRef, Manifest, RevocationRef,
};
use yinzheng_pki::{Crl, ParsedCert};

/// What a bundle is made from besides the registry.
pub struct EvidenceSources<'a> {
    /// The published log.
    pub reader: &'a TileReader,
    /// Its latest signed checkpoint: every proof goes to it.
    pub checkpoint: &'a SignedCheckpoint,
    /// The local trust domains' CAs as (issuing CA, its root): those that
    /// issued a certificate in the documents go into the bundle.
    pub issuers: &'a [(ParsedCert, ParsedCert)],
    /// CRLs to include (the trust domains' at export time).
    pub crls: &'a [Crl],
    /// Include the license's usage records with their proofs.
    pub include_usage: bool,
    /// The export time (informational, in the manifest).
    pub exported_at: SystemTime,
}

/// A written bundle and what went into it.
#[derive(Debug)]
pub struct EvidenceBundle {
    /// The license identifier (canonical form).
    pub license: String,
    /// The zip file.
    pub zip: Vec<u8>,
    /// Lifecycle events included.
    pub events: usize,
    /// Usage records included.
    pub usage: usize,
    /// The tree size every proof goes to.
    pub tree_size: u64,
    /// What was left out and why (an event or record not anchored yet).
    pub skipped: Vec<String>,
}

impl Registry {
    /// The evidence bundle of license `id`.
    pub fn evidence_bundle(&self, id: &str, src: &EvidenceSources<'_>) -> Result<EvidenceBundle> {
        let lic = self
            .get(id)?
            .ok_or_else(|| Error::NotFound(id.to_string()))?;
        let id = lic.id.to_string();
        let files = self.files_dir(&lic.id);
        let read = |name: &str| -> Result<Vec<u8>> {
            let p = files.join(name);
            std::fs::read(&p).map_err(|e| Error::Io {
                path: p.display().to_string(),
                cause: e,
            })
        };
        let (ofd, pdf) = (read("license.ofd")?, read("license.pdf")?);
        let size = src.checkpoint.checkpoint().size();
        let prove = |index: u64| -> Result<Vec<u8>> {
            if index >= size {
                return Err(Error::Refused(format!(
                    "log entry {index} is not in the latest checkpoint (size {size})"
                )));
            }
            let entry = src.reader.entry(index)?;
            let proof = inclusion_proof(src.reader, index, size)?;
            Ok(Evidence::new(&entry, index, proof, src.checkpoint.note())
                .to_text()
                .into_bytes())
        };
        let mut w = BundleWriter::new();
        let mut m = Manifest {
            license: id.clone(),
            exported_at: yinzheng_pki::rfc3339(src.exported_at),
            checkpoint: "log/checkpoint".into(),
            ..Default::default()
        };
        w.add("documents/license.ofd", ofd.clone());
        w.add("documents/license.pdf", pdf);
        m.documents = ["ofd", "pdf"]
            .iter()
            .map(|f| DocumentRef {
                path: format!("documents/license.{f}"),
                format: (*f).into(),
            })
            .collect();
        // Certificates: the leaves in the documents, then the issuing CAs
        // and roots they chain to (evidence, not anchors).
        let leaves = ofd_leaf_certs(&ofd)?;
        let mut pem: String = leaves.iter().map(ParsedCert::to_pem).collect();
        let mut roots: Vec<&ParsedCert> = Vec::new();
        for (issuing, root) in src.issuers {
            if leaves.iter().any(|l| {
                l.cert().tbs_certificate().issuer() == issuing.cert().tbs_certificate().subject()
            }) {
                pem.push_str(&issuing.to_pem());
                if !roots.iter().any(|r| r.der() == root.der()) {
                    roots.push(root);
                }
            }
        }
        for r in roots {
            pem.push_str(&r.to_pem());
        }
        w.add("certificates/chain.pem", pem.into_bytes());
        m.certificates = Some("certificates/chain.pem".into());
        if !src.crls.is_empty() {
            let pem: String = src.crls.iter().map(Crl::to_pem).collect();
            w.add("revocation/crls.pem", pem.into_bytes());
            m.revocation = Some(RevocationRef {
                crls: "revocation/crls.pem".into(),
                as_of: format!(
                    "CRLs of the trust domains at export time ({}), not at signing time: a CRL \
                     issued later shows whether a certificate had been revoked before the signing",
                    m.exported_at
                ),
            });
        }
        w.add("log/checkpoint", src.checkpoint.note().as_bytes().to_vec());
        let mut skipped = Vec::new();
        for (n, e) in self.events(&lic.id)?.iter().enumerate() {
            let Some(i) = e.log_index else {
                skipped.push(format!("event {} has no log entry", e.kind));
                continue;
            };
            let path = format!("events/{n:02}-{}.tlog-proof", e.kind);
            w.add(&path, prove(i)?);
            m.events.push(BundleEvent {
                kind: e.kind.clone(),
                time_ms: e.time_ms,
                actor: e.actor.clone(),
                reason: e.reason.clone(),
                log_index: i,
                proof: path,
            });
        }
        if src.include_usage {
            for u in self.usage(Some(&id), None)? {
                let Some(i) = u.log_index.filter(|i| *i < size) else {
                    skipped.push(format!("usage record {} is not anchored yet", u.seq));
                    continue;
                };
                let path = format!("usage/{}.tlog-proof", u.seq);
                w.add(&path, prove(i)?);
                m.usage.push(BundleUsage {
                    seq: u.seq,
                    time_ms: u.time_ms,
                    caller: u.caller.clone(),
                    operation: u.operation.clone(),
                    result: u.result,
                    record_sm3: u.record_sm3.clone(),
                    log_index: i,
                    proof: path,
                });
            }
        }
        let (events, usage) = (m.events.len(), m.usage.len());
        let zip = w
            .finish(m)
            .map_err(|e| Error::Refused(format!("evidence bundle: {e}")))?;
        Ok(EvidenceBundle {
            license: id,
            zip,
            events,
            usage,
            tree_size: size,
            skipped,
        })
    }
}

/// The signer and seal-maker certificates of an OFD's seal signatures.
fn ofd_leaf_certs(ofd: &[u8]) -> Result<Vec<ParsedCert>> {
    let pkg = yinzheng_document::OfdPackage::read(ofd)?;
    let mut v: Vec<ParsedCert> = Vec::new();
    for s in pkg.signatures()? {
        if let Some(sig) = pkg
            .part(&s.signed_value)
            .and_then(|b| yinzheng_seal::SealSignature::parse(b).ok())
        {
            for der in [sig.signer_cert(), sig.seal().maker_cert()] {
                let c = ParsedCert::from_der(der).map_err(|e| {
                    Error::Invalid(format!("a certificate in the license OFD: {e}"))
                })?;
                if !v.iter().any(|x| x.der() == c.der()) {
                    v.push(c);
                }
            }
        }
    }
    Ok(v)
}
