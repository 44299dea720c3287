//! Never sent twice, never lost (SPEC 6): `herald serve` under load is killed with SIGKILL ten
//! times, on SQLite and on PostgreSQL, sending through the Twilio fake and through the
//! Postmark fake, each of which counts what it was handed. Every kill leaves hand-overs whose
//! outcome Herald never recorded; the next node must ask the provider (Twilio's Messages list,
//! Postmark's outbound search) instead of sending them again.
//!
//! Counted: messages accepted (`200` with a messageUUID), lost (accepted, never handed over),
//! handed over more than once, and accepted messages never called back `SENT`. All but the
//! first must be 0, and at least one hand-over must have been in doubt (else the run proved
//! nothing).

#[path = "support/fake_postmark.rs"]
mod fake_postmark;
#[path = "support/fake_twilio.rs"]
mod fake_twilio;
#[path = "support/herald_node.rs"]
mod herald_node;
#[path = "support/postgres.rs"]
mod postgres_support;
#[path = "api/receiver.rs"]
mod receiver;

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use reqwest::Client;
use serde_json::{Value, json};
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use herald_node::{Node, Tenant};
use receiver::Receiver;

const KILLS: usize = 10;
const CLIENTS: usize = 16;
/// Enough recipients that no one number's list of recent texts gets long.
const CUSTOMERS: usize = 100;
/// A little latency at the provider, so kills land while hand-overs are in flight.
const PROVIDER_LATENCY: Duration = Duration::from_millis(15);
/// How long the last node gets to take over the killed nodes' work and finish it.
const DRAIN: Duration = Duration::from_secs(120);

#[derive(Clone, Copy, Debug)]
enum Provider {
    Twilio,
    Postmark,
}

/// The provider's fake, and what it was handed per text token ("crash <n>").
enum Fake {
    Twilio(fake_twilio::FakeTwilio),
    Postmark(fake_postmark::FakePostmark),
}

impl Fake {
    async fn start(provider: Provider) -> Fake {
        match provider {
            Provider::Twilio => {
                let twilio = fake_twilio::FakeTwilio::start().await;
                twilio.script(std::iter::repeat_n(
                    fake_twilio::Reply::Slow(PROVIDER_LATENCY),
                    200_000,
                ));
                Fake::Twilio(twilio)
            }
            Provider::Postmark => {
                let postmark = fake_postmark::FakePostmark::start().await;
                postmark.script(std::iter::repeat_n(
                    fake_postmark::Reply::Slow(PROVIDER_LATENCY),
                    200_000,
                ));
                Fake::Postmark(postmark)
            }
        }
    }

    fn node_env(&self) -> Vec<(&'static str, String)> {
        match self {
            Fake::Twilio(t) => vec![
                ("HERALD_TEXT__PROVIDER", "twilio".into()),
                (
                    "HERALD_TEXT__TWILIO__ACCOUNT_SID",
                    fake_twilio::ACCOUNT_SID.into(),
                ),
                (
                    "HERALD_TEXT__TWILIO__AUTH_TOKEN",
                    fake_twilio::AUTH_TOKEN.into(),
                ),
                ("HERALD_TEXT__TWILIO__BASE_URL", t.base_url.clone()),
            ],
            Fake::Postmark(p) => vec![
                ("HERALD_EMAIL__PROVIDER", "postmark".into()),
                (
                    "HERALD_EMAIL__POSTMARK__SERVER_TOKEN",
                    fake_postmark::SERVER_TOKEN.into(),
                ),
                ("HERALD_EMAIL__POSTMARK__BASE_URL", p.base_url.clone()),
            ],
        }
    }

    /// How many times each message was handed over, by [`Fake::key`]: every message the
    /// provider got, whether or not its client heard it was accepted.
    fn handed_over(&self) -> HashMap<String, usize> {
        let mut counts = HashMap::new();
        match self {
            Fake::Twilio(t) => {
                for m in t.created() {
                    let key = format!("{} {}", m.to, text_number(&m.body));
                    *counts.entry(key).or_default() += 1;
                }
            }
            Fake::Postmark(p) => counts = p.taken_per_message_uuid(),
        }
        counts
    }

    /// How an accepted message is known at the provider: Twilio by its recipient and its
    /// body's number (a text carries nothing else of Herald's), Postmark by the
    /// `Metadata.messageUUID` it carries.
    fn key(&self, n: usize, uuid: &str) -> String {
        match self {
            Fake::Twilio(_) => format!("+1{} {n}", phone(n % CUSTOMERS)),
            Fake::Postmark(_) => uuid.to_string(),
        }
    }

    /// Reconciliation calls the provider answered (list pages, searches).
    fn questions(&self) -> usize {
        match self {
            Fake::Twilio(t) => t.list_calls().len(),
            Fake::Postmark(p) => p.searches().len(),
        }
    }
}

/// The `n` of a "crash n" body as the provider received it (a signature may follow).
fn text_number(body: &str) -> usize {
    body.strip_prefix("crash ")
        .and_then(|rest| rest.split(|c: char| !c.is_ascii_digit()).next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("not one of the test's messages: {body:?}"))
}

/// Customer `i`'s number (national form).
fn phone(i: usize) -> String {
    format!("41555{:05}", 10000 + i)
}

fn text(v: &Value) -> String {
    v.as_str().unwrap().to_string()
}

/// The department, its user, [`CUSTOMERS`] customers (customer `i` has number [`phone`]`(i)`)
/// and a credential.
async fn tenant(client: &Client, node: &Node) -> Tenant {
    let people: Vec<Value> = (0..CUSTOMERS)
        .map(|i| {
            json!({"firstName": "Customer", "lastName": format!("{i}"),
                "phoneNumbers": [{"phoneNumber": phone(i)}],
                "emails": [{"emailAddress": format!("customer{i}@example.com")}]})
        })
        .collect();
    node.tenant(client, people).await
}

/// One asynchronous send of text `n`: `Ok(Some(uuid))` accepted, `Ok(None)` answered otherwise,
/// `Err` when the node could not be reached (killed).
async fn send(
    client: &Client,
    url: &str,
    t: &Tenant,
    provider: Provider,
    n: usize,
    callback: &str,
) -> Result<Option<String>, reqwest::Error> {
    let protocol = match provider {
        Provider::Twilio => "TEXT",
        Provider::Postmark => "EMAIL",
    };
    let body = json!({
        "messageAttributes": {"body": format!("crash {n}"), "isManual": false,
            "protocol": protocol, "type": "OUTGOING"},
        "messageSendingAttributes": {"callbackURL": callback, "addTCPAFooter": false}
    });
    let customer = &t.customers[n % t.customers.len()];
    let response = client
        .post(format!(
            "{url}/communications/department/{}/user/{}/customer/{customer}/message",
            t.department, t.user
        ))
        .basic_auth(&t.username, Some(&t.password))
        .json(&body)
        .send()
        .await?;
    if response.status() != 200 {
        return Ok(None);
    }
    let answer: Value = response.json().await?;
    Ok(answer["messageUUID"].as_str().map(str::to_string))
}

/// A fixed pseudo-random sequence of pauses between kills, 300–1,200 ms.
fn kill_pauses() -> impl Iterator<Item = Duration> {
    let mut x: u64 = 13;
    std::iter::from_fn(move || {
        x = x
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        Some(Duration::from_millis(300 + (x >> 33) % 900))
    })
}

async fn start_node(database_url: &str, fake: &Fake) -> Node {
    let env = fake.node_env();
    let mut all: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    // Reconciliations and retries come at once; the lease (4 s) bounds each takeover.
    all.push((
        "HERALD_DELIVERY__RETRY_SCHEDULE_SECONDS",
        "[0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1]",
    ));
    Node::start(database_url, &all).await
}

/// One suite at a time: each runs a node and its load, and the machine has two cores.
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

async fn crash_suite(database_url: &str, provider: Provider) {
    let _alone = ONE_AT_A_TIME.lock().await;
    let started = std::time::Instant::now();
    let client = Client::new();
    let fake = Fake::start(provider).await;
    let mut receiver = Receiver::start(&[]).await;
    let mut node = start_node(database_url, &fake).await;
    let t = Arc::new(tenant(&client, &node).await);

    // The load: CLIENTS tasks sending to whichever node is up, until the last kill.
    let (url_tx, url_rx) = watch::channel(node.url.clone());
    let stop = CancellationToken::new();
    let next = Arc::new(AtomicUsize::new(0));
    let accepted: Arc<Mutex<HashMap<usize, String>>> = Arc::default();
    let mut clients = Vec::new();
    for _ in 0..CLIENTS {
        let (client, t, callback) = (client.clone(), t.clone(), receiver.url.clone());
        let (mut url_rx, stop, next, accepted) =
            (url_rx.clone(), stop.clone(), next.clone(), accepted.clone());
        clients.push(tokio::spawn(async move {
            while !stop.is_cancelled() {
                let url = url_rx.borrow_and_update().clone();
                let n = next.fetch_add(1, Ordering::Relaxed);
                match send(&client, &url, &t, provider, n, &callback).await {
                    Ok(Some(uuid)) => {
                        accepted.lock().unwrap().insert(n, uuid);
                    }
                    Ok(None) => {}
                    // The node is down: wait for the next one.
                    Err(_) => tokio::select! {
                        _ = url_rx.changed() => {}
                        _ = stop.cancelled() => {}
                    },
                }
            }
        }));
    }
    let mut reconciled_by_killed = 0.0;
    for pause in kill_pauses().take(KILLS) {
        tokio::time::sleep(pause).await; // the fault schedule, not a wait for the server
        reconciled_by_killed += node
            .metric(&client, "herald_reconciliations_total")
            .await
            .unwrap_or(0.0);
        node.kill().await;
        node = start_node(database_url, &fake).await;
        url_tx.send(node.url.clone()).unwrap();
    }
    stop.cancel();
    for c in clients {
        c.await.unwrap();
    }
    let accepted = accepted.lock().unwrap().clone();
    // Each accepted message: its key at the provider, and its messageUUID.
    let expected: Vec<(String, String)> = accepted
        .iter()
        .map(|(n, uuid)| (fake.key(*n, uuid), uuid.clone()))
        .collect();

    // The last node takes over what the killed ones held (after their leases) and finishes.
    let mut sent_callbacks: HashSet<String> = HashSet::new();
    let deadline = tokio::time::Instant::now() + DRAIN;
    loop {
        while let Ok(callback) =
            tokio::time::timeout(Duration::from_millis(100), receiver.next()).await
        {
            if callback.body["messageStatus"] == "SENT" {
                sent_callbacks.insert(text(&callback.body["messageUUID"]));
            }
        }
        let handed = fake.handed_over();
        let all_sent = expected.iter().all(|(k, _)| handed.contains_key(k));
        let all_called = expected.iter().all(|(_, u)| sent_callbacks.contains(u));
        let idle = node
            .metric(&client, "herald_delivery_queue_depth")
            .await
            .is_some_and(|depth| depth == 0.0);
        if (all_sent && all_called && idle) || tokio::time::Instant::now() > deadline {
            break;
        }
    }

    let handed = fake.handed_over();
    let lost: Vec<&String> = expected
        .iter()
        .filter(|(k, _)| !handed.contains_key(k))
        .map(|(_, u)| u)
        .collect();
    let twice: Vec<(&String, &usize)> = handed.iter().filter(|(_, count)| **count > 1).collect();
    let uncalled: Vec<&String> = expected
        .iter()
        .filter(|(_, u)| !sent_callbacks.contains(u))
        .map(|(_, u)| u)
        .collect();
    let reconciled = reconciled_by_killed
        + node
            .metric(&client, "herald_reconciliations_total")
            .await
            .unwrap_or(0.0);
    eprintln!(
        "{} {provider:?}: {KILLS} SIGKILLs, accepted {}, handed over {} ({} texts), lost {}, \
         handed over twice {}, not called back {}, reconciliations {reconciled} \
         ({} provider questions), {:.1} s",
        database_url.split(':').next().unwrap_or_default(),
        accepted.len(),
        handed.values().sum::<usize>(),
        handed.len(),
        lost.len(),
        twice.len(),
        uncalled.len(),
        fake.questions(),
        started.elapsed().as_secs_f64(),
    );
    assert!(accepted.len() > 100, "the load ran: {}", accepted.len());
    assert!(lost.is_empty(), "accepted but never handed over: {lost:?}");
    assert!(twice.is_empty(), "handed over more than once: {twice:?}");
    assert!(uncalled.is_empty(), "never called back SENT: {uncalled:?}");
    assert!(
        fake.questions() > 0,
        "no hand-over was in doubt over {KILLS} kills: the run proved nothing"
    );
    node.kill().await;
}

async fn on_sqlite(provider: Provider) {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("herald.db").display());
    crash_suite(&url, provider).await;
}

async fn on_postgres(provider: Provider) {
    // Skips (saying so) without a PostgreSQL server, except in CI where that fails.
    let Some((url, _drop_database)) = postgres_support::fresh_database_url().await else {
        return;
    };
    crash_suite(&url, provider).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_twilio_ten_sigkills_nothing_lost_nothing_sent_twice() {
    on_sqlite(Provider::Twilio).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_postmark_ten_sigkills_nothing_lost_nothing_sent_twice() {
    on_sqlite(Provider::Postmark).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_twilio_ten_sigkills_nothing_lost_nothing_sent_twice() {
    on_postgres(Provider::Twilio).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_postmark_ten_sigkills_nothing_lost_nothing_sent_twice() {
    on_postgres(Provider::Postmark).await;
}

/// An attachment is in the store, not in memory (SPEC 4.5): a node that accepts MMS with
/// pictures and delivers none (no workers) is killed; the next node sends each one, and the
/// fake Twilio fetches, through the media URL, exactly the bytes that were sent.
async fn attachments_survive(database_url: &str) {
    use base64::Engine as _;
    let _one = ONE_AT_A_TIME.lock().await;
    const PUBLIC: &str = "https://herald.example.com";
    let mut fake = Fake::Twilio(fake_twilio::FakeTwilio::start().await);
    let mut env = fake.node_env();
    env.push(("HERALD_PUBLIC_BASE_URL", PUBLIC.into()));
    let Fake::Twilio(twilio) = &mut fake else {
        unreachable!("a Twilio fake")
    };
    let mut accepting: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    accepting.push(("HERALD_DELIVERY__WORKERS", "0"));
    let client = Client::new();
    let node = Node::start(database_url, &accepting).await;
    let t = tenant(&client, &node).await;
    let pictures: Vec<Vec<u8>> = (0..5u32)
        .map(|i| {
            (0..200_000u32)
                .map(|b| (b.wrapping_mul(31).wrapping_add(i * 7) % 256) as u8)
                .collect()
        })
        .collect();
    let mut sent = HashMap::new();
    for (i, picture) in pictures.iter().enumerate() {
        let body = json!({
            "messageAttributes": {"body": format!("picture {i}"), "isManual": false,
                "protocol": "TEXT", "type": "OUTGOING",
                "attachments": [{"fileName": format!("p{i}.jpg"), "contentType": "image/jpeg",
                    "content": base64::engine::general_purpose::STANDARD.encode(picture)}]},
            "messageSendingAttributes": {"addTCPAFooter": false}
        });
        let response = client
            .post(format!(
                "{}/communications/department/{}/user/{}/customer/{}/message",
                node.url, t.department, t.user, t.customers[i]
            ))
            .basic_auth(&t.username, Some(&t.password))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        sent.insert(format!("picture {i}"), picture.clone());
    }
    node.kill().await;
    assert!(
        twilio.try_next_request().is_none(),
        "nothing was handed over before the kill"
    );

    let all: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let node = Node::start(database_url, &all).await;
    twilio.fetch_media_via(PUBLIC, &node.url);
    for _ in 0..pictures.len() {
        twilio.next_request().await;
    }
    let created = twilio.created();
    assert_eq!(created.len(), pictures.len());
    for m in &created {
        assert_eq!(m.media.len(), 1, "{}", m.body);
        assert_eq!(m.media[0].status, 200, "{}", m.body);
        assert!(
            m.media[0].bytes == sent[&m.body],
            "{}: the bytes sent",
            m.body
        );
    }
    node.kill().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_attachments_survive_a_sigkill_between_accept_and_delivery() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("herald.db").display());
    attachments_survive(&url).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_attachments_survive_a_sigkill_between_accept_and_delivery() {
    let Some((url, _drop_database)) = postgres_support::fresh_database_url().await else {
        return;
    };
    attachments_survive(&url).await;
}
