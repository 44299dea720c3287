//! The seed's SendMessageResponse: the answer to a send and, identical, the body of every
//! callback about that message (with `messageStatus`, SPEC 4.3 and 6).

use std::collections::BTreeMap;

use serde::Serialize;
use uuid::Uuid;

use super::codes::{ErrorCode, WarningCode};
use super::message::{Message, MessageStatus};

#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct MessageReport {
    #[serde(rename = "customerUUID")]
    pub customer_uuid: Option<Uuid>,
    #[serde(rename = "messageUUID")]
    pub message_uuid: Uuid,
    /// `SUCCESS` or `FAILURE`.
    pub status: &'static str,
    pub message_status: MessageStatus,
    /// RFC 3339 UTC, only while the message is `SCHEDULED` (SPEC 4.3).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scheduled_for: Option<String>,
    pub errors: Vec<ReportError>,
    pub warnings: Vec<ReportWarning>,
    pub meta_data: BTreeMap<String, serde_json::Value>,
    #[serde(rename = "requestUUID")]
    pub request_uuid: Uuid,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct ReportError {
    pub error_code: ErrorCode,
    pub error_description: String,
    #[serde(rename = "errorUID")]
    pub error_uid: String,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct ReportWarning {
    pub warning_code: WarningCode,
    pub warning_description: String,
}

impl MessageReport {
    /// The report of `message` as it stands, answering the request `request_uuid`.
    pub fn of(message: &Message, request_uuid: Uuid) -> Self {
        Self {
            customer_uuid: message.customer_uuid,
            message_uuid: message.uuid,
            status: if message.status.is_success() {
                "SUCCESS"
            } else {
                "FAILURE"
            },
            message_status: message.status,
            scheduled_for: message.scheduled_for().map(rfc3339_utc),
            errors: message
                .error
                .iter()
                .map(|e| ReportError {
                    error_code: e.code,
                    error_description: e.description.clone(),
                    error_uid: Uuid::new_v4().to_string(),
                })
                .collect(),
            warnings: message
                .warnings
                .iter()
                .map(|w| ReportWarning {
                    warning_code: w.code,
                    warning_description: w.description.clone(),
                })
                .collect(),
            meta_data: message.callback_metadata.clone(),
            request_uuid,
        }
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("a report always serialises")
    }
}

/// RFC 3339 in UTC (`Z`), whatever offset the time carries.
pub fn rfc3339_utc(t: time::OffsetDateTime) -> String {
    t.to_offset(time::UtcOffset::UTC)
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}
