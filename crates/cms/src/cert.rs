//! The few certificate fields CMS needs, read leniently from the received bytes.

use crate::{Result, oid};
use yinzheng_crypto::asn1::Reader;

/// Issuer, serial, key identifier and public key of one certificate.
#[derive(Clone, Debug)]
pub struct CertFields {
    /// The whole certificate.
    pub der: Vec<u8>,
    /// DER of the issuer Name, as received.
    pub issuer: Vec<u8>,
    /// DER of the subject Name, as received.
    pub subject: Vec<u8>,
    /// Serial number INTEGER contents, leading zero bytes removed.
    pub serial: Vec<u8>,
    /// subjectKeyIdentifier, when present.
    pub key_id: Option<Vec<u8>>,
    /// DER SubjectPublicKeyInfo.
    pub spki: Vec<u8>,
}

/// Strip leading zero bytes of an unsigned INTEGER value (keeps one zero for 0).
pub(crate) fn unsigned(b: &[u8]) -> Vec<u8> {
    let lead = b.iter().take_while(|&&x| x == 0).count();
    if lead == b.len() {
        vec![0]
    } else {
        b[lead..].to_vec()
    }
}

impl CertFields {
    /// Read the fields of an X.509 certificate.
    pub fn parse(der: &[u8]) -> Result<Self> {
        let what = "certificate";
        let mut r = Reader::new(der);
        let cert = r.tlv_at(0, der.len(), what)?;
        r.expect(&cert, 0x30, what)?;
        let parts = r.children(&cert, what)?;
        let tbs = parts
            .first()
            .ok_or_else(|| crate::Error::malformed(what, 0, "empty certificate"))?;
        let mut f = r.children(tbs, "tbsCertificate")?;
        if f.first().map(|t| t.tag) == Some(0xa0) {
            f.remove(0);
        }
        if f.len() < 6 {
            return Err(crate::Error::malformed(
                "tbsCertificate",
                tbs.whole.start,
                "too few fields",
            ));
        }
        r.expect(&f[0], 0x02, "serialNumber")?;
        let mut key_id = None;
        if let Some(ext) = f.iter().find(|t| t.tag == 0xa3) {
            let exts = r.children(ext, "extensions")?;
            if let Some(seq) = exts.first() {
                for e in r.children(seq, "extensions")? {
                    let kids = r.children(&e, "extension")?;
                    let Some(id) = kids.first() else { continue };
                    if r.oid(id, "extnID")? == oid::SUBJECT_KEY_IDENTIFIER
                        && let Some(val) = kids.last()
                    {
                        let v = r.bytes(val);
                        let mut inner = Reader::new(v);
                        let k = inner.tlv_at(0, v.len(), "subjectKeyIdentifier")?;
                        key_id = Some(inner.bytes(&k).to_vec());
                    }
                }
            }
        }
        Ok(CertFields {
            der: der.to_vec(),
            serial: unsigned(r.bytes(&f[0])),
            issuer: r.whole(&f[2]).to_vec(),
            subject: r.whole(&f[4]).to_vec(),
            spki: r.whole(&f[5]).to_vec(),
            key_id,
        })
    }
}
