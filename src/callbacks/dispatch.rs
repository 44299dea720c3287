//! The callback queue's workers: claim due callbacks (never two of one message out of order),
//! sign and send each, record the result, and schedule retries (SPEC 6).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Notify;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use super::sender::{AttemptOutcome, CallbackSender};
use crate::clock::Clock;
use crate::config::CallbackSettings;
use crate::domain::credential::WebhookSecret;
use crate::domain::retry_schedule;
use crate::store::{CallbackResult, ClaimedCallback, Store};

const BATCH: u32 = 64;
const POLL_INTERVAL: Duration = Duration::from_millis(200);

#[derive(Clone)]
pub struct Dispatcher {
    store: Arc<dyn Store>,
    sender: CallbackSender,
    settings: CallbackSettings,
    lease: Duration,
    clock: Clock,
}

/// A credential's signing secret, as the store gave it.
#[derive(Clone)]
enum Secret {
    Found(Arc<WebhookSecret>),
    /// The credential no longer exists: its callbacks cannot be signed.
    Gone,
    /// The store could not be read.
    Unreadable,
}

impl Dispatcher {
    /// `lease`: how long a claimed callback belongs to its dispatcher (longer than its timeout).
    pub fn new(
        store: Arc<dyn Store>,
        settings: CallbackSettings,
        lease: Duration,
        clock: Clock,
    ) -> anyhow::Result<Self> {
        let sender = CallbackSender::new(
            Duration::from_secs(settings.timeout_seconds),
            settings.allow_private_networks,
        )?;
        Ok(Self {
            store,
            sender,
            settings,
            lease,
            clock,
        })
    }

    /// Runs `count` dispatchers until `shutdown`.
    pub async fn run(self, count: usize, wake: Arc<Notify>, shutdown: CancellationToken) {
        let mut tasks = JoinSet::new();
        for _ in 0..count {
            tasks.spawn(self.clone().work(wake.clone(), shutdown.clone()));
        }
        while tasks.join_next().await.is_some() {}
    }

    async fn work(self, wake: Arc<Notify>, shutdown: CancellationToken) {
        while !shutdown.is_cancelled() {
            let claimed = match self
                .store
                .claim_callbacks(self.clock.now(), self.lease, BATCH)
                .await
            {
                Ok(c) => c,
                Err(e) => {
                    tracing::error!(error = %e, "claiming callbacks failed");
                    Vec::new()
                }
            };
            let full = claimed.len() as u32 == BATCH;
            // The callbacks of a batch mostly share a credential: its secret is read once.
            let mut secrets: HashMap<String, Secret> = HashMap::new();
            let mut sends = JoinSet::new();
            for callback in claimed {
                let secret = match secrets.get(&callback.credential) {
                    Some(secret) => secret.clone(),
                    None => {
                        let secret = self.secret(&callback.credential).await;
                        secrets.insert(callback.credential.clone(), secret.clone());
                        secret
                    }
                };
                let this = self.clone();
                sends.spawn(async move { this.deliver(callback, secret).await });
            }
            let mut any_done = false;
            while let Some(done) = sends.join_next().await {
                any_done |= matches!(done, Ok(true));
            }
            if any_done {
                // A delivered callback may free the next one of its message.
                wake.notify_one();
            }
            if !full {
                tokio::select! {
                    _ = shutdown.cancelled() => {}
                    _ = wake.notified() => {}
                    _ = tokio::time::sleep(POLL_INTERVAL) => {}
                }
            }
        }
    }

    /// The signing secret of `credential`, read now.
    async fn secret(&self, credential: &str) -> Secret {
        match self.store.credential(credential).await {
            Ok(Some(c)) => Secret::Found(Arc::new(c.webhook_secret)),
            Ok(None) => Secret::Gone,
            Err(e) => {
                tracing::error!(error = %e, "reading the signing secret failed");
                Secret::Unreadable
            }
        }
    }

    /// One attempt at one callback; returns whether it left the queue.
    #[tracing::instrument(skip_all, fields(webhook_id = %callback.webhook_id, message_uuid = %callback.message_uuid))]
    async fn deliver(&self, callback: ClaimedCallback, secret: Secret) -> bool {
        let secret = match secret {
            Secret::Found(secret) => secret,
            Secret::Gone => {
                return self
                    .record(
                        &callback,
                        CallbackResult::Failed {
                            detail: "the credential no longer exists".into(),
                        },
                    )
                    .await;
            }
            // The callback keeps its lease until it expires, then is tried again.
            Secret::Unreadable => return false,
        };
        let timestamp = self.clock.now().unix_timestamp();
        let outcome = self
            .sender
            .send(
                &callback.url,
                &callback.webhook_id,
                timestamp,
                callback.payload.as_bytes(),
                secret.expose(),
            )
            .await;
        let result = match outcome {
            AttemptOutcome::Delivered { status } => CallbackResult::Delivered {
                detail: format!("HTTP {status}"),
            },
            AttemptOutcome::Final { detail } => CallbackResult::Failed { detail },
            AttemptOutcome::Retry {
                detail,
                retry_after,
            } => {
                let retry = callback.attempts as usize + 1;
                match retry_schedule::next_delay(
                    &self.settings.retry_schedule_seconds,
                    retry,
                    0.2,
                    retry_after,
                ) {
                    Some(delay) => CallbackResult::Retry {
                        due_at: self.clock.now() + delay,
                        detail,
                    },
                    None => CallbackResult::Failed {
                        detail: format!("gave up after {retry} attempts: {detail}"),
                    },
                }
            }
        };
        let label = match &result {
            CallbackResult::Delivered { .. } => "delivered",
            CallbackResult::Retry { .. } => "retry",
            CallbackResult::Failed { .. } => "failed",
        };
        metrics::counter!(crate::observability::CALLBACK_ATTEMPTS, "outcome" => label).increment(1);
        match &result {
            CallbackResult::Delivered { .. } => tracing::info!(outcome = label, "callback attempt"),
            // A refused address, a timeout, the receiver's status: the reason is the detail.
            CallbackResult::Retry { detail, .. } | CallbackResult::Failed { detail } => {
                tracing::warn!(
                    outcome = label,
                    message_uuid = %callback.message_uuid,
                    webhook_id = %callback.webhook_id,
                    reason = %detail,
                    "callback attempt"
                )
            }
        }
        self.record(&callback, result).await
    }

    async fn record(&self, callback: &ClaimedCallback, result: CallbackResult) -> bool {
        let leaves = !matches!(result, CallbackResult::Retry { .. });
        match self
            .store
            .finish_callback(callback, result, self.clock.now())
            .await
        {
            Ok(true) => leaves,
            Ok(false) => {
                tracing::warn!("the callback's lease was lost before its result was recorded");
                false
            }
            Err(e) => {
                tracing::error!(error = %e, "recording a callback attempt failed");
                false
            }
        }
    }
}
