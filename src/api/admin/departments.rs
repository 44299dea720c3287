//! Departments: creating one (with its default associate) and patching its name and settings.

use axum::extract::State;
use serde::Serialize;
use serde_json::Value;
use uuid::Uuid;

use super::{dealer, department, required_name};
use crate::api::auth::Admin;
use crate::api::error::{ApiError, ApiResult, Reply};
use crate::api::extract::{ApiJson, ApiPath, from_value};
use crate::api::state::AppState;
use crate::domain::directory::{Department, DepartmentSettings, User};

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CreatedDepartment {
    uuid: Uuid,
    default_user_uuid: Uuid,
}

/// `{name, <department settings>}`; the department's default associate is created with it.
pub(super) async fn create_department(
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
        .insert_department(&department, &default_user, state.clock.now())
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
/// or restores a default, except where `null` is a setting's own value
/// ([`NULL_IS_A_VALUE`]: `quietHours: null` turns quiet hours off, SPEC 5.5).
pub(super) async fn update_department(
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
    let set_null: Vec<String> = NULL_IS_A_VALUE
        .iter()
        .filter(|k| patch.get(**k).is_some_and(Value::is_null))
        .map(|k| k.to_string())
        .collect();
    merge_patch(&mut current, Value::Object(patch));
    for key in set_null {
        current[key] = Value::Null;
    }
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

/// Settings for which `null` is a value of its own rather than "back to the default".
const NULL_IS_A_VALUE: &[&str] = &["quietHours"];

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
