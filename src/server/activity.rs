//! What one connection is doing, and so when it must be closed: a request's line and
//! headers have `header_read_timeout` to arrive (from the connection opening, or from the
//! first byte of a later request on a kept-alive connection); a kept-alive connection with
//! no request at all is closed after `idle_timeout`; a connection with a request in
//! progress is never cut here (the request timeout bounds the request).
//!
//! Hyper's own `header_read_timeout` cannot be used: it also runs while a kept-alive
//! connection waits for its next request, so every idle connection would close at the
//! header timeout and the idle timeout would mean nothing.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use tokio::sync::Notify;
use tokio::time::Instant;

#[derive(Debug, Clone, Copy)]
pub struct Timeouts {
    pub header_read: Duration,
    pub idle: Duration,
}

pub struct Activity {
    timeouts: Timeouts,
    state: Mutex<State>,
    /// Set while a kept-alive connection waits with nothing of its next request read, so a
    /// read can tell cheaply whether it starts a request.
    idle: AtomicBool,
    /// Woken when the deadline moves later or earlier than the one being waited for.
    pub changed: Notify,
}

#[derive(Debug)]
struct State {
    in_flight: usize,
    /// With nothing in flight: when the wait began (the connection opened, the last
    /// response, or the first byte of the next request).
    since: Instant,
    /// Whether `since` starts a request (header timeout) or idleness (idle timeout).
    reading_head: bool,
}

impl Activity {
    pub fn new(timeouts: Timeouts) -> Self {
        Self {
            timeouts,
            state: Mutex::new(State {
                in_flight: 0,
                since: Instant::now(),
                reading_head: true,
            }),
            idle: AtomicBool::new(false),
            changed: Notify::new(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // The state is a few plain fields always left consistent: a poisoned lock still
        // holds a usable value.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Bytes were read from the client.
    pub fn bytes_arrived(&self) {
        if !self.idle.load(Ordering::Relaxed) {
            return;
        }
        let mut state = self.lock();
        if state.in_flight == 0 && !state.reading_head {
            state.reading_head = true;
            state.since = Instant::now();
        }
        self.idle.store(false, Ordering::Relaxed);
        drop(state);
        self.changed.notify_one();
    }

    /// Hyper has read a request's head and hands the request to the router.
    pub fn request_started(&self) {
        let mut state = self.lock();
        state.in_flight += 1;
        self.idle.store(false, Ordering::Relaxed);
    }

    /// The router has answered (or the request was dropped).
    pub fn request_finished(&self) {
        let mut state = self.lock();
        state.in_flight = state.in_flight.saturating_sub(1);
        if state.in_flight == 0 {
            state.since = Instant::now();
            state.reading_head = false;
            self.idle.store(true, Ordering::Relaxed);
        }
        drop(state);
        self.changed.notify_one();
    }

    /// When the connection is to be closed if nothing changes; `None` while a request runs.
    pub fn deadline(&self) -> Option<Instant> {
        let state = self.lock();
        if state.in_flight > 0 {
            return None;
        }
        let timeout = if state.reading_head {
            self.timeouts.header_read
        } else {
            self.timeouts.idle
        };
        Some(state.since + timeout)
    }
}

/// Counts a request as finished when dropped, however its future ends.
pub struct InFlight(pub std::sync::Arc<Activity>);

impl InFlight {
    pub fn start(activity: std::sync::Arc<Activity>) -> Self {
        activity.request_started();
        Self(activity)
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.request_finished();
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    fn timeouts() -> Timeouts {
        Timeouts {
            header_read: Duration::from_secs(10),
            idle: Duration::from_secs(60),
        }
    }

    #[tokio::test(start_paused = true)]
    async fn deadlines_follow_the_connection() {
        let activity = Arc::new(Activity::new(timeouts()));
        let opened = Instant::now();
        assert_eq!(activity.deadline(), Some(opened + Duration::from_secs(10)));
        // The first request's bytes do not move the header deadline.
        tokio::time::advance(Duration::from_secs(3)).await;
        activity.bytes_arrived();
        assert_eq!(activity.deadline(), Some(opened + Duration::from_secs(10)));

        let request = InFlight::start(activity.clone());
        assert_eq!(activity.deadline(), None, "a running request is never cut");
        tokio::time::advance(Duration::from_secs(100)).await;
        drop(request);
        let answered = Instant::now();
        assert_eq!(
            activity.deadline(),
            Some(answered + Duration::from_secs(60))
        );

        tokio::time::advance(Duration::from_secs(20)).await;
        activity.bytes_arrived();
        let next = Instant::now();
        assert_eq!(
            activity.deadline(),
            Some(next + Duration::from_secs(10)),
            "the next request's head has the header timeout from its first byte"
        );
    }
}
