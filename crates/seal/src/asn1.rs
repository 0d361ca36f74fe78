//! The lenient DER reader (shared with CMS parsing in yinzheng-crypto) and the
//! seal size limit.

pub(crate) use yinzheng_crypto::asn1::{Reader, Tlv};

/// Largest seal or seal signature accepted (pictures are the big part).
pub const MAX_SEAL_LEN: usize = 4 << 20;
