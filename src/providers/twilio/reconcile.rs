//! Twilio's side of an in-doubt hand-over (SPEC 6): the Messages list resource, filtered by
//! recipient (and sender number), read newest first back to the moment the hand-over began.

use secrecy::ExposeSecret;
use serde::Deserialize;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc2822;

use super::{ErrorBody, TwilioConfig};
use crate::providers::{Outgoing, Receipt, Reconciled, describe};

/// Enough for every message one sender gave one recipient since a hand-over began.
const PAGE_SIZE: &str = "50";
/// Beyond this many pages of newer messages Herald cannot tell; it asks again later rather
/// than risk sending twice.
const MAX_PAGES: usize = 10;

/// One page of Twilio's Messages list.
#[derive(Deserialize)]
struct Page {
    messages: Vec<ListedMessage>,
    next_page_uri: Option<String>,
}

/// The parts of a listed Message resource that identify a hand-over and its fate.
#[derive(Deserialize)]
struct ListedMessage {
    sid: String,
    body: Option<String>,
    from: Option<String>,
    messaging_service_sid: Option<String>,
    status: Option<String>,
    /// RFC 2822, to the second: `Wed, 02 Dec 2026 07:43:07 +0000`.
    date_created: Option<String>,
    error_code: Option<i64>,
    error_message: Option<String>,
}

impl ListedMessage {
    fn created(&self) -> Option<OffsetDateTime> {
        OffsetDateTime::parse(self.date_created.as_deref()?, &Rfc2822).ok()
    }
}

pub(super) async fn reconcile(
    http: &reqwest::Client,
    config: &TwilioConfig,
    m: &Outgoing,
    since: OffsetDateTime,
) -> Reconciled {
    // Twilio keeps creation times to the second: a hand-over begun at 07:43:07.6 may be
    // listed as created at 07:43:07.
    let since = since.replace_nanosecond(0).unwrap_or(since);
    let sender = Sender::of(config, m);
    let query = {
        let mut query = form_urlencoded::Serializer::new(String::new());
        query.append_pair("To", &m.to);
        if let Sender::Number(number) = sender {
            query.append_pair("From", number);
        }
        query.append_pair("PageSize", PAGE_SIZE).finish()
    };
    let mut request = http.get(format!("{}?{query}", config.messages_url()));
    for _ in 0..MAX_PAGES {
        let page = match fetch(request, config).await {
            Ok(page) => page,
            Err(detail) => return Reconciled::Unknown { detail },
        };
        if let Some(found) = page.messages.iter().find(|listed| {
            listed.created().is_some_and(|t| t >= since)
                && sender.sent(listed)
                && listed.body.as_deref() == Some(m.body.as_str())
        }) {
            return Reconciled::Sent {
                provider_message_id: found.sid.clone(),
                receipt: receipt(found),
            };
        }
        let oldest_is_recent = page
            .messages
            .last()
            .and_then(ListedMessage::created)
            .is_some_and(|t| t >= since);
        let next = match page.next_page_uri {
            Some(next) if oldest_is_recent => next,
            _ => return Reconciled::NotFound,
        };
        if !next.starts_with('/') {
            return Reconciled::Unknown {
                detail: "Twilio answered an unexpected next_page_uri".into(),
            };
        }
        request = http.get(format!("{}{next}", config.base_url.trim_end_matches('/')));
    }
    Reconciled::Unknown {
        detail: format!("more than {MAX_PAGES} pages of Twilio messages since the hand-over"),
    }
}

/// Who sends for Herald: the department's number, or the configured Messaging Service.
#[derive(Clone, Copy)]
enum Sender<'a> {
    Number(&'a str),
    Service(&'a str),
}

impl<'a> Sender<'a> {
    fn of(config: &'a TwilioConfig, m: &'a Outgoing) -> Self {
        match &config.messaging_service_sid {
            Some(sid) => Sender::Service(sid),
            None => Sender::Number(&m.from),
        }
    }

    fn sent(self, listed: &ListedMessage) -> bool {
        match self {
            Sender::Number(number) => listed.from.as_deref() == Some(number),
            Sender::Service(sid) => listed.messaging_service_sid.as_deref() == Some(sid),
        }
    }
}

/// One page, or why it could not be read (never with the account SID, which Twilio's URLs
/// carry, or the token).
async fn fetch(request: reqwest::RequestBuilder, config: &TwilioConfig) -> Result<Page, String> {
    let response = request
        .basic_auth(&config.account_sid, Some(config.auth_token.expose_secret()))
        .header(reqwest::header::ACCEPT, "application/json")
        .send()
        .await
        .map_err(|e| format!("Twilio unreachable: {}", describe(&e)))?;
    let status = response.status();
    if !status.is_success() {
        let body: ErrorBody = response.json().await.unwrap_or_default();
        if status == reqwest::StatusCode::UNAUTHORIZED || status == reqwest::StatusCode::FORBIDDEN {
            tracing::error!(
                %status,
                twilio_code = ?body.code,
                "Twilio refused Herald's credentials: check [text.twilio] account_sid and auth_token"
            );
        }
        return Err(match (body.code, body.message) {
            (Some(code), Some(message)) => {
                format!("Twilio's message list answered error {code}: {message}")
            }
            _ => format!("Twilio's message list answered HTTP {}", status.as_u16()),
        });
    }
    response
        .json::<Page>()
        .await
        .map_err(|e| format!("Twilio's message list could not be read: {}", describe(&e)))
}

/// What the listed status already tells, worded as the status webhook words it.
fn receipt(listed: &ListedMessage) -> Option<Receipt> {
    match listed.status.as_deref()? {
        "delivered" => Some(Receipt::Delivered),
        reported @ ("undelivered" | "failed") => {
            let mut detail = format!("Twilio reported the message {reported}");
            if let Some(code) = listed.error_code {
                detail.push_str(&format!(" (error {code}"));
                if let Some(message) = listed.error_message.as_deref().filter(|m| !m.is_empty()) {
                    detail.push_str(&format!(": {message}"));
                }
                detail.push(')');
            }
            Some(Receipt::Undelivered { code: None, detail })
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn listed(status: &str, error: Option<(i64, &str)>) -> ListedMessage {
        ListedMessage {
            sid: "SM1".into(),
            body: None,
            from: None,
            messaging_service_sid: None,
            status: Some(status.into()),
            date_created: Some("Wed, 02 Dec 2026 07:43:07 +0000".into()),
            error_code: error.map(|(c, _)| c),
            error_message: error.map(|(_, m)| m.into()),
        }
    }

    #[test]
    fn creation_time_is_read_from_rfc_2822() {
        assert_eq!(
            listed("queued", None).created(),
            Some(time::macros::datetime!(2026-12-02 07:43:07 UTC))
        );
    }

    #[test]
    fn listed_status_gives_the_receipt_the_webhook_would() {
        assert_eq!(
            receipt(&listed("delivered", None)),
            Some(Receipt::Delivered)
        );
        assert_eq!(
            receipt(&listed("undelivered", Some((30003, "Unreachable destination handset")))),
            Some(Receipt::Undelivered {
                code: None,
                detail: "Twilio reported the message undelivered (error 30003: Unreachable destination handset)".into()
            })
        );
        assert_eq!(
            receipt(&listed("failed", None)),
            Some(Receipt::Undelivered {
                code: None,
                detail: "Twilio reported the message failed".into()
            })
        );
        for status in ["queued", "accepted", "sending", "sent"] {
            assert_eq!(receipt(&listed(status, None)), None, "{status}");
        }
    }
}
