//! What the store logic written once needs from a backend, and nothing more: its connections
//! and transactions, its queries, and how it encodes and decodes the values it keeps
//! differently. SQLite keeps UUIDs as TEXT, times as Unix milliseconds and JSON as TEXT;
//! PostgreSQL has `uuid`, `timestamptz` and `jsonb`. Everything else (text, numbers, flags)
//! is bound and read the same way on both, through [`Query::bind`] and [`Row::field`].
//!
//! The shared code is generic over these traits and monomorphized: a backend's calls are as
//! direct as if they were written in its own module.

use std::future::Future;
use std::ops::DerefMut;

use serde::Serialize;
use serde::de::DeserializeOwned;
use sqlx::{Decode, Encode, Postgres, SqlSafeStr, Sqlite, Type};
use time::OffsetDateTime;
use uuid::Uuid;

use super::{StoreError, StoreResult};

/// A value both backends bind the same way (text, numbers, flags, and their `Option`s).
pub trait Value<'q>:
    Encode<'q, Sqlite> + Type<Sqlite> + Encode<'q, Postgres> + Type<Postgres> + Send
{
}

impl<'q, T> Value<'q> for T where
    T: Encode<'q, Sqlite> + Type<Sqlite> + Encode<'q, Postgres> + Type<Postgres> + Send
{
}

/// A column both backends read the same way.
pub trait Column<'r>:
    Decode<'r, Sqlite> + Type<Sqlite> + Decode<'r, Postgres> + Type<Postgres>
{
}

impl<'r, T> Column<'r> for T where
    T: Decode<'r, Sqlite> + Type<Sqlite> + Decode<'r, Postgres> + Type<Postgres>
{
}

/// A store the shared logic runs on.
pub trait Backend: Send + Sync + 'static {
    type Conn: Send;
    type Row: Row;
    type Query: Query<Conn = Self::Conn, Row = Self::Row>;
    /// A connection for reads.
    type Read: DerefMut<Target = Self::Conn> + Send;
    /// A write transaction, durable once committed.
    type Tx: DerefMut<Target = Self::Conn> + Send;
    /// A write of exactly one statement, durable once committed (SQLite: no savepoint;
    /// PostgreSQL: the statement commits by itself).
    type One: DerefMut<Target = Self::Conn> + Send;

    fn query(sql: impl SqlSafeStr) -> Self::Query;
    fn read(&self) -> impl Future<Output = StoreResult<Self::Read>> + Send;
    fn begin(&self) -> impl Future<Output = StoreResult<Self::Tx>> + Send;
    fn commit(tx: Self::Tx) -> impl Future<Output = StoreResult<()>> + Send;
    fn begin_one(&self) -> impl Future<Output = StoreResult<Self::One>> + Send;
    fn commit_one(one: Self::One) -> impl Future<Output = StoreResult<()>> + Send;
    /// `t` as the backend compares and keeps it (PostgreSQL: to the millisecond; SQLite
    /// truncates only when it binds).
    fn at(t: OffsetDateTime) -> OffsetDateTime;
}

/// A query being bound, then run on a connection.
pub trait Query: Sized + Send {
    type Conn;
    type Row;

    fn bind<'t, T: Value<'t>>(self, value: T) -> Self;
    fn uuid(self, value: Uuid) -> Self;
    fn opt_uuid(self, value: Option<Uuid>) -> Self;
    fn time(self, value: OffsetDateTime) -> Self;
    fn opt_time(self, value: Option<OffsetDateTime>) -> Self;
    fn json<T: Serialize>(self, value: &T) -> StoreResult<Self>;

    /// Runs the statement; the number of rows it changed.
    fn execute(self, conn: &mut Self::Conn) -> impl Future<Output = StoreResult<u64>> + Send;
    fn fetch_optional(
        self,
        conn: &mut Self::Conn,
    ) -> impl Future<Output = StoreResult<Option<Self::Row>>> + Send;
    fn fetch_one(
        self,
        conn: &mut Self::Conn,
    ) -> impl Future<Output = StoreResult<Self::Row>> + Send;
    fn fetch_all(
        self,
        conn: &mut Self::Conn,
    ) -> impl Future<Output = StoreResult<Vec<Self::Row>>> + Send;
}

/// A row read back.
pub trait Row: Send + Sync + Sized {
    fn field<'r, T: Column<'r>>(&'r self, column: &str) -> StoreResult<T>;
    fn uuid(&self, column: &str) -> StoreResult<Uuid>;
    fn opt_uuid(&self, column: &str) -> StoreResult<Option<Uuid>>;
    fn time(&self, column: &str) -> StoreResult<OffsetDateTime>;
    fn opt_time(&self, column: &str) -> StoreResult<Option<OffsetDateTime>>;
    fn json<T: DeserializeOwned>(&self, column: &str) -> StoreResult<T>;

    /// A count kept as a 64-bit integer (attempts, sequence numbers); one that does not fit
    /// is corrupt data.
    fn count(&self, column: &str) -> StoreResult<u32> {
        let v: i64 = self.field(column)?;
        u32::try_from(v).map_err(|_| corrupt(column, &v.to_string()))
    }
}

pub(crate) fn corrupt(what: &str, value: &str) -> StoreError {
    StoreError::Corrupt(format!("{what} {value:?}"))
}
