//! Writing a step's result: the message's change, the attempts, the job's next state and the
//! callbacks, in one store call; counting a message's final outcome once.

use anyhow::Context as _;
use uuid::Uuid;

use super::plan::receipt_outcome;
use super::step::{Deliverer, Mode};
use crate::domain::message::{Message, MessageError, MessageStatus};
use crate::domain::report::MessageReport;
use crate::observability;
use crate::providers::{Outgoing, Receipt};
use crate::store::{AttemptRecord, ClaimedJob, JobNext, MessageUpdate, NewCallback};

impl Deliverer {
    /// One attempt of the history, at the injectable clock's time.
    pub(super) fn attempt(
        &self,
        n: u32,
        outcome: &str,
        error_code: Option<String>,
        detail: Option<String>,
    ) -> AttemptRecord {
        AttemptRecord {
            attempt: n,
            at: self.clock.now(),
            outcome: outcome.into(),
            error_code,
            detail,
        }
    }

    /// A message handed over: `SENT` with the provider's id, the body and sender as sent, and
    /// its callback; a delivery report known at once is recorded with it, in one transaction
    /// (a crash between the two would leave the message SENT for ever).
    pub(super) fn sent_update(
        &self,
        message: &Message,
        outgoing: &Outgoing,
        provider_message_id: String,
        receipt: Option<Receipt>,
        mode: Mode,
    ) -> MessageUpdate {
        let mut update = MessageUpdate {
            status: Some(MessageStatus::Sent),
            provider_message_id: Some(provider_message_id),
            composed_body: Some(outgoing.body.clone()),
            sender: Some(outgoing.from.clone()),
            ..MessageUpdate::default()
        };
        if mode == Mode::Queued {
            update
                .callbacks
                .extend(callback(message, MessageStatus::Sent, None));
        }
        if let Some(receipt) = receipt {
            let (status, error) = receipt_outcome(message, receipt);
            update
                .callbacks
                .extend(callback(message, status, error.clone()));
            update.status = Some(status);
            update.error = error;
        }
        update
    }

    /// Ends the message `FAILED` with `error`, calling back queued messages.
    pub(super) async fn fail(
        &self,
        job: &ClaimedJob,
        message: &Message,
        error: MessageError,
        attempts: Vec<AttemptRecord>,
        mode: Mode,
    ) -> anyhow::Result<()> {
        tracing::warn!(
            message_uuid = %job.message_uuid,
            code = %error.code,
            "message failed"
        );
        let mut update = MessageUpdate {
            status: Some(MessageStatus::Failed),
            error: Some(error.clone()),
            ..MessageUpdate::default()
        };
        if mode == Mode::Queued {
            update
                .callbacks
                .extend(callback(message, MessageStatus::Failed, Some(error)));
        }
        self.end(job, message, update, attempts).await
    }

    /// Records the step that ends `message`'s delivery (its job done) with `update`, and
    /// counts the outcome when it is final. Every final status a step records passes here, and
    /// a step only runs on a message not yet decided (see [`Self::deliver_loaded`]), so a
    /// message is counted once however many steps, retries or reconciliations it took.
    pub(super) async fn end(
        &self,
        job: &ClaimedJob,
        message: &Message,
        update: MessageUpdate,
        attempts: Vec<AttemptRecord>,
    ) -> anyhow::Result<()> {
        self.record(job, update, attempts, JobNext::Done, Some(message))
            .await?;
        Ok(())
    }

    /// `herald_messages_final_total` and the end-to-end latency, for a final `status` just
    /// recorded (`SENT` is not final: the carrier's receipt ends the message later).
    pub(super) fn count_final(&self, message: &Message, status: MessageStatus) {
        if !status.is_final() {
            return;
        }
        let due =
            message.created_at + time::Duration::seconds(message.options.delay_seconds as i64);
        let seconds = (self.clock.now() - due).as_seconds_f64().max(0.0);
        let (protocol, status) = (message.protocol.as_str(), status.as_str());
        metrics::counter!(observability::MESSAGES_FINAL, "protocol" => protocol, "status" => status)
            .increment(1);
        metrics::histogram!(observability::END_TO_END_SECONDS, "protocol" => protocol, "status" => status)
            .record(seconds);
    }

    pub(super) async fn finish(
        &self,
        job: &ClaimedJob,
        update: MessageUpdate,
        attempts: Vec<AttemptRecord>,
        next: JobNext,
    ) -> anyhow::Result<bool> {
        self.record(job, update, attempts, next, None).await
    }

    /// Records the step's result; with `ends`, counts the message's outcome before its
    /// callbacks can go out (a client told of an outcome finds it on /metrics).
    async fn record(
        &self,
        job: &ClaimedJob,
        update: MessageUpdate,
        attempts: Vec<AttemptRecord>,
        next: JobNext,
        ends: Option<&Message>,
    ) -> anyhow::Result<bool> {
        let wakes = !update.callbacks.is_empty();
        let status = update.status;
        let held = self
            .store
            .finish_job(job, update, attempts, next, self.clock.now())
            .await
            .context("recording a delivery step")?;
        if !held {
            // Nothing was recorded: whoever holds the job now ends it, and counts it.
            tracing::warn!("the job's lease was lost before its result was recorded");
            return Ok(false);
        }
        if let (Some(message), Some(status)) = (ends, status) {
            self.count_final(message, status);
        }
        if wakes {
            self.callbacks_wake.notify_one();
        }
        Ok(true)
    }
}

/// The callback for `message` moving to `status`, if the client asked for callbacks.
pub fn callback(
    message: &Message,
    status: MessageStatus,
    error: Option<MessageError>,
) -> Option<NewCallback> {
    let url = message.callback_url.clone()?;
    let credential = message.credential.clone()?;
    let mut after = message.clone();
    after.status = status;
    if error.is_some() {
        after.error = error;
    }
    Some(NewCallback {
        // Time-ordered, so a new callback lands at the end of the table's key, not on a random page.
        webhook_id: format!("msg_{}", Uuid::now_v7().simple()),
        url,
        credential,
        payload: MessageReport::of(&after, message.request_uuid).to_json(),
    })
}
