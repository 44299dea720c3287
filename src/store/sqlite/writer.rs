//! Every write transaction of the SQLite store, committed in groups. SQLite has one writer and
//! each commit costs an fsync (`synchronous = FULL`); with one commit per write, a delivered
//! message (reserve, finish, callback claimed, callback finished) costs four fsyncs on one
//! connection. Instead, writes share an open transaction:
//!
//! - [`Writer::begin`] waits its turn for the connection, opens the shared transaction if
//!   none is open (`BEGIN IMMEDIATE`), and gives the caller a savepoint of its own;
//! - [`WriteTx::commit`] releases the savepoint, hands the connection on, and returns only
//!   once a committer task has committed the shared transaction — so a write is answered
//!   only once it is durable, exactly as with a transaction of its own;
//! - a [`WriteTx`] dropped without commit is rolled back to its savepoint before anyone else
//!   writes, so a failed write changes nothing, and never fails another;
//! - the committer takes its turn after the writes already waiting (the lock is fair): all of
//!   them share its one fsync.
//!
//! Writes run one at a time, each seeing every earlier write (committed or in the open
//! transaction), so the store's read-then-write decisions (rate windows, locks, leases) hold
//! as before. Should a commit fail, every write in it is told so. One shortcut is taken: a
//! write that returns without committing (e.g. "the lease is no longer held") may have decided
//! on earlier writes of the same group, and is not told if that group's commit later fails
//! (which means the disk failed).

use std::ops::{Deref, DerefMut};
use std::sync::{Arc, Weak};

use sqlx::{Sqlite, SqliteConnection, SqlitePool, Transaction};
use tokio::sync::{Mutex, Notify, OwnedMutexGuard, oneshot};

use crate::store::{StoreError, StoreResult};

const SAVEPOINT: &str = "SAVEPOINT herald_write";
const RELEASE: &str = "RELEASE herald_write";
const ROLLBACK: &str = "ROLLBACK TO herald_write";

#[derive(Clone)]
pub(super) struct Writer {
    pool: SqlitePool,
    shared: Arc<Shared>,
}

struct Shared {
    state: Arc<Mutex<State>>,
    /// Wakes the committer; also on drop, so it stops.
    pending: Arc<Notify>,
}

impl Drop for Shared {
    fn drop(&mut self) {
        self.pending.notify_one();
    }
}

#[derive(Default)]
struct State {
    tx: Option<Transaction<'static, Sqlite>>,
    /// Writes released into the open transaction, waiting for it to be durable.
    waiting: Vec<oneshot::Sender<Result<(), String>>>,
    /// The last write was dropped without commit: undo it before anything else.
    undo_last: bool,
    /// A single-statement write failed: commit what the group holds before anything else,
    /// so that if SQLite rolled the whole transaction back (it does on a full disk or an I/O
    /// error) the commit fails and the group's writes are told, instead of being lost.
    commit_first: bool,
}

impl State {
    fn conn(&mut self) -> &mut SqliteConnection {
        self.tx.as_mut().expect("a write holds an open transaction")
    }

    /// Undoes a write dropped without commit. If even that fails, the whole shared
    /// transaction is rolled back and its writes are told so.
    async fn settle(&mut self) {
        if std::mem::take(&mut self.commit_first) {
            self.commit().await;
            return;
        }
        if !std::mem::take(&mut self.undo_last) {
            return;
        }
        let undone = async {
            let conn = self.conn();
            sqlx::query(ROLLBACK).execute(&mut *conn).await?;
            sqlx::query(RELEASE).execute(&mut *conn).await?;
            Ok::<_, sqlx::Error>(())
        }
        .await;
        if let Err(e) = undone {
            tracing::error!(error = %e, "undoing a failed write failed; rolling back its group");
            self.tx = None; // dropping it rolls back
            for w in self.waiting.drain(..) {
                let _ = w.send(Err(format!("rolled back: {e}")));
            }
        }
    }

    /// Commits the open transaction, if any, and tells its writes the outcome.
    async fn commit(&mut self) {
        let Some(tx) = self.tx.take() else { return };
        let waiting = std::mem::take(&mut self.waiting);
        let result = tx.commit().await.map_err(|e| format!("commit failed: {e}"));
        if let Err(e) = &result {
            tracing::error!(error = %e, writes = waiting.len(), "group commit failed");
        }
        metrics::counter!("herald_sqlite_commits_total").increment(1);
        for w in waiting {
            let _ = w.send(result.clone());
        }
    }
}

impl Writer {
    /// Starts the committer on `pool` (a pool of one connection).
    pub(super) fn start(pool: SqlitePool) -> Self {
        let state = Arc::new(Mutex::new(State::default()));
        let pending = Arc::new(Notify::new());
        super::runtime::spawn(commit_groups(Arc::downgrade(&state), pending.clone()));
        Self {
            pool,
            shared: Arc::new(Shared { state, pending }),
        }
    }

    /// A write transaction of the caller's own, inside the shared one.
    pub(super) async fn begin(&self) -> StoreResult<WriteTx> {
        self.open(true).await
    }

    /// A write of exactly one statement: SQLite undoes a failed statement by itself, so it
    /// needs no savepoint (two round trips to SQLite's thread fewer).
    pub(super) async fn begin_statement(&self) -> StoreResult<WriteTx> {
        self.open(false).await
    }

    async fn open(&self, savepoint: bool) -> StoreResult<WriteTx> {
        let mut guard = self.shared.state.clone().lock_owned().await;
        guard.settle().await;
        if guard.tx.is_none() {
            guard.tx = Some(self.pool.begin_with("BEGIN IMMEDIATE").await?);
        }
        if !savepoint {
            return Ok(WriteTx {
                guard: Some(guard),
                pending: self.shared.pending.clone(),
                savepoint,
            });
        }
        if let Err(e) = sqlx::query(SAVEPOINT).execute(guard.conn()).await {
            // The shared transaction stays open: have it committed (or rolled back).
            drop(guard);
            self.shared.pending.notify_one();
            return Err(e.into());
        }
        Ok(WriteTx {
            guard: Some(guard),
            pending: self.shared.pending.clone(),
            savepoint,
        })
    }
}

/// One write: derefs to the connection; `commit` to keep it, drop to undo it.
pub(super) struct WriteTx {
    guard: Option<OwnedMutexGuard<State>>,
    pending: Arc<Notify>,
    /// False for a single statement, which has nothing to undo.
    savepoint: bool,
}

impl WriteTx {
    /// Undoes everything this write has done so far; it stays open, to do something else.
    pub(super) async fn undo_so_far(&mut self) -> StoreResult<()> {
        assert!(self.savepoint, "a single statement has nothing to undo");
        sqlx::query(ROLLBACK).execute(&mut **self).await?;
        Ok(())
    }

    /// Keeps this write; returns once it is durable.
    pub(super) async fn commit(mut self) -> StoreResult<()> {
        let mut guard = self.guard.take().expect("not yet committed");
        if self.savepoint
            && let Err(e) = sqlx::query(RELEASE).execute(guard.conn()).await
        {
            guard.undo_last = true;
            return Err(e.into());
        }
        let (done, durable) = oneshot::channel();
        guard.waiting.push(done);
        drop(guard);
        self.pending.notify_one();
        durable
            .await
            .map_err(|_| StoreError::Unavailable("the SQLite committer stopped".into()))?
            .map_err(StoreError::Unavailable)
    }
}

impl Drop for WriteTx {
    fn drop(&mut self) {
        if let Some(guard) = self.guard.as_mut() {
            if self.savepoint {
                guard.undo_last = true;
            } else {
                guard.commit_first = true;
            }
            // Nothing may be waiting for it, but the open transaction must still end.
            self.pending.notify_one();
        }
    }
}

impl Deref for WriteTx {
    type Target = SqliteConnection;

    fn deref(&self) -> &SqliteConnection {
        self.guard
            .as_ref()
            .and_then(|g| g.tx.as_deref())
            .expect("a write holds an open transaction")
    }
}

impl DerefMut for WriteTx {
    fn deref_mut(&mut self) -> &mut SqliteConnection {
        self.guard.as_mut().expect("not yet committed").conn()
    }
}

/// Commits the shared transaction whenever writes are waiting, until the store is dropped.
async fn commit_groups(state: Weak<Mutex<State>>, pending: Arc<Notify>) {
    loop {
        pending.notified().await;
        let Some(state) = state.upgrade() else { return };
        let mut guard = state.lock().await;
        guard.settle().await;
        guard.commit().await;
    }
}
