//! The operator's API under `/admin/v1` (SPEC 8), behind `Authorization: Bearer <admin_token>`.

use axum::Router;
use axum::extract::State;
use axum::routing::{delete, patch, post};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

use super::auth::Admin;
use super::customer_body::CustomerBody;
use super::error::{ApiError, ApiResult, ErrorItem, Reply};
use super::extract::{ApiBytes, ApiJson, ApiPath, from_value, parse_json, path_uuid};
use super::state::AppState;
use crate::domain::codes::ErrorCode;
use crate::domain::credential::{Grant, IssuedCredential, Level};
use crate::domain::customer::ContactOrigin;
use crate::domain::directory::{Dealer, Department, DepartmentSettings, User};
use crate::domain::email::{EmailAddress, parse_domain};
use crate::domain::optout::OptCause;
use crate::store::StoreError;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/dealers", post(create_dealer))
        .route("/dealers/{dealer}/departments", post(create_department))
        .route("/departments/{department}", patch(update_department))
        .route("/departments/{department}/users", post(create_user))
        .route("/credentials", post(create_credential))
        .route("/credentials/{username}", delete(revoke_credential))
        .route("/dealers/{dealer}/customers", post(import_customers))
        .route("/dealers/{dealer}/blacklist", post(add_to_blacklist))
        .merge(super::admin_read::router())
        .merge(super::admin_consent::router())
        .merge(super::admin_actions::router())
        .merge(super::admin_callbacks::router())
        .merge(super::admin_queue::router())
}

#[derive(Serialize)]
pub struct Created {
    uuid: Uuid,
}

fn required_name(name: Option<String>, field: &str) -> Result<String, ApiError> {
    let name = name.map(|n| n.trim().to_string()).unwrap_or_default();
    if name.is_empty() || name.chars().count() > 200 {
        return Err(ApiError::invalid_request(format!(
            "{field}: required, 1 to 200 characters"
        )));
    }
    Ok(name)
}

pub(crate) async fn dealer(state: &AppState, segment: &str) -> Result<Dealer, ApiError> {
    let not_found = || ApiError::not_found(ErrorCode::InvalidDealer, "no such dealer");
    let uuid = path_uuid(segment).ok_or_else(not_found)?;
    state.store.dealer(uuid).await?.ok_or_else(not_found)
}

pub(crate) async fn department(state: &AppState, segment: &str) -> Result<Department, ApiError> {
    let not_found = || ApiError::not_found(ErrorCode::InvalidDepartment, "no such department");
    let uuid = path_uuid(segment).ok_or_else(not_found)?;
    state.store.department(uuid).await?.ok_or_else(not_found)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewDealer {
    name: Option<String>,
}

async fn create_dealer(
    _: Admin,
    State(state): State<AppState>,
    ApiJson(body): ApiJson<NewDealer>,
) -> ApiResult<Created> {
    let dealer = Dealer {
        uuid: Uuid::new_v4(),
        name: required_name(body.name, "name")?,
    };
    state.store.insert_dealer(&dealer).await?;
    Ok(Reply::ok(Created { uuid: dealer.uuid }))
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CreatedDepartment {
    uuid: Uuid,
    default_user_uuid: Uuid,
}

/// `{name, <department settings>}`; the department's default associate is created with it.
async fn create_department(
    _: Admin,
    State(state): State<AppState>,
    ApiPath(dealer_segment): ApiPath<String>,
    ApiJson(body): ApiJson<serde_json::Map<String, Value>>,
) -> ApiResult<CreatedDepartment> {
    let dealer = dealer(&state, &dealer_segment).await?;
    let mut body = body;
    let name = match body.remove("name") {
        Some(Value::String(s)) => Some(s),
        None | Some(Value::Null) => None,
        Some(_) => return Err(ApiError::invalid_request("name: expected a string")),
    };
    let name = required_name(name, "name")?;
    let settings: DepartmentSettings = from_value(Value::Object(body), "")?;
    let department_uuid = Uuid::new_v4();
    let default_user = User::default_for(&dealer, department_uuid, &name);
    let department = Department {
        uuid: department_uuid,
        dealer_uuid: dealer.uuid,
        name,
        settings,
        default_user_uuid: default_user.uuid,
    };
    state
        .store
        .insert_department(&department, &default_user)
        .await?;
    Ok(Reply::ok(CreatedDepartment {
        uuid: department.uuid,
        default_user_uuid: default_user.uuid,
    }))
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DepartmentView {
    uuid: Uuid,
    dealer_uuid: Uuid,
    name: String,
    default_user_uuid: Uuid,
    settings: DepartmentSettings,
}

#[derive(Serialize)]
pub struct DepartmentReply {
    department: DepartmentView,
}

/// A JSON merge patch (RFC 7386) of `{name, <settings>}`: `null` clears an optional setting
/// or restores a default.
async fn update_department(
    _: Admin,
    State(state): State<AppState>,
    ApiPath(segment): ApiPath<String>,
    ApiJson(patch): ApiJson<serde_json::Map<String, Value>>,
) -> ApiResult<DepartmentReply> {
    let mut department = department(&state, &segment).await?;
    let mut patch = patch;
    if let Some(name) = patch.remove("name") {
        let name = match name {
            Value::String(s) => Some(s),
            _ => return Err(ApiError::invalid_request("name: expected a string")),
        };
        department.name = required_name(name, "name")?;
    }
    let mut current = serde_json::to_value(&department.settings).map_err(ApiError::internal)?;
    merge_patch(&mut current, Value::Object(patch));
    department.settings = from_value(current, "")?;
    state.store.update_department(&department).await?;
    Ok(Reply::ok(DepartmentReply {
        department: DepartmentView {
            uuid: department.uuid,
            dealer_uuid: department.dealer_uuid,
            name: department.name,
            default_user_uuid: department.default_user_uuid,
            settings: department.settings,
        },
    }))
}

fn merge_patch(target: &mut Value, patch: Value) {
    match patch {
        Value::Object(fields) => {
            if !target.is_object() {
                *target = Value::Object(Default::default());
            }
            let map = target.as_object_mut().expect("made an object above");
            for (key, value) in fields {
                if value.is_null() {
                    map.remove(&key);
                } else {
                    merge_patch(map.entry(key).or_insert(Value::Null), value);
                }
            }
        }
        other => *target = other,
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NewUser {
    first_name: Option<String>,
    last_name: Option<String>,
    email: Option<String>,
    can_text: Option<bool>,
    can_email: Option<bool>,
}

async fn create_user(
    _: Admin,
    State(state): State<AppState>,
    ApiPath(segment): ApiPath<String>,
    ApiJson(body): ApiJson<NewUser>,
) -> ApiResult<Created> {
    let department = department(&state, &segment).await?;
    let email = match body
        .email
        .as_deref()
        .map(str::trim)
        .filter(|e| !e.is_empty())
    {
        Some(e) => Some(
            EmailAddress::parse(e)
                .map_err(|err| ApiError::invalid_request(format!("email: {err}")))?,
        ),
        None => None,
    };
    let user = User {
        uuid: Uuid::new_v4(),
        department_uuid: department.uuid,
        first_name: required_name(body.first_name, "firstName")?,
        last_name: required_name(body.last_name, "lastName")?,
        email,
        can_text: body.can_text.unwrap_or(true),
        can_email: body.can_email.unwrap_or(true),
        is_default: false,
    };
    state.store.insert_user(&user).await?;
    Ok(Reply::ok(Created { uuid: user.uuid }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewCredential {
    grants: Vec<Grant>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct IssuedView {
    pub(crate) username: String,
    pub(crate) password: String,
    pub(crate) webhook_secret: String,
}

/// Issues a credential for `grants` after checking each grant names an existing dealer or
/// department. The password is in the answer only; Herald keeps its keyed hash. Shared by
/// the admin API and the console.
pub(crate) async fn issue_credential(
    state: &AppState,
    grants: Vec<Grant>,
) -> Result<IssuedView, ApiError> {
    let mut problems = Vec::new();
    for (i, grant) in grants.iter().enumerate() {
        let exists = match grant.level {
            Level::Dealer => state.store.dealer(grant.uuid).await?.is_some(),
            Level::DealerDepartment => state.store.department(grant.uuid).await?.is_some(),
        };
        if !exists {
            problems.push(ErrorItem::new(
                ErrorCode::InvalidGrant,
                format!(
                    "grants[{i}].uuid: no {} {}",
                    grant.level.as_str(),
                    grant.uuid
                ),
            ));
        }
    }
    if !problems.is_empty() {
        return Err(ApiError::from_items(
            axum::http::StatusCode::BAD_REQUEST,
            problems,
        ));
    }
    let issued = IssuedCredential::generate(grants);
    state
        .store
        .put_credential(&issued.credential, state.clock.now())
        .await?;
    tracing::info!(username = %issued.credential.username, "credential issued");
    Ok(IssuedView {
        username: issued.credential.username.clone(),
        webhook_secret: issued.credential.webhook_secret.expose().to_string(),
        password: issued.password,
    })
}

async fn create_credential(
    _: Admin,
    State(state): State<AppState>,
    ApiJson(body): ApiJson<NewCredential>,
) -> ApiResult<IssuedView> {
    Ok(Reply::ok(issue_credential(&state, body.grants).await?))
}

#[derive(Serialize)]
pub struct Revoked {
    revoked: bool,
}

/// Revokes a credential on every node (the cache entry goes too); `404` when unknown.
pub(crate) async fn revoke(state: &AppState, username: &str) -> Result<(), ApiError> {
    let found = state
        .store
        .revoke_credential(username, state.clock.now())
        .await?;
    state.credentials.invalidate(username);
    if !found {
        return Err(ApiError::not_found(
            ErrorCode::InvalidCredentials,
            "no such credential",
        ));
    }
    tracing::info!(%username, "credential revoked");
    Ok(())
}

async fn revoke_credential(
    _: Admin,
    State(state): State<AppState>,
    ApiPath(username): ApiPath<String>,
) -> ApiResult<Revoked> {
    revoke(&state, &username).await?;
    Ok(Reply::ok(Revoked { revoked: true }))
}

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
async fn import_customers(
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
    let cause = OptCause::request(super::context::request_id(), None);
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

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BlacklistBody {
    #[serde(default)]
    emails: Vec<String>,
    #[serde(default)]
    domains: Vec<String>,
}

#[derive(Serialize)]
pub struct BlacklistReply {
    emails: usize,
    domains: usize,
}

async fn add_to_blacklist(
    _: Admin,
    State(state): State<AppState>,
    ApiPath(dealer_segment): ApiPath<String>,
    ApiJson(body): ApiJson<BlacklistBody>,
) -> ApiResult<BlacklistReply> {
    let dealer = dealer(&state, &dealer_segment).await?;
    let mut problems = Vec::new();
    let mut emails = Vec::new();
    for (i, e) in body.emails.iter().enumerate() {
        match EmailAddress::parse(e) {
            Ok(address) => emails.push(address),
            Err(err) => problems.push(ErrorItem::new(
                ErrorCode::InvalidRequest,
                format!("emails[{i}]: {err}"),
            )),
        }
    }
    let mut domains = Vec::new();
    for (i, d) in body.domains.iter().enumerate() {
        match parse_domain(d) {
            Some(domain) => domains.push(domain),
            None => problems.push(ErrorItem::new(
                ErrorCode::InvalidRequest,
                format!("domains[{i}]: {d:?} is not a domain"),
            )),
        }
    }
    if !problems.is_empty() {
        return Err(ApiError::from_items(
            axum::http::StatusCode::BAD_REQUEST,
            problems,
        ));
    }
    state
        .store
        .add_to_blacklist(dealer.uuid, &emails, &domains, state.clock.now())
        .await?;
    Ok(Reply::ok(BlacklistReply {
        emails: emails.len(),
        domains: domains.len(),
    }))
}
