//! Request extractors whose refusals look like every other error: a JSON body read under the
//! size limit and parsed with the failing JSON path named, and UUID path segments.
//!
//! SPEC 4.2 checks credentials and grant before anything of the request itself, so a stranger
//! learns nothing from its validation. Credentials are extractors over the request's parts,
//! which axum runs before the body's; the grant needs the handler. So integrator handlers and
//! webhooks take [`ApiBody`], which reads nothing until the handler asks, after its checks;
//! and path and query problems are reported by the handler too, never by an extractor first.

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, MatchedPath, OriginalUri, Request};
use axum::http::StatusCode;
use axum::http::request::Parts;
use serde::de::DeserializeOwned;
use serde::de::value::{Error as ValueError, SeqDeserializer, StringDeserializer};
use uuid::Uuid;

use super::error::ApiError;
use crate::domain::codes::ErrorCode;

/// The raw request body, read under the size limit: a body over the limit is `413
/// REQUEST_TOO_LARGE` in the common shape (axum's own `Bytes` answers it in plain text).
/// Read as soon as it is extracted: for endpoints with nothing to check first.
pub struct ApiBytes(pub Bytes);

impl<S> FromRequest<S> for ApiBytes
where
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, _: &S) -> Result<Self, Self::Rejection> {
        ApiBody(req).bytes().await.map(ApiBytes)
    }
}

/// The request body, not read yet: [`ApiBody::bytes`] or [`ApiBody::json`] read it (under
/// the size limit `DefaultBodyLimit` set) once the handler has checked who is asking.
pub struct ApiBody(Request);

impl<S> FromRequest<S> for ApiBody
where
    S: Send + Sync,
{
    type Rejection = std::convert::Infallible;

    async fn from_request(req: Request, _: &S) -> Result<Self, Self::Rejection> {
        Ok(ApiBody(req))
    }
}

impl ApiBody {
    /// The body's bytes; over the limit is `413 REQUEST_TOO_LARGE` in the common shape.
    pub async fn bytes(self) -> Result<Bytes, ApiError> {
        Bytes::from_request(self.0, &()).await.map_err(|rejection| {
            if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                too_large()
            } else {
                ApiError::invalid_request(format!("could not read the request body: {rejection}"))
            }
        })
    }

    /// The body parsed as JSON `T` (see [`parse_json`]).
    pub async fn json<T: DeserializeOwned>(self) -> Result<T, ApiError> {
        parse_json(&self.bytes().await?)
    }
}

pub fn too_large() -> ApiError {
    ApiError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        ErrorCode::RequestTooLarge,
        "the request body is larger than this server accepts",
    )
}

/// Refuses a JSON text holding the escape `\u0000`: no text Herald keeps may hold NUL
/// (PostgreSQL refuses it in text and jsonb).
pub fn refuse_nul(json: &[u8]) -> Result<(), ApiError> {
    if has_escaped_nul(json) {
        return Err(ApiError::invalid_request(
            "the body contains a NUL character (\\u0000), which Herald does not accept",
        ));
    }
    Ok(())
}

/// Whether a JSON text holds the escape `\u0000` (a real escape: preceded by an odd number of
/// backslashes, so `\\u0000`, an escaped backslash before `u0000`, is not one).
fn has_escaped_nul(json: &[u8]) -> bool {
    json.windows(6).enumerate().any(|(i, w)| {
        w.eq_ignore_ascii_case(b"\\u0000")
            && json[..i].iter().rev().take_while(|b| **b == b'\\').count() % 2 == 0
    })
}

/// A JSON body of type `T`. Malformed JSON, wrong types and unknown enum values are `400
/// INVALID_REQUEST` with the JSON path; a body over the limit is `413`.
pub struct ApiJson<T>(pub T);

impl<S, T> FromRequest<S> for ApiJson<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let ApiBytes(bytes) = ApiBytes::from_request(req, state).await?;
        parse_json(&bytes).map(ApiJson)
    }
}

/// Parses `bytes` as `T`, naming the JSON path of the first problem.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    refuse_nul(bytes)?;
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut de).map_err(|e| json_error(e, bytes))?;
    de.end()
        .map_err(|e| ApiError::invalid_request(format!("$: {e}")))?;
    Ok(value)
}

/// Converts an already-parsed JSON value, naming the failing path under `prefix`.
pub fn from_value<T: DeserializeOwned>(
    value: serde_json::Value,
    prefix: &str,
) -> Result<T, ApiError> {
    serde_path_to_error::deserialize(value).map_err(|e| {
        let path = e.path().to_string();
        let full = match (prefix.is_empty(), path.as_str()) {
            (true, _) => path.clone(),
            (false, ".") => prefix.to_string(),
            (false, _) => format!("{prefix}.{path}"),
        };
        ApiError::invalid_request(format!("{full}: {}", e.inner()))
    })
}

fn json_error(e: serde_path_to_error::Error<serde_json::Error>, bytes: &[u8]) -> ApiError {
    let path = e.path().to_string();
    let inner = e.inner();
    // serde_json reports a number or null where an enum is expected ("expected value") as a
    // syntax error; only call the JSON malformed when it really is, so such a wrong type keeps
    // its path.
    let malformed = (inner.is_syntax() || inner.is_eof())
        && serde_json::from_slice::<serde::de::IgnoredAny>(bytes).is_err();
    if malformed {
        ApiError::invalid_request(format!("malformed JSON: {inner}"))
    } else if path == "." {
        ApiError::invalid_request(format!("$: {inner}"))
    } else {
        ApiError::invalid_request(format!("{path}: {inner}"))
    }
}

/// A path segment that should be a UUID. Malformed ones are looked up as "not there", so a
/// client cannot tell a typo from a resource of another tenant.
pub fn path_uuid(segment: &str) -> Option<Uuid> {
    Uuid::parse_str(segment).ok()
}

/// Path parameters. A segment whose percent-encoding does not decode to UTF-8 is read with
/// U+FFFD in place of the bad bytes (so it names nothing, and a department segment answers
/// `403` like any unknown one) instead of being refused before the grant is checked.
pub struct ApiPath<T>(pub T);

impl<S, T> FromRequestParts<S> for ApiPath<T>
where
    S: Send + Sync,
    T: DeserializeOwned + Send,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match axum::extract::Path::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Path(v)) => Ok(ApiPath(v)),
            Err(e) => lossy_segments(parts)
                .and_then(from_segments)
                .map(ApiPath)
                .ok_or_else(|| ApiError::invalid_request(format!("path: {e}"))),
        }
    }
}

/// The path's parameters, decoded lossily: the route template's `{name}` segments matched
/// against the request's path (the original one: a nested router sees its own part only).
fn lossy_segments(parts: &Parts) -> Option<Vec<String>> {
    let template = parts.extensions.get::<MatchedPath>()?.as_str();
    let uri = parts
        .extensions
        .get::<OriginalUri>()
        .map_or(&parts.uri, |o| &o.0);
    let template: Vec<&str> = template.split('/').collect();
    let actual: Vec<&str> = uri.path().split('/').collect();
    if template.len() != actual.len() {
        return None;
    }
    Some(
        template
            .iter()
            .zip(actual)
            .filter(|(t, _)| t.starts_with('{'))
            .map(|(_, a)| {
                percent_encoding::percent_decode_str(a)
                    .decode_utf8_lossy()
                    .into_owned()
            })
            .collect(),
    )
}

/// `T` from the segments: one `String`, or a tuple of them.
fn from_segments<T: DeserializeOwned>(segments: Vec<String>) -> Option<T> {
    if let [one] = segments.as_slice()
        && let Ok(v) = T::deserialize(StringDeserializer::<ValueError>::new(one.clone()))
    {
        return Some(v);
    }
    T::deserialize(SeqDeserializer::<_, ValueError>::new(segments.into_iter())).ok()
}

/// Query parameters, refused in the common shape. Integrator handlers take
/// `Result<ApiQuery<T>, ApiError>` and report the refusal only after the grant check.
pub struct ApiQuery<T>(pub T);

impl<S, T> FromRequestParts<S> for ApiQuery<T>
where
    S: Send + Sync,
    T: DeserializeOwned + Send,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Query(v)| ApiQuery(v))
            .map_err(|e| ApiError::invalid_request(format!("query: {}", e.body_text())))
    }
}

#[cfg(test)]
mod tests {
    use super::has_escaped_nul;

    #[test]
    fn escaped_nul_is_found_and_an_escaped_backslash_is_not_one() {
        assert!(has_escaped_nul(br#"{"body":"a\u0000b"}"#));
        assert!(has_escaped_nul(br#"{"body":"\\\u0000"}"#));
        assert!(!has_escaped_nul(br#"{"body":"\\u0000"}"#));
        assert!(!has_escaped_nul(br#"{"body":"u0000"}"#));
    }
}
