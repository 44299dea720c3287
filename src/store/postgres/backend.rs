//! PostgreSQL under the shared store logic ([`crate::store::backend`]): native `uuid`,
//! `timestamptz` (kept to the millisecond, see [`at`]) and `jsonb`.

use serde::Serialize;
use serde::de::DeserializeOwned;
use sqlx::pool::PoolConnection;
use sqlx::postgres::{PgArguments, PgRow};
use sqlx::types::Json;
use sqlx::{PgConnection, Postgres, SqlSafeStr, Transaction};
use time::OffsetDateTime;
use uuid::Uuid;

use super::{PgStore, at, from_jsonb};
use crate::store::StoreResult;
use crate::store::backend::{Backend, Column, Query, Row, Value};

pub struct PgQuery(sqlx::query::Query<'static, Postgres, PgArguments>);

impl Backend for PgStore {
    type Conn = PgConnection;
    type Row = PgRow;
    type Query = PgQuery;
    type Read = PoolConnection<Postgres>;
    type Tx = Transaction<'static, Postgres>;
    type One = PoolConnection<Postgres>;

    fn query(sql: impl SqlSafeStr) -> PgQuery {
        PgQuery(sqlx::query(sql))
    }

    async fn read(&self) -> StoreResult<Self::Read> {
        Ok(self.pool.acquire().await?)
    }

    async fn begin(&self) -> StoreResult<Self::Tx> {
        Ok(self.pool.begin().await?)
    }

    async fn commit(tx: Self::Tx) -> StoreResult<()> {
        Ok(tx.commit().await?)
    }

    async fn begin_one(&self) -> StoreResult<Self::One> {
        Ok(self.pool.acquire().await?)
    }

    async fn commit_one(_one: Self::One) -> StoreResult<()> {
        Ok(())
    }

    fn at(t: OffsetDateTime) -> OffsetDateTime {
        at(t)
    }
}

impl Query for PgQuery {
    type Conn = PgConnection;
    type Row = PgRow;

    fn bind<'t, T: Value<'t>>(self, value: T) -> Self {
        Self(self.0.bind(value))
    }

    fn uuid(self, value: Uuid) -> Self {
        Self(self.0.bind(value))
    }

    fn opt_uuid(self, value: Option<Uuid>) -> Self {
        Self(self.0.bind(value))
    }

    fn time(self, value: OffsetDateTime) -> Self {
        Self(self.0.bind(at(value)))
    }

    fn opt_time(self, value: Option<OffsetDateTime>) -> Self {
        Self(self.0.bind(value.map(at)))
    }

    fn json<T: Serialize>(self, value: &T) -> StoreResult<Self> {
        Ok(Self(self.0.bind(Json(value))))
    }

    async fn execute(self, conn: &mut PgConnection) -> StoreResult<u64> {
        Ok(self.0.execute(conn).await?.rows_affected())
    }

    async fn fetch_optional(self, conn: &mut PgConnection) -> StoreResult<Option<PgRow>> {
        Ok(self.0.fetch_optional(conn).await?)
    }

    async fn fetch_one(self, conn: &mut PgConnection) -> StoreResult<PgRow> {
        Ok(self.0.fetch_one(conn).await?)
    }

    async fn fetch_all(self, conn: &mut PgConnection) -> StoreResult<Vec<PgRow>> {
        Ok(self.0.fetch_all(conn).await?)
    }
}

impl Row for PgRow {
    fn field<'r, T: Column<'r>>(&'r self, column: &str) -> StoreResult<T> {
        Ok(sqlx::Row::try_get(self, column)?)
    }

    fn uuid(&self, column: &str) -> StoreResult<Uuid> {
        Ok(sqlx::Row::try_get(self, column)?)
    }

    fn opt_uuid(&self, column: &str) -> StoreResult<Option<Uuid>> {
        Ok(sqlx::Row::try_get(self, column)?)
    }

    fn time(&self, column: &str) -> StoreResult<OffsetDateTime> {
        Ok(sqlx::Row::try_get(self, column)?)
    }

    fn opt_time(&self, column: &str) -> StoreResult<Option<OffsetDateTime>> {
        Ok(sqlx::Row::try_get(self, column)?)
    }

    fn json<T: DeserializeOwned>(&self, column: &str) -> StoreResult<T> {
        from_jsonb(self, column)
    }
}
