//! The HTTP handlers. Each parses its input, calls one library function
//! (license registry, document verification, OCSP responder, log), and
//! answers JSON or a problem.

use crate::auth::{Caller, ConnInfo};
use crate::problem::Problem;
use crate::state::AppState;
use axum::body::{Body, Bytes};
use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Multipart, Path, Query, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use yinzheng_anchor::ReceiptBody;
use yinzheng_license::{CheckOutcome, License, UsageContext};

type St = State<Arc<AppState>>;

/// An authenticated, rate-limited caller.
pub struct Authed(pub Arc<Caller>);

impl FromRequestParts<Arc<AppState>> for Authed {
    type Rejection = Problem;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &Arc<AppState>,
    ) -> Result<Self, Self::Rejection> {
        let conn = parts.extensions.get::<ConnInfo>();
        let caller = state.callers().authenticate(&parts.headers, conn)?;
        caller.take()?;
        Ok(Authed(caller))
    }
}

/// Who uses the license and why (query parameters on every license call).
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UsageQuery {
    purpose: Option<String>,
    matter: Option<String>,
    business_serial: Option<String>,
    operator: Option<String>,
    /// Ask for a signed receipt.
    #[serde(default)]
    receipt: Option<bool>,
}

/// The same fields in a JSON body.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct UsageBody {
    purpose: Option<String>,
    matter: Option<String>,
    business_serial: Option<String>,
    operator: Option<String>,
    receipt: Option<bool>,
}

impl UsageQuery {
    fn merge(mut self, b: UsageBody) -> Self {
        self.purpose = self.purpose.or(b.purpose);
        self.matter = self.matter.or(b.matter);
        self.business_serial = self.business_serial.or(b.business_serial);
        self.operator = self.operator.or(b.operator);
        self.receipt = self.receipt.or(b.receipt);
        self
    }

    fn context(&self, caller: &Caller) -> Result<UsageContext, Problem> {
        let need = |name: &str, v: &Option<String>| -> Result<String, Problem> {
            match v.as_deref().map(str::trim) {
                Some(s) if s.chars().any(yinzheng_license::is_unsafe_char) => {
                    Err(Problem::bad_field(
                        name,
                        format!("{name}: control characters (NUL, line breaks, …) are not allowed"),
                    ))
                }
                Some(s) if !s.is_empty() => {
                    if s.chars().count() > 200 {
                        Err(Problem::bad_field(
                            name,
                            format!("{name}: at most 200 characters"),
                        ))
                    } else {
                        Ok(s.to_string())
                    }
                }
                _ => Err(Problem::bad_field(
                    name,
                    format!(
                        "{name} is required: every license use records the purpose of use, matter code, business serial and operator"
                    ),
                )),
            }
        };
        Ok(UsageContext {
            caller: caller.name().to_string(),
            purpose: need("purpose", &self.purpose)?,
            matter: need("matter", &self.matter)?,
            business_serial: need("businessSerial", &self.business_serial)?,
            operator: need("operator", &self.operator)?,
        })
    }
}

fn query<T>(q: Result<Query<T>, QueryRejection>) -> Result<T, Problem> {
    q.map(|Query(t)| t)
        .map_err(|e| Problem::bad_request(format!("query parameters: {}", e.body_text())))
}

fn path<T>(p: Result<Path<T>, PathRejection>) -> Result<T, Problem> {
    p.map(|Path(t)| t)
        .map_err(|e| Problem::bad_request(format!("path: {}", e.body_text())))
}

/// Now, in the offset license dates are judged in (UTC+8): a license valid
/// from today is valid from midnight in Beijing, as its issuer wrote it.
fn now() -> time::OffsetDateTime {
    time::OffsetDateTime::now_utc().to_offset(yinzheng_license::LICENSE_TIME_OFFSET)
}

/// SM3 over the request as received: `METHOD SP path?query LF body`.
fn request_digest(method: &Method, uri: &axum::http::Uri, body: &[u8]) -> String {
    let mut h = request_hasher(method, uri);
    h.update(body);
    hex::encode(h.finalize())
}

/// SM3 fed with `METHOD SP path?query LF`; the body (or multipart parts) follow.
fn request_hasher(method: &Method, uri: &axum::http::Uri) -> yinzheng_crypto::Sm3Hasher {
    let mut h = yinzheng_crypto::Sm3Hasher::new();
    h.update(method.as_str().as_bytes());
    h.update(b" ");
    h.update(
        uri.path_and_query()
            .map(|p| p.as_str())
            .unwrap_or_else(|| uri.path())
            .as_bytes(),
    );
    h.update(b"\n");
    h
}

fn mask_id(code: &str) -> String {
    let n = code.chars().count();
    if n <= 10 {
        return "*".repeat(n);
    }
    code.chars()
        .enumerate()
        .map(|(i, c)| if i < 6 || i >= n - 4 { c } else { '*' })
        .collect()
}

/// A citizen's name as a caller without `personal_data` sees it: the
/// surname character, the rest starred (张** for 张三丰).
fn mask_name(name: &str) -> String {
    name.chars()
        .enumerate()
        .map(|(i, c)| if i == 0 { c } else { '*' })
        .collect()
}

/// The license as a caller may see it. For a citizen holder (type 111) and a
/// caller without `personal_data`, the ID number, the name and every face
/// field value are masked; file digests and the log index are kept (they are
/// what an auditor checks).
pub fn license_view(state: &AppState, caller: &Caller, l: &License) -> Value {
    let mut v = serde_json::to_value(l).unwrap_or(Value::Null);
    if l.holder.type_code == "111" && state.config.mask_personal_ids && !caller.config.personal_data
    {
        if let Some(h) = v.get_mut("holder").and_then(Value::as_object_mut) {
            h.insert("code".into(), Value::String(mask_id(&l.holder.code)));
            h.insert("name".into(), Value::String(mask_name(&l.holder.name)));
        }
        if let Some(face) = v.get_mut("face").and_then(Value::as_array_mut) {
            for (field, (_, value)) in face.iter_mut().zip(&l.face) {
                if let Some(pair) = field.as_array_mut()
                    && let Some(slot) = pair.get_mut(1)
                {
                    *slot = Value::String("*".repeat(value.chars().count().min(16)));
                }
            }
        }
    }
    v
}

fn outcome_json(state: &AppState, caller: &Caller, o: &CheckOutcome, seq: i64) -> Value {
    json!({
        "code": o.code_number,
        "result": o.code.describe(),
        "message": o.message,
        "status": o.status,
        "license": o.license.as_ref().map(|l| license_view(state, caller, l)),
        "mismatches": o.mismatches,
        "fields": o.fields,
        "report": o.report,
        "usageRecord": seq,
    })
}

fn type_key_of_id(state: &AppState, id: &str) -> Option<String> {
    let parsed = yinzheng_license::LicenseId::parse(id).ok()?;
    let r = state.readers.get().ok()?;
    r.licenses
        .catalogue()
        .get(parsed.type_code())
        .ok()
        .map(|t| t.key.clone())
}

fn scope(caller: &Caller, type_key: &str) -> Result<(), Problem> {
    if caller.sees_type(type_key) {
        Ok(())
    } else {
        Err(Problem::forbidden(
            "license_type_not_allowed",
            format!(
                "caller {} may not see licenses of type {type_key}",
                caller.name()
            ),
        ))
    }
}

fn store_err(state: &AppState, e: impl std::fmt::Display, what: &str) -> Problem {
    state.metrics.store_errors.fetch_add(1, Ordering::Relaxed);
    tracing::error!(error = %e, "store unavailable while {what}");
    Problem::unavailable(format!(
        "the store is unavailable while {what}; retry shortly"
    ))
}

/// Write the usage record of `o` (and sign a receipt when asked), then answer.
#[allow(clippy::too_many_arguments)]
async fn record_and_answer(
    state: &AppState,
    caller: &Caller,
    o: CheckOutcome,
    ctx: &UsageContext,
    subject: &str,
    operation: &str,
    receipt: Option<ReceiptBody>,
    at: time::OffsetDateTime,
) -> Result<Response, Problem> {
    let pending = {
        let r = state
            .readers
            .get()
            .map_err(|e| store_err(state, e, "recording the use"))?;
        r.licenses.pending_usage(&o, ctx, subject, operation, at)
    };
    answer_with(state, caller, o, pending, operation, receipt).await
}

/// Write `pending` (the usage record of `o`), then answer.
async fn answer_with(
    state: &AppState,
    caller: &Caller,
    o: CheckOutcome,
    pending: yinzheng_license::PendingUsage,
    operation: &str,
    receipt: Option<ReceiptBody>,
) -> Result<Response, Problem> {
    let w = state
        .usage
        .record(pending, receipt)
        .await
        .map_err(|e| store_err(state, e, "writing the usage record"))?;
    if o.code == yinzheng_license::ResultCode::NotFound
        && matches!(operation, "query" | "verify-face")
    {
        // Unknown identifier: 404, still recorded (and receipted) as a use.
        let mut p = Problem::not_found(o.message.clone())
            .with("resultCode", o.code_number)
            .with("usageRecord", w.seq);
        if let Some(r) = w.receipt {
            p = p.with("receipt", serde_json::to_value(r).unwrap_or(Value::Null));
        }
        return Err(p);
    }
    let mut v = outcome_json(state, caller, &o, w.seq);
    if let Some(r) = w.receipt {
        v["receipt"] = serde_json::to_value(r).unwrap_or(Value::Null);
    }
    Ok(axum::Json(v).into_response())
}

/// The body of a receipt, when one is asked for (the request digest is
/// computed only then). Without an outcome yet (a redemption), the writer
/// fills in the result.
fn receipt_body(
    asked: bool,
    digest: impl FnOnce() -> String,
    operation: &str,
    subject: &str,
    caller: &Caller,
    o: Option<&CheckOutcome>,
    at: time::OffsetDateTime,
) -> Option<ReceiptBody> {
    asked.then(|| ReceiptBody {
        request_sm3: digest(),
        operation: operation.into(),
        subject: subject.into(),
        caller: caller.name().into(),
        result_code: o.map(|o| o.code_number),
        result: o
            .map(|o| format!("{} {}", o.code_number, o.code.describe()))
            .unwrap_or_default(),
        time_ms: (at.unix_timestamp_nanos() / 1_000_000).max(0) as u64,
        usage_seq: None,
        usage_sm3: None,
        log_index: None,
    })
}

/// `GET /v1/licenses/{identifier}`.
pub async fn license_get(
    State(state): St,
    Authed(caller): Authed,
    method: Method,
    uri: axum::http::Uri,
    id: Result<Path<String>, PathRejection>,
    q: Result<Query<UsageQuery>, QueryRejection>,
) -> Result<Response, Problem> {
    caller.require("license.read")?;
    let id = path(id)?;
    let q = query(q)?;
    let ctx = q.context(&caller)?;
    let parsed = yinzheng_license::LicenseId::parse(&id)
        .map_err(|e| Problem::bad_field("identifier", e.to_string()))?;
    let at = now();
    // One reader for the scope check, the lookup and the usage record.
    let (o, pending) = {
        let r = state
            .readers
            .get()
            .map_err(|e| store_err(&state, e, "looking up the license"))?;
        if let Ok(t) = r.licenses.catalogue().get(parsed.type_code()) {
            scope(&caller, &t.key)?;
        }
        let o = r
            .licenses
            .evaluate_id(&id, at)
            .map_err(|e| store_err(&state, e, "looking up the license"))?;
        let p = r.licenses.pending_usage(&o, &ctx, &id, "query", at);
        (o, p)
    };
    state
        .metrics
        .license_lookups
        .fetch_add(1, Ordering::Relaxed);
    let rb = receipt_body(
        q.receipt.unwrap_or(false),
        || request_digest(&method, &uri, b""),
        "query",
        &id,
        &caller,
        Some(&o),
        at,
    );
    answer_with(&state, &caller, o, pending, "query", rb).await
}

/// Query of `GET /v1/licenses`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ListQuery {
    holder_code: Option<String>,
    holder_type: Option<String>,
    #[serde(rename = "type")]
    type_key: Option<String>,
    #[serde(flatten)]
    usage: UsageQueryFlat,
}

/// The usage fields, flattened into another query.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UsageQueryFlat {
    purpose: Option<String>,
    matter: Option<String>,
    business_serial: Option<String>,
    operator: Option<String>,
}

/// `GET /v1/licenses?holderCode=…&holderType=…&type=…`.
pub async fn license_list(
    State(state): St,
    Authed(caller): Authed,
    q: Result<Query<ListQuery>, QueryRejection>,
) -> Result<Response, Problem> {
    caller.require("license.list")?;
    let q = query(q)?;
    let u = UsageQuery {
        purpose: q.usage.purpose.clone(),
        matter: q.usage.matter.clone(),
        business_serial: q.usage.business_serial.clone(),
        operator: q.usage.operator.clone(),
        receipt: None,
    };
    let ctx = u.context(&caller)?;
    let holder = q
        .holder_code
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .ok_or_else(|| Problem::bad_field("holderCode", "holderCode is required"))?
        .to_ascii_uppercase();
    if let Some(t) = &q.holder_type
        && !matches!(t.as_str(), "001" | "111")
    {
        return Err(Problem::bad_field(
            "holderType",
            "holderType is 001 (USCC) or 111 (citizen ID)",
        ));
    }
    let at = now();
    let (licenses, pending) = {
        let r = state
            .readers
            .get()
            .map_err(|e| store_err(&state, e, "listing licenses"))?;
        let ty = match &q.type_key {
            Some(t) => Some(
                r.licenses
                    .catalogue()
                    .get(t)
                    .map_err(|e| Problem::bad_field("type", e.to_string()))?
                    .key
                    .clone(),
            ),
            None => None,
        };
        if let Some(t) = &ty {
            scope(&caller, t)?;
        }
        let all = r
            .licenses
            .list(Some(&holder), 1000)
            .map_err(|e| store_err(&state, e, "listing licenses"))?;
        let list: Vec<License> = all
            .into_iter()
            .filter(|l| ty.as_ref().is_none_or(|t| &l.type_key == t))
            .filter(|l| {
                q.holder_type
                    .as_ref()
                    .is_none_or(|h| &l.holder.type_code == h)
            })
            .filter(|l| caller.sees_type(&l.type_key))
            .collect();
        let code = if list.is_empty() {
            yinzheng_license::ResultCode::NotFound
        } else {
            yinzheng_license::ResultCode::Valid
        };
        let summary = CheckOutcome {
            code,
            code_number: code.code(),
            message: format!("{} licenses", list.len()),
            license: None,
            status: None,
            report: None,
            mismatches: Vec::new(),
            fields: Vec::new(),
            usage_record: 0,
        };
        let p = r
            .licenses
            .pending_usage(&summary, &ctx, &format!("holder:{holder}"), "list", at);
        (list, p)
    };
    let w = state
        .usage
        .record(pending, None)
        .await
        .map_err(|e| store_err(&state, e, "writing the usage record"))?;
    let today = at.date();
    let items: Vec<Value> = licenses
        .iter()
        .map(|l| {
            let mut v = license_view(&state, &caller, l);
            v["currentStatus"] = json!(l.status_at(today));
            v["code"] = json!(l.result_code_at(today).code());
            v
        })
        .collect();
    Ok(
        axum::Json(json!({"licenses": items, "count": items.len(), "usageRecord": w.seq}))
            .into_response(),
    )
}

/// Body of `POST /v1/licenses/{identifier}/verify-fields`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct FieldsBody {
    fields: std::collections::BTreeMap<String, String>,
    #[serde(flatten)]
    usage: UsageBody,
}

/// Read a body of at most `limit` bytes. Past the limit the rest is read
/// and dropped (up to 16 MiB more, 2 s) before the 413 goes out, so the
/// client — still sending — sees the answer instead of a reset connection.
async fn read_body(body: Body, limit: usize) -> Result<Bytes, Problem> {
    use http_body_util::BodyExt;
    let mut body = body;
    let mut buf = bytes_buf(limit);
    loop {
        match body.frame().await {
            None => return Ok(Bytes::from(buf)),
            Some(Err(e)) => {
                return Err(Problem::bad_request(format!(
                    "cannot read the request body: {e}"
                )));
            }
            Some(Ok(frame)) => {
                let Ok(data) = frame.into_data() else {
                    continue;
                };
                if buf.len() + data.len() > limit {
                    discard_body(body, 16 << 20).await;
                    return Err(Problem::too_large(limit));
                }
                buf.extend_from_slice(&data);
            }
        }
    }
}

/// Read and drop up to `limit` bytes of `body` for at most 2 s, so a client
/// still sending gets to read an early answer.
pub(crate) async fn discard_body(mut body: axum::body::Body, limit: usize) {
    use http_body_util::BodyExt;
    let drain = async {
        let mut dropped = 0usize;
        while let Some(Ok(f)) = body.frame().await {
            dropped += f.data_ref().map_or(0, |d| d.len());
            if dropped > limit {
                break;
            }
        }
    };
    let _ = tokio::time::timeout(std::time::Duration::from_secs(2), drain).await;
}

fn bytes_buf(limit: usize) -> Vec<u8> {
    Vec::with_capacity(limit.min(1 << 20))
}

fn content_length_ok(headers: &HeaderMap, limit: usize) -> Result<(), Problem> {
    if let Some(n) = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok())
        && n > limit as u64
    {
        return Err(Problem::too_large(limit));
    }
    Ok(())
}

/// `POST /v1/licenses/{identifier}/verify-fields`.
pub async fn license_verify_fields(
    State(state): St,
    Authed(caller): Authed,
    id: Result<Path<String>, PathRejection>,
    q: Result<Query<UsageQuery>, QueryRejection>,
    req: Request,
) -> Result<Response, Problem> {
    caller.require("license.verify-fields")?;
    let id = path(id)?;
    let q = query(q)?;
    let (parts, body) = req.into_parts();
    content_length_ok(&parts.headers, state.config.max_json_bytes)?;
    let bytes = read_body(body, state.config.max_json_bytes).await?;
    let b: FieldsBody = serde_json::from_slice(&bytes).map_err(|e| {
        Problem::bad_field(
            "fields",
            format!("the body must be JSON {{\"fields\": {{…}}, …}}: {e}"),
        )
    })?;
    let q = q.merge(b.usage);
    let ctx = q.context(&caller)?;
    if let Some(t) = type_key_of_id(&state, &id) {
        scope(&caller, &t)?;
    }
    if b.fields.len() > 64 {
        return Err(Problem::bad_field("fields", "at most 64 fields"));
    }
    let claimed: Vec<(String, String)> = b.fields.into_iter().collect();
    let at = now();
    let o = {
        let r = state
            .readers
            .get()
            .map_err(|e| store_err(&state, e, "comparing fields"))?;
        r.licenses
            .evaluate_face(&id, &claimed, at)
            .map_err(|e| store_err(&state, e, "comparing fields"))?
    };
    let rb = receipt_body(
        q.receipt.unwrap_or(false),
        || request_digest(&parts.method, &parts.uri, &bytes),
        "verify-face",
        &id,
        &caller,
        Some(&o),
        at,
    );
    record_and_answer(&state, &caller, o, &ctx, &id, "verify-face", rb, at).await
}

/// `POST /v1/tokens/{token}/redeem`.
pub async fn token_redeem(
    State(state): St,
    Authed(caller): Authed,
    token: Result<Path<String>, PathRejection>,
    q: Result<Query<UsageQuery>, QueryRejection>,
    req: Request,
) -> Result<Response, Problem> {
    caller.require("token.redeem")?;
    let token = path(token)?;
    if token.len() > 100 || !token.chars().all(|c| c.is_ascii_alphanumeric()) {
        return Err(Problem::bad_field(
            "token",
            "a token is up to 100 letters and digits",
        ));
    }
    let q = query(q)?;
    let (parts, body) = req.into_parts();
    content_length_ok(&parts.headers, state.config.max_json_bytes)?;
    let bytes = read_body(body, state.config.max_json_bytes).await?;
    let q = if bytes.iter().all(u8::is_ascii_whitespace) {
        q
    } else {
        let b: UsageBody = serde_json::from_slice(&bytes)
            .map_err(|e| Problem::bad_request(format!("the body must be JSON: {e}")))?;
        q.merge(b)
    };
    let ctx = q.context(&caller)?;
    // The caller's scope is checked before the token is spent.
    let license = {
        // From the primary: a token made a moment ago may not be on a
        // replica yet.
        let r = state
            .readers
            .primary()
            .map_err(|e| store_err(&state, e, "reading the token"))?;
        r.licenses
            .token_license(&token)
            .map_err(|e| store_err(&state, e, "reading the token"))?
    };
    if let Some(t) = license.as_deref().and_then(|id| type_key_of_id(&state, id)) {
        scope(&caller, &t)?;
    }
    let at = now();
    let rb = receipt_body(
        q.receipt.unwrap_or(false),
        || request_digest(&parts.method, &parts.uri, &bytes),
        "qr-redeem",
        "token",
        &caller,
        None,
        at,
    );
    let w = state
        .usage
        .redeem(token, ctx, at, rb)
        .await
        .map_err(|e| store_err(&state, e, "redeeming the token"))?;
    match w.redeemed {
        Some(Ok(o)) => {
            let mut v = outcome_json(&state, &caller, &o, w.seq);
            if let Some(r) = w.receipt {
                v["receipt"] = serde_json::to_value(r).unwrap_or(Value::Null);
            }
            Ok(axum::Json(v).into_response())
        }
        Some(Err(why)) => Err(Problem::new(
            StatusCode::CONFLICT,
            "token_refused",
            format!("token refused: {why}"),
        )),
        None => Err(Problem::internal("redeeming the token")),
    }
}

/// What was uploaded to `/v1/verify`.
struct Upload {
    file: Bytes,
    signature: Option<Bytes>,
}

async fn read_upload(
    state: &AppState,
    req: Request,
    want_digest: bool,
) -> Result<(Upload, String), Problem> {
    let limit = state.config.max_upload_bytes;
    content_length_ok(req.headers(), limit + (64 << 10))?;
    let method = req.method().clone();
    let uri = req.uri().clone();
    let is_multipart = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("multipart/form-data"));
    if !is_multipart {
        let body = read_body(req.into_body(), limit).await?;
        if body.is_empty() {
            return Err(Problem::bad_field(
                "file",
                "the request body is empty: send the file",
            ));
        }
        let d = if want_digest {
            request_digest(&method, &uri, &body)
        } else {
            String::new()
        };
        return Ok((
            Upload {
                file: body,
                signature: None,
            },
            d,
        ));
    }
    let mut mp = Multipart::from_request(req, state)
        .await
        .map_err(|e| Problem::bad_request(format!("multipart: {}", e.body_text())))?;
    let (mut file, mut signature) = (None, None);
    let mut h = request_hasher(&method, &uri);
    loop {
        let field = match mp.next_field().await {
            Ok(Some(f)) => f,
            Ok(None) => break,
            Err(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                return Err(Problem::too_large(limit));
            }
            Err(e) => {
                return Err(Problem::bad_request(format!(
                    "multipart: {}",
                    e.body_text()
                )));
            }
        };
        let name = field.name().unwrap_or_default().to_string();
        let bytes = field.bytes().await.map_err(|e| {
            if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                Problem::too_large(limit)
            } else {
                Problem::bad_request(format!("multipart field {name}: {}", e.body_text()))
            }
        })?;
        h.update(name.as_bytes());
        h.update(b"\n");
        h.update(&bytes);
        match name.as_str() {
            "file" => file = Some(bytes),
            "signature" => signature = Some(bytes),
            _ => {
                return Err(Problem::bad_field(
                    &name,
                    "unknown multipart field (expected file and, for a detached signature, signature)",
                ));
            }
        }
    }
    let file =
        file.ok_or_else(|| Problem::bad_field("file", "the multipart body has no file part"))?;
    Ok((Upload { file, signature }, hex::encode(h.finalize())))
}

/// `POST /v1/verify`: a PDF, an OFD, or a detached signature with its data.
pub async fn verify(
    State(state): St,
    Authed(caller): Authed,
    q: Result<Query<UsageQuery>, QueryRejection>,
    req: Request,
) -> Result<Response, Problem> {
    caller.require("verify")?;
    let q = query(q)?;
    let ctx = q.context(&caller)?;
    // Admission in two steps. Before the body is read, the upload reserves
    // its declared length from the upload buffer (a slow sender holds
    // buffer, never a verification slot); once it is received, a
    // verification slot: at most max_concurrent_verifications files are
    // verified (and inflated) at once. Both live until the verification
    // itself ends (not the request).
    let limit = state.config.max_upload_bytes;
    // Too large is 413 before anything is reserved.
    content_length_ok(req.headers(), limit + (64 << 10))?;
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok())
        .map_or(limit as u64, |n| n.min(limit as u64 + (64 << 10)));
    let kib = (declared.div_ceil(1024).max(1)).min(u32::MAX as u64) as u32;
    let Ok(buffer) = state.upload_kib.clone().try_acquire_many_owned(kib) else {
        state.metrics.verify_busy.fetch_add(1, Ordering::Relaxed);
        // Read and drop what the client is sending (briefly), so that it
        // reads the answer instead of a broken pipe.
        discard_body(req.into_body(), limit).await;
        return Err(Problem::unavailable(
            "the upload buffer is full (other files are being received); retry shortly",
        ));
    };
    let (upload, digest) = read_upload(&state, req, q.receipt.unwrap_or(false)).await?;
    let Ok(permit) = state.verify_slots.clone().try_acquire_owned() else {
        state.metrics.verify_busy.fetch_add(1, Ordering::Relaxed);
        return Err(Problem::unavailable(format!(
            "{} file verifications are running; retry shortly",
            state.config.max_concurrent_verifications
        )));
    };
    let at = now();
    let st = state.clone();
    let sig = upload.signature.clone();
    let file = upload.file.clone();
    let request_id = crate::problem::current_request_id().unwrap_or_default();
    let deadline = std::time::Instant::now()
        .checked_add(std::time::Duration::from_millis(
            state.config.request_timeout_ms,
        ))
        .unwrap_or_else(|| std::time::Instant::now() + std::time::Duration::from_secs(3600));
    // On the verification threads (lower priority than the request
    // threads), holding the slot and the upload buffer until it ends.
    let result = state
        .verify_pool
        .run(move || {
            let _permit = (permit, buffer);
            crate::problem::REQUEST_ID
                .sync_scope(request_id, || verify_blocking(&st, sig, file, at, deadline))
        })
        .await
        .ok_or_else(|| {
            tracing::error!("verification task failed");
            Problem::internal("verifying the file")
        })??;
    let subject = yinzheng_license::file_subject(&upload.file);
    match result {
        Verified::File(o) => {
            if let Some(l) = &o.license {
                scope(&caller, &l.type_key)?;
            }
            let rb = receipt_body(
                q.receipt.unwrap_or(false),
                || digest,
                "verify-file",
                &subject,
                &caller,
                Some(&o),
                at,
            );
            let mut resp =
                record_and_answer(&state, &caller, *o, &ctx, &subject, "verify-file", rb, at)
                    .await?;
            resp.headers_mut()
                .insert("x-yinzheng-kind", HeaderValue::from_static("license-file"));
            Ok(resp)
        }
        Verified::Detached(report) => {
            // "Cannot decide now" never reads as "does not verify".
            let code = if report.passed() {
                yinzheng_license::ResultCode::NotFound
            } else if report.indication() == yinzheng_pki::Indication::Indeterminate {
                yinzheng_license::ResultCode::Incomplete
            } else {
                yinzheng_license::ResultCode::DataWrong
            };
            let o = CheckOutcome {
                code,
                code_number: code.code(),
                message: if report.passed() {
                    "the detached signature verifies (not a license file)".into()
                } else if code == yinzheng_license::ResultCode::Incomplete {
                    "the detached signature cannot be verified now (not a finding of forgery)"
                        .into()
                } else {
                    "the detached signature does not verify".into()
                },
                license: None,
                status: None,
                report: Some(report),
                mismatches: Vec::new(),
                fields: Vec::new(),
                usage_record: 0,
            };
            let rb = receipt_body(
                q.receipt.unwrap_or(false),
                || digest,
                "verify-detached",
                &subject,
                &caller,
                Some(&o),
                at,
            );
            record_and_answer(
                &state,
                &caller,
                o,
                &ctx,
                &subject,
                "verify-detached",
                rb,
                at,
            )
            .await
        }
    }
}

/// `deadline`: when the request times out; the verification stops there
/// rather than go on for an answer nobody will read.
fn verify_blocking(
    st: &AppState,
    sig: Option<Bytes>,
    file: Bytes,
    at: time::OffsetDateTime,
    deadline: std::time::Instant,
) -> Result<Verified, Problem> {
    let trust = st.trust();
    let r = st
        .readers
        .get()
        .map_err(|e| store_err(st, e, "verifying the file"))?;
    st.metrics.files_verified.fetch_add(1, Ordering::Relaxed);
    if let Some(sig) = sig {
        use yinzheng_document::Format;
        let format = Format::sniff(&sig)
            .filter(|f| matches!(f, Format::DetachedCms | Format::SealSignature))
            .ok_or_else(|| {
                Problem::bad_field("signature", "neither a CMS SignedData nor a seal signature")
            })?;
        let req = yinzheng_document::VerifyRequest {
            detached: Some(&file),
            seals: r
                .seals
                .as_ref()
                .map(|s| s as &dyn yinzheng_seal::SealStatusSource),
            deadline: Some(deadline),
            ..Default::default()
        };
        let report = trust
            .context
            .verify_as(format, &sig, &req)
            .map_err(|e| Problem::bad_field("signature", e.to_string()))?;
        return Ok(Verified::Detached(report));
    }
    if !matches!(
        yinzheng_document::Format::sniff(&file),
        Some(yinzheng_document::Format::Pdf | yinzheng_document::Format::Ofd)
    ) {
        return Err(Problem::bad_field(
            "file",
            "the file is neither a PDF nor an OFD package (send a detached signature as multipart with file and signature)",
        ));
    }
    let o = r
        .licenses
        .evaluate_file(
            &file,
            &yinzheng_license::DocumentTrust {
                context: &trust.context,
                seals: r
                    .seals
                    .as_ref()
                    .map(|s| s as &dyn yinzheng_seal::SealStatusSource),
                deadline: Some(deadline),
                max_inflated: Some(st.config.max_inflated_bytes),
            },
            at,
        )
        .map_err(|e| store_err(st, e, "verifying the file"))?;
    Ok(Verified::File(Box::new(o)))
}

enum Verified {
    File(Box<CheckOutcome>),
    Detached(yinzheng_pki::VerificationReport),
}

/// A seal of the registry: 404 when unknown (or no registry), 503 when the
/// registry cannot be read.
fn registered_seal(state: &AppState, id: &str) -> Result<yinzheng_seal::RegisteredSeal, Problem> {
    let r = state
        .readers
        .get()
        .map_err(|e| store_err(state, e, "reading the seal"))?;
    let reg = r
        .seals
        .as_ref()
        .ok_or_else(|| Problem::not_found("this server has no seal registry"))?;
    reg.get(id)
        .map_err(|e| store_err(state, e, "reading the seal"))?
        .ok_or_else(|| Problem::not_found(format!("no seal {id}")))
}

/// `GET /v1/seals/{esID}`.
pub async fn seal_get(
    State(state): St,
    Authed(caller): Authed,
    id: Result<Path<String>, PathRejection>,
) -> Result<Response, Problem> {
    caller.require("seal.read")?;
    let id = path(id)?;
    let s = registered_seal(&state, &id)?;
    let seal = yinzheng_seal::Seal::parse(&s.der).ok();
    let picture = seal.as_ref().map(|x| x.picture());
    Ok(axum::Json(json!({
        "id": s.id,
        "name": s.name,
        "holder": s.holder,
        "status": s.status.name(),
        "statusSince": s.status_at,
        "type": seal.as_ref().map(|x| x.seal_type().to_string()),
        "validFrom": seal.as_ref().map(|x| yinzheng_license::format_date(x.valid_start().date())),
        "validTo": seal.as_ref().map(|x| yinzheng_license::format_date(x.valid_end().date())),
        "picture": picture.map(|p| json!({
            "type": p.kind,
            "widthMm": p.width_mm,
            "heightMm": p.height_mm,
            "url": format!("/v1/seals/{}/picture", s.id),
        })),
        "sm3": hex::encode(yinzheng_crypto::sm3(&s.der)),
    }))
    .into_response())
}

/// `GET /v1/seals/{esID}/picture`: the seal's image as stored.
pub async fn seal_picture(
    State(state): St,
    Authed(caller): Authed,
    id: Result<Path<String>, PathRejection>,
) -> Result<Response, Problem> {
    caller.require("seal.read")?;
    let id = path(id)?;
    let s = registered_seal(&state, &id)?;
    let seal = yinzheng_seal::Seal::parse(&s.der)
        .map_err(|_| Problem::internal("reading the seal picture"))?;
    let p = seal.picture();
    let ct = match p.kind.to_ascii_lowercase().as_str() {
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "svg" => "image/svg+xml",
        "bmp" => "image/bmp",
        _ => "application/octet-stream",
    };
    Ok((
        [
            (header::CONTENT_TYPE, ct),
            (header::CACHE_CONTROL, "private, max-age=300"),
            (header::CONTENT_SECURITY_POLICY, "default-src 'none'"),
        ],
        p.data.clone(),
    )
        .into_response())
}

/// `GET /v1/certs/{serial}/status`.
pub async fn cert_status(
    State(state): St,
    Authed(caller): Authed,
    serial: Result<Path<String>, PathRejection>,
) -> Result<Response, Problem> {
    caller.require("cert.status")?;
    let serial = path(serial)?.trim().to_ascii_lowercase();
    if serial.is_empty() || serial.len() > 64 || !serial.chars().all(|c| c.is_ascii_hexdigit()) {
        return Err(Problem::bad_field(
            "serial",
            "a serial is up to 64 hex digits",
        ));
    }
    for d in &state.domains {
        let found = d
            .domain
            .lock()
            .map_err(|_| Problem::internal("reading certificate status"))?
            .lookup(&serial)
            .map_err(|e| store_err(&state, e, "reading certificate status"))?;
        if let Some(c) = found {
            let (status, reason, since) = match c.status {
                yinzheng_pki::CertStatus::Valid => ("good", None, None),
                yinzheng_pki::CertStatus::Revoked { reason, at } => {
                    ("revoked", Some(yinzheng_pki::reason_name(reason)), Some(at))
                }
                yinzheng_pki::CertStatus::OnHold { at } => {
                    ("hold", Some("certificateHold"), Some(at))
                }
                _ => ("unknown", None, None),
            };
            let expired = c.not_after < time::OffsetDateTime::now_utc().unix_timestamp();
            return Ok(axum::Json(json!({
                "serial": c.serial,
                "subject": c.subject,
                "profile": c.profile,
                "domain": d.name,
                "issuer": c.issuer,
                "status": status,
                "reason": reason,
                "since": since,
                "notAfter": c.not_after,
                "expired": expired,
            }))
            .into_response());
        }
    }
    Err(Problem::not_found(format!(
        "no certificate with serial {serial} was issued here"
    )))
}

fn ocsp_answer(state: &AppState, request: &[u8]) -> Response {
    let now = std::time::SystemTime::now();
    let mut answer = Vec::new();
    for d in &state.domains {
        let Ok(dom) = d.domain.lock() else { continue };
        let r = d.ocsp.respond(request, |s| dom.lookup(s), now);
        // responseStatus unauthorized (6): another domain's certificate.
        let unauthorized = r.len() < 16 && r.ends_with(&[0x0a, 0x01, 0x06]);
        answer = r;
        if !unauthorized {
            break;
        }
    }
    state.metrics.ocsp_responses.fetch_add(1, Ordering::Relaxed);
    (
        [
            (header::CONTENT_TYPE, "application/ocsp-response"),
            (
                header::CACHE_CONTROL,
                "max-age=300, public, no-transform, must-revalidate",
            ),
        ],
        answer,
    )
        .into_response()
}

/// `POST /v1/ocsp` (RFC 6960 §A.1, body = DER OCSPRequest).
pub async fn ocsp_post(State(state): St, req: Request) -> Result<Response, Problem> {
    content_length_ok(req.headers(), 16 << 10)?;
    let body = read_body(req.into_body(), 16 << 10).await?;
    Ok(ocsp_answer(&state, &body))
}

/// `GET /v1/ocsp/{base64}` (RFC 6960 §A.1, URL-encoded base64 DER).
pub async fn ocsp_get(
    State(state): St,
    b64: Result<Path<String>, PathRejection>,
) -> Result<Response, Problem> {
    use base64::Engine;
    let b64 = path(b64)?;
    if b64.len() > 16 << 10 {
        return Err(Problem::too_large(16 << 10));
    }
    let der = base64::engine::general_purpose::STANDARD
        .decode(b64.trim())
        .or_else(|_| base64::engine::general_purpose::URL_SAFE.decode(b64.trim()))
        .map_err(|e| Problem::bad_field("request", format!("not base64: {e}")))?;
    Ok(ocsp_answer(&state, &der))
}

/// `GET /v1/crl/{name}.crl`.
pub async fn crl_get(
    State(state): St,
    name: Result<Path<String>, PathRejection>,
) -> Result<Response, Problem> {
    let name = path(name)?;
    let stem = name
        .strip_suffix(".crl")
        .ok_or_else(|| Problem::not_found("CRLs are named <name>.crl"))?;
    let trust = state.trust();
    let der = trust
        .crls
        .iter()
        .find(|(n, _)| n == stem)
        .map(|(_, d)| d.clone())
        .ok_or_else(|| {
            Problem::not_found(format!(
                "no CRL {stem}; published: {}",
                trust
                    .crls
                    .iter()
                    .map(|(n, _)| format!("{n}.crl"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ))
        })?;
    Ok((
        [
            (header::CONTENT_TYPE, "application/pkix-crl"),
            (header::CACHE_CONTROL, "max-age=300, public"),
        ],
        der,
    )
        .into_response())
}

fn log_of(state: &AppState) -> Result<Arc<yinzheng_log::Log>, Problem> {
    state
        .log
        .current()
        .ok_or_else(|| Problem::not_found("this server has no anchoring log"))
}

/// `GET /v1/log/checkpoint`: the latest signed checkpoint (C2SP signed note).
pub async fn log_checkpoint(State(state): St) -> Result<Response, Problem> {
    let log = log_of(&state)?;
    Ok((
        [
            (header::CONTENT_TYPE, "text/plain; charset=utf-8"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        log.checkpoint_note(),
    )
        .into_response())
}

/// `GET /v1/log/tile/{*path}`: tlog-tiles, served from the log's tile directory.
pub async fn log_tile(
    State(state): St,
    p: Result<Path<String>, PathRejection>,
) -> Result<Response, Problem> {
    let p = path(p)?;
    let _ = log_of(&state)?;
    let rel = format!("tile/{p}");
    let tp = yinzheng_anchor::TilePath::parse(&rel)
        .map_err(|e| Problem::bad_field("path", e.to_string()))?;
    let file = yinzheng_log::Log::tiles_dir(&state.home.join("log")).join(tp.to_path_string());
    let bytes = tokio::fs::read(&file)
        .await
        .map_err(|_| Problem::not_found(format!("no tile {rel}")))?;
    let cache = if rel.contains(".p/") {
        "max-age=60, public"
    } else {
        "max-age=31536000, public, immutable"
    };
    Ok((
        [
            (header::CONTENT_TYPE, "application/octet-stream"),
            (header::CACHE_CONTROL, cache),
        ],
        bytes,
    )
        .into_response())
}

/// Query of `GET /v1/log/proof/{index}`.
#[derive(Debug, Deserialize)]
pub struct ProofQuery {
    size: Option<u64>,
}

/// `GET /v1/log/proof/{index}`: the tlog-proof evidence of one entry (text).
pub async fn log_proof(
    State(state): St,
    index: Result<Path<u64>, PathRejection>,
    q: Result<Query<ProofQuery>, QueryRejection>,
) -> Result<Response, Problem> {
    let index = path(index)?;
    let q = query(q)?;
    let log = log_of(&state)?;
    let size = log.checkpoint().size();
    if index >= size {
        return Err(Problem::not_found(format!(
            "entry {index} is not in the log (size {size})"
        )));
    }
    if let Some(s) = q.size
        && s != size
    {
        return Err(Problem::bad_field(
            "size",
            format!("proofs are given against the latest checkpoint (size {size})"),
        ));
    }
    let text = yinzheng_license::Anchor::evidence(&*log, index)
        .map_err(|e| store_err(&state, e, "proving inclusion"))?;
    Ok(([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], text).into_response())
}

/// Query of `GET /v1/log/consistency`.
#[derive(Debug, Deserialize)]
pub struct ConsistencyQuery {
    old: u64,
    new: Option<u64>,
}

/// `GET /v1/log/consistency?old=N[&new=M]`: RFC 9162 consistency proof.
pub async fn log_consistency(
    State(state): St,
    q: Result<Query<ConsistencyQuery>, QueryRejection>,
) -> Result<Response, Problem> {
    use base64::Engine;
    let q = query(q)?;
    let log = log_of(&state)?;
    let note = log.checkpoint_note();
    let size = log.checkpoint().size();
    let new = q.new.unwrap_or(size);
    if q.old == 0 || q.old > new || new > size {
        return Err(Problem::bad_field(
            "old",
            format!("need 0 < old <= new <= {size} (the log size)"),
        ));
    }
    let proof = log
        .prove_consistency(q.old, new)
        .map_err(|e| store_err(&state, e, "proving consistency"))?;
    let b64 = base64::engine::general_purpose::STANDARD;
    Ok(axum::Json(json!({
        "old": q.old,
        "new": new,
        "proof": proof.iter().map(|h| b64.encode(h.as_ref())).collect::<Vec<_>>(),
        "checkpoint": if new == size { Some(note) } else { None },
    }))
    .into_response())
}

/// `GET /healthz`: the process answers.
pub async fn healthz() -> &'static str {
    "ok\n"
}

/// `GET /readyz`: the store answers and the usage writer runs.
pub async fn readyz(State(state): St) -> Result<Response, Problem> {
    let store_ok = state
        .readers
        .get()
        .ok()
        .is_some_and(|r| r.licenses.list(None, 1).is_ok());
    if !store_ok {
        return Err(Problem::unavailable("the license store does not answer"));
    }
    if !state.usage.is_running() {
        return Err(Problem::unavailable("the usage writer is not running"));
    }
    Ok("ready\n".into_response())
}

/// `GET /metrics` (caller with the `metrics` operation).
pub async fn metrics(State(state): St, Authed(caller): Authed) -> Result<Response, Problem> {
    caller.require("metrics")?;
    let trust = state.trust();
    Ok((
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        state.metrics.render(
            trust.context.validator().cached_chains(),
            trust.context.validator().cache_stats(),
            state.log.sequencer().is_some(),
            &crl_expiry(&trust),
            state
                .readers
                .has_replica()
                .then(|| state.readers.replica_fresh()),
        ),
    )
        .into_response())
}

/// Seconds until each published CRL's nextUpdate (an offline root's ARL,
/// signed ahead at the ceremony, counts down to the next ceremony).
fn crl_expiry(trust: &crate::state::TrustMaterial) -> Vec<(String, i64)> {
    let now = std::time::SystemTime::now();
    trust
        .crls
        .iter()
        .filter_map(|(name, der)| {
            let next = yinzheng_pki::Crl::parse(der).ok()?.next_update()?;
            let secs = match next.duration_since(now) {
                Ok(d) => d.as_secs() as i64,
                Err(e) => -(e.duration().as_secs() as i64),
            };
            Some((name.clone(), secs))
        })
        .collect()
}

/// The OpenAPI 3 document (checked in as `crates/server/openapi.json`).
pub const OPENAPI: &str = include_str!("../openapi.json");
/// The counter page.
pub const INDEX_HTML: &str = include_str!("../web/index.html");

/// `GET /v1/openapi.json`.
pub async fn openapi() -> Response {
    ([(header::CONTENT_TYPE, "application/json")], OPENAPI).into_response()
}

/// `GET /`: the verification page for counter staff (no external assets).
pub async fn index() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (
                header::CONTENT_SECURITY_POLICY,
                "default-src 'self'; img-src 'self' blob: data:; style-src 'unsafe-inline'; script-src 'unsafe-inline'; connect-src 'self'; frame-ancestors 'none'",
            ),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        ],
        INDEX_HTML,
    )
        .into_response()
}

/// A known path with another method: 405 as a problem.
pub async fn method_not_allowed(method: Method, uri: axum::http::Uri) -> Problem {
    Problem::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        format!("{} does not answer {method}", uri.path()),
    )
}

/// Anything else: 404 as a problem.
pub async fn fallback(uri: axum::http::Uri) -> Problem {
    Problem::not_found(format!("no endpoint {}", uri.path()))
}
