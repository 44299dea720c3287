//! `POST /communications/department/{departmentUUID}/user/{userUuid}/customer/{customerUuid}/message`:
//! the seed's endpoint. The grant, the `Idempotency-Key` and the body are read here; the rest
//! of SPEC 4.2 is the use case [`service::send`](crate::service::send), whose outcome is
//! answered here.

use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::auth::Integrator;
use super::context;
use super::error::{ApiError, ErrorItem};
use super::extract::{ApiBody, ApiPath, path_uuid, refuse_nul};
use super::state::AppState;
use crate::domain::credential::Scope;
use crate::domain::report::MessageReport;
use crate::domain::send_request;
use crate::service::send::{InlineAnswer, SendCall, SendDeps, Sent, SyncStatus};
use crate::store::StoredResponse;

const IDEMPOTENCY_HEADER: &str = "idempotency-key";

pub async fn send(
    auth: Integrator,
    State(state): State<AppState>,
    ApiPath((department, user, customer)): ApiPath<(String, String, String)>,
    headers: HeaderMap,
    body: ApiBody,
) -> Result<Response, ApiError> {
    let started = std::time::Instant::now();
    // 1. Credentials (the extractor) and grant.
    let department = auth
        .department(&state, &department, Scope::MessageCreate)
        .await?;
    let idempotency_key = idempotency_key(&headers)?;
    // 2. The request itself, every problem at once; its body is read only now.
    let body = body.bytes().await?;
    refuse_nul(&body)?;
    let request = send_request::parse(&body, state.clock.now()).map_err(|problems| {
        ApiError::from_items(
            StatusCode::BAD_REQUEST,
            problems
                .into_iter()
                .map(|p| ErrorItem::new(p.code, p.description))
                .collect(),
        )
    })?;
    // 3.–6. and the rest: the use case.
    let override_granted = auth.holds(Scope::MessageOverrideOptout, &department);
    let call = SendCall {
        department,
        credential: &auth.0.username,
        override_granted,
        request_uuid: context::request_id(),
        user: path_uuid(&user),
        customer: path_uuid(&customer),
        request,
        idempotency_key: idempotency_key.as_deref(),
        body: &body,
        started,
    };
    let deps = SendDeps {
        store: &state.store,
        settings: &state.settings,
        clock: &state.clock,
        deliverer: &state.deliverer,
        delivery_wake: &state.delivery_wake,
    };
    match crate::service::send::send(&deps, call).await {
        Ok(Sent::Accepted(report)) => Ok(report_response(StatusCode::OK, &report)),
        Ok(Sent::Inline(answer)) => Ok(inline_response(answer)),
        Ok(Sent::Replayed(first)) => Ok(replayed(first)),
        Err(failure) => Err(failure.into()),
    }
}

fn idempotency_key(headers: &HeaderMap) -> Result<Option<String>, ApiError> {
    let Some(value) = headers.get(IDEMPOTENCY_HEADER) else {
        return Ok(None);
    };
    let key = value
        .to_str()
        .ok()
        .map(str::trim)
        .filter(|k| !k.is_empty() && k.len() <= 255)
        .ok_or_else(|| {
            ApiError::invalid_request("Idempotency-Key: 1 to 255 visible ASCII characters")
        })?;
    Ok(Some(key.to_string()))
}

/// The idempotency key's first answer, as it was stored.
fn replayed(first: StoredResponse) -> Response {
    let status = StatusCode::from_u16(first.status).unwrap_or(StatusCode::OK);
    let mut response = (status, first.body).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
        .headers_mut()
        .insert("idempotent-replayed", HeaderValue::from_static("true"));
    response
}

/// A synchronous send's answer: its outcome's status, and `Retry-After` for a rate limit.
fn inline_response(answer: InlineAnswer) -> Response {
    let status = StatusCode::from_u16(answer.status.http_status())
        .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = report_response(status, &answer.report);
    if let (SyncStatus::RateLimited, Some(wait)) = (answer.status, answer.retry_after) {
        let seconds = wait.as_secs().max(1).to_string();
        if let Ok(value) = HeaderValue::from_str(&seconds) {
            response.headers_mut().insert(header::RETRY_AFTER, value);
        }
    }
    response
}

fn report_response(status: StatusCode, report: &MessageReport) -> Response {
    (status, axum::Json(report)).into_response()
}
