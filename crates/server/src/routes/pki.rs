//! Seals of the registry, certificate status, OCSP and CRLs.

use super::*;

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
        "sm3": yinzheng_crypto::sm3_hex(&s.der),
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
            let expired =
                c.not_after < time::OffsetDateTime::from(state.config.clock.now()).unix_timestamp();
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
    let now = state.config.clock.now();
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
    let b64 = path(b64)?;
    if b64.len() > 16 << 10 {
        return Err(Problem::too_large(16 << 10));
    }
    let der = yinzheng_crypto::base64::decode_standard_or_url_safe(b64.trim())
        .ok_or_else(|| Problem::bad_field("request", "not base64 (standard or URL-safe)"))?;
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
