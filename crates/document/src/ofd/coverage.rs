//! The coverage rule of OFD verification: what the signatures' References
//! protect against what a reader displays (see the parent module's doc).
//!
//! Check ids in the report: `reference` (one per Reference), `document`
//! (structure and each signature signing the DocRoot document), `coverage`
//! (displayed parts), `seal-file` (seal copies beside signatures),
//! `unprotected` (warnings about parts no signature covers and no reader shows).

use super::{DisplayedParts, OfdPackage, OfdSignature, dir_of};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use yinzheng_crypto::{DIGEST_LEN, DigestAlgorithm};
use yinzheng_pki::{Indication, SubIndication, VerificationReport};
use yinzheng_seal::Seal;

/// The signatures' References, each part's digest computed once per algorithm.
pub(super) struct Coverage<'a> {
    pkg: &'a OfdPackage,
    sigs: &'a [OfdSignature],
    /// Per signature, per Reference: `Some(matches)`, `None` when the part is gone.
    results: Vec<Vec<Option<bool>>>,
    /// Part → the signatures (indexes) referencing it.
    by_part: BTreeMap<&'a str, BTreeSet<usize>>,
}

impl<'a> Coverage<'a> {
    pub(super) fn new(pkg: &'a OfdPackage, sigs: &'a [OfdSignature]) -> Self {
        let mut by_part: BTreeMap<&str, BTreeSet<usize>> = BTreeMap::new();
        // Each part is hashed once per digest algorithm, however many
        // signatures reference it (a countersigned package's pages).
        let mut digests: HashMap<(&str, DigestAlgorithm), Option<[u8; DIGEST_LEN]>> =
            HashMap::new();
        let results = sigs
            .iter()
            .enumerate()
            .map(|(i, s)| {
                s.references
                    .iter()
                    .map(|(part, digest)| {
                        by_part.entry(part.as_str()).or_default().insert(i);
                        digests
                            .entry((part.as_str(), s.check_method))
                            .or_insert_with(|| pkg.part(part).map(|b| s.check_method.digest(b)))
                            .as_ref()
                            .map(|d| d.as_slice() == digest.as_slice())
                    })
                    .collect()
            })
            .collect();
        Coverage {
            pkg,
            sigs,
            results,
            by_part,
        }
    }

    /// Whether some signature references `part` and every such Reference matches.
    fn intact(&self, part: &str) -> bool {
        self.by_part.get(part).is_some_and(|set| {
            set.iter().all(|&i| {
                self.sigs[i]
                    .references
                    .iter()
                    .zip(&self.results[i])
                    .filter(|((p, _), _)| p == part)
                    .all(|(_, r)| *r == Some(true))
            })
        })
    }

    /// Displayed parts that are missing or unreadable: FORMAT_FAILURE each.
    ///
    /// A reader cannot show what is not there, so what it shows instead is
    /// up to the reader; a verifier cannot vouch for it.
    pub(super) fn structure(&self, report: &mut VerificationReport, shown: &DisplayedParts) {
        for (loc, via) in shown.missing() {
            report.fail(
                "document",
                loc,
                Indication::TotalFailed,
                SubIndication::FormatFailure,
                format!("{loc:?} ({via}) is displayed but missing from the package"),
            );
        }
        for (part, why) in shown.malformed() {
            report.fail(
                "document",
                part,
                Indication::TotalFailed,
                SubIndication::FormatFailure,
                format!("{part} is displayed but cannot be read: {why}"),
            );
        }
    }

    /// Signature `i`'s References: each digest over the raw bytes of its part
    /// with the signature's CheckMethod (GB/T 38540 in OFD). A part changed or
    /// removed after signing is HASH_FAILURE naming it.
    pub(super) fn references(&self, report: &mut VerificationReport, i: usize, label: &str) {
        let s = &self.sigs[i];
        for ((part, _), result) in s.references.iter().zip(&self.results[i]) {
            match result {
                Some(true) => report.pass(
                    "reference",
                    part,
                    format!("{} of {part} matches ({label})", s.check_method),
                ),
                Some(false) => report.fail(
                    "reference",
                    part,
                    Indication::TotalFailed,
                    SubIndication::HashFailure,
                    format!(
                        "{part} was changed after {label}: its {} does not match",
                        s.check_method
                    ),
                ),
                None => report.fail(
                    "reference",
                    part,
                    Indication::TotalFailed,
                    SubIndication::HashFailure,
                    format!("{part}, protected by {label}, is missing"),
                ),
            }
        }
    }

    /// Signature `i` must reference the Document.xml that OFD.xml's DocRoot
    /// names; else it signed some other document (or none), e.g. after DocRoot
    /// was re-pointed to an unsigned copy: SIG_CONSTRAINTS_FAILURE.
    pub(super) fn signs_document(
        &self,
        report: &mut VerificationReport,
        i: usize,
        label: &str,
        shown: &DisplayedParts,
    ) {
        let doc = shown.document();
        if self.sigs[i].references.iter().any(|(p, _)| p == doc) {
            report.pass("document", doc, format!("{label} signs {doc}"));
        } else {
            report.fail(
                "document",
                doc,
                Indication::TotalFailed,
                SubIndication::SigConstraintsFailure,
                format!(
                    "{label} does not sign the document OFD.xml names ({doc} is not among its References)"
                ),
            );
        }
    }

    /// Seal files of signature `i`: the one `<Seal><BaseLoc>` names and, when
    /// the signature has its folder to itself, every `.esl` in it. Readers draw
    /// the stamp from such a file (ours does), so it must hold the seal inside
    /// the signed value (`signed`): same esID, picture and maker signature.
    ///
    /// - byte-identical: passes if a signature protects the file, else a
    ///   warning (an unprotected copy, as some vendors leave);
    /// - re-encoded but the same seal: a warning;
    /// - a different seal: SIG_CONSTRAINTS_FAILURE naming the file;
    /// - unreadable as a seal: a warning when protected, else FORMAT_FAILURE
    ///   (a lenient reader may still show something from it);
    /// - no signed seal to compare with (a `Type="Sign"` signature, an
    ///   unreadable signed value): SIG_CONSTRAINTS_FAILURE unless protected.
    ///
    /// Returns the files looked at (so they are not warned about again).
    pub(super) fn seal_files(
        &self,
        report: &mut VerificationReport,
        i: usize,
        label: &str,
        signed: Option<&Seal>,
    ) -> Vec<String> {
        let s = &self.sigs[i];
        let mut files: Vec<String> = Vec::new();
        if let Some(f) = &s.seal_file {
            if self.pkg.part(f).is_some() {
                files.push(f.clone());
            } else {
                report.warn(
                    "seal-file",
                    f,
                    format!("{label} names the seal file {f}, which is missing"),
                );
            }
        }
        let dir = dir_of(&s.signature_xml);
        let alone = self
            .sigs
            .iter()
            .filter(|o| dir_of(&o.signature_xml) == dir)
            .count()
            == 1;
        if alone && !dir.is_empty() {
            for name in self.pkg.part_names() {
                if dir_of(name) == dir
                    && name.to_ascii_lowercase().ends_with(".esl")
                    && name != s.signed_value
                    && !files.iter().any(|f| f == name)
                {
                    files.push(name.to_string());
                }
            }
        }
        for f in &files {
            let bytes = self.pkg.part(f).unwrap_or_default();
            let protected = self.intact(f);
            let copy = Seal::parse(bytes);
            match (signed, copy) {
                (Some(signed), Ok(copy)) => {
                    let diffs = differences(signed, &copy);
                    if copy.raw() == signed.raw() {
                        if protected {
                            report.pass(
                                "seal-file",
                                f,
                                format!("{f} holds the seal of {label}"),
                            );
                        } else {
                            report.warn(
                                "seal-file",
                                f,
                                format!(
                                    "{f} is an unprotected copy of the seal of {label}, byte-identical to the signed one"
                                ),
                            );
                        }
                    } else if diffs.is_empty() {
                        report.warn(
                            "seal-file",
                            f,
                            format!(
                                "{f} holds the seal of {label} re-encoded (same esID, picture and maker signature, other bytes)"
                            ),
                        );
                    } else {
                        report.fail(
                            "seal-file",
                            f,
                            Indication::TotalFailed,
                            SubIndication::SigConstraintsFailure,
                            format!(
                                "{f} holds a different seal from the one {label} signed ({}): a reader showing it shows a seal nobody signed here",
                                diffs.join(", ")
                            ),
                        );
                    }
                }
                (Some(_), Err(e)) if protected => report.warn(
                    "seal-file",
                    f,
                    format!("{f} (protected) cannot be read as a seal: {e}"),
                ),
                (Some(_), Err(e)) => report.fail(
                    "seal-file",
                    f,
                    Indication::TotalFailed,
                    SubIndication::FormatFailure,
                    format!(
                        "{f}, the seal file of {label}, is not protected and cannot be read as a seal ({e}); what a reader shows from it is unknown"
                    ),
                ),
                (None, _) if protected => {}
                (None, _) => report.fail(
                    "seal-file",
                    f,
                    Indication::TotalFailed,
                    SubIndication::SigConstraintsFailure,
                    format!(
                        "{f}, the seal file of {label}, is not protected and the signature carries no seal to compare it with"
                    ),
                ),
            }
        }
        files
    }

    /// Every displayed part is referenced by at least one signature, else
    /// SIG_CONSTRAINTS_FAILURE naming it (added or swapped in after signing).
    /// A signature that leaves out a displayed part another one covers gets a
    /// warning (e.g. an annotation added between two signatures).
    pub(super) fn displayed(&self, report: &mut VerificationReport, shown: &DisplayedParts) {
        let mut uncovered = 0usize;
        let mut partial: BTreeMap<usize, Vec<&str>> = BTreeMap::new();
        let mut count = 0usize;
        for (part, via) in shown.parts() {
            count += 1;
            match self.by_part.get(part) {
                None => {
                    uncovered += 1;
                    report.fail(
                        "coverage",
                        part,
                        Indication::TotalFailed,
                        SubIndication::SigConstraintsFailure,
                        format!("{part} ({via}) is displayed but no signature protects it"),
                    );
                }
                Some(set) => {
                    for i in (0..self.sigs.len()).filter(|i| !set.contains(i)) {
                        partial.entry(i).or_default().push(part);
                    }
                }
            }
        }
        for (i, parts) in partial {
            let s = &self.sigs[i];
            let shown_list: Vec<&str> = parts.iter().take(5).copied().collect();
            report.warn(
                "coverage",
                &s.signature_xml,
                format!(
                    "signature {} does not cover {} displayed part(s) another signature covers: {}{}",
                    s.id,
                    parts.len(),
                    shown_list.join(", "),
                    if parts.len() > 5 { ", …" } else { "" }
                ),
            );
        }
        if uncovered == 0 {
            report.pass(
                "coverage",
                shown.document(),
                format!("all {count} displayed parts are protected by a signature"),
            );
        }
    }

    /// Parts no signature references and no reader displays: warnings, except
    /// the signatures' own Signature.xml and SignedValue.dat, the Signatures
    /// list (it must stay open for later signatures) and the seal files
    /// already judged (`seal_files`).
    pub(super) fn unprotected(
        &self,
        report: &mut VerificationReport,
        shown: &DisplayedParts,
        seal_files: &BTreeSet<String>,
    ) {
        let carried: BTreeMap<&str, &str> = shown.carried().collect();
        for name in self.pkg.part_names() {
            let own = self
                .sigs
                .iter()
                .any(|s| s.signature_xml == name || s.signed_value == name || s.list == name);
            if own
                || self.by_part.contains_key(name)
                || shown.contains(name)
                || seal_files.contains(name)
            {
                continue;
            }
            let msg = if name == "OFD.xml" {
                "OFD.xml is not protected by any signature: its DocInfo (DocID, title, \
                 dates) is metadata no signature vouches for (the document it names is checked)"
                    .to_string()
            } else if let Some(via) = carried.get(name) {
                format!("{name} ({via}) is not displayed and no signature protects it")
            } else {
                format!(
                    "{name} is not protected by any signature and nothing displayed refers to it"
                )
            };
            report.warn("unprotected", name, msg);
        }
    }
}

/// How `copy` differs from `signed`, in what a reader or verifier sees.
fn differences(signed: &Seal, copy: &Seal) -> Vec<&'static str> {
    let mut d = Vec::new();
    if signed.id() != copy.id() {
        d.push("esID");
    }
    let (a, b) = (signed.picture(), copy.picture());
    if a.data != b.data
        || !a.kind.eq_ignore_ascii_case(&b.kind)
        || a.width_mm != b.width_mm
        || a.height_mm != b.height_mm
    {
        d.push("picture");
    }
    if signed.maker_signature() != copy.maker_signature() {
        d.push("maker signature");
    }
    d
}
