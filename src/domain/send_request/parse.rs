//! The walk over the send body: `messageAttributes`, then `messageSendingAttributes`, then the
//! checks that span both, collecting every problem before answering.

use std::collections::BTreeMap;

use serde_json::Value;

use super::fields::Problems;
use super::{MAX_DELAY_SECONDS, MAX_SUBJECT, Problem, is_callback_url};
use crate::domain::codes::ErrorCode;
use crate::domain::message::{Direction, MAX_TEXT_CHARS, Protocol, SendOptions, SendRequest};

const ATTRIBUTE_FIELDS: [&str; 5] = ["body", "isManual", "protocol", "type", "subject"];
const SENDING_FIELDS: [&str; 14] = [
    "communicationValueOfCustomer",
    "sendSynchronously",
    "callbackURL",
    "callbackMetaData",
    "addTCPAFooter",
    "addSignature",
    "addFooter",
    "sendVCard",
    "queueIfOptedOut",
    "overrideOptoutRules",
    "delay",
    "listOfEmailsToBeCCed",
    "listOfEmailsToBeBCCed",
    "subject",
];

pub fn parse(bytes: &[u8]) -> Result<SendRequest, Vec<Problem>> {
    let value: Value = serde_json::from_slice(bytes).map_err(|e| {
        vec![Problem::new(
            ErrorCode::InvalidRequest,
            format!("malformed JSON: {e}"),
        )]
    })?;
    let Value::Object(root) = value else {
        return Err(vec![Problem::new(
            ErrorCode::InvalidRequest,
            "$: expected a JSON object",
        )]);
    };
    let mut p = Problems::default();
    p.unknown_fields(
        &root,
        &["messageAttributes", "messageSendingAttributes"],
        "",
    );

    let attrs = match root.get("messageAttributes") {
        None | Some(Value::Null) => {
            p.push(
                ErrorCode::MissingMessageAttributes,
                "messageAttributes is required",
            );
            None
        }
        Some(Value::Object(m)) => Some(m),
        Some(_) => {
            p.invalid("messageAttributes: expected an object");
            None
        }
    };
    let (mut direction, mut protocol, mut is_manual, mut body, mut subject) =
        (None, None, None, None, None);
    if let Some(a) = attrs {
        p.unknown_fields(a, &ATTRIBUTE_FIELDS, "messageAttributes");
        direction = p.enumeration(
            a,
            "type",
            ErrorCode::MissingMessageType,
            Direction::parse,
            "OUTGOING or INCOMING",
        );
        protocol = p.enumeration(
            a,
            "protocol",
            ErrorCode::MissingMessageProtocol,
            Protocol::parse,
            "TEXT or EMAIL",
        );
        is_manual = match a.get("isManual") {
            None | Some(Value::Null) => {
                p.push(
                    ErrorCode::MissingIsManual,
                    "messageAttributes.isManual is required",
                );
                None
            }
            Some(Value::Bool(b)) => Some(*b),
            Some(_) => {
                p.invalid("messageAttributes.isManual: expected a boolean");
                None
            }
        };
        body = match a.get("body") {
            None | Some(Value::Null) => {
                p.push(
                    ErrorCode::MissingMessageBody,
                    "messageAttributes.body is required",
                );
                None
            }
            Some(Value::String(s)) if s.trim().is_empty() => {
                p.push(
                    ErrorCode::MissingMessageBody,
                    "messageAttributes.body is empty",
                );
                None
            }
            Some(Value::String(s)) => Some(s.clone()),
            Some(_) => {
                p.invalid("messageAttributes.body: expected a string");
                None
            }
        };
        subject = p.string(a, "subject", "messageAttributes.subject");
    }

    let mut options = SendOptions::default();
    let mut communication_value = None;
    let mut callback_url = None;
    let mut callback_metadata = BTreeMap::new();
    let (mut cc, mut bcc) = (Vec::new(), Vec::new());
    match root.get("messageSendingAttributes") {
        None | Some(Value::Null) => {}
        Some(Value::Object(s)) => {
            let at = |f: &str| format!("messageSendingAttributes.{f}");
            p.unknown_fields(s, &SENDING_FIELDS, "messageSendingAttributes");
            communication_value = p
                .string(
                    s,
                    "communicationValueOfCustomer",
                    &at("communicationValueOfCustomer"),
                )
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty());
            for (field, slot) in [
                ("sendSynchronously", &mut options.send_synchronously),
                ("addTCPAFooter", &mut options.add_tcpa_footer),
                ("addSignature", &mut options.add_signature),
                ("addFooter", &mut options.add_footer),
                ("sendVCard", &mut options.send_v_card),
                ("queueIfOptedOut", &mut options.queue_if_opted_out),
                ("overrideOptoutRules", &mut options.override_optout_rules),
            ] {
                if let Some(b) = p.boolean(s, field, &at(field)) {
                    *slot = b;
                }
            }
            if let Some(url) = p.string(s, "callbackURL", &at("callbackURL")) {
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
            match s.get("callbackMetaData") {
                None | Some(Value::Null) => {}
                Some(Value::Object(m)) => {
                    callback_metadata = m.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
                }
                Some(_) => {
                    p.invalid("messageSendingAttributes.callbackMetaData: expected an object")
                }
            }
            match s.get("delay") {
                None | Some(Value::Null) => {}
                Some(Value::Number(n)) => match n.as_u64() {
                    Some(d) if d <= MAX_DELAY_SECONDS => options.delay_seconds = d,
                    _ => p.invalid(format!(
                        "messageSendingAttributes.delay: whole seconds from 0 to {MAX_DELAY_SECONDS}"
                    )),
                },
                Some(_) => p.invalid("messageSendingAttributes.delay: expected a number of seconds"),
            }
            cc = p.string_list(s, "listOfEmailsToBeCCed", &at("listOfEmailsToBeCCed"));
            bcc = p.string_list(s, "listOfEmailsToBeBCCed", &at("listOfEmailsToBeBCCed"));
            if subject.is_none() {
                subject = p.string(s, "subject", &at("subject"));
            }
        }
        Some(_) => p.invalid("messageSendingAttributes: expected an object"),
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

    match (p.0.is_empty(), body, is_manual, protocol, direction) {
        (true, Some(body), Some(is_manual), Some(protocol), Some(direction)) => Ok(SendRequest {
            body,
            subject: subject
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty()),
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
