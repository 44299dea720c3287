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
//!
//! `config.rs` parses `[email.smtp] url`; `client.rs` holds the connection pool and the SMTP
//! transaction; `message.rs` builds the RFC 5322 message; `classify.rs` turns a refusal or a
//! failure, and the stage it came at, into an outcome.

mod classify;
mod client;
mod config;
mod message;

use std::sync::Mutex;
use std::time::Instant;

use async_trait::async_trait;
use lettre::transport::smtp::client::AsyncSmtpConnection;
use lettre::transport::smtp::extension::ClientId;

use super::{Outgoing, Provider, Receipt, Reconciled, SendOutcome};
use crate::domain::codes::ErrorCode;
use classify::{Stage, classify};
pub use config::{Security, SmtpConfig};
use message::{build, message_id};

pub struct SmtpProvider {
    config: SmtpConfig,
    hello: ClientId,
    idle: Mutex<Vec<(AsyncSmtpConnection, Instant)>>,
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
