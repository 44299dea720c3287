//! The one response shape of every answer (seed): `requestUUID`, `errors[]`, `warnings[]`,
//! plus the endpoint's own fields. [`ApiError`] is the only way a handler refuses a request.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use uuid::Uuid;

mod store_errors;

use super::context;
use crate::domain::codes::{ErrorCode, WarningCode};
use crate::service::{Failure, Refusal, RefusalKind};

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct ErrorItem {
    pub error_code: ErrorCode,
    pub error_description: String,
    /// Unique per occurrence; also in the log line, so support can find one failure.
    #[serde(rename = "errorUID")]
    pub error_uid: String,
}

impl ErrorItem {
    pub fn new(code: ErrorCode, description: impl Into<String>) -> Self {
        Self {
            error_code: code,
            error_description: description.into(),
            error_uid: Uuid::new_v4().to_string(),
        }
    }
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct WarningItem {
    pub warning_code: WarningCode,
    pub warning_description: String,
}

/// A refusal: an HTTP status and one or more errors.
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub errors: Vec<ErrorItem>,
    pub warnings: Vec<WarningItem>,
    challenge: Option<&'static str>,
    /// Seconds for a `Retry-After` header: the request may well succeed if sent again.
    retry_after: Option<u32>,
}

/// What a client is told to wait before sending again a request Herald could not store.
/// Short: the database usually comes back within seconds (a restarted server, freed disk).
pub const STORE_RETRY_AFTER_SECONDS: u32 = 5;

impl ApiError {
    pub fn new(status: StatusCode, code: ErrorCode, description: impl Into<String>) -> Self {
        Self::from_items(status, vec![ErrorItem::new(code, description)])
    }

    pub fn from_items(status: StatusCode, errors: Vec<ErrorItem>) -> Self {
        Self {
            status,
            errors,
            warnings: Vec::new(),
            challenge: None,
            retry_after: None,
        }
    }

    pub fn bad_request(code: ErrorCode, description: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, description)
    }

    pub fn invalid_request(description: impl Into<String>) -> Self {
        Self::bad_request(ErrorCode::InvalidRequest, description)
    }

    /// `401` with the Basic challenge (SPEC 2).
    pub fn unauthenticated() -> Self {
        Self {
            challenge: Some("Basic realm=\"herald\""),
            ..Self::new(
                StatusCode::UNAUTHORIZED,
                ErrorCode::InvalidCredentials,
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
                ErrorCode::InvalidAdminToken,
                "missing or invalid admin token",
            )
        }
    }

    /// `403`: the same answer for a department without a grant and one that does not exist.
    pub fn insufficient_scope(scope: &str) -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            ErrorCode::InsufficientScope,
            format!("this credential has no {scope} grant for this department"),
        )
    }

    pub fn not_found(code: ErrorCode, description: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, code, description)
    }

    /// An unexpected failure: logged once here with its cause chain; the client sees only the
    /// error's UID.
    pub fn internal(err: impl std::fmt::Display) -> Self {
        let item = ErrorItem::new(ErrorCode::InternalServerError, "unexpected server error");
        tracing::error!(error_uid = %item.error_uid, error = %err, "internal error");
        Self::from_items(StatusCode::INTERNAL_SERVER_ERROR, vec![item])
    }

    /// `503` with `Retry-After`: the database cannot take the request right now (down, disk
    /// full, no free connection). Nothing of the request was kept, so sending it again is
    /// safe. Logged once here with its cause; the client sees only the error's UID.
    pub fn store_unavailable(err: impl std::fmt::Display) -> Self {
        let item = ErrorItem::new(
            ErrorCode::InternalServerError,
            "the database is unavailable; nothing was kept, send the request again later",
        );
        tracing::warn!(error_uid = %item.error_uid, error = %err, "database unavailable");
        Self {
            retry_after: Some(STORE_RETRY_AFTER_SECONDS),
            ..Self::from_items(StatusCode::SERVICE_UNAVAILABLE, vec![item])
        }
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

/// A use case's failure as the client is told it: a refusal's kind is its status, each of its
/// errors an item.
impl From<Failure> for ApiError {
    fn from(failure: Failure) -> Self {
        match failure {
            Failure::Refused(refusal) => refusal.into(),
            Failure::Store(err) => err.into(),
            Failure::Internal(err) => Self::internal(err),
        }
    }
}

impl From<Refusal> for ApiError {
    fn from(Refusal { kind, errors }: Refusal) -> Self {
        let status = match kind {
            RefusalKind::BadRequest => StatusCode::BAD_REQUEST,
            RefusalKind::Forbidden => StatusCode::FORBIDDEN,
            RefusalKind::Conflict => StatusCode::CONFLICT,
            RefusalKind::NotFound => StatusCode::NOT_FOUND,
            RefusalKind::Unprocessable => StatusCode::UNPROCESSABLE_ENTITY,
        };
        let items = errors
            .into_iter()
            .map(|(code, description)| ErrorItem::new(code, description))
            .collect();
        Self::from_items(status, items)
    }
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
        if let Some(seconds) = self.retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        response
    }
}

/// The seed's error body for an answer written below the router (a connection over the cap,
/// a request line or headers too large to parse), with the fresh request UUID it carries.
pub fn standalone_error_body(code: ErrorCode, description: &str) -> (Uuid, Vec<u8>) {
    let id = Uuid::new_v4();
    let errors = [ErrorItem::new(code, description)];
    let body = ErrorBody {
        request_uuid: id.to_string(),
        errors: &errors,
        warnings: &[],
    };
    // Serializing strings and a fixed struct cannot fail.
    (id, serde_json::to_vec(&body).unwrap_or_default())
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
