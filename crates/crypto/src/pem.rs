//! PEM (RFC 7468), the workspace's one reader and writer. Reading accepts LF
//! or CRLF line endings and skips text around and between blocks (OpenSSL's
//! "Bag Attributes", comments); each block is decoded by `der`'s strict PEM
//! decoder. The line-ending-normalised copy of the text is zeroized: key files
//! come through here.

use crate::{Error, Result};
use zeroize::Zeroizing;

const BEGIN: &str = "-----BEGIN ";

/// The next block in `rest` whose BEGIN line starts with `begin`: its start,
/// end (after the END line) and label.
fn next_block<'a>(rest: &'a str, begin: &str) -> Option<Result<(usize, usize, &'a str)>> {
    let start = rest.find(begin)?;
    let after = &rest[start + BEGIN.len()..];
    let Some(label_len) = after.find("-----") else {
        return Some(Err(Error::malformed("PEM", "unterminated BEGIN line")));
    };
    let label = &after[..label_len];
    let end_marker = format!("-----END {label}-----");
    Some(match rest[start..].find(&end_marker) {
        Some(e) => Ok((start, start + e + end_marker.len(), label)),
        None => Err(Error::malformed("PEM", format!("no {end_marker} line"))),
    })
}

fn decode_block(block: &str) -> Result<(String, Vec<u8>)> {
    let (label, der) =
        der::pem::decode_vec(block.as_bytes()).map_err(|e| Error::malformed("PEM", e))?;
    Ok((label.to_string(), der))
}

/// The first block whose label `wanted` accepts, decoded: its label and DER.
/// Blocks before it are skipped unread (e.g. the `EC PARAMETERS` block of
/// `openssl ecparam -genkey`).
pub fn decode_first(text: &str, wanted: impl Fn(&str) -> bool) -> Result<(String, Vec<u8>)> {
    let text = Zeroizing::new(text.replace("\r\n", "\n"));
    let mut rest = text.as_str();
    loop {
        let (start, end, label) = next_block(rest, BEGIN)
            .ok_or_else(|| Error::malformed("PEM", "no -----BEGIN line"))??;
        if wanted(label) {
            return decode_block(&rest[start..end]);
        }
        rest = &rest[end..];
    }
}

/// Every block labelled `label` (e.g. `CERTIFICATE`), decoded, in order;
/// blocks with other labels are skipped unread. None is not an error.
pub fn decode_all(text: &str, label: &str) -> Result<Vec<Vec<u8>>> {
    let text = Zeroizing::new(text.replace("\r\n", "\n"));
    let begin = format!("{BEGIN}{label}-----");
    let mut out = Vec::new();
    let mut rest = text.as_str();
    while let Some(block) = next_block(rest, &begin) {
        let (start, end, _) = block?;
        out.push(decode_block(&rest[start..end])?.1);
        rest = &rest[end..];
    }
    Ok(out)
}

/// `der` PEM-encoded under `label`: 64-column base64, LF line endings.
pub fn encode(label: &'static str, der: &[u8]) -> String {
    der::pem::encode_string(label, der::pem::LineEnding::LF, der)
        .unwrap_or_else(|_| unreachable!("PEM encoding of bytes cannot fail"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_are_found_among_other_text_with_either_line_ending() {
        let a = encode("CERTIFICATE", b"one");
        let b = encode("X509 CRL", b"two");
        let c = encode("CERTIFICATE", b"three");
        let text = format!("Bag Attributes\n{a}junk\n{b}{c}").replace('\n', "\r\n");
        assert_eq!(
            decode_all(&text, "CERTIFICATE").unwrap_or_default(),
            vec![b"one".to_vec(), b"three".to_vec()]
        );
        let (label, der) = decode_first(&text, |l| l != "CERTIFICATE").unwrap_or_default();
        assert_eq!((label.as_str(), der.as_slice()), ("X509 CRL", &b"two"[..]));
        assert!(decode_all("no pem here", "CERTIFICATE").is_ok_and(|v| v.is_empty()));
        assert!(decode_first("no pem here", |_| true).is_err());
        let cut = &a[..a.len() - 10];
        assert!(decode_all(cut, "CERTIFICATE").is_err(), "no END line");
    }
}
