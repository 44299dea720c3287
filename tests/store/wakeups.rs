//! PostgreSQL only: work queued by one node wakes the idle workers of another. (SQLite serves
//! one process, whose workers its own requests wake.)

use std::sync::Arc;
use std::time::Duration;

use herald::domain::PhoneNumber;
use herald::domain::directory::{Dealer, Department, DepartmentSettings, User};
use herald::domain::message::{Direction, Message, MessageStatus, Protocol, Purpose, Recipient};
use herald::store::postgres::PgStore;
use herald::store::{Lifecycle, MessageStore, NewCallback, NewJob, Store, Wakeups};
use time::OffsetDateTime;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

const PATIENCE: Duration = Duration::from_secs(10);

async fn woken(signal: &Notify, what: &str) {
    tokio::time::timeout(PATIENCE, signal.notified())
        .await
        .unwrap_or_else(|_| panic!("{what}: no wake-up within {PATIENCE:?}"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn work_queued_on_one_node_wakes_another() {
    let Some((url, guard)) = crate::postgres_support::fresh_database_url().await else {
        return;
    };
    let accepting = PgStore::connect(&url).await.unwrap();
    accepting.migrate().await.unwrap();
    let listening = Arc::new(PgStore::connect(&url).await.unwrap());
    let wakeups = Wakeups::default();
    let shutdown = CancellationToken::new();
    let relay = tokio::spawn({
        let (store, wakeups, shutdown) = (listening.clone(), wakeups.clone(), shutdown.clone());
        async move { store.relay_wakeups(wakeups, shutdown).await }
    });
    // The relay wakes everything once it listens (work may have been queued before).
    woken(&wakeups.jobs, "listening").await;
    woken(&wakeups.callbacks, "listening").await;

    let m = message(&accepting).await;
    let job = NewJob {
        due_at: m.created_at,
        lease: None,
    };
    accepting
        .accept_message(&m, Some(job), None, None)
        .await
        .unwrap();
    woken(&wakeups.jobs, "a queued job").await;

    let callback = NewCallback {
        webhook_id: format!("msg_{}", Uuid::new_v4().simple()),
        url: "https://client.example.com/cb".into(),
        credential: "integrator".into(),
        payload: "{}".into(),
    };
    assert!(
        accepting
            .apply_receipt(
                m.uuid,
                MessageStatus::Delivered,
                None,
                Some(callback),
                OffsetDateTime::now_utc()
            )
            .await
            .unwrap()
    );
    woken(&wakeups.callbacks, "a queued callback").await;

    shutdown.cancel();
    tokio::time::timeout(PATIENCE, relay)
        .await
        .expect("the relay stops on shutdown")
        .unwrap();
    drop((accepting, listening));
    drop(guard);
}

async fn message(store: &dyn Store) -> Message {
    let dealer = Dealer {
        uuid: Uuid::new_v4(),
        name: "Acme Motors".into(),
    };
    store
        .insert_dealer(&dealer, OffsetDateTime::now_utc())
        .await
        .unwrap();
    let uuid = Uuid::new_v4();
    let default_user = User::default_for(&dealer, uuid, "Service");
    let department = Department {
        uuid,
        dealer_uuid: dealer.uuid,
        name: "Service".into(),
        settings: DepartmentSettings::default(),
        default_user_uuid: default_user.uuid,
    };
    store
        .insert_department(&department, &default_user, OffsetDateTime::now_utc())
        .await
        .unwrap();
    let now = OffsetDateTime::now_utc();
    Message {
        uuid: Uuid::now_v7(),
        dealer_uuid: dealer.uuid,
        department_uuid: department.uuid,
        customer_uuid: None,
        user_uuid: None,
        credential: Some("integrator".into()),
        direction: Direction::Outgoing,
        protocol: Protocol::Text,
        purpose: Purpose::Customer,
        is_manual: true,
        body: "Hello".into(),
        subject: None,
        html_body: None,
        attachments: Vec::new(),
        recipient: Recipient::Phone(PhoneNumber::parse("+14155550199").unwrap()),
        cc: vec![],
        bcc: vec![],
        options: Default::default(),
        override_optout: false,
        callback_url: Some("https://client.example.com/cb".into()),
        callback_metadata: Default::default(),
        request_uuid: Uuid::new_v4(),
        status: MessageStatus::Accepted,
        error: None,
        warnings: vec![],
        provider_message_id: None,
        composed_body: None,
        sender: None,
        created_at: now,
        updated_at: now,
        held_until: None,
    }
}
