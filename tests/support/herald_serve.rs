//! A `herald serve` child process on a given database, with the `outbox` providers: started on
//! port 0, its address read from its JSON "herald listening" log line (no polling, no sleeps),
//! killed when dropped. Include it with `#[path = "support/herald_serve.rs"] mod herald_serve;`.

#![allow(dead_code)]

use std::process::Stdio;
use std::time::Duration;

use serde_json::Value;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

/// The admin token the server is started with.
pub const ADMIN: &str = "storage-faults-admin";
/// How many of its warnings and errors a server prints to the test's output: enough to see
/// what happened, not thousands of lines from a full disk.
const SHOWN_LOG_LINES: usize = 20;

pub struct Server {
    _child: Child,
    /// `http://127.0.0.1:<port>`.
    pub url: String,
}

impl Server {
    /// Starts `herald serve` on `database_url` and waits for it to listen.
    pub async fn start(database_url: &str) -> Server {
        let mut child = Command::new(env!("CARGO_BIN_EXE_herald"))
            .arg("serve")
            .env_clear()
            .env("HERALD_LISTEN", "127.0.0.1:0")
            .env("HERALD_DATABASE_URL", database_url)
            .env("HERALD_ADMIN_TOKEN", ADMIN)
            .env("HERALD_LOG_FORMAT", "json")
            // A delivery whose result could not be written during the fault is tried again
            // after its retry delay, or once its lease runs out: keep both short, so the
            // test sees it delivered within seconds.
            .env(
                "HERALD_DELIVERY__RETRY_SCHEDULE_SECONDS",
                "[1, 1, 1, 1, 1, 1, 1, 1, 1, 1]",
            )
            .env("HERALD_DELIVERY__LEASE_SECONDS", "4")
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
            let mut shown = 0;
            while let Ok(Some(line)) = lines.next_line().await {
                if shown < SHOWN_LOG_LINES
                    && (line.contains("\"WARN\"") || line.contains("\"ERROR\""))
                {
                    shown += 1;
                    eprintln!("herald: {line}");
                }
            }
        });
        Server {
            _child: child,
            url: format!("http://{address}"),
        }
    }
}
