//! `POST .../optoutstatus`: what recording one opt event for a list of values changes.

use anyhow::anyhow;

use super::{
    Channel, MAX_VALUES, OptDeps, Target, UpdateCall, Updated, email_status, invalid_request,
    status_now, target,
};
use crate::delivery::own_messages;
use crate::domain::codes::ErrorCode;
use crate::domain::directory::Department;
use crate::domain::optout::{OptCause, OptEvent, OptSource};
use crate::service::{Failure, Refusal, RefusalKind};
use crate::store::{EmailOptChange, OptChange};

/// Records one event for every value: every value is checked before anything changes (each
/// one that is not a number or an address is reported), then TEXT values change their opt
/// state together and EMAIL values set `okToEmail`. `USER_REQUESTED_SEND_OPTIN_REQUEST`
/// texts opt-in requests instead ([`request_optins`]).
pub async fn update(deps: &OptDeps<'_>, call: UpdateCall<'_>) -> Result<Vec<Updated>, Failure> {
    let UpdateCall {
        department, event, ..
    } = call;
    if event == OptEvent::DmsImport {
        return Err(invalid_request("event: DMS_IMPORT is recorded by imports only").into());
    }
    if call.values.is_empty() || call.values.len() > MAX_VALUES {
        return Err(invalid_request(format!(
            "communicationAttributesList: between 1 and {MAX_VALUES} entries"
        ))
        .into());
    }
    let mut problems = Vec::new();
    let mut targets = Vec::new();
    for (i, (channel, value)) in call.values.iter().enumerate() {
        let at = format!("communicationAttributesList[{i}].communicationValue");
        match target(*channel, value, &at) {
            Ok(t) => targets.push((*channel, t)),
            Err(problem) => problems.push(problem),
        }
    }
    if !problems.is_empty() {
        return Err(Refusal {
            kind: RefusalKind::BadRequest,
            errors: problems,
        }
        .into());
    }
    // The history keeps who asked (the credential) and which request did.
    let cause = OptCause::request(call.request_id, Some(call.credential.to_string()));
    if event == OptEvent::UserRequestedSendOptinRequest {
        return request_optins(deps, department, &targets, &cause).await;
    }

    let now = deps.clock.now();
    let changes: Vec<OptChange<'_>> = targets
        .iter()
        .filter_map(|(_, t)| match t {
            Target::Phone(phone) => Some(OptChange {
                phone,
                event,
                source: OptSource::Api,
                cause: &cause,
            }),
            Target::Email(_) => None,
        })
        .collect();
    let mut phone_statuses = deps
        .store
        .apply_opt_changes(department.dealer_uuid, &changes, now)
        .await?
        .into_iter();
    if event == OptEvent::OptinMessageReceived {
        // Messages waiting for these numbers are due now.
        deps.delivery_wake.notify_one();
    }
    let mut list = Vec::with_capacity(targets.len());
    for (channel, t) in &targets {
        let status = match t {
            Target::Phone(_) => status_now(
                phone_statuses
                    .next()
                    .ok_or_else(|| Failure::Internal(anyhow!("opt change count mismatch")))?,
                now,
            ),
            Target::Email(email) => {
                let change = EmailOptChange {
                    email,
                    ok_to_email: event == OptEvent::OptinMessageReceived,
                    event,
                    source: OptSource::Api,
                    cause: &cause,
                };
                deps.store
                    .set_ok_to_email(department.dealer_uuid, &change, now)
                    .await?;
                email_status(deps, department, email).await?
            }
        };
        list.push(Updated {
            channel: *channel,
            value: match t {
                Target::Phone(p) => p.as_str().to_string(),
                Target::Email(e) => e.as_str().to_string(),
            },
            status,
        });
    }
    Ok(list)
}

/// `USER_REQUESTED_SEND_OPTIN_REQUEST`: texts the department's opt-in request to each number
/// that has not decided yet and was not asked in the last 24 hours (SPEC 5.2).
async fn request_optins(
    deps: &OptDeps<'_>,
    department: &Department,
    targets: &[(Channel, Target)],
    cause: &OptCause,
) -> Result<Vec<Updated>, Failure> {
    if targets.iter().any(|(_, t)| matches!(t, Target::Email(_))) {
        return Err(invalid_request(
            "event: USER_REQUESTED_SEND_OPTIN_REQUEST applies to TEXT values only",
        )
        .into());
    }
    if department.settings.text_sender_number.is_none() {
        return Err(Refusal::one(
            RefusalKind::Unprocessable,
            ErrorCode::MissingVoiceCredentials,
            "the department has no textSenderNumber to text the request from",
        )
        .into());
    }
    let now = deps.clock.now();
    let mut list = Vec::with_capacity(targets.len());
    for (channel, target) in targets {
        let Target::Phone(phone) = target else {
            continue;
        };
        own_messages::request_optin(
            deps.store,
            deps.delivery_wake,
            department,
            None,
            phone,
            own_messages::Asker {
                source: OptSource::Api,
                request_id: cause.request_id,
                actor: cause.actor.clone(),
            },
            now,
        )
        .await
        .map_err(Failure::Internal)?;
        let status = deps.store.opt_status(department.dealer_uuid, phone).await?;
        list.push(Updated {
            channel: *channel,
            value: phone.as_str().to_string(),
            status: status_now(status, now),
        });
    }
    Ok(list)
}
