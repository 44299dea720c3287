//! Opt state of a phone number, kept per (dealer, phone), and the events that change it
//! (SPEC 1, 3, 5.1). Pure: the store applies these rules inside its transactions.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum OptState {
    OptedIn,
    OptedOut,
    NotSet,
}

impl OptState {
    pub fn as_str(self) -> &'static str {
        match self {
            OptState::OptedIn => "OPTED_IN",
            OptState::OptedOut => "OPTED_OUT",
            OptState::NotSet => "NOT_SET",
        }
    }

    /// An address's state after an event that set its `okToEmail` (SPEC 3, EMAIL).
    pub fn of_ok_to_email(ok_to_email: bool) -> Self {
        if ok_to_email {
            OptState::OptedIn
        } else {
            OptState::OptedOut
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "OPTED_IN" => Some(OptState::OptedIn),
            "OPTED_OUT" => Some(OptState::OptedOut),
            "NOT_SET" => Some(OptState::NotSet),
            _ => None,
        }
    }
}

/// What happened to a number. The first four are the opt-out status API's events.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum OptEvent {
    OptinMessageReceived,
    StopMessageReceived,
    UserRequestedOptOut,
    UserRequestedSendOptinRequest,
    /// The number arrived with a DMS import.
    DmsImport,
    /// An inbound HELP or INFO: answered, the state unchanged, kept in the history.
    #[serde(skip_deserializing)]
    HelpMessageReceived,
    /// An opt-in request was texted to the number.
    #[serde(skip_deserializing)]
    OptinRequestSent,
    /// The provider reported the address unreachable or unwilling (a hard bounce, a spam
    /// complaint, an unsubscribe): `okToEmail` becomes false.
    #[serde(skip_deserializing)]
    ProviderReportedOptOut,
    /// A customer was saved (customer API or DMS import) with an address whose `okToEmail`
    /// is new or changed.
    #[serde(skip_deserializing)]
    CustomerSaved,
}

impl OptEvent {
    pub fn as_str(self) -> &'static str {
        match self {
            OptEvent::OptinMessageReceived => "OPTIN_MESSAGE_RECEIVED",
            OptEvent::StopMessageReceived => "STOP_MESSAGE_RECEIVED",
            OptEvent::UserRequestedOptOut => "USER_REQUESTED_OPT_OUT",
            OptEvent::UserRequestedSendOptinRequest => "USER_REQUESTED_SEND_OPTIN_REQUEST",
            OptEvent::DmsImport => "DMS_IMPORT",
            OptEvent::HelpMessageReceived => "HELP_MESSAGE_RECEIVED",
            OptEvent::OptinRequestSent => "OPTIN_REQUEST_SENT",
            OptEvent::ProviderReportedOptOut => "PROVIDER_REPORTED_OPT_OUT",
            OptEvent::CustomerSaved => "CUSTOMER_SAVED",
        }
    }

    /// The state after this event, given the state before; `None` leaves it unchanged.
    ///
    /// A DMS import opts in only a number nobody has decided about: an explicit opt-out is the
    /// customer's word and a later import must never undo it.
    pub fn next_state(self, current: OptState) -> Option<OptState> {
        match self {
            OptEvent::OptinMessageReceived => Some(OptState::OptedIn),
            OptEvent::StopMessageReceived
            | OptEvent::UserRequestedOptOut
            | OptEvent::ProviderReportedOptOut => Some(OptState::OptedOut),
            OptEvent::DmsImport if current == OptState::NotSet => Some(OptState::OptedIn),
            OptEvent::DmsImport
            | OptEvent::UserRequestedSendOptinRequest
            | OptEvent::HelpMessageReceived
            | OptEvent::OptinRequestSent
            | OptEvent::CustomerSaved => None,
        }
    }
}

/// Who reported an event, kept in the number's history.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OptSource {
    Api,
    DmsImport,
    Inbound,
    Provider,
    /// The customer API saved the address with its `okToEmail`.
    CustomerApi,
    /// A send waiting for opt-in (`queueIfOptedOut`) texted the request.
    QueuedSend,
}

impl OptSource {
    pub fn as_str(self) -> &'static str {
        match self {
            OptSource::Api => "API",
            OptSource::DmsImport => "DMS_IMPORT",
            OptSource::Inbound => "INBOUND",
            OptSource::Provider => "PROVIDER",
            OptSource::CustomerApi => "CUSTOMER_API",
            OptSource::QueuedSend => "QUEUED_SEND",
        }
    }
}

/// What caused an opt event, kept with it so the history answers a TCPA dispute: who, which
/// message, which API request. Every part is optional (rows from before issue 15 have none).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OptCause {
    /// The credential's username behind an API call.
    pub actor: Option<String>,
    /// The inbound text (a STOP), the opt-in request texted, or the send a provider refused.
    pub message_uuid: Option<Uuid>,
    /// The API request (its `requestUuid`), or the request that accepted the queued send.
    pub request_id: Option<Uuid>,
}

impl OptCause {
    pub const NONE: OptCause = OptCause {
        actor: None,
        message_uuid: None,
        request_id: None,
    };

    pub fn message(uuid: Uuid) -> Self {
        OptCause {
            message_uuid: Some(uuid),
            ..OptCause::NONE
        }
    }

    pub fn request(request_id: Uuid, actor: Option<String>) -> Self {
        OptCause {
            actor,
            message_uuid: None,
            request_id: Some(request_id),
        }
    }
}

/// The opt state of one number as stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OptStatus {
    pub state: OptState,
    /// When the state last changed; `None` for a number never decided about.
    pub time_of_change: Option<OffsetDateTime>,
    /// When an opt-in request was last texted to this number.
    pub optin_requested_at: Option<OffsetDateTime>,
}

/// At most one opt-in request per number per day (SPEC 5.2).
pub const OPTIN_REQUEST_INTERVAL: time::Duration = time::Duration::hours(24);

impl OptStatus {
    pub const NOT_SET: OptStatus = OptStatus {
        state: OptState::NotSet,
        time_of_change: None,
        optin_requested_at: None,
    };

    /// Whether an opt-in request may be texted now: only to an undecided number, once a day.
    pub fn can_send_optin_request(&self, now: OffsetDateTime) -> bool {
        self.state == OptState::NotSet
            && self
                .optin_requested_at
                .is_none_or(|at| now - at >= OPTIN_REQUEST_INTERVAL)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dms_import_never_undoes_an_opt_out() {
        assert_eq!(
            OptEvent::DmsImport.next_state(OptState::NotSet),
            Some(OptState::OptedIn)
        );
        assert_eq!(OptEvent::DmsImport.next_state(OptState::OptedOut), None);
        assert_eq!(OptEvent::DmsImport.next_state(OptState::OptedIn), None);
    }

    #[test]
    fn explicit_events_set_their_state() {
        for s in [OptState::NotSet, OptState::OptedIn, OptState::OptedOut] {
            assert_eq!(
                OptEvent::StopMessageReceived.next_state(s),
                Some(OptState::OptedOut)
            );
            assert_eq!(
                OptEvent::UserRequestedOptOut.next_state(s),
                Some(OptState::OptedOut)
            );
            assert_eq!(
                OptEvent::OptinMessageReceived.next_state(s),
                Some(OptState::OptedIn)
            );
        }
    }

    #[test]
    fn optin_requests_are_daily_and_only_for_undecided_numbers() {
        let now = OffsetDateTime::now_utc();
        assert!(OptStatus::NOT_SET.can_send_optin_request(now));
        let asked = OptStatus {
            optin_requested_at: Some(now - time::Duration::hours(23)),
            ..OptStatus::NOT_SET
        };
        assert!(!asked.can_send_optin_request(now));
        let asked_yesterday = OptStatus {
            optin_requested_at: Some(now - time::Duration::hours(24)),
            ..OptStatus::NOT_SET
        };
        assert!(asked_yesterday.can_send_optin_request(now));
        let out = OptStatus {
            state: OptState::OptedOut,
            time_of_change: Some(now),
            optin_requested_at: None,
        };
        assert!(!out.can_send_optin_request(now));
    }
}
