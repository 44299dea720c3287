//! Dealers: the list of them, and one dealer with its departments.

use axum::extract::State;
use serde::Serialize;
use uuid::Uuid;

use crate::api::admin::dealer;
use crate::api::admin_paging::{
    List, Page, PageParams, cut, decode_uuid_token, encode_token, page_size, rfc3339,
};
use crate::api::auth::Admin;
use crate::api::error::{ApiError, ApiResult, Reply};
use crate::api::extract::{ApiPath, ApiQuery};
use crate::api::state::AppState;
use crate::domain::directory::{Department, DepartmentSettings};
use crate::store::admin_reads::DealerEntry;

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DealerItem {
    uuid: Uuid,
    name: String,
    created_at: String,
}

/// One page of dealers, oldest first, and the next page's token (admin API and console).
pub(crate) async fn dealer_list(
    state: &AppState,
    params: &PageParams,
) -> Result<(Vec<DealerEntry>, Option<String>), ApiError> {
    let size = page_size(&params.page_size)?;
    let after = decode_uuid_token(List::Dealers, &params.page_token)?;
    let rows = state.store.dealers_page(after.as_ref(), size + 1).await?;
    Ok(cut(rows, size, |d| {
        encode_token(List::Dealers, d.created_at, &d.dealer.uuid.to_string())
    }))
}

/// `GET /admin/v1/dealers`: oldest first.
pub(super) async fn list_dealers(
    _: Admin,
    State(state): State<AppState>,
    ApiQuery(params): ApiQuery<PageParams>,
) -> ApiResult<Page<DealerItem>> {
    let (rows, next_page_token) = dealer_list(&state, &params).await?;
    Ok(Reply::ok(Page {
        items: rows
            .into_iter()
            .map(|d| DealerItem {
                uuid: d.dealer.uuid,
                name: d.dealer.name,
                created_at: rfc3339(d.created_at),
            })
            .collect(),
        next_page_token,
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

impl From<Department> for DepartmentView {
    fn from(d: Department) -> Self {
        Self {
            uuid: d.uuid,
            dealer_uuid: d.dealer_uuid,
            name: d.name,
            default_user_uuid: d.default_user_uuid,
            settings: d.settings,
        }
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DealerView {
    uuid: Uuid,
    name: String,
    departments: Vec<DepartmentView>,
}

#[derive(Serialize)]
pub struct DealerReply {
    dealer: DealerView,
}

/// `GET /admin/v1/dealers/{dealerUuid}`: the dealer and all its departments, oldest first.
pub(super) async fn show_dealer(
    _: Admin,
    State(state): State<AppState>,
    ApiPath(segment): ApiPath<String>,
) -> ApiResult<DealerReply> {
    let dealer = dealer(&state, &segment).await?;
    let departments = state.store.departments_of(dealer.uuid).await?;
    Ok(Reply::ok(DealerReply {
        dealer: DealerView {
            uuid: dealer.uuid,
            name: dealer.name,
            departments: departments.into_iter().map(Into::into).collect(),
        },
    }))
}
