//! `[email.smtp] url`, parsed: host, port, how the connection is secured, and the login.

use std::fmt;
use std::time::Duration;

use anyhow::Context as _;
use secrecy::SecretString;

/// How the connection is secured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Security {
    /// `smtp://...?tls=none`: plain text throughout.
    None,
    /// `smtp://...?tls=opportunistic` (the default for `smtp://`): STARTTLS when offered.
    Opportunistic,
    /// `smtp://...?tls=required`: STARTTLS or no message.
    Required,
    /// `smtps://`: TLS from the first byte.
    Implicit,
}

/// `[email.smtp] url`, parsed.
#[derive(Clone)]
pub struct SmtpConfig {
    pub host: String,
    pub port: u16,
    pub security: Security,
    pub username: Option<String>,
    pub password: Option<SecretString>,
    /// The whole SMTP exchange of one message must end within this.
    pub timeout: Duration,
}

impl fmt::Debug for SmtpConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SmtpConfig")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("security", &self.security)
            .field("username", &self.username)
            .finish_non_exhaustive()
    }
}

impl SmtpConfig {
    /// `smtp://[user:pass@]host[:port][?tls=opportunistic|required|none]` or
    /// `smtps://[user:pass@]host[:port]`. Default ports: 587 with STARTTLS, 25 without, 465
    /// for `smtps`. User and password are percent-decoded.
    pub fn from_url(url: &str, timeout: Duration) -> anyhow::Result<Self> {
        let parsed =
            reqwest::Url::parse(url).map_err(|e| anyhow::anyhow!("email.smtp.url: {e}"))?;
        let tls = parsed
            .query_pairs()
            .find(|(k, _)| k == "tls")
            .map(|(_, v)| v.to_ascii_lowercase());
        let security = match (parsed.scheme(), tls.as_deref()) {
            ("smtp", None | Some("opportunistic")) => Security::Opportunistic,
            ("smtp", Some("required")) => Security::Required,
            ("smtp", Some("none")) => Security::None,
            ("smtps", None | Some("required")) => Security::Implicit,
            (scheme @ ("smtp" | "smtps"), Some(other)) => anyhow::bail!(
                "email.smtp.url: tls={other} is not one of opportunistic, required, none for {scheme}://"
            ),
            (scheme, _) => {
                anyhow::bail!("email.smtp.url: scheme {scheme}:// is not smtp:// or smtps://")
            }
        };
        let host = parsed
            .host_str()
            .filter(|h| !h.is_empty())
            .context("email.smtp.url has no host")?
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_string();
        let port = parsed.port().unwrap_or(match security {
            Security::None => 25,
            Security::Opportunistic | Security::Required => 587,
            Security::Implicit => 465,
        });
        let decode = |s: &str| -> anyhow::Result<String> {
            percent_decode(s).context("email.smtp.url: credentials are not UTF-8")
        };
        let username = (!parsed.username().is_empty())
            .then(|| decode(parsed.username()))
            .transpose()?;
        let password = parsed
            .password()
            .map(|p| decode(p).map(SecretString::from))
            .transpose()?;
        Ok(Self {
            host,
            port,
            security,
            username,
            password,
            timeout,
        })
    }
}

fn percent_decode(s: &str) -> Option<String> {
    let hex = |b: u8| (b as char).to_digit(16).map(|d| d as u8);
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let (Some(hi), Some(lo)) = (hex(bytes[i + 1]), hex(bytes[i + 2]))
        {
            out.push(hi * 16 + lo);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    use secrecy::ExposeSecret;

    const T: Duration = Duration::from_secs(5);

    #[test]
    fn url_forms() {
        let c = SmtpConfig::from_url("smtp://user:p%40ss@mail.example.com:2525?tls=required", T)
            .unwrap();
        assert_eq!(
            (c.host.as_str(), c.port, c.security),
            ("mail.example.com", 2525, Security::Required)
        );
        assert_eq!(c.username.as_deref(), Some("user"));
        assert_eq!(c.password.unwrap().expose_secret(), "p@ss");

        let c = SmtpConfig::from_url("smtp://mail.example.com", T).unwrap();
        assert_eq!((c.port, c.security), (587, Security::Opportunistic));
        assert!(c.username.is_none() && c.password.is_none());

        let c = SmtpConfig::from_url("smtp://127.0.0.1?tls=none", T).unwrap();
        assert_eq!((c.port, c.security), (25, Security::None));

        let c = SmtpConfig::from_url("smtps://u:p@mail.example.com", T).unwrap();
        assert_eq!((c.port, c.security), (465, Security::Implicit));
    }

    #[test]
    fn bad_urls_are_refused() {
        for url in [
            "http://mail.example.com",
            "smtp://mail.example.com?tls=sometimes",
            "smtp://",
            "not a url",
        ] {
            assert!(SmtpConfig::from_url(url, T).is_err(), "{url}");
        }
    }

    #[test]
    fn debug_hides_the_password() {
        let c = SmtpConfig::from_url("smtp://user:hunter2@mail.example.com", T).unwrap();
        assert!(!format!("{c:?}").contains("hunter2"));
    }

    #[test]
    fn percent_decoding() {
        assert_eq!(percent_decode("a%20b%2F").as_deref(), Some("a b/"));
        assert_eq!(percent_decode("100%").as_deref(), Some("100%"));
        assert_eq!(percent_decode("%zz").as_deref(), Some("%zz"));
    }
}
