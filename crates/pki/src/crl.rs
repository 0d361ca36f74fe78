//! Certificate revocation lists: CRL v2 signed by the issuing CA (RFC 5280 §5),
//! with cRLNumber, AKI and per-entry reasonCode; parsing keeps the TBSCertList
//! bytes as received so the signature is checked over exactly those bytes.

use crate::error::{Error, Result};
use crate::profile::key_identifier;
use crate::status::{CertStatus, StoredCert};
use crate::x509::{self, MAX_OBJECT_LEN, ParsedCert, X509Signer, pem, pem_blocks, signed_parts};
use der::asn1::{OctetString, Uint};
use der::oid::AssociatedOid;
use der::referenced::OwnedToRef;
use der::{Decode, Encode};
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use x509_cert::crl::{CertificateList, RevokedCert, TbsCertList};
use x509_cert::ext::Extension;
use x509_cert::ext::pkix::crl::CrlReason;
use x509_cert::ext::pkix::{AuthorityKeyIdentifier, CrlNumber};
use x509_cert::serial_number::SerialNumber;
use yinzheng_crypto::{SignatureAlgorithm, Signer};

/// A CRL with its bytes as received.
#[derive(Clone, Debug)]
pub struct Crl {
    der: Vec<u8>,
    list: CertificateList,
    tbs: std::ops::Range<usize>,
}

/// What a CRL says about one serial number.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum CrlEntry {
    /// Not listed.
    NotListed,
    /// Listed with a reason (None when the entry has no reasonCode) at a time.
    Listed {
        /// RFC 5280 CRLReason code.
        reason: Option<u8>,
        /// revocationDate.
        at: SystemTime,
    },
}

impl Crl {
    /// Parse DER or PEM (`X509 CRL`).
    pub fn parse(bytes: &[u8]) -> Result<Self> {
        let der = if bytes.first() == Some(&0x30) {
            bytes.to_vec()
        } else {
            pem_blocks(bytes, "X509 CRL")?
                .into_iter()
                .next()
                .ok_or_else(|| Error::malformed("CRL", "no X509 CRL block"))?
        };
        if der.len() > 16 * MAX_OBJECT_LEN {
            return Err(Error::malformed("CRL", "larger than 16 MiB"));
        }
        let list = CertificateList::from_der(&der).map_err(|e| Error::malformed("CRL", e))?;
        let (tbs, _) = signed_parts(&der, "CRL")?;
        Ok(Crl { der, list, tbs })
    }

    /// Every CRL in a PEM file (several `X509 CRL` blocks), or the one DER CRL.
    pub fn parse_all(bytes: &[u8]) -> Result<Vec<Self>> {
        if bytes.first() == Some(&0x30) {
            return Ok(vec![Self::parse(bytes)?]);
        }
        let blocks = pem_blocks(bytes, "X509 CRL")?;
        if blocks.is_empty() {
            return Err(Error::malformed("CRL", "no X509 CRL block"));
        }
        blocks.iter().map(|d| Self::parse(d)).collect()
    }

    /// The DER.
    pub fn der(&self) -> &[u8] {
        &self.der
    }

    /// PEM `X509 CRL`.
    pub fn to_pem(&self) -> String {
        pem("X509 CRL", &self.der)
    }

    /// Issuer DN text.
    pub fn issuer(&self) -> String {
        self.list.tbs_cert_list.issuer.to_string()
    }

    /// The issuer name.
    pub fn issuer_name(&self) -> &x509_cert::name::Name {
        &self.list.tbs_cert_list.issuer
    }

    /// thisUpdate.
    pub fn this_update(&self) -> SystemTime {
        self.list.tbs_cert_list.this_update.to_system_time()
    }

    /// nextUpdate, if present.
    pub fn next_update(&self) -> Option<SystemTime> {
        self.list
            .tbs_cert_list
            .next_update
            .map(|t| t.to_system_time())
    }

    /// cRLNumber, if present (as bytes).
    pub fn number(&self) -> Option<Vec<u8>> {
        let exts = self.list.tbs_cert_list.crl_extensions.as_ref()?;
        let e = exts.iter().find(|e| e.extn_id == CrlNumber::OID)?;
        CrlNumber::from_der(e.extn_value.as_bytes())
            .ok()
            .map(|n| n.0.as_bytes().to_vec())
    }

    /// expiredCertsOnCRL (RFC 5280 §5.2.7 via X.509 2.5.29.60), if present:
    /// the CRL still lists revoked certificates that expired at or after
    /// this time.
    pub fn expired_certs_on_crl(&self) -> Option<SystemTime> {
        let exts = self.list.tbs_cert_list.crl_extensions.as_ref()?;
        let oid = der::asn1::ObjectIdentifier::new_unwrap("2.5.29.60");
        let e = exts.iter().find(|e| e.extn_id == oid)?;
        der::asn1::GeneralizedTime::from_der(e.extn_value.as_bytes())
            .ok()
            .map(|t| t.to_system_time())
    }

    /// Verify the CRL signature with the issuer certificate's key, over the TBS
    /// bytes as received (RFC 5280 §6.3.3 (f)); SM2 uses `sm2_id`.
    pub fn verify_signature(
        &self,
        issuer: &ParsedCert,
        sm2_id: &yinzheng_crypto::Sm2Id,
    ) -> Result<()> {
        let key = issuer
            .public_key()
            .ok_or_else(|| Error::Refused("issuer key algorithm is not supported".into()))?;
        let alg = SignatureAlgorithm::from_algorithm_identifier(&self.list.signature_algorithm)?;
        let sig = self
            .list
            .signature
            .as_bytes()
            .ok_or_else(|| Error::malformed("CRL", "signature BIT STRING has unused bits"))?;
        Ok(key
            .with_sm2_id(sm2_id.clone())
            .verify(alg, &self.der[self.tbs.clone()], sig)?)
    }

    /// Look up a serial number (big-endian magnitude bytes).
    pub fn entry(&self, serial: &[u8]) -> CrlEntry {
        let want = strip_zeros(serial);
        for rc in self
            .list
            .tbs_cert_list
            .revoked_certificates
            .iter()
            .flatten()
        {
            if strip_zeros(rc.serial_number.as_bytes()) == want {
                let reason = rc.crl_entry_extensions.as_ref().and_then(|exts| {
                    exts.iter()
                        .find(|e| e.extn_id == CrlReason::OID)
                        .and_then(|e| CrlReason::from_der(e.extn_value.as_bytes()).ok())
                        .map(|r| r as u8)
                });
                return CrlEntry::Listed {
                    reason,
                    at: rc.revocation_date.to_system_time(),
                };
            }
        }
        CrlEntry::NotListed
    }

    /// Whether this CRL can be read as a complete CRL of its issuer (RFC 5280
    /// §5.2, §5.3): no delta indicator, no issuingDistributionPoint (partitioned
    /// or indirect CRLs), and no critical CRL or entry extension we do not know.
    pub fn complete_scope(&self) -> std::result::Result<(), String> {
        const KNOWN: &[&str] = &["2.5.29.20", "2.5.29.35"]; // cRLNumber, AKI
        const DELTA: &str = "2.5.29.27";
        const IDP: &str = "2.5.29.28";
        for e in self.list.tbs_cert_list.crl_extensions.iter().flatten() {
            let oid = e.extn_id.to_string();
            if oid == DELTA {
                return Err("it is a delta CRL".into());
            }
            if oid == IDP {
                return Err(
                    "it has an issuingDistributionPoint (partitioned or indirect CRL)".into(),
                );
            }
            if e.critical && !KNOWN.contains(&oid.as_str()) {
                return Err(format!("unknown critical extension {oid}"));
            }
        }
        for rc in self
            .list
            .tbs_cert_list
            .revoked_certificates
            .iter()
            .flatten()
        {
            for e in rc.crl_entry_extensions.iter().flatten() {
                if e.critical {
                    return Err(format!(
                        "critical entry extension {} (e.g. certificateIssuer)",
                        e.extn_id
                    ));
                }
            }
        }
        Ok(())
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.list
            .tbs_cert_list
            .revoked_certificates
            .as_ref()
            .map_or(0, Vec::len)
    }

    /// True when no certificate is listed.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

fn strip_zeros(b: &[u8]) -> &[u8] {
    let n = b.iter().take_while(|&&x| x == 0).count();
    &b[n..]
}

/// Build and sign a CRL listing `revoked` (revoked and held certificates).
pub fn build(
    key: &dyn Signer,
    issuer: &ParsedCert,
    number: u64,
    this_update: SystemTime,
    next_update: SystemTime,
    revoked: &[StoredCert],
) -> Result<Crl> {
    let signer = X509Signer::new(key);
    let mut entries: Vec<RevokedCert> = Vec::new();
    for r in revoked {
        let (reason, at) = match r.status {
            CertStatus::Revoked { reason, at } => (reason, at),
            CertStatus::OnHold { at } => (6, at),
            CertStatus::Valid => continue,
        };
        let serial = hex::decode(&r.serial).map_err(|e| Error::malformed("stored serial", e))?;
        let reason_code = reason_from_code(reason)?;
        let ext = Extension {
            extn_id: CrlReason::OID,
            critical: false,
            extn_value: OctetString::new(reason_code.to_der()?)?,
        };
        entries.push(RevokedCert {
            serial_number: SerialNumber::new(&serial)?,
            revocation_date: x509::x509_time(UNIX_EPOCH + Duration::from_secs(at.max(0) as u64))?,
            crl_entry_extensions: Some(vec![ext]),
        });
    }
    let spki = issuer.cert().tbs_certificate().subject_public_key_info();
    let aki = AuthorityKeyIdentifier {
        key_identifier: Some(OctetString::new(key_identifier(spki.owned_to_ref()))?),
        ..Default::default()
    };
    let crl_number = CrlNumber(Uint::new(&number.to_be_bytes())?);
    let exts = vec![
        Extension {
            extn_id: AuthorityKeyIdentifier::OID,
            critical: false,
            extn_value: OctetString::new(aki.to_der()?)?,
        },
        Extension {
            extn_id: CrlNumber::OID,
            critical: false,
            extn_value: OctetString::new(crl_number.to_der()?)?,
        },
    ];
    let tbs = TbsCertList {
        version: x509_cert::Version::V2,
        signature: signer.algorithm_identifier(),
        issuer: issuer.cert().tbs_certificate().subject().clone(),
        this_update: x509::x509_time(this_update)?,
        next_update: Some(x509::x509_time(next_update)?),
        revoked_certificates: if entries.is_empty() {
            None
        } else {
            Some(entries)
        },
        crl_extensions: Some(exts),
    };
    let tbs_der = tbs.to_der()?;
    let signature = signer.sign_bits(&tbs_der)?;
    let list = CertificateList {
        tbs_cert_list: tbs,
        signature_algorithm: signer.algorithm_identifier(),
        signature,
    };
    Crl::parse(&list.to_der()?)
}

pub(crate) fn reason_from_code(code: u8) -> Result<CrlReason> {
    Ok(match code {
        0 => CrlReason::Unspecified,
        1 => CrlReason::KeyCompromise,
        2 => CrlReason::CaCompromise,
        3 => CrlReason::AffiliationChanged,
        4 => CrlReason::Superseded,
        5 => CrlReason::CessationOfOperation,
        6 => CrlReason::CertificateHold,
        8 => CrlReason::RemoveFromCRL,
        9 => CrlReason::PrivilegeWithdrawn,
        10 => CrlReason::AaCompromise,
        c => return Err(Error::Refused(format!("unknown CRL reason code {c}"))),
    })
}

/// RFC 5280 reason name → code (`keyCompromise` → 1, …).
pub fn reason_code(name: &str) -> Option<u8> {
    Some(match name {
        "unspecified" => 0,
        "keyCompromise" => 1,
        "cACompromise" | "caCompromise" => 2,
        "affiliationChanged" => 3,
        "superseded" => 4,
        "cessationOfOperation" => 5,
        "certificateHold" => 6,
        "privilegeWithdrawn" => 9,
        "aACompromise" | "aaCompromise" => 10,
        _ => return None,
    })
}

/// Reason code → RFC 5280 name.
pub fn reason_name(code: u8) -> &'static str {
    match code {
        0 => "unspecified",
        1 => "keyCompromise",
        2 => "cACompromise",
        3 => "affiliationChanged",
        4 => "superseded",
        5 => "cessationOfOperation",
        6 => "certificateHold",
        8 => "removeFromCRL",
        9 => "privilegeWithdrawn",
        10 => "aACompromise",
        _ => "unknown",
    }
}
