//! `herald backup FILE` copies the SQLite database while Herald serves and keeps accepting
//! sends. The restore is the README's: the copy becomes the database of a new Herald, which
//! serves every message accepted before the backup began, with the same credentials.

#[path = "support/herald_node.rs"]
mod herald_node;

use std::process::Output;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use reqwest::{Client, StatusCode};
use serde_json::{Value, json};

use herald_node::{Node, Tenant};

fn john() -> Value {
    json!({"firstName": "John", "lastName": "Doe",
        "phoneNumbers": [{"phoneNumber": "1234567890"}]})
}

/// One asynchronous text to John; its messageUUID once accepted.
async fn send(client: &Client, base: &str, t: &Tenant, n: usize) -> Option<String> {
    let body = json!({
        "messageAttributes": {"body": format!("Your car is ready ({n})"), "isManual": false,
            "protocol": "TEXT", "type": "OUTGOING"},
        "messageSendingAttributes": {"addTCPAFooter": false}
    });
    let response = client
        .post(format!(
            "{base}/communications/department/{}/user/{}/customer/{}/message",
            t.department, t.user, t.customers[0]
        ))
        .basic_auth(&t.username, Some(&t.password))
        .json(&body)
        .send()
        .await
        .ok()?;
    if response.status() != StatusCode::OK {
        return None;
    }
    let answer: Value = response.json().await.ok()?;
    answer["messageUUID"].as_str().map(str::to_string)
}

/// The message's status as the integrator reads it: `200` with the message, or the error.
async fn read(client: &Client, base: &str, t: &Tenant, uuid: &str) -> (StatusCode, Value) {
    let response = client
        .get(format!(
            "{base}/communications/department/{}/message/{uuid}",
            t.department
        ))
        .basic_auth(&t.username, Some(&t.password))
        .send()
        .await
        .unwrap();
    (response.status(), response.json().await.unwrap())
}

async fn herald_backup(database_url: &str, file: &std::path::Path) -> Output {
    tokio::process::Command::new(env!("CARGO_BIN_EXE_herald"))
        .arg("backup")
        .arg(file)
        .env("HERALD_DATABASE_URL", database_url)
        .env("HERALD_LOG_FORMAT", "json")
        .output()
        .await
        .expect("herald backup runs")
}

fn said(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

#[tokio::test]
async fn a_backup_taken_while_herald_sends_restores_every_message_accepted_before_it() {
    // Arrange: a serving Herald with 40 messages, and a client that keeps sending throughout
    let dir = tempfile::tempdir().unwrap();
    let live = format!("sqlite://{}", dir.path().join("herald.db").display());
    let node = Node::start(&live, &[]).await;
    let client = Client::new();
    let t = node.tenant(&client, vec![john()]).await;
    let mut before = Vec::new();
    for n in 0..40 {
        before.push(send(&client, &node.url, &t, n).await.expect("accepted"));
    }
    let stop = Arc::new(AtomicBool::new(false));
    let sender = tokio::spawn({
        let (client, url, t, stop) = (client.clone(), node.url.clone(), t.clone(), stop.clone());
        async move {
            let mut during = Vec::new();
            let mut n = 1000;
            while !stop.load(Ordering::Relaxed) {
                during.extend(send(&client, &url, &t, n).await);
                n += 1;
            }
            during
        }
    });

    // Act: back up while it serves, then restore the copy as a new Herald's database
    let copy = dir.path().join("backup.db");
    let output = herald_backup(&live, &copy).await;
    stop.store(true, Ordering::Relaxed);
    let during = sender.await.unwrap();
    assert!(
        output.status.success(),
        "herald backup failed: {}",
        said(&output)
    );
    assert!(
        !during.is_empty(),
        "the client kept sending while the backup ran"
    );
    node.kill().await;
    let restored_dir = tempfile::tempdir().unwrap();
    std::fs::copy(&copy, restored_dir.path().join("herald.db")).unwrap();
    let restored = format!(
        "sqlite://{}",
        restored_dir.path().join("herald.db").display()
    );
    let node = Node::start(&restored, &[]).await;

    // Assert: every message accepted before the backup is there, under the same credential,
    // and the restored queue delivers those the copy caught still waiting, each exactly once.
    let deadline = Instant::now() + Duration::from_secs(30);
    for uuid in &before {
        loop {
            let (status, body) = read(&client, &node.url, &t, uuid).await;
            assert_eq!(status, StatusCode::OK, "{uuid}: {body}");
            assert_eq!(body["message"]["messageUUID"], uuid.as_str(), "{body}");
            if body["message"]["messageStatus"] == "DELIVERED" {
                break;
            }
            assert!(Instant::now() < deadline, "{uuid} never delivered: {body}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    let outbox: Value = client
        .get(format!("{}/dev/outbox", node.url))
        .bearer_auth(herald_node::ADMIN)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    for uuid in &before {
        let handed_over = outbox["messages"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|m| m["messageUUID"] == uuid.as_str())
            .count();
        assert_eq!(handed_over, 1, "{uuid} handed over {handed_over} times");
    }
    // and one accepted while it ran is either wholly there or not at all.
    for uuid in &during {
        let (status, body) = read(&client, &node.url, &t, uuid).await;
        assert!(
            status == StatusCode::OK || status == StatusCode::NOT_FOUND,
            "{uuid}: {status} {body}"
        );
    }
    node.kill().await;
}

#[tokio::test]
async fn a_backup_never_overwrites_a_file() {
    // Arrange
    let dir = tempfile::tempdir().unwrap();
    let live = format!("sqlite://{}", dir.path().join("herald.db").display());
    let node = Node::start(&live, &[]).await;
    let existing = dir.path().join("precious.db");
    std::fs::write(&existing, b"not a backup").unwrap();

    // Act
    let output = herald_backup(&live, &existing).await;

    // Assert
    assert!(!output.status.success());
    assert!(
        said(&output).contains("already exists"),
        "{}",
        said(&output)
    );
    assert_eq!(std::fs::read(&existing).unwrap(), b"not a backup");
    node.kill().await;
}

#[tokio::test]
async fn a_postgresql_backup_is_pointed_at_pg_dump() {
    // Arrange: no server is needed to be told
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("backup.db");

    // Act
    let output = herald_backup("postgres://herald@127.0.0.1:1/herald", &file).await;

    // Assert
    assert!(!output.status.success());
    assert!(said(&output).contains("pg_dump"), "{}", said(&output));
    assert!(!file.exists());
}
