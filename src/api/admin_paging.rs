//! Paging of the admin lists (SPEC 8): `pageSize` (1..200, default 50) and an opaque
//! `pageToken` naming the last row given. A page starts strictly after that row, so rows
//! written between two pages neither repeat nor push others out of the walk.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use uuid::Uuid;

use super::error::ApiError;
use crate::store::admin_reads::Cursor;

const DEFAULT_PAGE: u32 = 50;
const MAX_PAGE: u32 = 200;

pub(crate) fn rfc3339(t: OffsetDateTime) -> String {
    t.format(&Rfc3339).unwrap_or_default()
}

/// A query parameter given with a value: `?status=` is the same as no `status`.
pub(crate) fn given(value: &Option<String>) -> Option<&str> {
    value.as_deref().map(str::trim).filter(|v| !v.is_empty())
}

pub(crate) fn page_size(raw: &Option<String>) -> Result<u32, ApiError> {
    match given(raw) {
        None => Ok(DEFAULT_PAGE),
        Some(raw) => raw
            .parse::<u32>()
            .ok()
            .filter(|n| (1..=MAX_PAGE).contains(n))
            .ok_or_else(|| ApiError::invalid_request("pageSize: a whole number from 1 to 200")),
    }
}

/// Which list a token belongs to, so a token of one list is refused by another.
#[derive(Clone, Copy)]
pub(crate) enum List {
    Dealers,
    Credentials,
    Messages,
    Callbacks,
}

impl List {
    fn tag(self) -> &'static str {
        match self {
            List::Dealers => "d1",
            List::Credentials => "c1",
            List::Messages => "m1",
            List::Callbacks => "w1",
        }
    }
}

/// The opaque token of a position: `tag:milliseconds:key`, base64url. Opaque so clients do
/// not build their own, and tagged so it can change shape later.
pub(crate) fn encode_token(list: List, at: OffsetDateTime, key: &str) -> String {
    let ms = at.unix_timestamp_nanos() / 1_000_000;
    URL_SAFE_NO_PAD.encode(format!("{}:{ms}:{key}", list.tag()))
}

pub(crate) fn decode_token(
    list: List,
    raw: &Option<String>,
) -> Result<Option<Cursor<String>>, ApiError> {
    let Some(token) = given(raw) else {
        return Ok(None);
    };
    let garbled = || ApiError::invalid_request("pageToken: not a token this list gave");
    let text = URL_SAFE_NO_PAD
        .decode(token)
        .ok()
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .ok_or_else(garbled)?;
    let mut parts = text.splitn(3, ':');
    let (Some(tag), Some(ms), Some(key)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(garbled());
    };
    if tag != list.tag() || key.is_empty() {
        return Err(garbled());
    }
    let at = ms
        .parse::<i64>()
        .ok()
        .and_then(|ms| i128::from(ms).checked_mul(1_000_000))
        .and_then(|ns| OffsetDateTime::from_unix_timestamp_nanos(ns).ok())
        .ok_or_else(garbled)?;
    Ok(Some(Cursor {
        at,
        key: key.to_string(),
    }))
}

pub(crate) fn decode_uuid_token(
    list: List,
    raw: &Option<String>,
) -> Result<Option<Cursor<Uuid>>, ApiError> {
    decode_token(list, raw)?
        .map(|c| {
            Uuid::parse_str(&c.key)
                .map(|key| Cursor { at: c.at, key })
                .map_err(|_| ApiError::invalid_request("pageToken: not a token this list gave"))
        })
        .transpose()
}

/// A page of `T` as the admin API answers it.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Page<T: Serialize> {
    pub(crate) items: Vec<T>,
    pub(crate) next_page_token: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PageParams {
    pub(crate) page_size: Option<String>,
    pub(crate) page_token: Option<String>,
}

/// Rows asked for one more than `size`: the page, and a token when another page follows.
pub(crate) fn cut<R>(
    mut rows: Vec<R>,
    size: u32,
    token: impl Fn(&R) -> String,
) -> (Vec<R>, Option<String>) {
    let more = rows.len() > size as usize;
    rows.truncate(size as usize);
    let next = more.then(|| rows.last().map(&token)).flatten();
    (rows, next)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_reads_back_as_the_position_it_names() {
        let at = OffsetDateTime::from_unix_timestamp(1_800_000_000).unwrap();
        let token = encode_token(List::Credentials, at, "user:with:colons");
        let cursor = decode_token(List::Credentials, &Some(token))
            .unwrap()
            .unwrap();
        assert_eq!(cursor.at, at);
        assert_eq!(cursor.key, "user:with:colons");
    }

    #[test]
    fn garbled_or_foreign_tokens_are_refused() {
        let at = OffsetDateTime::from_unix_timestamp(1_800_000_000).unwrap();
        let dealers = encode_token(List::Dealers, at, &Uuid::nil().to_string());
        assert!(decode_uuid_token(List::Messages, &Some(dealers)).is_err());
        let encoded = [
            "m1:",
            "m1:x:y",
            "m1:1:not-a-uuid",
            "m1:99999999999999999999:x",
            "m1:1",
        ]
        .map(|t| URL_SAFE_NO_PAD.encode(t));
        for bad in encoded
            .iter()
            .map(String::as_str)
            .chain(["!!", "%%", "bTE6"])
        {
            assert!(
                decode_uuid_token(List::Messages, &Some(bad.into())).is_err(),
                "{bad}"
            );
        }
        assert!(
            decode_token(List::Messages, &Some(String::new()))
                .unwrap()
                .is_none()
        );
    }
}
