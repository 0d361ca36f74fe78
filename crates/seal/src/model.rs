//! Parsed seals and seal signatures that keep the bytes they were read from.
//!
//! v4 (GB/T 38540-2020), the provisional v5 and v1 (GM/T 0031-2014) are read;
//! the ASN.1 is in formats-eseal.md. Each structure keeps the exact TLV bytes its
//! signature covers (`eSealInfo`, `toSign`), and the warnings met while reading.

use crate::asn1::{MAX_SEAL_LEN, Reader, Tlv};
use crate::error::{Error, Result};

/// Which standard a structure follows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum FormatVersion {
    /// GM/T 0031-2014.
    V1,
    /// GB/T 38540-2020.
    V4,
    /// The provisional v5 (v4 plus an optional time stamp on the seal).
    V5,
}

/// How the seal names the certificates allowed to stamp with it.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum CertList {
    /// certListType 1 (and unknown types that still hold certificates): DER certificates.
    Certificates(Vec<Vec<u8>>),
    /// certListType 2: (hash name, digest) pairs.
    Digests(Vec<(String, Vec<u8>)>),
}

/// The seal picture (SES_ESPictrueInfo (sic)).
#[derive(Clone, Debug)]
pub struct Picture {
    /// Type as written (PNG, JPG, GIF, BMP, SVG, ofd…).
    pub kind: String,
    /// The image bytes.
    pub data: Vec<u8>,
    /// Width in millimetres.
    pub width_mm: u64,
    /// Height in millimetres.
    pub height_mm: u64,
}

/// An electronic seal (电子印章), SESeal.
#[derive(Clone, Debug)]
pub struct Seal {
    pub(crate) version: FormatVersion,
    pub(crate) raw: Vec<u8>,
    /// The bytes the maker signed (v4: eSealInfo TLV; v1: the SEQUENCE of sealInfo, cert, algorithm).
    pub(crate) maker_signed: Vec<u8>,
    pub(crate) vendor: String,
    pub(crate) es_id: String,
    pub(crate) seal_type: u64,
    pub(crate) name: String,
    pub(crate) cert_list: CertList,
    pub(crate) created: time::OffsetDateTime,
    pub(crate) valid_start: time::OffsetDateTime,
    pub(crate) valid_end: time::OffsetDateTime,
    pub(crate) picture: Picture,
    pub(crate) maker_cert: Vec<u8>,
    pub(crate) maker_alg: String,
    pub(crate) maker_signature: Vec<u8>,
    pub(crate) warnings: Vec<String>,
}

/// A seal signature (电子签章), SES_Signature.
#[derive(Clone, Debug)]
pub struct SealSignature {
    pub(crate) version: FormatVersion,
    pub(crate) raw: Vec<u8>,
    /// The toSign TLV as received: what the signer signed.
    pub(crate) to_sign: Vec<u8>,
    pub(crate) seal: Seal,
    pub(crate) time: time::OffsetDateTime,
    pub(crate) data_hash: Vec<u8>,
    pub(crate) property_info: String,
    pub(crate) signer_cert: Vec<u8>,
    pub(crate) alg: String,
    pub(crate) signature: Vec<u8>,
    pub(crate) timestamp: Option<Vec<u8>>,
    pub(crate) warnings: Vec<String>,
}

const GBT35275_SIGNED_DATA: &str = "1.2.156.10197.6.1.4.2.2";

fn outer(r: &mut Reader<'_>, what: &str) -> Result<Tlv> {
    if r.buf.len() > MAX_SEAL_LEN {
        return Err(Error::format(
            what,
            0,
            format!("larger than {MAX_SEAL_LEN} bytes"),
        ));
    }
    let t = r.tlv_at(0, r.buf.len(), what)?;
    r.expect(&t, 0x30, what)?;
    if t.whole.end != r.buf.len() {
        return Err(Error::format(
            what,
            t.whole.end,
            "trailing bytes after the structure",
        ));
    }
    Ok(t)
}

impl Seal {
    /// Parse a seal file (DER, read leniently).
    pub fn parse(bytes: &[u8]) -> Result<Self> {
        let mut r = Reader::new(bytes);
        let top = outer(&mut r, "SESeal")?;
        let seal = parse_seal(&mut r, &top)?;
        Ok(Seal {
            warnings: r.warnings,
            ..seal
        })
    }

    /// Format version.
    pub fn version(&self) -> FormatVersion {
        self.version
    }
    /// The seal bytes as received.
    pub fn raw(&self) -> &[u8] {
        &self.raw
    }
    /// The bytes the maker's signature covers.
    pub fn maker_signed_bytes(&self) -> &[u8] {
        &self.maker_signed
    }
    /// Vendor identifier (header Vid).
    pub fn vendor(&self) -> &str {
        &self.vendor
    }
    /// Seal identifier (esID).
    pub fn id(&self) -> &str {
        &self.es_id
    }
    /// Seal type code.
    pub fn seal_type(&self) -> u64 {
        self.seal_type
    }
    /// Seal name.
    pub fn name(&self) -> &str {
        &self.name
    }
    /// Authorised signer certificates or digests.
    pub fn cert_list(&self) -> &CertList {
        &self.cert_list
    }
    /// Creation date.
    pub fn created(&self) -> time::OffsetDateTime {
        self.created
    }
    /// Start of validity.
    pub fn valid_start(&self) -> time::OffsetDateTime {
        self.valid_start
    }
    /// End of validity.
    pub fn valid_end(&self) -> time::OffsetDateTime {
        self.valid_end
    }
    /// The picture.
    pub fn picture(&self) -> &Picture {
        &self.picture
    }
    /// The seal maker's (制章者) certificate, DER.
    pub fn maker_cert(&self) -> &[u8] {
        &self.maker_cert
    }
    /// The maker's signature algorithm OID.
    pub fn maker_algorithm(&self) -> &str {
        &self.maker_alg
    }
    /// The maker's signature value.
    pub fn maker_signature(&self) -> &[u8] {
        &self.maker_signature
    }
    /// Deviations from DER tolerated while reading.
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }
}

fn parse_seal(r: &mut Reader<'_>, top: &Tlv) -> Result<Seal> {
    let kids = r.children(top, "SESeal")?;
    let info = kids
        .first()
        .ok_or_else(|| Error::format("SESeal", top.whole.start, "empty"))?;
    r.expect(info, 0x30, "SES_SealInfo")?;
    let parts = r.children(info, "SES_SealInfo")?;
    if parts.len() < 4 {
        return Err(Error::format(
            "SES_SealInfo",
            info.whole.start,
            "needs header, esID, property, picture",
        ));
    }
    let header = r.children(&parts[0], "SES_Header")?;
    if header.len() < 3 {
        return Err(Error::format(
            "SES_Header",
            parts[0].whole.start,
            "needs ID, version, Vid",
        ));
    }
    let magic = r.string(&header[0], "SES_Header.ID")?;
    if magic != "ES" {
        r.warn(format!("SES_Header.ID is {magic:?}, not \"ES\""));
    }
    let header_version = r.integer(&header[1], "SES_Header.version")?;
    let vendor = r.string(&header[2], "SES_Header.Vid")?;
    let es_id = r.string(&parts[1], "esID")?;
    let (version, maker_cert, maker_alg, maker_signature, maker_signed) = match kids.len() {
        2 => {
            // v1: SESeal ::= SEQUENCE { esealInfo, signInfo SEQUENCE { cert, alg, signData } }
            let sign_info = r.children(&kids[1], "SES_SignInfo")?;
            if sign_info.len() != 3 {
                return Err(Error::format(
                    "SES_SignInfo",
                    kids[1].whole.start,
                    "needs cert, algorithm, signData",
                ));
            }
            r.expect(&sign_info[0], 0x04, "SES_SignInfo.cert")?;
            // The maker signed DER SEQUENCE { sealInfo, cert, algorithm } over the received TLVs.
            let mut body = Vec::new();
            body.extend_from_slice(r.whole(info));
            body.extend_from_slice(r.whole(&sign_info[0]));
            body.extend_from_slice(r.whole(&sign_info[1]));
            let signed = yinzheng_pki::der_tlv(0x30, &body);
            (
                FormatVersion::V1,
                r.bytes(&sign_info[0]).to_vec(),
                r.oid(&sign_info[1], "SES_SignInfo.signatureAlgorithm")?,
                r.bit_string(&sign_info[2], "SES_SignInfo.signData")?
                    .to_vec(),
                signed,
            )
        }
        4 | 5 => {
            r.expect(&kids[1], 0x04, "SESeal.cert")?;
            let v = if header_version >= 5 || kids.len() == 5 {
                FormatVersion::V5
            } else {
                FormatVersion::V4
            };
            (
                v,
                r.bytes(&kids[1]).to_vec(),
                r.oid(&kids[2], "SESeal.signAlgID")?,
                r.bit_string(&kids[3], "SESeal.signedValue")?.to_vec(),
                r.whole(info).to_vec(),
            )
        }
        n => {
            return Err(Error::format(
                "SESeal",
                top.whole.start,
                format!("{n} elements: neither v1 (2) nor v4 (4)"),
            ));
        }
    };
    if (version == FormatVersion::V1) != (header_version == 1) {
        r.warn(format!(
            "header version {header_version} does not match the {version:?} layout"
        ));
    }

    // SES_ESPropertyInfo
    let prop = r.children(&parts[2], "SES_ESPropertyInfo")?;
    let v1 = version == FormatVersion::V1;
    let need = if v1 { 6 } else { 7 };
    if prop.len() < need {
        return Err(Error::format(
            "SES_ESPropertyInfo",
            parts[2].whole.start,
            format!("needs {need} fields"),
        ));
    }
    let seal_type = r.integer(&prop[0], "property.type")?;
    let name = r.string(&prop[1], "property.name")?;
    let (list_type, list_tlv, rest) = if v1 {
        (1, &prop[2], &prop[3..])
    } else {
        (r.integer(&prop[2], "certListType")?, &prop[3], &prop[4..])
    };
    let entries = r.children(list_tlv, "certList")?;
    if entries.len() > MAX_CERT_LIST {
        return Err(Error::format(
            "certList",
            list_tlv.whole.start,
            format!("{} entries, more than {MAX_CERT_LIST}", entries.len()),
        ));
    }
    let cert_list = match list_type {
        2 => {
            let mut digests = Vec::new();
            for e in &entries {
                let pair = r.children(e, "CertDigestObj")?;
                if pair.len() != 2 {
                    return Err(Error::format(
                        "CertDigestObj",
                        e.whole.start,
                        "needs type and value",
                    ));
                }
                digests.push((
                    r.string(&pair[0], "CertDigestObj.type")?,
                    r.bytes(&pair[1]).to_vec(),
                ));
            }
            CertList::Digests(digests)
        }
        t => {
            if t != 1 {
                r.warn(format!(
                    "certListType {t} is neither 1 nor 2; read as certificates"
                ));
            }
            let mut certs = Vec::new();
            for e in &entries {
                r.expect(e, 0x04, "certList entry")?;
                certs.push(r.bytes(e).to_vec());
            }
            CertList::Certificates(certs)
        }
    };
    let created = r.time(&rest[0], "createDate")?;
    let valid_start = r.time(&rest[1], "validStart")?;
    let valid_end = r.time(&rest[2], "validEnd")?;

    // SES_ESPictrueInfo (sic)
    let pic = r.children(&parts[3], "SES_ESPictrueInfo")?;
    if pic.len() != 4 {
        return Err(Error::format(
            "SES_ESPictrueInfo",
            parts[3].whole.start,
            "needs type, data, width, height",
        ));
    }
    let kind = r.string(&pic[0], "picture.type")?;
    if kind.chars().any(|c| c.is_ascii_lowercase()) {
        r.warn(format!("picture type {kind:?} in lower case"));
    }
    r.expect(&pic[1], 0x04, "picture.data")?;
    if let Some(ext) = parts.get(4) {
        ext_datas(r, ext, "SES_SealInfo.extDatas")?;
    }
    let picture = Picture {
        kind,
        data: r.bytes(&pic[1]).to_vec(),
        width_mm: r.integer(&pic[2], "picture.width")?,
        height_mm: r.integer(&pic[3], "picture.height")?,
    };
    Ok(Seal {
        version,
        raw: r.whole(top).to_vec(),
        maker_signed,
        vendor,
        es_id,
        seal_type,
        name,
        cert_list,
        created,
        valid_start,
        valid_end,
        picture,
        maker_cert,
        maker_alg,
        maker_signature,
        warnings: Vec::new(),
    })
}

/// Most certificates a seal may list.
pub const MAX_CERT_LIST: usize = 256;

/// `ExtensionDatas ::= SEQUENCE OF ExtData { extnID, critical BOOLEAN DEFAULT FALSE, extnValue }`:
/// read for their deviations (an explicit `critical FALSE` is not DER) and for
/// critical extensions we do not understand, which make the structure unusable.
fn ext_datas(r: &mut Reader<'_>, t: &Tlv, what: &str) -> Result<()> {
    r.expect(t, 0x30, what)?;
    for e in r.children(t, what)? {
        let f = r.children(&e, what)?;
        let oid = f
            .first()
            .map(|o| r.oid(o, what))
            .transpose()?
            .unwrap_or_default();
        let critical = match f.get(1) {
            Some(b) if b.tag == 0x01 => {
                let v = r.bytes(b).first().copied().unwrap_or(0) != 0;
                if !v {
                    r.warn(format!(
                        "{what}: critical FALSE encoded explicitly although DEFAULT FALSE"
                    ));
                }
                v
            }
            _ => false,
        };
        if critical {
            return Err(Error::format(
                what,
                e.whole.start,
                format!("unknown critical extension {oid}"),
            ));
        }
    }
    Ok(())
}

impl SealSignature {
    /// Parse a seal signature (DER, read leniently). A GB/T 35275 SignedData is
    /// recognised and refused with [`Error::SignedData`] rather than misparsed.
    pub fn parse(bytes: &[u8]) -> Result<Self> {
        let mut r = Reader::new(bytes);
        let top = outer(&mut r, "SES_Signature")?;
        let kids = r.children(&top, "SES_Signature")?;
        if let Some(first) = kids.first()
            && first.tag == 0x06
            && r.oid(first, "contentType")
                .is_ok_and(|o| o == GBT35275_SIGNED_DATA || o == "1.2.840.113549.1.7.2")
        {
            return Err(Error::SignedData);
        }
        let to_sign = kids
            .first()
            .ok_or_else(|| Error::format("SES_Signature", 0, "empty"))?
            .clone();
        r.expect(&to_sign, 0x30, "TBS_Sign")?;
        let tbs = r.children(&to_sign, "TBS_Sign")?;
        let (
            version,
            seal_tlv,
            time_tlv,
            hash_tlv,
            prop_tlv,
            signer_cert,
            alg,
            signature,
            timestamp,
        ) = match kids.len() {
            2 => {
                // v1: toSign holds version, eseal, timeInfo, dataHash, propertyInfo, cert, signatureAlgorithm
                if tbs.len() < 7 {
                    return Err(Error::format(
                        "TBS_Sign",
                        to_sign.whole.start,
                        "v1 needs 7 fields",
                    ));
                }
                r.expect(&tbs[5], 0x04, "TBS_Sign.cert")?;
                (
                    FormatVersion::V1,
                    tbs[1].clone(),
                    tbs[2].clone(),
                    tbs[3].clone(),
                    tbs[4].clone(),
                    r.bytes(&tbs[5]).to_vec(),
                    r.oid(&tbs[6], "TBS_Sign.signatureAlgorithm")?,
                    r.bit_string(&kids[1], "SES_Signature.signature")?.to_vec(),
                    None,
                )
            }
            4 | 5 => {
                if tbs.len() < 5 {
                    return Err(Error::format(
                        "TBS_Sign",
                        to_sign.whole.start,
                        "needs 5 fields",
                    ));
                }
                r.expect(&kids[1], 0x04, "SES_Signature.cert")?;
                let ts = match kids.get(4) {
                    None => None,
                    Some(t) => Some(match t.tag {
                        0xa0 => {
                            let inner = r.tlv_at(t.value.start, t.value.end, "timeStamp")?;
                            r.bit_string(&inner, "timeStamp")?.to_vec()
                        }
                        0x80 | 0x03 => {
                            r.warn("timeStamp not [0] EXPLICIT (implicit or untagged)".into());
                            r.bytes(t).get(1..).unwrap_or_default().to_vec()
                        }
                        other => {
                            return Err(Error::format(
                                "timeStamp",
                                t.whole.start,
                                format!("unexpected tag 0x{other:02x}"),
                            ));
                        }
                    }),
                };
                (
                    FormatVersion::V4,
                    tbs[1].clone(),
                    tbs[2].clone(),
                    tbs[3].clone(),
                    tbs[4].clone(),
                    r.bytes(&kids[1]).to_vec(),
                    r.oid(&kids[2], "SES_Signature.signatureAlgID")?,
                    r.bit_string(&kids[3], "SES_Signature.signature")?.to_vec(),
                    ts,
                )
            }
            n => {
                return Err(Error::format(
                    "SES_Signature",
                    0,
                    format!("{n} elements: neither v1 (2) nor v4 (4-5)"),
                ));
            }
        };
        if version != FormatVersion::V1
            && let Some(ext) = tbs.get(5)
        {
            let inner = match ext.tag {
                0xa0 => r.tlv_at(ext.value.start, ext.value.end, "TBS_Sign.extDatas")?,
                0x30 => {
                    r.warn("TBS_Sign.extDatas not [0] EXPLICIT (untagged)".into());
                    ext.clone()
                }
                other => {
                    return Err(Error::format(
                        "TBS_Sign.extDatas",
                        ext.whole.start,
                        format!("unexpected tag 0x{other:02x}"),
                    ));
                }
            };
            ext_datas(&mut r, &inner, "TBS_Sign.extDatas")?;
        }
        let tbs_version = r.integer(&tbs[0], "TBS_Sign.version")?;
        if (version == FormatVersion::V1) != (tbs_version == 1) {
            r.warn(format!(
                "TBS_Sign.version {tbs_version} does not match the {version:?} layout"
            ));
        }
        r.expect(&seal_tlv, 0x30, "TBS_Sign.eseal")?;
        let seal = parse_seal(&mut r, &seal_tlv)?;
        let time = r.time(&time_tlv, "TBS_Sign.timeInfo")?;
        let data_hash = r.bit_string(&hash_tlv, "TBS_Sign.dataHash")?.to_vec();
        let property_info = r.string(&prop_tlv, "TBS_Sign.propertyInfo")?;
        Ok(SealSignature {
            version,
            raw: bytes.to_vec(),
            to_sign: r.whole(&to_sign).to_vec(),
            seal,
            time,
            data_hash,
            property_info,
            signer_cert,
            alg,
            signature,
            timestamp,
            warnings: r.warnings,
        })
    }

    /// Format version.
    pub fn version(&self) -> FormatVersion {
        self.version
    }
    /// The signature bytes as received.
    pub fn raw(&self) -> &[u8] {
        &self.raw
    }
    /// The toSign bytes as received.
    pub fn to_sign_bytes(&self) -> &[u8] {
        &self.to_sign
    }
    /// The embedded seal.
    pub fn seal(&self) -> &Seal {
        &self.seal
    }
    /// Signing time claimed by the signer (timeInfo).
    pub fn signing_time(&self) -> time::OffsetDateTime {
        self.time
    }
    /// The protected data's digest (SM3).
    pub fn data_hash(&self) -> &[u8] {
        &self.data_hash
    }
    /// What is protected (in OFD the Signature.xml path).
    pub fn property_info(&self) -> &str {
        &self.property_info
    }
    /// The signer's (签章者) certificate, DER.
    pub fn signer_cert(&self) -> &[u8] {
        &self.signer_cert
    }
    /// Signature algorithm OID.
    pub fn algorithm(&self) -> &str {
        &self.alg
    }
    /// Signature value.
    pub fn signature(&self) -> &[u8] {
        &self.signature
    }
    /// Time-stamp token, if any.
    pub fn timestamp(&self) -> Option<&[u8]> {
        self.timestamp.as_deref()
    }
    /// Deviations tolerated while reading (the seal's included).
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }
}
