//! `/customer/v2/department/{departmentUUID}/customer...`: create, update, get and search.

use axum::extract::State;
use serde::{Deserialize, Serialize};

use super::auth::Integrator;
use super::context;
use super::customer_body::{CustomerEnvelope, CustomerView};
use super::error::{ApiError, ApiResult, Reply};
use super::extract::{ApiBody, ApiPath, ApiQuery, path_uuid};
use super::lookup::{dealer_customer, invalid_customer_404};
use super::state::AppState;
use crate::domain::credential::Scope;
use crate::domain::customer::ContactOrigin;
use crate::domain::optout::OptCause;
use crate::domain::{EmailAddress, PhoneNumber};
use crate::store::CustomerQuery;

#[derive(Serialize)]
pub struct CustomerReply {
    customer: CustomerView,
}

#[derive(Serialize)]
pub struct SearchReply {
    customers: Vec<CustomerView>,
}

/// `POST .../customer`: creates a customer, or updates the one `customer.uuid` names.
/// Numbers added here start `NOT_SET` (SPEC 1).
pub async fn save(
    auth: Integrator,
    State(state): State<AppState>,
    ApiPath(department): ApiPath<String>,
    body: ApiBody,
) -> ApiResult<CustomerReply> {
    let department = auth
        .department(&state, &department, Scope::CustomerUpdate)
        .await?;
    // Parsed only once the grant is checked: a stranger learns nothing from validation.
    let body = body.json::<CustomerEnvelope>().await?.customer;
    let base = match body.uuid {
        Some(uuid) => Some(
            state
                .store
                .customer(department.dealer_uuid, uuid)
                .await?
                .ok_or_else(|| invalid_customer_404(Some(uuid)))?,
        ),
        None => None,
    };
    let customer = body.into_customer(department.dealer_uuid, base, "customer")?;
    // Kept in the history of each address whose okToEmail this save sets.
    let cause = OptCause::request(context::request_id(), Some(auth.0.username.clone()));
    state
        .store
        .save_customer_caused(&customer, ContactOrigin::Api, &cause, state.clock.now())
        .await?;
    Ok(Reply::ok(CustomerReply {
        customer: customer.into(),
    }))
}

pub async fn get(
    auth: Integrator,
    State(state): State<AppState>,
    ApiPath((department, customer)): ApiPath<(String, String)>,
) -> ApiResult<CustomerReply> {
    let department = auth
        .department(&state, &department, Scope::CustomerSearch)
        .await?;
    let found = dealer_customer(&state, &department, &customer)
        .await?
        .ok_or_else(|| invalid_customer_404(path_uuid(&customer)))?;
    Ok(Reply::ok(CustomerReply {
        customer: found.into(),
    }))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SearchParams {
    search_term: Option<String>,
    max_results: Option<String>,
}

const DEFAULT_MAX_RESULTS: u32 = 20;

/// `GET .../customer?searchTerm=&maxResults=`: by name, customerKey, phone (10-digit or
/// E.164, any spelling) or email.
pub async fn search(
    auth: Integrator,
    State(state): State<AppState>,
    ApiPath(department): ApiPath<String>,
    params: Result<ApiQuery<SearchParams>, ApiError>,
) -> ApiResult<SearchReply> {
    let department = auth
        .department(&state, &department, Scope::CustomerSearch)
        .await?;
    let ApiQuery(params) = params?;
    let term = params
        .search_term
        .as_deref()
        .map(str::trim)
        .unwrap_or_default();
    if term.is_empty() {
        return Err(ApiError::invalid_request(
            "searchTerm: required and not empty",
        ));
    }
    if term.contains('\0') {
        return Err(ApiError::invalid_request(
            "searchTerm: contains a NUL character",
        ));
    }
    if term.chars().count() > 200 {
        return Err(ApiError::invalid_request(
            "searchTerm: longer than 200 characters",
        ));
    }
    let limit = match params.max_results.as_deref() {
        None => DEFAULT_MAX_RESULTS,
        Some(raw) => raw
            .trim()
            .parse::<u32>()
            .ok()
            .filter(|n| (1..=100).contains(n))
            .ok_or_else(|| ApiError::invalid_request("maxResults: a whole number from 1 to 100"))?,
    };
    let query = CustomerQuery {
        text: term.to_string(),
        phone: PhoneNumber::parse(term).ok(),
        email: EmailAddress::parse(term).ok(),
        limit,
    };
    let customers = state
        .store
        .search_customers(department.dealer_uuid, &query)
        .await?;
    Ok(Reply::ok(SearchReply {
        customers: customers.into_iter().map(Into::into).collect(),
    }))
}
