//! What an operator sees and relies on from `herald serve` as a process: its log never stops it
//! from serving or stopping (closed or full stderr), its first lines say what runs, foreign
//! `HERALD_*` variables are ignored with a warning, logs carry no colour codes off a terminal
//! and name what failed and why, and a database it cannot open is named with advice.

#[path = "support/fake_twilio.rs"]
mod fake_twilio;
#[path = "support/herald_node.rs"]
mod herald_node;

use std::process::Stdio;
use std::time::{Duration, Instant};

use fake_twilio::{FakeTwilio, Reply};
use herald_node::Node;
use reqwest::Client;
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, BufReader, Lines};
use tokio::process::{Child, ChildStderr, Command};

const HERALD: &str = env!("CARGO_BIN_EXE_herald");

fn herald(dir: &tempfile::TempDir, format: &str) -> Command {
    let mut command = Command::new(HERALD);
    command
        .arg("serve")
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HERALD_LISTEN", "127.0.0.1:0")
        .env(
            "HERALD_DATABASE_URL",
            format!("sqlite://{}", dir.path().join("herald.db").display()),
        )
        .env("HERALD_LOG_FORMAT", format)
        .env("RUST_LOG", "info,sqlx=warn")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    command
}

/// Reads log lines until the start-up line; returns them all and the listen address.
async fn until_listening(lines: &mut Lines<BufReader<ChildStderr>>) -> (Vec<String>, String) {
    let mut seen = Vec::new();
    let found = tokio::time::timeout(Duration::from_secs(30), async {
        while let Some(line) = lines.next_line().await.unwrap() {
            seen.push(line.clone());
            if let Ok(entry) = serde_json::from_str::<Value>(&line)
                && entry["fields"]["message"] == "herald listening"
            {
                return entry["fields"]["address"].as_str().unwrap().to_string();
            }
        }
        panic!("herald exited before listening: {seen:?}");
    })
    .await
    .expect("herald listens within 30 s");
    (seen, found)
}

/// Sends SIGTERM and waits for the exit; panics if Herald is still running after `within`.
async fn terminate(child: &mut Child, within: Duration) -> std::process::ExitStatus {
    let pid = child.id().expect("running").to_string();
    let sent = std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap();
    assert!(sent.success());
    tokio::time::timeout(within, child.wait())
        .await
        .expect("herald stops on SIGTERM")
        .unwrap()
}

/// Many requests, each of which Herald logs: all answered.
async fn hammer(client: &Client, base: &str, requests: usize) {
    for _ in 0..requests {
        let response = client
            .get(format!("{base}/healthz"))
            .timeout(Duration::from_secs(5))
            .send()
            .await
            .expect("Herald answers");
        assert!(response.status().is_success());
    }
}

#[tokio::test]
async fn a_closed_log_pipe_neither_stops_serving_nor_stopping() {
    // Arrange: `herald serve 2>&1 | head -1`: the reader goes away after the first lines
    let dir = tempfile::tempdir().unwrap();
    let mut child = herald(&dir, "json").spawn().unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let (_, address) = until_listening(&mut lines).await;
    drop(lines);

    // Act
    hammer(&Client::new(), &format!("http://{address}"), 300).await;
    let status = terminate(&mut child, Duration::from_secs(10)).await;

    // Assert
    assert!(status.success(), "{status}");
}

#[tokio::test]
async fn a_full_log_pipe_neither_stops_serving_nor_stopping() {
    // Arrange: the reader stays but never reads again, so the pipe fills (64 KiB)
    let dir = tempfile::tempdir().unwrap();
    let mut child = herald(&dir, "json").spawn().unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let (_, address) = until_listening(&mut lines).await;

    // Act: far more log than the pipe holds
    hammer(&Client::new(), &format!("http://{address}"), 2000).await;
    let status = terminate(&mut child, Duration::from_secs(10)).await;

    // Assert
    assert!(status.success(), "{status}");
    drop(lines);
}

#[tokio::test]
async fn the_first_lines_say_what_runs_and_warn_about_the_outbox() {
    // Arrange: Kubernetes' variables for a Service named `herald` are in the environment
    let dir = tempfile::tempdir().unwrap();
    let mut command = herald(&dir, "json");
    command
        .env("HERALD_PORT", "tcp://10.0.0.1:8080")
        .env("HERALD_SERVICE_HOST", "10.0.0.1");
    let mut child = command.spawn().unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();

    // Act
    let (mut seen, _) = until_listening(&mut lines).await;
    // The outbox warnings follow the start-up line (none: the assertions below say so).
    for _ in 0..2 {
        match tokio::time::timeout(Duration::from_secs(10), lines.next_line()).await {
            Ok(Ok(Some(line))) => seen.push(line),
            _ => break,
        }
    }
    terminate(&mut child, Duration::from_secs(10)).await;

    // Assert
    let entries: Vec<Value> = seen
        .iter()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let listening = entries
        .iter()
        .find(|e| e["fields"]["message"] == "herald listening")
        .unwrap();
    let fields = &listening["fields"];
    let db = dir.path().join("herald.db").display().to_string();
    assert_eq!(fields["store"], format!("sqlite {db}"), "{fields}");
    assert_eq!(fields["text_provider"], "outbox");
    assert_eq!(fields["email_provider"], "outbox");
    assert_eq!(fields["admin_api"], "off");
    assert_eq!(fields["delivery_workers"], 4);
    let warnings: Vec<String> = entries
        .iter()
        .filter(|e| e["level"] == "WARN")
        .map(|e| e.to_string())
        .collect();
    for needle in [
        "HERALD_PORT",
        "HERALD_SERVICE_HOST",
        "TEXT messages use the outbox",
    ] {
        assert!(
            warnings.iter().any(|w| w.contains(needle)),
            "no warning about {needle}: {warnings:?}"
        );
    }
}

#[tokio::test]
async fn logs_off_a_terminal_carry_no_colour_codes() {
    // Arrange: the text format, to a pipe
    let dir = tempfile::tempdir().unwrap();
    let mut child = herald(&dir, "text").spawn().unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();

    // Act
    let mut seen = Vec::new();
    while let Some(line) = lines.next_line().await.unwrap() {
        let done = line.contains("herald listening");
        seen.push(line);
        if done {
            break;
        }
    }
    terminate(&mut child, Duration::from_secs(10)).await;

    // Assert
    assert!(!seen.is_empty());
    for line in &seen {
        assert!(!line.contains('\u{1b}'), "an escape code in {line:?}");
    }
}

/// `herald migrate` against `database_url`: its exit status and everything it said.
async fn migrate(database_url: &str) -> (bool, String, Duration) {
    let started = Instant::now();
    let out = Command::new(HERALD)
        .arg("migrate")
        .env("HERALD_DATABASE_URL", database_url)
        .output()
        .await
        .unwrap();
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), said, started.elapsed())
}

#[tokio::test]
async fn an_unreachable_postgresql_is_named_with_advice() {
    let (ok, said, took) = migrate("postgres://herald:hunter2@127.0.0.1:1/herald").await;
    assert!(!ok);
    assert!(said.contains("127.0.0.1:1"), "{said}");
    assert!(said.contains("pg_isready"), "{said}");
    assert!(!said.contains("hunter2"), "{said}");
    assert!(!said.contains("pool timed out"), "{said}");
    assert!(took < Duration::from_secs(15), "took {took:?}");
}

#[tokio::test]
async fn a_missing_postgresql_database_says_how_to_create_it() {
    let probe = std::net::TcpStream::connect("127.0.0.1:5432");
    if probe.is_err() {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "PostgreSQL not reachable"
        );
        eprintln!("skipped: PostgreSQL not reachable");
        return;
    }
    let (ok, said, _) = migrate("postgres://postgres@127.0.0.1:5432/herald_no_such_db").await;
    assert!(!ok);
    assert!(said.contains("createdb"), "{said}");
    assert!(said.contains("herald_no_such_db"), "{said}");
    assert!(!said.contains(" at line "), "{said}");
}

#[tokio::test]
async fn an_sqlite_file_that_cannot_be_created_is_named() {
    // A directory that cannot exist (its parent is a file): root may write anywhere else.
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("a-file"), b"").unwrap();
    let path = dir.path().join("a-file").join("herald.db");
    let (ok, said, _) = migrate(&format!("sqlite://{}", path.display())).await;
    assert!(!ok);
    assert!(said.contains(&path.display().to_string()), "{said}");
    assert!(said.contains("writable"), "{said}");
}

#[tokio::test]
async fn a_failed_text_and_a_refused_callback_are_logged_with_their_uuid_and_reason() {
    // Arrange: Twilio refuses the number; the callback points at loopback, which the guard
    // refuses
    let twilio = FakeTwilio::start().await;
    // (An error code Herald does not know, so Twilio's refusal is logged as well.)
    twilio.script([Reply::Error {
        status: 400,
        code: 21999,
        message: "Something Herald has not seen before",
    }]);
    let dir = tempfile::tempdir().unwrap();
    let database = format!("sqlite://{}", dir.path().join("herald.db").display());
    let node = Node::start(
        &database,
        &[
            ("HERALD_TEXT__PROVIDER", "twilio"),
            ("HERALD_TEXT__TWILIO__ACCOUNT_SID", fake_twilio::ACCOUNT_SID),
            ("HERALD_TEXT__TWILIO__AUTH_TOKEN", fake_twilio::AUTH_TOKEN),
            ("HERALD_TEXT__TWILIO__BASE_URL", &twilio.base_url),
            ("HERALD_CALLBACKS__ALLOW_PRIVATE_NETWORKS", "false"),
        ],
    )
    .await;
    let client = Client::new();
    let people = vec![json!({"firstName": "John", "lastName": "Doe",
        "phoneNumbers": [{"phoneNumber": "4155550123"}]})];
    let t = node.tenant(&client, people).await;

    // Act
    let answer: Value = client
        .post(format!(
            "{}/communications/department/{}/user/{}/customer/{}/message",
            node.url, t.department, t.user, t.customers[0]
        ))
        .basic_auth(&t.username, Some(&t.password))
        .json(&json!({
            "messageAttributes": {"body": "Your car is ready", "isManual": false,
                "protocol": "TEXT", "type": "OUTGOING"},
            "messageSendingAttributes": {"callbackURL": "http://127.0.0.1:9/status",
                "addTCPAFooter": false}
        }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let uuid = answer["messageUUID"]
        .as_str()
        .expect("accepted")
        .to_string();

    // Assert: the provider's refusal names the message and the status, in its span
    let refusal = node
        .log_entry("Twilio refused", |e| {
            e["fields"]["message"]
                .as_str()
                .is_some_and(|m| m.starts_with("Twilio refused a message"))
        })
        .await;
    assert_eq!(refusal["span"]["message_uuid"], uuid, "{refusal}");
    assert_eq!(refusal["fields"]["status"], "400 Bad Request", "{refusal}");
    // the failure names the message and its code
    let failed = node
        .log_entry("message failed", |e| {
            e["fields"]["message"] == "message failed" && e["fields"]["message_uuid"] == uuid
        })
        .await;
    assert!(failed["fields"]["code"].is_string(), "{failed}");
    // the refused callback names the message and the reason
    let refused = node
        .log_entry("callback attempt", |e| {
            e["fields"]["message"] == "callback attempt" && e["fields"]["message_uuid"] == uuid
        })
        .await;
    let reason = refused["fields"]["reason"].as_str().unwrap_or_default();
    assert!(reason.contains("127.0.0.1 is refused"), "{refused}");
    let log = node.log_lines();
    for line in &log {
        let entry: Value = serde_json::from_str(line).unwrap_or_else(|_| panic!("{line}"));
        // No span calls a UUID `message`: the key is the event's text.
        for span in entry["spans"].as_array().into_iter().flatten() {
            assert!(span.get("message").is_none(), "{line}");
        }
        // Latencies in tenths of a millisecond.
        if let Some(ms) = entry["fields"]["latency_ms"].as_f64() {
            assert!(((ms * 10.0).round() - ms * 10.0).abs() < 1e-6, "{line}");
        }
    }
    assert!(log.iter().any(|l| l.contains("latency_ms")));
    node.kill().await;
}
