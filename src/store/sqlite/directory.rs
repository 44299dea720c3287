use async_trait::async_trait;
use sqlx::Row;
use time::OffsetDateTime;
use uuid::Uuid;

use super::{SqliteStore, conflict_as, ms};
use crate::domain::directory::{Dealer, Department, DepartmentSettings, User};
pub(super) use crate::store::directory_rows::{department_from_row, user_from_row};
use crate::store::{DirectoryStore, StoreError, StoreResult};

#[async_trait]
impl DirectoryStore for SqliteStore {
    async fn insert_dealer(&self, dealer: &Dealer, now: OffsetDateTime) -> StoreResult<()> {
        let mut tx = self.write_statement().await?;
        sqlx::query("INSERT INTO dealers (uuid, name, created_at) VALUES ($1, $2, $3)")
            .bind(dealer.uuid.to_string())
            .bind(&dealer.name)
            .bind(ms(now))
            .execute(&mut *tx)
            .await
            .map_err(conflict_as("dealer"))?;
        tx.commit().await?;
        Ok(())
    }

    async fn dealer(&self, uuid: Uuid) -> StoreResult<Option<Dealer>> {
        let row = sqlx::query("SELECT name FROM dealers WHERE uuid = $1")
            .bind(uuid.to_string())
            .fetch_optional(&self.reader)
            .await?;
        Ok(row.map(|r| Dealer {
            uuid,
            name: r.get("name"),
        }))
    }

    async fn insert_department(
        &self,
        department: &Department,
        default_user: &User,
        now: OffsetDateTime,
    ) -> StoreResult<()> {
        let mut tx = self.write_tx().await?;
        if let Some(number) = sender_number(department) {
            claim_sender(&mut tx, &number, department.dealer_uuid).await?;
        }
        sqlx::query(
            "INSERT INTO departments (uuid, dealer_uuid, name, settings, default_user_uuid, created_at, text_sender_number)
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(department.uuid.to_string())
        .bind(department.dealer_uuid.to_string())
        .bind(&department.name)
        .bind(settings_json(&department.settings)?)
        .bind(default_user.uuid.to_string())
        .bind(ms(now))
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
        .bind(uuid.to_string())
        .fetch_optional(&self.reader)
        .await?;
        row.as_ref().map(department_from_row).transpose()
    }

    async fn update_department(&self, department: &Department) -> StoreResult<()> {
        let mut tx = self.write_tx().await?;
        let previous: Option<String> =
            sqlx::query_scalar("SELECT text_sender_number FROM departments WHERE uuid = $1")
                .bind(department.uuid.to_string())
                .fetch_optional(&mut *tx)
                .await?
                .flatten();
        let next = sender_number(department);
        // Only a number the department takes anew is checked: one a department kept from
        // before the rule (shared with another dealer) can still be edited around.
        if next != previous
            && let Some(number) = &next
        {
            claim_sender(&mut tx, number, department.dealer_uuid).await?;
        }
        sqlx::query(
            "UPDATE departments SET name = $2, settings = $3, text_sender_number = $4 WHERE uuid = $1",
        )
        .bind(department.uuid.to_string())
        .bind(&department.name)
        .bind(settings_json(&department.settings)?)
        .bind(&next)
        .execute(&mut *tx)
        .await?;
        if let Some(old) = previous.filter(|p| next.as_ref() != Some(p)) {
            release_sender(&mut tx, &old).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn insert_user(&self, user: &User, now: OffsetDateTime) -> StoreResult<()> {
        let mut tx = self.write_tx().await?;
        insert_user(&mut tx, user, now).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn user(&self, uuid: Uuid) -> StoreResult<Option<User>> {
        let row = sqlx::query(
            "SELECT uuid, department_uuid, first_name, last_name, email, can_text, can_email, is_default
             FROM users WHERE uuid = $1",
        )
        .bind(uuid.to_string())
        .fetch_optional(&self.reader)
        .await?;
        row.as_ref().map(user_from_row).transpose()
    }
}

/// Takes `number` for `dealer`, or finds it is the dealer's already; refused when another
/// dealer's departments text from it. The store's single writer runs this inside the
/// department's own write, so two requests can never both take one number.
async fn claim_sender(
    conn: &mut sqlx::SqliteConnection,
    number: &str,
    dealer: Uuid,
) -> StoreResult<()> {
    let dealer = dealer.to_string();
    sqlx::query(
        "INSERT INTO sender_numbers (number, dealer_uuid) VALUES ($1, $2) ON CONFLICT (number) DO NOTHING",
    )
    .bind(number)
    .bind(&dealer)
    .execute(&mut *conn)
    .await?;
    let owner: String =
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

/// After a department stopped texting from `number`: it stays with its dealer while another
/// of that dealer's departments texts from it, else goes to the dealer of the oldest
/// department still texting from it (one kept from before the rule), else is free.
async fn release_sender(conn: &mut sqlx::SqliteConnection, number: &str) -> StoreResult<()> {
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

async fn insert_user(
    tx: &mut sqlx::SqliteConnection,
    user: &User,
    now: OffsetDateTime,
) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO users (uuid, department_uuid, first_name, last_name, email, can_text, can_email, is_default, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(user.uuid.to_string())
    .bind(user.department_uuid.to_string())
    .bind(&user.first_name)
    .bind(&user.last_name)
    .bind(user.email.as_ref().map(|e| e.as_str().to_string()))
    .bind(user.can_text)
    .bind(user.can_email)
    .bind(user.is_default)
    .bind(ms(now))
    .execute(tx)
    .await
    .map_err(conflict_as("user"))?;
    Ok(())
}

fn settings_json(settings: &DepartmentSettings) -> StoreResult<String> {
    serde_json::to_string(settings).map_err(|e| StoreError::Corrupt(format!("settings: {e}")))
}

fn sender_number(department: &Department) -> Option<String> {
    department
        .settings
        .text_sender_number
        .as_ref()
        .map(|n| n.as_str().to_string())
}
