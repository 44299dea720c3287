//! `[http]`: what one request and one connection may cost.

use serde::Deserialize;

/// Bounds on what one request may cost.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpSettings {
    /// Largest accepted request body; larger ones get `413`.
    pub body_limit_bytes: usize,
    /// Largest accepted body of the send endpoint, which carries attachments in base64
    /// (SPEC 4.5: an email's 10 MB of files is about 13.4 MB of base64).
    pub send_body_limit_bytes: usize,
    /// A request still running after this long is answered `503`.
    pub request_timeout_seconds: u64,
    /// A request's line and headers must arrive within this long of the connection opening
    /// (or of its first byte, on a kept-alive connection); else the connection is closed.
    pub header_read_timeout_seconds: u64,
    /// A kept-alive connection with no request for this long is closed.
    pub idle_timeout_seconds: u64,
    /// At most this many connections are served at once (lowered at start to fit the file
    /// descriptor limit); one more is answered `503` and closed at once.
    pub max_connections: usize,
}
