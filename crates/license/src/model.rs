//! License metadata (GB/T 36903), status, lifecycle events and result codes.

use crate::LicenseId;
use serde::Serialize;

/// Who holds a license.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Holder {
    /// Name (持证主体).
    pub name: String,
    /// USCC or citizen ID number (checked).
    pub code: String,
    /// GB/T 36903 holder type code (`001` USCC, `111` citizen ID).
    pub type_code: String,
}

/// Stored status of a license. `Expired` is also computed at query time.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum Status {
    /// In force.
    Valid,
    /// Temporarily withdrawn (暂扣); can be resumed.
    Suspended,
    /// Withdrawn by the authority (撤销/吊销); final.
    Revoked,
    /// Given up by the holder or closed (注销); final.
    Cancelled,
    /// Past its validity end; final.
    Expired,
    /// Replaced by a newer version (变更/延续); final.
    Superseded,
}

impl Status {
    /// Lower-case name as stored and shown.
    pub fn name(self) -> &'static str {
        match self {
            Status::Valid => "valid",
            Status::Suspended => "suspended",
            Status::Revoked => "revoked",
            Status::Cancelled => "cancelled",
            Status::Expired => "expired",
            Status::Superseded => "superseded",
        }
    }

    /// Parse a stored name.
    pub fn from_name(s: &str) -> Option<Self> {
        Some(match s {
            "valid" => Status::Valid,
            "suspended" => Status::Suspended,
            "revoked" => Status::Revoked,
            "cancelled" => Status::Cancelled,
            "expired" => Status::Expired,
            "superseded" => Status::Superseded,
            _ => return None,
        })
    }

    /// True for statuses no transition leaves.
    pub fn is_final(self) -> bool {
        !matches!(self, Status::Valid | Status::Suspended)
    }
}

impl std::fmt::Display for Status {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// A license as registered.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct License {
    /// The identifier.
    #[serde(serialize_with = "as_string")]
    pub id: LicenseId,
    /// License number printed on the face (证照编号).
    pub number: String,
    /// Type key in the catalogue.
    pub type_key: String,
    /// License name (type name).
    pub name: String,
    /// Issuing authority name.
    pub issuer_name: String,
    /// Issue date.
    #[serde(serialize_with = "date")]
    pub issue_date: time::Date,
    /// Administrative area code.
    pub area_code: String,
    /// The holder.
    pub holder: Holder,
    /// First day of validity.
    #[serde(serialize_with = "date")]
    pub valid_from: time::Date,
    /// Last day of validity (None: no end, 长期).
    #[serde(serialize_with = "opt_date")]
    pub valid_to: Option<time::Date>,
    /// Face data (照面信息): (label, value) in print order.
    pub face: Vec<(String, String)>,
    /// Stored status.
    pub status: Status,
    /// The version this one replaces.
    pub supersedes: Option<String>,
    /// The version that replaced this one.
    pub superseded_by: Option<String>,
    /// SM3 (hex) of the sealed OFD master.
    pub ofd_sm3: String,
    /// SM3 (hex) of the sealed PDF copy.
    pub pdf_sm3: String,
    /// Index of the "issued" entry in the anchoring log.
    pub log_index: Option<u64>,
}

fn as_string<S: serde::Serializer>(id: &LicenseId, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&id.to_string())
}

fn date<S: serde::Serializer>(d: &time::Date, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&crate::format_date(*d))
}

fn opt_date<S: serde::Serializer>(d: &Option<time::Date>, s: S) -> Result<S::Ok, S::Error> {
    match d {
        Some(d) => s.serialize_str(&crate::format_date(*d)),
        None => s.serialize_none(),
    }
}

impl License {
    /// The status at `day`: a stored final status, else Expired after the
    /// validity end; Valid or Suspended otherwise.
    pub fn status_at(&self, day: time::Date) -> Status {
        if self.status.is_final() {
            return self.status;
        }
        match self.valid_to {
            Some(end) if day > end => Status::Expired,
            _ => self.status,
        }
    }

    /// The sharing-service result code for a license that was found and whose
    /// data matched, at `day`.
    pub fn result_code_at(&self, day: time::Date) -> ResultCode {
        match self.status_at(day) {
            Status::Valid if day < self.valid_from => ResultCode::NotYetValid,
            Status::Valid => ResultCode::Valid,
            Status::Suspended => ResultCode::Suspended,
            _ => ResultCode::NoLongerValid,
        }
    }
}

/// Result codes of provincial sharing services (elicense.md).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[non_exhaustive]
pub enum ResultCode {
    /// 0: correct and valid.
    Valid = 0,
    /// 1: correct, not yet active.
    NotYetValid = 1,
    /// 2: correct, temporarily invalid (suspended).
    Suspended = 2,
    /// 3: correct, no longer valid (revoked, cancelled, expired, superseded).
    NoLongerValid = 3,
    /// 4: incomplete, cannot verify.
    Incomplete = 4,
    /// 5: not found.
    NotFound = 5,
    /// 6: no data given.
    NoData = 6,
    /// 7: some data wrong (not genuine, or claimed data differ).
    DataWrong = 7,
}

impl ResultCode {
    /// The numeric code.
    pub fn code(self) -> u8 {
        self as u8
    }

    /// A short Chinese/English description.
    pub fn describe(self) -> &'static str {
        match self {
            ResultCode::Valid => "correct and valid (正确且有效)",
            ResultCode::NotYetValid => "correct, not yet valid (正确，尚未生效)",
            ResultCode::Suspended => "correct, temporarily invalid (正确，暂时无效)",
            ResultCode::NoLongerValid => "correct, no longer valid (正确，已失效)",
            ResultCode::Incomplete => "incomplete, cannot verify (信息不全，无法核验)",
            ResultCode::NotFound => "not found (未找到)",
            ResultCode::NoData => "no data given (未提供信息)",
            ResultCode::DataWrong => "some data wrong (部分信息有误)",
        }
    }
}

/// One lifecycle event.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Event {
    /// Which license.
    pub license: String,
    /// Unix milliseconds.
    pub time_ms: i64,
    /// Who.
    pub actor: String,
    /// What: issued, suspended, resumed, revoked, cancelled, expired, superseded.
    pub kind: String,
    /// Why.
    pub reason: String,
    /// Index of the event's entry in the anchoring log.
    pub log_index: Option<u64>,
}
