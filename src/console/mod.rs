//! The operator console at `/console` (SPEC 8): server-rendered pages over the admin API's
//! use cases, signed in with the admin token. Mounted only while an admin token is set.

mod actions;
mod callbacks;
mod consent;
mod csrf;
mod directory;
mod layout;
mod login;
mod messages;
mod overview;
mod session;
mod thread;

use axum::Router;
use axum::http::{HeaderValue, header};
use axum::middleware::map_response;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};

use crate::api::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/console", get(overview::show))
        .route("/console/console.css", get(stylesheet))
        .route("/console/login", get(login::form).post(login::sign_in))
        .route("/console/logout", post(login::sign_out))
        .route("/console/messages", get(messages::list))
        .route("/console/messages/{message}", get(messages::show))
        .route("/console/messages/{message}/retry", post(actions::retry))
        .route("/console/messages/{message}/cancel", post(actions::cancel))
        .route(
            "/console/departments/{department}/customers/{customer}",
            get(thread::show),
        )
        .route("/console/callbacks", get(callbacks::list))
        .route("/console/callbacks/{webhook}/retry", post(callbacks::retry))
        .route("/console/consent", get(consent::show))
        .route("/console/directory", get(directory::dealers))
        .route("/console/dealers/{dealer}", get(directory::dealer))
        .route(
            "/console/departments/{department}",
            get(directory::department),
        )
        .route(
            "/console/credentials",
            get(directory::credentials).post(directory::issue),
        )
        .route(
            "/console/credentials/{username}/revoke",
            post(directory::revoke),
        )
        .layer(map_response(protect))
}

async fn stylesheet() -> Response {
    (
        [(header::CONTENT_TYPE, "text/css; charset=utf-8")],
        layout::CSS,
    )
        .into_response()
}

/// Every console answer: no script may run (the pages have none, so an injected one is
/// refused too), no other site may frame it, and nothing is cached (a page may show a
/// credential's password, once).
async fn protect(mut response: Response) -> Response {
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        ),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    response
}
