//! The API reference (SPEC 8), compiled into the binary: `GET /openapi.json` serves the
//! OpenAPI 3.1 document, `GET /docs` a self-contained page that renders it. The page loads
//! nothing but `/openapi.json`: no scripts, styles or fonts from the network.

use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};

const OPENAPI: &str = include_str!("../../docs/openapi.json");
const PAGE: &str = include_str!("docs.html");

/// Inline script and style only; the one request the page makes is to this server.
const PAGE_CSP: &str = "default-src 'none'; script-src 'unsafe-inline'; \
    style-src 'unsafe-inline'; connect-src 'self'; base-uri 'none'; form-action 'none'; \
    frame-ancestors 'none'";

pub async fn openapi() -> Response {
    let mut response = OPENAPI.into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

pub async fn page() -> Response {
    let mut response = PAGE.into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(PAGE_CSP),
    );
    response
}
