//! A fake Postmark for tests: `POST /email` with the server token header, Postmark's JSON
//! answers and error codes, each request handed to the test through a channel; and Postmark's
//! side of the webhooks (Delivery, Bounce, SpamComplaint, SubscriptionChange payloads).

#![allow(dead_code)]

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde_json::{Value, json};
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
    /// Waits this long before answering `Accepted` (for client timeouts).
    Slow(Duration),
}

#[derive(Debug, Clone)]
pub struct Request {
    pub headers: HeaderMap,
    pub body: Value,
    /// The MessageID answered, when the email was accepted.
    pub message_id: Option<String>,
}

impl Request {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

#[derive(Clone)]
struct Shared {
    script: Arc<Mutex<VecDeque<Reply>>>,
    tx: mpsc::UnboundedSender<Request>,
}

pub struct FakePostmark {
    pub base_url: String,
    script: Arc<Mutex<VecDeque<Reply>>>,
    rx: mpsc::UnboundedReceiver<Request>,
    client: reqwest::Client,
}

impl FakePostmark {
    pub async fn start() -> Self {
        let (tx, rx) = mpsc::unbounded_channel();
        let script = Arc::new(Mutex::new(VecDeque::new()));
        let shared = Shared {
            script: script.clone(),
            tx,
        };
        let app = Router::new()
            .route("/email", post(email))
            .with_state(shared);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base_url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Self {
            base_url,
            script,
            rx,
            client: reqwest::Client::new(),
        }
    }

    /// The next calls are answered with `replies` in turn, then `Accepted` again.
    pub fn script(&self, replies: impl IntoIterator<Item = Reply>) {
        self.script.lock().unwrap().extend(replies);
    }

    pub async fn next_request(&mut self) -> Request {
        tokio::time::timeout(Duration::from_secs(10), self.rx.recv())
            .await
            .expect("an /email call within 10 s")
            .expect("fake postmark running")
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

async fn email(State(shared): State<Shared>, headers: HeaderMap, body: Bytes) -> Response {
    let mut request = Request {
        headers: headers.clone(),
        body: serde_json::from_slice(&body).unwrap_or(Value::Null),
        message_id: None,
    };
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let response = if header("x-postmark-server-token") != Some(SERVER_TOKEN) {
        error(
            401,
            10,
            "The Server Token you provided in the X-Postmark-Server-Token request header was invalid.",
        )
    } else if !header("content-type").is_some_and(|v| v.starts_with("application/json"))
        || header("accept") != Some("application/json")
    {
        error(415, 0, "Accept and Content-Type must be application/json")
    } else {
        let reply = shared
            .script
            .lock()
            .unwrap()
            .pop_front()
            .unwrap_or(Reply::Accepted);
        match reply {
            Reply::Error {
                status,
                code,
                message,
            } => error(status, code, message),
            Reply::Slow(delay) => {
                tokio::time::sleep(delay).await;
                accepted(&mut request)
            }
            Reply::Accepted => accepted(&mut request),
        }
    };
    let _ = shared.tx.send(request);
    response
}

fn accepted(request: &mut Request) -> Response {
    let id = Uuid::new_v4().to_string();
    request.message_id = Some(id.clone());
    axum::Json(json!({
        "To": request.body["To"],
        "SubmittedAt": "2026-11-25T10:00:00.0000000-05:00",
        "MessageID": id,
        "ErrorCode": 0,
        "Message": "OK"
    }))
    .into_response()
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
