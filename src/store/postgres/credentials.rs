use async_trait::async_trait;
use sqlx::Row;
use time::OffsetDateTime;

use super::{PgStore, at, corrupt};
use crate::domain::credential::{Credential, Grant, Level, Scope, WebhookSecret};
use crate::store::{CredentialStore, StoreResult};

#[async_trait]
impl CredentialStore for PgStore {
    async fn put_credential(
        &self,
        credential: &Credential,
        now: OffsetDateTime,
    ) -> StoreResult<()> {
        let mut tx = self.pool.begin().await?;
        // The upsert locks the credential's row, so two nodes re-issuing the same username
        // replace its grants one after the other, never interleaved.
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
        .bind(at(now))
        .execute(&mut *tx)
        .await?;
        sqlx::query("DELETE FROM grants WHERE username = $1")
            .bind(&credential.username)
            .execute(&mut *tx)
            .await?;
        for g in &credential.grants {
            sqlx::query(
                "INSERT INTO grants (username, scope, level, target_uuid) VALUES ($1, $2, $3, $4)
                 ON CONFLICT DO NOTHING",
            )
            .bind(&credential.username)
            .bind(g.scope.as_str())
            .bind(g.level.as_str())
            .bind(g.uuid)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn credential(&self, username: &str) -> StoreResult<Option<Credential>> {
        // One statement, so one snapshot: a concurrent re-issue is seen whole or not at all.
        let rows = sqlx::query(
            "SELECT c.secret_salt, c.secret_hash, c.webhook_secret, c.revoked_at,
                    g.scope, g.level, g.target_uuid
             FROM credentials c LEFT JOIN grants g ON g.username = c.username
             WHERE c.username = $1
             ORDER BY g.scope, g.level, g.target_uuid",
        )
        .bind(username)
        .fetch_all(&self.pool)
        .await?;
        let Some(r) = rows.first() else {
            return Ok(None);
        };
        let mut grants = Vec::with_capacity(rows.len());
        for g in &rows {
            let Some(scope) = g.try_get::<Option<String>, _>("scope")? else {
                continue;
            };
            let level: String = g.try_get("level")?;
            grants.push(Grant {
                scope: Scope::parse(&scope).ok_or_else(|| corrupt("scope", &scope))?,
                level: Level::parse(&level).ok_or_else(|| corrupt("level", &level))?,
                uuid: g.try_get("target_uuid")?,
            });
        }
        let revoked_at: Option<OffsetDateTime> = r.try_get("revoked_at")?;
        Ok(Some(Credential {
            username: username.to_string(),
            secret_salt: r.try_get("secret_salt")?,
            secret_hash: r.try_get("secret_hash")?,
            webhook_secret: WebhookSecret::from_stored(r.try_get("webhook_secret")?),
            grants,
            revoked: revoked_at.is_some(),
        }))
    }

    async fn revoke_credential(&self, username: &str, now: OffsetDateTime) -> StoreResult<bool> {
        let done = sqlx::query(
            "UPDATE credentials SET revoked_at = COALESCE(revoked_at, $2) WHERE username = $1",
        )
        .bind(username)
        .bind(at(now))
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() > 0)
    }

    async fn touch_credential(&self, username: &str, when: OffsetDateTime) -> StoreResult<()> {
        sqlx::query(
            "UPDATE credentials SET last_used_at = $2
             WHERE username = $1 AND (last_used_at IS NULL OR last_used_at < $2)",
        )
        .bind(username)
        .bind(at(when))
        .execute(&self.pool)
        .await?;
        Ok(())
    }
}
