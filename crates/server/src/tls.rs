//! rustls configuration: our CA's ECDSA P-256 server certificate, TLS 1.2
//! and 1.3 only, optional client certificates (mTLS) from configured CAs.

use crate::error::{Error, Result};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use std::path::Path;
use std::sync::Arc;
use zeroize::Zeroizing;

fn certs(path: &Path) -> Result<Vec<CertificateDer<'static>>> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    let text = std::str::from_utf8(&bytes)
        .map_err(|_| Error::Tls(format!("{}: not PEM text", path.display())))?;
    let v: Vec<_> = yinzheng_crypto::pem::decode_all(text, "CERTIFICATE")
        .map_err(|e| Error::Tls(format!("{}: {e}", path.display())))?
        .into_iter()
        .map(CertificateDer::from)
        .collect();
    if v.is_empty() {
        return Err(Error::Tls(format!("{}: no certificate", path.display())));
    }
    Ok(v)
}

/// The server's rustls configuration. The key file is encrypted PKCS#8
/// (opened with `pass`, the TLS key's own passphrase); it is handed to
/// rustls as plain PKCS#8 in memory only.
pub fn server_config(
    cert: &Path,
    key: &Path,
    pass: Option<&[u8]>,
    client_cas: &[std::path::PathBuf],
) -> Result<Arc<rustls::ServerConfig>> {
    let chain = certs(cert)?;
    let key_bytes = Zeroizing::new(std::fs::read(key).map_err(|e| Error::io(key, e))?);
    let private = yinzheng_crypto::PrivateKey::from_bytes(&key_bytes, pass).map_err(|e| {
        Error::Tls(match (pass, e) {
            (None, e) => format!(
                "cannot open the TLS key {}: {e} (an encrypted key needs its passphrase: \
                 `serve --tls-passphrase-file F`, else --passphrase-file or YINZHENG_PASSPHRASE)",
                key.display()
            ),
            (Some(_), yinzheng_crypto::Error::Decryption) => format!(
                "cannot decrypt the TLS key {}: wrong passphrase",
                key.display()
            ),
            (Some(_), e) => format!("cannot open the TLS key {}: {e}", key.display()),
        })
    })?;
    let pkcs8 = private.to_pkcs8_der();
    let der = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(pkcs8.to_vec()));
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ServerConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
        .map_err(|e| Error::Tls(e.to_string()))?;
    let builder = if client_cas.is_empty() {
        builder.with_no_client_auth()
    } else {
        let mut roots = rustls::RootCertStore::empty();
        for p in client_cas {
            for c in certs(p)? {
                roots
                    .add(c)
                    .map_err(|e| Error::Tls(format!("client CA {}: {e}", p.display())))?;
            }
        }
        let verifier =
            rustls::server::WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider)
                .allow_unauthenticated()
                .build()
                .map_err(|e| Error::Tls(format!("client certificate verifier: {e}")))?;
        builder.with_client_cert_verifier(verifier)
    };
    let mut cfg = builder
        .with_single_cert(chain, der)
        .map_err(|e| Error::Tls(format!("{}: {e}", cert.display())))?;
    cfg.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(Arc::new(cfg))
}
