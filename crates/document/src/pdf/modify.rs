//! What revisions after a signature changed, and whether those changes are
//! the ones signing may make (ISO 32000-1 §12.8.2.2, PAdES "modifications
//! relating to signing").
//!
//! Each later revision is read on its own (the file up to its `%%EOF`) and
//! compared object by object with the one before it. Allowed: new objects;
//! a page whose only change is new signature widgets in `/Annots` (same for
//! an indirect `/Annots` array); the AcroForm's `/Fields` (growing only),
//! `/SigFlags`, `/DR`, `/DA`, `/NeedAppearances`; the catalogue's `/AcroForm`,
//! `/DSS`, `/Extensions` (ESIC, added with a DSS), `/Version` and `/Metadata`;
//! the DSS and the objects it lists directly; an empty signature field getting
//! `/V` and `/AP`; the document information dictionary (`/Info`) and the XMP
//! metadata stream. (The catalogue and metadata entries are those pyHanko's
//! default difference policy also accepts: signers such as pyHanko write them
//! with every signature.) Anything else —
//! page content or resources, other catalogue entries, removed or altered
//! annotations, a changed signature dictionary, deleted objects, bytes after
//! the last `%%EOF` — is reported as not allowed.

use super::extract::{PdfSignature, signature_objects};
use super::geometry::page_numbers;
use super::{load, revisions};
use crate::error::{Error, Result};
use lopdf::{Dictionary, Document, Object, ObjectId};
use std::collections::{HashMap, HashSet};

/// What happened after a signature's revision.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ModificationCheck {
    /// How many revisions follow the signed one.
    pub later_revisions: usize,
    /// True when every later change is one signing may make.
    pub allowed: bool,
    /// The changes that are not allowed, e.g. "object 12 0 (page 1 /Contents) changed in revision 3".
    pub changes: Vec<String>,
    /// The allowed changes, for the record (new signature fields, grown /Annots…).
    pub signing_changes: Vec<String>,
}

/// Compare what the revisions after `sig`'s changed.
pub fn modifications_after(pdf: &[u8], sig: &PdfSignature) -> Result<ModificationCheck> {
    let revs = revisions(pdf);
    let r = sig
        .revision
        .checked_sub(1)
        .filter(|r| *r < revs.len())
        .ok_or_else(|| Error::Pdf(format!("signature {:?} is in no revision", sig.field_name)))?;
    let mut check = ModificationCheck {
        later_revisions: revs.len() - 1 - r,
        ..Default::default()
    };
    let last_end = revs.last().map_or(pdf.len(), |l| l.end);
    if pdf.len() > last_end && !pdf[last_end..].iter().all(u8::is_ascii_whitespace) {
        check.changes.push(format!(
            "{} bytes after the last %%EOF",
            pdf.len() - last_end
        ));
    }
    if check.later_revisions > 0 {
        let mut prev = load(&pdf[..revs[r].end])?;
        for (k, rev) in revs.iter().enumerate().skip(r + 1) {
            let is_last = k + 1 == revs.len();
            let cur = match load(&pdf[..rev.end]) {
                Ok(d) => d,
                Err(e) if is_last => return Err(e),
                // An intermediate section that cannot stand alone (e.g. a linearized
                // file's first-page section): compare across it.
                Err(_) => continue,
            };
            compare(&prev, &cur, k + 1, &mut check);
            prev = cur;
        }
    }
    check.allowed = check.changes.is_empty();
    Ok(check)
}

fn is_container(o: &Object) -> bool {
    let dict = match o {
        Object::Stream(s) => &s.dict,
        _ => return false,
    };
    matches!(
        dict.get(b"Type").and_then(Object::as_name),
        Ok(b"XRef") | Ok(b"ObjStm")
    )
}

fn dict_of(doc: &Document, id: ObjectId) -> Option<&Dictionary> {
    match doc.get_object(id).ok()? {
        Object::Dictionary(d) => Some(d),
        Object::Stream(s) => Some(&s.dict),
        _ => None,
    }
}

fn ref_in(d: Option<&Dictionary>, key: &[u8]) -> Option<ObjectId> {
    d?.get(key).and_then(Object::as_reference).ok()
}

fn array_of<'a>(doc: &'a Document, o: Option<&'a Object>) -> Vec<&'a Object> {
    match o {
        Some(Object::Reference(id)) => doc
            .get_object(*id)
            .ok()
            .and_then(|o| o.as_array().ok())
            .map(|a| a.iter().collect())
            .unwrap_or_default(),
        Some(Object::Array(a)) => a.iter().collect(),
        _ => Vec::new(),
    }
}

/// Keys whose values differ between two dictionaries.
fn differing_keys(a: &Dictionary, b: &Dictionary) -> Vec<String> {
    let mut keys: Vec<&Vec<u8>> = a.iter().map(|(k, _)| k).collect();
    for (k, _) in b.iter() {
        if !a.has(k) {
            keys.push(k);
        }
    }
    keys.into_iter()
        .filter(|k| a.get(k).ok() != b.get(k).ok())
        .map(|k| format!("/{}", String::from_utf8_lossy(k)))
        .collect()
}

/// Is `o` (in `doc`) a signature widget or field?
fn is_sig_widget(doc: &Document, o: &Object) -> bool {
    let Some(d) = o.as_reference().ok().and_then(|id| dict_of(doc, id)) else {
        return false;
    };
    let mut node = d;
    for _ in 0..32 {
        if let Ok(ft) = node.get(b"FT").and_then(Object::as_name) {
            return ft == b"Sig";
        }
        match ref_in(Some(node), b"Parent").and_then(|p| dict_of(doc, p)) {
            Some(p) => node = p,
            None => return false,
        }
    }
    false
}

/// Old entries all kept (in any order); returns the added ones.
fn grown<'a>(old: &[&Object], new: &[&'a Object]) -> Option<Vec<&'a Object>> {
    let old_set: Vec<&Object> = old.to_vec();
    if !old_set.iter().all(|o| new.contains(o)) {
        return None;
    }
    Some(new.iter().copied().filter(|n| !old.contains(n)).collect())
}

struct Roles {
    root: Option<ObjectId>,
    acroform: Option<ObjectId>,
    fields: Option<ObjectId>,
    dr: Option<ObjectId>,
    dss: HashSet<ObjectId>,
    info: Option<ObjectId>,
    metadata: Option<ObjectId>,
    pages: HashMap<ObjectId, usize>,
    annots: HashMap<ObjectId, ObjectId>,
    contents: HashMap<ObjectId, usize>,
    sig_values: HashSet<ObjectId>,
    sig_fields: HashSet<ObjectId>,
}

fn roles(doc: &Document) -> Roles {
    let root = doc.trailer.get(b"Root").and_then(Object::as_reference).ok();
    let catalog = root.and_then(|r| dict_of(doc, r));
    let acroform = ref_in(catalog, b"AcroForm");
    let form = match catalog.and_then(|c| c.get(b"AcroForm").ok()) {
        Some(Object::Dictionary(d)) => Some(d),
        Some(Object::Reference(id)) => dict_of(doc, *id),
        _ => None,
    };
    let mut dss = HashSet::new();
    if let Some(id) = ref_in(catalog, b"DSS") {
        dss.insert(id);
    }
    let dss_dict = match catalog.and_then(|c| c.get(b"DSS").ok()) {
        Some(Object::Dictionary(d)) => Some(d),
        Some(Object::Reference(id)) => dict_of(doc, *id),
        _ => None,
    };
    if let Some(d) = dss_dict {
        for (_, v) in d.iter() {
            if let Object::Reference(id) = v {
                dss.insert(*id);
            }
        }
    }
    let pages = page_numbers(doc);
    let mut annots = HashMap::new();
    let mut contents = HashMap::new();
    for (page, n) in &pages {
        let d = dict_of(doc, *page);
        if let Some(a) = ref_in(d, b"Annots") {
            annots.insert(a, *page);
        }
        match d.and_then(|d| d.get(b"Contents").ok()) {
            Some(Object::Reference(id)) => {
                contents.insert(*id, *n);
                for o in array_of(doc, Some(&Object::Reference(*id))) {
                    if let Ok(id) = o.as_reference() {
                        contents.insert(id, *n);
                    }
                }
            }
            Some(Object::Array(a)) => {
                for o in a {
                    if let Ok(id) = o.as_reference() {
                        contents.insert(id, *n);
                    }
                }
            }
            _ => {}
        }
    }
    let (sig_values, sig_fields) = signature_objects(doc);
    Roles {
        root,
        acroform,
        fields: ref_in(form, b"Fields"),
        dr: ref_in(form, b"DR"),
        dss,
        info: doc.trailer.get(b"Info").and_then(Object::as_reference).ok(),
        metadata: ref_in(catalog, b"Metadata"),
        pages,
        annots,
        contents,
        sig_values,
        sig_fields,
    }
}

fn describe(r: &Roles, id: ObjectId) -> String {
    if Some(id) == r.root {
        "catalogue".into()
    } else if let Some(n) = r.pages.get(&id) {
        format!("page {n}")
    } else if let Some(n) = r.contents.get(&id) {
        format!("page {n} /Contents")
    } else if let Some(p) = r.annots.get(&id) {
        format!("page {} /Annots", r.pages.get(p).copied().unwrap_or(0))
    } else if Some(id) == r.acroform {
        "AcroForm".into()
    } else if r.sig_values.contains(&id) {
        "signature dictionary".into()
    } else if r.sig_fields.contains(&id) {
        "signature field".into()
    } else {
        "object".into()
    }
}

fn compare(prev: &Document, cur: &Document, rev: usize, check: &mut ModificationCheck) {
    let old = roles(prev);
    let new = roles(cur);
    let bad = |id: ObjectId, what: String| {
        format!(
            "object {} {} ({}) {what} in revision {rev}",
            id.0,
            id.1,
            describe(&old, id)
        )
    };
    if old.root != new.root {
        check
            .changes
            .push(format!("the catalogue was replaced in revision {rev}"));
    }
    let mut added = 0usize;
    for (id, obj) in &cur.objects {
        if is_container(obj) {
            continue;
        }
        let Some(before) = prev.objects.get(id) else {
            added += 1;
            continue;
        };
        if before == obj {
            continue;
        }
        let id = *id;
        let (bd, nd) = match (before, obj) {
            (Object::Dictionary(a), Object::Dictionary(b)) => (Some(a), Some(b)),
            _ => (None, None),
        };
        let diff = match (bd, nd) {
            (Some(a), Some(b)) => differing_keys(a, b),
            _ => vec!["value".into()],
        };
        let only = |allowed: &[&str]| diff.iter().all(|k| allowed.contains(&k.as_str()));
        let annots_ok = |a: Option<&Object>, b: Option<&Object>| {
            grown(&array_of(prev, a), &array_of(cur, b))
                .is_some_and(|added| added.iter().all(|o| is_sig_widget(cur, o)))
        };
        let verdict: std::result::Result<String, String> = if Some(id) == old.root {
            if only(&["/AcroForm", "/DSS", "/Extensions", "/Version", "/Metadata"]) {
                Ok(format!("catalogue {} updated", diff.join(" ")))
            } else {
                Err(format!("changed ({})", diff.join(" ")))
            }
        } else if let Some(n) = old.pages.get(&id) {
            if only(&["/Annots"])
                && annots_ok(
                    bd.and_then(|d| d.get(b"Annots").ok()),
                    nd.and_then(|d| d.get(b"Annots").ok()),
                )
            {
                Ok(format!("signature widget added to page {n}"))
            } else {
                Err(format!("changed ({})", diff.join(" ")))
            }
        } else if let Some(p) = old.annots.get(&id) {
            if annots_ok(Some(before), Some(obj)) {
                Ok(format!(
                    "signature widget added to page {}",
                    old.pages.get(p).copied().unwrap_or(0)
                ))
            } else {
                Err("changed (annotations removed, altered or not signatures)".into())
            }
        } else if Some(id) == old.acroform {
            let fields_ok = grown(
                &array_of(prev, bd.and_then(|d| d.get(b"Fields").ok())),
                &array_of(cur, nd.and_then(|d| d.get(b"Fields").ok())),
            )
            .is_some();
            if fields_ok && only(&["/Fields", "/SigFlags", "/DR", "/DA", "/NeedAppearances"]) {
                Ok("AcroForm updated".into())
            } else {
                Err(format!("changed ({})", diff.join(" ")))
            }
        } else if Some(id) == old.fields {
            if grown(&array_of(prev, Some(before)), &array_of(cur, Some(obj))).is_some() {
                Ok("fields added".into())
            } else {
                Err("changed (fields removed)".into())
            }
        } else if old.dss.contains(&id) || new.dss.contains(&id) {
            Ok("DSS updated".into())
        } else if Some(id) == old.dr || Some(id) == old.info || Some(id) == old.metadata {
            Ok("form resources or document metadata updated".into())
        } else if old.sig_fields.contains(&id)
            && !bd.is_some_and(|d| d.has(b"V"))
            && only(&["/V", "/AP"])
        {
            Ok("empty signature field signed".into())
        } else {
            Err(if diff.is_empty() {
                "changed".into()
            } else {
                format!("changed ({})", diff.join(" "))
            })
        };
        match verdict {
            Ok(s) => check.signing_changes.push(format!("{s} in revision {rev}")),
            Err(s) => check.changes.push(bad(id, s)),
        }
    }
    for (id, obj) in &prev.objects {
        if !cur.objects.contains_key(id) && !is_container(obj) {
            check.changes.push(bad(*id, "deleted".into()));
        }
    }
    if added > 0 {
        check
            .signing_changes
            .push(format!("{added} objects added in revision {rev}"));
    }
}
