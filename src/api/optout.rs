//! Opt-out status: read one number's or address's state, and record opt events (SPEC 3).
//!
//! TEXT: the opt state kept per (dealer, phone). EMAIL: Herald keeps no separate opt state for
//! addresses; an address is `OPTED_OUT` when any of the dealer's customers has it with
//! `okToEmail = false`, `OPTED_IN` when it is registered and allowed, `NOT_SET` when unknown,
//! and its events set `okToEmail`.

use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::auth::Integrator;
use super::context;
use super::error::{ApiError, ApiResult, ErrorItem, Reply};
use super::extract::{ApiBody, ApiPath};
use super::state::AppState;
use crate::delivery::own_messages;
use crate::domain::codes::ErrorCode;
use crate::domain::credential::Scope;
use crate::domain::directory::Department;
use crate::domain::optout::{OptCause, OptEvent, OptSource, OptState, OptStatus};
use crate::domain::{EmailAddress, PhoneNumber};
use crate::store::{EmailFlags, EmailOptChange, OptChange};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum CommunicationType {
    #[serde(rename = "TEXT")]
    Text,
    #[serde(rename = "EMAIL")]
    Email,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct OptOutStatusView {
    opt_out_state: OptState,
    can_send_optin_request: bool,
    time_of_change: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ReadReply {
    opt_out_status: OptOutStatusView,
}

/// A value an opt event can be about.
enum Target {
    Phone(PhoneNumber),
    Email(EmailAddress),
}

fn target(kind: CommunicationType, value: &str, at: &str) -> Result<Target, ErrorItem> {
    let invalid = |e: &dyn std::fmt::Display| {
        ErrorItem::new(ErrorCode::InvalidCommunicationValue, format!("{at}: {e}"))
    };
    match kind {
        CommunicationType::Text => PhoneNumber::parse(value)
            .map(Target::Phone)
            .map_err(|e| invalid(&e)),
        CommunicationType::Email => EmailAddress::parse(value)
            .map(Target::Email)
            .map_err(|e| invalid(&e)),
    }
}

fn view(status: OptStatus, now: OffsetDateTime) -> OptOutStatusView {
    OptOutStatusView {
        opt_out_state: status.state,
        can_send_optin_request: status.can_send_optin_request(now),
        time_of_change: status.time_of_change.and_then(|t| t.format(&Rfc3339).ok()),
    }
}

/// An address's state from its registrations at one dealer (see the module's note).
pub(super) fn email_opt_state(flags: &[EmailFlags]) -> OptState {
    if flags.is_empty() {
        OptState::NotSet
    } else if flags.iter().all(|f| f.ok_to_email) {
        OptState::OptedIn
    } else {
        OptState::OptedOut
    }
}

async fn email_status(
    state: &AppState,
    department: &Department,
    email: &EmailAddress,
) -> Result<OptOutStatusView, ApiError> {
    let flags = state
        .store
        .email_flags(department.dealer_uuid, email)
        .await?;
    Ok(OptOutStatusView {
        opt_out_state: email_opt_state(&flags),
        can_send_optin_request: false,
        time_of_change: None,
    })
}

pub async fn read(
    auth: Integrator,
    State(state): State<AppState>,
    ApiPath((department, kind, value)): ApiPath<(String, String, String)>,
) -> ApiResult<ReadReply> {
    let department = auth
        .department(&state, &department, Scope::OptoutStatusRead)
        .await?;
    let kind: CommunicationType = serde_json::from_value(serde_json::Value::String(kind.clone()))
        .map_err(|_| {
        ApiError::invalid_request(format!("communicationType: {kind:?} is not TEXT or EMAIL"))
    })?;
    let status = match target(kind, &value, "communicationValue")
        .map_err(|e| ApiError::from_items(StatusCode::BAD_REQUEST, vec![e]))?
    {
        Target::Phone(phone) => {
            let now = state.clock.now();
            view(
                state
                    .store
                    .opt_status(department.dealer_uuid, &phone)
                    .await?,
                now,
            )
        }
        Target::Email(email) => email_status(&state, &department, &email).await?,
    };
    Ok(Reply::ok(ReadReply {
        opt_out_status: status,
    }))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UpdateBody {
    communication_attributes_list: Vec<CommunicationAttributes>,
    event: OptEvent,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CommunicationAttributes {
    communication_type: CommunicationType,
    communication_value: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct UpdatedStatus {
    communication_type: CommunicationType,
    communication_value: String,
    #[serde(flatten)]
    status: OptOutStatusView,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct UpdateReply {
    opt_out_status_list: Vec<UpdatedStatus>,
}

const MAX_VALUES: usize = 100;

/// `POST .../optoutstatus`: every value is checked before anything changes.
pub async fn update(
    auth: Integrator,
    State(state): State<AppState>,
    ApiPath(department): ApiPath<String>,
    body: ApiBody,
) -> ApiResult<UpdateReply> {
    let department = auth
        .department(&state, &department, Scope::OptoutStatusUpdate)
        .await?;
    let body: UpdateBody = body.json().await?;
    if body.event == OptEvent::DmsImport {
        return Err(ApiError::invalid_request(
            "event: DMS_IMPORT is recorded by imports only",
        ));
    }
    if body.communication_attributes_list.is_empty()
        || body.communication_attributes_list.len() > MAX_VALUES
    {
        return Err(ApiError::invalid_request(format!(
            "communicationAttributesList: between 1 and {MAX_VALUES} entries"
        )));
    }
    let mut problems = Vec::new();
    let mut targets = Vec::new();
    for (i, a) in body.communication_attributes_list.iter().enumerate() {
        let at = format!("communicationAttributesList[{i}].communicationValue");
        match target(a.communication_type, &a.communication_value, &at) {
            Ok(t) => targets.push((a, t)),
            Err(e) => problems.push(e),
        }
    }
    if !problems.is_empty() {
        return Err(ApiError::from_items(StatusCode::BAD_REQUEST, problems));
    }
    // The history keeps who asked (the credential) and which request did.
    let cause = OptCause::request(context::request_id(), Some(auth.0.username.clone()));
    if body.event == OptEvent::UserRequestedSendOptinRequest {
        return request_optins(&state, &department, &targets, &cause).await;
    }

    let now = state.clock.now();
    let changes: Vec<OptChange<'_>> = targets
        .iter()
        .filter_map(|(_, t)| match t {
            Target::Phone(phone) => Some(OptChange {
                phone,
                event: body.event,
                source: OptSource::Api,
                cause: &cause,
            }),
            Target::Email(_) => None,
        })
        .collect();
    let mut phone_statuses = state
        .store
        .apply_opt_changes(department.dealer_uuid, &changes, now)
        .await?
        .into_iter();
    if body.event == OptEvent::OptinMessageReceived {
        // Messages waiting for these numbers are due now.
        state.delivery_wake.notify_one();
    }
    let mut list = Vec::with_capacity(targets.len());
    for (attrs, t) in &targets {
        let status = match t {
            Target::Phone(_) => view(
                phone_statuses
                    .next()
                    .ok_or_else(|| ApiError::internal("opt change count mismatch"))?,
                now,
            ),
            Target::Email(email) => {
                let change = EmailOptChange {
                    email,
                    ok_to_email: body.event == OptEvent::OptinMessageReceived,
                    event: body.event,
                    source: OptSource::Api,
                    cause: &cause,
                };
                state
                    .store
                    .set_ok_to_email(department.dealer_uuid, &change, now)
                    .await?;
                email_status(&state, &department, email).await?
            }
        };
        list.push(UpdatedStatus {
            communication_type: attrs.communication_type,
            communication_value: match t {
                Target::Phone(p) => p.as_str().to_string(),
                Target::Email(e) => e.as_str().to_string(),
            },
            status,
        });
    }
    Ok(Reply::ok(UpdateReply {
        opt_out_status_list: list,
    }))
}

/// `USER_REQUESTED_SEND_OPTIN_REQUEST`: texts the department's opt-in request to each number
/// that has not decided yet and was not asked in the last 24 hours (SPEC 5.2).
async fn request_optins(
    state: &AppState,
    department: &Department,
    targets: &[(&CommunicationAttributes, Target)],
    cause: &OptCause,
) -> ApiResult<UpdateReply> {
    if targets.iter().any(|(_, t)| matches!(t, Target::Email(_))) {
        return Err(ApiError::invalid_request(
            "event: USER_REQUESTED_SEND_OPTIN_REQUEST applies to TEXT values only",
        ));
    }
    if department.settings.text_sender_number.is_none() {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            ErrorCode::MissingVoiceCredentials,
            "the department has no textSenderNumber to text the request from",
        ));
    }
    let now = state.clock.now();
    let mut list = Vec::with_capacity(targets.len());
    for (attrs, target) in targets {
        let Target::Phone(phone) = target else {
            continue;
        };
        own_messages::request_optin(
            &state.store,
            &state.delivery_wake,
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
        .map_err(ApiError::internal)?;
        let status = state
            .store
            .opt_status(department.dealer_uuid, phone)
            .await?;
        list.push(UpdatedStatus {
            communication_type: attrs.communication_type,
            communication_value: phone.as_str().to_string(),
            status: view(status, now),
        });
    }
    Ok(Reply::ok(UpdateReply {
        opt_out_status_list: list,
    }))
}
