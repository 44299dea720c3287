//! Opt states and their history, and customer locks, read and written once for both
//! backends (used by [`super::compliance`] and [`super::customers`]).

use time::OffsetDateTime;
use uuid::Uuid;

use super::backend::{Backend, Query, Row, corrupt};
use super::compliance::ComplianceBackend;
use super::{CustomerLock, OptChange, OptHistoryEntry, StoreResult};
use crate::domain::PhoneNumber;
use crate::domain::optout::{OptCause, OptEvent, OptSource, OptState, OptStatus};

/// The columns of a number's [`OptStatus`], read by [`status_from_row`].
pub(crate) const STATUS_SQL: &str = "SELECT state, changed_at, optin_requested_at FROM opt_states
     WHERE dealer_uuid = $1 AND phone_number = $2";

/// Makes the jobs of the messages waiting for this opt-in due ($1 dealer, $2 number, $3 now),
/// in the order they were accepted (message UUIDs are time-ordered, and claims take equal due
/// times in UUID order).
const RELEASE_WAITING: &str = "UPDATE delivery_jobs SET due_at = $3
     WHERE message_uuid IN (SELECT uuid FROM messages
                            WHERE dealer_uuid = $1 AND recipient = $2 AND status = 'WAITING_FOR_OPTIN')";

const LOCK_SQL: &str =
    "SELECT user_uuid, expires_at FROM customer_locks WHERE customer_uuid = $1 AND expires_at > $2";

/// A history table: opt events of numbers, or of email addresses.
#[derive(Clone, Copy)]
pub(crate) struct History {
    table: &'static str,
    key: &'static str,
}

pub(crate) const PHONE_HISTORY: History = History {
    table: "opt_events",
    key: "phone_number",
};

pub(crate) const EMAIL_HISTORY: History = History {
    table: "email_opt_events",
    key: "email_address",
};

/// One event for a history table, before it is written.
pub(crate) struct HistoryRow<'a> {
    pub event: OptEvent,
    pub source: OptSource,
    /// The state after the event.
    pub state: OptState,
    pub cause: &'a OptCause,
}

/// The number's status, `NOT_SET` when it has no row.
pub(crate) async fn read_status<B: Backend>(
    conn: &mut B::Conn,
    dealer: Uuid,
    phone: &PhoneNumber,
) -> StoreResult<OptStatus> {
    let row = B::query(STATUS_SQL)
        .uuid(dealer)
        .bind(phone.as_str())
        .fetch_optional(conn)
        .await?;
    row.as_ref().map_or(Ok(OptStatus::NOT_SET), status_from_row)
}

pub(crate) fn status_from_row(r: &impl Row) -> StoreResult<OptStatus> {
    let state: String = r.field("state")?;
    Ok(OptStatus {
        state: OptState::parse(&state).ok_or_else(|| corrupt("opt state", &state))?,
        time_of_change: r.opt_time("changed_at")?,
        optin_requested_at: r.opt_time("optin_requested_at")?,
    })
}

/// Applies one opt event inside a write transaction and records it in the history.
pub(crate) async fn apply_change<B: ComplianceBackend>(
    tx: &mut B::Conn,
    dealer: Uuid,
    change: &OptChange<'_>,
    now: OffsetDateTime,
) -> StoreResult<OptStatus> {
    let now = B::at(now);
    let phone = change.phone;
    let current = B::status_to_change(tx, dealer, phone).await?;
    let Some(next) = change.event.next_state(current.state) else {
        // Nothing changes (a HELP, an import of a decided number), but the history still
        // shows that it happened.
        let event = HistoryRow {
            event: change.event,
            source: change.source,
            state: current.state,
            cause: change.cause,
        };
        insert_event::<B>(tx, PHONE_HISTORY, dealer, phone.as_str(), &event, now).await?;
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
    B::write_state(tx, dealer, phone, &status).await?;
    if next == OptState::OptedIn {
        let released = B::query(RELEASE_WAITING)
            .uuid(dealer)
            .bind(phone.as_str())
            .time(now)
            .execute(tx)
            .await?;
        if released > 0 {
            B::jobs_released(tx).await?;
        }
    }
    let event = HistoryRow {
        event: change.event,
        source: change.source,
        state: next,
        cause: change.cause,
    };
    insert_event::<B>(tx, PHONE_HISTORY, dealer, phone.as_str(), &event, now).await?;
    Ok(status)
}

/// Appends `row` to the history of `value` (a number or an address) at `dealer`.
pub(crate) async fn insert_event<B: Backend>(
    tx: &mut B::Conn,
    history: History,
    dealer: Uuid,
    value: &str,
    row: &HistoryRow<'_>,
    now: OffsetDateTime,
) -> StoreResult<()> {
    let History { table, key } = history;
    B::query(sqlx::AssertSqlSafe(format!(
        "INSERT INTO {table} (dealer_uuid, {key}, event, source, state, actor, cause_message_uuid,
             cause_request_id, at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
    )))
    .uuid(dealer)
    .bind(value)
    .bind(row.event.as_str())
    .bind(row.source.as_str())
    .bind(row.state.as_str())
    .bind(row.cause.actor.as_deref())
    .opt_uuid(row.cause.message_uuid)
    .opt_uuid(row.cause.request_id)
    .time(now)
    .execute(tx)
    .await?;
    Ok(())
}

pub(crate) async fn history<B: Backend>(
    store: &B,
    history: History,
    dealer: Uuid,
    value: &str,
) -> StoreResult<Vec<OptHistoryEntry>> {
    let History { table, key } = history;
    let mut conn = store.read().await?;
    let rows = B::query(sqlx::AssertSqlSafe(format!(
        "SELECT event, source, state, at, actor, cause_message_uuid, cause_request_id
         FROM {table} WHERE dealer_uuid = $1 AND {key} = $2 ORDER BY id"
    )))
    .uuid(dealer)
    .bind(value)
    .fetch_all(&mut conn)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(OptHistoryEntry {
                event: r.field("event")?,
                source: r.field("source")?,
                state: r.field("state")?,
                at: r.time("at")?,
                actor: r.field("actor")?,
                cause_message_uuid: r.opt_uuid("cause_message_uuid")?,
                cause_request_id: r.opt_uuid("cause_request_id")?,
            })
        })
        .collect()
}

/// The unexpired lock on `customer` at `now`.
pub(crate) async fn read_lock<B: Backend>(
    conn: &mut B::Conn,
    customer: Uuid,
    now: OffsetDateTime,
) -> StoreResult<Option<CustomerLock>> {
    let row = B::query(LOCK_SQL)
        .uuid(customer)
        .time(now)
        .fetch_optional(conn)
        .await?;
    row.map(|r| lock_from_row(customer, &r)).transpose()
}

pub(crate) fn lock_from_row(customer: Uuid, r: &impl Row) -> StoreResult<CustomerLock> {
    Ok(CustomerLock {
        customer_uuid: customer,
        user_uuid: r.uuid("user_uuid")?,
        expires_at: r.time("expires_at")?,
    })
}
