//! What every handler can reach.

use std::sync::Arc;

use metrics_exporter_prometheus::PrometheusHandle;
use tokio::sync::Notify;

use super::auth::CredentialCache;
use crate::clock::Clock;
use crate::config::Settings;
use crate::delivery::Deliverer;
use crate::providers::twilio::media::MediaFetcher;
use crate::store::Store;

#[derive(Clone)]
pub struct AppState {
    pub store: Arc<dyn Store>,
    pub credentials: CredentialCache,
    pub settings: Arc<Settings>,
    /// Sends synchronous messages inline, and applies receipts.
    pub deliverer: Deliverer,
    /// Wakes the delivery workers when a message is queued.
    pub delivery_wake: Arc<Notify>,
    pub metrics: PrometheusHandle,
    pub clock: Clock,
    /// Fetches the media of inbound MMS from Twilio.
    pub inbound_media: Arc<MediaFetcher>,
    /// The last callbacks received by `POST /dev/callbacks`, newest last.
    pub dev_callbacks: Arc<std::sync::Mutex<std::collections::VecDeque<serde_json::Value>>>,
}
