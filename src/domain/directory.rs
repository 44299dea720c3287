//! Dealers, their departments (with settings) and the users who send for them (SPEC 1).

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::quiet_hours::settings::{Holiday, MAX_HOLIDAYS, QuietHours, ZoneName};
use super::{EmailAddress, PhoneNumber};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dealer {
    pub uuid: Uuid,
    pub name: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Department {
    pub uuid: Uuid,
    pub dealer_uuid: Uuid,
    pub name: String,
    pub settings: DepartmentSettings,
    pub default_user_uuid: Uuid,
}

/// A department's settings, with their JSON names and defaults (SPEC 1).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct DepartmentSettings {
    /// Absent: TEXT fails with `MISSING_VOICE_CREDENTIALS`.
    pub text_sender_number: Option<PhoneNumber>,
    /// Absent: EMAIL fails with `MISSING_DEALER_EMAIL`.
    pub email_sender: Option<EmailAddress>,
    pub email_sender_name: Option<String>,
    pub footer: Option<String>,
    pub tcpa_footer: String,
    /// Absent: `Message from <dealer name>`.
    pub email_subject: Option<String>,
    pub optin_queue_timeout_seconds: u64,
    pub optin_request_text: String,
    pub help_reply: String,
    /// The department's zone (SPEC 5.5): its holidays' calendar, and the recipient's clock
    /// when neither the customer nor the number's area code gives one.
    pub time_zone: ZoneName,
    /// When automated texts wait, in the recipient's local time; `null`: never (and no state
    /// window either).
    pub quiet_hours: Option<QuietHours>,
    /// Dates on which automated texts wait, unless a message says `overrideHolidays`.
    #[serde(deserialize_with = "holidays")]
    pub holidays: Vec<Holiday>,
    pub rate_limits: RateLimits,
}

/// A department's holidays: at most [`MAX_HOLIDAYS`], each a real date, kept sorted.
fn holidays<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<Holiday>, D::Error> {
    let mut days = Vec::<Holiday>::deserialize(d)?;
    if days.len() > MAX_HOLIDAYS {
        return Err(serde::de::Error::custom(format!(
            "at most {MAX_HOLIDAYS} holidays"
        )));
    }
    days.sort();
    days.dedup();
    Ok(days)
}

impl Default for DepartmentSettings {
    fn default() -> Self {
        Self {
            text_sender_number: None,
            email_sender: None,
            email_sender_name: None,
            footer: None,
            tcpa_footer: "Text STOP to opt-out".into(),
            email_subject: None,
            optin_queue_timeout_seconds: 86_400,
            optin_request_text:
                "Reply YES to receive text messages from us. Reply STOP to opt out.".into(),
            help_reply: "Reply STOP to opt out, START to opt back in. Msg & data rates may apply."
                .into(),
            time_zone: ZoneName::default(),
            quiet_hours: Some(QuietHours::default()),
            holidays: Vec::new(),
            rate_limits: RateLimits::default(),
        }
    }
}

/// Per (department, recipient) sliding windows (SPEC 5.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct RateLimits {
    pub automated_per_hour: u32,
    pub automated_per_day: u32,
    pub manual_per_hour: u32,
}

impl Default for RateLimits {
    fn default() -> Self {
        Self {
            automated_per_hour: 10,
            automated_per_day: 30,
            manual_per_hour: 60,
        }
    }
}

/// A dealer associate. Exactly one per department is its default associate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub uuid: Uuid,
    pub department_uuid: Uuid,
    pub first_name: String,
    pub last_name: String,
    pub email: Option<EmailAddress>,
    pub can_text: bool,
    pub can_email: bool,
    pub is_default: bool,
}

impl User {
    /// The default dealer associate created with every department. It signs as the dealer's
    /// department (`-- Acme Motors Service`), which reads right on automated messages.
    pub fn default_for(dealer: &Dealer, department_uuid: Uuid, department_name: &str) -> Self {
        Self {
            uuid: Uuid::new_v4(),
            department_uuid,
            first_name: dealer.name.clone(),
            last_name: department_name.to_string(),
            email: None,
            can_text: true,
            can_email: true,
            is_default: true,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_default_as_specified() {
        let s: DepartmentSettings = serde_json::from_str("{}").unwrap();
        assert_eq!(s.tcpa_footer, "Text STOP to opt-out");
        assert_eq!(s.optin_queue_timeout_seconds, 86_400);
        assert_eq!(
            s.rate_limits,
            RateLimits {
                automated_per_hour: 10,
                automated_per_day: 30,
                manual_per_hour: 60
            }
        );
        assert!(s.text_sender_number.is_none());
        assert_eq!(s.time_zone.as_str(), "America/New_York");
        assert_eq!(s.quiet_hours, Some(QuietHours::default()));
        assert!(s.holidays.is_empty());
    }

    #[test]
    fn quiet_hours_settings_are_checked_and_null_turns_them_off() {
        let s: DepartmentSettings = serde_json::from_str(
            r#"{"timeZone":"America/Denver","quietHours":null,"holidays":["2026-12-25","2026-07-04"]}"#,
        )
        .unwrap();
        assert_eq!(s.time_zone.as_str(), "America/Denver");
        assert_eq!(s.quiet_hours, None);
        assert_eq!(
            serde_json::to_value(&s.holidays).unwrap(),
            serde_json::json!(["2026-07-04", "2026-12-25"])
        );
        // Stored and read back, `null` stays off.
        let again: DepartmentSettings =
            serde_json::from_str(&serde_json::to_string(&s).unwrap()).unwrap();
        assert_eq!(again, s);
        for bad in [
            r#"{"timeZone":"Mars/Olympus"}"#,
            r#"{"timeZone":5}"#,
            r#"{"quietHours":{"start":"9pm","end":"08:00"}}"#,
            r#"{"quietHours":{"start":"21:00"}}"#,
            r#"{"holidays":["2026-02-30"]}"#,
            r#"{"holidays":"2026-12-25"}"#,
        ] {
            assert!(
                serde_json::from_str::<DepartmentSettings>(bad).is_err(),
                "{bad}"
            );
        }
    }

    #[test]
    fn settings_parse_their_typed_fields() {
        let s: DepartmentSettings = serde_json::from_str(
            r#"{"textSenderNumber":"(415) 555-0100","emailSender":"Service@Acme.example.com"}"#,
        )
        .unwrap();
        assert_eq!(s.text_sender_number.unwrap().as_str(), "+14155550100");
        assert_eq!(s.email_sender.unwrap().as_str(), "service@acme.example.com");
        assert!(
            serde_json::from_str::<DepartmentSettings>(r#"{"textSenderNumber":"12"}"#).is_err()
        );
        assert!(serde_json::from_str::<DepartmentSettings>(r#"{"footr":"x"}"#).is_err());
    }
}
