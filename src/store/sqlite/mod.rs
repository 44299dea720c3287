//! The embedded SQLite store: one file, WAL, fsync on every commit (`synchronous = FULL`).
//!
//! Writes go through a single-connection pool, so write transactions queue in-process instead
//! of failing with `SQLITE_BUSY`; they start with `BEGIN IMMEDIATE` so a second process on the
//! same file (`herald demo` next to `herald serve`) waits its turn too. Reads use their own
//! pool and never block on writers.

mod accept_many;
mod admin_actions;
mod admin_reads;
mod backend;
mod callback_commit;
mod commit_gate;
mod compliance;
mod credentials;
mod customers;
mod directory;
mod finish_commit;
mod finish_many;
mod group_commit;
mod messages;
mod reservations;
mod runtime;
mod writer;

use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Connection, SqlitePool};
use time::OffsetDateTime;
use uuid::Uuid;

use super::{Lifecycle, StoreError, StoreResult};

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");

/// How long after a storage fault the store is still reported not writable (see
/// `check_writable`).
const FAULT_HOLD: Duration = Duration::from_secs(5);

pub struct SqliteStore {
    /// The one connection that writes; used directly only by the migrator.
    writer: SqlitePool,
    /// Write transactions, committed in groups.
    writes: writer::Writer,
    reader: SqlitePool,
    /// Accepted messages are written in batches, one fsync for many.
    accepts: group_commit::GroupCommit,
    /// Delivery results are written in batches, one statement per table for many.
    finishes: finish_commit::FinishCommit,
    /// Callback results are written in batches, one statement for many.
    callback_results: callback_commit::CallbackCommit,
    /// Rate-window reservations are decided in batches, one statement for many.
    reservations: reservations::ReserveCommit,
}

impl SqliteStore {
    pub async fn connect(url: &str) -> StoreResult<Self> {
        let options = SqliteConnectOptions::from_str(url)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .busy_timeout(Duration::from_secs(10))
            .foreign_keys(true);
        let gate = writer::CommitGate::open();
        let writer = SqlitePoolOptions::new()
            .max_connections(1)
            .after_connect({
                let gate = gate.clone();
                move |conn, _| {
                    let gate = gate.clone();
                    Box::pin(async move {
                        let mut handle = conn.lock_handle().await?;
                        handle.set_commit_hook(move || gate.allows_commit());
                        Ok(())
                    })
                }
            })
            .after_release({
                let gate = gate.clone();
                move |conn, _| {
                    let gate = gate.clone();
                    Box::pin(async move {
                        gate.release();
                        // A transaction dropped on its way here queued its rollback; the ping
                        // answers after it. Should sqlx still count the connection as inside
                        // a transaction (SQLite had already rolled it back by itself, as on a
                        // full disk, so the rollback failed), every later BEGIN would fail:
                        // close it, and the next write opens a fresh one.
                        conn.ping().await?;
                        Ok(!conn.is_in_transaction())
                    })
                }
            })
            .connect_with(options.clone())
            .await?;
        // An in-memory database exists once per connection: readers must share the writer's.
        let reader = if url.contains(":memory:") || url.contains("mode=memory") {
            writer.clone()
        } else {
            SqlitePoolOptions::new()
                .max_connections(8)
                .connect_with(options.read_only(true))
                .await?
        };
        let writes = writer::Writer::start(writer.clone(), gate);
        let accepts = group_commit::start(writes.clone());
        let finishes = finish_commit::start(writes.clone());
        let callback_results = callback_commit::start(writes.clone());
        let reservations = reservations::start(writes.clone());
        Ok(Self {
            writer,
            writes,
            reader,
            accepts,
            finishes,
            callback_results,
            reservations,
        })
    }

    /// A write of its own, answered once durable (see [`writer`]).
    async fn write_tx(&self) -> StoreResult<writer::WriteTx> {
        self.writes.begin().await
    }

    /// A write of exactly one statement (no savepoint needed), answered once durable.
    async fn write_statement(&self) -> StoreResult<writer::WriteTx> {
        self.writes.begin_statement().await
    }
}

#[async_trait]
impl Lifecycle for SqliteStore {
    async fn migrate(&self) -> StoreResult<()> {
        MIGRATOR.run(&self.writer).await?;
        Ok(())
    }

    async fn ping(&self) -> StoreResult<()> {
        sqlx::query("SELECT 1").execute(&self.reader).await?;
        Ok(())
    }

    /// The probe row is rewritten through the writer, in the group of whatever else is being
    /// written. One small row may still fit in the WAL while larger writes fail for want of
    /// space: so the store is not ready while the writer has seen a storage fault in the last
    /// [`FAULT_HOLD`], even if the probe committed. The hold runs out by itself rather than
    /// waiting for a large write to succeed, because a node reported not ready gets no
    /// traffic to prove itself with; while the disk is still full the probe's own failure
    /// renews it.
    async fn check_writable(&self) -> StoreResult<()> {
        let mut tx = self.write_statement().await?;
        sqlx::query(
            "INSERT INTO herald_health (id, probed_at) VALUES (1, ?) \
             ON CONFLICT (id) DO UPDATE SET probed_at = excluded.probed_at",
        )
        // A health probe, not a delivery rule's time: the system time.
        .bind(ms(OffsetDateTime::now_utc()))
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        match self.writes.fault_within(FAULT_HOLD) {
            Some(fault) => Err(StoreError::Unavailable(format!(
                "a write failed less than {} s ago: {fault}",
                FAULT_HOLD.as_secs()
            ))),
            None => Ok(()),
        }
    }
}

/// Unix milliseconds, the store's representation of a time.
fn ms(t: OffsetDateTime) -> i64 {
    (t.unix_timestamp_nanos() / 1_000_000) as i64
}

fn from_ms(v: i64) -> StoreResult<OffsetDateTime> {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(v) * 1_000_000)
        .map_err(|e| StoreError::Corrupt(format!("timestamp {v}: {e}")))
}

fn parse_uuid(s: &str) -> StoreResult<Uuid> {
    Uuid::parse_str(s).map_err(|e| StoreError::Corrupt(format!("uuid {s:?}: {e}")))
}

fn corrupt(what: &str, value: &str) -> StoreError {
    StoreError::Corrupt(format!("{what} {value:?}"))
}

/// Maps a uniqueness violation to a `Conflict` naming `what`.
fn conflict_as(what: &'static str) -> impl Fn(sqlx::Error) -> StoreError {
    move |e| match &e {
        sqlx::Error::Database(db) if db.is_unique_violation() => StoreError::Conflict(what),
        _ => StoreError::Database(e),
    }
}
