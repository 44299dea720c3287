//! The worker side: claim a due job, decide, send, record; retry with backoff.
//!
//! A job is claimed with a lease and the claim is committed before any provider call, so no
//! database lock is held while a provider answers. Results are recorded only while the lease
//! is still held; a worker that dies loses its lease and another worker takes the job.

mod doubt;
mod facts;
mod handover;
mod optin_wait;
mod outcome;
pub mod own_messages;
mod plan;
mod receipts;
mod record;
mod step;
mod workers;

pub use record::callback;
pub use step::{Deliverer, Mode};
pub use workers::run_workers;

use std::time::Duration;

/// Jobs one worker claims at a time, and sends side by side.
pub const CLAIM_BATCH: u32 = 64;

/// How often each node counts its delivery queue for `herald_delivery_queue_depth`.
pub const QUEUE_DEPTH_INTERVAL: Duration = Duration::from_secs(1);

/// How often idle workers look for due jobs (retries, expired leases) without a wake-up.
pub const POLL_INTERVAL: Duration = Duration::from_millis(200);
