//! Consent history (SPEC 8, issue 15): `GET /admin/v1/dealers/{dealerUuid}/consent?value=`,
//! the opt state of one phone number or email address at one dealer and every event that
//! touched it, oldest first, each with its source, time and cause (the credential, the
//! message, the API request). It is the record a dealer shows in a TCPA dispute.
//!
//! The use case is [`consent_history`], called by this route and by the operator console.

use axum::Router;
use axum::extract::State;
use axum::routing::get;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use uuid::Uuid;

use super::auth::Admin;
use super::error::{ApiError, ApiResult, Reply};
use super::extract::{ApiPath, ApiQuery, path_uuid};
use super::optout::CommunicationType;
use super::state::AppState;
use crate::domain::codes::ErrorCode;
use crate::domain::optout::OptState;
use crate::domain::{EmailAddress, PhoneNumber};
use crate::service::optout::email_opt_state;
use crate::store::OptHistoryEntry;

/// The consent route, merged into the admin router (`/admin/v1`).
pub fn router() -> Router<AppState> {
    Router::new().route("/dealers/{dealer}/consent", get(show_consent))
}

/// One number's or address's consent at one dealer.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ConsentView {
    pub(crate) dealer_uuid: Uuid,
    pub(crate) communication_type: CommunicationType,
    /// The value as Herald keeps it: E.164, or the lower-cased address.
    pub(crate) communication_value: String,
    pub(crate) opt_out_state: OptState,
    /// When the state last changed (TEXT only; `null` for a number never decided about and
    /// for every address: an address's state is its customers' `okToEmail`).
    pub(crate) time_of_change: Option<String>,
    /// When an opt-in request was last texted (TEXT only).
    pub(crate) optin_requested_at: Option<String>,
    /// Oldest first.
    pub(crate) history: Vec<ConsentEvent>,
}

/// One event of the history. The cause fields are `null` where nothing is known of them,
/// e.g. for events recorded before causes were kept.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ConsentEvent {
    pub(crate) event: String,
    pub(crate) source: String,
    /// The state after the event.
    pub(crate) opt_out_state: String,
    pub(crate) time: String,
    /// The credential's username of an API call.
    pub(crate) actor: Option<String>,
    /// The message that caused it: the inbound text, the opt-in request texted, or the send
    /// the provider refused.
    pub(crate) message_uuid: Option<Uuid>,
    /// The API request that caused it (the `requestUUID` it was answered with), or the one
    /// that accepted the send an opt-in request was texted for.
    pub(crate) request_uuid: Option<Uuid>,
}

fn rfc3339(t: OffsetDateTime) -> String {
    t.format(&Rfc3339).unwrap_or_default()
}

impl From<OptHistoryEntry> for ConsentEvent {
    fn from(e: OptHistoryEntry) -> Self {
        ConsentEvent {
            event: e.event,
            source: e.source,
            opt_out_state: e.state,
            time: rfc3339(e.at),
            actor: e.actor,
            message_uuid: e.cause_message_uuid,
            request_uuid: e.cause_request_id,
        }
    }
}

/// What `value` names: an address when it has an `@`, otherwise a phone number in any form
/// the rest of the API accepts.
enum Value {
    Phone(PhoneNumber),
    Email(EmailAddress),
}

fn parse_value(value: &str) -> Result<Value, ApiError> {
    let value = value.trim();
    if value.is_empty() {
        return Err(ApiError::invalid_request(
            "value: required, a phone number or an email address",
        ));
    }
    let parsed = if value.contains('@') {
        EmailAddress::parse(value).map(Value::Email).ok()
    } else {
        PhoneNumber::parse(value).map(Value::Phone).ok()
    };
    parsed.ok_or_else(|| {
        ApiError::invalid_request("value: neither a phone number nor an email address")
    })
}

/// The consent of `value` at `dealer`: its current state and full history, only that
/// dealer's. An unknown dealer is `404 INVALID_DEALER`; a value that is neither a phone
/// number nor an address is `400 INVALID_REQUEST`; a value nobody has recorded anything
/// about is its default state (`NOT_SET`) with an empty history.
pub(crate) async fn consent_history(
    state: &AppState,
    dealer: Uuid,
    value: &str,
) -> Result<ConsentView, ApiError> {
    if state.store.dealer(dealer).await?.is_none() {
        return Err(ApiError::not_found(
            ErrorCode::InvalidDealer,
            "no such dealer",
        ));
    }
    Ok(match parse_value(value)? {
        Value::Phone(phone) => {
            let status = state.store.opt_status(dealer, &phone).await?;
            let history = state.store.opt_history(dealer, &phone).await?;
            ConsentView {
                dealer_uuid: dealer,
                communication_type: CommunicationType::Text,
                communication_value: phone.as_str().to_string(),
                opt_out_state: status.state,
                time_of_change: status.time_of_change.map(rfc3339),
                optin_requested_at: status.optin_requested_at.map(rfc3339),
                history: history.into_iter().map(Into::into).collect(),
            }
        }
        Value::Email(email) => {
            let flags = state.store.email_flags(dealer, &email).await?;
            let history = state.store.email_opt_history(dealer, &email).await?;
            ConsentView {
                dealer_uuid: dealer,
                communication_type: CommunicationType::Email,
                communication_value: email.as_str().to_string(),
                opt_out_state: email_opt_state(&flags),
                time_of_change: None,
                optin_requested_at: None,
                history: history.into_iter().map(Into::into).collect(),
            }
        }
    })
}

#[derive(Deserialize)]
pub struct ConsentQuery {
    value: Option<String>,
}

#[derive(Serialize)]
pub struct ConsentReply {
    consent: ConsentView,
}

async fn show_consent(
    _: Admin,
    State(state): State<AppState>,
    ApiPath(segment): ApiPath<String>,
    ApiQuery(query): ApiQuery<ConsentQuery>,
) -> ApiResult<ConsentReply> {
    let dealer = path_uuid(&segment)
        .ok_or_else(|| ApiError::not_found(ErrorCode::InvalidDealer, "no such dealer"))?;
    let value = query.value.as_deref().unwrap_or_default();
    let consent = consent_history(&state, dealer, value).await?;
    Ok(Reply::ok(ConsentReply { consent }))
}

#[cfg(test)]
mod tests {
    use super::{Value, parse_value};

    #[test]
    fn values_are_numbers_or_addresses() {
        assert!(
            matches!(parse_value("(415) 555-0100"), Ok(Value::Phone(p)) if p.as_str() == "+14155550100")
        );
        assert!(matches!(
            parse_value(" Ann@Example.com "),
            Ok(Value::Email(_))
        ));
        for bad in ["", "  ", "5551234", "ann@", "not a value"] {
            assert!(parse_value(bad).is_err(), "{bad:?}");
        }
    }
}
