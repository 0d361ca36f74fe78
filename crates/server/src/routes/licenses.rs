//! Licenses and holder tokens: status, lists, verify-fields, redemption.

use super::*;

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
    let at = now(&state);
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
    let at = now(&state);
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
    let today = yinzheng_license::license_day(at);
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
    let at = now(&state);
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
    let at = now(&state);
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
