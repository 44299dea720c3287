//! The RFC 5322 message Herald hands to the server: addresses, headers and the body — plain
//! text alone; or `multipart/alternative` text and HTML; or, with attachments,
//! `multipart/mixed` of that body and each file (SPEC 4.5).

use lettre::Address;
use lettre::message::header::ContentType;
use lettre::message::{Attachment, Mailbox, Mailboxes, Message, MultiPart, SinglePart};

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
        .message_id(Some(message_id.to_string()));
    if !m.cc.is_empty() {
        builder = builder.mailbox(lettre::message::header::Cc::from(list(&m.cc)?));
    }
    if !m.bcc.is_empty() {
        builder = builder.mailbox(lettre::message::header::Bcc::from(list(&m.bcc)?));
    }
    let alternative = m
        .html_body
        .as_ref()
        .map(|html| MultiPart::alternative_plain_html(m.body.clone(), html.clone()));
    let built = match (alternative, m.attachments.is_empty()) {
        (None, true) => builder.header(ContentType::TEXT_PLAIN).body(m.body.clone()),
        (Some(alternative), true) => builder.multipart(alternative),
        (alternative, false) => {
            let mut mixed = match alternative {
                Some(alternative) => MultiPart::mixed().multipart(alternative),
                None => MultiPart::mixed().singlepart(SinglePart::plain(m.body.clone())),
            };
            for a in &m.attachments {
                let kind = ContentType::parse(&a.info.content_type)
                    .map_err(|e| format!("{:?} is not a content type: {e}", a.info.content_type))?;
                mixed = mixed.singlepart(
                    Attachment::new(a.info.file_name.clone()).body(a.content.to_vec(), kind),
                );
            }
            builder.multipart(mixed)
        }
    };
    let message = built.map_err(|e| format!("the email could not be built: {e}"))?;
    Ok((message, primary))
}
