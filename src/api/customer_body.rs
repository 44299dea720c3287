//! The customer JSON of SPEC 3, in and out, and its conversion to the domain [`Customer`].
//! Shared by the customer API and the admin DMS import.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::error::{ApiError, ErrorItem};
use crate::domain::codes::ErrorCode;
use crate::domain::customer::{Customer, CustomerEmail, CustomerPhone, EmailLabel, PhoneLabel};
use crate::domain::quiet_hours::settings::ZoneName;
use crate::domain::{EmailAddress, PhoneNumber};

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CustomerEnvelope {
    pub customer: CustomerBody,
}

/// A customer as a client sends it. On update, an absent field keeps its stored value.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CustomerBody {
    pub uuid: Option<Uuid>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub company: Option<String>,
    pub customer_key: Option<String>,
    /// An IANA zone; `null` or `""` clears it, absent keeps it.
    #[serde(default, deserialize_with = "present")]
    pub time_zone: Option<Option<String>>,
    pub phone_numbers: Option<Vec<PhoneBody>>,
    pub emails: Option<Vec<EmailBody>>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PhoneBody {
    pub phone_number: String,
    pub label: Option<PhoneLabel>,
    pub ok_to_text: Option<bool>,
    pub is_preferred: Option<bool>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EmailBody {
    pub email_address: String,
    pub label: Option<EmailLabel>,
    pub ok_to_email: Option<bool>,
    #[serde(rename = "doNotCC")]
    pub do_not_cc: Option<bool>,
    pub is_preferred: Option<bool>,
}

/// A field that is present, `null` included (`Some(None)`), as told apart from one absent.
fn present<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Option<String>>, D::Error> {
    Option::<String>::deserialize(d).map(Some)
}

const MAX_TEXT: usize = 200;
const MAX_CONTACTS: usize = 20;

impl CustomerBody {
    /// Builds the customer to store: `base` when updating (its values stay where this body is
    /// silent), a new customer of `dealer` otherwise. Every problem is reported at once.
    /// `path` prefixes the JSON paths in error descriptions (`customer`, `customers[3]`).
    pub fn into_customer(
        self,
        dealer: Uuid,
        base: Option<Customer>,
        path: &str,
    ) -> Result<Customer, ApiError> {
        let mut problems = Vec::new();
        let mut customer = base.unwrap_or_else(|| Customer {
            uuid: self.uuid.unwrap_or_else(Uuid::new_v4),
            dealer_uuid: dealer,
            first_name: None,
            last_name: None,
            company: None,
            customer_key: None,
            time_zone: None,
            phone_numbers: Vec::new(),
            emails: Vec::new(),
        });
        for (name, value, slot) in [
            ("firstName", self.first_name, &mut customer.first_name),
            ("lastName", self.last_name, &mut customer.last_name),
            ("company", self.company, &mut customer.company),
            ("customerKey", self.customer_key, &mut customer.customer_key),
        ] {
            if let Some(v) = value {
                let v = v.trim().to_string();
                if v.chars().count() > MAX_TEXT {
                    problems.push(invalid(format!(
                        "{path}.{name}: longer than {MAX_TEXT} characters"
                    )));
                }
                *slot = (!v.is_empty()).then_some(v);
            }
        }
        if let Some(zone) = self.time_zone {
            let zone = zone.map(|z| z.trim().to_string()).filter(|z| !z.is_empty());
            customer.time_zone = match zone {
                None => None,
                Some(name) => ZoneName::parse(&name).or_else(|| {
                    problems.push(invalid(format!(
                        "{path}.timeZone: unknown time zone {name:?}: expected an IANA name such as America/Chicago"
                    )));
                    None
                }),
            };
        }
        if let Some(phones) = self.phone_numbers {
            customer.phone_numbers = phones_from(phones, path, &mut problems);
        }
        if let Some(emails) = self.emails {
            customer.emails = emails_from(emails, path, &mut problems);
        }
        if problems.is_empty() {
            Ok(customer)
        } else {
            Err(ApiError::from_items(
                axum::http::StatusCode::BAD_REQUEST,
                problems,
            ))
        }
    }
}

fn phones_from(
    bodies: Vec<PhoneBody>,
    path: &str,
    problems: &mut Vec<ErrorItem>,
) -> Vec<CustomerPhone> {
    if bodies.len() > MAX_CONTACTS {
        problems.push(invalid(format!(
            "{path}.phoneNumbers: more than {MAX_CONTACTS} numbers"
        )));
    }
    let mut phones: Vec<CustomerPhone> = Vec::new();
    for (i, p) in bodies.into_iter().enumerate() {
        let at = format!("{path}.phoneNumbers[{i}]");
        match PhoneNumber::parse(&p.phone_number) {
            Ok(number) if phones.iter().any(|q| q.phone_number == number) => {
                problems.push(invalid(format!(
                    "{at}.phoneNumber: {number} is listed twice"
                )));
            }
            Ok(number) => phones.push(CustomerPhone {
                phone_number: number,
                label: p.label.unwrap_or_default(),
                ok_to_text: p.ok_to_text.unwrap_or(true),
                is_preferred: p.is_preferred.unwrap_or(false),
            }),
            Err(e) => problems.push(ErrorItem::new(
                ErrorCode::InvalidCommunicationValue,
                format!("{at}.phoneNumber: {e}"),
            )),
        }
    }
    if phones.iter().filter(|p| p.is_preferred).count() > 1 {
        problems.push(invalid(format!(
            "{path}.phoneNumbers: more than one isPreferred"
        )));
    }
    phones
}

fn emails_from(
    bodies: Vec<EmailBody>,
    path: &str,
    problems: &mut Vec<ErrorItem>,
) -> Vec<CustomerEmail> {
    if bodies.len() > MAX_CONTACTS {
        problems.push(invalid(format!(
            "{path}.emails: more than {MAX_CONTACTS} addresses"
        )));
    }
    let mut emails: Vec<CustomerEmail> = Vec::new();
    for (i, e) in bodies.into_iter().enumerate() {
        let at = format!("{path}.emails[{i}]");
        match EmailAddress::parse(&e.email_address) {
            Ok(address) if emails.iter().any(|q| q.email_address == address) => {
                problems.push(invalid(format!(
                    "{at}.emailAddress: {address} is listed twice"
                )));
            }
            Ok(address) => emails.push(CustomerEmail {
                email_address: address,
                label: e.label.unwrap_or_default(),
                ok_to_email: e.ok_to_email.unwrap_or(true),
                do_not_cc: e.do_not_cc.unwrap_or(false),
                is_preferred: e.is_preferred.unwrap_or(false),
            }),
            Err(err) => problems.push(ErrorItem::new(
                ErrorCode::InvalidCommunicationValue,
                format!("{at}.emailAddress: {err}"),
            )),
        }
    }
    if emails.iter().filter(|e| e.is_preferred).count() > 1 {
        problems.push(invalid(format!("{path}.emails: more than one isPreferred")));
    }
    emails
}

fn invalid(description: String) -> ErrorItem {
    ErrorItem::new(ErrorCode::InvalidRequest, description)
}

/// A customer as Herald answers it; phone numbers in E.164.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CustomerView {
    pub uuid: Uuid,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub company: Option<String>,
    pub customer_key: Option<String>,
    pub time_zone: Option<String>,
    pub phone_numbers: Vec<PhoneView>,
    pub emails: Vec<EmailView>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PhoneView {
    pub phone_number: String,
    pub label: PhoneLabel,
    pub ok_to_text: bool,
    pub is_preferred: bool,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EmailView {
    pub email_address: String,
    pub label: EmailLabel,
    pub ok_to_email: bool,
    #[serde(rename = "doNotCC")]
    pub do_not_cc: bool,
    pub is_preferred: bool,
}

impl From<Customer> for CustomerView {
    fn from(c: Customer) -> Self {
        Self {
            uuid: c.uuid,
            first_name: c.first_name,
            last_name: c.last_name,
            company: c.company,
            customer_key: c.customer_key,
            time_zone: c.time_zone.map(|z| z.as_str().to_string()),
            phone_numbers: c
                .phone_numbers
                .into_iter()
                .map(|p| PhoneView {
                    phone_number: p.phone_number.into(),
                    label: p.label,
                    ok_to_text: p.ok_to_text,
                    is_preferred: p.is_preferred,
                })
                .collect(),
            emails: c
                .emails
                .into_iter()
                .map(|e| EmailView {
                    email_address: e.email_address.into(),
                    label: e.label,
                    ok_to_email: e.ok_to_email,
                    do_not_cc: e.do_not_cc,
                    is_preferred: e.is_preferred,
                })
                .collect(),
        }
    }
}
