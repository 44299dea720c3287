//! The operator's actions on one message (SPEC 8): cancel one not yet handed over, retry one
//! that failed or expired. The admin API's handlers and the operator console both call these,
//! so every rule that refuses an action in one refuses it in the other, with the same reason.

use std::sync::Arc;

use tokio::sync::Notify;
use uuid::Uuid;

use super::{Failure, Refusal, RefusalKind};
use crate::clock::Clock;
use crate::delivery::{Deliverer, callback};
use crate::domain::codes::ErrorCode;
use crate::domain::message::{Message, MessageStatus};
use crate::store::Store;
use crate::store::admin_actions::ActionOutcome;

/// What the actions reach: the store, the clock, and the delivery side they wake.
pub struct ActionDeps<'a> {
    pub store: &'a Arc<dyn Store>,
    pub clock: &'a Clock,
    /// Told when a cancellation queued a callback.
    pub deliverer: &'a Deliverer,
    /// Wakes the delivery workers when a message is queued again.
    pub delivery_wake: &'a Notify,
}

/// The refusal for a message that does not exist: a `NOT_FOUND`.
pub fn no_such_message() -> Refusal {
    Refusal::one(
        RefusalKind::NotFound,
        ErrorCode::NotFound,
        "no such message",
    )
}

/// Ends an `ACCEPTED`, `SCHEDULED` or `WAITING_FOR_OPTIN` message `CANCELLED`: its delivery
/// job goes, and its callback (if it asked for callbacks) is enqueued in the same transaction.
/// A message a worker holds (it may be with the provider) or in any other status is refused
/// (`Conflict`, `MESSAGE_NOT_CANCELLABLE`) and nothing changes; an unknown one is `NotFound`.
pub async fn cancel_message(deps: &ActionDeps<'_>, message: Uuid) -> Result<Message, Failure> {
    let before = deps
        .store
        .message(message)
        .await?
        .ok_or_else(no_such_message)?;
    let now = deps.clock.now();
    let notice = callback(&before, MessageStatus::Cancelled, None);
    let queued_callback = notice.is_some();
    match deps.store.cancel_message(message, notice, now).await? {
        ActionOutcome::Done => {}
        ActionOutcome::Missing => return Err(no_such_message().into()),
        ActionOutcome::Refused => {
            return Err(refused(
                deps,
                message,
                ErrorCode::MessageNotCancellable,
                "only an ACCEPTED, SCHEDULED or WAITING_FOR_OPTIN message no worker is sending can be cancelled",
            )
            .await
            .into());
        }
    }
    if queued_callback {
        deps.deliverer.callbacks_queued();
    }
    tracing::info!(message_uuid = %message, "message cancelled by the operator");
    Ok(deps
        .store
        .message(message)
        .await?
        .ok_or_else(no_such_message)?)
}

/// Puts a `FAILED` or `EXPIRED` message back in the queue: `ACCEPTED`, its error cleared, a
/// job due now with a fresh backoff schedule and a fresh `delivery.max_age_seconds` window
/// (counted from now). Every delivery rule (opt state, blacklist, rate limits, quiet hours)
/// is applied again by the step that takes it. Any other status is refused (`Conflict`,
/// `MESSAGE_NOT_RETRYABLE`); an unknown message is `NotFound`. Its attempt history is kept.
pub async fn retry_message(deps: &ActionDeps<'_>, message: Uuid) -> Result<Message, Failure> {
    let before = deps
        .store
        .message(message)
        .await?
        .ok_or_else(no_such_message)?;
    let now = deps.clock.now();
    // The step measures a message's age from its due time (`created_at + delay`): moving that
    // to now gives the retried message the whole window again, with no column of its own.
    let mut options = before.options.clone();
    let since_created = (now - before.created_at).whole_seconds().max(0) as u64;
    options.delay_seconds = options.delay_seconds.max(since_created);
    match deps.store.requeue_message(message, &options, now).await? {
        ActionOutcome::Done => {}
        ActionOutcome::Missing => return Err(no_such_message().into()),
        ActionOutcome::Refused => {
            return Err(refused(
                deps,
                message,
                ErrorCode::MessageNotRetryable,
                "only a FAILED or EXPIRED message can be retried",
            )
            .await
            .into());
        }
    }
    deps.delivery_wake.notify_one();
    tracing::info!(message_uuid = %message, "message queued again by the operator");
    Ok(deps
        .store
        .message(message)
        .await?
        .ok_or_else(no_such_message)?)
}

/// The refusal of an action the message's state does not allow, naming that state.
async fn refused(deps: &ActionDeps<'_>, message: Uuid, code: ErrorCode, rule: &str) -> Refusal {
    let status = match deps.store.message(message).await {
        Ok(Some(m)) => m.status.as_str(),
        _ => "unknown",
    };
    Refusal::one(
        RefusalKind::Conflict,
        code,
        format!("{rule}; this message is {status}"),
    )
}
