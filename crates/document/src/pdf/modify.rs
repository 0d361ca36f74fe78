//! What revisions after a signature changed, and whether those changes are
//! ones that may follow a signature (ISO 32000-1 §12.8.2.2, PAdES
//! "modifications relating to signing"; pyHanko's difference analysis is the
//! model).
//!
//! The signed revision (the file up to the end of the revision the byte range
//! reaches) and the final file are each parsed once. Every object reachable
//! from the **final** trailer is visited with the path that reaches it, and
//! it must be unchanged from the **signed** revision unless a rule anchored in
//! the signed revision explains the change; the updates themselves never
//! decide what is exempt (no `/Type`, `/FT` or slot of a later revision
//! counts). An object reached by more than one path is judged strictly by all
//! of them: one that is both in an allowed slot and in page content must be
//! unchanged (Shadow attacks). Allowed:
//!
//! - trailer: the same `/Root`; the same `/Info` object (or a new one when
//!   there was none) whose changed values are plain strings, names or
//!   numbers; `/ID` keeping its first element; `/Size`, `/Prev`, `/XRefStm`
//!   and cross-reference stream fields. `/Encrypt` or any other key changed:
//!   refused (encrypted files are not analysed at all);
//! - catalogue (the same object): `/AcroForm`, `/DSS`, `/Metadata` per the
//!   rules below; `/Extensions` and `/Version`; nothing else (`/OpenAction`,
//!   `/AA`, `/Names`, `/Pages`, `/Outlines`, `/OCProperties`, `/Perms`…);
//! - AcroForm (direct or indirect, compared with the signed one): `/Fields`
//!   only growing, by new terminal signature fields whose `/V` is a new
//!   signature dictionary (so [`super::pdf_signatures`] lists and the verifier
//!   verifies them); `/SigFlags`, `/DA`; `/DR` only gaining entries. Any change
//!   of `/NeedAppearances`, `/XFA` or another key is refused;
//! - pages: only `/Annots`, keeping every annotation, growing by the widgets
//!   of new signature fields (above) and, when [`PdfChangePolicy`] allows
//!   annotations and no certification forbids them, by new annotations
//!   (reported as warnings); a signature widget without a value is refused;
//! - an empty signature field of the signed revision (and its widgets): `/V`
//!   (a new, listed signature) and `/AP` (only together with that `/V`);
//! - DSS (the signed revision's DSS object, or a new one): `/Type`, `/Certs`,
//!   `/CRLs`, `/OCSPs` holding the signed DSS's entries or new streams, and
//!   `/VRI` entries of the same kind (`/Cert`, `/CRL`, `/OCSP`, `/TU`, `/TS`);
//! - XMP metadata: the signed revision's metadata stream or a new one, a
//!   `/Type /Metadata /Subtype /XML` stream;
//! - new objects only where one of these rules reaches them; every object
//!   that existed in the signed revision and is reached otherwise must be
//!   unchanged, including a changed `/Type` (`/XRef`, `/ObjStm`) or a
//!   deletion. Unreachable objects (cross-reference and object streams) do
//!   not matter;
//! - certification (DocMDP, read from the signed revision): P=1 allows only
//!   the DSS, document time stamps, `/Info`, metadata, `/Extensions` and
//!   `/Version`; P=2 also signatures; P=3 also annotations when the policy
//!   allows them. FieldMDP locks are not checked beyond these rules (which let
//!   no field but an empty signature field change); such locks are reported.
//!
//! Bytes after the last `%%EOF` that are not whitespace, and a final
//! cross-reference section that had to be repaired, are refused too.
//! Each refusal names the object, the path that reached it and the revision
//! that wrote it (from the cross-reference data).

use super::extract::{PdfSignature, SigFieldInfo, deref, signature_fields, signatures_in};
use super::geometry::page_numbers;
use super::{Revision, load, revisions};
use crate::error::{Error, Result};
use lopdf::xref::XrefEntry;
use lopdf::{Dictionary, Document, Object, ObjectId};
use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};

/// The most revisions a PDF may have for its later changes to be analysed;
/// past it, the analysis is refused with [`Error::Pdf`].
pub const MAX_PDF_REVISIONS: usize = 128;

/// Direct objects nested deeper than this are refused.
const MAX_DEPTH: usize = 64;

/// An empty dictionary standing for a slot the signed revision lacked.
static EMPTY: std::sync::LazyLock<Dictionary> = std::sync::LazyLock::new(Dictionary::new);

/// Paths in messages are cut at about this many bytes.
const MAX_PATH: usize = 160;

/// Which later changes a verifier accepts beyond signing and LTV data.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PdfChangePolicy {
    /// Accept new annotations (not signature widgets) added after signing,
    /// reported as warnings. A certification (DocMDP) of level 1 or 2 still
    /// forbids them. Off by default: an added annotation can cover content
    /// ("Evil Annotation").
    pub allow_annotations: bool,
}

/// A certification signature (DocMDP) in force.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Certification {
    /// The certification signature's field name.
    pub field_name: String,
    /// `/P`: 1 no changes, 2 form filling and signing, 3 also annotations.
    pub level: u8,
}

impl Certification {
    /// What the level permits, in words.
    pub fn permits(&self) -> &'static str {
        permits(self.level)
    }
}

fn permits(level: u8) -> &'static str {
    match level {
        1 => "no changes but LTV data and document time stamps",
        2 => "form filling and signing",
        _ => "form filling, signing and annotations",
    }
}

/// What happened after a signature's revision.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ModificationCheck {
    /// How many revisions follow the signed one.
    pub later_revisions: usize,
    /// True when every later change is one that may follow a signature.
    pub allowed: bool,
    /// The changes that are not allowed, e.g. `object 4 0 (page 1 /Contents,
    /// reached from /Root/Pages/Kids[0]/Contents) changed in revision 3`.
    pub changes: Vec<String>,
    /// The allowed changes, for the record (new signature fields, DSS…).
    pub signing_changes: Vec<String>,
    /// Allowed changes a reader should look at (annotations added under the
    /// policy) and rules not enforced (FieldMDP locks).
    pub warnings: Vec<String>,
    /// The certification (DocMDP) of the signed revision, if any.
    pub certification: Option<Certification>,
}

/// Compare what the revisions after `sig`'s changed, with the default policy.
pub fn modifications_after(pdf: &[u8], sig: &PdfSignature) -> Result<ModificationCheck> {
    modifications_after_with(pdf, sig, &PdfChangePolicy::default())
}

/// Compare what the revisions after `sig`'s changed under `policy`.
pub fn modifications_after_with(
    pdf: &[u8],
    sig: &PdfSignature,
    policy: &PdfChangePolicy,
) -> Result<ModificationCheck> {
    PdfChanges::new(pdf)?.check(sig, policy)
}

/// A PDF read once for the change analysis of all its signatures: the final
/// file is parsed here, each signed revision once (signatures come in file
/// order, so one cached revision suffices).
pub(crate) struct PdfChanges<'a> {
    pdf: &'a [u8],
    revs: Vec<Revision>,
    last: Document,
    sigs: Vec<PdfSignature>,
    fields: Vec<SigFieldInfo>,
    signed: Option<(usize, Document)>,
    /// `last` holds only what the signature listing reads.
    in_part: bool,
}

impl<'a> PdfChanges<'a> {
    /// Parse `pdf` and list its signatures.
    pub(crate) fn new(pdf: &'a [u8]) -> Result<Self> {
        let view = super::load_for_signatures(pdf)?;
        let mut last = view.doc;
        let mut in_part = view.in_part;
        let mut sigs = signatures_in(pdf, &last)?;
        // What later revisions changed is analysed over every object.
        if in_part && sigs.iter().any(|s| !s.covers_whole_document) {
            last = load(pdf)?;
            sigs = signatures_in(pdf, &last)?;
            in_part = false;
        }
        let fields = signature_fields(&last);
        Ok(Self {
            pdf,
            revs: revisions(pdf),
            last,
            sigs,
            fields,
            signed: None,
            in_part,
        })
    }

    /// The signatures, as [`super::pdf_signatures`] lists them.
    pub(crate) fn signatures(&self) -> &[PdfSignature] {
        &self.sigs
    }

    /// The final revision's document security store, and the items skipped.
    pub(crate) fn dss(&self) -> Result<(super::DssMaterial, Vec<String>)> {
        super::read_dss(&self.last)
    }

    /// The DocMDP level when the field named `field_name` holds a
    /// certification signature.
    pub(crate) fn certification_level(&self, field_name: &str) -> Option<u8> {
        let perms = perms_docmdp(&self.last);
        self.fields
            .iter()
            .filter(|f| f.name == field_name)
            .find_map(|f| {
                f.docmdp
                    .or_else(|| (f.value_id.is_some() && f.value_id == perms).then_some(2))
            })
    }

    /// What the revisions after `sig`'s changed, under `policy`.
    pub(crate) fn check(
        &mut self,
        sig: &PdfSignature,
        policy: &PdfChangePolicy,
    ) -> Result<ModificationCheck> {
        let n = self.revs.len();
        if n > MAX_PDF_REVISIONS {
            return Err(Error::Pdf(format!(
                "the PDF has {n} revisions; later changes are analysed for at most {MAX_PDF_REVISIONS}"
            )));
        }
        let r = sig
            .revision
            .checked_sub(1)
            .filter(|r| *r < n)
            .ok_or_else(|| {
                Error::Pdf(format!("signature {:?} is in no revision", sig.field_name))
            })?;
        let mut check = ModificationCheck {
            later_revisions: n - 1 - r,
            ..Default::default()
        };
        let pdf = self.pdf;
        let last_end = self.revs.last().map_or(pdf.len(), |l| l.end);
        if pdf.len() > last_end && !pdf[last_end..].iter().all(u8::is_ascii_whitespace) {
            check.changes.push(format!(
                "{} bytes after the last %%EOF",
                pdf.len() - last_end
            ));
        }
        if check.later_revisions > 0 {
            // A signature handed in from elsewhere may need the analysis on a
            // file that was read in part: read it whole first.
            if self.in_part {
                self.last = load(pdf)?;
                self.fields = signature_fields(&self.last);
                self.in_part = false;
            }
            if self.signed.as_ref().map(|(k, _)| *k) != Some(r) {
                self.signed = None;
                self.signed = Some((r, load(&pdf[..self.revs[r].end])?));
            }
            let Some((_, old)) = self.signed.as_ref() else {
                return Err(Error::Pdf("the signed revision was not read".into()));
            };
            let new = &self.last;
            if old.was_encrypted() || new.was_encrypted() {
                return Err(Error::Pdf(
                    "the PDF is encrypted; what later revisions changed is not analysed".into(),
                ));
            }
            if let Some(how) = new.xref_recovery {
                check.changes.push(format!(
                    "the cross-reference data of the final revision is damaged ({how:?}): \
                     what a viewer shows cannot be tied to the signed revision"
                ));
            }
            let certification = docmdp(old);
            let mut a = Analysis::new(old, new, &self.revs, r + 1, &self.fields, policy);
            a.level = certification.as_ref().map(|c| c.level);
            for f in signature_fields(old).iter().filter(|f| f.field_mdp) {
                a.warn(format!(
                    "signature field {} declares a FieldMDP lock; it is not checked beyond \
                     these rules (no form field but an empty signature field may change)",
                    f.name
                ));
            }
            a.run();
            check.changes.extend(a.changes);
            check.signing_changes = a.approved;
            check.warnings = a.warnings;
            check.certification = certification;
        }
        check.allowed = check.changes.is_empty();
        Ok(check)
    }
}

/// The signature dictionary `/Perms /DocMDP` names, if any.
pub(crate) fn perms_docmdp(doc: &Document) -> Option<ObjectId> {
    let catalog = dict_of(doc, doc.trailer.get(b"Root").ok()?)?;
    let perms = dict_of(doc, catalog.get(b"Perms").ok()?)?;
    perms.get(b"DocMDP").and_then(Object::as_reference).ok()
}

/// The strictest certification of `doc`: signatures with a DocMDP
/// `/Reference`, and the one `/Perms /DocMDP` names (level 2 when it says none).
fn docmdp(doc: &Document) -> Option<Certification> {
    let perms = perms_docmdp(doc);
    let mut best: Option<Certification> = None;
    let mut consider = |name: String, level: u8| {
        if best.as_ref().is_none_or(|b| level < b.level) {
            best = Some(Certification {
                field_name: name,
                level,
            });
        }
    };
    let fields = signature_fields(doc);
    for f in &fields {
        let named = f.value_id.is_some() && f.value_id == perms;
        if let Some(level) = f.docmdp.or(named.then_some(2)) {
            consider(f.name.clone(), level);
        }
    }
    if let Some(p) = perms
        && !fields.iter().any(|f| f.value_id == Some(p))
        && let Some(d) = doc.get_object(p).ok().and_then(|o| o.as_dict().ok())
    {
        let level = super::extract::transforms(doc, d).0.unwrap_or(2);
        consider("(named by /Perms)".into(), level);
    }
    best
}

/// A dictionary (or a stream's) directly or behind one reference.
fn dict_of<'d>(doc: &'d Document, o: &'d Object) -> Option<&'d Dictionary> {
    match deref(doc, o)? {
        Object::Dictionary(d) => Some(d),
        Object::Stream(s) => Some(&s.dict),
        _ => None,
    }
}

fn array_of<'d>(doc: &'d Document, o: Option<&'d Object>) -> Option<&'d [Object]> {
    match deref(doc, o?)? {
        Object::Array(a) => Some(a),
        _ => None,
    }
}

fn name(k: &[u8]) -> String {
    String::from_utf8_lossy(k).into_owned()
}

/// Structural equality: references by id, strings by bytes, streams by
/// dictionary (without `/Length`) and raw content; dictionaries in any order.
fn same(a: &Object, b: &Object) -> bool {
    same_at(a, b, 0)
}

fn same_at(a: &Object, b: &Object, depth: usize) -> bool {
    if depth > MAX_DEPTH {
        return false;
    }
    match (a, b) {
        (Object::String(x, _), Object::String(y, _)) => x == y,
        (Object::Real(x), Object::Real(y)) => x.to_bits() == y.to_bits() || x == y,
        (Object::Array(x), Object::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(p, q)| same_at(p, q, depth + 1))
        }
        (Object::Dictionary(x), Object::Dictionary(y)) => same_dict(x, y, depth, false),
        (Object::Stream(x), Object::Stream(y)) => {
            x.content == y.content && same_dict(&x.dict, &y.dict, depth, true)
        }
        (Object::Dictionary(_) | Object::Array(_) | Object::Stream(_), _) => false,
        _ => a == b,
    }
}

fn same_dict(x: &Dictionary, y: &Dictionary, depth: usize, stream: bool) -> bool {
    let skip = |k: &[u8]| stream && k == b"Length";
    let count = |d: &Dictionary| d.iter().filter(|(k, _)| !skip(k)).count();
    count(x) == count(y)
        && x.iter()
            .filter(|(k, _)| !skip(k))
            .all(|(k, v)| y.get(k).ok().is_some_and(|w| same_at(v, w, depth + 1)))
}

fn same_opt(a: Option<&Object>, b: Option<&Object>) -> bool {
    match (a, b) {
        (None, None) => true,
        (Some(a), Some(b)) => same(a, b),
        _ => false,
    }
}

/// "/K added, /L changed" for two dictionaries.
fn dict_diff(a: &Dictionary, b: &Dictionary, ignore: &[&[u8]]) -> Vec<String> {
    let mut out = Vec::new();
    for (k, v) in a.iter() {
        if ignore.contains(&k.as_slice()) {
            continue;
        }
        match b.get(k) {
            Err(_) => out.push(format!("/{} removed", name(k))),
            Ok(w) if !same(v, w) => out.push(format!("/{} changed", name(k))),
            Ok(_) => {}
        }
    }
    for (k, _) in b.iter() {
        if !a.has(k) && !ignore.contains(&k.as_slice()) {
            out.push(format!("/{} added", name(k)));
        }
    }
    out
}

fn kind(o: &Object) -> String {
    match o {
        Object::Stream(s) => match s.dict.get(b"Type").and_then(Object::as_name) {
            Ok(t) => format!("a /Type /{} stream", name(t)),
            Err(_) => "a stream".into(),
        },
        Object::Dictionary(_) => "a dictionary".into(),
        Object::Array(_) => "an array".into(),
        Object::Reference(_) => "a reference".into(),
        Object::Null => "null".into(),
        _ => "a simple value".into(),
    }
}

/// Direct entries of an array compared one by one at most this many.
const MAX_DIRECT: usize = 256;

/// The entries of an array, for membership tests without quadratic cost.
struct Members<'x> {
    refs: HashSet<ObjectId>,
    direct: Vec<&'x Object>,
}

impl<'x> Members<'x> {
    fn of(list: &'x [Object]) -> Self {
        let mut m = Members {
            refs: HashSet::new(),
            direct: Vec::new(),
        };
        for o in list {
            match o {
                Object::Reference(id) => {
                    m.refs.insert(*id);
                }
                o => m.direct.push(o),
            }
        }
        m
    }

    /// Is `o` an entry? Direct entries past [`MAX_DIRECT`] never match, so
    /// a hostile array costs at most that many comparisons per entry.
    fn has(&self, o: &Object) -> bool {
        match o {
            Object::Reference(id) => self.refs.contains(id),
            o => self.direct.iter().take(MAX_DIRECT).any(|d| same(d, o)),
        }
    }
}

/// How an object was reached; its rule.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Role {
    /// Must be as in the signed revision.
    Strict,
    /// Reached only through something new that a rule allowed: may be new;
    /// if it existed when signed, must be unchanged.
    Fresh,
    /// A page of the signed revision: only `/Annots` may change.
    Page,
    /// An empty signature field of the signed revision (or its widget).
    SigFill,
    Catalog,
    AcroForm,
    Fields,
    Annots,
    Dr,
    Dss,
    Info,
    Metadata,
}

struct Claim {
    role: Role,
    path: String,
    label: String,
}

struct Item {
    id: ObjectId,
    role: Role,
    path: String,
    label: String,
}

/// One comparison of a signed revision (`old`) with the final file (`new`).
struct Analysis<'d> {
    old: &'d Document,
    new: &'d Document,
    revs: &'d [Revision],
    /// The signed revision, from 1.
    signed_rev: usize,
    fields: &'d [SigFieldInfo],
    level: Option<u8>,
    allow_annotations: bool,
    /// Empty signature fields of the signed revision and their widgets → field name.
    old_empty: HashMap<ObjectId, String>,
    /// Final signature fields by field or widget id (index into `fields`).
    field_at: HashMap<ObjectId, usize>,
    page_no: HashMap<ObjectId, usize>,
    old_page_no: HashMap<ObjectId, usize>,
    claims: BTreeMap<ObjectId, Vec<Claim>>,
    queue: VecDeque<Item>,
    changes: Vec<String>,
    approved: Vec<String>,
    warnings: Vec<String>,
    said: HashSet<String>,
    /// The streams the signed revision's DSS listed in `/Certs`, `/CRLs`
    /// or `/OCSPs`: a later VRI entry may name them.
    old_dss_members: HashSet<ObjectId>,
}

impl<'d> Analysis<'d> {
    fn new(
        old: &'d Document,
        new: &'d Document,
        revs: &'d [Revision],
        signed_rev: usize,
        fields: &'d [SigFieldInfo],
        policy: &PdfChangePolicy,
    ) -> Self {
        let mut old_empty = HashMap::new();
        for f in signature_fields(old).into_iter().filter(|f| !f.has_value) {
            if let Some(id) = f.id {
                old_empty.insert(id, f.name.clone());
            }
            for w in f.widgets {
                old_empty.insert(w, f.name.clone());
            }
        }
        let mut field_at = HashMap::new();
        for (i, f) in fields.iter().enumerate() {
            for id in f.id.iter().chain(&f.widgets) {
                field_at.entry(*id).or_insert(i);
            }
        }
        Self {
            old,
            new,
            revs,
            signed_rev,
            fields,
            field_at,
            level: None,
            allow_annotations: policy.allow_annotations,
            old_empty,
            page_no: page_numbers(new),
            old_page_no: page_numbers(old),
            claims: BTreeMap::new(),
            queue: VecDeque::new(),
            changes: Vec::new(),
            approved: Vec::new(),
            warnings: Vec::new(),
            said: HashSet::new(),
            old_dss_members: HashSet::new(),
        }
    }

    fn annotations_allowed(&self) -> bool {
        self.allow_annotations && self.level.is_none_or(|p| p >= 3)
    }

    fn run(&mut self) {
        self.trailer();
        while let Some(it) = self.queue.pop_front() {
            match it.role {
                Role::Strict | Role::Fresh => {
                    let new = self.new;
                    if let Some(o) = new.objects.get(&it.id) {
                        self.walk(o, it.role, &it.path, &it.label, 0);
                    }
                }
                Role::Page => self.page(&it),
                Role::SigFill => self.sig_fill(&it),
                _ => {}
            }
        }
        self.judge();
    }

    // ---- messages ----

    fn fail(&mut self, msg: String) {
        if self.said.insert(msg.clone()) {
            self.changes.push(msg);
        }
    }

    fn approve(&mut self, msg: String) {
        if self.said.insert(msg.clone()) {
            self.approved.push(msg);
        }
    }

    fn warn(&mut self, msg: String) {
        if self.said.insert(msg.clone()) {
            self.warnings.push(msg);
        }
    }

    /// "object 4 0 (label, reached from path) what".
    fn fail_obj(&mut self, id: ObjectId, label: &str, path: &str, what: &str) {
        self.fail(format!(
            "object {} {} ({label}, reached from {path}) {what}",
            id.0, id.1
        ));
    }

    /// The revision that wrote `id` as the final file has it.
    fn rev_of(&self, id: ObjectId) -> Option<usize> {
        let table = &self.new.reference_table;
        let offset = match table.get(id.0)? {
            XrefEntry::Normal { offset, .. } => *offset,
            XrefEntry::Compressed { container, .. } => match table.get(*container)? {
                XrefEntry::Normal { offset, .. } => *offset,
                _ => return None,
            },
            _ => return None,
        };
        let offset = usize::try_from(offset).ok()?;
        self.revs.iter().position(|r| offset < r.end).map(|i| i + 1)
    }

    /// "in revision 3" (or "after revision 2" when the data does not say).
    fn when(&self, id: ObjectId) -> String {
        match self.rev_of(id) {
            Some(k) if k > self.signed_rev => format!("in revision {k}"),
            _ => format!("after revision {}", self.signed_rev),
        }
    }

    /// "revision 3" for approvals.
    fn rev_name(&self, id: ObjectId) -> String {
        match self.rev_of(id) {
            Some(k) if k > self.signed_rev => format!("revision {k}"),
            _ => "a later revision".into(),
        }
    }

    fn final_trailer(&self) -> String {
        format!("in the final trailer (revision {})", self.revs.len())
    }

    fn page_label(&self, id: ObjectId) -> String {
        match self.page_no.get(&id).or_else(|| self.old_page_no.get(&id)) {
            Some(n) => format!("page {n}"),
            None => "a page outside the page tree".into(),
        }
    }

    // ---- the walk ----

    /// Record that `id` is reached as `role`; true the first time for that role.
    fn claim(&mut self, id: ObjectId, role: Role, path: &str, label: &str) -> bool {
        let v = self.claims.entry(id).or_default();
        if v.iter().any(|c| c.role == role) {
            // Keep a few more ways in, with other labels, for the message.
            if v.len() < 4 && !v.iter().any(|c| c.label == label) {
                v.push(Claim {
                    role,
                    path: path.to_string(),
                    label: label.to_string(),
                });
            }
            return false;
        }
        v.push(Claim {
            role,
            path: path.to_string(),
            label: label.to_string(),
        });
        true
    }

    fn is_old_page(&self, id: ObjectId) -> bool {
        self.old_page_no.contains_key(&id)
            || self
                .old
                .objects
                .get(&id)
                .and_then(|o| o.as_dict().ok())
                .is_some_and(|d| d.get(b"Type").and_then(Object::as_name).ok() == Some(b"Page"))
    }

    /// Follow a reference found in a `ctx` (Strict or Fresh) part. A page or
    /// an empty signature field of the signed revision is judged by its own
    /// rule wherever it is reached from; anything else that existed when
    /// signed must be unchanged; a new object is allowed only under Fresh.
    fn edge(&mut self, ctx: Role, target: ObjectId, path: &str, label: &str) {
        let (role, label) = if self.is_old_page(target) {
            (Role::Page, self.page_label(target))
        } else if let Some(n) = self.old_empty.get(&target) {
            (Role::SigFill, format!("empty signature field {n}"))
        } else if ctx == Role::Fresh && !self.old.objects.contains_key(&target) {
            (Role::Fresh, label.to_string())
        } else {
            (Role::Strict, label.to_string())
        };
        if self.claim(target, role, path, &label) {
            self.queue.push_back(Item {
                id: target,
                role,
                path: path.to_string(),
                label,
            });
        }
    }

    /// Every reference inside `o` (direct nesting), as `ctx`.
    fn walk(&mut self, o: &Object, ctx: Role, path: &str, label: &str, depth: usize) {
        if depth > MAX_DEPTH {
            self.fail(format!(
                "objects nested more than {MAX_DEPTH} deep at {path}"
            ));
            return;
        }
        match o {
            Object::Reference(id) => self.edge(ctx, *id, path, label),
            Object::Array(a) => {
                for (i, x) in a.iter().enumerate() {
                    self.walk(x, ctx, &index(path, i), label, depth + 1);
                }
            }
            Object::Dictionary(d) => self.walk_dict(d, ctx, path, label, depth),
            Object::Stream(s) => self.walk_dict(&s.dict, ctx, path, label, depth),
            _ => {}
        }
    }

    fn walk_dict(&mut self, d: &Dictionary, ctx: Role, path: &str, label: &str, depth: usize) {
        for (k, v) in d.iter() {
            self.walk(v, ctx, &key(path, k), label, depth + 1);
        }
    }

    /// A slot that may be direct or a reference: claim the reference as
    /// `role` and give the value.
    fn slot(&mut self, v: &'d Object, role: Role, path: &str, label: &str) -> Option<&'d Object> {
        match v {
            Object::Reference(id) => {
                self.claim(*id, role, path, label);
                self.new.objects.get(id)
            }
            o => Some(o),
        }
    }

    /// Is `new` (a slot's value) anchored in the signed revision: the same
    /// reference as `old`, a new object, or direct?
    fn anchored(&self, old: Option<&Object>, new: &Object) -> bool {
        match new {
            Object::Reference(id) => {
                old.and_then(|o| o.as_reference().ok()) == Some(*id)
                    || !self.old.objects.contains_key(id)
            }
            _ => true,
        }
    }

    /// Phase two: an object reached strictly, or by two different rules,
    /// must be as signed; one reached by a single rule was judged by it.
    fn judge(&mut self) {
        let claims = std::mem::take(&mut self.claims);
        for (id, cs) in &claims {
            let strict = cs.iter().find(|c| c.role == Role::Strict);
            let slots: Vec<&Claim> = cs
                .iter()
                .filter(|c| !matches!(c.role, Role::Strict | Role::Fresh))
                .collect();
            let main = match (strict, slots.as_slice()) {
                (Some(c), _) => c,
                (None, [first, _, ..]) => first,
                _ => continue,
            };
            let Some(what) = self.difference(*id) else {
                continue;
            };
            let also: Vec<String> = cs
                .iter()
                .filter(|c| !std::ptr::eq(*c, main) && c.role != Role::Fresh)
                .map(|c| format!("also {} from {}", c.label, c.path))
                .collect();
            let path = if also.is_empty() {
                main.path.clone()
            } else {
                format!("{}; {}", main.path, also.join("; "))
            };
            self.fail_obj(*id, &main.label, &path, &what);
        }
        self.claims = claims;
    }

    /// How `id` differs between the signed revision and the final file.
    fn difference(&self, id: ObjectId) -> Option<String> {
        match (self.old.objects.get(&id), self.new.objects.get(&id)) {
            (None, None) => None,
            (Some(_), None) => Some(format!("deleted after revision {}", self.signed_rev)),
            (None, Some(_)) => Some(format!("added {}", self.when(id))),
            (Some(a), Some(b)) if same(a, b) => None,
            (Some(a), Some(b)) => {
                let detail = match (a, b) {
                    (Object::Dictionary(x), Object::Dictionary(y)) => {
                        dict_diff(x, y, &[]).join(", ")
                    }
                    (Object::Stream(x), Object::Stream(y)) => {
                        let mut d = dict_diff(&x.dict, &y.dict, &[b"Length"]);
                        if x.content != y.content {
                            d.push("stream content changed".into());
                        }
                        d.join(", ")
                    }
                    _ if std::mem::discriminant(a) != std::mem::discriminant(b)
                        || kind(a) != kind(b) =>
                    {
                        format!("was {}, now {}", kind(a), kind(b))
                    }
                    _ => String::new(),
                };
                let detail = match (a, b) {
                    (Object::Stream(x), Object::Stream(y))
                        if x.dict.get(b"Type").ok() != y.dict.get(b"Type").ok() =>
                    {
                        format!("{detail}; now {}", kind(b))
                    }
                    _ => detail,
                };
                Some(if detail.is_empty() {
                    format!("changed {}", self.when(id))
                } else {
                    format!("changed ({detail}) {}", self.when(id))
                })
            }
        }
    }

    // ---- rules ----

    fn trailer(&mut self) {
        let (old_t, new_t) = (&self.old.trailer, &self.new.trailer);
        let mut keys: Vec<&'d [u8]> = new_t.iter().map(|(k, _)| k.as_slice()).collect();
        keys.extend(
            old_t
                .iter()
                .map(|(k, _)| k.as_slice())
                .filter(|k| !new_t.has(k)),
        );
        for k in keys {
            let (a, b) = (old_t.get(k).ok(), new_t.get(k).ok());
            match k {
                b"Root" => self.catalog(a, b),
                b"Info" => self.info(a, b),
                b"Size" | b"Prev" | b"XRefStm" | b"Type" | b"W" | b"Index" | b"Length"
                | b"Filter" | b"DecodeParms" => {}
                b"ID" => {
                    let first = |o: Option<&Object>| {
                        o.and_then(|o| o.as_array().ok())
                            .and_then(|a| a.first())
                            .and_then(|s| s.as_str().ok())
                            .map(<[u8]>::to_vec)
                    };
                    if a.is_some() && first(a) != first(b) {
                        let t = self.final_trailer();
                        self.fail(format!(
                            "the first element of the trailer's /ID changed {t}"
                        ));
                    }
                }
                _ if same_opt(a, b) => {
                    if let Some(b) = b {
                        let label = format!("trailer /{}", name(k));
                        self.walk(b, Role::Strict, &format!("/{}", name(k)), &label, 0);
                    }
                }
                _ => {
                    let how = if a.is_none() {
                        "added"
                    } else if b.is_none() {
                        "removed"
                    } else {
                        "changed"
                    };
                    let t = self.final_trailer();
                    self.fail(format!("the trailer's /{} was {how} {t}", name(k)));
                }
            }
        }
    }

    fn catalog(&mut self, a: Option<&'d Object>, b: Option<&'d Object>) {
        let (Some(Object::Reference(oid)), Some(Object::Reference(nid))) = (a, b) else {
            let t = self.final_trailer();
            self.fail(format!(
                "the trailer's /Root is missing or not a reference {t}"
            ));
            return;
        };
        let id = *nid;
        if *oid != id {
            let t = self.final_trailer();
            self.fail(format!(
                "the catalogue was replaced: the trailer's /Root named object {} {} when signed and names object {} {} now {t}",
                oid.0, oid.1, id.0, id.1
            ));
            return;
        }
        self.claim(id, Role::Catalog, "/Root", "catalogue");
        let old = self.old;
        let new = self.new;
        let (Some(od), Some(nd)) = (
            old.objects.get(&id).and_then(|o| o.as_dict().ok()),
            new.objects.get(&id).and_then(|o| o.as_dict().ok()),
        ) else {
            let what = self
                .difference(id)
                .unwrap_or_else(|| "is not a dictionary".into());
            self.fail_obj(id, "catalogue", "/Root", &what);
            return;
        };
        let mut keys: Vec<&'d [u8]> = nd.iter().map(|(k, _)| k.as_slice()).collect();
        keys.extend(od.iter().map(|(k, _)| k.as_slice()).filter(|k| !nd.has(k)));
        for k in keys {
            let (a, b) = (od.get(k).ok(), nd.get(k).ok());
            let path = format!("/Root/{}", name(k));
            let label = format!("catalogue /{}", name(k));
            match k {
                b"AcroForm" => self.acroform(id, a, b),
                b"DSS" => self.dss(id, a, b),
                b"Metadata" => self.metadata(id, a, b),
                _ if same_opt(a, b) => {
                    if let Some(b) = b {
                        self.walk(b, Role::Strict, &path, &label, 0);
                    }
                }
                b"Extensions" if b.is_some() => {
                    if let Some(b) = b {
                        self.walk(b, Role::Fresh, &path, &label, 0);
                    }
                    let r = self.rev_name(id);
                    self.approve(format!("{r} changed the catalogue's /Extensions"));
                }
                b"Version" if b.is_some_and(|v| v.as_name().is_ok()) => {
                    let r = self.rev_name(id);
                    self.approve(format!("{r} changed the catalogue's /Version"));
                }
                _ => {
                    let how = if a.is_none() {
                        "added"
                    } else if b.is_none() {
                        "removed"
                    } else {
                        "changed"
                    };
                    let what = format!("changed (/{} {how}) {}", name(k), self.when(id));
                    self.fail_obj(id, "catalogue", "/Root", &what);
                }
            }
        }
    }

    fn acroform(&mut self, cat: ObjectId, a: Option<&'d Object>, b: Option<&'d Object>) {
        let path = "/Root/AcroForm";
        let Some(b) = b else {
            let w = format!("changed (/AcroForm removed) {}", self.when(cat));
            self.fail_obj(cat, "catalogue", "/Root", &w);
            return;
        };
        let (owner, label) = match b {
            Object::Reference(id) => (*id, "AcroForm"),
            _ => (cat, "catalogue /AcroForm"),
        };
        let Some(form) = self
            .slot(b, Role::AcroForm, path, label)
            .and_then(|o| o.as_dict().ok())
        else {
            let w = format!("is not a dictionary {}", self.when(owner));
            self.fail_obj(owner, label, path, &w);
            return;
        };
        let old = self.old;
        let od = a.and_then(|o| dict_of(old, o)).unwrap_or(&EMPTY);
        let mut keys: Vec<Vec<u8>> = form.iter().map(|(k, _)| k.clone()).collect();
        keys.extend(od.iter().map(|(k, _)| k.clone()).filter(|k| !form.has(k)));
        for k in keys {
            let (x, y) = (od.get(&k).ok(), form.get(&k).ok());
            let sub = format!("{path}/{}", name(&k));
            match k.as_slice() {
                b"Fields" => self.fields_rule(owner, label, x, y, &sub),
                b"DR" => self.dr(owner, label, x, y, &sub),
                _ if same_opt(x, y) => {
                    if let Some(y) = y {
                        self.walk(y, Role::Strict, &sub, &format!("AcroForm /{}", name(&k)), 0);
                    }
                }
                b"SigFlags" | b"DA"
                    if y.is_some_and(|v| matches!(v, Object::Integer(_) | Object::String(..))) =>
                {
                    let r = self.rev_name(owner);
                    self.approve(format!("{r} changed AcroForm /{}", name(&k)));
                }
                _ => {
                    let how = if x.is_none() {
                        "added"
                    } else if y.is_none() {
                        "removed"
                    } else {
                        "changed"
                    };
                    let w = format!("changed (/{} {how}) {}", name(&k), self.when(owner));
                    self.fail_obj(owner, label, path, &w);
                }
            }
        }
    }

    /// Whether object `id` (a widget) has an appearance and a rectangle of
    /// some area: something a viewer draws.
    fn visible_widget(&self, id: ObjectId) -> bool {
        let Some(d) = self.new.objects.get(&id).and_then(|o| o.as_dict().ok()) else {
            return false;
        };
        let area = d
            .get(b"Rect")
            .ok()
            .and_then(|r| deref(self.new, r))
            .and_then(|r| r.as_array().ok())
            .filter(|a| a.len() == 4)
            .map(|a| {
                let n: Vec<f32> = a.iter().map(|x| x.as_float().unwrap_or(0.0)).collect();
                ((n[2] - n[0]) * (n[3] - n[1])).abs()
            })
            .unwrap_or(0.0);
        d.has(b"AP") && area > 0.0
    }

    /// A new terminal signature field (or the widget of one): it must hold a
    /// new signature dictionary, listed and so verified; DocMDP P=1 admits
    /// document time stamps only. Returns the field's name when allowed.
    fn new_signature(&mut self, id: ObjectId, path: &str, via: &str) -> Option<String> {
        let new = self.new;
        let parent = new
            .objects
            .get(&id)
            .and_then(|o| o.as_dict().ok())
            .and_then(|d| d.get(b"Parent").and_then(Object::as_reference).ok());
        let fields = self.fields;
        let f = self
            .field_at
            .get(&id)
            .or_else(|| parent.and_then(|p| self.field_at.get(&p)))
            .and_then(|i| fields.get(*i))?;
        let w = self.when(id);
        let label = format!("signature field {}", f.name);
        let refuse = |why: &str| format!("added {w}: {why}");
        let bad = if f.id.is_some_and(|fid| self.old.objects.contains_key(&fid)) {
            Some(refuse("a widget for a field that existed when signed"))
        } else if !f.has_value {
            Some(refuse("a signature field without a value (/V)"))
        } else if !f.listed {
            Some(refuse("its /V is not a signature dictionary"))
        } else if f
            .value_id
            .is_some_and(|v| self.old.objects.contains_key(&v))
        {
            Some(refuse(
                "its /V is a signature dictionary that existed when signed",
            ))
        } else if self.level == Some(1) && !f.doc_time_stamp {
            Some(refuse(
                "the certification (DocMDP P=1) allows only document time stamps",
            ))
        } else if self.level == Some(1) && self.visible_widget(id) {
            Some(refuse(
                "a document time stamp with a visible appearance, which the certification \
                 (DocMDP P=1) does not allow",
            ))
        } else {
            None
        };
        if let Some(what) = bad {
            self.fail_obj(id, &format!("{label} in {via}"), path, &what);
            return None;
        }
        let kind = if f.doc_time_stamp {
            "document time stamp"
        } else {
            "signature"
        };
        let r = self.rev_name(id);
        let name = f.name.clone();
        self.approve(format!(
            "{r} added {kind} field {name} (verified as a signature of its own)"
        ));
        self.edge(Role::Fresh, id, path, &label);
        Some(name)
    }

    fn fields_rule(
        &mut self,
        owner: ObjectId,
        owner_label: &str,
        a: Option<&'d Object>,
        b: Option<&'d Object>,
        path: &str,
    ) {
        let old = self.old;
        let old_list: &[Object] = array_of(old, a).unwrap_or(&[]);
        let new_list: &[Object] =
            match b.and_then(|b| self.slot(b, Role::Fields, path, "AcroForm /Fields")) {
                Some(Object::Array(l)) => l,
                None if old_list.is_empty() => &[],
                _ => {
                    let w = format!("changed (/Fields is not an array) {}", self.when(owner));
                    self.fail_obj(owner, owner_label, path, &w);
                    return;
                }
            };
        let at = match b {
            Some(Object::Reference(id)) => *id,
            _ => owner,
        };
        let (old_set, new_set) = (Members::of(old_list), Members::of(new_list));
        for o in old_list {
            if !new_set.has(o) {
                let w = format!(
                    "changed (field {} removed) {}",
                    describe_ref(o),
                    self.when(at)
                );
                self.fail_obj(at, "AcroForm /Fields", path, &w);
            }
        }
        for (i, n) in new_list.iter().enumerate() {
            let sub = index(path, i);
            if old_set.has(n) {
                self.walk(n, Role::Strict, &sub, "form field", 0);
                continue;
            }
            match n {
                Object::Reference(t) if !self.old.objects.contains_key(t) => {
                    if self.new_signature(*t, &sub, "AcroForm /Fields").is_none()
                        && !self.said_about(*t)
                    {
                        let w = format!("added {}: not a signature field", self.when(*t));
                        self.fail_obj(*t, "AcroForm /Fields entry", &sub, &w);
                    }
                }
                Object::Reference(t) => {
                    let w = format!(
                        "existed when signed and was added to the AcroForm /Fields {}",
                        self.when(at)
                    );
                    self.fail_obj(*t, "form field", &sub, &w);
                }
                _ => {
                    let w = format!("changed (a direct field added) {}", self.when(at));
                    self.fail_obj(at, "AcroForm /Fields", path, &w);
                }
            }
        }
    }

    /// Was a refusal about object `id` already recorded?
    fn said_about(&self, id: ObjectId) -> bool {
        let p = format!("object {} {} (", id.0, id.1);
        self.changes.iter().any(|c| c.starts_with(&p))
    }

    fn dr(
        &mut self,
        owner: ObjectId,
        owner_label: &str,
        a: Option<&'d Object>,
        b: Option<&'d Object>,
        path: &str,
    ) {
        let old = self.old;
        let Some(b) = b else {
            if a.is_some() {
                let w = format!("changed (/DR removed) {}", self.when(owner));
                self.fail_obj(owner, owner_label, path, &w);
            }
            return;
        };
        let at = match b {
            Object::Reference(id) => *id,
            _ => owner,
        };
        let od = a.and_then(|o| dict_of(old, o)).unwrap_or(&EMPTY);
        let Some(nd) = self
            .slot(b, Role::Dr, path, "AcroForm /DR")
            .and_then(|o| o.as_dict().ok())
        else {
            let w = format!("is not a dictionary {}", self.when(at));
            self.fail_obj(at, "AcroForm /DR", path, &w);
            return;
        };
        let mut added = Vec::new();
        for (k, ov) in od.iter() {
            let sub = key(path, k);
            let Ok(nv) = nd.get(k) else {
                let w = format!("changed (/{} removed) {}", name(k), self.when(at));
                self.fail_obj(at, "AcroForm /DR", path, &w);
                continue;
            };
            if same(ov, nv) {
                self.walk(nv, Role::Strict, &sub, "AcroForm /DR", 0);
                continue;
            }
            let sub_at = match nv {
                Object::Reference(id) => *id,
                _ => at,
            };
            let (Some(osub), Some(nsub)) = (
                dict_of(old, ov),
                self.slot(nv, Role::Dr, &sub, "AcroForm /DR")
                    .and_then(|o| o.as_dict().ok()),
            ) else {
                let w = format!("changed (/{} changed) {}", name(k), self.when(at));
                self.fail_obj(at, "AcroForm /DR", path, &w);
                continue;
            };
            for (k2, ov2) in osub.iter() {
                match nsub.get(k2) {
                    Ok(nv2) if same(ov2, nv2) => {
                        self.walk(nv2, Role::Strict, &key(&sub, k2), "AcroForm /DR", 0);
                    }
                    _ => {
                        let w = format!(
                            "changed (/{} changed or removed) {}",
                            name(k2),
                            self.when(sub_at)
                        );
                        self.fail_obj(sub_at, &format!("AcroForm /DR /{}", name(k)), &sub, &w);
                    }
                }
            }
            for (k2, nv2) in nsub.iter().filter(|(k2, _)| !osub.has(k2)) {
                added.push(format!("/{}/{}", name(k), name(k2)));
                self.walk(nv2, Role::Fresh, &key(&sub, k2), "AcroForm /DR", 0);
            }
        }
        for (k, nv) in nd.iter().filter(|(k, _)| !od.has(k)) {
            added.push(format!("/{}", name(k)));
            self.walk(nv, Role::Fresh, &key(path, k), "AcroForm /DR", 0);
        }
        if !added.is_empty() {
            if self.level == Some(1) {
                let w = format!(
                    "changed ({} added; the certification, DocMDP P=1, allows no form changes) {}",
                    added.join(" "),
                    self.when(at)
                );
                self.fail_obj(at, "AcroForm /DR", path, &w);
            } else {
                let r = self.rev_name(at);
                self.approve(format!("{r} added form resources {}", added.join(" ")));
            }
        }
    }

    /// Judge `it` as an object that must be as signed (a rule's anchor that
    /// turned out not to be what the rule expects).
    fn as_strict(&mut self, it: &Item) {
        if let Some(w) = self.difference(it.id) {
            self.fail_obj(it.id, &it.label, &it.path, &w);
        }
        let new = self.new;
        if let Some(o) = new.objects.get(&it.id) {
            self.walk(o, Role::Strict, &it.path, &it.label, 0);
        }
    }

    fn page(&mut self, it: &Item) {
        let (old, new) = (self.old, self.new);
        let label = it.label.clone();
        let Some(od) = old.objects.get(&it.id).and_then(|o| o.as_dict().ok()) else {
            self.as_strict(it);
            return;
        };
        let Some(nd) = new.objects.get(&it.id).and_then(|o| o.as_dict().ok()) else {
            let w = self
                .difference(it.id)
                .unwrap_or_else(|| "is no longer a dictionary".into());
            self.fail_obj(it.id, &label, &it.path, &w);
            return;
        };
        let diff = dict_diff(od, nd, &[b"Annots"]);
        if !diff.is_empty() {
            let w = format!("changed ({}) {}", diff.join(", "), self.when(it.id));
            self.fail_obj(it.id, &label, &it.path, &w);
        }
        for (k, v) in nd.iter() {
            if k.as_slice() != b"Annots" {
                self.walk(
                    v,
                    Role::Strict,
                    &key(&it.path, k),
                    &format!("{label} /{}", name(k)),
                    0,
                );
            }
        }
        self.annots(
            it.id,
            &label,
            od.get(b"Annots").ok(),
            nd.get(b"Annots").ok(),
            &key(&it.path, b"Annots"),
        );
    }

    fn annots(
        &mut self,
        page: ObjectId,
        page_label: &str,
        a: Option<&'d Object>,
        b: Option<&'d Object>,
        path: &str,
    ) {
        let old = self.old;
        let label = format!("{page_label} /Annots");
        let old_list: &[Object] = array_of(old, a).unwrap_or(&[]);
        let at = match b {
            Some(Object::Reference(id)) => *id,
            _ => page,
        };
        let new_list: &[Object] = match b.and_then(|b| self.slot(b, Role::Annots, path, &label)) {
            Some(Object::Array(l)) => l,
            None if old_list.is_empty() => &[],
            _ => {
                let w = format!(
                    "changed (/Annots removed or not an array) {}",
                    self.when(at)
                );
                self.fail_obj(at, &label, path, &w);
                return;
            }
        };
        let (old_set, new_set) = (Members::of(old_list), Members::of(new_list));
        for o in old_list {
            if !new_set.has(o) {
                let w = format!(
                    "changed (annotation {} removed) {}",
                    describe_ref(o),
                    self.when(at)
                );
                self.fail_obj(at, &label, path, &w);
            }
        }
        for (i, n) in new_list.iter().enumerate() {
            let sub = index(path, i);
            if old_set.has(n) {
                self.walk(
                    n,
                    Role::Strict,
                    &sub,
                    &format!("annotation on {page_label}"),
                    0,
                );
                continue;
            }
            match n {
                Object::Reference(t) if self.old.objects.contains_key(t) => {
                    let w = format!(
                        "existed when signed and was added to {page_label} /Annots {}",
                        self.when(at)
                    );
                    self.fail_obj(*t, "annotation", &sub, &w);
                }
                Object::Reference(t) => self.new_annot(*t, page_label, &sub),
                Object::Dictionary(d) => {
                    if self.annotations_allowed() {
                        let r = self.rev_name(at);
                        self.warn(format!(
                            "{r} added {} to {page_label} (allowed by the policy)",
                            annot_kind(d)
                        ));
                        self.walk(
                            n,
                            Role::Fresh,
                            &sub,
                            &format!("annotation on {page_label}"),
                            0,
                        );
                    } else {
                        let w = format!(
                            "changed ({} added; {}) {}",
                            annot_kind(d),
                            self.no_annotations(),
                            self.when(at)
                        );
                        self.fail_obj(at, &label, path, &w);
                    }
                }
                _ => {
                    let w = format!(
                        "changed (an entry that is not an annotation added) {}",
                        self.when(at)
                    );
                    self.fail_obj(at, &label, path, &w);
                }
            }
        }
    }

    fn no_annotations(&self) -> String {
        match self.level {
            Some(p @ 1..=2) => format!("the certification (DocMDP P={p}) allows no annotations"),
            _ => "annotations added after signing are not allowed".into(),
        }
    }

    fn new_annot(&mut self, t: ObjectId, page_label: &str, path: &str) {
        let new = self.new;
        let Some(d) = new.objects.get(&t).and_then(|o| o.as_dict().ok()) else {
            let w = format!(
                "added to {page_label} /Annots {}: not a dictionary",
                self.when(t)
            );
            self.fail_obj(t, "annotation", path, &w);
            return;
        };
        let is_sig = self.is_sig_widget(d);
        if self
            .new_signature(t, path, &format!("{page_label} /Annots"))
            .is_some()
            || self.said_about(t)
        {
            return;
        }
        if is_sig {
            let w = format!(
                "added {}: a signature widget without a listed signature value",
                self.when(t)
            );
            self.fail_obj(t, &format!("signature widget on {page_label}"), path, &w);
        } else if self.annotations_allowed() {
            let r = self.rev_name(t);
            self.warn(format!(
                "{r} added {} (object {} {}) to {page_label} (allowed by the policy)",
                annot_kind(d),
                t.0,
                t.1
            ));
            self.edge(Role::Fresh, t, path, &format!("annotation on {page_label}"));
        } else {
            let w = format!(
                "added to {page_label} /Annots {}: {}; {}",
                self.when(t),
                annot_kind(d),
                self.no_annotations()
            );
            self.fail_obj(t, "annotation", path, &w);
        }
    }

    /// `/FT /Sig` on the annotation or a parent (final file).
    fn is_sig_widget(&self, d: &Dictionary) -> bool {
        let mut node = d;
        for _ in 0..32 {
            if let Ok(ft) = node.get(b"FT").and_then(Object::as_name) {
                return ft == b"Sig";
            }
            match node.get(b"Parent").ok().and_then(|p| dict_of(self.new, p)) {
                Some(p) => node = p,
                None => return false,
            }
        }
        false
    }

    /// An empty signature field of the signed revision, or its widget:
    /// `/V` and `/AP` may change, and only when the field now holds a new,
    /// listed signature.
    fn sig_fill(&mut self, it: &Item) {
        let (old, new) = (self.old, self.new);
        let Some(od) = old.objects.get(&it.id).and_then(|o| o.as_dict().ok()) else {
            self.as_strict(it);
            return;
        };
        let Some(nd) = new.objects.get(&it.id).and_then(|o| o.as_dict().ok()) else {
            let w = self
                .difference(it.id)
                .unwrap_or_else(|| "is no longer a dictionary".into());
            self.fail_obj(it.id, &it.label, &it.path, &w);
            return;
        };
        let diff = dict_diff(od, nd, &[b"V", b"AP"]);
        if !diff.is_empty() {
            let w = format!("changed ({}) {}", diff.join(", "), self.when(it.id));
            self.fail_obj(it.id, &it.label, &it.path, &w);
        }
        let filled = ["V", "AP"]
            .iter()
            .any(|k| !same_opt(od.get(k.as_bytes()).ok(), nd.get(k.as_bytes()).ok()));
        let fields = self.fields;
        let f = self.field_at.get(&it.id).and_then(|i| fields.get(*i));
        if filled {
            let why = match f {
                None => Some("it is no longer a signature field".to_string()),
                Some(f) if !f.has_value || !f.listed => {
                    Some("without a signature value (/V)".to_string())
                }
                Some(f) if f.value_id.is_some_and(|v| old.objects.contains_key(&v)) => {
                    Some("with a signature dictionary that existed when signed".into())
                }
                Some(f) if self.level == Some(1) && !f.doc_time_stamp => {
                    Some("the certification (DocMDP P=1) allows only document time stamps".into())
                }
                Some(_) if self.level == Some(1) && self.visible_widget(it.id) => Some(
                    "a document time stamp with a visible appearance, which the certification \
                     (DocMDP P=1) does not allow"
                        .into(),
                ),
                Some(_) => None,
            };
            match why {
                Some(why) => {
                    let w = format!("changed (/V or /AP) {}: {why}", self.when(it.id));
                    self.fail_obj(it.id, &it.label, &it.path, &w);
                }
                None => {
                    let r = self.rev_name(it.id);
                    let n = f.map(|f| f.name.clone()).unwrap_or_default();
                    self.approve(format!(
                        "{r} signed the empty signature field {n} (verified as a signature of its own)"
                    ));
                }
            }
        }
        for (k, v) in nd.iter() {
            let ctx = if matches!(k.as_slice(), b"V" | b"AP") && !same_opt(od.get(k).ok(), Some(v))
            {
                Role::Fresh
            } else {
                Role::Strict
            };
            self.walk(v, ctx, &key(&it.path, k), &it.label, 0);
        }
    }

    fn dss(&mut self, cat: ObjectId, a: Option<&'d Object>, b: Option<&'d Object>) {
        let path = "/Root/DSS";
        let Some(b) = b else {
            let w = format!("changed (/DSS removed) {}", self.when(cat));
            self.fail_obj(cat, "catalogue", "/Root", &w);
            return;
        };
        if !self.anchored(a, b) {
            let w = format!(
                "changed (/DSS now names {}, which existed when signed) {}",
                describe_ref(b),
                self.when(cat)
            );
            self.fail_obj(cat, "catalogue", "/Root", &w);
            return;
        }
        let at = match b {
            Object::Reference(id) => *id,
            _ => cat,
        };
        let old = self.old;
        let Some(nd) = self
            .slot(b, Role::Dss, path, "DSS")
            .and_then(|o| o.as_dict().ok())
        else {
            let w = format!("is not a dictionary {}", self.when(at));
            self.fail_obj(at, "DSS", path, &w);
            return;
        };
        let od = a.and_then(|o| dict_of(old, o)).unwrap_or(&EMPTY);
        for k in [&b"Certs"[..], b"CRLs", b"OCSPs"] {
            let listed = array_of(old, od.get(k).ok()).unwrap_or(&[]);
            self.old_dss_members.extend(Members::of(listed).refs);
        }
        for (k, v) in nd.iter() {
            let sub = key(path, k);
            match k.as_slice() {
                b"Type" if v.as_name().is_ok() => {}
                b"Certs" | b"CRLs" | b"OCSPs" => self.dss_array(at, od.get(k).ok(), v, &sub),
                b"VRI" => self.vri(at, od.get(k).ok(), v, &sub),
                _ => {
                    let w = format!(
                        "holds /{}, which a DSS may not ({})",
                        name(k),
                        self.when(at)
                    );
                    self.fail_obj(at, "DSS", path, &w);
                }
            }
        }
        let changed = match (a.and_then(|o| deref(old, o)), deref(self.new, b)) {
            (Some(x), Some(y)) => !same(x, y),
            _ => true,
        };
        if changed {
            let r = self.rev_name(at);
            self.approve(format!(
                "{r} added or updated the document security store (DSS)"
            ));
        }
    }

    /// `/Certs`, `/CRLs`, `/OCSPs` (and a VRI's `/Cert`…): the signed entries
    /// or new streams.
    fn dss_array(&mut self, at: ObjectId, a: Option<&'d Object>, b: &'d Object, path: &str) {
        if !self.anchored(a, b) {
            let w = format!(
                "names {}, which existed when signed ({})",
                describe_ref(b),
                self.when(at)
            );
            self.fail_obj(at, "DSS", path, &w);
            return;
        }
        let old = self.old;
        let old_set = Members::of(array_of(old, a).unwrap_or(&[]));
        let Some(Object::Array(list)) = self.slot(b, Role::Dss, path, "DSS") else {
            let w = format!("has a non-array at {path} ({})", self.when(at));
            self.fail_obj(at, "DSS", path, &w);
            return;
        };
        for (i, e) in list.iter().enumerate() {
            let sub = index(path, i);
            match e {
                Object::Reference(t)
                    if old_set.refs.contains(t) || self.old_dss_members.contains(t) =>
                {
                    self.edge(Role::Strict, *t, &sub, "DSS entry");
                }
                Object::Reference(t) if self.old.objects.contains_key(t) => {
                    let w = format!(
                        "existed when signed outside the DSS and was added to it {}",
                        self.when(at)
                    );
                    self.fail_obj(*t, "DSS entry", &sub, &w);
                }
                Object::Reference(t)
                    if matches!(self.new.objects.get(t), Some(Object::Stream(_))) =>
                {
                    self.edge(Role::Fresh, *t, &sub, "DSS entry");
                }
                _ => {
                    let w = format!(
                        "has an entry that is not a new stream at {sub} ({})",
                        self.when(at)
                    );
                    self.fail_obj(at, "DSS", path, &w);
                }
            }
        }
    }

    fn vri(&mut self, at: ObjectId, a: Option<&'d Object>, b: &'d Object, path: &str) {
        if !self.anchored(a, b) {
            let w = format!(
                "names {}, which existed when signed ({})",
                describe_ref(b),
                self.when(at)
            );
            self.fail_obj(at, "DSS", path, &w);
            return;
        }
        let old = self.old;
        let od = a.and_then(|o| dict_of(old, o)).unwrap_or(&EMPTY);
        let Some(nd) = self
            .slot(b, Role::Dss, path, "DSS /VRI")
            .and_then(|o| o.as_dict().ok())
        else {
            let w = format!("has a /VRI that is not a dictionary ({})", self.when(at));
            self.fail_obj(at, "DSS", path, &w);
            return;
        };
        for (k, v) in nd.iter() {
            let sub = key(path, k);
            let oe = od.get(k).ok();
            if !self.anchored(oe, v) {
                let w = format!(
                    "names {}, which existed when signed ({})",
                    describe_ref(v),
                    self.when(at)
                );
                self.fail_obj(at, "DSS /VRI", &sub, &w);
                continue;
            }
            let oed = oe.and_then(|o| dict_of(old, o)).unwrap_or(&EMPTY);
            let Some(ed) = self
                .slot(v, Role::Dss, &sub, "DSS /VRI entry")
                .and_then(|o| o.as_dict().ok())
            else {
                let w = format!(
                    "has a VRI entry that is not a dictionary at {sub} ({})",
                    self.when(at)
                );
                self.fail_obj(at, "DSS", path, &w);
                continue;
            };
            for (k2, v2) in ed.iter() {
                let sub2 = key(&sub, k2);
                match k2.as_slice() {
                    b"Cert" | b"CRL" | b"OCSP" => self.dss_array(at, oed.get(k2).ok(), v2, &sub2),
                    b"Type" if v2.as_name().is_ok() => {}
                    b"TU" if matches!(v2, Object::String(..)) => {}
                    b"TS" => match v2 {
                        Object::Reference(t)
                            if oed.get(b"TS").ok().and_then(|o| o.as_reference().ok())
                                == Some(*t) =>
                        {
                            self.edge(Role::Strict, *t, &sub2, "DSS /VRI /TS");
                        }
                        Object::Reference(t)
                            if !self.old.objects.contains_key(t)
                                && matches!(self.new.objects.get(t), Some(Object::Stream(_))) =>
                        {
                            self.edge(Role::Fresh, *t, &sub2, "DSS /VRI /TS");
                        }
                        _ => {
                            let w = format!(
                                "has a /TS that is not a new stream at {sub2} ({})",
                                self.when(at)
                            );
                            self.fail_obj(at, "DSS", path, &w);
                        }
                    },
                    _ => {
                        let w = format!(
                            "holds /{} in a VRI entry, which a DSS may not ({})",
                            name(k2),
                            self.when(at)
                        );
                        self.fail_obj(at, "DSS", &sub2, &w);
                    }
                }
            }
        }
    }

    fn metadata(&mut self, cat: ObjectId, a: Option<&'d Object>, b: Option<&'d Object>) {
        let path = "/Root/Metadata";
        let Some(b) = b else {
            let w = format!("changed (/Metadata removed) {}", self.when(cat));
            self.fail_obj(cat, "catalogue", "/Root", &w);
            return;
        };
        let Object::Reference(m) = b else {
            let w = format!("changed (/Metadata is not a reference) {}", self.when(cat));
            self.fail_obj(cat, "catalogue", "/Root", &w);
            return;
        };
        let m = *m;
        if !self.anchored(a, b) {
            let w = format!(
                "changed (/Metadata now names object {} {}, which existed when signed) {}",
                m.0,
                m.1,
                self.when(cat)
            );
            self.fail_obj(cat, "catalogue", "/Root", &w);
            return;
        }
        self.claim(m, Role::Metadata, path, "XMP metadata");
        let new = self.new;
        let is_xmp = |o: Option<&Object>| match o {
            Some(Object::Stream(s)) => {
                s.dict.get(b"Type").and_then(Object::as_name).ok() == Some(b"Metadata")
                    && s.dict.get(b"Subtype").and_then(Object::as_name).ok() == Some(b"XML")
            }
            _ => false,
        };
        let now = new.objects.get(&m);
        let before = self.old.objects.get(&m);
        if before.is_some() && now.is_some_and(|n| before.is_some_and(|o| same(o, n))) {
            if let Some(n) = now {
                self.walk(n, Role::Strict, path, "XMP metadata", 0);
            }
            return;
        }
        if !is_xmp(now) {
            let w = format!(
                "changed or added {}: not a /Type /Metadata /Subtype /XML stream",
                self.when(m)
            );
            self.fail_obj(m, "XMP metadata", path, &w);
            return;
        }
        if let Some(Object::Stream(s)) = now {
            self.walk_dict(&s.dict, Role::Fresh, path, "XMP metadata", 0);
        }
        let r = self.rev_name(m);
        self.approve(format!("{r} updated the XMP metadata"));
    }

    fn info(&mut self, a: Option<&'d Object>, b: Option<&'d Object>) {
        let Some(b) = b else {
            if a.is_some() {
                let t = self.final_trailer();
                self.fail(format!("the trailer's /Info was removed {t}"));
            }
            return;
        };
        let Object::Reference(i) = b else {
            let t = self.final_trailer();
            self.fail(format!("the trailer's /Info is not a reference {t}"));
            return;
        };
        let i = *i;
        let same_id = a.and_then(|o| o.as_reference().ok()) == Some(i);
        if !same_id && (a.is_some() || self.old.objects.contains_key(&i)) {
            let t = self.final_trailer();
            self.fail(format!(
                "the trailer's /Info now names object {} {} instead of the signed one {t}",
                i.0, i.1
            ));
            return;
        }
        self.claim(i, Role::Info, "/Info", "document information");
        let (old, new) = (self.old, self.new);
        let Some(nd) = new.objects.get(&i).and_then(|o| o.as_dict().ok()) else {
            if let Some(w) = self.difference(i) {
                self.fail_obj(i, "document information", "/Info", &w);
            }
            return;
        };
        let od = old
            .objects
            .get(&i)
            .and_then(|o| o.as_dict().ok())
            .unwrap_or(&EMPTY);
        let mut changed = Vec::new();
        for (k, v) in nd.iter() {
            if same_opt(od.get(k).ok(), Some(v)) {
                self.walk(v, Role::Strict, &key("/Info", k), "document information", 0);
            } else if matches!(
                v,
                Object::String(..)
                    | Object::Name(_)
                    | Object::Integer(_)
                    | Object::Real(_)
                    | Object::Boolean(_)
                    | Object::Null
            ) {
                changed.push(format!("/{}", name(k)));
            } else {
                let w = format!(
                    "changed (/{} is now {}, not a plain value) {}",
                    name(k),
                    kind(v),
                    self.when(i)
                );
                self.fail_obj(i, "document information", "/Info", &w);
            }
        }
        if !changed.is_empty() {
            let r = self.rev_name(i);
            self.approve(format!(
                "{r} updated the document information ({})",
                changed.join(" ")
            ));
        }
    }
}

fn annot_kind(d: &Dictionary) -> String {
    match d.get(b"Subtype").and_then(Object::as_name) {
        Ok(s) => format!("a /{} annotation", name(s)),
        Err(_) => "an annotation".into(),
    }
}

fn describe_ref(o: &Object) -> String {
    match o {
        Object::Reference(id) => format!("object {} {}", id.0, id.1),
        o => format!("a direct {}", kind(o)).replace("direct a ", "direct "),
    }
}

fn key(path: &str, k: &[u8]) -> String {
    if path.len() > MAX_PATH {
        return path.to_string();
    }
    format!("{path}/{}", name(k))
}

fn index(path: &str, i: usize) -> String {
    if path.len() > MAX_PATH {
        return path.to_string();
    }
    format!("{path}[{i}]")
}

#[cfg(test)]
mod tests {
    use super::*;
    use lopdf::{Stream, StringFormat, dictionary};

    #[test]
    fn same_ignores_string_form_key_order_and_stream_length() {
        let a = Object::String(b"x".to_vec(), StringFormat::Literal);
        let b = Object::String(b"x".to_vec(), StringFormat::Hexadecimal);
        assert!(same(&a, &b));
        let d1 = dictionary! { "A" => 1, "B" => 2 };
        let d2 = dictionary! { "B" => 2, "A" => 1 };
        assert!(same(
            &Object::Dictionary(d1.clone()),
            &Object::Dictionary(d2)
        ));
        let mut s1 = Stream::new(dictionary! { "Length" => 3 }, b"abc".to_vec());
        let s2 = Stream::new(
            dictionary! { "Length" => Object::Reference((9, 0)) },
            b"abc".to_vec(),
        );
        assert!(same(&Object::Stream(s1.clone()), &Object::Stream(s2)));
        s1.start_position = Some(1234);
        let s3 = Stream::new(dictionary! {}, b"abc".to_vec());
        assert!(same(&Object::Stream(s1.clone()), &Object::Stream(s3)));
        // but a changed type, content, reference or kind is a change
        let typed = Stream::new(dictionary! { "Type" => "ObjStm" }, b"abc".to_vec());
        assert!(!same(&Object::Stream(s1.clone()), &Object::Stream(typed)));
        let other = Stream::new(dictionary! {}, b"abd".to_vec());
        assert!(!same(&Object::Stream(s1), &Object::Stream(other)));
        assert!(!same(
            &Object::Reference((1, 0)),
            &Object::Reference((1, 1))
        ));
        assert!(!same(&Object::Dictionary(d1), &Object::Array(vec![])));
        assert!(!same(&Object::Integer(1), &Object::Real(1.0)));
    }

    #[test]
    fn nesting_past_the_limit_is_a_difference() {
        let mut o = Object::Null;
        for _ in 0..200 {
            o = Object::Array(vec![o]);
        }
        assert!(!same(&o, &o.clone()));
    }

    #[test]
    fn dict_diff_names_keys() {
        let a = dictionary! { "Contents" => 1, "Gone" => 2, "Annots" => 3 };
        let b = dictionary! { "Contents" => 4, "AA" => 5, "Annots" => 6 };
        assert_eq!(
            dict_diff(&a, &b, &[b"Annots"]),
            ["/Contents changed", "/Gone removed", "/AA added"]
        );
    }

    #[test]
    fn members_cap_direct_comparisons() {
        let list: Vec<Object> = (0..1000)
            .map(|i| Object::Array(vec![Object::Integer(i)]))
            .chain([Object::Reference((7, 0))])
            .collect();
        let m = Members::of(&list);
        assert!(m.has(&Object::Reference((7, 0))));
        assert!(m.has(&Object::Array(vec![Object::Integer(3)])));
        // past the cap a direct entry is not found: the caller refuses
        assert!(!m.has(&Object::Array(vec![Object::Integer(999)])));
    }
}
