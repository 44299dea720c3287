//! A hand-over whose outcome is unknown (a timeout, a dropped connection, a crash mid-step) is
//! never sent again blindly: the provider is asked first (SPEC 6).

use super::plan::{give_up_error, queued_update};
use super::step::{Deliverer, Mode};
use crate::domain::message::Message;
use crate::observability;
use crate::providers::{Outgoing, Reconciled};
use crate::store::{AttemptRecord, ClaimedJob, Doubt, JobNext};

/// What settling an in-doubt hand-over leaves the step to do.
pub(super) enum Settled {
    /// Its result is recorded: nothing is sent.
    Done,
    /// Send, as this attempt.
    Send(NextAttempt),
}

/// The hand-over a step is about to make: numbered `attempt_no`, recorded after `history`.
pub(super) struct NextAttempt {
    pub history: Vec<AttemptRecord>,
    pub attempt_no: u32,
    /// An earlier hand-over's outcome is unknown and the protocol cannot be asked.
    pub possible_duplicate: bool,
}

impl NextAttempt {
    /// A job's next hand-over when no earlier one is in doubt.
    pub(super) fn after(job: &ClaimedJob) -> Self {
        Self {
            history: Vec::new(),
            attempt_no: job.attempts + 1,
            possible_duplicate: false,
        }
    }
}

impl Deliverer {
    /// An earlier hand-over of this message may have reached the provider (SPEC 6): ask it
    /// before anything is sent. Found, the message is recorded as sent with the provider's id
    /// and nothing is sent; not found, the step goes on to send it; not answerable, the
    /// question is asked again on the delivery schedule and nothing is sent meanwhile.
    pub(super) async fn settle_doubt(
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
                Ok(Settled::Send(NextAttempt {
                    history,
                    attempt_no: doubtful + 1,
                    possible_duplicate: false,
                }))
            }
            Reconciled::Unaskable => Ok(Settled::Send(NextAttempt {
                history,
                attempt_no: doubtful + 1,
                possible_duplicate: true,
            })),
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
}

fn reconciled_label(verdict: &Reconciled) -> &'static str {
    match verdict {
        Reconciled::Sent { .. } => "sent",
        Reconciled::NotFound => "not_found",
        Reconciled::Unknown { .. } => "unknown",
        Reconciled::Unaskable => "resent",
    }
}
