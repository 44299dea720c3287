//! The persistence boundary. Handlers and workers talk to [`Store`] only; each backend lives in
//! its own module with its own migrations, and one conformance suite (`tests/store`) runs
//! against every backend so they cannot drift apart.

use std::sync::Arc;

use async_trait::async_trait;
use time::OffsetDateTime;
use tokio::sync::{Notify, broadcast};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::config::{Backend, DatabaseUrl};
use crate::domain::credential::Credential;
use crate::domain::directory::{Dealer, Department, User};

pub mod admin_actions;
pub mod admin_ops;
pub mod admin_reads;
pub mod attachments;
mod backend;
pub mod backup;
mod batcher;
pub mod blacklist;
mod cached;
mod compliance;
mod compliance_rows;
mod connect_error;
mod customers;
mod directory_rows;
mod message_rows;
mod message_store;
pub mod messages;
pub mod postgres;
mod queued;
pub mod sqlite;

pub use admin_actions::AdminActionStore;
pub use admin_ops::AdminOpsStore;
pub use admin_reads::AdminReadStore;
pub use attachments::{AttachmentStore, MediaKey, StoredAttachment};
pub use cached::CachedStore;
pub use compliance::{
    ComplianceStore, CustomerLock, LockOutcome, OptChange, OptHistoryEntry, UnlockOutcome,
};
pub use customers::{CustomerQuery, CustomerStore, EmailFlags, EmailOptChange};
pub use messages::*;

pub type StoreResult<T> = Result<T, StoreError>;

/// A backend-neutral storage failure. Its details are for the log, never for a client.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("migration failed: {0}")]
    Migration(#[from] sqlx::migrate::MigrateError),
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
    #[error("{0} already exists")]
    Conflict(&'static str),
    /// The sender number (E.164) is texted from by a department of another dealer.
    #[error("sender number {0} is in use by another dealer")]
    SenderNumberInUse(String),
    #[error("database unavailable: {0}")]
    Unavailable(String),
}

impl StoreError {
    /// The database could not be reached at all (no connection, the connection broke, the
    /// server shutting down): trying the same writes again one by one cannot help.
    pub fn is_unreachable(&self) -> bool {
        match self {
            StoreError::Unavailable(_) => true,
            StoreError::Database(
                sqlx::Error::Io(_)
                | sqlx::Error::Tls(_)
                | sqlx::Error::PoolTimedOut
                | sqlx::Error::PoolClosed
                | sqlx::Error::WorkerCrashed,
            ) => true,
            StoreError::Database(sqlx::Error::Database(db)) => db
                .code()
                .is_some_and(|state| state.starts_with("08") || state.starts_with("57")),
            _ => false,
        }
    }
}

/// Everything Herald keeps. Split by subject so each backend implements it file by file.
pub trait Store:
    Lifecycle
    + DirectoryStore
    + CredentialStore
    + CustomerStore
    + ComplianceStore
    + MessageStore
    + AdminReadStore
    + AdminActionStore
    + AdminOpsStore
    + AttachmentStore
{
}
impl<T> Store for T where
    T: Lifecycle
        + DirectoryStore
        + CredentialStore
        + CustomerStore
        + ComplianceStore
        + MessageStore
        + AdminReadStore
        + AdminActionStore
        + AdminOpsStore
        + AttachmentStore
{
}

#[async_trait]
pub trait Lifecycle: Send + Sync + 'static {
    /// Runs this backend's pending migrations.
    async fn migrate(&self) -> StoreResult<()>;
    /// Succeeds when the database answers.
    async fn ping(&self) -> StoreResult<()>;
    /// Succeeds when the database takes a write now (one probe row, rewritten the way every
    /// write is); fails while writes fail, e.g. on a full disk. What `/readyz` asks.
    async fn check_writable(&self) -> StoreResult<()>;
    /// Wakes this process's workers when another process queues work, until `shutdown`.
    /// Backends shared by several processes override it; workers also poll, so a backend
    /// without a wake-up channel only adds latency, never loses work.
    async fn relay_wakeups(&self, _wakeups: Wakeups, _shutdown: CancellationToken) {}
    /// Tells the other processes sharing this database that `change` happened, so their
    /// caches drop their copies (relayed to them through [`Wakeups::changes`]). Backends
    /// without other processes to tell keep the default.
    async fn announce(&self, _change: Change) -> StoreResult<()> {
        Ok(())
    }
}

/// The in-process signals that wake idle workers, and the changes other processes announce.
#[derive(Clone)]
pub struct Wakeups {
    pub jobs: Arc<Notify>,
    pub callbacks: Arc<Notify>,
    pub changes: broadcast::Sender<Change>,
}

impl Default for Wakeups {
    fn default() -> Self {
        Self {
            jobs: Arc::default(),
            callbacks: Arc::default(),
            changes: broadcast::channel(1024).0,
        }
    }
}

/// A directory row some process changed: every process's cache drops its copy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    Department(Uuid),
    User(Uuid),
    Customer(Uuid),
    /// Several customers of one dealer (an address's flags changed wherever it is registered).
    DealerCustomers(Uuid),
    /// The lock on one customer.
    Lock(Uuid),
    /// Anything may have changed (notifications were missed).
    Everything,
}

impl Change {
    /// The text sent between processes: `kind:uuid`.
    pub fn to_payload(self) -> String {
        match self {
            Change::Department(u) => format!("department:{u}"),
            Change::User(u) => format!("user:{u}"),
            Change::Customer(u) => format!("customer:{u}"),
            Change::DealerCustomers(u) => format!("dealer-customers:{u}"),
            Change::Lock(u) => format!("lock:{u}"),
            Change::Everything => "everything".into(),
        }
    }

    /// Reads a payload; anything unreadable means "assume everything changed".
    pub fn from_payload(payload: &str) -> Change {
        let Some((kind, uuid)) = payload.split_once(':') else {
            return Change::Everything;
        };
        let Ok(uuid) = Uuid::parse_str(uuid) else {
            return Change::Everything;
        };
        match kind {
            "department" => Change::Department(uuid),
            "user" => Change::User(uuid),
            "customer" => Change::Customer(uuid),
            "dealer-customers" => Change::DealerCustomers(uuid),
            "lock" => Change::Lock(uuid),
            _ => Change::Everything,
        }
    }
}

#[async_trait]
pub trait DirectoryStore: Send + Sync + 'static {
    /// Inserts a dealer, stamped as created at `now`.
    async fn insert_dealer(&self, dealer: &Dealer, now: OffsetDateTime) -> StoreResult<()>;
    async fn dealer(&self, uuid: Uuid) -> StoreResult<Option<Dealer>>;
    /// Inserts a department together with its default associate, in one transaction, both
    /// stamped as created at `now`.
    async fn insert_department(
        &self,
        department: &Department,
        default_user: &User,
        now: OffsetDateTime,
    ) -> StoreResult<()>;
    async fn department(&self, uuid: Uuid) -> StoreResult<Option<Department>>;
    /// Replaces a department's name and settings.
    async fn update_department(&self, department: &Department) -> StoreResult<()>;
    /// Inserts a user, stamped as created at `now`.
    async fn insert_user(&self, user: &User, now: OffsetDateTime) -> StoreResult<()>;
    async fn user(&self, uuid: Uuid) -> StoreResult<Option<User>>;
}

#[async_trait]
pub trait CredentialStore: Send + Sync + 'static {
    /// Inserts a credential, or replaces the secret, webhook secret and grants of the one with
    /// the same username (and un-revokes it).
    async fn put_credential(&self, credential: &Credential, now: OffsetDateTime)
    -> StoreResult<()>;
    async fn credential(&self, username: &str) -> StoreResult<Option<Credential>>;
    /// Returns false when no such credential exists.
    async fn revoke_credential(&self, username: &str, now: OffsetDateTime) -> StoreResult<bool>;
    /// Records that `username` authenticated at `at` (never moving the stamp back).
    async fn touch_credential(&self, username: &str, at: OffsetDateTime) -> StoreResult<()>;
}

/// Opens the store a database URL names (creating an SQLite file if needed). Does not migrate.
/// A failure names the database and says what to try (see [`connect_error`]).
pub async fn connect(url: &DatabaseUrl) -> anyhow::Result<Arc<dyn Store>> {
    match url.backend()? {
        Backend::Sqlite => Ok(Arc::new(
            sqlite::SqliteStore::connect(url.expose())
                .await
                .map_err(|e| connect_error::sqlite(url, &e))?,
        )),
        Backend::Postgres => Ok(Arc::new(
            postgres::PgStore::connect(url.expose())
                .await
                .map_err(|e| connect_error::postgres(url, &e))?,
        )),
    }
}

/// [`connect`], then brings the schema up to date; a failed migration is described the same way.
pub async fn open(url: &DatabaseUrl) -> anyhow::Result<Arc<dyn Store>> {
    let store = connect(url).await?;
    store.migrate().await.map_err(|e| match url.backend() {
        Ok(Backend::Postgres) => connect_error::postgres(url, &e),
        _ => connect_error::sqlite(url, &e),
    })?;
    Ok(store)
}

/// `herald migrate`: brings the schema up to date and exits.
pub async fn migrate_only(url: &DatabaseUrl) -> anyhow::Result<()> {
    open(url).await?;
    tracing::info!(database = ?url, "migrations applied");
    Ok(())
}
