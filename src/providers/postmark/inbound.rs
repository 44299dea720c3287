//! What Postmark's inbound webhook says (SPEC 4.5): an email a customer sent to one of the
//! dealer's addresses, as Postmark parsed it — the sender, every address it went to, the
//! subject, text and HTML parts, and the attachments in base64.

use serde::Deserialize;

use crate::domain::EmailAddress;
use crate::domain::attachment::{self, Attachment, MAX_EMAIL_ATTACHMENTS, MAX_EMAIL_BYTES};

/// Postmark's inbound JSON, the fields Herald reads.
#[derive(Debug, Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
pub struct Payload {
    pub from_full: Option<Address>,
    pub from: Option<String>,
    pub to_full: Vec<Address>,
    pub cc_full: Vec<Address>,
    pub original_recipient: Option<String>,
    pub subject: Option<String>,
    #[serde(rename = "MessageID")]
    pub message_id: Option<String>,
    pub text_body: Option<String>,
    pub html_body: Option<String>,
    pub attachments: Vec<PayloadAttachment>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
pub struct Address {
    pub email: String,
}

#[derive(Debug, Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
pub struct PayloadAttachment {
    pub name: String,
    pub content: String,
    pub content_type: String,
}

/// An inbound email, read.
#[derive(Debug)]
pub struct InboundEmail {
    pub from: EmailAddress,
    /// Every address it was sent to (To, Cc, the original recipient), each once.
    pub recipients: Vec<EmailAddress>,
    pub subject: Option<String>,
    pub text: String,
    pub html: Option<String>,
    /// Postmark's `MessageID`: the same on a retried webhook.
    pub message_id: Option<String>,
    pub attachments: Vec<Attachment>,
    /// Attachments left out (unreadable, or past Herald's bounds), for the log.
    pub dropped: usize,
}

impl Payload {
    /// The email, `None` without a readable sender.
    pub fn read(self) -> Option<InboundEmail> {
        let from = self
            .from_full
            .map(|a| a.email)
            .or(self.from)
            .and_then(|a| EmailAddress::parse(&a).ok())?;
        let mut recipients: Vec<EmailAddress> = Vec::new();
        let given = self
            .to_full
            .into_iter()
            .chain(self.cc_full)
            .map(|a| a.email)
            .chain(self.original_recipient);
        for address in given {
            if let Ok(a) = EmailAddress::parse(&address)
                && !recipients.contains(&a)
            {
                recipients.push(a);
            }
        }
        let (mut attachments, mut dropped, mut total) = (Vec::new(), 0, 0);
        for a in self.attachments {
            let file = attachment::file_name(&a.name)
                .zip(attachment::content_type(&a.content_type))
                .zip(attachment::decode_base64(&a.content).filter(|b| !b.is_empty()));
            match file {
                Some(((name, kind), bytes))
                    if attachments.len() < MAX_EMAIL_ATTACHMENTS
                        && total + bytes.len() <= MAX_EMAIL_BYTES =>
                {
                    total += bytes.len();
                    attachments.push(Attachment::new(name, kind, bytes));
                }
                _ => dropped += 1,
            }
        }
        // PostgreSQL keeps no NUL in text.
        let clean = |s: String| s.replace('\0', "");
        Some(InboundEmail {
            from,
            recipients,
            subject: self.subject.map(clean).filter(|s| !s.trim().is_empty()),
            text: clean(self.text_body.unwrap_or_default()),
            html: self.html_body.map(clean).filter(|h| !h.trim().is_empty()),
            message_id: self.message_id.filter(|m| !m.is_empty()),
            attachments,
            dropped,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn postmarks_example_payload_is_read() {
        let payload: Payload = serde_json::from_value(serde_json::json!({
            "FromName": "John Doe",
            "MessageStream": "inbound",
            "From": "customer@example.com",
            "FromFull": {"Email": "Customer@Example.com", "Name": "John Doe", "MailboxHash": ""},
            "To": "Service <service@dealer.example.com>",
            "ToFull": [{"Email": "service@dealer.example.com", "Name": "Service", "MailboxHash": ""}],
            "Cc": "", "CcFull": [], "Bcc": "", "BccFull": [],
            "OriginalRecipient": "service@dealer.example.com",
            "Subject": "Re: your repair order",
            "MessageID": "73e6d360-66eb-11e1-8e72-a8904824019b",
            "ReplyTo": "", "MailboxHash": "", "Date": "Fri, 1 Aug 2026 16:45:32 -04:00",
            "TextBody": "Thanks, see you Tuesday.",
            "HtmlBody": "<p>Thanks, see you Tuesday.</p>",
            "StrippedTextReply": "Thanks, see you Tuesday.",
            "Tag": "", "Headers": [],
            "Attachments": [
                {"Name": "photo.jpg", "Content": "/9j/4AAQ", "ContentType": "image/jpeg", "ContentLength": 6},
                {"Name": "../x", "Content": "AAAA", "ContentType": "image/jpeg", "ContentLength": 3}
            ]
        }))
        .unwrap();
        let email = payload.read().unwrap();
        assert_eq!(email.from.as_str(), "customer@example.com");
        assert_eq!(email.recipients.len(), 1);
        assert_eq!(email.subject.as_deref(), Some("Re: your repair order"));
        assert_eq!(email.text, "Thanks, see you Tuesday.");
        assert_eq!(email.attachments.len(), 1);
        assert_eq!(email.attachments[0].info.file_name, "photo.jpg");
        assert_eq!(email.dropped, 1);
    }
}
