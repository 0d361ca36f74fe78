//! `POST /v1/verify`: files and detached signatures, received into the
//! upload buffer, verified on the verification pool.

use super::*;

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
    let at = now(&state);
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
    let (result, subject) = result;
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
/// rather than go on for an answer nobody will read. Returns the verdict and
/// the usage record's subject (the file's SM3, computed once here, on the
/// verification thread, and shared with the registry lookup).
fn verify_blocking(
    st: &AppState,
    sig: Option<Bytes>,
    file: Bytes,
    at: time::OffsetDateTime,
    deadline: std::time::Instant,
) -> Result<(Verified, String), Problem> {
    let hashed = yinzheng_license::HashedFile::new(&file[..]);
    let subject = hashed.subject();
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
        return Ok((Verified::Detached(report), subject));
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
        .evaluate_hashed_file(
            &hashed,
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
    Ok((Verified::File(Box::new(o)), subject))
}

enum Verified {
    File(Box<CheckOutcome>),
    Detached(yinzheng_pki::VerificationReport),
}
