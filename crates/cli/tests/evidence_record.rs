//! `yinzheng evidence-record` (issue 23, RFC 4998): files of a region's
//! archive — an OFD, a detached signature, a license export — get one
//! archive time stamp by the trust domain's TSA over their hash tree; the
//! records are renewed by time stamp and by hash tree (SM3 to SHA-256);
//! each verifies for its own file against the domain's roots, with the TSA
//! certificate checked at each next link; another file, a broken link or an
//! altered record is refused, the link named.

#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::process::Output;
use yinzheng_tests::{run_cli, tempdir};

fn yz(dir: &Path, args: &[&str]) -> Output {
    run_cli(
        env!("CARGO_BIN_EXE_yinzheng"),
        dir,
        args,
        &[("YINZHENG_PASSPHRASE", "ca pass")],
    )
}

fn ok(dir: &Path, args: &[&str]) -> Output {
    yinzheng_tests::assert_success(yz(dir, args), &args)
}

fn json(out: &Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {out:?}"))
}

#[test]
fn evidence_records_are_made_renewed_and_verified_for_their_files() {
    let dir = tempdir();
    let d = dir.path();
    ok(
        d,
        &[
            "ca",
            "init",
            "--subject",
            "CN=Archive Root CA,O=Yinzheng,C=CN",
        ],
    );
    ok(d, &["ca", "export-roots", "--out", "roots.pem"]);
    let files = ["license.ofd", "signature.p7s", "export.zip"];
    for (i, f) in files.iter().enumerate() {
        std::fs::write(d.join(f), format!("archived content {i}").repeat(100)).unwrap();
    }
    let made = json(&ok(
        d,
        &[
            "--json",
            "evidence-record",
            "make",
            files[0],
            files[1],
            files[2],
        ],
    ));
    assert_eq!(made["records"].as_array().unwrap().len(), 3, "{made}");
    assert_eq!(made["hash"], "sm3");
    let verify = |record: &str, file: &str| {
        let out = yz(
            d,
            &[
                "--json",
                "evidence-record",
                "verify",
                record,
                file,
                "--trust",
                "roots.pem",
                "--untrusted",
                "home/pki/main/issuing.pem",
                "--no-revocation-required",
            ],
        );
        (out.status.code(), json(&out))
    };
    for f in files {
        let (code, v) = verify(&format!("{f}.ers"), f);
        assert_eq!(code, Some(0), "{v}");
        assert_eq!(v["links"].as_array().unwrap().len(), 1, "{v}");
    }
    // Another file — its neighbour in the tree too: refused, the link named.
    for other in ["export.zip", "signature.p7s"] {
        let (code, v) = verify("license.ofd.ers", other);
        assert_eq!(code, Some(1), "{v}");
        assert!(v.to_string().contains("chain 0 link 0"), "{v}");
    }
    // Records are not replaced without --force.
    let again = yz(d, &["evidence-record", "make", files[0]]);
    assert_eq!(again.status.code(), Some(2), "{again:?}");

    // Renewed: twice by time stamp, once by hash tree to SHA-256.
    ok(
        d,
        &[
            "evidence-record",
            "renew",
            "license.ofd.ers",
            "--data",
            "license.ofd",
        ],
    );
    ok(
        d,
        &[
            "evidence-record",
            "renew",
            "license.ofd.ers",
            "--data",
            "license.ofd",
        ],
    );
    ok(
        d,
        &[
            "evidence-record",
            "renew",
            "license.ofd.ers",
            "--hash",
            "sha256",
            "--data",
            "license.ofd",
        ],
    );
    let (code, v) = verify("license.ofd.ers", "license.ofd");
    assert_eq!(code, Some(0), "{v}");
    let links: Vec<(u64, u64, String)> = v["links"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            (
                l["chain"].as_u64().unwrap(),
                l["index"].as_u64().unwrap(),
                l["hash"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        links,
        vec![
            (0, 0, "sm3".into()),
            (0, 1, "sm3".into()),
            (0, 2, "sm3".into()),
            (1, 0, "sha256".into())
        ]
    );
    // A hash-tree renewal for another file is refused before stamping.
    let out = yz(
        d,
        &[
            "evidence-record",
            "renew",
            "signature.p7s.ers",
            "--hash",
            "sha256",
            "--data",
            "export.zip",
        ],
    );
    assert_eq!(out.status.code(), Some(2), "{out:?}");

    // A byte of the record changed (inside the last token): refused, named.
    let mut bytes = std::fs::read(d.join("license.ofd.ers")).unwrap();
    let n = bytes.len();
    bytes[n - 20] ^= 1;
    std::fs::write(d.join("altered.ers"), &bytes).unwrap();
    let (code, v) = verify("altered.ers", "license.ofd");
    assert_eq!(code, Some(1), "{v}");
    // Junk: an input error, never a panic.
    std::fs::write(d.join("junk.ers"), b"not a record").unwrap();
    let out = yz(
        d,
        &[
            "evidence-record",
            "verify",
            "junk.ers",
            "license.ofd",
            "--trust",
            "roots.pem",
        ],
    );
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    // Nor renewed: a new link on a record that does not hold is refused.
    let out = yz(
        d,
        &[
            "evidence-record",
            "renew",
            "altered.ers",
            "--data",
            "license.ofd",
        ],
    );
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    // Without the domain's roots the TSA is not trusted.
    ok(
        d,
        &[
            "ca",
            "init",
            "--subject",
            "CN=Other Root,O=Else,C=CN",
            "--domain",
            "other",
        ],
    );
    let out = yz(
        d,
        &[
            "--json",
            "evidence-record",
            "verify",
            "export.zip.ers",
            "export.zip",
            "--trust",
            "home/pki/other/root.pem",
            "--no-revocation-required",
        ],
    );
    assert_eq!(out.status.code(), Some(1), "{out:?}");
}

#[test]
fn a_log_checkpoint_is_time_stamped_once_and_its_record_proves_its_note() {
    let dir = tempdir();
    let d = dir.path();
    ok(
        d,
        &["ca", "init", "--subject", "CN=Log Root CA,O=Yinzheng,C=CN"],
    );
    ok(d, &["ca", "export-roots", "--out", "roots.pem"]);
    std::fs::write(d.join("lpw"), "log pass\n").unwrap();
    ok(d, &["log", "init", "--passphrase-file", "lpw"]);
    for i in 0..3 {
        std::fs::write(d.join("entry.txt"), format!("entry {i}\n")).unwrap();
        ok(
            d,
            &[
                "log",
                "append",
                "--data",
                "entry.txt",
                "--passphrase-file",
                "lpw",
            ],
        );
    }
    let made = json(&ok(d, &["--json", "log", "stamp"]));
    assert_eq!(made["new"], true, "{made}");
    let size = made["treeSize"].as_u64().unwrap();
    assert_eq!(size, 3, "{made}");
    let note = d.join(format!("home/log/stamps/{size}.checkpoint"));
    let record = d.join(format!("home/log/stamps/{size}.checkpoint.ers"));
    assert_eq!(
        std::fs::read(&note).unwrap(),
        std::fs::read(d.join("home/log/tiles/checkpoint")).unwrap()
    );
    // Once per checkpoint: a second run stamps nothing.
    let again = json(&ok(d, &["--json", "log", "stamp"]));
    assert_eq!(again["new"], false, "{again}");
    let verify = |file: &str| {
        yz(
            d,
            &[
                "evidence-record",
                "verify",
                record.to_str().unwrap(),
                file,
                "--trust",
                "roots.pem",
                "--untrusted",
                "home/pki/main/issuing.pem",
                "--no-revocation-required",
            ],
        )
        .status
        .code()
    };
    assert_eq!(verify(note.to_str().unwrap()), Some(0));
    // Another checkpoint (one byte of the root changed) is not the one stamped.
    let mut other = std::fs::read(&note).unwrap();
    let at = other.iter().position(|b| *b == b'\n').unwrap() + 4;
    other[at] ^= 1;
    std::fs::write(d.join("other.checkpoint"), other).unwrap();
    assert_eq!(verify("other.checkpoint"), Some(1));
}
