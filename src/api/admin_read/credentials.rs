//! Credentials: the list of them, revoked ones included, never a secret.

use axum::extract::State;
use serde::Serialize;

use crate::api::admin_paging::{
    List, Page, PageParams, cut, decode_token, encode_token, page_size, rfc3339,
};
use crate::api::auth::Admin;
use crate::api::error::{ApiError, ApiResult, Reply};
use crate::api::extract::ApiQuery;
use crate::api::state::AppState;
use crate::domain::credential::Grant;
use crate::store::admin_reads::CredentialEntry;

/// A credential as the operator sees it. There is deliberately no field for the password
/// hash or the webhook secret: neither can reach this answer.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CredentialItem {
    username: String,
    grants: Vec<Grant>,
    created_at: String,
    revoked_at: Option<String>,
    last_used_at: Option<String>,
}

impl From<CredentialEntry> for CredentialItem {
    fn from(c: CredentialEntry) -> Self {
        Self {
            username: c.username,
            grants: c.grants,
            created_at: rfc3339(c.created_at),
            revoked_at: c.revoked_at.map(rfc3339),
            last_used_at: c.last_used_at.map(rfc3339),
        }
    }
}

/// One page of credentials, oldest first, revoked ones included (admin API and console).
pub(crate) async fn credential_list(
    state: &AppState,
    params: &PageParams,
) -> Result<(Vec<CredentialEntry>, Option<String>), ApiError> {
    let size = page_size(&params.page_size)?;
    let after = decode_token(List::Credentials, &params.page_token)?;
    let rows = state
        .store
        .credentials_page(after.as_ref(), size + 1)
        .await?;
    Ok(cut(rows, size, |c| {
        encode_token(List::Credentials, c.created_at, &c.username)
    }))
}

/// `GET /admin/v1/credentials`: oldest first, revoked ones included (with `revokedAt`).
pub(super) async fn list_credentials(
    _: Admin,
    State(state): State<AppState>,
    ApiQuery(params): ApiQuery<PageParams>,
) -> ApiResult<Page<CredentialItem>> {
    let (rows, next_page_token) = credential_list(&state, &params).await?;
    Ok(Reply::ok(Page {
        items: rows.into_iter().map(CredentialItem::from).collect(),
        next_page_token,
    }))
}
