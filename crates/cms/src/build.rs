//! Writing SignedData: detached (PDF, `.p7s`) or encapsulated (time stamps),
//! with PAdES/CAdES baseline attributes.

use crate::cert::CertFields;
use crate::digest::{Digest, oid_tlv};
use crate::parse::Flavour;
use crate::{Error, Result, oid};
use yinzheng_crypto::asn1::tlv;
use yinzheng_crypto::{SignatureAlgorithm, Signer};

/// Produces an RFC 3161 token for the given signature value (B-T).
pub type TimeStamper<'a> = &'a dyn Fn(&[u8]) -> Result<Vec<u8>>;

/// What goes into a SignedData besides the content.
#[derive(Clone, Debug)]
pub struct SignOptions {
    /// OID family (PKCS#7 for PDF and `.p7s`, GB/T 35275 for OFD `Type="Sign"`).
    pub flavour: Flavour,
    /// Digest of the content; None = the signer's natural one (SM3 for SM2, SHA-256 for P-256).
    pub digest: Option<Digest>,
    /// Add ESS signingCertificateV2 (PAdES B-B / CAdES-BES); on by default.
    pub signing_certificate_v2: bool,
    /// Add a signingTime attribute (PAdES puts time in the PDF /M instead: off by default).
    pub signing_time: Option<time::OffsetDateTime>,
    /// Further certificates to include (the chain, without the root ideally).
    pub chain: Vec<Vec<u8>>,
    /// Extra unsigned attributes: (dotted OID, DER of the single value).
    pub unsigned_attributes: Vec<(String, Vec<u8>)>,
}

impl Default for SignOptions {
    fn default() -> Self {
        SignOptions {
            flavour: Flavour::Pkcs7,
            digest: None,
            signing_certificate_v2: true,
            signing_time: None,
            chain: Vec::new(),
            unsigned_attributes: Vec::new(),
        }
    }
}

/// Sign detached content given as parts (e.g. the two PDF ByteRange parts).
/// Returns the DER ContentInfo.
pub fn sign_detached(
    signer: &dyn Signer,
    certificate: &[u8],
    parts: &[&[u8]],
    opts: &SignOptions,
    timestamp: Option<TimeStamper<'_>>,
) -> Result<Vec<u8>> {
    build(signer, certificate, None, parts, opts, timestamp)
}

/// Sign `content` of type `content_type` (dotted OID) and encapsulate it.
pub fn sign_encapsulated(
    signer: &dyn Signer,
    certificate: &[u8],
    content_type: &str,
    content: &[u8],
    opts: &SignOptions,
) -> Result<Vec<u8>> {
    build(
        signer,
        certificate,
        Some(content_type),
        &[content],
        opts,
        None,
    )
}

fn natural_digest(alg: SignatureAlgorithm) -> Result<Digest> {
    Ok(match alg {
        SignatureAlgorithm::Sm2Sm3 => Digest::Sm3,
        SignatureAlgorithm::EcdsaP256Sha256 | SignatureAlgorithm::RsaPkcs1Sha256 => Digest::Sha256,
        SignatureAlgorithm::EcdsaP384Sha384 | SignatureAlgorithm::RsaPkcs1Sha384 => Digest::Sha384,
        SignatureAlgorithm::RsaPkcs1Sha512 | SignatureAlgorithm::Ed25519 => Digest::Sha512,
        other => {
            return Err(Error::Unsupported {
                what: "CMS signer",
                detail: other.name().to_string(),
            });
        }
    })
}

fn signature_algorithm_identifier(alg: SignatureAlgorithm, flavour: Flavour) -> Result<Vec<u8>> {
    let (o, null) = match alg {
        SignatureAlgorithm::Sm2Sm3 => match flavour {
            Flavour::Pkcs7 => (oid::SM2_WITH_SM3, false),
            Flavour::GmT0010 => (oid::SM2_SIGN, false),
        },
        SignatureAlgorithm::EcdsaP256Sha256 => (oid::ECDSA_SHA256, false),
        SignatureAlgorithm::EcdsaP384Sha384 => (oid::ECDSA_SHA384, false),
        SignatureAlgorithm::Ed25519 => (oid::ED25519, false),
        SignatureAlgorithm::RsaPkcs1Sha256 => (oid::RSA_SHA256, true),
        SignatureAlgorithm::RsaPkcs1Sha384 => (oid::RSA_SHA384, true),
        SignatureAlgorithm::RsaPkcs1Sha512 => (oid::RSA_SHA512, true),
        other => {
            return Err(Error::Unsupported {
                what: "CMS signature algorithm",
                detail: other.name().to_string(),
            });
        }
    };
    let mut body = oid_tlv(o);
    if null {
        body.extend([0x05, 0x00]);
    }
    Ok(tlv(0x30, &body))
}

fn attribute(oid: &str, value: &[u8]) -> Vec<u8> {
    let mut body = oid_tlv(oid);
    body.extend(tlv(0x31, value));
    tlv(0x30, &body)
}

/// DER SET OF: elements sorted by their encodings.
fn set_of(mut items: Vec<Vec<u8>>, tag: u8) -> Vec<u8> {
    items.sort();
    tlv(tag, &items.concat())
}

fn integer(unsigned: &[u8]) -> Vec<u8> {
    let mut v = unsigned.to_vec();
    if v.first().is_some_and(|b| b & 0x80 != 0) {
        v.insert(0, 0);
    }
    tlv(0x02, &v)
}

/// ESSCertIDv2 for `cert` (hash algorithm omitted when SHA-256, its DEFAULT).
fn signing_certificate_v2(cert: &CertFields, digest: Digest) -> Vec<u8> {
    let d = if digest == Digest::Sm3 {
        Digest::Sm3
    } else {
        Digest::Sha256
    };
    let mut id = Vec::new();
    if d != Digest::Sha256 {
        id.extend(d.algorithm_identifier());
    }
    id.extend(tlv(0x04, &d.digest(&cert.der)));
    // issuerSerial: GeneralNames { directoryName [4] issuer }, serial
    let mut issuer_serial = tlv(0x30, &tlv(0xa4, &cert.issuer));
    issuer_serial.extend(integer(&cert.serial));
    id.extend(tlv(0x30, &issuer_serial));
    tlv(0x30, &tlv(0x30, &tlv(0x30, &id)))
}

pub(crate) fn time_der(t: time::OffsetDateTime) -> Result<Vec<u8>> {
    let t = t.to_offset(time::UtcOffset::UTC);
    let year = t.year();
    let s = format!(
        "{:02}{:02}{:02}{:02}{:02}{:02}Z",
        year.rem_euclid(100),
        t.month() as u8,
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    );
    if (1950..2050).contains(&year) {
        Ok(tlv(0x17, s.as_bytes()))
    } else if (0..=9999).contains(&year) {
        Ok(tlv(0x18, format!("{year:04}{}", &s[2..]).as_bytes()))
    } else {
        Err(Error::Refused(format!("year {year} cannot be encoded")))
    }
}

fn build(
    signer: &dyn Signer,
    certificate: &[u8],
    encapsulated: Option<&str>,
    parts: &[&[u8]],
    opts: &SignOptions,
    timestamp: Option<TimeStamper<'_>>,
) -> Result<Vec<u8>> {
    let cert = CertFields::parse(certificate)?;
    if cert.spki != signer.public_key().to_spki_der() {
        return Err(Error::Refused(
            "the certificate does not hold the signer's public key".into(),
        ));
    }
    let alg = signer.algorithm();
    let digest = match opts.digest {
        Some(d) => d,
        None => natural_digest(alg)?,
    };
    if alg == SignatureAlgorithm::Sm2Sm3 && digest != Digest::Sm3 {
        return Err(Error::Refused("SM2 signatures use the SM3 digest".into()));
    }
    let content_type = encapsulated.unwrap_or(opts.flavour.data_oid());
    let message_digest = digest.digest_parts(parts);

    let mut attrs = vec![
        attribute(oid::ATTR_CONTENT_TYPE, &oid_tlv(content_type)),
        attribute(oid::ATTR_MESSAGE_DIGEST, &tlv(0x04, &message_digest)),
    ];
    if let Some(t) = opts.signing_time {
        attrs.push(attribute(oid::ATTR_SIGNING_TIME, &time_der(t)?));
    }
    if opts.signing_certificate_v2 {
        attrs.push(attribute(
            oid::ATTR_SIGNING_CERTIFICATE_V2,
            &signing_certificate_v2(&cert, digest),
        ));
    }
    let signed_set = set_of(attrs, 0x31);
    let signature = signer.sign(&signed_set)?;

    if let Some((bad, _)) = opts
        .unsigned_attributes
        .iter()
        .find(|(o, _)| yinzheng_crypto::asn1::oid_to_der(o).is_none())
    {
        return Err(Error::Refused(format!(
            "attribute type {bad:?} is not an OID"
        )));
    }
    let mut unsigned: Vec<Vec<u8>> = opts
        .unsigned_attributes
        .iter()
        .map(|(o, v)| attribute(o, v))
        .collect();
    if let Some(ts) = timestamp {
        unsigned.push(attribute(oid::ATTR_TIME_STAMP_TOKEN, &ts(&signature)?));
    }

    let mut sid = cert.issuer.clone();
    sid.extend(integer(&cert.serial));
    let mut si = integer(&[1]);
    si.extend(tlv(0x30, &sid));
    si.extend(digest.algorithm_identifier());
    let mut implicit = signed_set;
    implicit[0] = 0xa0;
    si.extend(implicit);
    si.extend(signature_algorithm_identifier(alg, opts.flavour)?);
    si.extend(tlv(0x04, &signature));
    if !unsigned.is_empty() {
        si.extend(set_of(unsigned, 0xa1));
    }

    let mut encap = oid_tlv(content_type);
    if encapsulated.is_some() {
        encap.extend(tlv(0xa0, &tlv(0x04, &parts.concat())));
    }
    let mut certs = vec![certificate.to_vec()];
    for c in &opts.chain {
        if c.as_slice() != certificate {
            certs.push(c.clone());
        }
    }
    // RFC 5652: version 3 when eContentType is not id-data.
    let version = if encapsulated.is_some_and(|c| c != oid::DATA && c != oid::GM_DATA) {
        3
    } else {
        1
    };
    let mut sd = integer(&[version]);
    sd.extend(tlv(0x31, &digest.algorithm_identifier()));
    sd.extend(tlv(0x30, &encap));
    // DER SET OF: sorted. NSS (pdfsig) misjudges a certificate seen in an
    // earlier signature when the set is in signer-first order.
    sd.extend(set_of(certs, 0xa0));
    sd.extend(tlv(0x31, &tlv(0x30, &si)));

    let mut ci = oid_tlv(opts.flavour.signed_data_oid());
    ci.extend(tlv(0xa0, &tlv(0x30, &sd)));
    Ok(tlv(0x30, &ci))
}
