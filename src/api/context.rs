//! Per-request context: the request UUID every answer carries (body and `X-Request-Id`), and
//! the request timeout. The UUID lives in a task-local so error responses built anywhere in
//! the handler carry it without threading it through every call.

use std::time::Duration;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use uuid::Uuid;

use super::error::ApiError;
use crate::domain::codes::ErrorCode;

tokio::task_local! {
    static REQUEST_ID: Uuid;
}

/// The current request's UUID (a fresh one outside a request, e.g. in unit tests).
pub fn request_id() -> Uuid {
    REQUEST_ID
        .try_with(|id| *id)
        .unwrap_or_else(|_| Uuid::new_v4())
}

pub const REQUEST_ID_HEADER: &str = "x-request-id";

/// Gives the request its UUID, bounds its time, and stamps the UUID on the response.
pub async fn request_context(
    State(timeout): State<Duration>,
    request: Request,
    next: Next,
) -> Response {
    let id = Uuid::new_v4();
    let started = std::time::Instant::now();
    let method = request.method().clone();
    // The route template, never the raw URI: paths can carry phone numbers and addresses.
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_string(), |p| p.as_str().to_string());
    let mut response = REQUEST_ID
        .scope(id, async move {
            match tokio::time::timeout(timeout, next.run(request)).await {
                Ok(response) => response,
                Err(_) => ApiError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    ErrorCode::RequestTimeout,
                    format!(
                        "the request did not complete within {} s",
                        timeout.as_secs()
                    ),
                )
                .into_response(),
            }
        })
        .await;
    if let Ok(value) = HeaderValue::from_str(&id.to_string()) {
        response.headers_mut().insert(REQUEST_ID_HEADER, value);
    }
    tracing::info!(
        request_id = %id,
        %method,
        route,
        status = response.status().as_u16(),
        // Tenths of a millisecond: enough to read, and a log line of fixed width.
        latency_ms = (started.elapsed().as_secs_f64() * 10_000.0).round() / 10.0,
        "request"
    );
    response
}

/// Unknown paths answer in the same shape as everything else.
pub async fn not_found() -> ApiError {
    ApiError::not_found(ErrorCode::NotFound, "no such endpoint")
}

pub async fn method_not_allowed() -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        ErrorCode::MethodNotAllowed,
        "this endpoint does not accept that method",
    )
}
