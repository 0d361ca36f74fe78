//! What a reader displays for the document OFD.xml names: the parts reached by
//! walking GB/T 33190 from the DocBody's `DocRoot`.
//!
//! Displayed (must be signed):
//! - the `Document.xml` named by `DocRoot`;
//! - `CommonData`: every `PublicRes` and `DocumentRes` file and each file a
//!   resource names: `Font/FontFile`, `MultiMedia/MediaFile` (images, sound,
//!   video), `ColorSpace@Profile` (ICC profile);
//! - `CommonData/TemplatePage@BaseLoc` template pages, read like pages;
//! - `Pages/Page@BaseLoc` page content files, and each page's `PageRes`
//!   resources (templates are referenced by ID, so they are the ones above);
//! - `Annotations` → the annotation list → each page's annotation file
//!   (GB/T 33190 §15: annotations are drawn over the page);
//! - `Attachments` → the attachment list → each attachment file whose
//!   `Visible` is not `false` (§20: the reader lists them to the user).
//!
//! Carried but not displayed (reported, not required): attachments with
//! `Visible="false"`, `CustomTags` (§17: structure for software, not
//! drawn), `Extensions` (§18: producer data), `DocBody/Versions`
//! (alternative versions a reader does not open by default). `Outlines`,
//! `Bookmarks`, `Permissions`, `Actions` and `VPreferences` are inline in
//! Document.xml and so covered with it; they navigate, they show nothing new.
//!
//! Locations are resolved as producers write them: absolute from the package
//! root, relative to the referring file's folder (for resource files also to
//! the resource file's `BaseLoc` and the document's folder), or relative to the
//! root. Where several of these exist, every one counts as displayed, since
//! readers pick differently; a location that exists nowhere is recorded as
//! missing.

use super::{OfdPackage, dir_of, normalise};
use crate::xml::Element;
use std::collections::{BTreeMap, BTreeSet};

/// The parts a reader displays for the document OFD.xml names, found by
/// walking from its `DocRoot` (see [`OfdPackage::displayed`]).
#[derive(Clone, Debug, Default)]
pub struct DisplayedParts {
    document: String,
    pages: Vec<String>,
    parts: BTreeMap<String, String>,
    missing: Vec<(String, String)>,
    malformed: Vec<(String, String)>,
    carried: BTreeMap<String, String>,
}

impl DisplayedParts {
    /// The `Document.xml` that `DocRoot` names.
    pub fn document(&self) -> &str {
        &self.document
    }

    /// The page content files, in page order.
    pub fn pages(&self) -> &[String] {
        &self.pages
    }

    /// Every displayed part with how the walk reached it, in name order.
    pub fn parts(&self) -> impl Iterator<Item = (&str, &str)> {
        self.parts.iter().map(|(p, v)| (p.as_str(), v.as_str()))
    }

    /// Whether `part` is displayed.
    pub fn contains(&self, part: &str) -> bool {
        self.parts.contains_key(part)
    }

    /// Locations referenced for display that name no part: (location as
    /// written, who names it).
    pub fn missing(&self) -> &[(String, String)] {
        &self.missing
    }

    /// Displayed XML parts that could not be read: (part, why).
    pub fn malformed(&self) -> &[(String, String)] {
        &self.malformed
    }

    /// Parts the document refers to that a reader does not display (hidden
    /// attachments, custom tags, extensions, versions), with what they are.
    pub fn carried(&self) -> impl Iterator<Item = (&str, &str)> {
        self.carried.iter().map(|(p, v)| (p.as_str(), v.as_str()))
    }
}

/// Walk the document `document` (a resolved part) of `pkg`; `versions` are the
/// DocBody's `Versions` locations.
pub(crate) fn walk(pkg: &OfdPackage, document: &str, versions: &[String]) -> DisplayedParts {
    let mut w = Walk {
        pkg,
        out: DisplayedParts {
            document: document.to_string(),
            ..DisplayedParts::default()
        },
        parsed: BTreeSet::new(),
    };
    w.out
        .parts
        .insert(document.to_string(), "DocRoot in OFD.xml".into());
    for v in versions {
        w.carry(&[], v, "a version listed in OFD.xml");
    }
    let Some(doc) = w.parse(document) else {
        return w.out;
    };
    let doc_dir = dir_of(document);
    let here = [doc_dir.as_str()];
    if let Some(common) = doc.child("CommonData") {
        for r in &common.children {
            match r.name.as_str() {
                "PublicRes" | "DocumentRes" => {
                    let via = format!("{} in {document}", r.name);
                    for res in w.show(&here, &r.text, &via) {
                        w.resources(&res, &doc_dir);
                    }
                }
                "TemplatePage" => {
                    let via = format!("a template page in {document}");
                    let loc = r.attr("BaseLoc").unwrap_or_default();
                    for t in w.show(&here, loc, &via) {
                        w.page(&t, &doc_dir);
                    }
                }
                _ => {}
            }
        }
    }
    let pages = doc
        .child("Pages")
        .map(|p| {
            p.children
                .iter()
                .filter(|c| c.name == "Page")
                .collect::<Vec<_>>()
        })
        .unwrap_or_default();
    for (i, p) in pages.iter().enumerate() {
        let via = format!("page {} in {document}", i + 1);
        let found = w.show(&here, p.attr("BaseLoc").unwrap_or_default(), &via);
        if let Some(first) = found.first() {
            w.out.pages.push(first.clone());
        }
        for page in found {
            w.page(&page, &doc_dir);
        }
    }
    if let Some(a) = doc.child("Annotations") {
        let via = format!("Annotations in {document}");
        for list in w.show(&here, &a.text, &via) {
            w.annotations(&list);
        }
    }
    if let Some(a) = doc.child("Attachments") {
        let via = format!("Attachments in {document}");
        for list in w.show(&here, &a.text, &via) {
            w.attachments(&list);
        }
    }
    if let Some(t) = doc.child("CustomTags") {
        let via = format!("CustomTags in {document}");
        for list in w.carry(&here, &t.text, &via) {
            let dir = dir_of(&list);
            let Some(tags) = w.pkg.xml(&list).ok() else {
                continue;
            };
            for tag in tags.children.iter().filter(|c| c.name == "CustomTag") {
                for loc in ["FileLoc", "SchemaLoc"] {
                    if let Some(l) = tag.child(loc) {
                        w.carry(&[&dir], &l.text, &format!("a custom tag in {list}"));
                    }
                }
            }
        }
    }
    if let Some(x) = doc.child("Extensions") {
        let via = format!("Extensions in {document}");
        for list in w.carry(&here, &x.text, &via) {
            let dir = dir_of(&list);
            let Some(ext) = w.pkg.xml(&list).ok() else {
                continue;
            };
            let mut data = Vec::new();
            ext.descendants("ExtendData", &mut data);
            for d in data {
                w.carry(&[&dir], &d.text, &format!("an extension in {list}"));
            }
        }
    }
    w.out
}

struct Walk<'a> {
    pkg: &'a OfdPackage,
    out: DisplayedParts,
    /// XML parts already read (each is walked once: no loops, bounded work).
    parsed: BTreeSet<String>,
}

impl Walk<'_> {
    /// Every part `loc` can name from `bases` (see the module doc).
    fn locate(&self, bases: &[&str], loc: &str) -> Vec<String> {
        let loc = loc.trim();
        if loc.is_empty() {
            return Vec::new();
        }
        let mut candidates = Vec::new();
        if let Some(abs) = loc.strip_prefix('/') {
            candidates.push(normalise(abs));
        } else {
            for b in bases.iter().filter(|b| !b.is_empty()) {
                candidates.push(normalise(&format!("{b}/{loc}")));
            }
            candidates.push(normalise(loc));
        }
        let mut out: Vec<String> = Vec::new();
        for c in candidates {
            if self.pkg.parts.contains_key(&c) && !out.contains(&c) {
                out.push(c);
            }
        }
        out
    }

    /// Mark what `loc` names as displayed (recording it as missing if nothing).
    fn show(&mut self, bases: &[&str], loc: &str, via: &str) -> Vec<String> {
        let found = self.locate(bases, loc);
        if found.is_empty() {
            self.out
                .missing
                .push((loc.trim().to_string(), via.to_string()));
        }
        for p in &found {
            self.out.carried.remove(p);
            self.out
                .parts
                .entry(p.clone())
                .or_insert_with(|| via.to_string());
        }
        found
    }

    /// Mark what `loc` names as carried (unless it is displayed anyway).
    fn carry(&mut self, bases: &[&str], loc: &str, via: &str) -> Vec<String> {
        let found = self.locate(bases, loc);
        for p in &found {
            if !self.out.parts.contains_key(p) {
                self.out
                    .carried
                    .entry(p.clone())
                    .or_insert_with(|| via.to_string());
            }
        }
        found
    }

    /// Read a displayed XML part once; `None` when already read or unreadable
    /// (recorded as malformed).
    fn parse(&mut self, part: &str) -> Option<Element> {
        if !self.parsed.insert(part.to_string()) {
            return None;
        }
        match self.pkg.xml(part) {
            Ok(e) => Some(e),
            Err(e) => {
                self.out.malformed.push((part.to_string(), e.to_string()));
                None
            }
        }
    }

    /// A resource file (`Res`): fonts, media, colour profiles.
    fn resources(&mut self, res: &str, doc_dir: &str) {
        let Some(el) = self.parse(res) else { return };
        let res_dir = dir_of(res);
        let base = match el.attr("BaseLoc").map(str::trim) {
            Some(b) if b.starts_with('/') => normalise(b),
            Some(b) if !b.is_empty() => normalise(&format!("{res_dir}/{b}")),
            _ => res_dir.clone(),
        };
        let bases = [base.as_str(), res_dir.as_str(), doc_dir];
        let mut files = Vec::new();
        for tag in ["FontFile", "MediaFile"] {
            let mut found = Vec::new();
            el.descendants(tag, &mut found);
            files.extend(found.into_iter().map(|f| (tag, f.text.clone())));
        }
        let mut spaces = Vec::new();
        el.descendants("ColorSpace", &mut spaces);
        files.extend(
            spaces
                .into_iter()
                .filter_map(|c| c.attr("Profile").map(|p| ("Profile", p.to_string()))),
        );
        for (tag, loc) in files {
            self.show(&bases, &loc, &format!("{tag} in {res}"));
        }
    }

    /// A page or template page: its own resources.
    fn page(&mut self, page: &str, doc_dir: &str) {
        let Some(el) = self.parse(page) else { return };
        let dir = dir_of(page);
        for r in el.children.iter().filter(|c| c.name == "PageRes") {
            for res in self.show(&[&dir], &r.text, &format!("PageRes in {page}")) {
                self.resources(&res, doc_dir);
            }
        }
    }

    /// The annotation list and each page's annotation file.
    fn annotations(&mut self, list: &str) {
        let Some(el) = self.parse(list) else { return };
        let dir = dir_of(list);
        for p in el.children.iter().filter(|c| c.name == "Page") {
            if let Some(loc) = p.child("FileLoc") {
                let via = format!(
                    "annotations of page ID {} in {list}",
                    p.attr("PageID").unwrap_or("?")
                );
                for f in self.show(&[&dir], &loc.text, &via) {
                    // Read it so a malformed annotation file is reported.
                    let _ = self.parse(&f);
                }
            }
        }
    }

    /// The attachment list and each attachment a reader lists.
    fn attachments(&mut self, list: &str) {
        let Some(el) = self.parse(list) else { return };
        let dir = dir_of(list);
        for a in el.children.iter().filter(|c| c.name == "Attachment") {
            let Some(loc) = a.child("FileLoc") else {
                continue;
            };
            let name = a.attr("Name").unwrap_or_default();
            if a.attr("Visible").map(str::trim) == Some("false") {
                let via = format!("hidden attachment {name:?} in {list}");
                self.carry(&[&dir], &loc.text, &via);
            } else {
                let via = format!("attachment {name:?} in {list}");
                self.show(&[&dir], &loc.text, &via);
            }
        }
    }
}
