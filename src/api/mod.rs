//! The HTTP edge: where a request enters. Routes, extractors, credentials and grants, and the
//! one mapping from errors to responses.

pub(crate) mod admin;
pub(crate) mod admin_actions;
pub(crate) mod admin_callbacks;
pub(crate) mod admin_consent;
mod admin_paging;
pub(crate) mod admin_queue;
pub(crate) mod admin_read;
mod associates;
mod auth;
mod context;
mod customer_body;
mod customers;
mod dev;
mod docs;
pub mod error;
pub(crate) mod extract;
mod health;
mod http_metrics;
mod locks;
mod lookup;
mod media;
pub(crate) mod messages;
mod optout;
mod public;
mod send;
mod state;
mod webhooks;

use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::middleware::from_fn_with_state;
use axum::routing::{get, post};

pub use auth::{CACHE_TTL as CREDENTIAL_CACHE_TTL, CredentialCache};
pub use context::REQUEST_ID_HEADER;
pub use state::AppState;

pub fn router(state: AppState) -> Router {
    let body_limit = state.settings.http.body_limit_bytes;
    let send_body_limit = state.settings.http.send_body_limit_bytes;
    let timeout = Duration::from_secs(state.settings.http.request_timeout_seconds);
    Router::new()
        .route("/healthz", get(health::alive))
        .route("/readyz", get(health::ready))
        .route("/metrics", get(public::metrics))
        .route("/openapi.json", get(docs::openapi))
        .route("/docs", get(docs::page))
        .route("/vcard/{file}", get(public::department_vcard))
        .route("/media/{attachment}/{file}", get(media::attachment))
        .route(
            "/communications/department/{department}/user/{user}/customer/{customer}/message",
            // Attachments ride in the body: the send endpoint has a limit of its own.
            post(send::send).layer(DefaultBodyLimit::max(send_body_limit)),
        )
        .route(
            "/communications/department/{department}/message/{message}",
            get(messages::status),
        )
        .route(
            "/communications/department/{department}/customer/{customer}/messages",
            get(messages::thread),
        )
        .route("/webhooks/twilio/status", post(webhooks::twilio::status))
        .route("/webhooks/twilio/inbound", post(webhooks::twilio::inbound))
        .route("/webhooks/postmark", post(webhooks::postmark::receive))
        // An inbound email carries its attachments: the send endpoint's limit.
        .route(
            "/webhooks/postmark/inbound",
            post(webhooks::postmark_inbound::inbound)
                .layer(DefaultBodyLimit::max(send_body_limit)),
        )
        .route(
            "/customer/v2/department/{department}/customer",
            post(customers::save).get(customers::search),
        )
        .route(
            "/customer/v2/department/{department}/customer/{customer}",
            get(customers::get),
        )
        .route(
            "/communications/department/{department}/communicationType/{kind}/communicationValue/{value}/optoutstatus",
            get(optout::read),
        )
        .route(
            "/communications/department/{department}/optoutstatus",
            post(optout::update),
        )
        .route(
            "/manage/v2/departments/{department}/dealerAssociate/default",
            get(associates::default_associate),
        )
        .route(
            "/communications/department/{department}/user/{user}/customer/{customer}/lock",
            post(locks::lock).delete(locks::unlock),
        )
        .nest("/admin/v1", admin::router())
        .merge(dev_routes(&state))
        .merge(console_routes(&state))
        .fallback(context::not_found)
        .method_not_allowed_fallback(context::method_not_allowed)
        .layer(DefaultBodyLimit::max(body_limit))
        .layer(from_fn_with_state(timeout, context::request_context))
        .layer(http_metrics::HttpMetricsLayer)
        .with_state(state)
}

/// The operator console (src/console) exists only while an admin token is set: it signs in
/// with that token, so without one it answers `404` like any unknown path.
fn console_routes(state: &AppState) -> Router<AppState> {
    if state.settings.admin_token().is_none() {
        return Router::new();
    }
    crate::console::router()
}

/// The development endpoints exist only while an admin token is set: `POST /dev/callbacks`
/// takes anyone's writes (it stands in for a client's receiver), so a Herald without an admin
/// API has none of them, and they answer `404` like any unknown path.
fn dev_routes(state: &AppState) -> Router<AppState> {
    if state.settings.admin_token().is_none() {
        return Router::new();
    }
    Router::new()
        .route("/dev/outbox", get(dev::outbox))
        .route("/dev/inbound", post(dev::inbound))
        .route(
            "/dev/callbacks",
            post(dev::receive_callback).get(dev::callbacks),
        )
}
