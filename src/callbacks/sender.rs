//! One attempt at delivering one callback.

use std::time::Duration;

/// What one attempt came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AttemptOutcome {
    /// Any 2xx.
    Delivered { status: u16 },
    /// Network error, timeout, 408, 429 or 5xx: try again later (`retry_after` from the
    /// `Retry-After` header when it had one).
    Retry { detail: String, retry_after: Option<Duration> },
    /// Any other answer (other 4xx, a redirect, a refused address): do not try again.
    Final { detail: String },
}

/// Sends callbacks: one shared HTTP client with a timeout, no redirects, no proxy, and the
/// address guard unless `allow_private_networks`.
#[derive(Clone)]
pub struct CallbackSender {
    _private: (),
}

impl CallbackSender {
    pub fn new(timeout: Duration, allow_private_networks: bool) -> anyhow::Result<Self> {
        let _ = (timeout, allow_private_networks);
        todo!("STUB: filled in by the callbacks work")
    }

    /// POSTs `body` (JSON) to `url` with the Standard Webhooks headers `webhook-id`,
    /// `webhook-timestamp` (Unix seconds, `timestamp`) and `webhook-signature` signed with
    /// `secret` (`whsec_…`).
    pub async fn send(
        &self,
        url: &str,
        webhook_id: &str,
        timestamp: i64,
        body: &[u8],
        secret: &str,
    ) -> AttemptOutcome {
        let _ = (url, webhook_id, timestamp, body, secret);
        todo!("STUB: filled in by the callbacks work")
    }
}
