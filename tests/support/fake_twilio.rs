//! A fake Twilio for tests: the create-message call of the REST API (Basic auth, form body,
//! `201` with the Message resource, Twilio's JSON error bodies) on loopback, each request handed
//! to the test through a channel; and Twilio's side of the webhooks, signed the way Twilio signs
//! them (computed here with the test's own HMAC, not Herald's).

#![allow(dead_code)]

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, KeyInit, Mac};
use serde_json::json;
use sha1::Sha1;
use tokio::sync::mpsc;

pub const ACCOUNT_SID: &str = "AC00000000000000000000000000000001";
pub const AUTH_TOKEN: &str = "fake-twilio-auth-token";

/// How the fake answers the next create-message call.
#[derive(Debug, Clone)]
pub enum Reply {
    /// `201` with a Message resource and a fresh `SM...` sid.
    Created,
    /// Twilio's error body `{code, message, more_info, status}` with `status`.
    Error {
        status: u16,
        code: u32,
        message: &'static str,
    },
    /// Waits this long before answering `Created` (for client timeouts).
    Slow(Duration),
}

impl Reply {
    /// Twilio's answer for a number that replied STOP: `400`, error 21610.
    pub fn unsubscribed() -> Self {
        Reply::Error {
            status: 400,
            code: 21610,
            message: "Attempt to send to unsubscribed recipient",
        }
    }
}

/// One create-message call as Twilio received it.
#[derive(Debug, Clone)]
pub struct Request {
    pub account_sid: String,
    pub headers: HeaderMap,
    pub params: Vec<(String, String)>,
    /// The sid answered, when the call was accepted.
    pub sid: Option<String>,
}

impl Request {
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn all(&self, name: &str) -> Vec<&str> {
        self.params
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .collect()
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

#[derive(Clone)]
struct Shared {
    script: Arc<Mutex<VecDeque<Reply>>>,
    tx: mpsc::UnboundedSender<Request>,
    next_sid: Arc<AtomicU32>,
}

pub struct FakeTwilio {
    /// What Herald's `[text.twilio] base_url` is set to.
    pub base_url: String,
    script: Arc<Mutex<VecDeque<Reply>>>,
    rx: mpsc::UnboundedReceiver<Request>,
    client: reqwest::Client,
}

impl FakeTwilio {
    pub async fn start() -> Self {
        let (tx, rx) = mpsc::unbounded_channel();
        let script = Arc::new(Mutex::new(VecDeque::new()));
        let shared = Shared {
            script: script.clone(),
            tx,
            next_sid: Arc::new(AtomicU32::new(1)),
        };
        let app = Router::new()
            .route(
                "/2010-04-01/Accounts/{sid}/Messages.json",
                post(create_message),
            )
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

    /// The next calls are answered with `replies` in turn, then `Created` again.
    pub fn script(&self, replies: impl IntoIterator<Item = Reply>) {
        self.script.lock().unwrap().extend(replies);
    }

    /// The next create-message call; fails the test if none comes within 10 s.
    pub async fn next_request(&mut self) -> Request {
        tokio::time::timeout(Duration::from_secs(10), self.rx.recv())
            .await
            .expect("a create-message call within 10 s")
            .expect("fake twilio running")
    }

    /// A create-message call already received and not yet taken, if any.
    pub fn try_next_request(&mut self) -> Option<Request> {
        self.rx.try_recv().ok()
    }

    /// Posts a webhook as Twilio does: form-encoded `params` to `target`, signed over
    /// `signed_url` (the URL Twilio was given, which a proxy may map to `target`).
    pub async fn post_signed(
        &self,
        target: &str,
        signed_url: &str,
        params: &[(&str, &str)],
    ) -> reqwest::Response {
        let signature = sign(AUTH_TOKEN, signed_url, params);
        self.post_with_signature(target, params, Some(&signature))
            .await
    }

    /// Posts a webhook with the given signature header (or none).
    pub async fn post_with_signature(
        &self,
        target: &str,
        params: &[(&str, &str)],
        signature: Option<&str>,
    ) -> reqwest::Response {
        let mut request = self.client.post(target).form(params);
        if let Some(signature) = signature {
            request = request.header("X-Twilio-Signature", signature);
        }
        request.send().await.expect("request reaches herald")
    }
}

/// Twilio's webhook signature, written independently of Herald's.
pub fn sign(auth_token: &str, url: &str, params: &[(&str, &str)]) -> String {
    let mut sorted = params.to_vec();
    sorted.sort();
    let mut data = url.to_string();
    for (k, v) in sorted {
        data.push_str(k);
        data.push_str(v);
    }
    let mut mac = <Hmac<Sha1> as KeyInit>::new_from_slice(auth_token.as_bytes()).unwrap();
    mac.update(data.as_bytes());
    STANDARD.encode(mac.finalize().into_bytes())
}

fn error(status: u16, code: u32, message: &str) -> Response {
    let body = json!({
        "code": code,
        "message": message,
        "more_info": format!("https://www.twilio.com/docs/errors/{code}"),
        "status": status,
    });
    (StatusCode::from_u16(status).unwrap(), axum::Json(body)).into_response()
}

async fn create_message(
    State(shared): State<Shared>,
    Path(account_sid): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let params: Vec<(String, String)> = form_urlencoded::parse(&body).into_owned().collect();
    let mut request = Request {
        account_sid: account_sid.clone(),
        headers: headers.clone(),
        params,
        sid: None,
    };
    let expected = format!(
        "Basic {}",
        STANDARD.encode(format!("{ACCOUNT_SID}:{AUTH_TOKEN}"))
    );
    let authorized = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v == expected);
    if !authorized || account_sid != ACCOUNT_SID {
        let _ = shared.tx.send(request);
        return error(401, 20003, "Authenticate");
    }
    let reply = shared
        .script
        .lock()
        .unwrap()
        .pop_front()
        .unwrap_or(Reply::Created);
    let response = match reply {
        Reply::Error {
            status,
            code,
            message,
        } => error(status, code, message),
        Reply::Slow(delay) => {
            tokio::time::sleep(delay).await;
            created(&shared, &mut request)
        }
        Reply::Created => created(&shared, &mut request),
    };
    let _ = shared.tx.send(request);
    response
}

fn created(shared: &Shared, request: &mut Request) -> Response {
    let n = shared.next_sid.fetch_add(1, Ordering::SeqCst);
    let sid = format!("SM{n:032x}");
    request.sid = Some(sid.clone());
    let body = json!({
        "account_sid": ACCOUNT_SID,
        "api_version": "2010-04-01",
        "body": request.param("Body"),
        "direction": "outbound-api",
        "error_code": null,
        "error_message": null,
        "from": request.param("From"),
        "messaging_service_sid": request.param("MessagingServiceSid"),
        "num_media": request.all("MediaUrl").len().to_string(),
        "num_segments": "1",
        "sid": sid,
        "status": "queued",
        "to": request.param("To"),
        "uri": format!("/2010-04-01/Accounts/{ACCOUNT_SID}/Messages/{sid}.json"),
    });
    (StatusCode::CREATED, axum::Json(body)).into_response()
}
