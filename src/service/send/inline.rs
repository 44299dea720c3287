//! A synchronous send: delivered inline, through the same step as a worker's, and answered
//! with its outcome (SPEC 4.3).

use std::time::Duration;

use uuid::Uuid;

use super::super::Failure;
use super::SendDeps;
use super::accept::KeyedRequest;
use crate::delivery::Mode;
use crate::domain::codes::ErrorCode;
use crate::domain::message::{Message, MessageStatus};
use crate::domain::report::MessageReport;
use crate::store::{ClaimedJob, Lease, StoredResponse};

/// What a synchronous send is answered with.
pub struct InlineAnswer {
    pub status: SyncStatus,
    pub report: MessageReport,
    /// How long the provider or the rate limits asked to wait, for a `RateLimited` answer.
    pub retry_after: Option<Duration>,
}

/// The answer's status, by the message's outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SyncStatus {
    /// Sent (`200`).
    Sent,
    /// A rate limit was reached (`429`).
    RateLimited,
    /// Another send holds the recipient (`409`).
    Locked,
    /// The provider refused it (`502`).
    ProviderFailed,
    /// Herald failed (`500`).
    Internal,
    /// A rule refused it (opt-out, blacklist, …) (`422`).
    Refused,
}

impl SyncStatus {
    /// The HTTP status it is answered, and stored for an idempotent replay, with.
    pub fn http_status(self) -> u16 {
        match self {
            Self::Sent => 200,
            Self::RateLimited => 429,
            Self::Locked => 409,
            Self::ProviderFailed => 502,
            Self::Internal => 500,
            Self::Refused => 422,
        }
    }
}

/// The status of a synchronous send's answer (SPEC 4.3), from its message's status and error.
pub fn sync_status(status: MessageStatus, error: Option<ErrorCode>) -> SyncStatus {
    if status.is_success() {
        return SyncStatus::Sent;
    }
    match error {
        Some(ErrorCode::RateLimitReached) => SyncStatus::RateLimited,
        Some(ErrorCode::MessageSendLockNotObtained) => SyncStatus::Locked,
        Some(ErrorCode::TwilioSendingFailure | ErrorCode::InvalidEmailAddress) => {
            SyncStatus::ProviderFailed
        }
        Some(ErrorCode::InternalServerError) | None => SyncStatus::Internal,
        Some(_) => SyncStatus::Refused,
    }
}

/// Sends the accepted `message` now, in a task of its own so a client hanging up cannot cut
/// the step short (the message is durable either way; a worker takes over if this process
/// dies). Its answer is stored for the idempotency key.
pub async fn deliver_inline(
    deps: &SendDeps<'_>,
    message: Message,
    lease: Lease,
    request_uuid: Uuid,
    keyed: Option<&KeyedRequest<'_>>,
) -> Result<InlineAnswer, Failure> {
    let claimed = ClaimedJob {
        message_uuid: message.uuid,
        lease,
        attempts: 0,
        doubt: None,
    };
    let deliverer = deps.deliverer.clone();
    let step = tokio::spawn(async move { deliverer.deliver(&claimed, Mode::Inline).await });
    let retry_after = match step.await.map_err(anyhow::Error::from).and_then(|r| r) {
        Ok(wait) => wait,
        Err(e) => {
            tracing::error!(
                error = format!("{e:#}"),
                "inline delivery failed; a worker will retry it"
            );
            None
        }
    };
    let after = deps.store.message(message.uuid).await?.unwrap_or(message);
    let report = MessageReport::of(&after, request_uuid);
    let status = sync_status(after.status, after.error.as_ref().map(|e| e.code));
    if let Some(keyed) = keyed {
        let stored = StoredResponse {
            status: status.http_status(),
            body: report.to_json(),
        };
        deps.store
            .complete_idempotency(keyed.credential, keyed.key, &stored)
            .await?;
    }
    Ok(InlineAnswer {
        status,
        report,
        retry_after,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn outcome(status: MessageStatus, code: Option<ErrorCode>) -> SyncStatus {
        sync_status(status, code)
    }

    #[test]
    fn each_outcome_has_its_status() {
        use ErrorCode as E;
        let failed = MessageStatus::Failed;
        assert_eq!(outcome(MessageStatus::Sent, None), SyncStatus::Sent);
        assert_eq!(outcome(MessageStatus::Delivered, None), SyncStatus::Sent);
        assert_eq!(
            outcome(failed, Some(E::RateLimitReached)),
            SyncStatus::RateLimited
        );
        assert_eq!(
            outcome(failed, Some(E::MessageSendLockNotObtained)),
            SyncStatus::Locked
        );
        assert_eq!(
            outcome(failed, Some(E::TwilioSendingFailure)),
            SyncStatus::ProviderFailed
        );
        assert_eq!(
            outcome(failed, Some(E::InvalidEmailAddress)),
            SyncStatus::ProviderFailed
        );
        assert_eq!(
            outcome(failed, Some(E::InternalServerError)),
            SyncStatus::Internal
        );
        assert_eq!(outcome(failed, None), SyncStatus::Internal);
        assert_eq!(
            outcome(failed, Some(E::BlacklistedEmailAddressOrDomain)),
            SyncStatus::Refused
        );
    }

    #[test]
    fn the_http_statuses_are_spec_4_3s() {
        let codes: Vec<u16> = [
            SyncStatus::Sent,
            SyncStatus::RateLimited,
            SyncStatus::Locked,
            SyncStatus::ProviderFailed,
            SyncStatus::Internal,
            SyncStatus::Refused,
        ]
        .map(SyncStatus::http_status)
        .into();
        assert_eq!(codes, [200, 429, 409, 502, 500, 422]);
    }
}
