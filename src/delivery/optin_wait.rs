//! A customer TEXT to a number not yet opted in, sent with `queueIfOptedOut` (SPEC 5.2): it
//! waits in the queue for the number's answer to an opt-in request.

use anyhow::Context as _;

use super::own_messages;
use super::record::callback;
use super::step::Deliverer;
use crate::domain::codes::ErrorCode;
use crate::domain::directory::Department;
use crate::domain::message::{Message, MessageError, MessageStatus};
use crate::domain::optout::OptSource;
use crate::store::{AttemptRecord, ClaimedJob, JobNext, MessageUpdate};

impl Deliverer {
    /// `queueIfOptedOut` on a `NOT_SET` number (SPEC 5.2): the message waits, parked until the
    /// department's timeout, and the number gets an opt-in request (at most one a day). An
    /// opt-in releases the job early; at the timeout the message expires.
    pub(super) async fn wait_for_optin(
        &self,
        job: &ClaimedJob,
        message: &Message,
        department: &Department,
        history: Vec<AttemptRecord>,
    ) -> anyhow::Result<()> {
        let timeout =
            time::Duration::seconds(department.settings.optin_queue_timeout_seconds as i64);
        let expires_at = message.created_at + timeout;
        let now = self.clock.now();
        if now >= expires_at {
            let error = MessageError {
                code: ErrorCode::QueuedMessageExpired,
                description: "the number did not opt in before the department's timeout".into(),
            };
            let mut update = MessageUpdate {
                status: Some(MessageStatus::Expired),
                error: Some(error.clone()),
                ..MessageUpdate::default()
            };
            if self.settings.callbacks.notify_on_expiry {
                update
                    .callbacks
                    .extend(callback(message, MessageStatus::Expired, Some(error)));
            }
            tracing::info!("message expired waiting for opt-in");
            self.end(job, message, update, history).await?;
            return Ok(());
        }
        if message.status != MessageStatus::WaitingForOptin {
            let phone = message
                .recipient
                .phone()
                .context("a TEXT message's recipient is a number")?;
            // The history names the request that accepted the waiting send.
            let asked_by = own_messages::Asker {
                source: OptSource::QueuedSend,
                request_id: Some(message.request_uuid),
                actor: message.credential.clone(),
            };
            own_messages::request_optin(
                &self.store,
                &self.jobs_wake,
                department,
                message.customer_uuid,
                phone,
                asked_by,
                now,
            )
            .await?;
        }
        let update = MessageUpdate {
            status: Some(MessageStatus::WaitingForOptin),
            ..MessageUpdate::default()
        };
        self.finish(job, update, history, JobNext::Park { until: expires_at })
            .await?;
        Ok(())
    }
}
