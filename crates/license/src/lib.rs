//! E-licenses (电子证照) for Yinzheng (印证): GB/T 36904 identifiers, GB/T
//! 36903 metadata per a configured type catalogue, the lifecycle (valid ⇄
//! suspended → revoked | cancelled | expired | superseded), issuance that
//! renders the face (OFD master + PDF copy with a QR code), seals both and
//! anchors the event, and checks by identifier, file, face data or holder
//! token — each leaving a usage record (用证记录) anchored in the log.
//!
//! Invariants:
//! - Every write is one SQLite transaction; license files are staged and
//!   renamed into place; a failure leaves nothing behind.
//! - Lifecycle events and usage records are append-only (triggers) and every
//!   one is an entry of the anchoring log (usage records in batches).
//! - "Genuine but not valid now" (result codes 1–3) is never confused with
//!   "not genuine" (7): a file is first verified, then looked up.
//! - Presentation tokens are stored as SM3 digests, single use, 60–300 s.
//! - The library never reads the clock: every operation takes the time.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod anchor;
mod catalogue;
mod check;
mod csv;
mod error;
mod evidence;
mod id;
mod issue;
mod model;
mod registry;

pub use anchor::Anchor;
pub use catalogue::{Catalogue, DEFAULT_CATALOGUE, FieldSpec, LicenseType, Service};
pub use check::{
    CheckOutcome, DocumentTrust, FieldMatch, HashedFile, MAX_PURPOSE_CHARS, PendingUsage,
    TOKEN_TTL_S, USAGE_RECONCILE_SCAN, UsageContext, UsageRecord, base32, file_subject,
    is_unsafe_char,
};
pub use csv::{
    CsvImport, CsvRecord, MAX_CSV_FIELD_CHARS, MAX_CSV_FIELDS, MAX_CSV_RECORDS, parse_csv,
};
pub use error::{Error, Result};
pub use evidence::{EvidenceBundle, EvidenceSources};
pub use id::{LicenseId, PREFIX, check_character};
pub use issue::{FaceSealer, IssueRequest, MAX_FIELD_LEN, face_spec, render_sealed};
pub use model::{Event, Holder, License, ResultCode, Status};
pub use registry::{Action, Registry};

/// The time zone license dates are written and judged in: China Standard
/// Time (UTC+8): a license valid from today is valid from midnight in
/// Beijing, not in UTC. Check and issue times may come in any offset; their
/// day is taken here ([`license_day`]).
pub const LICENSE_TIME_OFFSET: time::UtcOffset = time::macros::offset!(+8);

/// The license day of `at`: its date in Beijing ([`LICENSE_TIME_OFFSET`]),
/// whatever offset `at` carries — 20:00 UTC on the 6th is the 7th there, and
/// a license valid from the 7th is valid then.
pub fn license_day(at: time::OffsetDateTime) -> time::Date {
    at.to_offset(LICENSE_TIME_OFFSET).date()
}

/// `YYYY-MM-DD`.
pub fn format_date(d: time::Date) -> String {
    format!("{:04}-{:02}-{:02}", d.year(), d.month() as u8, d.day())
}

/// Parse `YYYY-MM-DD`.
pub fn parse_date(s: &str) -> Result<time::Date> {
    let f = time::macros::format_description!("[year]-[month]-[day]");
    time::Date::parse(s.trim(), f)
        .map_err(|e| Error::Invalid(format!("date {s:?}: {e} (YYYY-MM-DD)")))
}
