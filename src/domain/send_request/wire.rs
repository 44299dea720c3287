//! The send body as serde types. Every field is a [`Field`], which never fails: a value of the
//! wrong type is kept as a misfit for the conversion in `parse.rs` to report, so one wrong
//! field does not hide the others. Fields no type names are kept in `rest`.

use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer, de::DeserializeOwned};
use serde_json::{Map, Value};

/// One field as sent: absent (or `null`), a value of its type, or something else.
#[derive(Debug, Default, PartialEq)]
pub(super) enum Field<T> {
    #[default]
    Missing,
    Value(T),
    Misfit(Value),
}

impl<'de, T: DeserializeOwned> Deserialize<'de> for Field<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = Value::deserialize(deserializer)?;
        if value.is_null() {
            return Ok(Self::Missing);
        }
        Ok(match T::deserialize(&value) {
            Ok(v) => Self::Value(v),
            Err(_) => Self::Misfit(value),
        })
    }
}

/// One of the body's two objects: absent (or `null`), an object, or something else. Unlike
/// [`Field`] it reads an object by moving it, since its own fields cannot fail.
#[derive(Debug, Default)]
pub(super) enum Section<T> {
    #[default]
    Missing,
    Value(T),
    Misfit,
}

impl<'de, T: DeserializeOwned> Deserialize<'de> for Section<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        match Value::deserialize(deserializer)? {
            Value::Null => Ok(Self::Missing),
            value @ Value::Object(_) => T::deserialize(value)
                .map(Self::Value)
                .map_err(serde::de::Error::custom),
            _ => Ok(Self::Misfit),
        }
    }
}

#[derive(Debug, Deserialize)]
pub(super) struct Body {
    #[serde(default, rename = "messageAttributes")]
    pub attributes: Section<Attributes>,
    #[serde(default, rename = "messageSendingAttributes")]
    pub sending: Section<SendingAttributes>,
    #[serde(flatten)]
    pub rest: Map<String, Value>,
}

#[derive(Debug, Deserialize)]
pub(super) struct Attributes {
    #[serde(default)]
    pub body: Field<String>,
    #[serde(default, rename = "isManual")]
    pub is_manual: Field<bool>,
    #[serde(default)]
    pub protocol: Field<String>,
    #[serde(default, rename = "type")]
    pub kind: Field<String>,
    #[serde(default)]
    pub subject: Field<String>,
    #[serde(default, rename = "htmlBody")]
    pub html_body: Field<String>,
    /// Each element is checked on its own (`attachments.rs`), so one bad attachment does not
    /// hide the others.
    #[serde(default)]
    pub attachments: Field<Vec<Value>>,
    #[serde(flatten)]
    pub rest: Map<String, Value>,
}

#[derive(Debug, Deserialize)]
pub(super) struct SendingAttributes {
    #[serde(default, rename = "communicationValueOfCustomer")]
    pub communication_value: Field<String>,
    #[serde(default, rename = "sendSynchronously")]
    pub send_synchronously: Field<bool>,
    #[serde(default, rename = "callbackURL")]
    pub callback_url: Field<String>,
    #[serde(default, rename = "callbackMetaData")]
    pub callback_metadata: Field<BTreeMap<String, Value>>,
    #[serde(default, rename = "addTCPAFooter")]
    pub add_tcpa_footer: Field<bool>,
    #[serde(default, rename = "addSignature")]
    pub add_signature: Field<bool>,
    #[serde(default, rename = "addFooter")]
    pub add_footer: Field<bool>,
    #[serde(default, rename = "sendVCard")]
    pub send_v_card: Field<bool>,
    #[serde(default, rename = "queueIfOptedOut")]
    pub queue_if_opted_out: Field<bool>,
    #[serde(default, rename = "overrideOptoutRules")]
    pub override_optout_rules: Field<bool>,
    #[serde(default)]
    pub delay: Field<u64>,
    #[serde(default, rename = "sendAt")]
    pub send_at: Field<String>,
    #[serde(default, rename = "overrideHolidays")]
    pub override_holidays: Field<bool>,
    #[serde(default, rename = "listOfEmailsToBeCCed")]
    pub cc: Field<Vec<Value>>,
    #[serde(default, rename = "listOfEmailsToBeBCCed")]
    pub bcc: Field<Vec<Value>>,
    #[serde(default)]
    pub subject: Field<String>,
    #[serde(flatten)]
    pub rest: Map<String, Value>,
}
