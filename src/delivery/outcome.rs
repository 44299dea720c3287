//! What a provider's answer to a hand-over makes of the message: `SENT`, retried, asked about
//! again (in doubt), back in the queue for the sender's next slot, or `FAILED`.

use super::doubt::NextAttempt;
use super::plan::{give_up_error, queued_update};
use super::step::{Deliverer, HandedOver, Mode};
use crate::domain::message::{Message, MessageError};
use crate::providers::{Outgoing, SendOutcome};
use crate::store::{ClaimedJob, JobNext};

impl Deliverer {
    /// Records the step's result from the provider's answer, with the attempt it makes.
    pub(super) async fn record_outcome(
        &self,
        job: &ClaimedJob,
        message: &Message,
        outgoing: &Outgoing,
        handed: HandedOver,
        next: NextAttempt,
        mode: Mode,
    ) -> anyhow::Result<()> {
        let NextAttempt {
            mut history,
            attempt_no,
            possible_duplicate,
        } = next;
        let HandedOver {
            outcome,
            at: handed_over_at,
        } = handed;
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
                    self.sent_update(message, outgoing, provider_message_id, receipt, mode);
                self.end(job, message, update, history).await?;
                Ok(())
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
                self.finish(job, queued_update(message), history, next)
                    .await?;
                Ok(())
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
                        self.finish(job, queued_update(message), history, next)
                            .await?;
                        Ok(())
                    }
                    None => {
                        let error = give_up_error(message, &detail);
                        self.fail(job, message, error, history, mode).await?;
                        Ok(())
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
                    queued_update(message),
                    history,
                    JobNext::Park { until },
                )
                .await?;
                Ok(())
            }
            // What a refusal says about the recipient is applied with the hand-over.
            SendOutcome::Permanent { code, detail, .. } => {
                history.push(self.attempt(
                    attempt_no,
                    "PERMANENT",
                    Some(code.to_string()),
                    Some(detail.clone()),
                ));
                let error = MessageError {
                    code,
                    description: detail,
                };
                self.fail(job, message, error, history, mode).await?;
                Ok(())
            }
        }
    }
}
