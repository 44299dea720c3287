//! The PostgreSQL store: any number of Herald processes share one database.
//!
//! Every write that must hold across nodes is decided by the database, never by a read
//! followed by a write in the process: jobs and callbacks are leased with
//! `FOR UPDATE SKIP LOCKED`, idempotency keys and customer locks are taken with
//! `INSERT ... ON CONFLICT`, and rows whose next value depends on their current one (opt states,
//! callback sequence numbers) are locked before they are read. Work queued by one process
//! wakes the workers of the others through `NOTIFY` (see [`wakeups`]). Accepted messages are
//! written in batches (see [`group_commit`]).

mod accept_many;
mod admin_actions;
mod admin_reads;
mod backend;
mod callback_commit;
mod claims;
mod compliance;
mod credentials;
mod customers;
mod directory;
mod finish_commit;
mod finish_many;
mod group_commit;
mod messages;
mod reservations;
mod wakeups;

use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{Connection, PgConnection, PgPool};
use time::OffsetDateTime;
use tokio_util::sync::CancellationToken;

use super::{Change, Lifecycle, StoreError, StoreResult, Wakeups};

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

/// Connections per process. Workers, dispatchers and requests share them; the wake-up
/// listener has a connection of its own.
const MAX_CONNECTIONS: u32 = 10;
/// How long a request waits for a free connection before it fails.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(10);
/// How long start-up waits for the server's first answer: a host that drops packets is
/// reported in seconds, not after the operating system gives up (minutes).
const FIRST_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Channels `NOTIFY` uses to wake other processes' workers.
const JOBS_CHANNEL: &str = "herald_jobs";
const CALLBACKS_CHANNEL: &str = "herald_callbacks";
/// The channel directory changes are announced on, so other processes' caches drop copies.
const DIRECTORY_CHANNEL: &str = "herald_directory";

pub struct PgStore {
    pool: PgPool,
    options: PgConnectOptions,
    /// Accepted messages are written in batches, one commit for many.
    accepts: group_commit::GroupCommit,
    /// Delivery results are written in batches, one commit for many.
    finishes: finish_commit::FinishCommit,
    /// Callback results are recorded in batches, one statement for many.
    callback_results: callback_commit::CallbackCommit,
    /// Rate-window reservations are decided in batches, one transaction for many.
    reservations: reservations::ReserveCommit,
}

impl PgStore {
    pub async fn connect(url: &str) -> StoreResult<Self> {
        let options = PgConnectOptions::from_str(url)?.application_name("herald");
        // One connection first, so a server that is down, a database that does not exist or
        // a refused password is reported as itself, not as a pool that timed out.
        match tokio::time::timeout(FIRST_CONNECT_TIMEOUT, PgConnection::connect_with(&options))
            .await
        {
            Ok(Ok(first)) => first.close().await?,
            Ok(Err(error)) => return Err(error.into()),
            Err(_) => {
                return Err(StoreError::Unavailable(format!(
                    "no answer within {} s",
                    FIRST_CONNECT_TIMEOUT.as_secs()
                )));
            }
        }
        let pool = PgPoolOptions::new()
            .max_connections(MAX_CONNECTIONS)
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .connect_with(options.clone())
            .await?;
        let accepts = group_commit::start(pool.clone());
        let finishes = finish_commit::start(pool.clone());
        let callback_results = callback_commit::start(pool.clone());
        let reservations = reservations::start(pool.clone());
        Ok(Self {
            pool,
            options,
            accepts,
            finishes,
            callback_results,
            reservations,
        })
    }
}

impl PgStore {
    /// A soft transaction on this store's pool (see [`soft_tx`]).
    async fn soft_tx(&self) -> StoreResult<sqlx::Transaction<'static, sqlx::Postgres>> {
        soft_tx(&self.pool).await
    }
}

/// A transaction whose commit does not wait for its WAL record to reach the disk
/// (`synchronous_commit = off`), for writes a database crash may lose without harm: callback
/// leases (a lost one is taken again, as if it had expired), rate-window reservations (re-made by the
/// retried step) and a callback's delivered mark (the callback is sent again, with the same
/// `webhook-id`). Every later ordinary commit flushes them too. Accepting a message and
/// recording what a provider was handed never use it.
async fn soft_tx(pool: &PgPool) -> StoreResult<sqlx::Transaction<'static, sqlx::Postgres>> {
    let mut tx = pool.begin().await?;
    sqlx::query("SET LOCAL synchronous_commit = off")
        .execute(&mut *tx)
        .await?;
    Ok(tx)
}

#[async_trait]
impl Lifecycle for PgStore {
    async fn migrate(&self) -> StoreResult<()> {
        // The migrator holds an advisory lock, so nodes starting together migrate one by one.
        MIGRATOR.run(&self.pool).await?;
        Ok(())
    }

    async fn ping(&self) -> StoreResult<()> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    async fn check_writable(&self) -> StoreResult<()> {
        // A committed write, not a read: a server that answers but cannot write (a full
        // disk, a standby after a failover) is not ready. An upsert always writes a row
        // version, even where an earlier probe left the same value.
        sqlx::query(
            "INSERT INTO herald_health (id, probed_at) VALUES (1, now()) \
             ON CONFLICT (id) DO UPDATE SET probed_at = excluded.probed_at",
        )
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn relay_wakeups(&self, wakeups: Wakeups, shutdown: CancellationToken) {
        wakeups::relay(self.options.clone(), wakeups, shutdown).await;
    }

    async fn announce(&self, change: Change) -> StoreResult<()> {
        sqlx::query("SELECT pg_notify($1, $2)")
            .bind(DIRECTORY_CHANNEL)
            .bind(change.to_payload())
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}

/// A time as the store keeps it: to the millisecond, like the SQLite store. Page tokens carry
/// milliseconds, and a value read back must equal the one written on either backend.
fn at(t: OffsetDateTime) -> OffsetDateTime {
    t - time::Duration::nanoseconds(i64::from(t.nanosecond() % 1_000_000))
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

/// A `jsonb` column read into its Rust type; a shape that does not fit is corrupt data.
fn from_jsonb<T: serde::de::DeserializeOwned>(
    row: &sqlx::postgres::PgRow,
    column: &str,
) -> StoreResult<T> {
    use sqlx::Row;
    let value: serde_json::Value = row.try_get(column)?;
    serde_json::from_value(value).map_err(|e| StoreError::Corrupt(format!("{column}: {e}")))
}
