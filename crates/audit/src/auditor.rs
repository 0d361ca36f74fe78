//! The auditor: trust loaded once, then documents and evidence bundles
//! verified against it. Log-wide checks are in `log.rs`.

use crate::bundle::{self, BUNDLE_FORMAT, Manifest};
use crate::error::Result;
use crate::outcome::{Outcome, ProvenEvent, TimeBasis, TimeSource};
use crate::trust::{LoadedTrust, TrustAnchors};
use std::time::{Duration, SystemTime};
use yinzheng_anchor::{Entry, Error as LogError, Evidence, HashAlg, Note, SignedCheckpoint};
use yinzheng_pki::{
    CheckStatus, Crl, Indication, ParsedCert, SubIndication, Validator, VerificationReport, rfc3339,
};

/// The newest signed checkpoint an auditor holds, and the consistency proof
/// from a bundle's checkpoint to it (`yinzheng log consistency`).
#[derive(Clone, Copy, Debug)]
pub struct NewestCheckpoint<'a> {
    /// The signed checkpoint (note text).
    pub note: &'a [u8],
    /// The consistency proof from the bundle's checkpoint to this one.
    pub proof: &'a [yinzheng_anchor::Hash],
}

/// Verifies documents, bundles and logs against one trust-anchors file.
pub struct Auditor {
    pub(crate) trust: LoadedTrust,
}

impl std::fmt::Debug for Auditor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Auditor")
            .field("anchors", &self.trust.anchors.len())
            .field("log", &self.trust.log.as_ref().map(|l| &l.0))
            .finish_non_exhaustive()
    }
}

pub(crate) fn ms_to_system(ms: u64) -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_millis(ms)
}

/// A failed check's sub-indication for a log error.
pub(crate) fn log_sub(e: &LogError) -> SubIndication {
    match e {
        LogError::BadSignature { .. } | LogError::NoKnownSignature => {
            SubIndication::SigCryptoFailure
        }
        LogError::WrongOrigin { .. } => SubIndication::SigConstraintsFailure,
        LogError::InvalidProof(_) | LogError::Mismatch(_) => SubIndication::HashFailure,
        _ => SubIndication::FormatFailure,
    }
}

pub(crate) fn proven_event(index: u64, e: &Entry, proven: bool) -> ProvenEvent {
    ProvenEvent {
        index,
        kind: e.kind().to_string(),
        time: rfc3339(ms_to_system(e.time_ms())),
        actor: e.actor().to_string(),
        subjects: e.subjects().to_vec(),
        digests: e.digests().iter().map(hex::encode).collect(),
        proven,
    }
}

impl Auditor {
    /// An auditor trusting exactly `trust`.
    pub fn new(trust: &TrustAnchors) -> Result<Self> {
        Ok(Auditor {
            trust: trust.load()?,
        })
    }

    /// A validator over the trust anchors, the trust file's CRLs and `extra` CRLs.
    fn validator(&self, extra: &[Crl]) -> Validator {
        let mut crls = self.trust.crls.clone();
        crls.extend(extra.iter().cloned());
        Validator::new(self.trust.anchors.clone())
            .with_crls(crls)
            .with_sm2_id(self.trust.sm2_id.clone())
    }

    /// The verification pipeline's trust: [`validator`](Self::validator) and
    /// the trust file's intermediates plus `extra_intermediates`.
    pub(crate) fn context(
        &self,
        crls: &[Crl],
        extra_intermediates: &[ParsedCert],
    ) -> yinzheng_document::TrustContext {
        let mut inter = self.trust.intermediates.clone();
        inter.extend(extra_intermediates.iter().cloned());
        yinzheng_document::TrustContext::new(self.validator(crls)).with_intermediates(inter)
    }

    /// The log's hash profile and keys, or a message saying the trust file has none.
    pub(crate) fn log_keys(
        &self,
    ) -> std::result::Result<&(String, HashAlg, Vec<yinzheng_anchor::VerifierKey>), String> {
        self.trust
            .log
            .as_ref()
            .ok_or_else(|| "the trust file has no [log] section".to_string())
    }

    /// Open a signed checkpoint: a valid signature by a log key, none failing,
    /// the trusted origin, and the witness quorum when one is set — a
    /// witness's failing cosignature is a forgery (TOTAL_FAILED); too few
    /// witnesses is INDETERMINATE, naming those who cosigned and those who did
    /// not.
    pub(crate) fn open_checkpoint(
        &self,
        note: &[u8],
    ) -> std::result::Result<SignedCheckpoint, CheckpointRefusal> {
        let failed = |sub, msg| CheckpointRefusal {
            indication: Indication::TotalFailed,
            sub,
            msg,
        };
        let (origin, _, keys) = self
            .log_keys()
            .map_err(|m| failed(SubIndication::NoCertificateChainFound, m))?;
        let cp = SignedCheckpoint::open(note, keys, Some(origin))
            .map_err(|e| failed(log_sub(&e), format!("checkpoint: {e}")))?;
        if self.trust.witnesses.quorum() > 0 {
            let quorum = Note::parse(note)
                .and_then(|n| self.trust.witnesses.check(&n))
                .map_err(|e| failed(log_sub(&e), format!("witness cosignatures: {e}")))?;
            if !quorum.met() {
                return Err(CheckpointRefusal {
                    indication: Indication::Indeterminate,
                    sub: SubIndication::SigConstraintsFailure,
                    msg: quorum.describe(),
                });
            }
        }
        Ok(cp)
    }

    /// Verify one file: a sealed PDF or OFD, an evidence bundle, a detached CMS
    /// or seal signature over `data`. Without a bundle nothing proves when a
    /// document existed, so signatures without a time stamp are judged at
    /// `now` (the report says so). `crls` add revocation data.
    pub fn verify_file(
        &self,
        bytes: &[u8],
        data: Option<&[u8]>,
        crls: &[Crl],
        now: SystemTime,
    ) -> Outcome {
        use yinzheng_document::{Format, VerifyRequest};
        let format = Format::sniff(bytes);
        if format == Some(Format::EvidenceBundle) {
            if crate::archive::is_archive(bytes) {
                return self.verify_archive(bytes, crls, now);
            }
            return self.verify_bundle(bytes, crls, now);
        }
        let no_proof = "nothing proves when this file existed (an evidence bundle would): \
                        signatures without a time stamp are judged at the current time";
        let mut picture = None;
        // The same road as every other front end: the same input and trust
        // give the same report as `yinzheng verify`, the API and the facade.
        let report = match format {
            Some(f) => {
                if f == Format::Ofd {
                    picture = seal_picture(bytes);
                }
                let trust = self.context(crls, &[]);
                let req = VerifyRequest {
                    detached: data,
                    ..VerifyRequest::default()
                };
                trust
                    .verify_as(f, bytes, &req)
                    .unwrap_or_else(|e| format_failure(f.name(), now, &e.to_string()))
            }
            None => format_failure(
                "file",
                now,
                "neither a PDF, an OFD package, an evidence bundle, a CMS, a seal signature nor a seal",
            ),
        };
        let time_basis = time_basis_of(&report, now, TimeSource::Now, no_proof);
        Outcome {
            report,
            time_basis,
            facts: Vec::new(),
            events: Vec::new(),
            picture,
            properties: Vec::new(),
        }
    }

    /// Verify an evidence bundle: the container, the manifest, the signed
    /// checkpoint, every event's and usage record's inclusion proof, the
    /// documents against the "issued" entry's digests, and the documents'
    /// signatures as of that entry's proven time with the bundle's CRLs.
    ///
    /// The license's status is derived from the events the bundle lists and
    /// is labelled "as listed": an event left out of a bundle cannot be seen
    /// in it. Without a newer checkpoint the report warns that the bundle may
    /// be stale; see [`verify_bundle_against`](Self::verify_bundle_against).
    pub fn verify_bundle(&self, bytes: &[u8], crls: &[Crl], now: SystemTime) -> Outcome {
        self.verify_bundle_against(bytes, crls, None, now)
    }

    /// [`verify_bundle`](Self::verify_bundle), and the bundle's checkpoint
    /// must be a prefix of `newest`, the newest signed checkpoint the auditor
    /// holds (with the consistency proof between the two): a log that forked
    /// to hide an event fails, and the report says how many entries were
    /// logged after the bundle's checkpoint.
    pub fn verify_bundle_against(
        &self,
        bytes: &[u8],
        crls: &[Crl],
        newest: Option<NewestCheckpoint<'_>>,
        now: SystemTime,
    ) -> Outcome {
        let mut out = Outcome {
            report: VerificationReport::new("evidence bundle", rfc3339(now)),
            time_basis: TimeBasis {
                time: rfc3339(now),
                source: TimeSource::Now,
                reason: "no proven time was found in the bundle".into(),
            },
            facts: Vec::new(),
            events: Vec::new(),
            picture: None,
            properties: Vec::new(),
        };
        let r = &mut out.report;
        let read = match bundle::read(bytes) {
            Ok(b) => b,
            Err(e) => {
                fail(r, "bundle", "zip", SubIndication::FormatFailure, e);
                return out;
            }
        };
        for (m, why) in &read.damaged {
            fail(r, "bundle", m, SubIndication::FormatFailure, why.clone());
        }
        let manifest: Manifest = match read
            .members
            .get("manifest.json")
            .map(|m| serde_json::from_slice::<Manifest>(m))
        {
            Some(Ok(m)) if m.format == BUNDLE_FORMAT => m,
            Some(Ok(m)) => {
                let msg = format!("format {:?} is not {BUNDLE_FORMAT:?}", m.format);
                fail(
                    r,
                    "manifest",
                    "manifest.json",
                    SubIndication::FormatFailure,
                    msg,
                );
                return out;
            }
            Some(Err(e)) => {
                let msg = format!("not a readable manifest: {e}");
                fail(
                    r,
                    "manifest",
                    "manifest.json",
                    SubIndication::FormatFailure,
                    msg,
                );
                return out;
            }
            None => {
                let msg = "the bundle has no manifest.json".to_string();
                fail(
                    r,
                    "manifest",
                    "manifest.json",
                    SubIndication::FormatFailure,
                    msg,
                );
                return out;
            }
        };
        out.facts.push(("license".into(), manifest.license.clone()));
        out.facts
            .push(("bundle exported at".into(), manifest.exported_at.clone()));
        // Every member against the manifest's SM3: names what was changed.
        for (name, want) in &manifest.members {
            match read.members.get(name) {
                Some(d) if yinzheng_crypto::sm3_hex(d) == *want => {}
                Some(_) => fail(
                    r,
                    "member digest",
                    name,
                    SubIndication::HashFailure,
                    "SM3 differs from the manifest's: the member was changed after export".into(),
                ),
                None => fail(
                    r,
                    "member digest",
                    name,
                    SubIndication::FormatFailure,
                    "listed in the manifest but missing from the bundle".into(),
                ),
            }
        }
        for name in read.members.keys() {
            if name != "manifest.json" && !manifest.members.contains_key(name) {
                r.warn("member digest", name, "not listed in the manifest; ignored");
            }
        }
        let get = |name: &str| read.members.get(name).map(Vec::as_slice);

        // The checkpoint every proof goes to.
        let cp_note = get(&manifest.checkpoint).unwrap_or_default();
        let cp = match self.open_checkpoint(cp_note) {
            Ok(cp) => {
                let c = cp.checkpoint();
                r.pass(
                    "checkpoint",
                    &manifest.checkpoint,
                    format!(
                        "signed by {} for {} at tree size {}",
                        cp.verified_by().join(", "),
                        c.origin(),
                        c.size()
                    ),
                );
                out.facts.push((
                    "checkpoint".into(),
                    format!("{} size {}", c.origin(), c.size()),
                ));
                Some(cp)
            }
            Err(e) => {
                e.record(r, "checkpoint", &manifest.checkpoint);
                None
            }
        };

        // Lifecycle events, each proven.
        let mut issued: Option<(u64, Entry)> = None;
        let mut last_index = None;
        let mut status = None;
        for ev in &manifest.events {
            let want_kind = format!("license.{}", ev.kind);
            let label = ev.proof.clone();
            let Some(entry) = self.prove_entry(
                &mut out.report,
                &label,
                get(&ev.proof),
                cp_note,
                ev.log_index,
                &mut out.events,
            ) else {
                continue;
            };
            let r = &mut out.report;
            if entry.kind() != want_kind {
                fail(
                    r,
                    "event",
                    &label,
                    SubIndication::SigConstraintsFailure,
                    format!(
                        "the manifest says {want_kind}, the proven entry is {}",
                        entry.kind()
                    ),
                );
                continue;
            }
            if !entry.subjects().contains(&manifest.license) {
                fail(
                    r,
                    "event",
                    &label,
                    SubIndication::SigConstraintsFailure,
                    format!("the proven entry is not about {}", manifest.license),
                );
                continue;
            }
            if entry.time_ms() as i64 != ev.time_ms {
                r.warn(
                    "event",
                    &label,
                    "the manifest's time differs from the proven entry's; the entry's is used",
                );
            }
            if last_index.is_some_and(|l| ev.log_index <= l) {
                fail(
                    r,
                    "event",
                    &label,
                    SubIndication::SigConstraintsFailure,
                    "events are not in log order".into(),
                );
            }
            last_index = Some(ev.log_index);
            r.pass(
                "event",
                &label,
                format!(
                    "{} at {} by {} (log index {})",
                    entry.kind(),
                    rfc3339(ms_to_system(entry.time_ms())),
                    entry.actor(),
                    ev.log_index
                ),
            );
            status = Some((ev.kind.clone(), entry.time_ms()));
            if ev.kind == "issued" && issued.is_none() {
                issued = Some((ev.log_index, entry));
            }
        }
        let r = &mut out.report;
        if manifest.events.is_empty() {
            fail(
                r,
                "event",
                "manifest.json",
                SubIndication::FormatFailure,
                "the bundle carries no lifecycle event".into(),
            );
        }
        if let Some((k, t)) = &status {
            let state = match k.as_str() {
                "issued" | "resumed" => "valid".to_string(),
                other => other.to_string(),
            };
            out.facts.push((
                "status at the checkpoint (as listed)".into(),
                format!(
                    "{state} (last proven event the bundle lists: {k} at {}); each listed \
                     event is proven, but an event left out of the bundle cannot be seen in \
                     it — `yinzheng-audit history` over the log's tiles lists every one",
                    rfc3339(ms_to_system(*t))
                ),
            ));
            if state != "valid" {
                r.warn(
                    "license status",
                    &manifest.license,
                    format!("the license was {k} at {}", rfc3339(ms_to_system(*t))),
                );
            }
        }

        // How fresh the bundle's checkpoint is.
        let bundle_size = cp.as_ref().map(|c| c.checkpoint().size());
        match (newest, bundle_size) {
            (None, _) => {
                out.facts.push((
                    "freshness".into(),
                    "no newer checkpoint was given: how much was logged after the bundle's \
                     checkpoint (a later revocation, say) cannot be told"
                        .into(),
                ));
                r.warn(
                    "freshness",
                    &manifest.checkpoint,
                    "the bundle's checkpoint may be stale: give the newest checkpoint and a \
                     consistency proof (--newest-checkpoint, --consistency-proof)",
                );
            }
            (Some(n), Some(size)) => {
                let c = self.consistency(cp_note, n.note, n.proof, now);
                r.absorb("freshness", &c.report);
                if c.passed() {
                    let newest_size = c
                        .facts
                        .iter()
                        .find(|(k, _)| k == "new size")
                        .and_then(|(_, v)| v.parse::<u64>().ok())
                        .unwrap_or(size);
                    let later = newest_size.saturating_sub(size);
                    out.facts.push((
                        "freshness".into(),
                        format!(
                            "the bundle's checkpoint (size {size}) is a prefix of the newest \
                             checkpoint given (size {newest_size}): {later} entries were logged \
                             after it, which this bundle does not list"
                        ),
                    ));
                    if later > 0 {
                        r.warn(
                            "freshness",
                            &manifest.checkpoint,
                            format!(
                                "{later} entries were logged after the bundle's checkpoint; \
                                 events about this license among them are not in the bundle"
                            ),
                        );
                    }
                }
            }
            (Some(_), None) => {}
        }

        // The proven time: the issued entry's.
        let proven = issued.as_ref().map(|(i, e)| {
            let t = ms_to_system(e.time_ms());
            let size = cp.as_ref().map(|c| c.checkpoint().size()).unwrap_or(0);
            (
                t,
                format!(
                    "the time of log entry #{i} (license.issued), whose inclusion in the signed \
                     checkpoint of size {size} was proven; the documents' SM3 are in that entry, \
                     so they existed then"
                ),
            )
        });
        if proven.is_none() {
            fail(
                r,
                "validation time",
                &manifest.license,
                SubIndication::FormatFailure,
                "no proven license.issued entry: nothing proves when the documents existed".into(),
            );
        }
        let at = proven.as_ref().map(|p| p.0).unwrap_or(now);

        // Revocation data carried in the bundle.
        let mut bundle_crls = crls.to_vec();
        let mut crl_note = String::from("none in the bundle");
        if let Some(rv) = &manifest.revocation {
            match get(&rv.crls).map(Crl::parse_all) {
                Some(Ok(v)) => {
                    let list: Vec<String> = v
                        .iter()
                        .map(|c| format!("{} issued {}", c.issuer(), rfc3339(c.this_update())))
                        .collect();
                    crl_note = format!("{} ({})", rv.as_of, list.join("; "));
                    r.pass("revocation data", &rv.crls, crl_note.clone());
                    bundle_crls.extend(v);
                }
                Some(Err(e)) => fail(
                    r,
                    "revocation data",
                    &rv.crls,
                    SubIndication::FormatFailure,
                    e.to_string(),
                ),
                None => fail(
                    r,
                    "revocation data",
                    &rv.crls,
                    SubIndication::FormatFailure,
                    "member missing".into(),
                ),
            }
        }
        out.facts.push(("revocation data".into(), crl_note.clone()));

        // Certificates carried: path-building help only, never anchors.
        let mut carried = Vec::new();
        if let Some(p) = &manifest.certificates {
            match get(p).map(ParsedCert::load_all) {
                Some(Ok(v)) => {
                    let n = v.len();
                    carried.extend(v.into_iter().filter(|c| c.subject() != c.issuer()));
                    r.pass(
                        "certificates",
                        p,
                        format!(
                            "{n} certificate(s), used to build paths to the trust anchors only"
                        ),
                    );
                }
                Some(Err(e)) => fail(
                    r,
                    "certificates",
                    p,
                    SubIndication::FormatFailure,
                    e.to_string(),
                ),
                None => fail(
                    r,
                    "certificates",
                    p,
                    SubIndication::FormatFailure,
                    "member missing".into(),
                ),
            }
        }

        // The documents: their SM3 in the issued entry, their seals at the proven time.
        let trust = self.context(&bundle_crls, &carried);
        let at_proven = yinzheng_document::VerifyRequest {
            time: yinzheng_document::ValidationTime::ProvenAt(at),
            ..Default::default()
        };
        let mut time_stamped = false;
        // Every document the issued entry names must be in the bundle: a
        // bundle stripped of a document would vouch for less than it says.
        if let Some((i, e)) = &issued {
            let held: Vec<[u8; 32]> = manifest
                .documents
                .iter()
                .filter_map(|d| get(&d.path))
                .map(yinzheng_crypto::sm3)
                .collect();
            for h in e.digests() {
                if !held.contains(h) {
                    fail(
                        r,
                        "document digest",
                        "manifest.json",
                        SubIndication::FormatFailure,
                        format!(
                            "the issued entry #{i} names a document with SM3 {} that the bundle \
                             does not hold",
                            hex::encode(h)
                        ),
                    );
                }
            }
        }
        if manifest.documents.is_empty() {
            fail(
                r,
                "document",
                "manifest.json",
                SubIndication::FormatFailure,
                "the bundle holds no document".into(),
            );
        }
        for d in &manifest.documents {
            let Some(bytes) = get(&d.path) else {
                fail(
                    r,
                    "document",
                    &d.path,
                    SubIndication::FormatFailure,
                    "member missing".into(),
                );
                continue;
            };
            if let Some((i, e)) = &issued {
                let h = yinzheng_crypto::sm3(bytes);
                if e.digests().contains(&h) {
                    r.pass(
                        "document digest",
                        &d.path,
                        format!("SM3 {} is in the issued entry #{i}", hex::encode(h)),
                    );
                } else {
                    fail(
                        r,
                        "document digest",
                        &d.path,
                        SubIndication::HashFailure,
                        format!(
                            "SM3 {} is not among the digests of the issued entry #{i}",
                            hex::encode(h)
                        ),
                    );
                }
            }
            use yinzheng_document::Format;
            let rep = match d.format.as_str() {
                "pdf" => trust.verify_as(Format::Pdf, bytes, &at_proven),
                "ofd" => {
                    if out.picture.is_none() {
                        out.picture = seal_picture(bytes);
                    }
                    trust.verify_as(Format::Ofd, bytes, &at_proven)
                }
                other => {
                    r.warn(
                        "document",
                        &d.path,
                        format!("format {other:?} not verified"),
                    );
                    continue;
                }
            };
            match rep {
                Ok(rep) => {
                    time_stamped |= rep
                        .checks()
                        .iter()
                        .any(|c| c.id == "time stamp" && c.status == CheckStatus::Passed);
                    r.absorb(&d.path, &rep);
                }
                Err(e) => fail(
                    r,
                    "document",
                    &d.path,
                    SubIndication::FormatFailure,
                    e.to_string(),
                ),
            }
        }

        // Usage records, each proven.
        for u in &manifest.usage {
            let label = u.proof.clone();
            let Some(entry) = self.prove_entry(
                &mut out.report,
                &label,
                get(&u.proof),
                cp_note,
                u.log_index,
                &mut out.events,
            ) else {
                continue;
            };
            let r = &mut out.report;
            let digest_ok = entry
                .digests()
                .iter()
                .any(|d| hex::encode(d) == u.record_sm3);
            if entry.kind() == "license.use" && digest_ok {
                r.pass(
                    "usage",
                    &label,
                    format!(
                        "{} by {} at {} (result {}) is in the log at #{}",
                        u.operation,
                        entry.actor(),
                        rfc3339(ms_to_system(entry.time_ms())),
                        u.result,
                        u.log_index
                    ),
                );
            } else {
                fail(
                    r,
                    "usage",
                    &label,
                    SubIndication::SigConstraintsFailure,
                    format!(
                        "the proven entry ({}) does not commit to record SM3 {}",
                        entry.kind(),
                        u.record_sm3
                    ),
                );
            }
        }

        out.time_basis = match proven {
            Some((t, why)) => TimeBasis {
                time: rfc3339(t),
                source: TimeSource::LogEntry,
                reason: format!(
                    "{why}{}; revocation data: {crl_note}",
                    if time_stamped {
                        ". A signature that carries a verified time stamp is judged at the time stamp's time"
                    } else {
                        ""
                    }
                ),
            },
            None => TimeBasis {
                time: rfc3339(now),
                source: TimeSource::Now,
                reason: "no proven issued entry: judged at the current time".into(),
            },
        };
        let obj = format!("evidence bundle of license {}", manifest.license);
        let mut report = VerificationReport::new(obj, out.time_basis.time.clone());
        report.absorb("bundle", &out.report);
        out.report = report;
        out
    }

    /// Prove one entry from a tlog-proof member: parse, same checkpoint as
    /// the bundle's (a warning otherwise; `checkpoint_note` empty: no
    /// bundle), checkpoint signature, inclusion,
    /// canonical entry. Records the entry in `events`.
    pub(crate) fn prove_entry(
        &self,
        r: &mut VerificationReport,
        label: &str,
        proof: Option<&[u8]>,
        checkpoint_note: &[u8],
        index: u64,
        events: &mut Vec<ProvenEvent>,
    ) -> Option<Entry> {
        let Some(proof) = proof else {
            fail(
                r,
                "inclusion",
                label,
                SubIndication::FormatFailure,
                "member missing".into(),
            );
            return None;
        };
        let ev = match Evidence::parse(proof) {
            Ok(ev) => ev,
            Err(e) => {
                fail(
                    r,
                    "inclusion",
                    label,
                    SubIndication::FormatFailure,
                    e.to_string(),
                );
                return None;
            }
        };
        if ev.index() != index {
            fail(
                r,
                "inclusion",
                label,
                SubIndication::SigConstraintsFailure,
                format!("proves index {}, the manifest says {index}", ev.index()),
            );
            return None;
        }
        if !checkpoint_note.is_empty() && ev.checkpoint_note().as_bytes() != checkpoint_note {
            r.warn(
                "inclusion",
                label,
                "the proof goes to another checkpoint than the bundle's",
            );
        }
        if let Err(e) = self.open_checkpoint(ev.checkpoint_note().as_bytes()) {
            e.record(r, "inclusion", label);
            return None;
        }
        let (_, hash, keys) = self.log_keys().ok()?;
        let verified = match ev.verify(keys, *hash, None) {
            Ok(v) => v,
            Err(e) => {
                fail(r, "inclusion", label, log_sub(&e), e.to_string());
                return None;
            }
        };
        let entry = match Entry::decode(&verified.entry) {
            Ok(e) => e,
            Err(e) => {
                fail(
                    r,
                    "inclusion",
                    label,
                    SubIndication::FormatFailure,
                    e.to_string(),
                );
                return None;
            }
        };
        r.pass(
            "inclusion",
            label,
            format!(
                "entry #{index} is in the log at tree size {}",
                verified.checkpoint.checkpoint().size()
            ),
        );
        events.push(proven_event(index, &entry, true));
        Some(entry)
    }
}

/// Why a checkpoint was not accepted, and how grave that is (TOTAL_FAILED
/// for a bad or missing log signature, INDETERMINATE for too few witnesses).
pub(crate) struct CheckpointRefusal {
    indication: Indication,
    sub: SubIndication,
    msg: String,
}

impl CheckpointRefusal {
    /// Record the refusal as check `id` on `subject`.
    pub(crate) fn record(self, r: &mut VerificationReport, id: &str, subject: &str) {
        r.fail(id, subject, self.indication, self.sub, self.msg);
    }
}

/// Record a TOTAL_FAILED check.
pub(crate) fn fail(
    r: &mut VerificationReport,
    id: &str,
    subject: &str,
    sub: SubIndication,
    msg: String,
) {
    r.fail(id, subject, Indication::TotalFailed, sub, msg);
}

fn format_failure(object: &str, now: SystemTime, msg: &str) -> VerificationReport {
    let mut r = VerificationReport::new(object, rfc3339(now));
    fail(
        &mut r,
        "format",
        object,
        SubIndication::FormatFailure,
        msg.to_string(),
    );
    r
}

/// The time basis of a report judged at `at` from `source`, unless a
/// verified time stamp was used.
fn time_basis_of(
    r: &VerificationReport,
    at: SystemTime,
    source: TimeSource,
    reason: &str,
) -> TimeBasis {
    if let Some(c) = r
        .checks()
        .iter()
        .find(|c| c.id == "time stamp" && c.status == CheckStatus::Passed)
    {
        return TimeBasis {
            time: rfc3339(at),
            source: TimeSource::TimeStamp,
            reason: format!(
                "the signature carries a verified time stamp and is judged at its time ({}); \
                 anything else at the current time",
                c.message
            ),
        };
    }
    TimeBasis {
        time: rfc3339(at),
        source,
        reason: reason.into(),
    }
}

/// The first seal picture in an OFD package, with its MIME type.
fn seal_picture(ofd: &[u8]) -> Option<(String, Vec<u8>)> {
    let pkg = yinzheng_document::OfdPackage::read(ofd).ok()?;
    for s in pkg.signatures().ok()? {
        let Some(sv) = pkg.part(&s.signed_value) else {
            continue;
        };
        if let Ok(sig) = yinzheng_seal::SealSignature::parse(sv) {
            let p = sig.seal().picture();
            let mime = match p.kind.to_ascii_lowercase().as_str() {
                "png" => "image/png",
                "jpg" | "jpeg" => "image/jpeg",
                "gif" => "image/gif",
                "bmp" => "image/bmp",
                "svg" => "image/svg+xml",
                _ => continue,
            };
            return Some((mime.to_string(), p.data.clone()));
        }
    }
    None
}
