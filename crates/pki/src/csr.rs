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
    /// Make a request for `subject` (an RFC 4514 DN) with the key `signer`
    /// holds, signed by it (the proof of possession; SM2 with the signer's
    /// distinguishing ID): DER. The way a key that never leaves its token or
    /// cipher machine gets its certificate.
    pub fn create(signer: &dyn yinzheng_crypto::Signer, subject: &str) -> Result<Vec<u8>> {
        use std::str::FromStr;
        use x509_cert::builder::{Builder, RequestBuilder};
        let name = Name::from_str(subject)
            .map_err(|e| Error::Refused(format!("subject {subject:?} is not a valid DN: {e}")))?;
        let builder = RequestBuilder::new(name)
            .map_err(|e| Error::Refused(format!("certification request: {e}")))?;
        let req = builder
            .build::<_, crate::x509::DerSignature>(&crate::x509::X509Signer::new(signer))
            .map_err(|e| Error::Refused(format!("signing the certification request: {e}")))?;
        Ok(req.to_der()?)
    }

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

#[cfg(test)]
mod tests {
    use super::*;
    use yinzheng_crypto::{KeyAlgorithm, PrivateKey};

    #[test]
    fn a_request_we_make_carries_its_key_and_proves_possession() {
        for alg in [
            KeyAlgorithm::Sm2,
            KeyAlgorithm::EcdsaP256,
            KeyAlgorithm::Ed25519,
        ] {
            let key = PrivateKey::generate(alg).expect("key");
            let der = Csr::create(&key, "CN=Seal Signer,O=Yinzheng,C=CN").expect("made");
            let csr = Csr::parse(&der).expect("parses");
            assert_eq!(csr.public_key(), key.public_key(), "{alg}");
            assert_eq!(
                csr.subject().to_string(),
                "CN=Seal Signer,O=Yinzheng,C=CN",
                "{alg}"
            );
            csr.verify_proof_of_possession(&Sm2Id::default())
                .unwrap_or_else(|e| panic!("{alg}: {e}"));
            // Another key's request does not prove this one.
            let other = PrivateKey::generate(alg).expect("key");
            let mut forged = Csr::create(&other, "CN=Seal Signer,O=Yinzheng,C=CN").expect("made");
            let at = forged.len() - 3;
            forged[at] ^= 1;
            assert!(
                Csr::parse(&forged)
                    .and_then(|c| c.verify_proof_of_possession(&Sm2Id::default()))
                    .is_err(),
                "{alg}: a changed signature still proves possession"
            );
        }
        assert!(
            Csr::create(
                &PrivateKey::generate(KeyAlgorithm::Sm2).expect("key"),
                "not a DN"
            )
            .is_err()
        );
    }
}
