//! A `herald serve` child process for tests that need a real process to kill: started on port 0
//! with short leases and callbacks allowed to loopback, its address read from its JSON
//! "herald listening" log line (no polling, no sleeps), killed with SIGKILL.
//! Include it with `#[path = "support/herald_node.rs"] mod herald_node;`.

#![allow(dead_code)]

use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use reqwest::Client;
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};
use tokio::sync::Notify;

/// The admin token every node is started with.
pub const ADMIN: &str = "node-admin";
/// How many of its warnings and errors a node prints to the test's output.
const SHOWN_LOG_LINES: usize = 20;
/// How many of its log lines a node keeps for [`Node::log_entry`].
const KEPT_LOG_LINES: usize = 100_000;

/// The number every test department texts from.
pub const SENDER: &str = "+14155550100";

/// A directory to send from, made through a node's admin API.
#[derive(Clone)]
pub struct Tenant {
    pub department: String,
    pub user: String,
    /// The imported customers, in the order given.
    pub customers: Vec<String>,
    pub username: String,
    pub password: String,
}

fn text(v: &Value) -> String {
    v.as_str().unwrap().to_string()
}

/// A running `herald serve` process.
pub struct Node {
    child: Child,
    /// `http://127.0.0.1:<port>`.
    pub url: String,
    log: Arc<Log>,
}

/// The node's log (its stderr), line by line as written.
#[derive(Default)]
struct Log {
    lines: Mutex<Vec<String>>,
    grew: Notify,
}

impl Log {
    fn push(&self, line: String) {
        let mut lines = self.lines.lock().unwrap();
        if lines.len() < KEPT_LOG_LINES {
            lines.push(line);
        }
        drop(lines);
        self.grew.notify_waiters();
    }
}

impl Node {
    /// Starts a node on `database_url` with `env` on top of the test defaults, and waits for
    /// it to listen.
    pub async fn start(database_url: &str, env: &[(&str, &str)]) -> Node {
        let mut command = Command::new(env!("CARGO_BIN_EXE_herald"));
        command
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
            // A killed node holds its work for one lease: keep it short so the test does not
            // wait long for another node to take over.
            .env("HERALD_DELIVERY__LEASE_SECONDS", "4")
            // A callback lease is twice the callback timeout at least: keep both short.
            .env("HERALD_CALLBACKS__TIMEOUT_SECONDS", "2")
            .env("RUST_LOG", "info,sqlx=warn");
        for (key, value) in env {
            command.env(key, value);
        }
        let mut child = command
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("herald starts");
        let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
        let log = Arc::new(Log::default());
        let address = tokio::time::timeout(Duration::from_secs(30), async {
            while let Some(line) = lines.next_line().await.unwrap() {
                log.push(line.clone());
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
        let url = format!("http://{address}");
        // Keep draining its log so the pipe never fills; show the first warnings and errors,
        // not the thousands a full disk makes.
        let kept = log.clone();
        tokio::spawn(async move {
            let mut shown = 0;
            while let Ok(Some(line)) = lines.next_line().await {
                if shown < SHOWN_LOG_LINES
                    && (line.contains("\"WARN\"") || line.contains("\"ERROR\""))
                {
                    shown += 1;
                    eprintln!("node {address}: {line}");
                }
                kept.push(line);
            }
        });
        Node { child, url, log }
    }

    /// Every log line the node has written so far.
    pub fn log_lines(&self) -> Vec<String> {
        self.log.lines.lock().unwrap().clone()
    }

    /// The first JSON log entry `wanted` accepts, waiting up to 30 s for the node to write it.
    pub async fn log_entry(&self, what: &str, wanted: impl Fn(&Value) -> bool) -> Value {
        let found = tokio::time::timeout(Duration::from_secs(30), async {
            loop {
                // Registered before the look, so a line written in between still wakes us.
                let grew = self.log.grew.notified();
                tokio::pin!(grew);
                grew.as_mut().enable();
                let hit = self
                    .log
                    .lines
                    .lock()
                    .unwrap()
                    .iter()
                    .filter_map(|l| serde_json::from_str::<Value>(l).ok())
                    .find(|e| wanted(e));
                if let Some(entry) = hit {
                    return entry;
                }
                grew.await;
            }
        })
        .await;
        found.unwrap_or_else(|_| panic!("no log entry {what} within 30 s"))
    }

    /// Sends SIGKILL and returns at once (the process may still be exiting).
    pub fn start_kill(&mut self) {
        self.child.start_kill().expect("SIGKILL");
    }

    /// Sends SIGKILL and waits until the process is gone.
    pub async fn kill(mut self) {
        self.child.kill().await.expect("SIGKILL");
    }

    /// An admin `POST` that must succeed; its JSON answer.
    pub async fn admin(&self, client: &Client, path: &str, body: Value) -> Value {
        let response = client
            .post(format!("{}{path}", self.url))
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

    /// A dealer; a department texting from [`SENDER`] and emailing from
    /// `service@dealer.example.com`, with rate limits no test reaches and quiet hours off (these
    /// tests run at whatever hour CI does); a user; `people`
    /// imported from the DMS (so their numbers are opted in); and a credential that may create
    /// and read messages.
    pub async fn tenant(&self, client: &Client, people: Vec<Value>) -> Tenant {
        let dealer = text(
            &self
                .admin(client, "/admin/v1/dealers", json!({"name": "Acme Motors"}))
                .await["uuid"],
        );
        let department = text(
            &self
                .admin(
                    client,
                    &format!("/admin/v1/dealers/{dealer}/departments"),
                    json!({"name": "Service", "textSenderNumber": SENDER,
                        "emailSender": "service@dealer.example.com",
                        "rateLimits": {"automatedPerHour": 100000, "automatedPerDay": 100000},
                        "quietHours": null}),
                )
                .await["uuid"],
        );
        let user = text(
            &self
                .admin(
                    client,
                    &format!("/admin/v1/departments/{department}/users"),
                    json!({"firstName": "Sarah", "lastName": "Johnson"}),
                )
                .await["uuid"],
        );
        let imported = self
            .admin(
                client,
                &format!("/admin/v1/dealers/{dealer}/customers"),
                json!({ "customers": people }),
            )
            .await;
        let customers = imported["uuids"]
            .as_array()
            .unwrap()
            .iter()
            .map(text)
            .collect();
        let grants: Vec<Value> = ["message.create", "message.read"]
            .iter()
            .map(|s| json!({"scope": s, "level": "DealerDepartment", "uuid": department}))
            .collect();
        let credential = self
            .admin(client, "/admin/v1/credentials", json!({ "grants": grants }))
            .await;
        Tenant {
            department,
            user,
            customers,
            username: text(&credential["username"]),
            password: text(&credential["password"]),
        }
    }

    /// The sum of every sample of the Prometheus metric `name` this process exports (its
    /// counters start at 0 with the process); `None` before it has one.
    pub async fn metric(&self, client: &Client, name: &str) -> Option<f64> {
        let text = client
            .get(format!("{}/metrics", self.url))
            .send()
            .await
            .ok()?
            .text()
            .await
            .ok()?;
        let samples: Vec<f64> = text
            .lines()
            .filter(|l| {
                l.strip_prefix(name)
                    .is_some_and(|rest| rest.starts_with(['{', ' ']))
            })
            .filter_map(|l| l.rsplit(' ').next()?.parse().ok())
            .collect();
        (!samples.is_empty()).then(|| samples.iter().sum())
    }
}
