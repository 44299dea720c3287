//! Customers of a dealer with their phone numbers and email addresses (SPEC 1).

use super::quiet_hours::settings::ZoneName;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{EmailAddress, PhoneNumber};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Customer {
    pub uuid: Uuid,
    pub dealer_uuid: Uuid,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub company: Option<String>,
    pub customer_key: Option<String>,
    /// The customer's own IANA zone (SPEC 5.5): the recipient's clock when set.
    pub time_zone: Option<ZoneName>,
    pub phone_numbers: Vec<CustomerPhone>,
    pub emails: Vec<CustomerEmail>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CustomerPhone {
    pub phone_number: PhoneNumber,
    pub label: PhoneLabel,
    pub ok_to_text: bool,
    pub is_preferred: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CustomerEmail {
    pub email_address: EmailAddress,
    pub label: EmailLabel,
    pub ok_to_email: bool,
    pub do_not_cc: bool,
    pub is_preferred: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum PhoneLabel {
    #[default]
    Cell,
    Home,
    Work,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum EmailLabel {
    #[default]
    Home,
    Work,
    Other,
}

macro_rules! label_str {
    ($t:ty { $($v:ident => $s:literal),* }) => {
        impl $t {
            pub fn as_str(self) -> &'static str { match self { $(Self::$v => $s),* } }
            pub fn parse(s: &str) -> Option<Self> { match s { $($s => Some(Self::$v),)* _ => None } }
        }
    };
}
label_str!(PhoneLabel { Cell => "CELL", Home => "HOME", Work => "WORK" });
label_str!(EmailLabel { Home => "HOME", Work => "WORK", Other => "OTHER" });

/// Where a customer's phone numbers came from: it decides their first opt state (SPEC 1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContactOrigin {
    /// Added through the customer API: `NOT_SET`.
    Api,
    /// Imported from the dealer's DMS: `OPTED_IN`.
    DmsImport,
}

impl ContactOrigin {
    /// The source an address's history names for a save from here.
    pub fn opt_source(self) -> crate::domain::optout::OptSource {
        match self {
            ContactOrigin::Api => crate::domain::optout::OptSource::CustomerApi,
            ContactOrigin::DmsImport => crate::domain::optout::OptSource::DmsImport,
        }
    }
}

impl Customer {
    /// The phone number registered for this customer equal to `number`, if any.
    pub fn phone(&self, number: &PhoneNumber) -> Option<&CustomerPhone> {
        self.phone_numbers
            .iter()
            .find(|p| &p.phone_number == number)
    }

    pub fn email(&self, address: &EmailAddress) -> Option<&CustomerEmail> {
        self.emails.iter().find(|e| &e.email_address == address)
    }
}
