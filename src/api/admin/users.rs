//! Users: adding an associate to a department.

use axum::extract::State;
use serde::Deserialize;
use uuid::Uuid;

use super::{Created, department, required_name};
use crate::api::auth::Admin;
use crate::api::error::{ApiError, ApiResult, Reply};
use crate::api::extract::{ApiJson, ApiPath};
use crate::api::state::AppState;
use crate::domain::directory::User;
use crate::domain::email::EmailAddress;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NewUser {
    first_name: Option<String>,
    last_name: Option<String>,
    email: Option<String>,
    can_text: Option<bool>,
    can_email: Option<bool>,
}

pub(super) async fn create_user(
    _: Admin,
    State(state): State<AppState>,
    ApiPath(segment): ApiPath<String>,
    ApiJson(body): ApiJson<NewUser>,
) -> ApiResult<Created> {
    let department = department(&state, &segment).await?;
    let email = match body
        .email
        .as_deref()
        .map(str::trim)
        .filter(|e| !e.is_empty())
    {
        Some(e) => Some(
            EmailAddress::parse(e)
                .map_err(|err| ApiError::invalid_request(format!("email: {err}")))?,
        ),
        None => None,
    };
    let user = User {
        uuid: Uuid::new_v4(),
        department_uuid: department.uuid,
        first_name: required_name(body.first_name, "firstName")?,
        last_name: required_name(body.last_name, "lastName")?,
        email,
        can_text: body.can_text.unwrap_or(true),
        can_email: body.can_email.unwrap_or(true),
        is_default: false,
    };
    state.store.insert_user(&user, state.clock.now()).await?;
    Ok(Reply::ok(Created { uuid: user.uuid }))
}
