//! Many accepted messages written with one statement per table: the fast path of group
//! commit on PostgreSQL. A batch of hundreds costs a handful of round trips and one commit
//! instead of six round trips and a commit each. Messages with an idempotency key are not
//! written here (see `accept_message`).

use std::collections::BTreeMap;

use sqlx::types::Json;
use sqlx::{PgConnection, Postgres, QueryBuilder};
use time::OffsetDateTime;
use uuid::Uuid;

use super::messages::{MESSAGE_COLUMNS, notify};
use super::{JOBS_CHANNEL, at};
use crate::domain::message::Message;
use crate::store::{NewJob, StoreResult, ThreadOwner};

/// PostgreSQL allows 65,535 bound values per statement; a message row has 32.
const ROWS_PER_STATEMENT: usize = 2_000;

/// What one accepted message writes.
pub(super) struct Accepted<'a> {
    pub message: &'a Message,
    pub job: Option<NewJob>,
    pub thread: Option<ThreadOwner>,
}

/// Writes every message, job and thread of `batch` inside the caller's transaction, and
/// wakes the workers of every node on commit. Fails as a whole.
pub(super) async fn accept_many_in(
    conn: &mut PgConnection,
    batch: &[Accepted<'_>],
) -> StoreResult<()> {
    for chunk in batch.chunks(ROWS_PER_STATEMENT) {
        insert_messages(conn, chunk).await?;
        insert_jobs(conn, chunk).await?;
    }
    // A leased job is being sent inline by its request: no worker could take it.
    if batch
        .iter()
        .any(|a| a.job.is_some_and(|j| j.lease.is_none()))
    {
        notify(conn, JOBS_CHANNEL).await?;
    }
    upsert_threads(conn, batch).await
}

async fn insert_messages(conn: &mut PgConnection, batch: &[Accepted<'_>]) -> StoreResult<()> {
    let mut q = QueryBuilder::<Postgres>::new(format!("INSERT INTO messages ({MESSAGE_COLUMNS}) "));
    q.push_values(batch, |mut b, a| {
        let m = a.message;
        b.push_bind(m.uuid)
            .push_bind(m.dealer_uuid)
            .push_bind(m.department_uuid)
            .push_bind(m.customer_uuid)
            .push_bind(m.user_uuid)
            .push_bind(m.credential.clone())
            .push_bind(m.direction.as_str())
            .push_bind(m.protocol.as_str())
            .push_bind(m.purpose.as_str())
            .push_bind(m.is_manual)
            .push_bind(m.body.clone())
            .push_bind(m.subject.clone())
            .push_bind(m.recipient.to_string())
            .push_bind(Json(m.cc.clone()))
            .push_bind(Json(m.bcc.clone()))
            .push_bind(Json(m.options.clone()))
            .push_bind(m.override_optout)
            .push_bind(m.callback_url.clone())
            .push_bind(Json(m.callback_metadata.clone()))
            .push_bind(m.request_uuid)
            .push_bind(m.status.as_str())
            .push_bind(m.error.as_ref().map(|e| e.code.as_str()))
            .push_bind(m.error.as_ref().map(|e| e.description.clone()))
            .push_bind(Json(m.warnings.clone()))
            .push_bind(m.provider_message_id.clone())
            .push_bind(m.composed_body.clone())
            .push_bind(m.sender.clone())
            .push_bind(at(m.created_at))
            .push_bind(at(m.updated_at))
            .push_bind(m.held_until.map(at))
            .push_bind(m.html_body.clone())
            .push_bind(Json(m.attachments.clone()));
    });
    // Each batch size is its own statement text: not worth a place in the statement cache.
    q.build().persistent(false).execute(&mut *conn).await?;
    Ok(())
}

async fn insert_jobs(conn: &mut PgConnection, batch: &[Accepted<'_>]) -> StoreResult<()> {
    let jobs: Vec<_> = batch
        .iter()
        .filter_map(|a| a.job.map(|j| (a.message.uuid, j)))
        .collect();
    if jobs.is_empty() {
        return Ok(());
    }
    let mut q = QueryBuilder::<Postgres>::new(
        "INSERT INTO delivery_jobs (message_uuid, due_at, attempts, lease_id, lease_expires_at) ",
    );
    q.push_values(jobs, |mut b, (uuid, job)| {
        b.push_bind(uuid)
            .push_bind(at(job.due_at))
            .push_bind(0_i32)
            .push_bind(job.lease.map(|l| l.id))
            .push_bind(job.lease.map(|l| at(l.expires_at)));
    });
    q.build().persistent(false).execute(&mut *conn).await?;
    Ok(())
}

/// One row per thread, as if the messages had been written one by one: the owner is the last
/// delegating sender's, or — for a new thread with none — the first sender's; the time is the
/// newest. (PostgreSQL refuses to upsert one row twice in a statement, hence the merging.)
/// Rows go in key order, so two nodes' batches lock threads in the same order.
async fn upsert_threads(conn: &mut PgConnection, batch: &[Accepted<'_>]) -> StoreResult<()> {
    let mut threads: BTreeMap<(Uuid, Uuid), (Uuid, bool, OffsetDateTime)> = BTreeMap::new();
    for a in batch {
        let Some(t) = a.thread else { continue };
        let when = at(a.message.created_at);
        threads
            .entry((t.department_uuid, t.customer_uuid))
            .and_modify(|(owner, delegated, latest)| {
                if t.delegate {
                    *owner = t.user_uuid;
                    *delegated = true;
                }
                *latest = (*latest).max(when);
            })
            .or_insert((t.user_uuid, t.delegate, when));
    }
    let (delegated, kept): (Vec<_>, Vec<_>) = threads
        .into_iter()
        .partition(|(_, (_, delegated, _))| *delegated);
    for (rows, set_owner) in [(kept, false), (delegated, true)] {
        if rows.is_empty() {
            continue;
        }
        let mut q = QueryBuilder::<Postgres>::new(
            "INSERT INTO threads (department_uuid, customer_uuid, owner_user_uuid, updated_at) ",
        );
        q.push_values(rows, |mut b, ((department, customer), (owner, _, when))| {
            b.push_bind(department)
                .push_bind(customer)
                .push_bind(owner)
                .push_bind(when);
        });
        q.push(if set_owner {
            " ON CONFLICT (department_uuid, customer_uuid) DO UPDATE SET owner_user_uuid = excluded.owner_user_uuid, updated_at = GREATEST(threads.updated_at, excluded.updated_at)"
        } else {
            " ON CONFLICT (department_uuid, customer_uuid) DO UPDATE SET updated_at = GREATEST(threads.updated_at, excluded.updated_at)"
        });
        q.build().persistent(false).execute(&mut *conn).await?;
    }
    Ok(())
}
