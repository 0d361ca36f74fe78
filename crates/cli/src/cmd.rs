//! One module per subcommand.

pub mod archive;
pub mod ca;
pub mod cert;
pub mod digest;
pub mod evidence_record;
pub mod key;
pub mod keys;
pub mod license;
pub mod log;
pub mod log_witness;
pub mod ltv;
pub mod seal;
pub mod serve;
pub mod sign;
pub mod trust;
pub mod verify;
pub mod witness;

/// The data directory (`--home`) and the store its databases live in
/// (`--store`): every command that keeps state opens it through this, so the
/// store is chosen once, explicitly, and never from a process-wide default.
#[derive(Debug)]
pub struct Home {
    path: std::path::PathBuf,
    store: yinzheng_store::Backend,
}

impl Home {
    /// `path`, its databases in `store`.
    pub fn new(path: std::path::PathBuf, store: yinzheng_store::Backend) -> Self {
        Home { path, store }
    }

    /// The directory.
    pub fn path(&self) -> &std::path::Path {
        &self.path
    }

    /// Where its databases live.
    pub fn store(&self) -> &yinzheng_store::Backend {
        &self.store
    }

    /// Its layout.
    pub fn data_dir(&self) -> yinzheng_store::DataDir {
        yinzheng_store::DataDir::new(&self.path)
    }
}

impl std::ops::Deref for Home {
    type Target = std::path::Path;
    fn deref(&self) -> &std::path::Path {
        &self.path
    }
}

impl From<&Home> for std::path::PathBuf {
    fn from(home: &Home) -> Self {
        home.path.clone()
    }
}
