//! The threads that verify uploaded files. A verification is CPU work
//! (inflating a package, hashing, signature checks) that must not starve
//! the answers that cost microseconds (license lookups, health checks): the
//! pool's threads run at a lower scheduling priority (`verify_nice`, Linux:
//! the nice value is per thread), so under a flood of uploads the kernel
//! still gives the request threads the CPU first. How many run at once is
//! bounded by the caller (the verification slots).

use std::sync::mpsc::{Receiver, Sender, channel};
use std::sync::{Arc, Mutex};

type Job = Box<dyn FnOnce() + Send>;

/// A fixed set of low-priority threads.
pub struct VerifyPool {
    tx: Mutex<Sender<Job>>,
}

impl VerifyPool {
    /// Start `threads` threads at nice value `nice` (0: unchanged).
    pub fn start(threads: usize, nice: i32) -> crate::Result<Self> {
        let (tx, rx) = channel::<Job>();
        let rx = Arc::new(Mutex::new(rx));
        for i in 0..threads.max(1) {
            let rx = rx.clone();
            std::thread::Builder::new()
                .name(format!("verify-{i}"))
                .spawn(move || worker(&rx, nice))
                .map_err(|e| {
                    crate::Error::Config(format!("cannot start a verification thread: {e}"))
                })?;
        }
        Ok(VerifyPool { tx: Mutex::new(tx) })
    }

    /// Run `f` on a pool thread; `None` when the pool is gone or `f` panicked.
    pub async fn run<T: Send + 'static>(
        &self,
        f: impl FnOnce() -> T + Send + 'static,
    ) -> Option<T> {
        let (done, answer) = tokio::sync::oneshot::channel();
        let job: Job = Box::new(move || {
            let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
            if let Ok(r) = r {
                let _ = done.send(r);
            }
        });
        self.tx.lock().ok()?.send(job).ok()?;
        answer.await.ok()
    }
}

fn worker(rx: &Mutex<Receiver<Job>>, nice: i32) {
    if nice != 0
        && let Err(e) = rustix::process::setpriority_process(None, nice)
    {
        tracing::warn!(error = %e, nice, "cannot lower the verification threads' priority");
    }
    loop {
        let job = match rx.lock() {
            Ok(r) => r.recv(),
            Err(_) => return,
        };
        match job {
            Ok(job) => job(),
            Err(_) => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn runs_jobs_at_lower_priority_and_survives_a_panic() {
        let pool = VerifyPool::start(2, 5).expect("pool");
        let nice = pool
            .run(|| rustix::process::getpriority_process(None).expect("nice"))
            .await;
        assert_eq!(nice, Some(5), "the pool thread runs at nice 5");
        let main = rustix::process::getpriority_process(None).expect("nice");
        assert_ne!(main, 5, "only the pool's threads are lowered");
        assert_eq!(pool.run(|| -> u8 { panic!("boom") }).await, None);
        assert_eq!(
            pool.run(|| 7).await,
            Some(7),
            "a panic does not stop the pool"
        );
    }
}
