//! The layout of a data directory (`yinzheng --home DIR`): where each part
//! keeps its files, named in one place.
//!
//! ```text
//! pki/<domain>/          trust domains (yinzheng-ca): CA certificates, keys, ca.db
//! seals/seals.db         the seal registry (yinzheng-seal-registry)
//! licenses/              the license registry (yinzheng-license): licenses.db, catalogue.toml, files/
//! log/                   the anchoring log (yinzheng-log): state.sqlite, tiles/, keys
//! server/                the verify API's server.toml and callers.toml
//! ```
//!
//! With a PostgreSQL store the databases live in schemas instead; the file
//! paths still name them (and the files next to them stay here).

use std::path::{Path, PathBuf};

/// A data directory.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DataDir {
    root: PathBuf,
}

impl DataDir {
    /// The data directory at `root`.
    pub fn new(root: impl Into<PathBuf>) -> Self {
        DataDir { root: root.into() }
    }

    /// The directory itself.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// `pki/`: one directory per trust domain.
    pub fn pki(&self) -> PathBuf {
        self.root.join("pki")
    }

    /// `pki/<name>/`: the trust domain `name`.
    pub fn trust_domain(&self, name: &str) -> PathBuf {
        self.pki().join(name)
    }

    /// `seals/seals.db`: the seal registry.
    pub fn seal_registry(&self) -> PathBuf {
        self.root.join("seals").join("seals.db")
    }

    /// `licenses/`: the license registry's directory.
    pub fn licenses(&self) -> PathBuf {
        self.root.join("licenses")
    }

    /// `licenses/licenses.db`: the license registry's database.
    pub fn licenses_db(&self) -> PathBuf {
        self.licenses().join("licenses.db")
    }

    /// `log/`: the anchoring log's directory.
    pub fn log(&self) -> PathBuf {
        self.root.join("log")
    }

    /// `log/state.sqlite`: the log's state database.
    pub fn log_state(&self) -> PathBuf {
        self.log().join("state.sqlite")
    }

    /// `server/`: the verify API's configuration.
    pub fn server(&self) -> PathBuf {
        self.root.join("server")
    }

    /// `server/server.toml`.
    pub fn server_config(&self) -> PathBuf {
        self.server().join("server.toml")
    }

    /// `server/callers.toml`.
    pub fn callers(&self) -> PathBuf {
        self.server().join("callers.toml")
    }
}
