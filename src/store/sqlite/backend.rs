//! SQLite under the shared store logic ([`crate::store::backend`]): UUIDs as TEXT, times as
//! Unix milliseconds, JSON as TEXT; reads from the reader pool, writes through the writer.

use serde::Serialize;
use serde::de::DeserializeOwned;
use sqlx::pool::PoolConnection;
use sqlx::sqlite::{SqliteArguments, SqliteRow};
use sqlx::{SqlSafeStr, Sqlite, SqliteConnection};
use time::OffsetDateTime;
use uuid::Uuid;

use super::messages::json;
use super::{SqliteStore, from_ms, ms, parse_uuid, writer};
use crate::store::StoreResult;
use crate::store::backend::{Backend, Column, Query, Row, Value};

pub struct LiteQuery(sqlx::query::Query<'static, Sqlite, SqliteArguments>);

impl Backend for SqliteStore {
    type Conn = SqliteConnection;
    type Row = SqliteRow;
    type Query = LiteQuery;
    type Read = PoolConnection<Sqlite>;
    type Tx = writer::WriteTx;
    type One = writer::WriteTx;

    fn query(sql: impl SqlSafeStr) -> LiteQuery {
        LiteQuery(sqlx::query(sql))
    }

    async fn read(&self) -> StoreResult<Self::Read> {
        Ok(self.reader.acquire().await?)
    }

    async fn begin(&self) -> StoreResult<Self::Tx> {
        self.write_tx().await
    }

    async fn commit(tx: Self::Tx) -> StoreResult<()> {
        tx.commit().await
    }

    async fn begin_one(&self) -> StoreResult<Self::One> {
        self.write_statement().await
    }

    async fn commit_one(one: Self::One) -> StoreResult<()> {
        one.commit().await
    }

    fn at(t: OffsetDateTime) -> OffsetDateTime {
        t
    }
}

impl Query for LiteQuery {
    type Conn = SqliteConnection;
    type Row = SqliteRow;

    fn bind<'t, T: Value<'t>>(self, value: T) -> Self {
        Self(self.0.bind(value))
    }

    fn uuid(self, value: Uuid) -> Self {
        Self(self.0.bind(value.to_string()))
    }

    fn opt_uuid(self, value: Option<Uuid>) -> Self {
        Self(self.0.bind(value.map(|u| u.to_string())))
    }

    fn time(self, value: OffsetDateTime) -> Self {
        Self(self.0.bind(ms(value)))
    }

    fn opt_time(self, value: Option<OffsetDateTime>) -> Self {
        Self(self.0.bind(value.map(ms)))
    }

    fn json<T: Serialize>(self, value: &T) -> StoreResult<Self> {
        Ok(Self(self.0.bind(json(value)?)))
    }

    async fn execute(self, conn: &mut SqliteConnection) -> StoreResult<u64> {
        Ok(self.0.execute(conn).await?.rows_affected())
    }

    async fn fetch_optional(self, conn: &mut SqliteConnection) -> StoreResult<Option<SqliteRow>> {
        Ok(self.0.fetch_optional(conn).await?)
    }

    async fn fetch_one(self, conn: &mut SqliteConnection) -> StoreResult<SqliteRow> {
        Ok(self.0.fetch_one(conn).await?)
    }

    async fn fetch_all(self, conn: &mut SqliteConnection) -> StoreResult<Vec<SqliteRow>> {
        Ok(self.0.fetch_all(conn).await?)
    }
}

impl Row for SqliteRow {
    fn field<'r, T: Column<'r>>(&'r self, column: &str) -> StoreResult<T> {
        Ok(sqlx::Row::try_get(self, column)?)
    }

    fn uuid(&self, column: &str) -> StoreResult<Uuid> {
        parse_uuid(sqlx::Row::try_get(self, column)?)
    }

    fn opt_uuid(&self, column: &str) -> StoreResult<Option<Uuid>> {
        let text: Option<&str> = sqlx::Row::try_get(self, column)?;
        text.map(parse_uuid).transpose()
    }

    fn time(&self, column: &str) -> StoreResult<OffsetDateTime> {
        from_ms(sqlx::Row::try_get(self, column)?)
    }

    fn opt_time(&self, column: &str) -> StoreResult<Option<OffsetDateTime>> {
        let v: Option<i64> = sqlx::Row::try_get(self, column)?;
        v.map(from_ms).transpose()
    }

    fn json<T: DeserializeOwned>(&self, column: &str) -> StoreResult<T> {
        let text: &str = sqlx::Row::try_get(self, column)?;
        serde_json::from_str(text)
            .map_err(|e| crate::store::StoreError::Corrupt(format!("json: {e}")))
    }
}
