//! Retry delays: a configured schedule of base delays, each jittered, with `Retry-After`
//! honoured (and clamped) when the other side sent one.

use std::time::Duration;

/// The delay before retry number `retry` (0 = the first retry) under `schedule_seconds`, each
/// step jittered by ±`jitter` (0.2 = ±20%); `None` once the schedule is exhausted.
/// A `retry_after` longer than the step wins, clamped to at most one day.
pub fn next_delay(
    schedule_seconds: &[u64],
    retry: usize,
    jitter: f64,
    retry_after: Option<Duration>,
) -> Option<Duration> {
    let _ = (schedule_seconds, retry, jitter, retry_after);
    todo!("STUB: filled in by the callbacks work")
}
