//! Attachments (SPEC 4.5): what a file sent with a message may be, for each protocol, and how
//! it is described in answers. The bytes themselves live in the store, beside the message.

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::message::Protocol;

/// At most this many attachments on a TEXT: Twilio takes ten media per message.
pub const MAX_TEXT_ATTACHMENTS: usize = 10;
/// At most this many bytes of attachments on a TEXT, decoded: Twilio's 5 MB.
pub const MAX_TEXT_BYTES: usize = 5_000_000;
/// At most this many attachments on an EMAIL (a bound of Herald's own, for a deal jacket).
pub const MAX_EMAIL_ATTACHMENTS: usize = 50;
/// At most this many bytes of attachments on an EMAIL, decoded: Postmark's 10 MB.
pub const MAX_EMAIL_BYTES: usize = 10_000_000;
/// Longest file name, in characters.
pub const MAX_FILE_NAME: usize = 255;

/// An attachment as answers describe it: `{attachmentUUID, fileName, contentType, size}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttachmentInfo {
    #[serde(rename = "attachmentUUID")]
    pub uuid: Uuid,
    #[serde(rename = "fileName")]
    pub file_name: String,
    #[serde(rename = "contentType")]
    pub content_type: String,
    /// Bytes, decoded.
    pub size: u64,
}

/// An attachment with its bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attachment {
    pub info: AttachmentInfo,
    pub content: Arc<[u8]>,
}

impl Attachment {
    /// A new attachment of `content`, with a fresh UUID.
    pub fn new(file_name: String, content_type: String, content: Vec<u8>) -> Self {
        Self {
            info: AttachmentInfo {
                uuid: Uuid::now_v7(),
                file_name,
                content_type,
                size: content.len() as u64,
            },
            content: content.into(),
        }
    }
}

/// The limits of one protocol: how many attachments, how many bytes in all.
pub fn limits(protocol: Protocol) -> (usize, usize) {
    match protocol {
        Protocol::Text => (MAX_TEXT_ATTACHMENTS, MAX_TEXT_BYTES),
        Protocol::Email => (MAX_EMAIL_ATTACHMENTS, MAX_EMAIL_BYTES),
    }
}

/// A file name as given, trimmed, when it is one: 1 to [`MAX_FILE_NAME`] characters, no path
/// separator, no control character, not `.` or `..`.
pub fn file_name(name: &str) -> Option<String> {
    let name = name.trim();
    let ok = !name.is_empty()
        && name.chars().count() <= MAX_FILE_NAME
        && name != "."
        && name != ".."
        && !name
            .chars()
            .any(|c| c == '/' || c == '\\' || c.is_control());
    ok.then(|| name.to_string())
}

/// A content type as given, lowercased, when it is a bare `type/subtype` (no parameters).
pub fn content_type(value: &str) -> Option<String> {
    let value = value.trim().to_ascii_lowercase();
    let token = |s: &str| {
        !s.is_empty()
            && s.len() <= 127
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"!#$&^_.+-".contains(&b))
    };
    let (kind, subtype) = value.split_once('/')?;
    (token(kind) && token(subtype)).then_some(value)
}

/// Why `protocol` cannot carry a file of this type and name, if it cannot.
///
/// TEXT: what carriers deliver as MMS (images, audio, video, contact cards, calendars, PDF,
/// plain text and CSV); never HTML or an unknown binary. EMAIL: any type, but not a file
/// mail servers refuse as executable (Postmark's list of forbidden extensions).
pub fn refusal(protocol: Protocol, content_type: &str, file_name: &str) -> Option<&'static str> {
    match protocol {
        Protocol::Text => {
            let (kind, _) = content_type.split_once('/').unwrap_or((content_type, ""));
            let carried = matches!(kind, "image" | "audio" | "video")
                || matches!(
                    content_type,
                    "text/vcard"
                        | "text/x-vcard"
                        | "text/calendar"
                        | "text/plain"
                        | "text/csv"
                        | "application/pdf"
                );
            (!carried).then_some("a type MMS cannot carry")
        }
        Protocol::Email => {
            let extension = file_name
                .rsplit_once('.')
                .map(|(_, e)| e.to_ascii_lowercase())
                .unwrap_or_default();
            FORBIDDEN_EMAIL_EXTENSIONS
                .contains(&extension.as_str())
                .then_some("an executable file mail servers refuse")
        }
    }
}

/// File extensions Postmark refuses to send (and most receiving servers strip).
const FORBIDDEN_EMAIL_EXTENSIONS: [&str; 33] = [
    "vbs", "exe", "bin", "bat", "chm", "com", "cpl", "crt", "hlp", "hta", "inf", "ins", "isp",
    "jse", "lnk", "mdb", "pcd", "pif", "reg", "scr", "sct", "shs", "vbe", "vba", "wsf", "wsh",
    "wsl", "msc", "msi", "msp", "mst", "js", "jar",
];

/// `content` in base64 as clients write it: standard alphabet, padding optional, line breaks
/// and spaces (as in MIME) ignored.
pub fn decode_base64(content: &str) -> Option<Vec<u8>> {
    use base64::Engine as _;
    use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
    const LENIENT: GeneralPurpose = GeneralPurpose::new(
        &base64::alphabet::STANDARD,
        GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
    );
    let compact: Vec<u8> = content
        .bytes()
        .filter(|b| !b.is_ascii_whitespace())
        .collect();
    LENIENT.decode(compact).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_are_one_plain_name() {
        assert_eq!(file_name(" pads.jpg "), Some("pads.jpg".into()));
        assert_eq!(
            file_name("Repair order #4411.pdf"),
            Some("Repair order #4411.pdf".into())
        );
        for bad in [
            "",
            "  ",
            ".",
            "..",
            "a/b.jpg",
            "..\\x",
            "a\nb",
            &"x".repeat(256),
        ] {
            assert_eq!(file_name(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn content_types_are_bare_and_lowercased() {
        assert_eq!(content_type("Image/JPEG"), Some("image/jpeg".into()));
        assert_eq!(
            content_type("application/vnd.ms-excel"),
            Some("application/vnd.ms-excel".into())
        );
        for bad in [
            "",
            "jpeg",
            "image/",
            "/jpeg",
            "image/jpeg; q=1",
            "image/jp eg",
        ] {
            assert_eq!(content_type(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn text_carries_media_and_email_refuses_executables() {
        assert_eq!(refusal(Protocol::Text, "image/jpeg", "a.jpg"), None);
        assert_eq!(refusal(Protocol::Text, "application/pdf", "ro.pdf"), None);
        assert!(refusal(Protocol::Text, "text/html", "a.html").is_some());
        assert!(refusal(Protocol::Text, "application/octet-stream", "a.bin").is_some());
        assert_eq!(refusal(Protocol::Email, "text/html", "a.html"), None);
        assert!(refusal(Protocol::Email, "application/octet-stream", "setup.EXE").is_some());
    }

    #[test]
    fn base64_padding_and_line_breaks_are_forgiven() {
        assert_eq!(decode_base64("aGVsbG8="), Some(b"hello".to_vec()));
        assert_eq!(decode_base64("aGVsbG8"), Some(b"hello".to_vec()));
        assert_eq!(decode_base64("aGVs\r\nbG8="), Some(b"hello".to_vec()));
        assert_eq!(decode_base64("not base64!"), None);
    }
}
