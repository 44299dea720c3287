//! Customer locks: `POST` and `DELETE .../user/{userUuid}/customer/{customerUuid}/lock`.
//! While a user holds a lock, other users' sends fail with `CUSTOMER_LOCKED` (SPEC 1).

use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use time::format_description::well_known::Rfc3339;
use uuid::Uuid;

use super::auth::Integrator;
use super::error::{ApiError, ApiResult, Reply};
use super::extract::{ApiBody, ApiPath, parse_json};
use super::lookup::{department_user, required_customer};
use super::state::AppState;
use crate::domain::codes::ErrorCode;
use crate::domain::credential::Scope;
use crate::store::{CustomerLock, LockOutcome, UnlockOutcome};

const DEFAULT_TTL_SECONDS: i64 = 300;
const MAX_TTL_SECONDS: i64 = 86_400;

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LockBody {
    ttl_seconds: Option<i64>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LockView {
    #[serde(rename = "customerUUID")]
    customer_uuid: Uuid,
    #[serde(rename = "userUUID")]
    user_uuid: Uuid,
    expires_at: String,
}

impl From<CustomerLock> for LockView {
    fn from(l: CustomerLock) -> Self {
        Self {
            customer_uuid: l.customer_uuid,
            user_uuid: l.user_uuid,
            expires_at: l.expires_at.format(&Rfc3339).unwrap_or_default(),
        }
    }
}

#[derive(Serialize)]
pub struct LockReply {
    lock: LockView,
}

#[derive(Serialize)]
pub struct UnlockReply {
    released: bool,
}

fn locked(held: CustomerLock) -> ApiError {
    ApiError::new(
        StatusCode::CONFLICT,
        ErrorCode::CustomerLocked,
        format!(
            "the customer is locked by another user until {}",
            held.expires_at.format(&Rfc3339).unwrap_or_default()
        ),
    )
}

pub async fn lock(
    auth: Integrator,
    State(state): State<AppState>,
    ApiPath((department, user, customer)): ApiPath<(String, String, String)>,
    body: ApiBody,
) -> ApiResult<LockReply> {
    let department = auth
        .department(&state, &department, Scope::CustomerUpdate)
        .await?;
    let body = body.bytes().await?;
    let body: LockBody = if body.iter().all(u8::is_ascii_whitespace) {
        LockBody::default()
    } else {
        parse_json(&body)?
    };
    let ttl = body.ttl_seconds.unwrap_or(DEFAULT_TTL_SECONDS);
    if !(1..=MAX_TTL_SECONDS).contains(&ttl) {
        return Err(ApiError::invalid_request(format!(
            "ttlSeconds: from 1 to {MAX_TTL_SECONDS}"
        )));
    }
    let user = department_user(&state, &department, &user).await?;
    let customer = required_customer(&state, &department, &customer).await?;
    let now = state.clock.now();
    let wanted = CustomerLock {
        customer_uuid: customer.uuid,
        user_uuid: user.uuid,
        expires_at: now + time::Duration::seconds(ttl),
    };
    match state.store.lock_customer(&wanted, now).await? {
        LockOutcome::Held(lock) => Ok(Reply::ok(LockReply { lock: lock.into() })),
        LockOutcome::HeldByOther(held) => Err(locked(held)),
    }
}

pub async fn unlock(
    auth: Integrator,
    State(state): State<AppState>,
    ApiPath((department, user, customer)): ApiPath<(String, String, String)>,
) -> ApiResult<UnlockReply> {
    let department = auth
        .department(&state, &department, Scope::CustomerUpdate)
        .await?;
    let user = department_user(&state, &department, &user).await?;
    let customer = required_customer(&state, &department, &customer).await?;
    let now = state.clock.now();
    match state
        .store
        .unlock_customer(customer.uuid, user.uuid, now)
        .await?
    {
        UnlockOutcome::Released => Ok(Reply::ok(UnlockReply { released: true })),
        UnlockOutcome::NotLocked => Ok(Reply::ok(UnlockReply { released: false })),
        UnlockOutcome::HeldByOther(held) => Err(locked(held)),
    }
}
