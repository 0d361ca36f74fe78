//! X.509 objects from untrusted sources: certificates (PEM/DER chains), CRLs,
//! PKCS#10 requests and OCSP requests.

use yinzheng_pki::{Crl, Csr, ParsedCert, ocsp};

/// One fuzz input: must never panic (asserts are the properties checked).
pub fn run(data: &[u8]) {
    if let Ok(certs) = ParsedCert::load_all(data) {
        for c in &certs {
            // Accessors must not panic on anything that parsed.
            let _ = (
                c.subject(),
                c.issuer(),
                c.serial_hex(),
                c.not_before(),
                c.not_after(),
                c.signature(),
            );
            assert!(c.tbs_bytes().len() < c.der().len());
        }
    }
    if let Ok(crl) = Crl::parse(data) {
        let _ = (
            crl.issuer(),
            crl.this_update(),
            crl.next_update(),
            crl.number(),
            crl.entry(&[1, 2, 3]),
        );
    }
    if let Ok(csr) = Csr::parse(data) {
        let _ = csr.verify_proof_of_possession(&Default::default());
    }
    if let Ok(ids) = ocsp::parse_request(data) {
        for id in ids {
            let _ = (id.serial_hex(), id.hash());
        }
    }
}
