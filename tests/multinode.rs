//! Several Herald processes on one PostgreSQL database, none of them special, all sending
//! through one fake Twilio: requests are spread across three nodes, one is killed with SIGKILL
//! mid-run, and every accepted message still reaches Twilio exactly once and every callback
//! arrives, its carrier receipt taken by another node than the one that sent it.

#[path = "support/fake_twilio.rs"]
mod fake_twilio;
#[path = "support/herald_node.rs"]
mod herald_node;
#[path = "support/postgres.rs"]
mod postgres_support;
#[path = "api/receiver.rs"]
mod receiver;

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use reqwest::Client;
use serde_json::{Value, json};

use fake_twilio::{ACCOUNT_SID, AUTH_TOKEN, FakeTwilio};
use herald_node::{Node, SENDER, Tenant};
use receiver::Receiver;

/// Every node gives Twilio this base URL, so a receipt signed for one node's `StatusCallback`
/// verifies on any other.
const PUBLIC: &str = "http://herald.test";

async fn start_node(database_url: &str, twilio: &FakeTwilio) -> Node {
    Node::start(
        database_url,
        &[
            ("HERALD_PUBLIC_BASE_URL", PUBLIC),
            ("HERALD_TEXT__PROVIDER", "twilio"),
            ("HERALD_TEXT__TWILIO__ACCOUNT_SID", ACCOUNT_SID),
            ("HERALD_TEXT__TWILIO__AUTH_TOKEN", AUTH_TOKEN),
            ("HERALD_TEXT__TWILIO__BASE_URL", &twilio.base_url),
        ],
    )
    .await
}

fn text(v: &Value) -> String {
    v.as_str().unwrap().to_string()
}

/// John Doe, the one customer every text goes to.
async fn tenant(client: &Client, node: &Node) -> Tenant {
    let john = json!({"firstName": "John", "lastName": "Doe",
        "phoneNumbers": [{"phoneNumber": "1234567890"}]});
    node.tenant(client, vec![john]).await
}

/// The `n` of a "Reminder n" text as Twilio received it.
fn reminder_number(body: &str) -> usize {
    body.strip_prefix("Reminder ")
        .and_then(|rest| rest.split(|c: char| !c.is_ascii_digit()).next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("not one of the test's texts: {body:?}"))
}

/// Sends one asynchronous text; `Some((n, messageUUID))` when the node accepted it.
async fn send(
    client: &Client,
    node_url: &str,
    t: &Tenant,
    n: usize,
    callback: &str,
) -> Option<(usize, String)> {
    let body = json!({
        "messageAttributes": {"body": format!("Reminder {n}"), "isManual": false, "protocol": "TEXT", "type": "OUTGOING"},
        "messageSendingAttributes": {"callbackURL": callback, "addTCPAFooter": false}
    });
    let response = client
        .post(format!(
            "{node_url}/communications/department/{}/user/{}/customer/{}/message",
            t.department, t.user, t.customers[0]
        ))
        .basic_auth(&t.username, Some(&t.password))
        .json(&body)
        .send()
        .await
        .ok()?;
    if response.status() != 200 {
        return None;
    }
    let body: Value = response.json().await.ok()?;
    Some((n, body["messageUUID"].as_str()?.to_string()))
}

async fn wave(
    client: &Client,
    urls: &[String],
    t: &Tenant,
    range: std::ops::Range<usize>,
    callback: &str,
) -> Vec<(usize, String)> {
    let sends = range.map(|n| {
        let url = urls[n % urls.len()].clone();
        async move { send(client, &url, t, n, callback).await }
    });
    futures_util::future::join_all(sends)
        .await
        .into_iter()
        .flatten()
        .collect()
}

/// Takes every create-message call Twilio has received into `sids` (the sids of each text).
fn take_hand_overs(twilio: &mut FakeTwilio, sids: &mut HashMap<usize, Vec<String>>) {
    while let Some(request) = twilio.try_next_request() {
        let n = reminder_number(request.param("Body").unwrap_or_default());
        let sid = request.sid.expect("the fake created every text");
        sids.entry(n).or_default().push(sid);
    }
}

fn assert_handed_over_once(sids: &HashMap<usize, Vec<String>>) {
    let twice: Vec<_> = sids.iter().filter(|(_, s)| s.len() > 1).collect();
    assert!(
        twice.is_empty(),
        "handed to Twilio more than once: {twice:?}"
    );
}

/// Twilio's `delivered` receipt for `sid`, posted to `node`.
async fn post_delivered(twilio: &FakeTwilio, node: &Node, sid: &str) {
    let params = [
        ("AccountSid", ACCOUNT_SID),
        ("ApiVersion", "2010-04-01"),
        ("From", SENDER),
        ("MessageSid", sid),
        ("MessageStatus", "delivered"),
        ("SmsSid", sid),
        ("SmsStatus", "delivered"),
        ("To", "+11234567890"),
    ];
    let answered = twilio
        .post_signed(
            &format!("{}/webhooks/twilio/status", node.url),
            &format!("{PUBLIC}/webhooks/twilio/status"),
            &params,
        )
        .await;
    assert!(
        answered.status().is_success(),
        "receipt for {sid}: {}",
        answered.status()
    );
}

async fn message_status(client: &Client, node: &Node, t: &Tenant, message: &str) -> Value {
    client
        .get(format!(
            "{}/communications/department/{}/message/{message}",
            node.url, t.department
        ))
        .basic_auth(&t.username, Some(&t.password))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_nodes_one_killed_every_accepted_message_sent_once_and_called_back() {
    // Skips (saying so) without a PostgreSQL server, except in CI where that fails.
    let Some((database_url, _drop_database)) = postgres_support::fresh_database_url().await else {
        return;
    };
    let client = Client::new();
    let mut twilio = FakeTwilio::start().await;
    let mut receiver = Receiver::start(&[]).await;

    let first = start_node(&database_url, &twilio).await;
    let t = tenant(&client, &first).await;
    let mut second = start_node(&database_url, &twilio).await;
    let third = start_node(&database_url, &twilio).await;
    let all = vec![first.url.clone(), second.url.clone(), third.url.clone()];

    let mut accepted: HashMap<String, usize> = wave(&client, &all, &t, 0..30, &receiver.url)
        .await
        .into_iter()
        .map(|(n, m)| (m, n))
        .collect();
    assert_eq!(accepted.len(), 30, "every node accepts while all are up");

    // Kill the second node while the next wave is in flight.
    let (during, _) = tokio::join!(wave(&client, &all, &t, 30..60, &receiver.url), async {
        second.start_kill();
    });
    accepted.extend(during.into_iter().map(|(n, m)| (m, n)));
    let survivors = vec![first.url.clone(), third.url.clone()];
    accepted.extend(
        wave(&client, &survivors, &t, 60..90, &receiver.url)
            .await
            .into_iter()
            .map(|(n, m)| (m, n)),
    );
    assert!(
        accepted.len() >= 60,
        "the survivors keep accepting: {}",
        accepted.len()
    );

    // Every accepted message is called back SENT (the killed node's leases expire and the
    // survivors take its work over), then DELIVERED once Twilio's receipt reaches a survivor.
    let mut sids: HashMap<usize, Vec<String>> = HashMap::new();
    let mut receipted: HashSet<String> = HashSet::new();
    let mut events: HashMap<(String, String), HashSet<String>> = HashMap::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(90);
    let delivered = |events: &HashMap<(String, String), HashSet<String>>| {
        accepted
            .keys()
            .filter(|m| events.contains_key(&((*m).clone(), "DELIVERED".to_string())))
            .count()
    };
    while delivered(&events) < accepted.len() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "only {} of {} delivered",
            delivered(&events),
            accepted.len()
        );
        let cb = match tokio::time::timeout(Duration::from_secs(8), receiver.next()).await {
            Ok(cb) => cb,
            Err(_) => {
                // A text handed over twice waits for ever on the receipt of its other sid:
                // say so first, then where the missing messages stand.
                take_hand_overs(&mut twilio, &mut sids);
                assert_handed_over_once(&sids);
                for m in accepted
                    .keys()
                    .filter(|m| !events.contains_key(&((*m).clone(), "DELIVERED".to_string())))
                {
                    let st = message_status(&client, &first, &t, m).await;
                    eprintln!(
                        "{m}: {} {}",
                        st["message"]["messageStatus"], st["message"]["messageErrors"]
                    );
                }
                panic!(
                    "no callback for 8 s with {} of {} delivered",
                    delivered(&events),
                    accepted.len()
                );
            }
        };
        let message = text(&cb.body["messageUUID"]);
        let status = text(&cb.body["messageStatus"]);
        // A message the killed node accepted without its client hearing it is called back
        // too; only accepted ones are followed.
        let first_sent = status == "SENT" && !receipted.contains(&message);
        if let Some(n) = accepted.get(&message).filter(|_| first_sent) {
            receipted.insert(message.clone());
            // Twilio answered the create call before Herald could record SENT, so the call
            // is already in the channel.
            take_hand_overs(&mut twilio, &mut sids);
            let sid = sids
                .get(n)
                .and_then(|s| s.first())
                .unwrap_or_else(|| panic!("{message} called back SENT, never handed to Twilio"));
            post_delivered(&twilio, &first, sid).await;
        }
        events
            .entry((message, status))
            .or_default()
            .insert(cb.webhook_id);
    }
    for message in accepted.keys() {
        for status in ["SENT", "DELIVERED"] {
            let ids = &events[&(message.clone(), status.to_string())];
            // A callback may be repeated after a crash, but always as the same event.
            assert_eq!(
                ids.len(),
                1,
                "{message} {status} came as {} different events",
                ids.len()
            );
        }
        let status = message_status(&client, &first, &t, message).await;
        assert_eq!(status["message"]["messageStatus"], "DELIVERED", "{status}");
    }

    // Exactly one hand-over to Twilio per message, whichever node made it, counting also the
    // texts whose acceptance the killed node never got to answer.
    take_hand_overs(&mut twilio, &mut sids);
    for (message, n) in &accepted {
        let handed = sids.get(n).map_or(0, Vec::len);
        assert_eq!(handed, 1, "{message} was handed to Twilio {handed} times");
    }
    assert_handed_over_once(&sids);
    // Stop the nodes before the database is dropped.
    first.kill().await;
    third.kill().await;
}
