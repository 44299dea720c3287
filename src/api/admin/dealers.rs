//! Dealers: creating one.

use axum::extract::State;
use serde::Deserialize;
use uuid::Uuid;

use super::{Created, required_name};
use crate::api::auth::Admin;
use crate::api::error::{ApiResult, Reply};
use crate::api::extract::ApiJson;
use crate::api::state::AppState;
use crate::domain::directory::Dealer;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewDealer {
    name: Option<String>,
}

pub(super) async fn create_dealer(
    _: Admin,
    State(state): State<AppState>,
    ApiJson(body): ApiJson<NewDealer>,
) -> ApiResult<Created> {
    let dealer = Dealer {
        uuid: Uuid::new_v4(),
        name: required_name(body.name, "name")?,
    };
    state
        .store
        .insert_dealer(&dealer, state.clock.now())
        .await?;
    Ok(Reply::ok(Created { uuid: dealer.uuid }))
}
