//! `GET /manage/v2/departments/{departmentUUID}/dealerAssociate/default`.

use axum::extract::State;
use serde::Serialize;
use uuid::Uuid;

use super::auth::Integrator;
use super::error::{ApiError, ApiResult, Reply};
use super::extract::ApiPath;
use super::state::AppState;
use crate::domain::credential::Scope;
use crate::domain::directory::User;

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AssociateView {
    uuid: Uuid,
    #[serde(rename = "departmentUUID")]
    department_uuid: Uuid,
    first_name: String,
    last_name: String,
    email: Option<String>,
    can_text: bool,
    can_email: bool,
    is_default: bool,
}

impl From<User> for AssociateView {
    fn from(u: User) -> Self {
        Self {
            uuid: u.uuid,
            department_uuid: u.department_uuid,
            first_name: u.first_name,
            last_name: u.last_name,
            email: u.email.map(Into::into),
            can_text: u.can_text,
            can_email: u.can_email,
            is_default: u.is_default,
        }
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DefaultAssociateReply {
    dealer_associate: AssociateView,
}

pub async fn default_associate(
    auth: Integrator,
    State(state): State<AppState>,
    ApiPath(department): ApiPath<String>,
) -> ApiResult<DefaultAssociateReply> {
    let department = auth
        .department(&state, &department, Scope::DefaultDealerAssociateRead)
        .await?;
    let user = state
        .store
        .user(department.default_user_uuid)
        .await?
        .ok_or_else(|| {
            ApiError::internal(format!(
                "department {} has no default associate",
                department.uuid
            ))
        })?;
    Ok(Reply::ok(DefaultAssociateReply {
        dealer_associate: user.into(),
    }))
}
