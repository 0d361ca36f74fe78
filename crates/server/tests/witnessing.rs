//! The sequencing server collects its witnesses' cosignatures (issue 24):
//! with `log/witnesses.toml` it asks each witness to cosign every new
//! checkpoint, publishes the witnessed checkpoint once the quorum did
//! (`GET /v1/log/checkpoint/witnessed`), hands out proofs to it, shows each
//! witness in /metrics, and never stops anchoring for a witness that is down.

mod support;

use std::sync::Arc;
use std::time::{Duration, Instant};
use yinzheng_anchor::{Cosigner, HashAlg, Note, WitnessPolicy};
use yinzheng_crypto::{KeyAlgorithm, PrivateKey};
use yinzheng_server::ServerConfig;
use yinzheng_witness::{Witness, WitnessEndpoint, WitnessedLog, WitnessesConfig};

/// A witness serving on loopback from its own runtime; its URL and keys.
fn witness(dir: &std::path::Path, name: &str, log: &WitnessedLog) -> (String, Vec<String>) {
    let cosigner = Cosigner::new(
        name,
        Arc::new(PrivateKey::generate(KeyAlgorithm::Ed25519).expect("key")),
    )
    .expect("cosigner");
    let vkeys = vec![cosigner.verifier().to_string()];
    std::fs::create_dir_all(dir).expect("dir");
    Witness::create_state(dir).expect("state");
    let w = Arc::new(Witness::open(dir, vec![cosigner], vec![log.clone()]).expect("witness"));
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        rt.block_on(async move {
            let l = tokio::net::TcpListener::bind("127.0.0.1:0")
                .await
                .expect("bind");
            tx.send(l.local_addr().expect("addr")).expect("send");
            yinzheng_witness::serve(w, l, std::future::pending())
                .await
                .expect("serve");
        });
    });
    (format!("http://{}/", rx.recv().expect("address")), vkeys)
}

#[test]
fn the_sequencer_publishes_the_witnessed_checkpoint_and_reports_each_witness() {
    let dir = tempfile::tempdir().expect("dir");
    let home = dir.path().join("home");
    let info =
        yinzheng_server::demo::create(&home, &yinzheng_tests::store_backend(&home)).expect("demo");
    let log_dir = home.join("log");
    let log_vkey = std::fs::read_to_string(log_dir.join("log.vkey")).expect("log vkey");
    let log_key = yinzheng_anchor::VerifierKey::parse(log_vkey.trim()).expect("vkey");
    let witnessed_log = WitnessedLog {
        origin: log_key.name().to_string(),
        keys: vec![log_key.clone()],
        hash: HashAlg::Sm3,
    };
    let (a_url, a_keys) = witness(
        &dir.path().join("wa"),
        "witness.a.example/w",
        &witnessed_log,
    );
    let (b_url, b_keys) = witness(
        &dir.path().join("wb"),
        "witness.b.example/w",
        &witnessed_log,
    );
    // A third that is down: nothing listens on its port.
    let down = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let down_url = format!("http://{}/", down.local_addr().expect("addr"));
    drop(down);
    let c_keys = vec![
        Cosigner::new(
            "witness.c.example/w",
            Arc::new(PrivateKey::generate(KeyAlgorithm::Ed25519).expect("key")),
        )
        .expect("cosigner")
        .verifier()
        .to_string(),
    ];
    WitnessesConfig {
        quorum: 2,
        timeout_ms: Some(2000),
        retry_max_ms: Some(500),
        tls_roots: None,
        witnesses: vec![
            WitnessEndpoint {
                url: a_url,
                vkeys: a_keys.clone(),
            },
            WitnessEndpoint {
                url: b_url,
                vkeys: b_keys.clone(),
            },
            WitnessEndpoint {
                url: down_url,
                vkeys: c_keys.clone(),
            },
        ],
    }
    .save(&log_dir)
    .expect("witnesses.toml");
    let config = ServerConfig {
        listen: "127.0.0.1:0".parse().expect("addr"),
        anchor_interval_ms: 50,
        ..ServerConfig::load(&home).expect("config")
    };
    let running = support::start(&home, &info.passphrase, config);
    let base = format!("https://127.0.0.1:{}", running.port);
    let agent = support::agent(&home, false);
    let policy =
        WitnessPolicy::parse(&[a_keys, b_keys, c_keys].concat().join("\n"), 2).expect("policy");
    let witnessed = || -> Option<String> {
        match agent
            .get(&format!("{base}/v1/log/checkpoint/witnessed"))
            .call()
        {
            Ok(r) => Some(r.into_string().expect("text")),
            Err(ureq::Error::Status(404, _)) => None,
            Err(e) => panic!("{e}"),
        }
    };
    let size = |note: &str| {
        yinzheng_anchor::Checkpoint::parse(Note::parse(note.as_bytes()).expect("note").text())
            .expect("checkpoint")
            .size()
    };
    // Usage records anchored: the log grows, and its checkpoints get witnessed.
    let id = info.license("valid").expect("license").id.clone();
    let url = format!("{base}/v1/licenses/{id}?purpose=p&matter=m&businessSerial=b&operator=o");
    for _ in 0..5 {
        agent
            .get(&url)
            .set("Authorization", &format!("Bearer {}", info.api_key))
            .call()
            .expect("lookup");
    }
    let start = Instant::now();
    let note = loop {
        let log_size = running
            .state
            .log
            .current()
            .expect("log")
            .checkpoint()
            .size();
        if let Some(n) = witnessed()
            && size(&n) == log_size
            && running
                .state
                .metrics
                .usage_anchored
                .load(std::sync::atomic::Ordering::Relaxed)
                >= 5
        {
            break n;
        }
        assert!(start.elapsed() < Duration::from_secs(20), "never witnessed");
        std::thread::sleep(Duration::from_millis(50));
    };
    let q = policy
        .check(&Note::parse(note.as_bytes()).expect("note"))
        .expect("cosignatures verify");
    assert!(q.met(), "{}", q.describe());
    assert_eq!(q.missing, vec!["witness.c.example/w".to_string()]);
    // The log's own checkpoint carries no cosignature; proofs go to the
    // witnessed one when it covers the entry.
    let own = agent
        .get(&format!("{base}/v1/log/checkpoint"))
        .call()
        .expect("checkpoint")
        .into_string()
        .expect("text");
    assert!(
        !policy
            .check(&Note::parse(own.as_bytes()).expect("note"))
            .expect("q")
            .met()
    );
    let evidence = agent
        .get(&format!("{base}/v1/log/proof/0"))
        .call()
        .expect("proof")
        .into_string()
        .expect("text");
    let ev = yinzheng_anchor::Evidence::parse(evidence.as_bytes()).expect("evidence");
    assert_eq!(ev.checkpoint_note(), note);
    // Metrics: two up, one down, and the witnessed size.
    let text = agent
        .get(&format!("{base}/metrics"))
        .set("Authorization", &format!("Bearer {}", info.api_key))
        .call()
        .expect("metrics")
        .into_string()
        .expect("text");
    for line in [
        "yinzheng_witness_up{witness=\"witness.a.example/w\"} 1".to_string(),
        "yinzheng_witness_up{witness=\"witness.b.example/w\"} 1".to_string(),
        "yinzheng_witness_up{witness=\"witness.c.example/w\"} 0".to_string(),
        format!("yinzheng_log_witnessed_size {}", size(&note)),
    ] {
        assert!(text.contains(&line), "{line} not in\n{text}");
    }
    assert!(
        !text.contains("yinzheng_witness_failures_total{witness=\"witness.c.example/w\"} 0"),
        "{text}"
    );
    let _ = running.stop.send(());
    let _ = running.thread.join();
}
