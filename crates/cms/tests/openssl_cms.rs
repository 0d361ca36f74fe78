//! CMS interop with OpenSSL 3: our SignedData checked by OpenSSL (raw SM2
//! verify over the signed attributes it parses, `cms -verify` for P-256 and the
//! empty SM2 ID, `ts -verify` for time stamps and for every archive time
//! stamp of an RFC 4998 evidence record) and OpenSSL's CMS and tokens
//! checked by ours.
#![allow(clippy::unwrap_used)]

use std::fs;
use std::path::Path;
use yinzheng_cms::{
    Digest, Flavour, SignOptions, SignedData, TimeStampAuthority, VerifyOptions, oid,
    sign_detached, verify_time_stamp,
};
use yinzheng_crypto::{PrivateKey, Sm2Id};
use yinzheng_tests::{openssl_ok, openssl_run, tempdir};

const ID: &str = "1234567812345678";

fn pem_der(pem: &[u8]) -> Vec<u8> {
    let (_, der) =
        yinzheng_crypto::pem::decode_first(&String::from_utf8_lossy(pem), |_| true).unwrap();
    der
}

/// A self-signed certificate for `key.pem` made by OpenSSL; returns (key, cert DER).
fn openssl_cert(dir: &Path, name: &str, sm2: bool, ext: &str) -> (PrivateKey, Vec<u8>) {
    let key = format!("{name}.key");
    if sm2 {
        openssl_ok(
            dir,
            &[
                "genpkey",
                "-algorithm",
                "EC",
                "-pkeyopt",
                "ec_paramgen_curve:SM2",
                "-out",
                &key,
            ],
        );
    } else {
        openssl_ok(
            dir,
            &[
                "genpkey",
                "-algorithm",
                "EC",
                "-pkeyopt",
                "ec_paramgen_curve:P-256",
                "-out",
                &key,
            ],
        );
    }
    fs::write(
        dir.join(format!("{name}.cnf")),
        format!("[req]\ndistinguished_name=dn\n[dn]\n[ext]\n{ext}\n"),
    )
    .unwrap();
    let mut args = vec![
        "req",
        "-new",
        "-x509",
        "-key",
        &key,
        "-subj",
        "/C=CN/O=Yinzheng Test/CN=cms signer",
        "-days",
        "30",
        "-config",
        &*Box::leak(format!("{name}.cnf").into_boxed_str()),
        "-extensions",
        "ext",
        "-out",
        &*Box::leak(format!("{name}.pem").into_boxed_str()),
    ];
    if sm2 {
        args.extend(["-sm3", "-sigopt", "distid:1234567812345678"]);
    }
    openssl_ok(dir, &args);
    let k = PrivateKey::from_bytes(&fs::read(dir.join(&key)).unwrap(), None).unwrap();
    (
        k,
        pem_der(&fs::read(dir.join(format!("{name}.pem"))).unwrap()),
    )
}

const LEAF_EXT: &str = "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,nonRepudiation\nsubjectKeyIdentifier=hash";

/// Offsets of the first element at `depth` whose asn1parse line contains `needle`.
fn asn1_element(dir: &Path, file: &str, depth: usize, needle: &str) -> (usize, usize) {
    let out = openssl_ok(dir, &["asn1parse", "-inform", "DER", "-in", file]);
    let text = String::from_utf8_lossy(&out.stdout);
    for line in text.lines() {
        if line.contains(&format!("d={depth} ")) && line.contains(needle) {
            let off: usize = line.split(':').next().unwrap().trim().parse().unwrap();
            let hl: usize = line
                .split("hl=")
                .nth(1)
                .unwrap()
                .split_whitespace()
                .next()
                .unwrap()
                .parse()
                .unwrap();
            let l: usize = line
                .split(" l=")
                .nth(1)
                .unwrap()
                .split_whitespace()
                .next()
                .unwrap()
                .trim()
                .parse()
                .unwrap();
            return (off, off + hl + l);
        }
    }
    panic!("no d={depth} {needle} in\n{text}");
}

#[yinzheng_tests::peer_test(openssl)]
fn sm2_cms_checked_by_openssl_raw_verify() {
    let dir = tempdir();
    let d = dir.path();
    let (key, cert) = openssl_cert(d, "sm2", true, LEAF_EXT);
    let parts: [&[u8]; 2] = [b"%PDF-1.7 first range ", b" second range %%EOF"];
    let cms = sign_detached(&key, &cert, &parts, &SignOptions::default(), None).unwrap();
    fs::write(d.join("sig.p7s"), &cms).unwrap();
    fs::write(d.join("content"), parts.concat()).unwrap();

    // ours
    let sd = SignedData::parse(&cms).unwrap();
    let v = sd
        .verify_signer(0, Some(&parts), &VerifyOptions::default())
        .unwrap();
    assert_eq!(v.digest, Digest::Sm3);
    assert!(
        sd.verify_signer(
            0,
            Some(&[b"%PDF-1.7 first range!", parts[1]]),
            &VerifyOptions::default()
        )
        .is_err()
    );

    // OpenSSL parses the structure; the signed attributes are d=5 cont [ 0 ] (inside SignerInfo)
    let (s, e) = asn1_element(d, "sig.p7s", 5, "cont [ 0 ]");
    let mut attrs = cms[s..e].to_vec();
    attrs[0] = 0x31;
    fs::write(d.join("attrs.der"), &attrs).unwrap();
    // the signature OCTET STRING is the d=5 OCTET STRING of the SignerInfo
    let (s, e) = asn1_element(d, "sig.p7s", 5, "OCTET STRING");
    let mut r = yinzheng_crypto::asn1::Reader::new(&cms[s..e]);
    let t = r.tlv_at(0, e - s, "sig").unwrap();
    fs::write(d.join("sig.der"), r.bytes(&t)).unwrap();
    openssl_ok(
        d,
        &[
            "x509", "-in", "sm2.pem", "-pubkey", "-noout", "-out", "sm2.pub",
        ],
    );
    let out = openssl_ok(
        d,
        &[
            "pkeyutl",
            "-verify",
            "-pubin",
            "-inkey",
            "sm2.pub",
            "-rawin",
            "-digest",
            "sm3",
            "-pkeyopt",
            &format!("distid:{ID}"),
            "-in",
            "attrs.der",
            "-sigfile",
            "sig.der",
        ],
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("Signature Verified Successfully"));
    // messageDigest equals OpenSSL's SM3 of the content
    let out = openssl_ok(d, &["dgst", "-sm3", "-r", "content"]);
    let hex_digest = String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .next()
        .unwrap()
        .to_string();
    let printed = openssl_ok(
        d,
        &[
            "cms", "-cmsout", "-print", "-inform", "DER", "-in", "sig.p7s",
        ],
    );
    let printed = String::from_utf8_lossy(&printed.stdout)
        .replace([' ', '\n', '-'], "")
        .to_lowercase();
    let md = &hex_digest[..];
    // `cms -print` shows the messageDigest octets in hex dump form
    assert!(
        printed.contains(&md[..16]),
        "messageDigest {md} not in OpenSSL's dump"
    );
    // with the wrong ID OpenSSL refuses it: the ID is really in the signature
    let bad = openssl_run(
        d,
        &[
            "pkeyutl",
            "-verify",
            "-pubin",
            "-inkey",
            "sm2.pub",
            "-rawin",
            "-digest",
            "sm3",
            "-in",
            "attrs.der",
            "-sigfile",
            "sig.der",
        ],
    );
    assert!(!String::from_utf8_lossy(&bad.stdout).contains("Verified Successfully"));
}

#[yinzheng_tests::peer_test(openssl)]
fn sm2_cms_with_the_empty_id_passes_openssl_cms_verify_and_back() {
    let dir = tempdir();
    let d = dir.path();
    let (key, cert) = openssl_cert(d, "sm2", true, LEAF_EXT);
    let key = key.with_sm2_id(Sm2Id::danger_empty());
    let data = b"detached content for OpenSSL's own CMS verifier";
    fs::write(d.join("data"), data).unwrap();
    let cms = sign_detached(&key, &cert, &[data], &SignOptions::default(), None).unwrap();
    fs::write(d.join("ours.p7s"), &cms).unwrap();
    let out = openssl_ok(
        d,
        &[
            "cms",
            "-verify",
            "-binary",
            "-inform",
            "DER",
            "-in",
            "ours.p7s",
            "-content",
            "data",
            "-noverify",
            "-out",
            "/dev/null",
        ],
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("Verification successful"));
    fs::write(
        d.join("data2"),
        b"detached content for OpenSSL's own CMS verifieR",
    )
    .unwrap();
    let bad = openssl_run(
        d,
        &[
            "cms",
            "-verify",
            "-binary",
            "-inform",
            "DER",
            "-in",
            "ours.p7s",
            "-content",
            "data2",
            "-noverify",
            "-out",
            "/dev/null",
        ],
    );
    assert!(!bad.status.success());

    // The other direction cannot be tested: OpenSSL 3.0 fails to write SM2 CMS
    // ("asn1_template_ex_i2d: illegal zero content" in `cms -sign -md sm3`).
    // Our empty-ID compatibility mode must still verify our own empty-ID CMS,
    // and the default (GM/T) ID must not.
    let sd = SignedData::parse(&cms).unwrap();
    let opts = VerifyOptions {
        sm2_id: Some(Sm2Id::danger_empty()),
        ..Default::default()
    };
    sd.verify_signer(0, Some(&[data]), &opts).unwrap();
    assert!(
        sd.verify_signer(0, Some(&[data]), &VerifyOptions::default())
            .unwrap_err()
            .is_verification_failure()
    );
}

#[yinzheng_tests::peer_test(openssl)]
fn p256_cms_both_ways_with_openssl() {
    let dir = tempdir();
    let d = dir.path();
    let (key, cert) = openssl_cert(d, "p256", false, LEAF_EXT);
    let data = b"international mode";
    fs::write(d.join("data"), data).unwrap();
    let cms = sign_detached(&key, &cert, &[data], &SignOptions::default(), None).unwrap();
    fs::write(d.join("ours.p7s"), &cms).unwrap();
    openssl_ok(
        d,
        &[
            "cms",
            "-verify",
            "-binary",
            "-inform",
            "DER",
            "-in",
            "ours.p7s",
            "-content",
            "data",
            "-CAfile",
            "p256.pem",
            "-purpose",
            "any",
            "-out",
            "/dev/null",
        ],
    );
    let printed = openssl_ok(
        d,
        &[
            "cms", "-cmsout", "-print", "-inform", "DER", "-in", "ours.p7s",
        ],
    );
    let printed = String::from_utf8_lossy(&printed.stdout);
    assert!(printed.contains("ecdsa-with-SHA256"), "{printed}");
    assert!(
        printed.contains("id-smime-aa-signingCertificateV2"),
        "{printed}"
    );

    openssl_ok(
        d,
        &[
            "cms",
            "-sign",
            "-binary",
            "-md",
            "sha256",
            "-in",
            "data",
            "-signer",
            "p256.pem",
            "-inkey",
            "p256.key",
            "-outform",
            "DER",
            "-out",
            "theirs.p7s",
        ],
    );
    let theirs = fs::read(d.join("theirs.p7s")).unwrap();
    let sd = SignedData::parse(&theirs).unwrap();
    let v = sd
        .verify_signer(0, Some(&[data]), &VerifyOptions::default())
        .unwrap();
    assert_eq!(v.certificate, cert);
    assert!(v.signing_time.is_some(), "OpenSSL adds signingTime");
    let e = sd
        .verify_signer(0, Some(&[b"internationaL mode"]), &VerifyOptions::default())
        .unwrap_err();
    assert!(matches!(e, yinzheng_cms::Error::DigestMismatch(_)), "{e}");
}

#[yinzheng_tests::peer_test(openssl)]
fn gmt0010_flavour_uses_the_national_oids() {
    let dir = tempdir();
    let d = dir.path();
    let (key, cert) = openssl_cert(d, "sm2", true, LEAF_EXT);
    let opts = SignOptions {
        flavour: Flavour::GmT0010,
        ..Default::default()
    };
    let cms = sign_detached(&key, &cert, &[b"x"], &opts, None).unwrap();
    let sd = SignedData::parse(&cms).unwrap();
    assert_eq!(sd.flavour(), Flavour::GmT0010);
    assert_eq!(sd.content_type(), oid::GM_DATA);
    assert_eq!(sd.signers()[0].signature_oid(), oid::SM2_SIGN);
    sd.verify_signer(0, Some(&[b"x"]), &VerifyOptions::default())
        .unwrap();
}

#[yinzheng_tests::peer_test(openssl)]
fn time_stamps_interoperate_with_openssl_ts() {
    let dir = tempdir();
    let d = dir.path();
    let tsa_ext = "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,nonRepudiation\nextendedKeyUsage=critical,timeStamping\nsubjectKeyIdentifier=hash";
    let (key, cert) = openssl_cert(d, "tsa", false, tsa_ext);
    let tsa = TimeStampAuthority::new(Box::new(key), cert.clone(), vec![], None).unwrap();
    let data = b"the signature value being time-stamped";
    fs::write(d.join("data"), data).unwrap();
    let at = time::OffsetDateTime::now_utc();
    let token = tsa.stamp_data(data, at).unwrap();
    fs::write(d.join("token.der"), &token).unwrap();
    // OpenSSL's TSA verifier accepts our token
    let out = openssl_ok(
        d,
        &[
            "ts",
            "-verify",
            "-data",
            "data",
            "-in",
            "token.der",
            "-token_in",
            "-CAfile",
            "tsa.pem",
        ],
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("Verification: OK"));
    fs::write(d.join("other"), b"something else").unwrap();
    let bad = openssl_run(
        d,
        &[
            "ts",
            "-verify",
            "-data",
            "other",
            "-in",
            "token.der",
            "-token_in",
            "-CAfile",
            "tsa.pem",
        ],
    );
    assert!(!String::from_utf8_lossy(&bad.stdout).contains("Verification: OK"));
    // ours
    let v = verify_time_stamp(&token, data, &VerifyOptions::default()).unwrap();
    assert_eq!(v.info.gen_time.unix_timestamp(), at.unix_timestamp());
    assert!(verify_time_stamp(&token, b"x", &VerifyOptions::default()).is_err());

    // OpenSSL's TSA, verified by ours
    fs::write(d.join("ts.cnf"), "[tsa]\ndefault_tsa=t\n[t]\nserial=./serial\nsigner_digest=sha256\ndefault_policy=1.2.3.4\ndigests=sha256\naccuracy=secs:1\ness_cert_id_alg=sha256\n").unwrap();
    fs::write(d.join("serial"), "01\n").unwrap();
    openssl_ok(
        d,
        &[
            "ts", "-query", "-data", "data", "-sha256", "-cert", "-out", "q.tsq",
        ],
    );
    openssl_ok(
        d,
        &[
            "ts",
            "-reply",
            "-config",
            "ts.cnf",
            "-section",
            "t",
            "-queryfile",
            "q.tsq",
            "-signer",
            "tsa.pem",
            "-inkey",
            "tsa.key",
            "-token_out",
            "-out",
            "theirs.der",
        ],
    );
    let theirs = fs::read(d.join("theirs.der")).unwrap();
    let v = verify_time_stamp(&theirs, data, &VerifyOptions::default()).unwrap();
    assert_eq!(v.info.policy, "1.2.3.4");
    assert_eq!(v.signer.certificate, cert);
}

#[test]
fn malformed_cms_gets_typed_errors_not_panics() {
    for bad in [
        &b""[..],
        b"\x30",
        b"\x30\x03\x06\x01\x00",
        b"\x30\x80\x00\x00",
        &[0x30, 0x84, 0xff, 0xff, 0xff, 0xff],
    ] {
        assert!(SignedData::parse(bad).is_err());
    }
    let mut padded = vec![0x30, 0x00];
    padded.extend([0u8; 10]);
    let e = SignedData::parse(&padded).unwrap_err();
    assert!(e.to_string().contains("trailing"), "{e}");
}

#[yinzheng_tests::peer_test(openssl)]
fn every_truncation_and_byte_flip_of_a_real_cms_is_an_error_or_a_failure_never_a_panic() {
    let dir = tempdir();
    let (key, cert) = openssl_cert(dir.path(), "sm2", true, LEAF_EXT);
    let (tsa_key, tsa_cert) = openssl_cert(dir.path(), "tsa", true, LEAF_EXT);
    let tsa = TimeStampAuthority::new(Box::new(tsa_key), tsa_cert, vec![], None).unwrap();
    let stamper = |sig: &[u8]| tsa.stamp_data(sig, time::OffsetDateTime::now_utc());
    let cms = sign_detached(
        &key,
        &cert,
        &[b"data"],
        &SignOptions::default(),
        Some(&stamper),
    )
    .unwrap();
    let sd = SignedData::parse(&cms).unwrap();
    let token = sd.signers()[0].unsigned_values(oid::ATTR_TIME_STAMP_TOKEN)[0].to_vec();
    verify_time_stamp(
        &token,
        sd.signers()[0].signature(),
        &VerifyOptions::default(),
    )
    .unwrap();
    for len in 0..cms.len() {
        assert!(SignedData::parse(&cms[..len]).is_err());
    }
    // The signed ranges: the signed attributes as received (tag, length and
    // contents; the message digest inside them binds the content) and the
    // signature value. Every single flip inside them must fail.
    let signer = &sd.signers()[0];
    let attrs = signer.signed_attrs_der().expect("signed attributes");
    let attrs_at = find(&cms, &attrs[1..]).expect("signed attributes in the CMS") - 1;
    assert_eq!(cms[attrs_at], 0xa0, "the [0] IMPLICIT tag of signedAttrs");
    let sig_at = find(&cms, signer.signature()).expect("signature in the CMS");
    let signed: Vec<usize> = (attrs_at..attrs_at + attrs.len())
        .chain(sig_at..sig_at + signer.signature().len())
        .collect();
    let verifies = |m: &[u8]| {
        SignedData::parse(m).is_ok_and(|sd| {
            sd.verify_signer(0, Some(&[b"data"]), &VerifyOptions::default())
                .is_ok()
        })
    };
    for &i in &signed {
        for mask in [0x01u8, 0x80, 0xff] {
            let mut m = cms.clone();
            m[i] ^= mask;
            assert!(
                !verifies(&m),
                "a flip (^{mask:#04x}) at byte {i}, inside the signed ranges, still verifies"
            );
        }
    }
    // Elsewhere (unsigned certificate bytes outside the key, the time-stamp
    // attribute) a flip may verify; it must never panic.
    let mut accepted = 0;
    for i in (0..cms.len()).filter(|i| !signed.contains(i)) {
        let mut m = cms.clone();
        m[i] ^= 0x5a;
        accepted += usize::from(verifies(&m));
    }
    assert!(accepted < cms.len() - signed.len(), "{accepted}");
    for i in 0..token.len() {
        let mut m = token.clone();
        m[i] ^= 0x01;
        let _ = verify_time_stamp(&m, sd.signers()[0].signature(), &VerifyOptions::default());
    }
}

/// The offset of the first occurrence of `needle` in `hay`.
fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// RFC 4998 evidence records: five objects under one archive time stamp,
/// renewed twice by time stamp and once by hash tree (SHA-256 to SM3);
/// OpenSSL's `ts -verify` checks every token against the imprint our
/// verifier computed; every alteration — the data, a partial hash tree, a
/// dropped or reordered link, a token of another record — is refused and
/// the broken link named.
#[yinzheng_tests::peer_test(openssl)]
fn evidence_records_renew_and_openssl_checks_each_time_stamp() {
    use yinzheng_cms::{Error, EvidenceRecord};
    let dir = tempdir();
    let d = dir.path();
    let tsa_ext = "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,nonRepudiation\nextendedKeyUsage=critical,timeStamping\nsubjectKeyIdentifier=hash";
    let (key, cert) = openssl_cert(d, "tsa", false, tsa_ext);
    let tsa = TimeStampAuthority::new(Box::new(key), cert, vec![], None).unwrap();
    let t0 = time::OffsetDateTime::now_utc() - time::Duration::days(3);
    let mut clock = 0i64;
    let mut stamp = |digest: Digest, imprint: &[u8]| {
        clock += 1;
        tsa.stamp(digest, imprint, t0 + time::Duration::hours(clock))
    };
    let objects: Vec<Vec<u8>> = (0..5)
        .map(|i| format!("archived object {i}").into_bytes())
        .collect();
    let hashes: Vec<Vec<u8>> = objects.iter().map(|o| Digest::Sha256.digest(o)).collect();
    let mut records = EvidenceRecord::archive(Digest::Sha256, &hashes, &mut stamp).unwrap();
    assert_eq!(records.len(), 5);
    let opts = VerifyOptions::default();
    for (r, o) in records.iter().zip(&objects) {
        assert_eq!(r.verify(o, &opts).unwrap().len(), 1);
    }
    // Renewals of object 3's record; it round-trips through DER.
    let mut er = records.swap_remove(3);
    er.renew_time_stamp(&mut stamp).unwrap();
    er.renew_time_stamp(&mut stamp).unwrap();
    er.renew_hash_tree(&objects[3], Digest::Sm3, &mut stamp)
        .unwrap();
    er.renew_time_stamp(&mut stamp).unwrap();
    let der = er.to_der();
    let er = EvidenceRecord::parse(&der).unwrap();
    assert_eq!(er.to_der(), der);
    let links = er.verify(&objects[3], &opts).unwrap();
    assert_eq!(
        links.iter().map(|l| (l.chain, l.index)).collect::<Vec<_>>(),
        vec![(0, 0), (0, 1), (0, 2), (1, 0), (1, 1)]
    );
    // OpenSSL checks each token over the imprint we computed.
    for l in &links {
        let ats = &er.chains[l.chain][l.index];
        fs::write(d.join("token.der"), &ats.time_stamp).unwrap();
        let out = openssl_ok(
            d,
            &[
                "ts",
                "-verify",
                "-digest",
                &l.imprint
                    .iter()
                    .map(|b| format!("{b:02x}"))
                    .collect::<String>(),
                "-in",
                "token.der",
                "-token_in",
                "-CAfile",
                "tsa.pem",
            ],
        );
        assert!(
            String::from_utf8_lossy(&out.stdout).contains("Verification: OK"),
            "link {}.{}",
            l.chain,
            l.index
        );
    }
    let named = |r: &EvidenceRecord, data: &[u8]| match r.verify(data, &opts) {
        Err(Error::EvidenceRecord { chain, stamp, why }) => (chain, stamp, why),
        other => panic!("{other:?}"),
    };
    // Another object of the tree — its neighbour too: refused at the first
    // link (a record's first partial hash tree holds its own hash alone).
    for other in [&objects[0], &objects[2]] {
        let (c, s, why) = named(&er, other);
        assert_eq!((c, s), (0, 0), "{why}");
    }
    // A partial hash tree altered.
    let mut bad = er.clone();
    bad.chains[0][0].reduced[1][0][0] ^= 1;
    let (c, s, why) = named(&bad, &objects[3]);
    assert_eq!((c, s), (0, 0), "{why}");
    // A renewal link dropped: the next one covers a token that is not there.
    let mut bad = er.clone();
    bad.chains[0].remove(1);
    let (c, s, _) = named(&bad, &objects[3]);
    assert_eq!((c, s), (0, 1));
    // A link moved before its predecessor.
    let mut bad = er.clone();
    bad.chains[0].swap(1, 2);
    let (c, s, _) = named(&bad, &objects[3]);
    assert_eq!((c, s), (0, 1));
    // The first chain altered after the hash-tree renewal covered it.
    let mut bad = er.clone();
    let other_token = records[0].chains[0][0].clone();
    bad.chains[0][0] = other_token;
    assert!(matches!(
        bad.verify(&objects[3], &opts),
        Err(Error::EvidenceRecord { .. })
    ));
    let mut bad = er.clone();
    bad.chains[0].pop();
    let (c, s, _) = named(&bad, &objects[3]);
    assert_eq!((c, s), (1, 0));
    // A token's signature broken.
    let mut bad = er.clone();
    let n = bad.chains[1][1].time_stamp.len();
    bad.chains[1][1].time_stamp[n - 10] ^= 1;
    let (c, s, why) = named(&bad, &objects[3]);
    assert_eq!((c, s), (1, 1), "{why}");
    // Truncated and mutated DER: errors, never panics.
    for cut in (0..der.len()).step_by(97) {
        assert!(EvidenceRecord::parse(&der[..cut]).is_err());
    }
    for i in (0..der.len()).step_by(13) {
        let mut m = der.clone();
        m[i] ^= 0x41;
        if let Ok(r) = EvidenceRecord::parse(&m) {
            let _ = r.verify(&objects[3], &opts);
        }
    }
}
