//! How many connections this process can serve: the file-descriptor limit, raised at start,
//! and the connection cap that fits under it.

use rustix::process::{Resource, Rlimit, getrlimit, setrlimit};

/// Descriptors kept free for everything that is not a client connection: the database pool,
/// provider and callback connections, the log, files a backup opens.
const RESERVE_MIN: u64 = 64;
const RESERVE_MAX: u64 = 1024;

/// Linux refuses an unlimited open-file limit; this is its default ceiling (`fs.nr_open`).
const UNLIMITED_TARGET: u64 = 1 << 20;

/// Raises the soft open-file limit to the hard one (a service manager's default soft limit,
/// often 1,024, is far below what an HTTP server needs) and returns the soft limit now in
/// force, or `None` when it is unlimited.
pub fn raise_descriptor_limit() -> Option<u64> {
    let limit = getrlimit(Resource::Nofile);
    let target = limit.maximum.unwrap_or(UNLIMITED_TARGET);
    if limit.current.is_some_and(|current| current < target) {
        let raised = Rlimit {
            current: Some(target),
            maximum: limit.maximum,
        };
        if let Err(e) = setrlimit(Resource::Nofile, raised) {
            tracing::warn!(error = %e, soft = ?limit.current, hard = ?limit.maximum,
                "could not raise the open-file limit");
        }
    }
    getrlimit(Resource::Nofile).current
}

/// The configured cap, lowered so that a full house of connections still leaves descriptors
/// for the rest of Herald: past the cap a connection is refused at once, so running out of
/// descriptors (and failing every accept, database open and outgoing call) cannot happen.
pub fn connection_cap(configured: usize, descriptors: Option<u64>) -> usize {
    let Some(descriptors) = descriptors else {
        return configured;
    };
    let reserve = (descriptors / 10).clamp(RESERVE_MIN, RESERVE_MAX);
    let room = descriptors.saturating_sub(reserve).max(1);
    configured.min(usize::try_from(room).unwrap_or(usize::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cap_leaves_room_under_the_descriptor_limit() {
        assert_eq!(connection_cap(10_000, Some(20_000)), 10_000);
        assert_eq!(connection_cap(50_000, Some(20_000)), 18_976);
        assert_eq!(connection_cap(10_000, Some(1_024)), 922);
        assert_eq!(connection_cap(10_000, Some(100)), 36);
        assert_eq!(connection_cap(10_000, Some(10)), 1);
        assert_eq!(connection_cap(10_000, None), 10_000);
    }

    #[test]
    fn the_soft_limit_is_raised_to_the_hard_one() {
        let soft = raise_descriptor_limit();
        assert_eq!(soft, getrlimit(Resource::Nofile).maximum.or(soft));
    }
}
