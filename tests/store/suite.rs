//! The conformance tests themselves: each takes any [`Store`].

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration as StdDuration;

use herald::domain::credential::{Grant, IssuedCredential, Level, Scope};
use herald::domain::customer::{
    ContactOrigin, Customer, CustomerEmail, CustomerPhone, EmailLabel, PhoneLabel,
};
use herald::domain::directory::{Dealer, Department, DepartmentSettings, User};
use herald::domain::optout::{OptCause, OptEvent, OptSource, OptState};
use herald::domain::{EmailAddress, PhoneNumber};
use herald::store::{
    CustomerLock, CustomerQuery, EmailOptChange, LockOutcome, OptChange, Store, StoreError,
    UnlockOutcome,
};
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

pub use crate::admin::{
    a_cancel_never_takes_a_job_a_worker_holds,
    a_failed_callback_is_redelivered_with_its_webhook_id,
    a_requeue_applies_only_to_failed_or_expired_messages, queue_figures_count_each_job_once,
};

/// What a test takes: `&dyn Store`, or `&Arc<dyn Store>` when it shares the store with tasks
/// of its own.
pub trait StoreArg<'a> {
    fn from_store(store: &'a Arc<dyn Store>) -> Self;
}

impl<'a> StoreArg<'a> for &'a dyn Store {
    fn from_store(store: &'a Arc<dyn Store>) -> Self {
        store.as_ref()
    }
}

impl<'a> StoreArg<'a> for &'a Arc<dyn Store> {
    fn from_store(store: &'a Arc<dyn Store>) -> Self {
        store
    }
}

fn phone(s: &str) -> PhoneNumber {
    PhoneNumber::parse(s).unwrap()
}

fn email(s: &str) -> EmailAddress {
    EmailAddress::parse(s).unwrap()
}

pub(crate) async fn dealer(store: &dyn Store) -> Dealer {
    let dealer = Dealer {
        uuid: Uuid::new_v4(),
        name: "Acme Motors".into(),
    };
    store.insert_dealer(&dealer).await.unwrap();
    dealer
}

pub(crate) async fn department(store: &dyn Store, dealer: &Dealer) -> Department {
    let uuid = Uuid::new_v4();
    let default_user = User::default_for(dealer, uuid, "Service");
    let department = Department {
        uuid,
        dealer_uuid: dealer.uuid,
        name: "Service".into(),
        settings: DepartmentSettings::default(),
        default_user_uuid: default_user.uuid,
    };
    store
        .insert_department(&department, &default_user)
        .await
        .unwrap();
    department
}

fn customer(dealer: &Dealer, first: &str, phones: &[&str], emails: &[&str]) -> Customer {
    Customer {
        uuid: Uuid::new_v4(),
        dealer_uuid: dealer.uuid,
        first_name: Some(first.into()),
        last_name: Some("Doe".into()),
        company: None,
        customer_key: Some(format!("KEY-{first}")),
        phone_numbers: phones
            .iter()
            .map(|p| CustomerPhone {
                phone_number: phone(p),
                label: PhoneLabel::Cell,
                ok_to_text: true,
                is_preferred: false,
            })
            .collect(),
        emails: emails
            .iter()
            .map(|e| CustomerEmail {
                email_address: email(e),
                label: EmailLabel::Home,
                ok_to_email: true,
                do_not_cc: false,
                is_preferred: false,
            })
            .collect(),
    }
}

fn now() -> OffsetDateTime {
    OffsetDateTime::now_utc()
}

pub async fn department_comes_with_its_default_user(store: &dyn Store) {
    let dealer = dealer(store).await;
    let department = department(store, &dealer).await;
    let loaded = store.department(department.uuid).await.unwrap().unwrap();
    assert_eq!(loaded, department);
    let user = store
        .user(department.default_user_uuid)
        .await
        .unwrap()
        .unwrap();
    assert!(user.is_default);
    assert_eq!(user.department_uuid, department.uuid);
    assert!(store.department(Uuid::new_v4()).await.unwrap().is_none());
}

pub async fn credentials_upsert_and_revoke(store: &dyn Store) {
    let dealer = dealer(store).await;
    let grant = Grant {
        scope: Scope::MessageCreate,
        level: Level::Dealer,
        uuid: dealer.uuid,
    };
    let first = IssuedCredential::generate_for("integrator".into(), vec![grant]);
    store
        .put_credential(&first.credential, now())
        .await
        .unwrap();
    let loaded = store.credential("integrator").await.unwrap().unwrap();
    assert!(loaded.verify(&first.password));
    assert_eq!(loaded.grants, vec![grant]);

    assert!(store.revoke_credential("integrator", now()).await.unwrap());
    let revoked = store.credential("integrator").await.unwrap().unwrap();
    assert!(revoked.revoked);
    assert!(!revoked.verify(&first.password));
    assert!(!store.revoke_credential("nobody", now()).await.unwrap());

    let second = IssuedCredential::generate_for("integrator".into(), vec![]);
    store
        .put_credential(&second.credential, now())
        .await
        .unwrap();
    let reissued = store.credential("integrator").await.unwrap().unwrap();
    assert!(reissued.verify(&second.password));
    assert!(!reissued.verify(&first.password));
    assert!(reissued.grants.is_empty());
}

pub async fn api_numbers_start_not_set_and_imported_ones_opted_in(store: &dyn Store) {
    let dealer = dealer(store).await;
    let from_api = customer(&dealer, "Api", &["+14155550001"], &[]);
    let from_dms = customer(&dealer, "Dms", &["+14155550002"], &[]);
    store
        .save_customer(&from_api, ContactOrigin::Api, now())
        .await
        .unwrap();
    store
        .save_customer(&from_dms, ContactOrigin::DmsImport, now())
        .await
        .unwrap();
    let api_state = store
        .opt_status(dealer.uuid, &phone("+14155550001"))
        .await
        .unwrap();
    let dms_state = store
        .opt_status(dealer.uuid, &phone("+14155550002"))
        .await
        .unwrap();
    assert_eq!(api_state.state, OptState::NotSet);
    assert!(api_state.time_of_change.is_none());
    assert_eq!(dms_state.state, OptState::OptedIn);
    assert!(dms_state.time_of_change.is_some());
}

pub async fn import_never_undoes_an_opt_out(store: &dyn Store) {
    let dealer = dealer(store).await;
    let number = phone("+14155550003");
    let change = OptChange {
        phone: &number,
        event: OptEvent::StopMessageReceived,
        source: OptSource::Inbound,
        cause: &OptCause::NONE,
    };
    store
        .apply_opt_changes(dealer.uuid, &[change], now())
        .await
        .unwrap();
    let c = customer(&dealer, "Stopped", &["+14155550003"], &[]);
    store
        .save_customer(&c, ContactOrigin::DmsImport, now())
        .await
        .unwrap();
    assert_eq!(
        store.opt_status(dealer.uuid, &number).await.unwrap().state,
        OptState::OptedOut
    );
}

pub async fn opt_events_are_recorded_in_order(store: &dyn Store) {
    let dealer = dealer(store).await;
    let number = phone("+14155550004");
    let t0 = now();
    let changes = [
        OptChange {
            phone: &number,
            event: OptEvent::StopMessageReceived,
            source: OptSource::Inbound,
            cause: &OptCause::NONE,
        },
        OptChange {
            phone: &number,
            event: OptEvent::OptinMessageReceived,
            source: OptSource::Api,
            cause: &OptCause::NONE,
        },
    ];
    let statuses = store
        .apply_opt_changes(dealer.uuid, &changes, t0)
        .await
        .unwrap();
    assert_eq!(statuses[0].state, OptState::OptedOut);
    assert_eq!(statuses[1].state, OptState::OptedIn);
    let history = store.opt_history(dealer.uuid, &number).await.unwrap();
    let events: Vec<_> = history
        .iter()
        .map(|h| (h.event.as_str(), h.state.as_str()))
        .collect();
    assert_eq!(
        events,
        [
            ("STOP_MESSAGE_RECEIVED", "OPTED_OUT"),
            ("OPTIN_MESSAGE_RECEIVED", "OPTED_IN")
        ]
    );
    assert_eq!(history[0].source, "INBOUND");
}

pub async fn opt_state_is_per_dealer(store: &dyn Store) {
    let a = dealer(store).await;
    let b = dealer(store).await;
    let number = phone("+14155550005");
    let change = OptChange {
        phone: &number,
        event: OptEvent::UserRequestedOptOut,
        source: OptSource::Api,
        cause: &OptCause::NONE,
    };
    store
        .apply_opt_changes(a.uuid, &[change], now())
        .await
        .unwrap();
    assert_eq!(
        store.opt_status(a.uuid, &number).await.unwrap().state,
        OptState::OptedOut
    );
    assert_eq!(
        store.opt_status(b.uuid, &number).await.unwrap().state,
        OptState::NotSet
    );
}

pub async fn customer_update_replaces_contacts(store: &dyn Store) {
    let dealer = dealer(store).await;
    let mut c = customer(
        &dealer,
        "John",
        &["+14155550006", "+14155550007"],
        &["john@example.com"],
    );
    store
        .save_customer(&c, ContactOrigin::Api, now())
        .await
        .unwrap();
    c.phone_numbers.remove(0);
    c.emails.clear();
    c.company = Some("Doe Hauling".into());
    store
        .save_customer(&c, ContactOrigin::Api, now())
        .await
        .unwrap();
    let loaded = store.customer(dealer.uuid, c.uuid).await.unwrap().unwrap();
    assert_eq!(loaded, c);
}

pub async fn customer_uuid_of_another_dealer_is_refused(store: &dyn Store) {
    let a = dealer(store).await;
    let b = dealer(store).await;
    let c = customer(&a, "Owned", &[], &[]);
    store
        .save_customer(&c, ContactOrigin::Api, now())
        .await
        .unwrap();
    let hijack = Customer {
        dealer_uuid: b.uuid,
        first_name: Some("Mallory".into()),
        ..c.clone()
    };
    let err = store
        .save_customer(&hijack, ContactOrigin::Api, now())
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Conflict(_)), "{err:?}");
    assert!(store.customer(b.uuid, c.uuid).await.unwrap().is_none());
    assert_eq!(
        store
            .customer(a.uuid, c.uuid)
            .await
            .unwrap()
            .unwrap()
            .first_name
            .as_deref(),
        Some("Owned")
    );
}

pub async fn search_matches_names_keys_phones_and_emails(store: &dyn Store) {
    let dealer = dealer(store).await;
    let other = dealer_named(store, "Other").await;
    let john = customer(
        &dealer,
        "John",
        &["+14155552671"],
        &["john.doe@example.com"],
    );
    let jane = customer(&dealer, "Jane", &["+14155552672"], &[]);
    let stranger = customer(&other, "John", &["+14155552671"], &["john.doe@example.com"]);
    for c in [&john, &jane, &stranger] {
        store
            .save_customer(c, ContactOrigin::Api, now())
            .await
            .unwrap();
    }
    let search = |text: &str| CustomerQuery {
        text: text.into(),
        phone: PhoneNumber::parse(text).ok(),
        email: EmailAddress::parse(text).ok(),
        limit: 10,
    };
    for term in [
        "john",
        "JOHN DOE",
        "KEY-John",
        "4155552671",
        "+14155552671",
        "John.Doe@Example.com",
    ] {
        let found = store
            .search_customers(dealer.uuid, &search(term))
            .await
            .unwrap();
        let uuids: Vec<Uuid> = found.iter().map(|c| c.uuid).collect();
        assert_eq!(uuids, vec![john.uuid], "term {term}");
    }
    let both = store
        .search_customers(dealer.uuid, &search("doe"))
        .await
        .unwrap();
    assert_eq!(both.len(), 2);
    let limited = store
        .search_customers(
            dealer.uuid,
            &CustomerQuery {
                limit: 1,
                ..search("doe")
            },
        )
        .await
        .unwrap();
    assert_eq!(limited.len(), 1);
    assert!(
        store
            .search_customers(dealer.uuid, &search("%"))
            .await
            .unwrap()
            .is_empty()
    );
}

async fn dealer_named(store: &dyn Store, name: &str) -> Dealer {
    let dealer = Dealer {
        uuid: Uuid::new_v4(),
        name: name.into(),
    };
    store.insert_dealer(&dealer).await.unwrap();
    dealer
}

pub async fn locks_conflict_extend_and_expire(store: &dyn Store) {
    let customer = Uuid::new_v4();
    let (alice, bob) = (Uuid::new_v4(), Uuid::new_v4());
    let t0 = now();
    let lock = |user, until| CustomerLock {
        customer_uuid: customer,
        user_uuid: user,
        expires_at: until,
    };
    let held = store
        .lock_customer(&lock(alice, t0 + Duration::minutes(5)), t0)
        .await
        .unwrap();
    assert!(matches!(held, LockOutcome::Held(_)));
    let refused = store
        .lock_customer(&lock(bob, t0 + Duration::minutes(5)), t0)
        .await
        .unwrap();
    assert!(matches!(refused, LockOutcome::HeldByOther(ref l) if l.user_uuid == alice));
    let extended = store
        .lock_customer(&lock(alice, t0 + Duration::minutes(10)), t0)
        .await
        .unwrap();
    assert!(matches!(extended, LockOutcome::Held(_)));
    assert!(matches!(
        store.unlock_customer(customer, bob, t0).await.unwrap(),
        UnlockOutcome::HeldByOther(_)
    ));

    // Once the lock has expired, another user takes it without anyone unlocking.
    let later = t0 + Duration::minutes(11);
    assert!(
        store
            .customer_lock(customer, later)
            .await
            .unwrap()
            .is_none()
    );
    let taken = store
        .lock_customer(&lock(bob, later + Duration::minutes(5)), later)
        .await
        .unwrap();
    assert!(matches!(taken, LockOutcome::Held(ref l) if l.user_uuid == bob));
    assert_eq!(
        store.unlock_customer(customer, bob, later).await.unwrap(),
        UnlockOutcome::Released
    );
    assert_eq!(
        store.unlock_customer(customer, bob, later).await.unwrap(),
        UnlockOutcome::NotLocked
    );
}

pub async fn blacklist_matches_address_and_domain(store: &dyn Store) {
    let dealer = dealer(store).await;
    let other = dealer_named(store, "Other").await;
    store
        .add_to_blacklist(
            dealer.uuid,
            &[email("bad@example.com")],
            &["spam.example.net".into()],
            now(),
        )
        .await
        .unwrap();
    assert!(
        store
            .is_blacklisted(dealer.uuid, &email("bad@example.com"))
            .await
            .unwrap()
    );
    assert!(
        store
            .is_blacklisted(dealer.uuid, &email("anyone@spam.example.net"))
            .await
            .unwrap()
    );
    assert!(
        !store
            .is_blacklisted(dealer.uuid, &email("good@example.com"))
            .await
            .unwrap()
    );
    assert!(
        !store
            .is_blacklisted(other.uuid, &email("bad@example.com"))
            .await
            .unwrap()
    );
    // Adding the same entries again is harmless.
    store
        .add_to_blacklist(
            dealer.uuid,
            &[email("bad@example.com")],
            &["spam.example.net".into()],
            now(),
        )
        .await
        .unwrap();
}

pub async fn ok_to_email_is_set_per_dealer(store: &dyn Store) {
    let a = dealer(store).await;
    let b = dealer(store).await;
    let address = "shared@example.com";
    store
        .save_customer(
            &customer(&a, "A", &[], &[address]),
            ContactOrigin::Api,
            now(),
        )
        .await
        .unwrap();
    store
        .save_customer(
            &customer(&b, "B", &[], &[address]),
            ContactOrigin::Api,
            now(),
        )
        .await
        .unwrap();
    assert_eq!(
        store
            .set_ok_to_email(a.uuid, &opt_out_email(&email(address)), now())
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        store
            .email_flags(a.uuid, &email(address))
            .await
            .unwrap()
            .iter()
            .map(|f| f.ok_to_email)
            .collect::<Vec<_>>(),
        vec![false]
    );
    assert_eq!(
        store
            .email_flags(b.uuid, &email(address))
            .await
            .unwrap()
            .iter()
            .map(|f| f.ok_to_email)
            .collect::<Vec<_>>(),
        vec![true]
    );
    assert!(
        store
            .email_flags(a.uuid, &email("unknown@example.com"))
            .await
            .unwrap()
            .is_empty()
    );
}

pub(crate) fn message(
    dealer: &Dealer,
    department: &Department,
    at: OffsetDateTime,
) -> herald::domain::message::Message {
    use herald::domain::message::*;
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
        recipient: "+14155550199".into(),
        cc: vec![],
        bcc: vec![],
        options: SendOptions::default(),
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
        created_at: at,
        updated_at: at,
    }
}

pub(crate) fn new_callback(n: u32) -> herald::store::NewCallback {
    herald::store::NewCallback {
        webhook_id: format!("msg_{n}_{}", Uuid::new_v4().simple()),
        url: "https://client.example.com/cb".into(),
        credential: "integrator".into(),
        payload: format!("{{\"n\":{n}}}"),
    }
}

pub async fn jobs_are_leased_to_one_claimer_and_retaken_after_expiry(store: &dyn Store) {
    use herald::store::{AcceptOutcome, JobNext, MessageUpdate, NewJob};
    let dealer = dealer(store).await;
    let department = department(store, &dealer).await;
    let t0 = now();
    for _ in 0..3 {
        let m = message(&dealer, &department, t0);
        let job = NewJob {
            due_at: t0,
            lease: None,
        };
        assert_eq!(
            store
                .accept_message(&m, Some(job), None, None)
                .await
                .unwrap(),
            AcceptOutcome::Accepted
        );
    }
    let lease = StdDuration::from_secs(60);
    let (a, b) = tokio::join!(
        store.claim_jobs(t0, lease, 2),
        store.claim_jobs(t0, lease, 2)
    );
    let (a, b) = (a.unwrap(), b.unwrap());
    let mut claimed: Vec<Uuid> = a.iter().chain(b.iter()).map(|j| j.message_uuid).collect();
    claimed.sort();
    claimed.dedup();
    assert_eq!(claimed.len(), 3, "every job claimed once: {a:?} {b:?}");
    assert_eq!(a.len() + b.len(), 3);
    assert!(
        store.claim_jobs(t0, lease, 10).await.unwrap().is_empty(),
        "leased jobs are not claimable"
    );

    // The claimer died: after the lease, another worker takes the jobs.
    let later = t0 + Duration::seconds(61);
    let retaken = store.claim_jobs(later, lease, 10).await.unwrap();
    assert_eq!(retaken.len(), 3);
    let stale = a.first().or(b.first()).unwrap();
    let done = MessageUpdate {
        status: Some(herald::domain::message::MessageStatus::Sent),
        ..Default::default()
    };
    assert!(
        !store
            .finish_job(stale, done.clone(), vec![], JobNext::Done, later)
            .await
            .unwrap(),
        "a lost lease records nothing"
    );
    let fresh = retaken
        .iter()
        .find(|j| j.message_uuid == stale.message_uuid)
        .unwrap();
    assert!(
        store
            .finish_job(fresh, done, vec![], JobNext::Done, later)
            .await
            .unwrap()
    );
    let m = store.message(stale.message_uuid).await.unwrap().unwrap();
    assert_eq!(m.status, herald::domain::message::MessageStatus::Sent);
    assert_eq!(store.queue_depth().await.unwrap(), 2);
}

/// SPEC 6: a job retaken after a lease that recorded no result is in doubt since that claim
/// began; a step that records an in-doubt attempt keeps the doubt for the next claim; any
/// other recorded result clears it.
pub async fn a_retaken_or_timed_out_job_is_claimed_in_doubt(store: &dyn Store) {
    use herald::store::{Doubt, JobNext, MessageUpdate, NewJob};
    let dealer = dealer(store).await;
    let department = department(store, &dealer).await;
    // The stores keep times to the millisecond.
    let t0 = now();
    let t0 = t0.replace_millisecond(t0.millisecond()).unwrap();
    let m = message(&dealer, &department, t0);
    let job = NewJob {
        due_at: t0,
        lease: None,
    };
    store
        .accept_message(&m, Some(job), None, None)
        .await
        .unwrap();
    let lease = StdDuration::from_secs(60);
    let first = store.claim_jobs(t0, lease, 1).await.unwrap().remove(0);
    assert_eq!(first.doubt, None, "a first claim is not in doubt");

    // The claimer died mid-step: the next claim knows, and since when.
    let t1 = t0 + Duration::seconds(61);
    let retaken = store.claim_jobs(t1, lease, 1).await.unwrap().remove(0);
    assert_eq!(
        retaken.doubt,
        Some(Doubt {
            since: Some(t0),
            retaken: true
        })
    );

    // Its step could not ask the provider: retried, still in doubt since the first claim.
    let t2 = t1 + Duration::seconds(1);
    let next = JobNext::Retry {
        due_at: t2,
        in_doubt_since: Some(t0),
    };
    assert!(
        store
            .finish_job(&retaken, MessageUpdate::default(), vec![], next, t1)
            .await
            .unwrap()
    );
    let asked_again = store.claim_jobs(t2, lease, 1).await.unwrap().remove(0);
    assert_eq!(
        asked_again.doubt,
        Some(Doubt {
            since: Some(t0),
            retaken: false
        })
    );
    assert_eq!(asked_again.attempts, 1);

    // Settled (not found, then a transient failure): the doubt is gone.
    let next = JobNext::Retry {
        due_at: t2,
        in_doubt_since: None,
    };
    assert!(
        store
            .finish_job(&asked_again, MessageUpdate::default(), vec![], next, t2)
            .await
            .unwrap()
    );
    let clear = store.claim_jobs(t2, lease, 1).await.unwrap().remove(0);
    assert_eq!(clear.doubt, None);
    // Released unsent (a lane short of lease): not in doubt either, and due at once.
    assert!(
        store
            .finish_job(
                &clear,
                MessageUpdate::default(),
                vec![],
                JobNext::Park { until: t2 },
                t2
            )
            .await
            .unwrap()
    );
    let released = store.claim_jobs(t2, lease, 1).await.unwrap().remove(0);
    assert_eq!(released.doubt, None);
    assert_eq!(released.attempts, 2);
}

pub async fn a_retried_job_waits_for_its_due_time(store: &dyn Store) {
    use herald::store::{JobNext, MessageUpdate, NewJob};
    let dealer = dealer(store).await;
    let department = department(store, &dealer).await;
    let t0 = now();
    let m = message(&dealer, &department, t0);
    store
        .accept_message(
            &m,
            Some(NewJob {
                due_at: t0,
                lease: None,
            }),
            None,
            None,
        )
        .await
        .unwrap();
    let job = store
        .claim_jobs(t0, StdDuration::from_secs(60), 1)
        .await
        .unwrap()
        .remove(0);
    let due_at = t0 + Duration::seconds(30);
    assert!(
        store
            .finish_job(
                &job,
                MessageUpdate::default(),
                vec![],
                JobNext::Retry {
                    due_at,
                    in_doubt_since: None
                },
                t0
            )
            .await
            .unwrap()
    );
    assert!(
        store
            .claim_jobs(t0 + Duration::seconds(29), StdDuration::from_secs(60), 1)
            .await
            .unwrap()
            .is_empty()
    );
    let again = store
        .claim_jobs(due_at, StdDuration::from_secs(60), 1)
        .await
        .unwrap();
    assert_eq!(again.len(), 1);
    assert_eq!(again[0].attempts, 1);
}

pub async fn callbacks_of_one_message_are_claimed_in_order(store: &dyn Store) {
    use herald::store::{CallbackResult, JobNext, MessageUpdate, NewJob};
    let dealer = dealer(store).await;
    let department = department(store, &dealer).await;
    let t0 = now();
    let m = message(&dealer, &department, t0);
    store
        .accept_message(
            &m,
            Some(NewJob {
                due_at: t0,
                lease: None,
            }),
            None,
            None,
        )
        .await
        .unwrap();
    let job = store
        .claim_jobs(t0, StdDuration::from_secs(60), 1)
        .await
        .unwrap()
        .remove(0);
    let update = MessageUpdate {
        callbacks: vec![new_callback(1), new_callback(2)],
        ..Default::default()
    };
    store
        .finish_job(&job, update, vec![], JobNext::Done, t0)
        .await
        .unwrap();

    let lease = StdDuration::from_secs(60);
    let first = store.claim_callbacks(t0, lease, 10).await.unwrap();
    assert_eq!(
        first.len(),
        1,
        "only the first callback of a message is claimable"
    );
    assert_eq!(first[0].payload, "{\"n\":1}");
    // A retry keeps the order: the second still waits.
    store
        .finish_callback(
            &first[0],
            CallbackResult::Retry {
                due_at: t0,
                detail: "HTTP 500".into(),
            },
            t0,
        )
        .await
        .unwrap();
    let again = store.claim_callbacks(t0, lease, 10).await.unwrap();
    assert_eq!(again.len(), 1);
    assert_eq!(again[0].webhook_id, first[0].webhook_id);
    assert_eq!(again[0].attempts, 1);
    store
        .finish_callback(
            &again[0],
            CallbackResult::Delivered {
                detail: "HTTP 200".into(),
            },
            t0,
        )
        .await
        .unwrap();
    let second = store.claim_callbacks(t0, lease, 10).await.unwrap();
    assert_eq!(second.len(), 1);
    assert_eq!(second[0].payload, "{\"n\":2}");
    let records = store.callbacks(m.uuid).await.unwrap();
    assert_eq!(
        records.iter().map(|r| r.state.as_str()).collect::<Vec<_>>(),
        ["DELIVERED", "PENDING"]
    );
}

pub async fn receipts_never_move_a_final_status_back(store: &dyn Store) {
    use herald::domain::message::MessageStatus;
    let dealer = dealer(store).await;
    let department = department(store, &dealer).await;
    let m = message(&dealer, &department, now());
    store.accept_message(&m, None, None, None).await.unwrap();
    assert!(
        store
            .apply_receipt(
                m.uuid,
                MessageStatus::Delivered,
                None,
                Some(new_callback(1)),
                now()
            )
            .await
            .unwrap()
    );
    assert!(
        !store
            .apply_receipt(
                m.uuid,
                MessageStatus::Undelivered,
                None,
                Some(new_callback(2)),
                now()
            )
            .await
            .unwrap()
    );
    assert_eq!(
        store.message(m.uuid).await.unwrap().unwrap().status,
        MessageStatus::Delivered
    );
    assert_eq!(
        store.callbacks(m.uuid).await.unwrap().len(),
        1,
        "no callback for a receipt that changed nothing"
    );
}

pub async fn an_idempotency_key_is_claimed_once(store: &dyn Store) {
    use herald::store::{AcceptOutcome, IdempotencyClaim, StoredResponse};
    let dealer = dealer(store).await;
    let department = department(store, &dealer).await;
    let claim = IdempotencyClaim {
        credential: "integrator".into(),
        key: "k-1".into(),
        request_hash: "h1".into(),
        response: Some(StoredResponse {
            status: 200,
            body: "{}".into(),
        }),
    };
    let first = message(&dealer, &department, now());
    assert_eq!(
        store
            .accept_message(&first, None, Some(&claim), None)
            .await
            .unwrap(),
        AcceptOutcome::Accepted
    );
    let second = message(&dealer, &department, now());
    match store
        .accept_message(&second, None, Some(&claim), None)
        .await
        .unwrap()
    {
        AcceptOutcome::Existing(record) => {
            assert_eq!(record.message_uuid, first.uuid);
            assert_eq!(record.response, claim.response);
        }
        other => panic!("expected the first claim, got {other:?}"),
    }
    assert!(
        store.message(second.uuid).await.unwrap().is_none(),
        "nothing written for a replay"
    );
}

// Across nodes: several claimers and requests at once, each on its own task (and, on
// PostgreSQL, its own connection). The database must decide every race.

/// Messages with a due job each, accepted at `t0`.
async fn queue_messages(
    store: &dyn Store,
    dealer: &Dealer,
    department: &Department,
    t0: OffsetDateTime,
    count: usize,
) -> Vec<Uuid> {
    use herald::store::NewJob;
    let mut uuids = Vec::with_capacity(count);
    for _ in 0..count {
        let m = message(dealer, department, t0);
        let job = NewJob {
            due_at: t0,
            lease: None,
        };
        store
            .accept_message(&m, Some(job), None, None)
            .await
            .unwrap();
        uuids.push(m.uuid);
    }
    uuids
}

/// `count` messages delivered at `t0`, each with one pending callback.
async fn queue_callbacks(
    store: &dyn Store,
    dealer: &Dealer,
    department: &Department,
    t0: OffsetDateTime,
    count: usize,
) {
    use herald::store::{JobNext, MessageUpdate};
    queue_messages(store, dealer, department, t0, count).await;
    let jobs = store
        .claim_jobs(t0, StdDuration::from_secs(60), count as u32)
        .await
        .unwrap();
    assert_eq!(jobs.len(), count);
    for job in jobs {
        let update = MessageUpdate {
            callbacks: vec![new_callback(1)],
            ..Default::default()
        };
        store
            .finish_job(&job, update, vec![], JobNext::Done, t0)
            .await
            .unwrap();
    }
}

pub async fn concurrent_claimers_never_share_a_job(store: &Arc<dyn Store>) {
    let dealer = dealer(store.as_ref()).await;
    let department = department(store.as_ref(), &dealer).await;
    let t0 = now();
    let queued = queue_messages(store.as_ref(), &dealer, &department, t0, 50).await;

    let claimers: Vec<_> = (0..4)
        .map(|_| {
            let store = store.clone();
            tokio::spawn(async move {
                let mut mine = Vec::new();
                loop {
                    let batch = store
                        .claim_jobs(t0, StdDuration::from_secs(60), 5)
                        .await
                        .unwrap();
                    if batch.is_empty() {
                        return mine;
                    }
                    assert!(batch.len() <= 5, "a batch never exceeds its limit");
                    mine.extend(batch.into_iter().map(|j| j.message_uuid));
                }
            })
        })
        .collect();
    let mut claimed = Vec::new();
    for claimer in claimers {
        claimed.extend(claimer.await.unwrap());
    }

    assert_eq!(claimed.len(), 50, "every job claimed exactly once");
    let claimed: HashSet<Uuid> = claimed.into_iter().collect();
    assert_eq!(claimed, queued.into_iter().collect::<HashSet<_>>());
}

pub async fn racing_requests_with_one_idempotency_key_accept_once(store: &Arc<dyn Store>) {
    use herald::store::{AcceptOutcome, IdempotencyClaim};
    let dealer = dealer(store.as_ref()).await;
    let department = department(store.as_ref(), &dealer).await;
    for round in 0..10 {
        let claim = IdempotencyClaim {
            credential: "integrator".into(),
            key: format!("race-{round}"),
            request_hash: "h".into(),
            response: None,
        };
        let requests: Vec<_> = (0..2)
            .map(|_| {
                let (store, claim) = (store.clone(), claim.clone());
                let m = message(&dealer, &department, now());
                tokio::spawn(async move {
                    let outcome = store
                        .accept_message(&m, None, Some(&claim), None)
                        .await
                        .unwrap();
                    (m.uuid, outcome)
                })
            })
            .collect();
        let mut outcomes = Vec::new();
        for request in requests {
            outcomes.push(request.await.unwrap());
        }

        let winners: Vec<Uuid> = outcomes
            .iter()
            .filter(|(_, o)| *o == AcceptOutcome::Accepted)
            .map(|(uuid, _)| *uuid)
            .collect();
        assert_eq!(winners.len(), 1, "round {round}: {outcomes:?}");
        for (uuid, outcome) in &outcomes {
            if let AcceptOutcome::Existing(record) = outcome {
                assert_eq!(record.message_uuid, winners[0]);
                assert!(store.message(*uuid).await.unwrap().is_none());
            }
        }
    }
}

/// A department of `dealer` texting from `number`, if the store takes it.
async fn department_texting_from(
    store: &dyn Store,
    dealer: &Dealer,
    number: &str,
) -> Result<Department, StoreError> {
    let uuid = Uuid::new_v4();
    let default_user = User::default_for(dealer, uuid, "Service");
    let department = Department {
        uuid,
        dealer_uuid: dealer.uuid,
        name: "Service".into(),
        settings: DepartmentSettings {
            text_sender_number: Some(phone(number)),
            ..DepartmentSettings::default()
        },
        default_user_uuid: default_user.uuid,
    };
    store.insert_department(&department, &default_user).await?;
    Ok(department)
}

fn with_sender(department: &Department, number: Option<&str>) -> Department {
    let mut changed = department.clone();
    changed.settings.text_sender_number = number.map(phone);
    changed
}

fn assert_in_use(result: Result<impl std::fmt::Debug, StoreError>, number: &str) {
    match result {
        Err(StoreError::SenderNumberInUse(n)) => assert_eq!(n, number),
        other => panic!("expected {number} in use, got {other:?}"),
    }
}

pub async fn a_sender_number_belongs_to_one_dealer(store: &dyn Store) {
    const N: &str = "+14155550700";
    let a = dealer(store).await;
    let b = dealer(store).await;
    let a1 = department_texting_from(store, &a, N).await.unwrap();
    // Departments of one dealer share it.
    let a2 = department_texting_from(store, &a, N).await.unwrap();
    // Another dealer cannot take it, new or by an update, and nothing of its write is kept.
    assert_in_use(department_texting_from(store, &b, N).await, N);
    let b1 = department(store, &b).await;
    assert_in_use(store.update_department(&with_sender(&b1, Some(N))).await, N);
    assert_eq!(store.department(b1.uuid).await.unwrap().unwrap(), b1);
    // Both of `a`'s, in any order: the two can be created within one millisecond.
    let senders = store.departments_by_sender(&phone(N)).await.unwrap();
    let mut found: Vec<_> = senders.iter().map(|d| d.uuid).collect();
    found.sort();
    let mut expected = vec![a1.uuid, a2.uuid];
    expected.sort();
    assert_eq!(found, expected);
    // An update that keeps the number is no new claim.
    let mut renamed = a1.clone();
    renamed.name = "Front Desk".into();
    store.update_department(&renamed).await.unwrap();
    // Once no department of `a` texts from it, it is free for `b`, and then no longer `a`'s.
    store
        .update_department(&with_sender(&a1, Some("+14155550701")))
        .await
        .unwrap();
    assert_in_use(store.update_department(&with_sender(&b1, Some(N))).await, N);
    store
        .update_department(&with_sender(&a2, None))
        .await
        .unwrap();
    store
        .update_department(&with_sender(&b1, Some(N)))
        .await
        .unwrap();
    assert_in_use(store.update_department(&with_sender(&a2, Some(N))).await, N);
    assert_in_use(department_texting_from(store, &a, N).await, N);
}

/// Two dealers taking one number at once: one wins, on any number of nodes; and while one
/// dealer's department lets a number go, another of its departments and another dealer
/// taking it never leave the number with two dealers.
pub async fn racing_dealers_never_both_take_a_sender_number(store: &Arc<dyn Store>) {
    for round in 0..20 {
        let number = format!("+1415555{:04}", 8000 + round);
        let a = dealer(store.as_ref()).await;
        let b = dealer(store.as_ref()).await;
        let attempts: Vec<_> = [a.clone(), b.clone()]
            .into_iter()
            .map(|d| {
                let store = store.clone();
                let number = number.clone();
                tokio::spawn(
                    async move { department_texting_from(store.as_ref(), &d, &number).await },
                )
            })
            .collect();
        let mut won = 0;
        for attempt in attempts {
            match attempt.await.unwrap() {
                Ok(_) => won += 1,
                Err(e) => assert!(matches!(e, StoreError::SenderNumberInUse(_)), "{e:?}"),
            }
        }
        assert_eq!(won, 1, "round {round}");
    }
    for round in 0..20 {
        let number = format!("+1415555{:04}", 9000 + round);
        let a = dealer(store.as_ref()).await;
        let b = dealer(store.as_ref()).await;
        let a1 = department_texting_from(store.as_ref(), &a, &number)
            .await
            .unwrap();
        let a2 = department(store.as_ref(), &a).await;
        let b1 = department(store.as_ref(), &b).await;
        let writes = [
            with_sender(&a1, Some(&format!("+1415557{:04}", round))),
            with_sender(&a2, Some(&number)),
            with_sender(&b1, Some(&number)),
        ];
        let tasks: Vec<_> = writes
            .into_iter()
            .map(|d| {
                let store = store.clone();
                tokio::spawn(async move { store.update_department(&d).await })
            })
            .collect();
        for task in tasks {
            if let Err(e) = task.await.unwrap() {
                assert!(matches!(e, StoreError::SenderNumberInUse(_)), "{e:?}");
            }
        }
        let dealers: HashSet<Uuid> = store
            .departments_by_sender(&phone(&number))
            .await
            .unwrap()
            .iter()
            .map(|d| d.dealer_uuid)
            .collect();
        assert!(dealers.len() <= 1, "round {round}: {dealers:?}");
        // Whoever has it now, the other dealer cannot take it.
        if let Some(owner) = dealers.into_iter().next() {
            let other = if owner == a.uuid { &b } else { &a };
            assert_in_use(
                department_texting_from(store.as_ref(), other, &number).await,
                &number,
            );
        }
    }
}

/// An empty text matches no name: inbound texts find their customer by phone alone.
pub async fn a_search_by_phone_alone_finds_only_that_phones_customer(store: &dyn Store) {
    let d = dealer(store).await;
    let john = customer(&d, "John", &["+14155550601"], &[]);
    let jane = customer(&d, "Jane", &["+14155550602"], &[]);
    for c in [&john, &jane] {
        store
            .save_customer(c, ContactOrigin::Api, now())
            .await
            .unwrap();
    }
    let query = CustomerQuery {
        text: String::new(),
        phone: Some(phone("+14155550602")),
        email: None,
        limit: 10,
    };
    let found = store.search_customers(d.uuid, &query).await.unwrap();
    assert_eq!(
        found.iter().map(|c| c.uuid).collect::<Vec<_>>(),
        vec![jane.uuid]
    );
}

pub async fn racing_users_never_both_hold_a_lock(store: &Arc<dyn Store>) {
    let t0 = now();
    for round in 0..20 {
        let customer = Uuid::new_v4();
        let users = [Uuid::new_v4(), Uuid::new_v4()];
        let attempts: Vec<_> = users
            .iter()
            .map(|&user| {
                let store = store.clone();
                let lock = CustomerLock {
                    customer_uuid: customer,
                    user_uuid: user,
                    expires_at: t0 + Duration::minutes(5),
                };
                tokio::spawn(async move { store.lock_customer(&lock, t0).await.unwrap() })
            })
            .collect();
        let mut outcomes = Vec::new();
        for attempt in attempts {
            outcomes.push(attempt.await.unwrap());
        }

        let holders: Vec<Uuid> = outcomes
            .iter()
            .filter_map(|o| match o {
                LockOutcome::Held(l) => Some(l.user_uuid),
                LockOutcome::HeldByOther(_) => None,
            })
            .collect();
        assert_eq!(holders.len(), 1, "round {round}: {outcomes:?}");
        assert!(
            outcomes
                .iter()
                .any(|o| matches!(o, LockOutcome::HeldByOther(l) if l.user_uuid == holders[0])),
            "the loser is told who holds it: {outcomes:?}"
        );
        let lock = store.customer_lock(customer, t0).await.unwrap().unwrap();
        assert_eq!(lock.user_uuid, holders[0]);
    }
}

pub async fn concurrent_claimers_never_hold_two_callbacks_of_one_message(store: &Arc<dyn Store>) {
    use herald::store::{CallbackResult, JobNext, MessageUpdate};
    let dealer = dealer(store.as_ref()).await;
    let department = department(store.as_ref(), &dealer).await;
    let t0 = now();
    let lease = StdDuration::from_secs(60);
    const MESSAGES: usize = 10;
    const PER_MESSAGE: u32 = 3;
    queue_messages(store.as_ref(), &dealer, &department, t0, MESSAGES).await;
    let jobs = store.claim_jobs(t0, lease, 100).await.unwrap();
    assert_eq!(jobs.len(), MESSAGES);
    for job in &jobs {
        let update = MessageUpdate {
            callbacks: (1..=PER_MESSAGE).map(new_callback).collect(),
            ..Default::default()
        };
        assert!(
            store
                .finish_job(job, update, vec![], JobNext::Done, t0)
                .await
                .unwrap()
        );
    }

    // Each claimer marks a message busy from claim to finish; finding it busy already means
    // two callbacks of one message were out at once.
    let busy = Arc::new(Mutex::new(HashSet::new()));
    let delivered: Arc<Mutex<HashMap<Uuid, Vec<u64>>>> = Arc::default();
    let total = MESSAGES * PER_MESSAGE as usize;
    let claimers: Vec<_> = (0..4)
        .map(|_| {
            let (store, busy, delivered) = (store.clone(), busy.clone(), delivered.clone());
            tokio::spawn(async move {
                loop {
                    if delivered
                        .lock()
                        .unwrap()
                        .values()
                        .map(Vec::len)
                        .sum::<usize>()
                        == total
                    {
                        return;
                    }
                    let batch = store.claim_callbacks(t0, lease, 5).await.unwrap();
                    for cb in &batch {
                        assert!(
                            busy.lock().unwrap().insert(cb.message_uuid),
                            "two callbacks of message {} claimed at once",
                            cb.message_uuid
                        );
                    }
                    if batch.is_empty() {
                        tokio::time::sleep(StdDuration::from_millis(2)).await;
                    }
                    for cb in batch {
                        let payload: serde_json::Value = serde_json::from_str(&cb.payload).unwrap();
                        delivered
                            .lock()
                            .unwrap()
                            .entry(cb.message_uuid)
                            .or_default()
                            .push(payload["n"].as_u64().unwrap());
                        // Free before finishing: once finished, the next one may be claimed.
                        busy.lock().unwrap().remove(&cb.message_uuid);
                        let result = CallbackResult::Delivered {
                            detail: "HTTP 200".into(),
                        };
                        assert!(store.finish_callback(&cb, result, t0).await.unwrap());
                    }
                }
            })
        })
        .collect();
    tokio::time::timeout(StdDuration::from_secs(60), async {
        for claimer in claimers {
            claimer.await.unwrap();
        }
    })
    .await
    .expect("every callback delivered within a minute");

    let delivered = delivered.lock().unwrap();
    assert_eq!(delivered.len(), MESSAGES);
    for order in delivered.values() {
        assert_eq!(order, &[1, 2, 3], "callbacks of a message go out in order");
    }
}

pub async fn an_opt_out_racing_an_import_always_wins(store: &Arc<dyn Store>) {
    let dealer = dealer(store.as_ref()).await;
    for round in 0..20 {
        let number = phone(&format!("+1415555{:04}", 100 + round));
        let racers: Vec<_> = [
            (OptEvent::DmsImport, OptSource::DmsImport),
            (OptEvent::StopMessageReceived, OptSource::Inbound),
        ]
        .into_iter()
        .map(|(event, source)| {
            let (store, number) = (store.clone(), number.clone());
            tokio::spawn(async move {
                let change = OptChange {
                    phone: &number,
                    event,
                    source,
                    cause: &OptCause::NONE,
                };
                store
                    .apply_opt_changes(dealer.uuid, &[change], now())
                    .await
                    .unwrap();
            })
        })
        .collect();
        for racer in racers {
            racer.await.unwrap();
        }

        // Whichever came first, the import never undoes the STOP: either it came before it,
        // or it saw the opt-out and changed nothing.
        assert_eq!(
            store.opt_status(dealer.uuid, &number).await.unwrap().state,
            OptState::OptedOut,
            "round {round}"
        );
        let history = store.opt_history(dealer.uuid, &number).await.unwrap();
        let events: Vec<_> = history.iter().map(|h| h.event.as_str()).collect();
        // An import after the STOP is kept in the history too, changing nothing.
        assert!(
            events == ["STOP_MESSAGE_RECEIVED", "DMS_IMPORT"]
                || events == ["DMS_IMPORT", "STOP_MESSAGE_RECEIVED"],
            "round {round}: {events:?}"
        );
    }
}

pub async fn an_expired_idempotency_key_is_free(store: &Arc<dyn Store>) {
    use herald::store::{AcceptOutcome, IdempotencyClaim};
    let dealer = dealer(store.as_ref()).await;
    let department = department(store.as_ref(), &dealer).await;
    let claim = IdempotencyClaim {
        credential: "integrator".into(),
        key: "k-old".into(),
        request_hash: "h1".into(),
        response: None,
    };
    let t0 = now();
    let old = message(&dealer, &department, t0 - Duration::hours(25));
    assert_eq!(
        store
            .accept_message(&old, None, Some(&claim), None)
            .await
            .unwrap(),
        AcceptOutcome::Accepted
    );
    let fresh = message(&dealer, &department, t0);
    let reused = IdempotencyClaim {
        request_hash: "h2".into(),
        ..claim.clone()
    };
    assert_eq!(
        store
            .accept_message(&fresh, None, Some(&reused), None)
            .await
            .unwrap(),
        AcceptOutcome::Accepted,
        "a key past its 24 hours is free again"
    );
    let again = message(&dealer, &department, t0);
    match store
        .accept_message(&again, None, Some(&reused), None)
        .await
        .unwrap()
    {
        AcceptOutcome::Existing(record) => {
            assert_eq!(record.message_uuid, fresh.uuid);
            assert_eq!(record.request_hash, "h2");
        }
        other => panic!("expected the renewed claim, got {other:?}"),
    }
}

pub async fn racing_sends_never_overfill_a_rate_window(store: &Arc<dyn Store>) {
    use herald::store::{Reservation, SendReservation};
    use std::time::Duration as StdDuration;
    let department = Uuid::new_v4();
    let t0 = now();
    let windows = [(StdDuration::from_secs(3600), 3u32)];
    let racers: Vec<_> = (0..10)
        .map(|_| {
            let store = store.clone();
            tokio::spawn(async move {
                let r = SendReservation {
                    message: Uuid::now_v7(),
                    department,
                    recipient: "+14155550101",
                    manual: true,
                    windows: &windows,
                    now: t0,
                };
                store.reserve_send(&r).await.unwrap()
            })
        })
        .collect();
    let mut granted = 0;
    for racer in racers {
        if racer.await.unwrap() == Reservation::Granted {
            granted += 1;
        }
    }
    assert_eq!(granted, 3, "exactly the window's limit is granted");
    // Automated sends count apart from manual ones, and the window slides.
    let automated = SendReservation {
        message: Uuid::now_v7(),
        department,
        recipient: "+14155550101",
        manual: false,
        windows: &windows,
        now: t0,
    };
    assert_eq!(
        store.reserve_send(&automated).await.unwrap(),
        Reservation::Granted
    );
    let later = SendReservation {
        message: Uuid::now_v7(),
        manual: true,
        now: t0 + Duration::seconds(3601),
        ..automated
    };
    assert_eq!(
        store.reserve_send(&later).await.unwrap(),
        Reservation::Granted
    );
    let full = SendReservation {
        message: Uuid::now_v7(),
        manual: true,
        now: t0 + Duration::seconds(60),
        ..automated
    };
    match store.reserve_send(&full).await.unwrap() {
        Reservation::Refused { retry_after } => {
            assert!(
                retry_after <= StdDuration::from_secs(3600 - 59)
                    && retry_after >= StdDuration::from_secs(1)
            );
        }
        granted => panic!("the window is full, got {granted:?}"),
    }
    // A message already counted is granted again (its retry).
    let retry = SendReservation {
        now: t0 + Duration::seconds(61),
        ..later
    };
    assert_eq!(
        store.reserve_send(&retry).await.unwrap(),
        Reservation::Granted
    );
}

pub async fn an_optin_request_is_claimed_once_a_day_only_for_undecided_numbers(
    store: &Arc<dyn Store>,
) {
    let dealer = dealer(store.as_ref()).await;
    let number = phone("+14155550102");
    let t0 = now();
    let racers: Vec<_> = (0..6)
        .map(|_| {
            let (store, number) = (store.clone(), number.clone());
            tokio::spawn(async move {
                store
                    .claim_optin_request(dealer.uuid, &number, OptSource::Api, &OptCause::NONE, t0)
                    .await
                    .unwrap()
            })
        })
        .collect();
    let mut claimed = 0;
    for racer in racers {
        claimed += usize::from(racer.await.unwrap());
    }
    assert_eq!(claimed, 1);
    assert!(
        !store
            .claim_optin_request(
                dealer.uuid,
                &number,
                OptSource::Api,
                &OptCause::NONE,
                t0 + Duration::hours(23)
            )
            .await
            .unwrap()
    );
    assert!(
        store
            .claim_optin_request(
                dealer.uuid,
                &number,
                OptSource::Api,
                &OptCause::NONE,
                t0 + Duration::hours(25)
            )
            .await
            .unwrap()
    );
    let out = phone("+14155550103");
    let change = OptChange {
        phone: &out,
        event: OptEvent::StopMessageReceived,
        source: OptSource::Inbound,
        cause: &OptCause::NONE,
    };
    store
        .apply_opt_changes(dealer.uuid, &[change], t0)
        .await
        .unwrap();
    assert!(
        !store
            .claim_optin_request(dealer.uuid, &out, OptSource::Api, &OptCause::NONE, t0)
            .await
            .unwrap()
    );
}

pub async fn an_optin_releases_the_messages_waiting_for_it_in_order(store: &Arc<dyn Store>) {
    use herald::domain::message::MessageStatus;
    use herald::store::{JobNext, MessageUpdate};
    use std::time::Duration as StdDuration;
    let dealer = dealer(store.as_ref()).await;
    let department = department(store.as_ref(), &dealer).await;
    let t0 = now();
    let queued = queue_messages(store.as_ref(), &dealer, &department, t0, 3).await;
    let until = t0 + Duration::days(1);
    let jobs = store
        .claim_jobs(t0, StdDuration::from_secs(60), 10)
        .await
        .unwrap();
    for job in &jobs {
        let update = MessageUpdate {
            status: Some(MessageStatus::WaitingForOptin),
            ..Default::default()
        };
        assert!(
            store
                .finish_job(job, update, vec![], JobNext::Park { until }, t0)
                .await
                .unwrap()
        );
    }
    assert!(
        store
            .claim_jobs(t0, StdDuration::from_secs(60), 10)
            .await
            .unwrap()
            .is_empty(),
        "parked"
    );

    let number = phone("+14155550199");
    let yes = OptChange {
        phone: &number,
        event: OptEvent::OptinMessageReceived,
        source: OptSource::Inbound,
        cause: &OptCause::NONE,
    };
    let t1 = t0 + Duration::minutes(5);
    store
        .apply_opt_changes(dealer.uuid, &[yes], t1)
        .await
        .unwrap();
    let released = store
        .claim_jobs(t1, StdDuration::from_secs(60), 10)
        .await
        .unwrap();
    let order: Vec<Uuid> = released.iter().map(|j| j.message_uuid).collect();
    assert_eq!(order, queued, "released at once, in the order accepted");
    assert!(
        released.iter().all(|j| j.attempts == 0),
        "parking is not an attempt"
    );
}

pub async fn a_failing_accept_fails_alone_among_concurrent_ones(store: &Arc<dyn Store>) {
    let dealer = dealer(store.as_ref()).await;
    let department = department(store.as_ref(), &dealer).await;
    let t0 = now();
    let taken = message(&dealer, &department, t0);
    store
        .accept_message(&taken, None, None, None)
        .await
        .unwrap();

    // Twenty accepts at once (on SQLite they share group commits), one of them a duplicate.
    let mut batch: Vec<_> = (0..19).map(|_| message(&dealer, &department, t0)).collect();
    batch.insert(7, taken.clone());
    let racers: Vec<_> = batch
        .iter()
        .cloned()
        .map(|m| {
            let store = store.clone();
            tokio::spawn(async move { store.accept_message(&m, None, None, None).await.is_ok() })
        })
        .collect();
    let mut results = Vec::new();
    for racer in racers {
        results.push(racer.await.unwrap());
    }
    assert_eq!(
        results.iter().filter(|ok| !**ok).count(),
        1,
        "only the duplicate fails: {results:?}"
    );
    assert!(!results[7]);
    for (i, m) in batch.iter().enumerate() {
        if i != 7 {
            assert!(
                store.message(m.uuid).await.unwrap().is_some(),
                "message {i} was stored"
            );
        }
    }
}

pub async fn concurrent_accepts_read_back_exactly_as_written(store: &Arc<dyn Store>) {
    use herald::domain::message::{MessageError, Protocol, Warning};
    let dealer = dealer(store.as_ref()).await;
    let department = department(store.as_ref(), &dealer).await;
    // The store keeps milliseconds.
    let t0 = OffsetDateTime::from_unix_timestamp_nanos(
        now().unix_timestamp_nanos() / 1_000_000 * 1_000_000,
    )
    .unwrap();
    // Every field set, with text that JSON and SQL both have to escape.
    let written: Vec<_> = (0..12)
        .map(|i| {
            let mut m = message(&dealer, &department, t0 + time::Duration::milliseconds(i));
            m.customer_uuid = Some(Uuid::new_v4());
            m.user_uuid = (i % 2 == 0).then(Uuid::new_v4);
            m.protocol = Protocol::Email;
            m.is_manual = i % 3 == 0;
            m.override_optout = i % 2 == 1;
            m.body =
                format!("Héllo #{i} 🚗 \"quoted\" 'single' \\ back\nnew line\ttab {{}} [] ->> $1");
            m.subject = Some(format!("Subject {i} — ✓"));
            m.recipient = format!("john+{i}@example.com");
            m.cc = vec!["a@example.com".into(), "b@example.com".into()];
            m.bcc = vec!["c@example.com".into()];
            m.options.send_v_card = true;
            m.options.delay_seconds = 30;
            m.callback_url =
                (i % 4 != 0).then(|| format!("https://client.example.com/cb?i={i}&x=\"y\""));
            m.callback_metadata = [
                ("appointmentId".to_string(), serde_json::json!(12345 + i)),
                (
                    "nested".to_string(),
                    serde_json::json!({"a": [1, 2.5, null, "x\"y"]}),
                ),
            ]
            .into_iter()
            .collect();
            m.error = (i % 5 == 0).then(|| MessageError {
                code: "SOME_CODE".into(),
                description: "why, with \"quotes\"".into(),
            });
            m.warnings = vec![Warning {
                code: "CUSTOMER_NOT_FOUND".into(),
                description: "a warning".into(),
            }];
            m.provider_message_id = (i % 2 == 0).then(|| format!("SM{i:032}"));
            m.composed_body = Some(format!("{}\n-- Sarah", m.body));
            m.sender = Some("+14155550100".into());
            m.updated_at = t0 + time::Duration::seconds(1);
            m
        })
        .collect();
    // At once: on SQLite they share group commits, and so one batched write.
    let racers: Vec<_> = written
        .iter()
        .cloned()
        .map(|m| {
            let store = store.clone();
            tokio::spawn(async move { store.accept_message(&m, None, None, None).await })
        })
        .collect();
    for racer in racers {
        racer.await.unwrap().unwrap();
    }
    for m in &written {
        let read = store.message(m.uuid).await.unwrap().expect("stored");
        assert_eq!(&read, m);
    }
}

pub async fn concurrent_accepts_for_one_thread_all_land(store: &Arc<dyn Store>) {
    use herald::store::{NewJob, ThreadOwner};
    let dealer = dealer(store.as_ref()).await;
    let department = department(store.as_ref(), &dealer).await;
    let customer = Uuid::new_v4();
    let t0 = now();
    // Forty accepts at once for one thread (on SQLite they share multi-row inserts): the
    // default associate's (not delegating) and three others' (delegating) interleaved.
    let delegates: Vec<Uuid> = (0..3).map(|_| Uuid::new_v4()).collect();
    let racers: Vec<_> = (0..40)
        .map(|i| {
            let store = store.clone();
            let m = message(&dealer, &department, t0);
            let delegate = i % 2 == 1;
            let thread = ThreadOwner {
                department_uuid: department.uuid,
                customer_uuid: customer,
                user_uuid: if delegate {
                    delegates[i % 3]
                } else {
                    department.default_user_uuid
                },
                delegate,
            };
            let job = NewJob {
                due_at: t0,
                lease: None,
            };
            tokio::spawn(async move {
                store
                    .accept_message(&m, Some(job), None, Some(thread))
                    .await
                    .map(|_| m.uuid)
            })
        })
        .collect();
    let mut accepted = Vec::new();
    for racer in racers {
        accepted.push(racer.await.unwrap().expect("accepted"));
    }
    for uuid in &accepted {
        assert!(store.message(*uuid).await.unwrap().is_some(), "stored");
    }
    let jobs = store
        .claim_jobs(t0, StdDuration::from_secs(60), 100)
        .await
        .unwrap();
    let mut claimed: Vec<Uuid> = jobs.iter().map(|j| j.message_uuid).collect();
    claimed.sort();
    accepted.sort();
    assert_eq!(claimed, accepted, "every message has its job");
    let owner = store
        .thread_owner(department.uuid, customer)
        .await
        .unwrap()
        .expect("the thread exists");
    assert!(
        delegates.contains(&owner),
        "a delegating sender owns the thread, not the default associate"
    );
}

pub async fn a_failing_write_fails_alone_among_concurrent_ones(store: &Arc<dyn Store>) {
    // Twenty writes at once (on SQLite they share one commit), one of them a duplicate: only
    // that one fails, and every other is kept.
    let taken = dealer(store.as_ref()).await;
    let mut dealers: Vec<Dealer> = (0..19)
        .map(|i| Dealer {
            uuid: Uuid::new_v4(),
            name: format!("Dealer {i}"),
        })
        .collect();
    dealers.insert(11, taken.clone());
    let racers: Vec<_> = dealers
        .iter()
        .cloned()
        .map(|d| {
            let store = store.clone();
            tokio::spawn(async move { store.insert_dealer(&d).await.is_ok() })
        })
        .collect();
    let mut results = Vec::new();
    for racer in racers {
        results.push(racer.await.unwrap());
    }
    assert_eq!(
        results.iter().filter(|ok| !**ok).count(),
        1,
        "only the duplicate fails: {results:?}"
    );
    assert!(!results[11]);
    for (i, d) in dealers.iter().enumerate() {
        assert_eq!(
            store.dealer(d.uuid).await.unwrap().map(|s| s.name),
            Some(d.name.clone()),
            "dealer {i} is kept"
        );
    }
}

pub async fn concurrent_delivery_results_land_as_if_one_by_one(store: &Arc<dyn Store>) {
    // Twenty-four results at once (on SQLite they are written together), of every kind, each
    // raced by a late result from a worker whose lease is gone: every held result is kept
    // exactly, every stale one changes nothing.
    use herald::domain::message::{MessageError, MessageStatus};
    use herald::store::{AttemptRecord, ClaimedJob, JobNext, Lease, MessageUpdate};
    let dealer = dealer(store.as_ref()).await;
    let department = department(store.as_ref(), &dealer).await;
    let t0 = now();
    queue_messages(store.as_ref(), &dealer, &department, t0, 24).await;
    let jobs = store
        .claim_jobs(t0, StdDuration::from_secs(60), 24)
        .await
        .unwrap();
    assert_eq!(jobs.len(), 24);
    // A claimed batch's messages are read at once; one that does not exist is left out.
    let mut uuids: Vec<Uuid> = jobs.iter().map(|j| j.message_uuid).collect();
    uuids.push(Uuid::new_v4());
    let mut read: Vec<Uuid> = store
        .messages(&uuids)
        .await
        .unwrap()
        .iter()
        .map(|m| m.uuid)
        .collect();
    read.sort();
    uuids.pop();
    uuids.sort();
    assert_eq!(read, uuids);
    let later = t0 + Duration::seconds(300);
    let result = |i: usize| -> (MessageUpdate, Vec<AttemptRecord>, JobNext) {
        let attempt = |outcome: &str| AttemptRecord {
            attempt: 1,
            at: t0,
            outcome: outcome.into(),
            error_code: None,
            detail: Some(format!("result {i}")),
        };
        match i % 4 {
            0 => (
                MessageUpdate {
                    status: Some(MessageStatus::Sent),
                    provider_message_id: Some(format!("SM{i}")),
                    composed_body: Some(format!("Hello {i}")),
                    sender: Some("+14155550100".into()),
                    callbacks: vec![new_callback(1), new_callback(2)],
                    ..Default::default()
                },
                vec![attempt("SUCCESS")],
                JobNext::Done,
            ),
            1 => (
                MessageUpdate::default(),
                vec![attempt("TRANSIENT")],
                JobNext::Retry {
                    due_at: later,
                    in_doubt_since: None,
                },
            ),
            2 => (
                MessageUpdate {
                    status: Some(MessageStatus::WaitingForOptin),
                    ..Default::default()
                },
                vec![],
                JobNext::Park { until: later },
            ),
            _ => (
                MessageUpdate {
                    status: Some(MessageStatus::Failed),
                    error: Some(MessageError {
                        code: "RATE_LIMIT_REACHED".into(),
                        description: format!("full {i}"),
                    }),
                    callbacks: vec![new_callback(1)],
                    ..Default::default()
                },
                vec![],
                JobNext::Done,
            ),
        }
    };
    let mut racers = Vec::new();
    for (i, job) in jobs.iter().cloned().enumerate() {
        let stale = ClaimedJob {
            lease: Lease {
                id: Uuid::new_v4(),
                ..job.lease
            },
            ..job.clone()
        };
        let (update, attempt, next) = result(i);
        for (job, expect_held) in [(stale, false), (job, true)] {
            let store = store.clone();
            let (update, attempt) = (update.clone(), attempt.clone());
            racers.push(tokio::spawn(async move {
                let held = store
                    .finish_job(&job, update, attempt, next, t0)
                    .await
                    .unwrap();
                assert_eq!(held, expect_held, "result {i}: lease held");
            }));
        }
    }
    for racer in racers {
        racer.await.unwrap();
    }
    for (i, job) in jobs.iter().enumerate() {
        let m = store.message(job.message_uuid).await.unwrap().unwrap();
        let attempts = store.attempts(job.message_uuid).await.unwrap();
        let callbacks = store.callbacks(job.message_uuid).await.unwrap();
        let seqs: Vec<u32> = callbacks.iter().map(|c| c.seq).collect();
        match i % 4 {
            0 => {
                assert_eq!(m.status, MessageStatus::Sent, "result {i}");
                assert_eq!(m.provider_message_id.as_deref(), Some(&*format!("SM{i}")));
                assert_eq!(m.composed_body.as_deref(), Some(&*format!("Hello {i}")));
                assert_eq!(m.sender.as_deref(), Some("+14155550100"));
                assert_eq!(attempts.len(), 1);
                assert_eq!(attempts[0].outcome, "SUCCESS");
                assert_eq!(seqs, [1, 2], "result {i}: callbacks in order");
                assert_eq!(callbacks[0].payload, "{\"n\":1}");
                assert_eq!(callbacks[1].payload, "{\"n\":2}");
            }
            1 => {
                assert_eq!(m.status, MessageStatus::Accepted, "result {i}");
                assert_eq!(attempts.len(), 1);
                assert_eq!(attempts[0].outcome, "TRANSIENT");
                assert_eq!(attempts[0].detail.as_deref(), Some(&*format!("result {i}")));
                assert!(seqs.is_empty());
            }
            2 => {
                assert_eq!(m.status, MessageStatus::WaitingForOptin, "result {i}");
                assert!(attempts.is_empty());
                assert!(seqs.is_empty());
            }
            _ => {
                assert_eq!(m.status, MessageStatus::Failed, "result {i}");
                let error = m.error.unwrap();
                assert_eq!(error.code, "RATE_LIMIT_REACHED");
                assert_eq!(error.description, format!("full {i}"));
                assert!(attempts.is_empty());
                assert_eq!(seqs, [1]);
            }
        }
    }
    // The retried and parked jobs are back in the queue, free, due when their step said; a
    // retry counts one attempt more, a parked job none.
    assert_eq!(store.queue_depth().await.unwrap(), 12);
    assert!(
        store
            .claim_jobs(later - Duration::seconds(1), StdDuration::from_secs(60), 24)
            .await
            .unwrap()
            .is_empty()
    );
    let again = store
        .claim_jobs(later, StdDuration::from_secs(60), 24)
        .await
        .unwrap();
    assert_eq!(again.len(), 12);
    for job in again {
        let i = jobs
            .iter()
            .position(|j| j.message_uuid == job.message_uuid)
            .unwrap();
        assert_eq!(job.attempts, u32::from(i % 4 == 1), "result {i}: attempts");
    }
}

pub async fn concurrent_callback_results_land_as_if_one_by_one(store: &Arc<dyn Store>) {
    // Sixteen callback results at once (on SQLite one statement), each raced by a late one
    // from a dispatcher whose lease is gone.
    use herald::store::{CallbackResult, ClaimedCallback, Lease};
    let dealer = dealer(store.as_ref()).await;
    let department = department(store.as_ref(), &dealer).await;
    let t0 = now();
    queue_callbacks(store.as_ref(), &dealer, &department, t0, 16).await;
    let claimed = store
        .claim_callbacks(t0, StdDuration::from_secs(60), 16)
        .await
        .unwrap();
    assert_eq!(claimed.len(), 16);
    let later = t0 + Duration::seconds(90);
    let result = |i: usize| match i % 3 {
        0 => CallbackResult::Delivered {
            detail: format!("HTTP 200 ({i})"),
        },
        1 => CallbackResult::Retry {
            due_at: later,
            detail: format!("HTTP 503 ({i})"),
        },
        _ => CallbackResult::Failed {
            detail: format!("HTTP 410 ({i})"),
        },
    };
    let mut racers = Vec::new();
    for (i, callback) in claimed.iter().cloned().enumerate() {
        let stale = ClaimedCallback {
            lease: Lease {
                id: Uuid::new_v4(),
                ..callback.lease
            },
            ..callback.clone()
        };
        for (callback, expect_held) in [(callback, true), (stale, false)] {
            let (store, result) = (store.clone(), result(i));
            racers.push(tokio::spawn(async move {
                let held = store.finish_callback(&callback, result, t0).await.unwrap();
                assert_eq!(held, expect_held, "result {i}: lease held");
            }));
        }
    }
    for racer in racers {
        racer.await.unwrap();
    }
    for (i, callback) in claimed.iter().enumerate() {
        let records = store.callbacks(callback.message_uuid).await.unwrap();
        assert_eq!(records.len(), 1);
        let r = &records[0];
        let (state, detail) = match i % 3 {
            0 => ("DELIVERED", format!("HTTP 200 ({i})")),
            1 => ("PENDING", format!("HTTP 503 ({i})")),
            _ => ("FAILED", format!("HTTP 410 ({i})")),
        };
        assert_eq!(r.state, state, "result {i}");
        assert_eq!(r.attempts, 1, "result {i}: one attempt counted");
        assert_eq!(r.last_result.as_deref(), Some(&*detail));
    }
    // The retried ones are due again at their time, free to claim.
    assert!(
        store
            .claim_callbacks(later - Duration::seconds(1), StdDuration::from_secs(60), 16)
            .await
            .unwrap()
            .is_empty()
    );
    let again = store
        .claim_callbacks(later, StdDuration::from_secs(60), 16)
        .await
        .unwrap();
    assert_eq!(
        again.len(),
        (0..claimed.len()).filter(|i| i % 3 == 1).count()
    );
}

pub async fn racing_sends_to_many_recipients_fill_each_window_exactly(store: &Arc<dyn Store>) {
    // Forty reservations at once (on SQLite decided together), five for each of eight
    // recipients, under an hourly limit of 2 and a daily one of 3: each recipient gets exactly
    // two, and the retry of a counted message is granted again even with its window full.
    use herald::store::{Reservation, SendReservation};
    let department = Uuid::new_v4();
    let t0 = now();
    let windows = [
        (StdDuration::from_secs(3600), 2u32),
        (StdDuration::from_secs(24 * 3600), 3u32),
    ];
    let recipients: Vec<String> = (0..8).map(|i| format!("+1415555020{i}")).collect();
    let racers: Vec<_> = (0..40)
        .map(|i| {
            let (store, recipient) = (store.clone(), recipients[i % 8].clone());
            tokio::spawn(async move {
                let message = Uuid::now_v7();
                let r = SendReservation {
                    message,
                    department,
                    recipient: &recipient,
                    manual: false,
                    windows: &windows,
                    now: t0,
                };
                (i % 8, message, store.reserve_send(&r).await.unwrap())
            })
        })
        .collect();
    let mut granted: HashMap<usize, Vec<Uuid>> = HashMap::new();
    for racer in racers {
        let (recipient, message, outcome) = racer.await.unwrap();
        match outcome {
            Reservation::Granted => granted.entry(recipient).or_default().push(message),
            Reservation::Refused { retry_after } => assert!(
                retry_after >= StdDuration::from_secs(1)
                    && retry_after <= StdDuration::from_secs(3600),
                "a full hour frees up within the hour: {retry_after:?}"
            ),
        }
    }
    for (i, recipient) in recipients.iter().enumerate() {
        let mine = granted.get(&i).map(Vec::as_slice).unwrap_or_default();
        assert_eq!(mine.len(), 2, "recipient {i}: the hour's limit exactly");
        let retry = SendReservation {
            message: mine[0],
            department,
            recipient,
            manual: false,
            windows: &windows,
            now: t0 + Duration::seconds(5),
        };
        let another = SendReservation {
            message: Uuid::now_v7(),
            ..retry
        };
        let (retried, refused) =
            tokio::join!(store.reserve_send(&retry), store.reserve_send(&another));
        assert_eq!(
            retried.unwrap(),
            Reservation::Granted,
            "recipient {i}: a retry"
        );
        assert!(
            matches!(refused.unwrap(), Reservation::Refused { .. }),
            "recipient {i}: the window stays full"
        );
    }
}

pub async fn a_failing_delivery_result_fails_alone_among_concurrent_ones(store: &Arc<dyn Store>) {
    // Ten results at once (on SQLite one batch), one of them carrying a callback whose id is
    // already taken: that one fails and changes nothing; the nine others are kept.
    use herald::domain::message::MessageStatus;
    use herald::store::{JobNext, MessageUpdate};
    let dealer = dealer(store.as_ref()).await;
    let department = department(store.as_ref(), &dealer).await;
    let t0 = now();
    queue_messages(store.as_ref(), &dealer, &department, t0, 11).await;
    let mut jobs = store
        .claim_jobs(t0, StdDuration::from_secs(60), 11)
        .await
        .unwrap();
    let first = jobs.remove(0);
    let taken = new_callback(0);
    let update = MessageUpdate {
        callbacks: vec![taken.clone()],
        ..Default::default()
    };
    store
        .finish_job(&first, update, vec![], JobNext::Done, t0)
        .await
        .unwrap();
    let racers: Vec<_> = jobs
        .iter()
        .cloned()
        .enumerate()
        .map(|(i, job)| {
            let store = store.clone();
            let callback = if i == 6 {
                taken.clone()
            } else {
                new_callback(i as u32)
            };
            tokio::spawn(async move {
                let update = MessageUpdate {
                    status: Some(MessageStatus::Sent),
                    callbacks: vec![callback],
                    ..Default::default()
                };
                store
                    .finish_job(&job, update, vec![], JobNext::Done, t0)
                    .await
                    .is_ok()
            })
        })
        .collect();
    let mut results = Vec::new();
    for racer in racers {
        results.push(racer.await.unwrap());
    }
    assert_eq!(
        results.iter().filter(|ok| !**ok).count(),
        1,
        "only the duplicate fails: {results:?}"
    );
    assert!(!results[6]);
    for (i, job) in jobs.iter().enumerate() {
        let m = store.message(job.message_uuid).await.unwrap().unwrap();
        let callbacks = store.callbacks(job.message_uuid).await.unwrap();
        if i == 6 {
            assert_eq!(
                m.status,
                MessageStatus::Accepted,
                "the failed result wrote nothing"
            );
            assert!(callbacks.is_empty());
        } else {
            assert_eq!(m.status, MessageStatus::Sent, "result {i} is kept");
            assert_eq!(callbacks.len(), 1);
        }
    }
    assert_eq!(
        store.queue_depth().await.unwrap(),
        1,
        "the failed job stays queued"
    );
}

pub async fn a_leased_callback_is_claimed_again_only_once_its_lease_expires(store: &dyn Store) {
    let dealer = dealer(store).await;
    let department = department(store, &dealer).await;
    let t0 = now();
    queue_callbacks(store, &dealer, &department, t0, 1).await;
    let lease = StdDuration::from_secs(30);
    let first = store.claim_callbacks(t0, lease, 10).await.unwrap();
    assert_eq!(first.len(), 1);
    // The dispatcher holding it died: nobody else gets it before the lease runs out.
    let before = t0 + Duration::seconds(29);
    assert!(
        store
            .claim_callbacks(before, lease, 10)
            .await
            .unwrap()
            .is_empty()
    );
    let after = t0 + Duration::seconds(30);
    let again = store.claim_callbacks(after, lease, 10).await.unwrap();
    assert_eq!(again.len(), 1, "claimed again once the lease has expired");
    assert_eq!(again[0].webhook_id, first[0].webhook_id);
    assert_ne!(again[0].lease, first[0].lease);
}

/// An API opt-out of `address` with no cause, as the older checks need.
pub fn opt_out_email(address: &EmailAddress) -> EmailOptChange<'_> {
    EmailOptChange {
        email: address,
        ok_to_email: false,
        event: OptEvent::UserRequestedOptOut,
        source: OptSource::Api,
        cause: &OptCause::NONE,
    }
}

/// Consent history (issue 15): every event keeps its cause, oldest first, per dealer; an
/// address has a history of its own.
pub async fn consent_history_keeps_causes(store: &dyn Store) {
    let other = dealer(store).await;
    let dealer = dealer(store).await;
    let number = phone("+14155550400");
    let (stop_text, request) = (Uuid::now_v7(), Uuid::new_v4());
    let stop = OptCause::message(stop_text);
    let api = OptCause::request(request, Some("integrator".into()));
    let changes = [
        OptChange {
            phone: &number,
            event: OptEvent::StopMessageReceived,
            source: OptSource::Inbound,
            cause: &stop,
        },
        OptChange {
            phone: &number,
            event: OptEvent::HelpMessageReceived,
            source: OptSource::Inbound,
            cause: &stop,
        },
        OptChange {
            phone: &number,
            event: OptEvent::OptinMessageReceived,
            source: OptSource::Api,
            cause: &api,
        },
    ];
    store
        .apply_opt_changes(dealer.uuid, &changes, now())
        .await
        .unwrap();
    let history = store.opt_history(dealer.uuid, &number).await.unwrap();
    let seen: Vec<_> = history
        .iter()
        .map(|h| {
            (
                h.event.as_str(),
                h.state.as_str(),
                h.cause_message_uuid,
                h.cause_request_id,
            )
        })
        .collect();
    assert_eq!(
        seen,
        [
            ("STOP_MESSAGE_RECEIVED", "OPTED_OUT", Some(stop_text), None),
            ("HELP_MESSAGE_RECEIVED", "OPTED_OUT", Some(stop_text), None),
            ("OPTIN_MESSAGE_RECEIVED", "OPTED_IN", None, Some(request)),
        ]
    );
    assert_eq!(history[2].actor.as_deref(), Some("integrator"));
    assert!(
        store
            .opt_history(other.uuid, &number)
            .await
            .unwrap()
            .is_empty()
    );

    let address = email("consent@example.com");
    let c = customer(&dealer, "Consent", &[], &["consent@example.com"]);
    store
        .save_customer_caused(&c, ContactOrigin::DmsImport, &api, now())
        .await
        .unwrap();
    let bounce = OptCause::message(stop_text);
    let change = EmailOptChange {
        email: &address,
        ok_to_email: false,
        event: OptEvent::ProviderReportedOptOut,
        source: OptSource::Provider,
        cause: &bounce,
    };
    store
        .set_ok_to_email(dealer.uuid, &change, now())
        .await
        .unwrap();
    let history = store
        .email_opt_history(dealer.uuid, &address)
        .await
        .unwrap();
    let seen: Vec<_> = history
        .iter()
        .map(|h| (h.event.as_str(), h.source.as_str(), h.state.as_str()))
        .collect();
    assert_eq!(
        seen,
        [
            ("CUSTOMER_SAVED", "DMS_IMPORT", "OPTED_IN"),
            ("PROVIDER_REPORTED_OPT_OUT", "PROVIDER", "OPTED_OUT"),
        ]
    );
    assert_eq!(history[0].cause_request_id, Some(request));
    assert_eq!(history[1].cause_message_uuid, Some(stop_text));
    assert!(
        store
            .email_opt_history(other.uuid, &address)
            .await
            .unwrap()
            .is_empty()
    );
}
