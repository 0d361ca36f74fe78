//! The `postgres` client blocks on a small runtime of its own; called from a
//! task of a tokio runtime (the server's request handlers) that would panic
//! ("cannot start a runtime from within a runtime"). Every use of a client,
//! and its drop, goes through [`off_runtime`], so the crates above call the
//! store the same way from threads and from handlers.

#[cfg(feature = "postgres")]
use tokio::runtime::{Handle, RuntimeFlavor};

/// Run blocking database I/O. On a worker of a multi-threaded runtime the
/// runtime is told first (`block_in_place`: its other tasks move to another
/// worker); on a single-threaded runtime it runs on a scoped thread; outside
/// any runtime it just runs.
#[cfg(feature = "postgres")]
pub(crate) fn off_runtime<T: Send>(f: impl FnOnce() -> T + Send) -> T {
    match Handle::try_current().map(|h| h.runtime_flavor()) {
        Err(_) => f(),
        Ok(RuntimeFlavor::MultiThread) => tokio::task::block_in_place(f),
        Ok(_) => std::thread::scope(|s| match s.spawn(f).join() {
            Ok(v) => v,
            Err(panic) => std::panic::resume_unwind(panic),
        }),
    }
}

/// Without PostgreSQL nothing blocks on a runtime of its own.
#[cfg(not(feature = "postgres"))]
pub(crate) fn off_runtime<T: Send>(f: impl FnOnce() -> T + Send) -> T {
    f()
}

/// A `postgres::Client` that is closed off any runtime when dropped.
#[cfg(feature = "postgres")]
pub(crate) struct Client(Option<postgres::Client>);

#[cfg(feature = "postgres")]
impl Client {
    pub(crate) fn new(c: postgres::Client) -> Client {
        Client(Some(c))
    }

    /// The client (present from `new` until drop).
    pub(crate) fn get(&mut self) -> &mut postgres::Client {
        self.0
            .as_mut()
            .expect("the client is only taken when it is dropped")
    }
}

#[cfg(feature = "postgres")]
impl Drop for Client {
    fn drop(&mut self) {
        if let Some(c) = self.0.take() {
            off_runtime(move || drop(c));
        }
    }
}
