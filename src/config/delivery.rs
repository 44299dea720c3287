//! `[delivery]` and `[callbacks]`: the workers that hand messages to providers and report
//! their outcomes, and how long and how often they try.

use serde::Deserialize;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CallbackSettings {
    /// Lets callbacks reach loopback, private and link-local addresses.
    pub allow_private_networks: bool,
    pub timeout_seconds: u64,
    pub retry_schedule_seconds: Vec<u64>,
    /// Send a `QUEUED_MESSAGE_EXPIRED` callback when a message waiting for opt-in expires.
    pub notify_on_expiry: bool,
    /// Callback senders in this process; 0 leaves callbacks to other nodes.
    pub workers: usize,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeliverySettings {
    pub retry_schedule_seconds: Vec<u64>,
    /// A message not handed to a provider within this long after acceptance fails.
    pub max_age_seconds: u64,
    /// Delivery workers in this process; 0 makes an API-only node that leaves sending to others.
    pub workers: usize,
    /// How long a claimed job or callback belongs to its worker. A worker that dies holds its
    /// work this long; a provider call may take at most half of it.
    pub lease_seconds: u64,
}

impl DeliverySettings {
    pub fn lease(&self) -> std::time::Duration {
        std::time::Duration::from_secs(self.lease_seconds)
    }

    /// The longest Herald waits for a provider: half the lease, so a live worker never loses
    /// a job mid-send.
    pub fn provider_deadline(&self) -> std::time::Duration {
        self.lease() / 2
    }
}
