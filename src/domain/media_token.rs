//! The tokens of media URLs (SPEC 4.5): a provider fetches a text's attachment from
//! `/media/<attachmentUUID>/<fileName>?token=<token>`, and only with a token Herald minted for
//! that attachment, not yet expired.
//!
//! A token is `<expiry as Unix seconds>.<HMAC-SHA256 over "<attachmentUUID>.<expiry>">`, keyed
//! with the attachment's own random secret (kept beside its bytes, so every node checks it
//! alike and one token says nothing of another attachment's). Unguessable without the secret;
//! the expiry cannot be moved without breaking the MAC.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;
use time::OffsetDateTime;
use uuid::Uuid;

/// How long a minted media URL works: long past the provider's fetch at hand-over, and for the
/// outbox viewer on the day of a demo.
pub const LIFETIME: time::Duration = time::Duration::hours(24);

fn mac(secret: &[u8], attachment: Uuid, expires: i64) -> Hmac<Sha256> {
    let mut mac =
        <Hmac<Sha256> as KeyInit>::new_from_slice(secret).expect("HMAC takes a key of any size");
    mac.update(format!("{attachment}.{expires}").as_bytes());
    mac
}

/// A token for `attachment` that works until `now + LIFETIME`.
pub fn mint(secret: &[u8], attachment: Uuid, now: OffsetDateTime) -> String {
    let expires = (now + LIFETIME).unix_timestamp();
    let tag = mac(secret, attachment, expires).finalize().into_bytes();
    format!("{expires}.{}", URL_SAFE_NO_PAD.encode(tag))
}

/// Whether `token` was minted for `attachment` with `secret` and has not expired at `now`.
pub fn verify(secret: &[u8], attachment: Uuid, token: &str, now: OffsetDateTime) -> bool {
    let Some((expires, tag)) = token.split_once('.') else {
        return false;
    };
    let (Ok(expires), Ok(tag)) = (expires.parse::<i64>(), URL_SAFE_NO_PAD.decode(tag)) else {
        return false;
    };
    // Checked in constant time; the expiry after, as the MAC vouches for it.
    mac(secret, attachment, expires).verify_slice(&tag).is_ok() && now.unix_timestamp() < expires
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &[u8] = b"0123456789abcdef0123456789abcdef";

    #[test]
    fn a_minted_token_works_until_it_expires() {
        let now = OffsetDateTime::from_unix_timestamp(1_800_000_000).unwrap();
        let a = Uuid::now_v7();
        let token = mint(SECRET, a, now);
        assert!(verify(SECRET, a, &token, now));
        assert!(verify(
            SECRET,
            a,
            &token,
            now + LIFETIME - time::Duration::seconds(1)
        ));
        assert!(!verify(SECRET, a, &token, now + LIFETIME));
    }

    #[test]
    fn another_attachment_secret_or_expiry_fails() {
        let now = OffsetDateTime::from_unix_timestamp(1_800_000_000).unwrap();
        let a = Uuid::now_v7();
        let token = mint(SECRET, a, now);
        assert!(!verify(SECRET, Uuid::now_v7(), &token, now));
        assert!(!verify(b"another secret", a, &token, now));
        let (expires, tag) = token.split_once('.').unwrap();
        let later = format!("{}.{tag}", expires.parse::<i64>().unwrap() + 86_400);
        assert!(!verify(SECRET, a, &later, now));
        for bad in ["", ".", "x.y", "1.", &format!("{expires}.AAAA")] {
            assert!(!verify(SECRET, a, bad, now), "{bad:?}");
        }
    }
}
