//! Retry delays, for delivery attempts and callbacks alike: a configured schedule of base
//! delays, each jittered, with `Retry-After` honoured (and clamped) when the other side sent
//! one.

use std::time::Duration;

use rand::Rng;

/// The longest `Retry-After` Herald will wait: a receiver asking for more should not park a
/// callback (and every later event of its message) for longer than a day.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(86_400);

/// The delay before retry number `retry` (0 = the first retry) under `schedule_seconds`, each
/// step jittered by ±`jitter` (0.2 = ±20%); `None` once the schedule is exhausted.
/// A `retry_after` longer than the step wins, clamped to at most one day.
pub fn next_delay(
    schedule_seconds: &[u64],
    retry: usize,
    jitter: f64,
    retry_after: Option<Duration>,
) -> Option<Duration> {
    let base = *schedule_seconds.get(retry)?;
    let delay = jittered(base, jitter);
    Some(match retry_after {
        Some(asked) if asked > delay => asked.min(MAX_RETRY_AFTER).max(delay),
        _ => delay,
    })
}

/// `base` seconds spread uniformly over [base·(1−jitter), base·(1+jitter)], so that callbacks
/// that failed together do not all come back at the same moment.
fn jittered(base: u64, jitter: f64) -> Duration {
    let base_duration = Duration::from_secs(base);
    // A jitter outside [0, 1] (or NaN) from a bad config must not give a negative delay.
    let jitter = if jitter.is_finite() {
        jitter.clamp(0.0, 1.0)
    } else {
        0.0
    };
    if base == 0 || jitter == 0.0 {
        return base_duration;
    }
    let base = base as f64;
    let seconds = rand::rng().random_range(base * (1.0 - jitter)..=base * (1.0 + jitter));
    Duration::try_from_secs_f64(seconds).unwrap_or(base_duration)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SCHEDULE: [u64; 8] = [0, 5, 300, 1_800, 7_200, 18_000, 36_000, 36_000];

    #[test]
    fn every_draw_stays_within_the_jitter_bounds() {
        for (retry, &base) in SCHEDULE.iter().enumerate() {
            let low = Duration::from_secs_f64(base as f64 * 0.8);
            let high = Duration::from_secs_f64(base as f64 * 1.2);
            for _ in 0..1_000 {
                let delay = next_delay(&SCHEDULE, retry, 0.2, None).expect("within schedule");
                assert!(
                    low <= delay && delay <= high,
                    "{delay:?} outside {low:?}..={high:?}"
                );
            }
        }
    }

    #[test]
    fn draws_actually_vary() {
        let draws: std::collections::HashSet<Duration> = (0..100)
            .filter_map(|_| next_delay(&SCHEDULE, 2, 0.2, None))
            .collect();
        assert!(draws.len() > 1);
    }

    #[test]
    fn the_schedule_runs_out() {
        assert!(next_delay(&SCHEDULE, SCHEDULE.len() - 1, 0.2, None).is_some());
        assert_eq!(next_delay(&SCHEDULE, SCHEDULE.len(), 0.2, None), None);
        assert_eq!(next_delay(&SCHEDULE, usize::MAX, 0.2, None), None);
        assert_eq!(next_delay(&[], 0, 0.2, None), None);
    }

    #[test]
    fn zero_stays_zero() {
        for _ in 0..100 {
            assert_eq!(next_delay(&[0], 0, 0.2, None), Some(Duration::ZERO));
        }
    }

    #[test]
    fn no_jitter_gives_the_base() {
        assert_eq!(
            next_delay(&[300], 0, 0.0, None),
            Some(Duration::from_secs(300))
        );
    }

    #[test]
    fn an_unreasonable_jitter_never_goes_negative() {
        for jitter in [-1.0, 5.0, f64::NAN, f64::INFINITY] {
            let delay = next_delay(&[10], 0, jitter, None).expect("within schedule");
            assert!(delay <= Duration::from_secs(20), "{jitter}: {delay:?}");
        }
    }

    #[test]
    fn a_longer_retry_after_wins() {
        let asked = Duration::from_secs(600);
        assert_eq!(next_delay(&SCHEDULE, 1, 0.2, Some(asked)), Some(asked));
    }

    #[test]
    fn a_shorter_retry_after_does_not_shorten_the_step() {
        let delay = next_delay(&SCHEDULE, 3, 0.2, Some(Duration::from_secs(1))).expect("step");
        assert!(delay >= Duration::from_secs(1_440));
    }

    #[test]
    fn retry_after_is_clamped_to_a_day() {
        let asked = Duration::from_secs(30 * 86_400);
        assert_eq!(
            next_delay(&SCHEDULE, 0, 0.2, Some(asked)),
            Some(MAX_RETRY_AFTER)
        );
    }
}
