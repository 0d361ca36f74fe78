//! Malformed PDFs give errors or reports, never panics: a cheap stand-in for
//! the `pdf_signatures` fuzz target that runs with the tests.

mod pdf_util;

use pdf_util::*;
use yinzheng_document::{
    PdfStampOptions, modifications_after, pdf_signatures, signed_ranges, stamp_pdf,
};

#[test]
fn mutated_signed_pdfs_do_not_panic() {
    let base = base_pdf(false);
    let opts = PdfStampOptions::new(time::macros::datetime!(2026-11-23 10:00:00 +08:00));
    let once = stamp_pdf(&base, &opts, &mut |_p: [&[u8]; 2]| Ok(fake_cms(200))).expect("stamps");
    let twice = stamp_pdf(&once, &opts, &mut |_p: [&[u8]; 2]| Ok(fake_cms(200))).expect("stamps");
    let sig_at = twice.len() - 4000;
    let mut seed = 0x9E37_79B9_7F4A_7C15u64;
    let mut next = || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    for i in 0..300 {
        let mut m = twice.clone();
        match i % 4 {
            0 => m.truncate(next() as usize % m.len()),
            1 => {
                for _ in 0..4 {
                    let at = next() as usize % m.len();
                    m[at] = next() as u8;
                }
            }
            2 => {
                // Digits in the last revision (offsets, lengths, byte ranges).
                let at = sig_at + next() as usize % 4000;
                if m[at].is_ascii_digit() {
                    m[at] = b'0' + (next() % 10) as u8;
                }
            }
            _ => {
                let at = next() as usize % m.len();
                let len = (next() as usize % 64).min(m.len() - at);
                m.drain(at..at + len);
            }
        }
        if let Ok(sigs) = pdf_signatures(&m) {
            for s in &sigs {
                let _ = signed_ranges(&m, s);
                let _ = modifications_after(&m, s);
            }
        }
    }
}
