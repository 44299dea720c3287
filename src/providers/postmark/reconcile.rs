//! Postmark's side of in-doubt reconciliation (SPEC 6): its outbound message search, asked by
//! the `messageUUID` every send carries in `Metadata`. A message found is that hand-over.

use std::time::Duration;

use reqwest::StatusCode;
use secrecy::ExposeSecret;
use serde::Deserialize;
use time::OffsetDateTime;

use super::PostmarkConfig;
use crate::providers::{Outgoing, Reconciled, describe};

/// Postmark's search can lag a send by seconds, so a miss this soon after the hand-over may
/// only mean the message is not indexed yet.
const LAG_WINDOW: time::Duration = time::Duration::seconds(30);
/// How long to wait before asking again after such an early miss.
const SEARCH_LAG_WAIT: Duration = Duration::from_secs(2);
/// One message is looked for; a page this size also shows any copies of it.
const PAGE_SIZE: u32 = 10;

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Search {
    #[serde(default)]
    messages: Vec<Found>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Found {
    #[serde(rename = "MessageID")]
    message_id: String,
    #[serde(default)]
    metadata: serde_json::Map<String, serde_json::Value>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase")]
struct ErrorAnswer {
    error_code: Option<i64>,
    message: Option<String>,
}

/// Whether Postmark has `m`, handed over at or after `since`.
pub(super) async fn reconcile(
    http: &reqwest::Client,
    config: &PostmarkConfig,
    m: &Outgoing,
    since: OffsetDateTime,
) -> Reconciled {
    let first = search(http, config, m).await;
    // `since` is the system time of the hand-over and the lag is Postmark's: the system time.
    let recent = OffsetDateTime::now_utc() - since < LAG_WINDOW;
    let answer = match first {
        Ok(None) if recent => {
            tracing::debug!("not found right after the hand-over; asking once more");
            tokio::time::sleep(SEARCH_LAG_WAIT).await;
            search(http, config, m).await
        }
        other => other,
    };
    match answer {
        Ok(Some(provider_message_id)) => Reconciled::Sent {
            provider_message_id,
            // Outbound search reports Postmark's own progress ("Sent", "Queued"), not the
            // recipient's server: delivery still comes by webhook.
            receipt: None,
        },
        Ok(None) => Reconciled::NotFound,
        Err(detail) => Reconciled::Unknown { detail },
    }
}

/// The MessageID Postmark gave `m`, if its search finds it.
async fn search(
    http: &reqwest::Client,
    config: &PostmarkConfig,
    m: &Outgoing,
) -> Result<Option<String>, String> {
    let uuid = m.message_uuid.to_string();
    let count = PAGE_SIZE.to_string();
    let url = reqwest::Url::parse_with_params(
        &format!(
            "{}/messages/outbound",
            config.base_url.trim_end_matches('/')
        ),
        [
            ("recipient", address(&m.to)),
            ("metadata_messageUUID", uuid.as_str()),
            ("count", count.as_str()),
            ("offset", "0"),
        ],
    )
    .map_err(|e| format!("Postmark search: base_url is not a URL: {e}"))?;
    let response = http
        .get(url)
        .header(
            "X-Postmark-Server-Token",
            config.server_token.expose_secret(),
        )
        .header(reqwest::header::ACCEPT, "application/json")
        .send()
        .await
        .map_err(|e| format!("Postmark search: {}", describe(&e)))?;
    let status = response.status();
    if !status.is_success() {
        let body: ErrorAnswer = response.json().await.unwrap_or_default();
        let detail = format!(
            "Postmark search: {status}, error {}: {}",
            body.error_code.unwrap_or(0),
            body.message.as_deref().unwrap_or("no message")
        );
        if status == StatusCode::UNAUTHORIZED {
            tracing::error!(%detail, "Postmark refused Herald's server token: check [email.postmark] server_token");
        }
        return Err(detail);
    }
    let found: Search = response
        .json()
        .await
        .map_err(|e| format!("Postmark search: {}", describe(&e)))?;
    // The filter is Postmark's; the match is checked here too, so a search that ignored it
    // cannot pass another message off as this one.
    Ok(found
        .messages
        .into_iter()
        .find(|f| f.metadata.get("messageUUID").and_then(|v| v.as_str()) == Some(uuid.as_str()))
        .map(|f| f.message_id))
}

/// The bare address of `Name <address>`, which is what Postmark's `recipient` filter matches.
fn address(to: &str) -> &str {
    match to.rsplit_once('<') {
        Some((_, rest)) => rest.trim_end().trim_end_matches('>').trim(),
        None => to.trim(),
    }
}

#[cfg(test)]
mod tests {
    use super::address;

    #[test]
    fn the_recipient_filter_gets_the_bare_address() {
        assert_eq!(address("customer@example.com"), "customer@example.com");
        assert_eq!(
            address("John Doe <customer@example.com>"),
            "customer@example.com"
        );
    }
}
