use async_trait::async_trait;
use sqlx::postgres::PgRow;
use sqlx::{PgConnection, Row};
use time::OffsetDateTime;
use uuid::Uuid;

use super::{PgStore, at, corrupt};
use crate::domain::optout::{OptCause, OptEvent, OptSource, OptState, OptStatus};
use crate::domain::{EmailAddress, PhoneNumber};
use crate::store::{
    ComplianceStore, CustomerLock, LockOutcome, OptChange, OptHistoryEntry, StoreResult,
    UnlockOutcome,
};

#[async_trait]
impl ComplianceStore for PgStore {
    async fn opt_status(&self, dealer: Uuid, phone: &PhoneNumber) -> StoreResult<OptStatus> {
        let row = sqlx::query(
            "SELECT state, changed_at, optin_requested_at FROM opt_states
             WHERE dealer_uuid = $1 AND phone_number = $2",
        )
        .bind(dealer)
        .bind(phone.as_str())
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map_or(Ok(OptStatus::NOT_SET), status_from_row)
    }

    async fn apply_opt_changes(
        &self,
        dealer: Uuid,
        changes: &[OptChange<'_>],
        now: OffsetDateTime,
    ) -> StoreResult<Vec<OptStatus>> {
        let mut tx = self.pool.begin().await?;
        let mut statuses = Vec::with_capacity(changes.len());
        for change in changes {
            statuses.push(apply_change(&mut tx, dealer, change, now).await?);
        }
        tx.commit().await?;
        Ok(statuses)
    }

    async fn claim_optin_request(
        &self,
        dealer: Uuid,
        phone: &PhoneNumber,
        source: OptSource,
        cause: &OptCause,
        now: OffsetDateTime,
    ) -> StoreResult<bool> {
        let now = at(now);
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "INSERT INTO opt_states (dealer_uuid, phone_number, state) VALUES ($1, $2, 'NOT_SET')
             ON CONFLICT DO NOTHING",
        )
        .bind(dealer)
        .bind(phone.as_str())
        .execute(&mut *tx)
        .await?;
        let row = sqlx::query(
            "SELECT state, changed_at, optin_requested_at FROM opt_states
             WHERE dealer_uuid = $1 AND phone_number = $2 FOR UPDATE",
        )
        .bind(dealer)
        .bind(phone.as_str())
        .fetch_one(&mut *tx)
        .await?;
        let status = status_from_row(&row)?;
        if !status.can_send_optin_request(now) {
            return Ok(false);
        }
        sqlx::query(
            "UPDATE opt_states SET optin_requested_at = $3 WHERE dealer_uuid = $1 AND phone_number = $2",
        )
        .bind(dealer)
        .bind(phone.as_str())
        .bind(now)
        .execute(&mut *tx)
        .await?;
        let event = HistoryRow {
            event: OptEvent::OptinRequestSent,
            source,
            state: status.state,
            cause,
        };
        insert_event(
            &mut tx,
            "opt_events",
            "phone_number",
            dealer,
            phone.as_str(),
            &event,
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn opt_history(
        &self,
        dealer: Uuid,
        phone: &PhoneNumber,
    ) -> StoreResult<Vec<OptHistoryEntry>> {
        self.history("opt_events", "phone_number", dealer, phone.as_str())
            .await
    }

    async fn email_opt_history(
        &self,
        dealer: Uuid,
        email: &EmailAddress,
    ) -> StoreResult<Vec<OptHistoryEntry>> {
        self.history("email_opt_events", "email_address", dealer, email.as_str())
            .await
    }

    async fn lock_customer(
        &self,
        lock: &CustomerLock,
        now: OffsetDateTime,
    ) -> StoreResult<LockOutcome> {
        let mut tx = self.pool.begin().await?;
        // One statement decides: a free, expired or own lock is taken; anyone else's stays.
        // The conflicting row is locked either way, so the holder read below is the one that
        // refused us.
        let taken = sqlx::query(
            "INSERT INTO customer_locks (customer_uuid, user_uuid, expires_at) VALUES ($1, $2, $3)
             ON CONFLICT (customer_uuid) DO UPDATE SET user_uuid = excluded.user_uuid,
                 expires_at = excluded.expires_at
             WHERE customer_locks.user_uuid = excluded.user_uuid OR customer_locks.expires_at <= $4
             RETURNING user_uuid, expires_at",
        )
        .bind(lock.customer_uuid)
        .bind(lock.user_uuid)
        .bind(at(lock.expires_at))
        .bind(at(now))
        .fetch_optional(&mut *tx)
        .await?;
        let outcome = match taken {
            Some(r) => LockOutcome::Held(lock_from_row(lock.customer_uuid, &r)?),
            None => {
                let r = sqlx::query(
                    "SELECT user_uuid, expires_at FROM customer_locks WHERE customer_uuid = $1",
                )
                .bind(lock.customer_uuid)
                .fetch_one(&mut *tx)
                .await?;
                LockOutcome::HeldByOther(lock_from_row(lock.customer_uuid, &r)?)
            }
        };
        tx.commit().await?;
        Ok(outcome)
    }

    async fn unlock_customer(
        &self,
        customer: Uuid,
        user: Uuid,
        now: OffsetDateTime,
    ) -> StoreResult<UnlockOutcome> {
        let now = at(now);
        let mut tx = self.pool.begin().await?;
        // Our own lock goes, and so does an expired one (which nobody holds any more).
        let removed = sqlx::query(
            "DELETE FROM customer_locks
             WHERE customer_uuid = $1 AND (user_uuid = $2 OR expires_at <= $3)
             RETURNING expires_at",
        )
        .bind(customer)
        .bind(user)
        .bind(now)
        .fetch_optional(&mut *tx)
        .await?;
        let outcome = match removed {
            Some(r) if r.try_get::<OffsetDateTime, _>("expires_at")? > now => {
                UnlockOutcome::Released
            }
            Some(_) => UnlockOutcome::NotLocked,
            None => match read_lock(&mut tx, customer, now).await? {
                Some(held) => UnlockOutcome::HeldByOther(held),
                None => UnlockOutcome::NotLocked,
            },
        };
        tx.commit().await?;
        Ok(outcome)
    }

    async fn customer_lock(
        &self,
        customer: Uuid,
        now: OffsetDateTime,
    ) -> StoreResult<Option<CustomerLock>> {
        let mut conn = self.pool.acquire().await?;
        read_lock(&mut conn, customer, at(now)).await
    }

    async fn add_to_blacklist(
        &self,
        dealer: Uuid,
        emails: &[EmailAddress],
        domains: &[String],
        now: OffsetDateTime,
    ) -> StoreResult<()> {
        let mut tx = self.pool.begin().await?;
        let entries = emails
            .iter()
            .map(|e| ("EMAIL", e.as_str()))
            .chain(domains.iter().map(|d| ("DOMAIN", d.as_str())));
        for (kind, value) in entries {
            sqlx::query(
                "INSERT INTO blacklist (dealer_uuid, kind, value, created_at) VALUES ($1, $2, $3, $4)
                 ON CONFLICT DO NOTHING",
            )
            .bind(dealer)
            .bind(kind)
            .bind(value)
            .bind(at(now))
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn is_blacklisted(&self, dealer: Uuid, email: &EmailAddress) -> StoreResult<bool> {
        let row = sqlx::query(
            "SELECT 1 FROM blacklist WHERE dealer_uuid = $1
             AND ((kind = 'EMAIL' AND value = $2) OR (kind = 'DOMAIN' AND value = $3)) LIMIT 1",
        )
        .bind(dealer)
        .bind(email.as_str())
        .bind(email.domain())
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.is_some())
    }
}

fn status_from_row(r: &PgRow) -> StoreResult<OptStatus> {
    let state: String = r.try_get("state")?;
    Ok(OptStatus {
        state: OptState::parse(&state).ok_or_else(|| corrupt("opt state", &state))?,
        time_of_change: r.try_get("changed_at")?,
        optin_requested_at: r.try_get("optin_requested_at")?,
    })
}

/// Applies one opt event inside a transaction and records it in the history.
///
/// The number's row is locked before its state is read, so concurrent events on one number
/// (a STOP arriving while a DMS import runs on another node) apply one after the other, each
/// to the state the previous one left; none is lost and the history stays in order. A number
/// without a row first gets a `NOT_SET` one (which reads exactly like no row) so that there
/// is something to lock.
pub(super) async fn apply_change(
    tx: &mut PgConnection,
    dealer: Uuid,
    change: &OptChange<'_>,
    now: OffsetDateTime,
) -> StoreResult<OptStatus> {
    let now = at(now);
    sqlx::query(
        "INSERT INTO opt_states (dealer_uuid, phone_number, state) VALUES ($1, $2, 'NOT_SET')
         ON CONFLICT DO NOTHING",
    )
    .bind(dealer)
    .bind(change.phone.as_str())
    .execute(&mut *tx)
    .await?;
    let row = sqlx::query(
        "SELECT state, changed_at, optin_requested_at FROM opt_states
         WHERE dealer_uuid = $1 AND phone_number = $2 FOR UPDATE",
    )
    .bind(dealer)
    .bind(change.phone.as_str())
    .fetch_one(&mut *tx)
    .await?;
    let current = status_from_row(&row)?;
    let Some(next) = change.event.next_state(current.state) else {
        // Nothing changes (a HELP, an import of a decided number), but the history still
        // shows that it happened.
        let event = HistoryRow {
            event: change.event,
            source: change.source,
            state: current.state,
            cause: change.cause,
        };
        insert_event(
            tx,
            "opt_events",
            "phone_number",
            dealer,
            change.phone.as_str(),
            &event,
            now,
        )
        .await?;
        return Ok(current);
    };
    let changed = next != current.state;
    let status = OptStatus {
        state: next,
        time_of_change: if changed {
            Some(now)
        } else {
            current.time_of_change
        },
        optin_requested_at: current.optin_requested_at,
    };
    sqlx::query(
        "UPDATE opt_states SET state = $3, changed_at = $4 WHERE dealer_uuid = $1 AND phone_number = $2",
    )
    .bind(dealer)
    .bind(change.phone.as_str())
    .bind(next.as_str())
    .bind(status.time_of_change)
    .execute(&mut *tx)
    .await?;
    if next == OptState::OptedIn {
        // Release the messages waiting for this opt-in, in the order they were accepted
        // (message UUIDs are time-ordered, and claims take equal due times in UUID order).
        let released = sqlx::query(
            "UPDATE delivery_jobs SET due_at = $3
             WHERE message_uuid IN (SELECT uuid FROM messages
                                    WHERE dealer_uuid = $1 AND recipient = $2 AND status = 'WAITING_FOR_OPTIN')",
        )
        .bind(dealer)
        .bind(change.phone.as_str())
        .bind(now)
        .execute(&mut *tx)
        .await?;
        if released.rows_affected() > 0 {
            sqlx::query("SELECT pg_notify($1, '')")
                .bind(super::JOBS_CHANNEL)
                .execute(&mut *tx)
                .await?;
        }
    }
    let event = HistoryRow {
        event: change.event,
        source: change.source,
        state: next,
        cause: change.cause,
    };
    insert_event(
        tx,
        "opt_events",
        "phone_number",
        dealer,
        change.phone.as_str(),
        &event,
        now,
    )
    .await?;
    Ok(status)
}

/// One event for a history table, before it is written.
pub(super) struct HistoryRow<'a> {
    pub event: OptEvent,
    pub source: OptSource,
    /// The state after the event.
    pub state: OptState,
    pub cause: &'a OptCause,
}

/// Appends `row` to `table` (`opt_events` keyed by `phone_number`, or `email_opt_events`
/// keyed by `email_address`); the names are this module's constants, never input.
pub(super) async fn insert_event(
    tx: &mut PgConnection,
    table: &'static str,
    key: &'static str,
    dealer: Uuid,
    value: &str,
    row: &HistoryRow<'_>,
    now: OffsetDateTime,
) -> StoreResult<()> {
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "INSERT INTO {table} (dealer_uuid, {key}, event, source, state, actor, cause_message_uuid,
             cause_request_id, at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
    )))
    .bind(dealer)
    .bind(value)
    .bind(row.event.as_str())
    .bind(row.source.as_str())
    .bind(row.state.as_str())
    .bind(row.cause.actor.as_deref())
    .bind(row.cause.message_uuid)
    .bind(row.cause.request_id)
    .bind(at(now))
    .execute(&mut *tx)
    .await?;
    Ok(())
}

impl PgStore {
    async fn history(
        &self,
        table: &'static str,
        key: &'static str,
        dealer: Uuid,
        value: &str,
    ) -> StoreResult<Vec<OptHistoryEntry>> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT event, source, state, at, actor, cause_message_uuid, cause_request_id
             FROM {table} WHERE dealer_uuid = $1 AND {key} = $2 ORDER BY id"
        )))
        .bind(dealer)
        .bind(value)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(OptHistoryEntry {
                    event: r.try_get("event")?,
                    source: r.try_get("source")?,
                    state: r.try_get("state")?,
                    at: r.try_get("at")?,
                    actor: r.try_get("actor")?,
                    cause_message_uuid: r.try_get("cause_message_uuid")?,
                    cause_request_id: r.try_get("cause_request_id")?,
                })
            })
            .collect()
    }
}

async fn read_lock(
    conn: &mut PgConnection,
    customer: Uuid,
    now: OffsetDateTime,
) -> StoreResult<Option<CustomerLock>> {
    let row = sqlx::query(
        "SELECT user_uuid, expires_at FROM customer_locks WHERE customer_uuid = $1 AND expires_at > $2",
    )
    .bind(customer)
    .bind(now)
    .fetch_optional(conn)
    .await?;
    row.map(|r| lock_from_row(customer, &r)).transpose()
}

fn lock_from_row(customer: Uuid, r: &PgRow) -> StoreResult<CustomerLock> {
    Ok(CustomerLock {
        customer_uuid: customer,
        user_uuid: r.try_get("user_uuid")?,
        expires_at: r.try_get("expires_at")?,
    })
}
