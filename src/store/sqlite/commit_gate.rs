//! The writer's commit gate and its last storage fault (see [`super::writer`]).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// Whether the write connection may commit now. SQLite asks it on every commit (a commit
/// hook, installed on each new write connection); a refused commit is rolled back instead.
#[derive(Clone)]
pub(super) struct CommitGate(Arc<AtomicBool>);

impl CommitGate {
    /// Open: the migrator and anything else outside a group commit as usual.
    pub(super) fn open() -> Self {
        Self(Arc::new(AtomicBool::new(true)))
    }

    pub(super) fn allows_commit(&self) -> bool {
        self.0.load(Ordering::Acquire)
    }

    /// Lets commits through again: the writer commits its group, or the connection went back
    /// to the pool.
    pub(super) fn release(&self) {
        self.0.store(true, Ordering::Release);
    }

    pub(super) fn hold(&self) {
        self.0.store(false, Ordering::Release);
    }
}

/// The last storage fault the writer saw, for readiness (see `SqliteStore::check_writable`).
#[derive(Default)]
pub(super) struct LastFault(std::sync::Mutex<Option<(Instant, String)>>);

impl LastFault {
    pub(super) fn note(&self, what: &str) {
        *self.0.lock().unwrap_or_else(|e| e.into_inner()) = Some((Instant::now(), what.into()));
    }

    pub(super) fn within(&self, window: Duration) -> Option<String> {
        let last = self.0.lock().unwrap_or_else(|e| e.into_inner());
        match &*last {
            Some((at, what)) if at.elapsed() < window => Some(what.clone()),
            _ => None,
        }
    }
}
