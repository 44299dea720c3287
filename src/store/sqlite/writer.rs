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
//!
//! Storage faults (a full disk, an I/O error) end the group: its transaction is rolled back,
//! and the connection goes back to the pool only outside any transaction (see
//! `SqliteStore::connect`: a connection sqlx still counts as inside one is closed and
//! replaced), so the next write starts afresh once the disk takes writes again. While a group
//! is open, only the writer's own `COMMIT` may commit ([`CommitGate`]): should SQLite have
//! rolled the group back by itself, a later savepoint cannot quietly start and commit a
//! transaction of its own, and nothing of a failed group is kept.

use std::ops::{Deref, DerefMut};
use std::sync::{Arc, Weak};
use std::time::Duration;

use sqlx::{Sqlite, SqliteConnection, SqlitePool, Transaction};
use tokio::sync::{Mutex, Notify, OwnedMutexGuard, oneshot};

pub(super) use super::commit_gate::CommitGate;
use super::commit_gate::LastFault;
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
    gate: CommitGate,
    fault: Arc<LastFault>,
}

impl Drop for Shared {
    fn drop(&mut self) {
        self.pending.notify_one();
    }
}

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
    gate: CommitGate,
    fault: Arc<LastFault>,
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
            self.abandon(&format!("rolled back: {e}"));
        }
    }

    /// Ends the open transaction without keeping it and tells its writes `why`. Dropping the
    /// transaction rolls it back (and where SQLite already has, the connection is replaced
    /// on its way back to the pool).
    fn abandon(&mut self, why: &str) {
        self.fault.note(why);
        self.tx = None;
        for w in self.waiting.drain(..) {
            let _ = w.send(Err(why.to_string()));
        }
    }

    /// Commits the open transaction, if any, and tells its writes the outcome.
    async fn commit(&mut self) {
        let Some(tx) = self.tx.take() else { return };
        let waiting = std::mem::take(&mut self.waiting);
        self.gate.release();
        let result = tx.commit().await.map_err(|e| format!("commit failed: {e}"));
        if let Err(e) = &result {
            tracing::error!(error = %e, writes = waiting.len(), "group commit failed");
            self.fault.note(e);
        }
        metrics::counter!(crate::observability::SQLITE_COMMITS).increment(1);
        for w in waiting {
            let _ = w.send(result.clone());
        }
    }
}

impl Writer {
    /// Starts the committer on `pool` (a pool of one connection, whose commit hook asks
    /// `gate`).
    pub(super) fn start(pool: SqlitePool, gate: CommitGate) -> Self {
        let fault = Arc::new(LastFault::default());
        let state = Arc::new(Mutex::new(State {
            tx: None,
            waiting: Vec::new(),
            undo_last: false,
            commit_first: false,
            gate: gate.clone(),
            fault: fault.clone(),
        }));
        let pending = Arc::new(Notify::new());
        super::runtime::spawn(commit_groups(Arc::downgrade(&state), pending.clone()));
        Self {
            pool,
            shared: Arc::new(Shared {
                state,
                pending,
                gate,
                fault,
            }),
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

    /// The last storage fault the writer saw (a write it could not start, undo or commit),
    /// if it came less than `window` ago.
    pub(super) fn fault_within(&self, window: Duration) -> Option<String> {
        self.shared.fault.within(window)
    }

    async fn open(&self, savepoint: bool) -> StoreResult<WriteTx> {
        let mut guard = self.shared.state.clone().lock_owned().await;
        guard.settle().await;
        if guard.tx.is_none() {
            match self.pool.begin_with("BEGIN IMMEDIATE").await {
                Ok(tx) => {
                    guard.tx = Some(tx);
                    self.shared.gate.hold();
                }
                Err(e) => {
                    guard.fault.note(&format!("BEGIN failed: {e}"));
                    return Err(e.into());
                }
            }
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
pub struct WriteTx {
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

#[cfg(test)]
mod tests {
    use super::super::SqliteStore;
    use crate::store::Lifecycle;

    async fn store() -> (SqliteStore, tempfile::TempDir) {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("writer.db").display());
        let store = SqliteStore::connect(&url).await.unwrap();
        store.migrate().await.unwrap();
        let mut tx = store.writes.begin_statement().await.unwrap();
        sqlx::query("CREATE TABLE t (v INTEGER NOT NULL)")
            .execute(&mut *tx)
            .await
            .unwrap();
        tx.commit().await.unwrap();
        (store, dir)
    }

    async fn values(store: &SqliteStore) -> Vec<i64> {
        sqlx::query_scalar("SELECT v FROM t ORDER BY v")
            .fetch_all(&store.reader)
            .await
            .unwrap()
    }

    #[tokio::test]
    async fn a_group_sqlite_rolled_back_by_itself_keeps_nothing_and_the_next_write_lands() {
        use sqlx::Connection;
        let (store, _dir) = store().await;

        let mut tx = store.writes.begin().await.unwrap();
        sqlx::query("INSERT INTO t VALUES (1)")
            .execute(&mut *tx)
            .await
            .unwrap();
        // What SQLite does by itself on a full disk or an I/O error: the transaction is gone,
        // and sqlx, which did not roll it back, still counts the connection as inside it.
        sqlx::query("ROLLBACK").execute(&mut *tx).await.unwrap();
        // A savepoint now starts a transaction of its own, which its release would commit.
        let nested = async {
            let mut savepoint = tx.begin().await?;
            sqlx::query("INSERT INTO t VALUES (2)")
                .execute(&mut *savepoint)
                .await?;
            savepoint.commit().await
        }
        .await;
        assert!(
            nested.is_err(),
            "only the writer's own COMMIT commits while a group is open"
        );
        assert!(tx.commit().await.is_err(), "the group's write is told");

        let mut tx = store.writes.begin_statement().await.expect("a fresh start");
        sqlx::query("INSERT INTO t VALUES (3)")
            .execute(&mut *tx)
            .await
            .unwrap();
        tx.commit().await.expect("the next write lands");
        assert_eq!(values(&store).await, vec![3]);
        assert!(
            store
                .writes
                .fault_within(std::time::Duration::from_secs(60))
                .is_some()
        );
    }

    #[tokio::test]
    async fn a_failed_commit_leaves_the_connection_outside_any_transaction() {
        let (store, _dir) = store().await;
        let mut tx = store.writes.begin_statement().await.unwrap();
        sqlx::query("INSERT INTO t VALUES (1)")
            .execute(&mut *tx)
            .await
            .unwrap();
        // The group's COMMIT will find no transaction to commit, as after SQLite rolled back
        // a commit that hit a full disk.
        sqlx::query("ROLLBACK").execute(&mut *tx).await.unwrap();
        assert!(
            tx.commit().await.is_err(),
            "the write is told its commit failed"
        );

        for v in [2, 3] {
            let mut tx = store.writes.begin().await.expect("a fresh start");
            sqlx::query("INSERT INTO t VALUES (?)")
                .bind(v)
                .execute(&mut *tx)
                .await
                .unwrap();
            tx.commit().await.expect("later writes land");
        }
        assert_eq!(values(&store).await, vec![2, 3]);
    }
}
