//! The patched lopdf hex-string parser (vendor/lopdf/YINZHENG.md) against a
//! reference decoder of the PDF grammar (ISO 32000-1 §7.3.4.3): `<`, hex
//! digits with white space anywhere between them, `>`; an odd final digit is
//! the high nibble of a last byte; any other byte means no hex string. The
//! parser reads every signed PDF's `/Contents`, so a difference here would be
//! a difference in what is verified.

use lopdf::content::Content;
use lopdf::{Object, StringFormat};

/// The reference: `None` when `body` (between `<` and `>`) is not a hex string.
fn reference(body: &[u8]) -> Option<Vec<u8>> {
    let mut nibbles = Vec::new();
    for &c in body {
        match c {
            b'0'..=b'9' => nibbles.push(c - b'0'),
            b'a'..=b'f' => nibbles.push(c - b'a' + 10),
            b'A'..=b'F' => nibbles.push(c - b'A' + 10),
            b' ' | b'\t' | b'\r' | b'\n' | b'\0' | 0x0c => {}
            _ => return None,
        }
    }
    if nibbles.len() % 2 == 1 {
        nibbles.push(0);
    }
    Some(nibbles.chunks(2).map(|p| (p[0] << 4) | p[1]).collect())
}

/// A small deterministic generator (xorshift64*), so a failure names its case.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

const HEX: &[u8] = b"0123456789abcdefABCDEF";
const WHITE: &[u8] = b" \t\r\n\0\x0c";
const OTHER: &[u8] = b"gGxZ<(/)[%]{-+.\x80\xff";

#[test]
fn hex_strings_decode_as_the_pdf_grammar_says() {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    for case in 0..20_000 {
        let len = rng.below(if case % 100 == 0 { 5000 } else { 64 }) as usize;
        let mut body = Vec::with_capacity(len);
        for _ in 0..len {
            let pick = rng.below(100);
            body.push(if pick < 80 {
                HEX[rng.below(HEX.len() as u64) as usize]
            } else if pick < 99 {
                WHITE[rng.below(WHITE.len() as u64) as usize]
            } else {
                OTHER[rng.below(OTHER.len() as u64) as usize]
            });
        }
        let mut stream = b"<".to_vec();
        stream.extend_from_slice(&body);
        stream.extend_from_slice(b"> Tj");
        let expected = reference(&body);
        let hex_operands: Vec<Vec<u8>> = Content::decode(&stream)
            .map(|c| {
                c.operations
                    .iter()
                    .flat_map(|op| op.operands.iter())
                    .filter_map(|o| match o {
                        Object::String(b, StringFormat::Hexadecimal) => Some(b.clone()),
                        _ => None,
                    })
                    .collect()
            })
            .unwrap_or_default();
        match &expected {
            Some(bytes) => assert_eq!(
                hex_operands,
                vec![bytes.clone()],
                "case {case}: {:?}",
                String::from_utf8_lossy(&body)
            ),
            None => assert!(
                hex_operands.is_empty(),
                "case {case}: {:?} is no hex string, yet parsed as {hex_operands:?}",
                String::from_utf8_lossy(&body)
            ),
        }
    }
}

#[test]
fn the_grammar_edges() {
    let one = |s: &[u8]| -> Option<Vec<u8>> {
        let c = Content::decode(s).ok()?;
        c.operations
            .iter()
            .flat_map(|op| op.operands.iter())
            .find_map(|o| match o {
                Object::String(b, StringFormat::Hexadecimal) => Some(b.clone()),
                _ => None,
            })
    };
    assert_eq!(one(b"<> Tj"), Some(vec![]));
    assert_eq!(one(b"<901FA> Tj"), Some(vec![0x90, 0x1f, 0xa0]));
    assert_eq!(one(b"< 9 0\n1F\tA\r> Tj"), Some(vec![0x90, 0x1f, 0xa0]));
    assert_eq!(one(b"<4G> Tj"), None);
    assert_eq!(one(b"<41 Tj"), None);
}
