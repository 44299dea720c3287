//! The connection pool and one SMTP transaction (MAIL FROM, RCPT TO, DATA) on a connection.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use lettre::transport::smtp::Error as SmtpError;
use lettre::transport::smtp::authentication::{Credentials, Mechanism};
use lettre::transport::smtp::client::{AsyncSmtpConnection, TlsParameters};
use lettre::transport::smtp::commands::{Data, Mail, Rcpt};
use lettre::transport::smtp::extension::{ClientId, Extension, MailParameter};
use lettre::{Address, address::Envelope};
use secrecy::ExposeSecret;

use super::{Security, SmtpConfig, SmtpProvider, Stage};

/// Idle connections kept open for the next messages.
const MAX_IDLE: usize = 4;
/// An idle connection older than this is closed rather than reused (servers drop them).
const IDLE_FOR_AT_MOST: Duration = Duration::from_secs(60);

impl SmtpProvider {
    pub fn new(config: SmtpConfig) -> Self {
        Self {
            config,
            hello: ClientId::default(),
            idle: Mutex::default(),
        }
    }

    /// An open, greeted and authenticated connection: a pooled one still alive, or a new one.
    pub(super) async fn connection(&self) -> Result<AsyncSmtpConnection, SmtpError> {
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

    pub(super) fn release(&self, conn: AsyncSmtpConnection) {
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
    pub(super) async fn transact(
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
