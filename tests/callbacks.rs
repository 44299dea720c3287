//! The callback sender against a real HTTP receiver: signing, how each answer is classified,
//! redirects not followed, timeouts, and the address guard.

use std::net::SocketAddr;
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use herald::callbacks::sender::{AttemptOutcome, CallbackSender};
use sha2::{Digest, Sha256};
use tokio::net::TcpListener;
use tokio::sync::mpsc;

const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const WEBHOOK_ID: &str = "msg_2mGv8R9Jrj3sQ1aK0fXcWd7bLp";
const TIMESTAMP: i64 = 1_700_000_000;
const BODY: &[u8] =
    br#"{"messageUUID":"0190a6f8-1c2b-7a3d-9e4f-5a6b7c8d9e0f","messageStatus":"DELIVERED"}"#;
const TIMEOUT: Duration = Duration::from_millis(300);

/// One request as the receiver saw it.
#[derive(Debug)]
struct Received {
    path: String,
    headers: HeaderMap,
    body: Bytes,
}

/// A callback receiver on 127.0.0.1 whose answer depends on the path:
/// `/status/{code}`, `/retry-after` (429, `Retry-After: 7`), `/redirect` (302 to `/target`),
/// `/slow` (answers long after the sender's timeout). Every request is recorded first.
struct Receiver {
    port: u16,
    requests: mpsc::UnboundedReceiver<Received>,
}

impl Receiver {
    async fn spawn() -> Self {
        let (tx, requests) = mpsc::unbounded_channel();
        let app = Router::new().fallback(answer).with_state(tx);
        // Bound before the server task starts, so the first request cannot race it.
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the receiver");
        let port = listener.local_addr().expect("receiver address").port();
        tokio::spawn(async move { axum::serve(listener, app).await });
        Self { port, requests }
    }

    fn url(&self, host: &str, path: &str) -> String {
        format!("http://{host}:{}{path}", self.port)
    }

    /// The one request the last attempt made; the attempt has finished, so anything it sent
    /// is already in the channel.
    fn only_request(&mut self) -> Received {
        let request = self
            .requests
            .try_recv()
            .expect("the receiver got a request");
        self.assert_nothing_more();
        request
    }

    fn assert_nothing_more(&mut self) {
        if let Ok(extra) = self.requests.try_recv() {
            panic!("unexpected request to {}", extra.path);
        }
    }
}

async fn answer(
    State(tx): State<mpsc::UnboundedSender<Received>>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = uri.path().to_owned();
    let _ = tx.send(Received {
        path: path.clone(),
        headers,
        body,
    });
    match path.as_str() {
        "/retry-after" => {
            (StatusCode::TOO_MANY_REQUESTS, [(header::RETRY_AFTER, "7")]).into_response()
        }
        "/redirect" => (StatusCode::FOUND, [(header::LOCATION, "/target")]).into_response(),
        "/slow" => {
            tokio::time::sleep(TIMEOUT * 10).await;
            StatusCode::OK.into_response()
        }
        other => other
            .strip_prefix("/status/")
            .and_then(|code| code.parse::<u16>().ok())
            .and_then(|code| StatusCode::from_u16(code).ok())
            .unwrap_or(StatusCode::OK)
            .into_response(),
    }
}

/// HMAC-SHA256 written out (RFC 2104) so the test does not trust the code it is testing.
fn hmac_sha256(key: &[u8], message: &[u8]) -> Vec<u8> {
    const BLOCK: usize = 64;
    let mut block_key = [0u8; BLOCK];
    if key.len() > BLOCK {
        let digest = Sha256::digest(key);
        block_key[..digest.len()].copy_from_slice(&digest);
    } else {
        block_key[..key.len()].copy_from_slice(key);
    }
    let inner_pad: Vec<u8> = block_key.iter().map(|b| b ^ 0x36).collect();
    let outer_pad: Vec<u8> = block_key.iter().map(|b| b ^ 0x5c).collect();
    let inner = Sha256::new()
        .chain_update(&inner_pad)
        .chain_update(message)
        .finalize();
    Sha256::new()
        .chain_update(&outer_pad)
        .chain_update(inner)
        .finalize()
        .to_vec()
}

fn expected_signature(id: &str, timestamp: &str, body: &[u8]) -> String {
    let key = STANDARD
        .decode(SECRET.trim_start_matches("whsec_"))
        .expect("test secret is base64");
    let mut message = format!("{id}.{timestamp}.").into_bytes();
    message.extend_from_slice(body);
    format!("v1,{}", STANDARD.encode(hmac_sha256(&key, &message)))
}

fn header<'a>(request: &'a Received, name: &str) -> &'a str {
    request
        .headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_else(|| panic!("missing header {name}"))
}

fn sender(allow_private_networks: bool) -> CallbackSender {
    CallbackSender::new(TIMEOUT, allow_private_networks).expect("build the sender")
}

async fn send(sender: &CallbackSender, url: &str) -> AttemptOutcome {
    sender.send(url, WEBHOOK_ID, TIMESTAMP, BODY, SECRET).await
}

fn assert_final_refusal(outcome: &AttemptOutcome) {
    match outcome {
        AttemptOutcome::Final { detail } => assert!(detail.contains("refused"), "{detail}"),
        other => panic!("expected a final refusal, got {other:?}"),
    }
}

#[test]
fn the_test_hmac_matches_the_standard_webhooks_vector() {
    assert_eq!(
        expected_signature(
            "msg_p5jXN8AQM9LWM0D4loKWxJek",
            "1614265330",
            br#"{"test": 2432232314}"#
        ),
        "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
    );
}

#[tokio::test]
async fn a_2xx_is_delivered_with_signed_standard_webhooks_headers() {
    let mut receiver = Receiver::spawn().await;

    let outcome = send(&sender(true), &receiver.url("127.0.0.1", "/status/200")).await;

    assert_eq!(outcome, AttemptOutcome::Delivered { status: 200 });
    let request = receiver.only_request();
    assert_eq!(request.body.as_ref(), BODY);
    assert_eq!(header(&request, "content-type"), "application/json");
    assert_eq!(header(&request, "webhook-id"), WEBHOOK_ID);
    assert_eq!(header(&request, "webhook-timestamp"), TIMESTAMP.to_string());
    assert!(header(&request, "user-agent").starts_with("herald/"));
    let timestamp = header(&request, "webhook-timestamp");
    assert_eq!(
        header(&request, "webhook-signature"),
        expected_signature(WEBHOOK_ID, timestamp, &request.body)
    );
}

#[tokio::test]
async fn any_2xx_counts_as_delivered() {
    let mut receiver = Receiver::spawn().await;

    let outcome = send(&sender(true), &receiver.url("127.0.0.1", "/status/204")).await;

    assert_eq!(outcome, AttemptOutcome::Delivered { status: 204 });
    receiver.only_request();
}

#[tokio::test]
async fn a_500_is_retried() {
    let mut receiver = Receiver::spawn().await;

    let outcome = send(&sender(true), &receiver.url("127.0.0.1", "/status/500")).await;

    assert_eq!(
        outcome,
        AttemptOutcome::Retry {
            detail: "HTTP 500".to_owned(),
            retry_after: None
        }
    );
    receiver.only_request();
}

#[tokio::test]
async fn a_408_is_retried() {
    let receiver = Receiver::spawn().await;

    let outcome = send(&sender(true), &receiver.url("127.0.0.1", "/status/408")).await;

    assert!(
        matches!(outcome, AttemptOutcome::Retry { .. }),
        "{outcome:?}"
    );
}

#[tokio::test]
async fn a_429_is_retried_after_the_delay_it_asks_for() {
    let mut receiver = Receiver::spawn().await;

    let outcome = send(&sender(true), &receiver.url("127.0.0.1", "/retry-after")).await;

    assert_eq!(
        outcome,
        AttemptOutcome::Retry {
            detail: "HTTP 429".to_owned(),
            retry_after: Some(Duration::from_secs(7))
        }
    );
    receiver.only_request();
}

#[tokio::test]
async fn a_404_is_final() {
    let mut receiver = Receiver::spawn().await;

    let outcome = send(&sender(true), &receiver.url("127.0.0.1", "/status/404")).await;

    assert_eq!(
        outcome,
        AttemptOutcome::Final {
            detail: "HTTP 404".to_owned()
        }
    );
    receiver.only_request();
}

#[tokio::test]
async fn a_redirect_is_final_and_never_followed() {
    let mut receiver = Receiver::spawn().await;

    let outcome = send(&sender(true), &receiver.url("127.0.0.1", "/redirect")).await;

    assert!(
        matches!(outcome, AttemptOutcome::Final { .. }),
        "{outcome:?}"
    );
    assert_eq!(receiver.only_request().path, "/redirect");
}

#[tokio::test]
async fn a_receiver_slower_than_the_timeout_is_retried() {
    let mut receiver = Receiver::spawn().await;

    let outcome = send(&sender(true), &receiver.url("127.0.0.1", "/slow")).await;

    match outcome {
        AttemptOutcome::Retry {
            detail,
            retry_after: None,
        } => assert!(detail.contains("timed out"), "{detail}"),
        other => panic!("expected a retry, got {other:?}"),
    }
    assert_eq!(receiver.only_request().path, "/slow");
}

#[tokio::test]
async fn a_refused_connection_is_retried() {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr: SocketAddr = listener.local_addr().expect("address");
    drop(listener);

    let outcome = send(&sender(true), &format!("http://{addr}/cb")).await;

    assert!(
        matches!(outcome, AttemptOutcome::Retry { .. }),
        "{outcome:?}"
    );
}

#[tokio::test]
async fn unusable_urls_are_final() {
    let sender = sender(true);
    for url in ["not a url", "ftp://127.0.0.1/cb", "file:///etc/passwd"] {
        let outcome = send(&sender, url).await;
        assert!(
            matches!(outcome, AttemptOutcome::Final { .. }),
            "{url}: {outcome:?}"
        );
    }
}

#[tokio::test]
async fn the_guard_refuses_a_loopback_ip_literal() {
    let mut receiver = Receiver::spawn().await;
    let guarded = sender(false);

    for host in ["127.0.0.1", "[::ffff:127.0.0.1]"] {
        let outcome = send(&guarded, &receiver.url(host, "/status/200")).await;
        assert_final_refusal(&outcome);
    }
    receiver.assert_nothing_more();
}

#[tokio::test]
async fn the_guard_refuses_a_name_that_resolves_to_loopback() {
    let mut receiver = Receiver::spawn().await;

    let outcome = send(&sender(false), &receiver.url("localhost", "/status/200")).await;

    assert_final_refusal(&outcome);
    receiver.assert_nothing_more();
}

#[tokio::test]
async fn allowing_private_networks_lifts_the_guard() {
    let mut receiver = Receiver::spawn().await;
    let open = sender(true);

    for host in ["127.0.0.1", "localhost"] {
        let outcome = send(&open, &receiver.url(host, "/status/200")).await;
        assert_eq!(outcome, AttemptOutcome::Delivered { status: 200 }, "{host}");
        receiver.only_request();
    }
}
