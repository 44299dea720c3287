//! Herald recovers from storage faults by itself (SPEC 8), tried on the real `herald serve`:
//! a SQLite database on a full disk (a small tmpfs), and a PostgreSQL server stopped and
//! started again (a private server of the test's own; the shared one is never touched).
//! Throughout, a send Herald cannot store is `503` with `Retry-After` and keeps nothing,
//! `/readyz` says whether writes land, and once they can again, sends succeed and every
//! accepted message is delivered, without a restart.

#[path = "support/herald_node.rs"]
mod herald_node;
#[path = "support/pg_cluster.rs"]
mod pg_cluster;
#[path = "support/tmpfs.rs"]
mod tmpfs;

use std::collections::HashSet;
use std::time::{Duration, Instant};

use reqwest::{Client, StatusCode};
use serde_json::{Value, json};

use herald_node::{ADMIN, Node, Tenant};

/// How long Herald may take to say ready again, and to deliver, once writes can land.
const PATIENCE: Duration = Duration::from_secs(30);
/// How often `/readyz` and the outbox are looked at while waiting.
const POLL: Duration = Duration::from_millis(100);

fn text(v: &Value, pointer: &str) -> String {
    v.pointer(pointer)
        .and_then(Value::as_str)
        .unwrap_or_else(|| panic!("{pointer} in {v}"))
        .to_string()
}

/// John Doe, the one customer every send goes to.
async fn tenant(client: &Client, node: &Node) -> Tenant {
    let john = json!({"firstName": "John", "lastName": "Doe",
        "phoneNumbers": [{"phoneNumber": "1234567890"}]});
    node.tenant(client, vec![john]).await
}

/// One answer to a send.
struct Sent {
    status: StatusCode,
    retry_after: Option<String>,
    body: Value,
}

impl Sent {
    fn message_uuid(&self) -> String {
        text(&self.body, "/messageUUID")
    }

    /// The answer to a request Herald could not store: `503`, `Retry-After` a few seconds,
    /// and the seed's error shape with `INTERNAL_SERVER_ERROR`.
    fn assert_refused_for_now(&self) {
        assert_eq!(
            self.status,
            StatusCode::SERVICE_UNAVAILABLE,
            "{}",
            self.body
        );
        let seconds: u64 = self
            .retry_after
            .as_deref()
            .expect("a Retry-After header")
            .parse()
            .expect("Retry-After in seconds");
        assert!((1..=30).contains(&seconds), "Retry-After: {seconds}");
        assert!(self.body["requestUUID"].is_string(), "{}", self.body);
        assert!(self.body["warnings"].is_array(), "{}", self.body);
        let errors = self.body["errors"].as_array().expect("errors[]");
        assert_eq!(errors.len(), 1, "{}", self.body);
        assert_eq!(errors[0]["errorCode"], "INTERNAL_SERVER_ERROR");
        assert!(errors[0]["errorUID"].is_string(), "{}", self.body);
        assert!(self.body.get("messageUUID").is_none(), "{}", self.body);
    }
}

/// Sends one asynchronous text of `body_len` characters.
async fn send(client: &Client, base: &str, t: &Tenant, body_len: usize) -> Sent {
    let body = json!({
        "messageAttributes": {"body": "x".repeat(body_len), "isManual": false,
            "protocol": "TEXT", "type": "OUTGOING"},
        "messageSendingAttributes": {"addTCPAFooter": false}
    });
    let response = client
        .post(format!(
            "{}/communications/department/{}/user/{}/customer/{}/message",
            base, t.department, t.user, t.customers[0]
        ))
        .basic_auth(&t.username, Some(&t.password))
        .json(&body)
        .send()
        .await
        .expect("Herald answers");
    let status = response.status();
    let retry_after = response
        .headers()
        .get(reqwest::header::RETRY_AFTER)
        .map(|v| v.to_str().unwrap().to_string());
    let body = response.json().await.expect("a JSON answer");
    Sent {
        status,
        retry_after,
        body,
    }
}

async fn readyz(client: &Client, base: &str) -> StatusCode {
    client
        .get(format!("{base}/readyz"))
        .send()
        .await
        .expect("Herald answers /readyz")
        .status()
}

/// Polls `/readyz` until it answers `want`; panics after `patience`.
async fn readyz_becomes(client: &Client, base: &str, want: StatusCode, patience: Duration) {
    let started = Instant::now();
    loop {
        let got = readyz(client, base).await;
        if got == want {
            return;
        }
        assert!(
            started.elapsed() < patience,
            "/readyz still {got}, not {want}, after {patience:?}"
        );
        tokio::time::sleep(POLL).await;
    }
}

/// Every message Herald keeps in the customer's thread.
async fn thread(client: &Client, base: &str, t: &Tenant) -> HashSet<String> {
    let mut uuids = HashSet::new();
    let mut url = reqwest::Url::parse(&format!(
        "{base}/communications/department/{}/customer/{}/messages?pageSize=200",
        t.department, t.customers[0]
    ))
    .unwrap();
    loop {
        let page: Value = client
            .get(url.clone())
            .basic_auth(&t.username, Some(&t.password))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let messages = page["messages"].as_array().expect("messages[]");
        uuids.extend(messages.iter().map(|m| text(m, "/messageUUID")));
        match page["nextPageToken"].as_str() {
            Some(next) => {
                url.query_pairs_mut()
                    .clear()
                    .append_pair("pageSize", "200")
                    .append_pair("pageToken", next);
            }
            None => return uuids,
        }
    }
}

/// Waits until the outbox provider has handed over every one of `uuids`.
async fn delivered_within(client: &Client, base: &str, uuids: &[String], patience: Duration) {
    let started = Instant::now();
    loop {
        let outbox: Value = client
            .get(format!("{base}/dev/outbox?limit=1000"))
            .bearer_auth(ADMIN)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let sent: HashSet<String> = outbox["messages"]
            .as_array()
            .map(|ms| ms.iter().map(|m| text(m, "/messageUUID")).collect())
            .unwrap_or_default();
        let missing = uuids.iter().filter(|u| !sent.contains(*u)).count();
        if missing == 0 {
            return;
        }
        assert!(
            started.elapsed() < patience,
            "{missing} of {} accepted messages not delivered after {patience:?}",
            uuids.len()
        );
        tokio::time::sleep(POLL).await;
    }
}

/// Sends `count` texts that must all be accepted; their message UUIDs.
async fn accepted(client: &Client, base: &str, t: &Tenant, count: usize) -> Vec<String> {
    let mut uuids = Vec::with_capacity(count);
    for _ in 0..count {
        let sent = send(client, base, t, 160).await;
        assert_eq!(sent.status, StatusCode::OK, "{}", sent.body);
        uuids.push(sent.message_uuid());
    }
    uuids
}

/// `herald serve` with the outbox providers. A delivery whose result could not be written
/// during the fault is tried again after its retry delay, or once its lease runs out: both are
/// short, so the test sees it delivered within seconds.
async fn start(database_url: &str) -> Node {
    Node::start(
        database_url,
        &[(
            "HERALD_DELIVERY__RETRY_SCHEDULE_SECONDS",
            "[1, 1, 1, 1, 1, 1, 1, 1, 1, 1]",
        )],
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_on_a_full_disk_refuses_sends_then_recovers_once_space_returns() {
    let Some(disk) = tmpfs::Tmpfs::mount(8 * 1024) else {
        return;
    };
    let started = Instant::now();
    let url = format!("sqlite://{}", disk.path().join("herald.db").display());
    let server = start(&url).await;
    let client = Client::new();
    let t = tenant(&client, &server).await;
    let mut kept = accepted(&client, &server.url, &t, 5).await;
    assert_eq!(readyz(&client, &server.url).await, StatusCode::OK);

    let filler = disk.fill();
    let refused = loop {
        let sent = send(&client, &server.url, &t, 1500).await;
        match sent.status {
            StatusCode::OK => kept.push(sent.message_uuid()),
            _ => break sent,
        }
        assert!(kept.len() < 900, "a full disk never refused a send");
    };
    refused.assert_refused_for_now();
    let accepted_while_filling = kept.len() - 5;
    readyz_becomes(
        &client,
        &server.url,
        StatusCode::SERVICE_UNAVAILABLE,
        PATIENCE,
    )
    .await;
    let full_for = Instant::now();

    filler.free();
    readyz_becomes(&client, &server.url, StatusCode::OK, PATIENCE).await;
    let ready_after = full_for.elapsed();
    kept.extend(accepted(&client, &server.url, &t, 5).await);
    assert_eq!(
        thread(&client, &server.url, &t).await,
        kept.iter().cloned().collect::<HashSet<_>>(),
        "every accepted send is kept, and nothing of a refused one"
    );
    delivered_within(&client, &server.url, &kept, PATIENCE).await;
    eprintln!(
        "sqlite disk full: {accepted_while_filling} accepted after the filler; ready again \
         {ready_after:?} after space returned; {:?} in all",
        started.elapsed()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_stopped_and_started_refuses_sends_then_recovers_by_itself() {
    /// How long the server stays down at least. It stays down until the send made at the
    /// stop has been answered too: a send waits for a connection before it is refused (one
    /// pool timeout, and today a second one when the batch is retried message by message),
    /// and a server back meanwhile would rightly accept it.
    const OUTAGE: Duration = Duration::from_secs(10);
    let Some(cluster) = pg_cluster::Cluster::start() else {
        return;
    };
    let started = Instant::now();
    let server = start(&cluster.url()).await;
    let client = Client::new();
    let t = tenant(&client, &server).await;
    let mut kept = accepted(&client, &server.url, &t, 5).await;
    assert_eq!(readyz(&client, &server.url).await, StatusCode::OK);

    cluster.stop();
    let stopped = Instant::now();
    let sending = tokio::spawn({
        let (client, base, t) = (client.clone(), server.url.clone(), t.clone());
        async move { send(&client, &base, &t, 160).await }
    });
    readyz_becomes(
        &client,
        &server.url,
        StatusCode::SERVICE_UNAVAILABLE,
        OUTAGE,
    )
    .await;
    let refused = sending.await.unwrap();
    refused.assert_refused_for_now();
    let refused_after = stopped.elapsed();
    tokio::time::sleep_until((stopped + OUTAGE).into()).await;
    cluster.resume().unwrap();
    let down_for = stopped.elapsed();

    readyz_becomes(&client, &server.url, StatusCode::OK, PATIENCE).await;
    let ready_after = stopped.elapsed() - down_for;
    kept.extend(accepted(&client, &server.url, &t, 5).await);
    assert_eq!(
        thread(&client, &server.url, &t).await,
        kept.iter().cloned().collect::<HashSet<_>>(),
        "every accepted send is kept, and nothing of a refused one"
    );
    delivered_within(&client, &server.url, &kept, PATIENCE).await;
    eprintln!(
        "postgres stop/start: a send refused {refused_after:?} after the stop; down for \
         {down_for:?}; ready again {ready_after:?} after the restart; {:?} in all",
        started.elapsed()
    );
}
