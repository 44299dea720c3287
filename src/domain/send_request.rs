//! Parsing the send endpoint's body (SPEC 4.1, 4.2 step 2): every problem is found and
//! reported at once, each with the seed's code, or `INVALID_REQUEST` and the JSON path.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use super::codes::ErrorCode;
use super::message::{Direction, MAX_TEXT_CHARS, Protocol, SendOptions, SendRequest};

/// One thing wrong with a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub code: ErrorCode,
    pub description: String,
}

impl Problem {
    fn new(code: ErrorCode, description: impl Into<String>) -> Self {
        Self {
            code,
            description: description.into(),
        }
    }
}

/// Longest `delay` accepted: 30 days.
pub const MAX_DELAY_SECONDS: u64 = 30 * 86_400;
const MAX_CALLBACK_URL: usize = 2048;
const MAX_SUBJECT: usize = 998;
const MAX_CC: usize = 50;

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

/// An absolute `http` or `https` URL with a host.
pub fn is_callback_url(url: &str) -> bool {
    url.len() <= MAX_CALLBACK_URL
        && reqwest::Url::parse(url).is_ok_and(|u| {
            matches!(u.scheme(), "http" | "https") && u.host_str().is_some_and(|h| !h.is_empty())
        })
}

#[derive(Default)]
struct Problems(Vec<Problem>);

impl Problems {
    fn push(&mut self, code: ErrorCode, description: impl Into<String>) {
        self.0.push(Problem::new(code, description));
    }

    fn invalid(&mut self, description: impl Into<String>) {
        self.push(ErrorCode::InvalidRequest, description);
    }

    fn unknown_fields(&mut self, object: &Map<String, Value>, known: &[&str], path: &str) {
        for key in object.keys().filter(|k| !known.contains(&k.as_str())) {
            let at = if path.is_empty() {
                key.clone()
            } else {
                format!("{path}.{key}")
            };
            self.invalid(format!("{at}: unknown field"));
        }
    }

    fn enumeration<T>(
        &mut self,
        object: &Map<String, Value>,
        field: &str,
        missing: ErrorCode,
        parse: fn(&str) -> Option<T>,
        expected: &str,
    ) -> Option<T> {
        match object.get(field) {
            None | Some(Value::Null) => {
                self.push(missing, format!("messageAttributes.{field} is required"));
                None
            }
            Some(Value::String(s)) => {
                let parsed = parse(s);
                if parsed.is_none() {
                    self.invalid(format!(
                        "messageAttributes.{field}: unknown value {s:?}, expected {expected}"
                    ));
                }
                parsed
            }
            Some(_) => {
                self.invalid(format!(
                    "messageAttributes.{field}: expected a string, {expected}"
                ));
                None
            }
        }
    }

    fn string(&mut self, object: &Map<String, Value>, field: &str, path: &str) -> Option<String> {
        match object.get(field) {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => Some(s.clone()),
            Some(_) => {
                self.invalid(format!("{path}: expected a string"));
                None
            }
        }
    }

    fn boolean(&mut self, object: &Map<String, Value>, field: &str, path: &str) -> Option<bool> {
        match object.get(field) {
            None | Some(Value::Null) => None,
            Some(Value::Bool(b)) => Some(*b),
            Some(_) => {
                self.invalid(format!("{path}: expected a boolean"));
                None
            }
        }
    }

    fn string_list(&mut self, object: &Map<String, Value>, field: &str, path: &str) -> Vec<String> {
        match object.get(field) {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Array(items)) if items.len() <= MAX_CC => {
                let mut out = Vec::with_capacity(items.len());
                for (i, item) in items.iter().enumerate() {
                    match item {
                        Value::String(s) => out.push(s.clone()),
                        _ => self.invalid(format!("{path}[{i}]: expected a string")),
                    }
                }
                out
            }
            Some(Value::Array(_)) => {
                self.invalid(format!("{path}: at most {MAX_CC} addresses"));
                Vec::new()
            }
            Some(_) => {
                self.invalid(format!("{path}: expected a list of strings"));
                Vec::new()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn problems(body: Value) -> Vec<(ErrorCode, String)> {
        parse(body.to_string().as_bytes())
            .unwrap_err()
            .into_iter()
            .map(|p| (p.code, p.description))
            .collect()
    }

    fn codes_of(body: Value) -> Vec<ErrorCode> {
        problems(body).into_iter().map(|(c, _)| c).collect()
    }

    #[test]
    fn the_seed_example_parses_with_its_defaults() {
        let r = parse(
            json!({
                "messageAttributes": {"body": "Hi", "isManual": true, "protocol": "TEXT", "type": "OUTGOING"},
                "messageSendingAttributes": {"communicationValueOfCustomer": "1234567890",
                    "callbackURL": "https://your-domain.com/webhook/message-status",
                    "callbackMetaData": {"appointmentId": "12345"}, "addSignature": true}
            })
            .to_string()
            .as_bytes(),
        )
        .unwrap();
        assert_eq!(r.protocol, Protocol::Text);
        assert!(
            r.options.add_tcpa_footer && r.options.add_signature && !r.options.send_synchronously
        );
        assert_eq!(r.communication_value.as_deref(), Some("1234567890"));
        assert_eq!(r.callback_metadata["appointmentId"], json!("12345"));
    }

    #[test]
    fn every_missing_attribute_is_reported_together() {
        assert_eq!(
            codes_of(json!({"messageAttributes": {}})),
            vec![
                ErrorCode::MissingMessageType,
                ErrorCode::MissingMessageProtocol,
                ErrorCode::MissingIsManual,
                ErrorCode::MissingMessageBody
            ]
        );
        assert_eq!(
            codes_of(json!({})),
            vec![ErrorCode::MissingMessageAttributes]
        );
    }

    #[test]
    fn wrong_types_and_unknown_values_name_their_path() {
        let found = problems(json!({
            "messageAttributes": {"body": 5, "isManual": "yes", "protocol": "FAX", "type": "OUTGOING"},
            "messageSendingAttributes": {"sendSynchronously": "no", "callbackURL": "ftp://x", "delay": -1}
        }));
        let text: Vec<String> = found.iter().map(|(c, d)| format!("{c} {d}")).collect();
        for expected in [
            "INVALID_REQUEST messageAttributes.protocol: unknown value \"FAX\"",
            "INVALID_REQUEST messageAttributes.isManual",
            "INVALID_REQUEST messageAttributes.body",
            "INVALID_REQUEST messageSendingAttributes.sendSynchronously",
            "INVALID_CALLBACK_URL messageSendingAttributes.callbackURL",
            "INVALID_REQUEST messageSendingAttributes.delay",
        ] {
            assert!(
                text.iter().any(|t| t.starts_with(expected)),
                "{expected} not in {text:?}"
            );
        }
    }

    #[test]
    fn malformed_json_and_non_objects_are_invalid_requests() {
        assert_eq!(
            parse(b"{\"messageAttributes\":").unwrap_err()[0].code,
            ErrorCode::InvalidRequest
        );
        assert_eq!(parse(b"[]").unwrap_err()[0].code, ErrorCode::InvalidRequest);
        assert_eq!(parse(b"").unwrap_err()[0].code, ErrorCode::InvalidRequest);
    }

    #[test]
    fn a_long_text_is_refused_but_a_long_email_is_not() {
        let long = "x".repeat(MAX_TEXT_CHARS + 1);
        let text = json!({"messageAttributes": {"body": long, "isManual": true, "protocol": "TEXT", "type": "OUTGOING"}});
        assert_eq!(codes_of(text), vec![ErrorCode::MessageTooLong]);
        let email = json!({"messageAttributes": {"body": long, "isManual": true, "protocol": "EMAIL", "type": "OUTGOING"}});
        assert!(parse(email.to_string().as_bytes()).is_ok());
    }

    #[test]
    fn unknown_fields_are_named() {
        let found = problems(json!({
            "messageAttributes": {"body": "x", "isManual": true, "protocol": "TEXT", "type": "OUTGOING", "bdy": 1},
            "messageSendingAttributes": {"sendSynchronusly": true}
        }));
        assert_eq!(found.len(), 2);
        assert!(found[0].1.starts_with("messageAttributes.bdy"));
        assert!(
            found[1]
                .1
                .starts_with("messageSendingAttributes.sendSynchronusly")
        );
    }

    #[test]
    fn callback_urls_must_be_absolute_http() {
        assert!(is_callback_url(
            "https://your-domain.com/webhook/message-status"
        ));
        assert!(is_callback_url("http://127.0.0.1:9000/cb"));
        for bad in [
            "/relative",
            "your-domain.com/x",
            "ftp://x.com",
            "https://",
            "mailto:a@b.com",
        ] {
            assert!(!is_callback_url(bad), "{bad}");
        }
    }
}
