//! `yinzheng-audit` end to end: a license issued with the `yinzheng` CLI,
//! exported as an evidence bundle with a trust-anchors file, verified on a
//! copy of the two files with the network namespace cut (`unshare -n`);
//! tampering anywhere in the bundle is located; the HTML report is
//! self-contained; the dependency tree holds no network crate.

#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use yinzheng_tests::{run_cli, tempdir};

const AUDIT: &str = env!("CARGO_BIN_EXE_yinzheng-audit");

/// The `yinzheng` binary of this workspace, next to ours: `cargo test
/// --workspace` (scripts/test.sh) builds it in the same run; only when it is
/// missing (`cargo test -p yinzheng-audit` alone) is cargo asked to build it.
fn yinzheng_bin() -> PathBuf {
    static BUILT: std::sync::Once = std::sync::Once::new();
    let p = Path::new(AUDIT).with_file_name("yinzheng");
    if p.exists() {
        return p;
    }
    BUILT.call_once(|| {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let st = Command::new(cargo)
            .args(["build", "-p", "yinzheng-cli", "--bin", "yinzheng"])
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .status()
            .unwrap();
        assert!(st.success(), "building the yinzheng CLI failed");
    });
    assert!(p.exists(), "{} not found", p.display());
    p
}

fn yz(dir: &Path, args: &[&str]) -> Output {
    let bin = yinzheng_bin();
    let out = run_cli(
        bin.to_str().unwrap(),
        dir,
        args,
        &[("YINZHENG_PASSPHRASE", "pass phrase")],
    );
    yinzheng_tests::assert_success(out, &args)
}

/// Run yinzheng-audit with the network namespace cut.
fn audit_offline(dir: &Path, args: &[&str]) -> Output {
    // `unshare -n` as root; `unshare -rn` (a user namespace mapping us to
    // root) where unprivileged user namespaces are enabled.
    let mut why = String::new();
    let flags = [&["-n"][..], &["-r", "-n"][..]]
        .into_iter()
        .find(
            |f| match Command::new("unshare").args(*f).arg("true").output() {
                Ok(o) if o.status.success() => true,
                Ok(o) => {
                    why = String::from_utf8_lossy(&o.stderr).trim().to_string();
                    false
                }
                Err(e) => panic!("`unshare` (util-linux) is needed for the offline test: {e}"),
            },
        )
        .unwrap_or_else(|| {
            panic!(
                "neither `unshare -n` nor `unshare -rn` is permitted here ({why}): this test \
                 proves the auditor works without network and needs CAP_SYS_ADMIN or \
                 unprivileged user namespaces"
            )
        });
    let out = Command::new("unshare")
        .args(flags)
        .arg(AUDIT)
        .args(args)
        .current_dir(dir)
        .env_clear()
        .output()
        .unwrap();
    assert!(
        !String::from_utf8_lossy(&out.stderr).contains("panicked"),
        "{args:?} panicked: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn audit(dir: &Path, args: &[&str]) -> Output {
    let out = Command::new(AUDIT)
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap();
    assert!(
        !String::from_utf8_lossy(&out.stderr).contains("panicked"),
        "{args:?} panicked: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// A CA, a seal, a log and one license (as in crates/cli/tests/license.rs).
fn issue_license(d: &Path) -> String {
    issue_license_with(d, &[])
}

/// [`issue_license`], with `extra` arguments to the seal maker's and
/// signer's `ca issue` (e.g. a short `--days`).
fn issue_license_with(d: &Path, extra: &[&str]) -> String {
    yz(
        d,
        &[
            "ca",
            "init",
            "--subject",
            "CN=Audit Root CA,O=Yinzheng,C=CN",
        ],
    );
    std::fs::write(d.join("kpw"), "pass phrase\n").unwrap();
    let kp = ["--key-passphrase-file", "kpw"];
    yz(
        d,
        &[
            &[
                "ca",
                "issue",
                "--profile",
                "seal-maker",
                "--subject",
                "CN=Seal Maker,O=Yinzheng,C=CN",
                "--out",
                "maker.pem",
                "--key-out",
                "maker.key",
            ][..],
            &kp,
            extra,
        ]
        .concat(),
    );
    yz(
        d,
        &[
            &[
                "ca",
                "issue",
                "--profile",
                "seal-signer",
                "--subject",
                "CN=示例市市场监督管理局,O=示例市市场监督管理局,C=CN",
                "--uscc",
                "11430000006122244L",
                "--out",
                "auth.pem",
                "--key-out",
                "auth.key",
            ][..],
            &kp,
            extra,
        ]
        .concat(),
    );
    yz(
        d,
        &[
            "seal",
            "make",
            "--type",
            "official",
            "--name",
            "示例市市场监督管理局",
            "--holder-uscc",
            "11430000006122244L",
            "--signer-cert",
            "auth.pem",
            "--maker-cert",
            "maker.pem",
            "--maker-key",
            "maker.key",
            "--passphrase-file",
            "kpw",
            "--draw",
            "--draw-text",
            "示例市市场监督管理局",
            "--id",
            "reg",
            "--out",
            "reg.esl",
        ],
    );
    yz(d, &["log", "init", "--passphrase-file", "kpw"]);
    let out = yz(
        d,
        &[
            "--json",
            "license",
            "issue",
            "--type",
            "business-licence",
            "--holder-name",
            "示例科技有限公司",
            "--holder-code",
            "91350100M000100Y43",
            "--field",
            "company_type=有限责任公司",
            "--field",
            "legal_rep=张三",
            "--field",
            "established=2020年1月2日",
            "--field",
            "address=示例市示例区示例路1号",
            "--seal",
            "reg",
            "--key",
            "auth.key",
            "--passphrase-file",
            "kpw",
        ],
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    v["id"].as_str().unwrap().to_string()
}

/// Rewrite one member of a bundle, keeping a well-formed zip (what an
/// attacker who understands the format would do).
/// An edit of one member's bytes.
type Edit = dyn Fn(&mut Vec<u8>);

fn rewrite_member(bundle: &[u8], name: &str, f: &Edit) -> Vec<u8> {
    use std::io::{Read, Write};
    let mut z = zip::ZipArchive::new(std::io::Cursor::new(bundle)).unwrap();
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let opts =
        zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    let mut found = false;
    for i in 0..z.len() {
        let mut m = z.by_index(i).unwrap();
        let n = m.name().to_string();
        let mut data = Vec::new();
        m.read_to_end(&mut data).unwrap();
        if n == name {
            f(&mut data);
            found = true;
        }
        w.start_file(n, opts).unwrap();
        w.write_all(&data).unwrap();
    }
    assert!(found, "no member {name}");
    w.finish().unwrap().into_inner()
}

#[allow(clippy::ptr_arg)] // an `Edit`: some edits replace the whole member
fn flip_middle(d: &mut Vec<u8>) {
    let i = d.len() / 2;
    d[i] ^= 0x01;
}

#[test]
fn evidence_bundle_verifies_offline_and_tampering_is_located() {
    let dir = tempdir();
    let d = dir.path();
    let id = issue_license(d);
    // A use of the license, anchored, so the bundle carries a usage record.
    yz(
        d,
        &[
            "license",
            "check",
            &id,
            "--purpose",
            "办理食品经营许可",
            "--caller",
            "approval-A",
            "--operator",
            "窗口07",
        ],
    );
    yz(d, &["trust", "export", "--out", "anchors.toml"]);
    let ev = format!("{id}.evidence");
    yz(
        d,
        &["license", "evidence", &id, "--out", &ev, "--with-crls"],
    );

    // The auditor's machine: a copy of the two files and nothing else.
    let aud = tempdir();
    let a = aud.path();
    std::fs::copy(d.join("anchors.toml"), a.join("anchors.toml")).unwrap();
    std::fs::copy(d.join(&ev), a.join("license.evidence")).unwrap();
    let trust = toml_text(&a.join("anchors.toml"));
    assert!(trust.contains("untrusted_intermediates") && trust.contains("verifier_keys"));

    let out = audit_offline(
        a,
        &[
            "verify",
            "--trust",
            "anchors.toml",
            "license.evidence",
            "--html",
            "report.html",
        ],
    );
    let t = text(&out);
    assert_eq!(out.status.code(), Some(0), "{t}");
    assert!(t.starts_with("TOTAL_PASSED"), "{t}");
    assert!(
        t.contains("LogEntry") && t.contains("license.issued"),
        "{t}"
    );
    assert!(
        t.contains("CRLs of the trust domains at export time"),
        "{t}"
    );
    assert!(t.contains("license.use"), "{t}");
    let html = std::fs::read_to_string(a.join("report.html")).unwrap();
    assert!(html.contains("VALID") && html.contains("src=\"data:image/png;base64,"));
    assert!(!html.contains("http://") && !html.contains("https://") && !html.contains("<script"));

    let out = audit_offline(
        a,
        &[
            "verify",
            "--trust",
            "anchors.toml",
            "--json",
            "license.evidence",
        ],
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["indication"], "TOTAL_PASSED");
    assert_eq!(v["timeBasis"]["source"], "log-entry");
    // The license's status is labelled as the bundle lists it, in the text,
    // JSON and HTML reports, and an unchecked freshness is a warning.
    let label = "status at the checkpoint (as listed)";
    assert!(t.contains(label) && html.contains(label), "{t}");
    assert!(v.to_string().contains(label), "{v}");
    assert!(t.contains("may be stale"), "{t}");

    // Newer entries in the log: the newest checkpoint and the consistency
    // proof from the bundle's checkpoint say how many, and a bundle whose
    // checkpoint is not a prefix of the newest fails.
    let bundle_cp = {
        let note = String::from_utf8(yz(d, &["log", "checkpoint"]).stdout).unwrap();
        note.lines().nth(1).unwrap().trim().parse::<u64>().unwrap()
    };
    for purpose in ["办理食品经营许可", "复核"] {
        yz(
            d,
            &[
                "license",
                "check",
                &id,
                "--purpose",
                purpose,
                "--caller",
                "approval-B",
                "--operator",
                "窗口08",
            ],
        );
    }
    let newest = yz(d, &["log", "checkpoint"]).stdout;
    std::fs::write(a.join("newest.checkpoint"), &newest).unwrap();
    let proof = yz(
        d,
        &["log", "consistency", "--old-size", &bundle_cp.to_string()],
    )
    .stdout;
    std::fs::write(a.join("consistency.proof"), &proof).unwrap();
    let out = audit_offline(
        a,
        &[
            "verify",
            "--trust",
            "anchors.toml",
            "--newest-checkpoint",
            "newest.checkpoint",
            "--consistency-proof",
            "consistency.proof",
            "license.evidence",
        ],
    );
    let t = text(&out);
    assert_eq!(out.status.code(), Some(0), "{t}");
    assert!(t.contains("is a prefix of the newest checkpoint"), "{t}");
    assert!(t.contains("entries were logged after"), "{t}");
    // A proof for other sizes does not tie the bundle to the newest checkpoint.
    let other = yz(d, &["log", "consistency", "--old-size", "1"]).stdout;
    std::fs::write(a.join("other.proof"), &other).unwrap();
    let out = audit_offline(
        a,
        &[
            "verify",
            "--trust",
            "anchors.toml",
            "--newest-checkpoint",
            "newest.checkpoint",
            "--consistency-proof",
            "other.proof",
            "license.evidence",
        ],
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));

    // Tampering, member by member, with a well-formed zip: the report names it.
    let bundle = std::fs::read(a.join("license.evidence")).unwrap();
    let cases: &[(&str, &Edit, &str)] = &[
        (
            "documents/license.pdf",
            &flip_middle,
            "documents/license.pdf",
        ),
        (
            "documents/license.ofd",
            &flip_middle,
            "documents/license.ofd",
        ),
        (
            "certificates/chain.pem",
            &|d| {
                let s = String::from_utf8(d.clone()).unwrap();
                let i = s.find("MII").unwrap() + 40;
                d[i] = if d[i] == b'A' { b'B' } else { b'A' };
            },
            "certificates/chain.pem",
        ),
        (
            "log/checkpoint",
            &|d| {
                let i = d.iter().position(|&b| b == b'\n').unwrap() + 1;
                d[i] = if d[i] == b'1' { b'2' } else { b'1' };
            },
            "log/checkpoint",
        ),
        (
            "events/00-issued.tlog-proof",
            &|d| {
                // A proof hash: the line after "index …".
                let s = String::from_utf8(d.clone()).unwrap();
                let i = s.find("\nindex ").unwrap();
                let j = s[i + 1..].find('\n').unwrap() + i + 2;
                d[j + 3] = if d[j + 3] == b'A' { b'B' } else { b'A' };
            },
            "events/00-issued.tlog-proof",
        ),
    ];
    for (member, f, named) in cases {
        let bad = rewrite_member(&bundle, member, f);
        std::fs::write(a.join("bad.evidence"), &bad).unwrap();
        let out = audit_offline(a, &["verify", "--trust", "anchors.toml", "bad.evidence"]);
        let t = text(&out);
        assert_eq!(out.status.code(), Some(1), "{member}: {t}");
        assert!(
            t.lines().any(|l| l.contains("[FAIL]") && l.contains(named)),
            "{member}: no failed check names {named}:\n{t}"
        );
    }
    // The manifest is rewritten consistently too (member SM3 updated): the
    // semantic checks still catch a changed PDF.
    let bad = rewrite_member(&bundle, "documents/license.pdf", &flip_middle);
    let bad = rewrite_member(&bad, "manifest.json", &|m| {
        let mut v: serde_json::Value = serde_json::from_slice(m).unwrap();
        v["members"].as_object_mut().unwrap().clear();
        *m = serde_json::to_vec(&v).unwrap();
    });
    std::fs::write(a.join("bad.evidence"), &bad).unwrap();
    let out = audit_offline(a, &["verify", "--trust", "anchors.toml", "bad.evidence"]);
    let t = text(&out);
    assert_eq!(out.status.code(), Some(1), "{t}");
    assert!(
        t.contains("is not among the digests of the issued entry"),
        "{t}"
    );

    // One raw byte changed inside any member's data (no rezipping): the
    // failed checks name the member.
    let mut z = zip::ZipArchive::new(std::io::Cursor::new(bundle.as_slice())).unwrap();
    let names: Vec<String> = z.file_names().map(str::to_string).collect();
    assert!(names.len() >= 8, "{names:?}");
    for name in &names {
        let mut data = Vec::new();
        std::io::Read::read_to_end(&mut z.by_name(name).unwrap(), &mut data).unwrap();
        let at = bundle
            .windows(data.len())
            .position(|w| w == data.as_slice())
            .unwrap();
        let mut bad = bundle.clone();
        bad[at + data.len() / 2] ^= 0x20;
        std::fs::write(a.join("bad.evidence"), &bad).unwrap();
        let out = audit(a, &["verify", "--trust", "anchors.toml", "bad.evidence"]);
        let t = text(&out);
        assert_eq!(out.status.code(), Some(1), "{name}: {t}");
        assert!(
            t.lines()
                .any(|l| l.contains("[FAIL]") && l.contains(name.as_str())),
            "{name}: no failed check names it:\n{t}"
        );
    }

    // The other trust: a different log key fails the checkpoint.
    let other = trust.replace("verifier_keys = [\"", "verifier_keys = [\"x");
    std::fs::write(a.join("other.toml"), other).unwrap();
    let out = audit(a, &["verify", "--trust", "other.toml", "license.evidence"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));

    // Usage errors exit 2.
    let out = audit(
        a,
        &["verify", "--trust", "missing.toml", "license.evidence"],
    );
    assert_eq!(out.status.code(), Some(2));

    // The sealed PDF alone verifies too (judged now: the report says so).
    let pdf = d.join("home/licenses/files").join(&id).join("license.pdf");
    std::fs::copy(&pdf, a.join("license.pdf")).unwrap();
    yz(d, &["ca", "crl", "--out", "ca.crl"]);
    std::fs::copy(d.join("ca.crl"), a.join("ca.crl")).unwrap();
    let out = audit_offline(
        a,
        &[
            "verify",
            "--trust",
            "anchors.toml",
            "--crl",
            "ca.crl",
            "license.pdf",
        ],
    );
    let t = text(&out);
    assert_eq!(out.status.code(), Some(0), "{t}");
    assert!(t.contains("current time"), "{t}");

    // The license's history from the log's tiles.
    let out = audit_offline(
        d,
        &[
            "history",
            "--trust",
            "anchors.toml",
            "--tiles",
            "home/log/tiles",
            "--license",
            &id,
        ],
    );
    let t = text(&out);
    assert_eq!(out.status.code(), Some(0), "{t}");
    assert!(
        t.contains("license.issued") && t.contains("license.use"),
        "{t}"
    );
}

fn toml_text(p: &Path) -> String {
    std::fs::read_to_string(p).unwrap()
}

#[test]
fn the_binary_has_no_network_code() {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = Command::new(cargo)
        .args([
            "tree",
            "-p",
            "yinzheng-audit",
            "-e",
            "normal",
            "--prefix",
            "none",
        ])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap();
    assert!(out.status.success(), "cargo tree: {}", text(&out));
    let tree = String::from_utf8_lossy(&out.stdout);
    assert!(tree.contains("yinzheng-document"), "{tree}");
    for bad in ["tokio", "hyper", "reqwest", "rustls", "ureq"] {
        let hit: Vec<&str> = tree
            .lines()
            .filter(|l| {
                l.split_whitespace()
                    .next()
                    .is_some_and(|n| n.starts_with(bad))
            })
            .collect();
        assert!(
            hit.is_empty(),
            "network crate in yinzheng-audit's tree: {hit:?}"
        );
    }
}

/// An evidence record (RFC 4998) made with `yinzheng evidence-record`,
/// judged offline by `yinzheng-audit evidence-record` from the anchors file
/// alone: valid now, naming when the file existed and by whose time stamp;
/// at a validation time decades on, past the TSA certificate's expiry with
/// no renewal, it no longer holds, the link named; another file fails.
#[test]
fn evidence_records_are_judged_offline_at_any_time() {
    let dir = tempdir();
    let d = dir.path();
    yz(
        d,
        &[
            "ca",
            "init",
            "--subject",
            "CN=Archive Root CA,O=Yinzheng,C=CN",
        ],
    );
    std::fs::write(d.join("license.ofd"), "the archived license".repeat(50)).unwrap();
    std::fs::write(d.join("sibling.ofd"), "its neighbour in the tree").unwrap();
    std::fs::write(d.join("other.ofd"), "another file").unwrap();
    yz(
        d,
        &[
            "evidence-record",
            "make",
            "license.ofd",
            "sibling.ofd",
            "other.ofd",
        ],
    );
    yz(d, &["ca", "crl", "--out", "ca.crl"]);
    yz(d, &["trust", "export", "--out", "anchors.toml"]);
    let run = |at: Option<&str>, file: &str| {
        let mut args = vec![
            "evidence-record",
            "--trust",
            "anchors.toml",
            "--crl",
            "ca.crl",
            "--json",
            "license.ofd.ers",
            file,
        ];
        if let Some(at) = at {
            args.extend(["--at", at]);
        }
        let out = audit_offline(d, &args);
        let v: serde_json::Value =
            serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", text(&out)));
        (out.status.code(), v)
    };
    let (code, v) = run(None, "license.ofd");
    assert_eq!(code, Some(0), "{v}");
    assert!(v.to_string().contains("existed at"), "{v}");
    let (code, v) = run(Some("2076-01-01T00:00:00Z"), "license.ofd");
    assert_eq!(code, Some(1), "{v}");
    assert!(v.to_string().contains("chain 0 link 0 TSA"), "{v}");
    for other in ["other.ofd", "sibling.ofd"] {
        let (code, v) = run(None, other);
        assert_eq!(code, Some(1), "{v}");
    }
    let bad = audit(
        d,
        &[
            "evidence-record",
            "--trust",
            "anchors.toml",
            "--at",
            "yesterday",
            "license.ofd.ers",
            "license.ofd",
        ],
    );
    assert_eq!(bad.status.code(), Some(2), "{}", text(&bad));
}

/// The first file named `name` under `dir`.
fn find_file(dir: &Path, name: &str) -> Option<PathBuf> {
    for e in std::fs::read_dir(dir).ok()?.flatten() {
        let p = e.path();
        if p.is_dir() {
            if let Some(f) = find_file(&p, name) {
                return Some(f);
            }
        } else if p.file_name().is_some_and(|n| n == name) {
            return Some(p);
        }
    }
    None
}

/// Members of a package's manifest rewritten to match `name`'s new bytes:
/// an attacker who understands the format.
fn with_consistent_manifest(pkg: &[u8], name: &str, f: &Edit) -> Vec<u8> {
    let changed = rewrite_member(pkg, name, f);
    let mut z = zip::ZipArchive::new(std::io::Cursor::new(&changed)).unwrap();
    let mut data = Vec::new();
    {
        use std::io::Read;
        z.by_name(name).unwrap().read_to_end(&mut data).unwrap();
    }
    let sm3 = yinzheng_crypto::sm3_hex(&data);
    let name = name.to_string();
    rewrite_member(&changed, "manifest.json", &move |m: &mut Vec<u8>| {
        let mut v: serde_json::Value = serde_json::from_slice(m).unwrap();
        v["members"][&name] = serde_json::json!(sm3);
        *m = serde_json::to_vec_pretty(&v).unwrap();
    })
}

#[test]
fn archive_packages_prove_a_license_a_pdf_and_an_ofd_years_later() {
    let dir = tempdir();
    let d = dir.path();
    // Seal maker and signer certificates live 30 days.
    let id = issue_license_with(d, &["--days", "30"]);
    // A PDF sealed with the same seal (signature time stamp), and the
    // license's OFD master as a file of its own.
    std::fs::copy(
        concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../scripts/samples/notice.pdf"
        ),
        d.join("notice.pdf"),
    )
    .unwrap();
    yz(
        d,
        &[
            "stamp",
            "--seal",
            "reg",
            "--key",
            "auth.key",
            "--passphrase-file",
            "kpw",
            "--in",
            "notice.pdf",
            "--out",
            "sealed.pdf",
            "--at",
            "120,90",
            "--tsa",
        ],
    );
    let ofd = find_file(&d.join("home"), "license.ofd").unwrap();
    std::fs::copy(&ofd, d.join("permit.ofd")).unwrap();
    yz(d, &["ca", "crl", "--out", "now.crl"]);
    yz(
        d,
        &[
            "archive",
            "export",
            "--license",
            &id,
            "--out",
            "license.archive",
        ],
    );
    let out = yz(
        d,
        &[
            "--json",
            "archive",
            "export",
            "sealed.pdf",
            "permit.ofd",
            "--out",
            "files.archive",
        ],
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        v["madeLongTerm"],
        serde_json::json!(["sealed.pdf"]),
        "{v:#}"
    );
    yz(d, &["trust", "export", "--out", "anchors.toml"]);
    // After the packages were made: the signer is revoked (superseded),
    // then the CA's data — CRLs, keys, registry, log — is gone.
    yz(d, &["ca", "revoke", "auth.pem", "--reason", "superseded"]);
    std::fs::remove_dir_all(d.join("home")).unwrap();

    let aud = tempdir();
    let a = aud.path();
    for f in ["anchors.toml", "license.archive", "files.archive"] {
        std::fs::copy(d.join(f), a.join(f)).unwrap();
    }
    // Four years on: every signer and seal-maker certificate long expired
    // (the archive TSA's, five years, and the CAs' still hold).
    let four_years = time::OffsetDateTime::now_utc() + time::Duration::days(4 * 365);
    let at = four_years
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();
    for pkg in ["license.archive", "files.archive"] {
        let out = audit_offline(
            a,
            &[
                "archive",
                "--trust",
                "anchors.toml",
                "--at",
                &at,
                pkg,
                "--html",
                "r.html",
            ],
        );
        let t = text(&out);
        assert_eq!(out.status.code(), Some(0), "{pkg}: {t}");
        for p in ["真实性", "完整性", "可用性", "安全性"] {
            assert!(t.contains(&format!("{p} ")), "{t}");
        }
        assert!(!t.contains("not passed"), "{t}");
        assert!(t.contains("existed at"), "{t}");
        let html = std::fs::read_to_string(a.join("r.html")).unwrap();
        assert!(html.contains("四性检测"), "{html}");
        let out = audit_offline(
            a,
            &[
                "archive",
                "--json",
                "--trust",
                "anchors.toml",
                "--at",
                &at,
                pkg,
            ],
        );
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let props = v["properties"].as_array().unwrap();
        assert_eq!(props.len(), 4, "{v:#}");
        assert!(props.iter().all(|p| p["result"] != "not passed"), "{v:#}");
    }
    let out = audit_offline(
        a,
        &[
            "archive",
            "--trust",
            "anchors.toml",
            "--at",
            &at,
            "license.archive",
        ],
    );
    let t = text(&out);
    assert!(t.contains("license.issued"), "{t}");
    // The log checkpoint is under the archive time stamp too.
    assert!(t.contains("independently of the log's key"), "{t}");

    // Six years on the archive TSA's certificate has lapsed and nothing
    // renewed the records: not decided, and the property says so.
    let six = (time::OffsetDateTime::now_utc() + time::Duration::days(6 * 365))
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();
    let out = audit_offline(
        a,
        &[
            "archive",
            "--trust",
            "anchors.toml",
            "--at",
            &six,
            "files.archive",
        ],
    );
    let t = text(&out);
    assert_eq!(out.status.code(), Some(1), "{t}");
    assert!(t.contains("安全性 security: not passed"), "{t}");

    // Altered: a byte of the sealed PDF changed (the manifest's SM3 names
    // it); then the same with the manifest rewritten to match (the evidence
    // record and the signature name it).
    let pkg = std::fs::read(a.join("files.archive")).unwrap();
    std::fs::write(
        a.join("x.archive"),
        rewrite_member(&pkg, "records/sealed.pdf", &flip_middle),
    )
    .unwrap();
    let out = audit_offline(
        a,
        &[
            "archive",
            "--trust",
            "anchors.toml",
            "--at",
            &at,
            "x.archive",
        ],
    );
    let t = text(&out);
    assert_eq!(out.status.code(), Some(1), "{t}");
    assert!(t.contains("完整性 integrity: not passed"), "{t}");
    assert!(t.contains("records/sealed.pdf"), "{t}");
    std::fs::write(
        a.join("y.archive"),
        with_consistent_manifest(&pkg, "records/permit.ofd", &flip_middle),
    )
    .unwrap();
    let out = audit_offline(
        a,
        &[
            "archive",
            "--trust",
            "anchors.toml",
            "--at",
            &at,
            "y.archive",
        ],
    );
    let t = text(&out);
    assert_eq!(out.status.code(), Some(1), "{t}");
    assert!(
        t.contains("records/permit.ofd") && t.contains("evidence record does not hold"),
        "{t}"
    );

    // The sealed PDF declared "data", so that its seal would go unjudged.
    let as_data = rewrite_member(&pkg, "manifest.json", &|m: &mut Vec<u8>| {
        let mut v: serde_json::Value = serde_json::from_slice(m).unwrap();
        for r in v["records"].as_array_mut().unwrap() {
            if r["path"] == "records/sealed.pdf" {
                r["format"] = serde_json::json!("data");
            }
        }
        *m = serde_json::to_vec_pretty(&v).unwrap();
    });
    let out = audit_archive(a, &at, "d.archive", &as_data);
    let t = text(&out);
    assert_eq!(out.status.code(), Some(1), "{t}");
    assert!(t.contains("declared data, but it is a pdf"), "{t}");

    // A genuine record with its genuine evidence record from another
    // package (another archive time stamp) swapped in.
    let lic = std::fs::read(a.join("license.archive")).unwrap();
    let other_pdf = member_of(&lic, "records/license.pdf");
    let other_ers = member_of(&lic, "proofs/license.pdf.ers");
    let swapped = with_consistent_manifest(&pkg, "records/sealed.pdf", &move |d: &mut Vec<u8>| {
        *d = other_pdf.clone()
    });
    let swapped =
        with_consistent_manifest(&swapped, "proofs/sealed.pdf.ers", &move |d: &mut Vec<
            u8,
        >| {
            *d = other_ers.clone()
        });
    let out = audit_archive(a, &at, "s.archive", &swapped);
    let t = text(&out);
    assert_eq!(out.status.code(), Some(1), "{t}");
    assert!(
        t.contains("do not start with the same archive time stamp"),
        "{t}"
    );

    // The license's bundle stripped of its OFD master (its member SM3s
    // recomputed), a forged master in its place among the records: the
    // issued entry names a document the bundle does not hold.
    let bundle_name = format!("license/{id}.evidence");
    let stripped = with_consistent_manifest(&lic, &bundle_name, &|b: &mut Vec<u8>| {
        *b = rewrite_member(b, "manifest.json", &|m: &mut Vec<u8>| {
            let mut v: serde_json::Value = serde_json::from_slice(m).unwrap();
            v["documents"]
                .as_array_mut()
                .unwrap()
                .retain(|d| d["format"] != "ofd");
            *m = serde_json::to_vec_pretty(&v).unwrap();
        });
    });
    let out = audit_archive(a, &at, "l.archive", &stripped);
    let t = text(&out);
    assert_eq!(out.status.code(), Some(1), "{t}");
    assert!(t.contains("does not hold"), "{t}");
}

/// One member of a zip.
fn member_of(zip_bytes: &[u8], name: &str) -> Vec<u8> {
    use std::io::Read;
    let mut z = zip::ZipArchive::new(std::io::Cursor::new(zip_bytes)).unwrap();
    let mut data = Vec::new();
    z.by_name(name).unwrap().read_to_end(&mut data).unwrap();
    data
}

/// `yinzheng-audit archive` offline at `at` on `bytes` written as `name`.
fn audit_archive(a: &Path, at: &str, name: &str, bytes: &[u8]) -> Output {
    std::fs::write(a.join(name), bytes).unwrap();
    audit_offline(a, &["archive", "--trust", "anchors.toml", "--at", at, name])
}
