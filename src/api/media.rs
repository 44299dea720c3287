//! `GET /media/{attachmentUUID}/{fileName}?token=<token>`: a text's attachment, for the
//! provider to fetch as it fetches the vCard (SPEC 4.5). Without a token Herald minted for
//! that attachment, still valid, the answer is one `404` ("no such media") whatever was wrong:
//! it tells nothing of whether the attachment exists.

use axum::body::Body;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderValue, header};
use axum::response::Response;

use super::error::ApiError;
use super::extract::{ApiPath, path_uuid};
use super::state::AppState;
use crate::domain::codes::ErrorCode;
use crate::domain::media_token;

pub async fn attachment(
    State(state): State<AppState>,
    ApiPath((attachment, file)): ApiPath<(String, String)>,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    let not_found = || ApiError::not_found(ErrorCode::NotFound, "no such media");
    let uuid = path_uuid(&attachment).ok_or_else(not_found)?;
    let token = query
        .as_deref()
        .and_then(|q| {
            form_urlencoded::parse(q.as_bytes())
                .find(|(k, _)| k == "token")
                .map(|(_, v)| v.into_owned())
        })
        .ok_or_else(not_found)?;
    let stored = state.store.attachment(uuid).await?.ok_or_else(not_found)?;
    let info = &stored.attachment.info;
    if info.file_name != file
        || !media_token::verify(&stored.secret, uuid, &token, state.clock.now())
    {
        return Err(not_found());
    }
    let content_type = HeaderValue::from_str(&info.content_type).map_err(|_| not_found())?;
    let mut response = Response::new(Body::from(stored.attachment.content.to_vec()));
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, content_type);
    // Served as the file it is, never as a page of Herald's own.
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("sandbox"),
    );
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, no-store"),
    );
    Ok(response)
}
