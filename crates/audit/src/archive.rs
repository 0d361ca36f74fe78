//! Archive packages (`*.archive`, `yinzheng-archive/1`): electronic records
//! handed to an archive (单套制归档: the electronic file is the record)
//! with everything needed to prove them offline decades later — the files,
//! an RFC 4998 evidence record for each, the certificates and CRLs of their
//! validation, a license's evidence bundle (log proofs), the trust anchors
//! used, a manifest with SM3 digests and a human-readable summary. The
//! layout is in `docs/FORMATS.md`; the check is the four-property check of
//! DA/T 70 (真实性, 完整性, 可用性, 安全性), each property with what was
//! checked and the result.

use crate::auditor::{Auditor, fail};
use crate::bundle;
use crate::error::{Error, Result};
use crate::outcome::{Outcome, TimeBasis, TimeSource, properties_of};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::time::SystemTime;
use yinzheng_document::{Format, ValidationTime, VerifyRequest};
use yinzheng_pki::{Crl, ParsedCert, SubIndication, VerificationReport, rfc3339};

/// The role of the record that holds a license bundle's signed checkpoint:
/// under the package's archive time stamp it proves that every entry the
/// checkpoint holds existed then, whatever becomes of the log's key.
pub const LOG_CHECKPOINT_ROLE: &str = "log checkpoint";

/// The `format` value of version 1 of the archive manifest.
pub const ARCHIVE_FORMAT: &str = "yinzheng-archive/1";

/// `manifest.json` of an archive package.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ArchiveManifest {
    /// Always [`ARCHIVE_FORMAT`].
    pub format: String,
    /// What the package holds, in words (a license identifier, a file name).
    pub title: String,
    /// When the package was written (RFC 3339), informational.
    pub exported_at: String,
    /// The records.
    pub records: Vec<ArchiveRecord>,
    /// A license's evidence bundle, when the package is of a license.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub license: Option<ArchiveLicense>,
    /// Member name of the trust-anchors file the package was made under
    /// (`yinzheng trust export`): informational, an auditor judges under
    /// their own.
    pub trust: String,
    /// Member name of the PEM certificates of the records' signatures and
    /// time stamps, with the CAs they chain to (evidence, not anchors).
    pub certificates: String,
    /// Member name of the PEM CRLs at export time.
    pub crls: String,
    /// Member names of the human-readable summary (text, HTML): the
    /// four-property check as the exporter ran it.
    #[serde(default)]
    pub summary: Vec<String>,
    /// SM3 (hex) of every other member, by name.
    pub members: BTreeMap<String, String>,
}

/// One record of an archive package.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ArchiveRecord {
    /// Member name (`records/NAME`).
    pub path: String,
    /// `pdf`, `ofd` or `data` (anything else: its existence is proven, its
    /// content not judged).
    pub format: String,
    /// What it is (`license master`, `license copy`, `file`).
    pub role: String,
    /// Member name of its RFC 4998 evidence record (`proofs/NAME.ers`).
    pub evidence_record: String,
}

/// The license a package is of.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ArchiveLicense {
    /// Its identifier.
    pub id: String,
    /// Member name of its evidence bundle (`license/ID.evidence`).
    pub bundle: String,
}

/// Writes an archive package: add members, then [`ArchiveWriter::finish`].
#[derive(Clone, Debug, Default)]
pub struct ArchiveWriter {
    members: Vec<(String, Vec<u8>)>,
}

impl ArchiveWriter {
    /// An empty package.
    pub fn new() -> Self {
        Self::default()
    }

    /// Add a member.
    pub fn add(&mut self, name: &str, data: Vec<u8>) {
        self.members.push((name.to_string(), data));
    }

    /// Fill `manifest.members` with the SM3 of every member, set the format,
    /// and write the zip (members stored, as evidence bundles are).
    pub fn finish(self, mut manifest: ArchiveManifest) -> Result<Vec<u8>> {
        manifest.format = ARCHIVE_FORMAT.into();
        manifest.members = self
            .members
            .iter()
            .map(|(n, d)| (n.clone(), yinzheng_crypto::sm3_hex(d)))
            .collect();
        let json =
            serde_json::to_vec_pretty(&manifest).map_err(|e| Error::Bundle(e.to_string()))?;
        bundle::write_stored_zip(json, self.members)
    }
}

/// Whether `bytes` is an archive package (a zip whose manifest says so).
pub fn is_archive(bytes: &[u8]) -> bool {
    bundle::manifest_format(bytes).as_deref() == Some(ARCHIVE_FORMAT)
}

/// Property prefixes of check ids (see [`crate::properties_of`]).
const AUTH: &str = "authenticity";
const INTEG: &str = "integrity";
const USE: &str = "usability";
const SEC: &str = "security";

impl Auditor {
    /// Verify an archive package at `at` (normally now; `--at` years on)
    /// into the four-property check: integrity (the container, every
    /// member's SM3, each record's evidence record over its bytes, the
    /// license's documents equal to its bundle's), authenticity (each
    /// record's signatures and seals, judged at the time its evidence
    /// record proves; the license's log proofs and events), usability
    /// (each record opens in its declared format; the summary is there),
    /// security (each evidence record's time stamps under the trust
    /// anchors — the last one's TSA certificate still valid at `at` —, its
    /// hash algorithm, the trust the package was made under). `crls` add
    /// revocation data to the package's.
    pub fn verify_archive(&self, bytes: &[u8], crls: &[Crl], at: SystemTime) -> Outcome {
        let mut out = Outcome {
            report: VerificationReport::new("archive package", rfc3339(at)),
            time_basis: TimeBasis {
                time: rfc3339(at),
                source: TimeSource::Now,
                reason: "each record is judged at the time its evidence record proves; the \
                         last time stamp of each at this time"
                    .into(),
            },
            facts: Vec::new(),
            events: Vec::new(),
            picture: None,
            properties: Vec::new(),
        };
        self.archive_checks(&mut out, bytes, crls, at);
        out.properties = properties_of(&out.report);
        out
    }

    fn archive_checks(&self, out: &mut Outcome, bytes: &[u8], crls: &[Crl], at: SystemTime) {
        let r = &mut out.report;
        let read = match bundle::read(bytes) {
            Ok(b) => b,
            Err(e) => {
                fail(r, INTEG, "package", SubIndication::FormatFailure, e);
                return;
            }
        };
        for (m, why) in &read.damaged {
            fail(r, INTEG, m, SubIndication::HashFailure, why.clone());
        }
        let manifest: ArchiveManifest = match read
            .members
            .get("manifest.json")
            .ok_or_else(|| "no manifest.json".to_string())
            .and_then(|m| serde_json::from_slice(m).map_err(|e| e.to_string()))
        {
            Ok(m) => m,
            Err(e) => {
                fail(
                    r,
                    INTEG,
                    "manifest.json",
                    SubIndication::FormatFailure,
                    format!("the manifest cannot be read: {e}"),
                );
                return;
            }
        };
        if manifest.format != ARCHIVE_FORMAT {
            fail(
                r,
                INTEG,
                "manifest.json",
                SubIndication::FormatFailure,
                format!("format {:?}, not {ARCHIVE_FORMAT}", manifest.format),
            );
            return;
        }
        for m in &read.compressed {
            fail(
                r,
                INTEG,
                m,
                SubIndication::FormatFailure,
                "compressed: archive members are stored, so that a change stays where it was made"
                    .into(),
            );
        }
        if let Err(why) = check_manifest_shape(&manifest) {
            fail(r, INTEG, "manifest.json", SubIndication::FormatFailure, why);
            return;
        }
        out.facts.push(("package".into(), manifest.title.clone()));
        out.facts
            .push(("exported at".into(), manifest.exported_at.clone()));

        // Integrity of the container: every member listed with its SM3,
        // nothing unlisted.
        let mut intact = true;
        for (name, sm3) in &manifest.members {
            match read.members.get(name) {
                None => {
                    intact = false;
                    fail(
                        r,
                        INTEG,
                        name,
                        SubIndication::FormatFailure,
                        "listed in the manifest, missing from the package".into(),
                    );
                }
                Some(d) if yinzheng_crypto::sm3_hex(d) != *sm3 => {
                    intact = false;
                    fail(
                        r,
                        INTEG,
                        name,
                        SubIndication::HashFailure,
                        "its SM3 is not the manifest's: the member was changed".into(),
                    );
                }
                Some(_) => {}
            }
        }
        for name in read.members.keys() {
            if name != "manifest.json" && !manifest.members.contains_key(name) {
                intact = false;
                fail(
                    r,
                    INTEG,
                    name,
                    SubIndication::FormatFailure,
                    "in the package but not in the manifest".into(),
                );
            }
        }
        if intact {
            r.pass(
                INTEG,
                "package",
                format!(
                    "every one of the {} members has the SM3 the manifest lists; none missing, none added",
                    manifest.members.len()
                ),
            );
        }
        let member = |name: &str| read.members.get(name).map(Vec::as_slice);

        // The validation data the package carries (evidence, not anchors).
        for (what, name) in [
            ("CRLs", &manifest.crls),
            ("certificates", &manifest.certificates),
        ] {
            if member(name).is_none() {
                fail(
                    r,
                    USE,
                    name,
                    SubIndication::FormatFailure,
                    format!("the manifest names the {what} member, which is missing"),
                );
            }
        }
        let mut all_crls = crls.to_vec();
        if let Some(pem) = member(&manifest.crls) {
            match Crl::parse_all(pem) {
                Ok(c) => all_crls.extend(c),
                Err(e) => fail(
                    r,
                    USE,
                    &manifest.crls,
                    SubIndication::FormatFailure,
                    format!("the CRLs cannot be read: {e}"),
                ),
            }
        }
        let certs = match member(&manifest.certificates).map(ParsedCert::load_all) {
            Some(Ok(c)) => c,
            Some(Err(e)) => {
                fail(
                    r,
                    USE,
                    &manifest.certificates,
                    SubIndication::FormatFailure,
                    format!("the certificates cannot be read: {e}"),
                );
                Vec::new()
            }
            None => Vec::new(),
        };
        let ctx = self.context(&all_crls, &certs);

        if manifest.records.is_empty() {
            fail(
                r,
                INTEG,
                "manifest.json",
                SubIndication::FormatFailure,
                "the package holds no record".into(),
            );
        }
        // Every record is under the one archive time stamp the export made:
        // a record swapped with its own, later, evidence record is not.
        let firsts: Vec<Option<Vec<u8>>> = manifest
            .records
            .iter()
            .map(|rec| {
                member(&rec.evidence_record)
                    .and_then(|e| yinzheng_cms::EvidenceRecord::parse(e).ok())
                    .and_then(|e| e.chains.first()?.first().map(|a| a.time_stamp.clone()))
            })
            .collect();
        if firsts.iter().all(Option::is_some) && firsts.windows(2).any(|w| w[0] != w[1]) {
            fail(
                r,
                INTEG,
                "proofs",
                SubIndication::SigConstraintsFailure,
                "the records' evidence records do not start with the same archive time stamp: \
                 one was made apart from the package"
                    .into(),
            );
        } else if manifest.records.len() > 1 && firsts.iter().all(Option::is_some) {
            r.pass(
                INTEG,
                "proofs",
                format!(
                    "the {} records share one archive time stamp",
                    manifest.records.len()
                ),
            );
        }
        let mut digests_used: Vec<String> = Vec::new();
        let mut renew_before: Option<String> = None;
        for rec in &manifest.records {
            let name = rec.path.as_str();
            let Some(data) = member(name) else {
                fail(
                    r,
                    INTEG,
                    name,
                    SubIndication::FormatFailure,
                    "the record is missing".into(),
                );
                continue;
            };
            // Integrity: the evidence record is over exactly these bytes.
            let Some(ers) = member(&rec.evidence_record) else {
                fail(
                    r,
                    INTEG,
                    name,
                    SubIndication::FormatFailure,
                    format!("its evidence record {} is missing", rec.evidence_record),
                );
                continue;
            };
            // One verification serves both: its links exist only when every
            // hash and token of the record holds for these bytes.
            let (ers_report, links) =
                yinzheng_document::verify_evidence_record(&ctx, ers, data, at);
            if links.is_empty() {
                let why = ers_report
                    .checks()
                    .iter()
                    .find(|c| c.status == yinzheng_pki::CheckStatus::Failed)
                    .map(|c| format!("{}: {}", c.subject, c.message))
                    .unwrap_or_default();
                fail(
                    r,
                    INTEG,
                    name,
                    SubIndication::HashFailure,
                    format!("its evidence record does not hold for it: {why}"),
                );
            } else {
                r.pass(
                    INTEG,
                    name,
                    format!(
                        "its evidence record {} holds for its {} bytes (SM3 {})",
                        rec.evidence_record,
                        data.len(),
                        yinzheng_crypto::sm3_hex(data)
                    ),
                );
            }
            // Security: the record's time stamps under the anchors.
            for l in &links {
                if !digests_used.contains(&l.digest) {
                    digests_used.push(l.digest.clone());
                }
            }
            r.absorb(&format!("{SEC} {}", rec.evidence_record), &ers_report);
            let proven = match links.first() {
                Some(first) if ers_report.passed() => {
                    let t = time::OffsetDateTime::parse(
                        &first.time,
                        &time::format_description::well_known::Rfc3339,
                    )
                    .ok()
                    .map(SystemTime::from);
                    r.pass(
                        SEC,
                        name,
                        format!(
                            "existence proven at {} by {} ({} archive time stamp(s), {}); the last \
                             holds until {}",
                            first.time,
                            first.tsa,
                            links.len(),
                            links.last().map_or("", |l| l.digest.as_str()),
                            links.last().map_or("", |l| l.valid_until.as_str())
                        ),
                    );
                    out_fact(&mut out.facts, name, &first.time);
                    if let Some(last) = links.last()
                        && renew_before
                            .as_deref()
                            .is_none_or(|b| last.valid_until.as_str() < b)
                    {
                        renew_before = Some(last.valid_until.clone());
                    }
                    t
                }
                _ => None,
            };
            // Usability and authenticity: the record opens in its format,
            // and its signatures hold at the proven time.
            let declared = rec.format.as_str();
            let sniffed = Format::sniff(data);
            let format = match (declared, sniffed) {
                ("pdf", Some(Format::Pdf)) => Some(Format::Pdf),
                ("ofd", Some(Format::Ofd)) => Some(Format::Ofd),
                ("data", Some(f @ (Format::Pdf | Format::Ofd))) => {
                    fail(
                        r,
                        USE,
                        name,
                        SubIndication::FormatFailure,
                        format!(
                            "declared data, but it is a {}: its signatures would go unjudged",
                            f.name()
                        ),
                    );
                    continue;
                }
                ("data", _) => None,
                (d, s) => {
                    fail(
                        r,
                        USE,
                        name,
                        SubIndication::FormatFailure,
                        format!(
                            "declared {d}, but it reads as {}",
                            s.map_or("nothing known", |f| f.name())
                        ),
                    );
                    continue;
                }
            };
            let Some(format) = format else {
                r.pass(
                    USE,
                    name,
                    format!("{} bytes of data; its content is not judged", data.len()),
                );
                r.skip(
                    AUTH,
                    name,
                    "not a signed format: its existence is proven by its evidence record",
                );
                continue;
            };
            let req = VerifyRequest {
                time: proven.map_or(ValidationTime::Unproven, ValidationTime::ProvenAt),
                ..VerifyRequest::default()
            };
            match ctx.verify_as(format, data, &req) {
                Ok(report) => {
                    r.pass(
                        USE,
                        name,
                        format!("opens as {} ({})", format.name(), rec.role),
                    );
                    let passed = report.passed();
                    r.absorb(&format!("{AUTH} {name}"), &report);
                    if passed {
                        r.pass(
                            AUTH,
                            name,
                            format!(
                                "every signature and seal holds, judged at {}",
                                proven.map_or_else(
                                    || "the validation time (nothing proves an earlier one)"
                                        .to_string(),
                                    |t| format!("{} (its evidence record)", rfc3339(t))
                                )
                            ),
                        );
                    }
                }
                Err(e) => fail(
                    r,
                    USE,
                    name,
                    SubIndication::FormatFailure,
                    format!("cannot be read as {}: {e}", format.name()),
                ),
            }
        }
        if let Some(b) = &renew_before {
            r.pass(
                SEC,
                "package",
                format!("the proofs hold until {b}: renew the evidence records before then"),
            );
            out.facts.push(("renew before".into(), b.clone()));
        }
        if !digests_used.is_empty() {
            r.pass(
                SEC,
                "package",
                format!(
                    "hash algorithms of the evidence records: {} (SM3 for the manifest)",
                    digests_used.join(", ")
                ),
            );
        }

        // The license: its bundle (log proofs, events, status) and its
        // documents equal to the records.
        if let Some(lic) = &manifest.license {
            match member(&lic.bundle) {
                None => fail(
                    r,
                    INTEG,
                    &lic.bundle,
                    SubIndication::FormatFailure,
                    "the license's evidence bundle is missing".into(),
                ),
                Some(b) => {
                    let o = self.verify_bundle(b, &all_crls, at);
                    r.absorb(&format!("{AUTH} license {}", lic.id), &o.report);
                    if o.report.passed() {
                        r.pass(
                            AUTH,
                            &format!("license {}", lic.id),
                            "its issuance and every lifecycle event are proven in the log; its \
                             documents hold",
                        );
                    }
                    out.facts.extend(o.facts);
                    out.events.extend(o.events);
                    match bundle::documents(b) {
                        Ok((license_id, docs)) => {
                            if license_id != lic.id {
                                fail(
                                    r,
                                    INTEG,
                                    &lic.bundle,
                                    SubIndication::FormatFailure,
                                    format!(
                                        "the bundle is of license {license_id}, the manifest says {}",
                                        lic.id
                                    ),
                                );
                            }
                            // The license's records are exactly the bundle's documents.
                            let license_records: Vec<&ArchiveRecord> = manifest
                                .records
                                .iter()
                                .filter(|rec| rec.role.starts_with("license"))
                                .collect();
                            let checkpoint = bundle::checkpoint_of(b).ok();
                            let stamped = manifest.records.iter().any(|rec| {
                                rec.role == LOG_CHECKPOINT_ROLE
                                    && member(&rec.path).is_some()
                                    && member(&rec.path) == checkpoint.as_deref()
                            });
                            if stamped {
                                r.pass(
                                    SEC,
                                    &lic.bundle,
                                    "the bundle's signed checkpoint is a record under the archive \
                                     time stamp: every entry it holds is proven to have existed \
                                     then, independently of the log's key",
                                );
                            } else {
                                r.warn(
                                    SEC,
                                    &lic.bundle,
                                    "the bundle's checkpoint is not among the time-stamped \
                                     records: its entries rest on the log's key alone",
                                );
                            }
                            // The same documents, each as often: SM3 multisets.
                            let mut theirs: Vec<[u8; 32]> =
                                docs.iter().map(|(_, d)| yinzheng_crypto::sm3(d)).collect();
                            let mut ours: Vec<[u8; 32]> = license_records
                                .iter()
                                .filter_map(|rec| member(&rec.path))
                                .map(yinzheng_crypto::sm3)
                                .collect();
                            theirs.sort_unstable();
                            ours.sort_unstable();
                            let matched = license_records.len() == ours.len() && ours == theirs;
                            if matched && !docs.is_empty() {
                                r.pass(
                                    INTEG,
                                    &lic.bundle,
                                    format!(
                                        "the {} license records are the bundle's documents, byte for byte",
                                        docs.len()
                                    ),
                                );
                            } else {
                                fail(
                                    r,
                                    INTEG,
                                    &lic.bundle,
                                    SubIndication::HashFailure,
                                    format!(
                                        "the license records ({}) are not the bundle's {} documents, \
                                         byte for byte",
                                        license_records.len(),
                                        docs.len()
                                    ),
                                );
                            }
                        }
                        Err(e) => fail(
                            r,
                            INTEG,
                            &lic.bundle,
                            SubIndication::FormatFailure,
                            format!("the bundle's documents cannot be read: {e}"),
                        ),
                    }
                }
            }
        }
        // The trust the package was made under, beside the auditor's.
        match member(&manifest.trust).map(std::str::from_utf8) {
            Some(Ok(text)) => match crate::TrustAnchors::from_toml(text) {
                Ok(theirs) if theirs.domains.is_empty() => r.warn(
                    SEC,
                    &manifest.trust,
                    "the package's trust file names no root",
                ),
                Ok(theirs) => {
                    let mine: Vec<&[u8]> = self.trust.anchors.iter().map(|c| c.der()).collect();
                    let covered = theirs.domains.iter().all(|d| {
                        ParsedCert::load_all(d.root.as_bytes())
                            .ok()
                            .and_then(|c| c.into_iter().next())
                            .is_some_and(|c| mine.contains(&c.der()))
                    });
                    if covered {
                        r.pass(
                            SEC,
                            &manifest.trust,
                            "the package was made under roots this audit trusts",
                        );
                    } else {
                        r.warn(
                            SEC,
                            &manifest.trust,
                            "the package was made under roots this audit does not trust; it is \
                             judged under yours",
                        );
                    }
                }
                Err(e) => r.warn(
                    SEC,
                    &manifest.trust,
                    format!("the package's trust file cannot be read: {e}"),
                ),
            },
            _ => r.warn(
                SEC,
                &manifest.trust,
                "the package's trust file is missing or not UTF-8",
            ),
        }
        let summaries = manifest
            .summary
            .iter()
            .filter(|s| member(s).is_some())
            .count();
        if summaries > 0 && summaries == manifest.summary.len() {
            r.pass(
                USE,
                "summary",
                format!("a human-readable summary: {}", manifest.summary.join(", ")),
            );
        } else {
            r.warn(USE, "summary", "the human-readable summary is missing");
        }
        if let Some(t) = manifest.records.first().and_then(|_| {
            out.facts
                .iter()
                .find(|(k, _)| k.starts_with("existed at"))
                .map(|(_, v)| v.clone())
        }) {
            out.time_basis = TimeBasis {
                time: t,
                source: TimeSource::TimeStamp,
                reason: "each record is judged at the time its evidence record's first archive \
                         time stamp proves; the last time stamp of each at the validation time"
                    .into(),
            };
        }
    }
}

/// Most records in one package.
const MAX_RECORDS: usize = 10_000;

/// A manifest whose names are sane: records under `records/`, evidence
/// records under `proofs/`, each once; no control characters anywhere a
/// report prints (a newline could fake a line of it).
fn check_manifest_shape(m: &ArchiveManifest) -> std::result::Result<(), String> {
    if m.records.len() > MAX_RECORDS {
        return Err(format!(
            "{} records, more than {MAX_RECORDS}",
            m.records.len()
        ));
    }
    let printable = |what: &str, v: &str| {
        if v.chars().any(char::is_control) {
            Err(format!("{what} {v:?} holds control characters"))
        } else {
            Ok(())
        }
    };
    printable("title", &m.title)?;
    printable("exportedAt", &m.exported_at)?;
    printable("trust", &m.trust)?;
    printable("certificates", &m.certificates)?;
    printable("crls", &m.crls)?;
    for name in m.summary.iter().chain(m.members.keys()) {
        printable("member", name)?;
    }
    if let Some(l) = &m.license {
        printable("license", &l.id)?;
        printable("bundle", &l.bundle)?;
    }
    let mut seen = std::collections::HashSet::new();
    for rec in &m.records {
        printable("record", &rec.path)?;
        printable("role", &rec.role)?;
        printable("evidence record", &rec.evidence_record)?;
        if !rec.path.starts_with("records/") || !rec.evidence_record.starts_with("proofs/") {
            return Err(format!(
                "record {:?} with evidence record {:?}: records live under records/, their \
                 evidence records under proofs/",
                rec.path, rec.evidence_record
            ));
        }
        if !seen.insert(rec.path.as_str()) || !seen.insert(rec.evidence_record.as_str()) {
            return Err(format!(
                "{:?} or {:?} is listed twice",
                rec.path, rec.evidence_record
            ));
        }
    }
    Ok(())
}

fn out_fact(facts: &mut Vec<(String, String)>, name: &str, time: &str) {
    facts.push((format!("existed at ({name})"), time.to_string()));
}
