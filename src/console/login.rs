//! Signing in with the admin token, and out.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use maud::{DOCTYPE, html};
use subtle::ConstantTimeEq as _;

use super::csrf::{self, Posted};
use super::session;
use crate::api::AppState;

fn login_page(error: Option<&str>) -> Html<String> {
    Html(
        html! {
            (DOCTYPE)
            html lang="en" {
                head {
                    meta charset="utf-8";
                    title { "Sign in · Herald console" }
                    link rel="stylesheet" href="/console/console.css";
                }
                body {
                    main.narrow {
                        h1 { "Herald console" }
                        @if let Some(error) = error { p.error role="alert" { (error) } }
                        form.stack method="post" action="/console/login" {
                            label { "Admin token" input type="password" name="token" autocomplete="current-password" autofocus; }
                            button type="submit" { "Sign in" }
                        }
                    }
                }
            }
        }
        .into_string(),
    )
}

/// `GET /console/login`; a signed-in operator goes straight to the overview.
pub async fn form(State(state): State<AppState>, headers: HeaderMap) -> Response {
    if session::of(&state, &headers).is_some() {
        return Redirect::to("/console").into_response();
    }
    login_page(None).into_response()
}

/// `POST /console/login` with `token`: the admin token, compared in constant time.
pub async fn sign_in(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    // A sign-in forced from another site would put the victim in the attacker's session.
    if !csrf::same_origin(&state, &headers) {
        return csrf::refused("This form was sent from another site.");
    }
    let Some(admin_token) = state.settings.admin_token() else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let given = form_urlencoded::parse(&body)
        .find(|(n, _)| n == "token")
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default();
    if !bool::from(given.as_bytes().ct_eq(admin_token.as_bytes())) {
        tracing::info!("console sign-in refused");
        return (
            StatusCode::UNAUTHORIZED,
            login_page(Some("That is not the admin token.")),
        )
            .into_response();
    }
    let value = session::issue(admin_token, session::now(&state));
    tracing::info!("console sign-in");
    (
        [session::set_cookie(&state, Some(&value))],
        Redirect::to("/console"),
    )
        .into_response()
}

/// `POST /console/logout`: drops the cookie from this browser.
pub async fn sign_out(State(state): State<AppState>, _: Posted) -> Response {
    (
        [session::set_cookie(&state, None)],
        Redirect::to("/console/login"),
    )
        .into_response()
}
