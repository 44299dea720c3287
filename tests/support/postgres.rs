//! A fresh PostgreSQL database for each test, on the server `HERALD_TEST_POSTGRES_URL` names
//! (default: the local server, user `postgres`).
//!
//! Without a reachable server the PostgreSQL tests skip (they print why and pass), unless
//! `CI=true`, where a missing server is a failure: CI must never go green having tested only
//! SQLite. Include it with `#[path = "../support/postgres.rs"] mod postgres_support;`.

#![allow(dead_code)]

use std::time::Duration;

use sqlx::{AssertSqlSafe, Connection, Executor, PgConnection};
use uuid::Uuid;

pub const DEFAULT_SERVER_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";
/// Test databases are named `herald_test_<random>`; leftovers never collide with new ones.
pub const DATABASE_PREFIX: &str = "herald_test_";

const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
const DROP_TIMEOUT: Duration = Duration::from_secs(10);

/// The server tests run against: `HERALD_TEST_POSTGRES_URL`, or [`DEFAULT_SERVER_URL`].
pub fn server_url() -> String {
    std::env::var("HERALD_TEST_POSTGRES_URL")
        .ok()
        .filter(|u| !u.trim().is_empty())
        .unwrap_or_else(|| DEFAULT_SERVER_URL.to_string())
}

/// Creates an empty database and returns its URL, with a guard that drops it again.
///
/// `None` (after printing `skipped: ...`) when the server is unreachable outside CI; a panic
/// when it is unreachable and `CI=true`.
pub async fn fresh_database_url() -> Option<(String, DropGuard)> {
    let server = server_url();
    let mut admin = match connect(&server).await {
        Ok(admin) => admin,
        Err(e) => {
            let shown = redacted(&server);
            if std::env::var("CI").is_ok_and(|ci| ci == "true") {
                panic!("PostgreSQL not reachable at {shown} and CI=true requires it: {e}");
            }
            eprintln!("skipped: PostgreSQL not reachable at {shown}");
            eprintln!("  ({e}; set HERALD_TEST_POSTGRES_URL to test against another server)");
            return None;
        }
    };
    let name = format!("{DATABASE_PREFIX}{}", Uuid::new_v4().simple());
    admin
        .execute(AssertSqlSafe(format!(r#"CREATE DATABASE "{name}""#)))
        .await
        .unwrap_or_else(|e| panic!("creating test database {name}: {e}"));
    let _ = admin.close().await;
    let mut url = reqwest::Url::parse(&server).expect("HERALD_TEST_POSTGRES_URL is a URL");
    url.set_path(&format!("/{name}"));
    Some((url.into(), DropGuard { server, name }))
}

/// Drops its test database when it goes out of scope, also when the test panics. Best effort:
/// a database it cannot drop is reported and left behind, harmless to later runs.
pub struct DropGuard {
    server: String,
    name: String,
}

impl DropGuard {
    pub fn database(&self) -> &str {
        &self.name
    }
}

impl Drop for DropGuard {
    fn drop(&mut self) {
        // `drop` runs inside the test's runtime, which cannot block on a future of its own: a
        // short-lived thread with its own runtime drops the database, and is waited for.
        let (server, name) = (self.server.clone(), self.name.clone());
        let (done_tx, done_rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let result = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| e.to_string())
                .and_then(|rt| {
                    rt.block_on(drop_database(&server, &name))
                        .map_err(|e| e.to_string())
                });
            let _ = done_tx.send(result);
        });
        match done_rx.recv_timeout(DROP_TIMEOUT) {
            Ok(Ok(())) => {}
            Ok(Err(e)) => eprintln!("left test database {} behind: {e}", self.name),
            Err(_) => eprintln!("left test database {} behind: timed out", self.name),
        }
    }
}

async fn connect(url: &str) -> Result<PgConnection, sqlx::Error> {
    tokio::time::timeout(CONNECT_TIMEOUT, PgConnection::connect(url))
        .await
        .unwrap_or_else(|_| {
            Err(sqlx::Error::Io(std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                format!("no answer within {CONNECT_TIMEOUT:?}"),
            )))
        })
}

async fn drop_database(server: &str, name: &str) -> Result<(), sqlx::Error> {
    let mut admin = connect(server).await?;
    // FORCE (PostgreSQL 13+) ends the test's own connections, which may still be open.
    let forced = admin
        .execute(AssertSqlSafe(format!(
            r#"DROP DATABASE IF EXISTS "{name}" WITH (FORCE)"#
        )))
        .await;
    if forced.is_err() {
        admin
            .execute(AssertSqlSafe(format!(
                r#"DROP DATABASE IF EXISTS "{name}""#
            )))
            .await?;
    }
    admin.close().await
}

/// The URL with its password (if any) masked, for messages.
fn redacted(url: &str) -> String {
    match reqwest::Url::parse(url) {
        Ok(mut parsed) if parsed.password().is_some() => {
            let _ = parsed.set_password(Some("***"));
            parsed.into()
        }
        _ => url.to_string(),
    }
}
