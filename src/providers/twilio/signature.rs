//! Twilio's request signature (`X-Twilio-Signature`): base64 of HMAC-SHA1, keyed with the
//! account's auth token, over the full URL Twilio requested followed by every POST parameter's
//! name and value, sorted by name (then value).
//!
//! Twilio signs the URL exactly as it was configured, which may or may not carry the scheme's
//! default port (`:443`, `:80`); a proxy in front of Herald may add or drop it. Like Twilio's own
//! libraries, verification accepts the URL both with and without the explicit port.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, KeyInit, Mac};
use sha1::Sha1;
use subtle::ConstantTimeEq;

/// The signature Twilio sends for a POST to `url` with form `params`.
pub fn compute(auth_token: &str, url: &str, params: &[(String, String)]) -> String {
    let mut sorted: Vec<&(String, String)> = params.iter().collect();
    sorted.sort();
    let mut mac =
        <Hmac<Sha1> as KeyInit>::new_from_slice(auth_token.as_bytes()).expect("any key length");
    mac.update(url.as_bytes());
    for (name, value) in sorted {
        mac.update(name.as_bytes());
        mac.update(value.as_bytes());
    }
    STANDARD.encode(mac.finalize().into_bytes())
}

/// Whether `signature` is Twilio's for this request; compares in constant time.
pub fn verify(auth_token: &str, url: &str, params: &[(String, String)], signature: &str) -> bool {
    let given = signature.trim().as_bytes();
    let mut found = false;
    for candidate in url_forms(url) {
        let expected = compute(auth_token, &candidate, params);
        found |= bool::from(expected.as_bytes().ct_eq(given));
    }
    found
}

/// `url` as given, and the same URL with its default port added (when absent) or removed
/// (when it is the scheme's default).
fn url_forms(url: &str) -> Vec<String> {
    let mut forms = vec![url.to_string()];
    let Some(scheme_end) = url.find("://") else {
        return forms;
    };
    let default_port = match url[..scheme_end].to_ascii_lowercase().as_str() {
        "https" => "443",
        "http" => "80",
        _ => return forms,
    };
    let authority_start = scheme_end + 3;
    let authority_end = url[authority_start..]
        .find(['/', '?', '#'])
        .map_or(url.len(), |i| authority_start + i);
    let authority = &url[authority_start..authority_end];
    // The port follows the last ':' that is not inside an IPv6 literal's brackets.
    let host_end = authority.rfind(']').unwrap_or(0);
    let (host, port) = match authority[host_end..].rfind(':') {
        Some(i) => (
            &authority[..host_end + i],
            Some(&authority[host_end + i + 1..]),
        ),
        None => (authority, None),
    };
    let other = match port {
        None => format!("{host}:{default_port}"),
        Some(p) if p == default_port => host.to_string(),
        Some(_) => return forms,
    };
    forms.push(format!(
        "{}{other}{}",
        &url[..authority_start],
        &url[authority_end..]
    ));
    forms
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vector_params() -> Vec<(String, String)> {
        [
            ("CallSid", "CA1234567890ABCDE"),
            ("Caller", "+14158675309"),
            ("Digits", "1234"),
            ("From", "+14158675309"),
            ("To", "+18005551212"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
    }

    const VECTOR_URL: &str = "https://mycompany.com/myapp.php?foo=1&bar=2";
    const VECTOR_SIGNATURE: &str = "RSOYDt4T1cUTdK1PDd93/VVr8B8=";

    #[test]
    fn twilio_documented_test_vector() {
        assert_eq!(
            compute("12345", VECTOR_URL, &vector_params()),
            VECTOR_SIGNATURE
        );
        assert!(verify(
            "12345",
            VECTOR_URL,
            &vector_params(),
            VECTOR_SIGNATURE
        ));
    }

    #[test]
    fn parameter_order_does_not_matter() {
        let mut params = vector_params();
        params.reverse();
        assert_eq!(compute("12345", VECTOR_URL, &params), VECTOR_SIGNATURE);
    }

    #[test]
    fn wrong_token_url_or_parameter_fails() {
        let params = vector_params();
        assert!(!verify("54321", VECTOR_URL, &params, VECTOR_SIGNATURE));
        assert!(!verify(
            "12345",
            "https://mycompany.com/myapp.php?foo=1&bar=3",
            &params,
            VECTOR_SIGNATURE
        ));
        let mut changed = params.clone();
        changed[2].1 = "9999".into();
        assert!(!verify("12345", VECTOR_URL, &changed, VECTOR_SIGNATURE));
        assert!(!verify("12345", VECTOR_URL, &params, ""));
    }

    #[test]
    fn url_with_or_without_default_port_verifies() {
        let params = vector_params();
        let with_port = "https://mycompany.com:443/myapp.php?foo=1&bar=2";
        // Twilio signed the URL without the port; Herald knows it with the port.
        assert!(verify("12345", with_port, &params, VECTOR_SIGNATURE));
        // Twilio signed it with the port; Herald knows it without.
        let signed_with_port = compute("12345", with_port, &params);
        assert!(verify("12345", VECTOR_URL, &params, &signed_with_port));
    }

    #[test]
    fn url_forms_cover_default_ports_only() {
        assert_eq!(
            url_forms("http://h.example/x"),
            ["http://h.example/x", "http://h.example:80/x"]
        );
        assert_eq!(
            url_forms("https://h.example:443"),
            ["https://h.example:443", "https://h.example"]
        );
        assert_eq!(
            url_forms("https://h.example:8443/x"),
            ["https://h.example:8443/x"]
        );
        assert_eq!(
            url_forms("http://[::1]/w?a=1"),
            ["http://[::1]/w?a=1", "http://[::1]:80/w?a=1"]
        );
    }
}
