//! Each delivery rule of `plan.rs` on its own, from hand-made facts.

use time::macros::datetime;
use uuid::Uuid;

use super::*;
use crate::domain::codes::ErrorCode;
use crate::domain::directory::DepartmentSettings;
use crate::domain::message::Recipient;
use crate::domain::optout::OptState;
use crate::domain::{EmailAddress, PhoneNumber};

const HOUR: Duration = Duration::from_secs(3600);
const MAX_AGE: u64 = 14_400;

/// A Monday, 10:00 in New York (the department's zone): inside the calling window.
fn created() -> OffsetDateTime {
    datetime!(2026-01-05 15:00 UTC)
}

fn department() -> Department {
    let settings = DepartmentSettings {
        text_sender_number: Some(PhoneNumber::parse("+15550001111").unwrap()),
        email_sender: Some(EmailAddress::parse("service@acme.example").unwrap()),
        rate_limits: RateLimits {
            automated_per_hour: 7,
            automated_per_day: 21,
            manual_per_hour: 50,
        },
        ..DepartmentSettings::default()
    };
    Department {
        uuid: Uuid::new_v4(),
        dealer_uuid: Uuid::new_v4(),
        name: "Service".into(),
        settings,
        default_user_uuid: Uuid::new_v4(),
    }
}

fn text_message(department: &Department) -> Message {
    let number = PhoneNumber::parse("+15552223333").unwrap();
    let mut message = Message::own_text(department, None, &number, "Hello".into(), created());
    message.user_uuid = Some(Uuid::new_v4());
    message
}

fn email_message(department: &Department) -> Message {
    let mut message = text_message(department);
    message.protocol = Protocol::Email;
    message.recipient = Recipient::Email(EmailAddress::parse("john@example.com").unwrap());
    message
}

fn sarah(department: &Department) -> User {
    User {
        uuid: Uuid::new_v4(),
        department_uuid: department.uuid,
        first_name: "Sarah".into(),
        last_name: "Miller".into(),
        email: None,
        can_text: true,
        can_email: true,
        is_default: false,
    }
}

fn facts_for(message: &Message, department: Department) -> Facts {
    let user = sarah(&department);
    Facts {
        delivery: DeliveryFacts {
            purpose: message.purpose,
            protocol: message.protocol,
            opt_state: OptState::OptedIn,
            override_optout: false,
            queue_if_opted_out: false,
            contact_ok: true,
            sender_configured: true,
            blacklisted: false,
        },
        dealer: Dealer {
            uuid: department.dealer_uuid,
            name: "Acme Motors".into(),
        },
        department,
        user: Some(user),
        customer_zone: None,
        media: Vec::new(),
        files: Vec::new(),
    }
}

/// A message and its facts, all sendable: an automated customer TEXT to an opted-in number.
fn sendable() -> (Message, Facts) {
    let department = department();
    let message = text_message(&department);
    let facts = facts_for(&message, department);
    (message, facts)
}

fn automated_windows() -> Vec<(Duration, u32)> {
    vec![(HOUR, 7), (HOUR * 24, 21)]
}

#[test]
fn a_sendable_message_is_sent_against_its_windows() {
    let (message, facts) = sendable();
    let planned = plan(&message, &facts, 0, created(), MAX_AGE);
    assert_eq!(
        planned,
        Plan::Send {
            rate_windows: automated_windows()
        }
    );
}

#[test]
fn max_age_gives_up_only_after_the_first_attempt() {
    let (message, facts) = sendable();
    let late = created() + time::Duration::seconds(MAX_AGE as i64 + 1);
    // A first attempt is made however late it is.
    assert!(matches!(
        plan(&message, &facts, 0, late, MAX_AGE),
        Plan::Send { .. }
    ));
    let Plan::Refuse(error) = plan(&message, &facts, 1, late, MAX_AGE) else {
        panic!("a retried message past max age is not sent");
    };
    assert_eq!(error.code, ErrorCode::TwilioSendingFailure);
    assert_eq!(
        error.description,
        "not handed to the provider within delivery.max_age_seconds"
    );
    // Exactly max age is still in time.
    let on_time = created() + time::Duration::seconds(MAX_AGE as i64);
    assert!(matches!(
        plan(&message, &facts, 1, on_time, MAX_AGE),
        Plan::Send { .. }
    ));
}

#[test]
fn max_age_counts_from_when_a_delayed_message_was_due() {
    let (mut message, facts) = sendable();
    message.options.delay_seconds = 600;
    message.held_until = Some(created() + time::Duration::seconds(600));
    let late = created() + time::Duration::seconds(MAX_AGE as i64 + 300);
    assert!(matches!(
        plan(&message, &facts, 3, late, MAX_AGE),
        Plan::Send { .. }
    ));
}

#[test]
fn max_age_is_checked_before_the_policy() {
    let (message, mut facts) = sendable();
    facts.delivery.opt_state = OptState::OptedOut;
    let late = created() + time::Duration::seconds(MAX_AGE as i64 + 1);
    let Plan::Refuse(error) = plan(&message, &facts, 2, late, MAX_AGE) else {
        panic!("expected a refusal");
    };
    assert_eq!(error.code, ErrorCode::TwilioSendingFailure);
}

#[test]
fn an_email_given_up_fails_with_the_email_providers_code() {
    let department = department();
    let message = email_message(&department);
    let facts = facts_for(&message, department);
    let late = created() + time::Duration::seconds(MAX_AGE as i64 + 1);
    let Plan::Refuse(error) = plan(&message, &facts, 1, late, MAX_AGE) else {
        panic!("expected a refusal");
    };
    assert_eq!(error.code, ErrorCode::InternalServerError);
}

#[test]
fn refusals_pass_the_policys_code_and_description_through() {
    let (message, mut facts) = sendable();
    facts.delivery.opt_state = OptState::OptedOut;
    let Decision::Refuse { code, description } = decide(&facts.delivery) else {
        panic!("the policy refuses an opted-out number");
    };
    assert_eq!(
        plan(&message, &facts, 0, created(), MAX_AGE),
        Plan::Refuse(MessageError { code, description })
    );

    let (message, mut facts) = sendable();
    facts.delivery.sender_configured = false;
    let Plan::Refuse(error) = plan(&message, &facts, 0, created(), MAX_AGE) else {
        panic!("expected a refusal");
    };
    assert_eq!(error.code, ErrorCode::MissingVoiceCredentials);

    let department = department();
    let message = email_message(&department);
    let mut facts = facts_for(&message, department);
    facts.delivery.blacklisted = true;
    let Plan::Refuse(error) = plan(&message, &facts, 0, created(), MAX_AGE) else {
        panic!("expected a refusal");
    };
    assert_eq!(error.code, ErrorCode::BlacklistedEmailAddressOrDomain);
}

#[test]
fn a_number_not_opted_in_waits_when_asked_to() {
    let (message, mut facts) = sendable();
    facts.delivery.opt_state = OptState::NotSet;
    facts.delivery.queue_if_opted_out = true;
    assert_eq!(
        plan(&message, &facts, 0, created(), MAX_AGE),
        Plan::WaitForOptin
    );
    facts.delivery.queue_if_opted_out = false;
    assert!(matches!(
        plan(&message, &facts, 0, created(), MAX_AGE),
        Plan::Refuse(_)
    ));
}

#[test]
fn rate_windows_manual_automated_and_own_messages() {
    let (mut message, facts) = sendable();
    let limits = facts.department.settings.rate_limits;
    assert_eq!(rate_windows(&message, &limits), automated_windows());
    message.is_manual = true;
    assert_eq!(rate_windows(&message, &limits), vec![(HOUR, 50)]);
    for own in [Purpose::KeywordReply, Purpose::OptinRequest] {
        message.purpose = own;
        assert_eq!(rate_windows(&message, &limits), vec![]);
    }
}

#[test]
fn own_messages_are_planned_without_windows() {
    let (mut message, mut facts) = sendable();
    message.purpose = Purpose::KeywordReply;
    facts.delivery.purpose = Purpose::KeywordReply;
    assert_eq!(
        plan(&message, &facts, 0, created(), MAX_AGE),
        Plan::Send {
            rate_windows: vec![]
        }
    );
}

#[test]
fn the_vcard_link_goes_only_with_a_text_that_asks_for_it() {
    let (mut message, facts) = sendable();
    let base = "https://herald.example";
    assert!(
        compose_outgoing(&message, &facts, base, created())
            .media_urls
            .is_empty()
    );
    message.options.send_v_card = true;
    assert_eq!(
        compose_outgoing(&message, &facts, base, created()).media_urls,
        vec![format!(
            "https://herald.example/vcard/{}.vcf",
            facts.department.uuid
        )]
    );
    message.protocol = Protocol::Email;
    message.recipient = Recipient::Email(EmailAddress::parse("john@example.com").unwrap());
    assert!(
        compose_outgoing(&message, &facts, base, created())
            .media_urls
            .is_empty()
    );
}

#[test]
fn a_text_goes_from_the_departments_number_without_a_subject() {
    let (message, facts) = sendable();
    let outgoing = compose_outgoing(&message, &facts, "http://x", created());
    assert_eq!(outgoing.from, "+15550001111");
    assert_eq!(outgoing.to, "+15552223333");
    assert_eq!(outgoing.protocol, "TEXT");
    assert_eq!(outgoing.subject, None);
    assert_eq!(outgoing.message_uuid, message.uuid);
}

#[test]
fn an_email_has_its_subject_and_named_sender() {
    let mut department = department();
    department.settings.email_sender_name = Some("Acme Service".into());
    let mut message = email_message(&department);
    let facts = facts_for(&message, department);
    let outgoing = compose_outgoing(&message, &facts, "http://x", created());
    assert_eq!(outgoing.from, "Acme Service <service@acme.example>");
    assert_eq!(
        outgoing.subject.as_deref(),
        Some("Message from Acme Motors")
    );
    message.subject = Some("Your appointment".into());
    let outgoing = compose_outgoing(&message, &facts, "http://x", created());
    assert_eq!(outgoing.subject.as_deref(), Some("Your appointment"));
}

#[test]
fn an_unconfigured_sender_is_handed_over_empty() {
    let (message, mut facts) = sendable();
    facts.department.settings.text_sender_number = None;
    assert_eq!(
        compose_outgoing(&message, &facts, "http://x", created()).from,
        ""
    );
}

#[test]
fn only_a_customer_message_with_a_user_is_composed() {
    let (mut message, mut facts) = sendable();
    message.options.add_signature = true;
    let composed = compose_outgoing(&message, &facts, "http://x", created()).body;
    assert_eq!(composed, "Hello\n-- Sarah Miller\nText STOP to opt-out");
    message.purpose = Purpose::KeywordReply;
    assert_eq!(
        compose_outgoing(&message, &facts, "http://x", created()).body,
        "Hello"
    );
    message.purpose = Purpose::Customer;
    facts.user = None;
    assert_eq!(
        compose_outgoing(&message, &facts, "http://x", created()).body,
        "Hello"
    );
}

#[test]
fn a_scheduled_message_left_queued_becomes_accepted() {
    let (mut message, _) = sendable();
    assert_eq!(queued_update(&message).status, None);
    message.status = MessageStatus::Scheduled;
    assert_eq!(
        queued_update(&message).status,
        Some(MessageStatus::Accepted)
    );
}

#[test]
fn an_undelivered_receipt_without_a_code_takes_the_providers() {
    let (message, _) = sendable();
    assert_eq!(
        receipt_outcome(&message, Receipt::Delivered),
        (MessageStatus::Delivered, None)
    );
    let undelivered = |code| Receipt::Undelivered {
        code,
        detail: "no".into(),
    };
    let (status, error) = receipt_outcome(&message, undelivered(None));
    assert_eq!(status, MessageStatus::Undelivered);
    assert_eq!(error.unwrap().code, ErrorCode::TwilioSendingFailure);
    let (_, error) = receipt_outcome(
        &message,
        undelivered(Some(ErrorCode::OptedOutCommunicationValue)),
    );
    assert_eq!(error.unwrap().code, ErrorCode::OptedOutCommunicationValue);
}

#[test]
fn an_automated_text_in_quiet_hours_is_held_until_the_window_opens() {
    let (message, facts) = sendable();
    // 23:00 in New York; the window opens at 08:00 (13:00 UTC).
    let night = datetime!(2026-01-06 04:00 UTC);
    assert_eq!(
        plan(&message, &facts, 0, night, MAX_AGE),
        Plan::Hold {
            until: datetime!(2026-01-06 13:00 UTC)
        }
    );
    // A retry falls under the same rule.
    let mut retried = message.clone();
    retried.held_until = Some(night - time::Duration::minutes(5));
    assert!(matches!(
        plan(&retried, &facts, 2, night, MAX_AGE),
        Plan::Hold { .. }
    ));
    assert_eq!(
        held_update(datetime!(2026-01-06 13:00 UTC)).status,
        Some(MessageStatus::Scheduled)
    );
}

#[test]
fn manual_synchronous_keyword_and_email_messages_are_never_held() {
    let night = datetime!(2026-01-06 04:00 UTC);
    let (mut manual, facts) = sendable();
    manual.is_manual = true;
    assert!(matches!(
        plan(&manual, &facts, 0, night, MAX_AGE),
        Plan::Send { .. }
    ));
    let (mut sync, facts) = sendable();
    sync.options.send_synchronously = true;
    assert!(matches!(
        plan(&sync, &facts, 0, night, MAX_AGE),
        Plan::Send { .. }
    ));
    let (mut reply, _) = sendable();
    reply.purpose = Purpose::KeywordReply;
    let facts = facts_for(&reply, department());
    assert!(matches!(
        plan(&reply, &facts, 0, night, MAX_AGE),
        Plan::Send { .. }
    ));
    let department = department();
    let email = email_message(&department);
    let facts = facts_for(&email, department);
    assert!(matches!(
        plan(&email, &facts, 0, night, MAX_AGE),
        Plan::Send { .. }
    ));
}

#[test]
fn the_customers_zone_is_the_recipients_clock_at_send_time() {
    let (message, mut facts) = sendable();
    // 23:00 in New York is 20:00 in Los Angeles.
    facts.customer_zone =
        crate::domain::quiet_hours::settings::ZoneName::parse("America/Los_Angeles");
    let night = datetime!(2026-01-06 04:00 UTC);
    assert!(matches!(
        plan(&message, &facts, 0, night, MAX_AGE),
        Plan::Send { .. }
    ));
}

#[test]
fn time_spent_held_does_not_count_towards_max_age() {
    let (mut message, facts) = sendable();
    // Held overnight after a first attempt: max age counts from the release.
    let release = created() + time::Duration::hours(24);
    message.held_until = Some(release);
    let soon_after = release + time::Duration::minutes(5);
    assert!(matches!(
        plan(&message, &facts, 1, soon_after, MAX_AGE),
        Plan::Send { .. }
    ));
}

#[test]
fn a_texts_attachments_follow_the_vcard_as_tokened_media_urls_and_an_emails_travel_whole() {
    use crate::domain::attachment::{Attachment, AttachmentInfo};
    use crate::domain::media_token;
    let (mut message, mut facts) = sendable();
    let info = AttachmentInfo {
        uuid: Uuid::now_v7(),
        file_name: "rotor left.jpg".into(),
        content_type: "image/jpeg".into(),
        size: 3,
    };
    facts.media = vec![MediaKey {
        info: info.clone(),
        secret: b"secret".to_vec(),
    }];
    message.options.send_v_card = true;
    let urls = compose_outgoing(&message, &facts, "https://h.example", created()).media_urls;
    assert_eq!(urls.len(), 2);
    let prefix = format!(
        "https://h.example/media/{}/rotor%20left.jpg?token=",
        info.uuid
    );
    let token = urls[1].strip_prefix(&prefix).expect("the media URL");
    assert!(media_token::verify(b"secret", info.uuid, token, created()));

    message.protocol = Protocol::Email;
    message.recipient = Recipient::Email(EmailAddress::parse("john@example.com").unwrap());
    message.body = String::new();
    facts.files = vec![Attachment::new(
        "ro.pdf".into(),
        "application/pdf".into(),
        b"%PDF".to_vec(),
    )];
    let outgoing = compose_outgoing(&message, &facts, "https://h.example", created());
    assert!(outgoing.media_urls.is_empty());
    assert_eq!(outgoing.attachments, facts.files);
    assert_eq!(outgoing.body, "Attached: ro.pdf");
}
