//! A fake Postmark for tests: `POST /email` with the server token header, Postmark's JSON
//! answers and error codes, each request handed to the test through a channel; the outbound
//! message search (`GET /messages/outbound`) over every email it took, with an optional
//! indexing lag and a switch to make it fail; and Postmark's side of the webhooks (Delivery,
//! Bounce, SpamComplaint, SubscriptionChange payloads).

#![allow(dead_code)]

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use tokio::sync::mpsc;
use uuid::Uuid;

pub const SERVER_TOKEN: &str = "fake-postmark-server-token";

#[derive(Debug, Clone)]
pub enum Reply {
    /// `200` with `ErrorCode: 0` and a fresh `MessageID`.
    Accepted,
    /// Postmark's error body `{ErrorCode, Message}` with `status`.
    Error {
        status: u16,
        code: i64,
        message: &'static str,
    },
    /// Takes the email, then waits this long before answering `Accepted` (for client timeouts).
    Slow(Duration),
    /// Takes the email and never answers.
    Hang,
    /// Takes the email and closes the connection without an answer.
    Drop,
    /// Takes the email and answers `200` with a body that is not JSON.
    Garbled,
}

#[derive(Debug, Clone)]
pub struct Request {
    pub headers: HeaderMap,
    pub body: Value,
    /// The MessageID given, when the email was taken.
    pub message_id: Option<String>,
}

impl Request {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Each of `Attachments` as `(Name, ContentType, decoded Content)`.
    pub fn attachments(&self) -> Vec<File> {
        attachments(&self.body).unwrap_or_default()
    }
}

/// `Attachments` of an email request, decoded; `Err` says what Postmark would refuse.
/// An attachment as `(Name, ContentType, decoded Content)`.
pub type File = (String, String, Vec<u8>);

fn attachments(body: &Value) -> Result<Vec<File>, &'static str> {
    use base64::Engine as _;
    let Some(list) = body.get("Attachments") else {
        return Ok(Vec::new());
    };
    let list = list.as_array().ok_or("Attachments must be a list")?;
    list.iter()
        .map(|a| {
            let field = |name: &str| {
                a[name]
                    .as_str()
                    .ok_or("an attachment needs Name, Content and ContentType")
            };
            let content = base64::engine::general_purpose::STANDARD
                .decode(field("Content")?)
                .map_err(|_| "attachment Content is not base64")?;
            Ok((
                field("Name")?.to_string(),
                field("ContentType")?.to_string(),
                content,
            ))
        })
        .collect()
}

/// An email the fake took, as its search reports it.
#[derive(Debug, Clone)]
pub struct Email {
    pub message_id: String,
    /// Every address of To, Cc and Bcc: what the `recipient` filter matches.
    pub recipients: Vec<String>,
    pub metadata: Value,
    pub received_at: OffsetDateTime,
    /// The request as sent.
    pub body: Value,
    taken: Instant,
}

impl Email {
    pub fn message_uuid(&self) -> Option<&str> {
        self.metadata["messageUUID"].as_str()
    }
}

#[derive(Clone, Default)]
struct Search {
    /// How long an email stays out of the search after it was taken.
    lag: Arc<Mutex<Duration>>,
    failing: Arc<AtomicBool>,
    queries: Arc<Mutex<Vec<HashMap<String, String>>>>,
}

#[derive(Clone)]
struct Shared {
    script: Arc<Mutex<VecDeque<Reply>>>,
    tx: mpsc::UnboundedSender<Request>,
    emails: Arc<Mutex<Vec<Email>>>,
    search: Search,
}

pub struct FakePostmark {
    pub base_url: String,
    shared: Shared,
    rx: mpsc::UnboundedReceiver<Request>,
    client: reqwest::Client,
}

impl FakePostmark {
    pub async fn start() -> Self {
        let (tx, rx) = mpsc::unbounded_channel();
        let shared = Shared {
            script: Arc::default(),
            tx,
            emails: Arc::default(),
            search: Search::default(),
        };
        let app = Router::new()
            .route("/email", post(email))
            .route("/messages/outbound", get(outbound))
            .with_state(shared.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base_url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Self {
            base_url,
            shared,
            rx,
            client: reqwest::Client::new(),
        }
    }

    /// The next calls are answered with `replies` in turn, then `Accepted` again.
    pub fn script(&self, replies: impl IntoIterator<Item = Reply>) {
        self.shared.script.lock().unwrap().extend(replies);
    }

    pub async fn next_request(&mut self) -> Request {
        tokio::time::timeout(Duration::from_secs(10), self.rx.recv())
            .await
            .expect("an /email call within 10 s")
            .expect("fake postmark running")
    }

    /// Every email taken so far, in the order received (answered or not).
    pub fn emails(&self) -> Vec<Email> {
        self.shared.emails.lock().unwrap().clone()
    }

    /// How many emails were taken per `Metadata.messageUUID`: more than one is a duplicate.
    pub fn taken_per_message_uuid(&self) -> HashMap<String, usize> {
        let mut counts = HashMap::new();
        for email in self.shared.emails.lock().unwrap().iter() {
            if let Some(uuid) = email.message_uuid() {
                *counts.entry(uuid.to_string()).or_default() += 1;
            }
        }
        counts
    }

    /// An email becomes searchable only this long after it was taken, as Postmark's index
    /// lags its sends.
    pub fn set_search_lag(&self, lag: Duration) {
        *self.shared.search.lag.lock().unwrap() = lag;
    }

    /// While set, the search answers `503`.
    pub fn fail_searches(&self, failing: bool) {
        self.shared.search.failing.store(failing, Ordering::SeqCst);
    }

    /// The query of each `GET /messages/outbound` so far, answered or refused.
    pub fn searches(&self) -> Vec<HashMap<String, String>> {
        self.shared.search.queries.lock().unwrap().clone()
    }

    /// Posts a webhook event as Postmark does, with Basic credentials when given.
    pub async fn post_webhook(
        &self,
        target: &str,
        credentials: Option<(&str, &str)>,
        event: &Value,
    ) -> reqwest::Response {
        let mut request = self.client.post(target).json(event);
        if let Some((user, password)) = credentials {
            request = request.basic_auth(user, Some(password));
        }
        request.send().await.expect("request reaches herald")
    }
}

fn error(status: u16, code: i64, message: &str) -> Response {
    (
        StatusCode::from_u16(status).unwrap(),
        axum::Json(json!({"ErrorCode": code, "Message": message})),
    )
        .into_response()
}

/// Postmark's answer to a missing or wrong token, on every endpoint.
fn bad_token() -> Response {
    error(
        401,
        10,
        "The Server Token you provided in the X-Postmark-Server-Token request header was invalid.",
    )
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

async fn email(State(shared): State<Shared>, headers: HeaderMap, body: Bytes) -> Response {
    let mut request = Request {
        headers: headers.clone(),
        body: serde_json::from_slice(&body).unwrap_or(Value::Null),
        message_id: None,
    };
    if header(&headers, "x-postmark-server-token") != Some(SERVER_TOKEN) {
        let _ = shared.tx.send(request);
        return bad_token();
    }
    if !header(&headers, "content-type").is_some_and(|v| v.starts_with("application/json"))
        || header(&headers, "accept") != Some("application/json")
    {
        let _ = shared.tx.send(request);
        return error(415, 0, "Accept and Content-Type must be application/json");
    }
    // What Postmark refuses with ErrorCode 300, "Invalid email request".
    let has = |field: &str| request.body[field].as_str().is_some_and(|s| !s.is_empty());
    if !has("TextBody") && !has("HtmlBody") {
        let _ = shared.tx.send(request);
        return error(
            422,
            300,
            "Provide either email TextBody or HtmlBody or both.",
        );
    }
    match attachments(&request.body) {
        Err(why) => {
            let _ = shared.tx.send(request);
            return error(422, 300, why);
        }
        Ok(files) if files.iter().map(|f| f.2.len()).sum::<usize>() > 10 * 1024 * 1024 => {
            let _ = shared.tx.send(request);
            return error(422, 300, "Message size exceeds the 10 MB limit.");
        }
        Ok(_) => {}
    }
    let reply = shared
        .script
        .lock()
        .unwrap()
        .pop_front()
        .unwrap_or(Reply::Accepted);
    if let Reply::Error {
        status,
        code,
        message,
    } = reply
    {
        let _ = shared.tx.send(request);
        return error(status, code, message);
    }
    let id = take(&shared, &request.body);
    request.message_id = Some(id.clone());
    let answer = accepted(&request.body, &id);
    let _ = shared.tx.send(request);
    match reply {
        Reply::Slow(delay) => {
            tokio::time::sleep(delay).await;
            answer
        }
        Reply::Hang => std::future::pending().await,
        // Unwinding ends the connection's task, which closes the socket with no answer
        // written; `resume_unwind` skips the panic hook, so nothing is printed.
        Reply::Drop => std::panic::resume_unwind(Box::new("connection dropped by the fake")),
        Reply::Garbled => (StatusCode::OK, "<html>502 Bad Gateway</html>").into_response(),
        Reply::Accepted | Reply::Error { .. } => answer,
    }
}

/// Keeps the email as Postmark would once it has taken it, and gives it its MessageID.
fn take(shared: &Shared, body: &Value) -> String {
    let message_id = Uuid::new_v4().to_string();
    let recipients = ["To", "Cc", "Bcc"]
        .iter()
        .filter_map(|field| body[field].as_str())
        .flat_map(|list| list.split(','))
        .map(|a| bare_address(a).to_string())
        .filter(|a| !a.is_empty())
        .collect();
    shared.emails.lock().unwrap().push(Email {
        message_id: message_id.clone(),
        recipients,
        metadata: body.get("Metadata").cloned().unwrap_or_else(|| json!({})),
        received_at: OffsetDateTime::now_utc(),
        body: body.clone(),
        taken: Instant::now(),
    });
    message_id
}

fn bare_address(a: &str) -> &str {
    match a.rsplit_once('<') {
        Some((_, rest)) => rest.trim().trim_end_matches('>').trim(),
        None => a.trim(),
    }
}

fn accepted(body: &Value, id: &str) -> Response {
    axum::Json(json!({
        "To": body["To"],
        "SubmittedAt": "2026-11-25T10:00:00.0000000-05:00",
        "MessageID": id,
        "ErrorCode": 0,
        "Message": "OK"
    }))
    .into_response()
}

/// `GET /messages/outbound`: `count` (1..=500) and `offset` required, `count + offset` at most
/// 10,000; filtered by `recipient` and any `metadata_<key>`; newest first.
async fn outbound(
    State(shared): State<Shared>,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    shared.search.queries.lock().unwrap().push(query.clone());
    if header(&headers, "x-postmark-server-token") != Some(SERVER_TOKEN) {
        return bad_token();
    }
    if header(&headers, "accept") != Some("application/json") {
        return error(415, 0, "Accept must be application/json");
    }
    if shared.search.failing.load(Ordering::SeqCst) {
        return error(503, 0, "Service unavailable");
    }
    let number = |name: &str| query.get(name).and_then(|v| v.parse::<usize>().ok());
    let (Some(count), Some(offset)) = (number("count"), number("offset")) else {
        return error(422, 0, "The 'count' and 'offset' parameters are required.");
    };
    if !(1..=500).contains(&count) || count + offset > 10_000 {
        return error(
            422,
            0,
            "'count' must be 1 to 500, and 'count' + 'offset' at most 10000.",
        );
    }
    let recipient = query.get("recipient").map(|r| r.to_lowercase());
    let metadata: Vec<(&str, &str)> = query
        .iter()
        .filter_map(|(k, v)| Some((k.strip_prefix("metadata_")?, v.as_str())))
        .collect();
    let lag = *shared.search.lag.lock().unwrap();
    let emails = shared.emails.lock().unwrap();
    let matching: Vec<&Email> = emails
        .iter()
        .rev()
        .filter(|e| e.taken.elapsed() >= lag)
        .filter(|e| {
            recipient
                .as_ref()
                .is_none_or(|r| e.recipients.iter().any(|a| a.to_lowercase() == *r))
        })
        .filter(|e| {
            metadata
                .iter()
                .all(|(k, v)| e.metadata[*k].as_str() == Some(*v))
        })
        .collect();
    let messages: Vec<Value> = matching
        .iter()
        .skip(offset)
        .take(count)
        .map(|e| summary(e))
        .collect();
    axum::Json(json!({"TotalCount": matching.len(), "Messages": messages})).into_response()
}

/// One message as the outbound search lists it.
fn summary(e: &Email) -> Value {
    let list = |field: &str| -> Vec<Value> {
        e.body[field]
            .as_str()
            .unwrap_or_default()
            .split(',')
            .map(bare_address)
            .filter(|a| !a.is_empty())
            .map(|a| json!({"Email": a, "Name": null}))
            .collect()
    };
    json!({
        "Tag": "",
        "MessageID": e.message_id,
        "MessageStream": e.body["MessageStream"],
        "To": list("To"),
        "Cc": list("Cc"),
        "Bcc": list("Bcc"),
        "Recipients": e.recipients,
        "ReceivedAt": e.received_at.format(&Rfc3339).unwrap(),
        "From": e.body["From"],
        "Subject": e.body["Subject"],
        "Attachments": [],
        "Status": "Sent",
        "TrackOpens": false,
        "TrackLinks": "None",
        "Metadata": e.metadata,
        "Sandboxed": false
    })
}

// Postmark's webhook payloads, as documented for each record type.

pub fn delivery(message_id: &str, recipient: &str) -> Value {
    json!({
        "RecordType": "Delivery",
        "ServerID": 23,
        "MessageStream": "outbound",
        "MessageID": message_id,
        "Recipient": recipient,
        "Tag": "",
        "DeliveredAt": "2026-11-25T10:00:05Z",
        "Details": "Test delivery webhook details",
        "Metadata": {}
    })
}

pub fn bounce(message_id: &str, email: &str, kind: &str) -> Value {
    json!({
        "RecordType": "Bounce",
        "ID": 42,
        "Type": kind,
        "TypeCode": 1,
        "Name": "Hard bounce",
        "Tag": "",
        "MessageID": message_id,
        "ServerID": 23,
        "MessageStream": "outbound",
        "Description": "The server was unable to deliver your message (ex: unknown user, mailbox not found).",
        "Details": "smtp;550 5.1.1 The email account that you tried to reach does not exist.",
        "Email": email,
        "From": "service@dealer.example.com",
        "BouncedAt": "2026-11-25T10:00:05Z",
        "Inactive": true,
        "CanActivate": true,
        "Subject": "Message from Acme Motors",
        "Metadata": {}
    })
}

pub fn spam_complaint(message_id: &str, email: &str) -> Value {
    json!({
        "RecordType": "SpamComplaint",
        "ID": 43,
        "Type": "SpamComplaint",
        "TypeCode": 512,
        "MessageID": message_id,
        "ServerID": 23,
        "MessageStream": "outbound",
        "Email": email,
        "From": "service@dealer.example.com",
        "BouncedAt": "2026-11-25T10:00:05Z",
        "Inactive": true,
        "Metadata": {}
    })
}

pub fn subscription_change(message_id: &str, recipient: &str, suppress: bool) -> Value {
    json!({
        "RecordType": "SubscriptionChange",
        "MessageID": message_id,
        "ServerID": 23,
        "MessageStream": "outbound",
        "ChangedAt": "2026-11-25T10:00:05Z",
        "Recipient": recipient,
        "Origin": "Recipient",
        "SuppressSending": suppress,
        "SuppressionReason": if suppress { Value::from("ManualSuppression") } else { Value::Null },
        "Tag": "",
        "Metadata": {}
    })
}

/// Postmark's inbound webhook payload (as its documentation shows it) for an email `from` a
/// customer `to` an address of the dealer's, with `attachments` as `(Name, ContentType,
/// bytes)`.
pub fn inbound(
    from: &str,
    to: &str,
    subject: &str,
    text: &str,
    html: &str,
    attachments: &[(&str, &str, &[u8])],
) -> Value {
    use base64::Engine as _;
    let files: Vec<Value> = attachments
        .iter()
        .map(|(name, kind, bytes)| {
            json!({
                "Name": name,
                "Content": base64::engine::general_purpose::STANDARD.encode(bytes),
                "ContentType": kind,
                "ContentLength": bytes.len(),
                "ContentID": ""
            })
        })
        .collect();
    json!({
        "FromName": "John Doe",
        "MessageStream": "inbound",
        "From": from,
        "FromFull": {"Email": from, "Name": "John Doe", "MailboxHash": ""},
        "To": format!("Service <{to}>"),
        "ToFull": [{"Email": to, "Name": "Service", "MailboxHash": ""}],
        "Cc": "",
        "CcFull": [],
        "Bcc": "",
        "BccFull": [],
        "OriginalRecipient": to,
        "Subject": subject,
        "MessageID": Uuid::new_v4().to_string(),
        "ReplyTo": "",
        "MailboxHash": "",
        "Date": "Mon, 7 Dec 2026 10:45:32 -05:00",
        "TextBody": text,
        "HtmlBody": html,
        "StrippedTextReply": text,
        "Tag": "",
        "Headers": [{"Name": "X-Spam-Status", "Value": "No"}],
        "Attachments": files
    })
}
