//! SPEC 4.2's checks after the request is parsed, one function each, in the order they run.
//! Each says when it applies; a refusal names the codes the client is told.

use time::OffsetDateTime;
use uuid::Uuid;

use super::super::{Failure, Refusal, RefusalKind};
use crate::config::BlacklistSettings;
use crate::domain::codes::{ErrorCode, WarningCode};
use crate::domain::compose::compose;
use crate::domain::customer::Customer;
use crate::domain::directory::{Department, DepartmentSettings, User};
use crate::domain::message::{
    Direction, MAX_TEXT_CHARS, Protocol, Recipient, SendRequest, Warning,
};
use crate::domain::{EmailAddress, PhoneNumber};
use crate::store::Store;
use crate::store::blacklist::is_blacklisted;

/// Step 3: the user and the customer the path names; both problems are reported together.
pub async fn user_and_customer(
    store: &dyn Store,
    department: &Department,
    user: Option<Uuid>,
    customer: Option<Uuid>,
) -> Result<(User, Customer), Failure> {
    let user = match user {
        Some(uuid) => store
            .user(uuid)
            .await?
            .filter(|u| u.department_uuid == department.uuid),
        None => None,
    };
    let customer = match customer {
        Some(uuid) => store.customer(department.dealer_uuid, uuid).await?,
        None => None,
    };
    match (user, customer) {
        (Some(user), Some(customer)) => Ok((user, customer)),
        (user, customer) => {
            let mut errors = Vec::new();
            if user.is_none() {
                errors.push((
                    ErrorCode::InvalidUser,
                    "the userUuid is not a user of this department".to_string(),
                ));
            }
            if customer.is_none() {
                errors.push((
                    ErrorCode::InvalidCustomer,
                    "the customerUuid is not a customer of this dealer".to_string(),
                ));
            }
            Err(Refusal {
                kind: RefusalKind::BadRequest,
                errors,
            }
            .into())
        }
    }
}

/// Step 2's MESSAGE_TOO_LONG once composed, for an outgoing text: the signature needs the
/// user, so it is checked as soon as the user is known, before authority, lock and recipient.
pub fn composed_length(
    request: &SendRequest,
    user: &User,
    settings: &DepartmentSettings,
) -> Result<(), Refusal> {
    if request.direction != Direction::Outgoing || request.protocol != Protocol::Text {
        return Ok(());
    }
    let composed = compose(
        Protocol::Text,
        &request.body,
        &request.options,
        user,
        settings,
    );
    let chars = composed.chars().count();
    if chars > MAX_TEXT_CHARS {
        return Err(Refusal::one(
            RefusalKind::BadRequest,
            ErrorCode::MessageTooLong,
            format!("the composed text has {chars} characters; at most {MAX_TEXT_CHARS}"),
        ));
    }
    Ok(())
}

/// Step 4: an outgoing message needs the user's authority for its protocol.
pub fn authority(request: &SendRequest, user: &User) -> Result<(), Refusal> {
    if request.direction != Direction::Outgoing {
        return Ok(());
    }
    let allowed = match request.protocol {
        Protocol::Text => user.can_text,
        Protocol::Email => user.can_email,
    };
    if !allowed {
        return Err(Refusal::one(
            RefusalKind::Forbidden,
            ErrorCode::UserDoesNotHaveAuthority,
            format!(
                "this user may not send {} messages",
                request.protocol.as_str()
            ),
        ));
    }
    Ok(())
}

/// Step 5: an outgoing message is refused while another user holds the customer's lock.
pub async fn lock(
    store: &dyn Store,
    request: &SendRequest,
    user: &User,
    customer: &Customer,
    now: OffsetDateTime,
) -> Result<(), Failure> {
    if request.direction != Direction::Outgoing {
        return Ok(());
    }
    if let Some(lock) = store.customer_lock(customer.uuid, now).await?
        && lock.user_uuid != user.uuid
    {
        return Err(Refusal::one(
            RefusalKind::Conflict,
            ErrorCode::CustomerLocked,
            "the customer is locked by another user",
        )
        .into());
    }
    Ok(())
}

/// Step 6: the given value must be registered for the customer (any spelling of a number);
/// without one, the customer's preferred value for the protocol, then the first.
pub fn recipient(
    protocol: Protocol,
    value: Option<&str>,
    customer: &Customer,
) -> Result<Recipient, Refusal> {
    let invalid = |why: String| {
        Refusal::one(
            RefusalKind::BadRequest,
            ErrorCode::InvalidCommunicationValue,
            why,
        )
    };
    match protocol {
        Protocol::Text => {
            let phone = match value {
                Some(v) => {
                    let p = PhoneNumber::parse(v).map_err(|e| invalid(e.to_string()))?;
                    customer
                        .phone(&p)
                        .ok_or_else(|| {
                            invalid(format!("{p} is not a phone number of this customer"))
                        })?
                        .phone_number
                        .clone()
                }
                None => customer
                    .phone_numbers
                    .iter()
                    .find(|p| p.is_preferred)
                    .or(customer.phone_numbers.first())
                    .ok_or_else(|| invalid("the customer has no phone number".into()))?
                    .phone_number
                    .clone(),
            };
            Ok(Recipient::Phone(phone))
        }
        Protocol::Email => {
            let email = match value {
                Some(v) => {
                    let e = EmailAddress::parse(v).map_err(|e| invalid(e.to_string()))?;
                    customer
                        .email(&e)
                        .ok_or_else(|| {
                            invalid(format!("{e} is not an email address of this customer"))
                        })?
                        .email_address
                        .clone()
                }
                None => customer
                    .emails
                    .iter()
                    .find(|e| e.is_preferred)
                    .or(customer.emails.first())
                    .ok_or_else(|| invalid("the customer has no email address".into()))?
                    .email_address
                    .clone(),
            };
            Ok(Recipient::Email(email))
        }
    }
}

/// The options a request cannot have as asked: they are not refused, they leave a warning.
pub fn override_warnings(request: &SendRequest, override_granted: bool) -> Vec<Warning> {
    let mut warnings = Vec::new();
    if request.options.override_optout_rules
        && request.protocol == Protocol::Text
        && !override_granted
    {
        warnings.push(warning(
            WarningCode::CantOverrideOptout,
            "this credential may not override opt-out rules; they apply",
        ));
    }
    if request.options.queue_if_opted_out && request.protocol == Protocol::Email {
        warnings.push(warning(
            WarningCode::CantQueueMessageIfOptedOut,
            "queueIfOptedOut applies to TEXT only; sent normally",
        ));
    }
    warnings
}

/// An email's CC and BCC addresses that can be used, each list screened (SPEC 5.3); a text
/// has none.
pub async fn screen_copies(
    store: &dyn Store,
    blacklist: &BlacklistSettings,
    department: &Department,
    request: &SendRequest,
    recipient: &Recipient,
    warnings: &mut Vec<Warning>,
) -> Result<(Vec<String>, Vec<String>), Failure> {
    if request.protocol != Protocol::Email {
        return Ok((Vec::new(), Vec::new()));
    }
    let screen = Screen {
        store,
        blacklist,
        department,
        recipient,
    };
    let cc = screen
        .copies(&request.cc, "listOfEmailsToBeCCed", warnings)
        .await?;
    let bcc = screen
        .copies(&request.bcc, "listOfEmailsToBeBCCed", warnings)
        .await?;
    Ok((cc, bcc))
}

/// What screening a CC or BCC list reads.
struct Screen<'a> {
    store: &'a dyn Store,
    blacklist: &'a BlacklistSettings,
    department: &'a Department,
    recipient: &'a Recipient,
}

impl Screen<'_> {
    /// The entries of one list that can be used; each one dropped leaves a warning: not an
    /// address, not to be copied, blacklisted. The recipient and repeats are dropped silently.
    async fn copies(
        &self,
        entries: &[String],
        field: &str,
        warnings: &mut Vec<Warning>,
    ) -> Result<Vec<String>, Failure> {
        let dealer = self.department.dealer_uuid;
        let mut kept: Vec<String> = Vec::new();
        for (i, entry) in entries.iter().enumerate() {
            let at = format!("{field}[{i}]");
            let Ok(address) = EmailAddress::parse(entry) else {
                warnings.push(warning(
                    WarningCode::InvalidEmail,
                    format!("{at}: not a valid email address; skipped"),
                ));
                continue;
            };
            let flags = self.store.email_flags(dealer, &address).await?;
            if flags.iter().any(|f| f.do_not_cc) {
                warnings.push(warning(
                    WarningCode::DoNotCcEnabled,
                    format!("{at}: {address} must not be copied; skipped"),
                ));
                continue;
            }
            let blacklisted = is_blacklisted(self.store, self.blacklist, dealer, &address)
                .await
                .map_err(|e| Failure::Internal(e.into()))?;
            if blacklisted {
                warnings.push(warning(
                    WarningCode::BlacklistedEmailDomain,
                    format!("{at}: {address} is blacklisted; skipped"),
                ));
                continue;
            }
            if address.as_str() != self.recipient.as_str()
                && !kept.iter().any(|k| k == address.as_str())
            {
                kept.push(address.to_string());
            }
        }
        Ok(kept)
    }
}

fn warning(code: WarningCode, description: impl Into<String>) -> Warning {
    Warning {
        code,
        description: description.into(),
    }
}

#[cfg(test)]
#[path = "checks_tests.rs"]
mod tests;
