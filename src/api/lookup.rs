//! Resolving the users and customers a path names, within the department already authorised.

use uuid::Uuid;

use super::error::ApiError;
use super::extract::path_uuid;
use super::state::AppState;
use crate::domain::codes::ErrorCode;
use crate::domain::customer::Customer;
use crate::domain::directory::{Department, User};

/// The user a path names, if it belongs to `department`; otherwise `400 INVALID_USER`.
pub async fn department_user(
    state: &AppState,
    department: &Department,
    segment: &str,
) -> Result<User, ApiError> {
    let invalid = || {
        ApiError::bad_request(
            ErrorCode::InvalidUser,
            "the userUuid is not a user of this department",
        )
    };
    let uuid = path_uuid(segment).ok_or_else(invalid)?;
    match state.store.user(uuid).await? {
        Some(user) if user.department_uuid == department.uuid => Ok(user),
        _ => Err(invalid()),
    }
}

/// The customer a path names, if it belongs to the department's dealer.
pub async fn dealer_customer(
    state: &AppState,
    department: &Department,
    segment: &str,
) -> Result<Option<Customer>, ApiError> {
    let Some(uuid) = path_uuid(segment) else {
        return Ok(None);
    };
    Ok(state.store.customer(department.dealer_uuid, uuid).await?)
}

/// Like [`dealer_customer`], refusing an unknown one with `400 INVALID_CUSTOMER`.
pub async fn required_customer(
    state: &AppState,
    department: &Department,
    segment: &str,
) -> Result<Customer, ApiError> {
    dealer_customer(state, department, segment)
        .await?
        .ok_or_else(invalid_customer_400)
}

pub fn invalid_customer_400() -> ApiError {
    ApiError::bad_request(
        ErrorCode::InvalidCustomer,
        "the customerUuid is not a customer of this dealer",
    )
}

pub fn invalid_customer_404(uuid: Option<Uuid>) -> ApiError {
    let what = uuid
        .map(|u| u.to_string())
        .unwrap_or_else(|| "this customer".into());
    ApiError::not_found(
        ErrorCode::InvalidCustomer,
        format!("{what} is not a customer of this dealer"),
    )
}
