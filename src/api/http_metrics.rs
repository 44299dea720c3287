//! `herald_http_requests_total{method, route, status}` and
//! `herald_http_request_duration_seconds{method, route}` for every request.
//!
//! `route` is the route's template (`/communications/department/{department}/message/{message}`),
//! never the path asked for: paths carry tenants' UUIDs and are unbounded, a template set is
//! fixed by the router. A request no route matches is `unmatched`.
//!
//! On the send path this costs one small allocation (the boxed future) and the recorder's
//! lookups; the labels are static strings or a shared template, never copied per request.

use std::collections::HashSet;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, LazyLock, RwLock};
use std::task::{Context, Poll};
use std::time::Instant;

use axum::extract::{MatchedPath, Request};
use axum::http::{Method, StatusCode};
use axum::response::Response;
use metrics::SharedString;
use tower::{Layer, Service};

use crate::observability::{HTTP_REQUEST_SECONDS, HTTP_REQUESTS};

/// The `route` of a request no route matched.
pub const UNMATCHED: &str = "unmatched";

/// Measures every request of the router it is added to (outermost, so credentials' refusals,
/// timeouts and unknown paths are counted too).
#[derive(Debug, Clone, Copy, Default)]
pub struct HttpMetricsLayer;

impl<S> Layer<S> for HttpMetricsLayer {
    type Service = HttpMetrics<S>;

    fn layer(&self, inner: S) -> Self::Service {
        HttpMetrics { inner }
    }
}

#[derive(Debug, Clone)]
pub struct HttpMetrics<S> {
    inner: S,
}

impl<S> Service<Request> for HttpMetrics<S>
where
    S: Service<Request, Response = Response>,
    S::Future: Send + 'static,
{
    type Response = Response;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Response, S::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request) -> Self::Future {
        let started = Instant::now();
        let method = method_label(request.method());
        let route = route_label(request.extensions().get::<MatchedPath>());
        let response = self.inner.call(request);
        Box::pin(async move {
            let result = response.await;
            if let Ok(response) = &result {
                let status = status_label(response.status());
                metrics::counter!(HTTP_REQUESTS,
                    "method" => method, "route" => route.clone(), "status" => status)
                .increment(1);
                metrics::histogram!(HTTP_REQUEST_SECONDS, "method" => method, "route" => route)
                    .record(started.elapsed().as_secs_f64());
            }
            result
        })
    }
}

/// The standard methods by name; anything else is one label, not one per spelling.
fn method_label(method: &Method) -> &'static str {
    match method.as_str() {
        "GET" => "GET",
        "POST" => "POST",
        "PUT" => "PUT",
        "DELETE" => "DELETE",
        "PATCH" => "PATCH",
        "HEAD" => "HEAD",
        "OPTIONS" => "OPTIONS",
        _ => "other",
    }
}

/// The matched route's template, shared: the set of templates is the router's, so each is
/// kept once for the life of the process and every request's label points at it.
fn route_label(matched: Option<&MatchedPath>) -> SharedString {
    static ROUTES: LazyLock<RwLock<HashSet<Arc<str>>>> = LazyLock::new(RwLock::default);
    let Some(matched) = matched else {
        return SharedString::const_str(UNMATCHED);
    };
    let template = matched.as_str();
    if let Some(known) = ROUTES.read().ok().and_then(|r| r.get(template).cloned()) {
        return SharedString::from(known);
    }
    let route: Arc<str> = Arc::from(template);
    if let Ok(mut routes) = ROUTES.write() {
        routes.insert(route.clone());
    }
    SharedString::from(route)
}

/// Every three-digit status code 100..=599, written out once, so a status label is a static
/// slice rather than a string made per request.
static STATUS_DIGITS: [u8; 1500] = {
    let mut digits = [0u8; 1500];
    let mut i = 0;
    while i < 500 {
        let code = 100 + i;
        digits[3 * i] = b'0' + (code / 100) as u8;
        digits[3 * i + 1] = b'0' + (code / 10 % 10) as u8;
        digits[3 * i + 2] = b'0' + (code % 10) as u8;
        i += 1;
    }
    digits
};

fn status_label(status: StatusCode) -> &'static str {
    let code = status.as_u16() as usize;
    (100..600)
        .contains(&code)
        .then(|| STATUS_DIGITS.get(3 * (code - 100)..3 * (code - 100) + 3))
        .flatten()
        .and_then(|digits| std::str::from_utf8(digits).ok())
        .unwrap_or("other")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_labels_are_the_codes_digits() {
        for code in [100u16, 200, 204, 401, 404, 413, 429, 502, 599] {
            let status = StatusCode::from_u16(code).unwrap();
            assert_eq!(status_label(status), code.to_string());
        }
        assert_eq!(status_label(StatusCode::from_u16(600).unwrap()), "other");
    }

    #[test]
    fn unknown_methods_share_one_label() {
        assert_eq!(method_label(&Method::POST), "POST");
        assert_eq!(method_label(&Method::from_bytes(b"BREW").unwrap()), "other");
    }
}
