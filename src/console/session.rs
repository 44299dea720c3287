//! The console's sign-in session. Stateless, so every node of a cluster accepts a session
//! another node gave and nothing is stored: the cookie is `expiry.nonce.mac`, the MAC an
//! HMAC-SHA256 under a key derived from the admin token. Changing the admin token therefore
//! signs every operator out.

use axum::extract::FromRequestParts;
use axum::http::header::{COOKIE, SET_COOKIE};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Redirect, Response};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, KeyInit, Mac};
use rand::Rng as _;
use sha2::Sha256;
use subtle::ConstantTimeEq as _;

use crate::api::AppState;

pub const COOKIE_NAME: &str = "herald_console";
/// A session lasts a working day; then the operator signs in again.
pub const LIFETIME_SECONDS: i64 = 12 * 3600;

type HmacSha256 = Hmac<Sha256>;

/// A signed-in operator. Holds the key so pages can mint the CSRF token of their forms.
pub struct Session {
    nonce: String,
    key: [u8; 32],
}

/// The session key: the admin token itself never signs anything, so a leaked cookie says
/// nothing about it.
fn key(admin_token: &str) -> [u8; 32] {
    let mut mac = HmacSha256::new_from_slice(admin_token.as_bytes()).expect("any key length");
    mac.update(b"herald console session v1");
    mac.finalize().into_bytes().into()
}

fn mac(key: &[u8; 32], data: &str) -> HmacSha256 {
    let mut mac = HmacSha256::new_from_slice(key).expect("any key length");
    mac.update(data.as_bytes());
    mac
}

/// A fresh cookie value for a session that ends `LIFETIME_SECONDS` after `now`.
pub fn issue(admin_token: &str, now: i64) -> String {
    let nonce = URL_SAFE_NO_PAD.encode(rand::rng().random::<[u8; 16]>());
    let signed = format!("{}.{nonce}", now + LIFETIME_SECONDS);
    let tag = mac(&key(admin_token), &signed).finalize().into_bytes();
    format!("{signed}.{}", URL_SAFE_NO_PAD.encode(tag))
}

/// The session a cookie value names, if its MAC is right (compared in constant time) and it
/// has not expired.
pub fn verify(admin_token: &str, value: &str, now: i64) -> Option<Session> {
    let (signed, tag) = value.rsplit_once('.')?;
    let (expiry, nonce) = signed.split_once('.')?;
    let tag = URL_SAFE_NO_PAD.decode(tag).ok()?;
    let key = key(admin_token);
    mac(&key, signed).verify_slice(&tag).ok()?;
    let expiry: i64 = expiry.parse().ok()?;
    (now < expiry).then(|| Session {
        nonce: nonce.to_string(),
        key,
    })
}

impl Session {
    /// The CSRF token of this session's forms: a MAC of its nonce, so it needs no storage and
    /// a page of another session cannot supply it.
    pub fn csrf_token(&self) -> String {
        let tag = mac(&self.key, &format!("csrf.{}", self.nonce))
            .finalize()
            .into_bytes();
        URL_SAFE_NO_PAD.encode(tag)
    }

    pub fn csrf_matches(&self, given: &str) -> bool {
        self.csrf_token().as_bytes().ct_eq(given.as_bytes()).into()
    }
}

fn cookie_value<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(n, _)| *n == name)
        .map(|(_, v)| v)
}

/// The `Set-Cookie` of a new session (or, with `None`, of signing out).
pub fn set_cookie(state: &AppState, value: Option<&str>) -> (axum::http::HeaderName, HeaderValue) {
    let secure = if state.settings.public_base_url().starts_with("https://") {
        "; Secure"
    } else {
        ""
    };
    let (value, age) = match value {
        Some(v) => (v, LIFETIME_SECONDS),
        None => ("", 0),
    };
    let cookie = format!(
        "{COOKIE_NAME}={value}; HttpOnly; SameSite=Strict; Path=/console; Max-Age={age}{secure}"
    );
    (
        SET_COOKIE,
        HeaderValue::from_str(&cookie).expect("cookie is ASCII"),
    )
}

pub fn now(state: &AppState) -> i64 {
    state.clock.now().unix_timestamp()
}

/// The session of a request, from its cookie.
pub fn of(state: &AppState, headers: &HeaderMap) -> Option<Session> {
    let token = state.settings.admin_token()?;
    verify(token, cookie_value(headers, COOKIE_NAME)?, now(state))
}

impl FromRequestParts<AppState> for Session {
    /// No valid session: to the sign-in form.
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        of(state, &parts.headers).ok_or_else(|| Redirect::to("/console/login").into_response())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_session_verifies_until_it_expires() {
        let value = issue("token", 1000);
        assert!(verify("token", &value, 1000).is_some());
        assert!(verify("token", &value, 1000 + LIFETIME_SECONDS - 1).is_some());
        assert!(verify("token", &value, 1000 + LIFETIME_SECONDS).is_none());
    }

    #[test]
    fn forged_or_foreign_sessions_are_refused() {
        let value = issue("token", 1000);
        assert!(verify("other token", &value, 1000).is_none());
        let (signed, tag) = value.rsplit_once('.').unwrap();
        let (_, nonce) = signed.split_once('.').unwrap();
        let later = format!("999999999999.{nonce}.{tag}");
        assert!(verify("token", &later, 1000).is_none());
        for bad in ["", "a.b", "a.b.c", "1.2.3.4", "..."] {
            assert!(verify("token", bad, 1000).is_none(), "{bad}");
        }
    }

    #[test]
    fn the_csrf_token_belongs_to_one_session() {
        let a = verify("token", &issue("token", 1000), 1000).unwrap();
        let b = verify("token", &issue("token", 1000), 1000).unwrap();
        assert!(a.csrf_matches(&a.csrf_token()));
        assert!(!a.csrf_matches(&b.csrf_token()));
        assert!(!a.csrf_matches(""));
    }
}
