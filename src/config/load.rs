//! The built-in defaults and the merge order: defaults, then the file, then the environment.

use std::path::Path;

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};

use super::{ConfigError, EmailProviderKind, Settings, TextProviderKind};

const ENV_PREFIX: &str = "HERALD_";

/// Whether the variable `HERALD_<key>` alone, over the defaults, is refused as an unknown
/// field (a bad value for a known key is not this: that error is reported by the real load).
fn names_no_setting(key: &str) -> bool {
    let only = key.to_string();
    let alone = Env::prefixed(ENV_PREFIX)
        .filter(move |k| k == only.as_str())
        .split("__");
    match Figment::from(Toml::string(DEFAULTS))
        .merge(alone)
        .extract::<Settings>()
    {
        Ok(_) => false,
        // Unknown only if the unknown field is the variable's own key (or a parent of it): a
        // known key whose value holds an unknown one (`HERALD_TEXT='{nope = 1}'`) is a bad
        // value, and stays an error.
        Err(error) => {
            let segments: Vec<&str> = key.split("__").collect();
            error.into_iter().any(|e| match &e.kind {
                figment::error::Kind::UnknownField(field, _) => {
                    let mut at: Vec<&str> = e.path.iter().map(String::as_str).collect();
                    if at.last() != Some(&field.as_str()) {
                        at.push(field);
                    }
                    segments.starts_with(&at)
                }
                _ => false,
            })
        }
    }
}

/// The built-in defaults, as the TOML an operator would write to get them.
const DEFAULTS: &str = r#"
listen = "127.0.0.1:8080"
database_url = "sqlite://herald.db"
log_format = "text"

[http]
body_limit_bytes = 262144
send_body_limit_bytes = 16777216
request_timeout_seconds = 30
header_read_timeout_seconds = 10
idle_timeout_seconds = 60
max_connections = 10000

[text]
provider = "outbox"
[text.twilio]
base_url = "https://api.twilio.com"

[email]
provider = "outbox"
[email.postmark]
base_url = "https://api.postmarkapp.com"
message_stream = "outbound"
[email.smtp]

[webhooks]

[callbacks]
allow_private_networks = false
timeout_seconds = 10
retry_schedule_seconds = [0, 5, 300, 1800, 7200, 18000, 36000, 36000]
notify_on_expiry = true
workers = 4

[delivery]
retry_schedule_seconds = [30, 60, 300, 900, 1800, 3600, 7200]
max_age_seconds = 14400
workers = 4
lease_seconds = 120

[blacklist]
emails = []
domains = []
"#;

impl Settings {
    /// Defaults, then `file` if given, then `HERALD_*` variables from the process environment.
    ///
    /// A `HERALD_*` variable that names no setting is ignored and listed in
    /// `ignored_environment`: the environment is shared with other software (Kubernetes injects
    /// `HERALD_PORT=tcp://…` for a Service named `herald`). An unknown key in the file is still
    /// an error, and so is a known variable with a bad value.
    pub fn load(file: Option<&Path>) -> Result<Self, ConfigError> {
        let unknown: Vec<String> = Env::prefixed(ENV_PREFIX)
            .iter()
            .map(|(key, _)| key.to_string())
            .filter(|key| names_no_setting(key))
            .collect();
        let known = {
            let unknown = unknown.clone();
            Env::prefixed(ENV_PREFIX)
                .filter(move |key| !unknown.iter().any(|u| key == u.as_str()))
                .split("__")
        };
        let mut settings = Self::load_from(file, known)?;
        settings.ignored_environment = unknown
            .iter()
            .map(|key| format!("{ENV_PREFIX}{}", key.to_uppercase()))
            .collect();
        settings.ignored_environment.sort();
        Ok(settings)
    }

    /// Defaults and `file` only: what tests and tools use to stay independent of the environment.
    pub fn load_without_env(file: Option<&Path>) -> Result<Self, ConfigError> {
        Self::load_from(file, Serialized::defaults(serde_json::json!({})))
    }

    fn load_from(file: Option<&Path>, env: impl figment::Provider) -> Result<Self, ConfigError> {
        let mut figment = Figment::from(Toml::string(DEFAULTS));
        if let Some(path) = file {
            if !path.exists() {
                return Err(ConfigError(format!(
                    "config file {} not found",
                    path.display()
                )));
            }
            figment = figment.merge(Toml::file(path));
        }
        let settings: Settings = figment
            .merge(env)
            .extract()
            .map_err(|e| ConfigError(e.to_string()))?;
        settings.check()?;
        Ok(settings)
    }

    fn check(&self) -> Result<(), ConfigError> {
        if self.delivery.lease_seconds < 2 {
            return Err(ConfigError(
                "delivery.lease_seconds must be at least 2".into(),
            ));
        }
        if self.http.body_limit_bytes == 0
            || self.http.send_body_limit_bytes == 0
            || self.http.request_timeout_seconds == 0
            || self.http.header_read_timeout_seconds == 0
            || self.http.idle_timeout_seconds == 0
            || self.http.max_connections == 0
        {
            return Err(ConfigError("http limits must be greater than zero".into()));
        }
        if self.text.provider == TextProviderKind::Twilio
            && (self.text.twilio.account_sid.is_none() || self.text.twilio.auth_token.is_none())
        {
            return Err(ConfigError(
                "text.provider = \"twilio\" needs text.twilio.account_sid and auth_token".into(),
            ));
        }
        if self.email.provider == EmailProviderKind::Postmark
            && self.email.postmark.server_token.is_none()
        {
            return Err(ConfigError(
                "email.provider = \"postmark\" needs email.postmark.server_token".into(),
            ));
        }
        if self.email.provider == EmailProviderKind::Smtp && self.email.smtp.url.is_none() {
            return Err(ConfigError(
                "email.provider = \"smtp\" needs email.smtp.url".into(),
            ));
        }
        Ok(())
    }
}
