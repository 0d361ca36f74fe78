//! Writing GB/T 38540-2020 (v4) seals and seal signatures in strict DER.
//!
//! Signing is split the x509-cert way: [`SealBuilder::seal_info_der`] gives the
//! bytes the maker signs, and [`SealBuilder::sign`] runs them through any
//! `yinzheng_crypto::Signer` (software key now, hardware later).

use crate::error::{Error, Result};
use crate::model::{Picture, Seal, SealSignature};
use yinzheng_crypto::{SignatureAlgorithm, Signer, sm3};
use yinzheng_pki::der_tlv as tlv;

/// Seal types. GB/T 38540 leaves `type` user-defined; these codes are
/// Yinzheng's convention (ofdrw's sample uses 3).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum SealType {
    /// Organisation statutory seal (公章).
    Official,
    /// Contract seal (合同专用章).
    Contract,
    /// Finance seal (财务专用章).
    Finance,
    /// Invoice seal (发票专用章).
    Invoice,
    /// Legal representative's name seal (法定代表人名章).
    LegalRepresentative,
    /// Any other code.
    Other(u32),
}

impl SealType {
    /// The INTEGER written into the seal.
    pub fn code(self) -> u64 {
        match self {
            SealType::Official => 1,
            SealType::Contract => 2,
            SealType::Finance => 3,
            SealType::Invoice => 4,
            SealType::LegalRepresentative => 5,
            SealType::Other(n) => n as u64,
        }
    }
}

/// Builds a v4 seal. `new` takes what every seal needs; methods add the rest.
pub struct SealBuilder {
    es_id: String,
    name: String,
    seal_type: SealType,
    vendor: String,
    signer_certs: Vec<Vec<u8>>,
    created: time::OffsetDateTime,
    valid_start: time::OffsetDateTime,
    valid_end: time::OffsetDateTime,
    picture: Picture,
}

/// Largest picture accepted in a seal.
pub const MAX_PICTURE_LEN: usize = 2 << 20;

impl SealBuilder {
    /// A seal with identifier `es_id`, `name`, type and picture, valid from now for one year.
    pub fn new(es_id: &str, name: &str, seal_type: SealType, picture: Picture) -> Self {
        let now = time::OffsetDateTime::now_utc()
            .replace_nanosecond(0)
            .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
        SealBuilder {
            es_id: es_id.into(),
            name: name.into(),
            seal_type,
            vendor: "Yinzheng".into(),
            signer_certs: Vec::new(),
            created: now,
            valid_start: now,
            valid_end: now + time::Duration::days(365),
            picture,
        }
    }

    /// Authorise a signer certificate (DER) to stamp with this seal (certListType 1).
    pub fn signer_cert(mut self, der: &[u8]) -> Self {
        self.signer_certs.push(der.to_vec());
        self
    }

    /// Set the validity window (and the creation time to its start).
    pub fn validity(mut self, start: time::OffsetDateTime, end: time::OffsetDateTime) -> Self {
        self.created = start;
        self.valid_start = start;
        self.valid_end = end;
        self
    }

    /// Set the vendor identifier (header Vid).
    pub fn vendor(mut self, vid: &str) -> Self {
        self.vendor = vid.into();
        self
    }

    /// The DER of `SES_SealInfo`: what the maker signs.
    pub fn seal_info_der(&self) -> Result<Vec<u8>> {
        if self.signer_certs.is_empty() {
            return Err(Error::Refused(
                "a seal needs at least one signer certificate".into(),
            ));
        }
        if self.picture.data.len() > MAX_PICTURE_LEN {
            return Err(Error::Refused(format!(
                "the picture is larger than {MAX_PICTURE_LEN} bytes"
            )));
        }
        if self.valid_end <= self.valid_start {
            return Err(Error::Refused(
                "the seal's validity ends before it starts".into(),
            ));
        }
        if !self.es_id.is_ascii() || !self.vendor.is_ascii() || !self.picture.kind.is_ascii() {
            return Err(Error::Refused(
                "esID, vendor and picture type must be ASCII (IA5String)".into(),
            ));
        }
        let header = seq(&[ia5("ES"), int(4), ia5(&self.vendor)]);
        let certs: Vec<Vec<u8>> = self.signer_certs.iter().map(|c| tlv(0x04, c)).collect();
        let property = seq(&[
            int(self.seal_type.code()),
            tlv(0x0c, self.name.as_bytes()),
            int(1),
            seq(&certs),
            gtime(self.created),
            gtime(self.valid_start),
            gtime(self.valid_end),
        ]);
        let picture = seq(&[
            ia5(&self.picture.kind),
            tlv(0x04, &self.picture.data),
            int(self.picture.width_mm),
            int(self.picture.height_mm),
        ]);
        Ok(seq(&[header, ia5(&self.es_id), property, picture]))
    }

    /// Sign with the maker's signer and certificate (制章者) and return the parsed seal.
    pub fn sign(&self, maker: &dyn Signer, maker_cert: &[u8]) -> Result<Seal> {
        if maker.algorithm() != SignatureAlgorithm::Sm2Sm3 {
            return Err(Error::Refused(
                "GB/T 38540 seals are signed with SM2 (sm2-with-sm3)".into(),
            ));
        }
        let info = self.seal_info_der()?;
        let signature = maker.sign(&info)?;
        let der = seq(&[
            info,
            tlv(0x04, maker_cert),
            oid_sm2_sm3(),
            bit_string(&signature),
        ]);
        Seal::parse(&der)
    }
}

/// Stamp `data` with `seal`: a v4 SES_Signature over SM3(data), signed by
/// `signer` whose certificate `signer_cert` must be in the seal's list.
pub fn stamp(
    seal: &Seal,
    signer: &dyn Signer,
    signer_cert: &[u8],
    data: &[u8],
    property_info: &str,
    time: time::OffsetDateTime,
) -> Result<SealSignature> {
    if signer.algorithm() != SignatureAlgorithm::Sm2Sm3 {
        return Err(Error::Refused(
            "seal signatures are SM2 (sm2-with-sm3)".into(),
        ));
    }
    let authorised = match seal.cert_list() {
        crate::CertList::Certificates(c) => c.iter().any(|c| c.as_slice() == signer_cert),
        crate::CertList::Digests(d) => d.iter().any(|(_, v)| v.as_slice() == sm3(signer_cert)),
    };
    if !authorised {
        return Err(Error::Refused(
            "the signer certificate is not authorised by this seal".into(),
        ));
    }
    if !property_info.is_ascii() {
        return Err(Error::Refused(
            "propertyInfo must be ASCII (IA5String)".into(),
        ));
    }
    let to_sign = seq(&[
        int(4),
        seal.raw().to_vec(),
        gtime(time),
        bit_string(&sm3(data)),
        ia5(property_info),
    ]);
    let signature = signer.sign(&to_sign)?;
    let der = seq(&[
        to_sign,
        tlv(0x04, signer_cert),
        oid_sm2_sm3(),
        bit_string(&signature),
    ]);
    SealSignature::parse(&der)
}

fn seq(parts: &[Vec<u8>]) -> Vec<u8> {
    tlv(0x30, &parts.concat())
}

fn ia5(s: &str) -> Vec<u8> {
    tlv(0x16, s.as_bytes())
}

fn int(v: u64) -> Vec<u8> {
    let mut b: Vec<u8> = v
        .to_be_bytes()
        .into_iter()
        .skip_while(|&x| x == 0)
        .collect();
    if b.is_empty() || b[0] & 0x80 != 0 {
        b.insert(0, 0);
    }
    tlv(0x02, &b)
}

fn gtime(t: time::OffsetDateTime) -> Vec<u8> {
    let t = t.to_offset(time::UtcOffset::UTC);
    let s = format!(
        "{:04}{:02}{:02}{:02}{:02}{:02}Z",
        t.year(),
        t.month() as u8,
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    );
    tlv(0x18, s.as_bytes())
}

fn bit_string(b: &[u8]) -> Vec<u8> {
    let mut v = vec![0u8];
    v.extend_from_slice(b);
    tlv(0x03, &v)
}

fn oid_sm2_sm3() -> Vec<u8> {
    vec![0x06, 0x08, 0x2a, 0x81, 0x1c, 0xcf, 0x55, 0x01, 0x83, 0x75]
}
