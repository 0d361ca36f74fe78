//! The API's routes without a socket: requests go straight into
//! `yinzheng_server::router` (`tower::ServiceExt::oneshot`), no TLS, no port.
//! The TLS suites (api.rs, admission.rs …) test the same API over the wire;
//! these are the quick ones a newcomer runs first.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use serde_json::Value;
use std::sync::Arc;
use tower::ServiceExt;
use yinzheng_server::{AppState, ServerConfig, demo};

const QUERY: &str = "purpose=router-test&matter=M-1&businessSerial=B-1&operator=op";

struct Demo {
    _dir: tempfile::TempDir,
    state: Arc<AppState>,
    info: demo::DemoInfo,
}

fn demo() -> Demo {
    demo_at(yinzheng_pki::system_clock())
}

/// The demo served with "now" from `clock`.
fn demo_at(clock: Arc<dyn yinzheng_pki::Clock>) -> Demo {
    let dir = tempfile::tempdir().expect("dir");
    let home = dir.path().join("home");
    let info = demo::create(&home, &yinzheng_tests::store_backend(&home)).expect("demo");
    let config = ServerConfig {
        store: yinzheng_tests::store_backend(&home),
        clock,
        ..ServerConfig::load(&home).expect("config")
    };
    let state = AppState::open(&home, config, info.passphrase.as_bytes()).expect("state");
    Demo {
        _dir: dir,
        state,
        info,
    }
}

/// Send one request; the status, the content type and the body as JSON (or a string).
async fn send(
    d: &Demo,
    method: &str,
    uri: &str,
    key: Option<&str>,
    body: Vec<u8>,
) -> (StatusCode, String, Value) {
    let mut req = Request::builder().method(method).uri(uri);
    if let Some(k) = key {
        req = req.header("x-api-key", k);
    }
    let req = req
        .header("content-type", "application/octet-stream")
        .body(Body::from(body))
        .expect("request");
    let resp = yinzheng_server::router(d.state.clone())
        .oneshot(req)
        .await
        .expect("infallible");
    let status = resp.status();
    let ctype = resp
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    assert!(
        resp.headers().contains_key("x-request-id"),
        "{method} {uri}: no x-request-id"
    );
    let bytes = axum::body::to_bytes(resp.into_body(), 16 << 20)
        .await
        .expect("body");
    let json = serde_json::from_slice(&bytes)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()));
    (status, ctype, json)
}

#[tokio::test]
async fn health_license_lookup_and_refusals_without_a_socket() {
    let d = demo();
    let key = d.info.api_key.clone();
    let (s, _, _) = send(&d, "GET", "/healthz", None, vec![]).await;
    assert_eq!(s, StatusCode::OK);

    let valid = d
        .info
        .license("valid")
        .expect("a valid demo license")
        .id
        .clone();
    let uri = format!("/v1/licenses/{valid}?{QUERY}");
    // No credentials: 401, a problem document.
    let (s, ctype, body) = send(&d, "GET", &uri, None, vec![]).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED, "{body}");
    assert!(ctype.starts_with("application/problem+json"), "{ctype}");
    // A wrong key is no better.
    let (s, _, _) = send(&d, "GET", &uri, Some("yzk_not-a-key"), vec![]).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    // The demo caller's key: the license, result code 0.
    let (s, _, body) = send(&d, "GET", &uri, Some(&key), vec![]).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert_eq!(body["code"], 0, "{body}");

    // A revoked one answers, with its own code.
    let revoked = d.info.license("revoked").expect("a revoked demo license");
    let revoked_uri = format!("/v1/licenses/{}?{QUERY}", revoked.id);
    let (s, _, body) = send(&d, "GET", &revoked_uri, Some(&key), vec![]).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert_ne!(body["code"], 0, "a revoked license is not code 0: {body}");

    // Unknown path, wrong method: problem documents, not HTML or empty bodies.
    let (s, ctype, _) = send(&d, "GET", "/v1/nothing-here", Some(&key), vec![]).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    assert!(ctype.starts_with("application/problem+json"), "{ctype}");
    let (s, ctype, _) = send(&d, "DELETE", &uri, Some(&key), vec![]).await;
    assert_eq!(s, StatusCode::METHOD_NOT_ALLOWED);
    assert!(ctype.starts_with("application/problem+json"), "{ctype}");
}

#[tokio::test]
async fn the_server_judges_validity_by_its_clock() {
    // Ten days ago (by the server's clock, not the machine's) the demo's
    // license, valid from today, was not valid yet: no code 0.
    let earlier = std::time::SystemTime::now() - std::time::Duration::from_secs(10 * 86_400);
    let d = demo_at(Arc::new(yinzheng_pki::FixedClock(earlier)));
    let key = d.info.api_key.clone();
    let valid = &d.info.license("valid").expect("a valid demo license").id;
    let uri = format!("/v1/licenses/{valid}?{QUERY}");
    let (s, _, body) = send(&d, "GET", &uri, Some(&key), vec![]).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert_ne!(
        body["code"], 0,
        "not yet valid by the server's clock: {body}"
    );
}

#[tokio::test]
async fn a_file_that_is_not_a_document_is_not_genuine() {
    let d = demo();
    let uri = format!("/v1/verify?{QUERY}");
    let (s, _, body) = send(
        &d,
        "POST",
        &uri,
        Some(&d.info.api_key),
        b"%PDF-1.7\nnot really".to_vec(),
    )
    .await;
    assert!(s == StatusCode::OK || s.is_client_error(), "{s}: {body}");
    assert_ne!(body["code"], 0, "garbage verified: {body}");
}

/// A clock the test moves.
#[derive(Debug)]
struct MovableClock(std::sync::Mutex<std::time::SystemTime>);

impl yinzheng_pki::Clock for MovableClock {
    fn now(&self) -> std::time::SystemTime {
        *self.0.lock().expect("clock")
    }
}

impl MovableClock {
    fn advance(&self, by: std::time::Duration) {
        *self.0.lock().expect("clock") += by;
    }
}

/// The verdict cache's (entries, hits, misses).
fn verdicts(d: &Demo) -> (usize, u64, u64) {
    d.state
        .trust()
        .context
        .verdict_cache()
        .expect("the verdict cache is on by default")
        .stats()
}

/// The answer without what differs between two checks of one file (the
/// usage record, the receipt, the validation time).
fn verdict_only(body: &Value) -> Value {
    let mut v = body.clone();
    if let Some(o) = v.as_object_mut() {
        o.retain(|k, _| !["usage", "receipt", "usageRecord", "checkedAt"].contains(&k.as_str()));
    }
    if let Some(r) = v.get_mut("report").and_then(Value::as_object_mut) {
        r.remove("validationTime");
    }
    v
}

#[tokio::test]
async fn a_file_checked_again_is_answered_from_its_verdict_only_while_it_holds() {
    let clock = Arc::new(MovableClock(std::sync::Mutex::new(
        std::time::SystemTime::now(),
    )));
    let d = demo_at(clock.clone());
    // The demo's certificates begin when they were made, after the clock started.
    *clock.0.lock().expect("clock") = std::time::SystemTime::now();
    let key = d.info.api_key.clone();
    let valid = &d.info.license("valid").expect("a valid demo license").id;
    let home = d._dir.path().join("home");
    let pdf = std::fs::read(home.join("licenses/files").join(valid).join("license.pdf"))
        .expect("license file");
    let uri = format!("/v1/verify?{QUERY}");

    // First check: verified, and the passing verdict kept.
    let (s, _, first) = send(&d, "POST", &uri, Some(&key), pdf.clone()).await;
    assert_eq!(s, StatusCode::OK, "{first}");
    assert_eq!(first["code"], 0, "{first}");
    assert_eq!(verdicts(&d), (1, 0, 1));
    // Again: answered from it, the same answer but for the time and usage.
    clock.advance(std::time::Duration::from_secs(60));
    let (_, _, again) = send(&d, "POST", &uri, Some(&key), pdf.clone()).await;
    assert_eq!(verdicts(&d), (1, 1, 1));
    assert_eq!(verdict_only(&again), verdict_only(&first));
    assert_ne!(
        again["report"]["validationTime"], first["report"]["validationTime"],
        "a kept verdict is given at the time of the check"
    );

    // An attacker's variant (one byte of the signed page content changed)
    // is another file: verified afresh, refused, and not kept.
    let mut altered = pdf.clone();
    let at = altered
        .windows(6)
        .position(|w| w == b"stream")
        .expect("a stream")
        + 8;
    altered[at] ^= 0x01;
    let (_, _, body) = send(&d, "POST", &uri, Some(&key), altered.clone()).await;
    assert_ne!(body["code"], 0, "an altered file passed: {body}");
    let (_, _, body) = send(&d, "POST", &uri, Some(&key), altered).await;
    assert_ne!(
        body["code"], 0,
        "an altered file passed the second time: {body}"
    );
    assert_eq!(body["report"]["indication"], "TOTAL_FAILED", "{body}");
    assert_eq!(
        body["report"]["subIndication"], "HASH_FAILURE",
        "named: {body}"
    );
    assert_eq!(verdicts(&d).0, 1, "a failing verdict was kept");

    // The seal suspended (by anyone sharing the store): the next check of
    // the same file reads the registry again and is not answered as before.
    let seals = yinzheng_seal_registry::Registry::open_in(
        &yinzheng_store::DataDir::new(&home).seal_registry(),
        &yinzheng_tests::store_backend(&home),
    );
    let mut seals = seals.expect("seal registry");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("time")
        .as_secs() as i64;
    seals
        .transition(
            &d.info.seal_id,
            yinzheng_seal::SealStatus::Suspended,
            "test",
            "verdict cache",
            now,
        )
        .expect("suspend");
    let (_, _, body) = send(&d, "POST", &uri, Some(&key), pdf.clone()).await;
    assert_ne!(
        body["code"], 0,
        "a suspended seal's file passed from the cache: {body}"
    );
    assert!(
        body["report"]["checks"]
            .as_array()
            .expect("checks")
            .iter()
            .any(
                |c| c["id"].as_str().is_some_and(|i| i.ends_with("seal-status"))
                    && c["status"] == "failed"
                    && c["message"]
                        .as_str()
                        .is_some_and(|m| m.contains("suspended"))
            ),
        "the suspension is named: {body}"
    );
    seals
        .transition(
            &d.info.seal_id,
            yinzheng_seal::SealStatus::Active,
            "test",
            "verdict cache",
            now,
        )
        .expect("resume");
    let (_, _, body) = send(&d, "POST", &uri, Some(&key), pdf.clone()).await;
    assert_eq!(body["code"], 0, "resumed: {body}");
    let (kept, hits, _) = verdicts(&d);
    assert_eq!(
        (kept, hits),
        (1, 1),
        "the resumed seal's verdict was made afresh"
    );

    // Years on, past the signer's and the seal's validity: the verdict no
    // longer holds, and the file is judged again (not genuine now).
    clock.advance(std::time::Duration::from_secs(20 * 365 * 86_400));
    let (_, _, body) = send(&d, "POST", &uri, Some(&key), pdf).await;
    assert_ne!(
        body["code"], 0,
        "an expired signature passed from the cache: {body}"
    );
    assert_ne!(body["report"]["indication"], "TOTAL_PASSED", "{body}");
    assert!(body["report"]["subIndication"].is_string(), "named: {body}");
    assert_eq!(verdicts(&d).1, 1, "a verdict past its window was given");
}

/// Move every CA key the server must not hold (`ca_keys_in`) from `home` to
/// `to`, as `to/<domain>/<file>`, or back; the pairs (in home, moved to).
fn move_ca_keys(
    home: &std::path::Path,
    to: &std::path::Path,
) -> Vec<(std::path::PathBuf, std::path::PathBuf)> {
    let mut moved = Vec::new();
    for key in yinzheng_server::state::ca_keys_in(home) {
        let domain = key.parent().and_then(|d| d.file_name()).expect("domain");
        let dest = to.join(domain).join(key.file_name().expect("file"));
        std::fs::create_dir_all(dest.parent().expect("dir")).expect("mkdir");
        std::fs::rename(&key, &dest).expect("move key");
        moved.push((key, dest));
    }
    moved
}

fn put_back(moved: &[(std::path::PathBuf, std::path::PathBuf)]) {
    for (home_path, away) in moved {
        std::fs::rename(away, home_path).expect("move key back");
    }
}

fn error_text<T>(r: yinzheng_server::error::Result<T>) -> String {
    match r {
        Ok(_) => String::new(),
        Err(e) => e.to_string(),
    }
}

/// Issue 22: the verify server signs nothing with a CA key. It refuses to
/// start beside CA keys; without them it serves and trusts the CRLs the CA
/// published, sees a revocation the CA made once it reads them again, and
/// refuses to start on CRLs the CA let expire.
#[tokio::test]
async fn the_server_starts_without_any_ca_key_and_trusts_only_the_crls_the_ca_published() {
    let clock = Arc::new(MovableClock(std::sync::Mutex::new(
        std::time::SystemTime::now(),
    )));
    let dir = tempfile::tempdir().expect("dir");
    let home = dir.path().join("home");
    let backend = yinzheng_tests::store_backend(&home);
    let info = demo::create(&home, &backend).expect("demo");
    *clock.0.lock().expect("clock") = std::time::SystemTime::now();
    let pass = info.passphrase.clone();
    let config = || ServerConfig {
        store: backend.clone(),
        clock: clock.clone(),
        allow_ca_keys_in_data_dir: false,
        ..ServerConfig::load(&home).expect("config")
    };

    // Beside the CA keys: refused, each named.
    let err = error_text(AppState::open(&home, config(), pass.as_bytes()));
    for name in [
        "pki/demo/root.key.pem",
        "pki/demo/issuing.key.pem",
        "pki/tls/issuing.key.pem",
    ] {
        assert!(err.contains(name), "{name} not named: {err}");
    }
    assert!(err.contains("allow_ca_keys_in_data_dir"), "{err}");

    // The keys taken to the CA's host: the server starts and verifies.
    let ca_host = dir.path().join("ca-host");
    let moved = move_ca_keys(&home, &ca_host);
    assert!(yinzheng_server::state::ca_keys_in(&home).is_empty());
    // A copy left behind under another name counts as much as the key.
    let backup = home.join("pki/demo/Root.key.pem.bak");
    std::fs::copy(&moved[0].1, &backup).expect("copy");
    let err = error_text(AppState::open(&home, config(), pass.as_bytes()));
    assert!(err.contains("Root.key.pem.bak"), "{err}");
    std::fs::remove_file(&backup).expect("remove");
    let state = AppState::open(&home, config(), pass.as_bytes()).expect("state without CA keys");
    let d = Demo {
        _dir: dir,
        state,
        info,
    };
    let key = d.info.api_key.clone();
    let valid = &d.info.license("valid").expect("a valid demo license").id;
    let pdf = std::fs::read(home.join("licenses/files").join(valid).join("license.pdf"))
        .expect("license file");
    let uri = format!("/v1/verify?{QUERY}");
    let (s, _, body) = send(&d, "POST", &uri, Some(&key), pdf.clone()).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert_eq!(body["code"], 0, "{body}");
    let demo_dir = yinzheng_store::DataDir::new(&home).trust_domain("demo");
    let published = |d: &std::path::Path| {
        yinzheng_ca::TrustDomain::open_in(d, &backend, None)
            .expect("domain")
            .published_crls()
            .expect("published")
            .into_iter()
            .map(|(_, c)| c.der().to_vec())
            .collect::<Vec<_>>()
    };
    let served = |d: &Demo| {
        d.state
            .trust()
            .crls
            .iter()
            .filter(|(n, _)| n.starts_with("demo"))
            .map(|(_, der)| der.clone())
            .collect::<Vec<_>>()
    };
    assert_eq!(
        served(&d),
        published(&demo_dir),
        "the server serves what the CA published"
    );

    // The CA (its keys back on its host for the moment) revokes the
    // authority's signing certificate; the server, reading the published
    // CRLs again, refuses the same file, and names why.
    put_back(&moved);
    yinzheng_ca::TrustDomain::open_in(&demo_dir, &backend, Some(pass.as_bytes()))
        .expect("the CA's domain")
        .revoke(&d.info.signer_serial, 1, std::time::SystemTime::now())
        .expect("revoke");
    let moved = move_ca_keys(&home, &ca_host);
    d.state.refresh_trust().expect("refresh without CA keys");
    assert_eq!(
        served(&d),
        published(&demo_dir),
        "the new CRL, as the CA signed it"
    );
    let (_, _, body) = send(&d, "POST", &uri, Some(&key), pdf).await;
    assert_ne!(body["code"], 0, "a revoked signer's file passed: {body}");
    assert!(
        body.to_string().to_lowercase().contains("revoked"),
        "the revocation is named: {body}"
    );

    // The root kept offline (its key is not at the CA either): the CA
    // revokes its issuing CA's certificate, in the store only, and no ARL
    // lists it yet. The running server trusts the root's ARL no longer —
    // every certificate under that root is indeterminate — and keeps
    // applying the issuing CA's own fresh CRL.
    let issuing_key = demo_dir.join("issuing.key.pem");
    std::fs::rename(ca_host.join("demo/issuing.key.pem"), &issuing_key).expect("key");
    let issuing_serial = d.state.domains[0]
        .domain
        .lock()
        .expect("domain")
        .issuing()
        .serial_hex();
    yinzheng_ca::TrustDomain::open_in(&demo_dir, &backend, Some(pass.as_bytes()))
        .expect("the CA's domain, root offline")
        .revoke(&issuing_serial, 2, std::time::SystemTime::now())
        .expect("revoke the issuing CA");
    std::fs::rename(&issuing_key, ca_host.join("demo/issuing.key.pem")).expect("key");
    d.state
        .refresh_trust()
        .expect("a refresh applies what it can");
    let t = d.state.trust();
    assert!(
        t.refused
            .iter()
            .any(|r| r.starts_with("demo-root") && r.contains(&issuing_serial)),
        "{:?}",
        t.refused
    );
    assert!(
        t.crls.iter().any(|(n, _)| n == "demo"),
        "the issuing CA's CRL still applies"
    );
    assert!(
        !t.crls.iter().any(|(n, _)| n == "demo-root"),
        "the stale ARL is not served"
    );

    // The CA stops signing: a week and a day on, the CRLs have expired. The
    // running server says so; a starting one refuses.
    clock.advance(std::time::Duration::from_secs(8 * 86_400));
    d.state.refresh_trust().expect("refresh");
    assert!(!d.state.trust().expired.is_empty());
    let err = error_text(AppState::open(&home, config(), pass.as_bytes()));
    assert!(
        err.contains("expired") && err.contains("yinzheng ca crl"),
        "{err}"
    );
    drop(moved);
}

/// Issue 22: the server's own keys each open with their own passphrase, a
/// missing or wrong one is named, and the delegated OCSP responder — short-
/// lived, re-issued at the CA with a passphrase of its own — is refused once
/// its certificate has expired.
#[tokio::test]
async fn each_server_key_opens_with_its_own_passphrase_and_an_expired_responder_is_refused() {
    use yinzheng_server::KeyPassphrases;
    let clock = Arc::new(MovableClock(std::sync::Mutex::new(
        std::time::SystemTime::now(),
    )));
    let dir = tempfile::tempdir().expect("dir");
    let home = dir.path().join("home");
    let backend = yinzheng_tests::store_backend(&home);
    let info = demo::create(&home, &backend).expect("demo");
    *clock.0.lock().expect("clock") = std::time::SystemTime::now();
    let pass = info.passphrase.as_bytes().to_vec();
    let config = || ServerConfig {
        store: backend.clone(),
        clock: clock.clone(),
        allow_ca_keys_in_data_dir: false,
        ..ServerConfig::load(&home).expect("config")
    };
    let ca_host = dir.path().join("ca-host");
    let moved = move_ca_keys(&home, &ca_host);
    let p = |b: &[u8]| Some(yinzheng_ca::Passphrase::new(b));
    let open = |keys: KeyPassphrases| error_text(AppState::open_with_keys(&home, config(), &keys));

    let err = open(KeyPassphrases {
        log: p(&pass),
        ..Default::default()
    });
    assert!(
        err.contains("OCSP responder key of trust domain")
            && err.contains("--ocsp-passphrase-file"),
        "{err}"
    );
    let err = open(KeyPassphrases {
        ocsp: p(&pass),
        ..Default::default()
    });
    assert!(
        err.contains("anchoring log") && err.contains("--log-passphrase-file"),
        "{err}"
    );
    let err = open(KeyPassphrases {
        ocsp: p(b"not it"),
        log: p(&pass),
        tls: None,
    });
    assert!(err.contains("wrong passphrase"), "{err}");
    assert_eq!(
        open(KeyPassphrases {
            ocsp: p(&pass),
            log: p(&pass),
            tls: None,
        }),
        ""
    );

    // At the CA (its keys back for the moment): each domain's responder
    // re-issued with a passphrase the CA does not share.
    put_back(&moved);
    for name in ["demo", "tls"] {
        let dir = yinzheng_store::DataDir::new(&home).trust_domain(name);
        let mut d = yinzheng_ca::TrustDomain::open_in(&dir, &backend, Some(&pass)).expect("domain");
        d.renew_ocsp_responder(&yinzheng_ca::ResponderRenewal {
            key_passphrase: Some(b"responder's own"),
            ..Default::default()
        })
        .expect("renewed");
    }
    let moved = move_ca_keys(&home, &ca_host);
    assert!(
        open(KeyPassphrases {
            ocsp: p(&pass),
            log: p(&pass),
            tls: None,
        })
        .contains("wrong passphrase")
    );
    let own = || KeyPassphrases {
        ocsp: p(b"responder's own"),
        log: p(&pass),
        tls: None,
    };
    assert_eq!(open(own()), "");

    // 91 days on, the 90-day responder has expired: refused, with the fix.
    clock.advance(std::time::Duration::from_secs(91 * 86_400));
    let err = open(own());
    assert!(
        err.contains("OCSP responder certificate") && err.contains("ca ocsp-responder"),
        "{err}"
    );
    put_back(&moved);
}
