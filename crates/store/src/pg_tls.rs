//! TLS to PostgreSQL over rustls: the driver's `MakeTlsConnect` for a
//! `rustls::ClientConfig`, with `tls-server-end-point` channel binding (RFC
//! 5929) for SCRAM-SHA-256-PLUS. Written here rather than taken from
//! `tokio-postgres-rustls`, whose certificate parsing pulled a second ASN.1
//! stack (der 0.7, x509-cert 0.2) into every build beside the workspace's.

use postgres::tls::{ChannelBinding, MakeTlsConnect, TlsConnect, TlsStream};
use rustls::ClientConfig;
use rustls::pki_types::ServerName;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio_rustls::TlsConnector;
use x509_cert::der::Decode;

/// Makes a TLS connector per connection, for the host name the driver dials.
#[derive(Clone)]
pub(crate) struct MakeRustlsConnect(Arc<ClientConfig>);

impl MakeRustlsConnect {
    pub(crate) fn new(config: ClientConfig) -> Self {
        MakeRustlsConnect(Arc::new(config))
    }
}

impl<S> MakeTlsConnect<S> for MakeRustlsConnect
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    type Stream = RustlsStream<S>;
    type TlsConnect = RustlsConnect;
    type Error = io::Error;

    fn make_tls_connect(&mut self, domain: &str) -> io::Result<RustlsConnect> {
        let name = ServerName::try_from(domain.to_string())
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
        Ok(RustlsConnect {
            name,
            connector: TlsConnector::from(self.0.clone()),
        })
    }
}

/// One connection's TLS handshake.
pub(crate) struct RustlsConnect {
    name: ServerName<'static>,
    connector: TlsConnector,
}

impl<S> TlsConnect<S> for RustlsConnect
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    type Stream = RustlsStream<S>;
    type Error = io::Error;
    type Future = Pin<Box<dyn Future<Output = io::Result<RustlsStream<S>>> + Send>>;

    fn connect(self, stream: S) -> Self::Future {
        Box::pin(async move {
            self.connector
                .connect(self.name, stream)
                .await
                .map(RustlsStream)
        })
    }
}

/// A TLS session to the database.
pub(crate) struct RustlsStream<S>(tokio_rustls::client::TlsStream<S>);

/// A hash function over a certificate's DER.
type Hash = fn(&[u8]) -> Vec<u8>;

/// The hash `tls-server-end-point` uses for a certificate signed with
/// `signature_oid`: the signature's own hash, SHA-1 and MD5 raised to SHA-256
/// (RFC 5929 §4.1); None for algorithms without one (Ed25519, SM2 …).
fn end_point_hash(signature_oid: &str) -> Option<Hash> {
    match signature_oid {
        // sha1/sha256WithRSAEncryption, RSASSA-PSS is left out (its hash is a parameter)
        "1.2.840.113549.1.1.5" | "1.2.840.113549.1.1.11" | "1.2.840.113549.1.1.4"
        // ecdsa-with-SHA1, ecdsa-with-SHA256
        | "1.2.840.10045.4.1" | "1.2.840.10045.4.3.2" => {
            Some(|d| yinzheng_crypto::sha256(d).to_vec())
        }
        "1.2.840.113549.1.1.12" | "1.2.840.10045.4.3.3" => {
            Some(|d| yinzheng_crypto::sha384_parts(&[d]).to_vec())
        }
        "1.2.840.113549.1.1.13" | "1.2.840.10045.4.3.4" => {
            Some(|d| yinzheng_crypto::sha512_parts(&[d]).to_vec())
        }
        _ => None,
    }
}

impl<S> TlsStream for RustlsStream<S>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    fn channel_binding(&self) -> ChannelBinding {
        let (_, session) = self.0.get_ref();
        let Some(cert) = session.peer_certificates().and_then(|c| c.first()) else {
            return ChannelBinding::none();
        };
        x509_cert::Certificate::from_der(cert.as_ref())
            .ok()
            .and_then(|c| end_point_hash(&c.signature_algorithm().oid.to_string()))
            .map_or_else(ChannelBinding::none, |hash| {
                ChannelBinding::tls_server_end_point(hash(cert.as_ref()))
            })
    }
}

impl<S> AsyncRead for RustlsStream<S>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_read(cx, buf)
    }
}

impl<S> AsyncWrite for RustlsStream<S>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.0).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::end_point_hash;

    #[test]
    fn end_point_hashes_follow_rfc_5929() {
        let len = |oid| end_point_hash(oid).map(|h| h(b"certificate").len());
        assert_eq!(len("1.2.840.10045.4.3.2"), Some(32));
        assert_eq!(
            len("1.2.840.113549.1.1.5"),
            Some(32),
            "SHA-1 is raised to SHA-256"
        );
        assert_eq!(len("1.2.840.10045.4.3.3"), Some(48));
        assert_eq!(len("1.2.840.113549.1.1.13"), Some(64));
        assert_eq!(len("1.3.101.112"), None, "Ed25519 has no hash to bind with");
        assert_eq!(
            len("1.2.156.10197.1.501"),
            None,
            "nor has SM2-with-SM3 a defined one"
        );
    }
}
