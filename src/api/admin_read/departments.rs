//! One department: its settings and its users.

use axum::extract::State;
use serde::Serialize;
use uuid::Uuid;

use super::dealers::DepartmentView;
use crate::api::admin::department;
use crate::api::auth::Admin;
use crate::api::error::{ApiResult, Reply};
use crate::api::extract::ApiPath;
use crate::api::state::AppState;
use crate::domain::directory::User;

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct UserView {
    uuid: Uuid,
    first_name: String,
    last_name: String,
    email: Option<String>,
    can_text: bool,
    can_email: bool,
    is_default: bool,
}

impl From<User> for UserView {
    fn from(u: User) -> Self {
        Self {
            uuid: u.uuid,
            first_name: u.first_name,
            last_name: u.last_name,
            email: u.email.map(|e| e.as_str().to_string()),
            can_text: u.can_text,
            can_email: u.can_email,
            is_default: u.is_default,
        }
    }
}

#[derive(Serialize)]
pub struct DepartmentWithUsers {
    #[serde(flatten)]
    department: DepartmentView,
    users: Vec<UserView>,
}

#[derive(Serialize)]
pub struct DepartmentReply {
    department: DepartmentWithUsers,
}

/// `GET /admin/v1/departments/{uuid}`: its settings and its users, oldest first.
pub(super) async fn show_department(
    _: Admin,
    State(state): State<AppState>,
    ApiPath(segment): ApiPath<String>,
) -> ApiResult<DepartmentReply> {
    let department = department(&state, &segment).await?;
    let users = state.store.users_of(department.uuid).await?;
    Ok(Reply::ok(DepartmentReply {
        department: DepartmentWithUsers {
            department: department.into(),
            users: users.into_iter().map(Into::into).collect(),
        },
    }))
}
