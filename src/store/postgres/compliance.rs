//! PostgreSQL's own part of opt states and customer locks.
//!
//! A number's row is locked before its state is read, so concurrent events on one number (a
//! STOP arriving while a DMS import runs on another node) apply one after the other, each to
//! the state the previous one left; none is lost and the history stays in order. A number
//! without a row first gets a `NOT_SET` one (which reads exactly like no row) so that there
//! is something to lock. Customer locks are decided by one statement each.

use sqlx::{PgConnection, Row as _};
use time::OffsetDateTime;
use uuid::Uuid;

use super::messages::notify;
use super::{JOBS_CHANNEL, PgStore, at};
use crate::domain::PhoneNumber;
use crate::domain::optout::OptStatus;
use crate::store::backend::{Backend, Query};
use crate::store::compliance::ComplianceBackend;
use crate::store::compliance_rows::{lock_from_row, read_lock, status_from_row};
use crate::store::{CustomerLock, LockOutcome, StoreResult, UnlockOutcome};

impl ComplianceBackend for PgStore {
    const BLACKLIST_INSERT: &'static str =
        "INSERT INTO blacklist (dealer_uuid, kind, value, created_at) VALUES ($1, $2, $3, $4)
         ON CONFLICT DO NOTHING";

    async fn status_to_change(
        tx: &mut PgConnection,
        dealer: Uuid,
        phone: &PhoneNumber,
    ) -> StoreResult<OptStatus> {
        Self::query(
            "INSERT INTO opt_states (dealer_uuid, phone_number, state) VALUES ($1, $2, 'NOT_SET')
             ON CONFLICT DO NOTHING",
        )
        .uuid(dealer)
        .bind(phone.as_str())
        .execute(tx)
        .await?;
        let row = Self::query(
            "SELECT state, changed_at, optin_requested_at FROM opt_states
             WHERE dealer_uuid = $1 AND phone_number = $2 FOR UPDATE",
        )
        .uuid(dealer)
        .bind(phone.as_str())
        .fetch_one(tx)
        .await?;
        status_from_row(&row)
    }

    async fn write_state(
        tx: &mut PgConnection,
        dealer: Uuid,
        phone: &PhoneNumber,
        status: &OptStatus,
    ) -> StoreResult<()> {
        Self::query(
            "UPDATE opt_states SET state = $3, changed_at = $4 WHERE dealer_uuid = $1 AND phone_number = $2",
        )
        .uuid(dealer)
        .bind(phone.as_str())
        .bind(status.state.as_str())
        .opt_time(status.time_of_change)
        .execute(tx)
        .await?;
        Ok(())
    }

    async fn mark_optin_requested(
        tx: &mut PgConnection,
        dealer: Uuid,
        phone: &PhoneNumber,
        now: OffsetDateTime,
    ) -> StoreResult<()> {
        Self::query(
            "UPDATE opt_states SET optin_requested_at = $3 WHERE dealer_uuid = $1 AND phone_number = $2",
        )
        .uuid(dealer)
        .bind(phone.as_str())
        .time(now)
        .execute(tx)
        .await?;
        Ok(())
    }

    async fn jobs_released(tx: &mut PgConnection) -> StoreResult<()> {
        notify(tx, JOBS_CHANNEL).await
    }

    async fn take_lock(
        &self,
        lock: &CustomerLock,
        now: OffsetDateTime,
    ) -> StoreResult<LockOutcome> {
        let mut tx = self.pool.begin().await?;
        // One statement decides: a free, expired or own lock is taken; anyone else's stays.
        // The conflicting row is locked either way, so the holder read below is the one that
        // refused us.
        let taken = Self::query(
            "INSERT INTO customer_locks (customer_uuid, user_uuid, expires_at) VALUES ($1, $2, $3)
             ON CONFLICT (customer_uuid) DO UPDATE SET user_uuid = excluded.user_uuid,
                 expires_at = excluded.expires_at
             WHERE customer_locks.user_uuid = excluded.user_uuid OR customer_locks.expires_at <= $4
             RETURNING user_uuid, expires_at",
        )
        .uuid(lock.customer_uuid)
        .uuid(lock.user_uuid)
        .time(lock.expires_at)
        .time(now)
        .fetch_optional(&mut tx)
        .await?;
        let outcome = match taken {
            Some(r) => LockOutcome::Held(lock_from_row(lock.customer_uuid, &r)?),
            None => {
                let r = Self::query(
                    "SELECT user_uuid, expires_at FROM customer_locks WHERE customer_uuid = $1",
                )
                .uuid(lock.customer_uuid)
                .fetch_one(&mut tx)
                .await?;
                LockOutcome::HeldByOther(lock_from_row(lock.customer_uuid, &r)?)
            }
        };
        tx.commit().await?;
        Ok(outcome)
    }

    async fn release_lock(
        &self,
        customer: Uuid,
        user: Uuid,
        now: OffsetDateTime,
    ) -> StoreResult<UnlockOutcome> {
        let now = at(now);
        let mut tx = self.pool.begin().await?;
        // Our own lock goes, and so does an expired one (which nobody holds any more).
        let removed = Self::query(
            "DELETE FROM customer_locks
             WHERE customer_uuid = $1 AND (user_uuid = $2 OR expires_at <= $3)
             RETURNING expires_at",
        )
        .uuid(customer)
        .uuid(user)
        .time(now)
        .fetch_optional(&mut tx)
        .await?;
        let outcome = match removed {
            Some(r) if r.try_get::<OffsetDateTime, _>("expires_at")? > now => {
                UnlockOutcome::Released
            }
            Some(_) => UnlockOutcome::NotLocked,
            None => match read_lock::<Self>(&mut tx, customer, now).await? {
                Some(held) => UnlockOutcome::HeldByOther(held),
                None => UnlockOutcome::NotLocked,
            },
        };
        tx.commit().await?;
        Ok(outcome)
    }
}
