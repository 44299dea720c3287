//! The conformance tests themselves, one file per subject: each takes any [`Store`]. The
//! helpers they share are here.

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

mod callbacks;
mod compliance;
mod consent;
mod customers;
mod directory;
mod group_commit;
mod idempotency;
mod jobs;
mod rates;

pub use callbacks::*;
pub use compliance::*;
pub use consent::*;
pub use customers::*;
pub use directory::*;
pub use group_commit::*;
pub use idempotency::*;
pub use jobs::*;
pub use rates::*;

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

pub(crate) fn phone(s: &str) -> PhoneNumber {
    PhoneNumber::parse(s).unwrap()
}

pub(crate) fn email(s: &str) -> EmailAddress {
    EmailAddress::parse(s).unwrap()
}

pub(crate) async fn dealer(store: &dyn Store) -> Dealer {
    let dealer = Dealer {
        uuid: Uuid::new_v4(),
        name: "Acme Motors".into(),
    };
    store.insert_dealer(&dealer, now()).await.unwrap();
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
        .insert_department(&department, &default_user, now())
        .await
        .unwrap();
    department
}

pub(crate) fn customer(dealer: &Dealer, first: &str, phones: &[&str], emails: &[&str]) -> Customer {
    Customer {
        uuid: Uuid::new_v4(),
        dealer_uuid: dealer.uuid,
        first_name: Some(first.into()),
        last_name: Some("Doe".into()),
        company: None,
        customer_key: Some(format!("KEY-{first}")),
        time_zone: None,
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

pub(crate) fn now() -> OffsetDateTime {
    OffsetDateTime::now_utc()
}

pub(crate) async fn dealer_named(store: &dyn Store, name: &str) -> Dealer {
    let dealer = Dealer {
        uuid: Uuid::new_v4(),
        name: name.into(),
    };
    store.insert_dealer(&dealer, now()).await.unwrap();
    dealer
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
        html_body: None,
        attachments: Vec::new(),
        recipient: Recipient::Phone(PhoneNumber::parse("+14155550199").unwrap()),
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
        held_until: None,
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

/// Messages with a due job each, accepted at `t0`.
pub(crate) async fn queue_messages(
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
pub(crate) async fn queue_callbacks(
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

/// A department of `dealer` texting from `number`, if the store takes it.
pub(crate) async fn department_texting_from(
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
    store
        .insert_department(&department, &default_user, now())
        .await?;
    Ok(department)
}

pub(crate) fn with_sender(department: &Department, number: Option<&str>) -> Department {
    let mut changed = department.clone();
    changed.settings.text_sender_number = number.map(phone);
    changed
}

pub(crate) fn assert_in_use(result: Result<impl std::fmt::Debug, StoreError>, number: &str) {
    match result {
        Err(StoreError::SenderNumberInUse(n)) => assert_eq!(n, number),
        other => panic!("expected {number} in use, got {other:?}"),
    }
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
