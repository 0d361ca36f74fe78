//! RFC 3161 time stamps: the token a time-stamping authority (TSA) signs
//! (SignedData over a TSTInfo) and its verification. Used for PAdES B-T
//! (signature-time-stamp over a CMS signature value) and for seal signatures.

use crate::build::{SignOptions, sign_encapsulated, time_der};
use crate::digest::{Digest, oid_tlv};
use crate::parse::SignedData;
use crate::verify::{VerifiedSigner, VerifyOptions};
use crate::{Error, Result, oid};
use yinzheng_crypto::Signer;
use yinzheng_crypto::asn1::{Reader, tlv};

/// Yinzheng's default TSA policy (a UUID OID, X.667).
pub const DEFAULT_TSA_POLICY: &str = "2.25.255491869134881516944537825235989398612";

/// The signed content of a time-stamp token.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TstInfo {
    /// Dotted TSA policy OID.
    pub policy: String,
    /// Digest algorithm of the imprint.
    pub imprint_digest: Digest,
    /// The hashed message (digest of the time-stamped data).
    pub imprint: Vec<u8>,
    /// Serial number (unsigned bytes).
    pub serial: Vec<u8>,
    /// The time the TSA vouches for.
    pub gen_time: time::OffsetDateTime,
    /// Nonce from the request, if any.
    pub nonce: Option<Vec<u8>>,
}

impl TstInfo {
    /// Read a DER TSTInfo.
    pub fn parse(der: &[u8]) -> Result<Self> {
        let what = "TSTInfo";
        let mut r = Reader::new(der);
        let t = r.tlv_at(0, der.len(), what)?;
        r.expect(&t, 0x30, what)?;
        let f = r.children(&t, what)?;
        if f.len() < 5 {
            return Err(Error::malformed(what, 0, "too few fields"));
        }
        if r.integer(&f[0], "TSTInfo.version")? != 1 {
            return Err(Error::malformed(what, f[0].whole.start, "version is not 1"));
        }
        let policy = r.oid(&f[1], "TSTInfo.policy")?;
        let mi = r.children(&f[2], "messageImprint")?;
        let (Some(alg), Some(hashed)) = (mi.first(), mi.get(1)) else {
            return Err(Error::malformed(
                "messageImprint",
                f[2].whole.start,
                "incomplete",
            ));
        };
        let alg_oid = match r.children(alg, "messageImprint.hashAlgorithm")?.first() {
            Some(o) => r.oid(o, "messageImprint.hashAlgorithm")?,
            None => return Err(Error::malformed("messageImprint", alg.whole.start, "empty")),
        };
        let imprint_digest = Digest::from_oid(&alg_oid).ok_or(Error::Unsupported {
            what: "time-stamp imprint digest",
            detail: alg_oid,
        })?;
        r.expect(hashed, 0x04, "messageImprint.hashedMessage")?;
        r.expect(&f[3], 0x02, "TSTInfo.serialNumber")?;
        let gen_time = r.time(&f[4], "TSTInfo.genTime")?;
        let nonce = f[5..]
            .iter()
            .find(|x| x.tag == 0x02)
            .map(|x| r.bytes(x).to_vec());
        Ok(TstInfo {
            policy,
            imprint_digest,
            imprint: r.bytes(hashed).to_vec(),
            serial: crate::cert::unsigned(r.bytes(&f[3])),
            gen_time,
            nonce,
        })
    }

    /// DER encoding (genTime as GeneralizedTime, seconds precision).
    pub fn to_der(&self) -> Result<Vec<u8>> {
        let mut body = tlv(0x02, &[1]);
        body.extend(oid_tlv(&self.policy));
        let mut mi = self.imprint_digest.algorithm_identifier();
        mi.extend(tlv(0x04, &self.imprint));
        body.extend(tlv(0x30, &mi));
        let mut serial = self.serial.clone();
        if serial.first().is_none_or(|b| b & 0x80 != 0) {
            serial.insert(0, 0);
        }
        body.extend(tlv(0x02, &serial));
        let mut gt = time_der(self.gen_time)?;
        if gt[0] == 0x17 {
            // RFC 3161 requires GeneralizedTime
            let y = self.gen_time.to_offset(time::UtcOffset::UTC).year();
            gt = tlv(
                0x18,
                format!("{y:04}{}", std::str::from_utf8(&gt[4..]).unwrap_or("")).as_bytes(),
            );
        }
        body.extend(gt);
        if let Some(n) = &self.nonce {
            body.extend(tlv(0x02, n));
        }
        Ok(tlv(0x30, &body))
    }
}

/// A time-stamping authority: a key whose certificate has the critical
/// timeStamping extended key usage (pki profile `tsa`).
pub struct TimeStampAuthority {
    signer: Box<dyn Signer>,
    certificate: Vec<u8>,
    chain: Vec<Vec<u8>>,
    policy: String,
}

impl std::fmt::Debug for TimeStampAuthority {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TimeStampAuthority")
            .field("policy", &self.policy)
            .field("algorithm", &self.signer.algorithm())
            .finish_non_exhaustive()
    }
}

impl TimeStampAuthority {
    /// A TSA signing with `signer` under `certificate` (its chain travels in each token).
    pub fn new(
        signer: Box<dyn Signer>,
        certificate: Vec<u8>,
        chain: Vec<Vec<u8>>,
        policy: Option<&str>,
    ) -> Result<Self> {
        let policy = policy.unwrap_or(DEFAULT_TSA_POLICY).to_string();
        if yinzheng_crypto::asn1::oid_to_der(&policy).is_none() {
            return Err(Error::Refused(format!(
                "TSA policy {policy:?} is not an OID"
            )));
        }
        Ok(TimeStampAuthority {
            signer,
            certificate,
            chain,
            policy,
        })
    }

    /// The TSA's certificate.
    pub fn certificate(&self) -> &[u8] {
        &self.certificate
    }

    /// A token over `imprint` (a `digest` of the data) at time `at`.
    pub fn stamp(
        &self,
        digest: Digest,
        imprint: &[u8],
        at: time::OffsetDateTime,
    ) -> Result<Vec<u8>> {
        let mut serial = [0u8; 16];
        getrandom::fill(&mut serial)
            .map_err(|e| Error::Refused(format!("no randomness for the serial: {e}")))?;
        serial[0] &= 0x7f;
        let info = TstInfo {
            policy: self.policy.clone(),
            imprint_digest: digest,
            imprint: imprint.to_vec(),
            serial: crate::cert::unsigned(&serial),
            gen_time: at.replace_nanosecond(0).unwrap_or(at),
            nonce: None,
        };
        let opts = SignOptions {
            chain: self.chain.clone(),
            ..SignOptions::default()
        };
        sign_encapsulated(
            self.signer.as_ref(),
            &self.certificate,
            oid::TST_INFO,
            &info.to_der()?,
            &opts,
        )
    }

    /// A token over `data`, hashed with the TSA's natural digest (SM3 for SM2, else SHA-256).
    pub fn stamp_data(&self, data: &[u8], at: time::OffsetDateTime) -> Result<Vec<u8>> {
        let d = self.natural_digest();
        self.stamp(d, &d.digest(data), at)
    }

    /// The digest that goes with the TSA's key: SM3 for SM2, else SHA-256.
    pub fn natural_digest(&self) -> Digest {
        if self.signer.algorithm() == yinzheng_crypto::SignatureAlgorithm::Sm2Sm3 {
            Digest::Sm3
        } else {
            Digest::Sha256
        }
    }

    /// The certificates that travel with each token besides the TSA's own.
    pub fn chain(&self) -> &[Vec<u8>] {
        &self.chain
    }
}

/// A time-stamp token whose signature and imprint verified.
#[derive(Clone, Debug)]
pub struct VerifiedTimeStamp {
    /// The TSTInfo.
    pub info: TstInfo,
    /// The TSA signer (its certificate still needs path validation with the
    /// timeStamping extended key usage: yinzheng-pki).
    pub signer: VerifiedSigner,
    /// Certificates carried in the token (for path building).
    pub certificates: Vec<Vec<u8>>,
}

/// Verify `token` over `data` (for B-T: the SignerInfo's signature value).
pub fn verify_time_stamp(
    token: &[u8],
    data: &[u8],
    opts: &VerifyOptions,
) -> Result<VerifiedTimeStamp> {
    let ts = verify_token(token, opts)?;
    if ts.info.imprint != ts.info.imprint_digest.digest(data) {
        return Err(Error::DigestMismatch("time-stamp imprint"));
    }
    Ok(ts)
}

/// Verify `token` over the concatenation of `parts` hashed with the
/// token's own imprint algorithm (a PDF document time stamp over its two
/// byte ranges).
pub fn verify_time_stamp_parts(
    token: &[u8],
    parts: &[&[u8]],
    opts: &VerifyOptions,
) -> Result<VerifiedTimeStamp> {
    let ts = verify_token(token, opts)?;
    if ts.info.imprint != ts.info.imprint_digest.digest_parts(parts) {
        return Err(Error::DigestMismatch("time-stamp imprint"));
    }
    Ok(ts)
}

/// Verify `token` over an already computed `imprint` hashed with `digest`
/// (an evidence record's hash-tree root).
pub fn verify_time_stamp_imprint(
    token: &[u8],
    digest: Digest,
    imprint: &[u8],
    opts: &VerifyOptions,
) -> Result<VerifiedTimeStamp> {
    let ts = verify_token(token, opts)?;
    if ts.info.imprint_digest != digest {
        return Err(Error::Refused(format!(
            "the token's imprint is {}, not {}",
            ts.info.imprint_digest.name(),
            digest.name()
        )));
    }
    if ts.info.imprint != imprint {
        return Err(Error::DigestMismatch("time-stamp imprint"));
    }
    Ok(ts)
}

/// The hash algorithm of a token's imprint, read without verifying it.
pub(crate) fn token_imprint_digest(token: &[u8]) -> Result<Digest> {
    let sd = SignedData::parse(token)?;
    if sd.content_type != oid::TST_INFO {
        return Err(Error::Unsupported {
            what: "time-stamp token content",
            detail: sd.content_type.clone(),
        });
    }
    Ok(TstInfo::parse(sd.content.as_deref().unwrap_or_default())?.imprint_digest)
}

/// A token's signature checked and its TSTInfo read (imprint not compared).
fn verify_token(token: &[u8], opts: &VerifyOptions) -> Result<VerifiedTimeStamp> {
    let sd = SignedData::parse(token)?;
    if sd.content_type != oid::TST_INFO {
        return Err(Error::Unsupported {
            what: "time-stamp token content",
            detail: sd.content_type.clone(),
        });
    }
    if sd.signers.len() != 1 {
        return Err(Error::Refused(format!(
            "a time-stamp token has one signer, this one has {}",
            sd.signers.len()
        )));
    }
    let signer = sd.verify_signer(0, None, opts)?;
    let info = TstInfo::parse(sd.content.as_deref().unwrap_or_default())?;
    Ok(VerifiedTimeStamp {
        info,
        signer,
        certificates: sd.certificates,
    })
}
