//! TEXT through Twilio's REST API: one form-encoded create-message call per message, with a
//! `StatusCallback` that brings the carrier's receipt back to `/webhooks/twilio/status`; an
//! in-doubt hand-over is looked up in the Messages list (`reconcile`).

pub mod media;
mod reconcile;
pub mod signature;
pub mod webhook;

use async_trait::async_trait;
use reqwest::StatusCode;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

use crate::domain::codes::ErrorCode;
use crate::providers::pace::Pace;
use crate::providers::{Effect, Outgoing, Provider, Reconciled, SendOutcome, transport_failure};

/// Twilio error codes that no retry can fix (the number is invalid, unreachable or not
/// textable; the sender cannot reach it).
const PERMANENT_CODES: [u32; 7] = [21211, 21408, 21602, 21603, 21604, 21614, 21617];
/// The recipient replied STOP at the carrier: permanent, and the number is opted out.
const OPTED_OUT_CODE: u32 = 21610;
/// Twilio's own "too many requests".
const TOO_MANY_REQUESTS_CODE: u32 = 20429;

/// What Herald needs to call Twilio.
#[derive(Clone)]
pub struct TwilioConfig {
    pub account_sid: String,
    pub auth_token: SecretString,
    /// `https://api.twilio.com`, or a test server.
    pub base_url: String,
    /// Sends through a Messaging Service instead of the department's own number.
    pub messaging_service_sid: Option<String>,
    /// `<public_base_url>/webhooks/twilio/status`.
    pub status_callback: String,
}

pub struct TwilioProvider {
    http: reqwest::Client,
    config: TwilioConfig,
    pace: Option<Pace>,
}

/// The parts of Twilio's Message resource Herald keeps.
#[derive(Deserialize)]
struct MessageResource {
    sid: Option<String>,
}

/// Twilio's error body: `{code, message, more_info, status}`.
#[derive(Deserialize, Default)]
pub(super) struct ErrorBody {
    pub(super) code: Option<u32>,
    pub(super) message: Option<String>,
}

impl TwilioConfig {
    /// The Messages resource of the account: create with `POST`, list with `GET`.
    pub(super) fn messages_url(&self) -> String {
        format!(
            "{}/2010-04-01/Accounts/{}/Messages.json",
            self.base_url.trim_end_matches('/'),
            self.account_sid
        )
    }
}

impl TwilioProvider {
    pub fn new(http: reqwest::Client, config: TwilioConfig) -> Self {
        Self {
            http,
            config,
            pace: None,
        }
    }

    /// Hands each sender at most `per_second` messages a second; the rest wait in the queue.
    pub fn with_pace(mut self, pace: Option<Pace>) -> Self {
        self.pace = pace;
        self
    }

    fn form<'a>(&'a self, m: &'a Outgoing) -> Vec<(&'static str, &'a str)> {
        let mut form = vec![("To", m.to.as_str())];
        match &self.config.messaging_service_sid {
            Some(sid) => form.push(("MessagingServiceSid", sid.as_str())),
            None => form.push(("From", m.from.as_str())),
        }
        // A picture alone has no body: Twilio takes media without one.
        if !m.body.is_empty() || m.media_urls.is_empty() {
            form.push(("Body", m.body.as_str()));
        }
        for url in &m.media_urls {
            form.push(("MediaUrl", url.as_str()));
        }
        form.push(("StatusCallback", self.config.status_callback.as_str()));
        form
    }
}

#[async_trait]
impl Provider for TwilioProvider {
    fn name(&self) -> &'static str {
        "twilio"
    }

    #[tracing::instrument(skip_all, fields(provider = "twilio", message_uuid = %m.message_uuid))]
    async fn reconcile(&self, m: &Outgoing, since: time::OffsetDateTime) -> Reconciled {
        reconcile::reconcile(&self.http, &self.config, m, since).await
    }

    #[tracing::instrument(skip_all, fields(provider = "twilio", message_uuid = %m.message_uuid))]
    async fn send(&self, m: &Outgoing) -> SendOutcome {
        if let Some(pace) = &self.pace {
            let sender = self
                .config
                .messaging_service_sid
                .as_deref()
                .unwrap_or(&m.from);
            if let Err(wait) = pace.take(sender, m.message_uuid) {
                return SendOutcome::Deferred { wait };
            }
        }
        let response = self
            .http
            .post(self.config.messages_url())
            .basic_auth(
                &self.config.account_sid,
                Some(self.config.auth_token.expose_secret()),
            )
            .header(reqwest::header::ACCEPT, "application/json")
            .form(&self.form(m))
            .send()
            .await;
        let response = match response {
            Ok(r) => r,
            Err(e) => return transport_failure("Twilio", &e),
        };
        let status = response.status();
        if status.is_success() {
            return match response.json::<MessageResource>().await {
                Ok(MessageResource { sid: Some(sid) }) => SendOutcome::Accepted {
                    provider_message_id: sid,
                    receipt: None,
                },
                // Twilio took the message: sending it again would send it twice. Without a sid
                // its receipt cannot be matched, so it stays SENT.
                _ => {
                    tracing::warn!(%status, "Twilio accepted a message without a readable sid");
                    SendOutcome::Accepted {
                        provider_message_id: format!("twilio-unknown-{}", m.message_uuid.simple()),
                        receipt: None,
                    }
                }
            };
        }
        let body: ErrorBody = response.json().await.unwrap_or_default();
        classify(status, body)
    }
}

/// The outcome of a refused create-message call.
fn classify(status: StatusCode, body: ErrorBody) -> SendOutcome {
    let code = body.code;
    let detail = match (code, body.message) {
        (Some(code), Some(message)) => format!("Twilio error {code}: {message}"),
        (Some(code), None) => format!("Twilio error {code} (HTTP {})", status.as_u16()),
        (None, _) => format!("Twilio answered HTTP {}", status.as_u16()),
    };
    if status.is_server_error()
        || status == StatusCode::TOO_MANY_REQUESTS
        || code == Some(TOO_MANY_REQUESTS_CODE)
    {
        return SendOutcome::Transient { detail };
    }
    if code == Some(OPTED_OUT_CODE) {
        return SendOutcome::Permanent {
            code: ErrorCode::TwilioSendingFailure,
            detail,
            effect: Some(Effect::OptOutNumber),
        };
    }
    if status == StatusCode::UNAUTHORIZED || status == StatusCode::FORBIDDEN {
        tracing::error!(
            %status,
            twilio_code = code,
            "Twilio refused Herald's credentials: check [text.twilio] account_sid and auth_token"
        );
    } else if !code.is_some_and(|c| PERMANENT_CODES.contains(&c)) {
        tracing::warn!(%status, twilio_code = code, "Twilio refused a message with an unexpected error");
    }
    // Any other 4xx is a refusal of this request as it is: sending it again changes nothing.
    SendOutcome::Permanent {
        code: ErrorCode::TwilioSendingFailure,
        detail,
        effect: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(code: u32) -> ErrorBody {
        ErrorBody {
            code: Some(code),
            message: Some("refused".into()),
        }
    }

    #[test]
    fn documented_permanent_codes_fail_at_once() {
        for code in PERMANENT_CODES {
            let outcome = classify(StatusCode::BAD_REQUEST, body(code));
            assert!(
                matches!(outcome, SendOutcome::Permanent { code: c, effect: None, .. } if c == ErrorCode::TwilioSendingFailure),
                "{code}: {outcome:?}"
            );
        }
    }

    #[test]
    fn opted_out_number_is_permanent_and_opts_out() {
        let outcome = classify(StatusCode::BAD_REQUEST, body(OPTED_OUT_CODE));
        assert!(matches!(
            outcome,
            SendOutcome::Permanent {
                effect: Some(Effect::OptOutNumber),
                ..
            }
        ));
    }

    #[test]
    fn server_errors_and_rate_limits_are_transient() {
        for (status, code) in [
            (StatusCode::INTERNAL_SERVER_ERROR, None),
            (StatusCode::SERVICE_UNAVAILABLE, None),
            (StatusCode::TOO_MANY_REQUESTS, Some(20429)),
            (StatusCode::BAD_REQUEST, Some(20429)),
        ] {
            let outcome = classify(
                status,
                ErrorBody {
                    code,
                    message: None,
                },
            );
            assert!(
                matches!(outcome, SendOutcome::Transient { .. }),
                "{status}: {outcome:?}"
            );
        }
    }

    #[test]
    fn description_names_the_twilio_code_and_message() {
        let SendOutcome::Permanent { detail, .. } = classify(
            StatusCode::BAD_REQUEST,
            ErrorBody {
                code: Some(21211),
                message: Some("The 'To' number +1555 is not a valid phone number.".into()),
            },
        ) else {
            panic!("permanent expected");
        };
        assert_eq!(
            detail,
            "Twilio error 21211: The 'To' number +1555 is not a valid phone number."
        );
    }
}
