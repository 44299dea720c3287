//! The operator's API under `/admin/v1` (SPEC 8), behind `Authorization: Bearer <admin_token>`.
//!
//! This file holds the router and what the resources share (finding a dealer or department
//! named in a path, a required name); the handlers live in `admin/`, one file a resource:
//! `dealers.rs`, `departments.rs`, `users.rs`, `credentials.rs`, `customers.rs` (the DMS
//! import) and `blacklist.rs`. The routes stay in this file, where the OpenAPI test's route
//! scan reads them.

mod blacklist;
mod credentials;
mod customers;
mod dealers;
mod departments;
mod users;

use axum::Router;
use axum::routing::{delete, patch, post};
use serde::Serialize;
use uuid::Uuid;

use super::error::ApiError;
use super::extract::path_uuid;
use super::state::AppState;
use crate::domain::codes::ErrorCode;
use crate::domain::directory::{Dealer, Department};
use blacklist::add_to_blacklist;
use credentials::{create_credential, revoke_credential};
pub(crate) use credentials::{issue_credential, revoke};
use customers::import_customers;
use dealers::create_dealer;
use departments::{create_department, update_department};
use users::create_user;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/dealers", post(create_dealer))
        .route("/dealers/{dealer}/departments", post(create_department))
        .route("/departments/{department}", patch(update_department))
        .route("/departments/{department}/users", post(create_user))
        .route("/credentials", post(create_credential))
        .route("/credentials/{username}", delete(revoke_credential))
        .route("/dealers/{dealer}/customers", post(import_customers))
        .route("/dealers/{dealer}/blacklist", post(add_to_blacklist))
        .merge(super::admin_read::router())
        .merge(super::admin_consent::router())
        .merge(super::admin_actions::router())
        .merge(super::admin_callbacks::router())
        .merge(super::admin_queue::router())
}

#[derive(Serialize)]
pub struct Created {
    uuid: Uuid,
}

fn required_name(name: Option<String>, field: &str) -> Result<String, ApiError> {
    let name = name.map(|n| n.trim().to_string()).unwrap_or_default();
    if name.is_empty() || name.chars().count() > 200 {
        return Err(ApiError::invalid_request(format!(
            "{field}: required, 1 to 200 characters"
        )));
    }
    Ok(name)
}

pub(crate) async fn dealer(state: &AppState, segment: &str) -> Result<Dealer, ApiError> {
    let not_found = || ApiError::not_found(ErrorCode::InvalidDealer, "no such dealer");
    let uuid = path_uuid(segment).ok_or_else(not_found)?;
    state.store.dealer(uuid).await?.ok_or_else(not_found)
}

pub(crate) async fn department(state: &AppState, segment: &str) -> Result<Department, ApiError> {
    let not_found = || ApiError::not_found(ErrorCode::InvalidDepartment, "no such department");
    let uuid = path_uuid(segment).ok_or_else(not_found)?;
    state.store.department(uuid).await?.ok_or_else(not_found)
}
