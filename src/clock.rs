//! The time the delivery rules see. Production reads the system clock; tests move a manual
//! clock forward to expire opt-in waits, rate-limit windows and locks without waiting a day.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use time::OffsetDateTime;

#[derive(Clone, Debug, Default)]
pub struct Clock {
    /// Added to the system time; only a manual clock ever changes it.
    offset_ms: Arc<AtomicI64>,
}

impl Clock {
    pub fn system() -> Self {
        Self::default()
    }

    pub fn now(&self) -> OffsetDateTime {
        let offset = self.offset_ms.load(Ordering::Relaxed);
        OffsetDateTime::now_utc() + time::Duration::milliseconds(offset)
    }

    /// Moves this clock (and every copy of it) forward.
    pub fn advance(&self, by: std::time::Duration) {
        self.offset_ms
            .fetch_add(by.as_millis() as i64, Ordering::Relaxed);
    }

    /// Moves this clock (and every copy of it) forward to `at`; a time it has passed already
    /// leaves it where it is (the clock never goes back).
    pub fn advance_to(&self, at: OffsetDateTime) {
        let ahead = at - self.now();
        if ahead.is_positive() {
            // Rounded up: the clock reads `at` or a moment after, never a moment before.
            let ms = (ahead.whole_microseconds() + 999) / 1000;
            self.offset_ms.fetch_add(ms as i64, Ordering::Relaxed);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copies_move_together() {
        let clock = Clock::system();
        let copy = clock.clone();
        let before = copy.now();
        clock.advance(std::time::Duration::from_secs(86_400));
        assert!(copy.now() - before >= time::Duration::hours(24));
    }

    #[test]
    fn advancing_to_a_time_never_goes_back() {
        let clock = Clock::system();
        let target = clock.now() + time::Duration::days(3);
        clock.advance_to(target);
        let now = clock.now();
        assert!(now >= target && now - target < time::Duration::seconds(5));
        clock.advance_to(target - time::Duration::days(1));
        assert!(clock.now() >= now);
    }
}
