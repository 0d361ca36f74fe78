//! OCSP (RFC 6960): responses signed by the delegated `ocsp-responder`
//! certificate. Responses are produced ahead of time (by `yinzheng ca ocsp`, and
//! later by the server's refresher) and served from a cache until shortly before
//! nextUpdate, so no private-key operation sits on the request path.

use crate::error::{Error, Result};
use crate::status::{CertStatus, StoredCert};
use crate::x509::{MAX_OBJECT_LEN, ParsedCert, X509Signer};
use der::asn1::{BitString, GeneralizedTime, Null, ObjectIdentifier, OctetString};
use der::{Decode, Encode, Enumerated, Sequence};
use spki::AlgorithmIdentifierOwned;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use x509_cert::ext::pkix::crl::CrlReason;
use x509_cert::serial_number::SerialNumber;
use yinzheng_crypto::Signer;

/// id-pkix-ocsp-basic.
const OID_OCSP_BASIC: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.48.1.1");
const OID_SHA1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.14.3.2.26");

/// The hash algorithm of a CertID.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum CertIdHash {
    /// SHA-1: what OpenSSL and most clients send (RFC 6960 default).
    Sha1,
    /// SHA-256.
    Sha256,
    /// SM3 (national profile).
    Sm3,
}

impl CertIdHash {
    fn oid(self) -> ObjectIdentifier {
        match self {
            CertIdHash::Sha1 => OID_SHA1,
            CertIdHash::Sha256 => yinzheng_crypto::oid::SHA256,
            CertIdHash::Sm3 => yinzheng_crypto::oid::SM3,
        }
    }

    fn from_oid(o: &ObjectIdentifier) -> Option<Self> {
        [CertIdHash::Sha1, CertIdHash::Sha256, CertIdHash::Sm3]
            .into_iter()
            .find(|h| h.oid() == *o)
    }

    fn digest(self, data: &[u8]) -> Vec<u8> {
        match self {
            CertIdHash::Sha1 => yinzheng_crypto::sha1_identifier(data).to_vec(),
            CertIdHash::Sha256 => yinzheng_crypto::sha256(data).to_vec(),
            CertIdHash::Sm3 => yinzheng_crypto::sm3(data).to_vec(),
        }
    }
}

/// `CertID` (RFC 6960 §4.1.1).
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub struct CertId {
    hash_algorithm: AlgorithmIdentifierOwned,
    issuer_name_hash: OctetString,
    issuer_key_hash: OctetString,
    serial_number: SerialNumber,
}

impl CertId {
    /// The CertID of `serial` under `issuer`.
    pub fn new(issuer: &ParsedCert, serial: &[u8], hash: CertIdHash) -> Result<Self> {
        let tbs = issuer.cert().tbs_certificate();
        let name = tbs.subject().to_der()?;
        let key = tbs.subject_public_key_info().subject_public_key.raw_bytes();
        Ok(CertId {
            hash_algorithm: AlgorithmIdentifierOwned {
                oid: hash.oid(),
                parameters: Some(der::Any::from(Null)),
            },
            issuer_name_hash: OctetString::new(hash.digest(&name))?,
            issuer_key_hash: OctetString::new(hash.digest(key))?,
            serial_number: SerialNumber::new(serial)?,
        })
    }

    /// The hash algorithm, when supported.
    pub fn hash(&self) -> Option<CertIdHash> {
        CertIdHash::from_oid(&self.hash_algorithm.oid)
    }

    /// The serial number, hex.
    pub fn serial_hex(&self) -> String {
        hex::encode(self.serial_number.as_bytes())
    }
}

#[derive(Sequence)]
struct Request {
    req_cert: CertId,
    #[asn1(context_specific = "0", tag_mode = "EXPLICIT", optional = "true")]
    single_request_extensions: Option<der::Any>,
}

#[derive(Sequence)]
struct TbsRequest {
    #[asn1(context_specific = "0", tag_mode = "EXPLICIT", optional = "true")]
    version: Option<u8>,
    #[asn1(context_specific = "1", tag_mode = "EXPLICIT", optional = "true")]
    requestor_name: Option<der::Any>,
    request_list: Vec<Request>,
    #[asn1(context_specific = "2", tag_mode = "EXPLICIT", optional = "true")]
    request_extensions: Option<der::Any>,
}

#[derive(Sequence)]
struct OcspRequest {
    tbs_request: TbsRequest,
    #[asn1(context_specific = "0", tag_mode = "EXPLICIT", optional = "true")]
    optional_signature: Option<der::Any>,
}

/// An unsigned OCSP request (DER, no nonce) about the certificate with
/// `serial` issued by `issuer`: what a relying party sends a responder.
pub fn request(issuer: &ParsedCert, serial: &[u8], hash: CertIdHash) -> Result<Vec<u8>> {
    Ok(OcspRequest {
        tbs_request: TbsRequest {
            version: None,
            requestor_name: None,
            request_list: vec![Request {
                req_cert: CertId::new(issuer, serial, hash)?,
                single_request_extensions: None,
            }],
            request_extensions: None,
        },
        optional_signature: None,
    }
    .to_der()?)
}

/// Parse an OCSP request and return the CertIDs asked about (at most 16).
pub fn parse_request(der: &[u8]) -> Result<Vec<CertId>> {
    if der.len() > 64 * 1024 {
        return Err(Error::malformed("OCSP request", "larger than 64 KiB"));
    }
    let req = OcspRequest::from_der(der).map_err(|e| Error::malformed("OCSP request", e))?;
    let list = req.tbs_request.request_list;
    if list.is_empty() || list.len() > 16 {
        return Err(Error::malformed(
            "OCSP request",
            format!("{} requests (1 to 16 accepted)", list.len()),
        ));
    }
    Ok(list.into_iter().map(|r| r.req_cert).collect())
}

#[derive(Sequence)]
struct RevokedInfo {
    revocation_time: GeneralizedTime,
    #[asn1(context_specific = "0", tag_mode = "EXPLICIT", optional = "true")]
    revocation_reason: Option<CrlReason>,
}

#[derive(Sequence)]
struct SingleResponse {
    cert_id: CertId,
    cert_status: der::Any,
    this_update: GeneralizedTime,
    #[asn1(context_specific = "0", tag_mode = "EXPLICIT", optional = "true")]
    next_update: Option<GeneralizedTime>,
    #[asn1(context_specific = "1", tag_mode = "EXPLICIT", optional = "true")]
    single_extensions: Option<der::Any>,
}

#[derive(Sequence)]
struct ResponseData {
    #[asn1(context_specific = "0", tag_mode = "EXPLICIT", optional = "true")]
    version: Option<u8>,
    responder_id: der::Any,
    produced_at: GeneralizedTime,
    responses: Vec<SingleResponse>,
    #[asn1(context_specific = "1", tag_mode = "EXPLICIT", optional = "true")]
    response_extensions: Option<der::Any>,
}

#[derive(Sequence)]
struct BasicOcspResponse {
    tbs_response_data: ResponseData,
    signature_algorithm: AlgorithmIdentifierOwned,
    signature: BitString,
    #[asn1(context_specific = "0", tag_mode = "EXPLICIT", optional = "true")]
    certs: Option<Vec<x509_cert::Certificate>>,
}

#[derive(Sequence)]
struct ResponseBytes {
    response_type: ObjectIdentifier,
    response: OctetString,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Enumerated)]
#[repr(u8)]
enum ResponseStatus {
    Successful = 0,
    MalformedRequest = 1,
    InternalError = 2,
    TryLater = 3,
    SigRequired = 5,
    Unauthorized = 6,
}

#[derive(Sequence)]
struct OcspResponse {
    response_status: ResponseStatus,
    #[asn1(context_specific = "0", tag_mode = "EXPLICIT", optional = "true")]
    response_bytes: Option<ResponseBytes>,
}

fn gtime(t: SystemTime) -> Result<GeneralizedTime> {
    let secs = t
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    Ok(GeneralizedTime::from_unix_duration(Duration::from_secs(
        secs,
    ))?)
}

/// `revoked [1] IMPLICIT RevokedInfo` for a CertStatus.
fn revoked_status(reason: u8, at: i64) -> Result<Vec<u8>> {
    let info = RevokedInfo {
        revocation_time: gtime(UNIX_EPOCH + Duration::from_secs(at.max(0) as u64))?,
        revocation_reason: Some(crate::crl::reason_from_code(reason)?),
    };
    let mut v = info.to_der()?;
    v[0] = 0xa1; // SEQUENCE → [1] IMPLICIT, constructed
    Ok(v)
}

/// Build a signed `OCSPResponse` (DER) for `serial` issued by `issuer`.
/// `stored` is the store's record (None → status unknown).
#[allow(clippy::too_many_arguments)]
pub fn respond(
    key: &dyn Signer,
    responder: &ParsedCert,
    issuer: &ParsedCert,
    serial_hex: &str,
    stored: Option<&StoredCert>,
    hash: CertIdHash,
    now: SystemTime,
    validity_hours: u32,
) -> Result<Vec<u8>> {
    let serial = hex::decode(serial_hex)
        .map_err(|_| Error::Refused(format!("serial {serial_hex:?} is not hex")))?;
    // A response never outlives the responder's certificate (short-lived:
    // it carries ocsp-nocheck), and none is signed once it has expired.
    let next_update =
        (now + Duration::from_secs(validity_hours as u64 * 3600)).min(responder.not_after());
    if next_update <= now {
        return Err(Error::Refused(format!(
            "the OCSP responder certificate {} expired at {}: re-issue it",
            responder.subject(),
            crate::rfc3339(responder.not_after())
        )));
    }
    let cert_id = CertId::new(issuer, &serial, hash)?;
    // CertStatus: good [0] IMPLICIT NULL | revoked [1] IMPLICIT RevokedInfo | unknown [2] IMPLICIT NULL
    let status = match stored.map(|s| s.status) {
        Some(CertStatus::Valid) => vec![0x80, 0x00],
        Some(CertStatus::Revoked { reason, at }) => revoked_status(reason, at)?,
        Some(CertStatus::OnHold { at }) => revoked_status(6, at)?,
        None => vec![0x82, 0x00],
    };
    // ResponderID byKey [2] EXPLICIT KeyHash (SHA-1 of the responder's public key bits).
    let key_hash = CertIdHash::Sha1.digest(
        responder
            .cert()
            .tbs_certificate()
            .subject_public_key_info()
            .subject_public_key
            .raw_bytes(),
    );
    let key_hash = OctetString::new(key_hash)?.to_der()?;
    let mut rid = vec![0xa2, key_hash.len() as u8];
    rid.extend(key_hash);
    let data = ResponseData {
        version: None,
        responder_id: der::Any::from_der(&rid)?,
        produced_at: gtime(now)?,
        responses: vec![SingleResponse {
            cert_id,
            cert_status: der::Any::from_der(&status)?,
            this_update: gtime(now)?,
            next_update: Some(gtime(next_update)?),
            single_extensions: None,
        }],
        response_extensions: None,
    };
    let tbs = data.to_der()?;
    let signer = X509Signer::new(key);
    let basic = BasicOcspResponse {
        tbs_response_data: data,
        signature_algorithm: signer.algorithm_identifier(),
        signature: signer.sign_bits(&tbs)?,
        certs: Some(vec![responder.cert().clone()]),
    };
    let resp = OcspResponse {
        response_status: ResponseStatus::Successful,
        response_bytes: Some(ResponseBytes {
            response_type: OID_OCSP_BASIC,
            response: OctetString::new(basic.to_der()?)?,
        }),
    };
    let out = resp.to_der()?;
    if out.len() > MAX_OBJECT_LEN {
        return Err(Error::Refused("OCSP response too large".into()));
    }
    Ok(out)
}

/// What an OCSP response says about one certificate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum OcspCertStatus {
    /// Not revoked.
    Good,
    /// Revoked (reason 6 = on hold) at a time.
    Revoked {
        /// CRLReason code, if given.
        reason: Option<u8>,
        /// revocationTime.
        at: SystemTime,
    },
    /// The responder does not know the certificate.
    Unknown,
}

/// A verified OCSP answer for one certificate.
#[derive(Clone, Copy, Debug)]
pub struct OcspAnswer {
    /// The status.
    pub status: OcspCertStatus,
    /// producedAt.
    pub produced_at: SystemTime,
    /// thisUpdate.
    pub this_update: SystemTime,
    /// nextUpdate, if given.
    pub next_update: Option<SystemTime>,
    /// The end of the delegated responder certificate's validity (`None`:
    /// signed by the issuer itself): the answer is not accepted after it.
    pub responder_not_after: Option<SystemTime>,
}

const OID_EKU_OCSP_SIGNING: &str = "1.3.6.1.5.5.7.3.9";

/// [`check_response`] with a delegated responder judged at the response's
/// own producedAt instead of `at`: for evidence kept for years (a revocation
/// it reports is final, whatever became of the responder's certificate).
pub fn check_response_as_produced(
    der: &[u8],
    cert: &ParsedCert,
    issuer: &ParsedCert,
    sm2_id: &yinzheng_crypto::Sm2Id,
) -> Result<OcspAnswer> {
    readable_response(der)?;
    let resp = OcspResponse::from_der(der).map_err(|e| Error::malformed("OCSP response", e))?;
    let bytes = resp
        .response_bytes
        .ok_or_else(|| Error::malformed("OCSP response", "no responseBytes"))?;
    let basic = BasicOcspResponse::from_der(bytes.response.as_bytes())
        .map_err(|e| Error::malformed("OCSP basic response", e))?;
    let produced = basic.tbs_response_data.produced_at.to_system_time();
    check_response(der, cert, issuer, sm2_id, produced)
}

/// Whether `der` reads as a successful basic OCSP response (not verified:
/// [`check_response`] does that per certificate). Lets a caller drop junk
/// once instead of at every certificate it checks.
pub fn readable_response(der: &[u8]) -> Result<()> {
    if der.len() > MAX_OBJECT_LEN {
        return Err(Error::malformed("OCSP response", "larger than 1 MiB"));
    }
    let resp = OcspResponse::from_der(der).map_err(|e| Error::malformed("OCSP response", e))?;
    if resp.response_status != ResponseStatus::Successful {
        return Err(Error::Refused(format!(
            "OCSP responder answered {:?}",
            resp.response_status
        )));
    }
    match resp.response_bytes {
        Some(b) if b.response_type == OID_OCSP_BASIC => Ok(()),
        _ => Err(Error::malformed("OCSP response", "no basic responseBytes")),
    }
}

/// Check an `OCSPResponse` about `cert` issued by `issuer` (RFC 6960 §3.2):
/// successful status, basic response, signature by the issuer itself or by a
/// delegated responder certificate that the issuer signed and that carries the
/// OCSPSigning EKU and is valid at `at`, over the ResponseData bytes as received; then find the
/// SingleResponse for this certificate's CertID. Freshness is the caller's
/// decision (it knows the validation time).
pub fn check_response(
    der: &[u8],
    cert: &ParsedCert,
    issuer: &ParsedCert,
    sm2_id: &yinzheng_crypto::Sm2Id,
    at: SystemTime,
) -> Result<OcspAnswer> {
    use crate::x509::signed_parts;
    use yinzheng_crypto::SignatureAlgorithm;
    if der.len() > MAX_OBJECT_LEN {
        return Err(Error::malformed("OCSP response", "larger than 1 MiB"));
    }
    let resp = OcspResponse::from_der(der).map_err(|e| Error::malformed("OCSP response", e))?;
    if resp.response_status != ResponseStatus::Successful {
        return Err(Error::Refused(format!(
            "OCSP responder answered {:?}",
            resp.response_status
        )));
    }
    let bytes = resp
        .response_bytes
        .ok_or_else(|| Error::malformed("OCSP response", "no responseBytes"))?;
    if bytes.response_type != OID_OCSP_BASIC {
        return Err(Error::malformed(
            "OCSP response",
            format!("response type {} is not basic", bytes.response_type),
        ));
    }
    let basic_der = bytes.response.as_bytes();
    let basic = BasicOcspResponse::from_der(basic_der)
        .map_err(|e| Error::malformed("OCSP basic response", e))?;
    let (tbs, _) = signed_parts(basic_der, "OCSP basic response")?;
    let tbs = &basic_der[tbs];
    // Is this response about `cert` at all? Answer that before any signature work.
    let serial = hex::decode(cert.serial_hex()).unwrap_or_default();
    let mut matching = None;
    for (i, single) in basic.tbs_response_data.responses.iter().enumerate() {
        if let Some(hash) = single.cert_id.hash()
            && single.cert_id == CertId::new(issuer, &serial, hash)?
        {
            matching = Some(i);
            break;
        }
    }
    let Some(index) = matching else {
        return Err(Error::NotAbout(format!(
            "the OCSP response says nothing about serial {}",
            cert.serial_hex()
        )));
    };
    let alg = SignatureAlgorithm::from_algorithm_identifier(&basic.signature_algorithm)?;
    let sig = basic
        .signature
        .as_bytes()
        .ok_or_else(|| Error::malformed("OCSP basic response", "signature has unused bits"))?;
    let verify_with = |c: &ParsedCert| -> bool {
        c.public_key()
            .is_some_and(|k| k.with_sm2_id(sm2_id.clone()).verify(alg, tbs, sig).is_ok())
    };
    let signed_by_issuer = verify_with(issuer);
    // The delegated responder that signed, if one did (its validity end
    // bounds how long the answer is accepted).
    let delegate = if signed_by_issuer {
        None
    } else {
        basic.certs.iter().flatten().find_map(|c| {
            let c = c
                .to_der()
                .map_err(Error::from)
                .and_then(|d| ParsedCert::from_der(&d))
                .ok()?;
            let issued_by_issuer = c.cert().tbs_certificate().issuer()
                == issuer.cert().tbs_certificate().subject()
                && c.signature().ok().is_some_and(|(a, s)| {
                    issuer.public_key().is_some_and(|k| {
                        k.with_sm2_id(sm2_id.clone())
                            .verify(a, c.tbs_bytes(), s)
                            .is_ok()
                    })
                });
            let has_eku = c
                .cert()
                .tbs_certificate()
                .extensions()
                .into_iter()
                .flatten()
                .any(|e| {
                    e.extn_id == ObjectIdentifier::new_unwrap("2.5.29.37")
                        && x509_cert::ext::pkix::ExtendedKeyUsage::from_der(e.extn_value.as_bytes())
                            .is_ok_and(|eku| {
                                eku.0.iter().any(|o| o.to_string() == OID_EKU_OCSP_SIGNING)
                            })
                });
            // The delegated responder must be valid at the time asked about and
            // allowed to sign (keyUsage digitalSignature when present).
            let in_validity = c.not_before() <= at && at <= c.not_after();
            let ku_ok = c
                .cert()
                .tbs_certificate()
                .extensions()
                .into_iter()
                .flatten()
                .find(|e| e.extn_id == ObjectIdentifier::new_unwrap("2.5.29.15"))
                .is_none_or(|e| {
                    x509_cert::ext::pkix::KeyUsage::from_der(e.extn_value.as_bytes()).is_ok_and(
                        |ku| {
                            ku.0.contains(x509_cert::ext::pkix::KeyUsages::DigitalSignature)
                        },
                    )
                });
            (issued_by_issuer && has_eku && in_validity && ku_ok && verify_with(&c)).then_some(c)
        })
    };
    if !signed_by_issuer && delegate.is_none() {
        return Err(Error::Refused(
            "OCSP response is not signed by the issuer or by a responder the issuer authorised"
                .into(),
        ));
    }
    let data = basic.tbs_response_data;
    let single = &data.responses[index];
    let st_der = single.cert_status.to_der()?;
    let status = match st_der[0] {
        0x80 => OcspCertStatus::Good,
        0x82 => OcspCertStatus::Unknown,
        0xa1 => {
            let mut seq = st_der.clone();
            seq[0] = 0x30;
            let info =
                RevokedInfo::from_der(&seq).map_err(|e| Error::malformed("OCSP RevokedInfo", e))?;
            OcspCertStatus::Revoked {
                reason: info.revocation_reason.map(|r| r as u8),
                at: info.revocation_time.to_system_time(),
            }
        }
        t => {
            return Err(Error::malformed(
                "OCSP response",
                format!("unknown CertStatus tag 0x{t:02x}"),
            ));
        }
    };
    Ok(OcspAnswer {
        status,
        produced_at: data.produced_at.to_system_time(),
        this_update: single.this_update.to_system_time(),
        next_update: single.next_update.map(|t| t.to_system_time()),
        responder_not_after: delegate.map(|c| c.not_after()),
    })
}

/// `OCSPResponse` with an error status and no body (RFC 6960 §4.2.1).
fn error_response(status: ResponseStatus) -> Vec<u8> {
    OcspResponse {
        response_status: status,
        response_bytes: None,
    }
    .to_der()
    .unwrap_or_else(|_| vec![0x30, 0x03, 0x0a, 0x01, 0x02])
}

/// Cached responses: (serial, CertID hash, status) → (DER, re-sign after).
type ResponseCache = std::collections::HashMap<(String, CertIdHash, String), (Vec<u8>, SystemTime)>;

/// Signed responses kept until shortly before their nextUpdate.
///
/// [`OcspResponder::refresh`] signs ahead of time (the server runs it on a timer
/// for every issued certificate); [`OcspResponder::respond`] answers requests
/// from the cache and signs only on a miss. A cached response is keyed by
/// serial, CertID hash and revocation status, so a revocation is answered at
/// once, not after the old response expires.
pub struct OcspResponder {
    key: Box<dyn Signer>,
    responder: ParsedCert,
    issuer: ParsedCert,
    validity_hours: u32,
    /// Re-sign when less than this is left before nextUpdate.
    margin: Duration,
    cache: std::sync::Mutex<ResponseCache>,
}

impl OcspResponder {
    /// A responder signing with `key` (the ocsp-responder certificate's key) for
    /// certificates issued by `issuer`; responses are valid `validity_hours`.
    pub fn new(
        key: Box<dyn Signer>,
        responder: ParsedCert,
        issuer: ParsedCert,
        validity_hours: u32,
    ) -> Self {
        let margin = Duration::from_secs(validity_hours as u64 * 3600 / 4);
        OcspResponder {
            key,
            responder,
            issuer,
            validity_hours,
            margin,
            cache: std::sync::Mutex::new(std::collections::HashMap::new()),
        }
    }

    fn status_key(stored: Option<&StoredCert>) -> String {
        format!("{:?}", stored.map(|s| s.status))
    }

    fn cached_or_sign(
        &self,
        serial: &str,
        stored: Option<&StoredCert>,
        hash: CertIdHash,
        now: SystemTime,
    ) -> Result<Vec<u8>> {
        let key = (serial.to_string(), hash, Self::status_key(stored));
        if let Ok(cache) = self.cache.lock()
            && let Some((der, refresh_at)) = cache.get(&key)
            && now < *refresh_at
        {
            return Ok(der.clone());
        }
        let der = respond(
            self.key.as_ref(),
            &self.responder,
            &self.issuer,
            serial,
            stored,
            hash,
            now,
            self.validity_hours,
        )?;
        let refresh_at = (now + Duration::from_secs(self.validity_hours as u64 * 3600)
            - self.margin)
            .min(self.responder.not_after());
        if let Ok(mut cache) = self.cache.lock() {
            cache.insert(key, (der.clone(), refresh_at));
        }
        Ok(der)
    }

    /// Sign ahead of time: make sure every certificate in `certs` has a fresh
    /// response for each hash in `hashes`. Returns how many were signed.
    pub fn refresh(
        &self,
        certs: &[StoredCert],
        hashes: &[CertIdHash],
        now: SystemTime,
    ) -> Result<usize> {
        let mut signed = 0;
        for c in certs {
            for &h in hashes {
                let key = (c.serial.clone(), h, Self::status_key(Some(c)));
                let fresh = self
                    .cache
                    .lock()
                    .ok()
                    .and_then(|cache| cache.get(&key).map(|(_, r)| now < *r))
                    .unwrap_or(false);
                if !fresh {
                    self.cached_or_sign(&c.serial, Some(c), h, now)?;
                    signed += 1;
                }
            }
        }
        Ok(signed)
    }

    /// Answer a DER `OCSPRequest`. `lookup` gives the store's record of a serial
    /// (hex). Malformed requests get `malformedRequest`; requests about another
    /// issuer get `unauthorized`; several CertIDs are answered for the first only
    /// if all name the same certificate, else `malformedRequest`.
    pub fn respond<E>(
        &self,
        request: &[u8],
        lookup: impl Fn(&str) -> std::result::Result<Option<StoredCert>, E>,
        now: SystemTime,
    ) -> Vec<u8> {
        let Ok(ids) = parse_request(request) else {
            return error_response(ResponseStatus::MalformedRequest);
        };
        let first = &ids[0];
        if ids.iter().any(|i| i.serial_hex() != first.serial_hex()) {
            return error_response(ResponseStatus::MalformedRequest);
        }
        let Some(hash) = first.hash() else {
            return error_response(ResponseStatus::MalformedRequest);
        };
        let serial = first.serial_hex();
        let Ok(expected) = hex::decode(&serial)
            .map_err(|_| ())
            .and_then(|s| CertId::new(&self.issuer, &s, hash).map_err(|_| ()))
        else {
            return error_response(ResponseStatus::MalformedRequest);
        };
        if expected != *first {
            return error_response(ResponseStatus::Unauthorized);
        }
        // An expired responder certificate: clients would reject its
        // answers; try later (once it is re-issued and the server restarted).
        if now >= self.responder.not_after() {
            return error_response(ResponseStatus::TryLater);
        }
        let stored = match lookup(&serial) {
            Ok(s) => s,
            Err(_) => return error_response(ResponseStatus::TryLater),
        };
        self.cached_or_sign(&serial, stored.as_ref(), hash, now)
            .unwrap_or_else(|_| error_response(ResponseStatus::InternalError))
    }
}
