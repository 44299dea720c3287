//! Configuration: built-in defaults, then an optional TOML file, then `HERALD_*` environment
//! variables (`HERALD_TEXT__TWILIO__AUTH_TOKEN` sets `[text.twilio] auth_token`).
//! Resolved once at start into typed settings; secrets are wrapped so they never print.
//!
//! `load.rs` holds the defaults and the merge order; the other files one group of sections
//! each: `http.rs` (`[http]`), `providers.rs` (`[text]`, `[email]`, `[webhooks]`),
//! `delivery.rs` (`[delivery]`, `[callbacks]`), `database.rs` (`database_url`).

mod database;
mod delivery;
mod http;
mod load;
mod providers;
#[cfg(test)]
mod tests;

use std::net::SocketAddr;

use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

pub use database::{Backend, DatabaseUrl};
pub use delivery::{CallbackSettings, DeliverySettings};
pub use http::HttpSettings;
pub use providers::{
    EmailProviderKind, EmailSettings, PostmarkSettings, SmtpSettings, TextProviderKind,
    TextSettings, TwilioSettings, WebhookSettings,
};

/// Everything an operator can set. Every key is optional.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// Address the HTTP API listens on.
    pub listen: SocketAddr,
    /// `sqlite://path` (the default, `sqlite://herald.db`) or `postgres://...`.
    pub database_url: DatabaseUrl,
    /// Base URL at which providers and customers reach this Herald (vCards, webhooks).
    /// Defaults to `http://<listen>`.
    pub public_base_url: Option<String>,
    /// Bearer token for `/admin/v1` and `/dev`; the admin API is disabled when unset.
    pub admin_token: Option<SecretString>,
    /// Log line format: `text` or `json`.
    pub log_format: LogFormat,
    pub http: HttpSettings,
    pub text: TextSettings,
    pub email: EmailSettings,
    pub webhooks: WebhookSettings,
    pub callbacks: CallbackSettings,
    pub delivery: DeliverySettings,
    pub blacklist: BlacklistSettings,
    /// `HERALD_*` variables that name no setting and were ignored (reported at start).
    #[serde(skip)]
    pub ignored_environment: Vec<String>,
}

#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Text,
    Json,
}

/// Addresses and domains no dealer may email, on top of each dealer's own list.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BlacklistSettings {
    pub emails: Vec<String>,
    pub domains: Vec<String>,
}

impl Settings {
    /// The URL at which the outside world reaches this Herald, without a trailing slash.
    pub fn public_base_url(&self) -> String {
        match &self.public_base_url {
            Some(url) => url.trim_end_matches('/').to_string(),
            None => format!("http://{}", self.listen),
        }
    }

    /// The admin token, if the admin API is enabled.
    pub fn admin_token(&self) -> Option<&str> {
        self.admin_token
            .as_ref()
            .map(|t| t.expose_secret())
            .filter(|t| !t.is_empty())
    }
}

#[derive(Debug, thiserror::Error)]
#[error("configuration: {0}")]
pub struct ConfigError(pub String);
