//! SPEC 4.2's checks after the request is parsed, one function each, in the order they run.
//! Each says when it applies; a refusal names the codes the client is told. CC and BCC lists
//! are screened by `copies.rs`.

use time::OffsetDateTime;
use uuid::Uuid;

use super::super::{Failure, Refusal, RefusalKind};
use crate::domain::codes::{ErrorCode, WarningCode};
use crate::domain::compose::compose;
use crate::domain::customer::Customer;
use crate::domain::directory::{Department, DepartmentSettings, User};
use crate::domain::message::{
    Direction, MAX_TEXT_CHARS, Protocol, Recipient, SendRequest, Warning,
};
use crate::domain::{EmailAddress, PhoneNumber};
use crate::store::Store;

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

pub(super) fn warning(code: WarningCode, description: impl Into<String>) -> Warning {
    Warning {
        code,
        description: description.into(),
    }
}

#[cfg(test)]
#[path = "checks_tests.rs"]
mod tests;
