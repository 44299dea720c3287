//! SQLite's own part of opt states and customer locks: its single writer runs one write
//! transaction at a time, so a state is read and then written, with nothing to lock.

use sqlx::SqliteConnection;
use time::OffsetDateTime;
use uuid::Uuid;

use super::SqliteStore;
use crate::domain::PhoneNumber;
use crate::domain::optout::OptStatus;
use crate::store::backend::{Backend, Query};
use crate::store::compliance::ComplianceBackend;
use crate::store::compliance_rows::{read_lock, read_status};
use crate::store::{CustomerLock, LockOutcome, StoreResult, UnlockOutcome};

impl ComplianceBackend for SqliteStore {
    const BLACKLIST_INSERT: &'static str = "INSERT OR IGNORE INTO blacklist (dealer_uuid, kind, value, created_at) VALUES ($1, $2, $3, $4)";

    async fn status_to_change(
        tx: &mut SqliteConnection,
        dealer: Uuid,
        phone: &PhoneNumber,
    ) -> StoreResult<OptStatus> {
        read_status::<Self>(tx, dealer, phone).await
    }

    async fn write_state(
        tx: &mut SqliteConnection,
        dealer: Uuid,
        phone: &PhoneNumber,
        status: &OptStatus,
    ) -> StoreResult<()> {
        Self::query(
            "INSERT INTO opt_states (dealer_uuid, phone_number, state, changed_at, optin_requested_at)
             VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (dealer_uuid, phone_number) DO UPDATE SET state = excluded.state,
                 changed_at = excluded.changed_at",
        )
        .uuid(dealer)
        .bind(phone.as_str())
        .bind(status.state.as_str())
        .opt_time(status.time_of_change)
        .opt_time(status.optin_requested_at)
        .execute(tx)
        .await?;
        Ok(())
    }

    async fn mark_optin_requested(
        tx: &mut SqliteConnection,
        dealer: Uuid,
        phone: &PhoneNumber,
        now: OffsetDateTime,
    ) -> StoreResult<()> {
        Self::query(
            "INSERT INTO opt_states (dealer_uuid, phone_number, state, changed_at, optin_requested_at)
             VALUES ($1, $2, 'NOT_SET', NULL, $3)
             ON CONFLICT (dealer_uuid, phone_number) DO UPDATE SET optin_requested_at = excluded.optin_requested_at",
        )
        .uuid(dealer)
        .bind(phone.as_str())
        .time(now)
        .execute(tx)
        .await?;
        Ok(())
    }

    /// The workers poll; there is no other process to wake.
    async fn jobs_released(_tx: &mut SqliteConnection) -> StoreResult<()> {
        Ok(())
    }

    async fn take_lock(
        &self,
        lock: &CustomerLock,
        now: OffsetDateTime,
    ) -> StoreResult<LockOutcome> {
        let mut tx = self.write_tx().await?;
        if let Some(held) = read_lock::<Self>(&mut tx, lock.customer_uuid, now).await?
            && held.user_uuid != lock.user_uuid
        {
            return Ok(LockOutcome::HeldByOther(held));
        }
        Self::query(
            "INSERT INTO customer_locks (customer_uuid, user_uuid, expires_at) VALUES ($1, $2, $3)
             ON CONFLICT (customer_uuid) DO UPDATE SET user_uuid = excluded.user_uuid,
                 expires_at = excluded.expires_at",
        )
        .uuid(lock.customer_uuid)
        .uuid(lock.user_uuid)
        .time(lock.expires_at)
        .execute(&mut tx)
        .await?;
        tx.commit().await?;
        Ok(LockOutcome::Held(lock.clone()))
    }

    async fn release_lock(
        &self,
        customer: Uuid,
        user: Uuid,
        now: OffsetDateTime,
    ) -> StoreResult<UnlockOutcome> {
        let mut tx = self.write_tx().await?;
        let outcome = match read_lock::<Self>(&mut tx, customer, now).await? {
            None => UnlockOutcome::NotLocked,
            Some(held) if held.user_uuid != user => UnlockOutcome::HeldByOther(held),
            Some(_) => UnlockOutcome::Released,
        };
        if !matches!(outcome, UnlockOutcome::HeldByOther(_)) {
            Self::query("DELETE FROM customer_locks WHERE customer_uuid = $1")
                .uuid(customer)
                .execute(&mut tx)
                .await?;
        }
        tx.commit().await?;
        Ok(outcome)
    }
}
