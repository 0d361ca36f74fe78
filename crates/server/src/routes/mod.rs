//! The HTTP handlers. Each parses its input, calls one library function
//! (license registry, document verification, OCSP responder, log), and
//! answers JSON or a problem. One module per concern: licenses and tokens,
//! file verification, seals and certificates (OCSP, CRLs), the log's read
//! side, and the service itself (health, metrics, the counter page); what
//! they share (caller, usage fields, receipts, bodies) is here.

mod licenses;
mod log;
mod pki;
mod service;
mod verify;

pub use licenses::{
    ListQuery, UsageQueryFlat, license_get, license_list, license_verify_fields, token_redeem,
};
pub use log::{
    ConsistencyQuery, ProofQuery, log_checkpoint, log_consistency, log_proof, log_tile,
    log_witnessed_checkpoint,
};
pub use pki::{cert_status, crl_get, ocsp_get, ocsp_post, seal_get, seal_picture};
pub use service::{
    INDEX_HTML, OPENAPI, fallback, healthz, index, method_not_allowed, metrics, openapi, readyz,
};
pub use verify::verify;

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
fn now(state: &AppState) -> time::OffsetDateTime {
    time::OffsetDateTime::from(state.config.clock.now())
        .to_offset(yinzheng_license::LICENSE_TIME_OFFSET)
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
