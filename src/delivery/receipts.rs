//! What a provider tells Herald after a hand-over: a delivery report moving the message on, and
//! what a permanent refusal says about the recipient (an opted-out number, an address to stop
//! emailing).

use super::plan::receipt_outcome;
use super::record::callback;
use super::step::Deliverer;
use crate::domain::message::Message;
use crate::domain::optout::{OptCause, OptEvent, OptSource};
use crate::providers::{Effect, Receipt};
use crate::store::{EmailOptChange, OptChange};

impl Deliverer {
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

    pub(super) async fn apply_effect(
        &self,
        message: &Message,
        effect: Effect,
    ) -> anyhow::Result<()> {
        let now = self.clock.now();
        match effect {
            Effect::OptOutNumber => {
                if let Some(phone) = message.recipient.phone() {
                    let change = OptChange {
                        phone,
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
                if let Some(email) = message.recipient.email() {
                    let change = EmailOptChange {
                        email,
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
}
