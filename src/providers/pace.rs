//! A per-sender pace: at most N messages a second leave from one sender number, so a burst
//! waits in Herald's durable queue instead of piling up in the provider's own queue (where
//! Twilio holds at most a few hours of a number's traffic before failing it).
//!
//! A message that must wait is given the sender's next free slot and told to come back then;
//! the slot stays its own, so coming back it goes out instead of queueing behind later
//! arrivals. The pace is kept in this process: several nodes each keep their own.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use uuid::Uuid;

/// A message coming back this early for its slot is let through.
const EARLY_TOLERANCE: Duration = Duration::from_millis(20);
/// Slots reserved by messages that never came back are forgotten after this long.
const FORGET_AFTER: Duration = Duration::from_secs(3600);

pub struct Pace {
    interval: Duration,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    /// Per sender, the earliest time its next message may leave.
    next_free: HashMap<String, Instant>,
    /// Slots given to messages that were told to wait.
    reserved: HashMap<Uuid, Instant>,
}

impl Pace {
    /// `None` unless `per_second` is a positive number.
    pub fn per_second(per_second: f64) -> Option<Self> {
        (per_second.is_finite() && per_second > 0.0).then(|| Self {
            interval: Duration::from_secs_f64(1.0 / per_second),
            state: Mutex::default(),
        })
    }

    /// `Ok` when `message` may leave from `sender` now; otherwise how long it must wait.
    pub fn take(&self, sender: &str, message: Uuid) -> Result<(), Duration> {
        self.take_at(sender, message, Instant::now())
    }

    fn take_at(&self, sender: &str, message: Uuid, now: Instant) -> Result<(), Duration> {
        let mut state = self.state.lock().expect("pace lock");
        if let Some(slot) = state.reserved.get(&message).copied() {
            if slot <= now + EARLY_TOLERANCE {
                state.reserved.remove(&message);
                return Ok(());
            }
            return Err(slot - now);
        }
        let slot = state
            .next_free
            .get(sender)
            .map_or(now, |&free| free.max(now));
        state
            .next_free
            .insert(sender.to_string(), slot + self.interval);
        if state.next_free.len() > 10_000 || state.reserved.len() > 10_000 {
            state.next_free.retain(|_, free| *free > now);
            state.reserved.retain(|_, slot| *slot + FORGET_AFTER > now);
        }
        if slot <= now {
            Ok(())
        } else {
            state.reserved.insert(message, slot);
            Err(slot - now)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_is_spread_one_interval_apart() {
        let pace = Pace::per_second(2.0).unwrap();
        let now = Instant::now();
        let ids: Vec<Uuid> = (0..3).map(|_| Uuid::new_v4()).collect();
        assert_eq!(pace.take_at("+1415", ids[0], now), Ok(()));
        assert_eq!(
            pace.take_at("+1415", ids[1], now),
            Err(Duration::from_millis(500))
        );
        assert_eq!(
            pace.take_at("+1415", ids[2], now),
            Err(Duration::from_millis(1000))
        );
        // Another sender is not held back.
        assert_eq!(pace.take_at("+1212", Uuid::new_v4(), now), Ok(()));
    }

    #[test]
    fn a_message_keeps_its_slot() {
        let pace = Pace::per_second(1.0).unwrap();
        let now = Instant::now();
        let (first, second, third) = (Uuid::new_v4(), Uuid::new_v4(), Uuid::new_v4());
        assert_eq!(pace.take_at("+1415", first, now), Ok(()));
        let wait = pace.take_at("+1415", second, now).unwrap_err();
        assert_eq!(pace.take_at("+1415", third, now), Err(wait * 2));
        // Too early: the same slot, not a new one.
        assert_eq!(pace.take_at("+1415", second, now + wait / 2), Err(wait / 2));
        assert_eq!(pace.take_at("+1415", second, now + wait), Ok(()));
        assert_eq!(pace.take_at("+1415", third, now + wait * 2), Ok(()));
    }

    #[test]
    fn no_pace_without_a_positive_rate() {
        assert!(Pace::per_second(0.0).is_none());
        assert!(Pace::per_second(-1.0).is_none());
        assert!(Pace::per_second(f64::NAN).is_none());
    }
}
