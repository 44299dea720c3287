//! Conformance of the operator's store calls (SPEC 8): a cancel never takes a job a worker
//! holds, a requeue and a callback redelivery apply only to what they are for, the queue's
//! figures count each job once, and the consent record refuses to be rewritten.

use std::sync::Arc;
use std::time::Duration as StdDuration;

use herald::domain::codes::ErrorCode;
use herald::domain::message::{Message, MessageError, MessageStatus, SendOptions};
use herald::domain::optout::{OptCause, OptEvent, OptSource};
use herald::store::admin_actions::ActionOutcome;
use herald::store::admin_ops::CallbackState;
use herald::store::{
    CallbackResult, EmailOptChange, JobNext, MessageUpdate, NewJob, OptChange, Store,
};
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

use crate::suite::{dealer, department, message, new_callback};

const LEASE: StdDuration = StdDuration::from_secs(60);

fn now() -> OffsetDateTime {
    OffsetDateTime::now_utc()
}

/// Accepts `m` with a job due at `due`.
async fn queued(store: &dyn Store, m: &Message, due: OffsetDateTime) {
    store
        .accept_message(
            m,
            Some(NewJob {
                due_at: due,
                lease: None,
            }),
            None,
            None,
        )
        .await
        .unwrap();
}

/// A message of a new dealer that a worker took up at `t0` and finished with `update`.
async fn taken_and_finished(
    store: &dyn Store,
    update: MessageUpdate,
    t0: OffsetDateTime,
) -> Message {
    let dealer = dealer(store).await;
    let department = department(store, &dealer).await;
    let m = message(&dealer, &department, t0);
    queued(store, &m, t0).await;
    let job = store.claim_jobs(t0, LEASE, 1).await.unwrap().remove(0);
    assert_eq!(job.message_uuid, m.uuid);
    store
        .finish_job(&job, update, vec![], JobNext::Done, t0)
        .await
        .unwrap();
    m
}

async fn status_of(store: &dyn Store, uuid: Uuid) -> MessageStatus {
    store.message(uuid).await.unwrap().unwrap().status
}

pub async fn a_cancel_never_takes_a_job_a_worker_holds(store: &Arc<dyn Store>) {
    let dealer = dealer(store.as_ref()).await;
    let department = department(store.as_ref(), &dealer).await;
    let t0 = now();
    let mut uuids = Vec::new();
    for _ in 0..24 {
        let m = message(&dealer, &department, t0);
        queued(store.as_ref(), &m, t0).await;
        uuids.push(m.uuid);
    }

    // A job a worker holds is not the operator's to cancel.
    let held = message(&dealer, &department, t0 - Duration::seconds(1));
    queued(store.as_ref(), &held, t0 - Duration::seconds(1)).await;
    let job = store.claim_jobs(t0, LEASE, 1).await.unwrap().remove(0);
    assert_eq!(job.message_uuid, held.uuid);
    assert_eq!(
        store.cancel_message(held.uuid, None, t0).await.unwrap(),
        ActionOutcome::Refused
    );

    // Workers claim while the operator cancels every message: each message ends either
    // claimed (its cancel refused) or cancelled (never claimed), never both.
    let claimer = {
        let store = store.clone();
        tokio::spawn(async move {
            let mut claimed = Vec::new();
            for _ in 0..24 {
                for job in store.claim_jobs(t0, LEASE, 1).await.unwrap() {
                    claimed.push(job.message_uuid);
                }
            }
            claimed
        })
    };
    let mut cancelled = Vec::new();
    for uuid in &uuids {
        let outcome = store
            .cancel_message(*uuid, Some(new_callback(1)), t0)
            .await
            .unwrap();
        if outcome == ActionOutcome::Done {
            cancelled.push(*uuid);
        }
    }
    let mut claimed = claimer.await.unwrap();
    claimed.extend(
        store
            .claim_jobs(t0, LEASE, 100)
            .await
            .unwrap()
            .iter()
            .map(|j| j.message_uuid),
    );
    for uuid in &uuids {
        let was_claimed = claimed.contains(uuid);
        let was_cancelled = cancelled.contains(uuid);
        assert!(
            was_claimed != was_cancelled,
            "{uuid}: claimed {was_claimed}, cancelled {was_cancelled}"
        );
        let status = status_of(store.as_ref(), *uuid).await;
        if was_cancelled {
            assert_eq!(status, MessageStatus::Cancelled);
        } else {
            assert_eq!(status, MessageStatus::Accepted);
        }
    }
    // Each cancel queued its callback; the claimed ones have none.
    let callbacks = store.claim_callbacks(t0, LEASE, 100).await.unwrap();
    assert_eq!(callbacks.len(), cancelled.len());
    assert_eq!(
        store
            .cancel_message(Uuid::now_v7(), None, t0)
            .await
            .unwrap(),
        ActionOutcome::Missing
    );
}

pub async fn a_requeue_applies_only_to_failed_or_expired_messages(store: &dyn Store) {
    let t0 = now();
    let dealer = dealer(store).await;
    let department = department(store, &dealer).await;
    let queued_one = message(&dealer, &department, t0);
    queued(store, &queued_one, t0 + Duration::hours(1)).await;
    assert_eq!(
        store
            .requeue_message(queued_one.uuid, &SendOptions::default(), t0)
            .await
            .unwrap(),
        ActionOutcome::Refused,
        "an ACCEPTED message is not retried"
    );
    let failed = MessageUpdate {
        status: Some(MessageStatus::Failed),
        error: Some(MessageError {
            code: ErrorCode::TwilioSendingFailure,
            description: "refused".into(),
        }),
        ..Default::default()
    };
    let m = taken_and_finished(store, failed, t0).await;

    let later = t0 + Duration::minutes(5);
    let outcome = store
        .requeue_message(m.uuid, &SendOptions::default(), later)
        .await
        .unwrap();

    assert_eq!(outcome, ActionOutcome::Done);
    let back = store.message(m.uuid).await.unwrap().unwrap();
    assert_eq!(back.status, MessageStatus::Accepted);
    assert_eq!(back.error, None);
    let again = store.claim_jobs(later, LEASE, 10).await.unwrap();
    assert_eq!(again.len(), 1, "due at once");
    assert_eq!(again[0].message_uuid, m.uuid);
    assert_eq!(again[0].attempts, 0, "a fresh attempt count");
    assert_eq!(
        store
            .requeue_message(m.uuid, &SendOptions::default(), later)
            .await
            .unwrap(),
        ActionOutcome::Refused
    );
    assert_eq!(
        store
            .requeue_message(Uuid::now_v7(), &SendOptions::default(), later)
            .await
            .unwrap(),
        ActionOutcome::Missing
    );
}

pub async fn a_failed_callback_is_redelivered_with_its_webhook_id(store: &dyn Store) {
    let t0 = now();
    let cb = new_callback(1);
    let sent = MessageUpdate {
        status: Some(MessageStatus::Sent),
        callbacks: vec![cb.clone()],
        ..Default::default()
    };
    let m = taken_and_finished(store, sent, t0).await;
    let claimed = store.claim_callbacks(t0, LEASE, 1).await.unwrap().remove(0);
    assert_eq!(
        store.redeliver_callback(&cb.webhook_id, t0).await.unwrap(),
        ActionOutcome::Refused,
        "a callback being tried is not redelivered"
    );
    let gave_up = CallbackResult::Failed {
        detail: "HTTP 500".into(),
    };
    assert!(store.finish_callback(&claimed, gave_up, t0).await.unwrap());
    let failed = store
        .callbacks_page(CallbackState::Failed, None, 10)
        .await
        .unwrap();
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0].message_uuid, m.uuid);
    assert_eq!(failed[0].callback.webhook_id, cb.webhook_id);
    assert_eq!(failed[0].callback.state, "FAILED");

    let later = t0 + Duration::minutes(1);
    let outcome = store
        .redeliver_callback(&cb.webhook_id, later)
        .await
        .unwrap();

    assert_eq!(outcome, ActionOutcome::Done);
    let pending = store
        .callbacks_page(CallbackState::Pending, None, 10)
        .await
        .unwrap();
    assert_eq!(pending.len(), 1);
    assert_eq!(pending[0].callback.attempts, 0);
    assert!(
        store
            .callbacks_page(CallbackState::Failed, None, 10)
            .await
            .unwrap()
            .is_empty()
    );
    let again = store.claim_callbacks(later, LEASE, 10).await.unwrap();
    assert_eq!(again.len(), 1);
    assert_eq!(again[0].webhook_id, cb.webhook_id);
    assert_eq!(again[0].payload, cb.payload);
    assert_eq!(
        store
            .redeliver_callback(&cb.webhook_id, later)
            .await
            .unwrap(),
        ActionOutcome::Refused
    );
    assert_eq!(
        store
            .redeliver_callback("msg_unknown", later)
            .await
            .unwrap(),
        ActionOutcome::Missing
    );
}

pub async fn queue_figures_count_each_job_once(store: &dyn Store) {
    let dealer = dealer(store).await;
    let department = department(store, &dealer).await;
    let t0 = now();
    let hour = Duration::hours(1);
    // In a worker's hands.
    let held = message(&dealer, &department, t0 - Duration::minutes(10));
    queued(store, &held, t0 - Duration::minutes(10)).await;
    assert_eq!(store.claim_jobs(t0, LEASE, 1).await.unwrap().len(), 1);
    // Due, the oldest for two minutes.
    let due = message(&dealer, &department, t0 - Duration::minutes(2));
    queued(store, &due, t0 - Duration::minutes(2)).await;
    queued(store, &message(&dealer, &department, t0), t0).await;
    // Held by delay.
    let mut scheduled = message(&dealer, &department, t0);
    scheduled.status = MessageStatus::Scheduled;
    queued(store, &scheduled, t0 + hour).await;
    // Backing off before a retry (an ACCEPTED message due later).
    queued(store, &message(&dealer, &department, t0), t0 + hour).await;

    let q = store.queue_figures(t0).await.unwrap();

    assert_eq!(q.in_flight, 1, "{q:?}");
    assert_eq!(q.due, 2, "{q:?}");
    assert_eq!(q.scheduled, 1, "{q:?}");
    assert_eq!(q.retrying, 1, "{q:?}");
    assert_eq!(q.waiting_for_optin, 0, "{q:?}");
    let oldest = q.oldest_due_at.expect("a due job");
    let expected = t0 - Duration::minutes(2);
    assert!(
        (oldest - expected).abs() < Duration::milliseconds(2),
        "{q:?}"
    );
    assert_eq!(q.failed_last_hour, 0);
    // Once its lease has run out, the held job is due again, and the oldest.
    let later = t0 + Duration::seconds(61);
    let q = store.queue_figures(later).await.unwrap();
    assert_eq!((q.in_flight, q.due), (0, 3), "{q:?}");
}

/// Records one STOP for a number and one opt-out for an address at a new dealer.
async fn record_consent(store: &dyn Store) {
    let dealer = dealer(store).await;
    let number = herald::domain::PhoneNumber::parse("+14155550400").unwrap();
    let address = herald::domain::EmailAddress::parse("ann@example.com").unwrap();
    let cause = OptCause::default();
    let change = OptChange {
        phone: &number,
        event: OptEvent::StopMessageReceived,
        source: OptSource::Inbound,
        cause: &cause,
    };
    store
        .apply_opt_changes(dealer.uuid, &[change], now())
        .await
        .unwrap();
    let email = EmailOptChange {
        email: &address,
        ok_to_email: false,
        event: OptEvent::UserRequestedOptOut,
        source: OptSource::Api,
        cause: &cause,
    };
    store
        .set_ok_to_email(dealer.uuid, &email, now())
        .await
        .unwrap();
    assert_eq!(
        store.opt_history(dealer.uuid, &number).await.unwrap().len(),
        1
    );
    assert_eq!(
        store
            .email_opt_history(dealer.uuid, &address)
            .await
            .unwrap()
            .len(),
        1
    );
}

/// What the database must refuse: the consent record is append-only in the database itself,
/// whatever code (or operator at a SQL prompt) tries to change it.
const REWRITES: [&str; 4] = [
    "UPDATE opt_events SET event = 'OPTIN_MESSAGE_RECEIVED'",
    "DELETE FROM opt_events",
    "UPDATE email_opt_events SET event = 'OPTIN_MESSAGE_RECEIVED'",
    "DELETE FROM email_opt_events",
];

#[tokio::test]
async fn sqlite_refuses_to_rewrite_the_consent_record() {
    use sqlx::Connection;
    let (store, dir) = crate::sqlite_store().await.unwrap();
    record_consent(store.as_ref()).await;
    let url = format!("sqlite://{}", dir.path().join("conformance.db").display());
    let mut conn = sqlx::SqliteConnection::connect(&url).await.unwrap();
    for sql in REWRITES {
        let refused = sqlx::query(sql).execute(&mut conn).await;
        assert!(refused.is_err(), "{sql} was allowed");
    }
    let left: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM opt_events")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(left, 1);
}

#[tokio::test]
async fn postgres_refuses_to_rewrite_the_consent_record() {
    use herald::store::Lifecycle;
    use sqlx::Connection;
    let Some((url, guard)) = crate::postgres_support::fresh_database_url().await else {
        return;
    };
    let store = herald::store::postgres::PgStore::connect(&url)
        .await
        .unwrap();
    store.migrate().await.unwrap();
    record_consent(&store).await;
    let mut conn = sqlx::PgConnection::connect(&url).await.unwrap();
    for sql in REWRITES {
        let refused = sqlx::query(sql).execute(&mut conn).await;
        assert!(refused.is_err(), "{sql} was allowed");
    }
    let left: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM opt_events")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(left, 1);
    drop(conn);
    drop(store);
    drop(guard);
}
