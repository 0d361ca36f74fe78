//! Verifying one signer of a SignedData: content digest, signed attributes and
//! the signature, over the bytes as received. Certificate paths are the
//! caller's (yinzheng-pki): this returns the signer's certificate to validate.

use crate::cert::CertFields;
use crate::digest::Digest;
use crate::parse::{SignedData, SignerId, SignerInfo};
use crate::{Error, Result, oid};
use yinzheng_crypto::asn1::Reader;
use yinzheng_crypto::{KeyAlgorithm, PublicKey, SignatureAlgorithm, Sm2Id};

/// Options for [`SignedData::verify_signer`].
#[derive(Clone, Debug, Default)]
pub struct VerifyOptions {
    /// SM2 distinguishing ID of the signer (default `1234567812345678`).
    pub sm2_id: Option<Sm2Id>,
    /// Certificates to search for the signer besides those in the SignedData.
    pub extra_certificates: Vec<Vec<u8>>,
}

/// What a signing-certificate attribute said about the signer's certificate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum SigningCertificateCheck {
    /// No ESS signing-certificate attribute (allowed by CMS; PAdES wants one).
    Absent,
    /// signingCertificateV2 (or v1) names the certificate that verified the signature.
    Matches,
}

/// A signer whose signature verified.
#[derive(Clone, Debug)]
pub struct VerifiedSigner {
    /// DER of the signer's certificate.
    pub certificate: Vec<u8>,
    /// Signature algorithm used.
    pub signature_algorithm: SignatureAlgorithm,
    /// Digest algorithm of the content.
    pub digest: Digest,
    /// The content digest that was signed.
    pub message_digest: Vec<u8>,
    /// The signingTime attribute, when present.
    pub signing_time: Option<time::OffsetDateTime>,
    /// What the ESS signing-certificate attribute said.
    pub signing_certificate: SigningCertificateCheck,
}

impl SignedData {
    /// Verify signer `index` over `content` (the detached content's parts in
    /// order, or None for the encapsulated content).
    pub fn verify_signer(
        &self,
        index: usize,
        content: Option<&[&[u8]]>,
        opts: &VerifyOptions,
    ) -> Result<VerifiedSigner> {
        self.verify_signer_with_sm3(index, content, None, opts)
    }

    /// [`verify_signer`](Self::verify_signer) with the content's SM3 already
    /// computed by the caller over exactly the content bytes as received (a
    /// caller that hashed them for another check resumes rather than hashes
    /// again). Used when the signer's digest algorithm is SM3; otherwise, or
    /// with `None`, the content is hashed here.
    pub fn verify_signer_with_sm3(
        &self,
        index: usize,
        content: Option<&[&[u8]]>,
        content_sm3: Option<&[u8; 32]>,
        opts: &VerifyOptions,
    ) -> Result<VerifiedSigner> {
        let si = self
            .signers
            .get(index)
            .ok_or_else(|| Error::Refused(format!("no signer number {index}")))?;
        let digest = Digest::from_oid(&si.digest_oid).ok_or_else(|| Error::Unsupported {
            what: "digest algorithm",
            detail: si.digest_oid.clone(),
        })?;
        let parts: Vec<&[u8]> = match (content, &self.content) {
            (Some(p), _) => p.to_vec(),
            (None, Some(c)) => vec![c.as_slice()],
            (None, None) => {
                return Err(Error::Refused(
                    "detached SignedData: the signed content must be supplied".into(),
                ));
            }
        };
        let cert = self.signer_certificate(si, &opts.extra_certificates)?;
        let mut key = PublicKey::from_spki_der(&cert.spki)?;
        if let Some(id) = &opts.sm2_id {
            key = key.with_sm2_id(id.clone());
        }
        let alg = signature_algorithm(&si.signature_oid, digest, &key)?;
        let content_digest = match content_sm3 {
            Some(d) if digest == Digest::Sm3 => d.to_vec(),
            _ => digest.digest_parts(&parts),
        };

        let (message, signing_time, signing_certificate) = match &si.signed_attrs_der {
            Some(set) => {
                let md = single_value(si, oid::ATTR_MESSAGE_DIGEST)?;
                let md = octets(md, "messageDigest")?;
                if md != content_digest {
                    return Err(Error::DigestMismatch("messageDigest"));
                }
                let ct = single_value(si, oid::ATTR_CONTENT_TYPE)?;
                let mut r = Reader::new(ct);
                let t = r.tlv_at(0, ct.len(), "contentType attribute")?;
                let ct = r.oid(&t, "contentType attribute")?;
                if ct != self.content_type {
                    return Err(Error::AttributeMismatch(format!(
                        "contentType {ct} differs from eContentType {}",
                        self.content_type
                    )));
                }
                let signing_time = match si.signed_attr(oid::ATTR_SIGNING_TIME) {
                    Some(a) => match a.values.first() {
                        Some(v) => {
                            let mut r = Reader::new(v);
                            let t = r.tlv_at(0, v.len(), "signingTime")?;
                            Some(r.time(&t, "signingTime")?)
                        }
                        None => None,
                    },
                    None => None,
                };
                let sc = check_signing_certificate(si, &cert.der)?;
                (set.as_slice(), signing_time, sc)
            }
            None => (&[][..], None, SigningCertificateCheck::Absent),
        };
        let joined;
        let message = if si.signed_attrs_der.is_some() {
            message
        } else {
            joined = parts.concat();
            joined.as_slice()
        };
        key.verify(alg, message, &si.signature).map_err(|e| {
            if e.is_verification_failure() {
                Error::BadSignature
            } else {
                Error::Crypto(e)
            }
        })?;
        Ok(VerifiedSigner {
            certificate: cert.der,
            signature_algorithm: alg,
            digest,
            message_digest: content_digest,
            signing_time,
            signing_certificate,
        })
    }

    /// The certificate a SignerInfo names, from the SignedData or `extra`.
    pub fn signer_certificate(&self, si: &SignerInfo, extra: &[Vec<u8>]) -> Result<CertFields> {
        for der in self.certificates.iter().chain(extra) {
            let Ok(c) = CertFields::parse(der) else {
                continue;
            };
            let hit = match &si.sid {
                SignerId::IssuerSerial { issuer, serial } => {
                    &c.issuer == issuer && &c.serial == serial
                }
                SignerId::KeyId(k) => c.key_id.as_ref() == Some(k),
            };
            if hit {
                return Ok(c);
            }
        }
        Err(Error::SignerCertificateMissing(match &si.sid {
            SignerId::IssuerSerial { serial, .. } => format!("serial {}", hex(serial)),
            SignerId::KeyId(k) => format!("key id {}", hex(k)),
        }))
    }
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn single_value<'a>(si: &'a SignerInfo, oid: &str) -> Result<&'a [u8]> {
    let a = si
        .signed_attr(oid)
        .ok_or_else(|| Error::AttributeMismatch(format!("{oid} is missing")))?;
    if a.values.len() != 1 || si.signed_attrs.iter().filter(|x| x.oid == oid).count() != 1 {
        return Err(Error::AttributeMismatch(format!(
            "{oid} must appear once with one value"
        )));
    }
    Ok(&a.values[0])
}

fn octets<'a>(v: &'a [u8], what: &str) -> Result<&'a [u8]> {
    let mut r = Reader::new(v);
    let t = r.tlv_at(0, v.len(), what)?;
    r.expect(&t, 0x04, what)?;
    Ok(&v[t.value])
}

/// ESS signingCertificate(V2): the first ESSCertID must hash the signer's certificate.
fn check_signing_certificate(si: &SignerInfo, cert: &[u8]) -> Result<SigningCertificateCheck> {
    let (v, v2) = (
        si.signed_attr(oid::ATTR_SIGNING_CERTIFICATE),
        si.signed_attr(oid::ATTR_SIGNING_CERTIFICATE_V2),
    );
    let Some((attr, is_v2)) = v2.map(|a| (a, true)).or(v.map(|a| (a, false))) else {
        return Ok(SigningCertificateCheck::Absent);
    };
    let what = "signingCertificate";
    let val = attr
        .values
        .first()
        .ok_or_else(|| Error::AttributeMismatch(format!("{what} without a value")))?;
    let mut r = Reader::new(val);
    let outer = r.tlv_at(0, val.len(), what)?;
    let certs = r
        .children(&outer, what)?
        .into_iter()
        .next()
        .ok_or_else(|| Error::malformed(what, 0, "no certs"))?;
    let first = r
        .children(&certs, what)?
        .into_iter()
        .next()
        .ok_or_else(|| Error::malformed(what, 0, "empty certs"))?;
    let f = r.children(&first, what)?;
    let (digest, hash) = if is_v2 {
        match f.first() {
            Some(a) if a.tag == 0x30 => {
                let id = r.children(a, what)?;
                let alg = match id.first() {
                    Some(o) => r.oid(o, what)?,
                    None => return Err(Error::malformed(what, a.whole.start, "empty algorithm")),
                };
                let d = Digest::from_oid(&alg).ok_or(Error::Unsupported {
                    what: "ESSCertIDv2 hash algorithm",
                    detail: alg,
                })?;
                (d, f.get(1))
            }
            _ => (Digest::Sha256, f.first()),
        }
    } else {
        // v1 uses SHA-1, which this crate does not compute: accept its presence only.
        return Ok(SigningCertificateCheck::Absent);
    };
    let hash = hash.ok_or_else(|| Error::malformed(what, first.whole.start, "no certHash"))?;
    r.expect(hash, 0x04, "certHash")?;
    if r.bytes(hash) != digest.digest(cert).as_slice() {
        return Err(Error::AttributeMismatch(
            "signingCertificateV2 names another certificate than the signer's".into(),
        ));
    }
    Ok(SigningCertificateCheck::Matches)
}

/// The signature algorithm from the SignerInfo's OID, its digest and the key.
fn signature_algorithm(
    sig_oid: &str,
    digest: Digest,
    key: &PublicKey,
) -> Result<SignatureAlgorithm> {
    use SignatureAlgorithm as S;
    let unsupported = || Error::Unsupported {
        what: "CMS signature algorithm",
        detail: format!(
            "{sig_oid} with {digest} and a {} key",
            key.algorithm().name()
        ),
    };
    let alg = match (sig_oid, key.algorithm(), digest) {
        (oid::SM2_WITH_SM3 | oid::SM2_SIGN | oid::SM2_KEY, KeyAlgorithm::Sm2, Digest::Sm3) => {
            S::Sm2Sm3
        }
        (oid::EC_PUBLIC_KEY, KeyAlgorithm::Sm2, Digest::Sm3) => S::Sm2Sm3,
        (oid::ECDSA_SHA256 | oid::EC_PUBLIC_KEY, KeyAlgorithm::EcdsaP256, Digest::Sha256) => {
            S::EcdsaP256Sha256
        }
        (oid::ECDSA_SHA384 | oid::EC_PUBLIC_KEY, KeyAlgorithm::EcdsaP384, Digest::Sha384) => {
            S::EcdsaP384Sha384
        }
        (oid::RSA_ENCRYPTION | oid::RSA_SHA256, KeyAlgorithm::Rsa, Digest::Sha256) => {
            S::RsaPkcs1Sha256
        }
        (oid::RSA_ENCRYPTION | oid::RSA_SHA384, KeyAlgorithm::Rsa, Digest::Sha384) => {
            S::RsaPkcs1Sha384
        }
        (oid::RSA_ENCRYPTION | oid::RSA_SHA512, KeyAlgorithm::Rsa, Digest::Sha512) => {
            S::RsaPkcs1Sha512
        }
        (oid::ED25519, KeyAlgorithm::Ed25519, _) => S::Ed25519,
        _ => return Err(unsupported()),
    };
    Ok(alg)
}
