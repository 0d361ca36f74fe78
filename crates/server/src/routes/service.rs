//! The service itself: health, readiness, metrics, the OpenAPI document,
//! the counter page, and the answers for unknown paths and methods.

use super::*;

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
            trust.context.verdict_cache().map(|c| c.stats()),
            state.log.sequencer().is_some(),
            &crl_expiry(&trust, state.config.clock.now()),
            state
                .readers
                .has_replica()
                .then(|| state.readers.replica_fresh()),
        ) + &crate::metrics::render_witnesses(
            state.witnessing.as_deref(),
            state
                .log
                .current()
                .and_then(|l| l.witnessed_note().ok().flatten())
                .as_deref(),
        ),
    )
        .into_response())
}

/// Seconds until each published CRL's nextUpdate (an offline root's ARL,
/// signed ahead at the ceremony, counts down to the next ceremony).
fn crl_expiry(
    trust: &crate::state::TrustMaterial,
    now: std::time::SystemTime,
) -> Vec<(String, i64)> {
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
pub const OPENAPI: &str = include_str!("../../openapi.json");
/// The counter page.
pub const INDEX_HTML: &str = include_str!("../../web/index.html");

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
