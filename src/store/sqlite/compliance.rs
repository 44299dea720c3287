use async_trait::async_trait;
use sqlx::{Row, SqliteConnection};
use time::OffsetDateTime;
use uuid::Uuid;

use super::{SqliteStore, corrupt, from_ms, ms, parse_uuid};
use crate::domain::optout::{OptCause, OptEvent, OptSource, OptState, OptStatus};
use crate::domain::{EmailAddress, PhoneNumber};
use crate::store::{
    ComplianceStore, CustomerLock, LockOutcome, OptChange, OptHistoryEntry, StoreResult,
    UnlockOutcome,
};

#[async_trait]
impl ComplianceStore for SqliteStore {
    async fn opt_status(&self, dealer: Uuid, phone: &PhoneNumber) -> StoreResult<OptStatus> {
        let mut conn = self.reader.acquire().await?;
        read_status(&mut conn, dealer, phone).await
    }

    async fn apply_opt_changes(
        &self,
        dealer: Uuid,
        changes: &[OptChange<'_>],
        now: OffsetDateTime,
    ) -> StoreResult<Vec<OptStatus>> {
        let mut tx = self.write_tx().await?;
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
        let mut tx = self.write_tx().await?;
        let status = read_status(&mut tx, dealer, phone).await?;
        if !status.can_send_optin_request(now) {
            return Ok(false);
        }
        sqlx::query(
            "INSERT INTO opt_states (dealer_uuid, phone_number, state, changed_at, optin_requested_at)
             VALUES ($1, $2, 'NOT_SET', NULL, $3)
             ON CONFLICT (dealer_uuid, phone_number) DO UPDATE SET optin_requested_at = excluded.optin_requested_at",
        )
        .bind(dealer.to_string())
        .bind(phone.as_str())
        .bind(ms(now))
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
        let mut tx = self.write_tx().await?;
        if let Some(held) = read_lock(&mut tx, lock.customer_uuid, now).await?
            && held.user_uuid != lock.user_uuid
        {
            return Ok(LockOutcome::HeldByOther(held));
        }
        sqlx::query(
            "INSERT INTO customer_locks (customer_uuid, user_uuid, expires_at) VALUES ($1, $2, $3)
             ON CONFLICT (customer_uuid) DO UPDATE SET user_uuid = excluded.user_uuid,
                 expires_at = excluded.expires_at",
        )
        .bind(lock.customer_uuid.to_string())
        .bind(lock.user_uuid.to_string())
        .bind(ms(lock.expires_at))
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(LockOutcome::Held(lock.clone()))
    }

    async fn unlock_customer(
        &self,
        customer: Uuid,
        user: Uuid,
        now: OffsetDateTime,
    ) -> StoreResult<UnlockOutcome> {
        let mut tx = self.write_tx().await?;
        let outcome = match read_lock(&mut tx, customer, now).await? {
            None => UnlockOutcome::NotLocked,
            Some(held) if held.user_uuid != user => UnlockOutcome::HeldByOther(held),
            Some(_) => UnlockOutcome::Released,
        };
        if !matches!(outcome, UnlockOutcome::HeldByOther(_)) {
            sqlx::query("DELETE FROM customer_locks WHERE customer_uuid = $1")
                .bind(customer.to_string())
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(outcome)
    }

    async fn customer_lock(
        &self,
        customer: Uuid,
        now: OffsetDateTime,
    ) -> StoreResult<Option<CustomerLock>> {
        let mut conn = self.reader.acquire().await?;
        read_lock(&mut conn, customer, now).await
    }

    async fn add_to_blacklist(
        &self,
        dealer: Uuid,
        emails: &[EmailAddress],
        domains: &[String],
        now: OffsetDateTime,
    ) -> StoreResult<()> {
        let mut tx = self.write_tx().await?;
        let entries = emails
            .iter()
            .map(|e| ("EMAIL", e.as_str()))
            .chain(domains.iter().map(|d| ("DOMAIN", d.as_str())));
        for (kind, value) in entries {
            sqlx::query(
                "INSERT OR IGNORE INTO blacklist (dealer_uuid, kind, value, created_at) VALUES ($1, $2, $3, $4)",
            )
            .bind(dealer.to_string())
            .bind(kind)
            .bind(value)
            .bind(ms(now))
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
        .bind(dealer.to_string())
        .bind(email.as_str())
        .bind(email.domain())
        .fetch_optional(&self.reader)
        .await?;
        Ok(row.is_some())
    }
}

async fn read_status(
    conn: &mut SqliteConnection,
    dealer: Uuid,
    phone: &PhoneNumber,
) -> StoreResult<OptStatus> {
    let row = sqlx::query(
        "SELECT state, changed_at, optin_requested_at FROM opt_states
         WHERE dealer_uuid = $1 AND phone_number = $2",
    )
    .bind(dealer.to_string())
    .bind(phone.as_str())
    .fetch_optional(conn)
    .await?;
    let Some(r) = row else {
        return Ok(OptStatus::NOT_SET);
    };
    let state: String = r.get("state");
    Ok(OptStatus {
        state: OptState::parse(&state).ok_or_else(|| corrupt("opt state", &state))?,
        time_of_change: r
            .get::<Option<i64>, _>("changed_at")
            .map(from_ms)
            .transpose()?,
        optin_requested_at: r
            .get::<Option<i64>, _>("optin_requested_at")
            .map(from_ms)
            .transpose()?,
    })
}

/// Applies one opt event inside a write transaction and records it in the history.
pub(super) async fn apply_change(
    tx: &mut SqliteConnection,
    dealer: Uuid,
    change: &OptChange<'_>,
    now: OffsetDateTime,
) -> StoreResult<OptStatus> {
    let current = read_status(tx, dealer, change.phone).await?;
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
        "INSERT INTO opt_states (dealer_uuid, phone_number, state, changed_at, optin_requested_at)
         VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (dealer_uuid, phone_number) DO UPDATE SET state = excluded.state,
             changed_at = excluded.changed_at",
    )
    .bind(dealer.to_string())
    .bind(change.phone.as_str())
    .bind(next.as_str())
    .bind(status.time_of_change.map(ms))
    .bind(status.optin_requested_at.map(ms))
    .execute(&mut *tx)
    .await?;
    if next == OptState::OptedIn {
        // Release the messages waiting for this opt-in, in the order they were accepted
        // (message UUIDs are time-ordered, and claims take equal due times in UUID order).
        sqlx::query(
            "UPDATE delivery_jobs SET due_at = $3
             WHERE message_uuid IN (SELECT uuid FROM messages
                                    WHERE dealer_uuid = $1 AND recipient = $2 AND status = 'WAITING_FOR_OPTIN')",
        )
        .bind(dealer.to_string())
        .bind(change.phone.as_str())
        .bind(ms(now))
        .execute(&mut *tx)
        .await?;
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
    tx: &mut SqliteConnection,
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
    .bind(dealer.to_string())
    .bind(value)
    .bind(row.event.as_str())
    .bind(row.source.as_str())
    .bind(row.state.as_str())
    .bind(row.cause.actor.as_deref())
    .bind(row.cause.message_uuid.map(|u| u.to_string()))
    .bind(row.cause.request_id.map(|u| u.to_string()))
    .bind(ms(now))
    .execute(&mut *tx)
    .await?;
    Ok(())
}

impl SqliteStore {
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
        .bind(dealer.to_string())
        .bind(value)
        .fetch_all(&self.reader)
        .await?;
        let uuid = |r: &sqlx::sqlite::SqliteRow, column: &str| {
            r.get::<Option<String>, _>(column)
                .as_deref()
                .map(parse_uuid)
                .transpose()
        };
        rows.iter()
            .map(|r| {
                Ok(OptHistoryEntry {
                    event: r.get("event"),
                    source: r.get("source"),
                    state: r.get("state"),
                    at: from_ms(r.get("at"))?,
                    actor: r.get("actor"),
                    cause_message_uuid: uuid(r, "cause_message_uuid")?,
                    cause_request_id: uuid(r, "cause_request_id")?,
                })
            })
            .collect()
    }
}

async fn read_lock(
    conn: &mut SqliteConnection,
    customer: Uuid,
    now: OffsetDateTime,
) -> StoreResult<Option<CustomerLock>> {
    let row = sqlx::query(
        "SELECT user_uuid, expires_at FROM customer_locks WHERE customer_uuid = $1 AND expires_at > $2",
    )
    .bind(customer.to_string())
    .bind(ms(now))
    .fetch_optional(conn)
    .await?;
    row.map(|r| {
        Ok(CustomerLock {
            customer_uuid: customer,
            user_uuid: parse_uuid(r.get("user_uuid"))?,
            expires_at: from_ms(r.get("expires_at"))?,
        })
    })
    .transpose()
}
