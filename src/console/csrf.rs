//! Cross-site request protection of every form that changes something: the form must carry
//! the session's CSRF token, and the browser's own word on where the request came from
//! (`Origin`, `Sec-Fetch-Site`) must not name another site. SameSite=Strict already keeps the
//! cookie off cross-site requests; these checks hold even where a browser ignores it.

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};

use super::layout;
use super::session::Session;
use crate::api::AppState;

pub const FIELD: &str = "csrf";

/// A POSTed console form from a signed-in operator, its origin and token checked.
pub struct Posted {
    pub session: Session,
    fields: Vec<(String, String)>,
}

impl Posted {
    pub fn get(&self, name: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.trim())
            .filter(|v| !v.is_empty())
    }

    pub fn all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.fields
            .iter()
            .filter(move |(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

fn origin_of(url: &str) -> Option<&str> {
    let rest = url.split_once("://")?.1;
    let end = rest.find('/').unwrap_or(rest.len());
    Some(&url[..url.len() - rest.len() + end])
}

/// Whether the browser says this request came from Herald's own pages: `Sec-Fetch-Site` is
/// not `cross-site`, and `Origin`, when sent, is Herald's public origin or the origin of the
/// `Host` the request was sent to (a cross-site page cannot choose that host and origin both).
pub fn same_origin(state: &AppState, headers: &HeaderMap) -> bool {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    if header("sec-fetch-site") == Some("cross-site") {
        return false;
    }
    let Some(origin) = header("origin") else {
        return true;
    };
    let public = state.settings.public_base_url();
    if origin_of(&public) == Some(origin) {
        return true;
    }
    match (header("host"), origin.split_once("://")) {
        (Some(host), Some((scheme, authority))) => {
            matches!(scheme, "http" | "https") && authority.eq_ignore_ascii_case(host)
        }
        _ => false,
    }
}

pub fn refused(why: &str) -> Response {
    (StatusCode::FORBIDDEN, layout::bare("Refused", why)).into_response()
}

impl FromRequest<AppState> for Posted {
    type Rejection = Response;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, Response> {
        let (mut parts, body) = request.into_parts();
        if !same_origin(state, &parts.headers) {
            return Err(refused("This form was sent from another site."));
        }
        let session = Session::from_request_parts(&mut parts, state).await?;
        let request = Request::from_parts(parts, body);
        let bytes = Bytes::from_request(request, state)
            .await
            .map_err(IntoResponse::into_response)?;
        let fields: Vec<(String, String)> = form_urlencoded::parse(&bytes).into_owned().collect();
        let token = fields.iter().find(|(n, _)| n == FIELD).map(|(_, v)| v);
        if !token.is_some_and(|t| session.csrf_matches(t)) {
            return Err(refused(
                "This form's security token is missing or belongs to another session. Reload the page and try again.",
            ));
        }
        Ok(Posted { session, fields })
    }
}

use axum::extract::FromRequestParts as _;

#[cfg(test)]
mod tests {
    use super::origin_of;

    #[test]
    fn the_origin_of_a_url_is_its_scheme_and_authority() {
        assert_eq!(
            origin_of("https://herald.example/x/y"),
            Some("https://herald.example")
        );
        assert_eq!(
            origin_of("http://127.0.0.1:8080"),
            Some("http://127.0.0.1:8080")
        );
        assert_eq!(origin_of("nonsense"), None);
    }
}
