//! Graceful shutdown: a request in flight when shutdown starts is answered,
//! and the usage writer flushes — the held receipt is signed and the usage
//! record is anchored before `serve` returns.

mod support;

use std::time::Duration;
use support::start;

fn agent(home: &std::path::Path) -> ureq::Agent {
    support::agent(home, false)
}

#[test]
fn in_flight_requests_finish_and_usage_is_flushed() {
    let dir = tempfile::tempdir().expect("dir");
    let home = dir.path().join("home");
    let info =
        yinzheng_server::demo::create(&home, &yinzheng_tests::store_backend(&home)).expect("demo");
    let config = yinzheng_server::ServerConfig {
        receipt_window_ms: 3_000,
        anchor_interval_ms: 600_000,
        ..yinzheng_server::ServerConfig::load(&home).expect("config")
    };
    let id = info.license("valid").expect("license").id.clone();
    let key = info.api_key.clone();
    let path = format!("/v1/licenses/{id}?purpose=p&matter=m&businessSerial=b&operator=o");
    let registry = || {
        yinzheng_license::Registry::open_in(
            &home.join("licenses"),
            &yinzheng_tests::store_backend(&home),
        )
        .expect("registry")
    };

    // 1. A usage record written but not yet anchored (anchoring every 10
    //    minutes) is anchored when the server stops.
    let s = start(&home, &info.passphrase, config.clone());
    let body = agent(&home)
        .get(&format!("https://127.0.0.1:{}{path}", s.port))
        .set("Authorization", &format!("Bearer {key}"))
        .call()
        .expect("answer")
        .into_string()
        .expect("body");
    let seq = serde_json::from_str::<serde_json::Value>(&body).expect("JSON")["usageRecord"]
        .as_i64()
        .expect("seq");
    let rec = registry()
        .usage_record(seq)
        .expect("read")
        .expect("written before the answer");
    assert_eq!(rec.log_index, None, "not anchored yet");
    s.stop.send(()).expect("stop");
    s.thread.join().expect("serve returned");
    let rec = registry().usage_record(seq).expect("read").expect("kept");
    assert!(rec.log_index.is_some(), "anchored at shutdown");

    // 2. A request in flight when shutdown starts (waiting 3 s for its
    //    receipt batch) is answered with its receipt.
    let s = start(&home, &info.passphrase, config);
    let url = format!("https://127.0.0.1:{}{path}&receipt=true", s.port);
    let h = home.clone();
    let request = std::thread::spawn(move || {
        agent(&h)
            .get(&url)
            .set("Authorization", &format!("Bearer {key}"))
            .call()
            .map(|r| r.into_string().expect("body"))
            .map_err(|e| e.to_string())
    });
    std::thread::sleep(Duration::from_millis(500));
    s.stop.send(()).expect("stop");
    let body = request
        .join()
        .expect("request thread")
        .expect("answered during shutdown");
    let j: serde_json::Value = serde_json::from_str(&body).expect("JSON");
    assert_eq!(j["code"], 0);
    assert_eq!(j["receipt"]["format"], "yinzheng-receipt/1", "{j}");
    let seq = j["usageRecord"].as_i64().expect("seq");
    s.thread.join().expect("serve returned");
    let rec = registry()
        .usage_record(seq)
        .expect("read")
        .expect("recorded");
    assert_eq!(
        j["receipt"]["body"]["logIndex"],
        rec.log_index.expect("anchored")
    );

    // 3. When usage records cannot be written (the writer is gone), license
    //    checks answer 503 with Retry-After and /readyz says not ready;
    //    nothing is answered without its usage record.
    let s = start(
        &home,
        &info.passphrase,
        yinzheng_server::ServerConfig::load(&home).expect("config"),
    );
    s.state.usage.close();
    let err = agent(&home)
        .get(&format!("https://127.0.0.1:{}{path}", s.port))
        .set("Authorization", &format!("Bearer {}", info.api_key))
        .call()
        .map(|_| ())
        .expect_err("no answer without a usage record");
    let ureq::Error::Status(503, resp) = err else {
        panic!("expected 503, got {err}")
    };
    assert_eq!(resp.header("retry-after"), Some("2"));
    assert_eq!(
        resp.header("content-type"),
        Some("application/problem+json")
    );
    let j: serde_json::Value =
        serde_json::from_str(&resp.into_string().expect("body")).expect("JSON");
    assert_eq!(j["code"], "unavailable");
    let err = agent(&home)
        .get(&format!("https://127.0.0.1:{}/readyz", s.port))
        .call()
        .map(|_| ())
        .expect_err("not ready");
    assert!(matches!(err, ureq::Error::Status(503, _)), "{err}");
    s.stop.send(()).expect("stop");
    s.thread.join().expect("serve returned");
}
