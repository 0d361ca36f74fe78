//! The witness's HTTP face: `POST /add-checkpoint` (c2sp.org/tlog-witness),
//! `GET /latest?origin=…` (the latest checkpoint it cosigned for a log,
//! cosigned afresh: what auditors compare across witnesses) and `GET /` (its
//! name, verifier keys and logs, for operators).

use crate::Witness;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use std::sync::Arc;

/// Largest request body: a checkpoint note and 63 proof lines fit many times.
pub const MAX_BODY: usize = 256 * 1024;
/// Longest a request may take, its body read included (a slow client is
/// answered 408 and its connection closed).
pub const REQUEST_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);
/// Most requests handled at once; more are answered 503 at once (a log
/// retries with back-off). Each holds at most [`MAX_BODY`] of memory.
pub const MAX_IN_FLIGHT: usize = 64;

/// Serve `witness` on `listener` until `shutdown` resolves. Requests are
/// handled on blocking threads (each one a SQLite transaction with fsync).
pub async fn serve(
    witness: Arc<Witness>,
    listener: tokio::net::TcpListener,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let app = axum::Router::new()
        .route("/add-checkpoint", post(add_checkpoint))
        .route("/latest", get(latest))
        .route("/", get(info))
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .layer(axum::middleware::from_fn_with_state(
            Arc::new(tokio::sync::Semaphore::new(MAX_IN_FLIGHT)),
            bounded,
        ))
        .with_state(witness);
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await
}

/// A request's share of [`MAX_IN_FLIGHT`]: the blocking work it starts
/// holds it too, so a request answered 408 (its future dropped) keeps its
/// slot until that work ends.
#[derive(Clone)]
struct Slot(#[allow(dead_code)] Arc<tokio::sync::OwnedSemaphorePermit>);

/// Every request: one of [`MAX_IN_FLIGHT`] permits (else 503), and
/// [`REQUEST_TIMEOUT`] to finish, reading its body included (else 408).
async fn bounded(
    State(permits): State<Arc<tokio::sync::Semaphore>>,
    mut req: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let Ok(permit) = permits.try_acquire_owned() else {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            [(header::RETRY_AFTER, "1")],
            "busy: too many requests at once\n",
        )
            .into_response();
    };
    req.extensions_mut().insert(Slot(Arc::new(permit)));
    match tokio::time::timeout(REQUEST_TIMEOUT, next.run(req)).await {
        Ok(r) => r,
        Err(_) => (
            StatusCode::REQUEST_TIMEOUT,
            [(header::CONNECTION, "close")],
            "the request took too long\n",
        )
            .into_response(),
    }
}

async fn add_checkpoint(
    State(w): State<Arc<Witness>>,
    slot: Option<axum::Extension<Slot>>,
    body: Bytes,
) -> Response {
    let answer = tokio::task::spawn_blocking(move || {
        let _slot = slot;
        w.add_checkpoint(&body)
    })
    .await;
    match answer {
        Ok(Ok(lines)) => (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            lines,
        )
            .into_response(),
        Ok(Err(crate::Error::StaleOldSize { old, latest })) => {
            tracing::info!(old, latest, "add-checkpoint: stale old size");
            (
                StatusCode::CONFLICT,
                [(header::CONTENT_TYPE, "text/x.tlog.size")],
                format!("{latest}\n"),
            )
                .into_response()
        }
        Ok(Err(e)) => {
            let status = StatusCode::from_u16(e.status()).unwrap_or(StatusCode::BAD_REQUEST);
            if status.is_server_error() {
                tracing::error!(error = %e, "add-checkpoint failed");
            } else {
                tracing::warn!(status = status.as_u16(), error = %e, "add-checkpoint refused");
            }
            (
                status,
                [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
                format!("{e}\n"),
            )
                .into_response()
        }
        Err(e) => {
            tracing::error!(error = %e, "add-checkpoint task failed");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

#[derive(serde::Deserialize)]
struct LatestQuery {
    origin: String,
}

async fn latest(
    State(w): State<Arc<Witness>>,
    slot: Option<axum::Extension<Slot>>,
    q: Result<axum::extract::Query<LatestQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let text = |status: StatusCode, body: String| {
        (
            status,
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            body,
        )
            .into_response()
    };
    let Ok(axum::extract::Query(q)) = q else {
        return text(
            StatusCode::BAD_REQUEST,
            "need ?origin=<log origin>\n".into(),
        );
    };
    let answer = tokio::task::spawn_blocking(move || {
        let _slot = slot;
        w.latest_cosigned(&q.origin).map(|n| (n, q.origin))
    })
    .await;
    match answer {
        Ok(Ok((Some(note), _))) => text(StatusCode::OK, note),
        Ok(Ok((None, origin))) => text(
            StatusCode::NOT_FOUND,
            format!("no checkpoint of {origin:?} cosigned\n"),
        ),
        Ok(Err(e)) => {
            tracing::error!(error = %e, "latest failed");
            text(StatusCode::INTERNAL_SERVER_ERROR, format!("{e}\n"))
        }
        Err(e) => {
            tracing::error!(error = %e, "latest task failed");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

async fn info(State(w): State<Arc<Witness>>) -> Response {
    let mut s = String::from("yinzheng witness (c2sp.org/tlog-witness)\n\nverifier keys:\n");
    for v in w.verifiers() {
        s.push_str(&format!("  {v}\n"));
    }
    s.push_str("\nlogs:\n");
    for o in w.origins() {
        s.push_str(&format!("  {o}\n"));
    }
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        s,
    )
        .into_response()
}
