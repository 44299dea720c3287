//! `/healthz` (the process answers) and `/readyz` (the database answers and takes writes).

use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::state::AppState;

/// A probe that waits longer than this says "not ready": load balancers give up on slow
/// answers anyway, and a database that needs longer for one row cannot serve requests.
const PROBE_TIMEOUT: Duration = Duration::from_secs(3);

pub async fn alive() -> Json<serde_json::Value> {
    Json(json!({"status": "ok"}))
}

/// Ready only while a real write succeeds (SPEC 8): a database that answers reads but cannot
/// take writes (a full disk) would accept no message, so it is `503` until writes land again.
pub async fn ready(State(state): State<AppState>) -> Response {
    let failure = match tokio::time::timeout(PROBE_TIMEOUT, state.store.check_writable()).await {
        Ok(Ok(())) => return Json(json!({"status": "ready"})).into_response(),
        Ok(Err(err)) => err.to_string(),
        Err(_) => format!("no answer within {} s", PROBE_TIMEOUT.as_secs()),
    };
    tracing::warn!(error = %failure, "readiness check failed");
    (
        StatusCode::SERVICE_UNAVAILABLE,
        Json(json!({"status": "database not writable"})),
    )
        .into_response()
}
