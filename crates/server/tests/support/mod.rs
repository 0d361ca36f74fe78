//! What the server's integration tests share: an in-process server on a
//! demo data directory, and TLS clients that trust the demo's TLS root.
#![allow(dead_code)]

use std::path::Path;
use std::sync::Arc;

/// A server serving on 127.0.0.1 from its own thread and runtime.
pub struct Running {
    pub port: u16,
    pub state: Arc<yinzheng_server::AppState>,
    pub stop: tokio::sync::oneshot::Sender<()>,
    pub thread: std::thread::JoinHandle<()>,
}

/// Open `home` with `config` and serve it until `stop` is sent.
pub fn start(home: &Path, pass: &str, config: yinzheng_server::ServerConfig) -> Running {
    let (addr_tx, addr_rx) = std::sync::mpsc::channel();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let pass = pass.to_string();
    let state = yinzheng_server::AppState::open(
        home,
        yinzheng_server::ServerConfig {
            store: yinzheng_tests::store_backend(home),
            ..config
        },
        pass.as_bytes(),
    )
    .expect("state");
    let st = state.clone();
    let thread = std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("runtime");
        rt.block_on(async move {
            let l = tokio::net::TcpListener::bind("127.0.0.1:0")
                .await
                .expect("bind");
            addr_tx.send(l.local_addr().expect("addr")).expect("send");
            yinzheng_server::serve(st, l, Default::default(), Some(pass.as_bytes()), async {
                let _ = stop_rx.await;
            })
            .await
            .expect("serve");
        });
    });
    let addr = addr_rx.recv().expect("address");
    Running {
        port: addr.port(),
        state,
        stop: stop_tx,
        thread,
    }
}

/// A TLS client trusting `home`'s demo TLS root; with `client`, it presents
/// the demo mTLS client certificate.
pub fn tls_config(home: &Path, client: bool) -> Arc<rustls::ClientConfig> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let mut roots = rustls::RootCertStore::empty();
    for c in CertificateDer::pem_file_iter(home.join("demo/tls-root.pem")).expect("root") {
        roots.add(c.expect("cert")).expect("add root");
    }
    let b = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .expect("versions")
    .with_root_certificates(roots);
    Arc::new(if client {
        let chain: Vec<_> = CertificateDer::pem_file_iter(home.join("demo/client.pem"))
            .expect("client cert")
            .map(|c| c.expect("cert"))
            .collect();
        let key = PrivateKeyDer::from_pem_file(home.join("demo/client.key.pem")).expect("key");
        b.with_client_auth_cert(chain, key).expect("client auth")
    } else {
        b.with_no_client_auth()
    })
}

/// An HTTP client over [`tls_config`].
pub fn agent(home: &Path, client: bool) -> ureq::Agent {
    ureq::AgentBuilder::new()
        .tls_config(tls_config(home, client))
        .timeout(std::time::Duration::from_secs(60))
        .build()
}
