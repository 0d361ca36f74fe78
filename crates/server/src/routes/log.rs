//! The anchoring log's read side: checkpoint, tiles, proofs.

use super::*;

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

/// `GET /v1/log/checkpoint/witnessed`: the latest checkpoint a quorum of the
/// log's witnesses cosigned (404 before the first, or without witnesses).
pub async fn log_witnessed_checkpoint(State(state): St) -> Result<Response, Problem> {
    let log = log_of(&state)?;
    let note = log
        .witnessed_note()
        .map_err(|e| store_err(&state, e, "reading the witnessed checkpoint"))?
        .ok_or_else(|| Problem::not_found("no witnessed checkpoint (yet)"))?;
    Ok((
        [
            (header::CONTENT_TYPE, "text/plain; charset=utf-8"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        note,
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
    let file = yinzheng_log::Log::tiles_dir(&yinzheng_store::DataDir::new(&state.home).log())
        .join(tp.to_path_string());
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
    Ok(axum::Json(json!({
        "old": q.old,
        "new": new,
        "proof": proof.iter().map(|h| yinzheng_crypto::base64::encode(h)).collect::<Vec<_>>(),
        "checkpoint": if new == size { Some(note) } else { None },
    }))
    .into_response())
}
