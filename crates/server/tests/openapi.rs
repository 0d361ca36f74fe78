//! `openapi.json` against the code: it is a well-formed OpenAPI document,
//! documents exactly the router's routes (read from `ROUTES` and from the
//! `.route(…)` calls in `lib.rs`), every `$ref` resolves, each operation's
//! security and `x-yinzheng-operation` match what its handler requires, and
//! errors are problem details.

use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use yinzheng_server::routes::OPENAPI;
use yinzheng_server::{OPERATIONS, ROUTES};

const LIB_RS: &str = include_str!("../src/lib.rs");
/// Every handler module (src/routes/*.rs), read as text.
const ROUTES_RS: &[&str] = &[
    include_str!("../src/routes/mod.rs"),
    include_str!("../src/routes/licenses.rs"),
    include_str!("../src/routes/verify.rs"),
    include_str!("../src/routes/pki.rs"),
    include_str!("../src/routes/log.rs"),
    include_str!("../src/routes/service.rs"),
];
const METHODS: &[&str] = &[
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

fn doc() -> Value {
    serde_json::from_str(OPENAPI).expect("openapi.json is JSON")
}

/// axum's `{*rest}` is OpenAPI's `{rest}`.
fn openapi_path(axum: &str) -> String {
    axum.replace("{*", "{")
}

/// (METHOD, path) → operation object, for every operation of the document.
fn operations(doc: &Value) -> BTreeMap<(String, String), Value> {
    let mut out = BTreeMap::new();
    for (path, item) in doc["paths"].as_object().expect("paths is an object") {
        for (method, op) in item.as_object().expect("a path item is an object") {
            if METHODS.contains(&method.as_str()) {
                out.insert((method.to_ascii_uppercase(), path.clone()), op.clone());
            }
        }
    }
    out
}

/// Skip whitespace; the byte offset of the next non-space character.
fn skip_ws(s: &str, mut i: usize) -> usize {
    while i < s.len() && s.as_bytes()[i].is_ascii_whitespace() {
        i += 1;
    }
    i
}

/// The offset just past the parenthesis matching the one at `open`.
fn close_paren(s: &str, open: usize) -> usize {
    let b = s.as_bytes();
    assert_eq!(b[open], b'(');
    let (mut depth, mut i, mut in_str) = (0usize, open, false);
    while i < b.len() {
        match b[i] {
            b'\\' if in_str => i += 1,
            b'"' => in_str = !in_str,
            b'(' if !in_str => depth += 1,
            b')' if !in_str => {
                depth -= 1;
                if depth == 0 {
                    return i + 1;
                }
            }
            _ => {}
        }
        i += 1;
    }
    panic!("unbalanced parentheses in lib.rs");
}

/// The `.route("path", get(handler).post(handler)…)` calls of `lib.rs`:
/// (METHOD, path) → handler name.
fn source_routes() -> BTreeMap<(String, String), String> {
    let mut out = BTreeMap::new();
    let code: String = LIB_RS
        .lines()
        .filter(|l| !l.trim_start().starts_with("//"))
        .map(|l| format!("{l}\n"))
        .collect();
    let mut rest = code.as_str();
    while let Some(at) = rest.find(".route(") {
        let call = &rest[at + ".route".len()..];
        let end = close_paren(call, 0);
        let args = &call[1..end - 1];
        rest = &call[end..];
        let i = skip_ws(args, 0);
        assert_eq!(
            &args[i..i + 1],
            "\"",
            "route path is a string literal: {args}"
        );
        let close = args[i + 1..].find('"').expect("closing quote") + i + 1;
        let path = args[i + 1..close].to_string();
        let mut j = skip_ws(args, close + 1);
        assert_eq!(
            &args[j..j + 1],
            ",",
            "route path then a method router: {args}"
        );
        j = skip_ws(args, j + 1);
        // A chain `get(h)`, `.post(h)`, `.layer(…)`: methods are the calls whose
        // name is an HTTP method; their first argument names the handler.
        let mut found = 0;
        loop {
            let name_end = args[j..]
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .map(|k| j + k)
                .unwrap_or(args.len());
            let name = &args[j..name_end];
            if name.is_empty() || !args[name_end..].starts_with('(') {
                break;
            }
            let call_end = name_end + close_paren(&args[name_end..], 0);
            if METHODS.contains(&name) {
                let handler = args[name_end + 1..call_end - 1]
                    .trim()
                    .trim_start_matches("routes::")
                    .to_string();
                let prev = out.insert((name.to_ascii_uppercase(), path.clone()), handler);
                assert!(prev.is_none(), "{name} {path} routed twice");
                found += 1;
            }
            j = skip_ws(args, call_end);
            if args[j..].starts_with('.') {
                j = skip_ws(args, j + 1);
            } else {
                break;
            }
        }
        assert!(found > 0, "no method router found for {path}: {args}");
    }
    out
}

/// For every `pub async fn` of `routes.rs`: (does it take `Authed`, the
/// operations it requires).
fn handlers() -> BTreeMap<String, (bool, Vec<String>)> {
    let mut out = BTreeMap::new();
    assert_eq!(
        ROUTES_RS[0].matches("\nmod ").count(),
        ROUTES_RS.len() - 1,
        "a routes module is missing from ROUTES_RS"
    );
    for chunk in ROUTES_RS
        .iter()
        .flat_map(|text| text.split("pub async fn ").skip(1))
    {
        let name = chunk[..chunk.find('(').expect("fn name")]
            .trim()
            .to_string();
        let sig_end = chunk.find("{\n").expect("fn body");
        let authed = chunk[..sig_end].contains("Authed(");
        let mut ops = Vec::new();
        let mut body = &chunk[sig_end..];
        while let Some(at) = body.find("caller.require(\"") {
            let s = &body[at + "caller.require(\"".len()..];
            let e = s.find('"').expect("closing quote");
            ops.push(s[..e].to_string());
            body = &s[e..];
        }
        out.insert(name, (authed, ops));
    }
    out
}

#[test]
fn document_is_openapi() {
    let d = doc();
    let version = d["openapi"].as_str().expect("openapi is a string");
    assert!(version.starts_with("3."), "openapi {version}");
    assert!(d["info"]["title"].is_string());
    assert!(d["info"]["version"].is_string());
    assert!(d["paths"].is_object());
    assert!(d["components"].is_object());
    for s in [
        "Problem",
        "License",
        "CheckAnswer",
        "VerificationReport",
        "Receipt",
    ] {
        assert!(d["components"]["schemas"][s].is_object(), "schema {s}");
    }
    let schemes = d["components"]["securitySchemes"].as_object().unwrap();
    assert_eq!(schemes["bearerApiKey"]["scheme"], "bearer");
    assert_eq!(schemes["apiKeyHeader"]["name"], "X-API-Key");
}

#[test]
fn routes_const_matches_the_document() {
    let routes: BTreeSet<(String, String)> = ROUTES
        .iter()
        .map(|(m, p)| (m.to_string(), openapi_path(p)))
        .collect();
    assert_eq!(routes.len(), ROUTES.len(), "ROUTES has duplicates");
    let documented: BTreeSet<(String, String)> = operations(&doc()).into_keys().collect();
    let undocumented: Vec<_> = routes.difference(&documented).collect();
    let unrouted: Vec<_> = documented.difference(&routes).collect();
    assert!(
        undocumented.is_empty() && unrouted.is_empty(),
        "routes not in openapi.json: {undocumented:?}; documented but not routed: {unrouted:?}"
    );
}

#[test]
fn routes_const_matches_the_router_source() {
    let src: BTreeSet<(String, String)> = source_routes().into_keys().collect();
    let routes: BTreeSet<(String, String)> = ROUTES
        .iter()
        .map(|(m, p)| (m.to_string(), p.to_string()))
        .collect();
    assert!(src.len() >= 20, "the lib.rs parser found only {src:?}");
    assert_eq!(
        src, routes,
        "ROUTES differs from the .route(…) calls in lib.rs"
    );
}

#[test]
fn every_ref_resolves() {
    fn walk(d: &Value, v: &Value, at: &str, n: &mut usize) {
        match v {
            Value::Object(m) => {
                if let Some(r) = m.get("$ref") {
                    let r = r.as_str().expect("$ref is a string");
                    let ptr = r
                        .strip_prefix('#')
                        .unwrap_or_else(|| panic!("{at}: $ref {r} is not local"));
                    assert!(d.pointer(ptr).is_some(), "{at}: $ref {r} does not resolve");
                    *n += 1;
                }
                for (k, x) in m {
                    walk(d, x, &format!("{at}/{k}"), n);
                }
            }
            Value::Array(a) => {
                for (i, x) in a.iter().enumerate() {
                    walk(d, x, &format!("{at}/{i}"), n);
                }
            }
            _ => {}
        }
    }
    let d = doc();
    let mut n = 0;
    walk(&d, &d, "#", &mut n);
    assert!(n > 50, "only {n} $refs: the walk is broken");
}

/// Public operations have `security: []` and no operation; the others name
/// exactly the operation their handler requires.
#[test]
fn security_matches_the_handlers() {
    let d = doc();
    let ops = operations(&d);
    let handlers = handlers();
    let mut used = BTreeSet::new();
    for ((method, path), handler) in source_routes() {
        let op = ops
            .get(&(method.clone(), openapi_path(&path)))
            .unwrap_or_else(|| panic!("{method} {path} is not in openapi.json"));
        let (authed, required) = handlers
            .get(&handler)
            .unwrap_or_else(|| panic!("no handler {handler} in routes.rs"));
        let security = op["security"]
            .as_array()
            .unwrap_or_else(|| panic!("{method} {path}: security not stated"));
        let documented = op.get("x-yinzheng-operation").and_then(Value::as_str);
        if *authed {
            assert!(!security.is_empty(), "{method} {path} needs a caller");
            assert_eq!(
                required.len(),
                1,
                "{handler}: expected one caller.require, found {required:?}"
            );
            assert_eq!(
                documented,
                Some(required[0].as_str()),
                "{method} {path}: x-yinzheng-operation"
            );
            assert!(OPERATIONS.contains(&required[0].as_str()));
            used.insert(required[0].clone());
            for code in ["401", "403", "429"] {
                assert!(
                    op["responses"][code].is_object(),
                    "{method} {path}: no {code}"
                );
            }
        } else {
            assert!(security.is_empty(), "{method} {path} is public");
            assert_eq!(documented, None, "{method} {path} is public");
        }
    }
    let all: BTreeSet<String> = OPERATIONS.iter().map(|s| s.to_string()).collect();
    assert_eq!(used, all, "every caller operation is used by some route");
}

/// Every error answer is a problem (`application/problem+json`, Problem
/// schema); 429 and 503 say when to retry.
#[test]
fn errors_are_problems() {
    let d = doc();
    let resolve = |v: &Value| -> Value {
        match v.get("$ref").and_then(Value::as_str) {
            Some(r) => d.pointer(&r[1..]).expect("resolves").clone(),
            None => v.clone(),
        }
    };
    for ((method, path), op) in operations(&d) {
        let responses = op["responses"].as_object().expect("responses");
        assert!(
            responses.contains_key("200"),
            "{method} {path}: no 200 answer"
        );
        for (code, r) in responses {
            let status: u16 = code.parse().expect("numeric status");
            if status < 400 {
                continue;
            }
            let r = resolve(r);
            let schema = &r["content"]["application/problem+json"]["schema"]["$ref"];
            assert_eq!(
                schema, "#/components/schemas/Problem",
                "{method} {path} {code}"
            );
            if status == 429 || status == 503 {
                assert!(
                    r["headers"]["Retry-After"].is_object(),
                    "{method} {path} {code}: Retry-After"
                );
            }
        }
    }
}

/// The result codes 0–7 are all described, with the library's wording.
#[test]
fn result_codes_are_described() {
    use yinzheng_license::ResultCode as R;
    let d = doc();
    let rc = &d["components"]["schemas"]["ResultCode"];
    let listed: Vec<u64> = rc["enum"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_u64().unwrap())
        .collect();
    assert_eq!(listed, (0..=7).collect::<Vec<u64>>());
    let text = rc["description"].as_str().unwrap();
    let all = [
        R::Valid,
        R::NotYetValid,
        R::Suspended,
        R::NoLongerValid,
        R::Incomplete,
        R::NotFound,
        R::NoData,
        R::DataWrong,
    ];
    for (i, c) in all.iter().enumerate() {
        assert_eq!(c.code() as usize, i);
        // The Chinese wording in parentheses, e.g. "正确且有效".
        let d = c.describe();
        let zh = &d[d.find('(').unwrap() + 1..d.rfind(')').unwrap()];
        assert!(
            text.contains(&format!("| {i} |")) && text.contains(zh),
            "result code {i} ({d}) is not described"
        );
    }
}
