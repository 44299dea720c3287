//! One delivery step for one claimed job: gather the facts, apply the rules, compose, hand to
//! the provider, record the outcome with its callbacks.

use std::sync::Arc;

use anyhow::Context as _;
use time::OffsetDateTime;
use tokio::sync::Notify;
use uuid::Uuid;

use super::handover::Handover;
use super::own_messages;
use crate::clock::Clock;
use crate::config::Settings;
use crate::domain::codes;
use crate::domain::compose::{compose, email_from, email_subject};
use crate::domain::directory::Department;
use crate::domain::message::{Message, MessageError, MessageStatus, Protocol, Purpose};
use crate::domain::optout::{OptCause, OptEvent, OptSource, OptState};
use crate::domain::policy::{Decision, DeliveryFacts, decide};
use crate::domain::report::MessageReport;
use crate::domain::retry_schedule;
use crate::domain::{EmailAddress, PhoneNumber};
use crate::observability;
use crate::providers::{Effect, Outgoing, Providers, Receipt, Reconciled, SendOutcome};
use crate::store::{
    AttemptRecord, ClaimedJob, Doubt, EmailOptChange, JobNext, MessageUpdate, NewCallback,
    OptChange, Reservation, SendReservation, Store, Wakeups,
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
    store: Arc<dyn Store>,
    providers: Providers,
    settings: Arc<Settings>,
    /// Wakes the callback dispatchers when a step enqueues callbacks.
    callbacks_wake: Arc<Notify>,
    /// Wakes the delivery workers when a step queues a message (an opt-in request).
    jobs_wake: Arc<Notify>,
    clock: Clock,
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
        let outgoing = facts.outgoing;
        // The attempts this step records with its result, and the number of its own.
        let mut history = Vec::new();
        let mut attempt_no = job.attempts + 1;
        let mut possible_duplicate = false;
        if let Some(doubt) = job.doubt {
            match self
                .settle_doubt(job, &message, &outgoing, doubt, mode)
                .await?
            {
                Settled::Done => return Ok(None),
                Settled::Send {
                    history: settled,
                    attempt_no: next,
                    possible_duplicate: unaskable,
                } => {
                    history = settled;
                    attempt_no = next;
                    possible_duplicate = unaskable;
                }
            }
        }

        let age = now
            - message.created_at
            - time::Duration::seconds(message.options.delay_seconds as i64);
        if job.attempts > 0 && age.whole_seconds() > self.settings.delivery.max_age_seconds as i64 {
            let error = give_up_error(
                &message,
                "not handed to the provider within delivery.max_age_seconds",
            );
            self.fail(job, &message, error, history, mode).await?;
            return Ok(None);
        }
        match decide(&facts.delivery) {
            Decision::Send => {}
            Decision::Refuse { code, description } => {
                let error = MessageError {
                    code: code.into(),
                    description,
                };
                self.fail(job, &message, error, history, mode).await?;
                return Ok(None);
            }
            Decision::WaitForOptin => {
                self.wait_for_optin(job, &message, &facts.department, history)
                    .await?;
                return Ok(None);
            }
        }
        if message.purpose == Purpose::Customer {
            let limits = facts.department.settings.rate_limits;
            let hour = std::time::Duration::from_secs(3600);
            let windows: Vec<(std::time::Duration, u32)> = if message.is_manual {
                vec![(hour, limits.manual_per_hour)]
            } else {
                vec![
                    (hour, limits.automated_per_hour),
                    (hour * 24, limits.automated_per_day),
                ]
            };
            let reservation = SendReservation {
                message: message.uuid,
                department: message.department_uuid,
                recipient: &message.recipient,
                manual: message.is_manual,
                windows: &windows,
                now,
            };
            if let Reservation::Refused { retry_after } =
                self.store.reserve_send(&reservation).await?
            {
                let error = MessageError {
                    code: codes::RATE_LIMIT_REACHED.into(),
                    description: format!(
                        "sending limit for this recipient reached; room again in {} s",
                        retry_after.as_secs().max(1)
                    ),
                };
                self.fail(job, &message, error, history, mode).await?;
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
                history,
                JobNext::Park { until },
            )
            .await?;
            return Ok(None);
        }
        let provider = self.providers.for_protocol(message.protocol);
        // Compared with the provider's own clock when reconciling: the system time, not the
        // injectable one.
        let handed_over_at = OffsetDateTime::now_utc();
        // The provider call being timed: a wait for the sender's slot is not part of it.
        let mut call_started = std::time::Instant::now();
        let send = async {
            loop {
                match provider.send(&outgoing).await {
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
        match outcome {
            SendOutcome::Accepted {
                provider_message_id,
                receipt,
            } => {
                let detail = possible_duplicate.then(|| {
                    "possible duplicate: an earlier hand-over's outcome is unknown and this \
                     protocol cannot be asked; sent again the same way (same Message-ID)"
                        .to_string()
                });
                history.push(self.attempt(attempt_no, "SUCCESS", None, detail));
                let update =
                    self.sent_update(&message, &outgoing, provider_message_id, receipt, mode);
                self.end(job, &message, update, history).await?;
                Ok(None)
            }
            SendOutcome::InDoubt { detail } => {
                // Never sent again blindly: the next step asks the provider first. An inline
                // send leaves the message queued for that (the client sees it ACCEPTED).
                tracing::warn!(attempt = attempt_no, %detail, "hand-over in doubt; the provider will be asked before any resend");
                history.push(self.attempt(attempt_no, "IN_DOUBT", None, Some(detail)));
                let delay = self.retry_delay(job).unwrap_or_default();
                let next = JobNext::Retry {
                    due_at: self.clock.now() + delay,
                    in_doubt_since: Some(handed_over_at),
                };
                self.finish(job, queued_update(&message), history, next)
                    .await?;
                Ok(None)
            }
            SendOutcome::Transient { detail } => {
                let next = (mode == Mode::Queued)
                    .then(|| self.retry_delay(job))
                    .flatten();
                history.push(self.attempt(attempt_no, "TRANSIENT", None, Some(detail.clone())));
                match next {
                    Some(delay) => {
                        let due_at = self.clock.now() + delay;
                        tracing::info!(
                            attempt = attempt_no,
                            retry_in_s = delay.as_secs(),
                            "transient failure, will retry"
                        );
                        let next = JobNext::Retry {
                            due_at,
                            in_doubt_since: None,
                        };
                        self.finish(job, queued_update(&message), history, next)
                            .await?;
                        Ok(None)
                    }
                    None => {
                        let error = give_up_error(&message, &detail);
                        self.fail(job, &message, error, history, mode).await?;
                        Ok(None)
                    }
                }
            }
            SendOutcome::Deferred { wait } => {
                // Nothing reached the provider: back to the queue for the sender's next slot,
                // with no attempt recorded.
                tracing::debug!(
                    wait_ms = wait.as_millis() as u64,
                    "sender pace used up, waiting in the queue"
                );
                let until = self.clock.now() + wait;
                self.finish(
                    job,
                    queued_update(&message),
                    history,
                    JobNext::Park { until },
                )
                .await?;
                Ok(None)
            }
            SendOutcome::Permanent {
                code,
                detail,
                effect,
            } => {
                if let Some(effect) = effect {
                    self.apply_effect(&message, effect).await?;
                    handover.release();
                }
                history.push(self.attempt(
                    attempt_no,
                    "PERMANENT",
                    Some(code.to_string()),
                    Some(detail.clone()),
                ));
                let error = MessageError {
                    code: code.into(),
                    description: detail,
                };
                self.fail(job, &message, error, history, mode).await?;
                Ok(None)
            }
        }
    }

    /// When the job's next attempt is due on the delivery schedule (with jitter); `None` once
    /// the schedule is used up.
    /// One attempt of the history, at the injectable clock's time.
    fn attempt(
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

    fn retry_delay(&self, job: &ClaimedJob) -> Option<std::time::Duration> {
        retry_schedule::next_delay(
            &self.settings.delivery.retry_schedule_seconds,
            job.attempts as usize,
            0.2,
            None,
        )
    }

    /// A message handed over: `SENT` with the provider's id, the body and sender as sent, and
    /// its callback; a delivery report known at once is recorded with it, in one transaction
    /// (a crash between the two would leave the message SENT for ever).
    fn sent_update(
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

    /// An earlier hand-over of this message may have reached the provider (SPEC 6): ask it
    /// before anything is sent. Found, the message is recorded as sent with the provider's id
    /// and nothing is sent; not found, the step goes on to send it; not answerable, the
    /// question is asked again on the delivery schedule and nothing is sent meanwhile.
    async fn settle_doubt(
        &self,
        job: &ClaimedJob,
        message: &Message,
        outgoing: &Outgoing,
        doubt: Doubt,
        mode: Mode,
    ) -> anyhow::Result<Settled> {
        let since = doubt.since.unwrap_or(message.created_at);
        let provider = self.providers.for_protocol(message.protocol);
        // A retaken job's in-doubt hand-over was never counted; a recorded one was.
        let doubtful = if doubt.retaken {
            job.attempts + 1
        } else {
            job.attempts.max(1)
        };
        let mut history = Vec::new();
        if doubt.retaken {
            let mut row = self.attempt(
                doubtful,
                "IN_DOUBT",
                None,
                Some(
                    "the step handing it over ended before recording what the provider answered"
                        .into(),
                ),
            );
            row.at = since;
            history.push(row);
        }
        let verdict = provider.reconcile(outgoing, since).await;
        metrics::counter!(observability::RECONCILIATIONS,
            "provider" => provider.name(), "outcome" => reconciled_label(&verdict))
        .increment(1);
        match verdict {
            Reconciled::Sent {
                provider_message_id,
                receipt,
            } => {
                tracing::info!(provider = provider.name(), %provider_message_id, "in-doubt hand-over found at the provider; not sending again");
                history.push(self.attempt(
                    doubtful,
                    "RECONCILED_SENT",
                    None,
                    Some(format!(
                        "{} has it as {provider_message_id}",
                        provider.name()
                    )),
                ));
                let update =
                    self.sent_update(message, outgoing, provider_message_id, receipt, mode);
                self.end(job, message, update, history).await?;
                Ok(Settled::Done)
            }
            Reconciled::NotFound => {
                tracing::info!(
                    provider = provider.name(),
                    "in-doubt hand-over not found at the provider; sending"
                );
                history.push(self.attempt(
                    doubtful,
                    "RECONCILED_NOT_FOUND",
                    None,
                    Some(format!("{} has no such message", provider.name())),
                ));
                Ok(Settled::Send {
                    history,
                    attempt_no: doubtful + 1,
                    possible_duplicate: false,
                })
            }
            Reconciled::Unaskable => Ok(Settled::Send {
                history,
                attempt_no: doubtful + 1,
                possible_duplicate: true,
            }),
            Reconciled::Unknown { detail } => {
                tracing::warn!(provider = provider.name(), %detail, "cannot ask the provider about an in-doubt hand-over; asking again later");
                history.push(self.attempt(
                    doubtful,
                    "IN_DOUBT",
                    None,
                    Some(format!("could not ask {}: {detail}", provider.name())),
                ));
                let next = self.retry_delay(job);
                match next {
                    Some(delay) => {
                        let next = JobNext::Retry {
                            due_at: self.clock.now() + delay,
                            in_doubt_since: Some(since),
                        };
                        self.finish(job, queued_update(message), history, next)
                            .await?;
                    }
                    None => {
                        let error = give_up_error(
                            message,
                            "an earlier hand-over's outcome stayed unknown: the provider could \
                             not be asked, so the message was not sent again",
                        );
                        self.fail(job, message, error, history, mode).await?;
                    }
                }
                Ok(Settled::Done)
            }
        }
    }

    /// `queueIfOptedOut` on a `NOT_SET` number (SPEC 5.2): the message waits, parked until the
    /// department's timeout, and the number gets an opt-in request (at most one a day). An
    /// opt-in releases the job early; at the timeout the message expires.
    async fn wait_for_optin(
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
                code: codes::QUEUED_MESSAGE_EXPIRED.into(),
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
            let phone = PhoneNumber::parse(&message.recipient).context("stored recipient")?;
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
                &phone,
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

    /// Ends the message `FAILED` with `error`, calling back queued messages.
    async fn fail(
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
    async fn end(
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
    fn count_final(&self, message: &Message, status: MessageStatus) {
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

    async fn finish(
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

    /// A delivery report: moves the message forward (never back) and calls the client back.
    pub async fn apply_receipt(&self, message: &Message, receipt: Receipt) -> anyhow::Result<bool> {
        let (status, error) = receipt_outcome(message, receipt);
        let cb = callback(message, status, error.clone());
        let wakes = cb.is_some();
        let moved = self
            .store
            .apply_receipt(message.uuid, status, error, cb, self.clock.now())
            .await?;
        if moved {
            // The store moves a message only out of a non-final status: once per message.
            self.count_final(message, status);
            if wakes {
                self.callbacks_wake.notify_one();
            }
        }
        Ok(moved)
    }

    async fn apply_effect(&self, message: &Message, effect: Effect) -> anyhow::Result<()> {
        let now = self.clock.now();
        match effect {
            Effect::OptOutNumber => {
                if let Ok(phone) = PhoneNumber::parse(&message.recipient) {
                    let change = OptChange {
                        phone: &phone,
                        event: OptEvent::StopMessageReceived,
                        source: OptSource::Provider,
                        cause: &OptCause::message(message.uuid),
                    };
                    self.store
                        .apply_opt_changes(message.dealer_uuid, &[change], now)
                        .await?;
                }
            }
            Effect::StopEmailing => {
                if let Ok(email) = EmailAddress::parse(&message.recipient) {
                    let change = EmailOptChange {
                        email: &email,
                        ok_to_email: false,
                        event: OptEvent::ProviderReportedOptOut,
                        source: OptSource::Provider,
                        cause: &OptCause::message(message.uuid),
                    };
                    self.store
                        .set_ok_to_email(message.dealer_uuid, &change, now)
                        .await?;
                }
            }
        }
        Ok(())
    }

    /// Everything the rules and the provider need, read fresh at send time.
    async fn facts(&self, message: &Message) -> anyhow::Result<Result<Facts, MessageError>> {
        let internal = |what: &str| MessageError {
            code: codes::INTERNAL_SERVER_ERROR.into(),
            description: what.into(),
        };
        let Some(department) = self.store.department(message.department_uuid).await? else {
            return Ok(Err(internal("the department no longer exists")));
        };
        let Some(dealer) = self.store.dealer(message.dealer_uuid).await? else {
            return Ok(Err(internal("the dealer no longer exists")));
        };
        let user = match message.user_uuid {
            Some(uuid) => self.store.user(uuid).await?,
            None => None,
        };
        let customer = match message.customer_uuid {
            Some(uuid) => self.store.customer(message.dealer_uuid, uuid).await?,
            None => None,
        };
        let settings = &department.settings;
        let (opt_state, contact_ok, blacklisted, sender_configured) = match message.protocol {
            Protocol::Text => {
                let phone = PhoneNumber::parse(&message.recipient).context("stored recipient")?;
                let opt = self.store.opt_status(message.dealer_uuid, &phone).await?;
                let ok = customer
                    .as_ref()
                    .and_then(|c| c.phone(&phone))
                    .is_none_or(|p| p.ok_to_text);
                (opt.state, ok, false, settings.text_sender_number.is_some())
            }
            Protocol::Email => {
                let email = EmailAddress::parse(&message.recipient).context("stored recipient")?;
                let ok = customer
                    .as_ref()
                    .and_then(|c| c.email(&email))
                    .is_none_or(|e| e.ok_to_email);
                let blacklisted = self.is_blacklisted(message.dealer_uuid, &email).await?;
                (
                    OptState::NotSet,
                    ok,
                    blacklisted,
                    settings.email_sender.is_some(),
                )
            }
        };
        let delivery = DeliveryFacts {
            purpose: message.purpose,
            protocol: message.protocol,
            opt_state,
            override_optout: message.override_optout,
            queue_if_opted_out: message.options.queue_if_opted_out,
            contact_ok,
            sender_configured,
            blacklisted,
        };
        let body = match (&user, message.purpose) {
            (Some(user), Purpose::Customer) => compose(
                message.protocol,
                &message.body,
                &message.options,
                user,
                settings,
            ),
            _ => message.body.clone(),
        };
        let (from, subject) = match message.protocol {
            Protocol::Text => (
                settings
                    .text_sender_number
                    .as_ref()
                    .map(|n| n.to_string())
                    .unwrap_or_default(),
                None,
            ),
            Protocol::Email => (
                settings
                    .email_sender
                    .as_ref()
                    .map(|a| email_from(a.as_str(), settings.email_sender_name.as_deref()))
                    .unwrap_or_default(),
                Some(email_subject(message.subject.as_deref(), settings, &dealer)),
            ),
        };
        let media_urls = if message.protocol == Protocol::Text && message.options.send_v_card {
            vec![format!(
                "{}/vcard/{}.vcf",
                self.settings.public_base_url(),
                department.uuid
            )]
        } else {
            Vec::new()
        };
        let outgoing = Outgoing {
            message_uuid: message.uuid,
            protocol: message.protocol.as_str(),
            from,
            to: message.recipient.clone(),
            cc: message.cc.clone(),
            bcc: message.bcc.clone(),
            subject,
            body,
            media_urls,
        };
        Ok(Ok(Facts {
            delivery,
            outgoing,
            department,
        }))
    }

    /// The dealer's blacklist, then the operator's global one (config).
    pub async fn is_blacklisted(&self, dealer: Uuid, email: &EmailAddress) -> anyhow::Result<bool> {
        let global = &self.settings.blacklist;
        if global
            .emails
            .iter()
            .any(|e| e.eq_ignore_ascii_case(email.as_str()))
            || global.domains.iter().any(|d| {
                d.trim_start_matches('@')
                    .eq_ignore_ascii_case(email.domain())
            })
        {
            return Ok(true);
        }
        Ok(self.store.is_blacklisted(dealer, email).await?)
    }
}

/// What settling an in-doubt hand-over leaves the step to do.
enum Settled {
    /// Its result is recorded: nothing is sent.
    Done,
    /// Send, numbering the hand-over `attempt_no` and recording `history` before it.
    Send {
        history: Vec<AttemptRecord>,
        attempt_no: u32,
        possible_duplicate: bool,
    },
}

struct Facts {
    delivery: DeliveryFacts,
    outgoing: Outgoing,
    department: Department,
}

/// The change a step that leaves `message` queued makes: a `SCHEDULED` message whose held time
/// has come is `ACCEPTED` from then on, written with the step's own result (no write of its own).
fn queued_update(message: &Message) -> MessageUpdate {
    MessageUpdate {
        status: (message.status == MessageStatus::Scheduled).then_some(MessageStatus::Accepted),
        ..MessageUpdate::default()
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

/// The status and error a delivery report gives a message.
fn receipt_outcome(message: &Message, receipt: Receipt) -> (MessageStatus, Option<MessageError>) {
    match receipt {
        Receipt::Delivered => (MessageStatus::Delivered, None),
        Receipt::Undelivered { code, detail } => (
            MessageStatus::Undelivered,
            Some(MessageError {
                code: code
                    .unwrap_or_else(|| provider_failure_code(message.protocol))
                    .into(),
                description: detail,
            }),
        ),
    }
}

/// The seed's code for a provider that failed to take a message.
fn provider_failure_code(protocol: Protocol) -> &'static str {
    match protocol {
        Protocol::Text => codes::TWILIO_SENDING_FAILURE,
        Protocol::Email => codes::INTERNAL_SERVER_ERROR,
    }
}

fn give_up_error(message: &Message, detail: &str) -> MessageError {
    MessageError {
        code: provider_failure_code(message.protocol).into(),
        description: detail.to_string(),
    }
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

fn reconciled_label(verdict: &Reconciled) -> &'static str {
    match verdict {
        Reconciled::Sent { .. } => "sent",
        Reconciled::NotFound => "not_found",
        Reconciled::Unknown { .. } => "unknown",
        Reconciled::Unaskable => "resent",
    }
}
