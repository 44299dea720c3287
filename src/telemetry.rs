//! Structured logs through `tracing`, on standard error. Filter with `RUST_LOG` (default `info`).
//! Nothing secret is ever a field: credentials, tokens and message bodies stay out of logs.
//!
//! Logging never stops serving: lines go through a bounded queue to a thread of their own,
//! which writes them to stderr. A stderr nobody reads (a full pipe) blocks only that thread and
//! then the queue drops lines; a closed one (`herald serve 2>&1 | head -1`) loses them. Neither
//! blocks a request, panics, or keeps Herald from stopping.
//!
//! What used to wedge `herald serve 2>&1 | head -1`: `tracing_subscriber::fmt()` reports a
//! failed write with `eprintln!`, which panics when stderr is closed too. Every request's log
//! line then panicked its connection task (empty replies), and the signal task panicked on
//! its "shutting down" line before it could stop anything (SIGTERM ignored).

mod queue;

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;

use crate::config::LogFormat;

pub use queue::Flush;

/// Lines waiting for the writer thread before new ones are dropped.
const QUEUED_LINES: usize = 16_384;

/// Installs the subscriber. Keep the guard for the life of the process: dropping it flushes
/// what is queued (for at most a second).
pub fn init(format: LogFormat) -> Option<Flush> {
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn"));
    let (writer, flush) = queue::start(QUEUED_LINES, std::io::stderr());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false)
        .with_ansi(colour(
            std::io::stderr().is_terminal(),
            std::env::var_os("NO_COLOR"),
        ))
        .with_writer(writer)
        // Its own complaints about a failed write go to stderr with `eprintln!`, which panics
        // on a closed one. (The queue never fails a write anyway.)
        .log_internal_errors(false);
    let result = match format {
        LogFormat::Json => builder.json().try_init(),
        LogFormat::Text => builder.try_init(),
    };
    // A second call (tests) keeps the first subscriber.
    result.ok().map(|()| flush)
}

/// Colour only for a person at a terminal, and never when `NO_COLOR` is set to a non-empty
/// value (no-color.org).
fn colour(terminal: bool, no_color: Option<std::ffi::OsString>) -> bool {
    terminal && no_color.is_none_or(|v| v.is_empty())
}

#[cfg(test)]
mod tests {
    use super::colour;

    #[test]
    fn colour_only_at_a_terminal_without_no_color() {
        assert!(colour(true, None));
        assert!(colour(true, Some("".into())));
        assert!(!colour(true, Some("1".into())));
        assert!(!colour(false, None));
    }
}
