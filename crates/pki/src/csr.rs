//! PKCS#10 certification requests (RFC 2986) with the proof-of-possession check.

use crate::error::{Error, Result};
use crate::x509::{MAX_OBJECT_LEN, pem_blocks, signed_parts};
use der::{Decode, Encode};
use x509_cert::name::Name;
use x509_cert::request::CertReq;
use yinzheng_crypto::{PublicKey, SignatureAlgorithm, Sm2Id};

/// A parsed CSR that keeps the CertificationRequestInfo bytes as received.
pub struct Csr {
    req: CertReq,
    info: Vec<u8>,
    public_key: PublicKey,
}

impl Csr {
    /// Parse PEM (`CERTIFICATE REQUEST` / `NEW CERTIFICATE REQUEST`) or DER.
    pub fn parse(bytes: &[u8]) -> Result<Self> {
        let der = if bytes.first() == Some(&0x30) {
            bytes.to_vec()
        } else {
            let mut blocks = pem_blocks(bytes, "CERTIFICATE REQUEST")?;
            if blocks.is_empty() {
                blocks = pem_blocks(bytes, "NEW CERTIFICATE REQUEST")?;
            }
            blocks
                .into_iter()
                .next()
                .ok_or_else(|| Error::malformed("CSR", "no CERTIFICATE REQUEST block"))?
        };
        if der.len() > MAX_OBJECT_LEN {
            return Err(Error::malformed("CSR", "larger than 1 MiB"));
        }
        let req = CertReq::from_der(&der).map_err(|e| Error::malformed("CSR", e))?;
        let (info, _) = signed_parts(&der, "CSR")?;
        let public_key = PublicKey::from_spki_der(&req.info.public_key.to_der()?)?;
        Ok(Csr {
            info: der[info].to_vec(),
            req,
            public_key,
        })
    }

    /// The requested subject.
    pub fn subject(&self) -> Name {
        self.req.info.subject.clone()
    }

    /// The public key to certify.
    pub fn public_key(&self) -> &PublicKey {
        &self.public_key
    }

    /// Check the CSR's self-signature (proof of possession of the private key),
    /// over the CertificationRequestInfo bytes as received; SM2 uses `id`.
    pub fn verify_proof_of_possession(&self, id: &Sm2Id) -> Result<()> {
        let alg = SignatureAlgorithm::from_algorithm_identifier(&self.req.algorithm)?;
        let sig = self
            .req
            .signature
            .as_bytes()
            .ok_or_else(|| Error::malformed("CSR", "signature BIT STRING has unused bits"))?;
        self.public_key
            .with_sm2_id(id.clone())
            .verify(alg, &self.info, sig)
            .map_err(|e| {
                Error::Refused(format!(
                    "CSR proof of possession failed ({e}); for SM2, the requester's ID must match (default 1234567812345678)"
                ))
            })
    }
}
