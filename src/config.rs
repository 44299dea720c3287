//! Configuration: built-in defaults, then an optional TOML file, then `HERALD_*` environment
//! variables (`HERALD_TEXT__TWILIO__AUTH_TOKEN` sets `[text.twilio] auth_token`).
//! Resolved once at start into typed settings; secrets are wrapped so they never print.

use std::net::SocketAddr;
use std::path::Path;

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};

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

/// Bounds on what one request may cost.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpSettings {
    /// Largest accepted request body; larger ones get `413`.
    pub body_limit_bytes: usize,
    /// A request still running after this long is answered `503`.
    pub request_timeout_seconds: u64,
    /// A request's line and headers must arrive within this long of the connection opening
    /// (or of its first byte, on a kept-alive connection); else the connection is closed.
    pub header_read_timeout_seconds: u64,
    /// A kept-alive connection with no request for this long is closed.
    pub idle_timeout_seconds: u64,
    /// At most this many connections are served at once (lowered at start to fit the file
    /// descriptor limit); one more is answered `503` and closed at once.
    pub max_connections: usize,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TextSettings {
    pub provider: TextProviderKind,
    pub twilio: TwilioSettings,
}

#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum TextProviderKind {
    Outbox,
    Twilio,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TwilioSettings {
    pub account_sid: Option<String>,
    pub auth_token: Option<SecretString>,
    pub base_url: String,
    pub messaging_service_sid: Option<String>,
    /// At most this many texts a second leave from one sender (number or Messaging Service);
    /// a burst waits in Herald's queue. Unset: no pace.
    pub max_messages_per_second_per_sender: Option<f64>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EmailSettings {
    pub provider: EmailProviderKind,
    pub postmark: PostmarkSettings,
    pub smtp: SmtpSettings,
}

#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum EmailProviderKind {
    Outbox,
    Postmark,
    Smtp,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PostmarkSettings {
    pub server_token: Option<SecretString>,
    pub base_url: String,
    pub message_stream: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SmtpSettings {
    /// `smtp://user:pass@host:587?tls=required`; a secret because it may hold a password.
    pub url: Option<SecretString>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookSettings {
    pub postmark_username: Option<String>,
    pub postmark_password: Option<SecretString>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CallbackSettings {
    /// Lets callbacks reach loopback, private and link-local addresses.
    pub allow_private_networks: bool,
    pub timeout_seconds: u64,
    pub retry_schedule_seconds: Vec<u64>,
    /// Send a `QUEUED_MESSAGE_EXPIRED` callback when a message waiting for opt-in expires.
    pub notify_on_expiry: bool,
    /// Callback senders in this process; 0 leaves callbacks to other nodes.
    pub workers: usize,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeliverySettings {
    pub retry_schedule_seconds: Vec<u64>,
    /// A message not handed to a provider within this long after acceptance fails.
    pub max_age_seconds: u64,
    /// Delivery workers in this process; 0 makes an API-only node that leaves sending to others.
    pub workers: usize,
    /// How long a claimed job or callback belongs to its worker. A worker that dies holds its
    /// work this long; a provider call may take at most half of it.
    pub lease_seconds: u64,
}

impl DeliverySettings {
    pub fn lease(&self) -> std::time::Duration {
        std::time::Duration::from_secs(self.lease_seconds)
    }

    /// The longest Herald waits for a provider: half the lease, so a live worker never loses
    /// a job mid-send.
    pub fn provider_deadline(&self) -> std::time::Duration {
        self.lease() / 2
    }
}

/// Addresses and domains no dealer may email, on top of each dealer's own list.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BlacklistSettings {
    pub emails: Vec<String>,
    pub domains: Vec<String>,
}

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

/// A database URL. Its `Debug` form hides any password it carries.
#[derive(Clone, Deserialize, Serialize)]
#[serde(transparent)]
pub struct DatabaseUrl(String);

impl DatabaseUrl {
    pub fn new(url: impl Into<String>) -> Self {
        Self(url.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Which store the URL selects.
    pub fn backend(&self) -> Result<Backend, ConfigError> {
        if self.0.starts_with("sqlite:") {
            Ok(Backend::Sqlite)
        } else if self.0.starts_with("postgres://") || self.0.starts_with("postgresql://") {
            Ok(Backend::Postgres)
        } else {
            Err(ConfigError(format!(
                "database_url must start with sqlite: or postgres:// (got {self:?})"
            )))
        }
    }
}

impl std::fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // `scheme://user:password@host` → `scheme://user:***@host`
        let redacted = match (self.0.find("://"), self.0.rfind('@')) {
            (Some(scheme_end), Some(at)) if at > scheme_end => {
                let userinfo = &self.0[scheme_end + 3..at];
                match userinfo.find(':') {
                    Some(colon) => format!(
                        "{}{}:***{}",
                        &self.0[..scheme_end + 3],
                        &userinfo[..colon],
                        &self.0[at..]
                    ),
                    None => self.0.clone(),
                }
            }
            _ => self.0.clone(),
        };
        write!(f, "\"{redacted}\"")
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

#[derive(Debug, thiserror::Error)]
#[error("configuration: {0}")]
pub struct ConfigError(pub String);

#[cfg(test)]
// figment's `Jail` fixes the closures' error type.
#[allow(clippy::result_large_err)]
mod tests {
    use super::*;

    #[test]
    fn defaults_need_no_configuration() {
        let s = Settings::load_without_env(None).unwrap();
        assert_eq!(s.listen.to_string(), "127.0.0.1:8080");
        assert_eq!(s.database_url.expose(), "sqlite://herald.db");
        assert_eq!(s.text.provider, TextProviderKind::Outbox);
        assert_eq!(s.email.provider, EmailProviderKind::Outbox);
        assert!(s.admin_token().is_none());
        assert_eq!(s.public_base_url(), "http://127.0.0.1:8080");
    }

    #[test]
    fn environment_wins_over_file() {
        figment::Jail::expect_with(|jail| {
            jail.create_file("herald.toml", "listen = \"127.0.0.1:9000\"\nadmin_token = \"file\"\n[text.twilio]\nauth_token = \"from-file\"")?;
            jail.set_env("HERALD_ADMIN_TOKEN", "from-env");
            jail.set_env("HERALD_TEXT__TWILIO__AUTH_TOKEN", "tok-env");
            let s = Settings::load(Some(Path::new("herald.toml"))).unwrap();
            assert_eq!(s.listen.to_string(), "127.0.0.1:9000");
            assert_eq!(s.admin_token(), Some("from-env"));
            assert_eq!(
                s.text.twilio.auth_token.as_ref().unwrap().expose_secret(),
                "tok-env"
            );
            Ok(())
        });
    }

    #[test]
    fn unknown_environment_variables_are_ignored_and_reported() {
        figment::Jail::expect_with(|jail| {
            // What Kubernetes injects for a Service named `herald`.
            jail.set_env("HERALD_PORT", "tcp://10.0.0.1:8080");
            jail.set_env("HERALD_SERVICE_HOST", "10.0.0.1");
            jail.set_env("HERALD_PORT_8080_TCP_ADDR", "10.0.0.1");
            jail.set_env("HERALD_TEXT__NOPE", "x");
            jail.set_env("HERALD_LISTEN", "127.0.0.1:9100");
            let s = Settings::load(None).unwrap();
            assert_eq!(s.listen.to_string(), "127.0.0.1:9100");
            assert_eq!(
                s.ignored_environment,
                [
                    "HERALD_PORT",
                    "HERALD_PORT_8080_TCP_ADDR",
                    "HERALD_SERVICE_HOST",
                    "HERALD_TEXT__NOPE"
                ]
            );
            Ok(())
        });
    }

    #[test]
    fn an_unknown_key_inside_a_known_variable_is_refused() {
        figment::Jail::expect_with(|jail| {
            jail.set_env("HERALD_TEXT", "{provider = \"outbox\", nope = 1}");
            let err = Settings::load(None).unwrap_err();
            assert!(err.to_string().contains("nope"), "{err}");
            Ok(())
        });
    }

    #[test]
    fn an_unknown_key_in_the_file_is_refused_with_the_environment_too() {
        figment::Jail::expect_with(|jail| {
            jail.create_file("herald.toml", "lisen = \"127.0.0.1:9000\"")?;
            jail.set_env("HERALD_PORT", "tcp://10.0.0.1:8080");
            let err = Settings::load(Some(Path::new("herald.toml"))).unwrap_err();
            assert!(err.to_string().contains("lisen"), "{err}");
            Ok(())
        });
    }

    #[test]
    fn a_known_environment_variable_with_a_bad_value_is_refused() {
        figment::Jail::expect_with(|jail| {
            jail.set_env("HERALD_LISTEN", "garbage");
            jail.set_env("HERALD_PORT", "tcp://10.0.0.1:8080");
            let err = Settings::load(None).unwrap_err();
            assert!(err.to_string().contains("LISTEN"), "{err}");
            Ok(())
        });
    }

    #[test]
    fn unknown_keys_are_refused() {
        figment::Jail::expect_with(|jail| {
            jail.create_file("herald.toml", "lisen = \"127.0.0.1:9000\"")?;
            let err = Settings::load_without_env(Some(Path::new("herald.toml"))).unwrap_err();
            assert!(err.to_string().contains("lisen"), "{err}");
            Ok(())
        });
    }

    #[test]
    fn secrets_do_not_print() {
        figment::Jail::expect_with(|jail| {
            jail.create_file(
                "herald.toml",
                "admin_token = \"hunter2-admin\"\ndatabase_url = \"postgres://herald:hunter2-db@db/herald\"\n[text.twilio]\nauth_token = \"hunter2-twilio\"",
            )?;
            let s = Settings::load_without_env(Some(Path::new("herald.toml"))).unwrap();
            let printed = format!("{s:?}");
            assert!(!printed.contains("hunter2"), "{printed}");
            assert!(printed.contains("postgres://herald:***@db/herald"));
            Ok(())
        });
    }
}
