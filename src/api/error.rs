//! The one response shape of every answer (seed): `requestUUID`, `errors[]`, `warnings[]`,
//! plus the endpoint's own fields. [`ApiError`] is the only way a handler refuses a request.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use uuid::Uuid;

use super::context;
use crate::domain::codes;
use crate::store::StoreError;

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct ErrorItem {
    pub error_code: String,
    pub error_description: String,
    /// Unique per occurrence; also in the log line, so support can find one failure.
    #[serde(rename = "errorUID")]
    pub error_uid: String,
}

impl ErrorItem {
    pub fn new(code: &str, description: impl Into<String>) -> Self {
        Self {
            error_code: code.to_string(),
            error_description: description.into(),
            error_uid: Uuid::new_v4().to_string(),
        }
    }
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct WarningItem {
    pub warning_code: String,
    pub warning_description: String,
}

/// A refusal: an HTTP status and one or more errors.
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub errors: Vec<ErrorItem>,
    pub warnings: Vec<WarningItem>,
    challenge: Option<&'static str>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &str, description: impl Into<String>) -> Self {
        Self::from_items(status, vec![ErrorItem::new(code, description)])
    }

    pub fn from_items(status: StatusCode, errors: Vec<ErrorItem>) -> Self {
        Self {
            status,
            errors,
            warnings: Vec::new(),
            challenge: None,
        }
    }

    pub fn bad_request(code: &str, description: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, description)
    }

    pub fn invalid_request(description: impl Into<String>) -> Self {
        Self::bad_request(codes::INVALID_REQUEST, description)
    }

    /// `401` with the Basic challenge (SPEC 2).
    pub fn unauthenticated() -> Self {
        Self {
            challenge: Some("Basic realm=\"herald\""),
            ..Self::new(
                StatusCode::UNAUTHORIZED,
                codes::INVALID_CREDENTIALS,
                "missing or invalid credentials",
            )
        }
    }

    /// `401` for the admin API's bearer token.
    pub fn invalid_admin_token() -> Self {
        Self {
            challenge: Some("Bearer realm=\"herald-admin\""),
            ..Self::new(
                StatusCode::UNAUTHORIZED,
                codes::INVALID_ADMIN_TOKEN,
                "missing or invalid admin token",
            )
        }
    }

    /// `403`: the same answer for a department without a grant and one that does not exist.
    pub fn insufficient_scope(scope: &str) -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            codes::INSUFFICIENT_SCOPE,
            format!("this credential has no {scope} grant for this department"),
        )
    }

    pub fn not_found(code: &str, description: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, code, description)
    }

    /// An unexpected failure: logged once here with its cause chain; the client sees only the
    /// error's UID.
    pub fn internal(err: impl std::fmt::Display) -> Self {
        let item = ErrorItem::new(codes::INTERNAL_SERVER_ERROR, "unexpected server error");
        tracing::error!(error_uid = %item.error_uid, error = %err, "internal error");
        Self::from_items(StatusCode::INTERNAL_SERVER_ERROR, vec![item])
    }
}

impl From<StoreError> for ApiError {
    fn from(err: StoreError) -> Self {
        Self::internal(err)
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ErrorBody<'a> {
    #[serde(rename = "requestUUID")]
    request_uuid: String,
    errors: &'a [ErrorItem],
    warnings: &'a [WarningItem],
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ErrorBody {
            request_uuid: context::request_id().to_string(),
            errors: &self.errors,
            warnings: &self.warnings,
        };
        let mut response = (self.status, Json(body)).into_response();
        if let Some(challenge) = self.challenge {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static(challenge),
            );
        }
        response
    }
}

/// A successful answer: the endpoint's fields plus the common envelope.
#[derive(Serialize)]
pub struct Reply<T: Serialize> {
    #[serde(flatten)]
    body: T,
    #[serde(rename = "requestUUID")]
    request_uuid: String,
    errors: [ErrorItem; 0],
    warnings: Vec<WarningItem>,
    #[serde(skip)]
    status: StatusCode,
}

impl<T: Serialize> Reply<T> {
    pub fn ok(body: T) -> Self {
        Self::with_status(StatusCode::OK, body)
    }

    pub fn with_status(status: StatusCode, body: T) -> Self {
        Self {
            body,
            request_uuid: context::request_id().to_string(),
            errors: [],
            warnings: Vec::new(),
            status,
        }
    }
}

impl<T: Serialize> IntoResponse for Reply<T> {
    fn into_response(self) -> Response {
        (self.status, Json(&self)).into_response()
    }
}

pub type ApiResult<T> = Result<Reply<T>, ApiError>;
