//! Every endpoint over real TLS against one in-process server on a demo data
//! directory: good, tampered, revoked, unknown, oversized, unauthenticated
//! and out-of-scope requests; OCSP requests made by OpenSSL; receipts, log
//! proofs and checkpoints verified with the log's public key.

mod support;

use std::io::Read;
use std::path::PathBuf;
use std::sync::{Arc, OnceLock};
use yinzheng_server::demo::{self, DemoInfo};
use yinzheng_server::{CallerConfig, CallersFile, ServerConfig};

const USAGE: &str =
    "purpose=%E4%BC%81%E4%B8%9A%E5%BC%80%E5%8A%9E&matter=M-1&businessSerial=BS-1&operator=op-1";
const UPLOAD_LIMIT: usize = 2 << 20;

struct Fixture {
    home: PathBuf,
    base: String,
    info: DemoInfo,
    keys: std::collections::HashMap<&'static str, String>,
    /// Served for the whole test binary (dropping it would stop the server).
    _server: support::Running,
    _dir: tempfile::TempDir,
}

fn caller(name: &str, types: &[&str], ops: &[&str], rate: f64, burst: f64) -> CallerConfig {
    CallerConfig {
        name: name.into(),
        api_key_sm3: None,
        client_cert_sha256: None,
        license_types: types.iter().map(|s| s.to_string()).collect(),
        operations: ops.iter().map(|s| s.to_string()).collect(),
        rate_per_s: rate,
        burst,
        personal_data: false,
    }
}

fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        let dir = tempfile::tempdir().expect("temp dir");
        let home = dir.path().join("home");
        let info = demo::create(&home, &yinzheng_tests::store_backend(&home)).expect("demo");
        let mut callers = CallersFile::load(&home).expect("callers");
        let mut keys = std::collections::HashMap::new();
        keys.insert("all", info.api_key.clone());
        keys.insert(
            "food",
            callers
                .add_with_key(caller(
                    "food-only",
                    &["food-permit"],
                    &["license.read", "license.list", "verify", "token.redeem"],
                    1000.0,
                    1000.0,
                ))
                .expect("add"),
        );
        keys.insert(
            "seals",
            callers
                .add_with_key(caller(
                    "seal-reader",
                    &["*"],
                    &["seal.read"],
                    1000.0,
                    1000.0,
                ))
                .expect("add"),
        );
        keys.insert(
            "slow",
            callers
                .add_with_key(caller("slow", &["*"], &["*"], 0.2, 2.0))
                .expect("add"),
        );
        keys.insert(
            "personal",
            callers
                .add_with_key(CallerConfig {
                    personal_data: true,
                    ..caller(
                        "personal-data",
                        &["*"],
                        &["license.read", "license.list"],
                        1000.0,
                        1000.0,
                    )
                })
                .expect("add"),
        );
        callers.save(&home).expect("save");
        let config = ServerConfig {
            listen: "127.0.0.1:0".parse().expect("addr"),
            max_upload_bytes: UPLOAD_LIMIT,
            // A receipt waits for its record's anchoring (tens of ms) up to
            // this window; on a loaded CI machine 30 ms ran out first and the
            // receipt came without its log index.
            receipt_window_ms: 5_000,
            anchor_interval_ms: 200,
            ..ServerConfig::load(&home).expect("config")
        };
        let running = support::start(&home, &info.passphrase, config);
        let port = running.port;
        Fixture {
            home,
            base: format!("https://127.0.0.1:{port}"),
            info,
            keys,
            _server: running,
            _dir: dir,
        }
    })
}

fn tls_config(f: &Fixture, client: bool) -> Arc<rustls::ClientConfig> {
    support::tls_config(&f.home, client)
}

fn agent(f: &Fixture, client: bool) -> ureq::Agent {
    support::agent(&f.home, client)
}

struct Answer {
    status: u16,
    content_type: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Answer {
    fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&self.body)))
    }
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
    /// A problem-details answer with this status and code.
    fn problem(&self, status: u16, code: &str) -> serde_json::Value {
        assert_eq!(
            self.status,
            status,
            "{}",
            String::from_utf8_lossy(&self.body)
        );
        assert_eq!(self.content_type, "application/problem+json");
        let j = self.json();
        assert_eq!(j["code"], code, "{j}");
        assert_eq!(j["status"], status);
        assert!(j["detail"].as_str().is_some_and(|d| !d.is_empty()));
        assert!(
            j["requestId"].as_str().is_some_and(|d| d.len() >= 16),
            "{j}"
        );
        assert_eq!(self.header("x-request-id"), j["requestId"].as_str());
        j
    }
}

fn send(req: ureq::Request, body: Option<&[u8]>) -> Answer {
    let r = match body {
        Some(b) => req.send_bytes(b),
        None => req.call(),
    };
    let resp = match r {
        Ok(r) => r,
        Err(ureq::Error::Status(_, r)) => r,
        Err(e) => panic!("transport: {e}"),
    };
    let status = resp.status();
    let content_type = resp.header("content-type").unwrap_or_default().to_string();
    let headers = resp
        .headers_names()
        .into_iter()
        .map(|n| {
            let v = resp.header(&n).unwrap_or_default().to_string();
            (n, v)
        })
        .collect();
    let mut body = Vec::new();
    resp.into_reader()
        .take(64 << 20)
        .read_to_end(&mut body)
        .expect("body");
    Answer {
        status,
        content_type,
        headers,
        body,
    }
}

/// Send a request by hand over TLS: the headers (with `extra` lines), then
/// `body` (which may be shorter than the Content-Length claimed: the server
/// must answer before reading it). Returns the status and the body text.
fn raw(f: &Fixture, head: &str, body: &[u8]) -> (u16, String) {
    use std::io::Write;
    let port: u16 = f
        .base
        .rsplit(':')
        .next()
        .and_then(|p| p.parse().ok())
        .expect("port");
    let tcp = std::net::TcpStream::connect(("127.0.0.1", port)).expect("connect");
    let conn =
        rustls::ClientConnection::new(tls_config(f, false), "localhost".try_into().expect("name"))
            .expect("tls");
    let mut s = rustls::StreamOwned::new(conn, tcp);
    let _ = s.write_all(head.as_bytes());
    for chunk in body.chunks(16 << 10) {
        if s.write_all(chunk).is_err() {
            break;
        }
    }
    let _ = s.flush();
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    let text = String::from_utf8_lossy(&out).into_owned();
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or_else(|| panic!("no HTTP answer: {text:?}"));
    (status, text)
}

fn get(f: &Fixture, key: Option<&str>, path: &str) -> Answer {
    let mut r = agent(f, false).get(&format!("{}{path}", f.base));
    if let Some(k) = key {
        r = r.set("Authorization", &format!("Bearer {}", f.keys[k]));
    }
    send(r, None)
}

fn post(f: &Fixture, key: Option<&str>, path: &str, ct: &str, body: &[u8]) -> Answer {
    let mut r = agent(f, false)
        .post(&format!("{}{path}", f.base))
        .set("Content-Type", ct);
    if let Some(k) = key {
        r = r.set("Authorization", &format!("Bearer {}", f.keys[k]));
    }
    send(r, Some(body))
}

fn license(f: &Fixture, status: &str) -> String {
    f.info.license(status).expect("sample license").id.clone()
}

fn license_file(f: &Fixture, id: &str, name: &str) -> Vec<u8> {
    std::fs::read(f.home.join("licenses/files").join(id).join(name)).expect("license file")
}

fn log_key(f: &Fixture) -> yinzheng_anchor::VerifierKey {
    let text = std::fs::read_to_string(f.home.join("log/log.vkey")).expect("vkey");
    yinzheng_anchor::VerifierKey::parse(text.trim()).expect("parse vkey")
}

#[test]
fn license_status_by_identifier() {
    let f = fixture();
    let valid = license(f, "valid");
    let a = get(f, Some("all"), &format!("/v1/licenses/{valid}?{USAGE}"));
    assert_eq!(a.status, 200);
    let j = a.json();
    assert_eq!(j["code"], 0, "{j}");
    assert_eq!(j["status"], "valid");
    assert_eq!(j["license"]["id"], valid);
    assert_eq!(j["license"]["issuerName"], "示例市市场监督管理局");
    assert!(j["usageRecord"].as_i64().is_some_and(|n| n > 0));
    // the usage record is durable before the answer
    let reg = yinzheng_license::Registry::open_in(
        &f.home.join("licenses"),
        &yinzheng_tests::store_backend(&f.home),
    )
    .expect("registry");
    let rec = reg
        .usage_record(j["usageRecord"].as_i64().expect("seq"))
        .expect("read")
        .expect("recorded");
    assert_eq!(rec.caller, "demo-approval-system");
    assert_eq!(rec.purpose, "企业开办");
    assert_eq!(
        (
            rec.matter.as_str(),
            rec.business_serial.as_str(),
            rec.operator.as_str()
        ),
        ("M-1", "BS-1", "op-1")
    );

    let j = get(
        f,
        Some("all"),
        &format!("/v1/licenses/{}?{USAGE}", license(f, "revoked")),
    )
    .json();
    assert_eq!(
        (j["code"].as_u64(), j["status"].as_str()),
        (Some(3), Some("revoked"))
    );
    let j = get(
        f,
        Some("all"),
        &format!("/v1/licenses/{}?{USAGE}", license(f, "suspended")),
    )
    .json();
    assert_eq!(
        (j["code"].as_u64(), j["status"].as_str()),
        (Some(2), Some("suspended"))
    );

    // unknown: a well-formed identifier that was never issued → 404, still recorded
    let unknown = yinzheng_license::LicenseId::new(
        "11100000000013338W011",
        "11430000006122244L",
        "2026999999",
        1,
    )
    .expect("id")
    .to_string();
    let a = get(f, Some("all"), &format!("/v1/licenses/{unknown}?{USAGE}"));
    let p = a.problem(404, "not_found");
    assert_eq!(p["resultCode"], 5);
    assert!(p["usageRecord"].as_i64().is_some_and(|n| n > 0));
    // malformed identifier → 400 naming the field
    let p = get(
        f,
        Some("all"),
        &format!("/v1/licenses/1.2.156.3005.2.nonsense?{USAGE}"),
    )
    .problem(400, "bad_request");
    assert_eq!(p["field"], "identifier");
    // each usage field is required, and named when missing
    for (field, q) in [
        ("purpose", "matter=M&businessSerial=B&operator=O"),
        ("matter", "purpose=P&businessSerial=B&operator=O"),
        ("businessSerial", "purpose=P&matter=M&operator=O"),
        ("operator", "purpose=P&matter=M&businessSerial=B"),
    ] {
        let p =
            get(f, Some("all"), &format!("/v1/licenses/{valid}?{q}")).problem(400, "bad_request");
        assert_eq!(p["field"], field);
    }
    // blank after trimming, NUL and other control characters: refused, named
    for (field, q) in [
        (
            "purpose",
            "purpose=%00&matter=M&businessSerial=B&operator=O",
        ),
        (
            "purpose",
            "purpose=%20%20&matter=M&businessSerial=B&operator=O",
        ),
        (
            "operator",
            "purpose=P&matter=M&businessSerial=B&operator=O%0Ax",
        ),
        (
            "matter",
            "purpose=P&matter=M%1B&businessSerial=B&operator=O",
        ),
        // a right-to-left override makes the record read otherwise
        (
            "businessSerial",
            "purpose=P&matter=M&businessSerial=B%E2%80%AE1&operator=O",
        ),
    ] {
        let p =
            get(f, Some("all"), &format!("/v1/licenses/{valid}?{q}")).problem(400, "bad_request");
        assert_eq!(p["field"], field, "{q}: {p}");
    }
}

#[test]
fn authentication_scopes_and_rate_limits() {
    let f = fixture();
    let valid = license(f, "valid");
    let path = format!("/v1/licenses/{valid}?{USAGE}");
    // no credentials, a wrong key
    let a = get(f, None, &path);
    a.problem(401, "unauthenticated");
    assert!(
        a.header("www-authenticate")
            .is_some_and(|h| h.starts_with("Bearer"))
    );
    let r = agent(f, false).get(&format!("{}{path}", f.base)).set(
        "Authorization",
        "Bearer yzk_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
    );
    send(r, None).problem(401, "unauthenticated");
    // X-API-Key works too
    let r = agent(f, false)
        .get(&format!("{}{path}", f.base))
        .set("X-API-Key", &f.keys["all"]);
    assert_eq!(send(r, None).status, 200);
    // an operation the caller lacks; a license type outside its scope
    get(f, Some("seals"), &path).problem(403, "operation_not_allowed");
    get(f, Some("food"), &path).problem(403, "license_type_not_allowed");
    // the food-only caller sees only food permits of the holder
    let j = get(
        f,
        Some("food"),
        &format!("/v1/licenses?holderCode=91350100M000100Y43&{USAGE}"),
    )
    .json();
    let types: Vec<_> = j["licenses"]
        .as_array()
        .expect("list")
        .iter()
        .map(|l| l["typeKey"].as_str().unwrap_or_default().to_string())
        .collect();
    assert_eq!(types, ["food-permit"], "{j}");
    // mTLS: the client certificate is the demo counter caller
    let r = agent(f, true).get(&format!("{}{path}", f.base));
    let a = send(r, None);
    assert_eq!(a.status, 200, "{}", String::from_utf8_lossy(&a.body));
    let seq = a.json()["usageRecord"].as_i64().expect("seq");
    let reg = yinzheng_license::Registry::open_in(
        &f.home.join("licenses"),
        &yinzheng_tests::store_backend(&f.home),
    )
    .expect("registry");
    assert_eq!(
        reg.usage_record(seq).expect("read").expect("rec").caller,
        "demo-counter-mtls"
    );
    // the mTLS caller may not read seals
    let r = agent(f, true).get(&format!("{}/v1/seals/{}", f.base, f.info.seal_id));
    send(r, None).problem(403, "operation_not_allowed");
    // a client certificate from another CA is refused in the handshake
    // (covered by rustls' verifier); a request without any credential → 401 above.
    // rate limit: burst 2, then 429 with Retry-After
    let mut statuses = Vec::new();
    for _ in 0..4 {
        statuses.push(get(f, Some("slow"), &path));
    }
    assert_eq!(statuses[0].status, 200);
    assert_eq!(statuses[1].status, 200);
    let last = statuses.last().expect("answers");
    last.problem(429, "rate_limited");
    assert!(
        last.header("retry-after")
            .is_some_and(|s| s.parse::<u64>().is_ok_and(|n| n >= 1))
    );
}

#[test]
fn list_and_verify_fields() {
    let f = fixture();
    let j = get(
        f,
        Some("all"),
        &format!("/v1/licenses?holderCode=91350100m000100y43&{USAGE}"),
    )
    .json();
    assert_eq!(j["count"], 4, "{j}");
    let j = get(
        f,
        Some("all"),
        &format!("/v1/licenses?holderCode=91350100M000100Y43&type=food-permit&{USAGE}"),
    )
    .json();
    assert_eq!(j["count"], 1, "{j}");
    let j = get(
        f,
        Some("all"),
        &format!("/v1/licenses?holderCode=11010519491231002X&holderType=111&{USAGE}"),
    )
    .json();
    assert_eq!(j["count"], 1, "{j}");
    // a citizen's ID number, name and face data are masked for callers
    // without personal_data (the demo's callers have none)
    assert_eq!(
        j["licenses"][0]["holder"]["code"], "110105********002X",
        "{j}"
    );
    assert_eq!(j["licenses"][0]["holder"]["name"], "李*", "{j}");
    let text = j.to_string();
    for secret in ["李四", "临床", "示例市人民医院", "11010519491231002X"] {
        assert!(!text.contains(secret), "{secret} leaked: {j}");
    }
    // a caller allowed personal_data sees the citizen's data as registered
    let mine = get(
        f,
        Some("personal"),
        &format!("/v1/licenses?holderCode=11010519491231002X&holderType=111&{USAGE}"),
    )
    .json();
    assert_eq!(mine["licenses"][0]["holder"]["name"], "李四", "{mine}");
    assert_eq!(
        mine["licenses"][0]["holder"]["code"], "11010519491231002X",
        "{mine}"
    );
    assert!(mine.to_string().contains("示例市人民医院"), "{mine}");
    // an organisation's data is not personal: shown as registered
    let org = get(
        f,
        Some("all"),
        &format!("/v1/licenses?holderCode=91350100M000100Y43&type=food-permit&{USAGE}"),
    )
    .json();
    assert!(org.to_string().contains("示例市中山路8号"), "{org}");
    get(f, Some("all"), &format!("/v1/licenses?{USAGE}")).problem(400, "bad_request");
    let p = get(
        f,
        Some("all"),
        &format!("/v1/licenses?holderCode=X&holderType=9&{USAGE}"),
    )
    .problem(400, "bad_request");
    assert_eq!(p["field"], "holderType");
    get(
        f,
        Some("all"),
        &format!("/v1/licenses?holderCode=X&type=no-such-type&{USAGE}"),
    )
    .problem(400, "bad_request");

    let valid = license(f, "valid");
    let path = format!("/v1/licenses/{valid}/verify-fields");
    let body = serde_json::json!({
        "fields": {"holder_name": "示例科技有限公司", "legal_rep": "张三"},
        "purpose": "核验", "matter": "M", "businessSerial": "B", "operator": "O"
    });
    let j = post(
        f,
        Some("all"),
        &path,
        "application/json",
        body.to_string().as_bytes(),
    )
    .json();
    assert_eq!(j["code"], 0, "{j}");
    let body = serde_json::json!({
        "fields": {"legal_rep": "李四"},
        "purpose": "核验", "matter": "M", "businessSerial": "B", "operator": "O"
    });
    let j = post(
        f,
        Some("all"),
        &path,
        "application/json",
        body.to_string().as_bytes(),
    )
    .json();
    assert_eq!(j["code"], 7, "{j}");
    assert_eq!(j["mismatches"], serde_json::json!(["legal_rep"]));
    // per field: match or not, never the registered value or the holder
    assert_eq!(
        j["fields"],
        serde_json::json!([{"field": "legal_rep", "result": "mismatch"}]),
        "{j}"
    );
    assert!(j["license"].is_null(), "{j}");
    for secret in ["张三", "91350100M000100Y43", "示例科技有限公司", "科技路"] {
        assert!(!j.to_string().contains(secret), "{secret} leaked: {j}");
    }
    // an unknown field is named as unknown, again without the record
    let body = serde_json::json!({
        "fields": {"no_such_field": "x", "legal_rep": "张三"},
        "purpose": "核验", "matter": "M", "businessSerial": "B", "operator": "O"
    });
    let j = post(
        f,
        Some("all"),
        &path,
        "application/json",
        body.to_string().as_bytes(),
    )
    .json();
    assert_eq!(j["code"], 4, "{j}");
    assert!(j["license"].is_null(), "{j}");
    let result = |field: &str| {
        j["fields"]
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x["field"] == field)
            .map(|x| x["result"].clone())
    };
    assert_eq!(result("no_such_field"), Some("unknown".into()), "{j}");
    assert_eq!(result("legal_rep"), Some("match".into()), "{j}");
    post(f, Some("all"), &path, "application/json", b"{not json").problem(400, "bad_request");
    let (status, text) = raw(
        f,
        &format!(
            "POST {path} HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            f.keys["all"],
            100 << 10
        ),
        b"",
    );
    assert_eq!(status, 413, "{text}");
    assert!(text.contains("payload_too_large"), "{text}");
}

#[test]
fn holder_tokens_are_single_use() {
    let f = fixture();
    let mut reg = yinzheng_license::Registry::open_in(
        &f.home.join("licenses"),
        &yinzheng_tests::store_backend(&f.home),
    )
    .expect("registry");
    let (token, _) = reg
        .create_token(
            &license(f, "valid"),
            120,
            None,
            "holder",
            time::OffsetDateTime::now_utc(),
        )
        .expect("token");
    let path = format!("/v1/tokens/{token}/redeem?{USAGE}");
    // a caller that may not see business licences is refused before the token is spent
    post(f, Some("food"), &path, "application/json", b"").problem(403, "license_type_not_allowed");
    let body = serde_json::json!({"receipt": true});
    let j = post(
        f,
        Some("all"),
        &path,
        "application/json",
        body.to_string().as_bytes(),
    )
    .json();
    assert_eq!(j["code"], 0, "{j}");
    assert_eq!(j["license"]["id"], license(f, "valid"));
    let receipt: yinzheng_anchor::Receipt =
        serde_json::from_value(j["receipt"].clone()).expect("receipt");
    let v = yinzheng_anchor::verify_receipt(&receipt, &[log_key(f)]).expect("verifies");
    assert_eq!(
        (v.body.operation.as_str(), v.body.result_code),
        ("qr-redeem", Some(0))
    );
    assert_eq!(v.body.subject, license(f, "valid"));
    post(f, Some("all"), &path, "application/json", b"").problem(409, "token_refused");
    post(
        f,
        Some("all"),
        &format!("/v1/tokens/YZTNOSUCHTOKEN/redeem?{USAGE}"),
        "application/json",
        b"",
    )
    .problem(409, "token_refused");
    post(
        f,
        Some("all"),
        &format!("/v1/tokens/bad%20token/redeem?{USAGE}"),
        "application/json",
        b"",
    )
    .problem(400, "bad_request");
}

#[test]
fn verify_license_files() {
    let f = fixture();
    let valid = license(f, "valid");
    let pdf = license_file(f, &valid, "license.pdf");
    let path = format!("/v1/verify?{USAGE}");
    let a = post(f, Some("all"), &path, "application/pdf", &pdf);
    let j = a.json();
    assert_eq!(j["code"], 0, "{j}");
    assert_eq!(j["report"]["indication"], "TOTAL_PASSED", "{}", j["report"]);
    assert_eq!(j["license"]["id"], valid);
    let ofd = license_file(f, &valid, "license.ofd");
    let j = post(f, Some("all"), &path, "application/ofd", &ofd).json();
    assert_eq!(j["code"], 0, "{j}");
    // tampered: one byte of the first page's text changed → code 7, report fails
    let mut bad = pdf.clone();
    let at = bad
        .windows(7)
        .position(|w| w == b"endobj\n")
        .expect("an object")
        - 20;
    bad[at] ^= 0x01;
    let j = post(f, Some("all"), &path, "application/pdf", &bad).json();
    assert_eq!(j["code"], 7, "{j}");
    assert_ne!(j["report"]["indication"], "TOTAL_PASSED");
    // a genuine file of a revoked license → code 3
    let revoked = license(f, "revoked");
    let j = post(
        f,
        Some("all"),
        &path,
        "application/pdf",
        &license_file(f, &revoked, "license.pdf"),
    )
    .json();
    assert_eq!(
        (j["code"].as_u64(), j["status"].as_str()),
        (Some(3), Some("revoked")),
        "{j}"
    );
    // not a document; empty; oversized (before reading: Content-Length; and chunked)
    let p = post(f, Some("all"), &path, "application/octet-stream", b"hello")
        .problem(400, "bad_request");
    assert_eq!(p["field"], "file");
    post(f, Some("all"), &path, "application/pdf", b"").problem(400, "bad_request");
    // Content-Length over the limit: refused before the body is read
    let (status, text) = raw(
        f,
        &format!(
            "POST {path} HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer {}\r\nContent-Type: application/pdf\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            f.keys["all"],
            UPLOAD_LIMIT + (128 << 10)
        ),
        b"",
    );
    assert_eq!(status, 413, "{text}");
    // chunked (no length announced): refused once the limit is passed
    let mut chunked = Vec::new();
    for _ in 0..(UPLOAD_LIMIT / (64 << 10) + 1) {
        chunked.extend_from_slice(format!("{:x}\r\n", 64 << 10).as_bytes());
        chunked.extend_from_slice(&[b'%'; 64 << 10]);
        chunked.extend_from_slice(b"\r\n");
    }
    chunked.extend_from_slice(b"0\r\n\r\n");
    let (status, text) = raw(
        f,
        &format!(
            "POST {path} HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer {}\r\nContent-Type: application/pdf\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n",
            f.keys["all"]
        ),
        &chunked,
    );
    assert_eq!(status, 413, "{text}");
    // a food-only caller may not verify a business licence
    post(f, Some("food"), &path, "application/pdf", &pdf).problem(403, "license_type_not_allowed");
    // 300 truncations and flips never crash a worker; the server still answers
    for i in 0..60 {
        let mut m = pdf.clone();
        let p = (i * 7919) % m.len();
        m[p] ^= 0xff;
        m.truncate(m.len() - (i * 131) % 4000);
        let a = post(f, Some("all"), &path, "application/pdf", &m);
        assert!(
            matches!(a.status, 200 | 400),
            "{} {}",
            a.status,
            String::from_utf8_lossy(&a.body)
        );
    }
    assert_eq!(get(f, None, "/healthz").status, 200);
}

fn multipart(parts: &[(&str, &[u8])]) -> (String, Vec<u8>) {
    let boundary = "yinzheng-test-boundary-7d1f";
    let mut body = Vec::new();
    for (name, data) in parts {
        body.extend_from_slice(
            format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"; filename=\"{name}.bin\"\r\nContent-Type: application/octet-stream\r\n\r\n").as_bytes(),
        );
        body.extend_from_slice(data);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

#[test]
fn verify_detached_signatures() {
    let f = fixture();
    let pass = f.info.passphrase.as_bytes();
    let key = yinzheng_crypto::PrivateKey::from_bytes(
        &std::fs::read(f.home.join("demo/authority.key.pem")).expect("key"),
        Some(pass),
    )
    .expect("key");
    let cert = yinzheng_pki::ParsedCert::load_all(
        &std::fs::read(f.home.join("demo/authority.pem")).expect("cert"),
    )
    .expect("cert")
    .remove(0);
    let data = "申请材料 application form v1".as_bytes();
    let sig = yinzheng_cms::sign_detached(
        &key,
        cert.der(),
        &[data],
        &yinzheng_cms::SignOptions::default(),
        None,
    )
    .expect("sign");
    let path = format!("/v1/verify?{USAGE}");
    let (ct, body) = multipart(&[("file", data), ("signature", &sig)]);
    let j = post(f, Some("all"), &path, &ct, &body).json();
    assert_eq!(j["report"]["indication"], "TOTAL_PASSED", "{j}");
    let (ct, body) = multipart(&[("file", b"another form"), ("signature", &sig)]);
    let j = post(f, Some("all"), &path, &ct, &body).json();
    assert_eq!(j["code"], 7, "{j}");
    assert_ne!(j["report"]["indication"], "TOTAL_PASSED");
    let (ct, body) = multipart(&[("file", data), ("signature", b"garbage")]);
    let p = post(f, Some("all"), &path, &ct, &body).problem(400, "bad_request");
    assert_eq!(p["field"], "signature");
    let (ct, body) = multipart(&[("signature", &sig)]);
    post(f, Some("all"), &path, &ct, &body).problem(400, "bad_request");
    let (ct, body) = multipart(&[("file", &vec![0u8; UPLOAD_LIMIT + (100 << 10)])]);
    let (status, text) = raw(
        f,
        &format!(
            "POST {path} HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer {}\r\nContent-Type: {ct}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            f.keys["all"],
            body.len()
        ),
        b"",
    );
    assert_eq!(status, 413, "{text}");
}

#[test]
fn seals_and_certificates() {
    let f = fixture();
    let j = get(f, Some("seals"), &format!("/v1/seals/{}", f.info.seal_id)).json();
    assert_eq!(j["status"], "active", "{j}");
    assert_eq!(j["name"], "示例市市场监督管理局公章");
    let a = get(
        f,
        Some("seals"),
        &format!("/v1/seals/{}/picture", f.info.seal_id),
    );
    assert_eq!((a.status, a.content_type.as_str()), (200, "image/png"));
    assert!(a.body.starts_with(b"\x89PNG"));
    get(f, Some("seals"), "/v1/seals/no-such-seal").problem(404, "not_found");
    let j = get(
        f,
        Some("all"),
        &format!("/v1/certs/{}/status", f.info.signer_serial),
    )
    .json();
    assert_eq!(
        (j["status"].as_str(), j["domain"].as_str()),
        (Some("good"), Some("demo")),
        "{j}"
    );
    get(f, Some("all"), "/v1/certs/0123456789abcdef/status").problem(404, "not_found");
    let p = get(f, Some("all"), "/v1/certs/xyz/status").problem(400, "bad_request");
    assert_eq!(p["field"], "serial");
    get(
        f,
        Some("seals"),
        &format!("/v1/certs/{}/status", f.info.signer_serial),
    )
    .problem(403, "operation_not_allowed");
}

#[yinzheng_tests::peer_test(openssl)]
fn ocsp_and_crls_for_openssl() {
    let f = fixture();
    let dir = tempfile::tempdir().expect("dir");
    let issuing = f.home.join("pki/demo/issuing.pem");
    let cert = f.home.join("demo/authority.pem");
    // OpenSSL builds the request
    yinzheng_tests::openssl_ok(
        dir.path(),
        &[
            "ocsp",
            "-issuer",
            &issuing.display().to_string(),
            "-cert",
            &cert.display().to_string(),
            "-no_nonce",
            "-reqout",
            "req.der",
        ],
    );
    let req = std::fs::read(dir.path().join("req.der")).expect("req");
    let issuer = yinzheng_pki::ParsedCert::load_all(&std::fs::read(&issuing).expect("issuing"))
        .expect("parse")
        .remove(0);
    let leaf = yinzheng_pki::ParsedCert::load_all(&std::fs::read(&cert).expect("cert"))
        .expect("parse")
        .remove(0);
    let a = post(f, None, "/v1/ocsp", "application/ocsp-request", &req);
    assert_eq!(
        (a.status, a.content_type.as_str()),
        (200, "application/ocsp-response")
    );
    let answer = yinzheng_pki::ocsp::check_response(
        &a.body,
        &leaf,
        &issuer,
        &yinzheng_crypto::Sm2Id::default(),
        std::time::SystemTime::now(),
    )
    .expect("our OCSP check");
    assert!(format!("{answer:?}").contains("Good"), "{answer:?}");
    // OpenSSL reads the response (status printed without verifying the SM2 signature)
    std::fs::write(dir.path().join("resp.der"), &a.body).expect("write");
    let out = yinzheng_tests::openssl_ok(
        dir.path(),
        &["ocsp", "-respin", "resp.der", "-resp_text", "-noverify"],
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("Cert Status: good"), "{text}");
    // GET form: base64 in the path
    let b64 = yinzheng_crypto::base64::encode(&req);
    let a = get(
        f,
        None,
        &format!("/v1/ocsp/{}", b64.replace('/', "%2F").replace('+', "%2B")),
    );
    assert_eq!(a.status, 200);
    // answered from the pre-signed cache: the same bytes as the POST answer
    assert_eq!(
        a.body,
        std::fs::read(dir.path().join("resp.der")).expect("resp")
    );
    let a = get(f, None, "/v1/ocsp/!!!");
    a.problem(400, "bad_request");
    // garbage request → malformedRequest (status 1), not a crash
    let a = post(
        f,
        None,
        "/v1/ocsp",
        "application/ocsp-request",
        b"\x30\x03\x02\x01\x00",
    );
    assert_eq!(a.body, [0x30, 0x03, 0x0a, 0x01, 0x01]);
    // CRLs, read by OpenSSL
    for name in ["demo", "demo-root"] {
        let a = get(f, None, &format!("/v1/crl/{name}.crl"));
        assert_eq!(
            (a.status, a.content_type.as_str()),
            (200, "application/pkix-crl"),
            "{name}"
        );
        std::fs::write(dir.path().join("c.crl"), &a.body).expect("write");
        let out = yinzheng_tests::openssl_ok(
            dir.path(),
            &["crl", "-inform", "DER", "-in", "c.crl", "-noout", "-issuer"],
        );
        assert!(String::from_utf8_lossy(&out.stdout).contains("Yinzheng Demo"));
    }
    get(f, None, "/v1/crl/nope.crl").problem(404, "not_found");
}

#[test]
fn log_read_side_and_receipts() {
    let f = fixture();
    let vkey = log_key(f);
    // a check with a receipt: signed in a batch, its usage record anchored
    let valid = license(f, "valid");
    let j = get(
        f,
        Some("all"),
        &format!("/v1/licenses/{valid}?{USAGE}&receipt=true"),
    )
    .json();
    let receipt: yinzheng_anchor::Receipt =
        serde_json::from_value(j["receipt"].clone()).expect("receipt JSON");
    let v = yinzheng_anchor::verify_receipt(&receipt, std::slice::from_ref(&vkey))
        .expect("receipt verifies");
    assert_eq!(v.body.subject, valid);
    assert_eq!(v.body.result_code, Some(0));
    assert_eq!(v.body.usage_seq, j["usageRecord"].as_i64());
    let log_index = v
        .body
        .log_index
        .expect("anchored before the receipt was signed");
    // the receipt's request digest is SM3 over what was sent
    let want = hex::encode(yinzheng_crypto::sm3(
        format!("GET /v1/licenses/{valid}?{USAGE}&receipt=true\n").as_bytes(),
    ));
    assert_eq!(v.body.request_sm3, want);
    // its usage record's entry is in the log: the proof endpoint proves it
    let a = get(f, None, &format!("/v1/log/proof/{log_index}"));
    assert_eq!(a.status, 200, "{}", String::from_utf8_lossy(&a.body));
    let ev = yinzheng_anchor::Evidence::parse(&a.body).expect("evidence");
    let verified = ev
        .verify(
            std::slice::from_ref(&vkey),
            yinzheng_anchor::HashAlg::Sm3,
            None,
        )
        .expect("proof verifies");
    let entry = yinzheng_anchor::Entry::decode(ev.entry().expect("entry")).expect("entry decodes");
    let _ = verified;
    let digest = hex::encode(entry.digests().first().expect("digest"));
    assert_eq!(Some(digest), v.body.usage_sm3);
    // checkpoint: signed by the log key
    let cp_text = get(f, None, "/v1/log/checkpoint").body;
    let cp = yinzheng_anchor::SignedCheckpoint::open(&cp_text, std::slice::from_ref(&vkey), None)
        .expect("checkpoint verifies");
    let size = cp.checkpoint().size();
    assert!(size > log_index);
    // tiles: the level-0 tile holding the first entries
    let w = size.min(256);
    let tile = if w == 256 {
        "0/000".to_string()
    } else {
        format!("0/000.p/{w}")
    };
    let a = get(f, None, &format!("/v1/log/tile/{tile}"));
    assert_eq!(a.status, 200, "{tile}");
    assert_eq!(a.body.len() as u64, 32 * w);
    get(f, None, "/v1/log/tile/0/abc").problem(400, "bad_request");
    get(f, None, "/v1/log/tile/0/999").problem(404, "not_found");
    // consistency from size 1 to now
    let j = get(f, None, "/v1/log/consistency?old=1").json();
    let proof: Vec<yinzheng_anchor::Hash> = j["proof"]
        .as_array()
        .expect("proof")
        .iter()
        .map(|h| {
            let b = yinzheng_crypto::base64::decode(h.as_str().expect("str")).expect("b64");
            <[u8; 32]>::try_from(b.as_slice()).expect("hash")
        })
        .collect();
    let new_size = j["new"].as_u64().expect("new");
    let new_cp = yinzheng_anchor::SignedCheckpoint::open(
        j["checkpoint"].as_str().expect("note").as_bytes(),
        std::slice::from_ref(&vkey),
        None,
    )
    .expect("cp");
    assert_eq!(new_cp.checkpoint().size(), new_size);
    let old_root = yinzheng_anchor::HashAlg::Sm3.leaf_hash(
        &yinzheng_anchor::TileReader::new(
            yinzheng_log::Log::tiles_dir(&f.home.join("log")),
            yinzheng_anchor::HashAlg::Sm3,
            new_size,
        )
        .entry(0)
        .expect("entry 0"),
    );
    yinzheng_anchor::verify_consistency(
        yinzheng_anchor::HashAlg::Sm3,
        1,
        new_size,
        &old_root,
        new_cp.checkpoint().root(),
        &proof,
    )
    .expect("consistent");
    get(f, None, "/v1/log/consistency?old=0").problem(400, "bad_request");
    get(f, None, &format!("/v1/log/proof/{}", size + 1000)).problem(404, "not_found");
}

#[test]
fn service_endpoints() {
    let f = fixture();
    assert_eq!(get(f, None, "/healthz").body, b"ok\n");
    assert_eq!(get(f, None, "/readyz").status, 200);
    let a = get(f, None, "/");
    assert!(a.content_type.starts_with("text/html"));
    assert!(
        a.header("content-security-policy")
            .is_some_and(|c| c.contains("default-src 'self'"))
    );
    let j = get(f, None, "/v1/openapi.json").json();
    assert!(j["openapi"].as_str().is_some_and(|v| v.starts_with('3')));
    get(f, None, "/v1/nothing-here").problem(404, "not_found");
    post(f, None, "/healthz", "text/plain", b"").problem(405, "method_not_allowed");
    get(f, None, "/metrics").problem(401, "unauthenticated");
    get(f, Some("seals"), "/metrics").problem(403, "operation_not_allowed");
    // one lookup, then the counters show it
    get(
        f,
        Some("all"),
        &format!("/v1/licenses/{}?{USAGE}", license(f, "valid")),
    );
    let m = String::from_utf8(get(f, Some("all"), "/metrics").body).expect("text");
    assert!(
        m.contains("yinzheng_http_requests_total{route=\"/v1/licenses/{id}\",status=\"200\"}"),
        "{m}"
    );
    assert!(m.contains(
        "yinzheng_http_request_duration_seconds_bucket{route=\"/v1/licenses/{id}\",le=\"0.005\"}"
    ));
    assert!(m.contains("yinzheng_usage_records_total"));
    assert!(m.contains("yinzheng_log_sequencing_lag_records"));
    assert!(m.contains("yinzheng_chain_cache_hits_total"));
    // no personal ID number or API key ever appears in the metrics
    assert!(!m.contains("11010519491231002X") && !m.contains(&f.keys["all"]));
    // a request id sent by the caller is kept
    let r = agent(f, false)
        .get(&format!("{}/healthz", f.base))
        .set("x-request-id", "abc-123");
    assert_eq!(send(r, None).header("x-request-id"), Some("abc-123"));
}

/// A caller added or removed with the callers file is in force on the
/// running server within a second (issue 19: a removed caller kept access
/// until a restart). Other tests share the server: this caller is its own.
#[test]
fn callers_added_or_removed_take_effect_within_a_second() {
    let f = fixture();
    let valid = license(f, "valid");
    let path = format!("{}/v1/licenses/{valid}?{USAGE}", f.base);
    let status = |key: &str| {
        send(
            agent(f, false)
                .get(&path)
                .set("Authorization", &format!("Bearer {key}")),
            None,
        )
        .status
    };
    // Wait up to `limit` for `key` to answer `want`; how long it took.
    let within = |key: &str, want: u16, limit: std::time::Duration| {
        let start = std::time::Instant::now();
        loop {
            let got = status(key);
            if got == want {
                return start.elapsed();
            }
            assert!(start.elapsed() < limit, "still {got} after {limit:?}");
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
    };
    let second = std::time::Duration::from_millis(1500);
    let mut file = CallersFile::load(&f.home).expect("callers");
    let key = file
        .add_with_key(caller(
            "hot-added",
            &["*"],
            &["license.read"],
            1000.0,
            1000.0,
        ))
        .expect("add");
    file.save(&f.home).expect("save");
    within(&key, 200, second);
    let mut file = CallersFile::load(&f.home).expect("callers");
    file.callers.retain(|c| c.name != "hot-added");
    file.save(&f.home).expect("save");
    within(&key, 401, second);
    // The callers in force before are untouched.
    assert_eq!(status(&f.keys["all"]), 200);
}
