//! What a later revision may change after a PDF signature: each rule of
//! `modifications_after` with the attacker's variant that is refused (and
//! named: object, path, revision) and the legitimate variants that pass.
//! The attacks are incremental updates written with lopdf on a PDF stamped
//! by us; most use a stand-in CMS (the analysis does not look at it), and a
//! few go through `verify_pdf_with` with real P-256 and SM2 signatures.
//! pyHanko (certification, `addsig`, `ltvfix`) is the independent signer.

#![allow(clippy::unwrap_used)]

mod pdf_util;

use lopdf::{Dictionary, Document, IncrementalDocument, Object, ObjectId, Stream, dictionary};
use pdf_util::*;
use std::path::Path;
use yinzheng_ca::{InitOptions, IssueRequest, KeySource, TrustDomain};
use yinzheng_crypto::{KeyAlgorithm, KeyEncryption, PrivateKey};
use yinzheng_document::{
    CmsVerifyContext, MAX_PDF_REVISIONS, ModificationCheck, PdfChangePolicy, PdfSealer,
    PdfStampOptions, modifications_after, modifications_after_with, pdf_signatures, seal_pdf,
    stamp_pdf, verify_pdf_with,
};
use yinzheng_pki::{Indication, ParsedCert, SubIndication, SubjectExtras, Validator};
use yinzheng_seal::MakerTrust;

// ---- helpers ----

/// Stamp an invisible signature with a stand-in CMS.
fn sign(pdf: &[u8]) -> Vec<u8> {
    let o = PdfStampOptions::new(time::macros::datetime!(2026-11-23 10:00:00 +08:00));
    stamp_pdf(pdf, &o, &mut |_p: [&[u8]; 2]| Ok(fake_cms(600))).unwrap()
}

/// Our base PDF (revision 1) signed (revision 2).
fn signed() -> Vec<u8> {
    sign(&base_pdf(false))
}

/// Object ids of the document.
struct Ids {
    root: ObjectId,
    page1: ObjectId,
    contents1: ObjectId,
    font: ObjectId,
    acroform: Option<ObjectId>,
    widget: Option<ObjectId>,
}

fn ids(doc: &Document) -> Ids {
    let root = doc.trailer.get(b"Root").unwrap().as_reference().unwrap();
    let page1 = doc.get_pages()[&1];
    let p = doc.get_dictionary(page1).unwrap();
    let contents1 = match p.get(b"Contents").unwrap() {
        Object::Reference(id) => *id,
        Object::Array(a) => a[0].as_reference().unwrap(),
        _ => panic!("contents"),
    };
    let res = doc
        .dereference(p.get(b"Resources").unwrap())
        .unwrap()
        .1
        .as_dict()
        .unwrap();
    let font = doc
        .dereference(res.get(b"Font").unwrap())
        .unwrap()
        .1
        .as_dict()
        .unwrap()
        .get(b"F1")
        .unwrap()
        .as_reference()
        .unwrap();
    let cat = doc.get_dictionary(root).unwrap();
    let acroform = cat
        .get(b"AcroForm")
        .ok()
        .and_then(|o| o.as_reference().ok());
    let widget = p
        .get(b"Annots")
        .ok()
        .and_then(|a| doc.dereference(a).ok())
        .and_then(|(_, a)| a.as_array().ok().and_then(|a| a.first().cloned()))
        .and_then(|o| o.as_reference().ok());
    Ids {
        root,
        page1,
        contents1,
        font,
        acroform,
        widget,
    }
}

/// Append one incremental update made by `f`.
fn update(pdf: &[u8], f: impl FnOnce(&mut IncrementalDocument, &Ids)) -> Vec<u8> {
    let doc = Document::load_mem(pdf).unwrap();
    let ids = ids(&doc);
    let mut inc = IncrementalDocument::create_from(pdf.to_vec(), doc);
    f(&mut inc, &ids);
    let mut out = Vec::new();
    inc.save_to(&mut out).unwrap();
    out
}

/// Append an update written by hand (lopdf's writer leaves out streams
/// typed /XRef or /ObjStm): `objects` are (id, body between `obj` and `endobj`).
fn raw_update(pdf: &[u8], objects: &[(ObjectId, Vec<u8>)]) -> Vec<u8> {
    let doc = Document::load_mem(pdf).unwrap();
    let mut out = pdf.to_vec();
    let mut xref = String::from("xref\n0 1\n0000000000 65535 f \n");
    for (id, body) in objects {
        xref.push_str(&format!("{} 1\n{:010} {:05} n \n", id.0, out.len(), id.1));
        out.extend_from_slice(format!("{} {} obj\n", id.0, id.1).as_bytes());
        out.extend_from_slice(body);
        out.extend_from_slice(b"\nendobj\n");
    }
    let at = out.len();
    let root = doc.trailer.get(b"Root").unwrap().as_reference().unwrap();
    out.extend_from_slice(
        format!(
            "{xref}trailer\n<</Root {} {} R/Size {}/Prev {}>>\nstartxref\n{at}\n%%EOF\n",
            root.0,
            root.1,
            doc.max_id + 1,
            doc.xref_start
        )
        .as_bytes(),
    );
    out
}

/// Object `id` copied into the update, as a dictionary (a stream's dictionary).
fn edit(inc: &mut IncrementalDocument, id: ObjectId) -> &mut Dictionary {
    inc.opt_clone_object_to_new_document(id).unwrap();
    match inc.new_document.get_object_mut(id).unwrap() {
        Object::Dictionary(d) => d,
        Object::Stream(s) => &mut s.dict,
        _ => panic!("not a dictionary"),
    }
}

/// Replace stream `id` in the update with `content` and `dict`.
fn rewrite(inc: &mut IncrementalDocument, id: ObjectId, dict: Dictionary, content: &[u8]) {
    inc.new_document
        .objects
        .insert(id, Object::Stream(Stream::new(dict, content.to_vec())));
}

/// Add `annot` to page 1's /Annots in the update.
fn add_annot(inc: &mut IncrementalDocument, ids: &Ids, annot: ObjectId) {
    let p = edit(inc, ids.page1);
    match p.get_mut(b"Annots") {
        Ok(Object::Array(a)) => a.push(annot.into()),
        _ => p.set("Annots", vec![annot.into()]),
    }
}

/// Add `field` to the AcroForm's /Fields in the update.
fn add_field(inc: &mut IncrementalDocument, ids: &Ids, field: ObjectId) {
    let form = edit(inc, ids.acroform.unwrap());
    form.get_mut(b"Fields")
        .unwrap()
        .as_array_mut()
        .unwrap()
        .push(field.into());
}

/// The first signature's check.
fn first(pdf: &[u8]) -> ModificationCheck {
    let sigs = pdf_signatures(pdf).unwrap();
    modifications_after(pdf, &sigs[0]).unwrap()
}

fn first_with(pdf: &[u8], policy: &PdfChangePolicy) -> ModificationCheck {
    let sigs = pdf_signatures(pdf).unwrap();
    modifications_after_with(pdf, &sigs[0], policy).unwrap()
}

/// Refused, with one message holding every needle.
#[track_caller]
fn refused(m: &ModificationCheck, needles: &[&str]) {
    assert!(!m.allowed, "{m:#?}");
    assert!(
        m.changes
            .iter()
            .any(|c| needles.iter().all(|n| c.contains(n))),
        "no refusal with {needles:?}: {m:#?}"
    );
}

/// Allowed, with one listed change holding every needle.
#[track_caller]
fn allowed(m: &ModificationCheck, needles: &[&str]) {
    assert!(m.allowed, "{m:#?}");
    assert!(
        needles.is_empty()
            || m.signing_changes
                .iter()
                .any(|c| needles.iter().all(|n| c.contains(n))),
        "no listed change with {needles:?}: {m:#?}"
    );
}

fn obj(id: ObjectId) -> String {
    format!("object {} {} (", id.0, id.1)
}

/// `base_pdf(false)` changed by `f` before signing, saved whole.
fn base_with(f: impl FnOnce(&mut Document, &Ids)) -> Vec<u8> {
    let mut doc = Document::load_mem(&base_pdf(false)).unwrap();
    let ids = ids(&doc);
    f(&mut doc, &ids);
    let mut out = Vec::new();
    doc.save_to(&mut out).unwrap();
    out
}

/// A new signature field with widget on page 1 whose /V is `value` (None: no /V).
fn new_sig_field(
    inc: &mut IncrementalDocument,
    ids: &Ids,
    name: &str,
    value: Option<Dictionary>,
) -> ObjectId {
    let mut w = dictionary! {
        "Type" => "Annot", "Subtype" => "Widget", "FT" => "Sig",
        "T" => Object::string_literal(name),
        "Rect" => vec![0.into(), 0.into(), 0.into(), 0.into()], "F" => 132, "P" => ids.page1,
    };
    if let Some(v) = value {
        let v = inc.new_document.add_object(v);
        w.set("V", v);
    }
    let w = inc.new_document.add_object(w);
    add_annot(inc, ids, w);
    add_field(inc, ids, w);
    w
}

fn sig_value(kind: &str) -> Dictionary {
    dictionary! {
        "Type" => kind, "Filter" => "Adobe.PPKLite", "SubFilter" => "ETSI.RFC3161",
        "ByteRange" => vec![0.into(), 0.into(), 0.into(), 0.into()],
        "Contents" => Object::String(fake_cms(64), lopdf::StringFormat::Hexadecimal),
    }
}

// ---- legitimate changes ----

#[test]
fn a_second_signature_passes_and_is_listed() {
    let two = sign(&signed());
    let m = first(&two);
    allowed(&m, &["revision 3 added signature field Seal2"]);
    assert_eq!(m.later_revisions, 1);
    assert!(m.certification.is_none());
    // A visible one too (appearance stream, image, fonts: all new objects).
    let vis = stamp_pdf(
        &signed(),
        &visible(2, 30.0, 30.0, &seal_png()),
        &mut |_p: [&[u8]; 2]| Ok(fake_cms(600)),
    )
    .unwrap();
    allowed(&first(&vis), &["added signature field Seal2"]);
}

#[test]
fn info_metadata_extensions_and_a_dss_may_follow() {
    let pdf = update(&signed(), |inc, ids| {
        let info = inc.new_document.add_object(dictionary! {
            "Producer" => Object::string_literal("pyHanko"),
            "ModDate" => Object::string_literal("D:20261124"),
        });
        inc.new_document.trailer.set("Info", info);
        let xmp = inc.new_document.add_object(Stream::new(
            dictionary! { "Type" => "Metadata", "Subtype" => "XML" },
            b"<x:xmpmeta xmlns:x='adobe:ns:meta/'/>".to_vec(),
        ));
        let cert = inc
            .new_document
            .add_object(Stream::new(dictionary! {}, fake_cms(100)));
        let ocsp = inc
            .new_document
            .add_object(Stream::new(dictionary! {}, fake_cms(80)));
        let vri = dictionary! { "Cert" => vec![cert.into()], "OCSP" => vec![ocsp.into()] };
        let dss = inc.new_document.add_object(dictionary! {
            "Type" => "DSS", "Certs" => vec![cert.into()], "OCSPs" => vec![ocsp.into()],
            "VRI" => dictionary! { "0123ABCD" => vri },
        });
        let cat = edit(inc, ids.root);
        cat.set("Metadata", xmp);
        cat.set("DSS", dss);
        cat.set(
            "Extensions",
            dictionary! { "ESIC" => dictionary! { "BaseVersion" => "1.7", "ExtensionLevel" => 1 } },
        );
        cat.set("Version", "2.0");
    });
    let m = first(&pdf);
    allowed(&m, &["revision 3 updated the document information"]);
    allowed(&m, &["revision 3 updated the XMP metadata"]);
    allowed(
        &m,
        &["revision 3 added or updated the document security store"],
    );

    // A second DSS update keeps the signed entries and adds new ones.
    let again = update(&pdf, |inc, ids| {
        let dss_id = inc
            .get_prev_documents()
            .get_dictionary(ids.root)
            .unwrap()
            .get(b"DSS")
            .unwrap()
            .as_reference()
            .unwrap();
        let crl = inc
            .new_document
            .add_object(Stream::new(dictionary! {}, fake_cms(90)));
        edit(inc, dss_id).set("CRLs", vec![crl.into()]);
    });
    let m = first(&again);
    allowed(&m, &["added or updated the document security store"]);
    // Seal1's check spans both updates.
    assert_eq!(m.later_revisions, 2);
}

// ---- page content ----

#[test]
fn changed_page_content_is_refused_and_named() {
    let pdf = update(&signed(), |inc, ids| {
        rewrite(
            inc,
            ids.contents1,
            dictionary! {},
            b"BT /F1 30 Tf 100 400 Td (PAID) Tj ET",
        );
    });
    let ids = ids(&Document::load_mem(&pdf).unwrap());
    let m = first(&pdf);
    refused(
        &m,
        &[
            &obj(ids.contents1),
            "page 1 /Contents, reached from /Root/Pages/Kids[0]/Contents)",
            "changed (stream content changed) in revision 3",
        ],
    );
}

#[test]
fn a_content_stream_retyped_as_xref_or_objstm_is_not_exempt() {
    let signed = signed();
    let c = ids(&Document::load_mem(&signed).unwrap()).contents1;
    for t in ["XRef", "ObjStm"] {
        let content = b"BT /F1 30 Tf 100 400 Td (PAID) Tj ET";
        let mut body = format!(
            "<</Type/{t}/N 0/First 0/Size 1/W[1 0 0]/Length {}>>\nstream\n",
            content.len()
        )
        .into_bytes();
        body.extend_from_slice(content);
        body.extend_from_slice(b"\nendstream");
        let pdf = raw_update(&signed, &[(c, body)]);
        refused(
            &first(&pdf),
            &[
                "page 1 /Contents",
                &format!("now a /Type /{t} stream"),
                "revision 3",
            ],
        );
    }
}

#[test]
fn a_dangling_reference_filled_after_signing_is_refused() {
    let base = base_with(|doc, ids| {
        let p = doc.get_dictionary_mut(ids.page1).unwrap();
        let c = p.get(b"Contents").unwrap().clone();
        p.set("Contents", vec![c, Object::Reference((99, 0))]);
    });
    let pdf = update(&sign(&base), |inc, _| {
        inc.new_document.objects.insert(
            (99, 0),
            Object::Stream(Stream::new(
                dictionary! {},
                b"BT /F1 30 Tf 100 400 Td (PAID) Tj ET".to_vec(),
            )),
        );
        inc.new_document.max_id = inc.new_document.max_id.max(99);
    });
    refused(
        &first(&pdf),
        &[
            "object 99 0 (page 1 /Contents",
            "Contents[1]",
            "added in revision 3",
        ],
    );
}

// ---- allowed slots re-pointed at page content (Shadow attacks) ----

#[test]
fn dss_over_page_content_is_refused() {
    // In one update: the DSS lists the page content, which is rewritten.
    let pdf = update(&signed(), |inc, ids| {
        let dss = inc
            .new_document
            .add_object(dictionary! { "Certs" => vec![ids.contents1.into()] });
        edit(inc, ids.root).set("DSS", dss);
        rewrite(
            inc,
            ids.contents1,
            dictionary! {},
            b"BT /F1 30 Tf (PAID) Tj ET",
        );
    });
    let ids = ids(&Document::load_mem(&pdf).unwrap());
    let m = first(&pdf);
    refused(&m, &[&obj(ids.contents1), "page 1 /Contents", "revision 3"]);
    refused(
        &m,
        &[&obj(ids.contents1), "existed when signed outside the DSS"],
    );

    // In two: list it first, rewrite it next.
    let step1 = update(&signed(), |inc, ids| {
        let dss = inc
            .new_document
            .add_object(dictionary! { "Certs" => vec![ids.contents1.into()] });
        edit(inc, ids.root).set("DSS", dss);
    });
    let step2 = update(&step1, |inc, ids| {
        rewrite(
            inc,
            ids.contents1,
            dictionary! {},
            b"BT /F1 30 Tf (PAID) Tj ET",
        );
    });
    refused(
        &first(&step2),
        &[
            &obj(ids.contents1),
            "page 1 /Contents",
            "changed",
            "revision 4",
        ],
    );
    // And a DSS with other keys, or entries that are not streams, is refused.
    let odd = update(&signed(), |inc, ids| {
        let x = inc.new_document.add_object(dictionary! { "A" => 1 });
        let dss = inc.new_document.add_object(
            dictionary! { "Certs" => vec![x.into()], "JS" => Object::string_literal("x") },
        );
        edit(inc, ids.root).set("DSS", dss);
    });
    let m = first(&odd);
    refused(&m, &["(DSS, reached from /Root/DSS) holds /JS"]);
    refused(
        &m,
        &["an entry that is not a new stream at /Root/DSS/Certs[0]"],
    );
}

#[test]
fn info_or_metadata_re_pointed_at_page_content_is_refused() {
    // /Info re-pointed at the page content, which the next update rewrites.
    let step1 = update(&signed(), |inc, ids| {
        inc.new_document.trailer.set("Info", ids.contents1);
    });
    let step2 = update(&step1, |inc, ids| {
        rewrite(
            inc,
            ids.contents1,
            dictionary! {},
            b"BT /F1 30 Tf (PAID) Tj ET",
        );
    });
    let m = first(&step2);
    refused(&m, &["the trailer's /Info now names object"]);
    refused(&m, &["page 1 /Contents", "revision 4"]);

    // /Metadata re-pointed at the page content, rewritten next as XMP.
    let step1 = update(&signed(), |inc, ids| {
        edit(inc, ids.root).set("Metadata", ids.contents1);
    });
    let step2 = update(&step1, |inc, ids| {
        rewrite(
            inc,
            ids.contents1,
            dictionary! { "Type" => "Metadata", "Subtype" => "XML" },
            b"BT /F1 30 Tf (PAID) Tj ET",
        );
    });
    let m = first(&step2);
    refused(
        &m,
        &["/Metadata now names object", "which existed when signed"],
    );
    refused(&m, &["page 1 /Contents", "revision 4"]);
}

#[test]
fn an_object_in_an_allowed_slot_and_in_page_content_is_page_content() {
    // Prepared before signing: the XMP stream is also page 1's second content
    // stream; after signing, "updating the metadata" changes the page.
    let base = base_with(|doc, ids| {
        let xmp = doc.add_object(Stream::new(
            dictionary! { "Type" => "Metadata", "Subtype" => "XML" },
            b"% nothing to draw".to_vec(),
        ));
        doc.get_dictionary_mut(ids.root)
            .unwrap()
            .set("Metadata", xmp);
        let p = doc.get_dictionary_mut(ids.page1).unwrap();
        let c = p.get(b"Contents").unwrap().clone();
        p.set("Contents", vec![c, xmp.into()]);
    });
    let pdf = update(&sign(&base), |inc, ids| {
        let xmp = inc
            .get_prev_documents()
            .get_dictionary(ids.root)
            .unwrap()
            .get(b"Metadata")
            .unwrap()
            .as_reference()
            .unwrap();
        rewrite(
            inc,
            xmp,
            dictionary! { "Type" => "Metadata", "Subtype" => "XML" },
            b"BT /F1 30 Tf 100 400 Td (PAID) Tj ET",
        );
    });
    refused(
        &first(&pdf),
        &[
            "(page 1 /Contents, reached from /Root/Pages/Kids[0]/Contents[1]; also XMP metadata from /Root/Metadata)",
            "revision 3",
        ],
    );

    // The AcroForm's /DR shares the page's font: /DR may gain entries, but
    // the shared font is page content.
    let base = base_with(|doc, ids| {
        let form = doc.add_object(dictionary! {
            "Fields" => Vec::<Object>::new(),
            "DR" => dictionary! { "Font" => dictionary! { "Helv" => ids.font } },
        });
        doc.get_dictionary_mut(ids.root)
            .unwrap()
            .set("AcroForm", form);
    });
    let signed = sign(&base);
    let pdf = update(&signed, |inc, ids| {
        *edit(inc, ids.font) = dictionary! {
            "Type" => "Font", "Subtype" => "Type1", "BaseFont" => "Courier",
        };
    });
    let ids = ids(&Document::load_mem(&pdf).unwrap());
    refused(
        &first(&pdf),
        &[
            &obj(ids.font),
            "page 1 /Resources",
            "(/BaseFont changed",
            "in revision 3",
        ],
    );
    // While a new /DR font is fine.
    let pdf = update(&signed, |inc, ids| {
        let f = inc.new_document.add_object(dictionary! {
            "Type" => "Font", "Subtype" => "Type1", "BaseFont" => "Courier",
        });
        let form = edit(inc, ids.acroform.unwrap());
        let dr = form.get_mut(b"DR").unwrap().as_dict_mut().unwrap();
        dr.get_mut(b"Font")
            .unwrap()
            .as_dict_mut()
            .unwrap()
            .set("Cour", f);
    });
    allowed(
        &first(&pdf),
        &["revision 3 added form resources /Font/Cour"],
    );
}

// ---- AcroForm ----

#[test]
fn acroform_changes_beyond_signing_are_refused() {
    let need = update(&signed(), |inc, ids| {
        edit(inc, ids.acroform.unwrap()).set("NeedAppearances", true);
    });
    let ids0 = ids(&Document::load_mem(&need).unwrap());
    refused(
        &first(&need),
        &[
            &obj(ids0.acroform.unwrap()),
            "AcroForm, reached from /Root/AcroForm",
            "(/NeedAppearances added) in revision 3",
        ],
    );
    let xfa = update(&signed(), |inc, ids| {
        let x = inc
            .new_document
            .add_object(Stream::new(dictionary! {}, b"<xdp:xdp/>".to_vec()));
        edit(inc, ids.acroform.unwrap()).set("XFA", x);
    });
    refused(&first(&xfa), &["(/XFA added) in revision 3"]);

    // A replaced AcroForm is compared with the signed one.
    let replaced = update(&signed(), |inc, ids| {
        let old = inc
            .get_prev_documents()
            .get_dictionary(ids.acroform.unwrap())
            .unwrap()
            .clone();
        let mut form = old.clone();
        form.set("NeedAppearances", true);
        let f = inc.new_document.add_object(form);
        edit(inc, ids.root).set("AcroForm", f);
    });
    refused(
        &first(&replaced),
        &["(/NeedAppearances added) in revision 3"],
    );
    // The first field removed: the second signature's check names it (the
    // first signature is no longer listed at all).
    let removed = update(&sign(&signed()), |inc, ids| {
        let form = edit(inc, ids.acroform.unwrap());
        form.get_mut(b"Fields")
            .unwrap()
            .as_array_mut()
            .unwrap()
            .remove(0);
    });
    let sigs = pdf_signatures(&removed).unwrap();
    assert_eq!(sigs.len(), 1);
    refused(
        &modifications_after(&removed, &sigs[0]).unwrap(),
        &["field object", "removed) in revision 4"],
    );

    // A direct AcroForm (signed that way) is compared too.
    let base = base_with(|doc, ids| {
        doc.get_dictionary_mut(ids.root)
            .unwrap()
            .set("AcroForm", dictionary! { "Fields" => Vec::<Object>::new() });
    });
    let signed = sign(&base);
    allowed(&first(&sign(&signed)), &["added signature field Seal2"]);
    let pdf = update(&signed, |inc, ids| {
        let cat = edit(inc, ids.root);
        cat.get_mut(b"AcroForm")
            .unwrap()
            .as_dict_mut()
            .unwrap()
            .set("NeedAppearances", true);
    });
    refused(
        &first(&pdf),
        &[
            "catalogue /AcroForm, reached from /Root/AcroForm",
            "(/NeedAppearances added)",
        ],
    );
}

// ---- catalogue and trailer ----

#[test]
fn catalogue_and_trailer_changes_are_refused() {
    let js = update(&signed(), |inc, ids| {
        let action = inc.new_document.add_object(dictionary! {
            "S" => "JavaScript", "JS" => Object::string_literal("app.alert(1)"),
        });
        let cat = edit(inc, ids.root);
        cat.set("OpenAction", action);
        cat.set(
            "Names",
            dictionary! { "JavaScript" => dictionary! { "Names" => vec![Object::string_literal("a"), action.into()] } },
        );
    });
    let root = ids(&Document::load_mem(&js).unwrap()).root;
    let m = first(&js);
    refused(
        &m,
        &[
            &obj(root),
            "catalogue, reached from /Root",
            "(/OpenAction added) in revision 3",
        ],
    );
    refused(&m, &["(/Names added) in revision 3"]);

    let perms = update(&signed(), |inc, ids| {
        edit(inc, ids.root).set("Perms", dictionary! {});
    });
    refused(&first(&perms), &["(/Perms added)"]);

    let extra = update(&signed(), |inc, _| {
        inc.new_document.trailer.set("Evil", 1);
    });
    refused(
        &first(&extra),
        &["the trailer's /Evil was added in the final trailer"],
    );

    let replaced = update(&signed(), |inc, ids| {
        let cat = inc
            .get_prev_documents()
            .get_dictionary(ids.root)
            .unwrap()
            .clone();
        let c = inc.new_document.add_object(cat);
        inc.new_document.trailer.set("Root", c);
    });
    refused(&first(&replaced), &["the catalogue was replaced"]);

    // Bytes after the last %%EOF.
    let mut junk = signed();
    junk.extend_from_slice(b"\n9 0 obj (x) endobj\n");
    refused(&first(&junk), &["bytes after the last %%EOF"]);
}

// ---- annotations and signature fields ----

fn free_text(inc: &mut IncrementalDocument) -> ObjectId {
    inc.new_document.add_object(dictionary! {
        "Type" => "Annot", "Subtype" => "FreeText",
        "Rect" => vec![0.into(), 0.into(), 595.into(), 842.into()],
        "Contents" => Object::string_literal("PAID"), "DA" => Object::string_literal("/Helv 40 Tf"),
    })
}

#[test]
fn annotations_only_under_the_policy() {
    let pdf = update(&signed(), |inc, ids| {
        let a = free_text(inc);
        add_annot(inc, ids, a);
    });
    let m = first(&pdf);
    refused(
        &m,
        &[
            "(annotation, reached from /Root/Pages/Kids[0]/Annots[1])",
            "added to page 1 /Annots in revision 3: a /FreeText annotation; annotations added after signing are not allowed",
        ],
    );
    let m = first_with(
        &pdf,
        &PdfChangePolicy {
            allow_annotations: true,
        },
    );
    assert!(m.allowed, "{m:#?}");
    assert!(
        m.warnings
            .iter()
            .any(|w| w.contains("revision 3 added a /FreeText annotation")),
        "{m:#?}"
    );

    // Removing or altering an annotation that was signed is refused under any policy.
    let removed = update(&signed(), |inc, ids| {
        edit(inc, ids.page1).set("Annots", Vec::<Object>::new());
    });
    refused(
        &first(&removed),
        &["annotation object", "removed) in revision 3"],
    );
    let moved = update(&signed(), |inc, ids| {
        edit(inc, ids.widget.unwrap())
            .set("Rect", vec![0.into(), 0.into(), 595.into(), 842.into()]);
    });
    let w = ids(&Document::load_mem(&moved).unwrap()).widget.unwrap();
    refused(
        &first_with(
            &moved,
            &PdfChangePolicy {
                allow_annotations: true,
            },
        ),
        &[&obj(w), "(/Rect changed) in revision 3"],
    );
}

#[test]
fn signature_fields_must_hold_a_listed_signature() {
    // No /V.
    let pdf = update(&signed(), |inc, ids| {
        new_sig_field(inc, ids, "Empty", None);
    });
    refused(
        &first(&pdf),
        &[
            "signature field Empty",
            "added in revision 3: a signature field without a value (/V)",
        ],
    );
    // /FT /Sig with a /V, but not in the AcroForm: pdf_signatures does not list it.
    let pdf = update(&signed(), |inc, ids| {
        let v = inc.new_document.add_object(sig_value("Sig"));
        let w = inc.new_document.add_object(dictionary! {
            "Type" => "Annot", "Subtype" => "Widget", "FT" => "Sig", "V" => v,
            "Rect" => vec![0.into(), 0.into(), 595.into(), 842.into()], "P" => ids.page1,
        });
        add_annot(inc, ids, w);
    });
    refused(
        &first(&pdf),
        &[
            "signature widget on page 1",
            "without a listed signature value",
        ],
    );
    // /V pointing at the first signature's dictionary.
    let pdf = update(&signed(), |inc, ids| {
        let old_v = inc
            .get_prev_documents()
            .get_dictionary(ids.widget.unwrap())
            .unwrap()
            .get(b"V")
            .unwrap()
            .clone();
        let w = inc.new_document.add_object(dictionary! {
            "Type" => "Annot", "Subtype" => "Widget", "FT" => "Sig", "V" => old_v,
            "T" => Object::string_literal("Copy"),
            "Rect" => vec![0.into(), 0.into(), 0.into(), 0.into()], "P" => ids.page1,
        });
        add_annot(inc, ids, w);
        add_field(inc, ids, w);
    });
    refused(
        &first(&pdf),
        &["signature dictionary that existed when signed"],
    );
    // A document time stamp is a signature field like any other.
    let pdf = update(&signed(), |inc, ids| {
        new_sig_field(inc, ids, "TS", Some(sig_value("DocTimeStamp")));
    });
    allowed(
        &first(&pdf),
        &["revision 3 added document time stamp field TS"],
    );
}

#[test]
fn an_empty_signature_field_may_be_signed_and_only_that() {
    // Signed with an empty signature field "Later" on page 1.
    let base = base_with(|doc, ids| {
        let w = doc.add_object(dictionary! {
            "Type" => "Annot", "Subtype" => "Widget", "FT" => "Sig",
            "T" => Object::string_literal("Later"),
            "Rect" => vec![300.into(), 100.into(), 400.into(), 150.into()], "P" => ids.page1,
        });
        doc.get_dictionary_mut(ids.page1)
            .unwrap()
            .set("Annots", vec![w.into()]);
        let form = doc.add_object(dictionary! { "Fields" => vec![w.into()] });
        doc.get_dictionary_mut(ids.root)
            .unwrap()
            .set("AcroForm", form);
    });
    let signed = sign(&base);
    let later = |inc: &IncrementalDocument| -> ObjectId {
        let doc = inc.get_prev_documents();
        let form = doc
            .get_dictionary(
                doc.catalog()
                    .unwrap()
                    .get(b"AcroForm")
                    .unwrap()
                    .as_reference()
                    .unwrap(),
            )
            .unwrap();
        form.get(b"Fields").unwrap().as_array().unwrap()[0]
            .as_reference()
            .unwrap()
    };
    let ap = |inc: &mut IncrementalDocument| -> Object {
        let f = inc.new_document.add_object(Stream::new(
            dictionary! { "Type" => "XObject", "Subtype" => "Form", "BBox" => vec![0.into(), 0.into(), 100.into(), 50.into()] },
            b"0 0 1 rg 0 0 100 50 re f".to_vec(),
        ));
        Object::Dictionary(dictionary! { "N" => f })
    };
    let filled = update(&signed, |inc, _| {
        let f = later(inc);
        let v = inc.new_document.add_object(sig_value("Sig"));
        let a = ap(inc);
        let d = edit(inc, f);
        d.set("V", v);
        d.set("AP", a);
    });
    allowed(
        &first(&filled),
        &["revision 3 signed the empty signature field Later"],
    );
    // An appearance without a signature: refused.
    let painted = update(&signed, |inc, _| {
        let f = later(inc);
        let a = ap(inc);
        edit(inc, f).set("AP", a);
    });
    refused(
        &first(&painted),
        &[
            "empty signature field Later",
            "revision 3: without a signature value (/V)",
        ],
    );
    // Moving it while signing: refused.
    let moved = update(&signed, |inc, _| {
        let f = later(inc);
        let v = inc.new_document.add_object(sig_value("Sig"));
        let d = edit(inc, f);
        d.set("V", v);
        d.set("Rect", vec![0.into(), 0.into(), 595.into(), 842.into()]);
    });
    refused(
        &first(&moved),
        &["empty signature field Later", "(/Rect changed)"],
    );
}

// ---- certification (DocMDP) ----

/// `pdf` with a certification signature of level `p` added as a revision
/// (a stand-in CMS; the byte range reaches the end of that revision).
fn certify(pdf: &[u8], p: i64) -> Vec<u8> {
    const PLACEHOLDER: &[u8] = b"[0 0 0 9999999999]";
    let mut out = update(pdf, |inc, ids| {
        let v = inc.new_document.add_object(dictionary! {
            "Type" => "Sig", "Filter" => "Adobe.PPKLite", "SubFilter" => "ETSI.CAdES.detached",
            "ByteRange" => vec![0.into(), 0.into(), 0.into(), Object::Integer(9_999_999_999)],
            "Contents" => Object::String(fake_cms(64), lopdf::StringFormat::Hexadecimal),
            "Reference" => vec![Object::Dictionary(dictionary! {
                "Type" => "SigRef", "TransformMethod" => "DocMDP",
                "TransformParams" => dictionary! { "Type" => "TransformParams", "P" => p, "V" => "1.2" },
            })],
        });
        let w = inc.new_document.add_object(dictionary! {
            "Type" => "Annot", "Subtype" => "Widget", "FT" => "Sig", "V" => v,
            "T" => Object::string_literal("Certify"),
            "Rect" => vec![0.into(), 0.into(), 0.into(), 0.into()], "F" => 132, "P" => ids.page1,
        });
        add_annot(inc, ids, w);
        let form = inc
            .new_document
            .add_object(dictionary! { "Fields" => vec![w.into()], "SigFlags" => 3 });
        let cat = edit(inc, ids.root);
        cat.set("AcroForm", form);
        cat.set("Perms", dictionary! { "DocMDP" => v });
    });
    let at = out
        .windows(PLACEHOLDER.len())
        .rposition(|w| w == PLACEHOLDER)
        .unwrap();
    let end = format!("[0 0 0 {:010}]", out.len());
    out[at..at + PLACEHOLDER.len()].copy_from_slice(end.as_bytes());
    out
}

/// The certification signature's check.
fn certified_check(pdf: &[u8], policy: &PdfChangePolicy) -> ModificationCheck {
    let sigs = pdf_signatures(pdf).unwrap();
    let cert = sigs.iter().find(|s| s.field_name == "Certify").unwrap();
    assert_eq!(cert.revision, 2, "{cert:?}");
    modifications_after_with(pdf, cert, policy).unwrap()
}

#[test]
fn docmdp_levels_are_enforced() {
    let allow = PdfChangePolicy {
        allow_annotations: true,
    };
    let annotate = |pdf: &[u8]| {
        update(pdf, |inc, ids| {
            let a = free_text(inc);
            add_annot(inc, ids, a);
        })
    };
    let time_stamp = |pdf: &[u8]| {
        update(pdf, |inc, ids| {
            new_sig_field(inc, ids, "TS", Some(sig_value("DocTimeStamp")));
        })
    };
    // P=1: a signature is refused; a document time stamp is fine.
    let p1 = certify(&base_pdf(false), 1);
    let m = certified_check(&sign(&p1), &allow);
    refused(
        &m,
        &[
            "signature field Seal1",
            "revision 3",
            "DocMDP P=1) allows only document time stamps",
        ],
    );
    assert_eq!(m.certification.as_ref().map(|c| c.level), Some(1));
    assert_eq!(
        m.certification.as_ref().map(|c| c.field_name.as_str()),
        Some("Certify")
    );
    allowed(
        &certified_check(&time_stamp(&p1), &allow),
        &["added document time stamp field TS"],
    );
    // A signature after the time stamp is still refused by the
    // certification's check.
    let ts_then_sig = sign(&time_stamp(&p1));
    let sigs = pdf_signatures(&ts_then_sig).unwrap();
    assert!(sigs.iter().any(|s| s.field_name == "TS"));
    refused(
        &certified_check(&ts_then_sig, &allow),
        &["signature field Seal1", "DocMDP P=1"],
    );
    // P=2: signing is fine, annotations are not even when the policy allows them.
    let p2 = certify(&base_pdf(false), 2);
    allowed(
        &certified_check(&sign(&p2), &allow),
        &["revision 3 added signature field Seal1"],
    );
    refused(
        &certified_check(&annotate(&p2), &allow),
        &["the certification (DocMDP P=2) allows no annotations"],
    );
    // P=3: annotations when the policy allows them.
    let p3 = certify(&base_pdf(false), 3);
    let m = certified_check(&annotate(&p3), &allow);
    assert!(m.allowed, "{m:#?}");
    assert!(!m.warnings.is_empty(), "{m:#?}");
    refused(
        &certified_check(&annotate(&p3), &PdfChangePolicy::default()),
        &["annotations added after signing are not allowed"],
    );
}

// ---- limits ----

#[test]
fn too_many_revisions_are_refused_with_a_clear_error() {
    let mut pdf = signed();
    for i in 0..MAX_PDF_REVISIONS {
        pdf = update(&pdf, |inc, _| {
            inc.new_document.add_object(dictionary! { "N" => i as i64 });
        });
    }
    let sigs = pdf_signatures(&pdf).unwrap();
    let e = modifications_after(&pdf, &sigs[0]).unwrap_err().to_string();
    assert!(
        e.contains("revisions") && e.contains(&MAX_PDF_REVISIONS.to_string()),
        "{e}"
    );
}

// ---- pyHanko as the other signer ----

fn p256_signer(dir: &Path) {
    yinzheng_tests::openssl_ok(
        dir,
        &[
            "ecparam",
            "-name",
            "prime256v1",
            "-genkey",
            "-noout",
            "-out",
            "k.pem",
        ],
    );
    yinzheng_tests::openssl_ok(
        dir,
        &[
            "req",
            "-new",
            "-x509",
            "-key",
            "k.pem",
            "-out",
            "c.pem",
            "-days",
            "30",
            "-subj",
            "/CN=PDF Test Signer",
            "-addext",
            "keyUsage=critical,digitalSignature,nonRepudiation",
        ],
    );
}

fn pyhanko(dir: &Path, args: &[&str]) {
    yinzheng_tests::run_ok(&yinzheng_tests::pyhanko(), dir, args);
}

#[yinzheng_tests::peer_test(openssl, pyhanko)]
fn pyhanko_certification_signatures_and_ltv_data_pass() {
    let dir = yinzheng_tests::tempdir();
    let d = dir.path();
    p256_signer(d);
    let key = ["pemder", "--key", "k.pem", "--cert", "c.pem", "--no-pass"];

    // pyHanko certifies (P=2); we sign on top: allowed, certification reported.
    std::fs::write(d.join("in.pdf"), base_pdf(false)).unwrap();
    let mut args = vec![
        "sign",
        "addsig",
        "--use-pades",
        "--certify",
        "--field",
        "1/60,500,180,620/Cert",
    ];
    args.extend(key);
    args.extend(["in.pdf", "cert.pdf"]);
    pyhanko(d, &args);
    let certified = std::fs::read(d.join("cert.pdf")).unwrap();
    let ours = sign(&certified);
    let m = first(&ours);
    allowed(&m, &["added signature field Seal1"]);
    assert_eq!(m.certification.map(|c| c.level), Some(2));
    // An annotation on it: refused (P=2) even when the policy allows them.
    let annotated = update(&certified, |inc, ids| {
        let a = free_text(inc);
        add_annot(inc, ids, a);
    });
    refused(
        &first_with(
            &annotated,
            &PdfChangePolicy {
                allow_annotations: true,
            },
        ),
        &["DocMDP P=2) allows no annotations"],
    );

    // pyHanko signs our signed file, then adds LTV data (a DSS, ESIC
    // extension, /Info and XMP updates, object and xref streams).
    // (Our signature is a real one: ltvfix reads every signature's CMS.)
    let s = signer(KeyAlgorithm::EcdsaP256);
    let sealer = PdfSealer {
        signer: &s.key,
        certificate: s.cert.der(),
        chain: vec![s.issuing.der().to_vec()],
        seal: None,
        tsa: None,
    };
    let opts = PdfStampOptions::new(time::OffsetDateTime::now_utc());
    let ours = seal_pdf(&base_pdf(false), &opts, &sealer).unwrap();
    std::fs::write(d.join("ours.pdf"), ours).unwrap();
    let mut args = vec![
        "sign",
        "addsig",
        "--use-pades",
        "--field",
        "2/60,500,180,620/Theirs",
    ];
    args.extend(key);
    args.extend(["ours.pdf", "theirs.pdf"]);
    pyhanko(d, &args);
    pyhanko(
        d,
        &[
            "sign",
            "ltvfix",
            "--field",
            "Theirs",
            "--trust",
            "c.pem",
            "theirs.pdf",
        ],
    );
    let ltv = std::fs::read(d.join("theirs.pdf")).unwrap();
    let sigs = pdf_signatures(&ltv).unwrap();
    assert_eq!(sigs.len(), 2);
    let m = modifications_after(&ltv, &sigs[0]).unwrap();
    allowed(&m, &["revision 3 added signature field Theirs"]);
    allowed(
        &m,
        &["revision 4 added or updated the document security store"],
    );
    let m = modifications_after(&ltv, &sigs[1]).unwrap();
    allowed(
        &m,
        &["revision 4 added or updated the document security store"],
    );
    // The same file with page content changed on top fails for both.
    let bad = update(&ltv, |inc, ids| {
        rewrite(
            inc,
            ids.contents1,
            dictionary! {},
            b"BT /F1 30 Tf (PAID) Tj ET",
        );
    });
    let sigs = pdf_signatures(&bad).unwrap();
    for s in &sigs {
        refused(
            &modifications_after(&bad, s).unwrap(),
            &["page 1 /Contents", "revision 5"],
        );
    }
}

// ---- through verify_pdf_with, with real signatures ----

struct Signer {
    _dir: tempfile::TempDir,
    validator: Validator,
    issuing: ParsedCert,
    key: PrivateKey,
    cert: ParsedCert,
}

fn signer(alg: KeyAlgorithm) -> Signer {
    let dir = yinzheng_tests::tempdir();
    let mut opts = InitOptions::new("CN=Changes Test Root CA,O=Yinzheng,C=CN");
    opts.key_algorithm = alg;
    opts.key_encryption = KeyEncryption::default().with_iterations(1000);
    let mut domain = TrustDomain::init_in(
        &dir.path().join("pki"),
        &yinzheng_tests::store_backend(&dir.path().join("pki")),
        &opts,
        b"pw",
    )
    .unwrap();
    let i = domain
        .issue(IssueRequest {
            profile: "seal-signer",
            subject: Some("CN=Example Org,O=Example Org,C=CN"),
            extras: SubjectExtras {
                uscc: Some("91350100M000100Y43".into()),
                ..Default::default()
            },
            key: KeySource::Generate,
            not_before: None,
            days: None,
            issuer: None,
        })
        .unwrap();
    let validator = Validator::new(vec![domain.root().clone()]).with_crls(domain.crl(24).unwrap());
    Signer {
        _dir: dir,
        validator,
        issuing: domain.issuing().clone(),
        key: i.key.unwrap(),
        cert: i.cert,
    }
}

#[test]
fn verify_pdf_with_reports_allowed_and_refused_changes_p256_and_sm2() {
    for alg in [KeyAlgorithm::EcdsaP256, KeyAlgorithm::Sm2] {
        let s = signer(alg);
        let sealer = PdfSealer {
            signer: &s.key,
            certificate: s.cert.der(),
            chain: vec![s.issuing.der().to_vec()],
            seal: None,
            tsa: None,
        };
        let opts = PdfStampOptions::new(time::OffsetDateTime::now_utc());
        let one = seal_pdf(&base_pdf(false), &opts, &sealer).unwrap();
        let two = seal_pdf(&one, &opts, &sealer).unwrap();
        let inter = [s.issuing.clone()];
        let ctx = CmsVerifyContext {
            validator: &s.validator,
            intermediates: &inter,
            makers: MakerTrust::Policy,
            registry: None,
            sm2_id: None,
            deadline: None,
        };
        let policy = PdfChangePolicy::default();
        let r = verify_pdf_with(&two, &ctx, &policy, None).unwrap();
        assert!(r.passed(), "{alg:?}: {r}");
        assert!(
            r.checks().iter().any(|c| c.id == "coverage"
                && c.message.contains("revision 3 added signature field Seal2")),
            "{alg:?}: {r}"
        );

        // The attacker changes page 1 after the second seal.
        let bad = update(&two, |inc, ids| {
            rewrite(
                inc,
                ids.contents1,
                dictionary! {},
                b"BT /F1 30 Tf (PAID) Tj ET",
            );
        });
        let r = verify_pdf_with(&bad, &ctx, &policy, None).unwrap();
        assert_eq!(r.indication(), Indication::TotalFailed, "{alg:?}: {r}");
        assert_eq!(
            r.sub_indication(),
            Some(SubIndication::SigConstraintsFailure),
            "{alg:?}: {r}"
        );
        let ids = ids(&Document::load_mem(&bad).unwrap());
        let fails: Vec<_> = r
            .checks()
            .iter()
            .filter(|c| c.id == "coverage" && c.message.contains(&obj(ids.contents1)))
            .collect();
        assert_eq!(fails.len(), 2, "{alg:?}: both seals name the change: {r}");
        assert!(
            fails[0]
                .message
                .contains("changed (stream content changed) in revision 4")
        );

        // An annotation: refused by default, a warning when the policy allows it.
        let annotated = update(&two, |inc, ids| {
            let a = free_text(inc);
            add_annot(inc, ids, a);
        });
        let r = verify_pdf_with(&annotated, &ctx, &policy, None).unwrap();
        assert_eq!(r.indication(), Indication::TotalFailed, "{alg:?}: {r}");
        let allow = PdfChangePolicy {
            allow_annotations: true,
        };
        let r = verify_pdf_with(&annotated, &ctx, &allow, None).unwrap();
        assert!(r.passed(), "{alg:?}: {r}");
        assert!(
            r.checks()
                .iter()
                .any(|c| c.id == "coverage" && c.message.contains("added a /FreeText annotation")),
            "{alg:?}: {r}"
        );
    }
}
