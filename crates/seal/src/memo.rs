//! Maker signatures already verified in this process.
//!
//! Every stamp carries the whole seal — its picture, tens of kilobytes — and
//! the maker's signature over it, and an issuing authority stamps millions of
//! documents with the same seal. Verifying the maker's signature hashes the
//! whole seal each time. Its result depends only on the maker certificate, the
//! algorithm, the signature and the signed bytes, so a signature that verified
//! is remembered here with those inputs, **compared byte for byte** (never by a
//! digest of them) on the next stamp: a `memcmp` of the seal instead of an SM3
//! pass and an SM2 verification. Only passes are kept; a failure is always
//! recomputed. Bounded by entry count and by bytes.

use std::collections::VecDeque;
use std::sync::{Mutex, OnceLock};

/// At most this many seals are remembered…
const MAX_ENTRIES: usize = 32;
/// …and at most this many bytes of them in all.
const MAX_BYTES: usize = 8 << 20;

struct Entry {
    certificate: Vec<u8>,
    algorithm: String,
    signature: Vec<u8>,
    message: Vec<u8>,
}

impl Entry {
    fn size(&self) -> usize {
        self.certificate.len() + self.algorithm.len() + self.signature.len() + self.message.len()
    }

    fn is(&self, certificate: &[u8], algorithm: &str, signature: &[u8], message: &[u8]) -> bool {
        // The short fields first; the seal itself last.
        self.signature == signature
            && self.algorithm == algorithm
            && self.certificate == certificate
            && self.message == message
    }
}

#[derive(Default)]
struct Memo {
    entries: VecDeque<Entry>,
    bytes: usize,
}

fn memo() -> &'static Mutex<Memo> {
    static MEMO: OnceLock<Mutex<Memo>> = OnceLock::new();
    MEMO.get_or_init(Mutex::default)
}

/// Whether exactly this signature by exactly this certificate over exactly
/// these bytes verified before in this process.
pub(crate) fn verified_before(
    certificate: &[u8],
    algorithm: &str,
    signature: &[u8],
    message: &[u8],
) -> bool {
    memo().lock().is_ok_and(|m| {
        m.entries
            .iter()
            .any(|e| e.is(certificate, algorithm, signature, message))
    })
}

/// Remember a signature that verified (oldest out first when full).
pub(crate) fn remember(certificate: &[u8], algorithm: &str, signature: &[u8], message: &[u8]) {
    let entry = Entry {
        certificate: certificate.to_vec(),
        algorithm: algorithm.to_string(),
        signature: signature.to_vec(),
        message: message.to_vec(),
    };
    let size = entry.size();
    if size > MAX_BYTES {
        return;
    }
    let Ok(mut m) = memo().lock() else {
        return;
    };
    if m.entries
        .iter()
        .any(|e| e.is(certificate, algorithm, signature, message))
    {
        return;
    }
    while m.entries.len() >= MAX_ENTRIES || m.bytes + size > MAX_BYTES {
        match m.entries.pop_front() {
            Some(old) => m.bytes -= old.size(),
            None => break,
        }
    }
    m.bytes += size;
    m.entries.push_back(entry);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_exact_inputs_hit_and_the_memo_stays_bounded() {
        let (cert, alg, sig, msg) = (
            b"cert-A".as_slice(),
            "1.2.3",
            b"sig-A".as_slice(),
            b"seal".as_slice(),
        );
        remember(cert, alg, sig, msg);
        assert!(verified_before(cert, alg, sig, msg));
        for (c, a, s, m) in [
            (b"cert-B".as_slice(), alg, sig, msg),
            (cert, "1.2.4", sig, msg),
            (cert, alg, b"sig-B".as_slice(), msg),
            (cert, alg, sig, b"seaL".as_slice()),
            (cert, alg, sig, b"seal ".as_slice()),
        ] {
            assert!(!verified_before(c, a, s, m), "{c:?} {a} {s:?} {m:?}");
        }
        for i in 0..(2 * MAX_ENTRIES) {
            remember(b"cert", alg, &i.to_le_bytes(), &vec![0u8; 1 << 20]);
        }
        let m = memo().lock().unwrap();
        assert!(m.entries.len() <= MAX_ENTRIES && m.bytes <= MAX_BYTES);
        assert_eq!(m.bytes, m.entries.iter().map(Entry::size).sum::<usize>());
    }
}
