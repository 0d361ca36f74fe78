//! Differential tests against the two C SM2 implementations: GmSSL 3.2.0 (built
//! from testdata/peers with its x86-64 SM2 assembly) and OpenSSL 3's libcrypto,
//! each behind tests/peers/sm2/sm2_peer.c, built by `scripts/sm2-peers.sh build`.
//!
//! Both ways, 10⁴ cases per peer in the normal suite (10⁶ in an ignored test):
//! every signature we make verifies on the peer, every signature the peer makes
//! (with keys the peer generated) verifies with us, and with one bit of r, s or
//! the message flipped both sides refuse it. Then the edge cases: r or s zero or
//! ≥ n, r + s = n, the empty message, off-curve public keys — the two sides
//! must never disagree.
//!
//! Needs cmake, a C compiler and libssl-dev (scripts/test.sh installs them) and
//! the GmSSL archive in testdata/peers. A missing peer fails this test; it
//! never skips.

#![allow(clippy::unwrap_used)]

use std::io::{BufRead, BufReader, Write};
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use yinzheng_crypto::{Sm2PrivateKey, Sm2PublicKey, sm3};
use yinzheng_tests::flip_one_bit;

/// The group order n of the SM2 curve, big-endian.
fn order() -> [u8; 32] {
    hex32("FFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFF7203DF6B21C6052B53BBF40939D54123")
}

fn hex32(s: &str) -> [u8; 32] {
    hex::decode(s).unwrap().try_into().unwrap()
}

/// Which C peer.
#[derive(Clone, Copy, Debug)]
enum Peer {
    GmSsl,
    OpenSsl,
}

/// Build both peers once (the script serialises concurrent builds) and return
/// this one's binary.
fn peer_binary(peer: Peer) -> PathBuf {
    yinzheng_tests::require_peer(match peer {
        Peer::GmSsl => "gmssl",
        Peer::OpenSsl => "openssl",
    });
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/sm2-peers.sh");
    let out = Command::new(&script)
        .arg("build")
        .output()
        .unwrap_or_else(|e| panic!("{} does not run: {e}", script.display()));
    assert!(
        out.status.success(),
        "building the C SM2 peers failed (scripts/sm2-peers.sh build; needs cmake, cc, \
         libssl-dev — scripts/test.sh installs them):\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let paths = String::from_utf8(out.stdout).unwrap();
    let name = match peer {
        Peer::GmSsl => "sm2-peer-gmssl",
        Peer::OpenSsl => "sm2-peer-openssl",
    };
    let path = paths
        .lines()
        .find(|l| l.ends_with(name))
        .unwrap_or_else(|| panic!("scripts/sm2-peers.sh build did not name {name}: {paths}"));
    PathBuf::from(path)
}

/// Send `requests` to a fresh peer process (written from a second thread, so
/// neither pipe fills) and return its answers, one per request.
fn exchange(bin: &Path, requests: Vec<String>) -> Vec<String> {
    let mut child = Command::new(bin)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        // GmSSL traces every refused signature on stderr; the answers say enough.
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("{} does not start: {e}", bin.display()));
    let mut stdin = child.stdin.take().unwrap();
    let expected = requests.len();
    let writer = std::thread::spawn(move || {
        let mut w = std::io::BufWriter::new(&mut stdin);
        for r in requests {
            w.write_all(r.as_bytes()).unwrap();
            w.write_all(b"\n").unwrap();
        }
        w.flush().unwrap();
    });
    let answers: Vec<String> = BufReader::new(child.stdout.take().unwrap())
        .lines()
        .map(|l| l.unwrap())
        .collect();
    writer.join().unwrap();
    let status = child.wait().unwrap();
    assert!(status.success(), "{} exited with {status}", bin.display());
    assert_eq!(
        answers.len(),
        expected,
        "{} answered {} of {expected} requests",
        bin.display(),
        answers.len()
    );
    answers
}

fn hex_or_dash(b: &[u8]) -> String {
    if b.is_empty() {
        "-".into()
    } else {
        hex::encode(b)
    }
}

fn verify_request(xy: &[u8], msg: &[u8], rs: &[u8; 64]) -> String {
    format!(
        "V {} {} {}",
        hex::encode(xy),
        hex_or_dash(msg),
        hex::encode(rs)
    )
}

/// The peer's answer to a `V` request: `Some(true)` valid, `Some(false)`
/// refused, `None` an error answer (which also refuses).
fn peer_accepts(answer: &str) -> bool {
    match answer {
        "1" => true,
        "0" => false,
        a if a.starts_with("E ") => false,
        a => panic!("the peer answered {a:?} to a verification"),
    }
}

/// The message of case `i`: 1 to 150 bytes, from a counter.
fn message(i: usize) -> Vec<u8> {
    sm3(&(i as u64).to_le_bytes())
        .repeat(1 + i % 5)
        .into_iter()
        .take(1 + i % 150)
        .collect()
}

/// We sign, the peer verifies; the peer signs with keys it generated, we
/// verify; a flipped bit is refused by both. A new key every 16 cases.
fn both_ways(peer: Peer, cases: Range<usize>) {
    let bin = peer_binary(peer);

    // Ours signs, the peer verifies the signature and a flipped variant.
    let mut requests = Vec::with_capacity(2 * cases.len());
    let mut key = None;
    for i in cases.clone() {
        if i % 16 == 0 || key.is_none() {
            key = Some(Sm2PrivateKey::generate().unwrap());
        }
        let key: &Sm2PrivateKey = key.as_ref().unwrap();
        let xy = &key.public_key().to_sec1_uncompressed()[1..];
        let msg = message(i);
        let raw = key.sign(&msg).unwrap().to_raw();
        requests.push(verify_request(xy, &msg, &raw));
        let (bad, m) = flip_one_bit(i, &raw, &msg);
        assert!(
            key.public_key().verify(&m, &bad).is_err(),
            "{peer:?} case {i}: we accept our own signature with a bit flipped"
        );
        requests.push(verify_request(xy, &m, &bad));
    }
    let answers = exchange(&bin, requests);
    for (i, pair) in cases.clone().zip(answers.chunks(2)) {
        assert!(
            peer_accepts(&pair[0]),
            "{peer:?} case {i}: the peer refuses our signature ({})",
            pair[0]
        );
        assert!(
            !peer_accepts(&pair[1]),
            "{peer:?} case {i}: the peer accepts our signature with a bit flipped"
        );
    }

    // The peer generates keys and signs; we verify, and the peer and we both
    // refuse a flipped variant.
    let keys = exchange(&bin, vec!["K".to_string(); cases.len().div_ceil(16) + 1]);
    let keys: Vec<(String, Sm2PublicKey)> = keys
        .iter()
        .map(|k| {
            let (d, xy) = k
                .split_once(' ')
                .unwrap_or_else(|| panic!("{peer:?} K answered {k:?}"));
            let public =
                Sm2PublicKey::from_sec1_bytes(&[&[4u8][..], &hex::decode(xy).unwrap()].concat())
                    .unwrap();
            // The peer's private key gives the same public key with us.
            let ours = Sm2PrivateKey::from_bytes(&hex::decode(d).unwrap()).unwrap();
            assert_eq!(ours.public_key(), &public, "{peer:?}: key {k} disagrees");
            (d.to_string(), public)
        })
        .collect();
    let key_of = |i: usize| &keys[(i - cases.start) / 16];
    let signatures = exchange(
        &bin,
        cases
            .clone()
            .map(|i| format!("S {} {}", key_of(i).0, hex_or_dash(&message(i))))
            .collect(),
    );
    let mut requests = Vec::with_capacity(cases.len());
    for (i, sig) in cases.clone().zip(&signatures) {
        let raw: [u8; 64] = hex::decode(sig)
            .ok()
            .and_then(|b| b.try_into().ok())
            .unwrap_or_else(|| panic!("{peer:?} case {i}: S answered {sig:?}"));
        let public = &key_of(i).1;
        let msg = message(i);
        assert!(
            public.verify(&msg, &raw).is_ok(),
            "{peer:?} case {i}: we refuse the peer's signature {sig}"
        );
        let (bad, m) = flip_one_bit(i + 1, &raw, &msg);
        assert!(
            public.verify(&m, &bad).is_err(),
            "{peer:?} case {i}: we accept the peer's signature with a bit flipped"
        );
        requests.push(verify_request(
            &public.to_sec1_uncompressed()[1..],
            &m,
            &bad,
        ));
    }
    for (i, answer) in cases.zip(exchange(&bin, requests)) {
        assert!(
            !peer_accepts(&answer),
            "{peer:?} case {i}: the peer accepts its own signature with a bit flipped"
        );
    }
}

/// Big-endian `a + b` and `a − b` on 32-byte values (wrapping: callers pick
/// values where it does not).
fn add(a: &[u8; 32], b: &[u8; 32]) -> [u8; 32] {
    let mut out = [0u8; 32];
    let mut carry = 0u16;
    for i in (0..32).rev() {
        let v = u16::from(a[i]) + u16::from(b[i]) + carry;
        out[i] = v as u8;
        carry = v >> 8;
    }
    out
}

fn sub(a: &[u8; 32], b: &[u8; 32]) -> [u8; 32] {
    let mut out = [0u8; 32];
    let mut borrow = 0i16;
    for i in (0..32).rev() {
        let mut v = i16::from(a[i]) - i16::from(b[i]) - borrow;
        borrow = i16::from(v < 0);
        if v < 0 {
            v += 256;
        }
        out[i] = v as u8;
    }
    out
}

fn raw_of(r: &[u8; 32], s: &[u8; 32]) -> [u8; 64] {
    let mut raw = [0u8; 64];
    raw[..32].copy_from_slice(r);
    raw[32..].copy_from_slice(s);
    raw
}

/// The edge cases: each is refused by us and by the peer, and the genuine
/// signatures beside them (the empty message, a long one) pass on both.
fn edge_cases(peer: Peer) {
    let bin = peer_binary(peer);
    let mut requests = Vec::new();
    let mut expected = Vec::new();
    let mut push = |what: String, xy: &[u8], msg: &[u8], raw: &[u8; 64], valid: bool| {
        requests.push(verify_request(xy, msg, raw));
        expected.push((what, valid));
    };
    let n = order();
    let zero = [0u8; 32];
    let one = {
        let mut o = [0u8; 32];
        o[31] = 1;
        o
    };
    for round in 0..32 {
        let key = Sm2PrivateKey::generate().unwrap();
        let public = key.public_key();
        let xy = public.to_sec1_uncompressed()[1..].to_vec();
        let msg: Vec<u8> = match round % 4 {
            0 => Vec::new(),
            1 => vec![0x61],
            2 => message(round).repeat(200),
            _ => message(round),
        };
        let raw = key.sign(&msg).unwrap().to_raw();
        let (r, s): ([u8; 32], [u8; 32]) =
            (raw[..32].try_into().unwrap(), raw[32..].try_into().unwrap());
        let mut cases: Vec<(&str, [u8; 64])> = vec![
            ("r = 0", raw_of(&zero, &s)),
            ("s = 0", raw_of(&r, &zero)),
            ("r = n", raw_of(&n, &s)),
            ("s = n", raw_of(&r, &n)),
            ("r = n + 1", raw_of(&add(&n, &one), &s)),
            ("s = n + 1", raw_of(&r, &add(&n, &one))),
            ("r + s = n", raw_of(&sub(&n, &s), &s)),
            ("s = n - s", raw_of(&r, &sub(&n, &s))),
            ("r = 2^256 - 1", raw_of(&[0xff; 32], &s)),
            ("r and s swapped", raw_of(&s, &r)),
        ];
        // r + n still fits in 256 bits for most r: the same residue, not the same value.
        if r < sub(&[0xff; 32], &n) {
            cases.push(("r + n", raw_of(&add(&r, &n), &s)));
        }
        if s < sub(&[0xff; 32], &n) {
            cases.push(("s + n", raw_of(&r, &add(&s, &n))));
        }
        push(
            format!("round {round}: the genuine signature"),
            &xy,
            &msg,
            &raw,
            true,
        );
        assert!(public.verify(&msg, &raw).is_ok());
        for (what, bad) in cases {
            assert!(
                public.verify(&msg, &bad).is_err(),
                "{peer:?} round {round}: we accept {what}"
            );
            push(format!("round {round}: {what}"), &xy, &msg, &bad, false);
        }
        // The public key off the curve (y + 1) and the point's negation (x, p − y):
        // the first must not even load with us; the second is on the curve
        // but a different key.
        let mut off = xy.clone();
        off[63] ^= 1;
        assert!(
            Sm2PublicKey::from_sec1_bytes(&[&[4u8][..], &off].concat()).is_err(),
            "{peer:?} round {round}: an off-curve key loads"
        );
        push(
            format!("round {round}: off-curve public key"),
            &off,
            &msg,
            &raw,
            false,
        );
        let p = hex32("FFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF00000000FFFFFFFFFFFFFFFF");
        let y: [u8; 32] = xy[32..].try_into().unwrap();
        let negated = [&xy[..32], &sub(&p, &y)[..]].concat();
        let neg_key = Sm2PublicKey::from_sec1_bytes(&[&[4u8][..], &negated].concat()).unwrap();
        assert!(
            neg_key.verify(&msg, &raw).is_err(),
            "{peer:?} round {round}: the negated key verifies"
        );
        push(
            format!("round {round}: negated public key"),
            &negated,
            &msg,
            &raw,
            false,
        );
        // The point at infinity as a key (x = y = 0 in the uncompressed form).
        assert!(Sm2PublicKey::from_sec1_bytes(&[&[4u8][..], &[0u8; 64]].concat()).is_err());
        push(
            format!("round {round}: point at infinity as key"),
            &[0u8; 64],
            &msg,
            &raw,
            false,
        );
    }
    let answers = exchange(&bin, requests);
    for ((what, valid), answer) in expected.iter().zip(&answers) {
        assert_eq!(
            peer_accepts(answer),
            *valid,
            "{peer:?} {what}: the peer answered {answer}, we expected {}",
            if *valid { "valid" } else { "refused" }
        );
    }
}

#[yinzheng_tests::peer_test(gmssl)]
fn ten_thousand_signatures_each_way_agree_with_gmssl_first_half() {
    both_ways(Peer::GmSsl, 0..5_000);
}

#[yinzheng_tests::peer_test(gmssl)]
fn ten_thousand_signatures_each_way_agree_with_gmssl_second_half() {
    both_ways(Peer::GmSsl, 5_000..10_000);
}

#[yinzheng_tests::peer_test(openssl)]
fn ten_thousand_signatures_each_way_agree_with_openssl_first_half() {
    both_ways(Peer::OpenSsl, 0..5_000);
}

#[yinzheng_tests::peer_test(openssl)]
fn ten_thousand_signatures_each_way_agree_with_openssl_second_half() {
    both_ways(Peer::OpenSsl, 5_000..10_000);
}

#[yinzheng_tests::peer_test(gmssl)]
fn gmssl_and_we_refuse_the_same_edge_cases() {
    edge_cases(Peer::GmSsl);
}

#[yinzheng_tests::peer_test(openssl)]
fn openssl_and_we_refuse_the_same_edge_cases() {
    edge_cases(Peer::OpenSsl);
}

/// 10⁶ each way per peer (OpenSSL takes about 0.4 ms an operation: hours):
/// `cargo test -p yinzheng-tests --release --features yinzheng-tests/peers
/// --test sm2_peers_differential -- --ignored`.
#[test]
#[ignore = "10^6 cases each way per peer: run with --ignored"]
fn a_million_signatures_each_way_agree_with_gmssl_and_openssl() {
    for chunk in 0..100 {
        let cases = chunk * 10_000..(chunk + 1) * 10_000;
        both_ways(Peer::GmSsl, cases.clone());
        both_ways(Peer::OpenSsl, cases);
    }
}
