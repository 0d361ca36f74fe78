//! The PKI and seals the PDF tests share: two trust domains (SM2 "main",
//! P-256 "intl"), a seal maker, an SM2 and a P-256 signer, seals s1 and s2.
#![allow(clippy::unwrap_used, dead_code)]

use std::path::{Path, PathBuf};
use std::process::Output;
use yinzheng_tests::run_cli;

pub fn sample_pdf() -> PathBuf {
    PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../scripts/samples/notice.pdf"
    ))
}

pub fn yz(dir: &Path, args: &[&str]) -> Output {
    run_cli(
        env!("CARGO_BIN_EXE_yinzheng"),
        dir,
        args,
        &[("YINZHENG_PASSPHRASE", "ca pass")],
    )
}

pub fn ok(dir: &Path, args: &[&str]) -> Output {
    yinzheng_tests::assert_success(yz(dir, args), &args)
}

/// Two trust domains: "main" (SM2: seal maker, national signer) and "intl"
/// (ECDSA P-256: international signer, no OCSP URL since no responder runs
/// in the test and NSS treats an unreachable one as an error); seal s1 (SM2
/// signer) and s2 (P-256 signer), both drawn, made by the SM2 maker.
pub fn setup(d: &Path) {
    std::fs::write(d.join("kpw"), "key pass\n").unwrap();
    ok(
        d,
        &["ca", "init", "--subject", "CN=PDF Root CA,O=Yinzheng,C=CN"],
    );
    ok(
        d,
        &[
            "ca",
            "init",
            "--domain",
            "intl",
            "--key-alg",
            "p256",
            "--subject",
            "CN=PDF Intl Root CA,O=Yinzheng,C=CN",
        ],
    );
    let profiles = d.join("home/pki/intl/profiles.toml");
    let text = std::fs::read_to_string(&profiles).unwrap();
    let text: String = text
        .lines()
        .filter(|l| !l.starts_with("ocsp = \""))
        .map(|l| format!("{l}\n"))
        .collect();
    std::fs::write(&profiles, text).unwrap();
    ok(d, &["ca", "export-roots", "--out", "main-root.pem"]);
    ok(
        d,
        &[
            "ca",
            "export-roots",
            "--domain",
            "intl",
            "--out",
            "intl-root.pem",
        ],
    );
    let both = [
        std::fs::read(d.join("main-root.pem")).unwrap(),
        std::fs::read(d.join("intl-root.pem")).unwrap(),
    ]
    .concat();
    std::fs::write(d.join("roots.pem"), both).unwrap();
    let kp = ["--key-passphrase-file", "kpw"];
    ok(
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
        ]
        .concat(),
    );
    ok(
        d,
        &[
            &[
                "ca",
                "issue",
                "--profile",
                "seal-signer",
                "--subject",
                "CN=Example Org,O=Example Org,C=CN",
                "--uscc",
                "91350100M000100Y43",
                "--out",
                "org.pem",
                "--key-out",
                "org.key",
            ][..],
            &kp,
        ]
        .concat(),
    );
    ok(
        d,
        &[
            &[
                "ca",
                "issue",
                "--domain",
                "intl",
                "--key-alg",
                "p256",
                "--profile",
                "seal-signer",
                "--subject",
                "CN=Example Org,O=Example Org,C=CN",
                "--uscc",
                "91350100M000100Y43",
                "--out",
                "org-p256.pem",
                "--key-out",
                "org-p256.key",
            ][..],
            &kp,
        ]
        .concat(),
    );
    for (id, cert) in [("s1", "org.pem"), ("s2", "org-p256.pem")] {
        ok(
            d,
            &[
                "seal",
                "make",
                "--type",
                "official",
                "--name",
                "示例科技有限公司",
                "--holder-uscc",
                "91350100M000100Y43",
                "--signer-cert",
                cert,
                "--maker-cert",
                "maker.pem",
                "--maker-key",
                "maker.key",
                "--passphrase-file",
                "kpw",
                "--draw",
                "--id",
                id,
                "--out",
                &format!("{id}.esl"),
            ],
        );
    }
}

pub fn crls(d: &Path) {
    ok(d, &["ca", "crl", "--out", "main.crl"]);
    ok(d, &["ca", "crl", "--domain", "intl", "--out", "intl.crl"]);
}
