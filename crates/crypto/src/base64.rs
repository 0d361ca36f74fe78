//! Base64, the workspace's one implementation: standard base64 (RFC 4648 §4)
//! with padding, decoded strictly — only the canonical encoding of a byte
//! string is accepted, so one value has one text form (notes and proofs are
//! compared and hashed as text; OFD check values; data: URLs) — and the
//! URL-safe alphabet (§5) some OCSP clients send in GET requests.

const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Encode `data` as padded standard base64.
pub fn encode(data: &[u8]) -> String {
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        out.push(ALPHABET[(n >> 18) as usize & 63] as char);
        out.push(ALPHABET[(n >> 12) as usize & 63] as char);
        out.push(if chunk.len() > 1 {
            ALPHABET[(n >> 6) as usize & 63] as char
        } else {
            '='
        });
        out.push(if chunk.len() > 2 {
            ALPHABET[n as usize & 63] as char
        } else {
            '='
        });
    }
    out
}

fn value(c: u8) -> Option<u32> {
    match c {
        b'A'..=b'Z' => Some(u32::from(c - b'A')),
        b'a'..=b'z' => Some(u32::from(c - b'a') + 26),
        b'0'..=b'9' => Some(u32::from(c - b'0') + 52),
        b'+' => Some(62),
        b'/' => Some(63),
        _ => None,
    }
}

/// Decode padded standard base64; `None` for anything but a canonical encoding.
pub fn decode(text: &str) -> Option<Vec<u8>> {
    let t = text.as_bytes();
    if !t.len().is_multiple_of(4) {
        return None;
    }
    let mut out = Vec::with_capacity(t.len() / 4 * 3);
    let groups = t.len() / 4;
    for (gi, g) in t.chunks(4).enumerate() {
        let last = gi + 1 == groups;
        let pad = g.iter().rev().take_while(|&&c| c == b'=').count();
        if pad > 2 || (pad > 0 && !last) {
            return None;
        }
        let mut n = 0u32;
        for &c in &g[..4 - pad] {
            n = (n << 6) | value(c)?;
        }
        n <<= 6 * pad as u32;
        let bytes = [(n >> 16) as u8, (n >> 8) as u8, n as u8];
        // Non-canonical: bits beyond the data must be zero.
        if (pad == 1 && bytes[2] != 0) || (pad == 2 && (bytes[1] != 0 || bytes[2] != 0)) {
            return None;
        }
        out.extend_from_slice(&bytes[..3 - pad]);
    }
    Some(out)
}

/// Decode standard base64, else the URL-safe alphabet (RFC 4648 §5, padding
/// optional), as OCSP GET requests arrive; strict otherwise.
pub fn decode_standard_or_url_safe(text: &str) -> Option<Vec<u8>> {
    decode(text).or_else(|| {
        if text.contains(['+', '/']) {
            return None;
        }
        let mut t: String = text
            .chars()
            .map(|c| match c {
                '-' => '+',
                '_' => '/',
                c => c,
            })
            .collect();
        if !t.contains('=') {
            let pad = (4 - t.len() % 4) % 4;
            t.extend(std::iter::repeat_n('=', pad));
        }
        decode(&t)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc4648_vectors_round_trip_and_reject_non_canonical() {
        let v = [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ];
        for (plain, enc) in v {
            assert_eq!(encode(plain.as_bytes()), enc);
            assert_eq!(decode(enc).as_deref(), Some(plain.as_bytes()));
        }
        for bad in ["Zg=", "Zh==", "Zm9=", "Z===", "Zg==Zg==", "Zm9v\n", "Zm 9"] {
            assert_eq!(decode(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn url_safe_is_taken_where_standard_is_not() {
        let bytes = [0xfbu8, 0xff, 0xbf];
        assert_eq!(encode(&bytes), "+/+/");
        for text in ["+/+/", "-_-_"] {
            assert_eq!(
                decode_standard_or_url_safe(text).as_deref(),
                Some(&bytes[..])
            );
        }
        assert_eq!(
            decode_standard_or_url_safe("Zg").as_deref(),
            Some(&b"f"[..])
        );
        assert_eq!(decode_standard_or_url_safe("-/+_"), None, "mixed alphabets");
        assert_eq!(decode_standard_or_url_safe("Zh"), None, "still canonical");
    }
}
