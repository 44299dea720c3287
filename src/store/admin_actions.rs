//! What the operator changes on one message (SPEC 8, admin actions): cancel one not yet
//! handed over, or put a failed one back in the queue. Each is one transaction whose update
//! is conditional on the message's status (and, for a cancel, on no worker holding its job),
//! so an action racing a worker's claim either wins whole or changes nothing.

use async_trait::async_trait;
use time::OffsetDateTime;
use uuid::Uuid;

use super::StoreResult;
use super::messages::NewCallback;
use crate::domain::message::SendOptions;

/// Statuses a cancel applies to.
pub const CANCELLABLE: &str = "('ACCEPTED', 'SCHEDULED', 'WAITING_FOR_OPTIN')";
/// Statuses a retry applies to.
pub const RETRYABLE: &str = "('FAILED', 'EXPIRED')";

/// What became of an action.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ActionOutcome {
    Done,
    /// No such message.
    Missing,
    /// The message is not in a status the action applies to, or (cancel) a worker holds it.
    Refused,
}

impl ActionOutcome {
    /// The outcome of a conditional change: done if it `moved` a row, else refused if the
    /// row was `found`, else missing.
    pub fn of(moved: bool, found: bool) -> Self {
        match (moved, found) {
            (true, _) => ActionOutcome::Done,
            (false, true) => ActionOutcome::Refused,
            (false, false) => ActionOutcome::Missing,
        }
    }
}

#[async_trait]
pub trait AdminActionStore: Send + Sync + 'static {
    /// Ends an `ACCEPTED`, `SCHEDULED` or `WAITING_FOR_OPTIN` message `CANCELLED`, removes its
    /// delivery job and enqueues `callback`, in one transaction; refused while its job is
    /// leased by a worker or may have reached a provider (in doubt).
    async fn cancel_message(
        &self,
        message: Uuid,
        callback: Option<NewCallback>,
        now: OffsetDateTime,
    ) -> StoreResult<ActionOutcome>;
    /// Moves a `FAILED` or `EXPIRED` message back to `ACCEPTED` with `options` and its error
    /// cleared, and writes a job due `now` with a fresh attempt count, in one transaction.
    /// Its attempt history is kept.
    async fn requeue_message(
        &self,
        message: Uuid,
        options: &SendOptions,
        now: OffsetDateTime,
    ) -> StoreResult<ActionOutcome>;
}
