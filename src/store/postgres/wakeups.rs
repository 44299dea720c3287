//! Wakes this process's idle workers when any process queues work: the store's writes
//! `NOTIFY` a channel in the transaction that queues the work (so the signal goes out on
//! commit, never for work that was rolled back), and this relay `LISTEN`s on both channels.
//! It also relays announced directory changes, so this process's cache drops stale copies.
//!
//! Notifications are only a shortcut: workers also poll, so a listener that is down (or a
//! notification lost while it reconnects) delays work by at most one poll interval.

use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgListener, PgPoolOptions};
use tokio_util::sync::CancellationToken;

use super::{ACQUIRE_TIMEOUT, CALLBACKS_CHANNEL, DIRECTORY_CHANNEL, JOBS_CHANNEL};
use crate::store::{Change, Wakeups};

const FIRST_BACKOFF: Duration = Duration::from_millis(500);
const MAX_BACKOFF: Duration = Duration::from_secs(30);

pub(super) async fn relay(
    options: PgConnectOptions,
    wakeups: Wakeups,
    shutdown: CancellationToken,
) {
    let mut backoff = FIRST_BACKOFF;
    loop {
        match listen(&options, &wakeups, &shutdown, &mut backoff).await {
            Ok(()) => return,
            Err(e) => tracing::warn!(
                error = %e,
                retry_in = ?backoff,
                "listening for wake-ups failed; workers keep polling"
            ),
        }
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tokio::time::sleep(backoff) => {}
        }
        backoff = (backoff * 2).min(MAX_BACKOFF);
    }
}

/// Relays notifications until `shutdown` (`Ok`) or until the connection fails for good.
async fn listen(
    options: &PgConnectOptions,
    wakeups: &Wakeups,
    shutdown: &CancellationToken,
    backoff: &mut Duration,
) -> Result<(), sqlx::Error> {
    // A pool of its own, so the listener never holds one of the connections queries need;
    // `PgListener` reconnects through it when its connection drops.
    let pool = PgPoolOptions::new()
        .max_connections(1)
        .acquire_timeout(ACQUIRE_TIMEOUT)
        .max_lifetime(None)
        .idle_timeout(None)
        .connect_with(options.clone())
        .await?;
    let mut listener = PgListener::connect_with(&pool).await?;
    listener
        .listen_all([JOBS_CHANNEL, CALLBACKS_CHANNEL, DIRECTORY_CHANNEL])
        .await?;
    *backoff = FIRST_BACKOFF;
    // Work queued while nobody listened would otherwise wait for a poll.
    wake_all(wakeups);
    loop {
        let received = tokio::select! {
            _ = shutdown.cancelled() => return Ok(()),
            received = listener.try_recv() => received?,
        };
        match received {
            Some(n) if n.channel() == JOBS_CHANNEL => wakeups.jobs.notify_one(),
            Some(n) if n.channel() == CALLBACKS_CHANNEL => wakeups.callbacks.notify_one(),
            Some(n) if n.channel() == DIRECTORY_CHANNEL => {
                let _ = wakeups.changes.send(Change::from_payload(n.payload()));
            }
            Some(_) => {}
            // The connection dropped and was re-established: anything sent meanwhile is lost.
            None => wake_all(wakeups),
        }
    }
}

/// After a gap in listening: work may be waiting and directory rows may have changed.
fn wake_all(wakeups: &Wakeups) {
    wakeups.jobs.notify_one();
    wakeups.callbacks.notify_one();
    let _ = wakeups.changes.send(Change::Everything);
}
