//! The verifier reads a signed PDF in part: from its trailer and
//! cross-reference data, only the objects that lead to the signature fields,
//! their values, the page tree and `/Perms` (issue 21: no full parse on the hot
//! path). Whatever it reads that way must list exactly what the file parsed
//! whole lists — signatures, byte ranges, `/Contents`, fields, DocMDP, page
//! numbers — and a file it cannot read that way exactly must be parsed whole.
//! Each sealed PDF here is checked as is (it must take the partial road) and in
//! hundreds of mutated forms: truncated, bytes flipped, offsets and numbers in
//! the cross-reference data edited, spans deleted, references re-pointed, page
//! tree kids repeated. The `pdf_signatures` fuzz target checks the same
//! property on what the fuzzer finds.

mod pdf_util;

use pdf_util::*;
use yinzheng_document::{PdfStampOptions, pdf_reading, stamp_pdf};

fn stamp(pdf: &[u8], opts: &PdfStampOptions) -> Vec<u8> {
    stamp_pdf(pdf, opts, &mut |_p: [&[u8]; 2]| Ok(fake_cms(300))).expect("stamps")
}

/// How one file was read, after checking both roads agree.
#[derive(Debug, PartialEq)]
enum Road {
    InPart,
    Whole,
}

fn check_both_roads(pdf: &[u8], what: &str) -> Road {
    let Some(in_part) = pdf_reading::in_part(pdf) else {
        return Road::Whole;
    };
    let whole = pdf_reading::whole(pdf);
    match (&in_part, &whole) {
        (Ok(a), Ok(b)) => assert_eq!(a, b, "{what}: read in part and parsed whole differ"),
        (Err(_), Err(_)) => {}
        // The whole parse may fail on what the partial read never touches
        // (a decompression bomb or a parser failure in an object nothing
        // leads to): not a different listing.
        (Ok(_), Err(_)) => {}
        _ => panic!("{what}: read in part {in_part:?}, parsed whole {whole:?}"),
    }
    Road::InPart
}

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// Offsets of every `N G R` reference's first digit.
fn references(pdf: &[u8]) -> Vec<usize> {
    let mut out = Vec::new();
    for (i, w) in pdf.windows(3).enumerate() {
        if w[0].is_ascii_digit() && w[1] == b' ' && w[2].is_ascii_digit() {
            let rest = &pdf[i + 2..];
            let digits = rest.iter().take_while(|b| b.is_ascii_digit()).count();
            if rest.get(digits..digits + 2) == Some(b" R") {
                let mut start = i;
                while start > 0 && pdf[start - 1].is_ascii_digit() {
                    start -= 1;
                }
                out.push(start);
            }
        }
    }
    out
}

/// `n` mutated copies of `pdf`, each checked on both roads; how many took the
/// partial road.
fn mutate_and_check(pdf: &[u8], seed: u64, n: usize, name: &str) -> usize {
    let mut rng = Rng(seed);
    let refs = references(pdf);
    let tail = pdf.len().saturating_sub(3000);
    let mut in_part = 0;
    for i in 0..n {
        let mut m = pdf.to_vec();
        let kind = i % 7;
        match kind {
            0 => m.truncate(tail + rng.below(pdf.len() - tail)),
            1 => {
                for _ in 0..1 + rng.below(4) {
                    let at = rng.below(m.len());
                    m[at] = rng.next() as u8;
                }
            }
            2 => {
                // Digits near the end: the cross-reference offsets, /Prev,
                // startxref, the last revision's numbers.
                for _ in 0..1 + rng.below(2) {
                    let at = tail + rng.below(pdf.len() - tail);
                    if m[at].is_ascii_digit() {
                        m[at] = b'0' + (rng.next() % 10) as u8;
                    }
                }
            }
            3 => {
                let at = rng.below(m.len());
                let len = (1 + rng.below(48)).min(m.len() - at);
                m.drain(at..at + len);
            }
            4 | 5 if !refs.is_empty() => {
                // Re-point a reference at another object number (same width,
                // so no offset moves).
                let at = refs[rng.below(refs.len())];
                m[at] = b'1' + (rng.next() % 9) as u8;
            }
            _ => {
                // Repeat a page tree kid: `/Kids [a b]` → `/Kids [a a]`-like
                // by copying a reference over its neighbour of equal width.
                if let Some(k) = find(&m, b"/Kids") {
                    let list = &refs
                        .iter()
                        .copied()
                        .filter(|&r| r > k && r < k + 64)
                        .collect::<Vec<_>>();
                    if list.len() >= 2 {
                        let (a, b) = (list[0], list[1]);
                        let wa = m[a..].iter().take_while(|c| c.is_ascii_digit()).count();
                        let wb = m[b..].iter().take_while(|c| c.is_ascii_digit()).count();
                        if wa == wb {
                            let src = m[a..a + wa].to_vec();
                            m[b..b + wb].copy_from_slice(&src);
                        }
                    }
                }
            }
        }
        if check_both_roads(&m, &format!("{name}, mutation {i} (kind {kind})")) == Road::InPart {
            in_part += 1;
        }
    }
    in_part
}

/// `pdf` saved again whole with every value the signature listing reads made
/// indirect — the form's `/Fields`, each page's `/Annots`, the signature
/// value's `/Contents`, `/ByteRange`, `/M`, `/Name`, `/Reason`, `/Location`,
/// and a DocMDP `/Reference` with indirect `/TransformParams` named by
/// `/Perms` — and the widget's `/P` removed (its page is found through the
/// `/Annots`), so each entry the partial road follows is needed here.
fn every_value_indirect(pdf: &[u8]) -> Vec<u8> {
    use lopdf::{Dictionary, Document, Object, dictionary};
    let mut doc = Document::load_mem(pdf).expect("parses");
    let indirect = |doc: &mut Document, id: lopdf::ObjectId, key: &[u8]| {
        let value = doc
            .get_dictionary(id)
            .expect("dictionary")
            .get(key)
            .expect("entry")
            .clone();
        let moved = doc.add_object(value);
        doc.get_dictionary_mut(id)
            .expect("dictionary")
            .set(key, Object::Reference(moved));
    };
    let root = doc
        .trailer
        .get(b"Root")
        .and_then(Object::as_reference)
        .expect("root");
    let form = doc
        .get_dictionary(root)
        .and_then(|c| c.get(b"AcroForm"))
        .and_then(Object::as_reference)
        .expect("an indirect /AcroForm");
    let field = doc
        .get_dictionary(form)
        .and_then(|f| f.get(b"Fields"))
        .and_then(Object::as_array)
        .expect("fields")[0]
        .as_reference()
        .expect("an indirect field");
    let value = doc
        .get_dictionary(field)
        .and_then(|f| f.get(b"V"))
        .and_then(Object::as_reference)
        .expect("an indirect /V");
    indirect(&mut doc, form, b"Fields");
    // The widget's page is then found through the page's /Annots.
    doc.get_dictionary_mut(field)
        .expect("field")
        .remove(b"P")
        .expect("the widget names its page");
    for key in [
        &b"Contents"[..],
        b"ByteRange",
        b"M",
        b"Name",
        b"Reason",
        b"Location",
    ] {
        indirect(&mut doc, value, key);
    }
    let params =
        doc.add_object(dictionary! { "Type" => "TransformParams", "P" => 1, "V" => "1.2" });
    let reference: Dictionary = dictionary! {
        "Type" => "SigRef", "TransformMethod" => "DocMDP", "TransformParams" => params,
    };
    let refs = doc.add_object(Object::Array(vec![Object::Dictionary(reference)]));
    doc.get_dictionary_mut(value)
        .expect("value")
        .set("Reference", refs);
    let perms = doc.add_object(dictionary! { "DocMDP" => value });
    doc.get_dictionary_mut(root)
        .expect("catalog")
        .set("Perms", perms);
    let pages: Vec<_> = doc.get_pages().into_values().collect();
    for page in pages {
        if doc.get_dictionary(page).is_ok_and(|p| p.has(b"Annots")) {
            indirect(&mut doc, page, b"Annots");
        }
    }
    let mut out = Vec::new();
    doc.save_to(&mut out).expect("saves");
    out
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

#[test]
fn sealed_pdfs_read_in_part_list_what_the_whole_file_lists() {
    let png = seal_png();
    let once = stamp(&base_pdf(false), &visible(1, 20.0, 30.0, &png));
    let cjk_once = stamp(&base_pdf(true), &visible(2, 60.0, 90.0, &png));
    let twice = stamp(
        &cjk_once,
        &PdfStampOptions::new(time::macros::datetime!(2026-11-23 11:00:00 +08:00)),
    );
    let seed = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../fuzz/seeds/pdf_signatures/notice-sealed.pdf"
    ))
    .expect("the fuzz seed");
    let indirect = every_value_indirect(&once);
    let bases: [(&str, &[u8]); 5] = [
        ("one seal", &once),
        ("one seal, every value indirect", &indirect),
        ("one seal, CJK page", &cjk_once),
        ("two seals", &twice),
        ("the fuzz seed (a sealed notice)", &seed),
    ];
    for (k, (name, pdf)) in bases.iter().enumerate() {
        // Untouched, every one takes the partial road, and lists its seals.
        assert_eq!(check_both_roads(pdf, name), Road::InPart, "{name}");
        let listed = pdf_reading::in_part(pdf)
            .expect("read in part")
            .expect("listed");
        assert!(!listed.signatures.is_empty(), "{name}: no signature listed");
        assert!(!listed.pages.is_empty(), "{name}: no page numbered");
        assert!(
            listed.signatures.iter().all(|s| s.page.is_some()),
            "{name}: a seal's page not found"
        );
        let n = 350;
        let in_part = mutate_and_check(pdf, 0x9E37_79B9_7F4A_7C15 ^ k as u64, n, name);
        // Enough mutants take the partial road for the comparison to mean
        // something (most damage elsewhere in the file leaves it readable).
        assert!(
            in_part * 5 >= n,
            "{name}: only {in_part} of {n} mutants were read in part"
        );
    }
}

#[yinzheng_tests::peer_test(qpdf)]
fn sealed_pdfs_with_object_streams_read_in_part_list_what_the_whole_file_lists() {
    let dir = yinzheng_tests::tempdir();
    let png = seal_png();
    let base = with_object_streams(dir.path(), &base_pdf(true));
    let once = stamp(&base, &visible(1, 20.0, 30.0, &png));
    assert_eq!(check_both_roads(&once, "object streams"), Road::InPart);
    let in_part = mutate_and_check(&once, 7, 350, "object streams");
    assert!(
        in_part * 5 >= 350,
        "only {in_part} of 350 mutants were read in part"
    );
}

#[test]
fn a_field_tree_nested_deep_in_direct_objects_is_read_in_part_the_same() {
    use lopdf::{Document, Object, dictionary};
    let once = stamp(&base_pdf(false), &visible(1, 20.0, 30.0, &seal_png()));
    let mut doc = Document::load_mem(&once).expect("parses");
    let root = doc
        .trailer
        .get(b"Root")
        .and_then(Object::as_reference)
        .expect("root");
    let form = doc
        .get_dictionary(root)
        .and_then(|c| c.get(b"AcroForm"))
        .and_then(Object::as_reference)
        .expect("form");
    let field = doc
        .get_dictionary(form)
        .expect("form")
        .get(b"Fields")
        .expect("fields")
        .clone();
    // Forty levels of direct parent fields above the signature field: far
    // deeper than any real form, within what the parser reads.
    let mut node =
        Object::Dictionary(dictionary! { "T" => Object::string_literal("n19"), "Kids" => field });
    for level in (0..19).rev() {
        node = Object::Dictionary(dictionary! {
            "T" => Object::string_literal(format!("n{level}")),
            "Kids" => vec![node],
        });
    }
    doc.get_dictionary_mut(form)
        .expect("form")
        .set("Fields", vec![node]);
    let mut deep = Vec::new();
    doc.save_to(&mut deep).expect("saves");
    assert_eq!(check_both_roads(&deep, "deep field tree"), Road::InPart);
    let listed = pdf_reading::whole(&deep).expect("listed");
    assert_eq!(listed.signatures.len(), 1);
    assert!(listed.signatures[0].field_name.starts_with("n0.n1.n2."));
}

#[test]
fn a_container_not_typed_as_an_object_stream_is_read_whole() {
    use lopdf::{Document, SaveOptions};
    let once = stamp(&base_pdf(false), &visible(1, 20.0, 30.0, &seal_png()));
    let mut doc = Document::load_mem(&once).expect("parses");
    let mut packed = Vec::new();
    doc.save_with_options(
        &mut packed,
        SaveOptions::builder()
            .use_object_streams(true)
            .use_xref_streams(true)
            .build(),
    )
    .expect("saves with object streams");
    assert_eq!(check_both_roads(&packed, "object streams"), Road::InPart);
    let typed = [&b"/Type/ObjStm"[..], b"/Type /ObjStm"]
        .into_iter()
        .find(|t| find(&packed, t).is_some())
        .expect("an object stream");
    // The same length, so nothing moves: the container loses its /Type, and a
    // full parse no longer unpacks it.
    let mut untyped = packed.clone();
    let at = find(&untyped, typed).expect("found");
    untyped[at + 3] = b'q';
    assert_eq!(check_both_roads(&untyped, "untyped container"), Road::Whole);
}
