//! A store recovers from storage faults by itself. SQLite: a real full disk (a small tmpfs),
//! whose commits fail; once space returns, the very next write lands, without a restart, and
//! nothing of a refused write is kept. Both backends: readiness is a real write.

#[path = "../support/tmpfs.rs"]
mod tmpfs;

use std::time::{Duration, Instant};

use herald::domain::directory::{Dealer, Department};
use herald::domain::message::*;
use herald::store::sqlite::SqliteStore;
use herald::store::{Lifecycle, MessageStore, NewJob, Store};
use time::OffsetDateTime;
use uuid::Uuid;

/// How long readiness may take to come back once writes succeed again.
const PATIENCE: Duration = Duration::from_secs(15);
/// A body large enough that a few messages take more WAL pages than the probe's one row.
const LARGE_BODY: usize = 256 * 1024;

async fn tenant(store: &dyn Store) -> (Dealer, Department) {
    let dealer = crate::suite::dealer(store).await;
    let department = crate::suite::department(store, &dealer).await;
    (dealer, department)
}

fn message(dealer: &Dealer, department: &Department, body: String) -> Message {
    Message {
        body,
        ..crate::suite::message(dealer, department, OffsetDateTime::now_utc())
    }
}

/// Accepts one message with a due job, as a send does; its uuid and the outcome.
async fn accept(
    store: &dyn Store,
    tenant: &(Dealer, Department),
    body_len: usize,
) -> (Uuid, Result<(), String>) {
    let m = message(&tenant.0, &tenant.1, "x".repeat(body_len));
    let job = NewJob {
        due_at: m.created_at,
        lease: None,
    };
    let outcome = store.accept_message(&m, Some(job), None, None).await;
    (m.uuid, outcome.map(|_| ()).map_err(|e| e.to_string()))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_writes_resume_once_a_full_disk_has_room_again() {
    let Some(disk) = tmpfs::Tmpfs::mount(4 * 1024) else {
        return;
    };
    let url = format!("sqlite://{}", disk.path().join("herald.db").display());
    let store = SqliteStore::connect(&url).await.unwrap();
    store.migrate().await.unwrap();
    let tenant = tenant(&store).await;

    let filler = disk.fill();
    let mut kept = Vec::new();
    let mut refused = Vec::new();
    for _ in 0..200 {
        let (uuid, outcome) = accept(&store, &tenant, LARGE_BODY).await;
        match outcome {
            Ok(()) => kept.push(uuid),
            Err(e) => {
                refused.push((uuid, e));
                if refused.len() == 3 {
                    break;
                }
            }
        }
    }
    assert_eq!(refused.len(), 3, "a full disk refuses writes");
    // Room for the probe's one row, not for a large write: ready must not follow from the
    // probe alone.
    filler.give_back(64);
    let probed = probed_at(&url).await;
    let not_ready = store.check_writable().await;
    assert!(
        probed_at(&url).await > probed,
        "the probe row fits ({not_ready:?})"
    );
    assert!(
        not_ready.is_err(),
        "not ready while writes fail, though the probe fit"
    );
    let (_, outcome) = accept(&store, &tenant, LARGE_BODY).await;
    assert!(outcome.is_err(), "large writes still fail");
    filler.free();

    // The very next write lands: no restart, no retry.
    let (uuid, outcome) = accept(&store, &tenant, LARGE_BODY).await;
    outcome.expect("the first write once space returns");
    kept.push(uuid);
    for (uuid, e) in &refused {
        assert!(
            store.message(*uuid).await.unwrap().is_none(),
            "a refused write ({e}) keeps nothing"
        );
    }
    for uuid in &kept {
        assert!(store.message(*uuid).await.unwrap().is_some(), "kept {uuid}");
    }
    ready_within(&store, PATIENCE).await;
    drop(store);
}

/// When the probe row was last rewritten, read beside the store.
async fn probed_at(url: &str) -> i64 {
    use sqlx::Connection;
    let mut conn = sqlx::SqliteConnection::connect(&format!("{url}?mode=ro"))
        .await
        .unwrap();
    let at = sqlx::query_scalar("SELECT probed_at FROM herald_health")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    let _ = conn.close().await;
    at
}

/// Polls `check_writable` until it succeeds; panics after `patience`.
async fn ready_within(store: &dyn Store, patience: Duration) {
    let started = Instant::now();
    loop {
        match store.check_writable().await {
            Ok(()) => return,
            Err(e) if started.elapsed() > patience => {
                panic!("still not writable after {patience:?}: {e}")
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_store_is_writable_once_migrated() {
    let (store, _dir) = crate::sqlite_store().await.unwrap();
    store.check_writable().await.unwrap();
    store.check_writable().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_store_is_writable_once_migrated() {
    let Some((store, guard)) = crate::postgres_store().await else {
        return;
    };
    store.check_writable().await.unwrap();
    store.check_writable().await.unwrap();
    drop(store);
    drop(guard);
}
