//! The reads a delivery step makes before the rules (`plan.rs`) decide: the department,
//! dealer, user and customer, the number's opt state, the blacklists.

use super::plan::Facts;
use super::step::Deliverer;
use crate::domain::codes::ErrorCode;
use crate::domain::message::{Message, MessageError, Protocol, Recipient};
use crate::domain::optout::OptState;
use crate::domain::policy::DeliveryFacts;
use crate::store::MediaKey;
use crate::store::blacklist::is_blacklisted;

impl Deliverer {
    /// Everything the rules and the provider need, read fresh at send time. The inner error:
    /// the message can no longer be sent (its department or dealer is gone).
    pub(super) async fn facts(
        &self,
        message: &Message,
    ) -> anyhow::Result<Result<Facts, MessageError>> {
        let internal = |what: &str| MessageError {
            code: ErrorCode::InternalServerError,
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
        let (opt_state, contact_ok, blacklisted, sender_configured) = match &message.recipient {
            Recipient::Phone(phone) => {
                let opt = self.store.opt_status(message.dealer_uuid, phone).await?;
                let ok = customer
                    .as_ref()
                    .and_then(|c| c.phone(phone))
                    .is_none_or(|p| p.ok_to_text);
                (opt.state, ok, false, settings.text_sender_number.is_some())
            }
            Recipient::Email(email) => {
                let ok = customer
                    .as_ref()
                    .and_then(|c| c.email(email))
                    .is_none_or(|e| e.ok_to_email);
                let blacklisted = is_blacklisted(
                    &*self.store,
                    &self.settings.blacklist,
                    message.dealer_uuid,
                    email,
                )
                .await?;
                (
                    OptState::NotSet,
                    ok,
                    blacklisted,
                    settings.email_sender.is_some(),
                )
            }
        };
        // A text's media URLs need only the token secrets (the provider fetches the bytes
        // from the media route); an email carries the bytes themselves.
        let (mut media, mut files) = (Vec::new(), Vec::new());
        if !message.attachments.is_empty() {
            match message.protocol {
                Protocol::Text => {
                    let secrets = self.store.media_secrets_of(message.uuid).await?;
                    media = message
                        .attachments
                        .iter()
                        .filter_map(|info| {
                            let (_, secret) =
                                secrets.iter().find(|(uuid, _)| *uuid == info.uuid)?;
                            Some(MediaKey {
                                info: info.clone(),
                                secret: secret.clone(),
                            })
                        })
                        .collect();
                }
                Protocol::Email => {
                    files = self
                        .store
                        .attachments_of(message.uuid)
                        .await?
                        .into_iter()
                        .map(|s| s.attachment)
                        .collect();
                }
            }
        }
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
        Ok(Ok(Facts {
            delivery,
            department,
            dealer,
            user,
            customer_zone: customer.and_then(|c| c.time_zone),
            media,
            files,
        }))
    }
}
