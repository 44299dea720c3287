//! Opt states, their history, customer locks and the blacklist (SPEC 5): the trait, and its
//! one implementation over both backends. What a backend does its own way — reading a
//! number's state to change it (PostgreSQL locks the row first), writing it back, taking and
//! releasing customer locks — is its [`ComplianceBackend`].

use std::future::Future;

use async_trait::async_trait;
use time::OffsetDateTime;
use uuid::Uuid;

use super::StoreResult;
use super::backend::{Backend, Query};
use super::compliance_rows::{
    EMAIL_HISTORY, HistoryRow, PHONE_HISTORY, apply_change, history, insert_event, read_lock,
    read_status,
};
use crate::domain::optout::{OptCause, OptEvent, OptSource, OptStatus};
use crate::domain::{EmailAddress, PhoneNumber};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CustomerLock {
    pub customer_uuid: Uuid,
    pub user_uuid: Uuid,
    pub expires_at: OffsetDateTime,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LockOutcome {
    /// The lock is now held by the asking user (new, or extended).
    Held(CustomerLock),
    /// Another user holds an unexpired lock.
    HeldByOther(CustomerLock),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UnlockOutcome {
    Released,
    NotLocked,
    HeldByOther(CustomerLock),
}

/// One requested change to an opt state.
#[derive(Debug, Clone, Copy)]
pub struct OptChange<'a> {
    pub phone: &'a PhoneNumber,
    pub event: OptEvent,
    pub source: OptSource,
    /// Kept with the event in the history.
    pub cause: &'a OptCause,
}

/// A row of a number's or an address's opt history. The cause is `None` where nothing is
/// known of it (rows from before causes were kept).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OptHistoryEntry {
    pub event: String,
    pub source: String,
    pub state: String,
    pub at: OffsetDateTime,
    pub actor: Option<String>,
    pub cause_message_uuid: Option<Uuid>,
    pub cause_request_id: Option<Uuid>,
}

#[async_trait]
pub trait ComplianceStore: Send + Sync + 'static {
    async fn opt_status(&self, dealer: Uuid, phone: &PhoneNumber) -> StoreResult<OptStatus>;
    /// Applies the changes in order, in one transaction, recording each in the history;
    /// returns the resulting status of each number. A number that becomes `OPTED_IN` releases
    /// the messages waiting for it: their jobs become due now, in the order accepted.
    async fn apply_opt_changes(
        &self,
        dealer: Uuid,
        changes: &[OptChange<'_>],
        now: OffsetDateTime,
    ) -> StoreResult<Vec<OptStatus>>;
    /// Records that an opt-in request is being texted to `phone`, unless one was in the last
    /// 24 hours or the number is no longer `NOT_SET`; returns whether this caller may send it.
    /// On success the request is recorded in the number's history (`OPTIN_REQUEST_SENT`)
    /// with `cause` (the request's own message), in the same transaction.
    async fn claim_optin_request(
        &self,
        dealer: Uuid,
        phone: &PhoneNumber,
        source: OptSource,
        cause: &OptCause,
        now: OffsetDateTime,
    ) -> StoreResult<bool>;
    /// The number's history at `dealer`, oldest first.
    async fn opt_history(
        &self,
        dealer: Uuid,
        phone: &PhoneNumber,
    ) -> StoreResult<Vec<OptHistoryEntry>>;
    /// The address's history at `dealer`, oldest first.
    async fn email_opt_history(
        &self,
        dealer: Uuid,
        email: &EmailAddress,
    ) -> StoreResult<Vec<OptHistoryEntry>>;
    /// Takes or extends `lock` unless another user holds an unexpired one.
    async fn lock_customer(
        &self,
        lock: &CustomerLock,
        now: OffsetDateTime,
    ) -> StoreResult<LockOutcome>;
    async fn unlock_customer(
        &self,
        customer: Uuid,
        user: Uuid,
        now: OffsetDateTime,
    ) -> StoreResult<UnlockOutcome>;
    /// The unexpired lock on a customer, if any.
    async fn customer_lock(
        &self,
        customer: Uuid,
        now: OffsetDateTime,
    ) -> StoreResult<Option<CustomerLock>>;
    async fn add_to_blacklist(
        &self,
        dealer: Uuid,
        emails: &[EmailAddress],
        domains: &[String],
        now: OffsetDateTime,
    ) -> StoreResult<()>;
    /// Whether the dealer's own list names this address or its domain.
    async fn is_blacklisted(&self, dealer: Uuid, email: &EmailAddress) -> StoreResult<bool>;
}

/// What each backend does its own way for [`ComplianceStore`].
pub trait ComplianceBackend: Backend {
    /// Adds a blacklist entry ($1 dealer, $2 kind, $3 value, $4 time) unless it is there.
    const BLACKLIST_INSERT: &'static str;

    /// The number's status, read inside `tx` to be changed there.
    fn status_to_change(
        tx: &mut Self::Conn,
        dealer: Uuid,
        phone: &PhoneNumber,
    ) -> impl Future<Output = StoreResult<OptStatus>> + Send;
    /// Writes the number's new state and time of change.
    fn write_state(
        tx: &mut Self::Conn,
        dealer: Uuid,
        phone: &PhoneNumber,
        status: &OptStatus,
    ) -> impl Future<Output = StoreResult<()>> + Send;
    /// Records that an opt-in request goes to the number at `now`.
    fn mark_optin_requested(
        tx: &mut Self::Conn,
        dealer: Uuid,
        phone: &PhoneNumber,
        now: OffsetDateTime,
    ) -> impl Future<Output = StoreResult<()>> + Send;
    /// Messages waiting for an opt-in were made due now, inside `tx`.
    fn jobs_released(tx: &mut Self::Conn) -> impl Future<Output = StoreResult<()>> + Send;
    fn take_lock(
        &self,
        lock: &CustomerLock,
        now: OffsetDateTime,
    ) -> impl Future<Output = StoreResult<LockOutcome>> + Send;
    fn release_lock(
        &self,
        customer: Uuid,
        user: Uuid,
        now: OffsetDateTime,
    ) -> impl Future<Output = StoreResult<UnlockOutcome>> + Send;
}

#[async_trait]
impl<S: ComplianceBackend> ComplianceStore for S {
    async fn opt_status(&self, dealer: Uuid, phone: &PhoneNumber) -> StoreResult<OptStatus> {
        let mut conn = self.read().await?;
        read_status::<S>(&mut conn, dealer, phone).await
    }

    async fn apply_opt_changes(
        &self,
        dealer: Uuid,
        changes: &[OptChange<'_>],
        now: OffsetDateTime,
    ) -> StoreResult<Vec<OptStatus>> {
        let mut tx = self.begin().await?;
        let mut statuses = Vec::with_capacity(changes.len());
        for change in changes {
            statuses.push(apply_change::<S>(&mut tx, dealer, change, now).await?);
        }
        S::commit(tx).await?;
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
        let now = S::at(now);
        let mut tx = self.begin().await?;
        let status = S::status_to_change(&mut tx, dealer, phone).await?;
        if !status.can_send_optin_request(now) {
            return Ok(false);
        }
        S::mark_optin_requested(&mut tx, dealer, phone, now).await?;
        let event = HistoryRow {
            event: OptEvent::OptinRequestSent,
            source,
            state: status.state,
            cause,
        };
        insert_event::<S>(&mut tx, PHONE_HISTORY, dealer, phone.as_str(), &event, now).await?;
        S::commit(tx).await?;
        Ok(true)
    }

    async fn opt_history(
        &self,
        dealer: Uuid,
        phone: &PhoneNumber,
    ) -> StoreResult<Vec<OptHistoryEntry>> {
        history(self, PHONE_HISTORY, dealer, phone.as_str()).await
    }

    async fn email_opt_history(
        &self,
        dealer: Uuid,
        email: &EmailAddress,
    ) -> StoreResult<Vec<OptHistoryEntry>> {
        history(self, EMAIL_HISTORY, dealer, email.as_str()).await
    }

    async fn lock_customer(
        &self,
        lock: &CustomerLock,
        now: OffsetDateTime,
    ) -> StoreResult<LockOutcome> {
        self.take_lock(lock, now).await
    }

    async fn unlock_customer(
        &self,
        customer: Uuid,
        user: Uuid,
        now: OffsetDateTime,
    ) -> StoreResult<UnlockOutcome> {
        self.release_lock(customer, user, now).await
    }

    async fn customer_lock(
        &self,
        customer: Uuid,
        now: OffsetDateTime,
    ) -> StoreResult<Option<CustomerLock>> {
        let mut conn = self.read().await?;
        read_lock::<S>(&mut conn, customer, now).await
    }

    async fn add_to_blacklist(
        &self,
        dealer: Uuid,
        emails: &[EmailAddress],
        domains: &[String],
        now: OffsetDateTime,
    ) -> StoreResult<()> {
        let mut tx = self.begin().await?;
        let entries = emails
            .iter()
            .map(|e| ("EMAIL", e.as_str()))
            .chain(domains.iter().map(|d| ("DOMAIN", d.as_str())));
        for (kind, value) in entries {
            S::query(S::BLACKLIST_INSERT)
                .uuid(dealer)
                .bind(kind)
                .bind(value)
                .time(now)
                .execute(&mut tx)
                .await?;
        }
        S::commit(tx).await?;
        Ok(())
    }

    async fn is_blacklisted(&self, dealer: Uuid, email: &EmailAddress) -> StoreResult<bool> {
        let mut conn = self.read().await?;
        let row = S::query(
            "SELECT 1 FROM blacklist WHERE dealer_uuid = $1
             AND ((kind = 'EMAIL' AND value = $2) OR (kind = 'DOMAIN' AND value = $3)) LIMIT 1",
        )
        .uuid(dealer)
        .bind(email.as_str())
        .bind(email.domain())
        .fetch_optional(&mut conn)
        .await?;
        Ok(row.is_some())
    }
}
