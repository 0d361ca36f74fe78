//! Who is calling: an API key (`Authorization: Bearer yzk_…` or `X-API-Key`)
//! or a client certificate (mTLS); what they may do; how fast. Deny by default.

use crate::config::{CallerConfig, CallersFile, api_key_hash};
use crate::problem::Problem;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// The TLS facts of one connection, attached to each of its requests.
#[derive(Clone, Debug, Default)]
pub struct ConnInfo {
    /// SHA-256 (hex) of the verified client certificate, if one was presented.
    pub client_cert_sha256: Option<String>,
    /// The peer address.
    pub remote: Option<std::net::SocketAddr>,
}

/// An authenticated caller.
#[derive(Debug)]
pub struct Caller {
    /// Its configuration.
    pub config: CallerConfig,
    bucket: Mutex<Bucket>,
}

#[derive(Debug)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

impl Caller {
    fn new(config: CallerConfig) -> Self {
        let burst = config.burst;
        Caller {
            config,
            bucket: Mutex::new(Bucket {
                tokens: burst,
                at: Instant::now(),
            }),
        }
    }

    /// The caller's name.
    pub fn name(&self) -> &str {
        &self.config.name
    }

    /// May this caller run `op`?
    pub fn allows(&self, op: &str) -> bool {
        self.config.operations.iter().any(|o| o == "*" || o == op)
    }

    /// May this caller see licenses of type `type_key`?
    pub fn sees_type(&self, type_key: &str) -> bool {
        self.config
            .license_types
            .iter()
            .any(|t| t == "*" || t == type_key)
    }

    /// Require `op` (403 otherwise).
    pub fn require(&self, op: &str) -> Result<(), Problem> {
        if self.allows(op) {
            Ok(())
        } else {
            Err(Problem::forbidden(
                "operation_not_allowed",
                format!("caller {} is not allowed the operation {op}", self.name()),
            ))
        }
    }

    /// Take one request from the token bucket (429 with the wait otherwise).
    pub fn take(&self) -> Result<(), Problem> {
        let mut b = self.bucket.lock().unwrap_or_else(|p| p.into_inner());
        let now = Instant::now();
        let elapsed = now.duration_since(b.at).as_secs_f64();
        b.tokens = (b.tokens + elapsed * self.config.rate_per_s).min(self.config.burst);
        b.at = now;
        if b.tokens >= 1.0 {
            b.tokens -= 1.0;
            Ok(())
        } else {
            let wait = ((1.0 - b.tokens) / self.config.rate_per_s).ceil().max(1.0);
            Err(Problem::rate_limited(wait as u64))
        }
    }
}

/// Every configured caller, indexed by credential.
#[derive(Debug, Default)]
pub struct Callers {
    by_key: HashMap<String, Arc<Caller>>,
    by_cert: HashMap<String, Arc<Caller>>,
}

impl Callers {
    /// Index a callers file.
    pub fn new(file: CallersFile) -> Self {
        Callers::reloaded(file, &Callers::default())
    }

    /// Index a callers file read again: a caller whose configuration did
    /// not change keeps its rate-limit bucket from `previous`.
    pub fn reloaded(file: CallersFile, previous: &Callers) -> Self {
        let kept: HashMap<&str, &Arc<Caller>> = previous
            .by_key
            .values()
            .chain(previous.by_cert.values())
            .map(|c| (c.name(), c))
            .collect();
        let mut c = Callers::default();
        for cfg in file.callers {
            let caller = match kept.get(cfg.name.as_str()) {
                Some(old) if old.config == cfg => Arc::clone(old),
                _ => Arc::new(Caller::new(cfg)),
            };
            if let Some(h) = &caller.config.api_key_sm3 {
                c.by_key.insert(h.to_ascii_lowercase(), caller.clone());
            }
            if let Some(h) = &caller.config.client_cert_sha256 {
                c.by_cert.insert(h.to_ascii_lowercase(), caller.clone());
            }
        }
        c
    }

    /// How many callers can authenticate.
    pub fn len(&self) -> usize {
        self.by_key.len() + self.by_cert.len()
    }

    /// True when nobody can call.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Authenticate a request: the API key if one is given (a wrong key is
    /// refused even with a good client certificate), else the client
    /// certificate, else 401.
    pub fn authenticate(
        &self,
        headers: &axum::http::HeaderMap,
        conn: Option<&ConnInfo>,
    ) -> Result<Arc<Caller>, Problem> {
        let key = headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| {
                v.strip_prefix("Bearer ")
                    .or_else(|| v.strip_prefix("bearer "))
            })
            .or_else(|| headers.get("x-api-key").and_then(|v| v.to_str().ok()));
        if let Some(key) = key {
            return self
                .by_key
                .get(&api_key_hash(key))
                .cloned()
                .ok_or_else(|| Problem::unauthenticated("unknown API key"));
        }
        if let Some(fp) = conn.and_then(|c| c.client_cert_sha256.as_ref()) {
            return self.by_cert.get(fp).cloned().ok_or_else(|| {
                Problem::unauthenticated("the client certificate is not registered for any caller")
            });
        }
        Err(Problem::unauthenticated(
            "authenticate with an API key (Authorization: Bearer …) or a client certificate",
        ))
    }
}
