//! Standard Webhooks signatures: `v1,<base64 HMAC-SHA256(key, "<id>.<timestamp>.<body>")>`,
//! where the key is the base64 part of the credential's `whsec_` secret.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;

type HmacSha256 = Hmac<Sha256>;

/// The `webhook-signature` header value for one callback.
pub fn sign(secret: &str, webhook_id: &str, timestamp: i64, body: &[u8]) -> String {
    format!(
        "v1,{}",
        STANDARD.encode(mac(secret, webhook_id, timestamp, body))
    )
}

/// Whether `header` (one or more space-separated `v1,<base64>` entries, as Standard Webhooks
/// allows while a secret is being rotated) carries a valid signature of this callback.
pub fn verify(secret: &str, webhook_id: &str, timestamp: i64, body: &[u8], header: &str) -> bool {
    let expected = mac(secret, webhook_id, timestamp, body);
    // Every entry is compared, even after a match, so timing says nothing about which one won.
    header
        .split(' ')
        .filter_map(|entry| entry.strip_prefix("v1,"))
        .filter_map(|encoded| STANDARD.decode(encoded).ok())
        .fold(false, |found, candidate| {
            found | bool::from(candidate.as_slice().ct_eq(expected.as_slice()))
        })
}

/// The signing key: Standard Webhooks secrets are `whsec_` + base64, but a secret that is not
/// base64 still signs with its raw bytes rather than failing a callback over its format.
fn key(secret: &str) -> Vec<u8> {
    let encoded = secret.strip_prefix("whsec_").unwrap_or(secret);
    STANDARD
        .decode(encoded)
        .unwrap_or_else(|_| secret.as_bytes().to_vec())
}

fn mac(secret: &str, webhook_id: &str, timestamp: i64, body: &[u8]) -> Vec<u8> {
    let mut mac = <HmacSha256 as KeyInit>::new_from_slice(&key(secret))
        .expect("HMAC accepts keys of any length");
    mac.update(webhook_id.as_bytes());
    mac.update(b".");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    mac.finalize().into_bytes().to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;

    // The test vector published by Standard Webhooks.
    const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    const ID: &str = "msg_p5jXN8AQM9LWM0D4loKWxJek";
    const TIMESTAMP: i64 = 1614265330;
    const BODY: &[u8] = br#"{"test": 2432232314}"#;
    const EXPECTED: &str = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";

    #[test]
    fn matches_the_standard_webhooks_test_vector() {
        assert_eq!(sign(SECRET, ID, TIMESTAMP, BODY), EXPECTED);
    }

    #[test]
    fn the_whsec_prefix_is_optional() {
        let bare = SECRET.trim_start_matches("whsec_");
        assert_eq!(sign(bare, ID, TIMESTAMP, BODY), EXPECTED);
    }

    #[test]
    fn a_secret_that_is_not_base64_signs_with_its_raw_bytes() {
        let signature = sign("not base64!", ID, TIMESTAMP, BODY);
        assert!(signature.starts_with("v1,"));
        assert!(verify("not base64!", ID, TIMESTAMP, BODY, &signature));
        assert!(!verify(SECRET, ID, TIMESTAMP, BODY, &signature));
    }

    #[test]
    fn verify_accepts_the_vector() {
        assert!(verify(SECRET, ID, TIMESTAMP, BODY, EXPECTED));
    }

    #[test]
    fn verify_accepts_any_of_several_signatures() {
        let header = format!("v1,AAAA v1a,ignored {EXPECTED}");
        assert!(verify(SECRET, ID, TIMESTAMP, BODY, &header));
    }

    #[test]
    fn verify_refuses_changed_id_timestamp_body_or_secret() {
        assert!(!verify(SECRET, "msg_other", TIMESTAMP, BODY, EXPECTED));
        assert!(!verify(SECRET, ID, TIMESTAMP + 1, BODY, EXPECTED));
        assert!(!verify(SECRET, ID, TIMESTAMP, br#"{"test": 1}"#, EXPECTED));
        assert!(!verify(
            "whsec_AAAAAAAAAAAAAAAAAAAAAAAA",
            ID,
            TIMESTAMP,
            BODY,
            EXPECTED
        ));
    }

    #[test]
    fn verify_refuses_malformed_headers() {
        assert!(!verify(SECRET, ID, TIMESTAMP, BODY, ""));
        assert!(!verify(SECRET, ID, TIMESTAMP, BODY, "v1,"));
        assert!(!verify(SECRET, ID, TIMESTAMP, BODY, "v1,not-base64"));
        let without_version = EXPECTED.trim_start_matches("v1,");
        assert!(!verify(SECRET, ID, TIMESTAMP, BODY, without_version));
    }
}
