//! A fake Twilio for tests: the create-message call of the REST API (Basic auth, form body,
//! `201` with the Message resource, Twilio's JSON error bodies) on loopback, each request handed
//! to the test through a channel; the Messages list, over every message it created; and
//! Twilio's side of the webhooks, signed the way Twilio signs them (computed here with the
//! test's own HMAC, not Herald's).

#![allow(dead_code)]

#[path = "fake_twilio_messages.rs"]
mod messages;

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, KeyInit, Mac};
use serde_json::json;
use sha1::Sha1;
use time::OffsetDateTime;
use tokio::sync::mpsc;

pub use messages::{Created, Fetched};

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
    /// Creates the message, then waits this long before answering (for client timeouts).
    Slow(Duration),
    /// Creates the message and never answers: the connection is held until the client gives
    /// up (a hand-over in doubt).
    Hang,
    /// Creates the message, then breaks the connection before any answer (a hand-over in
    /// doubt).
    Disconnect,
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

/// A medium of an inbound MMS: its content type and bytes.
type Medium = (String, Vec<u8>);

#[derive(Clone)]
struct Shared {
    script: Arc<Mutex<VecDeque<Reply>>>,
    tx: mpsc::UnboundedSender<Request>,
    next_sid: Arc<AtomicU32>,
    /// Every message created, oldest first.
    messages: Arc<Mutex<Vec<Created>>>,
    /// The list call answers this HTTP status (an error) while set.
    list_failure: Arc<Mutex<Option<u16>>>,
    /// The query string of each list call, in turn.
    list_queries: Arc<Mutex<Vec<String>>>,
    /// Media URLs starting with the first are fetched from the second instead (the proxy
    /// in front of Herald, seen from Twilio).
    media_via: Arc<Mutex<Option<(String, String)>>>,
    http: reqwest::Client,
    /// Media of inbound MMS, by their `ME...` sid: content type and bytes.
    inbound_media: Arc<Mutex<HashMap<String, Medium>>>,
    next_media: Arc<AtomicU32>,
    /// Every fetch of an inbound medium: `(sid, authorized)`.
    media_fetches: Arc<Mutex<Vec<(String, bool)>>>,
    /// Where the media resources redirect to: another origin, as Twilio's storage is.
    storage_url: Arc<Mutex<String>>,
}

pub struct FakeTwilio {
    /// What Herald's `[text.twilio] base_url` is set to.
    pub base_url: String,
    shared: Shared,
    rx: mpsc::UnboundedReceiver<Request>,
    client: reqwest::Client,
}

impl FakeTwilio {
    pub async fn start() -> Self {
        let (tx, rx) = mpsc::unbounded_channel();
        let shared = Shared {
            script: Arc::default(),
            tx,
            next_sid: Arc::new(AtomicU32::new(1)),
            messages: Arc::default(),
            list_failure: Arc::default(),
            list_queries: Arc::default(),
            media_via: Arc::default(),
            http: reqwest::Client::new(),
            inbound_media: Arc::default(),
            next_media: Arc::new(AtomicU32::new(1)),
            media_fetches: Arc::default(),
            storage_url: Arc::default(),
        };
        let app = Router::new()
            .route(
                "/2010-04-01/Accounts/{sid}/Messages.json",
                post(create_message).get(list_messages),
            )
            .route(
                "/2010-04-01/Accounts/{sid}/Messages/{message}/Media/{media}",
                get(media_resource),
            )
            .with_state(shared.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base_url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        let storage = Router::new()
            .route("/media-store/{media}", get(media_store))
            .with_state(shared.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        *shared.storage_url.lock().unwrap() = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, storage).await.unwrap() });
        Self {
            base_url,
            shared,
            rx,
            client: reqwest::Client::new(),
        }
    }

    /// Every message created so far, oldest first.
    pub fn created(&self) -> Vec<Created> {
        self.shared.messages.lock().unwrap().clone()
    }

    /// How many messages were created per `(To, Body)`: above 1 is a text handed over twice.
    pub fn created_count_by_body(&self) -> HashMap<(String, String), usize> {
        let mut counts = HashMap::new();
        for m in self.shared.messages.lock().unwrap().iter() {
            *counts.entry((m.to.clone(), m.body.clone())).or_default() += 1;
        }
        counts
    }

    /// Moves a created message to `status` (`delivered`, `undelivered`, ...), as the carrier
    /// would.
    pub fn set_status(&self, sid: &str, status: &str) {
        self.with_message(sid, |m| m.set_status(status));
    }

    /// Gives a created message Twilio's error code and message (with `undelivered`/`failed`).
    pub fn set_error(&self, sid: &str, code: u32, message: &str) {
        self.with_message(sid, |m| {
            m.error_code = Some(code);
            m.error_message = Some(message.into());
        });
    }

    fn with_message(&self, sid: &str, change: impl FnOnce(&mut Created)) {
        let mut messages = self.shared.messages.lock().unwrap();
        let m = messages
            .iter_mut()
            .find(|m| m.sid == sid)
            .unwrap_or_else(|| panic!("the fake created no message {sid}"));
        change(m);
    }

    /// Media URLs that start with `public` are fetched from `actual` instead: Herald's
    /// `public_base_url` and the address the test reaches it at.
    pub fn fetch_media_via(&self, public: &str, actual: &str) {
        *self.shared.media_via.lock().unwrap() = Some((public.into(), actual.into()));
    }

    /// Keeps `bytes` as the medium of an inbound MMS and answers its `MediaUrl`, as Twilio's
    /// inbound webhook gives it: under the account's Messages, answered with the account's
    /// credentials by a redirect to the file's storage (which asks for none).
    pub fn add_inbound_media(&self, content_type: &str, bytes: &[u8]) -> String {
        let n = self.shared.next_media.fetch_add(1, Ordering::SeqCst);
        let sid = format!("ME{n:032x}");
        self.shared
            .inbound_media
            .lock()
            .unwrap()
            .insert(sid.clone(), (content_type.into(), bytes.to_vec()));
        format!(
            "{}/2010-04-01/Accounts/{ACCOUNT_SID}/Messages/MM{n:032x}/Media/{sid}",
            self.base_url
        )
    }

    /// Each fetch of an inbound medium's `MediaUrl`: `(ME sid, with the account's credentials)`.
    pub fn media_fetches(&self) -> Vec<(String, bool)> {
        self.shared.media_fetches.lock().unwrap().clone()
    }

    /// While `Some(status)`, the list call answers that HTTP error (Twilio's error body).
    pub fn fail_list(&self, status: Option<u16>) {
        *self.shared.list_failure.lock().unwrap() = status;
    }

    /// The query parameters of each list call (one per page asked for), in turn.
    pub fn list_calls(&self) -> Vec<Vec<(String, String)>> {
        let queries = self.shared.list_queries.lock().unwrap();
        queries
            .iter()
            .map(|q| form_urlencoded::parse(q.as_bytes()).into_owned().collect())
            .collect()
    }

    /// The next calls are answered with `replies` in turn, then `Created` again.
    pub fn script(&self, replies: impl IntoIterator<Item = Reply>) {
        self.shared.script.lock().unwrap().extend(replies);
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

fn authorized(account_sid: &str, headers: &HeaderMap) -> bool {
    let expected = format!(
        "Basic {}",
        STANDARD.encode(format!("{ACCOUNT_SID}:{AUTH_TOKEN}"))
    );
    account_sid == ACCOUNT_SID
        && headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v == expected)
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
    if !authorized(&account_sid, &headers) {
        let _ = shared.tx.send(request);
        return error(401, 20003, "Authenticate");
    }
    let reply = shared
        .script
        .lock()
        .unwrap()
        .pop_front()
        .unwrap_or(Reply::Created);
    if let Reply::Error {
        status,
        code,
        message,
    } = reply
    {
        let _ = shared.tx.send(request);
        return error(status, code, message);
    }
    let urls: Vec<String> = request
        .all("MediaUrl")
        .into_iter()
        .map(str::to_string)
        .collect();
    if request.param("Body").is_none_or(str::is_empty) && urls.is_empty() {
        let _ = shared.tx.send(request);
        return error(400, 21602, "Message body is required.");
    }
    if urls.len() > 10 {
        let _ = shared.tx.send(request);
        return error(400, 21623, "Number of media files exceeds allowed limit");
    }
    let mut media = Vec::with_capacity(urls.len());
    for url in urls {
        media.push(fetch(&shared, url).await);
    }
    let resource = create(&shared, &mut request, media);
    let _ = shared.tx.send(request);
    match reply {
        Reply::Slow(delay) => tokio::time::sleep(delay).await,
        Reply::Hang => return std::future::pending().await,
        // The head is never flushed: hyper drops a connection whose body fails before it
        // has written anything, so the client sees the connection close with no answer.
        Reply::Disconnect => {
            let broken = futures_util::stream::once(async {
                Err::<Bytes, _>(std::io::Error::other("connection dropped by the fake"))
            });
            return (StatusCode::CREATED, Body::from_stream(broken)).into_response();
        }
        Reply::Created | Reply::Error { .. } => {}
    }
    (StatusCode::CREATED, axum::Json(resource)).into_response()
}

/// Fetches one `MediaUrl` as Twilio does: a plain GET, no credentials.
async fn fetch(shared: &Shared, url: String) -> Fetched {
    let via = shared.media_via.lock().unwrap().clone();
    let target = match via {
        Some((public, actual)) if url.starts_with(&public) => {
            format!("{actual}{}", &url[public.len()..])
        }
        _ => url.clone(),
    };
    match shared.http.get(&target).send().await {
        Ok(r) => Fetched {
            url,
            status: r.status().as_u16(),
            content_type: r
                .headers()
                .get("content-type")
                .and_then(|v| v.to_str().ok())
                .map(str::to_string),
            bytes: r.bytes().await.map(|b| b.to_vec()).unwrap_or_default(),
        },
        Err(_) => Fetched {
            url,
            status: 0,
            content_type: None,
            bytes: Vec::new(),
        },
    }
}

/// Keeps the message the call creates and answers its resource.
fn create(shared: &Shared, request: &mut Request, media: Vec<Fetched>) -> serde_json::Value {
    let n = shared.next_sid.fetch_add(1, Ordering::SeqCst);
    let sid = format!("SM{n:032x}");
    request.sid = Some(sid.clone());
    let now = OffsetDateTime::now_utc();
    let message = Created {
        sid,
        to: request.param("To").unwrap_or_default().into(),
        from: request.param("From").map(str::to_string),
        messaging_service_sid: request.param("MessagingServiceSid").map(str::to_string),
        body: request.param("Body").unwrap_or_default().into(),
        num_media: request.all("MediaUrl").len(),
        media,
        status: "queued".into(),
        error_code: None,
        error_message: None,
        date_created: now,
        date_updated: now,
        date_sent: None,
    };
    let resource = message.resource();
    shared.messages.lock().unwrap().push(message);
    resource
}

async fn list_messages(
    State(shared): State<Shared>,
    Path(account_sid): Path<String>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let query = query.unwrap_or_default();
    shared.list_queries.lock().unwrap().push(query.clone());
    if !authorized(&account_sid, &headers) {
        return error(401, 20003, "Authenticate");
    }
    if let Some(status) = *shared.list_failure.lock().unwrap() {
        return error(status, 20500, "Internal Server Error");
    }
    let messages = shared.messages.lock().unwrap();
    let page = messages::page(&messages, &query);
    axum::Json(page).into_response()
}

/// A media resource: with the account's credentials, a `307` to the file's storage.
async fn media_resource(
    State(shared): State<Shared>,
    Path((account_sid, _message, media)): Path<(String, String, String)>,
    headers: HeaderMap,
) -> Response {
    let ok = authorized(&account_sid, &headers);
    shared
        .media_fetches
        .lock()
        .unwrap()
        .push((media.clone(), ok));
    if !ok {
        return error(401, 20003, "Authenticate");
    }
    if !shared.inbound_media.lock().unwrap().contains_key(&media) {
        return error(404, 20404, "The requested resource was not found");
    }
    (
        StatusCode::TEMPORARY_REDIRECT,
        [(
            "location",
            format!("{}/media-store/{media}", shared.storage_url.lock().unwrap()),
        )],
    )
        .into_response()
}

/// The file's storage, as a presigned URL answers: no credentials asked, none to be sent.
async fn media_store(
    State(shared): State<Shared>,
    Path(media): Path<String>,
    headers: HeaderMap,
) -> Response {
    if headers.contains_key("authorization") {
        return (StatusCode::BAD_REQUEST, "credentials followed the redirect").into_response();
    }
    match shared.inbound_media.lock().unwrap().get(&media) {
        Some((kind, bytes)) => ([("content-type", kind.clone())], bytes.clone()).into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}
