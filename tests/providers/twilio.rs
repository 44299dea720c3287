//! The Twilio client: the create-message call's shape, every error class, timeouts and
//! broken connections (in doubt), the per-sender pace, the webhook signature, and the
//! Messages list that settles an in-doubt hand-over.

#[path = "twilio_reconcile.rs"]
mod reconcile;

use std::time::Duration;

use base64::Engine as _;
use herald::domain::codes::ErrorCode;
use herald::providers::pace::Pace;
use herald::providers::twilio::signature as twilio_signature;
use herald::providers::twilio::{TwilioConfig, TwilioProvider};
use herald::providers::{Effect, Provider, SendOutcome};
use secrecy::SecretString;

use crate::fake_twilio::{self, ACCOUNT_SID, AUTH_TOKEN, FakeTwilio, Reply};
use crate::{closed_port_url, http, text};

const STATUS_CALLBACK: &str = "https://herald.example.com/webhooks/twilio/status";

fn config(base_url: &str) -> TwilioConfig {
    TwilioConfig {
        account_sid: ACCOUNT_SID.into(),
        auth_token: SecretString::from(AUTH_TOKEN),
        base_url: base_url.into(),
        messaging_service_sid: None,
        status_callback: STATUS_CALLBACK.into(),
    }
}

fn provider(base_url: &str) -> TwilioProvider {
    TwilioProvider::new(http(Duration::from_secs(10)), config(base_url))
}

#[tokio::test]
async fn create_message_call_is_form_encoded_with_basic_auth_and_keeps_the_sid() {
    let mut twilio = FakeTwilio::start().await;
    let vcard = "https://herald.example.com/vcard/0193.vcf";
    let message = text(&[vcard, "https://herald.example.com/b.png"]);

    let outcome = provider(&twilio.base_url).send(&message).await;

    let request = twilio.next_request().await;
    let SendOutcome::Accepted {
        provider_message_id,
        receipt,
    } = outcome
    else {
        panic!("accepted expected, got {outcome:?}");
    };
    assert_eq!(Some(provider_message_id), request.sid);
    assert_eq!(receipt, None, "Twilio reports delivery later, by webhook");
    assert_eq!(request.account_sid, ACCOUNT_SID);
    let basic =
        base64::engine::general_purpose::STANDARD.encode(format!("{ACCOUNT_SID}:{AUTH_TOKEN}"));
    assert_eq!(
        request.header("authorization"),
        Some(format!("Basic {basic}").as_str())
    );
    assert_eq!(
        request.header("content-type"),
        Some("application/x-www-form-urlencoded")
    );
    assert_eq!(request.param("To"), Some("+11234567890"));
    assert_eq!(request.param("From"), Some("+14155550100"));
    assert_eq!(request.param("MessagingServiceSid"), None);
    assert_eq!(request.param("Body"), Some(message.body.as_str()));
    assert_eq!(
        request.all("MediaUrl"),
        [vcard, "https://herald.example.com/b.png"]
    );
    assert_eq!(request.param("StatusCallback"), Some(STATUS_CALLBACK));
}

#[tokio::test]
async fn a_messaging_service_replaces_the_from_number() {
    let mut twilio = FakeTwilio::start().await;
    let mut config = config(&twilio.base_url);
    config.messaging_service_sid = Some("MG00000000000000000000000000000001".into());
    let provider = TwilioProvider::new(http(Duration::from_secs(10)), config);

    let outcome = provider.send(&text(&[])).await;

    assert!(
        matches!(outcome, SendOutcome::Accepted { .. }),
        "{outcome:?}"
    );
    let request = twilio.next_request().await;
    assert_eq!(
        request.param("MessagingServiceSid"),
        Some("MG00000000000000000000000000000001")
    );
    assert_eq!(request.param("From"), None);
    assert!(request.all("MediaUrl").is_empty());
}

#[tokio::test]
async fn documented_refusals_are_permanent_with_the_twilio_code_and_message() {
    let twilio = FakeTwilio::start().await;
    let provider = provider(&twilio.base_url);
    for code in [21211, 21614, 21408, 21602, 21603, 21604, 21617] {
        twilio.script([Reply::Error {
            status: 400,
            code,
            message: "The 'To' number is not a valid phone number.",
        }]);

        let outcome = provider.send(&text(&[])).await;

        let SendOutcome::Permanent {
            code: herald_code,
            detail,
            effect,
        } = outcome
        else {
            panic!("{code}: permanent expected, got {outcome:?}");
        };
        assert_eq!(herald_code, ErrorCode::TwilioSendingFailure);
        assert_eq!(
            detail,
            format!("Twilio error {code}: The 'To' number is not a valid phone number.")
        );
        assert_eq!(effect, None, "{code}");
    }
}

#[tokio::test]
async fn an_opted_out_number_is_permanent_and_opts_the_number_out() {
    let twilio = FakeTwilio::start().await;
    twilio.script([Reply::Error {
        status: 400,
        code: 21610,
        message: "Attempt to send to unsubscribed recipient",
    }]);

    let outcome = provider(&twilio.base_url).send(&text(&[])).await;

    assert!(
        matches!(
            &outcome,
            SendOutcome::Permanent { code, effect: Some(Effect::OptOutNumber), detail }
                if *code == ErrorCode::TwilioSendingFailure && detail.contains("21610")
        ),
        "{outcome:?}"
    );
}

#[tokio::test]
async fn server_errors_and_rate_limits_are_transient() {
    let twilio = FakeTwilio::start().await;
    let provider = provider(&twilio.base_url);
    for (status, code) in [(500, 20500), (503, 20503), (429, 20429), (400, 20429)] {
        twilio.script([Reply::Error {
            status,
            code,
            message: "try later",
        }]);

        let outcome = provider.send(&text(&[])).await;

        assert!(
            matches!(outcome, SendOutcome::Transient { .. }),
            "{status}/{code}: {outcome:?}"
        );
    }
}

#[tokio::test]
async fn wrong_credentials_are_permanent() {
    let twilio = FakeTwilio::start().await;
    let mut config = config(&twilio.base_url);
    config.auth_token = SecretString::from("not-the-token");
    let provider = TwilioProvider::new(http(Duration::from_secs(10)), config);

    let outcome = provider.send(&text(&[])).await;

    assert!(
        matches!(&outcome, SendOutcome::Permanent { detail, .. } if detail.contains("20003")),
        "{outcome:?}"
    );
}

#[tokio::test]
async fn network_errors_are_transient() {
    let outcome = provider(&closed_port_url().await).send(&text(&[])).await;

    assert!(
        matches!(outcome, SendOutcome::Transient { .. }),
        "{outcome:?}"
    );
}

#[tokio::test]
async fn a_slow_twilio_is_a_timeout_in_doubt() {
    let twilio = FakeTwilio::start().await;
    twilio.script([Reply::Slow(Duration::from_secs(5))]);
    let provider = TwilioProvider::new(http(Duration::from_millis(200)), config(&twilio.base_url));

    let outcome = provider.send(&text(&[])).await;

    assert!(
        matches!(&outcome, SendOutcome::InDoubt { detail } if detail.contains("timed out")),
        "{outcome:?}"
    );
}

#[tokio::test]
async fn a_sender_over_its_pace_is_deferred_without_calling_twilio() {
    let mut twilio = FakeTwilio::start().await;
    let provider = provider(&twilio.base_url).with_pace(Pace::per_second(1.0));

    let first = provider.send(&text(&[])).await;
    let second = provider.send(&text(&[])).await;

    assert!(matches!(first, SendOutcome::Accepted { .. }), "{first:?}");
    let SendOutcome::Deferred { wait } = second else {
        panic!("deferred expected, got {second:?}");
    };
    assert!(wait > Duration::from_millis(900) && wait <= Duration::from_secs(1));
    twilio.next_request().await;
    let mut other_sender = text(&[]);
    other_sender.from = "+14155550199".into();
    assert!(matches!(
        provider.send(&other_sender).await,
        SendOutcome::Accepted { .. }
    ));
}

#[test]
fn signature_test_vector_from_twilio() {
    let params: Vec<(String, String)> = [
        ("CallSid", "CA1234567890ABCDE"),
        ("Caller", "+14158675309"),
        ("Digits", "1234"),
        ("From", "+14158675309"),
        ("To", "+18005551212"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    let url = "https://mycompany.com/myapp.php?foo=1&bar=2";

    assert_eq!(
        twilio_signature::compute("12345", url, &params),
        "RSOYDt4T1cUTdK1PDd93/VVr8B8="
    );
    assert!(twilio_signature::verify(
        "12345",
        url,
        &params,
        "RSOYDt4T1cUTdK1PDd93/VVr8B8="
    ));
    assert!(twilio_signature::verify(
        "12345",
        "https://mycompany.com:443/myapp.php?foo=1&bar=2",
        &params,
        "RSOYDt4T1cUTdK1PDd93/VVr8B8="
    ));
    let borrowed: Vec<(&str, &str)> = params
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    assert_eq!(
        fake_twilio::sign("12345", url, &borrowed),
        "RSOYDt4T1cUTdK1PDd93/VVr8B8=",
        "the fake signs as Twilio does"
    );
}
