//! The one response shape of every answer (seed): `requestUUID`, `errors[]`, `warnings[]`,
//! plus the endpoint's own fields. [`ApiError`] is the only way a handler refuses a request.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use sqlx::error::DatabaseError;
use uuid::Uuid;

use super::context;
use crate::domain::codes::{ErrorCode, WarningCode};
use crate::service::{Failure, Refusal, RefusalKind};
use crate::store::StoreError;

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

impl From<StoreError> for ApiError {
    fn from(err: StoreError) -> Self {
        if let StoreError::SenderNumberInUse(number) = &err {
            // The operator's mistake, not Herald's; the other dealer is not named.
            return Self::new(
                StatusCode::CONFLICT,
                ErrorCode::SenderNumberInUse,
                format!(
                    "textSenderNumber {number} is already used by a department of another dealer; \
                     departments of one dealer may share a number, dealers may not"
                ),
            );
        }
        if is_transient(&err) {
            Self::store_unavailable(err)
        } else {
            Self::internal(err)
        }
    }
}

/// Whether a store failure says the database could not take the request now, rather than
/// that something is wrong with the data or with Herald: worth a retry, not a bug report.
fn is_transient(err: &StoreError) -> bool {
    match err {
        StoreError::Unavailable(_) => true,
        StoreError::Database(e) => is_transient_sqlx(e),
        StoreError::Migration(_)
        | StoreError::Corrupt(_)
        | StoreError::Conflict(_)
        | StoreError::SenderNumberInUse(_) => false,
    }
}

fn is_transient_sqlx(err: &sqlx::Error) -> bool {
    match err {
        sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed => true,
        sqlx::Error::Database(db) => {
            if let Some(sqlite) = db.try_downcast_ref::<sqlx::sqlite::SqliteError>() {
                sqlite
                    .code()
                    .and_then(|code| code.parse::<i32>().ok())
                    .is_some_and(is_transient_sqlite)
            } else {
                db.code().is_some_and(|state| is_transient_sqlstate(&state))
            }
        }
        _ => false,
    }
}

/// SQLite result codes (the primary code is the low byte of an extended one) that mean "not
/// now": busy or locked past the busy timeout, out of memory, an I/O error, a full disk, a
/// file that cannot be opened. Corruption (`SQLITE_CORRUPT`, `SQLITE_NOTADB`) is not one.
fn is_transient_sqlite(extended: i32) -> bool {
    const BUSY: i32 = 5;
    const LOCKED: i32 = 6;
    const NOMEM: i32 = 7;
    const IOERR: i32 = 10;
    const FULL: i32 = 13;
    const CANTOPEN: i32 = 14;
    const PROTOCOL: i32 = 15;
    matches!(
        extended & 0xff,
        BUSY | LOCKED | NOMEM | IOERR | FULL | CANTOPEN | PROTOCOL
    )
}

/// PostgreSQL SQLSTATEs that mean "not now": the connection failed (class 08), the server
/// is out of resources such as disk space (53), was shut down or cancelled the statement
/// (57), hit an I/O error (58030), is a read-only standby (25006), or chose this
/// transaction to fail a serialization conflict or deadlock (40001, 40P01).
fn is_transient_sqlstate(state: &str) -> bool {
    ["08", "53", "57"]
        .iter()
        .any(|class| state.starts_with(class))
        || ["58030", "25006", "40001", "40P01"].contains(&state)
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

#[cfg(test)]
mod tests {
    use super::*;

    fn status_and_retry_after(err: StoreError) -> (StatusCode, Option<String>) {
        let response = ApiError::from(err).into_response();
        let retry_after = response
            .headers()
            .get(header::RETRY_AFTER)
            .map(|v| v.to_str().unwrap().to_string());
        (response.status(), retry_after)
    }

    /// A real SQLite error: an in-memory database capped at its current size, then grown.
    async fn sqlite_full() -> sqlx::Error {
        use sqlx::{Connection, SqliteConnection};
        let mut conn = SqliteConnection::connect("sqlite::memory:").await.unwrap();
        sqlx::query("CREATE TABLE t (v BLOB)")
            .execute(&mut conn)
            .await
            .unwrap();
        sqlx::query("PRAGMA max_page_count = 2")
            .execute(&mut conn)
            .await
            .unwrap();
        sqlx::query("INSERT INTO t VALUES (zeroblob(100000))")
            .execute(&mut conn)
            .await
            .unwrap_err()
    }

    #[tokio::test]
    async fn a_database_that_cannot_take_the_request_now_is_503_with_retry_after() {
        let retry = Some(STORE_RETRY_AFTER_SECONDS.to_string());
        for err in [
            StoreError::Unavailable("commit failed: disk full".into()),
            StoreError::Database(sqlx::Error::PoolTimedOut),
            StoreError::Database(sqlx::Error::Io(std::io::ErrorKind::BrokenPipe.into())),
            StoreError::Database(sqlite_full().await),
        ] {
            let shown = err.to_string();
            assert_eq!(
                status_and_retry_after(err),
                (StatusCode::SERVICE_UNAVAILABLE, retry.clone()),
                "{shown}"
            );
        }
    }

    #[tokio::test]
    async fn corrupt_data_and_bugs_stay_500_without_retry_after() {
        let missing_table = {
            use sqlx::{Connection, SqliteConnection};
            let mut conn = SqliteConnection::connect("sqlite::memory:").await.unwrap();
            sqlx::query("SELECT * FROM nowhere")
                .execute(&mut conn)
                .await
                .unwrap_err()
        };
        for err in [
            StoreError::Corrupt("uuid \"x\"".into()),
            StoreError::Database(sqlx::Error::RowNotFound),
            StoreError::Database(missing_table),
        ] {
            assert_eq!(
                status_and_retry_after(err),
                (StatusCode::INTERNAL_SERVER_ERROR, None)
            );
        }
    }

    #[test]
    fn sqlite_codes_are_judged_by_their_primary_code() {
        assert!(is_transient_sqlite(13), "SQLITE_FULL");
        assert!(is_transient_sqlite(778), "SQLITE_IOERR_WRITE");
        assert!(is_transient_sqlite(5), "SQLITE_BUSY");
        assert!(!is_transient_sqlite(11), "SQLITE_CORRUPT");
        assert!(!is_transient_sqlite(26), "SQLITE_NOTADB");
        assert!(!is_transient_sqlite(2067), "SQLITE_CONSTRAINT_UNIQUE");
    }

    #[test]
    fn sqlstates_of_an_unavailable_server_are_transient() {
        for state in [
            "08006", "08001", "53100", "57P01", "57P03", "58030", "25006",
        ] {
            assert!(is_transient_sqlstate(state), "{state}");
        }
        for state in ["23505", "42P01", "XX001", "22P02"] {
            assert!(!is_transient_sqlstate(state), "{state}");
        }
    }
}
