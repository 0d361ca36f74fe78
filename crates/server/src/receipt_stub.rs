//! Temporary stand-in for `yinzheng_anchor::receipt` (being written).
#![allow(missing_docs, dead_code)]
use serde::{Deserialize, Serialize};
use yinzheng_anchor::{HashAlg, NoteSigner};

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReceiptBody {
    pub request_sm3: String,
    pub operation: String,
    pub subject: String,
    pub caller: String,
    pub result_code: Option<u8>,
    pub result: String,
    pub time_ms: u64,
    pub usage_seq: Option<i64>,
    pub usage_sm3: Option<String>,
    pub log_index: Option<u64>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Receipt {
    pub format: String,
    pub body: ReceiptBody,
}

pub fn sign_receipts(
    bodies: Vec<ReceiptBody>,
    _origin: &str,
    _hash: HashAlg,
    _signer: &NoteSigner,
    _time_ms: u64,
) -> yinzheng_anchor::Result<Vec<Receipt>> {
    Ok(bodies
        .into_iter()
        .map(|body| Receipt {
            format: "stub".into(),
            body,
        })
        .collect())
}
