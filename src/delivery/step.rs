//! One delivery step for one claimed job: claim → gather the facts (`facts.rs`) → settle an
//! in-doubt hand-over (`doubt.rs`) → plan (`plan.rs`, pure) → reserve the rate-limit windows →
//! hand over to the provider → record the outcome (`outcome.rs`, `record.rs`).

use std::sync::Arc;

use time::OffsetDateTime;
use tokio::sync::Notify;

use super::doubt::{NextAttempt, Settled};
use super::handover::Handover;
use super::plan::{Plan, compose_outgoing, held_update, plan, queued_update};
use crate::clock::Clock;
use crate::config::Settings;
use crate::domain::codes::ErrorCode;
use crate::domain::message::{Message, MessageError, MessageStatus};
use crate::domain::retry_schedule;
use crate::observability;
use crate::providers::{Outgoing, Providers, SendOutcome};
use crate::store::{
    ClaimedJob, JobNext, MessageUpdate, Reservation, SendReservation, Store, Wakeups,
};

/// Whether the step runs inside a synchronous request or in a worker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// The client waits for the answer: no retries, and only carrier receipts are called back.
    Inline,
    /// A worker: transient failures are retried, every outcome is called back.
    Queued,
}

#[derive(Clone)]
pub struct Deliverer {
    pub(super) store: Arc<dyn Store>,
    pub(super) providers: Providers,
    pub(super) settings: Arc<Settings>,
    /// Wakes the callback dispatchers when a step enqueues callbacks.
    pub(super) callbacks_wake: Arc<Notify>,
    /// Wakes the delivery workers when a step queues a message (an opt-in request).
    pub(super) jobs_wake: Arc<Notify>,
    pub(super) clock: Clock,
}

impl Deliverer {
    pub fn new(
        store: Arc<dyn Store>,
        providers: Providers,
        settings: Arc<Settings>,
        wakeups: Wakeups,
        clock: Clock,
    ) -> Self {
        Self {
            store,
            providers,
            settings,
            callbacks_wake: wakeups.callbacks,
            jobs_wake: wakeups.jobs,
            clock,
        }
    }

    /// Wakes this node's callback dispatchers: callbacks were enqueued outside a step.
    pub fn callbacks_queued(&self) {
        self.callbacks_wake.notify_one();
    }

    /// The time the delivery rules see.
    pub fn now(&self) -> OffsetDateTime {
        self.clock.now()
    }

    /// How long a claimed job belongs to its worker.
    pub fn lease(&self) -> std::time::Duration {
        self.settings.delivery.lease()
    }

    /// Runs one step for `job`. Errors are storage failures: the job keeps its lease until it
    /// expires and is then tried again.
    ///
    /// Returns the wait a full rate-limit window asks for, when that is why the message failed.
    pub async fn deliver(
        &self,
        job: &ClaimedJob,
        mode: Mode,
    ) -> anyhow::Result<Option<std::time::Duration>> {
        let message = self.store.message(job.message_uuid).await?;
        self.deliver_loaded(job, message, mode, Handover::none())
            .await
    }

    /// [`Self::deliver`] with the job's message already read (`None`: it does not exist).
    /// `handover` is released once the provider has answered and what its answer changes for
    /// the recipient is recorded (or once the step ends, if nothing was sent), before the
    /// result is written.
    // Every line of a step, a provider's refusal included, carries the message's UUID.
    #[tracing::instrument(name = "delivery", skip_all, fields(message_uuid = %job.message_uuid))]
    pub async fn deliver_loaded(
        &self,
        job: &ClaimedJob,
        message: Option<Message>,
        mode: Mode,
        mut handover: Handover,
    ) -> anyhow::Result<Option<std::time::Duration>> {
        let now = self.clock.now();
        let Some(message) = message else {
            self.finish(job, MessageUpdate::default(), vec![], JobNext::Done)
                .await?;
            return Ok(None);
        };
        if !matches!(
            message.status,
            MessageStatus::Accepted | MessageStatus::Scheduled | MessageStatus::WaitingForOptin
        ) {
            // Already decided (e.g. by an inline send): nothing left to do.
            self.finish(job, MessageUpdate::default(), vec![], JobNext::Done)
                .await?;
            return Ok(None);
        }
        let facts = match self.facts(&message).await? {
            Ok(facts) => facts,
            Err(error) => {
                self.fail(job, &message, error, vec![], mode).await?;
                return Ok(None);
            }
        };
        let outgoing = compose_outgoing(&message, &facts, &self.settings.public_base_url(), now);
        // The attempts this step records with its result, and the number of its own.
        let mut next = NextAttempt::after(job);
        if let Some(doubt) = job.doubt {
            match self
                .settle_doubt(job, &message, &outgoing, doubt, mode)
                .await?
            {
                Settled::Done => return Ok(None),
                Settled::Send(settled) => next = settled,
            }
        }

        let max_age = self.settings.delivery.max_age_seconds;
        let windows = match plan(&message, &facts, job.attempts, now, max_age) {
            Plan::Send { rate_windows } => rate_windows,
            Plan::Refuse(error) => {
                self.fail(job, &message, error, next.history, mode).await?;
                return Ok(None);
            }
            Plan::WaitForOptin => {
                self.wait_for_optin(job, &message, &facts.department, next.history)
                    .await?;
                return Ok(None);
            }
            Plan::Hold { until } => {
                tracing::info!(until = %until, "quiet hours or a holiday: held");
                self.finish(
                    job,
                    held_update(until),
                    next.history,
                    JobNext::Park { until },
                )
                .await?;
                return Ok(None);
            }
        };
        if !windows.is_empty() {
            let reservation = SendReservation {
                message: message.uuid,
                department: message.department_uuid,
                recipient: message.recipient.as_str(),
                manual: message.is_manual,
                windows: &windows,
                now,
            };
            if let Reservation::Refused { retry_after } =
                self.store.reserve_send(&reservation).await?
            {
                let error = MessageError {
                    code: ErrorCode::RateLimitReached,
                    description: format!(
                        "sending limit for this recipient reached; room again in {} s",
                        retry_after.as_secs().max(1)
                    ),
                };
                self.fail(job, &message, error, next.history, mode).await?;
                return Ok(Some(retry_after));
            }
        }

        let deadline = self.settings.delivery.provider_deadline();
        if job.lease.expires_at - self.clock.now() < deadline {
            // Not enough lease left to be sure no other worker takes the job mid-send: back to
            // the queue, due now and free, so the next claim sends it (a lane whose earlier
            // message was slow releases the rest of its messages in order, not after a lease).
            tracing::info!("lease too short to send safely; back to the queue");
            let until = self.clock.now();
            self.finish(
                job,
                queued_update(&message),
                next.history,
                JobNext::Park { until },
            )
            .await?;
            return Ok(None);
        }
        let handed = self
            .hand_over(&message, &outgoing, mode, deadline, &mut handover)
            .await?;
        self.record_outcome(job, &message, &outgoing, handed, next, mode)
            .await?;
        Ok(None)
    }

    /// Hands `outgoing` to the provider within `deadline` (no answer in time: in doubt), and
    /// applies what a permanent refusal says about the recipient; `handover` is released as
    /// soon as nothing in the answer is left to apply.
    async fn hand_over(
        &self,
        message: &Message,
        outgoing: &Outgoing,
        mode: Mode,
        deadline: std::time::Duration,
        handover: &mut Handover,
    ) -> anyhow::Result<HandedOver> {
        let provider = self.providers.for_protocol(message.protocol);
        // Compared with the provider's own clock when reconciling: the system time, not the
        // injectable one.
        let handed_over_at = OffsetDateTime::now_utc();
        // The provider call being timed: a wait for the sender's slot is not part of it.
        let mut call_started = std::time::Instant::now();
        let send = async {
            loop {
                match provider.send(outgoing).await {
                    // The client is waiting for this answer: wait for the sender's slot here.
                    SendOutcome::Deferred { wait } if mode == Mode::Inline => {
                        tokio::time::sleep(wait).await;
                        call_started = std::time::Instant::now();
                    }
                    outcome => return outcome,
                }
            }
        };
        let outcome = match tokio::time::timeout(deadline, send).await {
            Ok(outcome) => outcome,
            // The request may be with the provider already.
            Err(_) => SendOutcome::InDoubt {
                detail: "the provider did not answer in time".into(),
            },
        };
        if !matches!(outcome, SendOutcome::Deferred { .. }) {
            // A deferral never reached the provider: nothing was handed over.
            metrics::histogram!(observability::HANDOVER_SECONDS,
                "protocol" => message.protocol.as_str(), "provider" => provider.name())
            .record(call_started.elapsed().as_secs_f64());
        }
        if !matches!(
            outcome,
            SendOutcome::Permanent {
                effect: Some(_),
                ..
            }
        ) {
            // Nothing this answer says changes what the recipient's next message may do.
            handover.release();
        }
        metrics::counter!(observability::DELIVERY_ATTEMPTS,
            "protocol" => message.protocol.as_str(), "outcome" => outcome_label(&outcome))
        .increment(1);
        if let SendOutcome::Permanent {
            effect: Some(effect),
            ..
        } = outcome
        {
            self.apply_effect(message, effect).await?;
            handover.release();
        }
        Ok(HandedOver {
            outcome,
            at: handed_over_at,
        })
    }

    /// When the job's next attempt is due on the delivery schedule (with jitter); `None` once
    /// the schedule is used up.
    pub(super) fn retry_delay(&self, job: &ClaimedJob) -> Option<std::time::Duration> {
        retry_schedule::next_delay(
            &self.settings.delivery.retry_schedule_seconds,
            job.attempts as usize,
            0.2,
            None,
        )
    }
}

/// A provider's answer to a hand-over, and when the hand-over began (system time).
pub(super) struct HandedOver {
    pub outcome: SendOutcome,
    pub at: OffsetDateTime,
}

fn outcome_label(outcome: &SendOutcome) -> &'static str {
    match outcome {
        SendOutcome::Accepted { .. } => "success",
        SendOutcome::Transient { .. } => "transient",
        SendOutcome::Permanent { .. } => "permanent",
        SendOutcome::Deferred { .. } => "deferred",
        SendOutcome::InDoubt { .. } => "in_doubt",
    }
}
