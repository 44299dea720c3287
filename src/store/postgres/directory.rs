use std::collections::BTreeSet;

use async_trait::async_trait;
use sqlx::types::Json;
use sqlx::{PgConnection, Row};
use time::OffsetDateTime;
use uuid::Uuid;

use super::{PgStore, at, conflict_as};
use crate::domain::directory::{Dealer, Department, User};
pub(super) use crate::store::directory_rows::{department_from_row, user_from_row};
use crate::store::{DirectoryStore, StoreError, StoreResult};

#[async_trait]
impl DirectoryStore for PgStore {
    async fn insert_dealer(&self, dealer: &Dealer, now: OffsetDateTime) -> StoreResult<()> {
        sqlx::query("INSERT INTO dealers (uuid, name, created_at) VALUES ($1, $2, $3)")
            .bind(dealer.uuid)
            .bind(&dealer.name)
            .bind(at(now))
            .execute(&self.pool)
            .await
            .map_err(conflict_as("dealer"))?;
        Ok(())
    }

    async fn dealer(&self, uuid: Uuid) -> StoreResult<Option<Dealer>> {
        let row = sqlx::query("SELECT name FROM dealers WHERE uuid = $1")
            .bind(uuid)
            .fetch_optional(&self.pool)
            .await?;
        row.map(|r| {
            Ok(Dealer {
                uuid,
                name: r.try_get("name")?,
            })
        })
        .transpose()
    }

    async fn insert_department(
        &self,
        department: &Department,
        default_user: &User,
        now: OffsetDateTime,
    ) -> StoreResult<()> {
        let mut tx = self.pool.begin().await?;
        if let Some(number) = sender_number(department) {
            lock_senders(&mut tx, &[number]).await?;
            claim_sender(&mut tx, number, department.dealer_uuid).await?;
        }
        sqlx::query(
            "INSERT INTO departments (uuid, dealer_uuid, name, settings, default_user_uuid, created_at, text_sender_number)
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(department.uuid)
        .bind(department.dealer_uuid)
        .bind(&department.name)
        .bind(Json(&department.settings))
        .bind(default_user.uuid)
        .bind(at(now))
        .bind(sender_number(department))
        .execute(&mut *tx)
        .await
        .map_err(conflict_as("department"))?;
        insert_user(&mut tx, default_user, now).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn department(&self, uuid: Uuid) -> StoreResult<Option<Department>> {
        let row = sqlx::query(
            "SELECT uuid, dealer_uuid, name, settings, default_user_uuid FROM departments WHERE uuid = $1",
        )
        .bind(uuid)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(department_from_row).transpose()
    }

    async fn update_department(&self, department: &Department) -> StoreResult<()> {
        let mut tx = self.pool.begin().await?;
        // The row first, then the numbers: every writer takes its locks in this order.
        let previous: Option<String> = sqlx::query_scalar(
            "SELECT text_sender_number FROM departments WHERE uuid = $1 FOR UPDATE",
        )
        .bind(department.uuid)
        .fetch_optional(&mut *tx)
        .await?
        .flatten();
        let next = sender_number(department);
        let changed = next != previous.as_deref();
        if changed {
            let numbers: Vec<&str> = previous.as_deref().into_iter().chain(next).collect();
            lock_senders(&mut tx, &numbers).await?;
            // Only a number the department takes anew is checked: one a department kept
            // from before the rule (shared with another dealer) can still be edited around.
            if let Some(number) = next {
                claim_sender(&mut tx, number, department.dealer_uuid).await?;
            }
        }
        sqlx::query(
            "UPDATE departments SET name = $2, settings = $3, text_sender_number = $4 WHERE uuid = $1",
        )
        .bind(department.uuid)
        .bind(&department.name)
        .bind(Json(&department.settings))
        .bind(next)
        .execute(&mut *tx)
        .await?;
        if changed && let Some(old) = &previous {
            release_sender(&mut tx, old).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn insert_user(&self, user: &User, now: OffsetDateTime) -> StoreResult<()> {
        let mut conn = self.pool.acquire().await?;
        insert_user(&mut conn, user, now).await
    }

    async fn user(&self, uuid: Uuid) -> StoreResult<Option<User>> {
        let row = sqlx::query(
            "SELECT uuid, department_uuid, first_name, last_name, email, can_text, can_email, is_default
             FROM users WHERE uuid = $1",
        )
        .bind(uuid)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(user_from_row).transpose()
    }
}

/// Serialises every claim and release of these numbers across nodes until the transaction
/// ends, so each statement after it sees what the one before decided. Taken in one order.
async fn lock_senders(conn: &mut PgConnection, numbers: &[&str]) -> StoreResult<()> {
    let keys: Vec<String> = numbers
        .iter()
        .map(|n| format!("sender:{n}"))
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    sqlx::query(
        "SELECT pg_advisory_xact_lock(hashtextextended(k, 0))
         FROM (SELECT k FROM UNNEST($1::text[]) AS k ORDER BY k) AS sorted",
    )
    .bind(&keys)
    .execute(conn)
    .await?;
    Ok(())
}

/// Takes `number` for `dealer`, or finds it is the dealer's already; refused when another
/// dealer's departments text from it. Under [`lock_senders`]; the primary key of
/// `sender_numbers` would stop a second owner even without it.
async fn claim_sender(conn: &mut PgConnection, number: &str, dealer: Uuid) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO sender_numbers (number, dealer_uuid) VALUES ($1, $2) ON CONFLICT (number) DO NOTHING",
    )
    .bind(number)
    .bind(dealer)
    .execute(&mut *conn)
    .await?;
    let owner: Uuid =
        sqlx::query_scalar("SELECT dealer_uuid FROM sender_numbers WHERE number = $1")
            .bind(number)
            .fetch_one(&mut *conn)
            .await?;
    if owner == dealer {
        Ok(())
    } else {
        Err(StoreError::SenderNumberInUse(number.to_string()))
    }
}

/// After a department stopped texting from `number` (under [`lock_senders`]): it stays with
/// its dealer while another of that dealer's departments texts from it, else goes to the
/// dealer of the oldest department still texting from it (one kept from before the rule),
/// else is free.
async fn release_sender(conn: &mut PgConnection, number: &str) -> StoreResult<()> {
    sqlx::query(
        "DELETE FROM sender_numbers WHERE number = $1
           AND NOT EXISTS (SELECT 1 FROM departments WHERE text_sender_number = $1)",
    )
    .bind(number)
    .execute(&mut *conn)
    .await?;
    sqlx::query(
        "UPDATE sender_numbers SET dealer_uuid = (
             SELECT dealer_uuid FROM departments WHERE text_sender_number = $1
             ORDER BY created_at, uuid LIMIT 1)
         WHERE number = $1
           AND NOT EXISTS (SELECT 1 FROM departments
                           WHERE text_sender_number = $1 AND dealer_uuid = sender_numbers.dealer_uuid)",
    )
    .bind(number)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

async fn insert_user(conn: &mut PgConnection, user: &User, now: OffsetDateTime) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO users (uuid, department_uuid, first_name, last_name, email, can_text, can_email, is_default, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(user.uuid)
    .bind(user.department_uuid)
    .bind(&user.first_name)
    .bind(&user.last_name)
    .bind(user.email.as_ref().map(|e| e.as_str()))
    .bind(user.can_text)
    .bind(user.can_email)
    .bind(user.is_default)
    .bind(at(now))
    .execute(conn)
    .await
    .map_err(conflict_as("user"))?;
    Ok(())
}

fn sender_number(department: &Department) -> Option<&str> {
    department
        .settings
        .text_sender_number
        .as_ref()
        .map(|n| n.as_str())
}
