//! Accepting a checked request: the message, its job, the thread's owner and the idempotency
//! claim, written together by the store in one durable transaction (`accept_message`).

use sha2::{Digest, Sha256};
use time::OffsetDateTime;
use uuid::Uuid;

use super::super::{Failure, Refusal, RefusalKind};
use super::SendDeps;
use crate::domain::codes::ErrorCode;
use crate::domain::customer::Customer;
use crate::domain::directory::{Department, User};
use crate::domain::message::{Direction, Message, SendRequest};
use crate::domain::report::MessageReport;
use crate::store::{
    AcceptOutcome, IdempotencyClaim, IdempotencyRecord, Lease, NewJob, StoredResponse, ThreadOwner,
};

/// What the store is handed for one message besides the message itself.
pub struct Acceptance {
    /// The job of an outgoing message.
    pub job: Option<NewJob>,
    /// The lease an inline send holds on its job from the start.
    pub lease: Lease,
}

/// Whether the message was written, or its idempotency key had been used already.
pub enum Accepted {
    New(Acceptance),
    /// The first request's answer, to be replayed.
    Replay(StoredResponse),
}

/// An idempotency key, with the credential it came with and the bytes of its request.
pub struct KeyedRequest<'a> {
    pub key: &'a str,
    pub credential: &'a str,
    pub body: &'a [u8],
}

/// The parts of a checked request accepting needs.
pub struct Parts<'a> {
    pub department: &'a Department,
    pub user: &'a User,
    pub customer: &'a Customer,
    pub request: &'a SendRequest,
    pub inline: bool,
    pub now: OffsetDateTime,
}

/// Writes `message`, its job (an outgoing one), its thread's owner and the idempotency claim.
/// An asynchronous send's answer is stored with the claim; an inline one's once it is sent.
pub async fn accept(
    deps: &SendDeps<'_>,
    message: &Message,
    parts: &Parts<'_>,
    keyed: Option<&KeyedRequest<'_>>,
    accepted_report: &MessageReport,
) -> Result<Accepted, Failure> {
    let Parts {
        department,
        user,
        customer,
        request,
        inline,
        now,
    } = *parts;
    let outgoing = request.direction == Direction::Outgoing;
    let lease = Lease {
        id: Uuid::new_v4(),
        expires_at: now + deps.settings.delivery.lease(),
    };
    let job = outgoing.then(|| NewJob {
        due_at: if inline {
            now
        } else {
            message.held_until.unwrap_or(now)
        },
        lease: inline.then_some(lease),
    });
    let thread = ThreadOwner {
        department_uuid: department.uuid,
        customer_uuid: customer.uuid,
        user_uuid: user.uuid,
        delegate: outgoing && !user.is_default,
    };
    let claim = keyed.map(|k| IdempotencyClaim {
        credential: k.credential.to_string(),
        key: k.key.to_string(),
        request_hash: request_hash(department, user, customer, k.body),
        response: (!inline).then(|| StoredResponse {
            status: 200,
            body: accepted_report.to_json(),
        }),
    });
    match deps
        .store
        .accept_with_attachments(
            message,
            &request.attachments,
            job,
            claim.as_ref(),
            Some(thread),
        )
        .await?
    {
        AcceptOutcome::Existing(first) => {
            let claim = claim.expect("only a claimed key can exist already");
            Ok(Accepted::Replay(replay(first, &claim.request_hash)?))
        }
        AcceptOutcome::Accepted => Ok(Accepted::New(Acceptance { job, lease })),
    }
}

/// What makes two requests "the same" for an idempotency key: the path and the exact body.
fn request_hash(department: &Department, user: &User, customer: &Customer, body: &[u8]) -> String {
    let mut hash = Sha256::new();
    hash.update(format!("{}/{}/{}\n", department.uuid, user.uuid, customer.uuid).as_bytes());
    hash.update(body);
    hash.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

/// A key used before: the first answer for the same request, refused for another one or
/// while the first is still being sent.
fn replay(first: IdempotencyRecord, hash: &str) -> Result<StoredResponse, Refusal> {
    if first.request_hash != hash {
        return Err(Refusal::one(
            RefusalKind::Unprocessable,
            ErrorCode::IdempotencyKeyReused,
            "this Idempotency-Key was used with another request in the last 24 hours",
        ));
    }
    first.response.ok_or_else(|| {
        Refusal::one(
            RefusalKind::Conflict,
            ErrorCode::MessageSendLockNotObtained,
            format!(
                "message {} with this Idempotency-Key is still being sent",
                first.message_uuid
            ),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(hash: &str, response: Option<StoredResponse>) -> IdempotencyRecord {
        IdempotencyRecord {
            request_hash: hash.into(),
            message_uuid: Uuid::nil(),
            response,
        }
    }

    #[test]
    fn the_same_request_replays_its_first_answer() {
        let stored = StoredResponse {
            status: 200,
            body: "{}".into(),
        };
        assert_eq!(replay(record("h", Some(stored.clone())), "h"), Ok(stored));
    }

    #[test]
    fn another_request_is_refused() {
        let refusal = replay(record("h", None), "other").unwrap_err();
        assert_eq!(refusal.kind, RefusalKind::Unprocessable);
        assert_eq!(refusal.errors[0].0, ErrorCode::IdempotencyKeyReused);
    }

    #[test]
    fn a_first_request_still_sending_is_a_conflict() {
        let refusal = replay(record("h", None), "h").unwrap_err();
        assert_eq!(refusal.kind, RefusalKind::Conflict);
        assert_eq!(refusal.errors[0].0, ErrorCode::MessageSendLockNotObtained);
    }
}
