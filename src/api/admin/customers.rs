//! Customers: the DMS import of one customer or many.

use axum::extract::State;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::dealer;
use crate::api::auth::Admin;
use crate::api::customer_body::CustomerBody;
use crate::api::error::{ApiError, ApiResult, Reply};
use crate::api::extract::{ApiBytes, ApiPath, parse_json};
use crate::api::state::AppState;
use crate::domain::customer::ContactOrigin;
use crate::domain::optout::OptCause;
use crate::store::StoreError;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ImportBody {
    customer: Option<CustomerBody>,
    customers: Option<Vec<CustomerBody>>,
}

#[derive(Serialize)]
pub struct Imported {
    uuids: Vec<Uuid>,
}

/// DMS import: one customer or many. Their phone numbers start `OPTED_IN` (an explicit
/// opt-out stays). A customer without `uuid` but with a `customerKey` already known for this
/// dealer updates that customer, so re-running an import does not duplicate anyone.
pub(super) async fn import_customers(
    _: Admin,
    State(state): State<AppState>,
    ApiPath(dealer_segment): ApiPath<String>,
    ApiBytes(body): ApiBytes,
) -> ApiResult<Imported> {
    let dealer = dealer(&state, &dealer_segment).await?;
    let body: ImportBody = parse_json(&body)?;
    let (bodies, prefix): (Vec<CustomerBody>, &str) = match (body.customer, body.customers) {
        (Some(one), None) => (vec![one], "customer"),
        (None, Some(many)) if !many.is_empty() && many.len() <= 1000 => (many, "customers"),
        _ => {
            return Err(ApiError::invalid_request(
                "give either customer or customers (1 to 1000 entries)",
            ));
        }
    };
    let single = bodies.len() == 1 && prefix == "customer";
    let mut prepared = Vec::with_capacity(bodies.len());
    let mut problems = Vec::new();
    for (i, b) in bodies.into_iter().enumerate() {
        let path = if single {
            prefix.to_string()
        } else {
            format!("{prefix}[{i}]")
        };
        let base = match (&b.uuid, b.customer_key.as_deref()) {
            (Some(uuid), _) => state.store.customer(dealer.uuid, *uuid).await?,
            (None, Some(key)) if !key.trim().is_empty() => {
                state.store.customer_by_key(dealer.uuid, key.trim()).await?
            }
            _ => None,
        };
        match b.into_customer(dealer.uuid, base, &path) {
            Ok(c) => prepared.push(c),
            Err(e) => problems.extend(e.errors),
        }
    }
    if !problems.is_empty() {
        return Err(ApiError::from_items(
            axum::http::StatusCode::BAD_REQUEST,
            problems,
        ));
    }
    let now = state.clock.now();
    // The history of each imported number and address names this request.
    let cause = OptCause::request(crate::api::context::request_id(), None);
    let mut uuids = Vec::with_capacity(prepared.len());
    for customer in &prepared {
        state
            .store
            .save_customer_caused(customer, ContactOrigin::DmsImport, &cause, now)
            .await
            .map_err(|e| match e {
                StoreError::Conflict(_) => ApiError::invalid_request(format!(
                    "customer {} belongs to another dealer",
                    customer.uuid
                )),
                other => ApiError::from(other),
            })?;
        uuids.push(customer.uuid);
    }
    // Imported numbers opt in, which may release messages waiting for them.
    state.delivery_wake.notify_one();
    Ok(Reply::ok(Imported { uuids }))
}
