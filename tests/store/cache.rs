//! The directory cache (`CachedStore`): a write through a node is seen by that node at once,
//! and by every other node as soon as its announcement arrives. The copies here live for an
//! hour, so nothing but invalidation can make a test see a change.

use std::sync::Arc;
use std::time::Duration;

use herald::domain::EmailAddress;
use herald::domain::customer::{ContactOrigin, Customer, CustomerEmail, EmailLabel};
use herald::domain::directory::{Dealer, Department, DepartmentSettings, User};
use herald::store::postgres::PgStore;
use herald::store::{
    CachedStore, ComplianceStore, CustomerLock, CustomerStore, DirectoryStore, Lifecycle, Store,
    Wakeups,
};
use time::OffsetDateTime;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

const FOR_AN_HOUR: Duration = Duration::from_secs(3600);
const PATIENCE: Duration = Duration::from_secs(10);

async fn directory(store: &dyn Store) -> (Dealer, Department, Customer) {
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
    let customer = Customer {
        uuid: Uuid::new_v4(),
        dealer_uuid: dealer.uuid,
        first_name: Some("John".into()),
        last_name: Some("Doe".into()),
        company: None,
        customer_key: None,
        time_zone: None,
        phone_numbers: vec![],
        emails: vec![CustomerEmail {
            email_address: EmailAddress::parse("john@example.com").unwrap(),
            label: EmailLabel::default(),
            ok_to_email: true,
            do_not_cc: false,
            is_preferred: true,
        }],
    };
    store
        .save_customer(&customer, ContactOrigin::Api, OffsetDateTime::now_utc())
        .await
        .unwrap();
    (dealer, department, customer)
}

fn lock(customer: &Customer, department: &Department) -> CustomerLock {
    CustomerLock {
        customer_uuid: customer.uuid,
        user_uuid: department.default_user_uuid,
        // Whole seconds: the stores keep milliseconds.
        expires_at: OffsetDateTime::from_unix_timestamp(OffsetDateTime::now_utc().unix_timestamp())
            .unwrap()
            + time::Duration::hours(1),
    }
}

#[tokio::test]
async fn a_node_sees_its_own_writes_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("cache.db").display());
    let backend = herald::store::sqlite::SqliteStore::connect(&url)
        .await
        .unwrap();
    backend.migrate().await.unwrap();
    let store = CachedStore::with_ttl(Arc::new(backend), FOR_AN_HOUR);
    let (dealer, mut department, mut customer) = directory(&store).await;
    let now = OffsetDateTime::now_utc();

    assert_eq!(
        store
            .department(department.uuid)
            .await
            .unwrap()
            .unwrap()
            .name,
        "Service"
    );
    department.name = "Parts".into();
    store.update_department(&department).await.unwrap();
    assert_eq!(
        store
            .department(department.uuid)
            .await
            .unwrap()
            .unwrap()
            .name,
        "Parts"
    );

    assert!(
        store
            .customer(dealer.uuid, customer.uuid)
            .await
            .unwrap()
            .is_some()
    );
    assert!(
        store
            .customer(Uuid::new_v4(), customer.uuid)
            .await
            .unwrap()
            .is_none(),
        "a kept customer is still only its own dealer's"
    );
    customer.first_name = Some("Jane".into());
    store
        .save_customer(&customer, ContactOrigin::Api, now)
        .await
        .unwrap();
    let read = store
        .customer(dealer.uuid, customer.uuid)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(read.first_name.as_deref(), Some("Jane"));

    let address = EmailAddress::parse("john@example.com").unwrap();
    store
        .set_ok_to_email(dealer.uuid, &crate::suite::opt_out_email(&address), now)
        .await
        .unwrap();
    let read = store
        .customer(dealer.uuid, customer.uuid)
        .await
        .unwrap()
        .unwrap();
    assert!(!read.emails[0].ok_to_email);

    assert_eq!(store.customer_lock(customer.uuid, now).await.unwrap(), None);
    let held = lock(&customer, &department);
    store.lock_customer(&held, now).await.unwrap();
    assert_eq!(
        store.customer_lock(customer.uuid, now).await.unwrap(),
        Some(held.clone())
    );
    assert_eq!(
        store
            .customer_lock(customer.uuid, held.expires_at)
            .await
            .unwrap(),
        None,
        "a kept lock still expires"
    );
    store
        .unlock_customer(customer.uuid, held.user_uuid, now)
        .await
        .unwrap();
    assert_eq!(store.customer_lock(customer.uuid, now).await.unwrap(), None);
}

/// Reads through `store` until `done` holds of what it returns, or fails after [`PATIENCE`].
async fn until<T, F, Fut>(what: &str, read: F, done: impl Fn(&T) -> bool)
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = T>,
{
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        if done(&read().await) {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{what}: not seen within {PATIENCE:?}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_nodes_writes_arrive_as_announcements() {
    let Some((url, guard)) = crate::postgres_support::fresh_database_url().await else {
        return;
    };
    let raw_a = Arc::new(PgStore::connect(&url).await.unwrap());
    raw_a.migrate().await.unwrap();
    let a = CachedStore::with_ttl(raw_a.clone(), FOR_AN_HOUR);
    let b = Arc::new(CachedStore::with_ttl(
        Arc::new(PgStore::connect(&url).await.unwrap()),
        FOR_AN_HOUR,
    ));
    let wakeups = Wakeups::default();
    let shutdown = CancellationToken::new();
    let relay = tokio::spawn({
        let (b, wakeups, shutdown) = (b.clone(), wakeups.clone(), shutdown.clone());
        async move { b.relay_wakeups(wakeups, shutdown).await }
    });
    // The relay wakes the workers once it listens.
    tokio::time::timeout(PATIENCE, wakeups.jobs.notified())
        .await
        .expect("B listens");

    let (_, mut department, customer) = directory(&a).await;
    let now = OffsetDateTime::now_utc();
    assert_eq!(
        b.department(department.uuid).await.unwrap().unwrap().name,
        "Service"
    );
    assert_eq!(b.customer_lock(customer.uuid, now).await.unwrap(), None);

    // Written behind the cache's back (nothing announced): B keeps its copy.
    department.name = "Parts".into();
    raw_a.update_department(&department).await.unwrap();
    assert_eq!(
        b.department(department.uuid).await.unwrap().unwrap().name,
        "Service"
    );

    // Written through A's cache: announced, and B drops its copy.
    department.name = "Sales".into();
    a.update_department(&department).await.unwrap();
    until(
        "the renamed department",
        || async { b.department(department.uuid).await.unwrap().unwrap().name },
        |name| name == "Sales",
    )
    .await;

    let held = lock(&customer, &department);
    a.lock_customer(&held, now).await.unwrap();
    until(
        "the lock taken on A",
        || async { b.customer_lock(customer.uuid, now).await.unwrap() },
        |lock| lock.as_ref() == Some(&held),
    )
    .await;

    shutdown.cancel();
    tokio::time::timeout(PATIENCE, relay)
        .await
        .expect("the relay stops on shutdown")
        .unwrap();
    drop((a, b, raw_a));
    drop(guard);
}
