//! The log's side of c2sp.org/tlog-witness: ask every configured witness, in
//! parallel, to cosign a checkpoint, and keep the cosignatures once a quorum
//! of them did.
//!
//! A [`Collector`] remembers, per witness, the size it last cosigned (learned
//! from its answers, from a `409` with `text/x.tlog.size` after a restart of
//! either side), so a witness that was down catches up with one consistency
//! proof from that size. A witness that is down or refuses is retried with
//! exponential back-off and reported ([`WitnessReport`]); it never blocks the
//! others, and the log's sequencing never waits for any of them.
//!
//! `witnesses.toml`, in the log's directory:
//!
//! ```toml
//! quorum = 2
//! timeout_ms = 5000       # per request (default 5 s)
//! retry_max_ms = 60000    # the longest back-off (default 60 s)
//! tls_roots = "/etc/yinzheng/witness-roots.pem"   # optional, for https
//!
//! [[witness]]
//! url = "https://witness.finance.example.gov.cn/"
//! vkeys = ["witness.finance.example.gov.cn/w1+1a2b3c4d+BE..."]
//! ```

use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};
use yinzheng_anchor::{Checkpoint, Hash, Note, Quorum, VerifierKey, WitnessPolicy, cosigned_by};

/// The log's witness configuration file, in the log's directory.
pub const WITNESSES_FILE: &str = "witnesses.toml";
/// Default time limit of one request to a witness.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);
/// Default longest wait before a failed witness is asked again.
pub const DEFAULT_RETRY_MAX: Duration = Duration::from_secs(60);
/// The first wait after a failure; doubled per failure up to the maximum.
const RETRY_FIRST: Duration = Duration::from_millis(250);
/// Largest answer read from a witness (cosignature lines, or an error text).
const MAX_ANSWER: u64 = 64 * 1024;
/// Most witnesses a log may ask (each one a thread per round).
pub const MAX_WITNESSES: usize = 32;
/// Most keys per witness (its Ed25519 and SM2 keys): with the log's own
/// signatures, a fully cosigned note stays within a note's 100 signatures.
const MAX_KEYS_PER_WITNESS: usize = 2;
/// How far ahead of this machine's clock a cosignature's timestamp may be.
const MAX_CLOCK_SKEW_S: u64 = 600;

/// `witnesses.toml`: the witnesses a log asks, and how many must cosign.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WitnessesConfig {
    /// How many distinct witnesses must cosign a checkpoint before it is
    /// published as the witnessed checkpoint.
    pub quorum: usize,
    /// Time limit of one request, in milliseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_ms: Option<u64>,
    /// The longest back-off after failures, in milliseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_max_ms: Option<u64>,
    /// PEM file of the roots an `https` witness's certificate must chain to
    /// (default: the public web roots).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls_roots: Option<PathBuf>,
    /// The witnesses.
    #[serde(default, rename = "witness")]
    pub witnesses: Vec<WitnessEndpoint>,
}

/// One `[[witness]]` of `witnesses.toml`.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct WitnessEndpoint {
    /// Its base URL (`http://` or `https://`); requests go to
    /// `<url>/add-checkpoint`.
    pub url: String,
    /// Its cosignature verifier keys (one name: its Ed25519 and SM2 keys).
    pub vkeys: Vec<String>,
}

impl WitnessesConfig {
    /// The path of the configuration in the log directory `dir`.
    pub fn path(dir: &Path) -> PathBuf {
        dir.join(WITNESSES_FILE)
    }

    /// Read `dir/witnesses.toml`; `None` when the log has none (no witnesses).
    pub fn load(dir: &Path) -> Result<Option<Self>> {
        let path = Self::path(dir);
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(Error::Config(format!("{}: {e}", path.display()))),
        };
        toml::from_str(&text)
            .map(Some)
            .map_err(|e| Error::Config(format!("{}: {e}", path.display())))
    }

    /// Write `dir/witnesses.toml` (atomically).
    pub fn save(&self, dir: &Path) -> Result<()> {
        let text = toml::to_string(self).map_err(|e| Error::Config(e.to_string()))?;
        yinzheng_store::write_atomic(&Self::path(dir), text.as_bytes())
            .map_err(|e| Error::Config(e.to_string()))
    }
}

/// What happened when a witness was last asked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// It cosigned the checkpoint of this size.
    Cosigned {
        /// The tree size cosigned.
        size: u64,
    },
    /// It could not be reached, timed out or failed (5xx).
    Down(String),
    /// It refused (4xx): a fork, a bad proof, a log it does not witness, or
    /// it has cosigned a larger checkpoint than the log's.
    Refused {
        /// The HTTP status.
        status: u16,
        /// Its explanation, or ours.
        why: String,
    },
    /// Not asked this round: backing off after failures.
    Waiting {
        /// How long until it is asked again.
        retry_in: Duration,
    },
}

/// One witness as the collector sees it.
#[derive(Clone, Debug)]
pub struct WitnessReport {
    /// Its name (its keys' name).
    pub name: String,
    /// Its base URL.
    pub url: String,
    /// What happened this round.
    pub outcome: Outcome,
    /// The size it last cosigned, when known.
    pub size: Option<u64>,
    /// Cosignatures received since the collector started.
    pub cosigned_total: u64,
    /// Refusals since the collector started.
    pub refused_total: u64,
    /// Failed requests (down, timed out) since the collector started.
    pub down_total: u64,
}

impl WitnessReport {
    /// Whether it answered with a cosignature last time it was asked.
    pub fn up(&self) -> bool {
        matches!(self.outcome, Outcome::Cosigned { .. })
    }
}

/// One round: who cosigned the checkpoint, and the cosigned note when the
/// quorum was met.
#[derive(Clone, Debug)]
pub struct Round {
    /// The tree size of the checkpoint.
    pub size: u64,
    /// The checkpoint with the log's signatures and every cosignature
    /// received, when at least the quorum of witnesses cosigned.
    pub witnessed: Option<String>,
    /// Who cosigned, who did not, how many must.
    pub quorum: Quorum,
    /// Every witness, in configuration order.
    pub witnesses: Vec<WitnessReport>,
}

struct Remote {
    name: String,
    base: String,
    keys: Vec<VerifierKey>,
    state: Mutex<RemoteState>,
}

#[derive(Default)]
struct RemoteState {
    /// The size it last cosigned, as far as the collector knows.
    known: Option<u64>,
    /// The checkpoint text it last cosigned and its cosignature lines.
    cosigned: Option<(String, String)>,
    failures: u32,
    retry_at: Option<Instant>,
    last: Option<Outcome>,
    cosigned_total: u64,
    refused_total: u64,
    down_total: u64,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A consistency proof source: the log's proof from `old` to `new`.
pub type Prover<'a> = &'a (dyn Fn(u64, u64) -> std::result::Result<Vec<Hash>, String> + Sync);

/// Asks a log's witnesses to cosign its checkpoints (see the module docs).
pub struct Collector {
    log_keys: Vec<VerifierKey>,
    policy: WitnessPolicy,
    remotes: Vec<Remote>,
    agent: ureq::Agent,
    retry_max: Duration,
}

impl std::fmt::Debug for Collector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Collector")
            .field(
                "witnesses",
                &self.remotes.iter().map(|r| &r.base).collect::<Vec<_>>(),
            )
            .field("quorum", &self.policy.quorum())
            .finish_non_exhaustive()
    }
}

impl Collector {
    /// A collector for the log whose checkpoints `log_keys` sign, asking the
    /// witnesses of `config`. Refused: no witness, a quorum of 0 or above
    /// the number of witnesses, a URL that is not http(s), a witness whose
    /// keys are not cosignature keys or carry two names, one key under two
    /// witnesses, a witness key that is one of the log's.
    pub fn new(config: &WitnessesConfig, log_keys: Vec<VerifierKey>) -> Result<Self> {
        let bad = |why: String| Error::Config(format!("{WITNESSES_FILE}: {why}"));
        if config.witnesses.is_empty() {
            return Err(bad("no [[witness]]".into()));
        }
        if config.witnesses.len() > MAX_WITNESSES {
            return Err(bad(format!("more than {MAX_WITNESSES} witnesses")));
        }
        if config.quorum == 0 {
            return Err(bad("quorum must be at least 1".into()));
        }
        let mut remotes = Vec::new();
        let mut all_keys = Vec::new();
        for w in &config.witnesses {
            let base = w.url.trim_end_matches('/').to_string();
            if !(base.starts_with("http://") || base.starts_with("https://")) {
                return Err(bad(format!("witness URL {:?} is not http(s)", w.url)));
            }
            let keys = w
                .vkeys
                .iter()
                .map(|v| {
                    VerifierKey::parse(v)
                        .map_err(|e| bad(format!("witness {:?}: vkey {v:?}: {e}", w.url)))
                })
                .collect::<Result<Vec<_>>>()?;
            let Some(first) = keys.first() else {
                return Err(bad(format!("witness {:?} has no vkeys", w.url)));
            };
            let name = first.name().to_string();
            if keys.len() > MAX_KEYS_PER_WITNESS {
                return Err(bad(format!(
                    "witness {:?} has {} vkeys; at most {MAX_KEYS_PER_WITNESS} (Ed25519 and SM2)",
                    w.url,
                    keys.len()
                )));
            }
            if keys.iter().any(|k| k.name() != name) {
                return Err(bad(format!(
                    "witness {:?}: its keys carry more than one name",
                    w.url
                )));
            }
            if remotes.iter().any(|r: &Remote| r.name == name) {
                return Err(bad(format!("two witnesses are named {name}")));
            }
            all_keys.extend(keys.iter().cloned());
            remotes.push(Remote {
                name,
                base,
                keys,
                state: Mutex::new(RemoteState::default()),
            });
        }
        let policy = WitnessPolicy::new(all_keys, config.quorum).map_err(|e| bad(e.to_string()))?;
        policy
            .check_independent_of(&log_keys)
            .map_err(|e| bad(e.to_string()))?;
        let timeout = config
            .timeout_ms
            .map(Duration::from_millis)
            .unwrap_or(DEFAULT_TIMEOUT);
        let mut agent = ureq::AgentBuilder::new()
            .timeout(timeout)
            .redirects(0)
            .user_agent(concat!("yinzheng-log/", env!("CARGO_PKG_VERSION")));
        if let Some(roots) = &config.tls_roots {
            agent = agent.tls_config(tls_config(roots)?);
        }
        Ok(Collector {
            log_keys,
            policy,
            remotes,
            agent: agent.build(),
            retry_max: config
                .retry_max_ms
                .map(Duration::from_millis)
                .unwrap_or(DEFAULT_RETRY_MAX),
        })
    }

    /// The quorum policy: the witnesses' keys and how many must cosign.
    pub fn policy(&self) -> &WitnessPolicy {
        &self.policy
    }

    /// Ask every witness (those not backing off), in parallel, to cosign the
    /// log-signed checkpoint `note`, proving consistency with `prove` from
    /// the size each last cosigned. A witness that already cosigned this
    /// very checkpoint is not asked again. Errors only when `note` is not a
    /// checkpoint the log's keys signed.
    pub fn collect(&self, note: &str, prove: Prover<'_>) -> Result<Round> {
        let parsed = Note::parse(note.as_bytes())
            .map_err(|e| Error::Config(format!("the log's checkpoint: {e}")))?;
        parsed
            .open(&self.log_keys)
            .map_err(|e| Error::Config(format!("the log's checkpoint: {e}")))?;
        let checkpoint = Checkpoint::parse(parsed.text())
            .map_err(|e| Error::Config(format!("the log's checkpoint: {e}")))?;
        let size = checkpoint.size();
        let text = parsed.text();
        let lines: Vec<Option<String>> = std::thread::scope(|s| {
            let asks: Vec<_> = self
                .remotes
                .iter()
                .map(|r| s.spawn(move || self.ask(r, note, text, size, prove)))
                .collect();
            asks.into_iter().map(|h| h.join().unwrap_or(None)).collect()
        });
        // Each witness's lines are few and verified; still, one that would
        // make the note unreadable is left out rather than failing the round.
        let mut cosigned = note.to_string();
        for l in lines.iter().flatten() {
            let candidate = format!("{cosigned}{l}");
            if Note::parse(candidate.as_bytes()).is_ok() {
                cosigned = candidate;
            }
        }
        let quorum = Note::parse(cosigned.as_bytes())
            .and_then(|n| self.policy.check(&n))
            .map_err(|e| Error::State(format!("assembling the cosigned checkpoint: {e}")))?;
        Ok(Round {
            size,
            witnessed: quorum.met().then_some(cosigned),
            quorum,
            witnesses: self.reports(),
        })
    }

    /// Every witness as last seen.
    pub fn reports(&self) -> Vec<WitnessReport> {
        self.remotes
            .iter()
            .map(|r| {
                let st = lock(&r.state);
                WitnessReport {
                    name: r.name.clone(),
                    url: r.base.clone(),
                    outcome: st.last.clone().unwrap_or(Outcome::Waiting {
                        retry_in: Duration::ZERO,
                    }),
                    size: st.known,
                    cosigned_total: st.cosigned_total,
                    refused_total: st.refused_total,
                    down_total: st.down_total,
                }
            })
            .collect()
    }

    /// Ask one witness; its verified cosignature lines, or `None`.
    fn ask(
        &self,
        r: &Remote,
        note: &str,
        text: &str,
        size: u64,
        prove: Prover<'_>,
    ) -> Option<String> {
        let now = Instant::now();
        let known = {
            let mut st = lock(&r.state);
            if let Some((t, lines)) = &st.cosigned
                && t == text
            {
                let lines = lines.clone();
                st.last = Some(Outcome::Cosigned { size });
                return Some(lines);
            }
            if let Some(at) = st.retry_at
                && at > now
            {
                st.last = Some(Outcome::Waiting { retry_in: at - now });
                return None;
            }
            st.known
        };
        let outcome = self.exchange(r, note, text, size, known.unwrap_or(0), prove);
        let mut st = lock(&r.state);
        match outcome {
            Exchange::Cosigned { lines } => {
                st.known = Some(size);
                st.cosigned = Some((text.to_string(), lines.clone()));
                st.failures = 0;
                st.retry_at = None;
                st.cosigned_total += 1;
                st.last = Some(Outcome::Cosigned { size });
                Some(lines)
            }
            Exchange::Failed { outcome, learned } => {
                if learned.is_some() {
                    st.known = learned;
                }
                match &outcome {
                    Outcome::Down(_) => st.down_total += 1,
                    _ => st.refused_total += 1,
                }
                st.failures = st.failures.saturating_add(1);
                let wait = RETRY_FIRST
                    .saturating_mul(1u32 << st.failures.saturating_sub(1).min(16))
                    .min(self.retry_max);
                st.retry_at = Some(Instant::now() + wait);
                st.last = Some(outcome);
                None
            }
        }
    }

    /// The request (and, after a `409` with the witness's size, the one
    /// retry from that size).
    fn exchange(
        &self,
        r: &Remote,
        note: &str,
        text: &str,
        size: u64,
        mut old: u64,
        prove: Prover<'_>,
    ) -> Exchange {
        let mut learned = None;
        for attempt in 0..2 {
            let fail = move |outcome| Exchange::Failed { outcome, learned };
            if old > size {
                // Forget the size: next time the witness is asked afresh
                // (a lying 409 must not silence it for good).
                return Exchange::Failed {
                    learned: Some(0),
                    outcome: Outcome::Refused {
                        status: 409,
                        why: format!(
                            "the witness cosigned size {old}, larger than this checkpoint's {size}: \
                             it saw a checkpoint this log no longer shows"
                        ),
                    },
                };
            }
            let proof = if old == 0 || old == size {
                Vec::new()
            } else {
                match prove(old, size) {
                    Ok(p) => p,
                    Err(e) => {
                        return fail(Outcome::Down(format!(
                            "cannot prove consistency from {old} to {size}: {e}"
                        )));
                    }
                }
            };
            let body = crate::AddCheckpoint {
                old,
                proof,
                checkpoint: note.to_string(),
            }
            .to_body();
            let answer = self
                .agent
                .post(&format!("{}/add-checkpoint", r.base))
                .set("Content-Type", "text/plain; charset=utf-8")
                .send_string(&body);
            let (status, content_type, payload) = match answer {
                Ok(resp) => (resp.status(), resp.content_type().to_string(), read(resp)),
                Err(ureq::Error::Status(code, resp)) => {
                    (code, resp.content_type().to_string(), read(resp))
                }
                Err(ureq::Error::Transport(t)) => return fail(Outcome::Down(t.to_string())),
            };
            let Some(payload) = payload else {
                return fail(Outcome::Down(format!(
                    "status {status}, an answer that is not UTF-8 or longer than {MAX_ANSWER} bytes"
                )));
            };
            match status {
                200 => {
                    return match verify_lines(r, text, &payload) {
                        Ok(lines) => Exchange::Cosigned { lines },
                        Err(why) => fail(Outcome::Refused { status, why }),
                    };
                }
                409 if content_type == "text/x.tlog.size" => {
                    let theirs = payload.trim_end_matches('\n');
                    let Some(n) = theirs.parse::<u64>().ok().filter(|_| {
                        theirs.bytes().all(|b| b.is_ascii_digit())
                            && (theirs == "0" || !theirs.starts_with('0'))
                    }) else {
                        return fail(Outcome::Refused {
                            status,
                            why: "a 409 whose body is not a tree size".into(),
                        });
                    };
                    learned = Some(n);
                    if attempt == 0 && n != old {
                        old = n;
                        continue;
                    }
                    return Exchange::Failed {
                        outcome: Outcome::Refused {
                            status,
                            why: format!("the witness's latest size is {n}"),
                        },
                        learned,
                    };
                }
                s if s >= 500 => {
                    return fail(Outcome::Down(format!(
                        "status {s}: {}",
                        first_line(&payload)
                    )));
                }
                s => {
                    return fail(Outcome::Refused {
                        status: s,
                        why: first_line(&payload),
                    });
                }
            }
        }
        Exchange::Failed {
            outcome: Outcome::Down("no answer".into()),
            learned,
        }
    }
}

enum Exchange {
    Cosigned {
        lines: String,
    },
    Failed {
        outcome: Outcome,
        learned: Option<u64>,
    },
}

fn read(resp: ureq::Response) -> Option<String> {
    let mut buf = Vec::new();
    resp.into_reader()
        .take(MAX_ANSWER + 1)
        .read_to_end(&mut buf)
        .ok()?;
    if buf.len() as u64 > MAX_ANSWER {
        return None;
    }
    String::from_utf8(buf).ok()
}

fn first_line(s: &str) -> String {
    let line = s.lines().next().unwrap_or("").trim();
    line.chars().take(300).collect()
}

/// The lines of a witness's answer that are cosignatures by its keys on
/// `text`, each verified, one per key, none dated more than
/// [`MAX_CLOCK_SKEW_S`] ahead of this machine's clock; lines by other keys
/// are dropped. A line naming its key that does not verify, or no line by
/// its keys, is an error.
fn verify_lines(r: &Remote, text: &str, payload: &str) -> std::result::Result<String, String> {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let mut kept = String::new();
    let mut seen: Vec<(String, u32)> = Vec::new();
    for line in payload.lines().filter(|l| !l.is_empty()) {
        let one = format!("{text}\n{line}\n");
        let note = Note::parse(one.as_bytes())
            .map_err(|e| format!("an answer line is not a signature line: {e}"))?;
        let Some(sig) = note.signatures().first() else {
            continue;
        };
        match cosigned_by(&note, &r.keys) {
            Ok(names) if !names.is_empty() => {
                let id = (sig.name.clone(), sig.key_id);
                if seen.contains(&id) {
                    continue;
                }
                let time = r
                    .keys
                    .iter()
                    .find(|k| k.name() == sig.name && k.key_id() == sig.key_id)
                    .and_then(|k| k.cosignature_time(&sig.signature));
                if time.is_some_and(|t| t > now + MAX_CLOCK_SKEW_S) {
                    return Err(format!(
                        "a cosignature dated {} s ahead of this machine's clock",
                        time.unwrap_or(0).saturating_sub(now)
                    ));
                }
                seen.push(id);
                kept.push_str(line);
                kept.push('\n');
            }
            Ok(_) => {}
            Err(e) => return Err(format!("a cosignature that does not verify: {e}")),
        }
    }
    if kept.is_empty() {
        return Err(format!("no cosignature by {}'s keys in the answer", r.name));
    }
    Ok(kept)
}

/// A TLS client configuration trusting the roots in the PEM file `path`.
fn tls_config(path: &Path) -> Result<Arc<rustls::ClientConfig>> {
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject;
    let bad = |why: String| Error::Config(format!("tls_roots {}: {why}", path.display()));
    let mut roots = rustls::RootCertStore::empty();
    for c in CertificateDer::pem_file_iter(path).map_err(|e| bad(e.to_string()))? {
        roots
            .add(c.map_err(|e| bad(e.to_string()))?)
            .map_err(|e| bad(e.to_string()))?;
    }
    if roots.is_empty() {
        return Err(bad("no certificate".into()));
    }
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|e| bad(e.to_string()))?
    .with_root_certificates(roots)
    .with_no_client_auth();
    Ok(Arc::new(config))
}

/// Keeps a log's witnessed checkpoint up to date: each [`step`](Self::step)
/// asks the witnesses to cosign the log's latest checkpoint when it has not
/// been witnessed yet, and publishes it ([`yinzheng_log::Log::publish_witnessed`]) once a
/// quorum cosigned. What a server's thread and `yinzheng log witness` run.
#[derive(Debug)]
pub struct Witnessing {
    collector: Collector,
    /// The checkpoint text every witness cosigned (nothing left to ask).
    done: Mutex<Option<String>>,
    /// Whether the witnessed checkpoint found at start was checked against
    /// the current policy.
    checked: std::sync::atomic::AtomicBool,
}

impl Witnessing {
    /// Witnessing with `collector`.
    pub fn new(collector: Collector) -> Self {
        Witnessing {
            collector,
            done: Mutex::new(None),
            checked: std::sync::atomic::AtomicBool::new(false),
        }
    }

    /// The collector (its policy and reports).
    pub fn collector(&self) -> &Collector {
        &self.collector
    }

    /// One round for `log`'s latest checkpoint; `None` when every witness
    /// has cosigned it already. Witnesses keep being asked after the quorum
    /// is met (each one's back-off permitting) so that one that was away
    /// catches up, and the witnessed checkpoint gains their cosignatures.
    /// The log is only read: sequencing never waits.
    pub fn step(&self, log: &yinzheng_log::Log) -> Result<Option<Round>> {
        if !self.checked.load(std::sync::atomic::Ordering::Relaxed) {
            self.recheck(log)?;
            self.checked
                .store(true, std::sync::atomic::Ordering::Relaxed);
        }
        let note = log.checkpoint_note();
        let text = Note::parse(note.as_bytes())
            .map(|n| n.text().to_string())
            .map_err(|e| Error::State(format!("the log's checkpoint: {e}")))?;
        if lock(&self.done).as_deref() == Some(text.as_str()) {
            return Ok(None);
        }
        let prove = |old: u64, new: u64| log.prove_consistency(old, new).map_err(|e| e.to_string());
        let round = self.collector.collect(&note, &prove)?;
        if let Some(w) = &round.witnessed {
            log.publish_witnessed(w)
                .map_err(|e| Error::State(format!("publishing the witnessed checkpoint: {e}")))?;
            if round.quorum.missing.is_empty() {
                *lock(&self.done) = Some(text);
            }
        }
        Ok(Some(round))
    }

    /// The witnessed checkpoint published before this start must meet the
    /// current policy (a witness may have been removed, the quorum raised):
    /// withdrawn when it does not, until the witnesses cosign again.
    fn recheck(&self, log: &yinzheng_log::Log) -> Result<()> {
        let Some(bytes) = log
            .witnessed_file()
            .map_err(|e| Error::State(format!("reading the witnessed checkpoint: {e}")))?
        else {
            return Ok(());
        };
        // Unreadable, not the log's, or short of the current quorum: withdrawn.
        let met = log.witnessed_note().is_ok()
            && Note::parse(&bytes)
                .and_then(|n| self.collector.policy.check(&n))
                .is_ok_and(|q| q.met());
        if !met
            && log
                .retract_witnessed(&bytes)
                .map_err(|e| Error::State(format!("withdrawing the witnessed checkpoint: {e}")))?
        {
            tracing::warn!(
                "the witnessed checkpoint does not meet the current witness policy (or cannot be read): withdrawn"
            );
        }
        Ok(())
    }
}
