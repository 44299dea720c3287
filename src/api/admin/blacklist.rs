//! A dealer's blacklist: adding addresses and domains no one at the dealer may email.

use axum::extract::State;
use serde::{Deserialize, Serialize};

use super::dealer;
use crate::api::auth::Admin;
use crate::api::error::{ApiError, ApiResult, ErrorItem, Reply};
use crate::api::extract::{ApiJson, ApiPath};
use crate::api::state::AppState;
use crate::domain::codes::ErrorCode;
use crate::domain::email::{EmailAddress, parse_domain};

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

pub(super) async fn add_to_blacklist(
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
