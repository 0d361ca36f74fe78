//! Yinzheng's verification server: the HTTPS API approval systems call.
//!
//! [`serve`] runs it on a data directory: callers authenticate with API keys
//! or client certificates ([`config`]), license checks answer from the
//! registry and write usage records through one group-committing writer
//! ([`usage`]), files are verified against the local trust domains with fresh
//! CRLs, and the log's read side, OCSP and CRLs are public. [`demo::create`]
//! makes a complete demo data directory. Errors are RFC 9457 problems
//! ([`problem`]).

pub mod auth;
pub mod config;
pub mod conn;
pub mod demo;
pub mod error;
pub mod metrics;
pub mod problem;
pub mod routes;
pub mod state;
pub use state::ca_keys_in;
pub mod tls;
pub mod usage;
pub mod verify_pool;

pub use config::{CallerConfig, CallersFile, KeyPassphrases, OPERATIONS, ServerConfig};
pub use error::{Error, Result};
pub use state::AppState;

use crate::auth::ConnInfo;
use crate::problem::{Problem, REQUEST_ID};
use axum::Router;
use axum::extract::{DefaultBodyLimit, MatchedPath, Request, State};
use axum::http::HeaderValue;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use std::future::Future;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Every route of [`router`] as (method, path template in axum's syntax).
///
/// Kept by hand next to the router: `tests/openapi.rs` checks that it matches
/// the `.route(…)` calls below and the paths of `openapi.json`, so a route
/// added without documentation fails the tests.
pub const ROUTES: &[(&str, &str)] = &[
    ("GET", "/"),
    ("GET", "/healthz"),
    ("GET", "/readyz"),
    ("GET", "/metrics"),
    ("GET", "/v1/openapi.json"),
    ("GET", "/v1/licenses"),
    ("GET", "/v1/licenses/{id}"),
    ("POST", "/v1/licenses/{id}/verify-fields"),
    ("POST", "/v1/tokens/{token}/redeem"),
    ("POST", "/v1/verify"),
    ("GET", "/v1/seals/{id}"),
    ("GET", "/v1/seals/{id}/picture"),
    ("GET", "/v1/certs/{serial}/status"),
    ("POST", "/v1/ocsp"),
    ("GET", "/v1/ocsp/{*req}"),
    ("GET", "/v1/crl/{name}"),
    ("GET", "/v1/log/checkpoint"),
    ("GET", "/v1/log/checkpoint/witnessed"),
    ("GET", "/v1/log/tile/{*path}"),
    ("GET", "/v1/log/proof/{index}"),
    ("GET", "/v1/log/consistency"),
];

/// The API's routes over a loaded state.
pub fn router(state: Arc<AppState>) -> Router {
    let upload_limit = state.config.max_upload_bytes + (64 << 10);
    Router::new()
        .route("/", get(routes::index))
        .route("/healthz", get(routes::healthz))
        .route("/readyz", get(routes::readyz))
        .route("/metrics", get(routes::metrics))
        .route("/v1/openapi.json", get(routes::openapi))
        .route("/v1/licenses", get(routes::license_list))
        .route("/v1/licenses/{id}", get(routes::license_get))
        .route(
            "/v1/licenses/{id}/verify-fields",
            post(routes::license_verify_fields),
        )
        .route("/v1/tokens/{token}/redeem", post(routes::token_redeem))
        .route(
            "/v1/verify",
            post(routes::verify).layer(DefaultBodyLimit::max(upload_limit)),
        )
        .route("/v1/seals/{id}", get(routes::seal_get))
        .route("/v1/seals/{id}/picture", get(routes::seal_picture))
        .route("/v1/certs/{serial}/status", get(routes::cert_status))
        .route("/v1/ocsp", post(routes::ocsp_post))
        .route("/v1/ocsp/{*req}", get(routes::ocsp_get))
        .route("/v1/crl/{name}", get(routes::crl_get))
        .route("/v1/log/checkpoint", get(routes::log_checkpoint))
        .route(
            "/v1/log/checkpoint/witnessed",
            get(routes::log_witnessed_checkpoint),
        )
        .route("/v1/log/tile/{*path}", get(routes::log_tile))
        .route("/v1/log/proof/{index}", get(routes::log_proof))
        .route("/v1/log/consistency", get(routes::log_consistency))
        .fallback(routes::fallback)
        .method_not_allowed_fallback(routes::method_not_allowed)
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            request_context,
        ))
        .with_state(state)
}

fn new_request_id() -> String {
    let mut b = [0u8; 12];
    if getrandom::fill(&mut b).is_err() {
        let t = time::OffsetDateTime::now_utc().unix_timestamp_nanos();
        b[..12].copy_from_slice(&t.to_le_bytes()[..12]);
    }
    hex::encode(b)
}

/// Per request: a request id (kept from a well-formed `x-request-id`, else
/// made), the time limit, one log line (never the query string: it carries
/// personal data), metrics.
async fn request_context(State(state): State<Arc<AppState>>, req: Request, next: Next) -> Response {
    let start = Instant::now();
    // A body the handler leaves unread (an early answer) is read out, so the
    // client gets the answer.
    let req = req.map(|b| axum::body::Body::new(conn::DrainOnDrop::new(b)));
    let id = req
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .filter(|v| {
            !v.is_empty()
                && v.len() <= 64
                && v.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        })
        .map(str::to_string)
        .unwrap_or_else(new_request_id);
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|m| m.as_str().to_string())
        .unwrap_or_else(|| "(unmatched)".into());
    let method = req.method().clone();
    let timeout = Duration::from_millis(state.config.request_timeout_ms);
    let mut resp = REQUEST_ID
        .scope(id.clone(), async move {
            match tokio::time::timeout(timeout, next.run(req)).await {
                Ok(r) => r,
                Err(_) => Problem::unavailable(format!(
                    "the request took longer than {} ms",
                    timeout.as_millis()
                ))
                .into_response(),
            }
        })
        .await;
    if let Ok(v) = HeaderValue::from_str(&id) {
        resp.headers_mut().insert("x-request-id", v);
    }
    let took = start.elapsed();
    let status = resp.status().as_u16();
    state.metrics.observe(&route, status, took);
    tracing::info!(
        request_id = %id,
        method = %method,
        route = %route,
        status,
        micros = took.as_micros() as u64,
        "request"
    );
    resp
}

/// How to run [`serve`].
#[derive(Clone, Debug, Default)]
pub struct ServeOptions {
    /// Serve plain HTTP (only behind a TLS-terminating proxy).
    pub plain_http: bool,
}

/// Serve `home` on `listener` until `shutdown` resolves; then stop accepting,
/// let in-flight requests finish (at most 30 s), flush the usage writer.
pub async fn serve(
    state: Arc<AppState>,
    listener: tokio::net::TcpListener,
    opts: ServeOptions,
    tls_passphrase: Option<&[u8]>,
    shutdown: impl Future<Output = ()> + Send,
) -> Result<()> {
    // The loop is polled through a vtable made here, so that it and all of
    // hyper's and axum's machinery it drives are compiled once, in this
    // crate. An async fn's body is compiled where it is polled: called
    // directly it was compiled again in every caller (each server test file
    // took 15-20 s to build).
    serve_boxed(state, listener, opts, tls_passphrase, Box::pin(shutdown)).await
}

/// The future of [`serve`], boxed behind a vtable built in this crate.
#[inline(never)]
fn serve_boxed<'a>(
    state: Arc<AppState>,
    listener: tokio::net::TcpListener,
    opts: ServeOptions,
    tls_passphrase: Option<&'a [u8]>,
    shutdown: std::pin::Pin<Box<dyn Future<Output = ()> + Send + 'a>>,
) -> std::pin::Pin<Box<dyn Future<Output = Result<()>> + Send + 'a>> {
    Box::pin(serve_until(state, listener, opts, tls_passphrase, shutdown))
}

/// [`serve`]'s loop.
async fn serve_until<'a>(
    state: Arc<AppState>,
    listener: tokio::net::TcpListener,
    opts: ServeOptions,
    tls_passphrase: Option<&'a [u8]>,
    mut shutdown: std::pin::Pin<Box<dyn Future<Output = ()> + Send + 'a>>,
) -> Result<()> {
    let tls = if opts.plain_http {
        None
    } else {
        let c = &state.config;
        let cert = state.home.join(&c.tls_cert);
        if !cert.exists() {
            return Err(Error::Config(format!(
                "no TLS certificate at {}: issue one under the tls-server profile \
                 (`yinzheng ca issue --profile tls-server --san HOST --out … --key-out …`, see the README), \
                 or serve --plain-http behind a TLS-terminating proxy",
                cert.display()
            )));
        }
        Some(tokio_rustls::TlsAcceptor::from(tls::server_config(
            &state.home.join(&c.tls_cert),
            &state.home.join(&c.tls_key),
            tls_passphrase,
            &c.client_ca
                .iter()
                .map(|p| state.home.join(p))
                .collect::<Vec<_>>(),
        )?))
    };
    let app = router(state.clone());
    let watchers = state.watch()?;
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let refresher = {
        let st = state.clone();
        tokio::spawn(async move {
            let mut t = tokio::time::interval(state::CRL_REFRESH);
            t.tick().await;
            loop {
                t.tick().await;
                let s = st.clone();
                match tokio::task::spawn_blocking(move || s.refresh_trust()).await {
                    Ok(Ok(())) => tracing::info!("published CRLs read again, validator refreshed"),
                    Ok(Err(e)) => tracing::error!(error = %e, "CRL refresh failed"),
                    Err(e) => tracing::error!(error = %e, "CRL refresh task failed"),
                }
            }
        })
    };
    let conns = Arc::new(tokio::sync::Semaphore::new(
        state.config.max_connections.max(1),
    ));
    let per_address = conn::PerAddress::new(state.config.max_connections_per_address);
    let idle_limit = Duration::from_millis(state.config.idle_timeout_ms.max(100));
    let handshake_limit = Duration::from_millis(state.config.handshake_timeout_ms.max(100));
    loop {
        let (stream, remote) = tokio::select! {
            r = listener.accept() => match r {
                Ok(x) => x,
                Err(e) => {
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = &mut shutdown => break,
        };
        let Ok(permit) = conns.clone().try_acquire_owned() else {
            state
                .metrics
                .connections_refused
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            tracing::debug!(%remote, "connection refused: every connection slot is taken");
            drop(stream);
            continue;
        };
        let Some(address_slot) = per_address.admit(remote.ip()) else {
            state
                .metrics
                .connections_refused
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            tracing::debug!(%remote, "connection refused: too many from this address");
            drop(stream);
            continue;
        };
        let activity = conn::Activity::new();
        let _ = stream.set_nodelay(true);
        let stream = conn::Tracked::new(stream, activity.clone());
        let app = app.clone();
        let tls = tls.clone();
        let watcher = graceful.watcher();
        tokio::spawn(async move {
            let _permit = permit;
            let _address_slot = address_slot;
            let builder = {
                let mut b = hyper_util::server::conn::auto::Builder::new(
                    hyper_util::rt::TokioExecutor::new(),
                );
                b.http1()
                    .timer(hyper_util::rt::TokioTimer::new())
                    .header_read_timeout(Duration::from_secs(10))
                    .max_buf_size(64 << 10);
                b.http2()
                    .timer(hyper_util::rt::TokioTimer::new())
                    .max_concurrent_streams(64)
                    .max_header_list_size(64 << 10)
                    .keep_alive_interval(Some(Duration::from_secs(20)))
                    .keep_alive_timeout(Duration::from_secs(10));
                b
            };
            match tls {
                Some(acc) => {
                    let s = match tokio::time::timeout(handshake_limit, acc.accept(stream)).await {
                        Ok(Ok(s)) => s,
                        Ok(Err(e)) => {
                            tracing::debug!(error = %e, %remote, "TLS handshake failed");
                            return;
                        }
                        Err(_) => return,
                    };
                    let info = ConnInfo {
                        client_cert_sha256: s
                            .get_ref()
                            .1
                            .peer_certificates()
                            .and_then(|c| c.first())
                            .map(|c| hex::encode(yinzheng_crypto::sha256(c.as_ref()))),
                        remote: Some(remote),
                    };
                    let svc = hyper_util::service::TowerToHyperService::new(
                        app.layer(axum::Extension(info)),
                    );
                    let conn = builder
                        .serve_connection_with_upgrades(hyper_util::rt::TokioIo::new(s), svc);
                    tokio::select! {
                        _ = watcher.watch(conn.into_owned()) => {}
                        _ = activity.idle_for(idle_limit) => {
                            tracing::debug!(%remote, "idle connection closed");
                        }
                    }
                }
                None => {
                    let info = ConnInfo {
                        client_cert_sha256: None,
                        remote: Some(remote),
                    };
                    let svc = hyper_util::service::TowerToHyperService::new(
                        app.layer(axum::Extension(info)),
                    );
                    let conn = builder
                        .serve_connection_with_upgrades(hyper_util::rt::TokioIo::new(stream), svc);
                    tokio::select! {
                        _ = watcher.watch(conn.into_owned()) => {}
                        _ = activity.idle_for(idle_limit) => {
                            tracing::debug!(%remote, "idle connection closed");
                        }
                    }
                }
            }
        });
    }
    tracing::info!("shutting down: finishing in-flight requests");
    drop(listener);
    refresher.abort();
    if tokio::time::timeout(Duration::from_secs(30), graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("in-flight requests did not finish within 30 s");
    }
    let st = state.clone();
    let _ = tokio::task::spawn_blocking(move || {
        drop(watchers);
        st.usage.close();
        if let Err(e) = st.log.close() {
            tracing::warn!(error = %e, "closing the log");
        }
    })
    .await;
    tracing::info!("usage records flushed; stopped");
    Ok(())
}

/// Write `bytes` to `path` atomically, owner-only (keys, secrets, configuration).
pub(crate) fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    }
    yinzheng_store::write_atomic_private(path, bytes).map_err(|e| Error::io(path, e))
}
