//! One attempt at delivering one callback.

use std::error::Error;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use anyhow::Context;
use reqwest::header::{CONTENT_TYPE, HeaderMap, RETRY_AFTER};
use reqwest::{StatusCode, Url, redirect};

use super::guard::{self, GuardedResolver};
use super::signature;

/// Connecting is quick or not happening: a receiver that does not accept a connection within
/// this long is treated as down even when the whole attempt may take longer.
const MAX_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

const USER_AGENT: &str = concat!("herald/", env!("CARGO_PKG_VERSION"));

/// What one attempt came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AttemptOutcome {
    /// Any 2xx.
    Delivered { status: u16 },
    /// Network error, timeout, 408, 429 or 5xx: try again later (`retry_after` from the
    /// `Retry-After` header when it had one).
    Retry {
        detail: String,
        retry_after: Option<Duration>,
    },
    /// Any other answer (other 4xx, a redirect, a refused address): do not try again.
    Final { detail: String },
}

/// Sends callbacks: one shared HTTP client with a timeout, no redirects, no proxy, and the
/// address guard unless `allow_private_networks`.
#[derive(Clone)]
pub struct CallbackSender {
    client: reqwest::Client,
    allow_private_networks: bool,
}

impl CallbackSender {
    pub fn new(timeout: Duration, allow_private_networks: bool) -> anyhow::Result<Self> {
        let builder = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout.min(MAX_CONNECT_TIMEOUT))
            // A redirect would take the callback to an address nobody configured (and past
            // the guard's check of the URL): the receiver gets a final failure instead.
            .redirect(redirect::Policy::none())
            // A proxy from the environment would do the connecting, so the guard would judge
            // the proxy's address instead of the receiver's.
            .no_proxy()
            .user_agent(USER_AGENT);
        let builder = if allow_private_networks {
            builder
        } else {
            builder.dns_resolver(Arc::new(GuardedResolver))
        };
        let client = builder
            .build()
            .context("building the callback HTTP client")?;
        Ok(Self {
            client,
            allow_private_networks,
        })
    }

    /// POSTs `body` (JSON) to `url` with the Standard Webhooks headers `webhook-id`,
    /// `webhook-timestamp` (Unix seconds, `timestamp`) and `webhook-signature` signed with
    /// `secret` (`whsec_…`).
    // The URL is left out of the span as well as the body and secret: clients put tokens in
    // callback URLs' query strings.
    #[tracing::instrument(name = "callback.send", skip_all, fields(webhook_id = %webhook_id))]
    pub async fn send(
        &self,
        url: &str,
        webhook_id: &str,
        timestamp: i64,
        body: &[u8],
        secret: &str,
    ) -> AttemptOutcome {
        let url = match Url::parse(url) {
            Ok(url) => url,
            Err(err) => {
                return AttemptOutcome::Final {
                    detail: format!("callback URL is not valid: {err}"),
                };
            }
        };
        if let Err(refusal) = guard::check_url(&url, self.allow_private_networks) {
            return AttemptOutcome::Final { detail: refusal };
        }
        let result = self
            .client
            .post(url)
            .header(CONTENT_TYPE, "application/json")
            .header("webhook-id", webhook_id)
            .header("webhook-timestamp", timestamp.to_string())
            .header(
                "webhook-signature",
                signature::sign(secret, webhook_id, timestamp, body),
            )
            .body(body.to_vec())
            .send()
            .await;
        let outcome = match result {
            Ok(response) => classify_status(response.status(), response.headers()),
            Err(err) => classify_error(&err),
        };
        tracing::debug!(?outcome, "callback attempt");
        outcome
    }
}

fn classify_status(status: StatusCode, headers: &HeaderMap) -> AttemptOutcome {
    let code = status.as_u16();
    if status.is_success() {
        AttemptOutcome::Delivered { status: code }
    } else if status == StatusCode::REQUEST_TIMEOUT
        || status == StatusCode::TOO_MANY_REQUESTS
        || status.is_server_error()
    {
        AttemptOutcome::Retry {
            detail: format!("HTTP {code}"),
            retry_after: retry_after(headers),
        }
    } else if status.is_redirection() {
        AttemptOutcome::Final {
            detail: format!("HTTP {code} (redirects are not followed)"),
        }
    } else {
        AttemptOutcome::Final {
            detail: format!("HTTP {code}"),
        }
    }
}

fn classify_error(err: &reqwest::Error) -> AttemptOutcome {
    // The guard's refusal reaches us as a DNS failure; it will not change on a retry.
    if let Some(refusal) = guard::refusal_in(err) {
        return AttemptOutcome::Final {
            detail: refusal.to_string(),
        };
    }
    let detail = describe(err);
    if err.is_builder() {
        // A header value that cannot be sent (e.g. a control character in the id) will not
        // become sendable later.
        return AttemptOutcome::Final { detail };
    }
    AttemptOutcome::Retry {
        detail,
        retry_after: None,
    }
}

/// The error and its causes on one line, without the URL (which may carry a client's token).
fn describe(err: &reqwest::Error) -> String {
    let kind = if err.is_timeout() {
        "timed out"
    } else if err.is_connect() {
        "could not connect"
    } else {
        "request failed"
    };
    let mut detail = kind.to_owned();
    let mut cause = err.source();
    while let Some(e) = cause {
        detail.push_str(": ");
        detail.push_str(&e.to_string());
        cause = e.source();
    }
    detail
}

/// `Retry-After` as delta-seconds or an HTTP date (RFC 9110 §10.2.3); a date in the past
/// means "now".
fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let value = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let when = httpdate::parse_http_date(value).ok()?;
    Some(
        when.duration_since(SystemTime::now())
            .unwrap_or(Duration::ZERO),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    fn headers(retry_after: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        let value = HeaderValue::from_str(retry_after).expect("test header value");
        headers.insert(RETRY_AFTER, value);
        headers
    }

    #[test]
    fn retry_after_in_seconds() {
        assert_eq!(retry_after(&headers("7")), Some(Duration::from_secs(7)));
        assert_eq!(
            retry_after(&headers(" 120 ")),
            Some(Duration::from_secs(120))
        );
    }

    #[test]
    fn retry_after_as_an_http_date() {
        let later = SystemTime::now() + Duration::from_secs(3_600);
        let parsed = retry_after(&headers(&httpdate::fmt_http_date(later))).expect("date");
        assert!(parsed > Duration::from_secs(3_590) && parsed <= Duration::from_secs(3_600));
        let past = "Wed, 21 Oct 2015 07:28:00 GMT";
        assert_eq!(retry_after(&headers(past)), Some(Duration::ZERO));
    }

    #[test]
    fn retry_after_that_is_neither_is_ignored() {
        assert_eq!(retry_after(&headers("soon")), None);
        assert_eq!(retry_after(&headers("-5")), None);
        assert_eq!(retry_after(&HeaderMap::new()), None);
    }

    #[test]
    fn statuses_are_classified() {
        let none = HeaderMap::new();
        let outcome = |code: u16| {
            let status = StatusCode::from_u16(code).expect("test status");
            classify_status(status, &none)
        };
        assert_eq!(outcome(204), AttemptOutcome::Delivered { status: 204 });
        for code in [408, 429, 500, 502, 503, 599] {
            assert!(
                matches!(outcome(code), AttemptOutcome::Retry { .. }),
                "{code}"
            );
        }
        for code in [301, 302, 307, 400, 401, 404, 410, 422] {
            assert!(
                matches!(outcome(code), AttemptOutcome::Final { .. }),
                "{code}"
            );
        }
        assert_eq!(
            outcome(503),
            AttemptOutcome::Retry {
                detail: "HTTP 503".to_owned(),
                retry_after: None
            }
        );
    }
}
