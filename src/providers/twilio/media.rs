//! The media of an inbound MMS (SPEC 4.5): Twilio's webhook names each medium by a URL under
//! the account's API, which answers with the account's credentials (Basic auth) and usually
//! redirects to the file's storage. Herald fetches them while it records the text, so the
//! thread keeps the pictures, bounded in size and count; credentials go only to the
//! configured Twilio API (a redirect to another host is followed without them).

use std::time::Duration;

use anyhow::Context as _;
use secrecy::{ExposeSecret, SecretString};

use super::webhook::InboundMedia;
use crate::config::Settings;
use crate::domain::attachment::{self, Attachment};

/// One medium larger than this is not kept.
pub const MAX_MEDIUM_BYTES: usize = 5_000_000;
/// The media of one text are kept up to this many bytes in all.
pub const MAX_MEDIA_BYTES: usize = 10_000_000;

pub struct MediaFetcher {
    http: reqwest::Client,
    base_url: String,
    credentials: Option<(String, SecretString)>,
}

impl MediaFetcher {
    pub fn from_settings(settings: &Settings) -> anyhow::Result<Self> {
        let twilio = &settings.text.twilio;
        let http = reqwest::Client::builder()
            .no_proxy()
            // Twilio answers a media URL with a redirect to the file; reqwest drops the
            // credentials on a redirect to another host.
            .redirect(reqwest::redirect::Policy::limited(3))
            .connect_timeout(Duration::from_secs(5))
            .timeout(Duration::from_secs(10))
            .user_agent(concat!("herald/", env!("CARGO_PKG_VERSION")))
            .build()
            .context("building the media client")?;
        Ok(Self {
            http,
            base_url: twilio.base_url.trim_end_matches('/').to_string(),
            credentials: twilio.account_sid.clone().zip(twilio.auth_token.clone()),
        })
    }

    /// The media that could be fetched, as attachments named `MMS-<n>.<extension>`; a
    /// medium that is not under the Twilio API, fails, or would pass the bounds is left out
    /// (and logged).
    pub async fn fetch(&self, media: &[InboundMedia]) -> Vec<Attachment> {
        let mut kept = Vec::new();
        let mut total = 0;
        for (i, medium) in media.iter().enumerate() {
            match self.fetch_one(medium, MAX_MEDIA_BYTES - total).await {
                Ok(bytes) => {
                    total += bytes.len();
                    let kind = attachment::content_type(&medium.content_type)
                        .unwrap_or_else(|| "application/octet-stream".into());
                    let name = format!("MMS-{}.{}", i + 1, extension(&kind));
                    kept.push(Attachment::new(name, kind, bytes));
                }
                Err(why) => tracing::warn!(medium = i, %why, "an inbound MMS medium was not kept"),
            }
        }
        kept
    }

    async fn fetch_one(&self, medium: &InboundMedia, room: usize) -> Result<Vec<u8>, String> {
        if !medium.url.starts_with(&format!("{}/", self.base_url)) {
            return Err("not a URL of the Twilio API Herald is configured with".into());
        }
        let limit = MAX_MEDIUM_BYTES.min(room);
        let mut request = self.http.get(&medium.url);
        if let Some((sid, token)) = &self.credentials {
            request = request.basic_auth(sid, Some(token.expose_secret()));
        }
        let mut response = request
            .send()
            .await
            .map_err(|e| super::super::describe(&e))?;
        if !response.status().is_success() {
            return Err(format!("answered {}", response.status()));
        }
        if response
            .content_length()
            .is_some_and(|n| n as usize > limit)
        {
            return Err(format!("larger than {limit} bytes"));
        }
        let mut bytes = Vec::new();
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|e| super::super::describe(&e))?
        {
            if bytes.len() + chunk.len() > limit {
                return Err(format!("larger than {limit} bytes"));
            }
            bytes.extend_from_slice(&chunk);
        }
        if bytes.is_empty() {
            return Err("empty".into());
        }
        Ok(bytes)
    }
}

/// The usual file extension of a content type, `bin` when there is none to give.
fn extension(content_type: &str) -> &'static str {
    match content_type {
        "image/jpeg" | "image/jpg" => "jpg",
        "image/png" => "png",
        "image/gif" => "gif",
        "image/heic" => "heic",
        "image/webp" => "webp",
        "video/mp4" => "mp4",
        "video/3gpp" => "3gp",
        "video/quicktime" => "mov",
        "audio/amr" => "amr",
        "audio/mpeg" => "mp3",
        "text/vcard" | "text/x-vcard" => "vcf",
        "text/plain" => "txt",
        "application/pdf" => "pdf",
        _ => "bin",
    }
}
