//! The operator's lists on PostgreSQL.

use std::collections::HashMap;

use async_trait::async_trait;
use sqlx::Row;
use time::OffsetDateTime;
use uuid::Uuid;

use super::directory::{department_from_row, user_from_row};
use super::messages::MESSAGE_COLUMNS;
use super::{PgStore, at, corrupt};
use crate::domain::credential::{Grant, Level, Scope};
use crate::domain::directory::{Dealer, Department, User};
use crate::domain::message::Message;
use crate::store::StoreResult;
use crate::store::admin_reads::{
    AdminReadStore, Conditions, CredentialEntry, Cursor, DealerEntry, MessageFilter,
};
use crate::store::message_rows::message_from_row;

/// A value bound to one of the message log's optional conditions.
enum Arg {
    Text(String),
    Uuid(Uuid),
    Time(OffsetDateTime),
}

#[async_trait]
impl AdminReadStore for PgStore {
    async fn dealers_page(
        &self,
        after: Option<&Cursor<Uuid>>,
        limit: u32,
    ) -> StoreResult<Vec<DealerEntry>> {
        let rows =
            match after {
                None => sqlx::query(
                    "SELECT uuid, name, created_at FROM dealers ORDER BY created_at, uuid LIMIT $1",
                )
                .bind(i64::from(limit))
                .fetch_all(&self.pool)
                .await?,
                Some(cursor) => sqlx::query(
                    "SELECT uuid, name, created_at FROM dealers WHERE (created_at, uuid) > ($1, $2)
                     ORDER BY created_at, uuid LIMIT $3",
                )
                .bind(at(cursor.at))
                .bind(cursor.key)
                .bind(i64::from(limit))
                .fetch_all(&self.pool)
                .await?,
            };
        rows.iter()
            .map(|r| {
                Ok(DealerEntry {
                    dealer: Dealer {
                        uuid: r.try_get("uuid")?,
                        name: r.try_get("name")?,
                    },
                    created_at: r.try_get("created_at")?,
                })
            })
            .collect()
    }

    async fn departments_of(&self, dealer: Uuid) -> StoreResult<Vec<Department>> {
        let rows = sqlx::query(
            "SELECT uuid, dealer_uuid, name, settings, default_user_uuid FROM departments
             WHERE dealer_uuid = $1 ORDER BY created_at, uuid",
        )
        .bind(dealer)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(department_from_row).collect()
    }

    async fn users_of(&self, department: Uuid) -> StoreResult<Vec<User>> {
        let rows = sqlx::query(
            "SELECT uuid, department_uuid, first_name, last_name, email, can_text, can_email, is_default
             FROM users WHERE department_uuid = $1 ORDER BY created_at, uuid",
        )
        .bind(department)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(user_from_row).collect()
    }

    async fn credentials_page(
        &self,
        after: Option<&Cursor<String>>,
        limit: u32,
    ) -> StoreResult<Vec<CredentialEntry>> {
        let rows = sqlx::query(
            "SELECT c.username, c.created_at, c.revoked_at, c.last_used_at FROM credentials c
             WHERE $1::timestamptz IS NULL OR (c.created_at, c.username) > ($1, $2)
             ORDER BY c.created_at, c.username LIMIT $3",
        )
        .bind(after.map(|c| at(c.at)))
        .bind(after.map(|c| c.key.clone()))
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        let usernames = rows
            .iter()
            .map(|r| r.try_get("username"))
            .collect::<Result<Vec<String>, _>>()?;
        let grant_rows = sqlx::query(
            "SELECT username, scope, level, target_uuid FROM grants WHERE username = ANY($1)
             ORDER BY username, scope, level, target_uuid",
        )
        .bind(&usernames)
        .fetch_all(&self.pool)
        .await?;
        let mut grants: HashMap<String, Vec<Grant>> = HashMap::new();
        for g in &grant_rows {
            let scope: String = g.try_get("scope")?;
            let level: String = g.try_get("level")?;
            grants
                .entry(g.try_get("username")?)
                .or_default()
                .push(Grant {
                    scope: Scope::parse(&scope).ok_or_else(|| corrupt("scope", &scope))?,
                    level: Level::parse(&level).ok_or_else(|| corrupt("level", &level))?,
                    uuid: g.try_get("target_uuid")?,
                });
        }
        rows.iter()
            .map(|r| {
                let username: String = r.try_get("username")?;
                Ok(CredentialEntry {
                    grants: grants.remove(&username).unwrap_or_default(),
                    username,
                    created_at: r.try_get("created_at")?,
                    revoked_at: r.try_get("revoked_at")?,
                    last_used_at: r.try_get("last_used_at")?,
                })
            })
            .collect()
    }

    async fn messages_page(
        &self,
        filter: &MessageFilter,
        before: Option<&Cursor<Uuid>>,
        limit: u32,
    ) -> StoreResult<Vec<Message>> {
        let mut w = Conditions::<Arg>::default();
        if let Some(status) = filter.status {
            // A literal, not a bound value: both planners then match the partial index of
            // a rare status (messages_failed, ...), which a parameter would hide.
            w.push(&format!("status = '{}'", status.as_str()), []);
        }
        if let Some(protocol) = filter.protocol {
            w.push("protocol = ?", [Arg::Text(protocol.as_str().into())]);
        }
        if let Some(dealer) = filter.dealer {
            w.push("dealer_uuid = ?", [Arg::Uuid(dealer)]);
        }
        if let Some(department) = filter.department {
            w.push("department_uuid = ?", [Arg::Uuid(department)]);
        }
        if let Some(customer) = filter.customer {
            w.push("customer_uuid = ?", [Arg::Uuid(customer)]);
        }
        if let Some(since) = filter.since {
            w.push("created_at >= ?", [Arg::Time(at(since))]);
        }
        if let Some(until) = filter.until {
            w.push("created_at < ?", [Arg::Time(at(until))]);
        }
        if let Some(cursor) = before {
            // A row comparison walks the index on (..., created_at, uuid) from the cursor on.
            w.push(
                "(created_at, uuid) < (?, ?)",
                [Arg::Time(at(cursor.at)), Arg::Uuid(cursor.key)],
            );
        }
        let sql = format!(
            "SELECT {MESSAGE_COLUMNS} FROM messages{} ORDER BY created_at DESC, uuid DESC LIMIT {limit}",
            w.where_clause()
        );
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
        for arg in w.args {
            query = match arg {
                Arg::Text(t) => query.bind(t),
                Arg::Uuid(u) => query.bind(u),
                Arg::Time(t) => query.bind(t),
            };
        }
        let rows = query.fetch_all(&self.pool).await?;
        rows.iter().map(message_from_row).collect()
    }
}
