//! Credentials: issuing one for a set of grants, and revoking one.

use axum::extract::State;
use serde::{Deserialize, Serialize};

use crate::api::auth::Admin;
use crate::api::error::{ApiError, ApiResult, ErrorItem, Reply};
use crate::api::extract::{ApiJson, ApiPath};
use crate::api::state::AppState;
use crate::domain::codes::ErrorCode;
use crate::domain::credential::{Grant, IssuedCredential, Level};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewCredential {
    grants: Vec<Grant>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct IssuedView {
    pub(crate) username: String,
    pub(crate) password: String,
    pub(crate) webhook_secret: String,
}

/// Issues a credential for `grants` after checking each grant names an existing dealer or
/// department. The password is in the answer only; Herald keeps its keyed hash. Shared by
/// the admin API and the console.
pub(crate) async fn issue_credential(
    state: &AppState,
    grants: Vec<Grant>,
) -> Result<IssuedView, ApiError> {
    let mut problems = Vec::new();
    for (i, grant) in grants.iter().enumerate() {
        let exists = match grant.level {
            Level::Dealer => state.store.dealer(grant.uuid).await?.is_some(),
            Level::DealerDepartment => state.store.department(grant.uuid).await?.is_some(),
        };
        if !exists {
            problems.push(ErrorItem::new(
                ErrorCode::InvalidGrant,
                format!(
                    "grants[{i}].uuid: no {} {}",
                    grant.level.as_str(),
                    grant.uuid
                ),
            ));
        }
    }
    if !problems.is_empty() {
        return Err(ApiError::from_items(
            axum::http::StatusCode::BAD_REQUEST,
            problems,
        ));
    }
    let issued = IssuedCredential::generate(grants);
    state
        .store
        .put_credential(&issued.credential, state.clock.now())
        .await?;
    tracing::info!(username = %issued.credential.username, "credential issued");
    Ok(IssuedView {
        username: issued.credential.username.clone(),
        webhook_secret: issued.credential.webhook_secret.expose().to_string(),
        password: issued.password,
    })
}

pub(super) async fn create_credential(
    _: Admin,
    State(state): State<AppState>,
    ApiJson(body): ApiJson<NewCredential>,
) -> ApiResult<IssuedView> {
    Ok(Reply::ok(issue_credential(&state, body.grants).await?))
}

#[derive(Serialize)]
pub struct Revoked {
    revoked: bool,
}

/// Revokes a credential on every node (the cache entry goes too); `404` when unknown.
pub(crate) async fn revoke(state: &AppState, username: &str) -> Result<(), ApiError> {
    let found = state
        .store
        .revoke_credential(username, state.clock.now())
        .await?;
    state.credentials.invalidate(username);
    if !found {
        return Err(ApiError::not_found(
            ErrorCode::InvalidCredentials,
            "no such credential",
        ));
    }
    tracing::info!(%username, "credential revoked");
    Ok(())
}

pub(super) async fn revoke_credential(
    _: Admin,
    State(state): State<AppState>,
    ApiPath(username): ApiPath<String>,
) -> ApiResult<Revoked> {
    revoke(&state, &username).await?;
    Ok(Reply::ok(Revoked { revoked: true }))
}
