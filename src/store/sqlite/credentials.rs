use async_trait::async_trait;
use sqlx::Row;
use time::OffsetDateTime;

use super::{SqliteStore, corrupt, ms, parse_uuid};
use crate::domain::credential::{Credential, Grant, Level, Scope, WebhookSecret};
use crate::store::{CredentialStore, StoreResult};

#[async_trait]
impl CredentialStore for SqliteStore {
    async fn put_credential(
        &self,
        credential: &Credential,
        now: OffsetDateTime,
    ) -> StoreResult<()> {
        let mut tx = self.write_tx().await?;
        sqlx::query(
            "INSERT INTO credentials (username, secret_salt, secret_hash, webhook_secret, created_at, revoked_at)
             VALUES ($1, $2, $3, $4, $5, NULL)
             ON CONFLICT (username) DO UPDATE SET secret_salt = excluded.secret_salt,
                 secret_hash = excluded.secret_hash, webhook_secret = excluded.webhook_secret,
                 revoked_at = NULL",
        )
        .bind(&credential.username)
        .bind(&credential.secret_salt)
        .bind(&credential.secret_hash)
        .bind(credential.webhook_secret.expose())
        .bind(ms(now))
        .execute(&mut *tx)
        .await?;
        sqlx::query("DELETE FROM grants WHERE username = $1")
            .bind(&credential.username)
            .execute(&mut *tx)
            .await?;
        for g in &credential.grants {
            sqlx::query(
                "INSERT OR IGNORE INTO grants (username, scope, level, target_uuid) VALUES ($1, $2, $3, $4)",
            )
            .bind(&credential.username)
            .bind(g.scope.as_str())
            .bind(g.level.as_str())
            .bind(g.uuid.to_string())
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn credential(&self, username: &str) -> StoreResult<Option<Credential>> {
        let row = sqlx::query(
            "SELECT secret_salt, secret_hash, webhook_secret, revoked_at FROM credentials WHERE username = $1",
        )
        .bind(username)
        .fetch_optional(&self.reader)
        .await?;
        let Some(r) = row else { return Ok(None) };
        let grant_rows =
            sqlx::query("SELECT scope, level, target_uuid FROM grants WHERE username = $1")
                .bind(username)
                .fetch_all(&self.reader)
                .await?;
        let mut grants = Vec::with_capacity(grant_rows.len());
        for g in grant_rows {
            let scope: String = g.get("scope");
            let level: String = g.get("level");
            grants.push(Grant {
                scope: Scope::parse(&scope).ok_or_else(|| corrupt("scope", &scope))?,
                level: Level::parse(&level).ok_or_else(|| corrupt("level", &level))?,
                uuid: parse_uuid(g.get("target_uuid"))?,
            });
        }
        let revoked_at: Option<i64> = r.get("revoked_at");
        Ok(Some(Credential {
            username: username.to_string(),
            secret_salt: r.get("secret_salt"),
            secret_hash: r.get("secret_hash"),
            webhook_secret: WebhookSecret::from_stored(r.get("webhook_secret")),
            grants,
            revoked: revoked_at.is_some(),
        }))
    }

    async fn revoke_credential(&self, username: &str, now: OffsetDateTime) -> StoreResult<bool> {
        let mut tx = self.write_statement().await?;
        let done = sqlx::query(
            "UPDATE credentials SET revoked_at = COALESCE(revoked_at, $2) WHERE username = $1",
        )
        .bind(username)
        .bind(ms(now))
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(done.rows_affected() > 0)
    }

    async fn touch_credential(&self, username: &str, at: OffsetDateTime) -> StoreResult<()> {
        let mut tx = self.write_statement().await?;
        sqlx::query(
            "UPDATE credentials SET last_used_at = $2
             WHERE username = $1 AND (last_used_at IS NULL OR last_used_at < $2)",
        )
        .bind(username)
        .bind(ms(at))
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }
}
