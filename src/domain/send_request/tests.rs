use serde_json::{Value, json};

use super::*;
use crate::domain::message::{MAX_TEXT_CHARS, Protocol, SendRequest};

/// The time every request of these tests is received.
const NOW: time::OffsetDateTime = time::macros::datetime!(2026-12-07 15:00 UTC);

fn parse(bytes: &[u8]) -> Result<SendRequest, Vec<Problem>> {
    super::parse(bytes, NOW)
}

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
    assert!(r.options.add_tcpa_footer && r.options.add_signature && !r.options.send_synchronously);
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

#[test]
fn a_misfit_in_every_field_is_reported_with_the_others() {
    let found = problems(json!({
        "messageAttributes": {"body": [], "isManual": 1, "protocol": true, "type": 2, "subject": {}},
        "messageSendingAttributes": {"communicationValueOfCustomer": 1, "sendSynchronously": "x",
            "callbackURL": false, "callbackMetaData": [], "addTCPAFooter": 0, "addSignature": "",
            "addFooter": [], "sendVCard": {}, "queueIfOptedOut": 1.5, "overrideOptoutRules": "t",
            "delay": "10", "listOfEmailsToBeCCed": "a@b.com", "listOfEmailsToBeBCCed": [1, "c@d.com", null],
            "subject": 3}
    }));
    let sending = |f: &str, what: &str| format!("messageSendingAttributes.{f}: expected {what}");
    let mut expected = vec![
        "messageAttributes.type: expected a string, OUTGOING or INCOMING".to_string(),
        "messageAttributes.protocol: expected a string, TEXT or EMAIL".to_string(),
        "messageAttributes.isManual: expected a boolean".to_string(),
        "messageAttributes.body: expected a string".to_string(),
        "messageAttributes.subject: expected a string".to_string(),
        sending("communicationValueOfCustomer", "a string"),
    ];
    for f in [
        "sendSynchronously",
        "addTCPAFooter",
        "addSignature",
        "addFooter",
        "sendVCard",
        "queueIfOptedOut",
        "overrideOptoutRules",
    ] {
        expected.push(sending(f, "a boolean"));
    }
    expected.extend([
        sending("callbackURL", "a string"),
        sending("callbackMetaData", "an object"),
        sending("delay", "a number of seconds"),
        sending("listOfEmailsToBeCCed", "a list of strings"),
        sending("listOfEmailsToBeBCCed[0]", "a string"),
        sending("listOfEmailsToBeBCCed[2]", "a string"),
        sending("subject", "a string"),
    ]);
    assert!(found.iter().all(|(c, _)| *c == ErrorCode::InvalidRequest));
    let described: Vec<String> = found.into_iter().map(|(_, d)| d).collect();
    assert_eq!(described, expected);
}

#[test]
fn null_is_treated_as_absent() {
    let r = parse(
        json!({
            "messageAttributes": {"body": "Hi", "isManual": false, "protocol": "EMAIL", "type": "OUTGOING",
                "subject": null},
            "messageSendingAttributes": {"communicationValueOfCustomer": null, "sendSynchronously": null,
                "callbackURL": null, "callbackMetaData": null, "addTCPAFooter": null, "delay": null,
                "listOfEmailsToBeCCed": null, "listOfEmailsToBeBCCed": null, "subject": "From sending"}
        })
        .to_string()
        .as_bytes(),
    )
    .unwrap();
    assert_eq!(r.subject.as_deref(), Some("From sending"));
    assert!(r.communication_value.is_none() && r.callback_url.is_none());
    assert!(r.callback_metadata.is_empty() && r.cc.is_empty() && r.bcc.is_empty());
    assert!(r.options.add_tcpa_footer && !r.options.send_synchronously);
    assert_eq!(r.options.delay_seconds, 0);
    assert_eq!(
        problems(
            json!({"messageAttributes": {"body": null, "isManual": null, "protocol": null, "type": null},
            "messageSendingAttributes": null})
        ),
        problems(json!({"messageAttributes": {}}))
    );
    assert_eq!(
        codes_of(json!({"messageAttributes": null})),
        vec![ErrorCode::MissingMessageAttributes]
    );
}

#[test]
fn a_delay_is_whole_seconds_within_the_limit() {
    let with_delay = |delay: Value| {
        json!({"messageAttributes": {"body": "Hi", "isManual": true, "protocol": "TEXT", "type": "OUTGOING"},
            "messageSendingAttributes": {"delay": delay}})
    };
    let ok = parse(with_delay(json!(MAX_DELAY_SECONDS)).to_string().as_bytes()).unwrap();
    assert_eq!(ok.options.delay_seconds, MAX_DELAY_SECONDS);
    let whole =
        format!("messageSendingAttributes.delay: whole seconds from 0 to {MAX_DELAY_SECONDS}");
    for bad in [
        json!(1.5),
        json!(-1),
        json!(MAX_DELAY_SECONDS + 1),
        json!(1.0),
    ] {
        assert_eq!(
            problems(with_delay(bad)),
            vec![(ErrorCode::InvalidRequest, whole.clone())]
        );
    }
}

#[test]
fn send_at_is_an_rfc_3339_time_at_most_35_days_ahead() {
    let with = |sending: Value| {
        json!({"messageAttributes": {"body": "Hi", "isManual": false, "protocol": "TEXT", "type": "OUTGOING"},
            "messageSendingAttributes": sending})
    };
    let ten_days = parse(
        with(json!({"sendAt": "2026-12-17T15:00:00Z", "overrideHolidays": true}))
            .to_string()
            .as_bytes(),
    )
    .unwrap();
    assert_eq!(
        ten_days.options.send_at,
        Some(time::macros::datetime!(2026-12-17 15:00 UTC))
    );
    assert!(ten_days.options.override_holidays);
    let offset = parse(
        with(json!({"sendAt": "2026-12-17T10:00:00-05:00"}))
            .to_string()
            .as_bytes(),
    )
    .unwrap();
    assert_eq!(
        offset.options.send_at,
        Some(time::macros::datetime!(2026-12-17 15:00 UTC))
    );
    let past = parse(
        with(json!({"sendAt": "2026-12-01T00:00:00Z"}))
            .to_string()
            .as_bytes(),
    )
    .unwrap();
    assert_eq!(past.options.send_at, None, "a time already past means now");
    let edge = parse(
        with(json!({"sendAt": "2027-01-11T15:00:00Z"}))
            .to_string()
            .as_bytes(),
    )
    .unwrap();
    assert!(
        edge.options.send_at.is_some(),
        "35 days exactly is accepted"
    );
    for (sending, says) in [
        (
            json!({"sendAt": "2027-01-16T15:00:00Z"}),
            "at most 35 days ahead",
        ),
        (json!({"sendAt": "tomorrow"}), "is not an RFC 3339 time"),
        (json!({"sendAt": 1765000000}), "expected an RFC 3339 time"),
        (
            json!({"sendAt": "2026-12-17T15:00:00Z", "delay": 60}),
            "either delay or sendAt",
        ),
        (
            json!({"sendAt": "2026-12-17T15:00:00Z", "sendSynchronously": true}),
            "only an asynchronous message",
        ),
        (json!({"overrideHolidays": "yes"}), "overrideHolidays"),
    ] {
        let found = problems(with(sending.clone()));
        assert_eq!(found.len(), 1, "{sending}: {found:?}");
        assert_eq!(found[0].0, ErrorCode::InvalidRequest);
        assert!(found[0].1.contains(says), "{sending}: {found:?}");
    }
}
