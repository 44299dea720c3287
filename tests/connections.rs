//! A flood of connections that never finish a request cannot take Herald down: it holds at
//! most its cap, answers the rest `503` at once instead of running out of descriptors, closes
//! each held one at the header-read timeout, and answers `/healthz` again right after.
//! (Per-connection timeouts, keep-alive and draining are tested on a paused clock in
//! src/server/conn.rs.)

#[path = "support/herald_node.rs"]
mod herald_node;

use std::time::{Duration, Instant};

use herald_node::Node;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// How a flood connection ended, seen from the client.
struct Ended {
    refused: bool,
    after: Duration,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_of_idle_and_half_sent_connections_never_takes_herald_down() {
    // This test's own sockets need descriptors as much as Herald's do.
    let descriptors = herald::server::limits::raise_descriptor_limit().unwrap_or(20_000);
    let flood = usize::try_from(descriptors)
        .unwrap()
        .saturating_sub(300)
        .min(19_700);
    let cap = (flood / 2).min(10_000);
    // Long enough to open the whole flood on a busy machine with a debug build.
    let header_timeout = Duration::from_secs(30);
    let dir = tempfile::tempdir().unwrap();
    let database = format!("sqlite://{}/herald.db?mode=rwc", dir.path().display());
    let node = Node::start(
        &database,
        &[
            ("HERALD_HTTP__MAX_CONNECTIONS", &cap.to_string()),
            ("HERALD_HTTP__HEADER_READ_TIMEOUT_SECONDS", "30"),
        ],
    )
    .await;
    let started = node
        .log_entry("herald listening", |e| {
            e["fields"]["message"] == "herald listening"
        })
        .await;
    assert_eq!(started["fields"]["max_connections"], cap as u64);
    let address = node.url.trim_start_matches("http://").to_string();

    // Half send nothing, half send half a request line; each is watched until it closes.
    let opening = Instant::now();
    let mut watchers = Vec::with_capacity(flood);
    for i in 0..flood {
        let mut stream = TcpStream::connect(&address).await.expect("connects");
        if i % 2 == 1 {
            stream.write_all(b"GET /healthz HT").await.unwrap();
        }
        watchers.push(tokio::spawn(async move {
            let opened = Instant::now();
            let mut got = Vec::new();
            let read = stream.read_to_end(&mut got).await;
            Ended {
                // A refused connection whose half request Herald never read may be reset
                // before its 503 arrives; a held one is closed, never reset.
                refused: got.starts_with(b"HTTP/1.1 503") || read.is_err(),
                after: opened.elapsed(),
            }
        }));
    }
    let opened_in = opening.elapsed();
    assert!(
        opened_in < header_timeout,
        "opening the flood took {opened_in:?}, longer than the timeout it tests"
    );

    // While the flood holds every slot, a newcomer is told so at once, in the seed's shape.
    let mut newcomer = TcpStream::connect(&address).await.unwrap();
    newcomer
        .write_all(b"GET /healthz HTTP/1.1\r\nhost: h\r\n\r\n")
        .await
        .unwrap();
    let mut answer = Vec::new();
    tokio::time::timeout(Duration::from_secs(5), newcomer.read_to_end(&mut answer))
        .await
        .expect("a connection over the cap is answered at once")
        .ok();
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 503"), "{answer}");
    assert!(answer.contains("\"TOO_MANY_CONNECTIONS\""), "{answer}");

    let mut held = 0;
    let mut refused = 0;
    for watcher in watchers {
        let ended = watcher.await.unwrap();
        if ended.refused {
            refused += 1;
            assert!(
                ended.after < Duration::from_secs(5),
                "refused after {:?}",
                ended.after
            );
        } else {
            held += 1;
            assert!(
                ended.after >= header_timeout - Duration::from_millis(500),
                "a held connection closed early, after {:?}",
                ended.after
            );
            assert!(
                ended.after < header_timeout + Duration::from_secs(10),
                "a held connection stayed open {:?}",
                ended.after
            );
        }
    }
    assert_eq!(held, cap, "connections held, with a cap of {cap}");
    assert_eq!(refused, flood - cap, "connections refused over the cap");

    // The flood has timed out: Herald answers at once, and never ran out of descriptors.
    let health = reqwest::Client::new()
        .get(format!("{}/healthz", node.url))
        .timeout(Duration::from_secs(5))
        .send()
        .await
        .expect("/healthz answers after the flood");
    assert_eq!(health.status(), 200);
    let log = node.log_lines().join("\n");
    assert!(!log.contains("Too many open files"), "descriptors ran out");
    assert!(!log.contains("cannot accept connections"), "accepts failed");
    assert!(
        log.contains("refusing connections"),
        "the refusals are logged"
    );
}
