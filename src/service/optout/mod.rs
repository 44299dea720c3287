//! Opt-out status (SPEC 3): read one number's or address's state, and record opt events; the
//! use cases behind `GET` and `POST .../optoutstatus`.
//!
//! TEXT: the opt state kept per (dealer, phone). EMAIL: Herald keeps no separate opt state for
//! addresses; an address is `OPTED_OUT` when any of the dealer's customers has it with
//! `okToEmail = false`, `OPTED_IN` when it is registered and allowed, `NOT_SET` when unknown,
//! and its events set `okToEmail`.
//!
//! [`read`] is here with the values' types; [`update`] (and the opt-in requests it may text)
//! in `update.rs`.

mod update;

use std::sync::Arc;

use time::OffsetDateTime;
use tokio::sync::Notify;
use uuid::Uuid;

pub use update::update;

use super::{Failure, Refusal, RefusalKind};
use crate::clock::Clock;
use crate::domain::codes::ErrorCode;
use crate::domain::directory::Department;
use crate::domain::optout::{OptEvent, OptState, OptStatus};
use crate::domain::{EmailAddress, PhoneNumber};
use crate::store::{EmailFlags, Store};

/// At most this many values in one update.
pub const MAX_VALUES: usize = 100;

/// What the opt-out use cases reach: the store, the clock, and the delivery workers' wake-up.
pub struct OptDeps<'a> {
    pub store: &'a Arc<dyn Store>,
    pub clock: &'a Clock,
    /// Wakes the delivery workers: messages waiting for an opt-in, or an opt-in request queued.
    pub delivery_wake: &'a Notify,
}

/// Which kind of value: a phone number (TEXT) or an email address (EMAIL).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Channel {
    Text,
    Email,
}

/// A value's state as it is answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusNow {
    pub state: OptState,
    pub can_send_optin_request: bool,
    /// When the state last changed (TEXT only).
    pub time_of_change: Option<OffsetDateTime>,
}

/// One value of an update, with its state after it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Updated {
    pub channel: Channel,
    /// The value as Herald keeps it: E.164, or the lower-cased address.
    pub value: String,
    pub status: StatusNow,
}

/// An update as the edge parsed it.
pub struct UpdateCall<'a> {
    /// The department the credential holds `optout.status.update` for.
    pub department: &'a Department,
    pub event: OptEvent,
    /// Each value, in the request's order.
    pub values: Vec<(Channel, &'a str)>,
    /// The request and the credential, kept in the history as the event's cause.
    pub request_id: Uuid,
    pub credential: &'a str,
}

/// A value an opt event can be about.
enum Target {
    Phone(PhoneNumber),
    Email(EmailAddress),
}

fn target(channel: Channel, value: &str, at: &str) -> Result<Target, (ErrorCode, String)> {
    let invalid =
        |e: &dyn std::fmt::Display| (ErrorCode::InvalidCommunicationValue, format!("{at}: {e}"));
    match channel {
        Channel::Text => PhoneNumber::parse(value)
            .map(Target::Phone)
            .map_err(|e| invalid(&e)),
        Channel::Email => EmailAddress::parse(value)
            .map(Target::Email)
            .map_err(|e| invalid(&e)),
    }
}

fn invalid_request(description: impl Into<String>) -> Refusal {
    Refusal::one(
        RefusalKind::BadRequest,
        ErrorCode::InvalidRequest,
        description,
    )
}

fn status_now(status: OptStatus, now: OffsetDateTime) -> StatusNow {
    StatusNow {
        state: status.state,
        can_send_optin_request: status.can_send_optin_request(now),
        time_of_change: status.time_of_change,
    }
}

/// An address's state from its registrations at one dealer (see the module's note).
pub fn email_opt_state(flags: &[EmailFlags]) -> OptState {
    if flags.is_empty() {
        OptState::NotSet
    } else if flags.iter().all(|f| f.ok_to_email) {
        OptState::OptedIn
    } else {
        OptState::OptedOut
    }
}

async fn email_status(
    deps: &OptDeps<'_>,
    department: &Department,
    email: &EmailAddress,
) -> Result<StatusNow, Failure> {
    let flags = deps
        .store
        .email_flags(department.dealer_uuid, email)
        .await?;
    Ok(StatusNow {
        state: email_opt_state(&flags),
        can_send_optin_request: false,
        time_of_change: None,
    })
}

/// One value's state at the department's dealer; a value that is not one is refused.
pub async fn read(
    deps: &OptDeps<'_>,
    department: &Department,
    channel: Channel,
    value: &str,
) -> Result<StatusNow, Failure> {
    let target = target(channel, value, "communicationValue").map_err(|problem| Refusal {
        kind: RefusalKind::BadRequest,
        errors: vec![problem],
    })?;
    match target {
        Target::Phone(phone) => {
            let now = deps.clock.now();
            let status = deps
                .store
                .opt_status(department.dealer_uuid, &phone)
                .await?;
            Ok(status_now(status, now))
        }
        Target::Email(email) => email_status(deps, department, &email).await,
    }
}
