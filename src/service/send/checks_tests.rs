//! The checks that read no store.

use std::collections::BTreeMap;

use uuid::Uuid;

use super::*;
use crate::domain::customer::{CustomerEmail, CustomerPhone};
use crate::domain::message::SendOptions;

fn user(can_text: bool, can_email: bool) -> User {
    User {
        uuid: Uuid::new_v4(),
        department_uuid: Uuid::new_v4(),
        first_name: "Sarah".into(),
        last_name: "Johnson".into(),
        email: None,
        can_text,
        can_email,
        is_default: false,
    }
}

fn request(protocol: Protocol, direction: Direction, body: &str) -> SendRequest {
    SendRequest {
        body: body.into(),
        subject: None,
        html_body: None,
        attachments: Vec::new(),
        is_manual: true,
        protocol,
        direction,
        communication_value: None,
        callback_url: None,
        callback_metadata: BTreeMap::new(),
        cc: Vec::new(),
        bcc: Vec::new(),
        options: SendOptions::default(),
    }
}

fn customer() -> Customer {
    let phone = |n: &str, preferred: bool| CustomerPhone {
        phone_number: PhoneNumber::parse(n).unwrap(),
        label: Default::default(),
        ok_to_text: true,
        is_preferred: preferred,
    };
    Customer {
        uuid: Uuid::new_v4(),
        dealer_uuid: Uuid::new_v4(),
        first_name: None,
        last_name: None,
        company: None,
        customer_key: None,
        time_zone: None,
        phone_numbers: vec![phone("+15555550100", false), phone("+15555550101", true)],
        emails: vec![CustomerEmail {
            email_address: EmailAddress::parse("john@example.com").unwrap(),
            label: Default::default(),
            ok_to_email: true,
            do_not_cc: false,
            is_preferred: false,
        }],
    }
}

fn codes(refusal: Refusal) -> (RefusalKind, Vec<ErrorCode>) {
    let codes = refusal.errors.into_iter().map(|(code, _)| code).collect();
    (refusal.kind, codes)
}

#[test]
fn the_composed_text_counts_the_signature() {
    let settings = DepartmentSettings::default();
    let sarah = user(true, true);
    let mut text = request(
        Protocol::Text,
        Direction::Outgoing,
        &"a".repeat(MAX_TEXT_CHARS),
    );
    text.options.add_tcpa_footer = false;
    assert_eq!(composed_length(&text, &sarah, &settings), Ok(()));
    text.options.add_signature = true;
    let refusal = composed_length(&text, &sarah, &settings).unwrap_err();
    assert_eq!(
        codes(refusal),
        (RefusalKind::BadRequest, vec![ErrorCode::MessageTooLong])
    );
}

#[test]
fn only_an_outgoing_text_is_measured_composed() {
    let settings = DepartmentSettings::default();
    let sarah = user(true, true);
    let long = "a".repeat(MAX_TEXT_CHARS + 1);
    let email = request(Protocol::Email, Direction::Outgoing, &long);
    assert_eq!(composed_length(&email, &sarah, &settings), Ok(()));
    let incoming = request(Protocol::Text, Direction::Incoming, &long);
    assert_eq!(composed_length(&incoming, &sarah, &settings), Ok(()));
}

#[test]
fn authority_is_per_protocol_and_outgoing_only() {
    let texter = user(true, false);
    let text = request(Protocol::Text, Direction::Outgoing, "hi");
    let email = request(Protocol::Email, Direction::Outgoing, "hi");
    assert_eq!(authority(&text, &texter), Ok(()));
    assert_eq!(
        codes(authority(&email, &texter).unwrap_err()),
        (
            RefusalKind::Forbidden,
            vec![ErrorCode::UserDoesNotHaveAuthority]
        )
    );
    let incoming = request(Protocol::Email, Direction::Incoming, "hi");
    assert_eq!(authority(&incoming, &texter), Ok(()));
}

#[test]
fn the_recipient_is_the_preferred_value_then_the_first() {
    let mut customer = customer();
    assert_eq!(
        recipient(Protocol::Text, None, &customer).unwrap().as_str(),
        "+15555550101"
    );
    assert_eq!(
        recipient(Protocol::Email, None, &customer)
            .unwrap()
            .as_str(),
        "john@example.com"
    );
    customer.phone_numbers[1].is_preferred = false;
    assert_eq!(
        recipient(Protocol::Text, None, &customer).unwrap().as_str(),
        "+15555550100"
    );
}

#[test]
fn a_given_value_must_be_the_customers() {
    let customer = customer();
    let any_spelling = recipient(Protocol::Text, Some("(555) 555-0100"), &customer);
    assert_eq!(any_spelling.unwrap().as_str(), "+15555550100");
    for (protocol, value) in [
        (Protocol::Text, "+15555550199"),
        (Protocol::Text, "not a number"),
        (Protocol::Email, "jane@example.com"),
    ] {
        let refusal = recipient(protocol, Some(value), &customer).unwrap_err();
        assert_eq!(
            codes(refusal),
            (
                RefusalKind::BadRequest,
                vec![ErrorCode::InvalidCommunicationValue]
            )
        );
    }
}

#[test]
fn a_customer_without_a_value_has_no_recipient() {
    let mut customer = customer();
    customer.phone_numbers.clear();
    assert!(recipient(Protocol::Text, None, &customer).is_err());
}

#[test]
fn options_that_cannot_apply_are_warned_of() {
    let mut text = request(Protocol::Text, Direction::Outgoing, "hi");
    text.options.override_optout_rules = true;
    assert!(override_warnings(&text, true).is_empty());
    let warned: Vec<_> = override_warnings(&text, false)
        .into_iter()
        .map(|w| w.code)
        .collect();
    assert_eq!(warned, [WarningCode::CantOverrideOptout]);

    let mut email = request(Protocol::Email, Direction::Outgoing, "hi");
    email.options.override_optout_rules = true;
    email.options.queue_if_opted_out = true;
    let warned: Vec<_> = override_warnings(&email, false)
        .into_iter()
        .map(|w| w.code)
        .collect();
    assert_eq!(warned, [WarningCode::CantQueueMessageIfOptedOut]);
}
