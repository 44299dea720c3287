//! Where connections enter: Herald's own accept loop in front of the router, so that no
//! client can take the server's descriptors or hold a connection forever. Connections past
//! the cap are answered `503` and closed at once ([`answers`]); each connection has a header
//! read and an idle deadline ([`activity`]); shutdown stops accepting and drains ([`conn`]).

mod activity;
mod answers;
mod conn;
mod io;
pub mod limits;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use axum::Router;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

pub use activity::Timeouts;

/// Serves `router` on `listener` until `shutdown`, then waits for every connection to finish
/// its request in progress.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    timeouts: Timeouts,
    max_connections: usize,
    shutdown: CancellationToken,
) {
    let slots = Arc::new(Semaphore::new(max_connections));
    let connections = TaskTracker::new();
    let refusals = Refusals::default();
    loop {
        let accepted = tokio::select! {
            () = shutdown.cancelled() => break,
            accepted = listener.accept() => accepted,
        };
        let stream = match accepted {
            Ok((stream, _peer)) => stream,
            Err(e) => {
                accept_failed(&e).await;
                continue;
            }
        };
        let Ok(slot) = slots.clone().try_acquire_owned() else {
            refusals.refuse(stream, max_connections);
            continue;
        };
        // Answers go out in one write each; waiting to coalesce them only adds latency.
        let _ = stream.set_nodelay(true);
        let (router, shutdown) = (router.clone(), shutdown.clone());
        connections.spawn(async move {
            conn::serve(stream, router, timeouts, shutdown).await;
            drop(slot);
        });
    }
    drop(listener);
    connections.close();
    connections.wait().await;
}

/// An accept that failed: a client that gave up before it was accepted is nothing to
/// report; running out of descriptors (another part of Herald, or an operator's limit set
/// below the cap's reserve) is, and waits a moment so the loop does not spin.
async fn accept_failed(e: &std::io::Error) {
    use std::io::ErrorKind::{ConnectionAborted, ConnectionReset, Interrupted};
    if matches!(e.kind(), ConnectionAborted | ConnectionReset | Interrupted) {
        return;
    }
    static LAST_WARNED: AtomicU64 = AtomicU64::new(0);
    if once_a_second(&LAST_WARNED) {
        tracing::warn!(error = %e, "cannot accept connections");
    }
    tokio::time::sleep(Duration::from_millis(50)).await;
}

/// Connections refused over the cap, reported at most once a second with their count.
#[derive(Default)]
struct Refusals {
    last_warned: AtomicU64,
    since_warned: AtomicU64,
}

impl Refusals {
    fn refuse(&self, stream: TcpStream, cap: usize) {
        // One non-blocking write into an empty send buffer; if it does not fit, the close
        // alone tells the client. What the client already sent is read first, so the close
        // is a normal one and not a reset that could discard the answer.
        let mut sent = [0u8; 4096];
        for _ in 0..16 {
            if !matches!(stream.try_read(&mut sent), Ok(n) if n > 0) {
                break;
            }
        }
        let _ = stream.try_write(&answers::over_capacity(cap));
        drop(stream);
        let refused = self.since_warned.fetch_add(1, Ordering::Relaxed) + 1;
        if once_a_second(&self.last_warned) {
            self.since_warned.store(0, Ordering::Relaxed);
            tracing::warn!(
                refused,
                max_connections = cap,
                "refusing connections: Herald is serving its maximum ([http] max_connections)"
            );
        }
    }
}

/// Whether a second has passed since `last` (Unix seconds), taking the turn if so.
fn once_a_second(last: &AtomicU64) -> bool {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let before = last.load(Ordering::Relaxed);
    now > before
        && last
            .compare_exchange(before, now, Ordering::Relaxed, Ordering::Relaxed)
            .is_ok()
}
