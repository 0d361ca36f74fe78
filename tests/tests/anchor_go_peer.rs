//! Go's golang.org/x/mod/sumdb/tlog (Debian golang-golang-x-mod-dev), an
//! independent RFC 6962 implementation, checks what our SHA-256 profile emits:
//! tree hashes at many sizes (`TreeHash`), inclusion proofs (`CheckRecord`) and
//! consistency proofs (`CheckTree`), all computed by a running log from its
//! tiles, across tile boundaries (70,000 entries: level-1 tiles in play). The
//! peer also rejects every proof with one bit flipped.
//!
//! transparency-dev's `note` package (github.com/transparency-dev/formats,
//! kept as source in testdata/peers) opens our signed notes: the P-256 and
//! Ed25519 signatures of a checkpoint, and refuses altered ones.
//!
//! Needs `go` and the x/mod sources: `apt-get install golang-go
//! golang-golang-x-mod-dev` (scripts/test.sh installs them). A missing peer
//! fails this test; it never skips.

#![allow(clippy::unwrap_used)]

use serde_json::json;
use std::path::Path;
use std::process::Command;
use std::time::Duration;
use yinzheng_anchor::{HashAlg, NoteSigner, TileReader, base64, root};
use yinzheng_crypto::{KeyAlgorithm, PrivateKey};
use yinzheng_log::{Log, LogOptions};

const GOPATH_SYSTEM: &str = "/usr/share/gocode";

fn build_peer(dir: &Path) -> std::path::PathBuf {
    build_go(dir, "peers/tlog/main.go", "tlogpeer")
}

/// Build the Go program `src` (relative to this crate) into `dir/name`, in
/// GOPATH mode on Debian's x/mod and `dir/gopath`.
fn build_go(dir: &Path, src: &str, name: &str) -> std::path::PathBuf {
    let install =
        "apt-get install golang-go golang-golang-x-mod-dev (scripts/test.sh installs them)";
    yinzheng_tests::require_peer("go");
    let v = Command::new("go")
        .arg("version")
        .output()
        .unwrap_or_else(|e| {
            panic!(
                "peer tool `go` not found ({e}). This interop test needs Go and x/mod: {install}"
            )
        });
    assert!(v.status.success(), "`go version` failed: {install}");
    assert!(
        Path::new(GOPATH_SYSTEM)
            .join("src/golang.org/x/mod/sumdb/tlog/tlog.go")
            .exists(),
        "golang.org/x/mod/sumdb/tlog is not in {GOPATH_SYSTEM}: {install}"
    );
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join(src);
    let bin = dir.join(name);
    let out = Command::new("go")
        .args(["build", "-o"])
        .arg(&bin)
        .arg(&src)
        .env("GO111MODULE", "off")
        .env(
            "GOPATH",
            format!("{GOPATH_SYSTEM}:{}", dir.join("gopath").display()),
        )
        .env("GOCACHE", dir.join("gocache"))
        .env("GOFLAGS", "")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "building the Go peer failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    bin
}

#[yinzheng_tests::peer_test(go)]
fn go_sumdb_tlog_agrees_with_our_sha256_tree_hashes_and_proofs() {
    let dir = tempfile::tempdir().unwrap();
    let peer = build_peer(dir.path());

    let data = dir.path().join("log");
    let signer = NoteSigner::new(
        "yinzheng.test/log/sha256",
        PrivateKey::generate(KeyAlgorithm::Sm2).unwrap(),
    )
    .unwrap();
    Log::create_in(
        &data,
        &yinzheng_tests::store_backend(&data),
        "yinzheng.test/log/sha256",
        HashAlg::Sha256,
        &[&signer],
    )
    .unwrap();
    let log = Log::open_in(
        &data,
        &yinzheng_tests::store_backend(&data),
        vec![signer],
        LogOptions::default().with_period(Duration::from_millis(5)),
    )
    .unwrap();
    let n: u64 = 70_000;
    let entries: Vec<Vec<u8>> = (0..n)
        .map(|i| format!("entry {i} {}", "x".repeat((i % 37) as usize)).into_bytes())
        .collect();
    let pending: Vec<_> = entries.iter().map(|e| log.submit(e).unwrap()).collect();
    for (i, p) in pending.into_iter().enumerate() {
        assert_eq!(p.wait().unwrap(), i as u64);
    }
    log.close().unwrap();

    // Everything below is read back from the static tiles.
    let reader = TileReader::new(Log::tiles_dir(&data), HashAlg::Sha256, n);
    let mut sizes: Vec<u64> = vec![
        1, 2, 3, 7, 8, 255, 256, 257, 511, 512, 65_535, 65_536, 65_537, 69_999, n,
    ];
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    for _ in 0..40 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        sizes.push(1 + x % n);
    }
    sizes.sort_unstable();
    sizes.dedup();
    let roots: Vec<_> = sizes
        .iter()
        .map(|&s| json!({"size": s, "root": base64::encode(&root(&reader, s).unwrap())}))
        .collect();
    let mut inclusion = Vec::new();
    let mut consistency = Vec::new();
    for (k, &s) in sizes.iter().enumerate() {
        for idx in [0, s / 2, s - 1, (x.wrapping_mul(k as u64 + 1)) % s] {
            let p = yinzheng_anchor::inclusion_proof(&reader, idx, s).unwrap();
            inclusion.push(json!({"index": idx, "size": s, "proof": p.iter().map(|h| base64::encode(h)).collect::<Vec<_>>()}));
        }
        for &old in &sizes[..k] {
            let p = yinzheng_anchor::consistency_proof(&reader, old, s).unwrap();
            consistency.push(json!({"old": old, "new": s, "proof": p.iter().map(|h| base64::encode(h)).collect::<Vec<_>>()}));
        }
    }
    let cases = json!({
        "entries": entries.iter().map(|e| base64::encode(e)).collect::<Vec<_>>(),
        "roots": roots,
        "inclusion": inclusion,
        "consistency": consistency,
    });
    let cases_path = dir.path().join("cases.json");
    std::fs::write(&cases_path, serde_json::to_vec(&cases).unwrap()).unwrap();
    let out = Command::new(&peer).arg(&cases_path).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "Go tlog disagrees: {stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let checks: usize = stdout
        .trim()
        .strip_prefix("ok ")
        .unwrap()
        .split(' ')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert!(checks > 1500, "only {checks} checks ran");
}

/// Unpack testdata/peers' transparency-dev formats archive into `dir`'s
/// GOPATH and build the note peer on it.
fn build_note_peer(dir: &Path) -> std::path::PathBuf {
    let archive = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../testdata/peers/transparency-dev-formats-404c0d5.tar.gz");
    let dest = dir.join("gopath/src/github.com/transparency-dev/formats");
    std::fs::create_dir_all(&dest).unwrap();
    let out = Command::new("tar")
        .arg("-xzf")
        .arg(&archive)
        .arg("--strip-components=1")
        .arg("-C")
        .arg(&dest)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "unpacking {}: {}",
        archive.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    build_go(dir, "peers/note/main.go", "notepeer")
}

/// transparency-dev's note verifier (Rekor's ECDSA type, Ed25519) opens a
/// checkpoint our log signed with an SM2, an Ed25519 and a P-256 key — the
/// SM2 signature, a type it does not know, is passed over — and refuses the
/// checkpoint with its size changed or a P-256 signature of another key.
#[yinzheng_tests::peer_test(go)]
fn transparency_dev_note_opens_our_p256_and_ed25519_checkpoint_signatures() {
    use std::sync::Arc;
    use yinzheng_crypto::Signer;
    let dir = tempfile::tempdir().unwrap();
    let peer = build_note_peer(dir.path());
    let origin = "yinzheng.test/log/note-peer";
    let keys: Vec<Arc<dyn Signer>> = [
        KeyAlgorithm::Sm2,
        KeyAlgorithm::Ed25519,
        KeyAlgorithm::EcdsaP256,
    ]
    .into_iter()
    .map(|alg| Arc::new(PrivateKey::generate(alg).unwrap()) as Arc<dyn Signer>)
    .collect();
    let signers = || -> Vec<NoteSigner> {
        keys.iter()
            .map(|k| NoteSigner::from_signer(origin, k.clone()).unwrap())
            .collect()
    };
    let data = dir.path().join("log");
    let backend = yinzheng_tests::store_backend(&data);
    let made = signers();
    Log::create_in(
        &data,
        &backend,
        origin,
        HashAlg::Sha256,
        &made.iter().collect::<Vec<_>>(),
    )
    .unwrap();
    let log = Log::open_in(
        &data,
        &backend,
        signers(),
        LogOptions::default().with_period(Duration::from_millis(5)),
    )
    .unwrap();
    for i in 0..5u32 {
        log.submit(format!("entry {i}").as_bytes())
            .unwrap()
            .wait()
            .unwrap();
    }
    log.close().unwrap();
    let checkpoint = std::fs::read_to_string(Log::tiles_dir(&data).join("checkpoint")).unwrap();
    assert_eq!(checkpoint.matches('\u{2014}').count(), 3, "{checkpoint}");
    let vkeys: Vec<String> = made[1..].iter().map(|s| s.verifier().to_string()).collect();
    assert!(vkeys[1].contains("+Aj"), "a type 0x02 key: {}", vkeys[1]);
    let run = |note: &str, vkeys: &[String]| {
        let path = dir.path().join("note.txt");
        std::fs::write(&path, note).unwrap();
        let out = Command::new(&peer).arg(&path).args(vkeys).output().unwrap();
        (
            out.status.code(),
            format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ),
        )
    };
    // Each of our international keys alone, and both.
    for keys in [&vkeys[..1], &vkeys[1..], &vkeys[..]] {
        let (code, said) = run(&checkpoint, keys);
        assert_eq!(code, Some(0), "{said}\n{checkpoint}");
        assert_eq!(said.trim().split(' ').skip(1).count(), keys.len(), "{said}");
    }
    // The size changed: the P-256 signature no longer verifies.
    let mut lines: Vec<&str> = checkpoint.split('\n').collect();
    let bigger = format!("{}", lines[1].parse::<u64>().unwrap() + 1);
    lines[1] = &bigger;
    let (code, said) = run(&lines.join("\n"), &vkeys[1..]);
    assert_eq!(code, Some(1), "{said}");
    // A P-256 key that did not sign: nothing verifies.
    let stranger = NoteSigner::new(
        origin,
        PrivateKey::generate(KeyAlgorithm::EcdsaP256).unwrap(),
    )
    .unwrap()
    .verifier()
    .to_string();
    let (code, said) = run(&checkpoint, &[stranger]);
    assert_eq!(code, Some(1), "{said}");
}

/// transparency-dev's cosignature/v1 verifier checks a witness's
/// cosignature on our checkpoint (c2sp.org/tlog-cosignature: key ID of type
/// 0x04, the signed message with its timestamp), and refuses it when the
/// timestamp or the checkpoint is changed.
#[yinzheng_tests::peer_test(go)]
fn transparency_dev_verifies_our_witness_cosignatures() {
    use std::sync::Arc;
    use yinzheng_anchor::{Checkpoint, Cosigner};
    let dir = tempfile::tempdir().unwrap();
    let peer = build_note_peer(dir.path());
    let origin = "yinzheng.test/log/cosigned";
    let log = NoteSigner::new(origin, PrivateKey::generate(KeyAlgorithm::Sm2).unwrap()).unwrap();
    let witness = Cosigner::new(
        "witness.example.gov.cn/w1",
        Arc::new(PrivateKey::generate(KeyAlgorithm::Ed25519).unwrap()),
    )
    .unwrap();
    let checkpoint = Checkpoint::new(origin, 42, [7u8; 32]).unwrap();
    let signed = checkpoint.sign(&[&log]).unwrap();
    let text = checkpoint.to_text();
    let line = witness.cosign(&text, 1_765_100_000).unwrap();
    let vkey = witness.verifier().to_string();
    let run = |note: &str| {
        let path = dir.path().join("cosigned.txt");
        std::fs::write(&path, note).unwrap();
        let out = Command::new(&peer).arg(&path).arg(&vkey).output().unwrap();
        (
            out.status.code(),
            format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ),
        )
    };
    let (code, said) = run(&format!("{signed}{line}"));
    assert_eq!(code, Some(0), "{said}");
    assert_eq!(said.trim(), "ok witness.example.gov.cn/w1");
    // Another timestamp under the same signature.
    let raw = base64::decode(line.trim_end().rsplit(' ').next().unwrap()).unwrap();
    let mut moved = raw.clone();
    moved[11] ^= 1;
    let (code, said) = run(&format!(
        "{signed}\u{2014} witness.example.gov.cn/w1 {}\n",
        base64::encode(&moved)
    ));
    assert_eq!(code, Some(1), "{said}");
    // The cosignature on another checkpoint.
    let other = Checkpoint::new(origin, 43, [7u8; 32]).unwrap();
    let (code, said) = run(&format!("{}{line}", other.sign(&[&log]).unwrap()));
    assert_eq!(code, Some(1), "{said}");
}

/// The other direction: transparency-dev's cosignature/v1 signer cosigns our
/// checkpoint text, and our verifier accepts its vkey and line (and refuses
/// the line on another checkpoint).
#[yinzheng_tests::peer_test(go)]
fn we_verify_transparency_dev_cosignatures() {
    use yinzheng_anchor::{Checkpoint, Note, NoteKeyType, VerifierKey};
    let dir = tempfile::tempdir().unwrap();
    let peer = build_note_peer(dir.path());
    let text = Checkpoint::new("yinzheng.test/log/cosigned", 42, [9u8; 32])
        .unwrap()
        .to_text();
    std::fs::write(dir.path().join("text"), &text).unwrap();
    let out = Command::new(&peer)
        .args(["cosign", "go-witness.example/w1"])
        .arg(dir.path().join("text"))
        .output()
        .unwrap();
    let said = String::from_utf8(out.stdout).unwrap();
    assert!(
        out.status.success(),
        "{said}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (vkey, signed) = said.split_once('\n').unwrap();
    let vk = VerifierKey::parse(vkey).unwrap();
    assert_eq!(vk.key_type(), NoteKeyType::CosignatureV1);
    assert_eq!(vk.to_string(), vkey);
    let note = Note::parse(signed.as_bytes()).unwrap();
    assert_eq!(note.text(), text);
    assert_eq!(
        note.open(std::slice::from_ref(&vk)).unwrap(),
        vec!["go-witness.example/w1"]
    );
    assert!(
        vk.cosignature_time(&note.signatures()[0].signature)
            .is_some()
    );
    // The same line under another checkpoint's text: refused.
    let other = signed.replacen("\n42\n", "\n43\n", 1);
    assert!(Note::parse(other.as_bytes()).unwrap().open(&[vk]).is_err());
}
