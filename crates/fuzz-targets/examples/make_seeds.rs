//! Writes the fuzz targets' seed corpora, `fuzz/seeds/<target>/`, from real
//! objects: a demo trust domain, seal and key (`yinzheng::demo`), a sealed PDF,
//! OFD and detached CMS, a log's evidence and checkpoint, a signed receipt,
//! the ofdrw vendor files and the Tessera test log in `testdata/interop`.
//!
//! `cargo run -p yinzheng-fuzz-targets --example make_seeds` — the seeds are
//! checked in; rerun when a format changes. `cargo fuzz run <target>
//! fuzz/corpus/<target> fuzz/seeds/<target>` starts from them and `cargo test -p yinzheng-fuzz-targets` runs them.

use std::error::Error;
use std::path::{Path, PathBuf};
use std::time::Duration;
use yinzheng::demo::Demo;
use yinzheng::{SealOptions, seal_bytes, seal_ofd, seal_pdf};
use yinzheng_anchor::{Entry, Evidence, HashAlg, NoteSigner, ReceiptBody, sign_receipts};
use yinzheng_crypto::{KeyAlgorithm, KeyEncryption, PrivateKey, Sm2PrivateKey};
use yinzheng_log::{Log, LogOptions};

const README: &str = "\
# Fuzz seeds

One directory per fuzz target (`fuzz/fuzz_targets/<target>.rs`), written by
`cargo run -p yinzheng-fuzz-targets --example make_seeds` from real objects: a
throw-away demo trust domain, seal and keys, documents sealed with them, a
log's evidence and a signed receipt, and third-party files from
`testdata/interop` (ofdrw's vendor seals, certificates and signed OFD; the
Tessera test log's checkpoint and tiles; provenance in testdata/interop/README.md).

**The private keys here are test keys**, generated for these files and used
nowhere else (`private_key/`: the demo signer's key, encrypted with `demo`;
`sm2-encrypted-fuzz.pem`, encrypted with `fuzz`; two unencrypted PKCS#8 keys).

`cargo test -p yinzheng-fuzz-targets` runs every seed, its truncations and byte
flips through its target; `cargo fuzz run <target> fuzz/corpus/<target>
fuzz/seeds/<target>` starts fuzzing from them (new inputs go to `fuzz/corpus`,
which git ignores).
";

type Result<T> = std::result::Result<T, Box<dyn Error>>;

struct Corpus(PathBuf);

impl Corpus {
    fn put(&self, target: &str, name: &str, bytes: impl AsRef<[u8]>) -> Result<()> {
        let dir = self.0.join(target);
        std::fs::create_dir_all(&dir)?;
        std::fs::write(dir.join(name), bytes)?;
        Ok(())
    }
}

fn main() -> Result<()> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let interop = root.join("testdata/interop");
    let corpus = Corpus(root.join("fuzz/seeds"));
    if corpus.0.exists() {
        std::fs::remove_dir_all(&corpus.0)?;
    }
    let tmp = tempfile::tempdir()?;
    let demo = Demo::create(tmp.path().join("demo"))?;
    let read = |p: &Path| std::fs::read(p).map_err(|e| format!("{}: {e}", p.display()));

    // Keys and signatures.
    let sm2 = PrivateKey::generate(KeyAlgorithm::Sm2)?;
    let p256 = PrivateKey::generate(KeyAlgorithm::EcdsaP256)?;
    let weak = KeyEncryption::default().with_iterations(10);
    corpus.put(
        "private_key",
        "demo-signer.key.pem",
        read(&demo.key_file())?,
    )?;
    corpus.put("private_key", "sm2.pk8.der", &*sm2.to_pkcs8_der())?;
    corpus.put("private_key", "p256.pk8.der", &*p256.to_pkcs8_der())?;
    corpus.put(
        "private_key",
        "sm2-encrypted-fuzz.pem",
        sm2.to_encrypted_pkcs8_pem(b"fuzz", &weak)?.as_bytes(),
    )?;
    corpus.put("public_key", "sm2.spki.der", sm2.public_key().to_spki_der())?;
    corpus.put(
        "public_key",
        "p256.spki.der",
        p256.public_key().to_spki_der(),
    )?;
    let fixed = Sm2PrivateKey::from_bytes(&[7u8; 32])?;
    let sig = fixed.sign(b"fuzz")?;
    corpus.put("signature", "sm2.der", sig.to_der())?;
    corpus.put("signature", "sm2.raw", sig.to_raw())?;

    // Certificates, CRLs.
    corpus.put("pki_objects", "roots.pem", read(&demo.roots_file())?)?;
    corpus.put(
        "pki_objects",
        "intermediates.pem",
        read(&demo.intermediates_file())?,
    )?;
    corpus.put("pki_objects", "crl.pem", read(&demo.crl_file())?)?;
    for f in ["ROOT.pem", "USER.pem", "SealBuilder.pem"] {
        corpus.put(
            "pki_objects",
            &format!("ofdrw-{f}"),
            read(&interop.join("ofdrw").join(f))?,
        )?;
    }

    // Seals, sealed documents, CMS.
    let sealer = demo.sealer()?;
    let opts = SealOptions::new();
    corpus.put("seal", "demo.esl", read(&demo.seal_file())?)?;
    for f in ["UserV1.esl", "UserV4.esl"] {
        corpus.put(
            "seal",
            &format!("ofdrw-{f}"),
            read(&interop.join("ofdrw").join(f))?,
        )?;
    }
    let pdf = seal_pdf(
        &read(&root.join("scripts/samples/notice.pdf"))?,
        &sealer,
        &opts,
    )?;
    corpus.put("pdf_signatures", "notice-sealed.pdf", &pdf)?;
    let vendor_ofd = read(&interop.join("ofdrw/SESV4SignDoc.ofd"))?;
    corpus.put("ofd", "ofdrw-SESV4SignDoc.ofd", &vendor_ofd)?;
    let ofd = seal_ofd(&vendor_ofd, &sealer, &opts)?;
    corpus.put("ofd", "sealed-twice.ofd", &ofd)?;
    let pkg = yinzheng_document::OfdPackage::read(&ofd)?;
    for (i, name) in pkg
        .part_names()
        .filter(|n| n.ends_with("SignedValue.dat"))
        .enumerate()
    {
        let value = pkg.part(name).ok_or("part")?;
        corpus.put("seal", &format!("ofd-signed-value-{i}.dat"), value)?;
    }
    let p7s = seal_bytes(b"content", &sealer, &opts)?;
    corpus.put("cms", "detached-seal.p7s", &p7s)?;

    // Long-term proof: an RFC 4998 evidence record (and its renewal) by a
    // "TSA" that is the demo signer's key and certificate (the fuzz targets
    // read structure, not trust), the sealed PDF made B-LTA, an archive
    // package and an evidence bundle.
    let roots = yinzheng_pki::ParsedCert::load_all(&read(&demo.roots_file())?)?;
    let tsa_key = PrivateKey::from_bytes(&read(&demo.key_file())?, Some(b"demo"))?;
    let spki = tsa_key.public_key().to_spki_der();
    let signer_cert = yinzheng_cms::SignedData::parse(&p7s)?
        .certificates()
        .iter()
        .find(|c| {
            yinzheng_pki::ParsedCert::from_der(c).is_ok_and(|c| {
                c.public_key()
                    .is_some_and(|k| k.to_spki_der() == spki.as_slice())
            })
        })
        .ok_or("no certificate of the demo signer in its CMS")?
        .clone();
    let tsa = yinzheng_cms::TimeStampAuthority::new(Box::new(tsa_key), signer_cert, vec![], None)?;
    let now = time::OffsetDateTime::now_utc();
    let sm3 = yinzheng_cms::Digest::Sm3;
    let records = yinzheng_cms::EvidenceRecord::archive(
        sm3,
        &[sm3.digest(&pdf), sm3.digest(b"content")],
        &mut |d, imprint| tsa.stamp(d, imprint, now),
    )?;
    corpus.put("cms", "evidence-record.ers", records[1].to_der())?;
    let mut renewed = records[1].clone();
    renewed.renew_time_stamp(&mut |d, imprint| tsa.stamp(d, imprint, now))?;
    corpus.put("cms", "evidence-record-renewed.ers", renewed.to_der())?;
    let material = yinzheng_document::DssMaterial {
        certs: roots.iter().map(|c| c.der().to_vec()).collect(),
        crls: yinzheng_pki::Crl::parse_all(&read(&demo.crl_file())?)?
            .iter()
            .map(|c| c.der().to_vec())
            .collect(),
        ocsps: vec![],
    };
    let lta = yinzheng_document::time_stamp_pdf(
        &yinzheng_document::add_dss(&pdf, &material, &[])?,
        &tsa,
        now,
    )?;
    corpus.put("pdf_signatures", "notice-lta.pdf", &lta)?;
    let mut bundle = yinzheng_audit::BundleWriter::new();
    bundle.add("documents/license.pdf", pdf.clone());
    bundle.add(
        "log/checkpoint",
        b"yinzheng.test/log/sm3\n1\nAAAA\n".to_vec(),
    );
    let bundle = bundle.finish(yinzheng_audit::Manifest {
        license: "fuzz".into(),
        documents: vec![yinzheng_audit::DocumentRef {
            path: "documents/license.pdf".into(),
            format: "pdf".into(),
        }],
        checkpoint: "log/checkpoint".into(),
        ..Default::default()
    })?;
    corpus.put("archive_package", "license.evidence", &bundle)?;
    let mut package = yinzheng_audit::ArchiveWriter::new();
    package.add("records/notice.pdf", pdf.clone());
    package.add("proofs/notice.pdf.ers", records[0].to_der());
    package.add("license/fuzz.evidence", bundle);
    package.add("validation/crls.pem", read(&demo.crl_file())?);
    let package = package.finish(yinzheng_audit::ArchiveManifest {
        title: "fuzz".into(),
        records: vec![yinzheng_audit::ArchiveRecord {
            path: "records/notice.pdf".into(),
            format: "pdf".into(),
            role: "file".into(),
            evidence_record: "proofs/notice.pdf.ers".into(),
        }],
        license: Some(yinzheng_audit::ArchiveLicense {
            id: "fuzz".into(),
            bundle: "license/fuzz.evidence".into(),
        }),
        crls: "validation/crls.pem".into(),
        ..Default::default()
    })?;
    corpus.put("archive_package", "files.archive", &package)?;

    // The log: an entry, evidence, checkpoints, tiles, a receipt.
    let origin = "yinzheng.test/log/sm3";
    let signer = NoteSigner::new(origin, PrivateKey::generate(KeyAlgorithm::Sm2)?)?;
    let log_dir = tmp.path().join("log");
    Log::create_in(
        &log_dir,
        &yinzheng_store::Backend::Embedded,
        origin,
        HashAlg::Sm3,
        &[&signer],
    )?;
    let log = Log::open_in(
        &log_dir,
        &yinzheng_store::Backend::Embedded,
        vec![signer],
        LogOptions::default().with_period(Duration::from_millis(5)),
    )?;
    let entry = Entry::new("seal", 1_767_000_000_000, "fuzz")?.encode();
    let mut pending = Vec::new();
    for i in 0..5u8 {
        let filler = [i; 8];
        pending.push(log.submit(if i == 2 { &entry } else { &filler })?);
    }
    for p in pending {
        p.wait()?;
    }
    let size = log.checkpoint().size();
    let evidence = Evidence::new(
        &entry,
        2,
        log.prove_inclusion(2, size)?,
        &log.checkpoint_note(),
    );
    corpus.put("anchor_proof", "evidence.txt", evidence.to_text())?;
    corpus.put("anchor_proof", "entry.bin", &entry)?;
    let mut raw = Vec::new();
    raw.extend(2u64.to_be_bytes());
    raw.extend(size.to_be_bytes());
    for h in log.prove_inclusion(2, size)? {
        raw.extend(h);
    }
    corpus.put("anchor_proof", "raw-proof.bin", raw)?;
    corpus.put("anchor_note", "checkpoint-sm3.txt", log.checkpoint_note())?;
    let tessera = interop.join("tlog/tessera-testlog/testdata/log");
    corpus.put(
        "anchor_note",
        "tessera-checkpoint.txt",
        read(&tessera.join("checkpoint"))?,
    )?;
    corpus.put(
        "anchor_note",
        "vkey.txt",
        "example.com/log/testdata+33d7b496+AeHTu4Q3hEIMHNqc6fASMsq3rKNx280NI+oO5xCFkkSx",
    )?;
    corpus.put("anchor_tile_path", "path-hash.txt", "tile/0/x001/234.p/5")?;
    corpus.put(
        "anchor_tile_path",
        "path-entries.txt",
        "tile/entries/000.p/15",
    )?;
    for (name, tile) in [
        ("entries-15.bin", "tile/entries/000.p/15"),
        ("hashes-15.bin", "tile/0/000.p/15"),
    ] {
        let mut seed = vec![14u8];
        seed.extend(read(&tessera.join(tile))?);
        corpus.put("anchor_tile_path", name, seed)?;
    }
    let receipt_signer = NoteSigner::new(origin, PrivateKey::generate(KeyAlgorithm::Sm2)?)?;
    let bodies = (0..3u8)
        .map(|i| ReceiptBody {
            request_sm3: hex::encode(yinzheng_crypto::sm3(&[i])),
            operation: "verify-file".into(),
            subject: format!(
                "1.2.156.3005.2.11100000000013338W011.11430000006122244L.2023000040{i}.001.U"
            ),
            caller: "counter 3".into(),
            result_code: Some(0),
            result: "TOTAL_PASSED".into(),
            time_ms: 1_767_000_000_000 + u64::from(i),
            usage_seq: Some(i64::from(i)),
            usage_sm3: None,
            log_index: Some(u64::from(i)),
        })
        .collect();
    let receipts = sign_receipts(
        bodies,
        origin,
        HashAlg::Sm3,
        &receipt_signer,
        1_767_000_000_100,
    )?;
    corpus.put("receipt", "receipt.json", receipts[1].to_json()?)?;

    // License identifiers and CSV.
    corpus.put(
        "license_id",
        "published.txt",
        "1.2.156.3005.2.11100000000013338W011.11430000006122244L.20230000403.001.U",
    )?;
    corpus.put(
        "license_csv",
        "batch.csv",
        "\u{feff}holder_name,holder_code,valid_from,note\n\
         示例科技有限公司,91350100M000100Y43,2026-12-01,\"a \"\"quoted\"\", multi\nline\"\n\
         第二家公司,91350100M000100Y43,2026-12-02,\n",
    )?;
    std::fs::write(corpus.0.join("README.md"), README)?;
    println!("seeds written to {}", corpus.0.display());
    Ok(())
}
