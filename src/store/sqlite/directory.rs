use async_trait::async_trait;
use sqlx::Row;
use sqlx::sqlite::SqliteRow;
use time::OffsetDateTime;
use uuid::Uuid;

use super::{SqliteStore, conflict_as, ms, parse_uuid};
use crate::domain::EmailAddress;
use crate::domain::directory::{Dealer, Department, DepartmentSettings, User};
use crate::store::{DirectoryStore, StoreError, StoreResult};

#[async_trait]
impl DirectoryStore for SqliteStore {
    async fn insert_dealer(&self, dealer: &Dealer) -> StoreResult<()> {
        let mut tx = self.write_statement().await?;
        sqlx::query("INSERT INTO dealers (uuid, name, created_at) VALUES ($1, $2, $3)")
            .bind(dealer.uuid.to_string())
            .bind(&dealer.name)
            .bind(ms(OffsetDateTime::now_utc()))
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
    ) -> StoreResult<()> {
        let mut tx = self.write_tx().await?;
        sqlx::query(
            "INSERT INTO departments (uuid, dealer_uuid, name, settings, default_user_uuid, created_at, text_sender_number)
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(department.uuid.to_string())
        .bind(department.dealer_uuid.to_string())
        .bind(&department.name)
        .bind(settings_json(&department.settings)?)
        .bind(default_user.uuid.to_string())
        .bind(ms(OffsetDateTime::now_utc()))
        .bind(sender_number(department))
        .execute(&mut *tx)
        .await
        .map_err(conflict_as("department"))?;
        insert_user(&mut tx, default_user).await?;
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
        let mut tx = self.write_statement().await?;
        sqlx::query(
            "UPDATE departments SET name = $2, settings = $3, text_sender_number = $4 WHERE uuid = $1",
        )
            .bind(department.uuid.to_string())
            .bind(&department.name)
            .bind(settings_json(&department.settings)?)
            .bind(sender_number(department))
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn insert_user(&self, user: &User) -> StoreResult<()> {
        let mut tx = self.write_tx().await?;
        insert_user(&mut tx, user).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn user(&self, uuid: Uuid) -> StoreResult<Option<User>> {
        let row = sqlx::query(
            "SELECT department_uuid, first_name, last_name, email, can_text, can_email, is_default
             FROM users WHERE uuid = $1",
        )
        .bind(uuid.to_string())
        .fetch_optional(&self.reader)
        .await?;
        let Some(r) = row else { return Ok(None) };
        let email: Option<String> = r.get("email");
        Ok(Some(User {
            uuid,
            department_uuid: parse_uuid(r.get("department_uuid"))?,
            first_name: r.get("first_name"),
            last_name: r.get("last_name"),
            email: email
                .map(|e| EmailAddress::parse(&e).map_err(|e| StoreError::Corrupt(e.to_string())))
                .transpose()?,
            can_text: r.get("can_text"),
            can_email: r.get("can_email"),
            is_default: r.get("is_default"),
        }))
    }
}

async fn insert_user(tx: &mut sqlx::SqliteConnection, user: &User) -> StoreResult<()> {
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
    .bind(ms(OffsetDateTime::now_utc()))
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

pub(super) fn department_from_row(r: &SqliteRow) -> StoreResult<Department> {
    let settings: String = r.get("settings");
    Ok(Department {
        uuid: parse_uuid(r.get("uuid"))?,
        dealer_uuid: parse_uuid(r.get("dealer_uuid"))?,
        name: r.get("name"),
        settings: serde_json::from_str(&settings)
            .map_err(|e| StoreError::Corrupt(format!("department settings: {e}")))?,
        default_user_uuid: parse_uuid(r.get("default_user_uuid"))?,
    })
}
