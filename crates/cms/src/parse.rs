//! Reading SignedData leniently, keeping the signed bytes as received.

use crate::cert::unsigned;
use crate::{Error, Result, oid};
use yinzheng_crypto::asn1::{Reader, Tlv};

/// Largest CMS object accepted (certificates, CRLs and time stamps included).
pub const MAX_CMS_LEN: usize = 4 << 20;
/// Most certificates (and, separately, CRLs) a SignedData may carry.
pub const MAX_CMS_CERTIFICATES: usize = 64;
/// Most SignerInfos a SignedData may carry.
pub const MAX_CMS_SIGNERS: usize = 8;
/// Most attributes in one signed or unsigned attribute set.
pub const MAX_CMS_ATTRIBUTES: usize = 64;

/// Which family of content-type OIDs the SignedData uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Flavour {
    /// RFC 5652 / PKCS#7 OIDs (1.2.840.113549.1.7.*): PDF, OpenSSL, pyHanko.
    Pkcs7,
    /// GB/T 35275 (GM/T 0010) OIDs (1.2.156.10197.6.1.4.2.*): OFD `Type="Sign"`.
    GmT0010,
}

impl Flavour {
    /// The signedData content type OID.
    pub fn signed_data_oid(self) -> &'static str {
        match self {
            Flavour::Pkcs7 => oid::SIGNED_DATA,
            Flavour::GmT0010 => oid::GM_SIGNED_DATA,
        }
    }

    /// The data content type OID.
    pub fn data_oid(self) -> &'static str {
        match self {
            Flavour::Pkcs7 => oid::DATA,
            Flavour::GmT0010 => oid::GM_DATA,
        }
    }
}

/// An attribute: type and the whole TLV of each value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Attribute {
    /// Dotted attribute type.
    pub(crate) oid: String,
    /// Each value's DER (tag, length, contents), as received.
    pub(crate) values: Vec<Vec<u8>>,
}

impl Attribute {
    /// Dotted attribute type.
    pub fn oid(&self) -> &str {
        &self.oid
    }

    /// Each value's DER (tag, length, contents), as received.
    pub fn values(&self) -> &[Vec<u8>] {
        &self.values
    }
}

/// How a SignerInfo names its certificate.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum SignerId {
    /// issuerAndSerialNumber: issuer Name DER and the serial's unsigned bytes.
    IssuerSerial {
        /// DER of the issuer Name.
        issuer: Vec<u8>,
        /// Serial number, leading zeros removed.
        serial: Vec<u8>,
    },
    /// subjectKeyIdentifier.
    KeyId(Vec<u8>),
}

/// One SignerInfo.
#[derive(Clone, Debug)]
pub struct SignerInfo {
    /// The signer's certificate reference.
    pub(crate) sid: SignerId,
    /// Dotted digest algorithm OID.
    pub(crate) digest_oid: String,
    /// Dotted signature algorithm OID.
    pub(crate) signature_oid: String,
    /// The signed attributes re-tagged as the DER `SET OF` that was signed
    /// (the received bytes with the `[0]` tag replaced by `0x31`); None when absent.
    pub(crate) signed_attrs_der: Option<Vec<u8>>,
    /// Signed attributes, parsed.
    pub(crate) signed_attrs: Vec<Attribute>,
    /// Unsigned attributes, parsed.
    pub(crate) unsigned_attrs: Vec<Attribute>,
    /// The signature value (contents of the OCTET STRING).
    pub(crate) signature: Vec<u8>,
}

impl SignerInfo {
    /// The signer's certificate reference.
    pub fn sid(&self) -> &SignerId {
        &self.sid
    }

    /// Dotted digest algorithm OID.
    pub fn digest_oid(&self) -> &str {
        &self.digest_oid
    }

    /// Dotted signature algorithm OID.
    pub fn signature_oid(&self) -> &str {
        &self.signature_oid
    }

    /// The signed attributes re-tagged as the DER `SET OF` that was signed
    /// (the received bytes with the `[0]` tag replaced by `0x31`); None when absent.
    pub fn signed_attrs_der(&self) -> Option<&[u8]> {
        self.signed_attrs_der.as_deref()
    }

    /// Signed attributes, parsed.
    pub fn signed_attrs(&self) -> &[Attribute] {
        &self.signed_attrs
    }

    /// Unsigned attributes, parsed.
    pub fn unsigned_attrs(&self) -> &[Attribute] {
        &self.unsigned_attrs
    }

    /// The signature value (contents of the OCTET STRING), as received.
    pub fn signature(&self) -> &[u8] {
        &self.signature
    }

    /// The values of the first signed attribute of type `oid`.
    pub fn signed_attr(&self, oid: &str) -> Option<&Attribute> {
        self.signed_attrs.iter().find(|a| a.oid == oid)
    }

    /// Every value of unsigned attributes of type `oid`.
    pub fn unsigned_values(&self, oid: &str) -> Vec<&[u8]> {
        self.unsigned_attrs
            .iter()
            .filter(|a| a.oid == oid)
            .flat_map(|a| a.values.iter().map(Vec::as_slice))
            .collect()
    }
}

/// A parsed SignedData inside its ContentInfo.
#[derive(Clone, Debug)]
pub struct SignedData {
    /// Which OID family the outer content type uses.
    pub(crate) flavour: Flavour,
    /// Dotted eContentType.
    pub(crate) content_type: String,
    /// The encapsulated content (None when detached).
    pub(crate) content: Option<Vec<u8>>,
    /// Each certificate's DER, in the order received.
    pub(crate) certificates: Vec<Vec<u8>>,
    /// Each CRL's DER.
    pub(crate) crls: Vec<Vec<u8>>,
    /// The signers.
    pub(crate) signers: Vec<SignerInfo>,
    /// Deviations from DER that were tolerated.
    pub(crate) warnings: Vec<String>,
}

impl SignedData {
    /// Which OID family the outer content type uses.
    pub fn flavour(&self) -> Flavour {
        self.flavour
    }

    /// Dotted eContentType.
    pub fn content_type(&self) -> &str {
        &self.content_type
    }

    /// The encapsulated content (None when detached).
    pub fn content(&self) -> Option<&[u8]> {
        self.content.as_deref()
    }

    /// Each certificate's DER, in the order received.
    pub fn certificates(&self) -> &[Vec<u8>] {
        &self.certificates
    }

    /// Each CRL's DER.
    pub fn crls(&self) -> &[Vec<u8>] {
        &self.crls
    }

    /// The signers.
    pub fn signers(&self) -> &[SignerInfo] {
        &self.signers
    }

    /// Deviations from DER that were tolerated.
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }

    /// Parse a DER ContentInfo holding a SignedData (PKCS#7 or GB/T 35275 OIDs).
    /// Trailing bytes (PDF zero padding) are refused: pass exactly the object.
    pub fn parse(der: &[u8]) -> Result<Self> {
        if der.len() > MAX_CMS_LEN {
            return Err(Error::Refused(format!(
                "CMS object of {} bytes exceeds the limit of {MAX_CMS_LEN}",
                der.len()
            )));
        }
        let mut r = Reader::new(der);
        let ci = r.tlv_at(0, der.len(), "ContentInfo")?;
        r.expect(&ci, 0x30, "ContentInfo")?;
        if ci.whole.end != der.len() {
            return Err(Error::malformed(
                "ContentInfo",
                ci.whole.end,
                "trailing bytes after the object",
            ));
        }
        let kids = r.children(&ci, "ContentInfo")?;
        let (Some(ct), Some(wrapped)) = (kids.first(), kids.get(1)) else {
            return Err(Error::malformed(
                "ContentInfo",
                0,
                "needs contentType and content",
            ));
        };
        let ct_oid = r.oid(ct, "ContentInfo.contentType")?;
        let flavour = match ct_oid.as_str() {
            oid::SIGNED_DATA => Flavour::Pkcs7,
            oid::GM_SIGNED_DATA => Flavour::GmT0010,
            other => {
                return Err(Error::Unsupported {
                    what: "CMS content type",
                    detail: other.to_string(),
                });
            }
        };
        r.expect(wrapped, 0xa0, "ContentInfo.content")?;
        let sd = first_child(&mut r, wrapped, "SignedData")?;
        r.expect(&sd, 0x30, "SignedData")?;
        let f = r.children(&sd, "SignedData")?;
        if f.len() < 4 {
            return Err(Error::malformed(
                "SignedData",
                sd.whole.start,
                "too few fields",
            ));
        }
        r.integer(&f[0], "SignedData.version")?;
        r.expect(&f[1], 0x31, "SignedData.digestAlgorithms")?;
        let (content_type, content) = encap(&mut r, &f[2])?;
        let mut certificates = Vec::new();
        let mut crls = Vec::new();
        let mut i = 3;
        while i < f.len() && f[i].tag != 0x31 {
            match f[i].tag {
                0xa0 => {
                    let list = r.children(&f[i], "SignedData.certificates")?;
                    if list.len() > MAX_CMS_CERTIFICATES {
                        return Err(Error::malformed(
                            "SignedData.certificates",
                            f[i].whole.start,
                            format!(
                                "{} certificates, more than {MAX_CMS_CERTIFICATES}",
                                list.len()
                            ),
                        ));
                    }
                    for c in list {
                        if c.tag == 0x30 {
                            certificates.push(r.whole(&c).to_vec());
                        }
                    }
                }
                0xa1 => {
                    let list = r.children(&f[i], "SignedData.crls")?;
                    if list.len() > MAX_CMS_CERTIFICATES {
                        return Err(Error::malformed(
                            "SignedData.crls",
                            f[i].whole.start,
                            format!("{} CRLs, more than {MAX_CMS_CERTIFICATES}", list.len()),
                        ));
                    }
                    for c in list {
                        if c.tag == 0x30 {
                            crls.push(r.whole(&c).to_vec());
                        }
                    }
                }
                t => {
                    return Err(Error::malformed(
                        "SignedData",
                        f[i].whole.start,
                        format!("unexpected field with tag 0x{t:02x}"),
                    ));
                }
            }
            i += 1;
        }
        let infos = f
            .get(i)
            .ok_or_else(|| Error::malformed("SignedData", sd.whole.end, "no signerInfos"))?;
        let mut signers = Vec::new();
        let list = r.children(infos, "SignerInfos")?;
        if list.len() > MAX_CMS_SIGNERS {
            return Err(Error::malformed(
                "SignerInfos",
                infos.whole.start,
                format!("{} signers, more than {MAX_CMS_SIGNERS}", list.len()),
            ));
        }
        for si in list {
            signers.push(signer_info(&mut r, &si)?);
        }
        Ok(SignedData {
            flavour,
            content_type,
            content,
            certificates,
            crls,
            signers,
            warnings: r.warnings,
        })
    }
}

fn first_child(r: &mut Reader<'_>, t: &Tlv, what: &str) -> Result<Tlv> {
    r.children(t, what)?
        .into_iter()
        .next()
        .ok_or_else(|| Error::malformed(what, t.whole.start, "empty"))
}

fn encap(r: &mut Reader<'_>, t: &Tlv) -> Result<(String, Option<Vec<u8>>)> {
    let what = "encapContentInfo";
    r.expect(t, 0x30, what)?;
    let kids = r.children(t, what)?;
    let ct = kids
        .first()
        .ok_or_else(|| Error::malformed(what, t.whole.start, "empty"))?;
    let ct = r.oid(ct, "eContentType")?;
    let content = match kids.get(1) {
        None => None,
        Some(w) => {
            r.expect(w, 0xa0, "eContent")?;
            let os = first_child(r, w, "eContent")?;
            match os.tag {
                0x04 => Some(r.bytes(&os).to_vec()),
                // constructed OCTET STRING (BER segments)
                0x24 => {
                    r.warn("eContent: constructed OCTET STRING".into());
                    let mut v = Vec::new();
                    for seg in r.children(&os, "eContent")? {
                        r.expect(&seg, 0x04, "eContent segment")?;
                        v.extend_from_slice(r.bytes(&seg));
                    }
                    Some(v)
                }
                tag => {
                    return Err(Error::malformed(
                        "eContent",
                        os.whole.start,
                        format!("expected OCTET STRING, found tag 0x{tag:02x}"),
                    ));
                }
            }
        }
    };
    Ok((ct, content))
}

fn algorithm(r: &mut Reader<'_>, t: &Tlv, what: &str) -> Result<String> {
    r.expect(t, 0x30, what)?;
    let id = first_child(r, t, what)?;
    Ok(r.oid(&id, what)?)
}

fn attributes(r: &mut Reader<'_>, t: &Tlv, what: &str) -> Result<Vec<Attribute>> {
    let mut out = Vec::new();
    let list = r.children(t, what)?;
    if list.len() > MAX_CMS_ATTRIBUTES {
        return Err(Error::malformed(
            what,
            t.whole.start,
            format!("{} attributes, more than {MAX_CMS_ATTRIBUTES}", list.len()),
        ));
    }
    for a in list {
        r.expect(&a, 0x30, what)?;
        let kids = r.children(&a, what)?;
        let (Some(id), Some(set)) = (kids.first(), kids.get(1)) else {
            return Err(Error::malformed(
                what,
                a.whole.start,
                "attribute without values",
            ));
        };
        let oid = r.oid(id, what)?;
        r.expect(set, 0x31, what)?;
        let values = r
            .children(set, what)?
            .iter()
            .map(|v| r.whole(v).to_vec())
            .collect();
        out.push(Attribute { oid, values });
    }
    Ok(out)
}

fn signer_info(r: &mut Reader<'_>, t: &Tlv) -> Result<SignerInfo> {
    let what = "SignerInfo";
    r.expect(t, 0x30, what)?;
    let f = r.children(t, what)?;
    if f.len() < 5 {
        return Err(Error::malformed(what, t.whole.start, "too few fields"));
    }
    r.integer(&f[0], "SignerInfo.version")?;
    let sid = match f[1].tag {
        0x30 => {
            let kids = r.children(&f[1], "issuerAndSerialNumber")?;
            let (Some(issuer), Some(serial)) = (kids.first(), kids.get(1)) else {
                return Err(Error::malformed(
                    "issuerAndSerialNumber",
                    f[1].whole.start,
                    "incomplete",
                ));
            };
            r.expect(serial, 0x02, "serialNumber")?;
            SignerId::IssuerSerial {
                issuer: r.whole(issuer).to_vec(),
                serial: unsigned(r.bytes(serial)),
            }
        }
        0x80 => SignerId::KeyId(r.bytes(&f[1]).to_vec()),
        tag => {
            return Err(Error::malformed(
                "SignerInfo.sid",
                f[1].whole.start,
                format!("unexpected tag 0x{tag:02x}"),
            ));
        }
    };
    let digest_oid = algorithm(r, &f[2], "SignerInfo.digestAlgorithm")?;
    let mut i = 3;
    let mut signed_attrs_der = None;
    let mut signed_attrs = Vec::new();
    if f[i].tag == 0xa0 {
        let mut set = r.whole(&f[i]).to_vec();
        set[0] = 0x31;
        signed_attrs_der = Some(set);
        signed_attrs = attributes(r, &f[i], "signedAttrs")?;
        i += 1;
    }
    let sig_alg = f
        .get(i)
        .ok_or_else(|| Error::malformed(what, t.whole.end, "no signatureAlgorithm"))?;
    let signature_oid = algorithm(r, sig_alg, "SignerInfo.signatureAlgorithm")?;
    let sig = f
        .get(i + 1)
        .ok_or_else(|| Error::malformed(what, t.whole.end, "no signature"))?;
    let signature = match sig.tag {
        0x04 => r.bytes(sig).to_vec(),
        0x03 => {
            r.warn("SignerInfo.signature: BIT STRING instead of OCTET STRING".into());
            r.bit_string(sig, "SignerInfo.signature")?.to_vec()
        }
        tag => {
            return Err(Error::malformed(
                "SignerInfo.signature",
                sig.whole.start,
                format!("expected OCTET STRING, found tag 0x{tag:02x}"),
            ));
        }
    };
    let unsigned_attrs = match f.get(i + 2) {
        Some(u) if u.tag == 0xa1 => attributes(r, u, "unsignedAttrs")?,
        Some(u) => {
            return Err(Error::malformed(
                "SignerInfo",
                u.whole.start,
                format!("unexpected field with tag 0x{:02x}", u.tag),
            ));
        }
        None => Vec::new(),
    };
    Ok(SignerInfo {
        sid,
        digest_oid,
        signature_oid,
        signed_attrs_der,
        signed_attrs,
        unsigned_attrs,
        signature,
    })
}
