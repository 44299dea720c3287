//! What Herald talks to during a benchmark, inside the bench process: a fake Twilio that
//! answers every create-message call `201` with a fresh sid (once it has fetched the MMS's
//! media, as Twilio does, when the call names any), and a callback receiver
//! that notes when each message's `SENT` callback arrived. Also the no-op endpoint that sets
//! the ceiling (run in a child process of its own, like Herald).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde_json::{Value, json};

pub const ACCOUNT_SID: &str = "AC00000000000000000000000000000b01";
pub const AUTH_TOKEN: &str = "bench-twilio-auth-token";

/// The fake Twilio's create-message endpoint; `base_url` is Herald's `[text.twilio] base_url`.
pub struct FakeTwilio {
    pub base_url: String,
    herald: Arc<Mutex<String>>,
}

/// Herald's `public_base_url` in a benchmark; the fake Twilio fetches media URLs under it
/// from the Herald running now ([`FakeTwilio::fetch_media_from`]).
pub const PUBLIC_BASE_URL: &str = "http://herald.bench";

impl FakeTwilio {
    pub async fn start() -> anyhow::Result<Self> {
        let herald = Arc::new(Mutex::new(String::new()));
        let state = Twilio {
            calls: Arc::new(AtomicU64::new(0)),
            http: reqwest::Client::new(),
            herald: herald.clone(),
        };
        let app = Router::new()
            .route(
                "/2010-04-01/Accounts/{sid}/Messages.json",
                post(create_message),
            )
            .with_state(state);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let base_url = format!("http://{}", listener.local_addr()?);
        tokio::spawn(async move { axum::serve(listener, app).await });
        Ok(Self { base_url, herald })
    }

    /// Media URLs under [`PUBLIC_BASE_URL`] are fetched from `url`, the Herald measured now.
    pub fn fetch_media_from(&self, url: &str) {
        *self.herald.lock().unwrap() = url.to_string();
    }
}

#[derive(Clone)]
struct Twilio {
    calls: Arc<AtomicU64>,
    http: reqwest::Client,
    herald: Arc<Mutex<String>>,
}

async fn create_message(State(twilio): State<Twilio>, body: Bytes) -> Response {
    let n = twilio.calls.fetch_add(1, Ordering::Relaxed) + 1;
    let media: Vec<String> = form_urlencoded::parse(&body)
        .filter(|(k, _)| k == "MediaUrl")
        .map(|(_, v)| v.into_owned())
        .collect();
    for url in &media {
        let url = match url.strip_prefix(PUBLIC_BASE_URL) {
            Some(rest) => format!("{}{rest}", twilio.herald.lock().unwrap()),
            None => url.clone(),
        };
        let fetched = match twilio.http.get(&url).send().await {
            Ok(r) if r.status().is_success() => r.bytes().await.is_ok(),
            _ => false,
        };
        if !fetched {
            return (
                StatusCode::BAD_REQUEST,
                axum::Json(json!({
                    "code": 11200, "message": "HTTP retrieval failure", "status": 400
                })),
            )
                .into_response();
        }
    }
    let param = |name: &str| {
        form_urlencoded::parse(&body)
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
    };
    let sid = format!("SM{n:032x}");
    let body = json!({
        "account_sid": ACCOUNT_SID,
        "api_version": "2010-04-01",
        "body": param("Body"),
        "direction": "outbound-api",
        "error_code": null,
        "error_message": null,
        "from": param("From"),
        "messaging_service_sid": null,
        "num_media": media.len().to_string(),
        "num_segments": "1",
        "sid": sid,
        "status": "queued",
        "to": param("To"),
        "uri": format!("/2010-04-01/Accounts/{ACCOUNT_SID}/Messages/{sid}.json"),
    });
    (StatusCode::CREATED, axum::Json(body)).into_response()
}

/// The client's callback endpoint: the arrival time of each message's `SENT` callback.
#[derive(Clone, Default)]
pub struct Callbacks {
    pub sent: Arc<Mutex<HashMap<String, Instant>>>,
    pub total: Arc<AtomicU64>,
}

pub struct Receiver {
    pub url: String,
    pub callbacks: Callbacks,
}

impl Receiver {
    pub async fn start() -> anyhow::Result<Self> {
        let callbacks = Callbacks::default();
        let app = Router::new()
            .route("/callback", post(receive))
            .with_state(callbacks.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let url = format!("http://{}/callback", listener.local_addr()?);
        tokio::spawn(async move { axum::serve(listener, app).await });
        Ok(Self { url, callbacks })
    }
}

async fn receive(State(callbacks): State<Callbacks>, body: Bytes) -> StatusCode {
    let arrived = Instant::now();
    callbacks.total.fetch_add(1, Ordering::Relaxed);
    let Ok(body) = serde_json::from_slice::<Value>(&body) else {
        return StatusCode::BAD_REQUEST;
    };
    if body["messageStatus"] == "SENT"
        && let Some(uuid) = body["messageUUID"].as_str()
    {
        callbacks
            .sent
            .lock()
            .expect("callback map")
            .entry(uuid.to_string())
            .or_insert(arrived);
    }
    StatusCode::OK
}

/// The ceiling: the same route shape as Herald's send, which parses the JSON body and stores
/// nothing. Serves until the process is killed; prints its address on stdout first.
pub async fn serve_noop() -> anyhow::Result<()> {
    let app = Router::new().route(
        "/communications/department/{department}/user/{user}/customer/{customer}/message",
        post(noop_send),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    println!("{}", listener.local_addr()?);
    axum::serve(listener, app).await?;
    Ok(())
}

async fn noop_send(body: Bytes) -> Response {
    match serde_json::from_slice::<Value>(&body) {
        Ok(value) if value.is_object() => (
            StatusCode::OK,
            axum::Json(json!({"status": "SUCCESS", "errors": [], "warnings": []})),
        )
            .into_response(),
        _ => StatusCode::BAD_REQUEST.into_response(),
    }
}
