//! A number's or address's consent at one dealer: its state and full history, the record a
//! dealer shows in a TCPA dispute. Reads the admin API's use case
//! (src/api/admin_consent.rs).

use axum::extract::{Query, State};
use axum::response::Response;
use maud::html;
use serde::Deserialize;

use super::layout::{self, page};
use super::session::Session;
use crate::api::AppState;
use crate::api::admin_consent::consent_history;
use crate::api::admin_read::{PageParams, dealer_list};
use crate::api::error::ApiError;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConsentQuery {
    dealer_uuid: Option<String>,
    value: Option<String>,
}

/// `GET /console/consent?dealerUuid=&value=`.
pub async fn show(
    session: Session,
    State(state): State<AppState>,
    Query(query): Query<ConsentQuery>,
) -> Response {
    let dealers = match dealer_list(
        &state,
        &PageParams {
            page_size: Some("200".into()),
            page_token: None,
        },
    )
    .await
    {
        Ok((rows, _)) => rows,
        Err(error) => return layout::failure(&session, error),
    };
    let chosen = query.dealer_uuid.as_deref().unwrap_or("").trim();
    let value = query.value.as_deref().unwrap_or("").trim();
    let looked_up = if chosen.is_empty() || value.is_empty() {
        None
    } else {
        Some(match uuid::Uuid::parse_str(chosen) {
            Ok(dealer) => consent_history(&state, dealer, value).await,
            Err(_) => Err(ApiError::invalid_request("dealerUuid: not a UUID")),
        })
    };
    let body = html! {
        form.filters method="get" action="/console/consent" {
            label { "Dealer" select name="dealerUuid" {
                @for d in &dealers {
                    option value=(d.dealer.uuid) selected[chosen == d.dealer.uuid.to_string()] { (d.dealer.name) }
                }
            } }
            label { "Phone number or email address" input type="text" name="value" value=(value); }
            button type="submit" { "Show history" }
        }
        @match looked_up {
            None => {}
            Some(Err(error)) => { ul.errors { @for e in &error.errors { li { (e.error_description) } } } }
            Some(Ok(c)) => {
                dl.settings {
                    dt { "Value" } dd.mono { (c.communication_value) }
                    dt { "State now" } dd.state { (c.opt_out_state.as_str()) }
                    @if let Some(t) = &c.time_of_change { dt { "Changed" } dd { (t) } }
                    @if let Some(t) = &c.optin_requested_at { dt { "Opt-in requested" } dd { (t) } }
                }
                h2 { "History, oldest first" }
                @if c.history.is_empty() { p { "Nothing recorded." } } @else {
                    table.history { tr { th { "Time" } th { "Event" } th { "Source" } th { "State after" } th { "By" } th { "Message" } th { "Request" } }
                        @for e in &c.history { tr {
                            td { (e.time) } td { (e.event) } td { (e.source) } td { (e.opt_out_state) }
                            td { (e.actor.as_deref().unwrap_or("")) }
                            td { @if let Some(m) = e.message_uuid { a.mono href={ "/console/messages/" (m) } { (m) } } }
                            td.mono { (e.request_uuid.map(|r| r.to_string()).unwrap_or_default()) }
                        } }
                    }
                }
            }
        }
    };
    page("Consent history", &session, body)
}
