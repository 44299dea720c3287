//! Every Prometheus series Herald exports, named in one place: the names, their `# HELP`
//! texts, and the recorder that renders them on `GET /metrics` (docs/DECISIONS.md, "Metrics").
//!
//! Latencies are Prometheus histograms (`_bucket`, `_sum`, `_count`) with fixed buckets, so
//! several nodes' series add up and any quantile can be computed from the sum; summaries'
//! per-process quantiles cannot be combined.

use std::sync::OnceLock;

use metrics_exporter_prometheus::{BuildError, Matcher, PrometheusBuilder, PrometheusHandle};

/// Messages accepted by `POST …/message` (`protocol`, `mode` = `sync` | `async`).
pub const MESSAGES_ACCEPTED: &str = "herald_messages_accepted_total";
/// Request accepted to answer sent, for accepted messages (`mode`).
pub const ACCEPT_SECONDS: &str = "herald_accept_seconds";
/// Each outgoing message's final status, counted once when it is recorded (`protocol`,
/// `status` = `DELIVERED` | `UNDELIVERED` | `FAILED` | `EXPIRED`).
pub const MESSAGES_FINAL: &str = "herald_messages_final_total";
/// Message due (accepted, plus `delaySeconds`) to its final status recorded (`protocol`,
/// `status`).
pub const END_TO_END_SECONDS: &str = "herald_message_end_to_end_seconds";
/// One provider call, hand-over to answer (`protocol`, `provider`).
pub const HANDOVER_SECONDS: &str = "herald_provider_handover_seconds";
/// Hand-overs to a provider by answer (`protocol`, `outcome`).
pub const DELIVERY_ATTEMPTS: &str = "herald_delivery_attempts_total";
/// In-doubt hand-overs settled by asking the provider (`provider`, `outcome`).
pub const RECONCILIATIONS: &str = "herald_reconciliations_total";
/// Delivery jobs due now.
pub const QUEUE_DEPTH: &str = "herald_delivery_queue_depth";
/// Callback POSTs by outcome (`outcome` = `delivered` | `retry` | `failed`).
pub const CALLBACK_ATTEMPTS: &str = "herald_callback_attempts_total";
/// HTTP requests answered (`method`, `route`, `status`).
pub const HTTP_REQUESTS: &str = "herald_http_requests_total";
/// HTTP request received to response produced (`method`, `route`).
pub const HTTP_REQUEST_SECONDS: &str = "herald_http_request_duration_seconds";
/// SQLite write transactions committed.
pub const SQLITE_COMMITS: &str = "herald_sqlite_commits_total";
/// SQLite group commits (several writes in one transaction).
pub const SQLITE_GROUP_COMMITS: &str = "herald_sqlite_group_commits_total";
/// PostgreSQL group commits.
pub const POSTGRES_GROUP_COMMITS: &str = "herald_postgres_group_commits_total";
/// Always 1; the labels say which Herald this is (`version`, `profile`).
pub const BUILD_INFO: &str = "herald_build_info";

/// Accept and HTTP latency: an asynchronous accept is a commit (sub-millisecond to tens of
/// milliseconds); a synchronous one waits for the provider (up to its deadline, seconds).
pub const REQUEST_BUCKETS: [f64; 15] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];
/// A provider's answer: tens of milliseconds to the provider deadline.
pub const HANDOVER_BUCKETS: [f64; 13] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0,
];
/// Due to outcome: milliseconds when the first hand-over works, minutes to hours through the
/// retry schedule, up to a day waiting for an opt-in.
pub const END_TO_END_BUCKETS: [f64; 18] = [
    0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 900.0, 1800.0,
    3600.0, 21600.0, 86400.0,
];

/// The process-wide recorder, installed on first use (one per process, however many
/// applications a test starts), with every series described and `herald_build_info` set.
pub fn recorder() -> PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let recorder = match builder() {
                Ok(builder) => builder.build_recorder(),
                Err(e) => {
                    tracing::error!(error = %e, "metric buckets rejected; latencies are summaries");
                    PrometheusBuilder::new().build_recorder()
                }
            };
            let handle = recorder.handle();
            // Another recorder may already be installed (an embedding program's): keep ours
            // rendering what reaches it.
            let _ = metrics::set_global_recorder(recorder);
            describe();
            metrics::gauge!(BUILD_INFO,
                "version" => env!("CARGO_PKG_VERSION"),
                "profile" => if cfg!(debug_assertions) { "debug" } else { "release" })
            .set(1.0);
            handle
        })
        .clone()
}

fn builder() -> Result<PrometheusBuilder, BuildError> {
    let full = |name: &str| Matcher::Full(name.to_string());
    PrometheusBuilder::new()
        // Any histogram without buckets of its own is still a histogram, never a summary.
        .set_buckets(&REQUEST_BUCKETS)?
        .set_buckets_for_metric(full(ACCEPT_SECONDS), &REQUEST_BUCKETS)?
        .set_buckets_for_metric(full(HTTP_REQUEST_SECONDS), &REQUEST_BUCKETS)?
        .set_buckets_for_metric(full(HANDOVER_SECONDS), &HANDOVER_BUCKETS)?
        .set_buckets_for_metric(full(END_TO_END_SECONDS), &END_TO_END_BUCKETS)
}

/// Gives every series its `# HELP` text (on the installed recorder).
pub fn describe() {
    use metrics::{Unit, describe_counter, describe_gauge, describe_histogram};
    describe_counter!(
        MESSAGES_ACCEPTED,
        "Messages accepted by POST .../message, by protocol and mode (sync: sendSynchronously)."
    );
    describe_histogram!(
        ACCEPT_SECONDS,
        Unit::Seconds,
        "Time from a send request's arrival to its answer, for accepted messages, by mode \
         (sync includes the provider's hand-over)."
    );
    describe_counter!(
        MESSAGES_FINAL,
        "Outgoing messages by the final status recorded for them (DELIVERED, UNDELIVERED, \
         FAILED, EXPIRED) and protocol, once per message, whether sent synchronously or by a \
         worker, decided by the delivery step or by a later delivery report."
    );
    describe_histogram!(
        END_TO_END_SECONDS,
        Unit::Seconds,
        "Time from an outgoing message becoming due (accepted, plus delaySeconds) to its final \
         status being recorded, by protocol and status."
    );
    describe_histogram!(
        HANDOVER_SECONDS,
        Unit::Seconds,
        "Duration of one provider call handing a message over, by protocol and provider \
         (calls cut at the provider deadline count with the deadline's duration)."
    );
    describe_counter!(
        DELIVERY_ATTEMPTS,
        "Provider answers to hand-overs, by protocol and outcome (success, transient, \
         permanent, deferred, in_doubt)."
    );
    describe_counter!(
        RECONCILIATIONS,
        "In-doubt hand-overs settled by asking the provider, by provider and outcome (sent, \
         not_found, unknown, resent)."
    );
    describe_gauge!(
        QUEUE_DEPTH,
        "Delivery jobs due now, as last seen by this node's workers."
    );
    describe_counter!(
        CALLBACK_ATTEMPTS,
        "Callback POSTs to clients' callbackURLs, by outcome (delivered, retry, failed)."
    );
    describe_counter!(
        HTTP_REQUESTS,
        "HTTP requests answered, by method, route template (unmatched: no route) and status."
    );
    describe_histogram!(
        HTTP_REQUEST_SECONDS,
        Unit::Seconds,
        "Time from an HTTP request's arrival to its response, by method and route template."
    );
    describe_counter!(SQLITE_COMMITS, "SQLite write transactions committed.");
    describe_counter!(
        SQLITE_GROUP_COMMITS,
        "SQLite transactions that committed several queued writes together."
    );
    describe_counter!(
        POSTGRES_GROUP_COMMITS,
        "PostgreSQL transactions that committed several queued writes together."
    );
    describe_gauge!(
        BUILD_INFO,
        "Always 1: the running Herald's version and build profile are its labels."
    );
}
