//! Composition, exact to the character (SPEC 4.4).
//!
//! TEXT: the body, then each on its own line (`\n`): signature `-- <first> <last>`
//! (`addSignature`), the department footer (`addFooter`), the TCPA footer (`addTCPAFooter`).
//! EMAIL: the body, then signature and footer each after a blank line; no TCPA footer.

use super::PhoneNumber;
use super::directory::{Dealer, DepartmentSettings, User};
use super::message::{Protocol, SendOptions};

pub fn compose(
    protocol: Protocol,
    body: &str,
    options: &SendOptions,
    sender: &User,
    settings: &DepartmentSettings,
) -> String {
    let signature = options.add_signature.then(|| {
        format!("-- {} {}", sender.first_name, sender.last_name)
            .trim_end()
            .to_string()
    });
    let footer = options
        .add_footer
        .then_some(settings.footer.as_deref())
        .flatten()
        .filter(|f| !f.trim().is_empty())
        .map(str::to_string);
    let tcpa = (protocol == Protocol::Text && options.add_tcpa_footer)
        .then_some(settings.tcpa_footer.as_str())
        .filter(|f| !f.trim().is_empty())
        .map(str::to_string);
    let separator = match protocol {
        Protocol::Text => "\n",
        Protocol::Email => "\n\n",
    };
    // A message of attachments alone has no body line (SPEC 4.5).
    (!body.is_empty())
        .then(|| body.to_string())
        .into_iter()
        .chain(signature)
        .chain(footer)
        .chain(tcpa)
        .collect::<Vec<_>>()
        .join(separator)
}

/// An email's HTML part (SPEC 4.5): `htmlBody` as given, then the signature and the footer
/// each as an escaped paragraph, before the closing `</body>` when there is one. The same
/// options as the text part (`addSignature`, `addFooter`).
pub fn compose_html(
    html: &str,
    options: &SendOptions,
    sender: &User,
    settings: &DepartmentSettings,
) -> String {
    let mut paragraphs = String::new();
    if options.add_signature {
        let signature = format!("-- {} {}", sender.first_name, sender.last_name);
        paragraphs.push_str(&format!("<p>{}</p>", escape_html(signature.trim_end())));
    }
    if let Some(footer) = settings
        .footer
        .as_deref()
        .filter(|f| options.add_footer && !f.trim().is_empty())
    {
        let lines: Vec<String> = footer.lines().map(escape_html).collect();
        paragraphs.push_str(&format!("<p>{}</p>", lines.join("<br>")));
    }
    match html.to_ascii_lowercase().rfind("</body>") {
        Some(at) => format!("{}{paragraphs}{}", &html[..at], &html[at..]),
        None => format!("{html}{paragraphs}"),
    }
}

/// `text` with the five characters HTML gives meaning to written as references.
pub fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// The subject of an email: the request's, else the department's, else
/// `Message from <dealer name>`.
pub fn email_subject(
    requested: Option<&str>,
    settings: &DepartmentSettings,
    dealer: &Dealer,
) -> String {
    requested
        .or(settings.email_subject.as_deref())
        .map(str::to_string)
        .unwrap_or_else(|| format!("Message from {}", dealer.name))
}

/// `"Name <address>"` when the department has a sender name, else the bare address.
pub fn email_from(address: &str, name: Option<&str>) -> String {
    match name.map(str::trim).filter(|n| !n.is_empty()) {
        Some(name) => format!(
            "{} <{address}>",
            name.replace(['"', '<', '>', '\r', '\n'], "")
        ),
        None => address.to_string(),
    }
}

/// The department's contact card, served as `text/vcard` for `sendVCard`.
pub fn vcard(department_name: &str, dealer_name: &str, number: Option<&PhoneNumber>) -> String {
    let escape = |s: &str| {
        s.replace('\\', "\\\\")
            .replace(',', "\\,")
            .replace(';', "\\;")
            .replace(['\r', '\n'], " ")
    };
    let mut card = format!(
        "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:{} {}\r\nORG:{}\r\n",
        escape(dealer_name),
        escape(department_name),
        escape(dealer_name)
    );
    if let Some(n) = number {
        card.push_str(&format!("TEL;TYPE=WORK,VOICE:{n}\r\n"));
    }
    card.push_str("END:VCARD\r\n");
    card
}

#[cfg(test)]
mod tests {
    use super::*;
    use uuid::Uuid;

    fn sarah() -> User {
        User {
            uuid: Uuid::new_v4(),
            department_uuid: Uuid::new_v4(),
            first_name: "Sarah".into(),
            last_name: "Johnson".into(),
            email: None,
            can_text: true,
            can_email: true,
            is_default: false,
        }
    }

    fn settings() -> DepartmentSettings {
        DepartmentSettings {
            footer: Some("Acme Motors, 1 Main St".into()),
            ..DepartmentSettings::default()
        }
    }

    #[test]
    fn seed_example_one_to_the_character() {
        let options = SendOptions {
            add_signature: true,
            add_footer: false,
            ..SendOptions::default()
        };
        let text = compose(
            Protocol::Text,
            "Hi John, your vehicle service appointment is confirmed for tomorrow at 10 AM. See you then!",
            &options,
            &sarah(),
            &settings(),
        );
        assert_eq!(
            text,
            "Hi John, your vehicle service appointment is confirmed for tomorrow at 10 AM. See you then!\n-- Sarah Johnson\nText STOP to opt-out"
        );
    }

    #[test]
    fn text_parts_come_in_order_on_their_own_lines() {
        let options = SendOptions {
            add_signature: true,
            add_footer: true,
            ..SendOptions::default()
        };
        assert_eq!(
            compose(Protocol::Text, "Body", &options, &sarah(), &settings()),
            "Body\n-- Sarah Johnson\nAcme Motors, 1 Main St\nText STOP to opt-out"
        );
        let bare = SendOptions {
            add_tcpa_footer: false,
            ..SendOptions::default()
        };
        assert_eq!(
            compose(Protocol::Text, "Body", &bare, &sarah(), &settings()),
            "Body"
        );
    }

    #[test]
    fn email_uses_blank_lines_and_no_tcpa_footer() {
        let options = SendOptions {
            add_signature: true,
            add_footer: true,
            add_tcpa_footer: true,
            ..SendOptions::default()
        };
        assert_eq!(
            compose(
                Protocol::Email,
                "Dear John,\n\nDone.",
                &options,
                &sarah(),
                &settings()
            ),
            "Dear John,\n\nDone.\n\n-- Sarah Johnson\n\nAcme Motors, 1 Main St"
        );
    }

    #[test]
    fn a_missing_footer_adds_nothing() {
        let options = SendOptions {
            add_footer: true,
            add_tcpa_footer: false,
            ..SendOptions::default()
        };
        let s = DepartmentSettings::default();
        assert_eq!(
            compose(Protocol::Text, "Body", &options, &sarah(), &s),
            "Body"
        );
    }

    #[test]
    fn from_and_subject() {
        assert_eq!(
            email_from("service@acme.com", Some("Acme Service")),
            "Acme Service <service@acme.com>"
        );
        assert_eq!(email_from("service@acme.com", None), "service@acme.com");
        let dealer = Dealer {
            uuid: Uuid::new_v4(),
            name: "Acme Motors".into(),
        };
        assert_eq!(
            email_subject(None, &DepartmentSettings::default(), &dealer),
            "Message from Acme Motors"
        );
        assert_eq!(
            email_subject(Some("Hi"), &DepartmentSettings::default(), &dealer),
            "Hi"
        );
    }

    #[test]
    fn attachments_alone_have_no_body_line() {
        let s = settings();
        assert_eq!(
            compose(Protocol::Text, "", &SendOptions::default(), &sarah(), &s),
            s.tcpa_footer
        );
    }

    #[test]
    fn html_gets_escaped_paragraphs_before_its_body_end() {
        let options = SendOptions {
            add_signature: true,
            add_footer: true,
            ..SendOptions::default()
        };
        let s = DepartmentSettings {
            footer: Some("Acme <Motors> & Sons\n1 Main St".into()),
            ..DepartmentSettings::default()
        };
        assert_eq!(
            compose_html(
                "<html><BODY><p>Hi</p></BODY></html>",
                &options,
                &sarah(),
                &s
            ),
            "<html><BODY><p>Hi</p><p>-- Sarah Johnson</p><p>Acme &lt;Motors&gt; &amp; Sons<br>1 Main St</p></BODY></html>"
        );
        assert_eq!(
            compose_html("<b>Hi</b>", &SendOptions::default(), &sarah(), &s),
            "<b>Hi</b>"
        );
    }
}
