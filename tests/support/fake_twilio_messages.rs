//! The fake Twilio's messages: each one it created, as the Message resource Twilio answers, and
//! the Messages list (`GET .../Messages.json`): filtered by `To` and `From`, newest first,
//! paged by `PageSize` (default 50, at most 1000) and the `next_page_uri` it answers.
//! `DateSent` is not filtered on: a queued message has no `date_sent`, so Herald never uses it.

use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc2822;

use super::ACCOUNT_SID;

/// A message the fake created, as it stands now.
#[derive(Debug, Clone)]
pub struct Created {
    pub sid: String,
    pub to: String,
    pub from: Option<String>,
    pub messaging_service_sid: Option<String>,
    pub body: String,
    pub num_media: usize,
    /// Each `MediaUrl` as the fake fetched it when the message was created (Twilio fetches
    /// the media of an MMS itself, from the URLs it is given).
    pub media: Vec<Fetched>,
    pub status: String,
    pub error_code: Option<u32>,
    pub error_message: Option<String>,
    pub date_created: OffsetDateTime,
    pub date_updated: OffsetDateTime,
    pub date_sent: Option<OffsetDateTime>,
}

/// One media URL as the fake fetched it: the HTTP status, the content type and the bytes.
#[derive(Debug, Clone)]
pub struct Fetched {
    pub url: String,
    pub status: u16,
    pub content_type: Option<String>,
    pub bytes: Vec<u8>,
}

impl Created {
    /// Twilio's Message resource, as the create call and the list answer it.
    pub fn resource(&self) -> Value {
        let date = |t: OffsetDateTime| t.format(&Rfc2822).unwrap();
        let uri = format!("/2010-04-01/Accounts/{ACCOUNT_SID}/Messages/{}", self.sid);
        json!({
            "account_sid": ACCOUNT_SID,
            "api_version": "2010-04-01",
            "body": self.body,
            "date_created": date(self.date_created),
            "date_sent": self.date_sent.map(date),
            "date_updated": date(self.date_updated),
            "direction": "outbound-api",
            "error_code": self.error_code,
            "error_message": self.error_message,
            "from": self.from,
            "messaging_service_sid": self.messaging_service_sid,
            "num_media": self.num_media.to_string(),
            "num_segments": "1",
            "price": null,
            "price_unit": "USD",
            "sid": self.sid,
            "status": self.status,
            "subresource_uris": { "media": format!("{uri}/Media.json") },
            "to": self.to,
            "uri": format!("{uri}.json"),
        })
    }

    /// A status Twilio moves a message to; leaving the queue gives it a `date_sent`.
    pub fn set_status(&mut self, status: &str) {
        let now = OffsetDateTime::now_utc();
        self.status = status.into();
        self.date_updated = now;
        if !matches!(status, "queued" | "accepted" | "scheduled") {
            self.date_sent.get_or_insert(now);
        }
    }
}

/// One page of the Messages list for `query` (the request's query string) over `messages`
/// (oldest first, as created).
pub fn page(messages: &[Created], query: &str) -> Value {
    let param = |name: &str| {
        form_urlencoded::parse(query.as_bytes())
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
    };
    let to = param("To");
    let from = param("From");
    let page_size = param("PageSize")
        .and_then(|v| v.parse::<usize>().ok())
        .unwrap_or(50)
        .clamp(1, 1000);
    let page_number = param("Page")
        .and_then(|v| v.parse::<usize>().ok())
        .unwrap_or(0);
    // The token names the last message of the page before, so new messages do not shift
    // the pages a reader is walking through.
    let after = param("PageToken").and_then(|t| t.strip_prefix("PA").map(str::to_string));
    let mut listed = messages
        .iter()
        .rev()
        .filter(|m| to.as_ref().is_none_or(|to| &m.to == to))
        .filter(|m| {
            from.as_ref()
                .is_none_or(|from| m.from.as_ref() == Some(from))
        });
    if let Some(after) = &after {
        for m in listed.by_ref() {
            if &m.sid == after {
                break;
            }
        }
    }
    let mut messages: Vec<&Created> = listed.take(page_size + 1).collect();
    let more = messages.len() > page_size;
    messages.truncate(page_size);

    let base = format!("/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json");
    let uri = |page: usize, token: Option<&str>| {
        let mut q = form_urlencoded::Serializer::new(String::new());
        if let Some(to) = &to {
            q.append_pair("To", to);
        }
        if let Some(from) = &from {
            q.append_pair("From", from);
        }
        q.append_pair("PageSize", &page_size.to_string());
        q.append_pair("Page", &page.to_string());
        if let Some(token) = token {
            q.append_pair("PageToken", token);
        }
        format!("{base}?{}", q.finish())
    };
    let next_page_uri = match messages.last() {
        Some(last) if more => Some(uri(page_number + 1, Some(&format!("PA{}", last.sid)))),
        _ => None,
    };
    let start = page_number * page_size;
    json!({
        "end": (start + messages.len()).saturating_sub(1),
        "first_page_uri": uri(0, None),
        "messages": messages.iter().map(|m| m.resource()).collect::<Vec<_>>(),
        "next_page_uri": next_page_uri,
        "page": page_number,
        "page_size": page_size,
        // Herald reads forward only; the fake does not serve backward paging.
        "previous_page_uri": null,
        "start": start,
        "uri": uri(page_number, after.map(|sid| format!("PA{sid}")).as_deref()),
    })
}
