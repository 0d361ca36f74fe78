//! X.509 plumbing: certificates that keep their received TBS bytes, the signer
//! wrapper that lets `x509-cert` builders sign through `yinzheng_crypto::Signer`,
//! and small conversions (times, serials, names).

use crate::error::{Error, Result};
use der::{Decode, Encode};
use spki::{
    AlgorithmIdentifierOwned, DynSignatureAlgorithmIdentifier, EncodePublicKey,
    SignatureBitStringEncoding,
};
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use x509_cert::Certificate;
use yinzheng_crypto::{PublicKey, SignatureAlgorithm, Signer};

/// Largest certificate, CRL or CSR accepted (bytes of DER).
pub const MAX_OBJECT_LEN: usize = 1 << 20;

/// A parsed certificate that keeps the exact bytes it was read from.
///
/// Signatures are checked over [`ParsedCert::tbs_bytes`], the TBSCertificate TLV
/// as received, never over a re-encoding (RFC 5280 §4.1.1.3; real files are not
/// always strict DER).
#[derive(Clone, Debug)]
pub struct ParsedCert {
    der: Vec<u8>,
    cert: Certificate,
    tbs: std::ops::Range<usize>,
    public_key: Option<PublicKey>,
}

impl ParsedCert {
    /// Parse DER.
    pub fn from_der(der: &[u8]) -> Result<Self> {
        if der.len() > MAX_OBJECT_LEN {
            return Err(Error::malformed("certificate", "larger than 1 MiB"));
        }
        let cert = Certificate::from_der(der).map_err(|e| Error::malformed("certificate", e))?;
        let (tbs, _) = signed_parts(der, "certificate")?;
        let spki = cert
            .tbs_certificate()
            .subject_public_key_info()
            .to_der()
            .map_err(|e| Error::malformed("certificate", e))?;
        // An unsupported key is not a parse error: the certificate can still be
        // listed and its issuer's signature over it checked.
        let public_key = PublicKey::from_spki_der(&spki).ok();
        Ok(ParsedCert {
            der: der.to_vec(),
            cert,
            tbs,
            public_key,
        })
    }

    /// Parse every `CERTIFICATE` block of a PEM file, or one DER certificate.
    pub fn load_all(bytes: &[u8]) -> Result<Vec<Self>> {
        if bytes.first() == Some(&0x30) {
            return Ok(vec![Self::from_der(bytes)?]);
        }
        let blocks = pem_blocks(bytes, "CERTIFICATE")?;
        if blocks.is_empty() {
            return Err(Error::malformed("certificate file", "no CERTIFICATE block"));
        }
        blocks.iter().map(|d| Self::from_der(d)).collect()
    }

    /// The DER bytes as received.
    pub fn der(&self) -> &[u8] {
        &self.der
    }

    /// The decoded certificate.
    pub fn cert(&self) -> &Certificate {
        &self.cert
    }

    /// The TBSCertificate TLV as received.
    pub fn tbs_bytes(&self) -> &[u8] {
        &self.der[self.tbs.clone()]
    }

    /// The subject public key, when its algorithm is supported.
    pub fn public_key(&self) -> Option<&PublicKey> {
        self.public_key.as_ref()
    }

    /// Subject DN as RFC 4514 text.
    pub fn subject(&self) -> String {
        self.cert.tbs_certificate().subject().to_string()
    }

    /// Issuer DN as RFC 4514 text.
    pub fn issuer(&self) -> String {
        self.cert.tbs_certificate().issuer().to_string()
    }

    /// Serial number as lower-case hex (as stored).
    pub fn serial_hex(&self) -> String {
        hex::encode(self.cert.tbs_certificate().serial_number().as_bytes())
    }

    /// SM3 of the DER: the certificate's name in reports and caches.
    pub fn sm3_hex(&self) -> String {
        yinzheng_crypto::sm3_hex(&self.der)
    }

    /// notBefore.
    pub fn not_before(&self) -> SystemTime {
        self.cert
            .tbs_certificate()
            .validity()
            .not_before
            .to_system_time()
    }

    /// notAfter.
    pub fn not_after(&self) -> SystemTime {
        self.cert
            .tbs_certificate()
            .validity()
            .not_after
            .to_system_time()
    }

    /// PEM `CERTIFICATE`.
    pub fn to_pem(&self) -> String {
        pem("CERTIFICATE", &self.der)
    }

    /// The signature algorithm and value of the certificate.
    pub fn signature(&self) -> Result<(SignatureAlgorithm, &[u8])> {
        // RFC 5280 §4.1.1.2: the outer algorithm must equal the signed one.
        if self.cert.signature_algorithm() != self.cert.tbs_certificate().signature() {
            return Err(Error::malformed(
                "certificate",
                "signatureAlgorithm differs from the signature field inside TBSCertificate",
            ));
        }
        let alg = SignatureAlgorithm::from_algorithm_identifier(self.cert.signature_algorithm())?;
        let bits = self.cert.signature().as_bytes().ok_or_else(|| {
            Error::malformed("certificate", "signature BIT STRING has unused bits")
        })?;
        Ok((alg, bits))
    }
}

/// Split a signed X.509 object (`SEQUENCE { tbs, algorithm, signature }`) and
/// return the byte range of `tbs` as received, and the total length.
pub(crate) fn signed_parts(
    der: &[u8],
    what: &'static str,
) -> Result<(std::ops::Range<usize>, usize)> {
    let (hdr, len) =
        tlv_header(der, 0).ok_or_else(|| Error::malformed(what, "truncated outer SEQUENCE"))?;
    if der[0] != 0x30 || hdr + len != der.len() {
        return Err(Error::malformed(what, "not a single DER SEQUENCE"));
    }
    let (thdr, tlen) =
        tlv_header(der, hdr).ok_or_else(|| Error::malformed(what, "truncated TBS"))?;
    if der[hdr] != 0x30 || hdr + thdr + tlen > der.len() {
        return Err(Error::malformed(what, "TBS is not a SEQUENCE"));
    }
    Ok((hdr..hdr + thdr + tlen, der.len()))
}

/// Header length and content length of the TLV at `pos` (definite lengths
/// only; [`yinzheng_crypto::asn1::header`]).
fn tlv_header(b: &[u8], pos: usize) -> Option<(usize, usize)> {
    yinzheng_crypto::asn1::header(b, pos, b.len())
        .ok()
        .map(|h| (h.header_len, h.content_len))
}

/// All PEM blocks with `label` in `bytes`, decoded (see [`yinzheng_crypto::pem`]).
pub fn pem_blocks(bytes: &[u8], label: &str) -> Result<Vec<Vec<u8>>> {
    let text = std::str::from_utf8(bytes).map_err(|_| Error::malformed("PEM", "not UTF-8"))?;
    Ok(yinzheng_crypto::pem::decode_all(text, label)?)
}

/// One DER TLV with a minimal definite length (see [`yinzheng_crypto::asn1::tlv`]).
pub use yinzheng_crypto::asn1::tlv as der_tlv;

/// PEM-encode `der` under `label` (see [`yinzheng_crypto::pem::encode`]).
pub fn pem(label: &'static str, der: &[u8]) -> String {
    yinzheng_crypto::pem::encode(label, der)
}

/// RFC 3339 text of a system time (UTC, seconds).
pub fn rfc3339(t: SystemTime) -> String {
    let secs = t
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    time::OffsetDateTime::from_unix_timestamp(secs)
        .ok()
        .and_then(|d| {
            d.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_else(|| format!("@{secs}"))
}

/// An X.509 `Time` for `t`, UTCTime through 2049 and GeneralizedTime after (RFC 5280 §4.1.2.5).
pub fn x509_time(t: SystemTime) -> Result<x509_cert::time::Time> {
    let secs = t
        .duration_since(UNIX_EPOCH)
        .map_err(|_| Error::Refused("time before 1970".into()))?
        .as_secs();
    let dt = der::DateTime::from_unix_duration(Duration::from_secs(secs))
        .map_err(|e| Error::Refused(format!("time out of range: {e}")))?;
    Ok(if dt.year() <= 2049 {
        x509_cert::time::Time::UtcTime(der::asn1::UtcTime::from_date_time(dt)?)
    } else {
        x509_cert::time::Time::GeneralTime(der::asn1::GeneralizedTime::from_date_time(dt))
    })
}

/// A positive serial number with 64 random bits plus a leading byte (≥ 64 bits, ≤ 20 octets).
pub fn random_serial() -> Result<Vec<u8>> {
    let mut s = [0u8; 16];
    getrandom::fill(&mut s).map_err(|_| yinzheng_crypto::Error::Rng)?;
    s[0] &= 0x7f; // positive
    s[0] |= 0x40; // no leading zero byte, so the length is fixed
    Ok(s.to_vec())
}

// ---------------------------------------------------------------------------
// The signer wrapper for x509-cert builders

/// Adapts a `yinzheng_crypto::Signer` to the traits `x509-cert` builders expect,
/// producing DER signatures (SM2 and ECDSA `SEQUENCE{r, s}`), so any signer —
/// software key or, later, a hardware module — can sign certificates and CRLs.
pub struct X509Signer<'a> {
    signer: &'a dyn Signer,
}

impl<'a> X509Signer<'a> {
    /// Wrap `signer`.
    pub fn new(signer: &'a dyn Signer) -> Self {
        X509Signer { signer }
    }

    /// Sign `tbs` and return the BIT STRING value.
    pub fn sign_bits(&self, tbs: &[u8]) -> Result<der::asn1::BitString> {
        let sig = self.signer.sign(tbs)?;
        Ok(der::asn1::BitString::from_bytes(&sig)?)
    }

    /// The AlgorithmIdentifier of the signatures produced.
    pub fn algorithm_identifier(&self) -> AlgorithmIdentifierOwned {
        self.signer.algorithm().to_algorithm_identifier()
    }
}

/// A public key as SPKI DER, for `signature::Keypair`.
#[derive(Clone, Debug)]
pub struct SpkiKey(Vec<u8>);

impl EncodePublicKey for SpkiKey {
    fn to_public_key_der(&self) -> spki::Result<der::Document> {
        Ok(der::Document::try_from(self.0.as_slice())?)
    }
}

impl signature::Keypair for X509Signer<'_> {
    type VerifyingKey = SpkiKey;
    fn verifying_key(&self) -> SpkiKey {
        SpkiKey(self.signer.public_key().to_spki_der())
    }
}

impl DynSignatureAlgorithmIdentifier for X509Signer<'_> {
    fn signature_algorithm_identifier(&self) -> spki::Result<AlgorithmIdentifierOwned> {
        Ok(self.algorithm_identifier())
    }
}

/// A DER-encoded signature value.
pub struct DerSignature(Vec<u8>);

impl SignatureBitStringEncoding for DerSignature {
    fn to_bitstring(&self) -> der::Result<der::asn1::BitString> {
        der::asn1::BitString::from_bytes(&self.0)
    }
}

impl signature::Signer<DerSignature> for X509Signer<'_> {
    fn try_sign(&self, msg: &[u8]) -> std::result::Result<DerSignature, signature::Error> {
        self.signer
            .sign(msg)
            .map(DerSignature)
            .map_err(|_| signature::Error::new())
    }
}
