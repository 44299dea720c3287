//! EMAIL through any SMTP server (lettre, TLS by rustls), on a small pool of open connections.
//!
//! Herald speaks the SMTP transaction itself (MAIL FROM, RCPT TO, DATA) instead of through
//! lettre's transport, to know which command a server refused: a `5xx` to `RCPT TO` means the
//! address (`INVALID_EMAIL_ADDRESS`), a `5xx` anywhere else is the server's verdict on the
//! sender or the message (`INTERNAL_SERVER_ERROR`). Any `4xx` is transient, and so is a
//! timeout or network error before the message itself was written. Once it was, a lost or
//! unreadable final reply leaves the message in doubt: the server may have queued it. A CC or
//! BCC address refused with `5xx` is skipped; the primary recipient decides.
//! SMTP has no delivery receipts: a message the server accepted is reported `DELIVERED`.

use std::fmt;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use async_trait::async_trait;
use lettre::message::header::ContentType;
use lettre::message::{Mailbox, Mailboxes, Message};
use lettre::transport::smtp::Error as SmtpError;
use lettre::transport::smtp::authentication::{Credentials, Mechanism};
use lettre::transport::smtp::client::{AsyncSmtpConnection, TlsParameters};
use lettre::transport::smtp::commands::{Data, Mail, Rcpt};
use lettre::transport::smtp::extension::{ClientId, Extension, MailParameter};
use lettre::{Address, address::Envelope};
use secrecy::{ExposeSecret, SecretString};

use super::{Outgoing, Provider, Receipt, Reconciled, SendOutcome};
use crate::domain::codes::ErrorCode;

/// Idle connections kept open for the next messages.
const MAX_IDLE: usize = 4;
/// An idle connection older than this is closed rather than reused (servers drop them).
const IDLE_FOR_AT_MOST: Duration = Duration::from_secs(60);

/// How the connection is secured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Security {
    /// `smtp://...?tls=none`: plain text throughout.
    None,
    /// `smtp://...?tls=opportunistic` (the default for `smtp://`): STARTTLS when offered.
    Opportunistic,
    /// `smtp://...?tls=required`: STARTTLS or no message.
    Required,
    /// `smtps://`: TLS from the first byte.
    Implicit,
}

/// `[email.smtp] url`, parsed.
#[derive(Clone)]
pub struct SmtpConfig {
    pub host: String,
    pub port: u16,
    pub security: Security,
    pub username: Option<String>,
    pub password: Option<SecretString>,
    /// The whole SMTP exchange of one message must end within this.
    pub timeout: Duration,
}

impl fmt::Debug for SmtpConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SmtpConfig")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("security", &self.security)
            .field("username", &self.username)
            .finish_non_exhaustive()
    }
}

impl SmtpConfig {
    /// `smtp://[user:pass@]host[:port][?tls=opportunistic|required|none]` or
    /// `smtps://[user:pass@]host[:port]`. Default ports: 587 with STARTTLS, 25 without, 465
    /// for `smtps`. User and password are percent-decoded.
    pub fn from_url(url: &str, timeout: Duration) -> anyhow::Result<Self> {
        let parsed =
            reqwest::Url::parse(url).map_err(|e| anyhow::anyhow!("email.smtp.url: {e}"))?;
        let tls = parsed
            .query_pairs()
            .find(|(k, _)| k == "tls")
            .map(|(_, v)| v.to_ascii_lowercase());
        let security = match (parsed.scheme(), tls.as_deref()) {
            ("smtp", None | Some("opportunistic")) => Security::Opportunistic,
            ("smtp", Some("required")) => Security::Required,
            ("smtp", Some("none")) => Security::None,
            ("smtps", None | Some("required")) => Security::Implicit,
            (scheme @ ("smtp" | "smtps"), Some(other)) => anyhow::bail!(
                "email.smtp.url: tls={other} is not one of opportunistic, required, none for {scheme}://"
            ),
            (scheme, _) => {
                anyhow::bail!("email.smtp.url: scheme {scheme}:// is not smtp:// or smtps://")
            }
        };
        let host = parsed
            .host_str()
            .filter(|h| !h.is_empty())
            .context("email.smtp.url has no host")?
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_string();
        let port = parsed.port().unwrap_or(match security {
            Security::None => 25,
            Security::Opportunistic | Security::Required => 587,
            Security::Implicit => 465,
        });
        let decode = |s: &str| -> anyhow::Result<String> {
            percent_decode(s).context("email.smtp.url: credentials are not UTF-8")
        };
        let username = (!parsed.username().is_empty())
            .then(|| decode(parsed.username()))
            .transpose()?;
        let password = parsed
            .password()
            .map(|p| decode(p).map(SecretString::from))
            .transpose()?;
        Ok(Self {
            host,
            port,
            security,
            username,
            password,
            timeout,
        })
    }
}

fn percent_decode(s: &str) -> Option<String> {
    let hex = |b: u8| (b as char).to_digit(16).map(|d| d as u8);
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let (Some(hi), Some(lo)) = (hex(bytes[i + 1]), hex(bytes[i + 2]))
        {
            out.push(hi * 16 + lo);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8(out).ok()
}

pub struct SmtpProvider {
    config: SmtpConfig,
    hello: ClientId,
    idle: Mutex<Vec<(AsyncSmtpConnection, Instant)>>,
}

/// The step of the SMTP exchange a server answered (or failed to).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    Connect,
    MailFrom,
    RcptTo,
    /// The `DATA` command, before any of the message was written.
    Data,
    /// The message itself and the server's final reply to it: from here on, a failure may
    /// come after the server took the message.
    Message,
}

impl fmt::Display for Stage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Stage::Connect => "connection",
            Stage::MailFrom => "MAIL FROM",
            Stage::RcptTo => "RCPT TO",
            Stage::Data => "DATA",
            Stage::Message => "message",
        })
    }
}

impl SmtpProvider {
    pub fn new(config: SmtpConfig) -> Self {
        Self {
            config,
            hello: ClientId::default(),
            idle: Mutex::default(),
        }
    }

    /// An open, greeted and authenticated connection: a pooled one still alive, or a new one.
    async fn connection(&self) -> Result<AsyncSmtpConnection, SmtpError> {
        loop {
            let pooled = self.idle.lock().expect("smtp pool").pop();
            let Some((mut conn, since)) = pooled else {
                break;
            };
            if since.elapsed() < IDLE_FOR_AT_MOST && conn.test_connected().await {
                return Ok(conn);
            }
            conn.abort().await;
        }
        self.connect().await
    }

    async fn connect(&self) -> Result<AsyncSmtpConnection, SmtpError> {
        let c = &self.config;
        let tls = || TlsParameters::new(c.host.clone());
        let wrapper = match c.security {
            Security::Implicit => Some(tls()?),
            _ => None,
        };
        let mut conn = AsyncSmtpConnection::connect_tokio1(
            (c.host.as_str(), c.port),
            Some(c.timeout),
            &self.hello,
            wrapper,
            None,
        )
        .await?;
        match c.security {
            Security::Required => conn.starttls(tls()?, &self.hello).await?,
            Security::Opportunistic if conn.can_starttls() => {
                conn.starttls(tls()?, &self.hello).await?
            }
            _ => {}
        }
        if let (Some(user), Some(password)) = (&c.username, &c.password) {
            let credentials = Credentials::new(user.clone(), password.expose_secret().to_string());
            conn.auth(&[Mechanism::Plain, Mechanism::Login], &credentials)
                .await?;
        }
        Ok(conn)
    }

    fn release(&self, conn: AsyncSmtpConnection) {
        if conn.has_broken() {
            return;
        }
        let mut idle = self.idle.lock().expect("smtp pool");
        if idle.len() < MAX_IDLE {
            idle.push((conn, Instant::now()));
        }
    }

    /// One SMTP transaction on `conn`; `stage` follows it, so a caller that gives up on it
    /// midway knows how far it got.
    async fn transact(
        &self,
        conn: &mut AsyncSmtpConnection,
        primary: &Address,
        envelope: &Envelope,
        email: &[u8],
        stage: &mut Stage,
    ) -> Result<(), (Stage, SmtpError)> {
        let mut params = Vec::new();
        let non_ascii = envelope
            .from()
            .into_iter()
            .chain(envelope.to())
            .any(|a| !AsRef::<str>::as_ref(a).is_ascii());
        if non_ascii && conn.server_info().supports_feature(Extension::SmtpUtfEight) {
            params.push(MailParameter::SmtpUtfEight);
        }
        *stage = Stage::MailFrom;
        conn.command(Mail::new(envelope.from().cloned(), params))
            .await
            .map_err(|e| (Stage::MailFrom, e))?;
        *stage = Stage::RcptTo;
        for recipient in envelope.to() {
            match conn.command(Rcpt::new(recipient.clone(), vec![])).await {
                Ok(_) => {}
                Err(e) if e.is_permanent() && recipient != primary => {
                    tracing::warn!(error = %e, "the SMTP server refused a CC/BCC recipient; sending without it");
                }
                Err(e) => return Err((Stage::RcptTo, e)),
            }
        }
        *stage = Stage::Data;
        conn.command(Data).await.map_err(|e| (Stage::Data, e))?;
        *stage = Stage::Message;
        conn.message(email).await.map_err(|e| (Stage::Message, e))?;
        Ok(())
    }
}

#[async_trait]
impl Provider for SmtpProvider {
    fn name(&self) -> &'static str {
        "smtp"
    }

    /// SMTP has no way to ask a server what it took.
    async fn reconcile(&self, _m: &Outgoing, _since: time::OffsetDateTime) -> Reconciled {
        Reconciled::Unaskable
    }

    #[tracing::instrument(skip_all, fields(provider = "smtp", message_uuid = %m.message_uuid))]
    async fn send(&self, m: &Outgoing) -> SendOutcome {
        let message_id = message_id(m);
        let (email, primary) = match build(m, &message_id) {
            Ok(built) => built,
            Err(detail) => {
                return SendOutcome::Permanent {
                    code: ErrorCode::InvalidEmailAddress,
                    detail,
                    effect: None,
                };
            }
        };
        let mut stage = Stage::Connect;
        let exchange = async {
            let mut conn = self.connection().await.map_err(|e| (Stage::Connect, e))?;
            let result = self
                .transact(
                    &mut conn,
                    &primary,
                    email.envelope(),
                    &email.formatted(),
                    &mut stage,
                )
                .await;
            match &result {
                Ok(()) => self.release(conn),
                Err(_) => conn.abort().await,
            }
            result
        };
        match tokio::time::timeout(self.config.timeout, exchange).await {
            // SMTP reports nothing after this: the server's `250` to the message is its
            // taking responsibility for delivery, the last word Herald gets.
            Ok(Ok(())) => SendOutcome::Accepted {
                provider_message_id: message_id,
                receipt: Some(Receipt::Delivered),
            },
            Ok(Err((stage, e))) => classify(stage, &e),
            // The message may have been taken before the server went quiet.
            Err(_) if stage == Stage::Message => SendOutcome::InDoubt {
                detail: "SMTP message: the server did not answer in time".into(),
            },
            // Nothing of the message was written yet: the server cannot have it.
            Err(_) => SendOutcome::Transient {
                detail: format!("SMTP {stage}: the server did not answer in time"),
            },
        }
    }
}

/// `<messageUUID@herald>`: the Message-ID header, and the provider message id.
fn message_id(m: &Outgoing) -> String {
    format!("<{}@herald>", m.message_uuid)
}

/// The RFC 5322 message and its primary recipient.
fn build(m: &Outgoing, message_id: &str) -> Result<(Message, Address), String> {
    let address = |s: &str| -> Result<Address, String> {
        s.trim()
            .parse::<Address>()
            .map_err(|e| format!("{s:?} is not an address SMTP can send to: {e}"))
    };
    let from = match m.from.rsplit_once(" <") {
        Some((name, rest)) => Mailbox::new(
            Some(name.trim().to_string()),
            address(rest.trim_end_matches('>'))?,
        ),
        None => Mailbox::new(None, address(&m.from)?),
    };
    let primary = address(&m.to)?;
    let list = |addresses: &[String]| -> Result<Mailboxes, String> {
        addresses
            .iter()
            .map(|a| address(a).map(|a| Mailbox::new(None, a)))
            .collect()
    };
    let mut builder = Message::builder()
        .from(from)
        .to(Mailbox::new(None, primary.clone()))
        .subject(m.subject.clone().unwrap_or_default())
        .message_id(Some(message_id.to_string()))
        .header(ContentType::TEXT_PLAIN);
    if !m.cc.is_empty() {
        builder = builder.mailbox(lettre::message::header::Cc::from(list(&m.cc)?));
    }
    if !m.bcc.is_empty() {
        builder = builder.mailbox(lettre::message::header::Bcc::from(list(&m.bcc)?));
    }
    let message = builder
        .body(m.body.clone())
        .map_err(|e| format!("the email could not be built: {e}"))?;
    Ok((message, primary))
}

fn classify(stage: Stage, e: &SmtpError) -> SendOutcome {
    let detail = format!("SMTP {stage}: {e}");
    // No reply code after the message was written (the connection dropped, the reply was
    // garbled): the server may have queued it before it failed.
    if stage == Stage::Message && e.status().is_none() {
        return SendOutcome::InDoubt { detail };
    }
    if !e.is_permanent() {
        if stage == Stage::Connect {
            tracing::warn!(error = %e, "cannot reach or log in to the SMTP server");
        }
        return SendOutcome::Transient { detail };
    }
    let code = match stage {
        Stage::RcptTo => ErrorCode::InvalidEmailAddress,
        Stage::Connect => {
            tracing::error!(error = %e, "the SMTP server refused Herald's login or greeting: check [email.smtp] url");
            ErrorCode::InternalServerError
        }
        Stage::MailFrom | Stage::Data | Stage::Message => ErrorCode::InternalServerError,
    };
    SendOutcome::Permanent {
        code,
        detail,
        effect: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: Duration = Duration::from_secs(5);

    #[test]
    fn url_forms() {
        let c = SmtpConfig::from_url("smtp://user:p%40ss@mail.example.com:2525?tls=required", T)
            .unwrap();
        assert_eq!(
            (c.host.as_str(), c.port, c.security),
            ("mail.example.com", 2525, Security::Required)
        );
        assert_eq!(c.username.as_deref(), Some("user"));
        assert_eq!(c.password.unwrap().expose_secret(), "p@ss");

        let c = SmtpConfig::from_url("smtp://mail.example.com", T).unwrap();
        assert_eq!((c.port, c.security), (587, Security::Opportunistic));
        assert!(c.username.is_none() && c.password.is_none());

        let c = SmtpConfig::from_url("smtp://127.0.0.1?tls=none", T).unwrap();
        assert_eq!((c.port, c.security), (25, Security::None));

        let c = SmtpConfig::from_url("smtps://u:p@mail.example.com", T).unwrap();
        assert_eq!((c.port, c.security), (465, Security::Implicit));
    }

    #[test]
    fn bad_urls_are_refused() {
        for url in [
            "http://mail.example.com",
            "smtp://mail.example.com?tls=sometimes",
            "smtp://",
            "not a url",
        ] {
            assert!(SmtpConfig::from_url(url, T).is_err(), "{url}");
        }
    }

    #[test]
    fn debug_hides_the_password() {
        let c = SmtpConfig::from_url("smtp://user:hunter2@mail.example.com", T).unwrap();
        assert!(!format!("{c:?}").contains("hunter2"));
    }

    #[test]
    fn percent_decoding() {
        assert_eq!(percent_decode("a%20b%2F").as_deref(), Some("a b/"));
        assert_eq!(percent_decode("100%").as_deref(), Some("100%"));
        assert_eq!(percent_decode("%zz").as_deref(), Some("%zz"));
    }
}
