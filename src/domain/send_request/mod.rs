//! Parsing the send endpoint's body (SPEC 4.1, 4.2 step 2): every problem is found and
//! reported at once, each with the seed's code, or `INVALID_REQUEST` and the JSON path.
//!
//! `wire.rs` reads the body into serde types whose fields never fail, keeping a value of the
//! wrong type; `parse.rs` converts them to a request in the body's field order, and
//! `fields.rs` turns one field into the value it must be, noting a problem when it is not.
//! This file holds what a problem is and the limits on a request.

mod attachments;
mod fields;
mod parse;
#[cfg(test)]
mod tests;
mod wire;

use super::codes::ErrorCode;
pub use parse::parse;

/// One thing wrong with a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub code: ErrorCode,
    pub description: String,
}

impl Problem {
    fn new(code: ErrorCode, description: impl Into<String>) -> Self {
        Self {
            code,
            description: description.into(),
        }
    }
}

/// Longest `delay` accepted: 30 days.
pub const MAX_DELAY_SECONDS: u64 = 30 * 86_400;
/// Furthest `sendAt` accepted: 35 days ahead (SPEC 4.1, as Twilio's own scheduling).
pub const MAX_SEND_AT_DAYS: i64 = 35;
const MAX_CALLBACK_URL: usize = 2048;
const MAX_SUBJECT: usize = 998;
const MAX_CC: usize = 50;

/// An absolute `http` or `https` URL with a host.
pub fn is_callback_url(url: &str) -> bool {
    url.len() <= MAX_CALLBACK_URL
        && reqwest::Url::parse(url).is_ok_and(|u| {
            matches!(u.scheme(), "http" | "https") && u.host_str().is_some_and(|h| !h.is_empty())
        })
}
