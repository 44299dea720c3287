//! A client's callback endpoint, for tests: a real HTTP server on loopback that answers with a
//! scripted status per request and hands every request to the test through a channel.
//! Signatures are checked here with the test's own HMAC, not with Herald's code.

#![allow(dead_code)]

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, KeyInit, Mac};
use serde_json::Value;
use sha2::Sha256;
use tokio::sync::mpsc;

/// One callback as the client received it.
#[derive(Debug, Clone)]
pub struct Received {
    pub webhook_id: String,
    pub timestamp: String,
    pub signature: String,
    pub raw: String,
    pub body: Value,
    /// The status the receiver answered with.
    pub answered: u16,
}

pub struct Receiver {
    pub url: String,
    rx: mpsc::UnboundedReceiver<Received>,
}

#[derive(Clone)]
struct Script {
    statuses: Arc<Mutex<VecDeque<u16>>>,
    tx: mpsc::UnboundedSender<Received>,
}

impl Receiver {
    /// Answers the given statuses in turn, then `200` to everything.
    pub async fn start(script: &[u16]) -> Self {
        let (tx, rx) = mpsc::unbounded_channel();
        let state = Script {
            statuses: Arc::new(Mutex::new(script.iter().copied().collect())),
            tx,
        };
        let app = Router::new()
            .route("/callback", post(receive))
            .with_state(state);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/callback", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Self { url, rx }
    }

    /// The next callback; fails the test if none comes within 10 s.
    pub async fn next(&mut self) -> Received {
        tokio::time::timeout(Duration::from_secs(10), self.rx.recv())
            .await
            .expect("a callback within 10 s")
            .expect("receiver running")
    }

    /// The next callback answered with a 2xx.
    pub async fn next_delivered(&mut self) -> Received {
        loop {
            let r = self.next().await;
            if (200..300).contains(&r.answered) {
                return r;
            }
        }
    }

    /// Nothing more arrives within `quiet` (for "exactly once" checks after the fact).
    pub async fn assert_quiet(&mut self, quiet: Duration) {
        if let Ok(Some(extra)) = tokio::time::timeout(quiet, self.rx.recv()).await {
            panic!("unexpected extra callback: {}", extra.raw);
        }
    }
}

async fn receive(State(script): State<Script>, headers: HeaderMap, body: Bytes) -> StatusCode {
    let answered = script.statuses.lock().unwrap().pop_front().unwrap_or(200);
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string()
    };
    let raw = String::from_utf8_lossy(&body).to_string();
    let _ = script.tx.send(Received {
        webhook_id: header("webhook-id"),
        timestamp: header("webhook-timestamp"),
        signature: header("webhook-signature"),
        body: serde_json::from_str(&raw).unwrap_or(Value::Null),
        raw,
        answered,
    });
    StatusCode::from_u16(answered).unwrap()
}

/// Standard Webhooks verification, written independently of Herald.
pub fn signature_is_valid(secret: &str, r: &Received) -> bool {
    let key = STANDARD
        .decode(secret.trim_start_matches("whsec_"))
        .expect("secret is base64");
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(&key).unwrap();
    mac.update(format!("{}.{}.{}", r.webhook_id, r.timestamp, r.raw).as_bytes());
    let expected = format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()));
    r.signature.split(' ').any(|s| s == expected)
}
