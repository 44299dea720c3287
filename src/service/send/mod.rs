//! Sending a message (SPEC 4.2): the use case behind
//! `POST /communications/department/{d}/user/{u}/customer/{c}/message`. The edge has checked
//! the credential's grant and parsed the request; [`send`] runs the remaining checks in
//! SPEC 4.2's order (`checks.rs`, CC/BCC in `copies.rs`), makes the message and its job durable together before any
//! answer (`accept.rs`), then wakes the workers (async) or delivers it inline (`inline.rs`).

mod accept;
mod checks;
mod copies;
mod inline;
mod schedule;

use std::sync::Arc;
use std::time::Instant;

use tokio::sync::Notify;
use uuid::Uuid;

use super::Failure;
use crate::clock::Clock;
use crate::config::Settings;
use crate::delivery::Deliverer;
use crate::domain::directory::Department;
use crate::domain::message::{Direction, Message, SendRequest};
use crate::domain::new_message::Checked;
use crate::domain::report::MessageReport;
use crate::observability;
use crate::store::{Store, StoredResponse};

pub use accept::KeyedRequest;
pub use inline::{InlineAnswer, SyncStatus, sync_status};

/// What sending reaches: the store, the settings, the clock, and the delivery side.
pub struct SendDeps<'a> {
    pub store: &'a Arc<dyn Store>,
    pub settings: &'a Settings,
    pub clock: &'a Clock,
    /// Delivers a synchronous message inline.
    pub deliverer: &'a Deliverer,
    /// Wakes the delivery workers when a message is queued.
    pub delivery_wake: &'a Notify,
}

/// A send request as the edge checked and parsed it.
pub struct SendCall<'a> {
    /// The department the credential holds `message.create` for.
    pub department: Department,
    /// The username of the credential.
    pub credential: &'a str,
    /// Whether the credential holds `message.override_optout` for the department.
    pub override_granted: bool,
    /// The `requestUUID` the request is answered with.
    pub request_uuid: Uuid,
    /// The user and customer the path names (`None`: not a UUID).
    pub user: Option<Uuid>,
    pub customer: Option<Uuid>,
    pub request: SendRequest,
    /// The `Idempotency-Key`, if any, and the body's exact bytes it is bound to.
    pub idempotency_key: Option<&'a str>,
    pub body: &'a [u8],
    /// When the request arrived, for `herald_accept_seconds`.
    pub started: Instant,
}

/// What a send request is answered with.
pub enum Sent {
    /// Accepted for a worker (or recorded, when incoming): answered `200` with the report.
    Accepted(MessageReport),
    /// Delivered inline: answered with its outcome.
    Inline(InlineAnswer),
    /// The idempotency key's first answer, replayed as it was stored.
    Replayed(StoredResponse),
}

/// SPEC 4.2 from step 3 on, in order; then accept, then wake or deliver.
pub async fn send(deps: &SendDeps<'_>, call: SendCall<'_>) -> Result<Sent, Failure> {
    let store = &**deps.store;
    let SendCall {
        department,
        request,
        ..
    } = &call;
    // 3. The user and the customer the path names.
    let (user, customer) =
        checks::user_and_customer(store, department, call.user, call.customer).await?;
    // 2. MESSAGE_TOO_LONG once composed (it needs the user).
    checks::composed_length(request, &user, &department.settings)?;
    let now = deps.clock.now();
    // 4. Authority for the protocol; 5. a lock held by someone else.
    checks::authority(request, &user)?;
    checks::lock(store, request, &user, &customer, now).await?;
    // 6. The recipient must be the customer's.
    let recipient = checks::recipient(
        request.protocol,
        request.communication_value.as_deref(),
        &customer,
    )?;
    // Options that cannot apply, and the CC/BCC lists screened: warnings, not refusals.
    let mut warnings = checks::override_warnings(request, call.override_granted);
    let (cc, bcc) = copies::screen_copies(
        store,
        &deps.settings.blacklist,
        department,
        request,
        &recipient,
        &mut warnings,
    )
    .await?;

    // When its first attempt is due: `delay`, `sendAt`, then quiet hours and holidays.
    let held_until = schedule::held_until(request, department, &customer, &recipient, now);
    let message = Message::requested(
        Checked {
            credential: call.credential,
            department,
            user: &user,
            customer: &customer,
            request,
            recipient,
            cc,
            bcc,
            warnings,
            override_granted: call.override_granted,
            request_uuid: call.request_uuid,
            held_until,
        },
        now,
    );
    let inline = request.direction == Direction::Outgoing && request.options.send_synchronously;
    let accepted_report = MessageReport::of(&message, call.request_uuid);
    let keyed = call.idempotency_key.map(|key| KeyedRequest {
        key,
        credential: call.credential,
        body: call.body,
    });
    let parts = accept::Parts {
        department,
        user: &user,
        customer: &customer,
        request,
        inline,
        now,
    };
    let acceptance =
        match accept::accept(deps, &message, &parts, keyed.as_ref(), &accepted_report).await? {
            accept::Accepted::New(acceptance) => acceptance,
            accept::Accepted::Replay(first) => return Ok(Sent::Replayed(first)),
        };
    metrics::counter!(observability::MESSAGES_ACCEPTED,
        "protocol" => request.protocol.as_str(), "mode" => if inline { "sync" } else { "async" })
    .increment(1);

    if !inline {
        if acceptance.job.is_some() {
            deps.delivery_wake.notify_one();
        }
        metrics::histogram!(observability::ACCEPT_SECONDS, "mode" => "async")
            .record(call.started.elapsed().as_secs_f64());
        return Ok(Sent::Accepted(accepted_report));
    }
    let answer = inline::deliver_inline(
        deps,
        message,
        acceptance.lease,
        call.request_uuid,
        keyed.as_ref(),
    )
    .await?;
    metrics::histogram!(observability::ACCEPT_SECONDS, "mode" => "sync")
        .record(call.started.elapsed().as_secs_f64());
    Ok(Sent::Inline(answer))
}
