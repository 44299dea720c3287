//! `messageAttributes.attachments` (SPEC 4.5): each element checked on its own, then the
//! protocol's limits on them all. Every problem is `INVALID_ATTACHMENT` with its JSON path.

use serde_json::Value;

use super::fields::Problems;
use crate::domain::attachment::{self, Attachment, MAX_TEXT_ATTACHMENTS, limits};
use crate::domain::codes::ErrorCode;
use crate::domain::message::Protocol;

const AT: &str = "messageAttributes.attachments";

/// The attachments in `elements`, for a message of `protocol` (when it is known) that also
/// carries the vCard (`sendVCard`, one more MMS media) or not.
pub(super) fn attachments(
    p: &mut Problems,
    elements: Vec<Value>,
    protocol: Option<Protocol>,
    with_v_card: bool,
) -> Vec<Attachment> {
    let bad = |p: &mut Problems, description: String| {
        p.push(ErrorCode::InvalidAttachment, description);
    };
    let mut kept = Vec::with_capacity(elements.len());
    let given = elements.len();
    for (i, element) in elements.into_iter().enumerate() {
        let at = format!("{AT}[{i}]");
        let Value::Object(mut fields) = element else {
            bad(
                p,
                format!("{at}: expected an object {{fileName, contentType, content}}"),
            );
            continue;
        };
        let mut take = |name: &str| match fields.remove(name) {
            Some(Value::String(s)) => Ok(s),
            Some(Value::Null) | None => Err(format!("{at}.{name} is required")),
            Some(_) => Err(format!("{at}.{name}: expected a string")),
        };
        let (name, kind, content) = (take("fileName"), take("contentType"), take("content"));
        let unknown: Vec<String> = fields
            .keys()
            .map(|k| format!("{at}.{k}: unknown field"))
            .collect();
        let mut problems = unknown;
        let name = match name {
            Ok(n) => attachment::file_name(&n).or_else(|| {
                problems.push(format!(
                    "{at}.fileName: one file name of 1 to {} characters, without a path",
                    attachment::MAX_FILE_NAME
                ));
                None
            }),
            Err(e) => {
                problems.push(e);
                None
            }
        };
        let kind = match kind {
            Ok(k) => attachment::content_type(&k).or_else(|| {
                problems.push(format!(
                    "{at}.contentType: {k:?} is not a MIME type such as image/jpeg"
                ));
                None
            }),
            Err(e) => {
                problems.push(e);
                None
            }
        };
        let content = match content {
            Ok(c) => match attachment::decode_base64(&c) {
                Some(bytes) if bytes.is_empty() => {
                    problems.push(format!("{at}.content: the file is empty"));
                    None
                }
                Some(bytes) => Some(bytes),
                None => {
                    problems.push(format!("{at}.content: not base64"));
                    None
                }
            },
            Err(e) => {
                problems.push(e);
                None
            }
        };
        if let (Some(protocol), Some(kind), Some(name)) = (protocol, &kind, &name)
            && let Some(why) = attachment::refusal(protocol, kind, name)
        {
            problems.push(format!(
                "{at}.contentType: {kind} ({name}) is {why}, not for {}",
                protocol.as_str()
            ));
        }
        for problem in problems.drain(..) {
            bad(p, problem);
        }
        if let (Some(name), Some(kind), Some(content)) = (name, kind, content) {
            kept.push(Attachment::new(name, kind, content));
        }
    }
    if let Some(protocol) = protocol {
        let (most, bytes) = limits(protocol);
        // The vCard is one more media of the same MMS.
        let most = if protocol == Protocol::Text && with_v_card {
            MAX_TEXT_ATTACHMENTS - 1
        } else {
            most
        };
        if given > most {
            let vcard = if most < MAX_TEXT_ATTACHMENTS && protocol == Protocol::Text {
                " beside the vCard"
            } else {
                ""
            };
            bad(
                p,
                format!(
                    "{AT}: {given} attachments; a {} may have at most {most}{vcard}",
                    protocol.as_str()
                ),
            );
        }
        let total: u64 = kept.iter().map(|a| a.info.size).sum();
        if total > bytes as u64 {
            bad(
                p,
                format!(
                    "{AT}: {total} bytes in all; a {} may carry at most {bytes}",
                    protocol.as_str()
                ),
            );
        }
    }
    kept
}
