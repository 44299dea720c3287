//! Many accepted messages written with one statement per table: the fast path of group
//! commit. Each statement is one hand-off to SQLite's thread however many rows it carries, so
//! a batch of hundreds costs a handful of round trips instead of several per message.
//! Messages with an idempotency key are not written here (each needs its own check first).

use sqlx::{QueryBuilder, Sqlite, SqliteConnection};

use super::messages::{MESSAGE_COLUMNS, json};
use super::ms;
use crate::domain::message::Message;
use crate::store::{NewJob, StoreResult, ThreadOwner};

/// SQLite allows 32,766 bound values per statement; a message row has 32.
const ROWS_PER_STATEMENT: usize = 1_000;

/// What one accepted message writes (its key, if any, is handled elsewhere).
pub(super) struct Accepted<'a> {
    pub message: &'a Message,
    pub job: Option<NewJob>,
    pub thread: Option<ThreadOwner>,
}

/// Writes every message, job and thread of `batch`, in this order, inside the caller's
/// transaction. Fails as a whole; the caller rolls back and retries message by message.
pub(super) async fn accept_many_in(
    conn: &mut SqliteConnection,
    batch: &[Accepted<'_>],
) -> StoreResult<()> {
    for chunk in batch.chunks(ROWS_PER_STATEMENT) {
        insert_messages(conn, chunk).await?;
        insert_jobs(conn, chunk).await?;
        // Non-delegating rows first: they never change an owner, so the owner ends as the
        // last delegating sender's, exactly as if the messages were written one by one.
        insert_threads(conn, chunk, false).await?;
        insert_threads(conn, chunk, true).await?;
    }
    Ok(())
}

async fn insert_messages(conn: &mut SqliteConnection, batch: &[Accepted<'_>]) -> StoreResult<()> {
    let mut rows = Vec::with_capacity(batch.len());
    for a in batch {
        let m = a.message;
        rows.push((
            m,
            [json(&m.cc)?, json(&m.bcc)?, json(&m.options)?],
            json(&m.callback_metadata)?,
            json(&m.warnings)?,
            json(&m.attachments)?,
        ));
    }
    let mut q = QueryBuilder::<Sqlite>::new(format!("INSERT INTO messages ({MESSAGE_COLUMNS}) "));
    q.push_values(
        rows,
        |mut b, (m, [cc, bcc, options], metadata, warnings, attachments)| {
            b.push_bind(m.uuid.to_string())
                .push_bind(m.dealer_uuid.to_string())
                .push_bind(m.department_uuid.to_string())
                .push_bind(m.customer_uuid.map(|u| u.to_string()))
                .push_bind(m.user_uuid.map(|u| u.to_string()))
                .push_bind(m.credential.clone())
                .push_bind(m.direction.as_str())
                .push_bind(m.protocol.as_str())
                .push_bind(m.purpose.as_str())
                .push_bind(m.is_manual)
                .push_bind(m.body.clone())
                .push_bind(m.subject.clone())
                .push_bind(m.recipient.to_string())
                .push_bind(cc)
                .push_bind(bcc)
                .push_bind(options)
                .push_bind(m.override_optout)
                .push_bind(m.callback_url.clone())
                .push_bind(metadata)
                .push_bind(m.request_uuid.to_string())
                .push_bind(m.status.as_str())
                .push_bind(m.error.as_ref().map(|e| e.code.as_str()))
                .push_bind(m.error.as_ref().map(|e| e.description.clone()))
                .push_bind(warnings)
                .push_bind(m.provider_message_id.clone())
                .push_bind(m.composed_body.clone())
                .push_bind(m.sender.clone())
                .push_bind(ms(m.created_at))
                .push_bind(ms(m.updated_at))
                .push_bind(m.held_until.map(ms))
                .push_bind(m.html_body.clone())
                .push_bind(attachments);
        },
    );
    // Each batch size is its own statement text: not worth a place in the statement cache.
    q.build().persistent(false).execute(&mut *conn).await?;
    Ok(())
}

async fn insert_jobs(conn: &mut SqliteConnection, batch: &[Accepted<'_>]) -> StoreResult<()> {
    let jobs: Vec<_> = batch
        .iter()
        .filter_map(|a| a.job.map(|j| (a.message.uuid, j)))
        .collect();
    if jobs.is_empty() {
        return Ok(());
    }
    let mut q = QueryBuilder::<Sqlite>::new(
        "INSERT INTO delivery_jobs (message_uuid, due_at, attempts, lease_id, lease_expires_at) ",
    );
    q.push_values(jobs, |mut b, (uuid, job)| {
        b.push_bind(uuid.to_string())
            .push_bind(ms(job.due_at))
            .push_bind(0_i64)
            .push_bind(job.lease.map(|l| l.id.to_string()))
            .push_bind(job.lease.map(|l| ms(l.expires_at)));
    });
    q.build().persistent(false).execute(&mut *conn).await?;
    Ok(())
}

async fn insert_threads(
    conn: &mut SqliteConnection,
    batch: &[Accepted<'_>],
    delegating: bool,
) -> StoreResult<()> {
    let threads: Vec<_> = batch
        .iter()
        .filter_map(|a| a.thread.map(|t| (t, ms(a.message.created_at))))
        .filter(|(t, _)| t.delegate == delegating)
        .collect();
    if threads.is_empty() {
        return Ok(());
    }
    let mut q = QueryBuilder::<Sqlite>::new(
        "INSERT INTO threads (department_uuid, customer_uuid, owner_user_uuid, updated_at) ",
    );
    q.push_values(threads, |mut b, (t, at)| {
        b.push_bind(t.department_uuid.to_string())
            .push_bind(t.customer_uuid.to_string())
            .push_bind(t.user_uuid.to_string())
            .push_bind(at);
    });
    // Rows for one thread update it in turn; `MAX` keeps the newest time across the two
    // statements.
    q.push(if delegating {
        " ON CONFLICT (department_uuid, customer_uuid) DO UPDATE SET owner_user_uuid = excluded.owner_user_uuid, updated_at = MAX(threads.updated_at, excluded.updated_at)"
    } else {
        " ON CONFLICT (department_uuid, customer_uuid) DO UPDATE SET updated_at = MAX(threads.updated_at, excluded.updated_at)"
    });
    q.build().persistent(false).execute(&mut *conn).await?;
    Ok(())
}
