//! What a refusal or a failure means, by the stage of the exchange it came at.

use std::fmt;

use lettre::transport::smtp::Error as SmtpError;

use super::{ErrorCode, SendOutcome};

/// The step of the SMTP exchange a server answered (or failed to).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Stage {
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

pub(super) fn classify(stage: Stage, e: &SmtpError) -> SendOutcome {
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
