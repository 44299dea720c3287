//! The RFC 5322 message Herald hands to the server: addresses, headers and the plain-text body.

use lettre::Address;
use lettre::message::header::ContentType;
use lettre::message::{Mailbox, Mailboxes, Message};

use super::Outgoing;

/// `<messageUUID@herald>`: the Message-ID header, and the provider message id.
pub(super) fn message_id(m: &Outgoing) -> String {
    format!("<{}@herald>", m.message_uuid)
}

/// The RFC 5322 message and its primary recipient.
pub(super) fn build(m: &Outgoing, message_id: &str) -> Result<(Message, Address), String> {
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
