//! The frame of every console page: the navigation, the stylesheet link, the sign-out form,
//! and the few helpers pages share (times, the CSRF field, error pages). maud escapes every
//! value spliced into a page; nothing a customer or integrator wrote is ever `PreEscaped`.

use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use maud::{DOCTYPE, Markup, html};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::csrf;
use super::session::Session;
use crate::api::error::ApiError;

/// The console's one stylesheet, served from the binary at `/console/console.css`.
pub const CSS: &str = include_str!("console.css");

const NAV: [(&str, &str); 6] = [
    ("/console", "Overview"),
    ("/console/messages", "Messages"),
    ("/console/callbacks", "Callbacks"),
    ("/console/consent", "Consent"),
    ("/console/directory", "Directory"),
    ("/console/credentials", "Credentials"),
];

fn head(title: &str) -> Markup {
    html! {
        head {
            meta charset="utf-8";
            meta name="viewport" content="width=device-width, initial-scale=1";
            title { (title) " · Herald console" }
            link rel="stylesheet" href="/console/console.css";
        }
    }
}

/// A page of a signed-in operator.
pub fn page(title: &str, session: &Session, body: Markup) -> Response {
    Html(
        html! {
            (DOCTYPE)
            html lang="en" {
                (head(title))
                body {
                    header {
                        span.brand { "Herald" }
                        nav { @for (href, name) in NAV { a href=(href) { (name) } } }
                        form.signout method="post" action="/console/logout" {
                            (csrf_field(session))
                            button type="submit" { "Sign out" }
                        }
                    }
                    main { h1 { (title) } (body) }
                }
            }
        }
        .into_string(),
    )
    .into_response()
}

/// A page outside a session: sign-in, refusals.
pub fn bare(title: &str, message: &str) -> Html<String> {
    Html(
        html! {
            (DOCTYPE)
            html lang="en" {
                (head(title))
                body { main.narrow { h1 { (title) } p { (message) } p { a href="/console" { "Back to the console" } } } }
            }
        }
        .into_string(),
    )
}

/// The hidden field every state-changing form carries.
pub fn csrf_field(session: &Session) -> Markup {
    html! { input type="hidden" name=(csrf::FIELD) value=(session.csrf_token()); }
}

/// A button that POSTs one action, with its CSRF field.
pub fn action(session: &Session, url: &str, label: &str) -> Markup {
    html! {
        form.inline method="post" action=(url) {
            (csrf_field(session))
            button type="submit" { (label) }
        }
    }
}

/// A page's query string as name-value pairs, in order.
pub fn query_pairs(query: Option<String>) -> Vec<(String, String)> {
    form_urlencoded::parse(query.unwrap_or_default().as_bytes())
        .into_owned()
        .collect()
}

/// The first value of `name` among `pairs`.
pub fn param(pairs: &[(String, String)], name: &str) -> Option<String> {
    pairs
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.clone())
}

pub fn time(t: OffsetDateTime) -> String {
    t.format(&Rfc3339).unwrap_or_default()
}

/// What a use case refused, shown as a page with the admin API's status and descriptions.
pub fn failure(session: &Session, error: ApiError) -> Response {
    let status = error.status;
    let body = html! {
        ul.errors { @for e in &error.errors { li { code { (e.error_code) } " " (e.error_description) } } }
        p { a href="/console" { "Back to the overview" } }
    };
    let title = if status == StatusCode::NOT_FOUND {
        "Not found"
    } else if status.is_client_error() {
        "Not done"
    } else {
        "Herald could not do this now"
    };
    (status, page(title, session, body)).into_response()
}
