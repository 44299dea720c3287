//! The delivery rules, as pure functions from the facts a step gathered (`facts.rs`) to what
//! the step does: what the provider is handed (`compose_outgoing`), whether the message goes
//! now (`plan`), which rate-limit windows it counts against (`rate_windows`), and what a
//! provider's answer makes of it (`receipt_outcome`, `give_up_error`). No I/O.

use std::time::Duration;

use time::OffsetDateTime;

use crate::domain::attachment::Attachment;
use crate::domain::codes::ErrorCode;
use crate::domain::compose::{compose, compose_html, email_from, email_subject};
use crate::domain::directory::{Dealer, Department, RateLimits, User};
use crate::domain::media_token;
use crate::domain::message::{Message, MessageError, MessageStatus, Protocol, Purpose, Recipient};
use crate::domain::policy::{Decision, DeliveryFacts, decide};
use crate::domain::quiet_hours::settings::ZoneName;
use crate::domain::quiet_hours::{Calendar, applies};
use crate::providers::{Outgoing, Receipt};
use crate::store::{MediaKey, MessageUpdate};

/// Everything the rules and the provider need, read fresh at send time.
pub(super) struct Facts {
    pub delivery: DeliveryFacts,
    pub department: Department,
    pub dealer: Dealer,
    /// The sending user; `None` for Herald's own messages (or a user since removed).
    pub user: Option<User>,
    /// The customer's own zone, when set: the recipient's clock (SPEC 5.5).
    pub customer_zone: Option<ZoneName>,
    /// A text's attachments, as its media URLs need them: the token secrets (SPEC 4.5).
    pub media: Vec<MediaKey>,
    /// An email's attachments, with their bytes.
    pub files: Vec<Attachment>,
}

/// What a step does with a message whose facts are gathered (and whose earlier hand-over, if
/// in doubt, was settled as not sent).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Plan {
    /// Ends the message `FAILED` with this error.
    Refuse(MessageError),
    /// Holds the message until the number opts in (SPEC 5.2 `queueIfOptedOut`).
    WaitForOptin,
    /// Holds the message until the recipient's quiet hours or the department's holiday end
    /// (SPEC 5.5): `SCHEDULED` until then.
    Hold { until: OffsetDateTime },
    /// Sends it, once these rate-limit windows have room (none: it counts against none).
    Send { rate_windows: Vec<(Duration, u32)> },
}

/// The rules in their order: a retried message too old to send gives up, then
/// [`decide`] (opt-out, blacklist, locks, sender), then quiet hours and holidays, then the
/// rate-limit windows.
pub(super) fn plan(
    message: &Message,
    facts: &Facts,
    attempts: u32,
    now: OffsetDateTime,
    max_age_seconds: u64,
) -> Plan {
    if too_old(message, attempts, now, max_age_seconds) {
        return Plan::Refuse(give_up_error(
            message,
            "not handed to the provider within delivery.max_age_seconds",
        ));
    }
    match decide(&facts.delivery) {
        Decision::Send => match held_until(message, facts, now) {
            Some(until) => Plan::Hold { until },
            None => Plan::Send {
                rate_windows: rate_windows(message, &facts.department.settings.rate_limits),
            },
        },
        Decision::Refuse { code, description } => Plan::Refuse(MessageError { code, description }),
        Decision::WaitForOptin => Plan::WaitForOptin,
    }
}

/// `delivery.max_age_seconds`: a message retried (never its first attempt) longer than that
/// after it was last due is not sent any more; time spent held does not count. Due: the later
/// of `created_at + delay` (an operator's retry moves the delay to its own time) and the last
/// time it was held until (`sendAt`, quiet hours, a holiday).
fn too_old(message: &Message, attempts: u32, now: OffsetDateTime, max_age_seconds: u64) -> bool {
    let delayed =
        message.created_at + time::Duration::seconds(message.options.delay_seconds as i64);
    let due = message.held_until.map_or(delayed, |held| held.max(delayed));
    attempts > 0 && (now - due).whole_seconds() > max_age_seconds as i64
}

/// When an automated text due at `now` may go instead (SPEC 5.5); `None`: now. The same rule
/// as a send's first attempt, so retries and messages released by an opt-in fall under it.
fn held_until(message: &Message, facts: &Facts, now: OffsetDateTime) -> Option<OffsetDateTime> {
    let Recipient::Phone(number) = &message.recipient else {
        return None;
    };
    let options = &message.options;
    if !applies(
        message.protocol,
        message.is_manual,
        options.send_synchronously,
        message.purpose,
    ) {
        return None;
    }
    Calendar::new(
        &facts.department.settings,
        facts.customer_zone.as_ref(),
        number,
        options.override_holidays,
    )
    .held_until(now)
}

/// The change holding `message` until `until` makes: `SCHEDULED`, with its `scheduledFor`.
pub(super) fn held_update(until: OffsetDateTime) -> MessageUpdate {
    MessageUpdate {
        status: Some(MessageStatus::Scheduled),
        held_until: Some(until),
        ..MessageUpdate::default()
    }
}

/// The sliding windows a message counts against (SPEC 5.4): a manual one the hourly manual
/// limit, an automated one the hourly and daily automated limits; Herald's own messages none.
pub(super) fn rate_windows(message: &Message, limits: &RateLimits) -> Vec<(Duration, u32)> {
    if message.purpose != Purpose::Customer {
        return Vec::new();
    }
    let hour = Duration::from_secs(3600);
    if message.is_manual {
        vec![(hour, limits.manual_per_hour)]
    } else {
        vec![
            (hour, limits.automated_per_hour),
            (hour * 24, limits.automated_per_day),
        ]
    }
}

/// What the provider is handed at `now`: the body (and an email's HTML part) composed for a
/// customer message with a user (signature, footers), the department's sender, the email
/// subject; a text's media URLs (the vCard, then each attachment with a token minted now), an
/// email's attachments.
pub(super) fn compose_outgoing(
    message: &Message,
    facts: &Facts,
    public_base_url: &str,
    now: OffsetDateTime,
) -> Outgoing {
    let settings = &facts.department.settings;
    let user = facts
        .user
        .as_ref()
        .filter(|_| message.purpose == Purpose::Customer);
    let body = match user {
        Some(user) => compose(
            message.protocol,
            &message.body,
            &message.options,
            user,
            settings,
        ),
        None => message.body.clone(),
    };
    let html_body = message
        .html_body
        .as_deref()
        .filter(|_| message.protocol == Protocol::Email)
        .map(|html| match user {
            Some(user) => compose_html(html, &message.options, user, settings),
            None => html.to_string(),
        });
    let (from, subject) = match message.protocol {
        Protocol::Text => (
            settings
                .text_sender_number
                .as_ref()
                .map(|n| n.to_string())
                .unwrap_or_default(),
            None,
        ),
        Protocol::Email => (
            settings
                .email_sender
                .as_ref()
                .map(|a| email_from(a.as_str(), settings.email_sender_name.as_deref()))
                .unwrap_or_default(),
            Some(email_subject(
                message.subject.as_deref(),
                settings,
                &facts.dealer,
            )),
        ),
    };
    let (mut media_urls, mut attachments) = (Vec::new(), Vec::new());
    match message.protocol {
        Protocol::Text => {
            if message.options.send_v_card {
                media_urls.push(format!(
                    "{public_base_url}/vcard/{}.vcf",
                    facts.department.uuid
                ));
            }
            media_urls.extend(
                facts
                    .media
                    .iter()
                    .map(|a| media_url(public_base_url, a, now)),
            );
        }
        Protocol::Email => attachments = facts.files.clone(),
    }
    // An email of attachments alone still has a text part: providers refuse an empty one.
    let body = if message.protocol == Protocol::Email
        && body.trim().is_empty()
        && html_body.is_none()
        && !attachments.is_empty()
    {
        let names: Vec<&str> = attachments
            .iter()
            .map(|a| a.info.file_name.as_str())
            .collect();
        format!("Attached: {}", names.join(", "))
    } else {
        body
    };
    Outgoing {
        message_uuid: message.uuid,
        protocol: message.protocol.as_str(),
        from,
        to: message.recipient.to_string(),
        cc: message.cc.iter().map(|a| a.to_string()).collect(),
        bcc: message.bcc.iter().map(|a| a.to_string()).collect(),
        subject,
        body,
        media_urls,
        html_body,
        attachments,
    }
}

/// `<public_base_url>/media/<attachmentUUID>/<fileName>?token=<token>` (SPEC 4.5), the name
/// percent-encoded as one path segment.
pub(super) fn media_url(public_base_url: &str, a: &MediaKey, now: OffsetDateTime) -> String {
    let info = &a.info;
    let name = percent_encoding::utf8_percent_encode(&info.file_name, PATH_SEGMENT);
    let token = media_token::mint(&a.secret, info.uuid, now);
    format!("{public_base_url}/media/{}/{name}?token={token}", info.uuid)
}

/// What a path segment must escape: everything but unreserved characters.
const PATH_SEGMENT: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// The change a step that leaves `message` queued makes: a `SCHEDULED` message whose held time
/// has come is `ACCEPTED` from then on, written with the step's own result (no write of its own).
pub(super) fn queued_update(message: &Message) -> MessageUpdate {
    MessageUpdate {
        status: (message.status == MessageStatus::Scheduled).then_some(MessageStatus::Accepted),
        ..MessageUpdate::default()
    }
}

/// The status and error a delivery report gives a message.
pub(super) fn receipt_outcome(
    message: &Message,
    receipt: Receipt,
) -> (MessageStatus, Option<MessageError>) {
    match receipt {
        Receipt::Delivered => (MessageStatus::Delivered, None),
        Receipt::Undelivered { code, detail } => (
            MessageStatus::Undelivered,
            Some(MessageError {
                code: code.unwrap_or_else(|| provider_failure_code(message.protocol)),
                description: detail,
            }),
        ),
    }
}

/// The seed's code for a provider that failed to take a message.
fn provider_failure_code(protocol: Protocol) -> ErrorCode {
    match protocol {
        Protocol::Text => ErrorCode::TwilioSendingFailure,
        Protocol::Email => ErrorCode::InternalServerError,
    }
}

/// The error a message fails with when Herald stops trying to hand it over.
pub(super) fn give_up_error(message: &Message, detail: &str) -> MessageError {
    MessageError {
        code: provider_failure_code(message.protocol),
        description: detail.to_string(),
    }
}

#[cfg(test)]
mod tests;
