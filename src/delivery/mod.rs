//! The worker side: claim a due job, decide, send, record; retry with backoff.

pub mod backoff;
