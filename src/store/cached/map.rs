//! One map of the directory cache: entries expire after a fixed time, and an entry read from
//! the database is only kept if nothing was invalidated while it was being read (otherwise a
//! slow read could put back a value a concurrent write had just replaced).

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::Mutex;
use std::time::{Duration, Instant};

pub(super) struct TtlMap<K, V> {
    ttl: Duration,
    capacity: usize,
    inner: Mutex<Inner<K, V>>,
}

struct Inner<K, V> {
    entries: HashMap<K, (V, Instant)>,
    /// Bumped by every invalidation; see [`TtlMap::insert_unless_changed`].
    generation: u64,
}

impl<K: Eq + Hash, V: Clone> TtlMap<K, V> {
    pub(super) fn new(ttl: Duration, capacity: usize) -> Self {
        Self {
            ttl,
            capacity,
            inner: Mutex::new(Inner {
                entries: HashMap::new(),
                generation: 0,
            }),
        }
    }

    /// The fresh entry for `key`, if any.
    pub(super) fn get(&self, key: &K) -> Option<V> {
        let inner = self.lock();
        inner
            .entries
            .get(key)
            .filter(|(_, at)| at.elapsed() < self.ttl)
            .map(|(v, _)| v.clone())
    }

    /// Taken before reading the database; hand it back to `insert_unless_changed`.
    pub(super) fn generation(&self) -> u64 {
        self.lock().generation
    }

    /// Keeps `value` unless an invalidation happened since `generation` was taken.
    pub(super) fn insert_unless_changed(&self, generation: u64, key: K, value: V) {
        let mut inner = self.lock();
        if inner.generation != generation {
            return;
        }
        if inner.entries.len() >= self.capacity {
            let ttl = self.ttl;
            inner.entries.retain(|_, (_, at)| at.elapsed() < ttl);
            if inner.entries.len() >= self.capacity {
                inner.entries.clear();
            }
        }
        inner.entries.insert(key, (value, Instant::now()));
    }

    pub(super) fn invalidate(&self, key: &K) {
        let mut inner = self.lock();
        inner.generation += 1;
        inner.entries.remove(key);
    }

    pub(super) fn clear(&self) {
        let mut inner = self.lock();
        inner.generation += 1;
        inner.entries.clear();
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner<K, V>> {
        // The map holds only copies of stored rows: a panic elsewhere cannot leave it wrong.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map() -> TtlMap<u32, &'static str> {
        TtlMap::new(Duration::from_secs(60), 2)
    }

    #[test]
    fn keeps_what_was_read_when_nothing_changed() {
        let m = map();
        let g = m.generation();
        m.insert_unless_changed(g, 1, "one");
        assert_eq!(m.get(&1), Some("one"));
    }

    #[test]
    fn drops_a_read_that_raced_an_invalidation() {
        let m = map();
        let g = m.generation();
        m.invalidate(&1); // a write landed while the read was in flight
        m.insert_unless_changed(g, 1, "stale");
        assert_eq!(m.get(&1), None);
    }

    #[test]
    fn invalidation_and_clear_remove_entries() {
        let m = map();
        m.insert_unless_changed(m.generation(), 1, "one");
        m.insert_unless_changed(m.generation(), 2, "two");
        m.invalidate(&1);
        assert_eq!(m.get(&1), None);
        assert_eq!(m.get(&2), Some("two"));
        m.clear();
        assert_eq!(m.get(&2), None);
    }

    #[test]
    fn expired_entries_are_not_served() {
        let m = TtlMap::new(Duration::ZERO, 2);
        m.insert_unless_changed(m.generation(), 1, "one");
        assert_eq!(m.get(&1), None);
    }

    #[test]
    fn stays_within_capacity() {
        let m = map();
        for k in 0..10 {
            m.insert_unless_changed(m.generation(), k, "v");
        }
        assert!(m.lock().entries.len() <= 2);
        assert_eq!(m.get(&9), Some("v"));
    }
}
