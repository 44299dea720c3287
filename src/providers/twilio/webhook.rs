//! What Twilio's webhooks say, read from the form parameters of a request whose signature
//! (signature.rs) checked out: a delivery receipt for a message, or a customer's text. The
//! HTTP side — the signature check, the answers — is src/api/webhooks/twilio.rs.

use crate::domain::PhoneNumber;
use crate::providers::Receipt;

/// The form parameters of one webhook request.
pub struct Params(pub Vec<(String, String)>);

impl Params {
    /// A parameter given with a value.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .filter(|v| !v.is_empty())
    }
}

/// A `StatusCallback`: which message, the status Twilio reported, and what it means for the
/// message — `None` for Twilio's intermediate statuses (`queued`, `sent`, ...), which change
/// nothing.
pub struct StatusReport<'a> {
    pub sid: &'a str,
    pub reported: &'a str,
    pub receipt: Option<Receipt>,
}

/// The report of a status callback, `None` when it names no message.
pub fn status_report(params: &Params) -> Option<StatusReport<'_>> {
    let sid = params.get("MessageSid").or_else(|| params.get("SmsSid"))?;
    let reported = params
        .get("MessageStatus")
        .or_else(|| params.get("SmsStatus"))
        .unwrap_or_default();
    let receipt = match reported {
        "delivered" => Some(Receipt::Delivered),
        "undelivered" | "failed" => {
            let mut detail = format!("Twilio reported the message {reported}");
            if let Some(code) = params.get("ErrorCode") {
                detail.push_str(&format!(" (error {code}"));
                if let Some(message) = params.get("ErrorMessage") {
                    detail.push_str(&format!(": {message}"));
                }
                detail.push(')');
            }
            Some(Receipt::Undelivered { code: None, detail })
        }
        _ => None,
    };
    Some(StatusReport {
        sid,
        reported,
        receipt,
    })
}

/// A customer's text to one of the departments' numbers.
pub struct InboundSms {
    pub from: PhoneNumber,
    pub to: PhoneNumber,
    pub body: String,
    /// Twilio's `MessageSid`: the same on a retried webhook.
    pub sid: Option<String>,
    /// An MMS's media: `MediaUrl<i>` and `MediaContentType<i>` for each of `NumMedia`, at
    /// most [`MAX_INBOUND_MEDIA`].
    pub media: Vec<InboundMedia>,
}

/// One medium of an inbound MMS, still at Twilio.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InboundMedia {
    pub url: String,
    pub content_type: String,
}

/// Twilio delivers at most ten media with one MMS; Herald keeps no more.
pub const MAX_INBOUND_MEDIA: usize = 10;

/// The text of an inbound webhook, `None` without a usable `From` or `To` number.
pub fn inbound_sms(params: &Params) -> Option<InboundSms> {
    let number = |name: &str| params.get(name).and_then(|v| PhoneNumber::parse(v).ok());
    Some(InboundSms {
        from: number("From")?,
        to: number("To")?,
        // PostgreSQL keeps no NUL in text; a carrier that sends one loses just that character.
        body: params.get("Body").unwrap_or_default().replace('\0', ""),
        sid: params
            .get("MessageSid")
            .or_else(|| params.get("SmsMessageSid"))
            .map(str::to_string),
        media: inbound_media(params),
    })
}

fn inbound_media(params: &Params) -> Vec<InboundMedia> {
    let count = params
        .get("NumMedia")
        .and_then(|n| n.parse::<usize>().ok())
        .unwrap_or(0)
        .min(MAX_INBOUND_MEDIA);
    (0..count)
        .filter_map(|i| {
            Some(InboundMedia {
                url: params.get(&format!("MediaUrl{i}"))?.to_string(),
                content_type: params
                    .get(&format!("MediaContentType{i}"))
                    .unwrap_or("application/octet-stream")
                    .to_string(),
            })
        })
        .collect()
}

/// The answer to an inbound webhook: replies leave through Herald's own queue, never as TwiML.
pub const EMPTY_TWIML: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response></Response>";

#[cfg(test)]
mod tests {
    use super::*;

    fn params(pairs: &[(&str, &str)]) -> Params {
        Params(
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        )
    }

    #[test]
    fn final_statuses_are_receipts_and_intermediate_ones_are_not() {
        let delivered = params(&[("MessageSid", "SM1"), ("MessageStatus", "delivered")]);
        let report = status_report(&delivered).unwrap();
        assert_eq!(report.sid, "SM1");
        assert!(matches!(report.receipt, Some(Receipt::Delivered)));
        let failed = params(&[
            ("SmsSid", "SM2"),
            ("SmsStatus", "undelivered"),
            ("ErrorCode", "30003"),
            ("ErrorMessage", "Unreachable"),
        ]);
        let Some(Receipt::Undelivered { detail, .. }) = status_report(&failed).unwrap().receipt
        else {
            panic!("undelivered is a receipt");
        };
        assert_eq!(
            detail,
            "Twilio reported the message undelivered (error 30003: Unreachable)"
        );
        let sent = params(&[("MessageSid", "SM3"), ("MessageStatus", "sent")]);
        assert!(status_report(&sent).unwrap().receipt.is_none());
        assert!(status_report(&params(&[("MessageStatus", "delivered")])).is_none());
    }

    #[test]
    fn an_inbound_text_needs_both_numbers() {
        let text = params(&[
            ("From", "+14155550100"),
            ("To", "+14155550199"),
            ("Body", "STOP\0"),
            ("MessageSid", "SM9"),
        ]);
        let sms = inbound_sms(&text).unwrap();
        assert_eq!(sms.body, "STOP");
        assert_eq!(sms.sid.as_deref(), Some("SM9"));
        assert!(inbound_sms(&params(&[("From", "+14155550100"), ("To", "nope")])).is_none());
    }
}
