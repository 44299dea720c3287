//! The `outbox` provider: keeps what would have been sent in the database (`GET /dev/outbox`)
//! and reports it delivered at once, so the whole flow works with no provider account.
//! For newcomers and demos; the real providers are tested against their own fakes.

use std::sync::Arc;

use async_trait::async_trait;
use time::OffsetDateTime;

use super::{Outgoing, Provider, Receipt, Reconciled, SendOutcome};
use crate::clock::Clock;
use crate::store::{OutboxEntry, Store};

pub struct OutboxProvider {
    store: Arc<dyn Store>,
    clock: Clock,
}

impl OutboxProvider {
    pub fn new(store: Arc<dyn Store>, clock: Clock) -> Self {
        Self { store, clock }
    }
}

#[async_trait]
impl Provider for OutboxProvider {
    fn name(&self) -> &'static str {
        "outbox"
    }

    /// The outbox keeps one entry per message (a second is ignored), so its hand-over
    /// happened exactly when the entry exists.
    async fn reconcile(&self, m: &Outgoing, _since: OffsetDateTime) -> Reconciled {
        match self.store.outbox_sent(m.message_uuid).await {
            Ok(true) => Reconciled::Sent {
                provider_message_id: provider_message_id(m),
                receipt: Some(Receipt::Delivered),
            },
            Ok(false) => Reconciled::NotFound,
            Err(e) => Reconciled::Unknown {
                detail: format!("outbox unavailable: {e}"),
            },
        }
    }

    async fn send(&self, m: &Outgoing) -> SendOutcome {
        let entry = OutboxEntry {
            message_uuid: m.message_uuid,
            protocol: m.protocol.to_string(),
            from: m.from.clone(),
            to: m.to.clone(),
            cc: m.cc.clone(),
            bcc: m.bcc.clone(),
            subject: m.subject.clone(),
            body: m.body.clone(),
            media_urls: m.media_urls.clone(),
            html_body: m.html_body.clone(),
            attachments: m.attachments.iter().map(|a| a.info.clone()).collect(),
            sent_at: self.clock.now(),
        };
        match self.store.record_outbox(&entry).await {
            Ok(()) => SendOutcome::Accepted {
                provider_message_id: provider_message_id(m),
                receipt: Some(Receipt::Delivered),
            },
            Err(e) => SendOutcome::Transient {
                detail: format!("outbox unavailable: {e}"),
            },
        }
    }
}

fn provider_message_id(m: &Outgoing) -> String {
    format!("outbox-{}", m.message_uuid.simple())
}
