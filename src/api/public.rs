//! Unauthenticated endpoints: the department vCard carriers fetch for `sendVCard`, and the
//! Prometheus metrics.

use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};

use super::error::ApiError;
use super::extract::{ApiPath, path_uuid};
use super::state::AppState;
use crate::domain::codes::ErrorCode;
use crate::domain::compose::vcard;

/// `GET /vcard/{departmentUUID}.vcf` as `text/vcard`.
pub async fn department_vcard(
    State(state): State<AppState>,
    ApiPath(file): ApiPath<String>,
) -> Result<Response, ApiError> {
    let not_found = || ApiError::not_found(ErrorCode::NotFound, "no such contact card");
    let uuid = file
        .strip_suffix(".vcf")
        .and_then(path_uuid)
        .ok_or_else(not_found)?;
    let department = state.store.department(uuid).await?.ok_or_else(not_found)?;
    let dealer = state
        .store
        .dealer(department.dealer_uuid)
        .await?
        .ok_or_else(not_found)?;
    let card = vcard(
        &department.name,
        &dealer.name,
        department.settings.text_sender_number.as_ref(),
    );
    let mut response = card.into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/vcard; charset=utf-8"),
    );
    Ok(response)
}

/// `GET /metrics`: every series `src/observability.rs` names, in Prometheus text format.
pub async fn metrics(State(state): State<AppState>) -> Response {
    let mut response = state.metrics.render().into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; version=0.0.4"),
    );
    response
}
