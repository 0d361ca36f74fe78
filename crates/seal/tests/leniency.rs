//! Each deviation of real vendor files (formats-eseal.md), built synthetically
//! from the ofdrw material and re-signed with its keys: the genuine signature
//! still verifies and the report names the deviation as a warning.

#![allow(clippy::unwrap_used)]

use yinzheng_crypto::{PrivateKey, Sm2PrivateKey};
use yinzheng_pki::{CheckStatus, ParsedCert, RevocationPolicy, Validator, VerificationReport};
use yinzheng_seal::{MakerTrust, SealSignature, VerifyOptions, verify_signature_at};

fn interop(name: &str) -> Vec<u8> {
    let p = concat!(env!("CARGO_MANIFEST_DIR"), "/../../testdata/interop/ofdrw/");
    std::fs::read(format!("{p}{name}")).unwrap()
}

/// Minimal DER TLV with a minimal length.
fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    let n = content.len();
    if n < 0x80 {
        out.push(n as u8);
    } else {
        let b: Vec<u8> = n
            .to_be_bytes()
            .into_iter()
            .skip_while(|&x| x == 0)
            .collect();
        out.push(0x80 | b.len() as u8);
        out.extend(b);
    }
    out.extend_from_slice(content);
    out
}

/// The top-level children (whole TLVs) of a DER SEQUENCE.
fn children(der: &[u8]) -> Vec<Vec<u8>> {
    let hdr = |b: &[u8], p: usize| -> (usize, usize) {
        let f = b[p + 1] as usize;
        if f < 0x80 {
            (2, f)
        } else {
            let n = f & 0x7f;
            (
                2 + n,
                b[p + 2..p + 2 + n]
                    .iter()
                    .fold(0, |a, x| (a << 8) | *x as usize),
            )
        }
    };
    let (h, len) = hdr(der, 0);
    let mut out = Vec::new();
    let mut p = h;
    while p < h + len {
        let (ch, cl) = hdr(der, p);
        out.push(der[p..p + ch + cl].to_vec());
        p += ch + cl;
    }
    out
}

fn user_key() -> Sm2PrivateKey {
    let pem = String::from_utf8(interop("USER.pem")).unwrap();
    let key = PrivateKey::from_bytes(pem.as_bytes(), None).unwrap();
    Sm2PrivateKey::from_bytes(&*key.as_sm2().unwrap().to_bytes()).unwrap()
}

/// Verify as of the signature's own time: these are ofdrw's 2021 test files
/// (their certificates expired in 2022), so their time is taken as proven
/// here. Their data is not published: the data-hash step stays open
/// (INDETERMINATE / SIGNED_DATA_NOT_FOUND) and every other check must pass.
fn verify(der: &[u8]) -> VerificationReport {
    let sig = SealSignature::parse(der).unwrap();
    let root = ParsedCert::load_all(&interop("ROOT.pem")).unwrap();
    let v = Validator::new(root).with_revocation(RevocationPolicy::DangerBestEffort);
    let signed = std::time::SystemTime::UNIX_EPOCH
        + std::time::Duration::from_secs(sig.signing_time().unix_timestamp() as u64);
    verify_signature_at(
        &sig,
        &VerifyOptions {
            intermediates: &[],
            registry: None,
            makers: MakerTrust::DangerAny,
            validator: &v,
            data: None,
        },
        signed,
    )
}

fn assert_passes_with_warning(der: &[u8], needle: &str) {
    let r = verify(der);
    assert_eq!(
        r.sub_indication(),
        Some(yinzheng_pki::SubIndication::SignedDataNotFound),
        "{r}"
    );
    let failed: Vec<_> = r
        .checks()
        .iter()
        .filter(|c| c.status == CheckStatus::Failed)
        .map(|c| c.id.as_str())
        .collect();
    assert_eq!(failed, ["data-hash"], "only the data is missing: {r}");
    assert!(
        r.checks()
            .iter()
            .any(|c| c.status == CheckStatus::Warning && c.message.contains(needle)),
        "no warning containing {needle:?}: {r}"
    );
}

/// SES_Signature { toSign, cert, alg, signature BIT STRING value `sig_bits` }.
fn rebuild(parts: &[Vec<u8>], to_sign: &[u8], sig_bitstring: Vec<u8>) -> Vec<u8> {
    let mut body = to_sign.to_vec();
    body.extend_from_slice(&parts[1]);
    body.extend_from_slice(&parts[2]);
    body.extend(sig_bitstring);
    tlv(0x30, &body)
}

#[test]
fn raw_r_s_signature() {
    let raw = interop("SignedValueV4.dat");
    let parts = children(&raw);
    let sig = user_key().sign(&parts[0]).unwrap();
    let mut bits = vec![0u8];
    bits.extend(sig.to_raw());
    assert_passes_with_warning(&rebuild(&parts, &parts[0], tlv(0x03, &bits)), "raw r‖s");
}

#[test]
fn bit_string_with_unused_bits() {
    let raw = interop("SignedValueV4.dat");
    let parts = children(&raw);
    let mut sig_tlv = parts[3].clone();
    sig_tlv[2] = 0x01; // unused-bits byte of the signature BIT STRING
    assert_passes_with_warning(&rebuild(&parts, &parts[0], sig_tlv), "unused bits");
}

#[test]
fn negative_r_and_stripped_trailing_zeros() {
    let raw = interop("SignedValueV4.dat");
    let parts = children(&raw);
    let key = user_key();
    // r with its high bit set, encoded without the leading zero.
    let sig = loop {
        let s = key.sign(&parts[0]).unwrap();
        if s.r()[0] & 0x80 != 0 && s.s()[0] & 0x80 == 0 && s.s()[0] != 0 {
            break s;
        }
    };
    let mut seq = tlv(0x02, sig.r());
    seq.extend(tlv(0x02, sig.s()));
    let mut bits = vec![0u8];
    bits.extend(tlv(0x30, &seq));
    assert_passes_with_warning(
        &rebuild(&parts, &parts[0], tlv(0x03, &bits)),
        "negative INTEGER",
    );
    // A DER signature ending in zero bytes, stripped by the producer.
    let sig = loop {
        let s = key.sign(&parts[0]).unwrap().to_der();
        if *s.last().unwrap() == 0 {
            break s;
        }
    };
    let trimmed: Vec<u8> = {
        let n = sig.iter().rev().take_while(|&&b| b == 0).count();
        sig[..sig.len() - n].to_vec()
    };
    let mut bits = vec![0u8];
    bits.extend(trimmed);
    assert_passes_with_warning(
        &rebuild(&parts, &parts[0], tlv(0x03, &bits)),
        "trailing zero",
    );
}

#[test]
fn generalized_time_without_z_and_non_minimal_length() {
    let raw = interop("SignedValueV4.dat");
    let parts = children(&raw);
    // toSign children: version, eseal, timeInfo, dataHash, propertyInfo
    let tbs = children(&parts[0]);
    let mut body = Vec::new();
    body.extend_from_slice(&tbs[0]);
    body.extend_from_slice(&tbs[1]);
    body.extend(tlv(0x18, b"20201012111403"));
    for t in &tbs[3..] {
        body.extend_from_slice(t);
    }
    // toSign with a non-minimal 4-byte length.
    let mut to_sign = vec![0x30, 0x84];
    to_sign.extend((body.len() as u32).to_be_bytes());
    to_sign.extend(&body);
    let sig = user_key().sign(&to_sign).unwrap();
    let mut bits = vec![0u8];
    bits.extend(sig.to_der());
    let der = rebuild(&parts, &to_sign, tlv(0x03, &bits));
    assert_passes_with_warning(&der, "without Z");
    assert_passes_with_warning(&der, "non-minimal length");
}

#[test]
fn explicit_default_false_in_tbs_ext_datas() {
    let raw = interop("SignedValueV4.dat");
    let parts = children(&raw);
    let tbs = children(&parts[0]);
    // ExtData { 1.2.3.4, critical FALSE (explicit), OCTET STRING "x" } under [0] EXPLICIT.
    let ext = tlv(
        0x30,
        &[
            tlv(0x06, &[0x2a, 0x03, 0x04]),
            vec![0x01, 0x01, 0x00],
            tlv(0x04, b"x"),
        ]
        .concat(),
    );
    let mut body: Vec<u8> = tbs.concat();
    body.extend(tlv(0xa0, &tlv(0x30, &ext)));
    let to_sign = tlv(0x30, &body);
    let sig = user_key().sign(&to_sign).unwrap();
    let mut bits = vec![0u8];
    bits.extend(sig.to_der());
    assert_passes_with_warning(
        &rebuild(&parts, &to_sign, tlv(0x03, &bits)),
        "critical FALSE encoded explicitly",
    );
    // A critical extension nobody understands makes the signature unreadable.
    let ext = tlv(
        0x30,
        &[
            tlv(0x06, &[0x2a, 0x03, 0x04]),
            vec![0x01, 0x01, 0xff],
            tlv(0x04, b"x"),
        ]
        .concat(),
    );
    let mut body: Vec<u8> = tbs.concat();
    body.extend(tlv(0xa0, &tlv(0x30, &ext)));
    let to_sign = tlv(0x30, &body);
    let der = rebuild(&parts, &to_sign, tlv(0x03, &bits));
    assert!(SealSignature::parse(&der).is_err());
}
