//! Request extractors whose refusals look like every other error: a JSON body read under the
//! size limit and parsed with the failing JSON path named, and UUID path segments.

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::StatusCode;
use serde::de::DeserializeOwned;
use uuid::Uuid;

use super::error::ApiError;
use crate::domain::codes;

/// The raw request body, read under the size limit: a body over the limit is `413
/// REQUEST_TOO_LARGE` in the common shape (axum's own `Bytes` answers it in plain text).
/// For handlers that check the credential's grant before they parse the body.
pub struct ApiBytes(pub Bytes);

impl<S> FromRequest<S> for ApiBytes
where
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = Bytes::from_request(req, state).await.map_err(|rejection| {
            if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    codes::REQUEST_TOO_LARGE,
                    "the request body is larger than this server accepts",
                )
            } else {
                ApiError::invalid_request(format!("could not read the request body: {rejection}"))
            }
        })?;
        if has_escaped_nul(&bytes) {
            // No text Herald keeps may hold NUL (PostgreSQL refuses it in text and jsonb).
            return Err(ApiError::invalid_request(
                "the body contains a NUL character (\\u0000), which Herald does not accept",
            ));
        }
        Ok(ApiBytes(bytes))
    }
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

/// Path parameters; a segment that cannot be decoded is `400 INVALID_REQUEST`.
pub struct ApiPath<T>(pub T);

impl<S, T> axum::extract::FromRequestParts<S> for ApiPath<T>
where
    S: Send + Sync,
    T: DeserializeOwned + Send,
{
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &S,
    ) -> Result<Self, Self::Rejection> {
        axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Path(v)| ApiPath(v))
            .map_err(|e| ApiError::invalid_request(format!("path: {e}")))
    }
}

/// Query parameters, refused in the common shape.
pub struct ApiQuery<T>(pub T);

impl<S, T> axum::extract::FromRequestParts<S> for ApiQuery<T>
where
    S: Send + Sync,
    T: DeserializeOwned + Send,
{
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &S,
    ) -> Result<Self, Self::Rejection> {
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
