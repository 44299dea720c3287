//! Opt-out status: read one number's or address's state, and record opt events (SPEC 3).
//! The bodies are read and answered here; what a read gathers and what an update changes is
//! the use case [`service::optout`](crate::service::optout).

use axum::extract::State;
use serde::{Deserialize, Serialize};
use time::format_description::well_known::Rfc3339;

use super::auth::Integrator;
use super::context;
use super::error::{ApiError, ApiResult, Reply};
use super::extract::{ApiBody, ApiPath};
use super::state::AppState;
use crate::domain::credential::Scope;
use crate::domain::optout::{OptEvent, OptState};
use crate::service::optout::{self, Channel, OptDeps, StatusNow, UpdateCall, Updated};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum CommunicationType {
    #[serde(rename = "TEXT")]
    Text,
    #[serde(rename = "EMAIL")]
    Email,
}

impl From<CommunicationType> for Channel {
    fn from(kind: CommunicationType) -> Self {
        match kind {
            CommunicationType::Text => Channel::Text,
            CommunicationType::Email => Channel::Email,
        }
    }
}

impl From<Channel> for CommunicationType {
    fn from(channel: Channel) -> Self {
        match channel {
            Channel::Text => CommunicationType::Text,
            Channel::Email => CommunicationType::Email,
        }
    }
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

fn view(status: StatusNow) -> OptOutStatusView {
    OptOutStatusView {
        opt_out_state: status.state,
        can_send_optin_request: status.can_send_optin_request,
        time_of_change: status.time_of_change.and_then(|t| t.format(&Rfc3339).ok()),
    }
}

fn opt_deps(state: &AppState) -> OptDeps<'_> {
    OptDeps {
        store: &state.store,
        clock: &state.clock,
        delivery_wake: &state.delivery_wake,
    }
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
    let status = optout::read(&opt_deps(&state), &department, kind.into(), &value).await?;
    Ok(Reply::ok(ReadReply {
        opt_out_status: view(status),
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
    let call = UpdateCall {
        department: &department,
        event: body.event,
        values: body
            .communication_attributes_list
            .iter()
            .map(|a| (a.communication_type.into(), a.communication_value.as_str()))
            .collect(),
        request_id: context::request_id(),
        credential: &auth.0.username,
    };
    let updated = optout::update(&opt_deps(&state), call).await?;
    Ok(Reply::ok(UpdateReply {
        opt_out_status_list: updated
            .into_iter()
            .map(
                |Updated {
                     channel,
                     value,
                     status,
                 }| UpdatedStatus {
                    communication_type: channel.into(),
                    communication_value: value,
                    status: view(status),
                },
            )
            .collect(),
    }))
}
