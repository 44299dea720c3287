//! From the wire types to a [`SendRequest`]: `messageAttributes`, then
//! `messageSendingAttributes`, then the checks that span both, collecting every problem before
//! answering.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::Value;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::attachments::attachments;
use super::fields::Problems;
use super::wire::{Body, Field, Section};
use super::{MAX_DELAY_SECONDS, MAX_SEND_AT_DAYS, MAX_SUBJECT, Problem, is_callback_url};
use crate::domain::codes::ErrorCode;
use crate::domain::message::{Direction, MAX_TEXT_CHARS, Protocol, SendOptions, SendRequest};

/// The request in `bytes`, received at `now` (`sendAt` is measured from it).
pub fn parse(bytes: &[u8], now: OffsetDateTime) -> Result<SendRequest, Vec<Problem>> {
    let value: Value = serde_json::from_slice(bytes).map_err(|e| {
        vec![Problem::new(
            ErrorCode::InvalidRequest,
            format!("malformed JSON: {e}"),
        )]
    })?;
    if !value.is_object() {
        return Err(vec![Problem::new(
            ErrorCode::InvalidRequest,
            "$: expected a JSON object",
        )]);
    }
    // Cannot fail on an object: every field of the wire types takes any value.
    let root = Body::deserialize(value)
        .map_err(|e| vec![Problem::new(ErrorCode::InvalidRequest, format!("$: {e}"))])?;
    let mut p = Problems::default();
    p.unknown_fields(&root.rest, "");

    let (mut direction, mut protocol, mut is_manual, mut body, mut subject) =
        (None, None, None, None, None);
    let (mut html_body, mut attachment_elements) = (None, Vec::new());
    match root.attributes {
        Section::Missing => p.push(
            ErrorCode::MissingMessageAttributes,
            "messageAttributes is required",
        ),
        Section::Misfit => p.invalid("messageAttributes: expected an object"),
        Section::Value(a) => {
            p.unknown_fields(&a.rest, "messageAttributes");
            direction = p.enumeration(
                a.kind,
                "type",
                ErrorCode::MissingMessageType,
                Direction::parse,
                "OUTGOING or INCOMING",
            );
            protocol = p.enumeration(
                a.protocol,
                "protocol",
                ErrorCode::MissingMessageProtocol,
                Protocol::parse,
                "TEXT or EMAIL",
            );
            is_manual = match a.is_manual {
                Field::Missing => {
                    p.push(
                        ErrorCode::MissingIsManual,
                        "messageAttributes.isManual is required",
                    );
                    None
                }
                Field::Value(b) => Some(b),
                Field::Misfit(_) => {
                    p.invalid("messageAttributes.isManual: expected a boolean");
                    None
                }
            };
            match a.attachments {
                Field::Missing => {}
                Field::Value(list) => attachment_elements = list,
                Field::Misfit(_) => p.invalid("messageAttributes.attachments: expected a list"),
            }
            // With at least one attachment the body may be empty or absent (SPEC 4.5).
            let has_attachments = !attachment_elements.is_empty();
            body = match a.body {
                Field::Missing if has_attachments => Some(String::new()),
                Field::Value(s) if has_attachments && s.trim().is_empty() => Some(String::new()),
                Field::Missing => {
                    p.push(
                        ErrorCode::MissingMessageBody,
                        "messageAttributes.body is required",
                    );
                    None
                }
                Field::Value(s) if s.trim().is_empty() => {
                    p.push(
                        ErrorCode::MissingMessageBody,
                        "messageAttributes.body is empty",
                    );
                    None
                }
                Field::Value(s) => Some(s),
                Field::Misfit(_) => {
                    p.invalid("messageAttributes.body: expected a string");
                    None
                }
            };
            subject = p.string(a.subject, "messageAttributes.subject");
            html_body = p
                .string(a.html_body, "messageAttributes.htmlBody")
                .filter(|h| !h.trim().is_empty());
        }
    }

    let mut options = SendOptions::default();
    let mut communication_value = None;
    let mut callback_url = None;
    let mut callback_metadata = BTreeMap::new();
    let (mut cc, mut bcc) = (Vec::new(), Vec::new());
    match root.sending {
        Section::Missing => {}
        Section::Misfit => p.invalid("messageSendingAttributes: expected an object"),
        Section::Value(s) => {
            const AT: &str = "messageSendingAttributes";
            p.unknown_fields(&s.rest, AT);
            communication_value = p
                .string(
                    s.communication_value,
                    &format!("{AT}.communicationValueOfCustomer"),
                )
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty());
            for (field, name, slot) in [
                (
                    s.send_synchronously,
                    "sendSynchronously",
                    &mut options.send_synchronously,
                ),
                (
                    s.add_tcpa_footer,
                    "addTCPAFooter",
                    &mut options.add_tcpa_footer,
                ),
                (s.add_signature, "addSignature", &mut options.add_signature),
                (s.add_footer, "addFooter", &mut options.add_footer),
                (s.send_v_card, "sendVCard", &mut options.send_v_card),
                (
                    s.queue_if_opted_out,
                    "queueIfOptedOut",
                    &mut options.queue_if_opted_out,
                ),
                (
                    s.override_optout_rules,
                    "overrideOptoutRules",
                    &mut options.override_optout_rules,
                ),
                (
                    s.override_holidays,
                    "overrideHolidays",
                    &mut options.override_holidays,
                ),
            ] {
                if let Some(b) = p.boolean(field, &format!("{AT}.{name}")) {
                    *slot = b;
                }
            }
            if let Some(url) = p.string(s.callback_url, &format!("{AT}.callbackURL")) {
                let url = url.trim().to_string();
                if !url.is_empty() {
                    if is_callback_url(&url) {
                        callback_url = Some(url);
                    } else {
                        p.push(
                            ErrorCode::InvalidCallbackUrl,
                            "messageSendingAttributes.callbackURL: not an absolute http(s) URL",
                        );
                    }
                }
            }
            match s.callback_metadata {
                Field::Missing => {}
                Field::Value(m) => callback_metadata = m,
                Field::Misfit(_) => {
                    p.invalid("messageSendingAttributes.callbackMetaData: expected an object")
                }
            }
            match s.delay {
                Field::Missing => {}
                Field::Value(d) if d <= MAX_DELAY_SECONDS => options.delay_seconds = d,
                Field::Value(_) | Field::Misfit(Value::Number(_)) => p.invalid(format!(
                    "messageSendingAttributes.delay: whole seconds from 0 to {MAX_DELAY_SECONDS}"
                )),
                Field::Misfit(_) => {
                    p.invalid("messageSendingAttributes.delay: expected a number of seconds")
                }
            }
            let delay_given = !matches!(s.delay, Field::Missing);
            if let Some(at) = send_at(&mut p, s.send_at, now) {
                if delay_given {
                    p.invalid(
                        "messageSendingAttributes.sendAt: give either delay or sendAt, not both",
                    );
                } else if options.send_synchronously {
                    p.invalid("messageSendingAttributes.sendAt: only an asynchronous message can be scheduled");
                } else {
                    // A time already past means now.
                    options.send_at = (at > now).then_some(at);
                }
            }
            cc = p.string_list(s.cc, &format!("{AT}.listOfEmailsToBeCCed"));
            bcc = p.string_list(s.bcc, &format!("{AT}.listOfEmailsToBeBCCed"));
            if subject.is_none() {
                subject = p.string(s.subject, &format!("{AT}.subject"));
            }
        }
    }

    if let Some(s) = &subject
        && (s.chars().count() > MAX_SUBJECT || s.contains(['\r', '\n']))
    {
        p.invalid(format!(
            "messageAttributes.subject: one line of at most {MAX_SUBJECT} characters"
        ));
    }
    if let (Some(Protocol::Text), Some(b)) = (protocol, &body) {
        let chars = b.chars().count();
        if chars > MAX_TEXT_CHARS {
            p.push(
                ErrorCode::MessageTooLong,
                format!("messageAttributes.body: {chars} characters; a TEXT may have at most {MAX_TEXT_CHARS}"),
            );
        }
    }

    if html_body.is_some() && protocol == Some(Protocol::Text) {
        p.invalid("messageAttributes.htmlBody: only an EMAIL has an HTML body");
    }
    let attachments = attachments(&mut p, attachment_elements, protocol, options.send_v_card);

    match (p.0.is_empty(), body, is_manual, protocol, direction) {
        (true, Some(body), Some(is_manual), Some(protocol), Some(direction)) => Ok(SendRequest {
            body,
            subject: subject
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty()),
            html_body,
            attachments,
            is_manual,
            protocol,
            direction,
            communication_value,
            callback_url,
            callback_metadata,
            cc,
            bcc,
            options,
        }),
        _ => Err(p.0),
    }
}

/// `sendAt`: an RFC 3339 time at most [`MAX_SEND_AT_DAYS`] after `now`.
fn send_at(p: &mut Problems, field: Field<String>, now: OffsetDateTime) -> Option<OffsetDateTime> {
    const AT: &str = "messageSendingAttributes.sendAt";
    let text = match field {
        Field::Missing => return None,
        Field::Value(text) => text,
        Field::Misfit(_) => {
            p.invalid(format!(
                "{AT}: expected an RFC 3339 time such as 2026-12-24T15:00:00Z"
            ));
            return None;
        }
    };
    let Ok(at) = OffsetDateTime::parse(text.trim(), &Rfc3339) else {
        p.invalid(format!(
            "{AT}: {text:?} is not an RFC 3339 time such as 2026-12-24T15:00:00Z"
        ));
        return None;
    };
    if at > now + time::Duration::days(MAX_SEND_AT_DAYS) {
        p.invalid(format!("{AT}: at most {MAX_SEND_AT_DAYS} days ahead"));
        return None;
    }
    Some(at)
}
