//! Anchoring keeps up and the WAL stays bounded (issue 19): usage records
//! are submitted to the log as soon as a batch's worth waits, not only on the
//! timer, with the backlog, its age and the time to anchor exposed in
//! /metrics; the SQLite WAL is truncated once it passes its limit.

mod support;

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};
use yinzheng_server::ServerConfig;

#[test]
fn a_batch_is_anchored_without_waiting_for_the_timer_and_the_wal_is_truncated() {
    let dir = tempfile::tempdir().expect("dir");
    let home = dir.path().join("home");
    let info =
        yinzheng_server::demo::create(&home, &yinzheng_tests::store_backend(&home)).expect("demo");
    let config = ServerConfig {
        listen: "127.0.0.1:0".parse().expect("addr"),
        // The timer alone would anchor nothing during this test.
        anchor_interval_ms: 600_000,
        anchor_batch: 20,
        wal_limit_bytes: 1 << 20,
        ..ServerConfig::load(&home).expect("config")
    };
    let running = support::start(&home, &info.passphrase, config);
    let id = info.license("valid").expect("license").id.clone();
    let url = format!(
        "https://127.0.0.1:{}/v1/licenses/{id}?purpose=p&matter=m&businessSerial=b&operator=o",
        running.port
    );
    let agent = support::agent(&home, false);
    let metrics = &running.state.metrics;
    let wal = home.join("licenses/licenses.db-wal");
    let mut wal_max = 0;
    let requests = 400;
    for _ in 0..requests {
        let r = agent
            .get(&url)
            .set("Authorization", &format!("Bearer {}", info.api_key))
            .call()
            .expect("lookup");
        assert_eq!(r.status(), 200);
        wal_max = wal_max.max(std::fs::metadata(&wal).map(|m| m.len()).unwrap_or(0));
    }
    // Everything but the last partial batch is anchored, long before the
    // timer.
    let start = Instant::now();
    while metrics.usage_anchored.load(Ordering::Relaxed) < requests - 20 {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "anchored {} of {requests}",
            metrics.usage_anchored.load(Ordering::Relaxed)
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(metrics.anchor_delay.count() >= requests - 20);
    // SQLite: the WAL passed its limit and was truncated, staying near it
    // (PostgreSQL keeps its own WAL).
    let sqlite = !running.state.backend.is_postgres();
    if sqlite {
        let start = Instant::now();
        while metrics.wal_truncations.load(Ordering::Relaxed) == 0 {
            assert!(
                start.elapsed() < Duration::from_secs(5),
                "no WAL truncation (largest WAL seen: {wal_max} bytes)"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        assert!(wal_max < 8 << 20, "the WAL grew to {wal_max} bytes");
    }
    let text = support::agent(&home, false)
        .get(&format!("https://127.0.0.1:{}/metrics", running.port))
        .set("Authorization", &format!("Bearer {}", info.api_key))
        .call()
        .expect("metrics")
        .into_string()
        .expect("text");
    for name in [
        "yinzheng_usage_backlog_age_seconds ",
        "yinzheng_usage_anchor_delay_seconds_bucket{le=\"1\"}",
        "yinzheng_usage_anchor_delay_seconds_count ",
        "yinzheng_log_sequencing_lag_records ",
    ] {
        assert!(text.contains(name), "{name} missing from /metrics");
    }
    for name in [
        "yinzheng_store_wal_bytes ",
        "yinzheng_store_wal_truncations_total ",
    ] {
        assert_eq!(text.contains(name), sqlite, "{name} in /metrics");
    }
}
