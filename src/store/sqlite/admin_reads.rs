//! The operator's lists on SQLite, read from the reader pool (never queued behind writes).

use std::collections::HashMap;

use async_trait::async_trait;
use sqlx::Row;
use uuid::Uuid;

use super::directory::{department_from_row, user_from_row};
use super::messages::{MESSAGE_COLUMNS, json};
use super::{SqliteStore, corrupt, from_ms, ms, parse_uuid};
use crate::domain::credential::{Grant, Level, Scope};
use crate::domain::directory::{Dealer, Department, User};
use crate::domain::message::{Message, MessageStatus};
use crate::store::StoreResult;
use crate::store::admin_reads::{
    AdminReadStore, Conditions, CredentialEntry, Cursor, DealerEntry, MessageFilter,
};
use crate::store::message_rows::message_from_row;

/// A value bound to one of the message log's optional conditions.
enum Arg {
    Text(String),
    Int(i64),
}

#[async_trait]
impl AdminReadStore for SqliteStore {
    async fn dealers_page(
        &self,
        after: Option<&Cursor<Uuid>>,
        limit: u32,
    ) -> StoreResult<Vec<DealerEntry>> {
        let rows = sqlx::query(
            "SELECT uuid, name, created_at FROM dealers
             WHERE $1 IS NULL OR created_at > $1 OR (created_at = $1 AND uuid > $2)
             ORDER BY created_at, uuid LIMIT $3",
        )
        .bind(after.map(|c| ms(c.at)))
        .bind(after.map(|c| c.key.to_string()))
        .bind(i64::from(limit))
        .fetch_all(&self.reader)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(DealerEntry {
                    dealer: Dealer {
                        uuid: parse_uuid(r.get("uuid"))?,
                        name: r.get("name"),
                    },
                    created_at: from_ms(r.get("created_at"))?,
                })
            })
            .collect()
    }

    async fn departments_of(&self, dealer: Uuid) -> StoreResult<Vec<Department>> {
        let rows = sqlx::query(
            "SELECT uuid, dealer_uuid, name, settings, default_user_uuid FROM departments
             WHERE dealer_uuid = $1 ORDER BY created_at, uuid",
        )
        .bind(dealer.to_string())
        .fetch_all(&self.reader)
        .await?;
        rows.iter().map(department_from_row).collect()
    }

    async fn users_of(&self, department: Uuid) -> StoreResult<Vec<User>> {
        let rows = sqlx::query(
            "SELECT uuid, department_uuid, first_name, last_name, email, can_text, can_email, is_default
             FROM users WHERE department_uuid = $1 ORDER BY created_at, uuid",
        )
        .bind(department.to_string())
        .fetch_all(&self.reader)
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
             WHERE $1 IS NULL OR c.created_at > $1 OR (c.created_at = $1 AND c.username > $2)
             ORDER BY c.created_at, c.username LIMIT $3",
        )
        .bind(after.map(|c| ms(c.at)))
        .bind(after.map(|c| c.key.clone()))
        .bind(i64::from(limit))
        .fetch_all(&self.reader)
        .await?;
        let usernames: Vec<String> = rows.iter().map(|r| r.get("username")).collect();
        let grant_rows = sqlx::query(
            "SELECT username, scope, level, target_uuid FROM grants
             WHERE username IN (SELECT value FROM json_each($1))
             ORDER BY username, scope, level, target_uuid",
        )
        .bind(json(&usernames)?)
        .fetch_all(&self.reader)
        .await?;
        let mut grants: HashMap<String, Vec<Grant>> = HashMap::new();
        for g in &grant_rows {
            let scope: String = g.get("scope");
            let level: String = g.get("level");
            grants.entry(g.get("username")).or_default().push(Grant {
                scope: Scope::parse(&scope).ok_or_else(|| corrupt("scope", &scope))?,
                level: Level::parse(&level).ok_or_else(|| corrupt("level", &level))?,
                uuid: parse_uuid(g.get("target_uuid"))?,
            });
        }
        rows.iter()
            .map(|r| {
                let username: String = r.get("username");
                Ok(CredentialEntry {
                    grants: grants.remove(&username).unwrap_or_default(),
                    username,
                    created_at: from_ms(r.get("created_at"))?,
                    revoked_at: r
                        .get::<Option<i64>, _>("revoked_at")
                        .map(from_ms)
                        .transpose()?,
                    last_used_at: r
                        .get::<Option<i64>, _>("last_used_at")
                        .map(from_ms)
                        .transpose()?,
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
        // ACCEPTED and SENT are passed through on the way to a final status: at rest there
        // are few or none, and walking the time index for them reads every row of the log
        // (about 200 ms at 100,000 messages). Without an index of their own (it would be
        // written and removed on every send), one pass over the table and a sort of the few
        // found is faster; `+` keeps SQLite from walking the time index for the order.
        let scan = matches!(
            filter.status,
            Some(MessageStatus::Accepted | MessageStatus::Sent)
        );
        let (at, key) = if scan {
            ("+created_at", "+uuid")
        } else {
            ("created_at", "uuid")
        };
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
            w.push("dealer_uuid = ?", [Arg::Text(dealer.to_string())]);
        }
        if let Some(department) = filter.department {
            w.push("department_uuid = ?", [Arg::Text(department.to_string())]);
        }
        if let Some(customer) = filter.customer {
            w.push("customer_uuid = ?", [Arg::Text(customer.to_string())]);
        }
        if let Some(since) = filter.since {
            w.push("created_at >= ?", [Arg::Int(ms(since))]);
        }
        if let Some(until) = filter.until {
            w.push("created_at < ?", [Arg::Int(ms(until))]);
        }
        if let Some(cursor) = before {
            // A row value: the index on (..., created_at, uuid) is walked from the cursor on.
            w.push(
                &format!("({at}, {key}) < (?, ?)"),
                [Arg::Int(ms(cursor.at)), Arg::Text(cursor.key.to_string())],
            );
        }
        let sql = format!(
            "SELECT {MESSAGE_COLUMNS} FROM messages{} ORDER BY {at} DESC, {key} DESC LIMIT {limit}",
            w.where_clause()
        );
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
        for arg in w.args {
            query = match arg {
                Arg::Text(t) => query.bind(t),
                Arg::Int(i) => query.bind(i),
            };
        }
        let rows = query.fetch_all(&self.reader).await?;
        rows.iter().map(message_from_row).collect()
    }
}
