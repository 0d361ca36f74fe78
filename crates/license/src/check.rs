//! Checking licenses the ways approval systems do — by identifier, by file, by
//! claimed face data, by a holder's QR token — each leaving a usage record
//! (用证记录) that is later anchored in the log in batches.

use crate::LicenseId;
use crate::anchor::Anchor;
use crate::error::{Error, Result};
use crate::model::{License, ResultCode, Status};
use crate::registry::{Registry, now_ms};
use serde::Serialize;
use yinzheng_pki::VerificationReport;
use yinzheng_store::{Row, params};

/// The usage columns [`usage_row`] reads (a macro: queries are `concat!`ed).
macro_rules! usage_select {
    () => {
        "SELECT u.seq, time_ms, caller, operator, purpose, matter, business_serial, holder_code, license, operation, result, record_sm3, a.log_index
     FROM usage u LEFT JOIN usage_anchor a ON a.seq = u.seq"
    };
}

/// Longest purpose of use (用证事由).
pub const MAX_PURPOSE_CHARS: usize = 200;
/// Shortest and longest lifetime of a presentation token, seconds.
pub const TOKEN_TTL_S: std::ops::RangeInclusive<u32> = 60..=300;

/// Who checks a license and why; every check carries it and records it.
#[derive(Clone, Debug, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct UsageContext {
    /// The calling system.
    pub caller: String,
    /// The operator (name, ID or role).
    pub operator: String,
    /// Purpose of use (required, at most 200 characters).
    pub purpose: String,
    /// Matter code (事项编码), may be empty.
    pub matter: String,
    /// Business serial number (业务流水号), may be empty.
    pub business_serial: String,
}

/// Characters refused in usage-record fields: control characters (NUL, line
/// breaks, escapes), the Unicode line and paragraph separators, and the
/// bidirectional overrides and isolates that make a record read differently
/// from what it holds.
pub fn is_unsafe_char(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{2028}' | '\u{2029}' | '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}'
                | '\u{2066}'..='\u{2069}'
        )
}

impl UsageContext {
    /// Refuse a context without a purpose of use or caller, or with
    /// over-long fields (every check runs this first).
    pub fn validate(&self) -> Result<()> {
        if self.purpose.trim().is_empty() {
            return Err(Error::Refused(
                "a purpose of use (用证事由) is required".into(),
            ));
        }
        if self.purpose.chars().count() > MAX_PURPOSE_CHARS {
            return Err(Error::Refused(format!(
                "the purpose of use has {} characters; at most {MAX_PURPOSE_CHARS}",
                self.purpose.chars().count()
            )));
        }
        if self.caller.trim().is_empty() {
            return Err(Error::Refused("the calling system must be named".into()));
        }
        for (what, v) in [
            ("caller", &self.caller),
            ("operator", &self.operator),
            ("matter", &self.matter),
            ("business serial", &self.business_serial),
        ] {
            if v.chars().count() > 200 {
                return Err(Error::Refused(format!("{what}: at most 200 characters")));
            }
        }
        for (what, v) in [
            ("purpose of use", &self.purpose),
            ("caller", &self.caller),
            ("operator", &self.operator),
            ("matter", &self.matter),
            ("business serial", &self.business_serial),
        ] {
            if v.chars().any(crate::check::is_unsafe_char) {
                return Err(Error::Refused(format!(
                    "{what}: control characters (NUL, line breaks, …) are not allowed"
                )));
            }
        }
        Ok(())
    }
}

/// What a check found.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CheckOutcome {
    /// Sharing-service result code.
    pub code: ResultCode,
    /// The numeric code (0–7).
    pub code_number: u8,
    /// What it means, and why.
    pub message: String,
    /// The license, when one was identified.
    pub license: Option<License>,
    /// Its status at the time of the check.
    pub status: Option<Status>,
    /// The document verification report (checks by file).
    pub report: Option<VerificationReport>,
    /// Fields whose claimed value differs (checks by face data).
    pub mismatches: Vec<String>,
    /// Each claimed field and whether it matches (checks by face data):
    /// only the verdict per field, never the registry's value.
    pub fields: Vec<FieldMatch>,
    /// The usage record written for this check.
    pub usage_record: i64,
}

/// One claimed field of a check by face data.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct FieldMatch {
    /// The field as claimed (key or label).
    pub field: String,
    /// `match`, `mismatch`, or `unknown` (no such field on this license type).
    pub result: &'static str,
}

/// Trust inputs for verifying license files: the verification pipeline's
/// trust context and, when the caller has one, the seal registry (for the
/// status of seals made here).
#[derive(Clone, Copy)]
pub struct DocumentTrust<'a> {
    /// Anchors, revocation, intermediates, seal makers.
    pub context: &'a yinzheng_document::TrustContext,
    /// The seal registry, for seal status.
    pub seals: Option<&'a dyn yinzheng_seal::SealStatusSource>,
    /// Stop verifying once this instant has passed (a timed-out request).
    pub deadline: Option<std::time::Instant>,
    /// An OFD package may inflate to at most this many bytes (`None`: the
    /// document crate's limit).
    pub max_inflated: Option<u64>,
}

/// One usage record.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct UsageRecord {
    /// Sequence number.
    pub seq: i64,
    /// Unix milliseconds.
    pub time_ms: i64,
    /// Calling system.
    pub caller: String,
    /// Operator.
    pub operator: String,
    /// Purpose of use.
    pub purpose: String,
    /// Matter code.
    pub matter: String,
    /// Business serial.
    pub business_serial: String,
    /// Holder code (empty when no license was identified).
    pub holder_code: String,
    /// License identifier (or what was asked for).
    pub license: String,
    /// query, verify-file, verify-face, qr-redeem.
    pub operation: String,
    /// Result code.
    pub result: u8,
    /// SM3 (hex) of the record's canonical form, the digest anchored in the log.
    pub record_sm3: String,
    /// Index of its log entry, once anchored.
    pub log_index: Option<u64>,
}

fn canonical(r: &UsageRecord) -> String {
    // Fixed field order; serde_json escapes consistently.
    serde_json::json!([
        r.time_ms,
        r.caller,
        r.operator,
        r.purpose,
        r.matter,
        r.business_serial,
        r.holder_code,
        r.license,
        r.operation,
        r.result
    ])
    .to_string()
}

fn outcome(
    code: ResultCode,
    message: String,
    license: Option<License>,
    at: time::Date,
) -> CheckOutcome {
    let status = license.as_ref().map(|l| l.status_at(at));
    CheckOutcome {
        code,
        code_number: code.code(),
        message,
        license,
        status,
        report: None,
        mismatches: Vec::new(),
        fields: Vec::new(),
        usage_record: 0,
    }
}

fn status_message(l: &License, at: time::Date) -> String {
    let mut m = format!("{} is {}", l.id, l.status_at(at));
    if l.status_at(at) == Status::Valid && at < l.valid_from {
        m.push_str(&format!(" from {}", crate::format_date(l.valid_from)));
    }
    if let Some(new) = &l.superseded_by {
        m.push_str(&format!("; superseded by {new}"));
    }
    m
}

/// A usage record built from a check, not yet written (see
/// [`Registry::record_usage`]); a server writes many in one transaction.
#[derive(Clone, Debug)]
pub struct PendingUsage(UsageRecord);

impl PendingUsage {
    /// The record as it will be stored (its `seq` is assigned on write).
    pub fn record(&self) -> &UsageRecord {
        &self.0
    }
}

/// How many of the log's latest entries usage reconciliation reads at most
/// (the records a dead writer had in flight are among the last few batches).
pub const USAGE_RECONCILE_SCAN: u64 = 20_000;

impl Registry {
    fn new_usage(
        ctx: &UsageContext,
        license: &str,
        holder_code: &str,
        operation: &str,
        result: ResultCode,
        at: time::OffsetDateTime,
    ) -> PendingUsage {
        let mut r = UsageRecord {
            seq: 0,
            time_ms: now_ms(at),
            caller: ctx.caller.clone(),
            operator: ctx.operator.clone(),
            purpose: ctx.purpose.clone(),
            matter: ctx.matter.clone(),
            business_serial: ctx.business_serial.clone(),
            holder_code: holder_code.to_string(),
            license: license.chars().take(200).collect(),
            operation: operation.to_string(),
            result: result.code(),
            record_sm3: String::new(),
            log_index: None,
        };
        r.record_sm3 = yinzheng_crypto::sm3_hex(canonical(&r).as_bytes());
        PendingUsage(r)
    }

    /// Write one usage record; returns its sequence number. The record
    /// waits in `usage_pending` (a trigger puts it there) until its log index
    /// is recorded. Inside [`Registry::write_batch`] it joins the batch's
    /// transaction.
    pub fn record_usage(&self, p: &PendingUsage) -> Result<i64> {
        let r = &p.0;
        Ok(self
            .conn
            .query_row(
                "INSERT INTO usage (time_ms, caller, operator, purpose, matter, business_serial, holder_code, license, operation, result, record_sm3)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11) RETURNING seq",
                params![r.time_ms, r.caller, r.operator, r.purpose, r.matter, r.business_serial, r.holder_code, r.license, r.operation, r.result, r.record_sm3],
            )?
            .get(0)?)
    }

    /// Run `f` in one write transaction: the group commit of a server's usage
    /// records and token redemptions. Nothing `f` wrote survives when the
    /// commit fails, or when any statement in it failed. On PostgreSQL a
    /// batch that loses a serialization race (two servers redeeming one
    /// token) is run again, so `f` must only do database work.
    pub fn write_batch<T>(&mut self, mut f: impl FnMut(&Registry) -> T) -> Result<T> {
        let this = &*self;
        this.conn.transaction(|_| Ok::<_, Error>(f(this)))
    }

    /// The usage record a check leaves: who asked (`ctx`), about what
    /// (`asked`: the identifier or `file sm3:…`), the operation and result.
    pub fn pending_usage(
        &self,
        o: &CheckOutcome,
        ctx: &UsageContext,
        asked: &str,
        operation: &str,
        at: time::OffsetDateTime,
    ) -> PendingUsage {
        let (id, holder) = match &o.license {
            Some(l) => (l.id.to_string(), l.holder.code.clone()),
            None => match self.get(asked).ok().flatten() {
                Some(l) => (l.id.to_string(), l.holder.code),
                None => (asked.to_string(), String::new()),
            },
        };
        Self::new_usage(ctx, &id, &holder, operation, o.code, at)
    }

    fn finish(
        &mut self,
        o: CheckOutcome,
        ctx: &UsageContext,
        asked: &str,
        operation: &str,
        at: time::OffsetDateTime,
    ) -> Result<CheckOutcome> {
        self.finish_shared(o, ctx, asked, operation, at)
    }

    fn finish_shared(
        &self,
        mut o: CheckOutcome,
        ctx: &UsageContext,
        asked: &str,
        operation: &str,
        at: time::OffsetDateTime,
    ) -> Result<CheckOutcome> {
        let p = self.pending_usage(&o, ctx, asked, operation, at);
        o.usage_record = self.record_usage(&p)?;
        Ok(o)
    }

    /// Check by identifier: found, status now (or at `at`), result code.
    pub fn check_id(
        &mut self,
        id: &str,
        ctx: &UsageContext,
        at: time::OffsetDateTime,
    ) -> Result<CheckOutcome> {
        ctx.validate()?;
        let o = self.evaluate_id(id, at)?;
        self.finish(o, ctx, id, "query", at)
    }

    /// [`check_id`](Self::check_id) without writing the usage record
    /// (build it with [`pending_usage`](Self::pending_usage)).
    pub fn evaluate_id(&self, id: &str, at: time::OffsetDateTime) -> Result<CheckOutcome> {
        let day = crate::license_day(at);
        Ok(if id.trim().is_empty() {
            outcome(ResultCode::NoData, "no identifier given".into(), None, day)
        } else {
            match LicenseId::parse(id) {
                Err(e) => outcome(ResultCode::DataWrong, e.to_string(), None, day),
                Ok(parsed) => match self.get(&parsed.to_string())? {
                    None => outcome(
                        ResultCode::NotFound,
                        format!("no license {parsed}"),
                        None,
                        day,
                    ),
                    Some(l) => {
                        outcome(l.result_code_at(day), status_message(&l, day), Some(l), day)
                    }
                },
            }
        })
    }

    /// Check by file: verify the sealed OFD or PDF, then find it in the
    /// registry by its SM3 digest. A genuine file of a revoked license says
    /// so (code 3); a file that does not verify is code 7 whatever it claims;
    /// one whose verification is INDETERMINATE (e.g. no revocation data) is
    /// code 4, "cannot verify", never 7.
    pub fn check_file(
        &mut self,
        bytes: &[u8],
        trust: &DocumentTrust<'_>,
        ctx: &UsageContext,
        at: time::OffsetDateTime,
    ) -> Result<CheckOutcome> {
        ctx.validate()?;
        let file = HashedFile::new(bytes);
        let o = self.evaluate_hashed_file(&file, trust, at)?;
        self.finish(o, ctx, &file.subject(), "verify-file", at)
    }

    /// [`check_file`](Self::check_file) without writing the usage record;
    /// the record's subject is [`file_subject`].
    pub fn evaluate_file(
        &self,
        bytes: &[u8],
        trust: &DocumentTrust<'_>,
        at: time::OffsetDateTime,
    ) -> Result<CheckOutcome> {
        self.evaluate_hashed_file(&HashedFile::new(bytes), trust, at)
    }

    /// [`evaluate_file`](Self::evaluate_file) for a file whose SM3 the caller
    /// also needs (the usage record's subject, [`HashedFile::subject`]): a
    /// 200 KB file is hashed once per check, not twice, and the digest the
    /// registry is searched by is always the one of the bytes verified.
    pub fn evaluate_hashed_file(
        &self,
        file: &HashedFile<'_>,
        trust: &DocumentTrust<'_>,
        at: time::OffsetDateTime,
    ) -> Result<CheckOutcome> {
        let (bytes, file_sm3) = (file.bytes(), file.sm3_hex.as_str());
        let day = crate::license_day(at);
        use yinzheng_document::Format;
        let req = yinzheng_document::VerifyRequest {
            seals: trust.seals,
            deadline: trust.deadline,
            max_inflated: trust.max_inflated,
            file_sm3: Some(&file.sm3),
            ..Default::default()
        };
        let report = match Format::sniff(bytes) {
            Some(f @ (Format::Pdf | Format::Ofd)) => trust.context.verify_as(f, bytes, &req),
            _ => Err(yinzheng_document::Error::Format(
                "neither a PDF nor an OFD package".into(),
            )),
        };
        let found = self.by_digest(file_sm3)?;
        let o = match report {
            Err(e) => outcome(
                ResultCode::Incomplete,
                format!("the file cannot be read: {e}"),
                found,
                day,
            ),
            // "Cannot decide now" (revocation data missing, no proof of
            // when an expired signer signed) never reads as "forged".
            Ok(r) if r.indication() == yinzheng_pki::Indication::Indeterminate => {
                let mut o = outcome(
                    ResultCode::Incomplete,
                    format!(
                        "the file cannot be verified now (not a finding of forgery): {}",
                        r.to_string().lines().next().unwrap_or_default()
                    ),
                    None,
                    day,
                );
                o.report = Some(r);
                o
            }
            Ok(r) if !r.passed() => {
                let mut o = outcome(
                    ResultCode::DataWrong,
                    format!(
                        "the file is not genuine or was changed: {}",
                        r.to_string().lines().next().unwrap_or_default()
                    ),
                    None,
                    day,
                );
                o.report = Some(r);
                o
            }
            Ok(r) => {
                let mut o = match found {
                    Some(l) => {
                        let m = format!("genuine file of {}", status_message(&l, day));
                        outcome(l.result_code_at(day), m, Some(l), day)
                    }
                    None => outcome(
                        ResultCode::NotFound,
                        "the file's seals verify, but it is not a license file of this registry"
                            .into(),
                        None,
                        day,
                    ),
                };
                o.report = Some(r);
                o
            }
        };
        Ok(o)
    }

    /// Check claimed face data against the registry: every claimed (key or
    /// label, value) must match; holder name and code, number and the face
    /// fields can be claimed. The outcome says per field whether it matches,
    /// the result code and the status; it never carries the license record
    /// (a caller who claims a wrong value learns nothing of the right one).
    pub fn check_face(
        &mut self,
        id: &str,
        claimed: &[(String, String)],
        ctx: &UsageContext,
        at: time::OffsetDateTime,
    ) -> Result<CheckOutcome> {
        ctx.validate()?;
        let o = self.evaluate_face(id, claimed, at)?;
        self.finish(o, ctx, id, "verify-face", at)
    }

    /// [`check_face`](Self::check_face) without writing the usage record.
    pub fn evaluate_face(
        &self,
        id: &str,
        claimed: &[(String, String)],
        at: time::OffsetDateTime,
    ) -> Result<CheckOutcome> {
        let day = crate::license_day(at);
        let o = match (claimed.is_empty(), self.get(id)) {
            (true, _) => outcome(ResultCode::NoData, "no data to compare".into(), None, day),
            (_, Err(e)) => outcome(ResultCode::DataWrong, e.to_string(), None, day),
            (_, Ok(None)) => outcome(ResultCode::NotFound, format!("no license {id}"), None, day),
            (_, Ok(Some(l))) => {
                let ty = self.catalogue().get(&l.type_key).ok().cloned();
                let mut mismatches = Vec::new();
                let mut unknown = Vec::new();
                let mut fields = Vec::new();
                for (k, v) in claimed {
                    let actual = match k.as_str() {
                        "holder_name" | "名称" | "姓名" => Some(l.holder.name.clone()),
                        "holder_code" | "统一社会信用代码" | "公民身份号码" => {
                            Some(l.holder.code.clone())
                        }
                        "number" | "证照编号" => Some(l.number.clone()),
                        _ => {
                            let label = ty
                                .as_ref()
                                .and_then(|t| t.fields.iter().find(|f| &f.key == k))
                                .map(|f| f.label.clone())
                                .unwrap_or_else(|| k.clone());
                            let known = ty
                                .as_ref()
                                .is_some_and(|t| t.fields.iter().any(|f| f.label == label));
                            if known {
                                Some(
                                    l.face
                                        .iter()
                                        .find(|(lb, _)| *lb == label)
                                        .map(|(_, v)| v.clone())
                                        .unwrap_or_default(),
                                )
                            } else {
                                None
                            }
                        }
                    };
                    let result = match actual {
                        Some(a)
                            if a.trim() == v.trim()
                                || (k.contains("code") && a.eq_ignore_ascii_case(v.trim())) =>
                        {
                            "match"
                        }
                        Some(_) => {
                            mismatches.push(k.clone());
                            "mismatch"
                        }
                        None => {
                            unknown.push(k.clone());
                            "unknown"
                        }
                    };
                    fields.push(FieldMatch {
                        field: k.clone(),
                        result,
                    });
                }
                let status = l.status_at(day);
                let mut o = if !unknown.is_empty() {
                    let mut o = outcome(
                        ResultCode::Incomplete,
                        format!("unknown fields for {}: {}", l.name, unknown.join(", ")),
                        None,
                        day,
                    );
                    o.mismatches = unknown;
                    o
                } else if !mismatches.is_empty() {
                    let mut o = outcome(
                        ResultCode::DataWrong,
                        format!(
                            "claimed data differ from the registry: {}",
                            mismatches.join(", ")
                        ),
                        None,
                        day,
                    );
                    o.mismatches = mismatches;
                    o
                } else {
                    let m = format!("claimed data match; {}", status_message(&l, day));
                    outcome(l.result_code_at(day), m, None, day)
                };
                o.status = Some(status);
                o.fields = fields;
                o
            }
        };
        Ok(o)
    }

    /// A presentation token for one license (holder authorisation, 亮证):
    /// opaque, single use, valid `ttl_s` seconds (60–300), optionally bound to
    /// a matter code. Only its SM3 is stored.
    pub fn create_token(
        &mut self,
        id: &str,
        ttl_s: u32,
        matter: Option<&str>,
        created_by: &str,
        at: time::OffsetDateTime,
    ) -> Result<(String, time::OffsetDateTime)> {
        if !TOKEN_TTL_S.contains(&ttl_s) {
            return Err(Error::Refused(format!(
                "token lifetime {ttl_s} s is outside {}–{} s",
                TOKEN_TTL_S.start(),
                TOKEN_TTL_S.end()
            )));
        }
        let l = self
            .get(id)?
            .ok_or_else(|| Error::NotFound(id.to_string()))?;
        let status = l.status_at(crate::license_day(at));
        if status != Status::Valid {
            return Err(Error::Transition {
                action: "present".into(),
                id: l.id.to_string(),
                status: status.to_string(),
            });
        }
        let mut raw = [0u8; 20];
        getrandom::fill(&mut raw).map_err(|e| Error::Refused(format!("no randomness: {e}")))?;
        let token = format!("YZT{}", base32(&raw));
        let expires = at + time::Duration::seconds(ttl_s as i64);
        self.conn.execute(
            "INSERT INTO tokens (token_hash, license, matter, created_ms, expires_ms, created_by) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![token_hash(&token), l.id.to_string(), matter, now_ms(at), now_ms(expires), created_by],
        )?;
        Ok((token, expires))
    }

    /// Redeem a presentation token: the caller's credentials are the
    /// caller's business (the server checks them); here the token must exist,
    /// be unexpired and unused, and match the matter it was bound to. The
    /// redemption is recorded either way.
    pub fn redeem_token(
        &self,
        token: &str,
        ctx: &UsageContext,
        at: time::OffsetDateTime,
    ) -> Result<CheckOutcome> {
        ctx.validate()?;
        let h = token_hash(token.trim());
        let row: Option<(String, Option<String>, i64, Option<i64>)> = self
            .conn
            .query_opt(
                "SELECT license, matter, expires_ms, used_ms FROM tokens WHERE token_hash = ?1",
                params![h],
            )?
            .map(|r| -> Result<_> { Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)) })
            .transpose()?;
        let refuse = |reg: &Registry, why: String, license: &str| -> Result<CheckOutcome> {
            let holder = reg
                .get(license)
                .ok()
                .flatten()
                .map(|l| l.holder.code)
                .unwrap_or_default();
            let p = Self::new_usage(
                ctx,
                license,
                &holder,
                "qr-redeem",
                ResultCode::DataWrong,
                at,
            );
            reg.record_usage(&p)?;
            Err(Error::Token(why))
        };
        let Some((license, matter, expires, used)) = row else {
            return refuse(self, "unknown token".into(), "");
        };
        if used.is_some() {
            return refuse(self, "the token was already used (replay)".into(), &license);
        }
        if now_ms(at) >= expires {
            return refuse(self, "the token has expired".into(), &license);
        }
        if let Some(m) = matter
            && m != ctx.matter
        {
            return refuse(
                self,
                format!("the token is bound to matter {m:?}"),
                &license,
            );
        }
        let n = self.conn.execute(
            "UPDATE tokens SET used_ms = ?2, used_by = ?3 WHERE token_hash = ?1 AND used_ms IS NULL",
            params![h, now_ms(at), ctx.caller],
        )?;
        if n != 1 {
            return refuse(self, "the token was already used (replay)".into(), &license);
        }
        let day = crate::license_day(at);
        let o = match self.get(&license)? {
            Some(l) => outcome(l.result_code_at(day), status_message(&l, day), Some(l), day),
            None => outcome(
                ResultCode::NotFound,
                format!("no license {license}"),
                None,
                day,
            ),
        };
        self.finish_shared(o, ctx, &license, "qr-redeem", at)
    }

    /// The license a presentation token was made for (used or not), without
    /// redeeming it: a server checks the caller's scope first.
    pub fn token_license(&self, token: &str) -> Result<Option<String>> {
        self.conn
            .query_opt(
                "SELECT license FROM tokens WHERE token_hash = ?1",
                params![token_hash(token.trim())],
            )?
            .map(|r| r.get(0).map_err(Error::from))
            .transpose()
    }

    /// Usage records of a license or of a holder (or all), oldest first.
    pub fn usage(&self, license: Option<&str>, holder: Option<&str>) -> Result<Vec<UsageRecord>> {
        let license = license
            .map(|l| LicenseId::parse(l).map(|i| i.to_string()))
            .transpose()?;
        self.conn.query_map(
            concat!(
                usage_select!(),
                " WHERE (CAST(?1 AS TEXT) IS NULL OR license = ?1)",
                " AND (CAST(?2 AS TEXT) IS NULL OR holder_code = ?2) ORDER BY u.seq"
            ),
            params![license, holder.map(str::to_ascii_uppercase)],
            usage_row,
        )
    }

    /// One usage record by sequence number.
    pub fn usage_record(&self, seq: i64) -> Result<Option<UsageRecord>> {
        self.conn
            .query_opt(concat!(usage_select!(), " WHERE u.seq = ?1"), params![seq])?
            .map(|r| usage_row(&r))
            .transpose()
    }

    /// Anchor every usage record not yet in the log, in batches of 10,000
    /// (one checkpoint signature each); returns how many. Records already in
    /// the log's tail (a writer that crashed between its log batch and its
    /// commit) are reconciled first, never anchored twice.
    pub fn anchor_usage(&mut self, anchor: &dyn Anchor) -> Result<usize> {
        let mut total = self.reconcile_usage_with(anchor)?;
        loop {
            let pending = self.pending_usage_entries(10_000)?;
            if pending.is_empty() {
                return Ok(total);
            }
            let entries: Vec<_> = pending.iter().map(|(_, e)| e.clone()).collect();
            let idx = anchor.append_batch(&entries)?;
            let pairs: Vec<(i64, u64)> = pending.iter().map(|(s, _)| *s).zip(idx).collect();
            self.mark_usage_anchored(&pairs)?;
            total += pending.len();
        }
    }

    /// How many usage records wait for their log index.
    pub fn pending_usage_count(&self) -> Result<i64> {
        Ok(self
            .conn
            .query_row("SELECT COUNT(*) FROM usage_pending", params![])?
            .get(0)?)
    }

    /// The log entries of the oldest usage records still waiting for the log
    /// (at most `limit`, in sequence order): what a writer submits to the log
    /// without waiting, then records with
    /// [`mark_usage_anchored`](Self::mark_usage_anchored). With several
    /// servers a record of a lower sequence number can commit later: it is
    /// still found here.
    pub fn pending_usage_entries(
        &self,
        limit: usize,
    ) -> Result<Vec<(i64, yinzheng_anchor::Entry)>> {
        self.conn.query_map(
            "SELECT u.seq, u.time_ms, u.caller, u.license, u.record_sm3
             FROM usage_pending p JOIN usage u ON u.seq = p.seq ORDER BY p.seq LIMIT ?1",
            params![limit.min(100_000) as i64],
            |r| {
                let (seq, time_ms, caller, license, sm3): (i64, i64, String, String, String) =
                    (r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?);
                Ok((seq, usage_entry(time_ms, &caller, &license, &sm3)?))
            },
        )
    }

    /// Record the log indexes of anchored usage records (`(seq, index)`), in
    /// one transaction (or in the caller's, inside [`write_batch`](Self::write_batch)):
    /// each leaves `usage_pending`. A record already recorded keeps its first index.
    pub fn mark_usage_anchored(&self, pairs: &[(i64, u64)]) -> Result<()> {
        self.conn.transaction(|tx| {
            // A few statements of a few fixed sizes, not one per record:
            // on PostgreSQL each statement is a round trip.
            let mut rest = pairs;
            while !rest.is_empty() {
                let n = [256, 64, 8, 1]
                    .into_iter()
                    .find(|n| rest.len() >= *n)
                    .unwrap_or(1);
                let (chunk, tail) = rest.split_at(n);
                rest = tail;
                let rows: Vec<String> = (0..n)
                    .map(|i| format!("(?{}, ?{})", 2 * i + 1, 2 * i + 2))
                    .collect();
                let values: Vec<i64> = chunk
                    .iter()
                    .flat_map(|(seq, i)| [*seq, *i as i64])
                    .collect();
                let params: Vec<&dyn yinzheng_store::ToValue> = values
                    .iter()
                    .map(|v| v as &dyn yinzheng_store::ToValue)
                    .collect();
                tx.execute(
                    &format!(
                        "INSERT INTO usage_anchor (seq, log_index) VALUES {} ON CONFLICT (seq) DO NOTHING",
                        rows.join(", ")
                    ),
                    &params,
                )?;
                let marks: Vec<String> = (1..=n).map(|i| format!("?{i}")).collect();
                let seqs: Vec<&dyn yinzheng_store::ToValue> = chunk
                    .iter()
                    .map(|(seq, _)| seq as &dyn yinzheng_store::ToValue)
                    .collect();
                tx.execute(
                    &format!(
                        "DELETE FROM usage_pending WHERE seq IN ({})",
                        marks.join(", ")
                    ),
                    &seqs,
                )?;
            }
            Ok(())
        })
    }

    /// After a crash, or when another server takes over the log: usage
    /// records that reached the log but whose indexes were never recorded
    /// are found among `entries` (index, encoded entry — the log's tail after
    /// the highest recorded index) by their digest, and recorded, so they are
    /// not anchored a second time. Returns how many were found.
    pub fn reconcile_usage(&self, entries: &[(u64, Vec<u8>)]) -> Result<usize> {
        self.reconcile_usage_entries(entries)
    }

    /// Records whose entries reached the log but whose indexes were never
    /// recorded (the writer crashed, or the server that sequenced before died
    /// between its log batch and its commit) are found in the log's tail by
    /// digest and recorded, so they are not anchored twice. Reads the entries
    /// after the last recorded usage index, at most
    /// [`USAGE_RECONCILE_SCAN`] of the latest; a tail entry that cannot be
    /// read ends the scan (what was read is reconciled; an error is returned
    /// only when nothing could be read). Returns how many were recorded.
    pub fn reconcile_usage_with(&self, anchor: &dyn Anchor) -> Result<usize> {
        if self.pending_usage_count()? == 0 {
            return Ok(0);
        }
        let size = anchor.size();
        let from = self
            .last_usage_log_index()?
            .map_or(0, |i| i + 1)
            .max(size.saturating_sub(USAGE_RECONCILE_SCAN));
        let mut tail = Vec::new();
        for i in from..size {
            match anchor.entry(i) {
                Ok(e) => tail.push((i, e)),
                Err(e) if tail.is_empty() => return Err(e),
                Err(_) => break,
            }
        }
        self.reconcile_usage_entries(&tail)
    }

    fn reconcile_usage_entries(&self, entries: &[(u64, Vec<u8>)]) -> Result<usize> {
        let mut pairs = Vec::new();
        let mut taken = std::collections::HashSet::new();
        for (index, bytes) in entries {
            let Ok(e) = yinzheng_anchor::Entry::decode(bytes) else {
                continue;
            };
            if e.kind() != "license.use" {
                continue;
            }
            let Some(d) = e.digests().first() else {
                continue;
            };
            // Two records can be byte-identical (same caller, context and
            // millisecond): each log entry accounts for one of them.
            let candidates: Vec<i64> = self.conn.query_map(
                "SELECT p.seq FROM usage_pending p JOIN usage u ON u.seq = p.seq
                 WHERE u.record_sm3 = ?1 ORDER BY p.seq",
                params![hex::encode(d)],
                |r| r.get(0).map_err(Error::from),
            )?;
            if let Some(seq) = candidates.into_iter().find(|s| !taken.contains(s)) {
                taken.insert(seq);
                pairs.push((seq, *index));
            }
        }
        self.mark_usage_anchored(&pairs)?;
        Ok(pairs.len())
    }

    /// The highest log index recorded for a usage record (`None`: none yet).
    pub fn last_usage_log_index(&self) -> Result<Option<u64>> {
        let v: Option<i64> = self
            .conn
            .query_row("SELECT MAX(log_index) FROM usage_anchor", params![])?
            .get(0)?;
        Ok(v.map(|i| i as u64))
    }

    /// Offline evidence that usage record `seq` is in the log: the tlog-proof
    /// text. Its entry's digest is the record's `record_sm3`.
    pub fn usage_evidence(&self, seq: i64, anchor: &dyn Anchor) -> Result<String> {
        let r = self
            .usage_record(seq)?
            .ok_or_else(|| Error::NotFound(format!("usage record {seq}")))?;
        let i = r
            .log_index
            .ok_or_else(|| Error::Refused(format!("usage record {seq} is not anchored yet")))?;
        anchor.evidence(i)
    }

    /// Recompute the canonical digest of a stored usage record (what its log
    /// entry commits to).
    pub fn usage_digest(record: &UsageRecord) -> [u8; 32] {
        yinzheng_crypto::sm3(canonical(record).as_bytes())
    }
}

/// The log entry of a usage record: its digest and the license, never personal data.
fn usage_entry(
    time_ms: i64,
    caller: &str,
    license: &str,
    sm3: &str,
) -> Result<yinzheng_anchor::Entry> {
    let mut d = [0u8; 32];
    hex::decode_to_slice(sm3, &mut d).map_err(|e| Error::Store(e.to_string()))?;
    let mut e = yinzheng_anchor::Entry::new("license.use", time_ms.max(0) as u64, caller)?
        .with_digest(d)?;
    if !license.is_empty() && license.len() <= 256 {
        e = e.with_subject(license)?;
    }
    Ok(e)
}

fn usage_row(r: &Row) -> Result<UsageRecord> {
    Ok(UsageRecord {
        seq: r.get(0)?,
        time_ms: r.get(1)?,
        caller: r.get(2)?,
        operator: r.get(3)?,
        purpose: r.get(4)?,
        matter: r.get(5)?,
        business_serial: r.get(6)?,
        holder_code: r.get(7)?,
        license: r.get(8)?,
        operation: r.get(9)?,
        result: r.get(10)?,
        record_sm3: r.get(11)?,
        log_index: r.get::<Option<i64>>(12)?.map(|i| i as u64),
    })
}

fn token_hash(token: &str) -> String {
    yinzheng_crypto::sm3_hex(token.as_bytes())
}

/// The usage-record subject of a check by file: `file sm3:<hex>`.
pub fn file_subject(bytes: &[u8]) -> String {
    HashedFile::new(bytes).subject()
}

/// A file and its SM3, computed here from those bytes and nowhere else, so a
/// registry lookup can never be handed another file's digest.
#[derive(Debug)]
pub struct HashedFile<'a> {
    /// The bytes with their SM3 and the states it passed through: a PDF's
    /// `/ByteRange` digest resumes from them (one pass over the file).
    sm3: yinzheng_crypto::Sm3Prefixes<'a>,
    sm3_hex: String,
}

impl<'a> HashedFile<'a> {
    /// Hash `bytes` (SM3, one pass).
    pub fn new(bytes: &'a [u8]) -> Self {
        let sm3 = yinzheng_crypto::Sm3Prefixes::new(bytes);
        let sm3_hex = hex::encode(sm3.digest());
        HashedFile { sm3, sm3_hex }
    }

    /// The file.
    pub fn bytes(&self) -> &'a [u8] {
        self.sm3.bytes()
    }

    /// Its SM3, lower-case hex.
    pub fn sm3_hex(&self) -> &str {
        &self.sm3_hex
    }

    /// The usage-record subject of a check by this file: `file sm3:<hex>`.
    pub fn subject(&self) -> String {
        format!("file sm3:{}", self.sm3_hex)
    }
}

/// RFC 4648 base32 without padding, upper case (tokens and keys are read
/// aloud and typed).
pub fn base32(data: &[u8]) -> String {
    const A: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let mut out = String::new();
    let mut buf: u32 = 0;
    let mut bits = 0;
    for &b in data {
        buf = (buf << 8) | b as u32;
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(A[((buf >> bits) & 31) as usize] as char);
        }
    }
    if bits > 0 {
        out.push(A[((buf << (5 - bits)) & 31) as usize] as char);
    }
    out
}
