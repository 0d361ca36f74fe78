//! Admission under hostile load (issue 19): uploads are received into a
//! bounded buffer before a verification slot is taken, so clients that stall
//! their uploads hold buffer, never a slot; a full buffer or busy slots are
//! answered 503 with Retry-After; idle connections are closed and one
//! address gets only its share of the connection slots.

mod support;

use std::io::Write;
use yinzheng_server::ServerConfig;

const USAGE: &str = "purpose=p&matter=m&businessSerial=b&operator=o";

#[test]
fn slow_uploads_hold_buffer_not_slots_and_both_are_bounded() {
    let dir = tempfile::tempdir().expect("dir");
    let home = dir.path().join("home");
    let info =
        yinzheng_server::demo::create(&home, &yinzheng_tests::store_backend(&home)).expect("demo");
    let config = ServerConfig {
        listen: "127.0.0.1:0".parse().expect("addr"),
        max_concurrent_verifications: 1,
        max_upload_bytes: 512 << 10,
        max_upload_buffer_bytes: 1 << 20,
        // The stalled uploads below must outlive the whole test: on a loaded
        // machine the verifications (nice 19) crawl, and a stalled upload
        // closed by a timeout gives its buffer back (CI saw 200s for 20 s).
        request_timeout_ms: 300_000,
        idle_timeout_ms: 300_000,
        ..ServerConfig::load(&home).expect("config")
    };
    let running = support::start(&home, &info.passphrase, config);
    let port = running.port;
    // Wait until the stalled uploads have reserved `kib` of the buffer in
    // all: a stall's request is in flight when stall() returns, and a
    // verification that overtook it would take the buffer first (the stall
    // then refused, and nothing left to fill the buffer: CI saw 200s for
    // 20 s on PostgreSQL).
    let buffer_kib = running.state.upload_kib.available_permits();
    let reserved = |kib: usize| {
        let start = std::time::Instant::now();
        while running.state.upload_kib.available_permits() > buffer_kib - kib {
            assert!(
                start.elapsed() < std::time::Duration::from_secs(20),
                "the stalled uploads did not reserve {kib} KiB"
            );
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
    };
    let id = info.license("valid").expect("license").id.clone();
    let pdf = std::fs::read(home.join("licenses/files").join(&id).join("license.pdf"))
        .expect("license file");
    assert!(
        pdf.len() < 256 << 10,
        "the demo PDF is small: {}",
        pdf.len()
    );
    let url = format!("https://127.0.0.1:{port}/v1/verify?{USAGE}");
    let verify = || match support::agent(&home, false)
        .post(&url)
        .set("Authorization", &format!("Bearer {}", info.api_key))
        .set("Content-Type", "application/pdf")
        .send_bytes(&pdf)
    {
        Ok(r) => (r.status(), None, String::new()),
        Err(ureq::Error::Status(s, r)) => (
            s,
            r.header("retry-after").map(str::to_string),
            r.into_string().unwrap_or_default(),
        ),
        Err(e) => panic!("{e}"),
    };
    assert_eq!(verify().0, 200, "a free slot serves");

    // A client that declares 512 KiB and stalls after 100 bytes.
    let stall = || {
        let tcp = std::net::TcpStream::connect(("127.0.0.1", port)).expect("connect");
        let conn = rustls::ClientConnection::new(
            support::tls_config(&home, false),
            "localhost".try_into().expect("name"),
        )
        .expect("tls");
        let mut s = rustls::StreamOwned::new(conn, tcp);
        write!(
            s,
            "POST /v1/verify?{USAGE} HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer {}\r\n\
             Content-Type: application/pdf\r\nContent-Length: {}\r\n\r\n",
            info.api_key,
            512 << 10
        )
        .expect("write");
        s.write_all(&pdf[..100]).expect("write");
        s.flush().expect("flush");
        s
    };
    // One stalled upload holds half the buffer and no slot: with a single
    // slot, verifications are still served.
    let first = stall();
    reserved(512);
    assert_eq!(verify().0, 200, "a stalled upload does not hold the slot");

    // A second one fills the buffer: refused before the body is read.
    let second = stall();
    reserved(1024);
    let start = std::time::Instant::now();
    let (status, retry, body) = loop {
        let got = verify();
        if got.0 == 503 || start.elapsed() > std::time::Duration::from_secs(20) {
            break got;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    assert_eq!(status, 503, "the upload buffer is full: {body}");
    assert!(retry.is_some(), "503 carries Retry-After");
    assert!(body.contains("upload buffer"), "{body}");

    // The stalled clients go away: their buffer comes back.
    drop((first, second));
    let start = std::time::Instant::now();
    while verify().0 != 200 {
        assert!(
            start.elapsed() < std::time::Duration::from_secs(20),
            "the upload buffer did not come back"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }

    // Many at once against one slot: some are refused as busy, with
    // Retry-After; none fails otherwise.
    let mut busy = None;
    for _ in 0..20 {
        let answers: Vec<_> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..6).map(|_| s.spawn(verify)).collect();
            handles
                .into_iter()
                .map(|h| h.join().expect("thread"))
                .collect()
        });
        for (status, retry, body) in answers {
            assert!(status == 200 || status == 503, "{status} {body}");
            if status == 503 && body.contains("verifications are running") {
                assert!(retry.is_some());
                busy = Some(body);
            }
        }
        if busy.is_some() {
            break;
        }
    }
    assert!(busy.is_some(), "a busy slot refuses with 503");
    let counted = running
        .state
        .metrics
        .verify_busy
        .load(std::sync::atomic::Ordering::Relaxed);
    assert!(counted >= 2, "counted in verify_busy_total");
}

/// Idle connections cannot lock others out (issue 19): a connection that
/// never sends a byte is dropped after the handshake timeout, an idle one
/// after the idle timeout, and one address holds at most its share of the
/// connection slots.
#[test]
fn idle_connections_are_closed_and_one_address_gets_its_share() {
    use std::io::Read;
    let dir = tempfile::tempdir().expect("dir");
    let home = dir.path().join("home");
    let info =
        yinzheng_server::demo::create(&home, &yinzheng_tests::store_backend(&home)).expect("demo");
    let config = ServerConfig {
        listen: "127.0.0.1:0".parse().expect("addr"),
        handshake_timeout_ms: 2_000,
        idle_timeout_ms: 400,
        max_connections_per_address: 4,
        ..ServerConfig::load(&home).expect("config")
    };
    let running = support::start(&home, &info.passphrase, config);
    let port = running.port;
    let id = info.license("valid").expect("license").id.clone();
    let url = format!("https://127.0.0.1:{port}/v1/licenses/{id}?{USAGE}");
    let lookup = || {
        support::agent(&home, false)
            .get(&url)
            .set("Authorization", &format!("Bearer {}", info.api_key))
            .call()
            .map(|r| r.status())
            .map_err(|e| e.to_string())
    };
    assert_eq!(lookup(), Ok(200));

    // Silent TCP connections: the address's share is taken … The server may
    // not yet have seen the lookup's connection close, so a silent one it
    // refused (closed) is opened again until four are held.
    let connect = || std::net::TcpStream::connect(("127.0.0.1", port)).expect("connect");
    let mut silent: Vec<std::net::TcpStream> = (0..4).map(|_| connect()).collect();
    let start = std::time::Instant::now();
    loop {
        std::thread::sleep(std::time::Duration::from_millis(100));
        let mut all_open = true;
        for s in &mut silent {
            s.set_nonblocking(true).expect("nonblocking");
            let mut b = [0u8; 1];
            let open =
                matches!((&*s).read(&mut b), Err(e) if e.kind() == std::io::ErrorKind::WouldBlock);
            s.set_nonblocking(false).expect("blocking");
            if !open {
                all_open = false;
                *s = connect();
            }
        }
        if all_open {
            break;
        }
        assert!(
            start.elapsed() < std::time::Duration::from_secs(5),
            "four silent connections are held"
        );
    }
    assert!(
        lookup().is_err(),
        "a fifth connection from the address is closed"
    );
    // … until the handshake timeout drops them.
    for mut s in silent {
        s.set_read_timeout(Some(std::time::Duration::from_secs(5)))
            .expect("timeout");
        let mut b = [0u8; 1];
        assert_eq!(
            s.read(&mut b).ok(),
            Some(0),
            "a silent connection is closed"
        );
    }
    let start = std::time::Instant::now();
    while lookup() != Ok(200) {
        assert!(start.elapsed() < std::time::Duration::from_secs(5));
        std::thread::sleep(std::time::Duration::from_millis(50));
    }

    // An idle TLS connection after its handshake is closed too.
    let tcp = std::net::TcpStream::connect(("127.0.0.1", port)).expect("connect");
    tcp.set_read_timeout(Some(std::time::Duration::from_secs(5)))
        .expect("timeout");
    let conn = rustls::ClientConnection::new(
        support::tls_config(&home, false),
        "localhost".try_into().expect("name"),
    )
    .expect("tls");
    let mut s = rustls::StreamOwned::new(conn, tcp);
    let started = std::time::Instant::now();
    let mut b = [0u8; 1];
    let r = s.read(&mut b);
    assert!(
        matches!(r, Ok(0) | Err(_)),
        "the idle connection is closed by the server: {r:?}"
    );
    assert!(started.elapsed() < std::time::Duration::from_secs(4));
    assert!(
        running
            .state
            .metrics
            .connections_refused
            .load(std::sync::atomic::Ordering::Relaxed)
            >= 1
    );
}
