//! Several Herald processes on one PostgreSQL database, none of them special: requests are
//! spread across three nodes, one is killed with SIGKILL mid-run, and every accepted message
//! still reaches the provider exactly once and every callback arrives.

#[path = "support/postgres.rs"]
mod postgres_support;
#[path = "api/receiver.rs"]
mod receiver;

use std::collections::{HashMap, HashSet};
use std::process::Stdio;
use std::time::Duration;

use reqwest::Client;
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

use receiver::Receiver;

const ADMIN: &str = "multinode-admin";

/// A `herald serve` process.
struct Node {
    child: Child,
    url: String,
}

impl Node {
    /// Starts a node and waits for its "listening" log line (JSON logs carry the address).
    async fn start(database_url: &str) -> Node {
        let mut child = Command::new(env!("CARGO_BIN_EXE_herald"))
            .arg("serve")
            .env_clear()
            .env("HERALD_LISTEN", "127.0.0.1:0")
            .env("HERALD_DATABASE_URL", database_url)
            .env("HERALD_ADMIN_TOKEN", ADMIN)
            .env("HERALD_LOG_FORMAT", "json")
            .env("HERALD_CALLBACKS__ALLOW_PRIVATE_NETWORKS", "true")
            .env(
                "HERALD_CALLBACKS__RETRY_SCHEDULE_SECONDS",
                "[0, 1, 1, 1, 1, 1, 1, 1]",
            )
            .env("HERALD_DELIVERY__LEASE_SECONDS", "4")
            // A callback lease is twice the callback timeout at least: keep both short.
            .env("HERALD_CALLBACKS__TIMEOUT_SECONDS", "2")
            .env("RUST_LOG", "info,sqlx=warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .expect("herald starts");
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let address = tokio::time::timeout(Duration::from_secs(30), async {
            while let Some(line) = lines.next_line().await.unwrap() {
                let Ok(entry) = serde_json::from_str::<Value>(&line) else {
                    continue;
                };
                if entry["fields"]["message"] == "herald listening" {
                    return entry["fields"]["address"].as_str().unwrap().to_string();
                }
            }
            panic!("herald exited before listening");
        })
        .await
        .expect("herald listens within 30 s");
        // Keep draining its log so the pipe never fills.
        tokio::spawn(async move {
            while let Ok(Some(line)) = lines.next_line().await {
                if line.contains("\"WARN\"") || line.contains("\"ERROR\"") {
                    eprintln!("node: {line}");
                }
            }
        });
        Node {
            child,
            url: format!("http://{address}"),
        }
    }
}

struct Tenant {
    department: String,
    user: String,
    customer: String,
    username: String,
    password: String,
}

async fn admin(client: &Client, node: &Node, path: &str, body: Value) -> Value {
    let response = client
        .post(format!("{}{path}", node.url))
        .bearer_auth(ADMIN)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert!(
        response.status().is_success(),
        "{path}: {}",
        response.status()
    );
    response.json().await.unwrap()
}

async fn tenant(client: &Client, node: &Node) -> Tenant {
    let dealer = admin(
        client,
        node,
        "/admin/v1/dealers",
        json!({"name": "Acme Motors"}),
    )
    .await["uuid"]
        .as_str()
        .unwrap()
        .to_string();
    let department = admin(
        client,
        node,
        &format!("/admin/v1/dealers/{dealer}/departments"),
        json!({"name": "Service", "textSenderNumber": "+14155550100",
            "rateLimits": {"automatedPerHour": 1000, "automatedPerDay": 1000}}),
    )
    .await["uuid"]
        .as_str()
        .unwrap()
        .to_string();
    let user = admin(
        client,
        node,
        &format!("/admin/v1/departments/{department}/users"),
        json!({"firstName": "Sarah", "lastName": "Johnson"}),
    )
    .await["uuid"]
        .as_str()
        .unwrap()
        .to_string();
    let customer = admin(
        client,
        node,
        &format!("/admin/v1/dealers/{dealer}/customers"),
        json!({"customer": {"firstName": "John", "phoneNumbers": [{"phoneNumber": "1234567890"}]}}),
    )
    .await["uuids"][0]
        .as_str()
        .unwrap()
        .to_string();
    let grants: Vec<Value> = ["message.create", "message.read"]
        .iter()
        .map(|s| json!({"scope": s, "level": "DealerDepartment", "uuid": department}))
        .collect();
    let credential = admin(
        client,
        node,
        "/admin/v1/credentials",
        json!({"grants": grants}),
    )
    .await;
    Tenant {
        department,
        user,
        customer,
        username: credential["username"].as_str().unwrap().to_string(),
        password: credential["password"].as_str().unwrap().to_string(),
    }
}

/// Sends one asynchronous text; `Some(messageUUID)` when the node accepted it.
async fn send(
    client: &Client,
    node_url: &str,
    t: &Tenant,
    n: usize,
    callback: &str,
) -> Option<String> {
    let body = json!({
        "messageAttributes": {"body": format!("Reminder {n}"), "isManual": false, "protocol": "TEXT", "type": "OUTGOING"},
        "messageSendingAttributes": {"callbackURL": callback, "addTCPAFooter": false}
    });
    let response = client
        .post(format!(
            "{node_url}/communications/department/{}/user/{}/customer/{}/message",
            t.department, t.user, t.customer
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
    Some(body["messageUUID"].as_str()?.to_string())
}

async fn wave(
    client: &Client,
    urls: &[String],
    t: &Tenant,
    range: std::ops::Range<usize>,
    callback: &str,
) -> Vec<String> {
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_nodes_one_killed_every_accepted_message_sent_once_and_called_back() {
    // Skips (saying so) without a PostgreSQL server, except in CI where that fails.
    let Some((database_url, _drop_database)) = postgres_support::fresh_database_url().await else {
        return;
    };
    let client = Client::new();
    let mut receiver = Receiver::start(&[]).await;

    let first = Node::start(&database_url).await;
    let t = tenant(&client, &first).await;
    let mut second = Node::start(&database_url).await;
    let third = Node::start(&database_url).await;
    let all = vec![first.url.clone(), second.url.clone(), third.url.clone()];

    let mut accepted: HashSet<String> = wave(&client, &all, &t, 0..30, &receiver.url)
        .await
        .into_iter()
        .collect();
    assert_eq!(accepted.len(), 30, "every node accepts while all are up");

    // Kill the second node while the next wave is in flight.
    let (during, _) = tokio::join!(wave(&client, &all, &t, 30..60, &receiver.url), async {
        second.child.start_kill().expect("SIGKILL");
    });
    accepted.extend(during);
    let survivors = vec![first.url.clone(), third.url.clone()];
    accepted.extend(wave(&client, &survivors, &t, 60..90, &receiver.url).await);
    assert!(
        accepted.len() >= 60,
        "the survivors keep accepting: {}",
        accepted.len()
    );

    // Every accepted message is called back SENT and DELIVERED (the killed node's leases
    // expire and the survivors take its work over).
    let mut events: HashMap<(String, String), HashSet<String>> = HashMap::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(90);
    let delivered = |events: &HashMap<(String, String), HashSet<String>>| {
        accepted
            .iter()
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
                // Say where the missing messages stand before failing.
                for m in accepted
                    .iter()
                    .filter(|m| !events.contains_key(&((*m).clone(), "DELIVERED".to_string())))
                {
                    let st: Value = client
                        .get(format!(
                            "{}/communications/department/{}/message/{m}",
                            first.url, t.department
                        ))
                        .basic_auth(&t.username, Some(&t.password))
                        .send()
                        .await
                        .unwrap()
                        .json()
                        .await
                        .unwrap();
                    eprintln!(
                        "{m}: {} {}",
                        st["message"]["messageStatus"], st["message"]["messageErrors"]
                    );
                }
                panic!(
                    "no callback for 10 s with {} of {} delivered",
                    delivered(&events),
                    accepted.len()
                );
            }
        };
        let key = (
            cb.body["messageUUID"].as_str().unwrap().to_string(),
            cb.body["messageStatus"].as_str().unwrap().to_string(),
        );
        events.entry(key).or_default().insert(cb.webhook_id);
    }
    for message in &accepted {
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
    }

    // Exactly one hand-over to the provider per message, whichever node made it.
    for message in &accepted {
        let status: Value = client
            .get(format!(
                "{}/communications/department/{}/message/{message}",
                first.url, t.department
            ))
            .basic_auth(&t.username, Some(&t.password))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(status["message"]["messageStatus"], "DELIVERED", "{status}");
        let successes = status["attempts"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|a| a["outcome"] == "SUCCESS")
            .count();
        assert_eq!(
            successes, 1,
            "{message} was handed to the provider {successes} times"
        );
    }
    let outbox: Value = client
        .get(format!("{}/dev/outbox?limit=1000", third.url))
        .bearer_auth(ADMIN)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let sent: Vec<&str> = outbox["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["messageUUID"].as_str().unwrap())
        .collect();
    let unique: HashSet<&str> = sent.iter().copied().collect();
    assert_eq!(sent.len(), unique.len(), "no message sent twice");
    assert!(accepted.iter().all(|m| unique.contains(m.as_str())));
    // Stop the nodes before the database is dropped.
    drop((first, third));
}
