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
