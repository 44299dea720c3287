//! The directory served from memory. Every send and every delivery step reads a department, a
//! user, a customer and the customer's lock; reading them from the database each time costs
//! more than the rest of the request. [`CachedStore`] wraps a backend and keeps copies of those
//! four (and dealers, which never change) for a short time ([`TTL`]):
//!
//! - a write through this process drops the copy at once, before the write returns;
//! - a write by another process reaches this one as an announced [`Change`] (PostgreSQL's
//!   `NOTIFY`), and a missed announcement (a dropped listener) clears everything;
//! - a row read while a write to the same kind of row was in flight is not kept;
//! - writes by processes that announce nothing (a second process on one SQLite file, such as
//!   `herald demo`) are seen within [`TTL`].
//!
//! Only rows that exist are kept (a department created a moment ago is never "not found"),
//! except locks, whose absence is the common case: "no lock" is kept like a lock is.
//! Everything else passes straight through to the backend.

mod admin_actions;
mod admin_ops;
mod admin_reads;
mod attachments;
mod map;
mod messages;

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use time::OffsetDateTime;
use tokio::sync::broadcast::error::RecvError;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use self::map::TtlMap;
use super::*;
use crate::domain::credential::Credential;
use crate::domain::customer::{ContactOrigin, Customer};
use crate::domain::directory::{Dealer, Department, User};
use crate::domain::optout::{OptCause, OptSource, OptStatus};
use crate::domain::{EmailAddress, PhoneNumber};

/// How long a copy is served without asking the database again.
pub const TTL: Duration = Duration::from_secs(1);
/// The most rows of one kind kept; past it, expired rows go, then all.
const CAPACITY: usize = 50_000;

pub struct CachedStore {
    inner: Arc<dyn Store>,
    dealers: TtlMap<Uuid, Dealer>,
    departments: TtlMap<Uuid, Department>,
    users: TtlMap<Uuid, User>,
    customers: TtlMap<Uuid, Customer>,
    locks: TtlMap<Uuid, Option<CustomerLock>>,
}

impl CachedStore {
    pub fn new(inner: Arc<dyn Store>) -> Self {
        Self::with_ttl(inner, TTL)
    }

    /// With copies kept for `ttl` (tests make it long, so only invalidation can refresh them).
    pub fn with_ttl(inner: Arc<dyn Store>, ttl: Duration) -> Self {
        Self {
            inner,
            dealers: TtlMap::new(ttl, CAPACITY),
            departments: TtlMap::new(ttl, CAPACITY),
            users: TtlMap::new(ttl, CAPACITY),
            customers: TtlMap::new(ttl, CAPACITY),
            locks: TtlMap::new(ttl, CAPACITY),
        }
    }

    /// Drops what `change` made stale.
    pub fn forget(&self, change: Change) {
        match change {
            Change::Department(u) => self.departments.invalidate(&u),
            Change::User(u) => self.users.invalidate(&u),
            Change::Customer(u) => self.customers.invalidate(&u),
            Change::DealerCustomers(_) => self.customers.clear(),
            Change::Lock(u) => self.locks.invalidate(&u),
            Change::Everything => {
                self.dealers.clear();
                self.departments.clear();
                self.users.clear();
                self.customers.clear();
                self.locks.clear();
            }
        }
    }

    /// Drops this process's copy, then tells the other processes. A failed announcement is
    /// logged: the others then see the change within [`TTL`].
    async fn changed(&self, change: Change) {
        self.forget(change);
        if let Err(e) = self.inner.announce(change).await {
            tracing::warn!(error = %e, ?change, "could not announce a directory change");
        }
    }

    async fn apply_announcements(&self, wakeups: &Wakeups) {
        let mut changes = wakeups.changes.subscribe();
        loop {
            match changes.recv().await {
                Ok(change) => self.forget(change),
                Err(RecvError::Lagged(_)) => self.forget(Change::Everything),
                Err(RecvError::Closed) => return,
            }
        }
    }
}

#[async_trait]
impl Lifecycle for CachedStore {
    async fn migrate(&self) -> StoreResult<()> {
        self.inner.migrate().await
    }

    async fn ping(&self) -> StoreResult<()> {
        self.inner.ping().await
    }

    async fn check_writable(&self) -> StoreResult<()> {
        self.inner.check_writable().await
    }

    async fn relay_wakeups(&self, wakeups: Wakeups, shutdown: CancellationToken) {
        let apply = async {
            tokio::select! {
                _ = shutdown.cancelled() => {}
                _ = self.apply_announcements(&wakeups) => {}
            }
        };
        tokio::join!(
            self.inner.relay_wakeups(wakeups.clone(), shutdown.clone()),
            apply
        );
    }

    async fn announce(&self, change: Change) -> StoreResult<()> {
        self.inner.announce(change).await
    }
}

#[async_trait]
impl DirectoryStore for CachedStore {
    async fn insert_dealer(&self, dealer: &Dealer, now: OffsetDateTime) -> StoreResult<()> {
        self.inner.insert_dealer(dealer, now).await
    }

    async fn dealer(&self, uuid: Uuid) -> StoreResult<Option<Dealer>> {
        // Dealers are never changed once created.
        if let Some(d) = self.dealers.get(&uuid) {
            return Ok(Some(d));
        }
        let generation = self.dealers.generation();
        let found = self.inner.dealer(uuid).await?;
        if let Some(d) = &found {
            self.dealers
                .insert_unless_changed(generation, uuid, d.clone());
        }
        Ok(found)
    }

    async fn insert_department(
        &self,
        department: &Department,
        default_user: &User,
        now: OffsetDateTime,
    ) -> StoreResult<()> {
        self.inner
            .insert_department(department, default_user, now)
            .await
    }

    async fn department(&self, uuid: Uuid) -> StoreResult<Option<Department>> {
        if let Some(d) = self.departments.get(&uuid) {
            return Ok(Some(d));
        }
        let generation = self.departments.generation();
        let found = self.inner.department(uuid).await?;
        if let Some(d) = &found {
            self.departments
                .insert_unless_changed(generation, uuid, d.clone());
        }
        Ok(found)
    }

    async fn update_department(&self, department: &Department) -> StoreResult<()> {
        let result = self.inner.update_department(department).await;
        self.changed(Change::Department(department.uuid)).await;
        result
    }

    async fn insert_user(&self, user: &User, now: OffsetDateTime) -> StoreResult<()> {
        self.inner.insert_user(user, now).await
    }

    async fn user(&self, uuid: Uuid) -> StoreResult<Option<User>> {
        if let Some(u) = self.users.get(&uuid) {
            return Ok(Some(u));
        }
        let generation = self.users.generation();
        let found = self.inner.user(uuid).await?;
        if let Some(u) = &found {
            self.users
                .insert_unless_changed(generation, uuid, u.clone());
        }
        Ok(found)
    }
}

#[async_trait]
impl CredentialStore for CachedStore {
    async fn put_credential(
        &self,
        credential: &Credential,
        now: OffsetDateTime,
    ) -> StoreResult<()> {
        self.inner.put_credential(credential, now).await
    }

    async fn credential(&self, username: &str) -> StoreResult<Option<Credential>> {
        self.inner.credential(username).await
    }

    async fn revoke_credential(&self, username: &str, now: OffsetDateTime) -> StoreResult<bool> {
        self.inner.revoke_credential(username, now).await
    }

    async fn touch_credential(&self, username: &str, at: OffsetDateTime) -> StoreResult<()> {
        self.inner.touch_credential(username, at).await
    }
}

#[async_trait]
impl CustomerStore for CachedStore {
    async fn save_customer_caused(
        &self,
        customer: &Customer,
        origin: ContactOrigin,
        cause: &OptCause,
        now: OffsetDateTime,
    ) -> StoreResult<()> {
        let result = self
            .inner
            .save_customer_caused(customer, origin, cause, now)
            .await;
        self.changed(Change::Customer(customer.uuid)).await;
        result
    }

    async fn customer(&self, dealer: Uuid, uuid: Uuid) -> StoreResult<Option<Customer>> {
        if let Some(c) = self.customers.get(&uuid) {
            return Ok((c.dealer_uuid == dealer).then_some(c));
        }
        let generation = self.customers.generation();
        let found = self.inner.customer(dealer, uuid).await?;
        if let Some(c) = &found {
            self.customers
                .insert_unless_changed(generation, uuid, c.clone());
        }
        Ok(found)
    }

    async fn customer_by_key(&self, dealer: Uuid, key: &str) -> StoreResult<Option<Customer>> {
        self.inner.customer_by_key(dealer, key).await
    }

    async fn search_customers(
        &self,
        dealer: Uuid,
        query: &CustomerQuery,
    ) -> StoreResult<Vec<Customer>> {
        self.inner.search_customers(dealer, query).await
    }

    async fn set_ok_to_email(
        &self,
        dealer: Uuid,
        change: &EmailOptChange<'_>,
        now: OffsetDateTime,
    ) -> StoreResult<u64> {
        let result = self.inner.set_ok_to_email(dealer, change, now).await;
        self.changed(Change::DealerCustomers(dealer)).await;
        result
    }

    async fn email_flags(
        &self,
        dealer: Uuid,
        email: &EmailAddress,
    ) -> StoreResult<Vec<EmailFlags>> {
        self.inner.email_flags(dealer, email).await
    }
}

#[async_trait]
impl ComplianceStore for CachedStore {
    async fn opt_status(&self, dealer: Uuid, phone: &PhoneNumber) -> StoreResult<OptStatus> {
        self.inner.opt_status(dealer, phone).await
    }

    async fn apply_opt_changes(
        &self,
        dealer: Uuid,
        changes: &[OptChange<'_>],
        now: OffsetDateTime,
    ) -> StoreResult<Vec<OptStatus>> {
        self.inner.apply_opt_changes(dealer, changes, now).await
    }

    async fn claim_optin_request(
        &self,
        dealer: Uuid,
        phone: &PhoneNumber,
        source: OptSource,
        cause: &OptCause,
        now: OffsetDateTime,
    ) -> StoreResult<bool> {
        self.inner
            .claim_optin_request(dealer, phone, source, cause, now)
            .await
    }

    async fn opt_history(
        &self,
        dealer: Uuid,
        phone: &PhoneNumber,
    ) -> StoreResult<Vec<OptHistoryEntry>> {
        self.inner.opt_history(dealer, phone).await
    }

    async fn email_opt_history(
        &self,
        dealer: Uuid,
        email: &EmailAddress,
    ) -> StoreResult<Vec<OptHistoryEntry>> {
        self.inner.email_opt_history(dealer, email).await
    }

    async fn lock_customer(
        &self,
        lock: &CustomerLock,
        now: OffsetDateTime,
    ) -> StoreResult<LockOutcome> {
        let result = self.inner.lock_customer(lock, now).await;
        self.changed(Change::Lock(lock.customer_uuid)).await;
        result
    }

    async fn unlock_customer(
        &self,
        customer: Uuid,
        user: Uuid,
        now: OffsetDateTime,
    ) -> StoreResult<UnlockOutcome> {
        let result = self.inner.unlock_customer(customer, user, now).await;
        self.changed(Change::Lock(customer)).await;
        result
    }

    async fn customer_lock(
        &self,
        customer: Uuid,
        now: OffsetDateTime,
    ) -> StoreResult<Option<CustomerLock>> {
        // A kept lock is checked against `now`: it may have expired since it was read.
        // A kept "no lock" stays true until a write, which drops it.
        if let Some(lock) = self.locks.get(&customer) {
            return Ok(lock.filter(|l| l.expires_at > now));
        }
        let generation = self.locks.generation();
        let found = self.inner.customer_lock(customer, now).await?;
        self.locks
            .insert_unless_changed(generation, customer, found.clone());
        Ok(found)
    }

    async fn add_to_blacklist(
        &self,
        dealer: Uuid,
        emails: &[EmailAddress],
        domains: &[String],
        now: OffsetDateTime,
    ) -> StoreResult<()> {
        self.inner
            .add_to_blacklist(dealer, emails, domains, now)
            .await
    }

    async fn is_blacklisted(&self, dealer: Uuid, email: &EmailAddress) -> StoreResult<bool> {
        self.inner.is_blacklisted(dealer, email).await
    }
}
