use async_trait::async_trait;
use sqlx::postgres::PgRow;
use sqlx::types::Json;
use sqlx::{PgConnection, Row};
use time::OffsetDateTime;
use uuid::Uuid;

use super::{PgStore, at, conflict_as, from_jsonb};
use crate::domain::EmailAddress;
use crate::domain::directory::{Dealer, Department, User};
use crate::store::{DirectoryStore, StoreError, StoreResult};

#[async_trait]
impl DirectoryStore for PgStore {
    async fn insert_dealer(&self, dealer: &Dealer) -> StoreResult<()> {
        sqlx::query("INSERT INTO dealers (uuid, name, created_at) VALUES ($1, $2, $3)")
            .bind(dealer.uuid)
            .bind(&dealer.name)
            .bind(at(OffsetDateTime::now_utc()))
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
    ) -> StoreResult<()> {
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "INSERT INTO departments (uuid, dealer_uuid, name, settings, default_user_uuid, created_at, text_sender_number)
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(department.uuid)
        .bind(department.dealer_uuid)
        .bind(&department.name)
        .bind(Json(&department.settings))
        .bind(default_user.uuid)
        .bind(at(OffsetDateTime::now_utc()))
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
        .bind(uuid)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(department_from_row).transpose()
    }

    async fn update_department(&self, department: &Department) -> StoreResult<()> {
        sqlx::query(
            "UPDATE departments SET name = $2, settings = $3, text_sender_number = $4 WHERE uuid = $1",
        )
        .bind(department.uuid)
        .bind(&department.name)
        .bind(Json(&department.settings))
        .bind(sender_number(department))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn insert_user(&self, user: &User) -> StoreResult<()> {
        let mut conn = self.pool.acquire().await?;
        insert_user(&mut conn, user).await
    }

    async fn user(&self, uuid: Uuid) -> StoreResult<Option<User>> {
        let row = sqlx::query(
            "SELECT department_uuid, first_name, last_name, email, can_text, can_email, is_default
             FROM users WHERE uuid = $1",
        )
        .bind(uuid)
        .fetch_optional(&self.pool)
        .await?;
        let Some(r) = row else { return Ok(None) };
        let email: Option<String> = r.try_get("email")?;
        Ok(Some(User {
            uuid,
            department_uuid: r.try_get("department_uuid")?,
            first_name: r.try_get("first_name")?,
            last_name: r.try_get("last_name")?,
            email: email
                .map(|e| EmailAddress::parse(&e).map_err(|e| StoreError::Corrupt(e.to_string())))
                .transpose()?,
            can_text: r.try_get("can_text")?,
            can_email: r.try_get("can_email")?,
            is_default: r.try_get("is_default")?,
        }))
    }
}

async fn insert_user(conn: &mut PgConnection, user: &User) -> StoreResult<()> {
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
    .bind(at(OffsetDateTime::now_utc()))
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

pub(super) fn department_from_row(r: &PgRow) -> StoreResult<Department> {
    Ok(Department {
        uuid: r.try_get("uuid")?,
        dealer_uuid: r.try_get("dealer_uuid")?,
        name: r.try_get("name")?,
        settings: from_jsonb(r, "settings")?,
        default_user_uuid: r.try_get("default_user_uuid")?,
    })
}
